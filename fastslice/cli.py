"""The ``fastslice`` command line: ``fastslice slice`` for files and folders, ``fastslice demo``.

Kept light at import (``fastslice --help`` loads no numba); the slicing modules
are imported when a command runs.
"""
import argparse
import gc
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import FastsliceError

# The upstream CLI's defaults (openvpi/audio-slicer slicer2.py main()).
CLI_DEFAULTS = {"threshold": -40.0, "min_length": 5000, "min_interval": 300, "hop_size": 10, "max_sil_kept": 500}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastslice",
        description="Cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast.",
    )
    parser.add_argument("--version", action="version", version=f"fastslice {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cut = commands.add_parser("slice", help="slice audio files and folders into clips")
    cut.add_argument("inputs", nargs="+", metavar="INPUT",
                     help="audio or video files, folders (searched recursively), glob patterns, or - for standard input")
    cut.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="folder for the clips (input folders are mirrored under it)")
    _add_slicer_options(cut)
    cut.add_argument("--max-length", type=float, metavar="MS", help="maximum clip length in ms: longer clips are cut at their quietest frames")
    cut.add_argument("--cues", metavar="FILE", help="one clip per cue of a subtitle file (.srt, .vtt), an Audacity label "
                     "file or a CSV of start,end[,text] (seconds), its text carried; 'auto': each input's "
                     "<stem>.srt, .vtt or _labels.txt")
    cut.add_argument("--snap", type=float, metavar="MS", help="with --cues: move each boundary to the quietest frame "
                     "within MS (default 300 for subtitles, 0 for labels and CSV)")
    cut.add_argument("--detector", choices=("rms", "speech"), default="rms", help="what decides silent frames: rms "
                     "(the threshold, default; for singing) or speech (Silero VAD: pip install 'fastslice[speech]')")
    cut.add_argument("--merge-short", action="store_true", help="pack consecutive clips together up to --max-length (pauses between them kept)")
    cut.add_argument("--start", type=float, metavar="SECONDS", help="slice each input from this time on (skip an intro)")
    cut.add_argument("--end", type=float, metavar="SECONDS", help="slice each input up to this time (skip an outro)")
    cut.add_argument("--sr", type=int, metavar="HZ", help="resample the clips to HZ (soxr, high quality); slicing is decided on the original")
    cut.add_argument("--highpass", type=float, metavar="HZ", help="high-pass the audio before slicing (Butterworth, "
                     "as RVC does at 48 Hz); the clips are the filtered audio")
    cut.add_argument("--highpass-order", type=int, default=5, metavar="N", help="the high-pass filter's order (default 5)")
    cut.add_argument("--normalize", type=float, metavar="DBFS", help="scale each clip so that its peak is at DBFS "
                     "(e.g. -1); the cuts are unchanged")
    cut.add_argument("--normalize-mix", type=float, default=1.0, metavar="ALPHA", help="with --normalize: write "
                     "ALPHA * normalized + (1 - ALPHA) * clip (RVC 0.75, GPT-SoVITS 0.25; default 1)")
    cut.add_argument("--loudness", type=float, metavar="LUFS", help="bring each clip to this integrated loudness "
                     "(ITU-R BS.1770-4, e.g. -23 as fish-speech's guide), its peak kept under --peak-ceiling")
    cut.add_argument("--peak-ceiling", type=float, metavar="DBFS", help="keep each clip's sample peak at or under DBFS "
                     "by lowering its gain (default -1 with --loudness; alone: only clips above it are lowered)")
    cut.add_argument("--mono", action="store_true", help="mix the clips down to mono (the mean of the channels)")
    cut.add_argument("--zip", metavar="PATH", help="also write every clip into one zip file (the clips' paths relative to OUT_DIR)")
    cut.add_argument("--format", help="container of the clips, e.g. WAV, FLAC (default: the input's, or WAV for compressed input)")
    cut.add_argument("--subtype", help="sample format of the clips, e.g. PCM_16, PCM_24, FLOAT (default: the input's)")
    cut.add_argument("--manifest", metavar="PATH", help="write every clip to PATH: .csv, or .jsonl (JSON Lines)")
    cut.add_argument("--labels", action="store_true", help="also write an Audacity label file <stem>_labels.txt per input")
    cut.add_argument("--review", action="store_true", help="write OUT_DIR/review.html at the end: look, listen, mark clips to drop")
    cut.add_argument("--dry-run", action="store_true", help="print the clips that would be written; write nothing")
    cut.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="slice N files at a time, in N processes (default 1)")
    cut.add_argument("--threads", type=int, metavar="N", help="threads per file: 1 reads, analyses and writes in turn; "
                     "2 or more write clips while reading goes on (default: one per CPU, or 1 with -j N or --dask)")
    cut.add_argument("--dask", metavar="ADDRESS", help="send the files to a Dask scheduler (tcp://HOST:8786), or 'local' "
                     "for a LocalCluster of --jobs workers; workers must see the same paths (pip install 'fastslice[dask]')")
    cut.add_argument("--name", metavar="TEMPLATE", help="name the clips: {stem}, {speaker}, {i}, {start}, {end} (samples), {start_ms}, "
                     "{end_ms}, format specs and subfolders, e.g. '{stem}/{i:04d}' (default {stem}_{i})")
    cut.add_argument("--stem", metavar="NAME", help="name the clips of standard input (-) NAME_0, NAME_1, ... (default: stdin)")
    cut.add_argument("--speaker", metavar="NAME", help="the speaker of every input: in the manifest, the exports, "
                     "{speaker} in --name, and a layout's speaker folders")
    cut.add_argument("--speaker-from-folder", action="store_true", help="each input's speaker is its folder's name "
                     "(one folder per speaker, as the projects lay them out)")
    cut.add_argument("--layout", choices=("so-vits-svc", "fish-speech", "rvc", "gpt-sovits", "diffsinger"),
                     help="the folders, names, clip format and lists that project's own preprocessing reads")
    _add_export_options(cut)
    cut.add_argument("--storage-options", metavar="JSON", help="fsspec's options for URLs (s3://, gs://, ...), "
                     "e.g. '{\"client_kwargs\": {\"endpoint_url\": \"http://127.0.0.1:9000\"}}'; credentials also "
                     "from the usual environment variables (pip install 'fastslice[s3]')")
    cut.add_argument("--no-clips", action="store_true", help="write no clip files: the manifest and exports point "
                     "into the sources (offsets and durations; PCM and FLAC only)")
    _add_decoder_options(cut)
    cut.add_argument("--overwrite", action="store_true", help="slice again inputs whose clips are already complete "
                     "(for -, replace the clips of an earlier run with the same --stem)")
    cut.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    cut.add_argument("-v", "--verbose", action="store_true", help="a summary line per file: its clips, and the "
                     "threshold --threshold auto chose for it")

    analyze = commands.add_parser("analyze", help="RMS levels, noise floor, a suggested threshold, and the clips given options would make")
    analyze.add_argument("file", metavar="FILE", help="an audio file")
    _add_slicer_options(analyze)
    analyze.add_argument("--max-length", type=float, metavar="MS", help="as for slice")
    analyze.add_argument("--merge-short", action="store_true", help="as for slice")
    _add_decoder_options(analyze)
    analyze.add_argument("--plot", metavar="PNG", help="draw the RMS envelope, the threshold and the clips (as bands) "
                         "into PNG (needs matplotlib)")
    analyze.add_argument("--zoom", type=float, nargs=2, metavar=("START", "END"), help="with --plot: draw only "
                         "START to END (seconds), its envelope finer")
    analyze.add_argument("--detector", choices=("rms", "speech"), default="rms", help="as for slice; speech also "
                         "prints the speech ratio and pause lengths, and plots the speech probability")

    tune = commands.add_parser("tune", help="write one HTML page to choose the cuts of a recording live: levels, "
                               "sliders, lengths, listening, and the slice command to copy")
    tune.add_argument("file", metavar="FILE", help="an audio file")
    tune.add_argument("-o", "--out", metavar="HTML", help="the page to write (default FILE's stem + .tune.html, here)")
    _add_slicer_options(tune)
    tune.add_argument("--max-length", type=float, metavar="MS", help="as for slice: the page starts with it")
    tune.add_argument("--clips", metavar="OUT_DIR", help="the -o of the command the page shows (default <stem>_clips)")
    tune.add_argument("--target", type=float, nargs=2, default=(4.0, 8.0), metavar=("LO", "HI"),
                      help="the wanted clip length range in seconds, shown on the histogram (default 4 8)")
    _add_decoder_options(tune)

    stats = commands.add_parser("stats", help="count, hours and lengths of the clips in a folder")
    stats.add_argument("folder", metavar="DIR", help="a folder of clips (searched recursively)")
    stats.add_argument("--target", type=float, nargs=2, default=(4.0, 8.0), metavar=("LO", "HI"),
                       help="the wanted clip length range in seconds (default 4 8, as so-vits-svc asks)")
    stats.add_argument("--outliers", type=int, default=20, metavar="N", help="list at most N clips outside the target (default 20)")

    export = commands.add_parser("export", help="write a sliced set's lists for another tool (from its markers)")
    export.add_argument("folder", metavar="OUT_DIR", help="the folder fastslice slice wrote")
    _add_export_options(export, flag="--to", required=True)

    review = commands.add_parser("review", help="write one HTML page to look at and listen to a sliced set, and mark clips to drop")
    review.add_argument("folder", metavar="OUT_DIR", help="the folder fastslice slice wrote")
    review.add_argument("-o", "--out", metavar="HTML", help="the page to write (default OUT_DIR/review.html)")
    review.add_argument("--target", type=float, nargs=2, default=(4.0, 8.0), metavar=("LO", "HI"),
                        help="the wanted clip length range in seconds; clips outside it are flagged (default 4 8)")
    review.add_argument("--manifest", metavar="PATH", help="take the clips from this manifest (.csv or .jsonl) instead of the markers")

    prune = commands.add_parser("prune", help="move the clips a review page's list names into OUT_DIR/dropped/ (never deletes)")
    prune.add_argument("folder", metavar="OUT_DIR", help="the folder fastslice slice wrote")
    prune.add_argument("--list", required=True, metavar="FILE", help="the list the review page saved (dropped.txt)")
    prune.add_argument("--restore", action="store_true", help="move the listed clips back from OUT_DIR/dropped/")
    prune.add_argument("--manifest", metavar="PATH", help="also take the pruned clips out of this manifest (back with --restore)")

    commands.add_parser(
        "warmup", help="compile fastslice's kernels into numba's cache now (for Docker images, CI, new venvs)",
        description="Compile every kernel the command line and fastslice.Slicer use, for float32 and float64, "
        "into numba's cache, and say where that is. Set NUMBA_CACHE_DIR to choose the folder.",
    )

    demo = commands.add_parser("demo", help="make a short synthetic recording, slice it, print the clips")
    demo.add_argument("-o", "--out", default="fastslice-demo", metavar="DIR", help="folder for the demo (default ./fastslice-demo)")
    _add_slicer_options(demo)
    return parser


