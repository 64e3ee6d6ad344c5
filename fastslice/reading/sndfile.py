"""Reading with libsndfile (soundfile): WAV, FLAC, AIFF, Ogg and the rest it reads; a long file decoded
ahead on threads (``decode_ahead``); where a WAV's samples are (``wav_data_chunk``)."""
from __future__ import annotations

import collections
import os
import queue
import struct
import threading
from typing import Any

import numpy as np

from ..errors import FastsliceError
from .sources import SNDFILE_NATIVE, UNKNOWN_SIZES, ClosedOnExit, ReadError, Source


class SndfileSource(ClosedOnExit):
    decoder = "sndfile"

    def __init__(self, source: Any, name: str) -> None:
        import soundfile

        self.from_path = isinstance(source, str)
        self._soundfile = soundfile
        try:
            self._file = soundfile.SoundFile(source)
        except soundfile.LibsndfileError as exc:
            raise ReadError(name, f"libsndfile: {exc.error_string.rstrip('.')}") from None
        except (RuntimeError, TypeError) as exc:
            raise ReadError(name, f"libsndfile: {exc}") from None
        f = self._file
        self.name = name
        self.samplerate, self.channels = f.samplerate, f.channels
        self.format, self.subtype = f.format, f.subtype
        self.frames = f.frames
        self.dtype = np.dtype(SNDFILE_NATIVE.get(f.subtype, "float32"))
        self.float_data = f.subtype in ("FLOAT", "DOUBLE")  # NaN possible; full scale is 1.0
        # PCM and FLAC seek exactly; a lossy decoder (Vorbis, Opus, ADPCM) may not.
        self.exact_seek = f.subtype in SNDFILE_NATIVE
        self.uncompressed = self.exact_seek and f.format != "FLAC"
        self.declared_frames = declared_wav_frames(name) if f.format in ("WAV", "WAVEX") and isinstance(source, str) else None
        self._buffer = np.empty((0, self.channels), self.dtype)

    def read(self, frames: int) -> np.ndarray:
        if self._buffer.shape[0] < frames:
            self._buffer = np.empty((frames, self.channels), self.dtype)
        try:
            return self._file.read(frames, dtype=self.dtype.name, always_2d=True, out=self._buffer[:frames])
        except self._soundfile.LibsndfileError as exc:
            raise FastsliceError(f"{self.name}: read failed at frame {self._file.tell()} ({exc.error_string})") from None

    def seek(self, frame: int) -> None:
        self._file.seek(frame)

    def close(self) -> None:
        self._file.close()


def decode_ahead(source: Source, threads: int) -> Source:
    """``source`` (opened from a path) decoded on ``threads`` threads besides its reader's, where
    that pays: a long FLAC file on all of them at once (``ParallelSndfile``, two or more), any other
    file libsndfile decompresses (or a FLAC file given one thread) on a thread of its own, ahead of
    its reader (``Prefetched``); the same samples, in order; with 0 threads, as it is.  PCM needs
    no decoding, and PyAV decodes holding Python's lock (a thread of its own only takes turns): both
    are returned as they are.  The wrapper closes ``source`` with itself."""
    if threads < 1 or not isinstance(source, SndfileSource) or not source.from_path or source.uncompressed:
        return source
    return ParallelSndfile(source, threads) if threads > 1 and ParallelSndfile.pays(source) else Prefetched(source)


class Spans(ClosedOnExit):
    """A source read as spans of frames made elsewhere (``_next_span()``: the next, or None or an
    empty one at the end), handed out in reads of any size, in order.  The description is the
    wrapped source's (copied by each subclass)."""

    name: str
    decoder: str
    samplerate: int
    channels: int
    format: str
    subtype: str
    frames: int | None
    dtype: np.dtype[Any]
    float_data: bool
    exact_seek: bool
    uncompressed: bool
    declared_frames: int | None
    _current: np.ndarray
    _offset: int
    _ended: bool

    def _next_span(self) -> np.ndarray | None:
        raise NotImplementedError

    def read(self, frames: int) -> np.ndarray:
        """The next ``(frames, channels)`` block; shorter only at the end."""
        parts: list[np.ndarray] = []
        filled = 0
        while filled < frames:
            if self._offset == self._current.shape[0]:
                span = None if self._ended else self._next_span()
                if span is None or not len(span):
                    self._ended = True
                    break
                self._current, self._offset = span, 0
            take = min(frames - filled, self._current.shape[0] - self._offset)
            parts.append(self._current[self._offset : self._offset + take])
            self._offset += take
            filled += take
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else self._current[:0]


