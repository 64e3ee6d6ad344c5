"""Reading audio: one interface over libsndfile, FFmpeg (PyAV) and WAV streams from pipes.

``open_source(source, decoder="auto", stream=None)`` opens a path or a readable
binary file object and returns a ``Source``:

* ``name``, ``samplerate``, ``channels``;
* ``frames``: the length the file declares, or ``None`` when it is not known
  before the end (FFmpeg's formats, WAV streams from a pipe);
* ``format`` / ``subtype``: libsndfile's names (``"WAV"``, ``"PCM_16"``, ...) where
  it is libsndfile's or a WAV stream, ``("FFMPEG", codec)`` for PyAV;
* ``dtype``: the numpy dtype that holds the decoded samples exactly (``int16``
  for 16-bit PCM, ``int32`` for 24/32-bit, ``float32`` / ``float64``);
* ``float_data``: whether the samples are floating point (NaN is possible);
* ``exact_seek``: whether ``seek(frame)`` then ``read`` gives what a straight decode gives;
* ``uncompressed``: PCM samples stored as they are (WAV, AIFF, ...): reading again is cheap;
* ``read(frames)``: the next ``(frames, channels)`` block in ``dtype`` (a view of a
  buffer the next call reuses), shorter only at the end, empty after it;
* ``declared_frames``: what the header claims, where it claims more than the data holds.

``as_float32(block, out)`` turns a block into float32 exactly as libsndfile's
own float32 reading does, so analysis and clips come from one decode.

The backends, chosen by content with ``decoder="auto"``:

* libsndfile (soundfile) for WAV, FLAC, AIFF, Ogg and the rest it reads, except MP3,
  which it decodes differently in blocks than whole (``fastslice.reading.sndfile``, with the
  decoding ahead on threads, ``decode_ahead``);
* FFmpeg through PyAV for MP3, M4A/AAC, MP4/MOV, MKV/WebM, Opus, WMA, AC-3, ... and the
  sound track of a video file (the first audio stream, or ``stream``) (``fastslice.reading.ffmpeg``);
* a WAV stream reader for pipes (``-``), whose headers often give no length (``fastslice.reading.pipe``).

What every source gives is declared once, as the ``Source`` protocol (``fastslice.reading.sources``).
"""
from __future__ import annotations

import os
import stat
from typing import IO, Any

from ..errors import FastsliceError, ParameterError
from .decoders import DECODERS
from .ffmpeg import AVSource
from .pipe import Peeked, ReadOnly, WavStreamSource
from .sndfile import SndfileSource, decode_ahead, wav_data_chunk
from .sources import SNDFILE_NATIVE, ClosedOnExit, ReadError, Source, as_float32, float32_scale

__all__ = ["DECODERS", "SNDFILE_NATIVE", "ClosedOnExit", "Source", "as_float32", "decode_ahead", "float32_scale",
           "open_source", "wav_data_chunk"]


def open_source(source: str | os.PathLike[str] | IO[bytes] | Any, decoder: str = "auto", stream: int | None = None,
                name: str | None = None, threads: int = 1) -> Source:
    """Open ``source`` (a path, or a readable binary file object) for reading; returns a ``Source``.

    ``decoder`` is ``"auto"`` (libsndfile where it decodes the format exactly, FFmpeg for the
    rest), ``"sndfile"`` or ``"av"``.  ``stream`` picks the audio stream (0, 1, ...) of a file
    with several (FFmpeg only).  ``threads`` > 1: ``decode_ahead(source, threads)``.  Raises
    ``FastsliceError`` naming the file.
    """
    if decoder not in DECODERS:
        raise ParameterError(f"decoder={decoder!r} must be one of {', '.join(DECODERS)}")
    if stream is not None and (isinstance(stream, bool) or not isinstance(stream, int) or stream < 0):
        raise ParameterError(f"stream={stream!r} must be an audio stream number: 0, 1, ...")
    if stream is not None and decoder == "sndfile":
        raise ParameterError("stream= picks an audio stream through FFmpeg; it does not go with decoder='sndfile'")
    if isinstance(source, (str, os.PathLike)):
        opened = _open_path(os.fspath(source), decoder, stream)
        return decode_ahead(opened, threads) if threads > 1 else opened
    if not hasattr(source, "read"):
        raise ParameterError(f"source={source!r} must be a path or a readable binary file object")
    name = name or str(getattr(source, "name", "<stream>"))
    return _open_file_object(source, name, decoder, stream)


# -- opening ----------------------------------------------------------------------


