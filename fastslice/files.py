"""Slice one audio file or stream into clip files, safely.

``slice_file`` decodes its input once (``fastslice.readers``), finds the clip
ranges as it goes (``stream.py``) and writes each clip as soon as its end is
known, from the decoded samples held since its start (``hold.py``), in the
input's own sample format where that is exact, so 16-bit in gives the same
16-bit out.  A 16/24/32-bit WAV's clips are not decoded at all: the kernel copies
their bytes from the input behind the header libsndfile writes (``_WavCopy``).
Clips are written on a thread of their own while decoding goes on (``_ClipWriter``).  Every clip is written to a temporary name and renamed when
complete; a hidden marker ``.<stem>.fastslice.json``, written last, records the
finished input so that a re-run can skip it.

A file is all or nothing: if it fails or is interrupted, its clips from that
run are removed.  A stream (a pipe, which may never end) keeps every finished
clip when it is interrupted.
"""
import contextlib
import dataclasses
import errno
import io
import json
import os
import queue
import struct
import threading
from pathlib import Path

import numpy as np
import soundfile

from . import __version__, readers
from .errors import FastsliceError, ParameterError
from .filters import HighPass, butter_highpass
from .hold import HOLD_BYTES, Reread, SampleHold
from .naming import ClipNames
from .slicer import available_cpus
from .stream import BLOCK_FRAMES, Decoding, RangeStream, SampleCheck, slicer_for

# How to read each subtype so that writing it back loses nothing.
_WRITE_BUFFER_BYTES = 1 << 22
_INTEGER_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW")
_EXTENSION = {"WAVEX": "wav", "AIFF": "aiff", "OGG": "ogg", "MPEG": "mp3", "MAT4": "mat", "MAT5": "mat"}


@dataclasses.dataclass(frozen=True)
class Clip:
    """One clip: where it came from, where it went, and its range in samples."""

    source: str
    clip: str
    start_sample: int  # in the source, at source_rate
    end_sample: int
    sample_rate: int  # of the clip file
    channels: int  # of the clip file
    source_rate: int = 0  # the source's sample rate (0: the same as sample_rate)

    @property
    def start_seconds(self):
        return self.start_sample / (self.source_rate or self.sample_rate)

    @property
    def end_seconds(self):
        return self.end_sample / (self.source_rate or self.sample_rate)

    def row(self):
        """The manifest row: every field, with the times in seconds too."""
        return {
            "source": self.source, "clip": self.clip,
            "start_sample": self.start_sample, "end_sample": self.end_sample,
            "start_seconds": round(self.start_seconds, 6), "end_seconds": round(self.end_seconds, 6),
            "sample_rate": self.sample_rate, "channels": self.channels, "source_rate": self.source_rate or self.sample_rate,
        }


@dataclasses.dataclass
class FileResult:
    source: str
    clips: list
    audio_seconds: float
    skipped: bool = False
    warnings: list = dataclasses.field(default_factory=list)
    #: frames the decoder produced for this run (the input's length: it is decoded once)
    decoded_frames: int = 0
    #: frames of clips longer than the memory bound, held in a temporary file meanwhile
    spilled_frames: int = 0
    #: a stream ended by Ctrl-C: the clips finished until then are kept
    interrupted: bool = False


def output_format(info_format, info_subtype, format=None, subtype=None):
    """(format, subtype, extension) of the clips of a file with the given format and subtype.

    By default the input's own container and sample format where libsndfile
    can write them back losslessly; compressed inputs (MP3, Ogg, ADPCM, ...)
    become 32-bit float WAV, which holds their decoded samples exactly.
    """
    if format is None:
        lossless = info_subtype in readers.SNDFILE_NATIVE and soundfile.check_format(info_format, info_subtype)
        format, default_subtype = (info_format, info_subtype) if lossless else ("WAV", "FLOAT")
        subtype = subtype or default_subtype
    format = format.upper()
    if format not in soundfile.available_formats():
        raise ParameterError(f"format={format!r} is not one libsndfile writes; choose one of {sorted(soundfile.available_formats())}")
    subtype = (subtype or soundfile.default_subtype(format) or "").upper()
    if not soundfile.check_format(format, subtype):
        raise ParameterError(
            f"subtype={subtype!r} cannot be written in format={format!r}; "
            f"choose one of {sorted(soundfile.available_subtypes(format))}"
        )
    return format, subtype, _EXTENSION.get(format, format.lower())