def _add_slicer_options(parser):
    d = CLI_DEFAULTS
    parser.add_argument("--threshold", type=_threshold, default=d["threshold"], metavar="DB|auto[-N]",
                        help=f"RMS level below which a frame is silent, in dB (default {d['threshold']:g}); 'auto': "
                        "each input's own, halfway between its noise floor and speech level; 'auto-N': N dB above "
                        "its noise floor")
    parser.add_argument("--min-length", type=float, default=d["min_length"], metavar="MS", help=f"minimum clip length, in ms (default {d['min_length']})")
    parser.add_argument("--min-interval", type=float, default=d["min_interval"], metavar="MS", help=f"minimum silence to cut at, in ms (default {d['min_interval']})")
    parser.add_argument("--hop-size", type=float, default=d["hop_size"], metavar="MS", help=f"RMS frame hop, in ms (default {d['hop_size']})")
    parser.add_argument("--max-sil-kept", type=float, default=d["max_sil_kept"], metavar="MS", help=f"maximum silence kept around a clip, in ms (default {d['max_sil_kept']})")


def _threshold(text):
    """--threshold: a level in dB, or a rule (auto, auto-N) checked by fastslice.levels."""
    try:
        return float(text)
    except ValueError:
        pass
    from .errors import ParameterError
    from .levels import ThresholdRule

    try:
        return ThresholdRule.parse(text).text
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_export_options(parser, flag="--export", required=False):
    parser.add_argument(flag, dest="exports", action="append", default=[], required=required, metavar="FORMAT[:PATH]",
                        help="also write the set for another tool: hf (AudioFolder metadata), lhotse, nemo, kaldi, "
                        "gpt-sovits, diffsinger; PATH is where (default: in OUT_DIR); repeatable")
    parser.add_argument("--val", type=int, metavar="N", help="set N clips per speaker aside for validation "
                        "(the same ones every run), in the exports' validation lists")
    parser.add_argument("--language", metavar="CODE", help="the language of the clips, for GPT-SoVITS's list: "
                        "zh, ja, en, ko or yue")


