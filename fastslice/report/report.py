"""Reports: how loud a recording is, where it would be cut, and how long a folder's clips are.

``analyze(path, params)`` reads a recording once, holding only its RMS frames, and
returns its RMS level statistics, an estimated noise floor, a suggested
``threshold``, and the clips that ``params`` would cut; ``format_analysis``
prints it.  ``plot_envelope`` draws the RMS envelope with the threshold and the
clips as bands, of the whole recording or of a span (needs matplotlib).
``clip_stats(folder)`` measures every audio file under a folder (clips already
cut) against a target length range; ``format_stats`` prints it.

Levels are RMS in dB relative to full scale 1.0, frame by frame, as ``Slicer``
computes them (one frame per hop), kept in ``fastslice.cutting.threshold.Levels``; the noise
floor, speech level, separation and suggested threshold are ``fastslice.cutting.threshold``' rules
(the threshold ``--threshold auto`` would choose).  The integrated loudness is
``fastslice.rendering.loudness``' (ITU-R BS.1770-4).

The recording is read by ``fastslice.report.envelopes`` (``read_frames``, ``envelope``), and drawn by
``fastslice.report.plot`` (``plot_envelope``, ``envelope_figure``, ``check_zoom``); those names are
importable from here too.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import soundfile

from ..cutting import threshold as levels
from .envelopes import Envelope, RecordingInfo, SpeechTrace, envelope, envelope_of, length_summary, read_frames
from ..errors import FastsliceError, ParameterError
from ..cutting.threshold import DIGITAL_SILENCE_DB, SPEECH_ABOVE_FLOOR_DB
from .plot import check_zoom, envelope_figure, plot_envelope

if TYPE_CHECKING:
    from _typeshed import StrPath

    from ..rendering.loudness import Meter
    from ..cutting.slicer import Slicer

__all__ = ["PERCENTILES", "ANALYSIS_BINS", "STATS_BINS", "analyze", "format_analysis", "clip_stats", "format_stats",
           "read_frames", "envelope", "envelope_of", "Envelope", "RecordingInfo", "check_zoom", "envelope_figure",
           "plot_envelope"]

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
#: Clip-length bins (s) of ``analyze`` and of ``clip_stats``: ``[lo, hi)``, the last open.
ANALYSIS_BINS = (0, 2, 4, 8, 15, 30)
STATS_BINS = (0, 1, 2, 4, 6, 8, 10, 15, 30)

#: The name ``envelope_of`` had before it was public (tests/test_report.py imports it).


# -- one recording ----------------------------------------------------------------


def analyze(path: StrPath, params: Mapping[str, Any] | None = None, *, decoder: str = "auto", stream: int | None = None,
            detector: str = "rms") -> dict[str, Any]:
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
    separates two levels: ``fastslice.cutting.threshold``), ``threshold`` (dB, the one ``params`` use;
    with ``threshold="auto"`` or ``"auto-N"`` the one that rule chooses, named in
    ``threshold_rule``), ``loudness`` (integrated, LUFS, ITU-R BS.1770-4; ``None`` for a
    recording shorter than 400 ms or all below the -70 LUFS gate), ``clips`` (count),
    ``clip_lengths`` (``{"min", "median", "max"}`` in s), ``clip_bins`` (list
    of ``(label, count)``) and ``ranges`` (list of ``(start, end)`` samples).  With
    ``detector="speech"`` the clips are the speech detector's (``fastslice.cutting.speech``), and
    ``speech_ratio`` (the share of 32 ms windows that are speech) and ``pauses`` (``count``,
    ``min``, ``median``, ``max`` seconds of the non-speech stretches between speech) are added.
    """
    params = dict(params or {})
    detected = SpeechTrace() if detector == "speech" else None
    kept = levels.Levels()
    meter: list[Meter] = []  # the loudness meter, made once the rate and channels are known
    threshold = params.pop("threshold", None)
    rule = levels.ThresholdRule.parse(threshold)
    if rule is None and threshold is not None:
        params["threshold"] = threshold

    def blocks(rate: int, channels: int, block: npt.NDArray[np.float32]) -> None:
        if not meter:
            from ..rendering.loudness import Meter

            meter.append(Meter(rate, channels))
        meter[0].feed(block)

    if rule is not None and detector == "speech":
        raise ParameterError(f"threshold={threshold!r} chooses a level; the speech detector uses none")
    info, slicer, ranges = read_frames(path, params, kept.add, decoder, stream, detected, blocks)
    choice = kept.analysis(rule)
    if rule is not None:  # the threshold auto chooses, and its clips
        from ..cutting.slicer import make_slicer

        slicer = make_slicer(info.samplerate, {**params, "threshold": choice.threshold})
        rms = kept.frames() if not slicer.is_whole(info.frames) else np.empty(0, np.float32)
        ranges = [tuple(r) for r in slicer.ranges_from_rms(rms, info.frames).tolist()]
    loudness = meter[0].integrated() if meter else None
    return {"path": str(path), **_facts(info, slicer, ranges, kept, choice, rule, loudness),
            **({} if detected is None else detected.summary())}


