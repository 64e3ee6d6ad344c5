"""Where a run's tasks go when not in this process: fastslice's own pool of worker processes, or any executor.

``Pool(size, options, run, callbacks)``: ``size`` worker processes (started after the parent has compiled
or loaded the kernels, so that they find them in numba's cache), each given one file at a
time.  A worker that dies (the OOM killer, ``kill -9``, TerminateProcess) costs only its own
file, which is sliced once more on a fresh worker and then, if that dies too, reported as failed.
How far a long file has got is told to ``callbacks.input_progress`` (``batch.callbacks``).

How the workers start (``start_method()``): ``FASTSLICE_START_METHOD`` (fork, forkserver or
spawn) where it is set; else fork where it is safe (Linux and other POSIX systems but macOS,
and only while this process has a single thread: forking a process with threads, a notebook
kernel's, can hang the child); else forkserver where the system has it; else spawn (Windows,
and macOS, where spawn is Python's default).  Everything a worker is sent is picklable, so that
spawn and forkserver work as fork does.

Stopping workers on Ctrl-C: where the system has a graceful signal (``STOP_SIGNAL``, SIGTERM on
POSIX), the worker is sent it and removes what it wrote of the file in hand itself.  Where it has
none (Windows: ``os.kill`` is TerminateProcess there), the worker is killed and this process
removes the temporaries of the file it had (``clean_after``).

``on_executor(executor, table, order, options, run)``: the files as tasks on any
``concurrent.futures.Executor`` (e.g. a ``dask.distributed`` client's), at most
``EXECUTOR_IN_FLIGHT`` at a time.

``run(job, options, on_progress=..., listed=...)`` slices one input and returns ``(result,
error)`` (``batch.run_one``); it is passed in, so that it is looked up when a run starts.
"""
from __future__ import annotations

import collections
import concurrent.futures
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union, cast

from . import lock
from .. import seams
from ..errors import ParameterError
from ..output.outputs import InputOutput
from .scan import STDIN, Job, Jobs

if TYPE_CHECKING:
    from ..run.files import FileResult
    from .callbacks import BatchCallbacks
    from ..settings.options import SliceOptions

#: The environment variable that chooses how workers start: fork, forkserver or spawn.
START_METHOD_ENV = "FASTSLICE_START_METHOD"
#: The start methods fastslice's pool knows, in the order of the rule's preference.
START_METHODS = ("fork", "forkserver", "spawn")
#: The signal that asks a worker to stop and remove what it wrote of its file (it handles it), or
#: None where the system has no such signal (Windows: ``os.kill`` is TerminateProcess, which runs
#: no clean-up): the worker is then killed and the parent removes the temporaries of its file.
STOP_SIGNAL: Optional[int] = getattr(signal, "SIGTERM", None) if os.name == "posix" else None

#: Tasks in flight at once on an executor that is not fastslice's own pool.
EXECUTOR_IN_FLIGHT = 256

#: ``(result, error)``: an input's ``FileResult``, or None and the message of its failure.
Outcome = tuple[Optional["FileResult"], Optional[str]]
#: ``(index, job, result, error)`` of a finished input.
InputDone = tuple[int, Job, Optional["FileResult"], Optional[str]]


def start_method() -> str:
    """How fastslice's pool starts its workers on this platform, in this process: ``"fork"``,
    ``"forkserver"`` or ``"spawn"``.

    ``FASTSLICE_START_METHOD`` wins where it is set (a method this platform lacks is a
    ``ParameterError`` naming the variable and the methods it has).  Otherwise: fork where the
    platform has it and it is safe (not macOS, whose system libraries do not survive a fork, and only
    while this process runs one thread, ``threading.active_count() == 1``: a notebook kernel has
    threads, and forking it is what hangs in Colab); else forkserver where the platform has it;
    else spawn (Windows, macOS).
    """
    available = multiprocessing.get_all_start_methods()
    chosen = os.environ.get(START_METHOD_ENV, "").strip().lower()
    if chosen:
        if chosen not in START_METHODS or chosen not in available:
            have = ", ".join(m for m in START_METHODS if m in available)
            raise ParameterError(f"{START_METHOD_ENV}={os.environ[START_METHOD_ENV]!r} is not a start method this "
                                 f"platform has: set it to one of {have}, or unset it to let fastslice choose")
        return chosen
    if "fork" in available and sys.platform != "darwin" and threading.active_count() == 1:
        return "fork"
    if "forkserver" in available and sys.platform != "darwin":
        return "forkserver"
    return "spawn"


