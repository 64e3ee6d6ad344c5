"""Slice one audio file or stream into clip files, safely.

``slice_file`` decodes its input once (``fastslice.readers``), finds the clip
ranges as it goes (``stream.py``) and writes each clip as soon as its end is
known, from the decoded samples held since its start (``hold.py``), in the
input's own sample format where that is exact, so 16-bit in gives the same
16-bit out.  A 16/24/32-bit WAV's clips are not decoded at all: the kernel copies
their bytes from the input behind the header libsndfile writes (``_WavCopy``).
Clips are written on a thread of their own while decoding goes on (``_ClipWriter``),
into the input's work folder; ``fastslice.outputs`` gives them their names and writes
the marker that lets a re-run skip the input.

A file is all or nothing: if it fails or is interrupted, none of its clips from that
run is kept.  A stream (a pipe, which may never end) keeps every finished clip when it
is interrupted.

With ``threshold="auto"`` the cuts wait for the end of the input (``_AutoCuts``): its RMS
frames are kept and counted, the threshold is chosen from them (``fastslice.levels``), and the
clips are written from the samples held meanwhile (read again from a PCM file, else held, in a
temporary file beyond the memory bound).  A clip's level is changed, where the options say so,
by a gain found in a first pass over it (``_Level``: peak, loudness, ceiling); samples still past
full scale when written into an integer format are counted and reported, clip by clip.
"""
import collections
import contextlib
import dataclasses
import errno
import functools
import hashlib
import io
import itertools
import os
import queue
import struct
import sys
import threading
import time
from pathlib import Path

import numpy as np
import soundfile

from . import (
    __version__,
    _kernels,
    cues,
    levels,
    loudness,
    outputs,
    readers,
    speech,
    storage,
)
from . import seams
from .errors import FastsliceError, ParameterError
from .filters import HighPass, butter_highpass
from .formats import INTEGER_SUBTYPES, output_format  # noqa: F401  (output_format: part of this module's API)
from .hold import Reread, SampleHold
from .manifest import Clip, marker_path  # noqa: F401  (Clip, marker_path: part of this module's API)
from .options import SliceOptions
from .slicer import available_cpus
from .stream import Decoding, RangeStream, SampleCheck

_WRITE_BUFFER_BYTES = 1 << 22
# At most this often (seconds) a long input reports how far it has got.
_PROGRESS_EVERY = 0.25
# Inputs of at most this many seconds write their clips on the decoding thread unless threads= is given.
_THREADED_FROM = 20
# Clip formats that are encoded, not copied: their clips are written on every thread (``_Encoders``).
_ENCODED = ("FLAC", "OGG", "MPEG")


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
    #: with threshold="auto": the ``levels.Choice`` that cut it (threshold, floor, speech level)
    threshold_choice: object = None


