"""Slice many files: expand inputs into jobs, run them on any executor, stream the results back.

``slice_files(inputs, out_dir, options, executor=...)`` expands files, folders and glob
patterns once per run (one walk of each input folder, one ``stat`` per file) into a compact
table of jobs, and hands each job out as a task that carries only its own input: a source
path, its clip folder and its stem (all absolute), with the run's one ``SliceOptions``.

Where the tasks run:

* in this process (``jobs=1``, the default);
* a pool of ``jobs`` worker processes of fastslice's own (``fastslice.batch.pool``), started (fork,
  forkserver or spawn: ``fastslice.batch.pool.start_method()``) after the kernels are compiled or
  loaded, so that the workers inherit them or find them in numba's cache, each given one file at a time: a worker that dies (the OOM killer,
  ``kill -9``) costs only its own file, which is sliced once more on a fresh worker and then,
  if that dies too, reported as failed;
* any ``concurrent.futures.Executor``, e.g. ``client.get_executor()`` of a
  ``dask.distributed.Client`` to spread a library over a cluster; a bounded number of tasks
  is in flight at once.  Workers read the inputs and write the clips themselves, so they must
  see the same paths as the caller (a shared file system, or one machine).

Results come back as each file finishes, to ``on_result``; with ``keep_results`` (the
default for the Python API) they are also gathered into the ``BatchResult``; the command line
keeps none, so that its memory does not grow with the library.  Inside, a run is two values:
``BatchRequest`` (what ``slice_files`` is asked) and ``BatchCallbacks`` (what it tells as it goes,
``fastslice.batch.callbacks``: ``slice_files``' keyword callbacks make one), given to ``run_batch``.  What follows a batch (its
manifest, zip, exports and review page) is ``fastslice.batch.finish.finish_batch``.

The inputs are expanded by ``fastslice.batch.scan`` (``expand_inputs``, ``Jobs``, ``Job``: importable
from here too).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional, Union

from .. import seams
from ..system import storage
from ..errors import FastsliceError, ParameterError
from .lock import Wait, lock_folder
from ..settings.options import SliceOptions
from ..output.outputs import sweep_work_folders
from .callbacks import BatchCallbacks, KeywordCallbacks, OnInputs, OnOutcome, OnProgress, OnResult
from .pool import EXECUTOR_IN_FLIGHT, InputDone, Outcome, Pool, on_executor
from .scan import AUDIO_EXTENSIONS, STDIN, Job, Jobs, expand_inputs

if TYPE_CHECKING:
    from ..run.files import FileResult
    from ..output.rows import Clip

__all__ = ["BatchResult", "BatchRequest", "BatchCallbacks", "slice_files", "run_batch", "run_one", "expand_inputs", "Job",
           "Jobs", "STDIN", "EXECUTOR_IN_FLIGHT", "AUDIO_EXTENSIONS", "OnResult"]


@dataclasses.dataclass
class BatchResult:
    """What ``slice_files`` did: one entry per job, in input order (with ``keep_results``)."""

    jobs: list[Job]  # Job per input
    results: list[Optional[FileResult]]  # FileResult, or None where the job failed
    errors: list[str]  # one message per failed input or unusable argument
    #: inputs in all, inputs skipped as complete, and clips (of the inputs done)
    n_inputs: int = 0
    n_failed: int = 0
    n_skipped: int = 0
    n_clips: int = 0
    audio_seconds: float = 0.0
    #: the clips this run wrote (or, dry, would write) and the audio it sliced: the inputs skipped as done not counted
    n_written: int = 0
    sliced_seconds: float = 0.0
    interrupted: bool = False
    #: the entries of the input folders skipped because they are not regular files (FIFOs, sockets,
    #: devices, broken links): how many, and the first few as ``(path, what)``
    n_not_files: int = 0
    not_files: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def done(self) -> list[FileResult]:
        """The results of the inputs done (with ``keep_results``)."""
        return [r for r in self.results if r is not None]

    @property
    def clips(self) -> list[Clip]:
        """Every clip of the inputs done, in input order (with ``keep_results``)."""
        return [c for r in self.done for c in r.clips]

    def record(self, index: int, result: Optional[FileResult], error: Optional[str], keep: bool) -> None:
        """Count one finished input (and keep its result at ``index`` with ``keep``)."""
        if keep:
            self.results[index] = result
        if error is not None or result is None:
            self.errors.append(error or "")
            self.n_failed += 1
        else:
            self.n_skipped += result.skipped
            self.n_clips += len(result.clips)
            self.audio_seconds += result.audio_seconds
            if not result.skipped:
                self.n_written += len(result.clips)
                self.sliced_seconds += result.audio_seconds
            self.interrupted = self.interrupted or result.interrupted


def slice_files(inputs: Iterable[Union[str, os.PathLike[str]]], out_dir: Union[str, os.PathLike[str]],
                options: Union[SliceOptions, Mapping[str, Any], None] = None, *,
                executor: Optional[concurrent.futures.Executor] = None, jobs: int = 1,
                progress: Optional[OnOutcome] = None, on_inputs: Optional[OnInputs] = None,
                on_result: Optional[OnResult] = None, on_progress: Optional[OnProgress] = None,
                keep_results: bool = True, stdin_stem: Optional[str] = None, wait: Wait = False,
                **settings: Any) -> BatchResult:
    """Slice files, folders and glob patterns into ``out_dir``; returns a ``BatchResult``.

    ``options`` is a ``SliceOptions``, or ``Slicer``'s keyword arguments as a dict with
    ``slice_file``'s settings as keywords (format, subtype, overwrite, dry_run, start_seconds,
    ...), made into one once.  ``executor`` runs one file per task: by default this process
    (``jobs=1``) or fastslice's pool of ``jobs`` processes.  ``threads`` (threads per file)
    defaults to one per CPU in this process, and to 1 elsewhere (the processes already use the
    cores).  Callbacks: ``on_inputs(n_files, problems)`` once the inputs are expanded;
    ``on_result(index, job, result, error)`` and ``progress(result, error)`` as each file
    finishes; ``on_progress(index, job, seconds, total_seconds)`` now and then while a long file is
    read (in this process and in fastslice's pool).  One file's failure is recorded, never raised.
    The manifest, zip, exports and review page of the batch: ``fastslice.batch.finish.finish_batch``.

    One run per output folder: ``out_dir``'s lock (``fastslice.batch.lock``) is held for the run (not for
    a dry run, nor a URL).  If another run holds it, ``FolderBusy`` is raised before anything is
    written, or with ``wait`` (True, or at most that many seconds) this run waits for it.
    """
    request = BatchRequest(tuple(inputs), out_dir, SliceOptions.coerce(options, settings), jobs=jobs,
                           executor=executor, keep_results=keep_results, stdin_stem=stdin_stem, wait=wait)
    return run_batch(request, KeywordCallbacks(on_inputs, on_result, progress, on_progress))


@dataclasses.dataclass(frozen=True)
class BatchRequest:
    """What a batch run is asked: ``slice_files``' arguments, its callbacks apart (``run_batch``)."""

    inputs: tuple[Union[str, os.PathLike[str]], ...]  # files, folders, glob patterns, URLs, "-"
    out_dir: Union[str, os.PathLike[str]]
    options: SliceOptions
    jobs: int = 1  # processes of fastslice's pool (1: this process)
    executor: Optional[concurrent.futures.Executor] = None  # runs one file per task instead
    keep_results: bool = True  # every FileResult kept in the BatchResult
    stdin_stem: Optional[str] = None  # the stem of standard input's clips (None: "stdin")
    wait: Wait = False  # for another run that holds the output folder's lock

    def in_process(self, n_inputs: int) -> bool:
        """Whether the inputs are sliced in this process (no executor, and one process or one input)."""
        return self.executor is None and (self.jobs == 1 or n_inputs <= 1)


