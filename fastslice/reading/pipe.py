"""Reading a WAV stream front to back, as it comes through a pipe (whose header often gives no length),
and the file objects FFmpeg is given for pipes."""
from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

from ..errors import FastsliceError
from .sources import SNDFILE_NATIVE, UNKNOWN_SIZES, ClosedOnExit


class ReadOnly:
    """A file object that shows FFmpeg only ``read``: a pipe must not be sought."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def read(self, size: int | None = -1) -> bytes:
        return self._f.read(size)


class Peeked(ReadOnly):
    """A non-seekable stream whose first bytes can be looked at before it is read."""

    def __init__(self, f: Any) -> None:
        super().__init__(f)
        self._head = b""

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            more = self._f.read(size - len(self._head))
            if not more:
                break
            self._head += more
        return self._head[:size]

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._f.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._f.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        readinto = getattr(self._f, "readinto", None)
        if readinto is not None:
            return readinto(view)
        data = self._f.read(len(view))
        view[: len(data)] = data
        return len(data)


_WAVE_FORMAT_PCM, _WAVE_FORMAT_FLOAT, _WAVE_FORMAT_EXTENSIBLE = 1, 3, 0xFFFE


class WavStreamSource(ClosedOnExit):
    """A RIFF/RF64 WAV read front to back, as it comes through a pipe: PCM 8/16/24/32-bit or float."""

    decoder = "wav-stream"
    exact_seek = uncompressed = False
    format = "WAV"

    def __init__(self, stream: Peeked, name: str) -> None:
        self._stream = stream
        self.name = name
        riff = self._exactly(12, "the RIFF header")
        rf64 = riff[:4] == b"RF64"
        data_size = None
        fmt = None
        while True:
            kind, size = self._chunk_header()
            if kind == b"ds64" and rf64:
                body = self._exactly(size + size % 2, "the ds64 chunk")
                data_size = struct.unpack("<Q", body[8:16])[0]
            elif kind == b"fmt ":
                fmt = self._exactly(size + size % 2, "the fmt chunk")
            elif kind == b"data":
                if fmt is None:
                    raise FastsliceError(f"{name}: the WAV stream has its data before its fmt chunk")
                if not rf64 or size != 0xFFFFFFFF:
                    data_size = size
                break
            else:
                self._exactly(size + size % 2, f"the {kind!r} chunk")
        if len(fmt) < 16:
            raise FastsliceError(f"{name}: the WAV stream's fmt chunk is too short")
        tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]
        kinds = {(_WAVE_FORMAT_PCM, 8): "PCM_U8", (_WAVE_FORMAT_PCM, 16): "PCM_16", (_WAVE_FORMAT_PCM, 24): "PCM_24",
                 (_WAVE_FORMAT_PCM, 32): "PCM_32", (_WAVE_FORMAT_FLOAT, 32): "FLOAT", (_WAVE_FORMAT_FLOAT, 64): "DOUBLE"}
        if (tag, bits) not in kinds or channels < 1 or rate < 1 or block_align != channels * bits // 8:
            raise FastsliceError(
                f"{name}: the WAV stream is format {tag:#06x} with {bits}-bit samples, which fastslice reads from a "
                "pipe only as PCM 8/16/24/32-bit or float 32/64-bit (e.g. ffmpeg ... -f wav -c:a pcm_s16le -)"
            )
        self.samplerate, self.channels, self.subtype = rate, channels, kinds[(tag, bits)]
        self._width = bits // 8
        self.dtype = np.dtype(SNDFILE_NATIVE[self.subtype])
        self.float_data = self.subtype in ("FLOAT", "DOUBLE")
        known = data_size is not None and data_size not in UNKNOWN_SIZES
        self.frames = data_size // block_align if known else None
        self.declared_frames = self.frames
        self._remaining = data_size if known else None  # bytes of data still to read, if known
        self._raw = bytearray()
        self._buffer = np.empty((0, channels), self.dtype)

    def _chunk_header(self) -> tuple[bytes, int]:
        header = self._exactly(8, "a chunk header")
        return header[:4], struct.unpack("<I", header[4:])[0]

    def _exactly(self, size: int, what: str) -> bytes:
        data = b""
        while len(data) < size:
            more = self._stream.read(size - len(data))
            if not more:
                raise FastsliceError(f"{self.name}: the WAV stream ends inside {what}")
            data += more
        return data

    def read(self, frames: int) -> np.ndarray:
        width = self._width * self.channels
        wanted = frames * width
        if self._remaining is not None:
            wanted = min(wanted, self._remaining - self._remaining % width)
        if len(self._raw) < wanted:
            self._raw = bytearray(wanted)
        view = memoryview(self._raw)[:wanted]
        got = 0
        while got < wanted:
            n = self._stream.readinto(view[got:])
            if not n:
                break
            got += n
        got -= got % width  # a frame cut off by the end of the stream is dropped
        if self._remaining is not None:
            self._remaining -= got
        n_frames = got // width
        if self._buffer.shape[0] < n_frames:
            self._buffer = np.empty((max(frames, n_frames), self.channels), self.dtype)
        out = self._buffer[:n_frames]
        raw = np.frombuffer(self._raw, np.uint8, got)
        _decode_pcm(raw, self.subtype, out)
        return out

    def seek(self, frame: int) -> None:
        """Not offered: a pipe is read front to back (``exact_seek`` is False)."""
        raise io.UnsupportedOperation(f"{self.name}: a WAV stream from a pipe is read front to back, not seeked "
                                      "(exact_seek is False)")

    def close(self) -> None:
        pass


def _decode_pcm(raw: np.ndarray, subtype: str, out: np.ndarray) -> None:
    """Little-endian WAV sample bytes into ``out`` in libsndfile's integer layout."""
    flat = out.reshape(-1)
    if subtype == "PCM_U8":
        np.left_shift(raw.astype(np.int16) - 128, 8, out=flat)
    elif subtype == "PCM_16":
        flat[:] = raw.view("<i2")
    elif subtype == "PCM_24":
        triples = raw.reshape(-1, 3).astype(np.int32)
        np.bitwise_or(triples[:, 0] << 8 | triples[:, 1] << 16, triples[:, 2] << 24, out=flat)
    elif subtype == "PCM_32":
        flat[:] = raw.view("<i4")
    elif subtype == "FLOAT":
        flat[:] = raw.view("<f4")
    else:
        flat[:] = raw.view("<f8")