def slice_file(source, out_dir, options=None, *, stem=None, speaker=None, records=None, listed=None, on_progress=None,
               sweep=True, **settings):
    """Slice an audio file or stream into ``out_dir/<stem>_<i>.<ext>``; returns a ``FileResult``.

    ``source`` is a path or a readable binary file object (``sys.stdin.buffer``, a pipe);
    a file object needs ``stem``.  ``options`` is a ``fastslice.options.SliceOptions``, or
    ``Slicer``'s keyword arguments as a dict (the sample rate is the input's) with the other
    settings as keywords, made into one (``SliceOptions.make``):

    * ``decoder`` (``"auto"``, ``"sndfile"``, ``"av"``) and ``stream`` (which audio stream,
      FFmpeg only) choose how it is decoded;
    * ``start_seconds`` / ``end_seconds`` slice only that part, as if it were the whole recording;
    * ``format`` / ``subtype``: the clips' container and sample format (``fastslice.formats``);
    * ``sample_rate`` resamples the clips (soxr, high quality) and ``mono`` mixes them down; the
      slicing is decided on the original audio either way;
    * ``normalize_dbfs`` scales each clip so that its peak is at that level (dBFS, at most 0);
      with ``normalize_mix`` = alpha < 1 a clip is ``alpha * normalized + (1 - alpha) * clip``,
      the blended form RVC (0.75) and GPT-SoVITS (0.25) use.  Only what is written changes;
    * ``highpass_hz`` filters the audio (Butterworth of ``highpass_order``, ``fastslice.filters``)
      before it is sliced, as RVC does; the clips are the filtered audio;
    * ``name_template`` names the clips (``fastslice.naming``; default ``{stem}_{i}``), subfolders
      of ``out_dir`` included; no name is given twice, and no file is ever replaced;
    * ``threads``: ``1`` reads, analyses and writes in turn (for a process among several,
      ``-j``); ``None`` (the default) or more writes the clips on a thread of their own while
      the input goes on being read.  The clips are the same either way;
    * ``hold_bytes``: the samples of the clip still open are held in memory up to this, beyond
      it in a temporary file (uncompressed PCM files are read again instead: cheaper);
    * ``dry_run``: nothing is written; ``overwrite``: slice again even if an earlier run finished.

    Unless ``overwrite``, a file whose clips are all present from an earlier run with the same
    source and options is skipped (``fastslice.outputs``); a stream whose stem has clips in
    ``out_dir`` is refused.  ``on_progress(seconds, total_seconds)`` is called now and then while
    a long input is read (``total_seconds`` None where the length is not known).  ``sweep``
    removes what an interrupted run of this input left in the work folder first (``slice_files``
    passes False: it clears whole work folders once per run).  ``speaker`` is the input's speaker
    (by default from the options); ``records`` is the folder of its marker and work folder (by
    default ``out_dir``; ``slice_files`` gives a layout's).  ``source`` and ``out_dir`` may be URLs
    (``fastslice.storage``; ``storage_options`` in the options): the input is read once, ahead in
    large requests, and each clip is uploaded whole under its name; ``listed`` is what the run's
    listing of the output found of this input (``{url: size}``), else each is asked for.  Raises
    ``FastsliceError`` naming the input.
    """
    options = SliceOptions.coerce(options, settings)
    is_path = isinstance(source, (str, os.PathLike))
    remote = is_path and storage.is_url(str(source))
    if not is_path and not stem:
        raise ParameterError("stem= is needed to name the clips of a file object (e.g. stem='talk')")
    stem = stem or Path(storage.basename(str(source))).stem
    so = options.storage_options
    if speaker is None:
        folder = storage.dirname(str(source)) if remote else os.path.dirname(os.path.abspath(source)) if is_path else None
        speaker = options.speaker_of(folder) if is_path else (options.speaker or "")
    output = outputs.output_for(out_dir, stem, records, so, listed)
    record = {"fastslice": __version__, "request": options.identity()}
    cue_file = None
    if options.cues is not None:  # the cue file is part of what decides the clips
        cue_file, cue_text = _cue_file(source, options, is_path, remote)
        record["cue_file"] = {"path": cue_file, "sha1": hashlib.sha1(cue_text.encode("utf-8")).hexdigest()}
    if remote:
        size, version = storage.info(str(source), so)
        record.update(source=storage.public(str(source)), size=size, version=version)
    elif is_path:
        path = os.fspath(source)
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise FastsliceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        record.update(source=os.path.realpath(path), size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    if is_path and not options.dry_run and not options.overwrite:
        done = output.finished(record)
        if done is not None:
            recorded, clips = done
            return FileResult(record["source"] if remote else os.fspath(source), clips, recorded.get("seconds", 0.0),
                              skipped=True)
    kind = "remote" if remote else "path" if is_path else "stream"
    with contextlib.ExitStack() as stack:
        if remote:  # read once, in order, ahead in large requests
            opened = stack.enter_context(storage.open_read(str(source), so))
            reader = stack.enter_context(readers.open_source(opened, decoder=options.decoder, stream=options.stream,
                                                             name=record["source"]))
        else:
            reader = stack.enter_context(readers.open_source(source, decoder=options.decoder, stream=options.stream))
            ahead = readers.decode_ahead(reader, _decode_threads(options, reader)) if is_path else reader
            if ahead is not reader:  # it closes the reader with itself
                reader = stack.enter_context(ahead)
        try:
            cuts = None if cue_file is None else (cue_file, cue_text)
            return _slice_open(source, reader, output, options, record, on_progress, sweep, speaker, kind, cuts)
        finally:
            if sweep and not options.dry_run:
                output.remove_work_folder_if_empty()


def _decode_threads(options, reader):
    """The threads that decode a file (``readers.decode_ahead``): those the options give (``-j`` and
    Dask: one), less one where the clips are encoded (FLAC, Ogg, MP3 clips: as much work as the
    decoding, or more, on every thread: ``_Encoders``; with all of them decoding too, the threads
    only take turns: the FLAC hour took 5.9-7.0 s against 4.6-4.8 s)."""
    threads = options.threads or available_cpus()
    if threads == 1:
        return 0  # reads, analyses and writes in turn
    if options.dry_run or options.no_clips:
        return threads
    fmt, _, _ = options.clip_format(reader.format, reader.subtype)
    return threads - 1 if fmt in _ENCODED else threads


def _cue_file(source, options, is_path, remote):
    """(path, text) of the cue file an input is cut by."""
    if options.cues != "auto":
        path = options.cues
    elif not is_path:
        raise FastsliceError(f"{getattr(source, 'name', '<stream>')}: --cues auto looks beside a file; give the stream "
                             "its cue file (--cues FILE)")
    elif remote:
        raise FastsliceError(f"{storage.public(str(source))}: --cues auto looks beside local files; give --cues FILE")
    else:
        path = cues.for_input(source)
    try:
        with open(path, encoding="utf-8-sig") as f:
            return os.path.abspath(path), f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise FastsliceError(f"{path}: cannot read it as a cue file ({exc})") from None


class _Cuts:
    """Where an input's clips are, found as it is read: ``(start, end, text)`` ranges, from the
    slicer (``RangeStream``; no text) or from cues (``cues.CueCutter`` over the RMS frames)."""

    def __init__(self, slicer, channels, gate=None, cutter=None):
        self.cutter = cutter
        self.ranges = RangeStream(slicer, None, channels, np.float32, gate=gate, frames_only=cutter is not None)
        if cutter is not None:
            self.ranges.rms_sink = cutter.feed

    def feed_mono(self, mono):
        found = self.ranges.feed_mono(mono)
        return self.cutter.ready() if self.cutter is not None else [(s, e, "") for s, e in found]

    def finish(self):
        found = self.ranges.finish()
        if self.cutter is not None:
            return self.cutter.finish(self.ranges.n_samples)
        return [(s, e, "") for s, e in found]

    def first_open_sample(self):
        return self.cutter.first_open_sample() if self.cutter is not None else self.ranges.first_open_sample()


class _AutoCuts:
    """The cuts of ``threshold="auto"``: none until the input has been read.  Its RMS frames are
    computed as it is (the slicer's threshold plays no part in them) and kept (``levels.Levels``: 4
    bytes a hop, an hour at 10 ms is 1.4 MB); ``finish`` chooses the threshold
    and runs the slicer's state machine over the frames.  Every sample is needed until then."""

    cutter = None

    def __init__(self, options, slicer, channels, rate):
        self.options, self.rate, self.rule = options, rate, options.threshold_rule
        self.ranges = RangeStream(slicer, None, channels, np.float32, frames_only=True)
        self.levels = levels.Levels()
        self.ranges.rms_sink = lambda first, rms: self.levels.add(rms)
        self.choice = None

    def feed_mono(self, mono):
        self.ranges.feed_mono(mono)
        return []

    def first_open_sample(self):
        return 0

    def finish(self, interrupted=False):
        """The ranges, at the threshold chosen from every frame.  ``interrupted``: the input ended
        early (Ctrl-C on a stream): the ranges of the frames computed so far, less the last, whose end
        is only where the input stopped."""
        if not interrupted:
            self.ranges.finish()
        rms = self.levels.frames()
        self.choice = self.levels.analysis(self.rule)
        slicer = self.options.slicer(self.rate, threshold=self.choice.threshold)
        n_samples = self.ranges.fed
        if interrupted:  # the samples whose frames are all computed
            if rms.shape[0] == 0:
                return []
            n_samples = min(n_samples, (rms.shape[0] - 1) * slicer.hop_samples + slicer.win_samples
                            - 2 * (slicer.win_samples // 2))
            rms = rms[: slicer.n_frames(n_samples)]
        elif slicer._is_whole(n_samples):
            rms = np.empty(0, np.float32)
        found = [(int(s), int(e), "") for s, e in slicer.ranges_from_rms(rms, n_samples)]
        return found[:-1] if interrupted else found

    def params(self):
        """The slicer's parameters that cut the clips: the threshold chosen, in dB."""
        return dict(self.options.params_at(self.choice.threshold))


def _slice_open(source, reader, output, options, record, on_progress, sweep=True, speaker="", kind="path", cue=None):
    """``slice_file`` of an open reader; ``kind`` is "path" (a local file), "remote" (a URL: a file,
    read through a file object) or "stream" (a pipe or file object: clips kept when interrupted);
    ``cue`` is ``(path, text)`` of the cue file that cuts it, if any."""
    name = reader.name
    is_path = kind != "stream"
    if reader.frames == 0:
        raise FastsliceError(f"{name}: holds no audio frames")
    if options.no_clips and not (is_path and reader.exact_seek):
        how = "a stream cannot be pointed into" if not is_path else \
            f"its decoder ({reader.decoder}: {reader.subtype}) does not give sample-exact offsets"
        raise FastsliceError(f"{name}: --no-clips keeps clips as offsets into their source, and {how}; slice it "
                             "with clip files (PCM and FLAC files can be kept as offsets)")
    fmt, sub, ext = options.clip_format(reader.format, reader.subtype)
    try:
        slicer = options.slicer(reader.samplerate)
    except ParameterError as exc:
        raise FastsliceError(f"{name}: {exc}") from None
    first, stop = _segment(name, reader, options.start_seconds, options.end_seconds)
    out_rate = options.sample_rate or reader.samplerate
    out_channels = 1 if options.mono else reader.channels
    record.update(params=options.slicer_params, format=fmt, subtype=sub, decoder=reader.decoder, stream=options.stream,
                  segment=[first, stop], source_rate=reader.samplerate, sample_rate=out_rate, channels=out_channels,
                  speaker=speaker)
    labs = options.project is not None and options.project.labs
    level = _Level.of(options, out_rate, out_channels)
    highpass = None
    if options.highpass_hz is not None:
        try:
            highpass = HighPass(butter_highpass(options.highpass_order, options.highpass_hz, reader.samplerate),
                                reader.channels)
        except ParameterError as exc:
            raise FastsliceError(f"{name}: {exc}") from None
    names, seen = options.names, {}
    folder = str(output.folder)
    # the threshold that cuts the clips, for their rows (None where cues or speech cut them)
    by_threshold = cue is None and options.detector == "rms"

    def clip_at(i, start, end, text=""):
        threshold = None
        if by_threshold:
            threshold = float(ranges.choice.threshold if isinstance(ranges, _AutoCuts) else slicer.threshold)
        if options.no_clips:  # a range of the source, no file
            return Clip(name, "", first + start, first + end, out_rate, out_channels, reader.samplerate,
                        speaker=speaker, text=text, source_frames=reader.frames or 0, threshold=threshold)
        clip_name = names.name(output.stem, i, first + start, first + end, reader.samplerate, speaker)
        if clip_name in seen:
            raise FastsliceError(f"{name}: --name {names.template!r} names clips {seen[clip_name]} and {i} both "
                                 f"{clip_name!r}; every clip needs a name of its own (e.g. put {{i}} in it plainly)")
        seen[clip_name] = i
        return Clip(name, storage.join(folder, f"{clip_name}.{ext}"), first + start, first + end,
                    out_rate, out_channels, reader.samplerate, speaker=speaker, text=text,
                    source_frames=reader.frames or 0, threshold=threshold)

    check = SampleCheck(reader, dtype=None if highpass is None else np.float32)
    decoding = Decoding(reader, options.block_frames, first, stop, check, transform=highpass)
    cutter = None
    if cue is not None:
        cue_kind, cue_list = cues.read(cue[0], cue[1])
        snap_ms = options.snap_ms if options.snap_ms is not None else cues.SUBTITLE_SNAP_MS if cue_kind in ("srt", "vtt") else 0
        rate = reader.samplerate
        params = options.slicer_params
        merge_short = params.get("merge_short", False)
        cutter = cues.CueCutter(cues.in_samples(cue_list, rate, first, stop), slicer.hop_samples,
                                round(snap_ms * rate / 1000), merge_within=round(slicer.min_interval * rate / 1000),
                                min_length=round(slicer.min_length * rate / 1000) if merge_short else None,
                                max_length=slicer.max_length_samples)
    gate = speech.SpeechGate(reader.samplerate, slicer.hop_samples) if options.detector == "speech" else None
    if options.threshold_rule is not None:
        ranges = _AutoCuts(options, slicer, reader.channels, reader.samplerate)
    else:
        ranges = _Cuts(slicer, reader.channels, gate, cutter)
    report = _Reporter(on_progress, reader, first, stop)

    def finish_cuts(interrupted=False):
        """The ranges still to come; with ``auto``, all of them, and the threshold recorded."""
        if not isinstance(ranges, _AutoCuts):
            return [] if interrupted else ranges.finish()
        found = ranges.finish(interrupted)
        record.update(params=ranges.params(), threshold=ranges.choice.record())
        return found

    if options.dry_run or options.no_clips:
        clips = []
        for _, mixed in decoding:
            clips += [clip_at(len(clips) + k, *r) for k, r in enumerate(ranges.feed_mono(mixed))]
            report(decoding.position)
        _check_some_audio(name, decoding)
        clips += [clip_at(len(clips) + k, *r) for k, r in enumerate(finish_cuts())]
        result = _result(name, decoding, check, clips, None, cuts=ranges)
        if options.no_clips and not options.dry_run:  # the ranges are the output: the marker lists them
            record.update(seconds=result.audio_seconds, source_frames=reader.frames)
            output.commit(name, record, [(None, clip) for clip in clips])
        return result

    output.begin(name, stream=not is_path, overwrite=options.overwrite, sweep=sweep)
    convert = out_rate != reader.samplerate or out_channels != reader.channels
    # Integer samples go to libsndfile as they are only for integer clips; it would write them
    # unscaled into float ones (--subtype FLOAT from 16-bit input gave 8227.0 for 0.251).
    as_floats = reader.dtype.kind == "i" and sub not in INTEGER_SUBTYPES
    # the writer reads each clip from the file itself (unless the clips are filtered audio)
    rereads = kind == "path" and reader.uncompressed and highpass is None
    copies = _WavCopy.plan(source, reader, fmt, sub, first) if rereads and not convert and level is None else None
    if rereads:
        hold = Reread(lambda: readers.open_source(source, decoder="sndfile"), first)
    else:
        hold = SampleHold(reader.channels, np.float32 if highpass else reader.dtype, output.work, options.hold_bytes,
                          options.block_frames)
    interrupted = False
    queued = []  # clips handed to the writer, in order; writer.done are those complete on disk
    spec = _ClipSpec(out_rate, out_channels, fmt, sub, name, [])

    def write(start, end, text):
        clip = clip_at(len(queued), start, end, text)
        work = output.work_path(len(queued), ext)
        queued.append(clip)
        if copies is not None and copies.fits(end - start):
            writer.run(clip, work, copies.job(start, end, work, name, clip.clip))
            return

        def clip_blocks():
            blocks = hold.blocks(start, end, options.block_frames)
            if convert:
                blocks = _converted((readers.as_float32(b) for b in blocks), reader.samplerate, out_rate, options.mono)
            elif as_floats:
                blocks = (readers.as_float32(b) for b in blocks)
            return blocks

        blocks = clip_blocks() if level is None else level.blocks(clip_blocks, options.hold_bytes, clip.clip)
        # read again by the thread that writes it; with several (_Encoders), only where nothing else is counted
        writer.write(clip, work, blocks, spec, reads_alone=rereads and (level is None or isinstance(writer, _ClipWriter)))

    def placed(work, clip):  # a stream's clip gets its name as soon as it is complete
        output.place(name, work, clip, labs)

    # By default a short file's clips are written as they come: a thread of their own would cost more than it saves.
    short = options.threads is None and reader.frames is not None and reader.frames <= _THREADED_FROM * reader.samplerate
    threads = options.threads or available_cpus()
    if threads > 1 and not short and fmt in _ENCODED:  # (never copies: those are WAV)
        writer = _Encoders(threads, on_complete=None if is_path else placed)
    else:
        writer = _ClipWriter(threaded=threads > 1 and not short, on_complete=None if is_path else placed)
    try:
        with hold:
            try:
                try:
                    for samples, mixed in decoding:
                        hold.append(samples)
                        for start, end, text in ranges.feed_mono(mixed):
                            write(start, end, text)
                        hold.release_before(ranges.first_open_sample())
                        report(decoding.position)
                except KeyboardInterrupt:
                    if is_path:
                        raise
                    interrupted = True  # a stream ends with Ctrl-C: keep what is finished
                if not interrupted:
                    _check_some_audio(name, decoding)
                for start, end, text in finish_cuts(interrupted):
                    write(start, end, text)
                writer.finish()
            except BaseException:
                writer.stop()  # before the hold closes: the writer may be reading from it
                raise
        done = writer.done
        result = _result(name, decoding, check, [clip for _, clip in done], hold, interrupted, cuts=ranges,
                         notes=(level.warnings(name) if level is not None else []) + _clipping_warnings(spec))
        record.update(seconds=result.audio_seconds, source_frames=reader.frames or decoding.position, labs=labs)
        if is_path:
            output.commit(name, record, done, labs)
        else:
            output.finish_stream(record, result.clips)
    except BaseException:
        writer.stop()
        if is_path:  # a file that fails (or is interrupted) leaves none of its clips
            output.abandon()
        else:  # a stream keeps those it placed, and says so in its marker
            record.update(seconds=(decoding.position - decoding.first) / reader.samplerate, labs=labs)
            output.finish_stream(record, [clip for _, clip in writer.done])
        raise
    return result


class _Reporter:
    """Calls ``on_progress(seconds, total)`` at most every ``_PROGRESS_EVERY`` seconds."""

    def __init__(self, on_progress, reader, first, stop):
        self.on_progress = on_progress
        self.rate, self.first = reader.samplerate, first
        end = stop if stop is not None else reader.frames
        self.total = None if end is None else (end - first) / reader.samplerate
        self._next = time.monotonic() + _PROGRESS_EVERY

    def __call__(self, position):
        if self.on_progress is not None and time.monotonic() >= self._next:
            self._next = time.monotonic() + _PROGRESS_EVERY
            self.on_progress((position - self.first) / self.rate, self.total)


def _check_some_audio(name, decoding):
    if decoding.position <= decoding.first:
        if decoding.first:
            raise FastsliceError(f"{name}: start={decoding.first / decoding.source.samplerate:g} s selects no audio "
                                 f"(it is {decoding.position / decoding.source.samplerate:.3f} s long)")
        raise FastsliceError(f"{name}: holds no audio frames")


def _result(name, decoding, check, clips, hold, interrupted=False, cuts=None, notes=()):
    rate = decoding.source.samplerate
    extra, notes = list(notes), check.warnings()
    choice = getattr(cuts, "choice", None)
    if choice is not None and not choice.separated:
        notes.append(f"{name}: --threshold {choice.rule}: {choice.reason}; cut at {choice.threshold:g} dB, as a fixed "
                     f"threshold would (give --threshold DB to choose)")
    cutter = None if cuts is None else cuts.cutter
    if cutter is not None and cutter.split:
        notes.append(f"{name}: {cutter.split} cues longer than --max-length were cut at their quietest frames; "
                     "their pieces have no text")
    missing = 0 if interrupted else decoding.missing_frames
    if missing:
        notes.insert(0, f"{name}: the header promises {decoding.position + missing} frames but the data ends after "
                        f"{decoding.position} ({missing / rate:.3f} s missing): sliced as far as the data goes")
    if not clips and not interrupted:
        why = ("no cue falls inside it" if cutter is not None else "no speech found in it"
               if cuts is not None and cuts.ranges.gate is not None else "it is all silence below the threshold")
        notes.append(f"{name}: no clip: {why}")
    seconds = (decoding.position - decoding.first) / rate
    return FileResult(name, clips, seconds, warnings=notes + extra, decoded_frames=decoding.decoded,
                      spilled_frames=0 if hold is None else hold.spilled_frames, interrupted=interrupted,
                      threshold_choice=choice)


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


class _Level:
    """The gain of each clip where the options change levels, found in a first pass over the clip:

    * ``normalize_dbfs`` (``--normalize``): its sample peak to that level (``normalize_mix`` < 1
      blends the normalized clip with the clip as it is);
    * ``loudness_lufs`` (``--loudness``): its integrated loudness (ITU-R BS.1770-4,
      ``fastslice.loudness``) to that level, then lowered so that its sample peak stays at or under
      the ceiling (``peak_ceiling``: -1 dBFS unless given) -- gain reduced, never clipped;
    * ``peak_ceiling_dbfs`` alone (``--peak-ceiling``): lowered only where its peak is above.

    The clip is measured as it is written (after --sr and --mono).  A clip shorter than one gating
    block (400 ms) or silent throughout (every block under -70 LUFS) has no loudness: it is left at
    its own gain, under the ceiling, and ``warnings`` names it."""

    def __init__(self, options, rate, channels):
        self.rate, self.channels = rate, channels
        self.normalize = options.normalize_dbfs
        self.mix = options.normalize_mix
        self.target = options.loudness_lufs
        self.ceiling = options.peak_ceiling
        self.short, self.silent = [], []  # clips left at their own gain (appended on the writer's thread)

    @classmethod
    def of(cls, options, rate, channels):
        """The ``_Level`` of the options, or None where clips are written at their own level."""
        if options.normalize_dbfs is None and options.peak_ceiling is None:
            return None
        return cls(options, rate, channels)

    def factor(self, peak, integrated, clip):
        """The gain of a clip of sample ``peak`` (amplitude) and ``integrated`` loudness (LUFS or None)."""
        if self.normalize is not None:
            return 1.0 if peak == 0 else self.mix * 10 ** (self.normalize / 20) / peak + (1 - self.mix)
        if self.target is not None:
            found = loudness.gain(integrated, peak, self.target, self.ceiling)
            if found is not None:
                return found
            (self.short if integrated is None else self.silent).append(storage.basename(clip))
        limit = 10 ** (self.ceiling / 20)
        return limit / peak if peak > limit else 1.0

    def blocks(self, clip_blocks, keep_bytes, clip):
        """The blocks of ``clip_blocks()`` as float32, scaled by the clip's gain.  The first pass
        measures them and keeps them up to ``keep_bytes``; a longer clip is made again for the
        second pass, so memory stays bounded."""
        peak, kept, size = 0.0, [], 0
        meter = loudness.Meter(self.rate, self.channels) if self.target is not None else None
        for block in clip_blocks():
            block = readers.as_float32(block)
            peak = max(peak, float(np.abs(block).max(initial=0.0)))
            if meter is not None:
                meter.feed(block)
            if kept is not None:
                size += block.nbytes
                if size <= keep_bytes:
                    kept.append(block.copy())
                else:
                    kept = None
        factor = np.float32(self.factor(peak, None if meter is None else meter.integrated(), clip))
        for block in kept if kept is not None else (readers.as_float32(b) for b in clip_blocks()):
            yield block * factor

    def warnings(self, name):
        notes = []
        ceiling = "" if self.ceiling is None else f", under the ceiling ({self.ceiling:g} dBFS)"
        short = f"shorter than {loudness.BLOCK_SECONDS * 1000:.0f} ms (one gating block)"
        for clips, what in ((self.short, short), (self.silent, "below the absolute gate (-70 LUFS) throughout")):
            if clips:
                notes.append(f"{name}: no loudness for {len(clips)} clip{'s' if len(clips) > 1 else ''} {what}; left "
                             f"at their own gain{ceiling}: {_listed(clips)}")
        return notes


def _listed(names, at_most=10):
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


@dataclasses.dataclass(frozen=True)
class _ClipSpec:
    """How an input's clips are written: rate, channels, format, subtype; ``source`` names the
    input in errors; ``clipped`` collects ``(clip, samples)`` of clips whose float samples past full
    scale an integer subtype clipped (appended on the writer's thread)."""

    rate: int
    channels: int
    format: str
    subtype: str
    source: str
    clipped: list


def _clipping_warnings(spec, at_most=10):
    """One warning per clip that was clipped (the first ``at_most``), then one for the rest."""
    notes = [f"{spec.source}: clip {clip}: {n} sample{'s' if n > 1 else ''} past full scale clipped writing "
             f"{spec.subtype}; keep the peaks under it with --peak-ceiling -1 (or --loudness, --normalize), or write "
             "floats (--subtype FLOAT)" for clip, n in spec.clipped[:at_most]]
    rest = spec.clipped[at_most:]
    if rest:
        notes.append(f"{spec.source}: {len(rest)} more clips clipped ({sum(n for _, n in rest)} samples past full "
                     f"scale): {_listed([c for c, _ in rest])}")
    return notes


def _resampler(in_rate, out_rate, channels):
    try:
        import soxr
    except ImportError:
        raise FastsliceError("resampling (--sr) needs soxr: pip install 'fastslice[resample]'") from None
    return soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality="HQ")


class _ClipWriter:
    """Writes clips in order on a thread of its own, while the input goes on being decoded
    (libsndfile and the kernel's file copies release the GIL).

    Each clip is written to its work path (``fastslice.outputs``).  Three ways to hand one over,
    each ending in a complete file or none:

    * ``write(clip, work, blocks, spec)``: blocks from memory the decoding thread reuses are
      copied, in that thread, into a few buffers that go round between the two threads, for
      ``_write_clip(blocks, work, spec, clip.clip)`` (``spec``: a ``_ClipSpec``);
    * ``write(clip, work, blocks, spec, reads_alone=True)``: blocks read again from the file by a
      reader only the writer uses, read on the writer's thread;
    * ``run(clip, work, job)``: ``job(stopping)`` writes the clip itself (``_WavCopy``), checking
      ``stopping()`` as it goes.

    The queue is bounded (a few blocks or clips): a slow writer holds the decoding back, and
    memory stays constant.  ``finish()`` waits for every clip and raises the first error; if a
    clip was being handed over when the decoding stopped (Ctrl-C on a stream), that one clip is
    abandoned and the complete ones queued before it are still written.  ``stop()`` abandons
    the clip being written (its file is removed) and what is queued.  ``done`` lists
    ``(work path, clip)`` of the clips complete on disk, in order, with their sizes;
    ``on_complete(work, clip)``, if given, is called (on the writer's thread) as each is.
    With ``threaded=False`` every clip is written by the caller, at once.
    """

    _QUEUED = 4
    _END, _STOP, _ABANDON = object(), object(), object()

    def __init__(self, threaded=True, on_complete=None):
        self.done = []
        self._error = None
        self._open = False  # a clip's blocks are being queued
        self._threaded = threaded
        self._on_complete = on_complete
        if not threaded:
            return
        self._stopping = threading.Event()
        self._queue = queue.Queue(self._QUEUED)
        self._free = queue.Queue()  # buffers the writer has finished with
        self._buffers = 0
        self._thread = threading.Thread(target=self._run, name="fastslice-clip-writer", daemon=True)
        self._thread.start()

    def write(self, clip, work, blocks, spec, reads_alone=False):
        if not self._threaded:
            self.run(clip, work, lambda stopping: _write_clip(blocks, work, spec, clip.clip))
        elif reads_alone:
            self._put(("lazy", clip, work, spec, blocks))
        else:
            self._open = True  # from here until _END, an interruption abandons this clip only
            self._put(("blocks", clip, work, spec))
            for block in blocks:
                self._put(self._copy(block))  # the hold reuses its memory
                seams.reach("block-handed")
            self._put(self._END)
            self._open = False

    def run(self, clip, work, job):
        if self._threaded:
            self._put(("job", clip, work, job))
        else:
            self._complete(clip, work, job(_never))

    def finish(self):
        """Wait for the clips queued; one whose queuing was interrupted is abandoned."""
        if not self._threaded:
            return
        if self._open:
            self._queue.put(self._ABANDON)  # the writer drops that clip and goes on with the queue
            self._open = False
        self._queue.put(None)
        self._thread.join()
        self._raise_error()

    def stop(self):
        if self._threaded and self._thread.is_alive():
            self._stopping.set()
            self._queue.put(self._STOP)  # the writer drains the queue until it sees this
            self._thread.join()

    def _complete(self, clip, work, frames):
        clip = dataclasses.replace(clip, size=os.path.getsize(work), frames=frames)
        if self._on_complete is not None:
            self._on_complete(work, clip)
        self.done.append((work, clip))

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
            if self._error is not None or self._stopping.is_set() or item is self._END or item is self._ABANDON \
                    or item[0] == "block":
                self._release(item)
                continue  # after an error or stop(): drain until told to stop
            kind, clip, work = item[:3]
            try:
                if kind == "job":
                    frames = item[3](self._stopping.is_set)
                elif kind == "lazy":
                    frames = _write_clip(self._watched(item[4]), work, item[3], clip.clip)
                else:
                    frames = _write_clip(self._watched(self._queued_blocks()), work, item[3], clip.clip)
                self._complete(clip, work, frames)
            except _Stopped as stopped:
                if stopped.args == (self._STOP,):
                    return
            except BaseException as exc:  # handed to the decoding thread
                self._error = exc

    def _watched(self, blocks):
        return _until_stopped(blocks, self._stopping)

    def _queued_blocks(self):
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if item is self._STOP or item is self._ABANDON:
                raise _Stopped(item)
            _, buffer, frames = item
            yield buffer if frames is None else buffer[:frames]
            self._release(item)


class _Encoders:
    """Clips that are encoded (FLAC, Ogg, MP3: as much work as decoding them, or more) written on
    ``threads`` threads at once, with ``_ClipWriter``'s interface and guarantees (but ``run``: a
    clip that writes itself is a WAV copy, never encoded).

    A clip read again from its file (``reads_alone``) is read by the thread that encodes it.  Any
    other clip of at most ``WHOLE_BYTES`` is copied whole on the caller's thread and handed over; a
    longer one is handed over at that size and the rest of its blocks follow through a bounded
    queue.  At most ``threads + 1`` clips are in hand: the caller waits for the oldest beyond that,
    so memory stays bounded.  Clips complete in the order they were handed over (``done``,
    ``on_complete``, the clipping counts), whatever thread finishes first; the bytes of each are
    those one writer writes.  ``finish()`` waits for all and raises the first error; ``stop()``
    keeps the clips complete before the first unfinished one and removes the rest."""

    WHOLE_BYTES = 1 << 20
    _END = object()

    def __init__(self, threads, on_complete=None):
        import concurrent.futures

        self.done = []
        self._on_complete = on_complete
        self._threads = threads
        self._stopping = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="fastslice-encoder")
        self._pending = collections.deque()  # (clip, work, clipping counts, future), in order
        self._abandoned = set()  # the futures of clips whose handing over was interrupted

    def write(self, clip, work, blocks, spec, reads_alone=False):
        own = dataclasses.replace(spec, clipped=[])  # its clipping count, added to spec's in order
        counts = (own.clipped, spec.clipped)
        if reads_alone:  # read again from the file by the thread that encodes it (a reader per thread: Reread)
            self._submit(clip, work, own, counts, blocks, None)
            return
        blocks = iter(blocks)
        parts, size = [], 0
        for block in blocks:
            parts.append(np.array(block))  # a copy: the hold reuses its memory
            size += parts[-1].nbytes
            if size > self.WHOLE_BYTES:
                break
        else:
            self._submit(clip, work, own, counts, parts, None)
            return
        feed = queue.Queue(4)
        self._submit(clip, work, own, counts, parts, feed)
        try:
            for block in blocks:
                self._put(feed, np.array(block))
                seams.reach("block-handed")
        except BaseException:  # e.g. Ctrl-C on a stream: that clip only is abandoned; the others go on
            self._abandoned.add(self._pending[-1][3])
            self._put(feed, _Stopped(_ClipWriter._ABANDON))
            raise
        self._put(feed, self._END)

    def finish(self):
        while self._pending:
            self._complete_oldest()
        self._pool.shutdown(wait=True)

    def stop(self):
        self._stopping.set()
        kept = True
        while self._pending:
            clip, work, counts, future = self._pending.popleft()
            future.cancel()
            try:
                frames = future.result()
            except BaseException:  # noqa: BLE001 - stopping: what failed or was cut is not kept
                kept = False
                continue
            if kept:
                self._completed(clip, work, counts, frames)
            else:
                Path(work).unlink(missing_ok=True)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, clip, work, own, counts, parts, feed):
        self._wait_for_room()
        blocks = parts if feed is None else itertools.chain(parts, self._fed(feed))
        future = self._pool.submit(lambda: _write_clip(self._watched(blocks), work, own, clip.clip))
        self._pending.append((clip, work, counts, future))

    def _wait_for_room(self):
        while self._pending and self._pending[0][3].done():
            self._complete_oldest()
        if len(self._pending) > self._threads:
            self._complete_oldest()

    def _complete_oldest(self):
        clip, work, counts, future = self._pending[0]
        if future in self._abandoned:  # it ends without a file (_clip_errors removes it)
            self._pending.popleft()
            with contextlib.suppress(BaseException):
                future.result()
            Path(work).unlink(missing_ok=True)
            return
        try:
            frames = future.result()
        except BaseException:
            self.stop()
            raise
        self._pending.popleft()
        self._completed(clip, work, counts, frames)

    def _completed(self, clip, work, counts, frames):
        counts[1].extend(counts[0])
        clip = dataclasses.replace(clip, size=os.path.getsize(work), frames=frames)
        if self._on_complete is not None:
            self._on_complete(work, clip)
        self.done.append((work, clip))

    def _put(self, feed, item):
        while True:
            if self._pending and self._pending[-1][3].done():  # its writer has given up (an error)
                return
            try:
                feed.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _fed(self, feed):
        while True:
            try:
                item = feed.get(timeout=0.1)
            except queue.Empty:
                if self._stopping.is_set():
                    raise _Stopped(_ClipWriter._STOP) from None
                continue
            if item is self._END:
                return
            if isinstance(item, _Stopped):
                raise item
            yield item

    def _watched(self, blocks):
        return _until_stopped(blocks, self._stopping)


