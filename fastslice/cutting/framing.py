"""The pieces a stream of samples is cut with, each one thing:

* ``FrameStream``: blocks of samples mixed to mono and framed into RMS values (one a hop), in
  constant memory; each block of frames is handed to ``on_frames(first, rms)`` as it is computed.
  Alone, it serves the cutters that need the frames only (cues, the automatic threshold:
  ``fastslice.cutting.cutters``); ``fastslice.cutting.ranges.RangeStream`` runs the slicer's state machine on them.
* ``SpeechGating``: a speech gate (``fastslice.cutting.speech.SpeechGate``) between the frames and the state
  machine: it sees the mono samples, holds the frames until it has decided them, and gives them
  back with what the machine compares (speech frames infinite, the others at their level).
* ``LengthLimit``: the ranges the machine finds, merged (if asked) and split at a maximum length
  (``fastslice.cutting.lengths``), from the RMS frames it keeps since the earliest clip still to come.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np

from .. import _kernels
from . import lengths
from .slicer import Slicer

# RMS frames computed and tagged per step (bounds the ring).
FRAMES_PER_STEP = 4096
# Mono samples mixed per step, beyond one window and one hop (bounds the mono buffer).
_MONO_STEP = 1 << 16

#: ``on_frames(first_frame, rms)``: a block of RMS frames (a view reused by the next block)
OnFrames = Callable[[int, np.ndarray], None]
Range = tuple[int, int]


class FrameStream:
    """RMS frames of a recording fed in blocks: ``feed(block)`` (``(frames, channels)``, mixed here as
    ``Slicer`` mixes) or ``feed_mono(mono)``; ``finish()`` computes the last frames once every sample
    was fed.  ``n_samples`` is the length, or None until the end.  ``on_samples(mono)``, if given,
    sees the mono samples as they are mixed, before their frames are computed."""

    def __init__(self, slicer: Slicer, n_samples: int | None, channels: int, dtype: Any, on_frames: OnFrames,
                 on_samples: Callable[[np.ndarray], None] | None = None) -> None:
        self.slicer = slicer
        self.n_samples = n_samples
        self.channels = channels
        self.dtype = dtype = np.dtype(dtype)
        self._on_frames, self._on_samples = on_frames, on_samples
        win, hop = slicer.win_samples, slicer.hop_samples
        self.n_frames = None if n_samples is None else slicer.n_frames(n_samples)
        #: the first frame not computed yet
        self.next_frame = 0
        self._plan = slicer.window_plan
        # NumPy mixes an interleaved (F-ordered) array's channels pairwise from 8 channels on:
        # that rare mix is left to NumPy itself.
        self._numpy_mix = channels >= 8
        self._stacks = np.empty((_kernels.FRAMES_AT_ONCE, len(self._plan)), dtype)
        self._scratch = np.empty(win, dtype)
        self._win_length = dtype.type(win)
        self._n_channels = dtype.type(channels)
        # mono[k] is sample mono_start + k; it holds samples mono_start .. mono_stop - 1.
        self._mono = np.empty(win + hop + _MONO_STEP, dtype)
        self._mono_start = 0
        self._mono_stop = 0
        self._rms = np.empty(FRAMES_PER_STEP, dtype)

    @property
    def fed(self) -> int:
        """The samples fed so far."""
        return self._mono_stop

    def feed(self, block: np.ndarray) -> None:
        """Take the next ``(frames, channels)`` block, in ``dtype``, C-contiguous."""
        self._take(block, self._mix)

    def feed_mono(self, mono: np.ndarray) -> None:
        """Take the next block already mixed, in ``dtype``."""
        self._take(mono, self._copy)

    def finish(self) -> None:
        """Compute the last frames; call once every sample was fed (the length is then what was fed)."""
        if self.n_samples is None:
            self.n_samples = self._mono_stop
            self.n_frames = self.slicer.n_frames(self._mono_stop)
        self._run_frames()

    def _mix(self, part: np.ndarray, out: np.ndarray) -> None:
        if self._numpy_mix:
            np.mean(part, axis=1, out=out)
        else:
            _kernels.mix_interleaved(part.reshape(-1), self.channels, self.channels, 0, self._n_channels, out)

    @staticmethod
    def _copy(part: np.ndarray, out: np.ndarray) -> None:
        out[:] = part

    def _take(self, block: np.ndarray, mix: Callable[[np.ndarray, np.ndarray], None]) -> None:
        """Mix ``block`` into the mono buffer as room allows (``mix(part, out)``), framing as it goes."""
        position = 0
        while position < block.shape[0]:  # mix as much as the mono buffer can take, then frame it
            self._drop_used_samples()
            room = self._mono.shape[0] - (self._mono_stop - self._mono_start)
            take = min(room, block.shape[0] - position)
            filled = self._mono_stop - self._mono_start
            mix(block[position : position + take], self._mono[filled : filled + take])
            if self._on_samples is not None:
                self._on_samples(self._mono[filled : filled + take])
            self._mono_stop += take
            position += take
            self._run_frames()

    def _computable_frames(self) -> int:
        """Frames whose whole window has been fed (all of them once the stream is complete)."""
        if self.n_frames is not None and self._mono_stop == self.n_samples:
            return int(self.n_frames)
        slicer = self.slicer
        reach = self._mono_stop + slicer.win_samples // 2 - slicer.win_samples
        frames = max(0, reach // slicer.hop_samples + 1)
        return int(frames if self.n_frames is None else min(self.n_frames, frames))

    def _run_frames(self) -> None:
        slicer = self.slicer
        stop = self._computable_frames()
        while self.next_frame < stop:
            first = self.next_frame
            last = min(stop, first + FRAMES_PER_STEP)
            rms = self._rms[: last - first]
            # While the length is unknown, only frames whose window was fed whole are computed.
            known = self.n_samples if self.n_samples is not None else self._mono_stop
            _kernels.frame_rms(
                self._mono[: self._mono_stop - self._mono_start], self._mono_start, known,
                slicer.hop_samples, first, self._win_length, self._plan, self._stacks, self._scratch, rms,
            )
            self._on_frames(first, rms)
            self.next_frame = last

    def _drop_used_samples(self) -> None:
        """Forget mono samples that no frame still to come will read."""
        keep_from = max(0, self.next_frame * self.slicer.hop_samples - self.slicer.win_samples // 2)
        drop = min(keep_from, self._mono_stop) - self._mono_start
        if drop > 0:
            kept = self._mono_stop - self._mono_start - drop
            self._mono[:kept] = self._mono[drop : drop + kept]
            self._mono_start += drop


class Gate(Protocol):
    """What decides speech frames (``fastslice.cutting.speech.SpeechGate``)."""

    def feed(self, mono: np.ndarray) -> None:
        """See the next mono samples."""

    def finish(self) -> None:
        """The input has ended: decide the rest."""

    def decided_frames(self) -> int | None:
        """Frames decided so far (None: all of them)."""

    def gate(self, first: int, rms: np.ndarray) -> np.ndarray:
        """The frames ``rms`` from ``first`` as the state machine compares them."""

    def release_before(self, frame: int) -> None:
        """Frames before ``frame`` are not asked about again."""


class SpeechGating:
    """Frames held until a speech gate has decided them: ``hold(first, rms)`` as they are computed,
    ``decided()`` gives ``(first, rms, levels)`` parts of at most ``FRAMES_PER_STEP`` frames."""

    def __init__(self, gate: Gate, dtype: Any) -> None:
        self.gate = gate
        self._ungated = np.empty(0, dtype)  # frames computed, waiting for the gate's decisions
        self._ungated_first = 0

    def hold(self, first: int, rms: np.ndarray) -> None:
        """Keep frames ``[first, first + len(rms))`` until the gate has decided them."""
        if not self._ungated.shape[0]:
            self._ungated_first = first
        self._ungated = np.concatenate([self._ungated, rms])

    def decided(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The frames the gate has decided since the last call, in steps that fit the tag buffer."""
        parts = []
        decided = self.gate.decided_frames()
        ready = self._ungated.shape[0] if decided is None else max(0, min(self._ungated.shape[0],
                                                                          decided - self._ungated_first))
        done = 0
        while done < ready:
            part = self._ungated[done : min(ready, done + FRAMES_PER_STEP)]
            first = self._ungated_first + done
            parts.append((first, part, self.gate.gate(first, part)))
            done += part.shape[0]
        if done:
            self._ungated = self._ungated[done:]
            self._ungated_first += done
            self.gate.release_before(self._ungated_first)
        return parts