def _facts(info: RecordingInfo, slicer: Slicer, ranges: Sequence[tuple[int, int]], kept: levels.Levels,
           choice: levels.Choice, rule: levels.ThresholdRule | None, loudness: float | None) -> dict[str, Any]:
    """``analyze``'s result but its ``path`` and the speech detector's figures."""
    sr = info.samplerate
    n = kept.n
    levels_: dict[int | str, float | None] = {q: kept.percentile(q) for q in PERCENTILES}
    levels_["max"] = kept.loudest if n else None
    floor, speech = choice.noise_floor, choice.speech_level
    suggested = choice.threshold if choice.separated else None
    lengths = np.array([(end - start) / sr for start, end in ranges], dtype=np.float64)
    return {
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
        "clip_lengths": length_summary(lengths),
        "clip_bins": _bin_counts(lengths, ANALYSIS_BINS),
        "ranges": [(int(start), int(end)) for start, end in ranges],
    }


def format_analysis(result: Mapping[str, Any]) -> str:
    """``analyze``'s result as a plain-text table."""
    def db(value: float | None) -> str:
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


# -- a folder of clips ----------------------------------------------------------------


def _regular_files(root: str) -> Iterator[str]:
    """The regular files (and links to them) under ``root``, hidden ones and hidden folders skipped:
    a FIFO, a socket or a device is never opened (``soundfile.info`` of a FIFO waits for a writer)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = [e for e in listing if not e.name.startswith(".")]
        except OSError:
            continue
        stack += sorted((e.path for e in entries if e.is_dir(follow_symlinks=False)), reverse=True)
        yield from (e.path for e in entries if e.is_file())


def clip_stats(folder: StrPath, target: tuple[float, float] = (4.0, 8.0)) -> dict[str, Any]:
    """Lengths of every audio file under ``folder`` (recursively), against ``target`` = (lo, hi) seconds.

    Audio files are the regular files libsndfile reads (``soundfile.info``); hidden files
    and folders (names starting with "."), and FIFOs, sockets and devices, are skipped.  Returns a dict:
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
    found: list[tuple[str, float]] = []
    for path in _regular_files(str(root)):
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
        **length_summary(lengths),
        "histogram": _bin_counts(lengths, STATS_BINS),
        "target": (lo, hi),
        "in_target": int(np.count_nonzero((lengths >= lo) & (lengths <= hi))),
        "outliers": [(path, seconds) for path, seconds in found if not lo <= seconds <= hi],
    }


def format_stats(result: Mapping[str, Any], max_outliers: int = 20) -> str:
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


def _bin_counts(lengths: npt.NDArray[np.float64], edges: Sequence[float]) -> list[tuple[str, int]]:
    """(label, count) per ``[lo, hi)`` bin of ``edges`` (s), the last bin open."""
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), lengths, side="right") - 1
    counts = np.bincount(index[index >= 0], minlength=len(edges))
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]:g}+"]
    return list(zip(labels, (int(c) for c in counts)))


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"