def run_batch(request: BatchRequest, callbacks: BatchCallbacks = BatchCallbacks()) -> BatchResult:
    """``slice_files`` of a ``BatchRequest``, telling ``callbacks`` as it goes: the output folder's lock
    taken (again, for a caller that holds it: the command line), then the inputs expanded and sliced."""
    options = request.options
    with contextlib.nullcontext(None) if options.dry_run else lock_folder(request.out_dir, request.wait) as folder_lock:
        if folder_lock is not None and folder_lock.note is not None:
            warnings.warn(folder_lock.note, stacklevel=4)  # slice_files' caller's caller, as ever
        return _slice(request, callbacks)


def _slice(request: BatchRequest, callbacks: BatchCallbacks) -> BatchResult:
    """``run_batch``'s run, with its output folder's lock held."""
    options, out_dir = request.options, request.out_dir
    table, problems = expand_inputs(request.inputs, out_dir, options, stdin_stem=request.stdin_stem or "stdin")
    if table.has_stdin and (request.executor is not None or len(table) > 1):
        raise ParameterError("'-' (standard input) must be the only input, sliced in this process (no --dask)")
    callbacks.inputs_expanded(len(table), problems)
    batch = BatchResult([], [], list(problems), n_inputs=len(table), n_not_files=table.not_files.count,
                        not_files=list(table.not_files.first))
    if request.keep_results:
        batch.jobs = [table[i] for i in range(len(table))]
        batch.results = [None] * len(table)
    if not request.in_process(len(table)) and options.threads is None:
        options = options.replace(threads=1)
    order = table.largest_first()
    if storage.is_url(str(out_dir)) and not (options.overwrite or options.dry_run or table.has_stdin):
        table.listing = storage.Listing.of(str(out_dir).rstrip("/"), options.storage_options)  # once per run
    try:
        for index, job, result, error in _outcomes(request, options, table, order, callbacks):
            batch.record(index, result, error, request.keep_results)
            callbacks.input_done(index, job, result, error)
    finally:
        if not options.dry_run:  # the work folders, with what workers that died (or earlier runs) left
            sweep_work_folders([f for f in table.records_folders() if not storage.is_url(f)], table.stems_in)
    return batch