class LengthLimit:
    """Ranges merged (with ``merge_short``) and split at ``limit`` samples at their quietest frames:
    ``see(rms)`` with every frame the state machine tags, in order; ``apply(ranges, ...)`` with what it
    gives out."""

    def __init__(self, slicer: Slicer, limit: int, dtype: Any) -> None:
        self.slicer, self.limit = slicer, limit
        # The RMS since the earliest clip not yet given out, and the merged clip waiting for its
        # neighbour (see fastslice.cutting.lengths).
        self._history = np.empty(0, dtype)
        self._history_first = 0
        #: the merged range waiting for its neighbour, if any
        self.pending: Range | None = None

    def see(self, rms: np.ndarray) -> None:
        """Keep the next frames tagged."""
        self._history = np.concatenate([self._history, rms])

    def apply(self, ranges: list[Range], final: bool, open_start: int, next_frame: int) -> list[Range]:
        """Merge (if asked) and split ``ranges``; ``open_start`` is the first frame of the clip still
        open, ``next_frame`` the first not computed (frames before both are dropped)."""
        done = []
        for clip in ranges:
            if self.slicer.merge_short:
                if self.pending is not None and clip[1] - self.pending[0] <= self.limit:
                    self.pending = (self.pending[0], clip[1])
                    continue
                if self.pending is not None:
                    done.append(self.pending)
                self.pending = clip
            else:
                done.append(clip)
        if final and self.pending is not None:
            done.append(self.pending)
            self.pending = None
        hop = self.slicer.hop_samples
        pieces: list[Range] = lengths.split_ranges(done, self._history, self._history_first, hop, self.limit)
        # Keep the RMS from the earliest clip still to come: the pending one, or the open one.
        keep_from = min(open_start, self.pending[0] // hop) if self.pending is not None else open_start
        drop = max(0, min(keep_from, next_frame) - self._history_first)
        if drop:
            self._history = self._history[drop:]
            self._history_first += drop
        return pieces