def marker_path(out_dir, stem):
    return Path(out_dir) / f".{stem}.fastslice.json"


def slice_file(source, out_dir, params, *, stem=None, decoder="auto", stream=None, format=None, subtype=None,
               overwrite=False, dry_run=False, protected=(), block_frames=BLOCK_FRAMES, start_seconds=None,
               end_seconds=None, sample_rate=None, mono=False, hold_bytes=HOLD_BYTES, threads=None, name_template=None,
               normalize_dbfs=None, normalize_mix=1.0, highpass_hz=None, highpass_order=5):
    """Slice an audio file or stream into ``out_dir/<stem>_<i>.<ext>``; returns a ``FileResult``.

    ``source`` is a path or a readable binary file object (``sys.stdin.buffer``, a pipe);
    a file object needs ``stem``.  ``decoder`` (``"auto"``, ``"sndfile"``, ``"av"``) and
    ``stream`` (which audio stream, FFmpeg only) choose how it is decoded.  ``params`` are
    ``Slicer``'s keyword arguments (the sample rate is the input's).  ``start_seconds`` /
    ``end_seconds`` slice only that part, as if it were the whole recording.
    ``sample_rate`` resamples the clips (soxr, high quality) and ``mono`` mixes them down;
    the slicing is decided on the original audio either way.  With ``dry_run`` nothing is
    written.  Unless ``overwrite``, a file whose clips are all present from an earlier run
    with the same source and options is skipped; a stream whose stem has clips in
    ``out_dir`` is refused.  ``protected`` holds real paths that must never be written (the
    inputs).  The input is decoded once; the samples of the clip still open are held in
    memory up to ``hold_bytes``, beyond it in a temporary file in ``out_dir`` (uncompressed
    PCM files are read again instead: cheaper).  ``threads`` is how many threads slice it:
    ``1`` reads, analyses and writes in turn (for a process among several, ``-j``);
    ``None`` (the default) or more writes the clips on a thread of its own while the input
    goes on being read.  The clips are the same either way.  Raises ``FastsliceError``
    naming the input.  ``name_template`` names the clips (``fastslice.naming``; default
    ``{stem}_{i}``), subfolders of ``out_dir`` included.  ``normalize_dbfs`` scales each clip
    so that its peak is at that level (dBFS, at most 0); with ``normalize_mix`` = alpha < 1 a
    clip is ``alpha * normalized + (1 - alpha) * clip``, the blended form RVC (0.75) and
    GPT-SoVITS (0.25) use.  Only what is written changes, never where the cuts are.
    ``highpass_hz`` filters the audio (Butterworth of ``highpass_order``, ``fastslice.filters``)
    before it is sliced, as RVC does; the clips are the filtered audio.
    """
    normalize_gain = _normalize_rule(normalize_dbfs, normalize_mix)
    is_path = isinstance(source, (str, os.PathLike))
    names = name_template if isinstance(name_template, ClipNames) else ClipNames(name_template)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ParameterError(f"threads={threads!r} must be a whole number >= 1, or None for one per CPU")
    if not is_path and not stem:
        raise ParameterError("stem= is needed to name the clips of a file object (e.g. stem='talk')")
    out_dir = Path(out_dir)
    stem = stem or Path(source).stem
    with readers.open_source(source, decoder=decoder, stream=stream) as reader:
        name = reader.name
        if reader.frames == 0:
            raise FastsliceError(f"{name}: holds no audio frames")
        fmt, sub, ext = output_format(reader.format, reader.subtype, format, subtype)
        slicer = slicer_for(reader.samplerate, params)
        first, stop = _segment(name, reader, start_seconds, end_seconds)
        out_rate = int(sample_rate or reader.samplerate)
        out_channels = 1 if mono else reader.channels
        identity = {
            "fastslice": __version__, "params": params, "format": fmt, "subtype": sub, "segment": [first, stop],
            "sample_rate": out_rate, "mono": bool(mono), "decoder": reader.decoder, "stream": stream,
        }
        if not names.is_default:
            identity["name"] = names.template
        if normalize_gain is not None:
            identity["normalize"] = [normalize_dbfs, normalize_mix]
        highpass = None
        if highpass_hz is not None:
            try:
                highpass = HighPass(butter_highpass(highpass_order, highpass_hz, reader.samplerate), reader.channels)
            except ParameterError as exc:
                raise FastsliceError(f"{name}: {exc}") from None
            identity["highpass"] = [highpass_hz, highpass_order]
        marker = marker_path(out_dir, stem)
        if is_path:
            stat = Path(source).stat()
            identity.update(source=str(Path(source).resolve()), size=stat.st_size, mtime_ns=stat.st_mtime_ns)
            if not dry_run and not overwrite:
                done = _finished_clips(marker, identity, out_dir)
                if done is not None:
                    length = reader.frames if reader.frames is not None else max([c.end_sample for c in done], default=0)
                    return FileResult(name, done, length / reader.samplerate, skipped=True)
        else:
            identity["source"] = name
            if not dry_run and not overwrite:
                _refuse_earlier_output(name, marker, out_dir, stem, names)

        def clip_at(i, start, end):
            clip_name = names.name(stem, i, first + start, first + end, reader.samplerate)
            return Clip(name, str(out_dir / f"{clip_name}.{ext}"), first + start, first + end,
                        out_rate, out_channels, reader.samplerate)

        check = SampleCheck(reader, dtype=None if highpass is None else np.float32)
        decoding = Decoding(reader, block_frames, first, stop, check, transform=highpass)
        ranges = RangeStream(slicer, None, reader.channels, np.float32)
        if dry_run:
            clips = []
            for _, mixed in decoding:
                clips += [clip_at(len(clips), *r) for r in ranges.feed_mono(mixed)]
            _check_some_audio(name, decoding)
            clips += [clip_at(len(clips), *r) for r in ranges.finish()]
            return _result(name, decoding, check, clips, None)

        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_earlier_output(marker, out_dir, stem, names)
        protected = {os.path.realpath(p) for p in protected}
        if is_path:
            protected.add(os.path.realpath(source))
        convert = out_rate != reader.samplerate or out_channels != reader.channels
        # Integer samples go to libsndfile as they are only for integer clips; it would write them
        # unscaled into float ones (--subtype FLOAT from 16-bit input gave 8227.0 for 0.251).
        as_floats = reader.dtype.kind == "i" and sub not in _INTEGER_SUBTYPES
        # the writer reads each clip from the file itself (unless the clips are filtered audio)
        rereads = is_path and reader.uncompressed and highpass is None
        copies = _WavCopy.plan(source, reader, fmt, sub, first) if rereads and not convert and normalize_gain is None else None
        if rereads:
            hold = Reread(lambda: readers.open_source(source, decoder="sndfile"), first)
        else:
            hold = SampleHold(reader.channels, np.float32 if highpass else reader.dtype, out_dir, hold_bytes, block_frames)
        interrupted = False
        queued = []  # clips handed to the writer, in order; writer.done are those complete on disk

        def write(start, end):
            clip = clip_at(len(queued), start, end)
            if os.path.realpath(clip.clip) in protected:
                raise FastsliceError(f"{name}: clip {clip.clip} would overwrite an input file; choose another -o folder")
            if copies is not None and copies.fits(end - start):
                queued.append(clip)
                writer.run(clip, copies.job(start, end, Path(clip.clip), name))
                return
            def clip_blocks():
                blocks = hold.blocks(start, end, block_frames)
                if convert:
                    blocks = _converted((readers.as_float32(b) for b in blocks), reader.samplerate, out_rate, mono)
                elif as_floats:
                    blocks = (readers.as_float32(b) for b in blocks)
                return blocks

            blocks = clip_blocks() if normalize_gain is None else _normalized(clip_blocks, normalize_gain, hold_bytes)
            queued.append(clip)
            writer.write(clip, blocks, (Path(clip.clip), out_rate, out_channels, fmt, sub, name), reads_alone=rereads)

        writer = _ClipWriter(threaded=(threads or available_cpus()) > 1)
        try:
            with hold:
                try:
                    try:
                        for samples, mixed in decoding:
                            hold.append(samples)
                            for start, end in ranges.feed_mono(mixed):
                                write(start, end)
                            hold.release_before(ranges.first_open_sample())
                    except KeyboardInterrupt:
                        if is_path:
                            raise
                        interrupted = True  # a stream ends with Ctrl-C: keep what is finished
                    if not interrupted:
                        _check_some_audio(name, decoding)
                        for start, end in ranges.finish():
                            write(start, end)
                    writer.finish()
                except BaseException:
                    writer.stop()  # before the hold closes: the writer may be reading from it
                    raise
            clips = writer.done
            _write_marker(marker, identity, clips)
        except BaseException:
            writer.stop()
            if is_path:  # a file that fails (or is interrupted) leaves none of its clips
                for clip in writer.done:
                    Path(clip.clip).unlink(missing_ok=True)
            raise
        return _result(name, decoding, check, clips, hold, interrupted)