def _add_decoder_options(parser):
    parser.add_argument("--decoder", choices=("auto", "sndfile", "av"), default="auto",
                        help="auto (default): libsndfile for WAV, FLAC, AIFF, Ogg, ..., FFmpeg for MP3, M4A/AAC, video "
                        "and the rest; sndfile or av: that one for every input")
    parser.add_argument("--stream", type=int, metavar="N", help="slice audio stream N (0, 1, ...) of a file that has "
                        "several, e.g. a film's second language (through FFmpeg; default: the first)")


def _slicer_params(args):
    params = {k: getattr(args, k) for k in CLI_DEFAULTS}
    params = {k: int(v) if k != "threshold" and float(v).is_integer() else v for k, v in params.items()}
    if getattr(args, "max_length", None) is not None:
        params["max_length"] = int(args.max_length) if float(args.max_length).is_integer() else args.max_length
    if getattr(args, "merge_short", False):
        params["merge_short"] = True
    return params


# -- running --------------------------------------------------------------------


def _import_numba_without_blas_probe():
    """Import numba's array support in this process without its BLAS probe.

    Where SciPy is installed, numba imports ``scipy.linalg`` the first time it
    loads any kernel, only to learn whether ``np.dot`` and friends can be
    compiled: 0.3 s and 17 MB per process.  fastslice's kernels use no BLAS, so
    the command line (its own process, and the workers it forks) tells numba
    there is none.  The Python API leaves numba alone.
    """
    if "numba.np.arraymath" in sys.modules:
        return
    blocked = "scipy.linalg" not in sys.modules
    if blocked:
        sys.modules["scipy.linalg"] = None  # makes "import scipy.linalg" fail, for this import only
    try:
        import numba.np.arraymath  # noqa: F401  (imported for its side effect)
    finally:
        if blocked:
            del sys.modules["scipy.linalg"]