class ParallelSndfile(Spans):
    """A FLAC file decoded on several threads at once: spans of ``SPAN`` frames, each decoded by a
    thread with its own libsndfile handle (FLAC seeks exactly, and libsndfile decodes without the
    GIL), handed out in order by ``read``.  The samples are those one handle reads from the start,
    whatever the number of threads (tested); at most ``2 * threads`` spans are decoded ahead."""

    SPAN = 1 << 17
    decoder = "sndfile"

    @classmethod
    def pays(cls, source: SndfileSource) -> bool:
        return source.format == "FLAC" and source.exact_seek and source.frames is not None \
            and source.frames >= 4 * cls.SPAN

    def __init__(self, source: SndfileSource, threads: int) -> None:
        import concurrent.futures

        import soundfile

        self._soundfile = soundfile
        self._source = source
        for name in ("name", "samplerate", "channels", "format", "subtype", "frames", "dtype", "float_data",
                     "exact_seek", "uncompressed", "declared_frames"):
            setattr(self, name, getattr(source, name))
        self.threads = threads
        self._local = threading.local()
        self._handles: list[Any] = []
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="fastslice-flac")
        self._next_first = 0  # the first frame of the next span to hand to the pool
        self._spans: collections.deque[Any] = collections.deque()
        self._current, self._offset = np.empty((0, self.channels), self.dtype), 0
        self._ended = False
        self._fill()

    @property
    def _length(self) -> int:
        """``frames``, known for the files decoded in parallel (``pays``)."""
        assert self.frames is not None
        return self.frames

    def _fill(self) -> None:
        while len(self._spans) < 2 * self.threads and self._next_first < self._length:
            self._spans.append(self._pool.submit(self._decode, self._next_first))
            self._next_first += self.SPAN

    def _decode(self, first: int) -> np.ndarray:
        f = getattr(self._local, "file", None)
        if f is None:
            f = self._local.file = self._soundfile.SoundFile(self.name)
            with self._lock:
                self._handles.append(f)
        try:
            f.seek(first)
        except (self._soundfile.LibsndfileError, RuntimeError):  # the data ends before this span: nothing here
            return np.empty((0, self.channels), self.dtype)
        try:
            return f.read(min(self.SPAN, self._length - first), dtype=self.dtype.name, always_2d=True)
        except self._soundfile.LibsndfileError as exc:  # said as one handle says it
            raise FastsliceError(f"{self.name}: read failed at frame {f.tell()} ({exc.error_string})") from None

    def _next_span(self) -> np.ndarray | None:
        if not self._spans:
            return None
        span = self._spans.popleft().result()
        if span.shape[0] < self.SPAN and self._next_first < self._length:
            self._ended = True  # the data ends early: nothing after it
        self._fill()
        return span

    def seek(self, frame: int) -> None:
        for span in self._spans:
            span.cancel()
        self._spans.clear()
        self._next_first = frame
        self._current, self._offset, self._ended = self._current[:0], 0, False
        self._fill()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for f in self._handles:
            f.close()
        self._source.close()


class Prefetched(Spans):
    """A compressed file decoded on a thread of its own, ``AHEAD`` spans of ``SPAN`` frames ahead of
    ``read`` (FFmpeg and libsndfile decode without the GIL), so that its decoding and the caller's
    analysis run at once on two cores.  The samples and errors are the source's, in order."""

    SPAN = 1 << 16
    AHEAD = 4

    def __init__(self, source: SndfileSource) -> None:
        self._source = source
        for name in ("name", "decoder", "samplerate", "channels", "format", "subtype", "frames", "dtype", "float_data",
                     "exact_seek", "uncompressed", "declared_frames"):
            setattr(self, name, getattr(source, name))
        self._current, self._offset = np.empty((0, self.channels), self.dtype), 0
        self._start()

    def _start(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(self.AHEAD)
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="fastslice-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                block = np.array(self._source.read(self.SPAN))  # a copy: the source reuses its buffer
                if not self._put(block) or not len(block):
                    return
        except BaseException as exc:  # handed to the reader, in its place in the stream
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _next_span(self) -> np.ndarray | None:
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        return item

    def _halt(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()

    def seek(self, frame: int) -> None:
        self._halt()
        self._source.seek(frame)
        self._current, self._offset = self._current[:0], 0
        self._start()

    def close(self) -> None:
        self._halt()
        self._source.close()


def declared_wav_frames(path: str) -> int | None:
    """The frames a RIFF WAV's data chunk claims, or None (no such chunk, not RIFF, or a size that
    means "unknown": ``ffmpeg -f wav - > x.wav`` writes 0xFFFFFFFF, others 0)."""
    chunk = wav_data_chunk(path)
    return None if chunk is None or chunk[1] in UNKNOWN_SIZES else chunk[1] // chunk[2]


def wav_data_chunk(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """``(offset, size, block_align)`` of a RIFF WAV's sample data as its header gives them
    (bytes from the start of the file, bytes claimed, bytes per frame), or None (no such
    chunk, or not RIFF)."""
    try:
        with open(path, "rb") as f:
            header = f.read(12)
            if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"fmt ":
                    fmt = f.read(size)
                    if len(fmt) < 14:
                        return None
                    block_align = struct.unpack("<H", fmt[12:14])[0]
                    f.seek(size % 2, 1)
                elif kind == b"data":
                    return (f.tell(), size, block_align) if block_align else None
                else:
                    f.seek(size + size % 2, 1)
    except OSError:
        return None
