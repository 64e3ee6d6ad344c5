"""Reports: how loud a recording is, where it would be cut, and how long a folder's clips are.

``analyze(path, params)`` reads a recording once, holding only its RMS frames, and
returns its RMS level statistics, an estimated noise floor, a suggested
``threshold``, and the clips that ``params`` would cut; ``format_analysis``
prints it.  ``plot_envelope`` draws the RMS envelope with the threshold and the
clips as bands, of the whole recording or of a span (needs matplotlib).
``clip_stats(folder)`` measures every audio file under a folder (clips already
cut) against a target length range; ``format_stats`` prints it.

Levels are RMS in dB relative to full scale 1.0, frame by frame, as ``Slicer``
computes them (one frame per hop), kept in ``fastslice.levels.Levels``; the noise
floor, speech level, separation and suggested threshold are ``fastslice.levels``' rules
(the threshold ``--threshold auto`` would choose).  The integrated loudness is
``fastslice.loudness``' (ITU-R BS.1770-4).
"""
import math
import os
from collections import namedtuple
from pathlib import Path

import numpy as np
import soundfile

from . import levels
from .errors import FastsliceError, ParameterError
from .levels import DIGITAL_SILENCE_DB, LOW_DB, SPEECH_ABOVE_FLOOR_DB

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
#: Clip-length bins (s) of ``analyze`` and of ``clip_stats``: ``[lo, hi)``, the last open.
ANALYSIS_BINS = (0, 2, 4, 8, 15, 30)
STATS_BINS = (0, 1, 2, 4, 6, 8, 10, 15, 30)

_Info = namedtuple("_Info", "samplerate frames channels")


# -- one recording ----------------------------------------------------------------


def analyze(path, params=None, *, decoder="auto", stream=None, detector="rms"):
    """Level statistics of the recording at ``path`` and the clips ``params`` would cut.

    ``params`` are ``Slicer``'s keyword arguments (``threshold``, ``min_length``,
    ...; missing ones take ``Slicer``'s defaults).  The file is read once, in
    blocks.  Returns a dict:

    ``path``, ``sample_rate`` (Hz), ``channels``, ``frames`` (samples per
    channel), ``duration`` (s), ``hop_seconds``, ``rms_frames`` (number of RMS
    frames), ``levels`` (``{5: dB, 10: dB, ..., 95: dB, "max": dB}``, ``None``
    values when there are no RMS frames), ``noise_floor`` (dB or ``None``),
    ``speech_level`` (dB or ``None``), ``suggested_threshold`` (dB or ``None``),
    ``separation`` (0..1) and ``levels_note`` (how the floor was found, or why nothing
    separates two levels: ``fastslice.levels``), ``threshold`` (dB, the one ``params`` use;
    with ``threshold="auto"`` or ``"auto-N"`` the one that rule chooses, named in
    ``threshold_rule``), ``loudness`` (integrated, LUFS, ITU-R BS.1770-4; ``None`` for a
    recording shorter than 400 ms or all below the -70 LUFS gate), ``clips`` (count),
    ``clip_lengths`` (``{"min", "median", "max"}`` in s), ``clip_bins`` (list
    of ``(label, count)``) and ``ranges`` (list of ``(start, end)`` samples).  With
    ``detector="speech"`` the clips are the speech detector's (``fastslice.speech``), and
    ``speech_ratio`` (the share of 32 ms windows that are speech) and ``pauses`` (``count``,
    ``min``, ``median``, ``max`` seconds of the non-speech stretches between speech) are added.
    """
    params = dict(params or {})
    detected = _Speech() if detector == "speech" else None
    kept = levels.Levels()
    meter = []  # the loudness meter, made once the rate and channels are known
    threshold = params.pop("threshold", None)
    rule = levels.ThresholdRule.parse(threshold)
    if rule is None and threshold is not None:
        params["threshold"] = threshold

    def blocks(rate, channels, block):
        if not meter:
            from .loudness import Meter

            meter.append(Meter(rate, channels))
        meter[0].feed(block)

    if rule is not None and detector == "speech":
        raise ParameterError(f"threshold={threshold!r} chooses a level; the speech detector uses none")
    info, slicer, ranges = read_frames(path, params, kept.add, decoder, stream, detected, blocks)
    sr = info.samplerate
    n = kept.n
    choice = kept.analysis(rule)
    if rule is not None:  # the threshold auto chooses, and its clips
        slicer = _slicer(sr, {**params, "threshold": choice.threshold})
        rms = kept.frames() if not slicer._is_whole(info.frames) else np.empty(0, np.float32)
        ranges = [tuple(r) for r in slicer.ranges_from_rms(rms, info.frames).tolist()]
    levels_ = {q: kept.percentile(q) for q in PERCENTILES}
    levels_["max"] = kept.loudest if n else None
    floor, speech = choice.noise_floor, choice.speech_level
    suggested = choice.threshold if choice.separated else None
    loudness = meter[0].integrated() if meter else None

    lengths = np.array([(end - start) / sr for start, end in ranges], dtype=np.float64)
    return {
        "path": str(path),
        "sample_rate": sr,
        "channels": info.channels,
        "frames": info.frames,
        "duration": info.frames / sr,
        "hop_seconds": slicer.hop_samples / sr,
        "rms_frames": n,
        "levels": levels_,
        "noise_floor": floor,
        "speech_level": speech,
        "suggested_threshold": suggested,
        "separation": choice.separation,
        "levels_note": choice.reason,
        "threshold": float(slicer.threshold),
        "threshold_rule": None if rule is None else rule.text,
        "loudness": None if loudness is None or not math.isfinite(loudness) else loudness,
        "clips": len(ranges),
        "clip_lengths": _summary(lengths),
        "clip_bins": _bin_counts(lengths, ANALYSIS_BINS),
        "ranges": [(int(start), int(end)) for start, end in ranges],
        **({} if detected is None else detected.summary()),
    }