def _outcomes(request: BatchRequest, options: SliceOptions, table: Jobs, order: list[int],
              callbacks: BatchCallbacks) -> Iterator[InputDone]:
    """Slice the inputs in ``order`` (with ``options``: the request's, threads set for a pool): here, on
    fastslice's pool, or on the request's executor; yield each as it finishes."""
    if request.in_process(len(table)):
        for index in order:
            job = table[index]
            watch = _watch(callbacks, index, job) if callbacks.follows_progress else None
            yield (index, job, *run_one(job, options, on_progress=watch, listed=table.listed(index, options)))
    elif request.executor is None:
        from .warmup import warm_command_line

        # Compile (or load) the kernels here, once, before the workers start: a forked worker inherits
        # them, a spawned one loads them from numba's cache.
        warm_command_line()
        yield from Pool(request.jobs, options, run_one, callbacks).run(table, order)
    else:
        yield from on_executor(request.executor, table, order, options, run_one)


def _watch(callbacks: BatchCallbacks, index: int, job: Job) -> Callable[[float, Optional[float]], None]:
    def watch(seconds: float, total: Optional[float]) -> None:
        callbacks.input_progress(index, job, seconds, total)

    return watch


def run_one(job: Job, options: SliceOptions, on_progress: Optional[Callable[[float, Optional[float]], None]] = None,
            listed: Optional[dict[str, int]] = None) -> Outcome:
    """Slice one input (in whatever process); returns (FileResult or None, error message or None).
    ``listed``: what the run's listing of a bucket output found of this input's objects.  Once its
    clips and marker are committed, the seam "input-done" is reached (in this process)."""
    from ..run.files import slice_file

    source, folder, stem, speaker, records = job
    try:
        if source == STDIN:
            result = slice_file(sys.stdin.buffer, folder, options, stem=stem, speaker=speaker, records=records,
                                on_progress=on_progress, sweep=False)
        else:
            result = slice_file(source, folder, options, stem=stem, speaker=speaker, records=records, listed=listed,
                                on_progress=on_progress, sweep=False)
    except FastsliceError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{source}: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    except Exception as exc:  # a defect: reported for this input, the others go on
        message: str = storage.redact(f"{storage.public(source)}: fastslice failed on it ({type(exc).__name__}: "
                                      f"{exc}); please report this", options.storage_options)
        return None, message
    seams.reach("input-done")
    return result, None
