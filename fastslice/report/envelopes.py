"""A recording's RMS frames, read once in constant memory, and its level envelope.

``read_frames(path, params, sink)`` reads a recording once, in blocks, passing each block of RMS
frames (as ``Slicer`` computes them) to ``sink``, and returns what was read and the clips
``params`` cut; ``report``, ``tune`` and ``review`` are built on it.  ``envelope_of`` keeps the
RMS envelope in dB as the minimum and maximum of at most ``max_points`` buckets of frames (of the
whole recording, or of a span of it), for the plot and the review page.  ``SpeechTrace`` is the
speech detector (``fastslice.cutting.speech``) of an analysis, with the probabilities its windows gave.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple

import numpy as np
import numpy.typing as npt

from ..cutting import threshold as levels
from ..errors import ParameterError
from ..cutting.threshold import LOW_DB

if TYPE_CHECKING:
    from _typeshed import StrPath

    from ..cutting.slicer import Slicer
    from ..cutting.speech import SpeechGate

#: Clip ranges in samples: ``(start, end)``.
Ranges = list[tuple[int, int]]


class RecordingInfo(NamedTuple):
    """What reading a recording found: its sample rate, length (samples per channel) and channels."""

    samplerate: int
    frames: int
    channels: int


class Envelope(NamedTuple):
    """``envelope_of``'s result: ``low[k]``, ``high[k]`` (dB) are the minimum and maximum of the
    frames from ``first + k * bucket`` on (``bucket`` of them); ``ranges`` the clips ``params`` cut."""

    info: RecordingInfo
    slicer: Slicer
    ranges: Ranges
    bucket: int
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    first: int


class SpeechTrace:
    """The speech detector of ``analyze`` and ``envelope_of``: its gate, and what its windows said."""

    def __init__(self) -> None:
        self.probabilities: list[npt.NDArray[np.float32]] = []  # the 32 ms windows' probabilities, in order
        self.gate: SpeechGate | None = None

    def gate_for(self, rate: int, hop: int) -> SpeechGate:
        """The gate of a stream at ``rate`` with ``hop`` samples a frame, recording its probabilities."""
        from ..cutting.speech import SpeechGate

        gate = self.gate = SpeechGate(rate, hop)
        gate.probability_sink = lambda first, p: self.probabilities.append(p.copy())
        return gate

    def all(self) -> npt.NDArray[np.float32]:
        """Every window's speech probability, in order."""
        return np.concatenate(self.probabilities) if self.probabilities else np.zeros(0, np.float32)

    @property
    def threshold(self) -> float:
        """The probability at and above which a window is speech."""
        if self.gate is None:
            raise ValueError("SpeechTrace.threshold: no recording was read through this trace yet")
        return self.gate.threshold

    def summary(self) -> dict[str, Any]:
        """``speech_ratio`` (the share of windows that are speech) and ``pauses`` (``count`` and
        ``length_summary`` of the non-speech stretches between speech, in seconds)."""
        from ..cutting.speech import RATE, WINDOW

        speech = self.all() >= self.threshold
        ratio = float(speech.mean()) if speech.size else 0.0
        # runs of non-speech windows with speech before and after them
        edges = np.flatnonzero(np.diff(speech.astype(np.int8)))
        pauses = []
        for a, b in zip(edges[::1], edges[1:]):
            if not speech[a + 1] and speech[a]:
                pauses.append((b - a) * WINDOW / RATE)
        lengths = np.array(pauses)
        return {"speech_ratio": ratio, "pauses": {"count": len(pauses), **length_summary(lengths)}}


def length_summary(lengths: npt.NDArray[np.float64]) -> dict[str, float | None]:
    """``min``, ``median`` and ``max`` of ``lengths`` (None with none)."""
    if lengths.size == 0:
        return {"min": None, "median": None, "max": None}
    return {"min": float(lengths.min()), "median": float(np.median(lengths)), "max": float(lengths.max())}


def read_frames(path: StrPath, params: Mapping[str, Any], sink: Callable[[npt.NDArray[np.float32]], object],
                decoder: str = "auto", stream: int | None = None, speech: SpeechTrace | None = None,
                blocks: Callable[[int, int, npt.NDArray[np.float32]], object] | None = None,
                on_start: Callable[[int, int], object] | None = None) -> tuple[RecordingInfo, Slicer, Ranges]:
    """Read the file once, passing each ``(first_frame, rms)`` block's RMS to ``sink(rms)`` and each
    block of samples to ``blocks(rate, channels, float32 block)`` if given; ``(info, slicer, ranges)``,
    ``info`` with ``samplerate``, ``frames`` (samples per channel) and ``channels``.  ``on_start(rate,
    hop_samples)``, if given, is called once they are known, before the first RMS."""
    from ..cutting.ranges import iter_frame_rms
    from ..cutting.slicer import make_slicer

    def gate_for(rate: int, hop: int) -> SpeechGate | None:
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
        sink(rms)
    return RecordingInfo(sr, n_frames, channels), make_slicer(sr, params), ranges


