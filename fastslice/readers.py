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
  which it decodes differently in blocks than whole;
* FFmpeg through PyAV for MP3, M4A/AAC, MP4/MOV, MKV/WebM, Opus, WMA, AC-3, ... and the
  sound track of a video file (the first audio stream, or ``stream``);
* a WAV stream reader for pipes (``-``), whose headers often give no length.
"""
import collections
import os
import queue
import struct
import threading

import numpy as np

from .errors import FastsliceError, ParameterError

DECODERS = ("auto", "sndfile", "av")

# How libsndfile turns each sample format into float32: read as this integer type, then
# multiply by the scale (exact: libsndfile does the same multiplication in float32).
SNDFILE_NATIVE = {
    "PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16", "ULAW": "int16", "ALAW": "int16",
    "PCM_24": "int32", "PCM_32": "int32", "FLOAT": "float32", "DOUBLE": "float64",
}
_INT_SCALE = {np.dtype(np.int16): np.float32(2.0 ** -15), np.dtype(np.int32): np.float32(2.0 ** -31)}


def float32_scale(dtype):
    """What libsndfile multiplies samples of ``dtype`` by, in float32, to read them as float32 (1 for floats)."""
    return _INT_SCALE.get(np.dtype(dtype), np.float32(1.0))


def as_float32(block, out=None):
    """``block`` (any of the sources' dtypes) as float32, as libsndfile reads it as float32."""
    scale = _INT_SCALE.get(block.dtype)
    if out is not None:
        out = out[: block.shape[0]]
    if scale is not None:
        return np.multiply(block, scale, out=out, dtype=np.float32)
    if block.dtype == np.float32:
        return block
    if out is None:
        return block.astype(np.float32)
    out[...] = block
    return out


def open_source(source, decoder="auto", stream=None, name=None, threads=1):
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


def _open_path(path, decoder, stream):
    try:
        if os.path.getsize(path) == 0:
            raise FastsliceError(f"{path}: the file is empty (0 bytes)")
        with open(path, "rb"):  # a permission error in words, not libsndfile's "System error"
            pass
    except OSError as exc:
        raise FastsliceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if decoder == "av" or stream is not None:
        return _AVSource(path, path, stream or 0)
    if decoder == "auto":
        with open(path, "rb") as f:
            if _looks_like_mpeg_audio(f.read(4)):
                return _AVSource(path, path, 0)
    try:
        source = _SndfileSource(path, path)
    except FastsliceError as sndfile_error:
        if decoder == "sndfile":
            raise FastsliceError(f"{sndfile_error}{_what_it_is(path)}") from None
        try:
            return _AVSource(path, path, 0)
        except FastsliceError as av_error:
            raise FastsliceError(f"{path}: cannot read it as audio ({sndfile_error.reason}; FFmpeg: "
                                 f"{av_error.reason}){_what_it_is(path)}") from None
    if decoder == "auto" and source.format in ("MP3", "MPEG"):
        source.close()  # libsndfile's MP3 decoding depends on read sizes: FFmpeg decodes it exactly
        return _AVSource(path, path, 0)
    return source


def _open_file_object(f, name, decoder, stream):
    seekable = _seekable(f)
    if decoder == "av" or stream is not None:
        return _AVSource(f if seekable else _ReadOnly(f), name, stream or 0)
    if seekable:
        start = f.tell()
        head = f.read(4)
        f.seek(start)
        if not head:
            raise FastsliceError(f"{name}: the stream is empty")
        if decoder == "auto" and _looks_like_mpeg_audio(head):
            return _AVSource(f, name, 0)
        try:
            source = _SndfileSource(f, name)
        except FastsliceError as sndfile_error:
            if decoder == "sndfile":
                raise
            f.seek(start)
            try:
                return _AVSource(f, name, 0)
            except FastsliceError as av_error:
                raise FastsliceError(f"{name}: cannot read it as audio ({sndfile_error.reason}; FFmpeg: {av_error.reason})") from None
        if decoder == "auto" and source.format in ("MP3", "MPEG"):
            source.close()
            f.seek(start)
            return _AVSource(f, name, 0)
        return source
    peeked = _Peeked(f)
    head = peeked.peek(12)
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return _WavStreamSource(peeked, name)
    if decoder == "sndfile":
        raise FastsliceError(f"{name}: libsndfile reads only WAV from a pipe; use decoder='av' (--decoder av) for this stream")
    if not head:
        raise FastsliceError(f"{name}: the stream is empty")
    return _AVSource(peeked, name, 0)


def _looks_like_mpeg_audio(head):
    """MP3 (an ID3 tag, or an MPEG audio frame's sync word) or ADTS AAC: FFmpeg's, not libsndfile's.
    (libsndfile would also print mpg123's warnings while it looks.)"""
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _seekable(f):
    try:
        return bool(f.seekable())
    except (AttributeError, ValueError, OSError):
        return False


class ClosedOnExit:
    """``with`` support for the sources (and holds): ``close()`` on leaving the block."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _ReadError(FastsliceError):
    """A backend could not open a file; ``reason`` is its words without the file's name."""

    def __init__(self, name, reason):
        super().__init__(name, reason)  # the arguments, so that it pickles
        self.name, self.reason = name, reason

    def __str__(self):
        return f"{self.name}: cannot read it as audio ({self.reason})"


# -- libsndfile ---------------------------------------------------------------------


class _SndfileSource(ClosedOnExit):
    decoder = "sndfile"

    def __init__(self, source, name):
        import soundfile

        self.from_path = isinstance(source, str)
        self._soundfile = soundfile
        try:
            self._file = soundfile.SoundFile(source)
        except soundfile.LibsndfileError as exc:
            raise _ReadError(name, f"libsndfile: {exc.error_string.rstrip('.')}") from None
        except (RuntimeError, TypeError) as exc:
            raise _ReadError(name, f"libsndfile: {exc}") from None
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
        self.declared_frames = _declared_wav_frames(name) if f.format in ("WAV", "WAVEX") and isinstance(source, str) else None
        self._buffer = np.empty((0, self.channels), self.dtype)

    def read(self, frames):
        if self._buffer.shape[0] < frames:
            self._buffer = np.empty((frames, self.channels), self.dtype)
        try:
            return self._file.read(frames, dtype=self.dtype.name, always_2d=True, out=self._buffer[:frames])
        except self._soundfile.LibsndfileError as exc:
            raise FastsliceError(f"{self.name}: read failed at frame {self._file.tell()} ({exc.error_string})") from None

    def seek(self, frame):
        self._file.seek(frame)

    def close(self):
        self._file.close()


def decode_ahead(source, threads):
    """``source`` (opened from a path) decoded on ``threads`` threads besides its reader's, where
    that pays: a long FLAC file on all of them at once (``_ParallelSndfile``, two or more), any other
    file libsndfile decompresses (or a FLAC file given one thread) on a thread of its own, ahead of
    its reader (``_Prefetched``); the same samples, in order; with 0 threads, as it is.  PCM needs
    no decoding, and PyAV decodes holding Python's lock (a thread of its own only takes turns): both
    are returned as they are.  The wrapper closes ``source`` with itself."""
    if threads < 1 or not isinstance(source, _SndfileSource) or not source.from_path or source.uncompressed:
        return source
    return _ParallelSndfile(source, threads) if threads > 1 and _ParallelSndfile.pays(source) else _Prefetched(source)


class _Spans(ClosedOnExit):
    """A source read as spans of frames made elsewhere (``_next_span()``: the next, or None or an
    empty one at the end), handed out in reads of any size, in order."""

    def read(self, frames):
        parts, filled = [], 0
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


class _ParallelSndfile(_Spans):
    """A FLAC file decoded on several threads at once: spans of ``SPAN`` frames, each decoded by a
    thread with its own libsndfile handle (FLAC seeks exactly, and libsndfile decodes without the
    GIL), handed out in order by ``read``.  The samples are those one handle reads from the start,
    whatever the number of threads (tested); at most ``2 * threads`` spans are decoded ahead."""

    SPAN = 1 << 17
    decoder = "sndfile"

    @classmethod
    def pays(cls, source):
        return source.format == "FLAC" and source.exact_seek and source.frames is not None \
            and source.frames >= 4 * cls.SPAN

    def __init__(self, source, threads):
        import concurrent.futures

        import soundfile

        self._soundfile = soundfile
        self._source = source
        for name in ("name", "samplerate", "channels", "format", "subtype", "frames", "dtype", "float_data",
                     "exact_seek", "uncompressed", "declared_frames"):
            setattr(self, name, getattr(source, name))
        self.threads = threads
        self._local = threading.local()
        self._handles = []
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="fastslice-flac")
        self._next_first = 0  # the first frame of the next span to hand to the pool
        self._spans = collections.deque()
        self._current, self._offset = np.empty((0, self.channels), self.dtype), 0
        self._ended = False
        self._fill()

    def _fill(self):
        while len(self._spans) < 2 * self.threads and self._next_first < self.frames:
            self._spans.append(self._pool.submit(self._decode, self._next_first))
            self._next_first += self.SPAN

    def _decode(self, first):
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
            return f.read(min(self.SPAN, self.frames - first), dtype=self.dtype.name, always_2d=True)
        except self._soundfile.LibsndfileError as exc:  # said as one handle says it
            raise FastsliceError(f"{self.name}: read failed at frame {f.tell()} ({exc.error_string})") from None

    def _next_span(self):
        if not self._spans:
            return None
        span = self._spans.popleft().result()
        if span.shape[0] < self.SPAN and self._next_first < self.frames:
            self._ended = True  # the data ends early: nothing after it
        self._fill()
        return span

    def seek(self, frame):
        for span in self._spans:
            span.cancel()
        self._spans.clear()
        self._next_first = frame
        self._current, self._offset, self._ended = self._current[:0], 0, False
        self._fill()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
        for f in self._handles:
            f.close()
        self._source.close()