def _check_some_audio(name, decoding):
    if decoding.position <= decoding.first:
        if decoding.first:
            raise FastsliceError(f"{name}: start={decoding.first / decoding.source.samplerate:g} s selects no audio "
                                 f"(it is {decoding.position / decoding.source.samplerate:.3f} s long)")
        raise FastsliceError(f"{name}: holds no audio frames")


def _result(name, decoding, check, clips, hold, interrupted=False):
    rate = decoding.source.samplerate
    notes = check.warnings()
    missing = 0 if interrupted else decoding.missing_frames
    if missing:
        notes.insert(0, f"{name}: the header promises {decoding.position + missing} frames but the data ends after "
                        f"{decoding.position} ({missing / rate:.3f} s missing): sliced as far as the data goes")
    if not clips and not interrupted:
        notes.append(f"{name}: no clip: it is all silence below the threshold")
    seconds = (decoding.position - decoding.first) / rate
    return FileResult(name, clips, seconds, warnings=notes, decoded_frames=decoding.decoded,
                      spilled_frames=0 if hold is None else hold.spilled_frames, interrupted=interrupted)


def _segment(name, reader, start_seconds, end_seconds):
    """The frames [first, stop) that --start / --end select (stop None: to the end)."""
    sr, frames = reader.samplerate, reader.frames
    first = 0 if start_seconds is None else max(0, round(start_seconds * sr))
    stop = None if end_seconds is None else max(0, round(end_seconds * sr))
    if frames is not None:
        first = min(first, frames)
        stop = None if stop is None else min(stop, frames)
    end = stop if stop is not None else frames
    if end is not None and end <= first:
        length = "" if frames is None else f" (it is {frames / sr:.3f} s long)"
        raise FastsliceError(f"{name}: start={start_seconds!r} s and end={end_seconds!r} s select no audio{length}")
    return first, stop


