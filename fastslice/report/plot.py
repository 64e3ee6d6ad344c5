"""``fastslice analyze --plot PNG [--zoom START END]``: a recording's RMS envelope, its threshold and
its clips as bands, drawn with matplotlib (its Agg backend, pyplot's state untouched).

``envelope_figure`` makes the figure and says what it shows; ``plot_envelope`` saves it.  The
envelope is read once in constant memory (``fastslice.report.envelopes.envelope_of``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import numpy.typing as npt

from .envelopes import Envelope, SpeechTrace, envelope_of
from ..errors import FastsliceError, ParameterError
from ..cutting.threshold import DIGITAL_SILENCE_DB, LOW_DB

if TYPE_CHECKING:
    from _typeshed import StrPath
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..cutting.slicer import Slicer

#: The clips' two shades (RGBA), taking turns.
SHADES = [(0.17, 0.63, 0.17, 0.22), (0.55, 0.75, 0.1, 0.22)]


def check_zoom(zoom: Any) -> tuple[float, float]:
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


def envelope_figure(path: StrPath, params: Mapping[str, Any] | None, *, zoom: Any = None, max_points: int = 2000,
                    decoder: str = "auto", stream: int | None = None, detector: str = "rms"
                    ) -> tuple[Figure, dict[str, Any]]:
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
        from matplotlib.figure import Figure
    except ImportError:
        raise FastsliceError("--plot needs matplotlib: pip install 'fastslice[plot]'") from None
    span = check_zoom(zoom) if zoom is not None else None
    speech = SpeechTrace() if detector == "speech" else None
    found = envelope_of(path, params, max_points, decoder=decoder, stream=stream, speech=speech, span=span)
    sr, slicer = found.info.samplerate, found.slicer
    hop = slicer.hop_samples / sr
    duration = found.info.frames / sr
    name = Path(path).name
    if span is None:
        left, right = 0.0, max(duration, hop)
    elif span[0] >= duration:
        raise ParameterError(f"--zoom {span[0]:g} {span[1]:g}: START is beyond the end of {name} ({duration:.3f} s)")
    else:
        left, right = span[0], min(span[1], duration)
    spans = [(max(start / sr, left), min(end / sr, right)) for start, end in found.ranges
             if end / sr > left and start / sr < right]

    figure = Figure(figsize=(12, 4), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    _draw_clips(ax, spans, (left, right))
    bottom, top = _draw_levels(ax, found, hop, slicer)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    _label(ax, (left, right))
    bucket_seconds = found.bucket * hop
    each = f"envelope: min-max per {bucket_seconds:.3g} s"
    if span is None:
        ax.set_title(f"{name}: {len(found.ranges)} clips over {clock(duration)}  ({each})")
    else:
        ax.set_title(f"{name}, {clock(left)} to {clock(right)}: {len(spans)} of its {len(found.ranges)} clips  ({each})")
    ax.legend(loc="lower right", fontsize="small", framealpha=0.9)
    if speech is not None:  # the speech probability beside the level
        _draw_speech(ax, speech, (left, right), max_points)
    figure.tight_layout()
    return figure, {"clips": len(found.ranges), "spans": spans, "xlim": (left, right), "bucket_seconds": bucket_seconds,
                    "duration": duration, "threshold": float(slicer.threshold)}


def _draw_clips(ax: Axes, spans: list[tuple[float, float]], xlim: tuple[float, float]) -> None:
    """The clips: one band each; two shades taking turns where a clip is wide enough to see which
    is which (clips may touch), one shade where they are a few pixels wide (an hour)."""
    from matplotlib.collections import PolyCollection

    left, right = xlim
    wide = bool(spans) and np.median([b - a for a, b in spans]) * 1100 / (right - left) >= 8
    bands = PolyCollection([[(a, 0), (a, 1), (b, 1), (b, 0)] for a, b in spans], closed=True,
                           transform=ax.get_xaxis_transform(),
                           facecolors=[SHADES[k % 2 if wide else 0] for k in range(len(spans))],
                           linewidths=0, zorder=1, label=f"clips ({len(spans)})")
    bands.set_gid("clips")
    ax.add_collection(bands, autolim=False)


def _draw_levels(ax: Axes, found: Envelope, hop: float, slicer: Slicer) -> tuple[float, float]:
    """The envelope (filled between each bucket's minimum and maximum) and the threshold line; returns
    the level axis's limits: from a little under the quietest sound (not digital silence: that lies on the
    bottom edge) to a little over the loudest, so that the bands are seen above it."""
    low, high, bucket = found.low, found.high, found.bucket
    times = (found.first + np.arange(low.shape[0]) * bucket + (bucket - 1) / 2) * hop
    sound = low[low > DIGITAL_SILENCE_DB]
    bottom = 10 * math.floor((np.percentile(sound, 1) - 5) / 10) if sound.size else LOW_DB
    bottom = max(LOW_DB, min(bottom, slicer.threshold - 5))
    top = max(float(high.max()) if high.size else slicer.threshold, slicer.threshold) + 6  # the bands seen above
    ax.fill_between(times, np.maximum(low, bottom), np.maximum(high, bottom), color="tab:blue", alpha=0.5,
                    linewidth=0, zorder=2, label="RMS level (min-max)")
    ax.plot(times, np.maximum(high, bottom), color="tab:blue", linewidth=0.5, zorder=2)  # seen where thin
    ax.axhline(slicer.threshold, color="black", linestyle="--", linewidth=1, zorder=3,
               label=f"threshold {slicer.threshold:g} dB")
    return bottom, top


def _label(ax: Axes, xlim: tuple[float, float]) -> None:
    """The axes' labels; over five minutes, m:ss ticks at round steps."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    left, right = xlim
    if right - left > 300:  # minutes: m:ss ticks at round steps
        step = next((s for s in (60, 120, 300, 600, 900, 1800) if (right - left) / s <= 15), 3600)
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x // 60)}:{int(x % 60):02d}"))
        ax.set_xlabel("time (m:ss)")
    else:
        ax.set_xlabel("time (s)")
    ax.set_ylabel("RMS level (dB)")


def _draw_speech(ax: Axes, speech: SpeechTrace, xlim: tuple[float, float], max_points: int) -> None:
    """The speech probability (the maximum per bucket of windows) on a second axis, with its threshold."""
    from ..cutting.speech import RATE, WINDOW

    left, right = xlim
    window = WINDOW / RATE
    probabilities: npt.NDArray[np.float32] = speech.all()
    first = min(probabilities.shape[0], int(left // window))
    probabilities = probabilities[first : max(first, math.ceil(right / window))]
    step = max(1, probabilities.shape[0] // (2 * max_points))
    shown = probabilities[: probabilities.shape[0] // step * step].reshape(-1, step).max(axis=1)
    twin = ax.twinx()
    twin.plot((first + np.arange(shown.shape[0]) * step + step / 2) * window, shown, color="tab:orange",
              linewidth=0.7, label="speech probability (max)")
    twin.axhline(speech.threshold, color="tab:orange", linestyle=":", linewidth=0.8)
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("speech probability")
    twin.legend(loc="upper right", fontsize="small")


def plot_envelope(path: StrPath, params: Mapping[str, Any] | None, png_path: StrPath, *, zoom: Any = None,
                  max_points: int = 2000, decoder: str = "auto", stream: int | None = None,
                  detector: str = "rms") -> dict[str, Any]:
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


def clock(seconds: float) -> str:
    """``seconds`` as m:ss (h:mm:ss from an hour on) to the second, or as seconds under a minute."""
    if seconds < 60:
        return f"{seconds:g} s"
    whole = round(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