class _Prefetched(_Spans):
    """A compressed file decoded on a thread of its own, ``AHEAD`` spans of ``SPAN`` frames ahead of
    ``read`` (FFmpeg and libsndfile decode without the GIL), so that its decoding and the caller's
    analysis run at once on two cores.  The samples and errors are the source's, in order."""

    SPAN = 1 << 16
    AHEAD = 4

    def __init__(self, source):
        self._source = source
        for name in ("name", "decoder", "samplerate", "channels", "format", "subtype", "frames", "dtype", "float_data",
                     "exact_seek", "uncompressed", "declared_frames"):
            setattr(self, name, getattr(source, name))
        self._current, self._offset = np.empty((0, self.channels), self.dtype), 0
        self._start()

    def _start(self):
        self._queue = queue.Queue(self.AHEAD)
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="fastslice-decode", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                block = np.array(self._source.read(self.SPAN))  # a copy: the source reuses its buffer
                if not self._put(block) or not len(block):
                    return
        except BaseException as exc:  # handed to the reader, in its place in the stream
            self._put(exc)

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _next_span(self):
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        return item

    def _halt(self):
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()

    def seek(self, frame):
        self._halt()
        self._source.seek(frame)
        self._current, self._offset = self._current[:0], 0
        self._start()

    def close(self):
        self._halt()
        self._source.close()