def format_analysis(result):
    """``analyze``'s result as a plain-text table."""
    def db(value):
        return "n/a" if value is None else f"{value:.1f}"

    percentiles = result["levels"]
    lengths = result["clip_lengths"]
    rows = [
        ("file", result["path"]),
        ("duration (s)", f"{result['duration']:.3f}"),
        ("sample rate (Hz)", f"{result['sample_rate']}"),
        ("channels", f"{result['channels']}"),
        ("audio frames", f"{result['frames']}"),
        ("RMS frames", f"{result['rms_frames']} (hop {result['hop_seconds'] * 1000:g} ms)"),
    ]
    rows += [(f"RMS level p{q} (dB)", db(percentiles[q])) for q in PERCENTILES]
    rows += [
        ("RMS level max (dB)", db(percentiles["max"])),
        ("noise floor (dB)", f"{db(result['noise_floor'])}  (10th percentile of frames above {DIGITAL_SILENCE_DB:g} dB)"),
        ("speech level (dB)", f"{db(result['speech_level'])}  (median of frames {SPEECH_ABOVE_FLOOR_DB:g} dB above the floor)"),
        ("separation", ("n/a" if result["separation"] is None else f"{result['separation']:.2f}")
         + f"  (Otsu's measure of two groups of levels; {levels.SEPARATED:g} or more: separated)"),
        ("suggested threshold (dB)", f"{db(result['suggested_threshold'])}  "
         + ("(halfway between floor and speech level)" if result["suggested_threshold"] is not None or
            not result["levels_note"] else f"({result['levels_note']})")),
        ("threshold used (dB)", db(result["threshold"]) + (f"  ({result['threshold_rule']})" if result["threshold_rule"]
                                                           else "")),
        ("integrated loudness (LUFS)", ("n/a" if result["loudness"] is None else f"{result['loudness']:.1f}")
         + "  (ITU-R BS.1770-4, gated)"),
        ("clips", f"{result['clips']}"),
        ("clip length min (s)", _seconds(lengths["min"])),
        ("clip length median (s)", _seconds(lengths["median"])),
        ("clip length max (s)", _seconds(lengths["max"])),
    ]
    rows += [(f"clips of {label} s", f"{count}") for label, count in result["clip_bins"]]
    if "speech_ratio" in result:
        pauses = result["pauses"]
        rows += [("speech (share of 32 ms windows)", f"{100 * result['speech_ratio']:.1f} %  (Silero VAD, threshold 0.5)"),
                 ("pauses between speech", f"{pauses['count']}"),
                 ("pause length min (s)", _seconds(pauses["min"])),
                 ("pause length median (s)", _seconds(pauses["median"])),
                 ("pause length max (s)", _seconds(pauses["max"]))]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def envelope(path, params=None, max_points=2000, *, decoder="auto", stream=None, speech=None):
    """The RMS envelope of a recording in dB, read once in constant memory, as the minimum and maximum
    of at most ``max_points`` buckets of frames.  Returns ``(info, slicer, ranges, bucket, low, high)``:
    ``bucket`` frames per value, and the clip ranges ``params`` cut."""
    found = _envelope(path, params, max_points, decoder=decoder, stream=stream, speech=speech)
    return found.info, found.slicer, found.ranges, found.bucket, found.low, found.high