class Progress:
    """One line on a terminal: files done, hours of audio, speed, and how far a long file has got."""

    _EVERY = 0.2  # seconds between redraws for progress within a file

    def __init__(self, total, stream, enabled):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done = 0
        self.audio_seconds = 0.0
        self.started = time.perf_counter()
        self._within = {}  # input index -> (name, seconds read, seconds in all or None)
        self._drawn = 0.0
        self._width = 0

    def update(self, audio_seconds, index=None):
        """A file is finished (``audio_seconds`` of audio)."""
        self._within.pop(index, None)
        self.done += 1
        self.audio_seconds += audio_seconds
        self._draw()

    def within(self, index, name, seconds, total):
        """How far the file ``index`` has got: ``seconds`` read of ``total`` (None: not known)."""
        self._within[index] = (name, seconds, total)
        if time.perf_counter() - self._drawn >= self._EVERY:
            self._draw()

    def line(self):
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        audio = self.audio_seconds + sum(seconds for _, seconds, _ in self._within.values())
        width = 24
        filled = width * self.done // max(self.total, 1)
        text = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} files, "
                f"{audio / 3600:.2f} h of audio, {audio / elapsed:,.0f}x realtime")
        for name, seconds, total in list(self._within.values())[:2]:
            where = f"{100 * seconds / total:.0f}%" if total else f"{seconds / 60:.1f} min"
            text += f" | {os.path.basename(name)} {where}"
        return text

    def _draw(self):
        if not self.enabled:
            return
        self._drawn = time.perf_counter()
        text = self.line()
        self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
        self._width = len(text)
        self.stream.flush()

    def close(self):
        if self.enabled and (self.done or self._width):
            self.stream.write("\n")