def _converted(blocks, in_rate, out_rate, mono):
    """Blocks mixed to mono (the mean of the channels) and/or resampled by soxr's streaming resampler."""
    resampler = channels = None
    for block in blocks:
        if mono:
            block = block.mean(axis=1, keepdims=True, dtype=np.float32)
        if out_rate != in_rate:
            if resampler is None:
                channels = block.shape[1]
                resampler = _resampler(in_rate, out_rate, channels)
            block = resampler.resample_chunk(block)
        yield block
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True)


def _normalize_rule(dbfs, mix):
    """``gain(peak)`` for ``--normalize DBFS`` and ``--normalize-mix ALPHA``, or None without normalization."""
    if dbfs is None:
        if mix != 1.0:
            raise ParameterError(f"normalize_mix={mix!r} needs normalize_dbfs (--normalize-mix goes with --normalize)")
        return None
    if isinstance(dbfs, bool) or not isinstance(dbfs, (int, float)) or not -120 <= dbfs <= 0:
        raise ParameterError(f"normalize_dbfs={dbfs!r} must be a peak level in dBFS from -120 to 0 (e.g. -1)")
    if isinstance(mix, bool) or not isinstance(mix, (int, float)) or not 0 < mix <= 1:
        raise ParameterError(f"normalize_mix={mix!r} must be above 0 and at most 1 (1: plain peak normalization)")
    target = 10 ** (dbfs / 20)
    return lambda peak: 1.0 if peak == 0 else mix * target / peak + (1 - mix)