#: ``_envelope``'s result: ``low[k]``, ``high[k]`` are of the frames from ``first + k * bucket`` on (``bucket`` of them).
_Envelope = namedtuple("_Envelope", "info slicer ranges bucket low high first")


def check_zoom(zoom):
    """``zoom`` as ``(start, end)`` floats in seconds, or a ``ParameterError`` naming ``--zoom``."""
    try:
        start, end = (float(value) for value in zoom)
    except (TypeError, ValueError):
        raise ParameterError(f"--zoom {zoom!r}: give START END in seconds") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ParameterError(f"--zoom {start:g} {end:g}: START and END must be finite seconds")
    if start < 0 or end < 0:
        raise ParameterError(f"--zoom {start:g} {end:g}: START and END must be >= 0 seconds")
    if end <= start:
        raise ParameterError(f"--zoom {start:g} {end:g}: END must be after START")
    return start, end


def _envelope(path, params=None, max_points=2000, *, decoder="auto", stream=None, speech=None, span=None):
    """``envelope`` as an ``_Envelope``; with ``span=(start, end)`` seconds, of the frames in it only, in
    buckets sized from the span's length (about ``max_points`` of them across it)."""
    if max_points < 1:
        raise ParameterError(f"max_points={max_points!r} must be >= 1")
    params = dict(params or {})
    # min and max per bucket of frames.  The whole file: the bucket doubles whenever there are
    # 2 * max_points of them, so the envelope needs no length up front (a stream may not say it).
    # A span: its frames [first, stop) in buckets of ceil((stop - first) / max_points) frames, set
    # once the hop is known.
    state = {"bucket": 1, "low": np.empty(0), "high": np.empty(0), "first": 0, "stop": None}

    def known(rate, hop_samples):
        hop = hop_samples / rate
        first = math.floor(span[0] / hop)
        stop = max(first + 1, math.ceil(span[1] / hop))
        bucket = max(1, -(-(stop - first) // max_points))
        n = -(-(stop - first) // bucket)
        state.update(bucket=bucket, first=first, stop=stop, low=np.full(n, np.inf), high=np.full(n, -np.inf))

    def grow(first, rms):
        bucket = state["bucket"]
        last = (first + rms.shape[0] - 1) // bucket
        while last >= 2 * max_points:
            for key, reduce in (("low", np.minimum), ("high", np.maximum)):
                values = state[key]
                if values.shape[0] % 2:
                    values = np.append(values, np.inf if key == "low" else -np.inf)
                state[key] = reduce(values[0::2], values[1::2])
            bucket = state["bucket"] = bucket * 2
            last = (first + rms.shape[0] - 1) // bucket
        for key, fill in (("low", np.inf), ("high", -np.inf)):
            if state[key].shape[0] <= last:
                state[key] = np.concatenate([state[key], np.full(last + 1 - state[key].shape[0], fill)])

    def sink(first, rms):
        if span is None:
            grow(first, rms)
        else:  # the frames within the span only
            lo, hi = max(first, state["first"]), min(first + rms.shape[0], state["stop"])
            if lo >= hi:
                return
            rms, first = rms[lo - first : hi - first], lo - state["first"]
        index = (first + np.arange(rms.shape[0])) // state["bucket"]
        db = np.maximum(levels.to_db(rms), LOW_DB)
        np.minimum.at(state["low"], index, db)
        np.maximum.at(state["high"], index, db)

    position = [0]

    def frames(rms):
        sink(position[0], rms)
        position[0] += rms.shape[0]

    info, slicer, ranges = read_frames(path, params, frames, decoder, stream, speech,
                                       on_start=None if span is None else known)
    low, high = state["low"], state["high"]
    if span is not None:  # buckets past the recording's end hold nothing
        filled = np.flatnonzero(np.isfinite(high))
        n = int(filled[-1]) + 1 if filled.size else 0
        low, high = low[:n], high[:n]
    return _Envelope(info, slicer, ranges, state["bucket"], low, high, state["first"])


def envelope_figure(path, params, *, zoom=None, max_points=2000, decoder="auto", stream=None, detector="rms"):
    """The figure ``plot_envelope`` saves, and what it shows: ``(figure, shown)``.

    The clips are translucent bands (one collection, gid ``"clips"``, two shades taking turns) under
    the envelope (the minimum and maximum of each bucket of RMS frames, filled between) and the
    threshold line.  ``zoom=(start, end)`` seconds draws that span only: its envelope in buckets
    sized from the span (about ``max_points`` across it), its bands cut to it.  ``shown`` is a dict:
    ``clips`` (all the recording's), ``spans`` (the bands drawn, ``(start, end)`` s), ``xlim`` (s),
    ``bucket_seconds``, ``duration`` (s) and ``threshold`` (dB).  Needs matplotlib (its Agg backend,
    pyplot's state untouched).
    """
    try:
        import matplotlib  # noqa: F401  (first, so that a blocked matplotlib fails here)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import PolyCollection
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, MultipleLocator
    except ImportError:
        raise FastsliceError("--plot needs matplotlib: pip install 'fastslice[plot]'") from None
    if zoom is not None:
        zoom = check_zoom(zoom)
    speech = _Speech() if detector == "speech" else None
    found = _envelope(path, params, max_points, decoder=decoder, stream=stream, speech=speech, span=zoom)
    info, slicer, ranges, bucket, low, high = found[:6]
    sr, n_samples = info.samplerate, info.frames
    hop = slicer.hop_samples / sr
    duration = n_samples / sr
    name = Path(path).name
    if zoom is None:
        left, right = 0.0, max(duration, hop)
    elif zoom[0] >= duration:
        raise ParameterError(f"--zoom {zoom[0]:g} {zoom[1]:g}: START is beyond the end of {name} ({duration:.3f} s)")
    else:
        left, right = zoom[0], min(zoom[1], duration)
    times = (found.first + np.arange(low.shape[0]) * bucket + (bucket - 1) / 2) * hop
    spans = [(max(start / sr, left), min(end / sr, right)) for start, end in ranges
             if end / sr > left and start / sr < right]

    figure = Figure(figsize=(12, 4), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    # the clips: one band each; two shades taking turns where a clip is wide enough to see which
    # is which (clips may touch), one shade where they are a few pixels wide (an hour)
    shades = [(0.17, 0.63, 0.17, 0.22), (0.55, 0.75, 0.1, 0.22)]
    wide = bool(spans) and np.median([b - a for a, b in spans]) * 1100 / (right - left) >= 8
    bands = PolyCollection([[(a, 0), (a, 1), (b, 1), (b, 0)] for a, b in spans], closed=True,
                           transform=ax.get_xaxis_transform(),
                           facecolors=[shades[k % 2 if wide else 0] for k in range(len(spans))],
                           linewidths=0, zorder=1, label=f"clips ({len(spans)})")
    bands.set_gid("clips")
    ax.add_collection(bands, autolim=False)
    # dB from a little under the quietest sound (not digital silence: that lies on the bottom edge)
    sound = low[low > DIGITAL_SILENCE_DB]
    bottom = 10 * math.floor((np.percentile(sound, 1) - 5) / 10) if sound.size else LOW_DB
    bottom = max(LOW_DB, min(bottom, slicer.threshold - 5))
    top = max(float(high.max()) if high.size else slicer.threshold, slicer.threshold) + 6  # the bands seen above
    ax.fill_between(times, np.maximum(low, bottom), np.maximum(high, bottom), color="tab:blue", alpha=0.5,
                    linewidth=0, zorder=2, label="RMS level (min-max)")
    ax.plot(times, np.maximum(high, bottom), color="tab:blue", linewidth=0.5, zorder=2)  # seen where thin
    ax.axhline(slicer.threshold, color="black", linestyle="--", linewidth=1, zorder=3,
               label=f"threshold {slicer.threshold:g} dB")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    if right - left > 300:  # minutes: m:ss ticks at round steps
        step = next((s for s in (60, 120, 300, 600, 900, 1800) if (right - left) / s <= 15), 3600)
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x // 60)}:{int(x % 60):02d}"))
        ax.set_xlabel("time (m:ss)")
    else:
        ax.set_xlabel("time (s)")
    ax.set_ylabel("RMS level (dB)")
    bucket_seconds = bucket * hop
    each = f"envelope: min-max per {bucket_seconds:.3g} s"
    if zoom is None:
        ax.set_title(f"{name}: {len(ranges)} clips over {_clock(duration)}  ({each})")
    else:
        ax.set_title(f"{name}, {_clock(left)} to {_clock(right)}: {len(spans)} of its {len(ranges)} clips  ({each})")
    ax.legend(loc="lower right", fontsize="small", framealpha=0.9)
    if speech is not None:  # the speech probability beside the level
        from .speech import RATE, WINDOW

        window = WINDOW / RATE
        probabilities = speech.all()
        first = min(probabilities.shape[0], int(left // window))
        probabilities = probabilities[first : max(first, math.ceil(right / window))]
        step = max(1, probabilities.shape[0] // (2 * max_points))
        shown = probabilities[: probabilities.shape[0] // step * step].reshape(-1, step).max(axis=1)
        twin = ax.twinx()
        twin.plot((first + np.arange(shown.shape[0]) * step + step / 2) * window, shown, color="tab:orange",
                  linewidth=0.7, label="speech probability (max)")
        twin.axhline(speech.gate.threshold, color="tab:orange", linestyle=":", linewidth=0.8)
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("speech probability")
        twin.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    return figure, {"clips": len(ranges), "spans": spans, "xlim": (left, right), "bucket_seconds": bucket_seconds,
                    "duration": duration, "threshold": float(slicer.threshold)}


def plot_envelope(path, params, png_path, *, zoom=None, max_points=2000, decoder="auto", stream=None, detector="rms"):
    """Draw the recording's RMS envelope (dB over time), the threshold and the clips as bands to ``png_path``.

    The file is read once, in blocks; the envelope is kept as the minimum and maximum of at
    most ``max_points`` buckets of frames (with ``zoom=(start, end)`` seconds, about
    ``max_points`` across that span, which alone is drawn): ``envelope_figure``.  Returns its
    ``shown`` dict.  Needs matplotlib (drawn with its Agg backend, without touching pyplot's state).
    """
    figure, shown = envelope_figure(path, params, zoom=zoom, max_points=max_points, decoder=decoder, stream=stream,
                                    detector=detector)
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, format="png")
    return shown


# -- a folder of clips ----------------------------------------------------------------


def clip_stats(folder, target=(4.0, 8.0)):
    """Lengths of every audio file under ``folder`` (recursively), against ``target`` = (lo, hi) seconds.

    Audio files are those libsndfile reads (``soundfile.info``); hidden files
    and folders (names starting with ".") are skipped.  Returns a dict:
    ``folder``, ``count``, ``seconds`` and ``hours`` (total), ``min``,
    ``median``, ``max`` (s), ``histogram`` (list of ``(label, count)``),
    ``target`` (lo, hi), ``in_target`` (count with lo <= length <= hi) and
    ``outliers`` (``(path, seconds)`` outside it, sorted by path).
    """
    lo, hi = target
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and 0 <= lo <= hi):
        raise ParameterError(f"target={target!r} must be two lengths in seconds, 0 <= lo <= hi")
    root = Path(folder)
    if not root.is_dir():
        raise FastsliceError(f"{folder}: no such folder" if not root.exists() else f"{folder}: not a folder")
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            path = os.path.join(directory, name)
            try:
                info = soundfile.info(path)
            except Exception:  # not audio, or unreadable: not a clip
                continue
            if info.samplerate > 0:
                found.append((path, info.frames / info.samplerate))
    if not found:
        raise FastsliceError(f"{folder}: no audio files in it (none that libsndfile can read)")
    found.sort()
    lengths = np.array([seconds for _, seconds in found])
    total = float(lengths.sum())
    return {
        "folder": str(folder),
        "count": len(found),
        "seconds": total,
        "hours": total / 3600,
        **_summary(lengths),
        "histogram": _bin_counts(lengths, STATS_BINS),
        "target": (lo, hi),
        "in_target": int(np.count_nonzero((lengths >= lo) & (lengths <= hi))),
        "outliers": [(path, seconds) for path, seconds in found if not lo <= seconds <= hi],
    }


def format_stats(result, max_outliers=20):
    """``clip_stats``'s result as text: summary, histogram with ``#`` bars, target range, outliers."""
    count = result["count"]
    lo, hi = result["target"]
    lines = [
        f"folder: {result['folder']}",
        f"clips: {count}, {result['hours']:.3f} h ({result['seconds']:.1f} s) in total",
        f"length (s): min {result['min']:.2f}, median {result['median']:.2f}, max {result['max']:.2f}",
        "",
        f"{'length (s)':<10}  {'clips':>6}",
    ]
    largest = max(c for _, c in result["histogram"])
    for label, c in result["histogram"]:
        bar = "#" * (round(40 * c / largest) if largest else 0)
        lines.append(f"{label:<10}  {c:>6}  {bar}".rstrip())
    lines += ["", f"in target {lo:g}-{hi:g} s: {result['in_target']} of {count} ({100 * result['in_target'] / count:.1f} %)"]
    outliers = result["outliers"]
    if outliers:
        lines.append(f"outside it ({len(outliers)}):")
        lines += [f"  {seconds:8.2f} s  {path}" for path, seconds in outliers[:max_outliers]]
        if len(outliers) > max_outliers:
            lines.append(f"  ... and {len(outliers) - max_outliers} more")
    return "\n".join(lines)


# -- helpers --------------------------------------------------------------------------


def _slicer(sr, params):
    from .slicer import Slicer

    try:
        return Slicer(sr, **params)
    except TypeError as exc:  # an unknown parameter name
        raise ParameterError(f"params: {exc}") from None


class _Speech:
    """The speech detector of ``analyze`` and ``envelope``: its gate, and what its windows said."""

    def __init__(self):
        self.probabilities = []  # arrays of the 32 ms windows' probabilities, in order
        self.gate = None

    def gate_for(self, rate, hop):
        from .speech import SpeechGate

        self.gate = SpeechGate(rate, hop)
        self.gate.probability_sink = lambda first, p: self.probabilities.append(p.copy())
        return self.gate

    def all(self):
        return np.concatenate(self.probabilities) if self.probabilities else np.zeros(0, np.float32)

    def summary(self):
        from .speech import RATE, WINDOW

        speech = self.all() >= self.gate.threshold
        ratio = float(speech.mean()) if speech.size else 0.0
        # runs of non-speech windows with speech before and after them
        edges = np.flatnonzero(np.diff(speech.astype(np.int8)))
        pauses = []
        for a, b in zip(edges[::1], edges[1:]):
            if not speech[a + 1] and speech[a]:
                pauses.append((b - a) * WINDOW / RATE)
        lengths = np.array(pauses)
        return {"speech_ratio": ratio, "pauses": {"count": len(pauses), **_summary(lengths)}}


def read_frames(path, params, sink, decoder="auto", stream=None, speech=None, blocks=None, on_start=None):
    """Read the file once, passing each ``(first_frame, rms)`` block's RMS to ``sink(rms)`` and each
    block of samples to ``blocks(rate, channels, float32 block)`` if given; ``(info, slicer, ranges)``,
    ``info`` with ``samplerate``, ``frames`` (samples per channel) and ``channels``.  ``on_start(rate,
    hop_samples)``, if given, is called once they are known, before the first RMS."""
    from .stream import iter_frame_rms

    def gate_for(rate, hop):
        if on_start is not None:
            on_start(rate, hop)
        return None if speech is None else speech.gate_for(rate, hop)

    frames = iter_frame_rms(path, decoder=decoder, stream=stream, gate_for=gate_for, block_sink=blocks, **params)
    while True:
        try:
            first, rms = next(frames)
        except StopIteration as stop:
            (sr, channels, n_frames), ranges = stop.value
            break
        except TypeError as exc:  # an unknown parameter name
            raise ParameterError(f"params: {exc}") from None
        sink(rms)
    return _Info(sr, n_frames, channels), _slicer(sr, params), ranges



def _summary(lengths):
    if lengths.size == 0:
        return {"min": None, "median": None, "max": None}
    return {"min": float(lengths.min()), "median": float(np.median(lengths)), "max": float(lengths.max())}


def _bin_counts(lengths, edges):
    """(label, count) per ``[lo, hi)`` bin of ``edges`` (s), the last bin open."""
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), lengths, side="right") - 1
    counts = np.bincount(index[index >= 0], minlength=len(edges))
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]:g}+"]
    return list(zip(labels, (int(c) for c in counts)))


def _seconds(value):
    return "n/a" if value is None else f"{value:.2f}"


def _clock(seconds):
    """``seconds`` as m:ss (h:mm:ss from an hour on) to the second, or as seconds under a minute."""
    if seconds < 60:
        return f"{seconds:g} s"
    whole = round(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