def _slice_options(args):
    """The ``SliceOptions`` of a ``slice`` command line (``ParameterError`` for a bad one)."""
    from .options import SliceOptions

    return SliceOptions.make(
        _slicer_params(args), format=args.format, subtype=args.subtype, overwrite=args.overwrite, dry_run=args.dry_run,
        start_seconds=args.start, end_seconds=args.end, sample_rate=args.sr, mono=args.mono, decoder=args.decoder,
        stream=args.stream, name_template=args.name, normalize_dbfs=args.normalize, normalize_mix=args.normalize_mix,
        loudness_lufs=args.loudness, peak_ceiling_dbfs=args.peak_ceiling,
        highpass_hz=args.highpass, highpass_order=args.highpass_order, threads=args.threads, speaker=args.speaker,
        speaker_from_folder=args.speaker_from_folder, layout=args.layout, no_clips=args.no_clips,
        storage_options=args.storage_options, cues=args.cues, snap_ms=args.snap, detector=args.detector,
    )


def _exports(args, out_dir, options=None):
    """The exports a command line asks for (its --export/--to, and its layout's lists), checked."""
    from .exports import Export, check

    exports = [Export.parse(spec, out_dir) for spec in args.exports]
    if options is not None and options.project is not None:
        exports += [Export(format, os.path.abspath(os.path.join(out_dir, path))) for format, path in options.project.exports
                    if format not in {e.format for e in exports}]
    if args.val is not None and args.val < 1:
        raise FastsliceError(f"--val={args.val} must be a number of clips per speaker, >= 1")
    check(exports, no_clips=options is not None and options.no_clips, language=args.language)
    return exports