def context(method: Optional[str] = None) -> multiprocessing.context.BaseContext:
    """The ``multiprocessing`` context of ``method`` (default: ``start_method()``); a method the
    platform refuses is a ``ParameterError`` naming ``FASTSLICE_START_METHOD``."""
    method = method or start_method()
    try:
        return multiprocessing.get_context(method)
    except ValueError as exc:
        raise ParameterError(f"{START_METHOD_ENV}: the start method {method!r} cannot be used here ({exc}); set "
                             f"{START_METHOD_ENV} to spawn, or unset it") from None


class RunOne(Protocol):
    """Slices one input in whatever process (``batch.run_one``)."""

    def __call__(self, job: Job, options: SliceOptions, *,
                 on_progress: Optional[Callable[[float, Optional[float]], None]] = None,
                 listed: Optional[dict[str, int]] = None) -> Outcome: ...


# (index, attempts, why) of a task given to a worker
_Task = tuple[int, int, Optional[str]]


class Pool:
    """``size`` worker processes, one file each at a time, started by ``start_method()`` (or
    ``method``).  A worker that dies costs only the file it had: that file is given once more to a
    fresh worker, then reported."""

    ATTEMPTS = 2

    def __init__(self, size: int, options: SliceOptions, run: RunOne, callbacks: Optional[BatchCallbacks] = None,
                 method: Optional[str] = None) -> None:
        self.size, self.options, self.run_one, self.callbacks = size, options, run, callbacks
        self._context = context(method)
        self.method: str = self._context.get_start_method()

    def run(self, table: Jobs, order: Iterable[int]) -> Iterator[InputDone]:
        """Yield ``(index, job, result, error)`` as files finish."""
        waiting: collections.deque[int] = collections.deque(order)
        again: collections.deque[_Task] = collections.deque()  # files whose worker died: for fresh workers
        workers: list[Worker] = []
        busy: dict[Worker, _Task] = {}
        try:
            while waiting or again or busy:
                self._staff(workers, busy, waiting, again)
                self._hand_out(workers, busy, waiting, again, table)
                if not busy:
                    continue
                ready = set(multiprocessing.connection.wait([w.conn for w in busy] +
                                                            [w.process.sentinel for w in busy]))
                for worker in [w for w in busy if w.conn in ready or w.process.sentinel in ready]:
                    yield from self._collect(worker, workers, busy, again, table)
        except BaseException:
            self._interrupt(workers, busy, table)
            raise
        self._stop(workers)

    def _staff(self, workers: list[Worker], busy: dict[Worker, _Task], waiting: collections.deque[int],
               again: collections.deque[_Task]) -> None:
        """Start the workers the files need (a fresh one for a file to retry, an idle one making room)."""
        idle = [w for w in workers if w not in busy]
        if again and not any(w.fresh for w in idle):  # a file to retry needs a fresh worker
            if len(workers) >= self.size and idle:
                self._stop([idle[0]])  # an idle one makes room for it
                workers.remove(idle[0])
            if len(workers) < self.size:
                workers.append(self._start())
        while len(workers) < min(self.size, len(waiting) + len(again) + len(busy)):
            workers.append(self._start())

    def _hand_out(self, workers: list[Worker], busy: dict[Worker, _Task], waiting: collections.deque[int],
                  again: collections.deque[_Task], table: Jobs) -> None:
        """Give each idle worker a file (a file to retry only to a fresh one)."""
        for worker in list(workers):
            if worker in busy or not (again and worker.fresh or waiting):
                continue
            task = again.popleft() if again and worker.fresh else (waiting.popleft(), 1, None)
            try:
                worker.conn.send((task[0], table[task[0]], table.listed(task[0], self.options)))
            except (OSError, ValueError):  # it died while idle: the task goes to another
                if task[1] > 1:
                    again.appendleft(task)
                else:
                    waiting.appendleft(task[0])
                workers.remove(worker)
                worker.process.join()
                continue
            worker.fresh.clear()
            busy[worker] = task

    def _collect(self, worker: Worker, workers: list[Worker], busy: dict[Worker, _Task],
                 again: collections.deque[_Task], table: Jobs) -> Iterator[InputDone]:
        """What a ready worker has: progress passed on, its outcome yielded, or its death handled."""
        index, attempts, why = busy[worker]
        finished = self._messages(worker, index, table)
        if finished is _ALIVE:
            return
        del busy[worker]
        if finished is not _DIED:
            result, error = cast(Outcome, finished)
            if why is not None and result is not None:
                result.warnings.insert(0, f"{table[index].source}: {why}; sliced again on a fresh worker")
            yield index, table[index], result, error
            return
        workers.remove(worker)  # it died with the file unfinished
        worker.process.join()
        died = f"the worker slicing it died ({how(worker.process.exitcode)})"
        if attempts < self.ATTEMPTS:
            again.append((index, attempts + 1, died))
        else:
            clean_after(table[index])
            yield index, table[index], None, (f"{table[index].source}: {died}, twice (it was given to a "
                                              "fresh worker once); not sliced")

    def _messages(self, worker: Worker, index: int, table: Jobs) -> Union[Outcome, object]:
        """Read what a worker sent: progress is passed on.  Returns its outcome once it sends it,
        ``_DIED`` if it ended without one, else ``_ALIVE``."""
        try:
            while worker.conn.poll():
                kind, *rest = worker.conn.recv()
                if kind == "progress":
                    if self.callbacks is not None and self.callbacks.follows_progress:
                        self.callbacks.input_progress(index, table[index], *rest)
                else:
                    outcome: Outcome = rest[0]
                    return outcome
        except (EOFError, OSError):
            return _DIED
        return _ALIVE if worker.process.is_alive() else _DIED

    def _start(self) -> Worker:
        parent, child = self._context.Pipe()
        # The seams folder goes along: a forkserver's children have the server's environment, not this one's.
        # A spawned or forkserver worker keeps duplicates of the run's folder locks (POSIX): if the
        # run is killed, the folder stays locked until the worker has ended too, as a forked one does.
        held = Descriptors(lock.held_descriptors() if self.method != "fork" and os.name == "posix" else [])
        args = (child, self.options, self.run_one, os.environ.get(seams.ENV), held)
        process: BaseProcess = cast(Any, self._context).Process(target=work, args=args, daemon=True,
                                                                name="fastslice-worker")
        process.start()
        child.close()
        return Worker(process, parent, [True])

    @staticmethod
    def _interrupt(workers: list[Worker], busy: dict[Worker, _Task], table: Jobs) -> None:
        """Stop every worker at once (Ctrl-C, an error here): each removes what it wrote of the file in
        hand on ``STOP_SIGNAL``; where there is none, it is killed and its file's temporaries removed here."""
        graceful = STOP_SIGNAL
        if graceful is None:
            for worker in workers:
                worker.process.kill()  # TerminateProcess on Windows: no clean-up in the worker
            for worker in workers:
                worker.process.join()
                if worker in busy:
                    clean_after(table[busy[worker][0]])
                worker.conn.close()
            return
        for worker in workers:
            if worker.process.pid is not None and worker.process.exitcode is None:
                try:
                    os.kill(worker.process.pid, graceful)
                except OSError:  # it has ended meanwhile
                    pass
        Pool._join(workers)

    @staticmethod
    def _stop(workers: list[Worker]) -> None:
        """Tell idle workers to end, and wait for them."""
        for worker in workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        Pool._join(workers)

    @staticmethod
    def _join(workers: list[Worker]) -> None:
        for worker in workers:
            worker.process.join(timeout=30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


class Worker:
    """A pool process, the parent's end of its pipe, and ``fresh`` (non-empty until it takes a file)."""

    __slots__ = ("process", "conn", "fresh")

    def __init__(self, process: BaseProcess, conn: Connection, fresh: list[bool]) -> None:
        self.process, self.conn, self.fresh = process, conn, fresh


_ALIVE, _DIED = object(), object()


class Descriptors:
    """Open file descriptors a worker keeps for its lifetime: pickled for a spawned or forkserver
    worker as duplicates (``multiprocessing.reduction.DupFd``, while the worker is started)."""

    def __init__(self, fds: Iterable[int]) -> None:
        self.fds = list(fds)

    def __reduce__(self) -> tuple[Any, ...]:
        from multiprocessing import reduction

        return (Descriptors.rebuild, ([reduction.DupFd(fd) for fd in self.fds],))

    @staticmethod
    def rebuild(duplicates: list[Any]) -> Descriptors:
        """In the worker: the duplicates, open."""
        return Descriptors(duplicate.detach() for duplicate in duplicates)


def work(conn: Connection, options: SliceOptions, run: RunOne, seams_folder: Optional[str] = None,
         held: Optional[Descriptors] = None) -> None:
    """A pool worker: slice the files it is sent, one at a time, until told to stop (``None``, or
    ``STOP_SIGNAL``).  ``seams_folder``: the parent's ``FASTSLICE_SEAMS``, for tests."""
    if seams_folder is not None:
        os.environ[seams.ENV] = seams_folder
    # Ctrl-C is the parent's to handle (a terminal sends it to every process of the group, a
    # Windows console to every process attached to it): the parent stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        signal.signal(signum, signal.SIG_IGN)
        raise KeyboardInterrupt

    parent = multiprocessing.parent_process()
    gone = [parent.sentinel] if parent is not None and parent.sentinel is not None else []

    def progress(seconds: float, total: Optional[float]) -> None:
        if gone and multiprocessing.connection.wait(gone, 0):  # the run died: abandon the file (cleaned up)
            raise KeyboardInterrupt
        conn.send(("progress", seconds, total))

    graceful = getattr(signal, "SIGTERM", None) if os.name == "posix" else None
    if graceful is not None:
        signal.signal(graceful, stop)
    try:
        while True:
            # A worker whose run has died ends (a forked sibling may hold this pipe's other end open).
            if conn not in multiprocessing.connection.wait([conn, *gone]):
                return
            task = conn.recv()
            if task is None:
                return
            index, job, listed = task
            seams.reach("worker-task")
            outcome = run(job, options, on_progress=progress, listed=listed)
            conn.send(("done", outcome))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return


def clean_after(job: Job) -> None:
    """What a worker that died left of a file it had (its temporaries), removed from here."""
    if job.source != STDIN:
        InputOutput(job.folder, job.stem, job.records).sweep()


def how(exitcode: Optional[int]) -> str:
    """How a worker process ended, in words (its signal, or its exit status)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        killed = getattr(signal, "SIGKILL", None)  # POSIX only: Windows reports no signals
        return f"killed by {name}" + (": out of memory, or kill -9" if -exitcode == killed else "")
    return f"exit status {exitcode}"


def executor_task(run: RunOne, job: Job, options: SliceOptions, listed: Optional[dict[str, int]]) -> Outcome:
    """One input as a task on an executor's worker: ``run`` (``batch.run_one``), after the seam "worker-task"."""
    seams.reach("worker-task")
    return run(job, options, listed=listed)


def on_executor(executor: concurrent.futures.Executor, table: Jobs, order: Iterable[int], options: SliceOptions,
                run: RunOne) -> Iterator[InputDone]:
    """Run the jobs on ``executor``, at most ``EXECUTOR_IN_FLIGHT`` at a time; yield results as they come."""
    pending = iter(order)
    running: dict[concurrent.futures.Future[Any], tuple[int, Job]] = {}
    try:
        while True:
            while len(running) < EXECUTOR_IN_FLIGHT:
                index = next(pending, None)
                if index is None:
                    break
                job = table[index]
                running[executor.submit(executor_task, run, job, options, table.listed(index, options))] = (index, job)
            if not running:
                return
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                index, job = running.pop(future)
                try:
                    result, error = future.result()
                except Exception as exc:  # the worker died (killed, out of memory) or the task was lost
                    clean_after(job)
                    result, error = None, f"{job.source}: the worker failed ({type(exc).__name__}: {exc})"
                yield index, job, result, error
    except BaseException:
        for future in running:
            future.cancel()
        raise
