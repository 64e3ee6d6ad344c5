"""What every reader of audio gives (the ``Source`` protocol), and the float32 conversion they share.

The readers themselves: ``fastslice.reading.sndfile`` (libsndfile), ``fastslice.reading.ffmpeg`` (FFmpeg through
PyAV), ``fastslice.reading.pipe`` (WAV streams from pipes); ``fastslice.reading.readers.open_source`` chooses.
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..errors import FastsliceError

# How libsndfile turns each sample format into float32: read as this integer type, then
# multiply by the scale (exact: libsndfile does the same multiplication in float32).
SNDFILE_NATIVE = {
    "PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16", "ULAW": "int16", "ALAW": "int16",
    "PCM_24": "int32", "PCM_32": "int32", "FLOAT": "float32", "DOUBLE": "float64",
}
_INT_SCALE = {np.dtype(np.int16): np.float32(2.0 ** -15), np.dtype(np.int32): np.float32(2.0 ** -31)}
#: WAV data sizes that mean "unknown": what ffmpeg and others write when they cannot seek back
UNKNOWN_SIZES = (0, 0xFFFFFFFF)


class Source(Protocol):
    """An open audio input (``fastslice.reading.readers.open_source``), read front to back in blocks.

    ``frames`` is None where the length is known only at the end; ``format``/``subtype`` are
    libsndfile's names (``"FFMPEG"`` and the codec for PyAV); ``dtype`` holds the samples exactly;
    ``exact_seek``: ``seek`` then ``read`` gives what a straight decode gives; ``uncompressed``: PCM
    stored as it is (reading again is cheap); ``declared_frames``: what a header claims beyond the data.
    """

    name: str
    decoder: str
    samplerate: int
    channels: int
    frames: int | None
    format: str
    subtype: str
    dtype: np.dtype[Any]
    float_data: bool
    exact_seek: bool
    uncompressed: bool
    declared_frames: int | None

    def read(self, frames: int) -> np.ndarray:
        """The next ``(frames, channels)`` block (a view the next call reuses); empty at the end."""

    def seek(self, frame: int) -> None:
        """Go to ``frame`` (where ``exact_seek``)."""

    def close(self) -> None:
        """Release the input."""

    def __enter__(self) -> Source:
        """``with`` support: closed on leaving."""

    def __exit__(self, *exc: object) -> None:
        """Close."""


def float32_scale(dtype: Any) -> np.float32:
    """What libsndfile multiplies samples of ``dtype`` by, in float32, to read them as float32 (1 for floats)."""
    scale: np.float32 = _INT_SCALE.get(np.dtype(dtype), np.float32(1.0))
    return scale


def as_float32(block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``block`` (any of the sources' dtypes) as float32, as libsndfile reads it as float32."""
    scale = _INT_SCALE.get(block.dtype)
    if out is not None:
        out = out[: block.shape[0]]
    if scale is not None:
        scaled: np.ndarray = np.multiply(block, scale, out=out, dtype=np.float32)
        return scaled
    if block.dtype == np.float32:
        return block
    if out is None:
        return block.astype(np.float32)
    out[...] = block
    return out


class ClosedOnExit:
    """``with`` support for the sources (and holds): ``close()`` on leaving the block."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what is held (each subclass says what)."""


class ReadError(FastsliceError):
    """A backend could not open a file; ``reason`` is its words without the file's name."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)  # the arguments, so that it pickles
        self.name, self.reason = name, reason

    def __str__(self) -> str:
        return f"{self.name}: cannot read it as audio ({self.reason})"