def run_slice(args):
    _import_numba_without_blas_probe()
    from . import manifest, storage

    try:  # check the options once, before any work
        options = _slice_options(args)
        if args.jobs < 1:
            raise FastsliceError(f"--jobs={args.jobs} must be >= 1")
        if args.zip and Path(args.zip).suffix.lower() != ".zip":
            raise FastsliceError(f"--zip={args.zip}: the name must end in .zip")
        if args.manifest:
            manifest.manifest_kind(args.manifest)
        exports = _exports(args, args.out, options)
        if options.project is not None and options.project.by_speaker and "-" in args.inputs and not args.speaker:
            raise FastsliceError(f"--layout {args.layout} puts clips in a folder per speaker: give --speaker for standard input")
        if "-" in args.inputs and (len(args.inputs) > 1 or args.dask):
            raise FastsliceError("- (standard input) must be the only input, and cannot go to --dask")
        if args.cues not in (None, "auto") and len(args.inputs) > 1:
            raise FastsliceError(f"--cues {args.cues} cuts one recording; with several inputs, give each its own "
                                 "cue file beside it and --cues auto")
        if args.stem is not None and "-" not in args.inputs:
            raise FastsliceError("--stem names the clips of standard input (-); files are named after themselves")
        if args.stem is not None and (not args.stem or "/" in args.stem or os.sep in args.stem or args.stem.startswith(".")):
            raise FastsliceError(f"--stem={args.stem!r} must be a plain file name (no folder, not hidden)")
        _check_output_folder(args.out, args.dry_run)
    except (FastsliceError, ValueError) as exc:
        print(f"fastslice: {exc}", file=sys.stderr)
        return 2

    from .batch import slice_files

    # numba's import leaves some hundred thousand objects that every full collection of Python's
    # garbage collector would walk again, while the blocks of a long file go by: set them aside
    # (1 h of WAV: 1.2-1.3 s -> 1.04 s, whole process).
    gc.freeze()
    progress = Progress(0, sys.stderr, enabled=not args.quiet and not args.dry_run and sys.stderr.isatty())
    state = {"records": None}
    keep_clips = bool(args.manifest or args.zip or args.dry_run or exports)

    def inputs_found(n_files, problems):
        for problem in problems:
            print(f"fastslice: error: {problem}", file=sys.stderr)
        progress.total = n_files
        if keep_clips:
            state["records"] = manifest.RunRecords(n_files)

    def finished(index, job, result, error):
        notes = [f"error: {error}"] if error is not None else [f"warning: {w}" for w in result.warnings]
        if notes and progress.enabled and (progress.done or progress._width):
            progress.stream.write("\n")
        for note in notes:
            print(f"fastslice: {note}", file=sys.stderr)
        if result is not None and args.verbose:
            print(f"fastslice: {_file_summary(result)}", file=sys.stderr)
        if result is not None:
            if state["records"] is not None:
                state["records"].add(index, result.clips)
            if args.labels and not args.dry_run:
                labels = storage.join(job.folder, f"{job.stem}_labels.txt")
                if not (result.skipped and (storage.is_url(labels) or os.path.exists(labels))):
                    manifest.write_labels(labels, result.clips, options.storage_options)
        progress.update(0.0 if result is None else result.audio_seconds, index)

    def within(index, job, seconds, total):
        progress.within(index, job.stem if job.source == "-" else job.source, seconds, total)

    started = time.perf_counter()
    try:
        with _executor(args) as executor:
            batch = slice_files(args.inputs, args.out, options, executor=executor, jobs=args.jobs,
                                on_result=finished, on_inputs=inputs_found, on_progress=within,
                                keep_results=False, stdin_stem=args.stem)
        progress.close()
        records = state["records"]
        if args.dry_run:
            _print_clip_table(records.clips() if records is not None else ())
        else:
            if args.zip:
                manifest.write_zip(args.zip, args.out, [c for c in records.clips() if c.has_file and not
                                                        storage.is_url(c.clip)], options.storage_options)
            if exports:
                from .exports import write_all

                write_all(exports, records.clips, args.out, val=args.val or 0, language=args.language,
                          storage_options=options.storage_options)
            if args.manifest:  # last: a reader that trusts the manifest never sees a partial set
                manifest.write_manifest(args.manifest, records.clips(), options.storage_options)
            if args.review and batch.n_clips:
                from .review import review

                page, _ = review(args.out)
                if not args.quiet:
                    print(f"fastslice: review page: {page}", file=sys.stderr)
    finally:
        if state["records"] is not None:
            state["records"].close()
    failures = len(batch.errors)
    if not args.quiet:
        elapsed = time.perf_counter() - started
        verb = "would write" if args.dry_run else "wrote"
        print(
            f"fastslice: {batch.n_inputs - batch.n_failed} files "
            f"({batch.n_skipped} already done, {failures} failed), {verb} {batch.n_clips} clips "
            f"from {batch.audio_seconds / 3600:.3f} h of audio in {elapsed:.2f} s",
            file=sys.stderr,
        )
    if batch.interrupted:
        print("fastslice: interrupted; the clips finished until then are kept", file=sys.stderr)
        return 130
    return 1 if failures else 0


