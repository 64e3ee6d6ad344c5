"""The plan of one input: every decision taken from the options and the source's description
(rate, channels, format and subtype, frames if known, path or stream, remote or not) before any
sample is read.  ``make_plan`` makes it; ``fastslice.run.files`` carries it out.  Nothing here reads
or writes a file, so each decision can be tested alone (``tests/test_plan.py``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import FastsliceError, ParameterError
from ..writing.formats import INTEGER_SUBTYPES
from ..settings.options import SliceOptions
from ..cutting.slicer import Slicer, available_cpus

#: Inputs of at most this many seconds write their clips on the decoding thread unless threads= is given.
THREADED_FROM = 20
#: Clip formats that are encoded, not copied: their clips are written on every thread (``writing.Encoders``).
ENCODED = ("FLAC", "OGG", "MPEG")
#: The PCM WAV subtypes whose clips are copied byte for byte (``wavcopy.WavCopy``).
COPIED_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32")

Kind = Literal["path", "remote", "stream"]
CutterKind = Literal["threshold", "speech", "cues", "auto"]
WriterKind = Literal["none", "inline", "thread", "encoders"]


class Description(Protocol):
    """What the plan needs of a source: what its header says (``readers.Source`` has it all)."""

    name: str
    samplerate: int
    channels: int
    frames: int | None
    format: str
    subtype: str
    dtype: np.dtype[Any]
    exact_seek: bool
    uncompressed: bool
    decoder: str


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """A source's description made by hand (for tests, and to plan without opening anything)."""

    name: str
    samplerate: int
    channels: int
    frames: int | None
    format: str
    subtype: str
    dtype: np.dtype[Any] = np.dtype(np.int16)
    exact_seek: bool = True
    uncompressed: bool = True
    decoder: str = "sndfile"


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one input is sliced (see ``make_plan`` for each decision)."""

    name: str
    kind: Kind
    slicer: Slicer
    #: frames [first, stop) of the source that are sliced (stop None: to the end)
    first: int
    stop: int | None
    #: the clips' container, sample format and file extension
    format: str
    subtype: str
    ext: str
    source_rate: int
    out_rate: int
    out_channels: int
    #: the clips are resampled and/or mixed to mono on the way out
    convert: bool
    #: integer samples are given to the clip writer as float32 (float clips)
    as_floats: bool
    cutter: CutterKind
    #: the clips' rows give the threshold that cut them
    by_threshold: bool
    highpass: bool
    #: a gain pass over each clip (``render.Level``)
    level: bool
    #: "clips" (files written), "ranges" (--no-clips: offsets in the marker), "dry" (nothing written)
    output: Literal["clips", "ranges", "dry"]
    writer: WriterKind
    writer_threads: int
    #: threads that decode a file ahead of the slicing (``readers.decode_ahead``)
    decode_threads: int
    #: the clips are read again from the file (PCM, unfiltered), not held from the decoding
    rereads: bool
    #: a PCM WAV's clips are copied byte for byte (if its header allows: ``wavcopy.WavCopy.plan``)
    wav_copy: bool
    #: the writer reads each clip again itself (on its own thread)
    reads_alone: bool
    #: a stream keeps its finished clips when interrupted, and places each as it is complete
    keeps_partial: bool
    labs: bool

    @property
    def is_path(self) -> bool:
        """A file (local or remote), not a stream: all or nothing."""
        return self.kind != "stream"


def make_plan(options: SliceOptions, source: Description, kind: Kind, has_cues: bool = False) -> Plan:
    """The plan for ``source`` (what its header says) sliced with ``options``; ``kind``: "path" (a
    local file), "remote" (a URL) or "stream" (a pipe or file object); ``has_cues``: a cue file cuts
    it.  Raises ``FastsliceError`` naming the source where the options cannot apply to it."""
    name, rate = source.name, source.samplerate
    _check_source(options, source, kind)
    fmt, sub, ext = options.clip_format(source.format, source.subtype)
    try:
        slicer = options.slicer(rate)
    except ParameterError as exc:
        raise FastsliceError(f"{name}: {exc}") from None
    first, stop = segment(name, rate, source.frames, options.start_seconds, options.end_seconds)
    out_rate = options.sample_rate or rate
    out_channels = 1 if options.mono else source.channels
    convert = out_rate != rate or out_channels != source.channels
    highpass = options.highpass_hz is not None
    level = options.normalize_dbfs is not None or options.peak_ceiling is not None
    output: Literal["clips", "ranges", "dry"] = "dry" if options.dry_run else "ranges" if options.no_clips else "clips"
    writer, writer_threads = _writer(options, source, fmt, output)
    rereads = output == "clips" and kind == "path" and source.uncompressed and not highpass
    wav_copy = (rereads and not convert and not level and source.format == fmt == "WAV"
                and source.subtype == sub and sub in COPIED_SUBTYPES)
    cutter: CutterKind = ("cues" if has_cues else "auto" if options.threshold_rule is not None
                          else "speech" if options.detector == "speech" else "threshold")
    return Plan(
        name=name, kind=kind, slicer=slicer, first=first, stop=stop, format=fmt, subtype=sub, ext=ext,
        source_rate=rate, out_rate=out_rate, out_channels=out_channels, convert=convert,
        # libsndfile would write integer samples unscaled into float clips (8227.0 for 0.251)
        as_floats=source.dtype.kind == "i" and sub not in INTEGER_SUBTYPES,
        cutter=cutter, by_threshold=not has_cues and options.detector == "rms", highpass=highpass, level=level,
        output=output, writer=writer, writer_threads=writer_threads,
        decode_threads=decode_threads(options, fmt) if kind == "path" else 0,
        rereads=rereads, wav_copy=wav_copy, reads_alone=rereads and (not level or writer != "encoders"),
        keeps_partial=kind == "stream", labs=options.project is not None and options.project.labs,
    )


def _check_source(options: SliceOptions, source: Description, kind: Kind) -> None:
    """Refuse a source with no frames, or --no-clips where offsets into it would not be exact."""
    if source.frames == 0:
        raise FastsliceError(f"{source.name}: holds no audio frames")
    is_path = kind != "stream"
    if options.no_clips and not (is_path and source.exact_seek):
        how = "a stream cannot be pointed into" if not is_path else \
            f"its decoder ({source.decoder}: {source.subtype}) does not give sample-exact offsets"
        raise FastsliceError(f"{source.name}: --no-clips keeps clips as offsets into their source, and {how}; slice "
                             "it with clip files (PCM and FLAC files can be kept as offsets)")


def _writer(options: SliceOptions, source: Description, fmt: str, output: str) -> tuple[WriterKind, int]:
    """Which clip writer, on how many threads.  By default a short file's clips are written as they
    come: a thread of their own would cost more than it saves.  Encoded clips (never copies: those
    are WAV) are written on every thread."""
    if output != "clips":
        return "none", 0
    short = options.threads is None and source.frames is not None and source.frames <= THREADED_FROM * source.samplerate
    threads = options.threads or available_cpus()
    if threads > 1 and not short and fmt in ENCODED:
        return "encoders", threads
    return ("thread", 1) if threads > 1 and not short else ("inline", 0)


def decode_threads(options: SliceOptions, fmt: str) -> int:
    """The threads that decode a file (``readers.decode_ahead``): those the options give (``-j`` and
    Dask: one), less one where the clips are encoded (FLAC, Ogg, MP3 clips: as much work as the
    decoding, or more, on every thread: ``writing.Encoders``; with all of them decoding too, the
    threads only take turns: the FLAC hour took 5.9-7.0 s against 4.6-4.8 s)."""
    threads = options.threads or available_cpus()
    if threads == 1:
        return 0  # reads, analyses and writes in turn
    if options.dry_run or options.no_clips:
        return threads
    return threads - 1 if fmt in ENCODED else threads


def segment(name: str, rate: int, frames: int | None, start_seconds: float | None,
            end_seconds: float | None) -> tuple[int, int | None]:
    """The frames [first, stop) that --start / --end select (stop None: to the end)."""
    first = 0 if start_seconds is None else max(0, round(start_seconds * rate))
    stop = None if end_seconds is None else max(0, round(end_seconds * rate))
    if frames is not None:
        first = min(first, frames)
        stop = None if stop is None else min(stop, frames)
    end = stop if stop is not None else frames
    if end is not None and end <= first:
        length = "" if frames is None else f" (it is {frames / rate:.3f} s long)"
        raise FastsliceError(f"{name}: start={start_seconds!r} s and end={end_seconds!r} s select no audio{length}")
    return first, stop