class _Buckets:
    """The minimum and maximum (dB) per bucket of RMS frames, as frames arrive.

    The whole file: the bucket doubles whenever there are ``2 * max_points`` of them, so the
    envelope needs no length up front (a stream may not say it).  A span ``(start, end)`` seconds:
    its frames ``[first, stop)`` in buckets of ``ceil((stop - first) / max_points)`` frames, set once
    the hop is known (``known``)."""

    def __init__(self, max_points: int, span: tuple[float, float] | None) -> None:
        self.max_points, self.span = max_points, span
        self.bucket, self.first = 1, 0
        self.stop: int | None = None
        self.low: npt.NDArray[np.float64] = np.empty(0)
        self.high: npt.NDArray[np.float64] = np.empty(0)
        self.position = 0  # the next frame to arrive

    def known(self, rate: int, hop_samples: int) -> None:
        """The span's frames and buckets, now that the rate and hop are known."""
        assert self.span is not None
        hop = hop_samples / rate
        first = math.floor(self.span[0] / hop)
        stop = max(first + 1, math.ceil(self.span[1] / hop))
        bucket = max(1, -(-(stop - first) // self.max_points))
        n = -(-(stop - first) // bucket)
        self.bucket, self.first, self.stop = bucket, first, stop
        self.low, self.high = np.full(n, np.inf), np.full(n, -np.inf)

    def _grow(self, first: int, rms: npt.NDArray[np.float32]) -> None:
        """Room for frames ``first ..`` of the whole file: buckets doubled, and added."""
        last = (first + rms.shape[0] - 1) // self.bucket
        while last >= 2 * self.max_points:
            self.low, self.high = _halved(self.low, np.inf, np.minimum), _halved(self.high, -np.inf, np.maximum)
            self.bucket *= 2
            last = (first + rms.shape[0] - 1) // self.bucket
        if self.low.shape[0] <= last:
            self.low = np.concatenate([self.low, np.full(last + 1 - self.low.shape[0], np.inf)])
        if self.high.shape[0] <= last:
            self.high = np.concatenate([self.high, np.full(last + 1 - self.high.shape[0], -np.inf)])

    def add(self, rms: npt.NDArray[np.float32]) -> None:
        """Take the next block of RMS frames."""
        first = self.position
        self.position += rms.shape[0]
        if self.span is None:
            self._grow(first, rms)
        else:  # the frames within the span only
            assert self.stop is not None
            lo, hi = max(first, self.first), min(first + rms.shape[0], self.stop)
            if lo >= hi:
                return
            rms, first = rms[lo - first : hi - first], lo - self.first
        index = (first + np.arange(rms.shape[0])) // self.bucket
        db = np.maximum(levels.to_db(rms), LOW_DB)
        np.minimum.at(self.low, index, db)
        np.maximum.at(self.high, index, db)


def _halved(values: npt.NDArray[np.float64], fill: float,
            reduce: Callable[[npt.NDArray[np.float64], npt.NDArray[np.float64]], npt.NDArray[np.float64]]
            ) -> npt.NDArray[np.float64]:
    """Pairs of buckets as one (an odd last one paired with ``fill``)."""
    if values.shape[0] % 2:
        values = np.append(values, fill)
    return reduce(values[0::2], values[1::2])


def envelope_of(path: StrPath, params: Mapping[str, Any] | None = None, max_points: int = 2000, *,
                decoder: str = "auto", stream: int | None = None, speech: SpeechTrace | None = None,
                span: tuple[float, float] | None = None) -> Envelope:
    """``envelope`` as an ``Envelope``; with ``span=(start, end)`` seconds, of the frames in it only, in
    buckets sized from the span's length (about ``max_points`` of them across it)."""
    if max_points < 1:
        raise ParameterError(f"max_points={max_points!r} must be >= 1")
    buckets = _Buckets(max_points, span)
    info, slicer, ranges = read_frames(path, dict(params or {}), buckets.add, decoder, stream, speech,
                                       on_start=None if span is None else buckets.known)
    low, high = buckets.low, buckets.high
    if span is not None:  # buckets past the recording's end hold nothing
        filled = np.flatnonzero(np.isfinite(high))
        n = int(filled[-1]) + 1 if filled.size else 0
        low, high = low[:n], high[:n]
    return Envelope(info, slicer, ranges, buckets.bucket, low, high, buckets.first)


def envelope(path: StrPath, params: Mapping[str, Any] | None = None, max_points: int = 2000, *, decoder: str = "auto",
             stream: int | None = None, speech: SpeechTrace | None = None
             ) -> tuple[RecordingInfo, Slicer, Ranges, int, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The RMS envelope of a recording in dB, read once in constant memory, as the minimum and maximum
    of at most ``max_points`` buckets of frames.  Returns ``(info, slicer, ranges, bucket, low, high)``:
    ``bucket`` frames per value, and the clip ranges ``params`` cut."""
    found = envelope_of(path, params, max_points, decoder=decoder, stream=stream, speech=speech)
    return found.info, found.slicer, found.ranges, found.bucket, found.low, found.high