def _until_stopped(blocks, stopping):
    """The blocks, until the event ``stopping`` is set: then ``_Stopped`` (the clip being written is dropped)."""
    for block in blocks:
        if stopping.is_set():
            raise _Stopped
        yield block


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
        return cls(path, chunk[0] + first * chunk[2], chunk[2], header)

    def __init__(self, path, data_offset, frame_bytes, header):
        self.path, self.data_offset, self.frame_bytes = path, data_offset, frame_bytes
        self.header = header

    def fits(self, frames):
        return self.header.fits(frames * self.frame_bytes)

    def job(self, start, end, work, source, final):
        """A writer job (``job(stopping)``) that writes frames ``[start, end)`` to ``work`` (the clip ``final``)."""
        return lambda stopping: self._copy(start, end, work, source, final, stopping)

    def _copy(self, start, end, temporary, source, final, stopping):
        size = (end - start) * self.frame_bytes
        with _clip_errors(temporary, source, final):
            with open(self.path, "rb", buffering=0) as src, open(temporary, "wb", buffering=0) as out:
                _write_all(out, self.header.for_frames(end - start, size))
                offset = self.data_offset + start * self.frame_bytes
                copied = 0
                while copied < size:
                    if stopping():
                        raise _Stopped
                    got = _copy_range(src, out, offset + copied, min(self._STEP, size - copied))
                    if got == 0:
                        raise OSError(f"the data ends before frame {end} on reading it again")
                    copied += got
                    seams.reach("clip-writing")
        return end - start