def _declared_wav_frames(path):
    """The frames a RIFF WAV's data chunk claims, or None (no such chunk, not RIFF, or a size that
    means "unknown": ``ffmpeg -f wav - > x.wav`` writes 0xFFFFFFFF, others 0)."""
    chunk = wav_data_chunk(path)
    return None if chunk is None or chunk[1] in _UNKNOWN_SIZES else chunk[1] // chunk[2]


def wav_data_chunk(path):
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


# -- FFmpeg (PyAV) --------------------------------------------------------------------


class _AVSource(ClosedOnExit):
    decoder = "av"
    exact_seek = uncompressed = False
    declared_frames = None

    def __init__(self, source, name, stream_index):
        try:
            import av
        except ImportError:  # pragma: no cover - a dependency, but say what to do if it is missing
            raise _ReadError(name, "FFmpeg decoding needs PyAV: pip install av") from None
        self._av = av
        self.name = name
        try:
            self._container = av.open(source, mode="r")
        except av.FFmpegError as exc:
            raise _ReadError(name, _ffmpeg_words(exc)) from None
        except (OSError, ValueError) as exc:
            raise _ReadError(name, str(exc)) from None
        audio = self._container.streams.audio
        if not audio:
            self._container.close()
            raise _ReadError(name, "FFmpeg finds no audio stream in it")
        if stream_index >= len(audio):
            self._container.close()
            raise FastsliceError(f"{name}: stream={stream_index} (--stream) is not there: it has {len(audio)} audio "
                                 f"stream{'s' if len(audio) > 1 else ''}, numbered from 0")
        self._stream = audio[stream_index]
        context = self._stream.codec_context
        if context is None:
            self._container.close()
            raise _ReadError(name, "FFmpeg has no decoder for its codec")
        self.samplerate = context.sample_rate
        self.channels = context.channels if hasattr(context, "channels") else context.layout.nb_channels
        if not self.samplerate or not self.channels:
            self._container.close()
            raise _ReadError(name, "FFmpeg cannot tell its sample rate or channels")
        self.format, self.subtype = "FFMPEG", context.name
        self.frames = None
        self.dtype = np.dtype(np.float32)
        self.float_data = True
        self._frames = self._container.decode(self._stream)
        # FFmpeg gathers the decoded frames (AAC: 1,024 samples each) into blocks of the size asked
        # for, so that conversion runs once a block, not once a codec frame.
        self._fifo = av.AudioFifo()
        self._ended = False
        self._buffer = np.empty((0, self.channels), np.float32)
        self._position = 0

    def read(self, frames):
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
            name = block.format.name
            planar = name.endswith("p")
            dtype = _AV_DTYPES[name[:-1] if planar else name]
            if planar:  # one strided copy per channel into the block
                for channel, plane in enumerate(block.planes[: self.channels]):
                    _store_float32(np.frombuffer(plane, dtype, take), out[:, channel])
            else:
                _store_float32(np.frombuffer(block.planes[0], dtype, take * self.channels).reshape(take, self.channels),
                               out)
        self._position += take
        return out

    def _at(self, fifo):
        return f"{(self._position + fifo.samples) / self.samplerate:.3f} s"

    def _next_frame(self):
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

    def close(self):
        self._container.close()