def _file_summary(result):
    """-v's line for a file: its clips and seconds, and the threshold auto chose."""
    if result.skipped:
        return f"{result.source}: already done ({len(result.clips)} clips)"
    seconds = sum(c.end_seconds - c.start_seconds for c in result.clips)
    n = len(result.clips)
    line = f"{result.source}: {n} clip{'' if n == 1 else 's'}, {seconds:.1f} s of {result.audio_seconds:.1f} s"
    if result.threshold_choice is not None:
        line += f"; {result.threshold_choice.summary()}"
    return line + (" (interrupted)" if result.interrupted else "")


def _check_output_folder(out, dry_run):
    """-o must be a folder fastslice can write in (made if missing); a URL is checked by its first upload."""
    from .storage import is_url

    if is_url(str(out)):
        return
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FastsliceError(f"-o {out}: exists and is not a folder")
    if dry_run:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".fastslice-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FastsliceError(f"-o {out}: cannot write in it ({exc.strerror or exc})") from None


class _executor:
    """The executor --jobs and --dask ask for (None: slice_files' own), closed on exit."""

    def __init__(self, args):
        self.args = args
        self.client = self.cluster = self.executor = None

    def __enter__(self):
        address = self.args.dask
        if address is None:
            return None
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise FastsliceError("--dask needs dask.distributed: pip install 'fastslice[dask]'") from None
        if address == "local":
            self.cluster = LocalCluster(n_workers=self.args.jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout=10)
            except OSError as exc:
                raise FastsliceError(f"--dask {address}: cannot reach the scheduler in 10 s ({exc})") from None
        self.executor = self.client.get_executor(pure=False, retries=1)
        return self.executor

    def __exit__(self, *exc):
        for closeable in (self.executor, self.client, self.cluster):
            if closeable is not None:
                if closeable is self.executor:
                    closeable.shutdown(wait=False)
                else:
                    closeable.close()
        return False


def _print_clip_table(clips):
    print(f"{'clip':<40} {'start (s)':>10} {'end (s)':>10} {'length (s)':>10}")
    here = os.getcwd() + os.sep
    for c in clips:
        name = os.path.relpath(c.clip) if c.clip.startswith(here) else c.clip  # under the working folder: relative
        print(f"{name:<40} {c.start_seconds:>10.3f} {c.end_seconds:>10.3f} {c.end_seconds - c.start_seconds:>10.3f}")


# -- analyze and stats --------------------------------------------------------------


def run_tune(args):
    _import_numba_without_blas_probe()
    from .tune import tune

    params = _slicer_params(args)
    max_length = params.pop("max_length", None)
    page, frames = tune(args.file, args.out, params=params, max_length=max_length, target=tuple(args.target),
                        out_dir=args.clips, decoder=args.decoder, stream=args.stream)
    print(f"fastslice tune: {frames} RMS frames of {args.file} in {page}")
    return 0


def run_analyze(args):
    _import_numba_without_blas_probe()
    from .errors import ParameterError
    from .report import analyze, check_zoom, format_analysis, plot_envelope

    zoom = None
    if args.zoom is not None:
        if not args.plot:
            raise ParameterError("--zoom needs --plot PNG: it says what part of the recording to draw")
        zoom = check_zoom(args.zoom)
    params = _slicer_params(args)
    source = {"decoder": args.decoder, "stream": args.stream, "detector": args.detector}
    print(format_analysis(analyze(args.file, params, **source)))
    if args.plot:
        plot_envelope(args.file, params, args.plot, zoom=zoom, **source)
        print(f"envelope drawn into {args.plot}" + ("" if zoom is None else f" ({zoom[0]:g} to {zoom[1]:g} s)"))
    return 0


def run_stats(args):
    from .report import clip_stats, format_stats

    print(format_stats(clip_stats(args.folder, tuple(args.target)), max_outliers=args.outliers))
    return 0


# -- warmup -----------------------------------------------------------------------


def run_warmup(args):
    _import_numba_without_blas_probe()
    from .warmup import warm_up

    seconds, compiled, loaded, folder = warm_up()
    print(f"fastslice warmup: kernels for every decoder's samples and float32/float64 analysis ready in {seconds:.1f} s "
          f"({compiled} compiled, {loaded} loaded from the cache)")
    if folder is None:
        print("fastslice: numba cannot cache the kernels here, so every process compiles them again; "
              "set NUMBA_CACHE_DIR to a writable folder", file=sys.stderr)
        return 1
    print(f"numba cache: {folder}")
    return 0


