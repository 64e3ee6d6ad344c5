"""Slice one audio file into clip files, safely.

``slice_file`` streams the file once to find the clip ranges (``stream.py``)
and writes each clip as soon as its end is known, copying its samples from a
second reader in the file's own sample format, so 16-bit in gives the same
16-bit out.  Every clip is written to a temporary name and renamed when
complete; a hidden marker ``.<stem>.fastslice.json``, written last, records
the finished file so that a re-run can skip it.
"""
import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import soundfile

from . import __version__
from .errors import FastsliceError, ParameterError
from .stream import BLOCK_FRAMES, SampleCheck, advance, open_audio, ranges_of_open_file, slicer_for

# How to read each subtype so that writing it back loses nothing.
_LOSSLESS_DTYPE = {
    "PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32",
    "FLOAT": "float32", "DOUBLE": "float64", "ULAW": "int16", "ALAW": "int16",
}
_WRITE_BUFFER_BYTES = 1 << 22
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


def output_format(info_format, info_subtype, format=None, subtype=None):
    """(format, subtype, extension) of the clips of a file with the given format and subtype.

    By default the input's own container and sample format where libsndfile
    can write them back losslessly; compressed inputs (MP3, Ogg, ADPCM, ...)
    become 32-bit float WAV, which holds their decoded samples exactly.
    """
    if format is None:
        lossless = info_subtype in _LOSSLESS_DTYPE and soundfile.check_format(info_format, info_subtype)
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


def slice_file(path, out_dir, params, *, stem=None, format=None, subtype=None, overwrite=False,
               dry_run=False, protected=(), block_frames=BLOCK_FRAMES, start_seconds=None, end_seconds=None,
               sample_rate=None, mono=False):
    """Slice the audio file ``path`` into ``out_dir/<stem>_<i>.<ext>``; returns a ``FileResult``.

    ``params`` are ``Slicer``'s keyword arguments (the sample rate is the
    file's).  ``start_seconds`` / ``end_seconds`` slice only that part of the
    file, as if it were the whole recording.  ``sample_rate`` resamples the
    clips (soxr, high quality) and ``mono`` mixes them down; the slicing is
    decided on the original audio either way.  With ``dry_run`` nothing is
    written.  Unless ``overwrite``, a file whose clips are all present from an
    earlier run with the same source and options is skipped.  ``protected``
    holds real paths that must never be written (the inputs).  Raises
    ``FastsliceError`` naming the file.
    """
    path = Path(path)
    out_dir = Path(out_dir)
    stem = stem or path.stem
    with open_audio(path) as reader:
        if reader.frames == 0:
            raise FastsliceError(f"{path}: holds no audio frames")
        fmt, sub, ext = output_format(reader.format, reader.subtype, format, subtype)
        slicer = slicer_for(reader.samplerate, params)
        first, stop = _segment(path, reader, start_seconds, end_seconds)
        out_rate = int(sample_rate or reader.samplerate)
        out_channels = 1 if mono else reader.channels
        stat = path.stat()
        identity = {
            "fastslice": __version__, "source": str(path.resolve()), "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "params": params, "format": fmt, "subtype": sub,
            "segment": [first, stop], "sample_rate": out_rate, "mono": bool(mono),
        }
        marker = marker_path(out_dir, stem)
        if not dry_run and not overwrite:
            done = _finished_clips(marker, identity, out_dir)
            if done is not None:
                return FileResult(str(path), done, reader.frames / reader.samplerate, skipped=True)

        def clip_at(i, start, end):
            return Clip(str(path), str(out_dir / f"{stem}_{i}.{ext}"), first + start, first + end,
                        out_rate, out_channels, reader.samplerate)

        seconds = (stop - first) / reader.samplerate
        check = SampleCheck(reader)
        ranges = ranges_of_open_file(reader, slicer, block_frames, first=first, count=stop - first, check=check)
        if dry_run:
            clips = [clip_at(i, start, end) for i, (start, end) in enumerate(ranges)]
            return FileResult(str(path), clips, seconds, warnings=_warnings(path, check, clips))

        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_earlier_output(marker, out_dir, stem)
        protected = {os.path.realpath(p) for p in protected} | {os.path.realpath(path)}
        clips = []
        try:
            with open_audio(path) as source:
                convert = out_rate != source.samplerate or out_channels != source.channels
                read_dtype = "float32" if convert else _LOSSLESS_DTYPE.get(source.subtype, "float32")
                for i, (start, end) in enumerate(ranges):
                    clip = clip_at(i, start, end)
                    if os.path.realpath(clip.clip) in protected:
                        raise FastsliceError(f"{path}: clip {clip.clip} would overwrite an input file; choose another -o folder")
                    blocks = _clip_blocks(source, clip.start_sample, clip.end_sample, read_dtype, block_frames)
                    if convert:
                        blocks = _converted(blocks, source.samplerate, out_rate, mono)
                    _write_clip(blocks, Path(clip.clip), out_rate, out_channels, fmt, sub, path)
                    clips.append(clip)
            _write_atomically(marker, json.dumps({**identity, "clips": [c.row() for c in clips]}, indent=1))
        except BaseException:  # a file that fails (or is interrupted) leaves none of its clips
            for clip in clips:
                Path(clip.clip).unlink(missing_ok=True)
            raise
        return FileResult(str(path), clips, seconds, warnings=_warnings(path, check, clips))


