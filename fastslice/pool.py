"""Where a run's tasks go when not in this process: fastslice's own pool of forked workers, or any executor.

``Pool(size, options, run)``: ``size`` forked worker processes (forked after the kernels are
loaded), each given one file at a time.  A worker that dies (the OOM killer, ``kill -9``)
costs only its own file, which is sliced once more on a fresh worker and then, if that dies
too, reported as failed.

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
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union, cast

from . import seams
from .outputs import InputOutput
from .scan import STDIN, Job, Jobs

if TYPE_CHECKING:
    from .files import FileResult
    from .options import SliceOptions

#: Tasks in flight at once on an executor that is not fastslice's own pool.
EXECUTOR_IN_FLIGHT = 256

#: ``(result, error)``: an input's ``FileResult``, or None and the message of its failure.
Outcome = tuple[Optional["FileResult"], Optional[str]]
#: ``(index, job, result, error)`` of a finished input.
Finished = tuple[int, Job, Optional["FileResult"], Optional[str]]
#: ``(index, job, seconds, total_seconds)``: how far a long input has got.
OnProgress = Callable[[int, Job, float, Optional[float]], None]


class RunOne(Protocol):
    """Slices one input in whatever process (``batch.run_one``)."""

    def __call__(self, job: Job, options: SliceOptions, *,
                 on_progress: Optional[Callable[[float, Optional[float]], None]] = None,
                 listed: Optional[dict[str, int]] = None) -> Outcome: ...


# (index, attempts, why) of a task given to a worker
_Task = tuple[int, int, Optional[str]]


class Pool:
    """``size`` forked worker processes, one file each at a time.  A worker that dies costs only the
    file it had: that file is given once more to a fresh worker, then reported."""

    ATTEMPTS = 2

    def __init__(self, size: int, options: SliceOptions, run: RunOne, on_progress: Optional[OnProgress] = None) -> None:
        self.size, self.options, self.run_one, self.on_progress = size, options, run, on_progress
        self._context = multiprocessing.get_context("fork")

    def run(self, table: Jobs, order: Iterable[int]) -> Iterator[Finished]:
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
            self._stop(workers, interrupt=True)
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
                 again: collections.deque[_Task], table: Jobs) -> Iterator[Finished]:
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
                    if self.on_progress is not None:
                        self.on_progress(index, table[index], *rest)
                else:
                    outcome: Outcome = rest[0]
                    return outcome
        except (EOFError, OSError):
            return _DIED
        return _ALIVE if worker.process.is_alive() else _DIED

    def _start(self) -> Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=work, args=(child, self.options, self.run_one), daemon=True,
                                        name="fastslice-worker")
        process.start()
        child.close()
        return Worker(process, parent, [True])

    @staticmethod
    def _stop(workers: list[Worker], interrupt: bool = False) -> None:
        for worker in workers:
            try:
                if interrupt:  # the file in hand is cleaned up, then the worker ends
                    if worker.process.pid is not None:
                        os.kill(worker.process.pid, signal.SIGTERM)
                else:
                    worker.conn.send(None)
            except (OSError, ValueError):
                pass
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


def work(conn: Connection, options: SliceOptions, run: RunOne) -> None:
    """A pool worker: slice the files it is sent, one at a time, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it sends SIGTERM

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    def progress(seconds: float, total: Optional[float]) -> None:
        conn.send(("progress", seconds, total))

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
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
        return f"killed by {name}" + (": out of memory, or kill -9" if -exitcode == signal.SIGKILL else "")
    return f"exit status {exitcode}"


def executor_task(run: RunOne, job: Job, options: SliceOptions, listed: Optional[dict[str, int]]) -> Outcome:
    """One input as a task on an executor's worker: ``run`` (``batch.run_one``), after the seam "worker-task"."""
    seams.reach("worker-task")
    return run(job, options, listed=listed)


def on_executor(executor: concurrent.futures.Executor, table: Jobs, order: Iterable[int], options: SliceOptions,
                run: RunOne) -> Iterator[Finished]:
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