def _normalized(clip_blocks, gain, keep_bytes):
    """The clip's blocks as float32, scaled by ``gain(peak)``.  The first pass finds the peak and
    keeps the blocks (converted, resampled) up to ``keep_bytes``; a longer clip is made again for
    the second pass, so memory stays bounded."""
    peak, kept, size = 0.0, [], 0
    for block in clip_blocks():
        block = readers.as_float32(block)
        peak = max(peak, float(np.abs(block).max(initial=0.0)))
        if kept is not None:
            size += block.nbytes
            if size <= keep_bytes:
                kept.append(block.copy())
            else:
                kept = None
    factor = np.float32(gain(peak))
    for block in kept if kept is not None else (readers.as_float32(b) for b in clip_blocks()):
        yield block * factor


def _resampler(in_rate, out_rate, channels):
    try:
        import soxr
    except ImportError:
        raise FastsliceError("resampling (--sr) needs soxr: pip install 'fastslice[resample]'") from None
    return soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality="HQ")


class _ClipWriter:
    """Writes clips in order on a thread of its own, while the input goes on being decoded
    (libsndfile and the kernel's file copies release the GIL).

    Three ways to hand over a clip, each ending in a complete file or none:

    * ``write(clip, blocks, args)``: blocks from memory the decoding thread reuses are copied,
      in that thread, into a few buffers that go round between the two threads, for
      ``_write_clip(blocks, *args)``;
    * ``write(clip, blocks, args, reads_alone=True)``: blocks read again from the file by a
      reader only the writer uses, read on the writer's thread;
    * ``run(clip, job)``: ``job(stopping)`` writes the clip itself (``_copy_clip``), checking
      ``stopping()`` as it goes.

    The queue is bounded (a few blocks or clips): a slow writer holds the decoding back, and
    memory stays constant.  ``finish()`` waits for every clip and raises the first error;
    ``stop()`` abandons the clip being written (its temporary file is removed) and what is
    queued.  ``done`` lists the clips complete on disk, in order.  With ``threaded=False``
    every clip is written by the caller, at once (one thread per file).
    """

    _QUEUED = 4
    _END, _STOP = object(), object()

    def __init__(self, threaded=True):
        self.done = []
        self._error = None
        self._open = False  # a clip's blocks are being queued
        self._threaded = threaded
        if not threaded:
            return
        self._stopping = threading.Event()
        self._queue = queue.Queue(self._QUEUED)
        self._free = queue.Queue()  # buffers the writer has finished with
        self._buffers = 0
        self._thread = threading.Thread(target=self._run, name="fastslice-clip-writer", daemon=True)
        self._thread.start()

    def write(self, clip, blocks, args, reads_alone=False):
        if not self._threaded:
            self.run(clip, lambda stopping: _write_clip(blocks, *args))
        elif reads_alone:
            self._put(("lazy", clip, args, blocks))
        else:
            self._put(("blocks", clip, args))
            self._open = True
            for block in blocks:
                self._put(self._copy(block))  # the hold reuses its memory
            self._put(self._END)
            self._open = False

    def run(self, clip, job):
        if self._threaded:
            self._put(("job", clip, job))
        else:
            job(_never)
            self.done.append(clip)

    def finish(self):
        """Wait for the clips queued; one whose queuing was interrupted is abandoned."""
        if not self._threaded:
            return
        if self._open:
            self.stop()
        else:
            self._put(None)
            self._thread.join()
        self._raise_error()

    def stop(self):
        if self._threaded and self._thread.is_alive():
            self._stopping.set()
            self._queue.put(self._STOP)  # the writer drains the queue until it sees this
            self._thread.join()

    def _copy(self, block):
        """("block", buffer, frames) holding a copy of ``block``: a buffer of the round, or a new array."""
        if self._buffers < self._QUEUED + 2 and self._free.empty():
            self._buffers += 1
            self._free.put(np.empty((max(block.shape[0], 1 << 16),) + block.shape[1:], block.dtype))
        buffer = self._free.get()
        if buffer.dtype != block.dtype or buffer.shape[1:] != block.shape[1:] or buffer.shape[0] < block.shape[0]:
            self._free.put(buffer)  # an odd block (resampled output): a copy of its own
            return "block", np.array(block), None
        buffer[: block.shape[0]] = block
        return "block", buffer, block.shape[0]

    def _put(self, item):
        self._raise_error()
        self._queue.put(item)

    def _raise_error(self):
        if self._error is not None:
            raise self._error

    def _release(self, item):
        if isinstance(item, tuple) and item[0] == "block" and item[2] is not None:
            self._free.put(item[1])

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None or item is self._STOP:
                return
            if self._error is not None or self._stopping.is_set() or item is self._END or item[0] == "block":
                self._release(item)
                continue  # after an error or stop(): drain until told to stop
            try:
                if item[0] == "job":
                    item[2](self._stopping.is_set)
                elif item[0] == "lazy":
                    _write_clip(self._watched(item[3]), *item[2])
                else:
                    _write_clip(self._watched(self._queued_blocks()), *item[2])
                self.done.append(item[1])
            except _Stopped as stopped:
                if stopped.args == (self._STOP,):
                    return
            except BaseException as exc:  # handed to the decoding thread
                self._error = exc

    def _watched(self, blocks):
        for block in blocks:
            if self._stopping.is_set():
                raise _Stopped
            yield block

    def _queued_blocks(self):
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if item is self._STOP:
                raise _Stopped(self._STOP)
            _, buffer, frames = item
            yield buffer if frames is None else buffer[:frames]
            self._release(item)


