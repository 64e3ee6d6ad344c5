"""Clip ranges found as a recording streams by: the slicer's silence state machine, block by block.

``RangeStream`` is fed interleaved blocks of samples, ``(frames, channels)`` as
soundfile reads them, and gives back each clip's ``(start, end)`` sample range
as soon as its end is known.  It holds one window of mono samples and a ring of
``2 * max_sil_kept_frames + FRAMES_PER_STEP`` RMS values, whatever the
length of the recording.  The ranges are exactly ``Slicer.slice_ranges`` of the
whole recording, in the channels-first F-ordered layout that
``soundfile.read(...).T`` and ``librosa.load(mono=False)`` return.

Its length may be unknown until the end (a pipe, a format whose header does not
say): pass ``n_samples=None``, and ``finish()`` takes the length as what was fed.

``iter_clip_ranges(source, ...)`` does this for a file or a stream, decoded once
(``fastslice.reading.decoding``).  The pieces the state machine is composed with (the
frames, a speech gate, a maximum length) are in ``fastslice.cutting.framing``; the cutters that
use the frames otherwise (cues, the automatic threshold) in ``fastslice.cutting.cutters``.
"""
from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .. import _kernels
from ..errors import FastsliceError, ParameterError
from ..reading import readers
from ..reading.decoding import BLOCK_FRAMES, Decoding, SampleCheck
from .framing import FRAMES_PER_STEP, FrameStream, Gate, LengthLimit, OnFrames, Range, SpeechGating
from .slicer import Slicer, make_slicer