def _warnings(path, check, clips):
    notes = check.warnings()
    if not clips:
        notes.append(f"{path}: no clip: it is all silence below the threshold")
    return notes


def _segment(path, reader, start_seconds, end_seconds):
    """The frames [first, stop) that --start / --end select."""
    sr = reader.samplerate
    first = 0 if start_seconds is None else min(reader.frames, max(0, round(start_seconds * sr)))
    stop = reader.frames if end_seconds is None else min(reader.frames, max(0, round(end_seconds * sr)))
    if stop <= first:
        raise FastsliceError(
            f"{path}: start={start_seconds!r} s and end={end_seconds!r} s select no audio "
            f"(it is {reader.frames / sr:.3f} s long)"
        )
    return first, stop


def _clip_blocks(source, start, end, dtype, block_frames):
    """The source's frames [start, end) as (frames, channels) blocks."""
    advance(source, start, block_frames)
    remaining = end - start
    while remaining > 0:
        block = source.read(min(block_frames, remaining), dtype=dtype, always_2d=True)
        if block.shape[0] == 0:
            raise FastsliceError(f"{source.name}: the data ends before frame {end}")
        remaining -= block.shape[0]
        yield block


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


def _resampler(in_rate, out_rate, channels):
    try:
        import soxr
    except ImportError:
        raise FastsliceError("resampling (--sr) needs soxr: pip install 'fastslice[resample]'") from None
    return soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality="HQ")


def _write_clip(blocks, final, sample_rate, channels, fmt, subtype, source):
    """Write the blocks to ``final`` through a temporary name, renamed when complete."""
    temporary = final.with_name(f".{final.name}.{os.getpid()}.part")
    try:
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

    def _guard(self, call, *args, fallback):
        if self.error is None:
            try:
                return call(*args)
            except OSError as exc:
                self.error = exc
        return fallback

    def write(self, data):
        return self._guard(self.raw.write, data, fallback=0)

    def seek(self, offset, whence=0):
        return self._guard(self.raw.seek, offset, whence, fallback=self.raw.tell())

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


def _write_atomically(path, text):
    temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        temporary.write_text(text, encoding="utf-8")
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
    if not all(Path(c.clip).is_file() and Path(c.clip).parent == out_dir for c in clips):
        return None
    return clips


def _remove_earlier_output(marker, out_dir, stem):
    """Remove what an earlier run left for this stem: clips its marker lists, and temporary files."""
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        names = [Path(r["clip"]).name for r in recorded.get("clips", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        names = []
    for name in names:
        (out_dir / name).unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    for leftover in out_dir.glob(f".{stem}_*.part"):
        leftover.unlink(missing_ok=True)