# FFmpeg's sample formats (without the planar "p"): the numpy type of their samples.
_AV_DTYPES = {"u8": np.dtype(np.uint8), "s16": np.dtype(np.int16), "s32": np.dtype(np.int32),
              "s64": np.dtype(np.int64), "flt": np.dtype(np.float32), "dbl": np.dtype(np.float64)}
_AV_SCALE = {np.dtype(np.int16): np.float32(2.0 ** -15), np.dtype(np.int32): np.float32(2.0 ** -31),
             np.dtype(np.int64): np.float32(2.0 ** -63)}


def _store_float32(samples, out):
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


def _ffmpeg_words(exc):
    return str(getattr(exc, "strerror", None) or exc).rstrip(".")


class _ReadOnly:
    """A file object that shows FFmpeg only ``read``: a pipe must not be sought."""

    def __init__(self, f):
        self._f = f

    def read(self, size=-1):
        return self._f.read(size)


class _Peeked(_ReadOnly):
    """A non-seekable stream whose first bytes can be looked at before it is read."""

    def __init__(self, f):
        super().__init__(f)
        self._head = b""

    def peek(self, size):
        while len(self._head) < size:
            more = self._f.read(size - len(self._head))
            if not more:
                break
            self._head += more
        return self._head[:size]

    def read(self, size=-1):
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._f.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._f.read(size)

    def readinto(self, buffer):
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


# -- WAV streams (pipes) ----------------------------------------------------------------

# Data sizes that mean "unknown": what ffmpeg and others write when they cannot seek back.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_WAVE_FORMAT_PCM, _WAVE_FORMAT_FLOAT, _WAVE_FORMAT_EXTENSIBLE = 1, 3, 0xFFFE


class _WavStreamSource(ClosedOnExit):
    """A RIFF/RF64 WAV read front to back, as it comes through a pipe: PCM 8/16/24/32-bit or float."""

    decoder = "wav-stream"
    exact_seek = uncompressed = False
    format = "WAV"

    def __init__(self, stream, name):
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
        known = data_size is not None and data_size not in _UNKNOWN_SIZES
        self.frames = data_size // block_align if known else None
        self.declared_frames = self.frames
        self._remaining = data_size if known else None  # bytes of data still to read, if known
        self._raw = bytearray()
        self._buffer = np.empty((0, channels), self.dtype)

    def _chunk_header(self):
        header = self._exactly(8, "a chunk header")
        return header[:4], struct.unpack("<I", header[4:])[0]

    def _exactly(self, size, what):
        data = b""
        while len(data) < size:
            more = self._stream.read(size - len(data))
            if not more:
                raise FastsliceError(f"{self.name}: the WAV stream ends inside {what}")
            data += more
        return data

    def read(self, frames):
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

    def close(self):
        pass


def _decode_pcm(raw, subtype, out):
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


def _what_it_is(path):
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

