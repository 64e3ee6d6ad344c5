"""The decode loop: one pass over a source's blocks, mixed to mono and checked as they come.

``Decoding`` is that one pass over a ``fastslice.reading.readers`` source, ``SampleCheck`` mixes
each block as ``Slicer`` mixes a whole decode (the mean of the channels) and checks it (clipping,
NaN and infinity).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import numpy as np

from .. import _kernels
from ..errors import FastsliceError
from . import readers

#: Frames (samples per channel) read from a file per block.
BLOCK_FRAMES = 1 << 16


class Decoding:
    """One pass over a ``readers`` source's frames ``[first, stop)``: ``(samples, mono)`` block pairs.

    ``samples`` are in the source's own dtype (exact, for writing clips); ``mono`` is the
    mean of their channels as ``Slicer`` mixes libsndfile's float32 decode (for slicing:
    ``RangeStream.feed_mono``).  Both are views of buffers reused by the next block.
    Frames before ``first`` are sought past where the source seeks exactly, else decoded
    and dropped.  ``stop=None`` reads to the end.  ``check``, a ``SampleCheck``, mixes and
    checks each block (without one, a ``SampleCheck`` that raises nothing mixes them).
    ``transform``, if given, turns each block (as float32) into the float32 block given out
    and analysed instead (``fastslice.rendering.filters.HighPass``); ``check`` must then expect float32.
    Afterwards ``position`` is the frame after the last one read, ``decoded`` the frames
    the decoder produced, and ``missing_frames`` what a header promised beyond the data.
    """

    def __init__(self, source: readers.Source, block_frames: int = BLOCK_FRAMES, first: int = 0, stop: int | None = None,
                 check: SampleCheck | None = None,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.source, self.block_frames, self.transform = source, block_frames, transform
        self.check = check if check is not None else SampleCheck(source, stop_at_corrupt=False)
        self.first, self.stop = first, stop
        self.position = 0
        self.decoded = 0
        self._mono = np.empty(block_frames, np.float32)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        f = self.source
        if self.first and f.exact_seek:
            f.seek(self.first)
            self.position = self.first
        while self.position < self.first:  # decode up to the segment's start; drop it
            got = f.read(min(self.block_frames, self.first - self.position)).shape[0]
            if got == 0:
                break
            self.decoded += got
            self.position += got
        if self.position < self.first:
            return
        while self.stop is None or self.position < self.stop:
            wanted = self.block_frames if self.stop is None else min(self.block_frames, self.stop - self.position)
            block = f.read(wanted)
            if block.shape[0] == 0:
                break
            self.decoded += block.shape[0]
            self.position += block.shape[0]
            if self.transform is not None:  # e.g. the high-pass filter: float32 blocks, filtered
                block = self.transform(readers.as_float32(block))
            mono = self._mono[: block.shape[0]]
            self.check.mix(block, self.position - block.shape[0], mono)
            yield block, mono

    @property
    def missing_frames(self) -> int:
        """Frames the header promised beyond where the data ended (0 if none)."""
        promised = self.source.declared_frames
        if promised is None and self.source.frames is not None:
            promised = self.source.frames
        if promised is None or self.stop is not None and self.stop < promised:
            return 0
        return max(0, promised - self.position)


class SampleCheck:
    """Mixes the decoded blocks for the analysis and watches their samples, in one pass.

    NaN or infinite samples (possible only in float data) stop the file with a
    ``FastsliceError`` that says where: a dataset must not be cut from corrupt
    audio (unless ``stop_at_corrupt`` is false).  Samples at full scale (a clipped
    recording) and a DC offset are only counted, for ``warnings()``.
    """

    DC_OFFSET = 0.01  # -40 dBFS

    def __init__(self, f: readers.Source, stop_at_corrupt: bool = True, dtype: Any = None) -> None:
        self.name, self.rate, self.channels = f.name, f.samplerate, f.channels
        dtype = np.dtype(f.dtype if dtype is None else dtype)  # another dtype: the blocks are transformed
        self.float_data = f.float_data if dtype == f.dtype else dtype.kind == "f"
        self.stop_at_corrupt = stop_at_corrupt
        self.full_scale = 1.0 if self.float_data else 32767 / 32768
        self.clipped = 0
        self.frames = 0
        self._scale = readers.float32_scale(dtype)
        self._n_channels = np.float32(f.channels)
        self._full_scale = np.float32(self.full_scale)
        self._largest = np.finfo(np.float32).max
        # Integer samples are summed exactly by the mixing kernel; float ones here, by BLAS.
        self._integer_sums = np.zeros(0 if self.float_data else f.channels, np.int64)
        self._float_sums = np.zeros(f.channels)
        self._ones = np.ones(0, np.float32)
        self._float: np.ndarray | None = None  # float32 copies of blocks, for what the kernel leaves to NumPy

    def mix(self, block: np.ndarray, first_frame: int, mono: np.ndarray) -> None:
        """Mix ``block`` (frames, channels) in the source's dtype into ``mono`` (float32), and check it."""
        if self.channels >= 8:  # NumPy adds 8 or more interleaved channels pairwise: left to it
            as_float = self._as_float32(block)
            self.see(as_float, first_frame)
            np.mean(as_float, axis=1, out=mono)
            return
        block = np.ascontiguousarray(block)
        at_full_scale, not_finite = _kernels.decode_and_mix(
            block.reshape(-1), self.channels, self._scale, self._n_channels, self._full_scale, self._largest,
            mono, self._integer_sums,
        )
        if not_finite and self.stop_at_corrupt:
            self.see(self._as_float32(block), first_frame)  # raises, naming the first one
        self.clipped += at_full_scale
        if self.float_data:
            self._add_float_sums(self._as_float32(block))
        self.frames += block.shape[0]

    def see(self, block: np.ndarray, first_frame: int) -> None:
        """Check a float32 block (frames, channels) of libsndfile's decode."""
        if self.float_data and self.stop_at_corrupt and not np.isfinite(block).all():
            frame = first_frame + int(np.argwhere(~np.isfinite(block))[0][0])
            raise FastsliceError(
                f"{self.name}: the sample at {frame / self.rate:.3f} s (frame {frame}) is NaN or infinite; "
                "the file is corrupt, and fastslice does not cut datasets from it"
            )
        if max(block.max(initial=0), -block.min(initial=0)) >= self.full_scale:
            self.clipped += int(np.count_nonzero(np.abs(block) >= self.full_scale))
        self._add_float_sums(block)
        self.frames += block.shape[0]

    @property
    def sums(self) -> np.ndarray:
        """Each channel's sum of samples (as float32 decodes them) so far."""
        return self._float_sums + self._integer_sums * float(self._scale) if self._integer_sums.shape[0] else self._float_sums

    def warnings(self) -> list[str]:
        """What was counted: samples at full scale, DC offsets."""
        notes = []
        if self.clipped:
            notes.append(f"{self.name}: {self.clipped} samples at full scale: the recording clips")
        if self.frames:
            for channel, mean in enumerate(self.sums / self.frames):
                if abs(mean) >= self.DC_OFFSET:
                    notes.append(f"{self.name}: channel {channel} has a DC offset of {mean:+.3f} "
                                 "(it raises the RMS of silences; remove it, e.g. with a high-pass filter)")
        return notes

    def _add_float_sums(self, block: np.ndarray) -> None:
        if self._ones.shape[0] < block.shape[0]:
            self._ones = np.ones(block.shape[0], np.float32)
        self._float_sums += self._ones[: block.shape[0]] @ block  # per-channel sums; 40x faster than sum(axis=0)

    def _as_float32(self, block: np.ndarray) -> np.ndarray:
        if self._float is None or self._float.shape[0] < block.shape[0]:
            self._float = np.empty((block.shape[0], self.channels), np.float32)
        return readers.as_float32(block, self._float)