def _never():
    return False


class _Stopped(Exception):
    """The clip writer was told to stop in the middle of a clip."""


class _WavCopy:
    """Clips of a PCM WAV written in its own format without passing through Python: the header
    libsndfile writes for the clip, then the clip's bytes copied from the input by the kernel
    (``os.copy_file_range``: one copy in the page cache, no GIL).  The bytes are the ones
    libsndfile writes back for those samples; ``plan`` says None where that is not so."""

    # 16/24/32-bit PCM in RIFF WAV: libsndfile writes back the bytes it read, and its header
    # differs between lengths only in the RIFF and data sizes (an odd size is padded: not copied).
    SUBTYPES = ("PCM_16", "PCM_24", "PCM_32")
    _STEP = 1 << 23  # bytes per copy call (a stop is noticed between them)

    @classmethod
    def plan(cls, path, reader, fmt, subtype, first):
        if not (reader.format == fmt == "WAV" and reader.subtype == subtype and subtype in cls.SUBTYPES):
            return None
        chunk = readers.wav_data_chunk(path)
        header = _empty_wav_header(fmt, subtype, reader.samplerate, reader.channels)
        if chunk is None or header is None or chunk[2] != reader.channels * int(subtype[4:]) // 8:
            return None
        return cls(path, chunk[0] + first * chunk[2], chunk[2], *header)

    def __init__(self, path, data_offset, frame_bytes, header, data_size_at):
        self.path, self.data_offset, self.frame_bytes = path, data_offset, frame_bytes
        self.header, self.data_size_at = header, data_size_at

    def fits(self, frames):
        size = frames * self.frame_bytes
        return size % 2 == 0 and len(self.header) + size < 1 << 32

    def job(self, start, end, final, source):
        """A writer job (``job(stopping)``) that writes frames ``[start, end)`` to ``final``."""
        return lambda stopping: self._copy(start, end, final, source, stopping)

    def _copy(self, start, end, final, source, stopping):
        size = (end - start) * self.frame_bytes
        header = bytearray(self.header)
        header[4:8] = struct.pack("<I", len(header) - 8 + size)
        header[self.data_size_at : self.data_size_at + 4] = struct.pack("<I", size)
        with _through_temporary(final, source) as temporary:
            with open(self.path, "rb", buffering=0) as src, open(temporary, "wb", buffering=0) as out:
                _write_all(out, header)
                offset = self.data_offset + start * self.frame_bytes
                copied = 0
                while copied < size:
                    if stopping():
                        raise _Stopped
                    got = _copy_range(src, out, offset + copied, min(self._STEP, size - copied))
                    if got == 0:
                        raise OSError(f"the data ends before frame {end} on reading it again")
                    copied += got


