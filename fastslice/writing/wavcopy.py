"""Clips of a PCM WAV copied byte for byte: the header libsndfile writes for the clip, then the clip's
bytes copied from the input by the kernel (``os.copy_file_range``: one copy in the page cache, no
GIL) where the system has it (Linux), else read and written through a buffer (``os.pread``, or a
seek and a read where there is no ``pread``: Windows).  The bytes are those libsndfile would write for the same samples; ``WavCopy.plan`` says None
where that is not so."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO, Callable

from ..reading import readers
from .. import seams
from .clipfile import Stopped, WavHeader, clip_errors, empty_wav_header, write_all

#: the job a clip writer runs for a clip that writes itself: ``job(stopping)`` returns its frames
Job = Callable[[Callable[[], bool]], int]


class WavCopy:
    """Clips of a PCM WAV written in its own format without passing through Python."""

    # 16/24/32-bit PCM in RIFF WAV: libsndfile writes back the bytes it read, and its header
    # differs between lengths only in the RIFF and data sizes (an odd size is padded: not copied).
    SUBTYPES = ("PCM_16", "PCM_24", "PCM_32")
    #: bytes per copy call (a stop is noticed between them)
    STEP = 1 << 23

    @classmethod
    def plan(cls, path: str, reader: readers.Source, fmt: str, subtype: str, first: int) -> WavCopy | None:
        """The copier of ``path``'s clips (frames counted from ``first``), or None where its clips in
        ``fmt``/``subtype`` are not its own bytes."""
        if not (reader.format == fmt == "WAV" and reader.subtype == subtype and subtype in cls.SUBTYPES):
            return None
        chunk = readers.wav_data_chunk(path)
        header = empty_wav_header(fmt, subtype, reader.samplerate, reader.channels)
        if chunk is None or header is None or chunk[2] != reader.channels * int(subtype[4:]) // 8:
            return None
        return cls(path, chunk[0] + first * chunk[2], chunk[2], header)

    def __init__(self, path: str, data_offset: int, frame_bytes: int, header: WavHeader) -> None:
        self.path, self.data_offset, self.frame_bytes = path, data_offset, frame_bytes
        self.header = header

    def fits(self, frames: int) -> bool:
        """A clip of ``frames`` frames can be copied (no pad byte, under 4 GB)."""
        return self.header.fits(frames * self.frame_bytes)

    def job(self, start: int, end: int, work: Path, source: str, final: str) -> Job:
        """A writer job (``job(stopping)``) that writes frames ``[start, end)`` to ``work`` (the clip ``final``)."""
        return lambda stopping: self.copy_frames(start, end, work, source, final, stopping)

    def copy_frames(self, start: int, end: int, temporary: Path, source: str, final: str,
                    stopping: Callable[[], bool]) -> int:
        """Write frames ``[start, end)`` to ``temporary``, checking ``stopping()`` between steps; the frames."""
        size = (end - start) * self.frame_bytes
        with clip_errors(temporary, source, final):
            with open(self.path, "rb", buffering=0) as src, open(temporary, "wb", buffering=0) as out:
                write_all(out, self.header.for_frames(end - start, size))
                seams.reach("clip-writing")  # the header is written, the samples not yet
                offset = self.data_offset + start * self.frame_bytes
                copied = 0
                while copied < size:
                    if stopping():
                        raise Stopped
                    got = copy_range(src, out, offset + copied, min(self.STEP, size - copied))
                    if got == 0:
                        raise OSError(f"the data ends before frame {end} on reading it again")
                    copied += got
        return end - start


def copy_range(src: IO[bytes], out: IO[bytes], offset: int, count: int) -> int:
    """Copy ``count`` bytes from ``offset`` in ``src`` to the end of ``out``: in the kernel where it can
    (``os.copy_file_range``: Linux), else through a buffer.  Returns the bytes copied (0 at the end of
    ``src``)."""
    if hasattr(os, "copy_file_range"):  # looked up at each call: Linux only
        try:
            return os.copy_file_range(src.fileno(), out.fileno(), count, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                raise
    data = read_range(src, offset, count)  # another system, file system, or an old kernel
    write_all(out, data)
    return len(data)


def read_range(src: IO[bytes], offset: int, count: int) -> bytes:
    """Up to ``count`` bytes of ``src`` from ``offset`` (fewer only at its end): ``os.pread`` where the
    system has it (POSIX), else a seek and reads (Windows; ``src`` is this writer's own handle)."""
    if hasattr(os, "pread"):
        return os.pread(src.fileno(), count, offset)
    src.seek(offset)
    parts: list[bytes] = []
    left = count
    while left > 0:
        part = src.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