class RangeStream:
    """Clip ranges of a recording, fed in blocks: the slicer's silence state machine.

    ``feed(block)`` takes the next ``(frames, channels)`` block (float32 or
    float64, the dtype of the first block is kept) and returns the ranges
    completed so far; ``finish()`` returns the rest once every sample was fed.
    ``n_samples`` is the recording's length, or ``None`` if it is known only at
    the end; the ranges are the same either way.

    The frames come from a ``framing.FrameStream``; ``gate`` (a ``fastslice.cutting.speech.SpeechGate``)
    decides silent frames instead of the threshold (``framing.SpeechGating``); a maximum length
    merges and splits the ranges (``framing.LengthLimit``); ``on_frames(first, rms)``, if given,
    sees every block of RMS frames as it is computed.
    """

    def __init__(self, slicer: Slicer, n_samples: int | None, channels: int, dtype: Any = np.float32,
                 gate: Gate | None = None, on_frames: OnFrames | None = None) -> None:
        if (n_samples is not None and n_samples < 0) or channels < 1:
            raise ParameterError(f"n_samples={n_samples!r} and channels={channels!r} must be >= 0 (or None) and >= 1")
        self.slicer = slicer
        self.n_samples = None if n_samples is None else int(n_samples)
        self.channels = int(channels)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype={self.dtype} must be float32 or float64")
        self.fed = 0
        self.gate = gate
        limit = slicer.max_length_samples
        # True or False, or None while the length is unknown and what was fed is still "too short"
        # (ranges are withheld until then: the reference returns a too-short input whole).
        self._too_short = None if self.n_samples is None else slicer.is_too_short(self.n_samples)
        self._withheld: list[Range] = []
        # A recording too short to cut is returned whole, unread, unless a maximum length applies.
        self._whole = self._too_short is True and (limit is None or self.n_samples is None or self.n_samples <= limit)
        self._limit = None if limit is None else LengthLimit(slicer, limit, self.dtype)
        self._gating = None if gate is None else SpeechGating(gate, self.dtype)
        self._on_frames = on_frames
        self._found: list[Range] = []  # ranges found while frames were computed
        if self._whole:
            return
        self._frames = FrameStream(slicer, self.n_samples, self.channels, self.dtype, self._framed,
                                   None if gate is None else gate.feed)
        # speech frames are inf, the others keep their level (the quietest is still where to cut)
        self._threshold = slicer.comparable_threshold(self.dtype) if gate is None else self.dtype.type(np.inf)
        self._ring = np.empty(2 * slicer.max_sil_kept_frames + FRAMES_PER_STEP, self.dtype)
        self._state = np.array([-1, 0, -1], dtype=np.int64)
        self._tags = np.empty((FRAMES_PER_STEP + 1, 2), dtype=np.int64)
        self._last_right: int | None = None  # right end (frames) of the last silence tag

    # -- public -------------------------------------------------------------

    def feed(self, block: np.ndarray) -> list[Range]:
        """Take the next block, ``(frames, channels)``; return the ranges completed so far."""
        block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ParameterError(f"block has shape {block.shape}; expected (frames, {self.channels})")
        block = np.ascontiguousarray(block, dtype=self.dtype)
        return self._take(block, block.shape[0], lambda: self._frames.feed(block))

    def feed_mono(self, mono: np.ndarray) -> list[Range]:
        """Take the next block already mixed: the mean of its channels as ``Slicer`` mixes them
        (``fastslice.reading.decoding.SampleCheck.mix`` gives it); return the ranges completed so far."""
        mono = np.asarray(mono)
        if mono.ndim != 1:
            raise ParameterError(f"mono has shape {mono.shape}; expected (frames,)")
        mono = np.asarray(mono, dtype=self.dtype)
        return self._take(mono, mono.shape[0], lambda: self._frames.feed_mono(mono))

    def finish(self) -> list[Range]:
        """The remaining ranges; call once every sample has been fed."""
        if self.n_samples is None:
            self.n_samples = self.fed
            if self._too_short is None:
                self._too_short = self.slicer.is_too_short(self.fed)
        if self.fed != self.n_samples:
            raise FastsliceError(f"stream ended after {self.fed} of {self.n_samples} samples")
        if self._whole:
            return [(0, self.n_samples)]
        if self.gate is not None:
            self.gate.finish()
        self._frames.finish()  # the last frames (on_frames sees them all)
        ranges = self._withheld + self._collected()
        self._withheld = []
        limit = self._limit
        if self._too_short and (limit is None or self.n_samples <= limit.limit):
            return [(0, self.n_samples)]
        n_frames = self.slicer.n_frames(self.n_samples)
        tag = self._tags[0]
        if _kernels.trailing_tag(n_frames, self.slicer.min_interval_frames, self._state, tag):
            ranges += self._ranges_of_tags(self._tags[:1])
        if self._too_short or self._last_right is None:  # the reference returns the input whole
            ranges = [(0, self.n_samples)]
        elif self._last_right < n_frames:
            ranges.append(self._samples(self._last_right, n_frames))
        return self._limit_lengths(ranges, final=True)

    def first_open_sample(self) -> int:
        """The earliest sample that a range not yet returned can start at: samples before it are
        never needed again (a caller holding decoded samples may drop them)."""
        if self._whole:
            return 0
        start = 0 if self._last_right is None or self._too_short is not False else self._samples(self._last_right, self._last_right)[0]
        pending = None if self._limit is None else self._limit.pending
        if pending is not None:
            start = min(start, pending[0])
        return start

    # -- internals ------------------------------------------------------------

    def _take(self, block: np.ndarray, frames: int, feed: Callable[[], None]) -> list[Range]:
        """Count ``frames`` more samples and ``feed()`` them to the frames; the ranges completed."""
        if self.n_samples is not None and self.fed + frames > self.n_samples:
            raise ParameterError(f"fed {self.fed + frames} samples, more than n_samples={self.n_samples}")
        self.fed += frames
        if self._whole or frames == 0:
            return []
        feed()
        ranges = self._collected()
        if self._too_short is None:
            self._withheld += ranges
            ranges = []
            if not self.slicer.is_too_short(self.fed):  # longer than "too short", whatever is still to come
                self._too_short = False
                ranges, self._withheld = self._withheld, []
        return self._limit_lengths(ranges, final=False)

    def _framed(self, first: int, rms: np.ndarray) -> None:
        """A block of frames computed: tagged now, or held for the speech gate."""
        if self._on_frames is not None:
            self._on_frames(first, rms)
        if self._gating is None:
            self._found += self._tag(first, rms, rms)
        else:
            self._gating.hold(first, rms)

    def _collected(self) -> list[Range]:
        """The ranges found since the last call (with a gate: of the frames it has decided)."""
        if self._gating is not None:
            for first, rms, levels in self._gating.decided():
                self._found += self._tag(first, rms, levels)
        found, self._found = self._found, []
        return found

    def _tag(self, first: int, rms: np.ndarray, levels: np.ndarray) -> list[Range]:
        """Run the silence state machine over frames ``[first, first + len(rms))``: ``levels`` are what it
        compares with the threshold and takes the quietest of (``rms`` itself, or gated), ``rms`` what a
        maximum length cuts at."""
        slicer = self.slicer
        last = first + rms.shape[0]
        self._ring[np.arange(first, last) % self._ring.shape[0]] = levels
        count = _kernels.tag_silences(
            self._ring, first, last, self._threshold, slicer.min_interval_frames,
            slicer.min_length_frames, slicer.max_sil_kept_frames, self._state, self._tags,
        )
        if self._limit is not None:
            self._limit.see(rms)
        return self._ranges_of_tags(self._tags[:count])

    def _limit_lengths(self, ranges: list[Range], final: bool) -> list[Range]:
        """With a maximum length: merge (if asked) and split the reference's ranges."""
        if self._limit is None:
            return ranges
        open_start = 0 if self._last_right is None or self._too_short is not False else self._last_right
        return self._limit.apply(ranges, final, open_start, self._frames.next_frame)

    def _ranges_of_tags(self, tags: np.ndarray) -> list[Range]:
        ranges: list[Range] = []
        if self._too_short:  # the reference returns the input whole; tags only move the clip start
            if len(tags):
                self._last_right = int(tags[-1, 1])
            return ranges
        for left, right in tags.tolist():
            if self._last_right is None:
                if left > 0:
                    ranges.append(self._samples(0, left))
            else:
                ranges.append(self._samples(self._last_right, left))
            self._last_right = right
        return ranges

    def _samples(self, begin_frame: int, end_frame: int) -> Range:
        hop = self.slicer.hop_samples
        n = self.fed if self.n_samples is None else self.n_samples
        start = min(begin_frame * hop, n)
        return (start, max(start, min(n, end_frame * hop)))


