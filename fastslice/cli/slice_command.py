"""``fastslice slice``: check the command line's options once, slice, finish the batch, report.

The work is ``batch.run_batch`` (``slice_files``' run, told to this module's reporter, a
``BatchCallbacks``) and ``finish.finish_batch``; this module holds what only a
terminal needs: the progress line, the per-file notes, the summary, Dask's executor, and the exit
status (0; 1 if an input failed; 2 for a bad command line; 75 when another run is writing into
OUT_DIR; 130 when interrupted).  The output folder's lock (``fastslice.batch.lock``) is held across the
whole run, the slicing and its finish; ``--wait [SECONDS]`` waits for a run that holds it.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import gc
import math
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, TextIO

from ..batch.callbacks import BatchCallbacks
from ..settings.declarations import settings_of, slicer_params_of
from ..errors import FastsliceError

#: The exit status of a run refused because another run is writing into its output folder (EX_TEMPFAIL).
BUSY_STATUS = 75

if TYPE_CHECKING:
    from ..batch.batch import BatchResult
    from ..output.exports import Export
    from ..run.files import FileResult
    from ..batch.lock import FolderLock
    from ..output.records import RunRecords
    from ..output.rows import Clip
    from ..settings.options import SliceOptions
    from ..batch.scan import Job


class Progress:
    """One line on a terminal: files done, hours of audio, speed, and how far a long file has got."""

    _EVERY = 0.2  # seconds between redraws for progress within a file

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done = 0
        self.audio_seconds = 0.0
        self.started = time.perf_counter()
        self._within: dict[Optional[int], tuple[str, float, Optional[float]]] = {}  # index -> (name, read, total)
        self._drawn = 0.0
        self.width = 0  # of the line drawn last (0: none)

    def update(self, audio_seconds: float, index: Optional[int] = None) -> None:
        """A file is finished (``audio_seconds`` of audio)."""
        self._within.pop(index, None)
        self.done += 1
        self.audio_seconds += audio_seconds
        self._draw()

    def within(self, index: int, name: str, seconds: float, total: Optional[float]) -> None:
        """How far the file ``index`` has got: ``seconds`` read of ``total`` (None: not known)."""
        self._within[index] = (name, seconds, total)
        if time.perf_counter() - self._drawn >= self._EVERY:
            self._draw()

    def line(self) -> str:
        """The progress line as it is now."""
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

    def _draw(self) -> None:
        if not self.enabled:
            return
        self._drawn = time.perf_counter()
        text = self.line()
        self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
        self.width = len(text)
        self.stream.flush()

    def close(self) -> None:
        """End the line (the terminal's next output starts on its own)."""
        if self.enabled and (self.done or self.width):
            self.stream.write("\n")


def slice_options(args: argparse.Namespace) -> SliceOptions:
    """The ``SliceOptions`` of a ``slice`` command line (``ParameterError`` for a bad one): every declared flag."""
    from ..settings.options import SliceOptions

    return SliceOptions.make(slicer_params_of(args), **settings_of(args))


def check_command(args: argparse.Namespace, options: SliceOptions) -> list[Export]:
    """The rules of ``slice``'s other flags, checked before any work; returns the exports."""
    from ..batch.finish import check_finish

    if args.jobs < 1:
        raise FastsliceError(f"--jobs={args.jobs} must be >= 1")
    exports = check_finish(args.out, options, manifest_path=args.manifest, zip_path=args.zip, exports=args.exports,
                           val=args.val, language=args.language)
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
    check_output_folder(args.out, args.dry_run)
    return exports


class _Reporter(BatchCallbacks):
    """What ``slice`` does as the batch goes (its ``BatchCallbacks``): the progress line, and as each file
    finishes its notes, -v's line, the clips kept for the end, labels."""

    def __init__(self, args: argparse.Namespace, options: SliceOptions, keep_clips: bool) -> None:
        self.args, self.options, self.keep_clips = args, options, keep_clips
        self.progress = Progress(0, sys.stderr, enabled=not args.quiet and not args.dry_run and sys.stderr.isatty())
        self.records: Optional[RunRecords] = None

    @property
    def follows_progress(self) -> bool:
        """Yes: the progress line shows how far a long file has got."""
        return True

    def inputs_expanded(self, n_inputs: int, problems: list[str]) -> None:
        from ..output.records import RunRecords

        for problem in problems:
            print(f"fastslice: error: {problem}", file=sys.stderr)
        self.progress.total = n_inputs
        if self.keep_clips:
            self.records = RunRecords(n_inputs)

    def input_done(self, index: int, job: Job, result: Optional[FileResult], error: Optional[str]) -> None:
        progress = self.progress
        notes = [f"error: {error}"] if error is not None or result is None else [f"warning: {w}" for w in result.warnings]
        if notes and progress.enabled and (progress.done or progress.width):
            progress.stream.write("\n")
        for note in notes:
            print(f"fastslice: {note}", file=sys.stderr)
        if result is not None:
            if self.args.verbose:
                print(f"fastslice: {file_summary(result)}", file=sys.stderr)
            if self.records is not None:
                self.records.add(index, result.clips)
            if self.args.labels and not self.args.dry_run:
                from ..batch.finish import write_input_labels

                write_input_labels(job, result, self.options)
        progress.update(0.0 if result is None else result.audio_seconds, index)

    def input_progress(self, index: int, job: Job, seconds: float, total: Optional[float]) -> None:
        self.progress.within(index, job.stem if job.source == "-" else job.source, seconds, total)

    def clips(self) -> Iterable[Clip]:
        return self.records.clips() if self.records is not None else ()


def add_wait_flag(parser: argparse.ArgumentParser) -> None:
    """``--wait [SECONDS]``: the flag of ``slice`` that waits for another run writing into OUT_DIR."""
    parser.add_argument("--wait", nargs="?", type=float, const=math.inf, default=0.0, metavar="SECONDS",
                        help="if another run is writing into OUT_DIR, wait for it to end (at most SECONDS) instead "
                        "of refusing (exit status 75)")


def run_slice(args: argparse.Namespace) -> int:
    """``fastslice slice``: returns the exit status."""
    try:  # check the options once, before any work
        options = slice_options(args)
        exports = check_command(args, options)
    except (FastsliceError, ValueError) as exc:
        from ..settings.declarations import command_line_message
        from ..errors import ParameterError

        print(f"fastslice: {command_line_message(exc) if isinstance(exc, ParameterError) else exc}", file=sys.stderr)
        return 2
    from ..batch.lock import FolderBusy, lock_folder

    if args.dry_run:
        return _run(args, options, exports)
    try:
        with lock_folder(args.out, getattr(args, "wait", 0.0), hint="--wait", on_wait=_say_waiting) as folder_lock:
            for note in ([folder_lock.note] if folder_lock.note else []) + _taken_over(folder_lock):
                print(f"fastslice: {note}", file=sys.stderr)
            return _run(args, options, exports)
    except FolderBusy as exc:
        print(f"fastslice: error: {exc}", file=sys.stderr)
        return BUSY_STATUS


def _say_waiting(message: str) -> None:
    print(f"fastslice: {message}", file=sys.stderr, flush=True)


def _taken_over(folder_lock: FolderLock) -> list[str]:
    if folder_lock.taken_over is None:
        return []
    return [f"{folder_lock.folder}: taken over from a run that ended without finishing ({folder_lock.taken_over.describe()}); "
            "what it left half written is swept"]


def _run(args: argparse.Namespace, options: SliceOptions, exports: list[Export]) -> int:
    """Slice and finish (the output folder's lock held, unless a dry run); the exit status."""
    from ..batch.batch import BatchRequest, run_batch

    # numba's import leaves some hundred thousand objects that every full collection of Python's
    # garbage collector would walk again, while the blocks of a long file go by: set them aside
    # (1 h of WAV: 1.2-1.3 s -> 1.04 s, whole process).
    gc.freeze()
    reporter = _Reporter(args, options, keep_clips=bool(args.manifest or args.zip or args.dry_run or exports))
    started = time.perf_counter()
    try:
        with DaskExecutor(args.dask, args.jobs) as executor:
            request = BatchRequest(tuple(args.inputs), args.out, options, jobs=args.jobs, executor=executor,
                                   keep_results=False, stdin_stem=args.stem)
            batch = run_batch(request, reporter)
        reporter.progress.close()
        if args.dry_run:
            print_clip_table(reporter.clips())
        else:
            _finish(args, batch, options, exports, reporter)
    finally:
        if reporter.records is not None:
            reporter.records.close()
    return _summary(args, batch, time.perf_counter() - started)


def _finish(args: argparse.Namespace, batch: BatchResult, options: SliceOptions, exports: list[Export],
            reporter: _Reporter) -> None:
    from ..batch.finish import finish_batch

    done = finish_batch(batch, args.out, manifest=args.manifest, zip=args.zip, exports=exports, val=args.val or 0,
                        language=args.language, review=args.review, options=options, clips=reporter.clips)
    if done.review is not None and not args.quiet:
        print(f"fastslice: review page: {done.review}", file=sys.stderr)


def _summary(args: argparse.Namespace, batch: BatchResult, elapsed: float) -> int:
    failures = len(batch.errors)
    if not args.quiet:
        print(f"fastslice: {summary_line(batch, dry_run=args.dry_run, elapsed=elapsed)}", file=sys.stderr)
    if batch.interrupted:
        print("fastslice: interrupted; the clips finished until then are kept", file=sys.stderr)
        return 130
    return 1 if failures else 0


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def summary_line(batch: BatchResult, dry_run: bool = False, elapsed: Optional[float] = None) -> str:
    """What a run did, in words: ``3 files (2 already done, 1 failed), wrote 0 clips from 0.000 h of audio
    in 0.52 s`` (``elapsed``: its seconds, if given).

    The files are the inputs of the run; those already done (skipped) and those that failed are
    among them.  The clips and hours are those this run wrote (sliced), not those of the inputs
    already done.  Inputs and arguments set aside before slicing (a clash, a missing file) are
    counted after, as errors; then the entries of the input folders skipped because they are not
    regular files (``skipped 2 entries that are not regular files: lib/pipe (FIFO), lib/sock (socket)``)."""
    line = (f"{_count(batch.n_inputs, 'file')} ({batch.n_skipped} already done, {batch.n_failed} failed), "
            f"{'would write' if dry_run else 'wrote'} {_count(batch.n_written, 'clip')} "
            f"from {batch.sliced_seconds / 3600:.3f} h of audio" + ("" if elapsed is None else f" in {elapsed:.2f} s"))
    set_aside = len(batch.errors) - batch.n_failed
    if set_aside > 0:
        line += f"; {_count(set_aside, 'input')} not sliced (the errors above)"
    if batch.n_not_files:
        named = ", ".join(f"{_shown(path)} ({what})" for path, what in batch.not_files)
        more = ", ..." if batch.n_not_files > len(batch.not_files) else ""
        that = "that is not a regular file" if batch.n_not_files == 1 else "that are not regular files"
        entries = "1 entry" if batch.n_not_files == 1 else f"{batch.n_not_files} entries"
        line += f"; skipped {entries} {that}: {named}{more}"
    return line


def _shown(path: str) -> str:
    """A path as the summary shows it: relative under the working folder, else as it is."""
    here = os.getcwd() + os.sep
    return os.path.relpath(path) if path.startswith(here) else path


def file_summary(result: FileResult) -> str:
    """-v's line for a file: its clips and seconds, and the threshold auto chose."""
    if result.skipped:
        return f"{result.source}: already done ({len(result.clips)} clips)"
    seconds = sum(c.end_seconds - c.start_seconds for c in result.clips)
    n = len(result.clips)
    line = f"{result.source}: {n} clip{'' if n == 1 else 's'}, {seconds:.1f} s of {result.audio_seconds:.1f} s"
    if result.threshold_choice is not None:
        line += f"; {result.threshold_choice.summary()}"  # type: ignore[attr-defined]
    return line + (" (interrupted)" if result.interrupted else "")


def check_output_folder(out: str, dry_run: bool) -> None:
    """-o must be a folder fastslice can write in (made if missing); a URL is checked by its first upload."""
    from ..system.storage import is_url

    if is_url(str(out)):
        return
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise FastsliceError(f"-o {folder}: exists and is not a folder")
    if dry_run:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".fastslice-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FastsliceError(f"-o {folder}: cannot write in it ({exc.strerror or exc})") from None


class DaskExecutor:
    """The executor ``--dask ADDRESS`` asks for (None without it: ``slice_files``' own), closed on exit;
    ``"local"``: a LocalCluster of ``jobs`` workers."""

    def __init__(self, address: Optional[str], jobs: int) -> None:
        self.address, self.jobs = address, jobs
        self.client: Any = None
        self.cluster: Any = None
        self.executor: Optional[concurrent.futures.Executor] = None

    def __enter__(self) -> Optional[concurrent.futures.Executor]:
        if self.address is None:
            return None
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise FastsliceError("--dask needs dask.distributed: pip install 'fastslice[dask]'") from None
        if self.address == "local":
            self.cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.address, timeout=10)
            except OSError as exc:
                raise FastsliceError(f"--dask {self.address}: cannot reach the scheduler in 10 s ({exc})") from None
        self.executor = self.client.get_executor(pure=False, retries=1)
        return self.executor

    def __exit__(self, kind: Optional[type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False)
        for closeable in (self.client, self.cluster):
            if closeable is not None:
                closeable.close()


def print_clip_table(clips: Iterable[Clip]) -> None:
    """The clips as a table on standard output (paths under the working folder relative)."""
    print(f"{'clip':<40} {'start (s)':>10} {'end (s)':>10} {'length (s)':>10}")
    here = os.getcwd() + os.sep
    for c in clips:
        name = os.path.relpath(c.clip) if c.clip.startswith(here) else c.clip  # under the working folder: relative
        print(f"{name:<40} {c.start_seconds:>10.3f} {c.end_seconds:>10.3f} {c.end_seconds - c.start_seconds:>10.3f}")
