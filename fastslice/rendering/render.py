"""Rendering: what is done to the samples between the decoder and the clip's file.

* the high-pass filter (``fastslice.rendering.filters.HighPass``), before the audio is sliced (``HighPassSpec``);
* a clip's gain where the options change levels (``GainRule``, ``Gain``: peak, loudness, ceiling);
* resampling (soxr) and mixing down to mono (``converted``);
* integer samples as float32 where the clips are float (``Rendering.blocks``).

``Rendering`` puts these together for one input's clips, from what its plan decided
(``fastslice.run.plan``).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Protocol

import numpy as np

from . import loudness
from ..reading import readers
from ..system import storage
from ..errors import FastsliceError, ParameterError, listed
from .filters import HighPass, butter_highpass


class SampleStore(Protocol):
    """Where a clip's samples are read back from (``fastslice.rendering.samples``: ``SampleHold``, ``Reread``)."""

    def blocks(self, start: int, end: int, block_frames: int) -> Iterable[np.ndarray]:
        """The frames ``[start, end)``, in blocks of at most ``block_frames``."""


@dataclasses.dataclass(frozen=True)
class HighPassSpec:
    """The high-pass filter applied as the input is decoded, before it is sliced: a Butterworth
    filter of ``order`` with its corner at ``hz`` (``fastslice.rendering.filters``)."""

    hz: float
    order: int

    def filter(self, rate: int, channels: int, name: str) -> HighPass:
        """The filter for an input of ``rate`` and ``channels``; a ``FastsliceError`` naming the input
        ``name`` if its parameters cannot be at this sample rate."""
        try:
            return HighPass(butter_highpass(self.order, self.hz, rate), channels)
        except ParameterError as exc:
            raise FastsliceError(f"{name}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class GainRule:
    """How each clip's gain is chosen (``Gain``): its sample peak to ``normalize_dbfs`` (blended by
    ``normalize_mix``), or its loudness to ``loudness_lufs`` under ``peak_ceiling``, or only lowered
    under ``peak_ceiling``.  A plan holds one only where one of ``normalize_dbfs`` and
    ``peak_ceiling`` is set."""

    normalize_dbfs: float | None
    normalize_mix: float
    loudness_lufs: float | None
    peak_ceiling: float | None


@dataclasses.dataclass(frozen=True)
class Rendering:
    """How an input's clips are made from its held samples: ``convert`` resamples to ``out_rate``
    and/or mixes to mono (``mono``); ``as_floats`` gives integer samples as float32 (float clips);
    ``gain``, if any, scales each clip (measured in a first pass, up to ``keep_bytes`` kept)."""

    in_rate: int
    out_rate: int
    mono: bool
    convert: bool
    as_floats: bool
    gain: Gain | None
    block_frames: int
    keep_bytes: int

    def blocks(self, store: SampleStore, start: int, end: int, clip: str) -> Iterable[np.ndarray]:
        """The blocks written for the clip ``clip``, frames ``[start, end)`` of ``store``."""
        if self.gain is None:
            return self._plain(store, start, end)
        return self.gain.blocks(lambda: self._plain(store, start, end), self.keep_bytes, clip)

    def _plain(self, store: SampleStore, start: int, end: int) -> Iterable[np.ndarray]:
        blocks = store.blocks(start, end, self.block_frames)
        if self.convert:
            return converted((readers.as_float32(b) for b in blocks), self.in_rate, self.out_rate, self.mono)
        if self.as_floats:
            return (readers.as_float32(b) for b in blocks)
        return blocks

    def warnings(self, name: str) -> list[str]:
        """What the gain found (clips left at their own gain), naming the input ``name``."""
        return [] if self.gain is None else self.gain.warnings(name)


def converted(blocks: Iterable[np.ndarray], in_rate: int, out_rate: int, mono: bool) -> Iterator[np.ndarray]:
    """Blocks mixed to mono (the mean of the channels) and/or resampled by soxr's streaming resampler."""
    resampler: Any = None
    channels = 0
    for block in blocks:
        if mono:
            block = block.mean(axis=1, keepdims=True, dtype=np.float32)
        if out_rate != in_rate:
            if resampler is None:
                channels = block.shape[1]
                resampler = resampler_for(in_rate, out_rate, channels)
            block = resampler.resample_chunk(block)
        yield block
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True)