@dataclasses.dataclass(frozen=True)
class _WavHeader:
    """The header libsndfile writes for a WAV clip with no frames, and where its sizes are: the RIFF
    size (at 4), the data size, and for float samples the frame count of the ``fact`` chunk."""

    empty: bytes
    data_size_at: int
    fact_frames_at: int = None

    def fits(self, data_bytes):
        """A data chunk of ``data_bytes`` can follow this header (no pad byte, under 4 GB)."""
        return data_bytes % 2 == 0 and len(self.empty) + data_bytes < 1 << 32

    def for_frames(self, frames, data_bytes):
        """The header libsndfile writes for ``frames`` frames (``data_bytes`` bytes of samples)."""
        header = bytearray(self.empty)
        header[4:8] = struct.pack("<I", len(header) - 8 + data_bytes)
        header[self.data_size_at : self.data_size_at + 4] = struct.pack("<I", data_bytes)
        if self.fact_frames_at is not None:
            header[self.fact_frames_at : self.fact_frames_at + 4] = struct.pack("<I", frames)
        return bytes(header)


@functools.lru_cache(maxsize=64)
def _empty_wav_header(fmt, subtype, sample_rate, channels):
    """The ``_WavHeader`` libsndfile writes for a clip with no frames, or None if its data chunk is not last."""
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", sample_rate, channels, subtype, format=fmt) as out:
        _without_peak_chunk(out)
    header = buffer.getvalue()
    position, fact = 12, None
    while position + 8 <= len(header):
        kind, size = header[position : position + 4], struct.unpack("<I", header[position + 4 : position + 8])[0]
        if kind == b"data":
            return _WavHeader(header, position + 4, fact) if position + 8 == len(header) and size == 0 else None
        if kind == b"fact" and size == 4:
            fact = position + 8
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