def _empty_wav_header(fmt, subtype, sample_rate, channels):
    """(header, offset of the data size field) that libsndfile writes for a clip with no frames, or
    None if its data chunk is not last."""
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", sample_rate, channels, subtype, format=fmt) as out:
        _without_peak_chunk(out)
    header = buffer.getvalue()
    position = 12
    while position + 8 <= len(header):
        kind, size = header[position : position + 4], struct.unpack("<I", header[position + 4 : position + 8])[0]
        if kind == b"data":
            return (header, position + 4) if position + 8 == len(header) and size == 0 else None
        position += 8 + size + size % 2
    return None


def _write_all(out, data):
    view = memoryview(data)
    while view:
        view = view[out.write(view):]


def _copy_range(src, out, offset, count):
    """Copy ``count`` bytes from ``offset`` in ``src`` to the end of ``out``: in the kernel where it can, else
    through a buffer.  Returns the bytes copied (0 at the end of ``src``)."""
    if hasattr(os, "copy_file_range"):  # Linux
        try:
            return os.copy_file_range(src.fileno(), out.fileno(), count, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                raise
    data = os.pread(src.fileno(), count, offset)  # another system, file system, or an old kernel
    _write_all(out, data)
    return len(data)


def _write_clip(blocks, final, sample_rate, channels, fmt, subtype, source):
    """Write the blocks to ``final`` through a temporary name, renamed when complete."""
    with _through_temporary(final, source) as temporary:
        # libsndfile writes to a path in 8 KB system calls; through a Python file with a large
        # buffer it writes the same bytes about three times faster.
        with open(temporary, "wb", buffering=_WRITE_BUFFER_BYTES) as raw:
            guarded = _GuardedFile(raw)
            with soundfile.SoundFile(guarded, "w", sample_rate, channels, subtype, format=fmt) as out:
                _without_peak_chunk(out)
                for block in blocks:
                    out.write(block)
                    guarded.raise_error()
            guarded.flush()
            guarded.raise_error()


@contextlib.contextmanager
def _through_temporary(final, source):
    """A temporary path beside ``final`` (its folder made), renamed to ``final`` when the block
    completes.  On any error the temporary file is removed; an OSError or a libsndfile error
    becomes a ``FastsliceError`` that names the source and the clip."""
    temporary = final.with_name(f".{final.name}.{os.getpid()}.part")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)  # a --name with subfolders
        yield temporary
        os.replace(temporary, final)
    except soundfile.LibsndfileError as exc:
        temporary.unlink(missing_ok=True)
        raise FastsliceError(f"{source}: cannot write clip {final} ({exc.error_string})") from None
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise FastsliceError(f"{source}: cannot write clip {final} ({exc.strerror or exc})") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class _GuardedFile:
    """The file libsndfile writes through: an OSError (a full disk) is kept for ``raise_error()``
    instead of escaping from libsndfile's C callbacks, where it could only be printed."""

    def __init__(self, raw):
        self.raw, self.error = raw, None
        self._end = 0  # the size of the file so far (the buffered writer flushes on every seek)

    def _guard(self, call, *args, fallback):
        if self.error is None:
            try:
                return call(*args)
            except OSError as exc:
                self.error = exc
        return fallback

    def write(self, data):
        written = self._guard(self.raw.write, data, fallback=0)
        self._end = max(self._end, self.raw.tell())
        return written

    def seek(self, offset, whence=0):
        # libsndfile seeks to where it already is about half the time; a buffered writer would
        # flush its buffer for each of those, so they are answered without moving.
        here = self.raw.tell()
        target = offset if whence == os.SEEK_SET else here + offset if whence == os.SEEK_CUR else self._end + offset
        if target == here:
            return here
        return self._guard(self.raw.seek, offset, whence, fallback=here)

    def tell(self):
        return self.raw.tell()

    def read(self, size=-1):
        return self._guard(self.raw.read, size, fallback=b"")

    def flush(self):
        return self._guard(self.raw.flush, fallback=None)

    def raise_error(self):
        """Raise the first OSError a call met, if any."""
        if self.error is not None:
            raise self.error


