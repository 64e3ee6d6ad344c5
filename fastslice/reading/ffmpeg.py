"""Reading with FFmpeg through PyAV: MP3, M4A/AAC, MP4/MOV, MKV/WebM, Opus, WMA, AC-3, ... and the
sound track of a video file."""
from __future__ import annotations

import collections
import io
from typing import Any

import numpy as np

from ..errors import FastsliceError
from .sources import ClosedOnExit, ReadError


class AVSource(ClosedOnExit):
    decoder = "av"
    exact_seek = uncompressed = False
    declared_frames: int | None = None

    def __init__(self, source: Any, name: str, stream_index: int) -> None:
        try:
            import av
        except ImportError:  # pragma: no cover - a dependency, but say what to do if it is missing
            raise ReadError(name, "FFmpeg decoding needs PyAV: pip install av") from None
        self._av = av
        self.name = name
        try:
            self._container = av.open(source, mode="r")
        except av.FFmpegError as exc:
            raise ReadError(name, _ffmpeg_words(exc)) from None
        except (OSError, ValueError) as exc:
            raise ReadError(name, str(exc)) from None
        audio = self._container.streams.audio
        if not audio:
            self._container.close()
            raise ReadError(name, "FFmpeg finds no audio stream in it")
        if stream_index >= len(audio):
            self._container.close()
            raise FastsliceError(f"{name}: stream={stream_index} (--stream) is not there: it has {len(audio)} audio "
                                 f"stream{'s' if len(audio) > 1 else ''}, numbered from 0")
        self._stream = audio[stream_index]
        context = self._stream.codec_context
        if context is None:
            self._container.close()
            raise ReadError(name, "FFmpeg has no decoder for its codec")
        self.samplerate = context.sample_rate
        self.channels = context.channels if hasattr(context, "channels") else context.layout.nb_channels
        if not self.samplerate or not self.channels:
            self._container.close()
            raise ReadError(name, "FFmpeg cannot tell its sample rate or channels")
        self.format, self.subtype = "FFMPEG", context.name
        self.frames: int | None = None
        self.dtype = np.dtype(np.float32)
        self.float_data = True
        self._frames = self._container.decode(self._stream)
        # FFmpeg gathers the decoded frames (AAC: 1,024 samples each) into blocks of the size asked
        # for, so that conversion runs once a block, not once a codec frame.
        self._fifo = av.AudioFifo()
        self._ended = False
        self._buffer = np.empty((0, self.channels), np.float32)
        self._position = 0

    def read(self, frames: int) -> np.ndarray:
        if self._buffer.shape[0] < frames:
            self._buffer = np.empty((frames, self.channels), np.float32)
        fifo = self._fifo
        while fifo.samples < frames and not self._ended:
            frame = self._next_frame()
            if frame is None:
                self._ended = True
                break
            try:
                fifo.write(frame)
            except ValueError as exc:  # its sample format or layout changed
                raise FastsliceError(f"{self.name}: the sound changes at {self._at(fifo)} ({exc}); fastslice slices "
                                     "one format per input: split it there first") from None
        take = min(frames, fifo.samples)
        out = self._buffer[:take]
        if take:
            block = fifo.read(take)
            assert block is not None  # the FIFO holds at least take samples
            name = block.format.name
            planar = name.endswith("p")
            dtype = _AV_DTYPES[name[:-1] if planar else name]
            if planar:  # one strided copy per channel into the block
                for channel, plane in enumerate(block.planes[: self.channels]):
                    # PyAV's stubs give its planes the buffer protocol only on Python >= 3.12
                    _store_float32(np.frombuffer(plane, dtype, take), out[:, channel])  # type: ignore[call-overload]
            else:
                plane = block.planes[0]
                samples = np.frombuffer(plane, dtype, take * self.channels)  # type: ignore[call-overload]  # as above
                _store_float32(samples.reshape(take, self.channels), out)
        self._position += take
        return out

    def _at(self, fifo: Any) -> str:
        return f"{(self._position + fifo.samples) / self.samplerate:.3f} s"

    def _next_frame(self) -> Any:
        """The next decoded frame (its pts cleared: the FIFO counts samples), or None at the end."""
        av = self._av
        try:
            frame = next(self._frames, None)
        except av.FFmpegError as exc:
            raise FastsliceError(f"{self.name}: FFmpeg cannot decode it after {self._at(self._fifo)} "
                                 f"({_ffmpeg_words(exc)})") from None
        if frame is None:
            return None
        channels = frame.layout.nb_channels if hasattr(frame.layout, "nb_channels") else len(frame.layout.channels)
        if frame.sample_rate != self.samplerate or channels != self.channels:
            raise FastsliceError(
                f"{self.name}: the sound changes from {self.samplerate} Hz, {self.channels} channels to "
                f"{frame.sample_rate} Hz, {channels} channels at {self._at(self._fifo)}; "
                "fastslice slices one format per input: split it there first"
            )
        frame.pts = None
        return frame

    def seek(self, frame: int) -> None:
        """Not offered: FFmpeg's seeking is not exact (``exact_seek`` is False); read from the start."""
        raise io.UnsupportedOperation(f"{self.name}: FFmpeg's input is read front to back, not seeked (exact_seek "
                                      "is False)")

    def close(self) -> None:
        self._container.close()


# FFmpeg's sample formats (without the planar "p"): the numpy type of their samples.
_AV_DTYPES: dict[str, np.dtype[Any]] = {"u8": np.dtype(np.uint8), "s16": np.dtype(np.int16), "s32": np.dtype(np.int32),
              "s64": np.dtype(np.int64), "flt": np.dtype(np.float32), "dbl": np.dtype(np.float64)}
_AV_SCALE = {np.dtype(np.int16): np.float32(2.0 ** -15), np.dtype(np.int32): np.float32(2.0 ** -31),
             np.dtype(np.int64): np.float32(2.0 ** -63)}


def _store_float32(samples: np.ndarray, out: np.ndarray) -> None:
    """FFmpeg samples (a channel, or packed frames) into ``out`` as float32: floats as they are, integers scaled
    to [-1, 1) as libsndfile scales them (unsigned 8-bit centred on 128)."""
    if samples.dtype == np.float32:
        out[...] = samples
    elif samples.dtype == np.uint8:
        np.multiply(samples.astype(np.float32) - np.float32(128), np.float32(1 / 128), out=out)
    elif samples.dtype in _AV_SCALE:
        np.multiply(samples, _AV_SCALE[samples.dtype], out=out, dtype=np.float32)
    else:
        out[...] = samples


def _ffmpeg_words(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc).rstrip(".")