def _write_clip(blocks, temporary, spec, final):
    """Write the blocks to ``temporary`` (the work path of the clip ``final``) as ``spec`` (a
    ``_ClipSpec``) says; returns the frames written.  Float samples past full scale written into an
    integer subtype are counted into ``spec.clipped`` (libsndfile clips them, without a word).
    Float WAV clips are written as libsndfile writes them, without passing each 8 KB through it
    (``_write_float_wav``)."""
    if spec.format == "WAV" and spec.subtype == "FLOAT" and sys.byteorder == "little":
        header = _empty_wav_header("WAV", "FLOAT", spec.rate, spec.channels)
        if header is not None:
            return _write_float_wav(blocks, temporary, spec, final, header)
    frames = clipped = 0
    counts = spec.subtype in INTEGER_SUBTYPES
    with _clip_errors(temporary, spec.source, final):
        # libsndfile writes to a path in 8 KB system calls; through a Python file with a large
        # buffer it writes the same bytes about three times faster.
        with open(temporary, "wb", buffering=_WRITE_BUFFER_BYTES) as raw:
            guarded = _GuardedFile(raw)
            with soundfile.SoundFile(guarded, "w", spec.rate, spec.channels, spec.subtype, format=spec.format) as out:
                _without_peak_chunk(out)
                for block in blocks:
                    if counts and block.dtype.kind == "f":
                        clipped += _kernels.count_beyond_full_scale(np.ascontiguousarray(block))
                    out.write(block)
                    seams.reach("clip-writing")
                    frames += block.shape[0]
                    guarded.raise_error()
            guarded.flush()
            guarded.raise_error()
    if clipped:
        spec.clipped.append((storage.basename(final), clipped))
    return frames