def iter_clip_ranges(source: Any, *, decoder: str = "auto", stream: int | None = None, block_frames: int = BLOCK_FRAMES,
                     **params: Any) -> Iterator[Range]:
    """Yield each clip's ``(start, end)`` sample range of an audio file or stream.

    ``source`` is a path or a readable binary file object (a pipe included).  It is
    read once, in blocks of ``block_frames`` frames; memory stays constant whatever
    its length.  ``decoder`` and ``stream`` choose how it is decoded
    (``fastslice.reading.readers.open_source``).  ``params`` are ``Slicer``'s (``threshold``,
    ``min_length``, ``min_interval``, ``hop_size``, ``max_sil_kept``,
    ``legacy_short_check``, ``max_length``, ``merge_short``) with its defaults; the
    sample rate is the file's.  The ranges are ``Slicer(sr, **params).slice_ranges``
    of the whole recording as that decoder decodes it in one piece (for libsndfile's
    formats: ``soundfile.read(path, dtype="float32")``).
    """
    if block_frames < 1:
        raise ParameterError(f"block_frames={block_frames!r} must be >= 1")
    with readers.open_source(source, decoder=decoder, stream=stream) as f:
        slicer = make_slicer(f.samplerate, params)
        ranges = RangeStream(slicer, None, f.channels, np.float32)
        for _, mono in Decoding(f, block_frames, check=SampleCheck(f)):
            yield from ranges.feed_mono(mono)
        yield from ranges.finish()


def iter_frame_rms(source: Any, *, decoder: str = "auto", stream: int | None = None, block_frames: int = BLOCK_FRAMES,
                   gate_for: Callable[[int, int], Gate | None] | None = None,
                   block_sink: Callable[[int, int, npt.NDArray[np.float32]], object] | None = None,
                   **params: Any) -> Generator[tuple[int, np.ndarray], None, tuple[tuple[int, int, int | None], list[Range]]]:
    """Yield ``(first_frame, rms)`` blocks of a recording's RMS envelope (one value per hop) as it is
    read; the generator's return value (``StopIteration.value``) is ``(source info, list of clip ranges)``.

    ``params`` as for ``iter_clip_ranges``.  A recording too short to slice (``Slicer``'s
    too-short rule) may have no RMS to yield.  ``gate_for(rate, hop)``, if given, makes the gate
    that decides silent frames (``fastslice.cutting.speech.SpeechGate``).  ``block_sink(rate, channels, block)``,
    if given, sees every block of samples as float32 ``(frames, channels)`` (``fastslice.rendering.loudness.Meter``).
    """
    with readers.open_source(source, decoder=decoder, stream=stream) as f:
        slicer = make_slicer(f.samplerate, params)
        gate = None if gate_for is None else gate_for(f.samplerate, slicer.hop_samples)
        pending: list[tuple[int, np.ndarray]] = []
        stream_ = RangeStream(slicer, None, f.channels, np.float32, gate=gate,
                              on_frames=lambda first, rms: pending.append((first, rms.copy())))
        ranges = []
        decoding = Decoding(f, block_frames)
        for samples, mono in decoding:
            if block_sink is not None:
                block_sink(f.samplerate, f.channels, readers.as_float32(samples))
            ranges += stream_.feed_mono(mono)
            yield from pending
            pending.clear()
        ranges += stream_.finish()
        yield from pending
        return (f.samplerate, f.channels, stream_.n_samples), ranges


