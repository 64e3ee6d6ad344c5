"""The plan of one input: every decision taken from the options and the source's description
(rate, channels, format and subtype, frames if known, a file, a URL or a pipe) before any
sample is read.  ``make_plan`` makes it and is the one place that reads ``SliceOptions`` for an
input; ``fastslice.run.files`` carries it out, and the stages receive the plan (or their part of it:
``CutRule``, ``HighPassSpec``, ``GainRule``, ``ClipNames``), never the options.  Nothing here reads
or writes a file, so each decision can be tested alone (``tests/test_plan.py``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import FastsliceError, ParameterError
from ..writing.formats import INTEGER_SUBTYPES
from ..settings.options import SliceOptions
from ..cutting.cutters import CutRule, CutterKind
from ..cutting.slicer import Slicer, available_cpus
from ..output.clipnames import ClipNames
from ..rendering.render import GainRule, HighPassSpec

#: Inputs of at most this many seconds write their clips on the decoding thread unless threads= is given.
THREADED_FROM = 20
#: Clip formats that are encoded, not copied: their clips are written on every thread (``writing.Encoders``).
ENCODED = ("FLAC", "OGG", "MPEG")
#: The PCM WAV subtypes whose clips are copied byte for byte (``wavcopy.WavCopy``).
COPIED_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32")

#: what an input is: a local file, a URL, or a pipe (a file object, or a named pipe: read front to back once)
Kind = Literal["path", "remote", "pipe"]
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
class IOSizes:
    """How much is read and held at once: frames decoded per block (``block_frames``), and the bytes
    of a clip's samples held in memory before a temporary file takes them (``hold_bytes``; also the
    most a gain pass keeps of a clip)."""

    block_frames: int
    hold_bytes: int


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
    #: how the clips are cut: the slicer's parameters, the threshold rule, the detector, the cues' snap
    cut: CutRule
    #: the clips' rows give the threshold that cut them
    by_threshold: bool
    #: the high-pass filter applied as the input is decoded (None: none)
    highpass: HighPassSpec | None
    #: the gain pass over each clip (``render.Gain``; None: clips at their own gain)
    gain: GainRule | None
    #: the clips are mixed down to one channel (--mono)
    mono: bool
    #: the clips' file names (--name, --names); None with --no-clips (a clip is a range of the source, no file)
    names: ClipNames | None
    #: the FFmpeg audio stream the input is decoded from (--stream; None: the first), as the marker records it
    audio_stream: int | None
    #: slice again even if an earlier run finished (--overwrite)
    overwrite: bool
    io: IOSizes
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
    #: a pipe keeps its finished clips when interrupted, and places each as it is complete
    keeps_partial: bool
    labs: bool

    @property
    def is_path(self) -> bool:
        """A file (local or remote), not a pipe: all or nothing."""
        return self.kind != "pipe"


def make_plan(options: SliceOptions, source: Description, kind: Kind, has_cues: bool = False) -> Plan:
    """The plan for ``source`` (what its header says) sliced with ``options``; ``kind``: "path" (a
    local file), "remote" (a URL) or "pipe" (a file object or a named pipe); ``has_cues``: a cue file cuts
    it.  Raises ``FastsliceError`` naming the source where the options cannot apply to it."""
    name, rate = source.name, source.samplerate
    _check_source(options, source, kind)
    fmt, sub, ext = options.clip_format(source.format, source.subtype)
    cut = CutRule(options.params, options.threshold_rule, options.detector,
                  options.snap_ms)
    try:
        slicer = cut.slicer(rate)
    except ParameterError as exc:
        raise FastsliceError(f"{name}: {exc}") from None
    first, stop = segment(name, rate, source.frames, options.start_seconds, options.end_seconds)
    out_rate = options.sample_rate or rate
    out_channels = 1 if options.mono else source.channels
    convert = out_rate != rate or out_channels != source.channels
    highpass = None if options.highpass_hz is None else HighPassSpec(options.highpass_hz, options.highpass_order)
    gain = None if options.normalize_dbfs is None and options.peak_ceiling is None else GainRule(
        options.normalize_dbfs, options.normalize_mix, options.loudness_lufs, options.peak_ceiling)
    output: Literal["clips", "ranges", "dry"] = "dry" if options.dry_run else "ranges" if options.no_clips else "clips"
    writer, writer_threads = _writer(options, source, fmt, output)
    rereads = output == "clips" and kind == "path" and source.uncompressed and highpass is None
    wav_copy = (rereads and not convert and gain is None and source.format == fmt == "WAV"
                and source.subtype == sub and sub in COPIED_SUBTYPES)
    cutter: CutterKind = ("cues" if has_cues else "auto" if cut.threshold_rule is not None
                          else "speech" if cut.detector == "speech" else "threshold")
    return Plan(
        name=name, kind=kind, slicer=slicer, first=first, stop=stop, format=fmt, subtype=sub, ext=ext,
        source_rate=rate, out_rate=out_rate, out_channels=out_channels, convert=convert,
        # libsndfile would write integer samples unscaled into float clips (8227.0 for 0.251)
        as_floats=source.dtype.kind == "i" and sub not in INTEGER_SUBTYPES,
        cutter=cutter, cut=cut, by_threshold=not has_cues and cut.detector == "rms", highpass=highpass, gain=gain,
        mono=options.mono, names=None if options.no_clips else options.names, audio_stream=options.stream, overwrite=options.overwrite,
        io=IOSizes(options.block_frames, options.hold_bytes), output=output, writer=writer, writer_threads=writer_threads,
        decode_threads=decode_threads(options, fmt) if kind == "path" else 0,
        rereads=rereads, wav_copy=wav_copy, reads_alone=rereads and (gain is None or writer != "encoders"),
        keeps_partial=kind == "pipe", labs=options.project is not None and options.project.labs,
    )


def _check_source(options: SliceOptions, source: Description, kind: Kind) -> None:
    """Refuse a source with no frames, or --no-clips where offsets into it would not be exact."""
    if source.frames == 0:
        raise FastsliceError(f"{source.name}: holds no audio frames")
    is_path = kind != "pipe"
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