def _open_path(path: str, decoder: str, stream: int | None) -> Source:
    try:
        found = os.stat(path)
        if not stat.S_ISREG(found.st_mode):  # never opened: a FIFO's open() waits for a writer
            raise FastsliceError(_not_a_file(path, found.st_mode))
        if found.st_size == 0:
            raise FastsliceError(f"{path}: the file is empty (0 bytes)")
        with open(path, "rb"):  # a permission error in words, not libsndfile's "System error"
            pass
    except OSError as exc:
        raise FastsliceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if decoder == "av" or stream is not None:
        return AVSource(path, path, stream or 0)
    if decoder == "auto":
        with open(path, "rb") as f:
            if _looks_like_mpeg_audio(f.read(4)):
                return AVSource(path, path, 0)
    try:
        source = SndfileSource(path, path)
    except ReadError as sndfile_error:
        if decoder == "sndfile":
            raise FastsliceError(f"{sndfile_error}{_what_it_is(path)}") from None
        try:
            return AVSource(path, path, 0)
        except ReadError as av_error:
            raise FastsliceError(f"{path}: cannot read it as audio ({sndfile_error.reason}; FFmpeg: "
                                 f"{av_error.reason}){_what_it_is(path)}") from None
    if decoder == "auto" and source.format in ("MP3", "MPEG"):
        source.close()  # libsndfile's MP3 decoding depends on read sizes: FFmpeg decodes it exactly
        return AVSource(path, path, 0)
    return source


def _not_a_file(path: str, mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return (f"{path}: a named pipe (FIFO), not a file: open it and pass the file object (fastslice slice reads a "
                "FIFO named as an input as a stream, as it reads -)")
    if stat.S_ISDIR(mode):
        return f"{path}: a folder, not an audio file"
    return f"{path}: not a regular file (a socket or a device); give an audio file"


def _open_file_object(f: Any, name: str, decoder: str, stream: int | None) -> Source:
    seekable = _seekable(f)
    if decoder == "av" or stream is not None:
        return AVSource(f if seekable else ReadOnly(f), name, stream or 0)
    if seekable:
        start = f.tell()
        head = f.read(4)
        f.seek(start)
        if not head:
            raise FastsliceError(f"{name}: the stream is empty")
        if decoder == "auto" and _looks_like_mpeg_audio(head):
            return AVSource(f, name, 0)
        try:
            source = SndfileSource(f, name)
        except ReadError as sndfile_error:
            if decoder == "sndfile":
                raise
            f.seek(start)
            try:
                return AVSource(f, name, 0)
            except ReadError as av_error:
                raise FastsliceError(f"{name}: cannot read it as audio ({sndfile_error.reason}; FFmpeg: {av_error.reason})") from None
        if decoder == "auto" and source.format in ("MP3", "MPEG"):
            source.close()
            f.seek(start)
            return AVSource(f, name, 0)
        return source
    peeked = Peeked(f)
    head = peeked.peek(12)
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return WavStreamSource(peeked, name)
    if decoder == "sndfile":
        raise FastsliceError(f"{name}: libsndfile reads only WAV from a pipe; use decoder='av' (--decoder av) for this stream")
    if not head:
        raise FastsliceError(f"{name}: the stream is empty")
    return AVSource(peeked, name, 0)


def _looks_like_mpeg_audio(head: bytes) -> bool:
    """MP3 (an ID3 tag, or an MPEG audio frame's sync word) or ADTS AAC: FFmpeg's, not libsndfile's.
    (libsndfile would also print mpg123's warnings while it looks.)"""
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, ValueError, OSError):
        return False



# -- what a file is --------------------------------------------------------------------

# First bytes of files that are not audio, or that FFmpeg should have read, for an error that says what the file is.
_SIGNATURES = [
    (b"ftyp", 4, "it looks like MP4/M4A/AAC, but FFmpeg cannot read it either: it may be damaged or incomplete"),
    (b"\x1aE\xdf\xa3", 0, "it looks like WebM/Matroska, but FFmpeg cannot read it either: it may be damaged or incomplete"),
    (b"\x89PNG", 0, "it is a PNG image"),
    (b"\xff\xd8\xff", 0, "it is a JPEG image"),
    (b"%PDF", 0, "it is a PDF document"),
    (b"PK\x03\x04", 0, "it is a zip archive"),
]


def _what_it_is(path: str) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return ""
    for signature, offset, meaning in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return f"; {meaning}"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "; it is a text file"
    return ""