# -- demo -----------------------------------------------------------------------


def run_demo(args):
    _import_numba_without_blas_probe()
    import numpy as np
    import soundfile

    from .files import slice_file

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sr = 44100
    recording = out / "demo.wav"
    soundfile.write(recording, demo_recording(sr), sr, subtype="PCM_16")
    print("fastslice demo: slicing (the very first run also compiles fastslice's kernels, a few seconds) ...", file=sys.stderr)
    result = slice_file(recording, out / "clips", _slicer_params(args), overwrite=True)
    print(f"fastslice demo: sliced {recording} ({result.audio_seconds:.1f} s, synthetic) into {len(result.clips)} clips:")
    _print_clip_table(result.clips)
    lengths = np.array([c.end_seconds - c.start_seconds for c in result.clips])
    if len(lengths):
        print(f"clips from {lengths.min():.2f} s to {lengths.max():.2f} s; try --threshold, --min-length, ... to see them change")
    return 0


def demo_recording(sr, seconds=40.0, seed=2024):
    """Tones and noise bursts between pauses over a quiet noise floor, mono float32 (seeded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = rng.standard_normal(n) * 10 ** (-60 / 20)
    position = int(0.5 * sr)
    while position < n:
        length = min(int(rng.uniform(1.0, 5.0) * sr), n - position)
        t = np.arange(length) / sr
        if rng.uniform() < 0.5:
            burst = np.sin(2 * np.pi * rng.uniform(120, 400) * t) + 0.3 * np.sin(2 * np.pi * rng.uniform(800, 2000) * t)
        else:
            burst = rng.standard_normal(length)
        envelope = np.minimum(1, np.minimum(t, t[-1] - t) / 0.02) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
        x[position : position + length] += 0.25 * burst * envelope
        position += length + int(rng.uniform(0.4, 1.5) * sr)
    return x.astype(np.float32)


def run_export(args):
    from . import manifest
    from .exports import write_all

    root = Path(args.folder)
    if not root.is_dir():
        raise FastsliceError(f"{args.folder}: no such folder")
    try:
        exports = _exports(args, args.folder)
    except ValueError as exc:
        print(f"fastslice: {exc}", file=sys.stderr)
        return 2

    def clips():
        for _, _, listed in manifest.iter_markers(root):
            yield from listed

    if next(clips(), None) is None:
        raise FastsliceError(f"{args.folder}: no clips found (no .<stem>.fastslice.json marker under it)")
    write_all(exports, clips, args.folder, val=args.val or 0, language=args.language)
    for export in exports:
        print(f"fastslice export: {export.format} -> {export.path}")
    return 0


def run_review(args):
    from .review import review

    page, count = review(args.folder, args.out, manifest=args.manifest, target=tuple(args.target))
    print(f"fastslice review: {count} clips in {page}")
    return 0


def run_prune(args):
    from .review import prune

    moves = prune(args.folder, args.list, restore=args.restore, manifest=args.manifest)
    for source, target in moves:
        print(f"{source} -> {target}")
    print(f"fastslice prune: {len(moves)} clips {'restored' if args.restore else 'moved into ' + str(Path(args.folder) / 'dropped')}")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)

    try:
        if args.command == "slice":
            return run_slice(args)
        if args.command == "analyze":
            return run_analyze(args)
        if args.command == "tune":
            return run_tune(args)
        if args.command == "stats":
            return run_stats(args)
        if args.command == "warmup":
            return run_warmup(args)
        if args.command == "export":
            return run_export(args)
        if args.command == "review":
            return run_review(args)
        if args.command == "prune":
            return run_prune(args)
        return run_demo(args)
    except FastsliceError as exc:
        print(f"fastslice: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nfastslice: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. "fastslice analyze ... | head": the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
