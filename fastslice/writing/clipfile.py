"""Writing one clip's file: its samples through libsndfile (any format), or, for float WAV, its
header and samples as libsndfile writes them; errors that name the input and the clip; nothing left
of a clip that fails.

``write_clip`` is what the clip writers (``fastslice.writing.writers``) run for each clip written from
samples; ``fastslice.writing.wavcopy`` copies a PCM WAV's clips byte for byte instead.  Both end in a
complete file or none.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import struct
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Callable, TypeVar

import numpy as np
import soundfile

from .. import _kernels
from .. import seams
from ..system import storage
from ..errors import FastsliceError, listed
from .formats import INTEGER_SUBTYPES

#: the buffer a clip's file is written through (libsndfile alone writes in 8 KB system calls)
WRITE_BUFFER_BYTES = 1 << 22
_SFC_SET_ADD_PEAK_CHUNK = 0x1050

_T = TypeVar("_T")


class Stopped(Exception):
    """The clip writer was told to stop in the middle of a clip."""


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    """How an input's clips are written: rate, channels, format, subtype; ``source`` names the
    input in errors; ``clipped`` collects ``(clip, samples)`` of clips whose float samples past full
    scale an integer subtype clipped (appended on the writer's thread)."""

    rate: int
    channels: int
    format: str
    subtype: str
    source: str
    clipped: list[tuple[str, int]]


def clipping_warnings(spec: ClipSpec, at_most: int = 10) -> list[str]:
    """One warning per clip that was clipped (the first ``at_most``), then one for the rest."""
    notes = [f"{spec.source}: clip {clip}: {n} sample{'s' if n > 1 else ''} past full scale clipped writing "
             f"{spec.subtype}; keep the peaks under it with --peak-ceiling -1 (or --loudness, --normalize), or write "
             "floats (--subtype FLOAT)" for clip, n in spec.clipped[:at_most]]
    rest = spec.clipped[at_most:]
    if rest:
        notes.append(f"{spec.source}: {len(rest)} more clips clipped ({sum(n for _, n in rest)} samples past full "
                     f"scale): {listed([c for c, _ in rest])}")
    return notes


@dataclasses.dataclass(frozen=True)
class WavHeader:
    """The header libsndfile writes for a WAV clip with no frames, and where its sizes are: the RIFF
    size (at 4), the data size, and for float samples the frame count of the ``fact`` chunk."""

    empty: bytes
    data_size_at: int
    fact_frames_at: int | None = None

    def fits(self, data_bytes: int) -> bool:
        """A data chunk of ``data_bytes`` can follow this header (no pad byte, under 4 GB)."""
        return data_bytes % 2 == 0 and len(self.empty) + data_bytes < 1 << 32

    def for_frames(self, frames: int, data_bytes: int) -> bytes:
        """The header libsndfile writes for ``frames`` frames (``data_bytes`` bytes of samples)."""
        header = bytearray(self.empty)
        header[4:8] = struct.pack("<I", len(header) - 8 + data_bytes)
        header[self.data_size_at : self.data_size_at + 4] = struct.pack("<I", data_bytes)
        if self.fact_frames_at is not None:
            header[self.fact_frames_at : self.fact_frames_at + 4] = struct.pack("<I", frames)
        return bytes(header)


@functools.lru_cache(maxsize=64)
def empty_wav_header(fmt: str, subtype: str, sample_rate: int, channels: int) -> WavHeader | None:
    """The ``WavHeader`` libsndfile writes for a clip with no frames, or None if its data chunk is not last."""
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", sample_rate, channels, subtype, format=fmt) as out:
        without_peak_chunk(out)
    header = buffer.getvalue()
    position, fact = 12, None
    while position + 8 <= len(header):
        kind, size = header[position : position + 4], struct.unpack("<I", header[position + 4 : position + 8])[0]
        if kind == b"data":
            return WavHeader(header, position + 4, fact) if position + 8 == len(header) and size == 0 else None
        if kind == b"fact" and size == 4:
            fact = position + 8
        position += 8 + size + size % 2
    return None


def write_all(out: IO[bytes], data: bytes | memoryview) -> None:
    """Write all of ``data`` to the unbuffered ``out`` (a raw write may take only part)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]


def write_clip(blocks: Iterable[np.ndarray], temporary: str | os.PathLike[str], spec: ClipSpec, final: str) -> int:
    """Write the blocks to ``temporary`` (the work path of the clip ``final``) as ``spec`` (a
    ``ClipSpec``) says; returns the frames written.  Float samples past full scale written into an
    integer subtype are counted into ``spec.clipped`` (libsndfile clips them, without a word).
    Float WAV clips are written as libsndfile writes them, without passing each 8 KB through it
    (``write_float_wav``)."""
    if spec.format == "WAV" and spec.subtype == "FLOAT" and sys.byteorder == "little":
        header = empty_wav_header("WAV", "FLOAT", spec.rate, spec.channels)
        if header is not None:
            return write_float_wav(blocks, temporary, spec, final, header)
    frames = clipped = 0
    counts = spec.subtype in INTEGER_SUBTYPES
    with clip_errors(temporary, spec.source, final):
        # libsndfile writes to a path in 8 KB system calls; through a Python file with a large
        # buffer it writes the same bytes about three times faster.
        with open(temporary, "wb", buffering=WRITE_BUFFER_BYTES) as raw:
            guarded = GuardedFile(raw)
            with soundfile.SoundFile(guarded, "w", spec.rate, spec.channels, spec.subtype, format=spec.format) as out:
                without_peak_chunk(out)
                for block in blocks:
                    if counts and block.dtype.kind == "f":
                        clipped += _kernels.count_beyond_full_scale(np.ascontiguousarray(block))
                    out.write(block)
                    frames += block.shape[0]
                    guarded.raise_error()
                    if frames == block.shape[0]:  # the first block: on disk (the same bytes), the rest not yet
                        guarded.flush()
                        guarded.raise_error()
                        seams.reach("clip-writing")
            guarded.flush()
            guarded.raise_error()
    if clipped:
        spec.clipped.append((storage.basename(str(final)), clipped))
    return frames


def write_float_wav(blocks: Iterable[np.ndarray], temporary: str | os.PathLike[str], spec: ClipSpec, final: str,
                    header: WavHeader) -> int:
    """A float WAV clip: the header libsndfile writes for it, then the float32 samples as they are in
    memory (little-endian, interleaved: the bytes libsndfile writes for them)."""
    frames = 0
    frame_bytes = 4 * spec.channels
    with clip_errors(temporary, spec.source, final):
        with open(temporary, "wb", buffering=0) as out:
            write_all(out, header.empty)
            for block in blocks:
                block = np.ascontiguousarray(block, dtype=np.float32)
                if not header.fits((frames + block.shape[0]) * frame_bytes):
                    raise OSError(f"a WAV file holds at most 4 GB; clip {final} is longer: write it as RF64 or W64 "
                                  "(--format RF64)")
                if block.size:
                    write_all(out, memoryview(block.reshape(-1)).cast("B"))  # type: ignore[arg-type]  # NumPy's stubs give ndarray __buffer__ only on Python >= 3.12
                first = frames == 0
                frames += block.shape[0]
                if first:
                    seams.reach("clip-writing")
            out.seek(0)
            write_all(out, header.for_frames(frames, frames * frame_bytes))
    return frames


@contextlib.contextmanager
def clip_errors(temporary: str | os.PathLike[str], source: str, final: str) -> Iterator[None]:
    """Writing a clip to ``temporary``: on any error the file is removed; an OSError or a libsndfile
    error becomes a ``FastsliceError`` that names the source and the clip."""
    try:
        yield
    except soundfile.LibsndfileError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise FastsliceError(f"{source}: cannot write clip {final} ({exc.error_string})") from None
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise FastsliceError(f"{source}: cannot write clip {final} ({exc.strerror or exc})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class GuardedFile:
    """The file libsndfile writes through: an OSError (a full disk) is kept for ``raise_error()``
    instead of escaping from libsndfile's C callbacks, where it could only be printed."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw: IO[bytes] = raw
        self.error: OSError | None = None
        self._end = 0  # the size of the file so far (the buffered writer flushes on every seek)

    def _guard(self, call: Callable[..., _T], *args: Any, fallback: _T) -> _T:
        if self.error is None:
            try:
                return call(*args)
            except OSError as exc:
                self.error = exc
        return fallback

    def write(self, data: bytes) -> int:
        """Write ``data``; 0 once a write has failed."""
        written = self._guard(self.raw.write, data, fallback=0)
        self._end = max(self._end, self.raw.tell())
        return written

    def seek(self, offset: int, whence: int = 0) -> int:
        """Seek as a file does; a seek to where it already is does not flush the buffer."""
        # libsndfile seeks to where it already is about half the time; a buffered writer would
        # flush its buffer for each of those, so they are answered without moving.
        here = self.raw.tell()
        target = offset if whence == os.SEEK_SET else here + offset if whence == os.SEEK_CUR else self._end + offset
        if target == here:
            return here
        return self._guard(self.raw.seek, offset, whence, fallback=here)

    def tell(self) -> int:
        """Where the file is."""
        return self.raw.tell()

    def read(self, size: int = -1) -> bytes:
        """Read as a file does; b"" once a call has failed."""
        return self._guard(self.raw.read, size, fallback=b"")

    def flush(self) -> None:
        """Flush the buffer (an error is kept)."""
        self._guard(self.raw.flush, fallback=None)

    def raise_error(self) -> None:
        """Raise the first OSError a call met, if any."""
        if self.error is not None:
            raise self.error


def without_peak_chunk(out: soundfile.SoundFile) -> None:
    """Leave out libsndfile's PEAK chunk (float WAV/AIFF): it holds the time of writing, and
    would make two runs' clips differ by those bytes."""
    try:
        from soundfile import _ffi, _snd

        _snd.sf_command(out._file, _SFC_SET_ADD_PEAK_CHUNK, _ffi.NULL, 0)
    except (ImportError, AttributeError):  # soundfile's internals moved: keep the chunk
        pass