def resampler_for(in_rate: int, out_rate: int, channels: int) -> Any:
    """soxr's streaming resampler (high quality, float32), or a ``FastsliceError`` saying how to install it."""
    try:
        import soxr
    except ImportError:
        raise FastsliceError("resampling (--sr) needs soxr, a dependency of fastslice that is missing from this "
                             "environment: pip install soxr (or install fastslice again)") from None
    return soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality="HQ")


class Gain:
    """The gain of each clip where a ``GainRule`` changes levels, found in a first pass over the clip:

    * ``normalize_dbfs`` (``--normalize``): its sample peak to that level (``normalize_mix`` < 1
      blends the normalized clip with the clip as it is);
    * ``loudness_lufs`` (``--loudness``): its integrated loudness (ITU-R BS.1770-4,
      ``fastslice.rendering.loudness``) to that level, then lowered so that its sample peak stays at or under
      the ceiling (``peak_ceiling``: -1 dBFS unless given) -- gain reduced, never clipped;
    * ``peak_ceiling_dbfs`` alone (``--peak-ceiling``): lowered only where its peak is above.

    The clip is measured as it is written (after --sr and --mono).  A clip shorter than one gating
    block (400 ms) or silent throughout (every block under -70 LUFS) has no loudness: it is left at
    its own gain, under the ceiling, and ``warnings`` names it."""

    def __init__(self, rule: GainRule, rate: int, channels: int) -> None:
        if rule.normalize_dbfs is None and rule.peak_ceiling is None:
            raise ValueError("a GainRule changes levels only with normalize_dbfs or peak_ceiling")
        self.rate, self.channels = rate, channels
        self.normalize = rule.normalize_dbfs
        self.mix = rule.normalize_mix
        self.target = rule.loudness_lufs
        self.ceiling = rule.peak_ceiling
        self.short: list[str] = []
        self.silent: list[str] = []  # clips left at their own gain (appended on the writer's thread)

    @classmethod
    def of(cls, rule: GainRule | None, rate: int, channels: int) -> Gain | None:
        """The ``Gain`` of ``rule``, or None where clips are written at their own level (no rule)."""
        return None if rule is None else cls(rule, rate, channels)

    def factor(self, peak: float, integrated: float | None, clip: str) -> float:
        """The gain of a clip of sample ``peak`` (amplitude) and ``integrated`` loudness (LUFS or None)."""
        if self.normalize is not None:
            return 1.0 if peak == 0 else self.mix * 10 ** (self.normalize / 20) / peak + (1 - self.mix)
        assert self.ceiling is not None  # __init__: without normalize_dbfs, peak_ceiling is set
        if self.target is not None:
            found = loudness.gain(integrated, peak, self.target, self.ceiling)
            if found is not None:
                return found
            (self.short if integrated is None else self.silent).append(storage.basename(clip))
        limit = 10 ** (self.ceiling / 20)
        return limit / peak if peak > limit else 1.0

    def blocks(self, clip_blocks: Callable[[], Iterable[np.ndarray]], keep_bytes: int, clip: str) -> Iterator[np.ndarray]:
        """The blocks of ``clip_blocks()`` as float32, scaled by the clip's gain.  The first pass
        measures them and keeps them up to ``keep_bytes``; a longer clip is made again for the
        second pass, so memory stays bounded."""
        peak, size = 0.0, 0
        kept: list[np.ndarray] | None = []
        meter = loudness.Meter(self.rate, self.channels) if self.target is not None else None
        for block in clip_blocks():
            block = readers.as_float32(block)
            peak = max(peak, float(np.abs(block).max(initial=0.0)))
            if meter is not None:
                meter.feed(block)
            if kept is not None:
                size += block.nbytes
                if size <= keep_bytes:
                    kept.append(block.copy())
                else:
                    kept = None
        factor = np.float32(self.factor(peak, None if meter is None else meter.integrated(), clip))
        for block in kept if kept is not None else (readers.as_float32(b) for b in clip_blocks()):
            yield block * factor

    def warnings(self, name: str) -> list[str]:
        """The warnings for the clips left at their own gain, naming the input ``name``."""
        notes = []
        ceiling = "" if self.ceiling is None else f", under the ceiling ({self.ceiling:g} dBFS)"
        short = f"shorter than {loudness.BLOCK_SECONDS * 1000:.0f} ms (one gating block)"
        for clips, what in ((self.short, short), (self.silent, "below the absolute gate (-70 LUFS) throughout")):
            if clips:
                notes.append(f"{name}: no loudness for {len(clips)} clip{'s' if len(clips) > 1 else ''} {what}; left "
                             f"at their own gain{ceiling}: {listed(clips)}")
        return notes