_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _without_peak_chunk(out):
    """Leave out libsndfile's PEAK chunk (float WAV/AIFF): it holds the time of writing, and
    would make two runs' clips differ by those bytes."""
    try:
        from soundfile import _ffi, _snd

        _snd.sf_command(out._file, _SFC_SET_ADD_PEAK_CHUNK, _ffi.NULL, 0)
    except (ImportError, AttributeError):  # soundfile's internals moved: keep the chunk
        pass


def _write_marker(path, identity, clips):
    """The marker: ``identity`` and a row per clip, written row by row (a stream may have
    made thousands of clips) to a temporary name, then renamed."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(json.dumps(identity)[:-1] + ', "clips": [')
            for k, clip in enumerate(clips):
                f.write(("\n" if k == 0 else ",\n") + json.dumps(clip.row()))
            f.write("\n]}\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _finished_clips(marker, identity, out_dir):
    """The clips recorded by a matching marker whose files are all present, else None."""
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or any(recorded.get(k) != v for k, v in identity.items()):
        return None
    clips = [Clip(r["source"], r["clip"], r["start_sample"], r["end_sample"],
                  r["sample_rate"], r["channels"]) for r in recorded.get("clips", [])]
    if not all(Path(c.clip).is_file() and out_dir in Path(c.clip).parents for c in clips):
        return None
    return clips


def _refuse_earlier_output(name, marker, out_dir, stem, names):
    """A stream cannot be recognised again: refuse to replace what an earlier run wrote under its stem."""
    if marker.exists() or any(not hidden for _, hidden in _named_files(out_dir, stem, names)):
        raise FastsliceError(f"{name}: {out_dir} already holds clips named {names.first_name(stem)}, ...; give another "
                             "stem (--stem) or --overwrite to replace them")


def _remove_earlier_output(marker, out_dir, stem, names):
    """Remove what an earlier run left for this stem: clips its marker lists, and temporary files."""
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        clips = [Path(r["clip"]) for r in recorded.get("clips", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        clips = []
    for clip in clips:
        path = clip if out_dir in clip.parents else out_dir / clip.name
        path.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    for leftover, hidden in _named_files(out_dir, stem, names):
        if hidden:
            leftover.unlink(missing_ok=True)


def _named_files(out_dir, stem, names):
    """``(path, is_temporary)`` of the files in ``out_dir`` that ``names`` could have given ``stem``'s
    clips: clips, and the temporary ``.<clip>.<pid>.part`` files of unfinished ones."""
    first = Path(names.first_name(stem))
    if first.parent == Path(names.name(stem, 1, 1, 1, 1000)).parent:
        folder = out_dir / first.parent  # the clips share a folder: look there only
        found = folder.iterdir() if folder.is_dir() else []
    else:
        found = out_dir.rglob("*") if out_dir.is_dir() else []
    pattern = names.pattern(stem)
    for path in found:
        hidden = path.name.startswith(".") and path.name.endswith(".part")
        clip_name = path.name[1:].rsplit(".", 2)[0] if hidden else path.name
        relative = (path.parent / clip_name).relative_to(out_dir).as_posix()
        if path.is_file() and pattern.fullmatch(relative.rsplit(".", 1)[0]):
            yield path, hidden
