"""Test seams: named points where a test can hold the code and act while it waits.

A test that must stop fastslice at one point (kill a worker while a clip is being
written, press Ctrl-C while a block is handed over) does not sleep and hope: it asks
the code to stop at a named point and waits for the event of its arrival.

In normal use nothing is set and :func:`reach` costs one environment look-up.  A test
sets ``FASTSLICE_SEAMS`` to a folder (inherited by subprocesses and pool workers) and,
with :class:`Seam`, makes a named pipe ``NAME.gate`` there.  A process that reaches
``reach(NAME)`` then announces itself (``NAME.arrived``, a line with its process id)
and waits on ``NAME.gate`` until the test releases it.  A signal sent meanwhile
(Ctrl-C, a kill) lands exactly there.

Named pipes exist on POSIX only; elsewhere :func:`reach` does nothing.
"""
from __future__ import annotations

import os
import select
import time
from pathlib import Path
from types import TracebackType

ENV = "FASTSLICE_SEAMS"


def reach(name: str) -> None:
    """Stop here if a test holds the seam ``name``; otherwise return at once."""
    folder = os.environ.get(ENV)
    if not folder or not hasattr(os, "mkfifo"):
        return
    gate = os.path.join(folder, name + ".gate")
    if not os.path.exists(gate):
        return
    try:
        announce = os.open(os.path.join(folder, name + ".arrived"), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # the test is not listening (any more): pass
        return
    try:
        os.write(announce, f"{os.getpid()}\n".encode("ascii"))  # one write under PIPE_BUF: whole
    finally:
        os.close(announce)
    try:
        held = os.open(gate, os.O_RDONLY | os.O_NONBLOCK)  # never blocks
    except FileNotFoundError:  # released between the look and the open
        return
    try:
        waiting = select.poll()
        waiting.register(held, select.POLLIN | select.POLLHUP)
        # Released when the test's writer closes (end of file: POLLHUP).  A caller that opened the
        # gate in the instant the test released it sees no writer come; it finds the gate removed
        # at its next look, a second later at most.
        while not waiting.poll(1000) and os.path.exists(gate):
            pass
    finally:
        os.close(held)


class Seam:
    """The test's side of one seam: hold the code at ``reach(name)``, wait for it, release it.

    ``with Seam(folder, name) as seam``: processes started with ``seam.env`` (or the
    current one, after ``monkeypatch.setenv(seams.ENV, str(folder))``) stop at the point;
    ``seam.wait(n)`` returns the process ids of the first ``n`` arrivals, blocking on the
    arrival pipe (an event, not a time); ``seam.release()`` lets every waiting caller, and
    every later one, go on.  Leaving the block releases too.
    """

    def __init__(self, folder: str | os.PathLike[str], name: str) -> None:
        self.folder = Path(folder)
        self.name = name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.gate = self.folder / f"{name}.gate"
        self.arrived = self.folder / f"{name}.arrived"
        self._pids: list[int] = []
        self._partial = b""
        self._fds: tuple[int, int] | None = None
        self._released = False

    @property
    def env(self) -> dict[str, str]:
        """The current environment with the seams folder set."""
        return {**os.environ, ENV: str(self.folder)}

    def __enter__(self) -> Seam:
        os.mkfifo(self.arrived)
        reader = os.open(self.arrived, os.O_RDONLY | os.O_NONBLOCK)
        keeper = os.open(self.arrived, os.O_WRONLY)  # never end of file while the test listens
        self._fds = (reader, keeper)
        os.mkfifo(self.gate)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None
        self.arrived.unlink(missing_ok=True)

    def wait(self, count: int = 1, timeout: float = 120.0) -> list[int]:
        """Block until ``count`` callers have reached the seam; their process ids.

        ``timeout`` only bounds a test whose code never arrives (it fails with
        ``TimeoutError``); the wait itself ends at the arrival.
        """
        assert self._fds is not None, "use the Seam in a with block"
        deadline = time.monotonic() + timeout
        while len(self._pids) < count:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fds[0]], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"seam {self.name!r}: {len(self._pids)} of {count} arrivals within {timeout} s")
            data = self._partial + os.read(self._fds[0], 4096)
            *lines, self._partial = data.split(b"\n")
            self._pids.extend(int(line) for line in lines if line)
        return self._pids[:count]

    def release(self) -> None:
        """Let every caller held at the seam go on, and every later one pass."""
        if self._released:
            return
        self._released = True
        try:
            writer = os.open(self.gate, os.O_RDWR | os.O_NONBLOCK)  # never blocks, with or without callers
        except FileNotFoundError:
            return
        self.gate.unlink()  # later callers pass
        os.close(writer)  # every caller holding the gate sees its writer gone (end of file)