def _write_float_wav(blocks, temporary, spec, final, header):
    """A float WAV clip: the header libsndfile writes for it, then the float32 samples as they are in
    memory (little-endian, interleaved: the bytes libsndfile writes for them)."""
    frames = 0
    frame_bytes = 4 * spec.channels
    with _clip_errors(temporary, spec.source, final):
        with open(temporary, "wb", buffering=0) as out:
            _write_all(out, header.empty)
            for block in blocks:
                block = np.ascontiguousarray(block, dtype=np.float32)
                if not header.fits((frames + block.shape[0]) * frame_bytes):
                    raise OSError(f"a WAV file holds at most 4 GB; clip {final} is longer: write it as RF64 or W64 "
                                  "(--format RF64)")
                if block.size:
                    _write_all(out, memoryview(block.reshape(-1)).cast("B"))
                    seams.reach("clip-writing")
                frames += block.shape[0]
            out.seek(0)
            _write_all(out, header.for_frames(frames, frames * frame_bytes))
    return frames


@contextlib.contextmanager
def _clip_errors(temporary, source, final):
    """Writing a clip to ``temporary``: on any error the file is removed; an OSError or a libsndfile
    error becomes a ``FastsliceError`` that names the source and the clip."""
    try:
        yield
    except soundfile.LibsndfileError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise FastsliceError(f"{source}: cannot write clip {final} ({exc.error_string})") from None
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise FastsliceError(f"{source}: cannot write clip {final} ({exc.strerror or exc})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
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
