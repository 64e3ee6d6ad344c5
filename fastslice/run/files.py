"""Slice one audio file or pipe into clip files, safely: the stages, in the order they run.

1. **plan** (``fastslice.run.plan.make_plan``): every decision, from the options and what the source's
   header says, before a sample is read: cutter, writer, threads, byte copy or not, formats;
2. **reading** (``fastslice.reading.readers``: ``open_source``, ``decode_ahead``; ``decoding.Decoding``): the
   input is decoded once, in blocks, mixed to mono for the analysis (``decoding.SampleCheck``);
3. **cutting** (``fastslice.cutting.cutters``): the threshold's state machine, a speech gate, cues, or the
   automatic threshold find each clip's range as the input is read;
4. **holding** (``fastslice.rendering.samples``): the samples since the open clip's start, held (or read again
   from an uncompressed file) until its end is known;
5. **rendering** (``fastslice.rendering.render``): gain, resampling, channels (the high-pass filter is applied
   as the input is decoded, before the cutting);
6. **writing** (``fastslice.writing.writers``, ``clipfile``, ``wavcopy``): each clip written on threads of
   its own while decoding goes on, or a PCM WAV's bytes copied by the kernel;
7. **output** (``fastslice.output.outputs``): clips named and committed with the marker that lets a re-run
   skip the input, locally or in a bucket.

A file is all or nothing: if it fails or is interrupted, none of its clips from that run is kept.
A pipe (a file object or a named pipe, which may never end) keeps every finished clip when it is interrupted.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import IO, Any, Callable, Union

import numpy as np

from .._version import __version__
from ..cutting import cutters as cutting
from ..output import outputs
from ..reading import readers
from ..rendering import render
from ..system import storage
from ..writing.clipfile import ClipSpec, clipping_warnings
from ..cutting.cutters import Cut, Cutter
from ..errors import FastsliceError, ParameterError
from ..system.fileops import is_fifo
from ..writing.formats import output_format  # noqa: F401  (output_format: part of this module's API)
from ..rendering.samples import Reread, SampleHold
from ..cutting.threshold import Choice
from ..output.markers import marker_path  # noqa: F401  (Clip, marker_path: part of this module's API)
from ..output.rows import Clip  # noqa: F401
from ..settings.options import SliceOptions
from .plan import Kind, Plan, make_plan
from ..reading.decoding import Decoding, SampleCheck
from ..writing.wavcopy import WavCopy
from ..writing.writers import ClipWriter, Encoders, Writer

# At most this often (seconds) a long input reports how far it has got.
PROGRESS_EVERY = 0.25

#: what ``slice_file`` reads: a path or URL, or a readable binary file object
SourceArg = Union[str, "os.PathLike[str]", IO[bytes]]
#: ``on_progress(seconds, total_seconds)``
OnProgress = Callable[[float, Union[float, None]], None]


@dataclasses.dataclass
class FileResult:
    """What ``slice_file`` did with one input: its clips, its length, and what it noticed."""

    source: str
    clips: list[Clip]
    audio_seconds: float
    skipped: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: frames the decoder produced for this run (the input's length: it is decoded once)
    decoded_frames: int = 0
    #: frames of clips longer than the memory bound, held in a temporary file meanwhile
    spilled_frames: int = 0
    #: a pipe ended by Ctrl-C: the clips finished until then are kept
    interrupted: bool = False
    #: with threshold="auto": the ``levels.Choice`` that cut it (threshold, floor, speech level)
    threshold_choice: Choice | None = None


def slice_file(source: SourceArg, out_dir: str | os.PathLike[str], options: SliceOptions | dict[str, Any] | None = None,
               *, stem: str | None = None, speaker: str | None = None, records: str | os.PathLike[str] | None = None,
               listed: dict[str, int] | None = None, on_progress: OnProgress | None = None, sweep: bool = True,
               **settings: Any) -> FileResult:
    """Slice an audio file or pipe into ``out_dir/<stem>_<i>.<ext>``; returns a ``FileResult``.

    ``source`` is a path or a readable binary file object (``sys.stdin.buffer``, a pipe);
    a file object needs ``stem``.  ``options`` is a ``fastslice.settings.options.SliceOptions``, or
    ``Slicer``'s keyword arguments as a dict (the sample rate is the input's) with the other
    settings as keywords, made into one (``SliceOptions.make``):

    * ``decoder`` (``"auto"``, ``"sndfile"``, ``"av"``) and ``stream`` (which audio stream,
      FFmpeg only) choose how it is decoded;
    * ``start_seconds`` / ``end_seconds`` slice only that part, as if it were the whole recording;
    * ``format`` / ``subtype``: the clips' container and sample format (``fastslice.writing.formats``);
    * ``sample_rate`` resamples the clips (soxr, high quality) and ``mono`` mixes them down; the
      slicing is decided on the original audio either way;
    * ``normalize_dbfs`` scales each clip so that its peak is at that level (dBFS, at most 0);
      with ``normalize_mix`` = alpha < 1 a clip is ``alpha * normalized + (1 - alpha) * clip``,
      the blended form RVC (0.75) and GPT-SoVITS (0.25) use.  Only what is written changes;
    * ``highpass_hz`` filters the audio (Butterworth of ``highpass_order``, ``fastslice.rendering.filters``)
      before it is sliced, as RVC does; the clips are the filtered audio;
    * ``name_template`` names the clips (``fastslice.output.clipnames``; default ``{stem}_{i}``), subfolders
      of ``out_dir`` included; no name is given twice, and no file is ever replaced;
    * ``threads``: ``1`` reads, analyses and writes in turn (for a process among several,
      ``-j``); ``None`` (the default) or more writes the clips on a thread of their own while
      the input goes on being read.  The clips are the same either way;
    * ``hold_bytes``: the samples of the clip still open are held in memory up to this, beyond
      it in a temporary file (uncompressed PCM files are read again instead: cheaper);
    * ``dry_run``: nothing is written; ``overwrite``: slice again even if an earlier run finished.

    Unless ``overwrite``, a file whose clips are all present from an earlier run with the same
    source and options is skipped (``fastslice.output.outputs``); a pipe whose stem has clips in
    ``out_dir`` is refused.  ``on_progress(seconds, total_seconds)`` is called now and then while
    a long input is read (``total_seconds`` None where the length is not known).  ``sweep``
    removes what an interrupted run of this input left in the work folder first (``slice_files``
    passes False: it clears whole work folders once per run).  ``speaker`` is the input's speaker
    (by default from the options); ``records`` is the folder of its marker and work folder (by
    default ``out_dir``; ``slice_files`` gives a layout's).  ``source`` and ``out_dir`` may be URLs
    (``fastslice.system.storage``; ``storage_options`` in the options): the input is read once, ahead in
    large requests, and each clip is uploaded whole under its name; ``listed`` is what the run's
    listing of the output found of this input (``{url: size}``), else each is asked for.  Raises
    ``FastsliceError`` naming the input.
    """
    opts: SliceOptions = SliceOptions.coerce(options, settings)
    where = InputPlace.of(source, stem, speaker, opts)
    output = outputs.output_for(out_dir, where.stem, records, opts.storage_options, listed)
    record: dict[str, Any] = {"fastslice": __version__, "request": opts.identity()}
    cue = None
    if opts.cues is not None:  # the cue file is part of what decides the clips
        cue = cutting.cue_file(source, opts.cues, isinstance(source, (str, os.PathLike)), where.kind == "remote")
        record["cue_file"] = cutting.cue_record(cue)
    record.update(where.identity(source, opts))
    if where.kind != "pipe" and not opts.dry_run and not opts.overwrite:
        done = output.finished(record)
        if done is not None:
            recorded, clips = done
            return FileResult(record["source"] if where.kind == "remote" else os.fspath(source), clips,  # type: ignore[arg-type]
                              recorded.get("seconds", 0.0), skipped=True)
    with contextlib.ExitStack() as stack:
        reader = _open(stack, source, opts, where.kind, record)
        plan = make_plan(opts, reader, where.kind, cue is not None)
        ahead = readers.decode_ahead(reader, plan.decode_threads) if where.kind == "path" else reader
        if ahead is not reader:  # it closes the reader with itself
            reader = stack.enter_context(ahead)
        try:
            return slice_open(OpenInput(source, reader, output, record, where.speaker, cue), plan, on_progress, sweep)
        finally:
            if sweep and plan.output != "dry":
                output.remove_work_folder_if_empty()


@dataclasses.dataclass(frozen=True)
class InputPlace:
    """Where an input is: ``kind`` ("path", "remote" or "pipe": a file object, or the path of a named
    pipe (FIFO), read front to back as standard input is), the stem of its clips, its speaker."""

    kind: Kind
    stem: str
    speaker: str

    @classmethod
    def of(cls, source: SourceArg, stem: str | None, speaker: str | None, options: SliceOptions) -> InputPlace:
        """The place of ``source``; ``stem`` and ``speaker`` as given, else from its path and the options."""
        is_path = isinstance(source, (str, os.PathLike))
        remote = is_path and storage.is_url(str(source))
        if not is_path and not stem:
            raise ParameterError("stem= is needed to name the clips of a file object (e.g. stem='talk')")
        stem = options.names.stem(stem or Path(storage.basename(str(source))).stem)  # NFC, mapped (--names)
        if speaker is None:
            folder = (storage.dirname(str(source)) if remote else os.path.dirname(os.path.abspath(source))  # type: ignore[arg-type]
                      if is_path else None)
            speaker = options.speaker_of(folder) if is_path else (options.speaker or "")
        fifo = is_path and not remote and is_fifo(os.fspath(source))  # type: ignore[arg-type]
        return cls("remote" if remote else "path" if is_path and not fifo else "pipe", stem, speaker)

    def identity(self, source: SourceArg, options: SliceOptions) -> dict[str, Any]:
        """What the marker records of the source itself (path or URL, size, time or version)."""
        if self.kind == "remote":
            size, version = storage.info(str(source), options.storage_options)
            return dict(source=storage.public(str(source)), size=size, version=version)
        if self.kind == "pipe":
            return {}
        path = os.fspath(source)  # type: ignore[arg-type]
        try:
            stat = os.stat(path)
        except OSError as exc:
            if os.path.islink(path):  # a recording that is missing (a drive not mounted, a file moved)
                raise FastsliceError(f"{path}: a broken link to {os.readlink(path)} ({exc.strerror or exc}); restore "
                                     "its target, or remove the link") from None
            raise FastsliceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        return dict(source=os.path.realpath(path), size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def _open(stack: contextlib.ExitStack, source: SourceArg, options: SliceOptions, kind: Kind,
          record: dict[str, Any]) -> readers.Source:
    """The input opened for reading (a URL: read once, in order, ahead in large requests)."""
    if kind == "remote":
        opened = stack.enter_context(storage.open_read(str(source), options.storage_options))
        remote: readers.Source = stack.enter_context(readers.open_source(
            opened, decoder=options.decoder, stream=options.stream, name=record["source"]))
        return remote
    if kind == "pipe" and isinstance(source, (str, os.PathLike)):  # a FIFO: opened (its writer awaited), then a pipe
        path = os.fspath(source)
        try:
            pipe = stack.enter_context(open(path, "rb"))
        except OSError as exc:
            raise FastsliceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        fifo: readers.Source = stack.enter_context(readers.open_source(pipe, decoder=options.decoder,
                                                                       stream=options.stream, name=path))
        return fifo
    local: readers.Source = stack.enter_context(readers.open_source(source, decoder=options.decoder,
                                                                    stream=options.stream))
    return local


@dataclasses.dataclass(frozen=True)
class OpenInput:
    """One input as ``slice_file`` opened it: the ``source`` as given, its ``reader``, the ``output``
    its clips go to, the marker ``record`` (filled in as the run goes), its ``speaker``, and ``cue``:
    ``(path, text)`` of the cue file that cuts it, or None."""

    source: SourceArg
    reader: readers.Source
    output: outputs.Output
    record: dict[str, Any]
    speaker: str = ""
    cue: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class Stages:
    """The stages set up for one input: its ``decoding`` (with the ``check`` of its samples), its
    ``cutter``, the ``namer`` of its clips and the ``report`` of its progress."""

    decoding: Decoding
    check: SampleCheck
    cutter: Cutter
    namer: ClipNamer
    report: Reporter


def slice_open(opened: OpenInput, plan: Plan, on_progress: OnProgress | None = None, sweep: bool = True) -> FileResult:
    """``slice_file`` of an opened input, as ``plan`` says."""
    reader, output, record, speaker = opened.reader, opened.output, opened.record, opened.speaker
    record.update(params=dict(plan.cut.params), format=plan.format, subtype=plan.subtype, decoder=reader.decoder,
                  stream=plan.audio_stream, segment=[plan.first, plan.stop], source_rate=plan.source_rate,
                  sample_rate=plan.out_rate, channels=plan.out_channels, speaker=speaker)
    highpass = None if plan.highpass is None else plan.highpass.filter(reader.samplerate, reader.channels, reader.name)
    check = SampleCheck(reader, dtype=None if highpass is None else np.float32)
    decoding = Decoding(reader, plan.io.block_frames, plan.first, plan.stop, check, transform=highpass)
    cutter = cutting.cutter_for(plan, reader.channels, opened.cue)
    namer = ClipNamer(plan, str(output.folder), output.stem, speaker, reader.frames or 0, cutter)
    stages = Stages(decoding, check, cutter, namer, Reporter(on_progress, reader, plan.first, plan.stop))
    if plan.output != "clips":
        return _ranges_only(plan, opened, stages)
    run = ClipRun(plan, opened, stages)
    return run.run(sweep)


def _ranges_only(plan: Plan, opened: OpenInput, stages: Stages) -> FileResult:
    """A dry run (nothing written), or --no-clips (the ranges are the output: the marker lists them)."""
    reader, output, record = opened.reader, opened.output, opened.record
    decoding, check, cutter, namer, report = stages.decoding, stages.check, stages.cutter, stages.namer, stages.report
    clips: list[Clip] = []
    for _, mixed in decoding:
        clips += [namer.clip(len(clips) + k, *r) for k, r in enumerate(cutter.feed_mono(mixed))]
        report(decoding.position)
    _check_some_audio(plan.name, decoding)
    found = cutter.finish()
    record.update(cutter.record())
    clips += [namer.clip(len(clips) + k, *r) for k, r in enumerate(found)]
    result = _result(plan.name, decoding, check, clips, None, False, cutter)
    if plan.output == "ranges":
        record.update(seconds=result.audio_seconds, source_frames=reader.frames)
        output.commit(plan.name, record, [(None, clip) for clip in clips])
    return result


class ClipNamer:
    """Each clip's row: its name (``plan.names``; no name given twice) and its facts."""

    def __init__(self, plan: Plan, folder: str, stem: str, speaker: str, source_frames: int, cutter: Cutter) -> None:
        self.plan, self.names = plan, plan.names
        self.folder, self.stem, self.speaker = folder, stem, speaker
        self.source_frames, self.cutter = source_frames, cutter
        self.seen: dict[str, int] = {}

    def clip(self, i: int, start: int, end: int, text: str = "") -> Clip:
        """Clip ``i``, samples ``[start, end)`` of the sliced part, with its ``text``."""
        plan, name = self.plan, self.plan.name
        threshold = self.cutter.threshold() if plan.by_threshold else None
        first, last = plan.first + start, plan.first + end
        path = ""
        if self.names is not None:  # else (--no-clips) a range of the source, no file
            clip_name = self.names.name(self.stem, i, first, last, plan.source_rate, self.speaker)
            if clip_name in self.seen:
                raise FastsliceError(f"{name}: --name {self.names.template!r} names clips {self.seen[clip_name]} and {i} "
                                     f"both {clip_name!r}; every clip needs a name of its own (e.g. put {{i}} in it "
                                     "plainly)")
            self.seen[clip_name] = i
            path = storage.join(self.folder, f"{clip_name}.{plan.ext}")
        return Clip(name, path, first, last, plan.out_rate, plan.out_channels, plan.source_rate, speaker=self.speaker,
                    text=text, source_frames=self.source_frames, threshold=threshold)


class ClipRun:
    """Writing one input's clips as its cuts are found: the samples held since each clip's start
    (or read again from the file), rendered (``render.Rendering``) and handed to the clip writer
    (``writing``), or copied byte for byte (``wavcopy``).  A file is all or nothing; a pipe keeps
    what it finished when interrupted."""

    def __init__(self, plan: Plan, opened: OpenInput, stages: Stages) -> None:
        self.plan, self.source, self.reader = plan, opened.source, opened.reader
        self.output, self.record, self.decoding, self.check = opened.output, opened.record, stages.decoding, stages.check
        self.cutter, self.namer, self.report = stages.cutter, stages.namer, stages.report
        self.rendering = render.Rendering(
            in_rate=plan.source_rate, out_rate=plan.out_rate, mono=plan.mono, convert=plan.convert,
            as_floats=plan.as_floats, gain=render.Gain.of(plan.gain, plan.out_rate, plan.out_channels),
            block_frames=plan.io.block_frames, keep_bytes=plan.io.hold_bytes)
        self.spec = ClipSpec(plan.out_rate, plan.out_channels, plan.format, plan.subtype, plan.name, [])
        self.queued: list[Clip] = []  # clips handed to the writer, in order; writer.done are those on disk
        self.copies: WavCopy | None = None

    def run(self, sweep: bool) -> FileResult:
        """Slice the input, write its clips, and commit them (or, for a pipe, place each)."""
        plan, output = self.plan, self.output
        output.begin(plan.name, pipe=not plan.is_path, overwrite=plan.overwrite, sweep=sweep)
        if plan.wav_copy:  # the header says whether its clips are its own bytes
            self.copies = WavCopy.plan(os.fspath(self.source), self.reader, plan.format, plan.subtype, plan.first)  # type: ignore[arg-type]
        hold = self._hold()
        writer = self._writer()
        try:
            interrupted = self._slice(hold, writer)
            done = writer.done
            notes = self.rendering.warnings(plan.name) + clipping_warnings(self.spec)
            result = _result(plan.name, self.decoding, self.check, [clip for _, clip in done], hold, interrupted,
                             self.cutter, notes)
            self.record.update(seconds=result.audio_seconds, source_frames=self.reader.frames or self.decoding.position,
                               labs=plan.labs)
            if plan.is_path:
                output.commit(plan.name, self.record, done, plan.labs)
            else:
                output.finish_pipe(self.record, result.clips)
        except BaseException:
            writer.stop()
            if plan.is_path:  # a file that fails (or is interrupted) leaves none of its clips
                output.abandon()
            else:  # a pipe keeps those it placed, and says so in its marker
                seconds = (self.decoding.position - self.decoding.first) / self.reader.samplerate
                self.record.update(seconds=seconds, labs=plan.labs)
                output.finish_pipe(self.record, [clip for _, clip in writer.done])
            raise
        return result

    def _slice(self, hold: SampleHold | Reread, writer: Writer) -> bool:
        """Decode, cut and hand over every clip; True if a pipe was interrupted (Ctrl-C)."""
        interrupted = False
        with hold:
            try:
                try:
                    for samples, mixed in self.decoding:
                        hold.append(samples)
                        for cut in self.cutter.feed_mono(mixed):
                            self._write(hold, writer, *cut)
                        hold.release_before(self.cutter.first_open_sample())
                        self.report(self.decoding.position)
                except KeyboardInterrupt:
                    if self.plan.is_path:
                        raise
                    interrupted = True  # a pipe ends with Ctrl-C: keep what is finished
                if not interrupted:
                    _check_some_audio(self.plan.name, self.decoding)
                found = self.cutter.finish(interrupted)
                self.record.update(self.cutter.record())
                for cut in found:
                    self._write(hold, writer, *cut)
                writer.finish()
            except BaseException:
                writer.stop()  # before the hold closes: the writer may be reading from it
                raise
        return interrupted

    def _write(self, hold: SampleHold | Reread, writer: Writer, start: int, end: int, text: str) -> None:
        """Hand clip ``[start, end)`` to the writer: copied byte for byte, or rendered from ``hold``."""
        clip = self.namer.clip(len(self.queued), start, end, text)
        work = self.output.work_path(len(self.queued), self.plan.ext)
        self.queued.append(clip)
        if self.copies is not None and self.copies.fits(end - start):
            writer.run(clip, work, self.copies.job(start, end, work, self.plan.name, clip.clip))
            return
        blocks = self.rendering.blocks(hold, start, end, clip.clip)
        # read again by the thread that writes it; with several (Encoders), only where nothing else is counted
        writer.write(clip, work, blocks, self.spec, reads_alone=self.plan.reads_alone)

    def _hold(self) -> SampleHold | Reread:
        """Where the clips' samples come from: the file read again (uncompressed PCM, unfiltered), or held."""
        plan, reader = self.plan, self.reader
        if plan.rereads:
            source = self.source
            return Reread(lambda: readers.open_source(source, decoder="sndfile"), plan.first)
        dtype = np.float32 if plan.highpass is not None else reader.dtype
        work = self.output.work
        if work is None:
            raise RuntimeError(f"{plan.name}: the output has no work folder; begin() makes it")
        return SampleHold(reader.channels, dtype, work, plan.io.hold_bytes, plan.io.block_frames)

    def _writer(self) -> Writer:
        """The clip writer the plan chose; a pipe's clips get their names as each is complete."""
        plan, output = self.plan, self.output
        placed = None if plan.is_path else lambda work, clip: output.place(plan.name, work, clip, plan.labs)
        if plan.writer == "encoders":
            return Encoders(plan.writer_threads, on_complete=placed)
        return ClipWriter(threaded=plan.writer == "thread", on_complete=placed)


class Reporter:
    """Calls ``on_progress(seconds, total)`` at most every ``PROGRESS_EVERY`` seconds."""

    def __init__(self, on_progress: OnProgress | None, reader: readers.Source, first: int, stop: int | None) -> None:
        self.on_progress = on_progress
        self.rate, self.first = reader.samplerate, first
        end = stop if stop is not None else reader.frames
        self.total = None if end is None else (end - first) / reader.samplerate
        self._next = time.monotonic() + PROGRESS_EVERY

    def __call__(self, position: int) -> None:
        if self.on_progress is not None and time.monotonic() >= self._next:
            self._next = time.monotonic() + PROGRESS_EVERY
            self.on_progress((position - self.first) / self.rate, self.total)


def _check_some_audio(name: str, decoding: Decoding) -> None:
    if decoding.position <= decoding.first:
        if decoding.first:
            raise FastsliceError(f"{name}: start={decoding.first / decoding.source.samplerate:g} s selects no audio "
                                 f"(it is {decoding.position / decoding.source.samplerate:.3f} s long)")
        raise FastsliceError(f"{name}: holds no audio frames")


def _result(name: str, decoding: Decoding, check: SampleCheck, clips: list[Clip], hold: SampleHold | Reread | None,
            interrupted: bool, cutter: Cutter, notes: list[str] | None = None) -> FileResult:
    rate = decoding.source.samplerate
    found = check.warnings() + cutter.notes(name, len(clips), interrupted)
    missing = 0 if interrupted else decoding.missing_frames
    if missing:
        found.insert(0, f"{name}: the header promises {decoding.position + missing} frames but the data ends after "
                        f"{decoding.position} ({missing / rate:.3f} s missing): sliced as far as the data goes")
    seconds = (decoding.position - decoding.first) / rate
    return FileResult(name, clips, seconds, warnings=found + (notes or []), decoded_frames=decoding.decoded,
                      spilled_frames=0 if hold is None else hold.spilled_frames, interrupted=interrupted,
                      threshold_choice=cutter.choice)
