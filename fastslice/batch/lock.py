"""One run per output folder: a lock the operating system holds for a run and drops when the run ends or dies.

Two runs writing into one output folder at once lose clips: each run sweeps the work folders of
its clip folders when it ends, and one run's sweep removes what the other has not committed
yet.  So every run that writes into a local output folder takes that folder's lock first, once,
before the first sweep and the first clip, and holds it to its end: ``slice_files``,
``finish_batch`` (the manifest, zip, exports and review page), and ``fastslice slice`` from the
command line, which holds it across both.

* **What is locked**: the output folder (``-o OUT_DIR``), one lock per run whatever the layout
  writes under it (mirrored input folders, a layout's speaker folders, ``OUT_DIR/.fastslice``):
  a library of 100,000 files takes one lock.  Two spellings of one folder (relative, absolute,
  through a symbolic link, another case on a case-insensitive drive) are one lock: the lock is
  on the file itself.
* **The lock** is the operating system's, on the file ``OUT_DIR/.fastslice.batch.lock``: ``flock`` on
  Linux, macOS and other POSIX systems, ``msvcrt.locking`` of its first byte on Windows.  The
  operating system drops it when the process ends, however it ends (``kill -9``, the OOM killer,
  a notebook kernel restarted), so the lock of a run that died is taken over at once, and the
  new run sweeps what the dead one half wrote, as it does an interrupted run's.  Pool workers
  forked by the run share the lock's open file: if the run is killed while they still slice,
  the folder stays locked until they have ended too.
* **Who holds it**: the file also holds the holder's process id, host, start time and command
  (from its second byte on, which Windows' lock of the first byte leaves readable), for the
  message of a run that finds the folder taken.  The holder removes the file when it lets go;
  one left behind is a dead run's, and the run that takes it over says so (``FolderLock.taken_over``).
* **A second run** refuses at once (``FolderBusy``, a ``FastsliceError``: the folder, the holder,
  and the fix), or with ``wait`` waits for the folder (``True``: as long as it takes; a number:
  at most that many seconds).  The seam "lock-waiting" is reached when a run starts to wait,
  and "lock-taken" once a run holds the lock (``fastslice.seams``).
* **Reentrant** within one thread: ``fastslice slice`` holds the lock across ``slice_files`` and
  ``finish_batch``, which take it again.  Another thread of the same process is another run.
* **Not locked**: a URL output (``s3://...``: an object store has no lock a run could hold and
  lose when it dies; two runs into one bucket folder are the user's to avoid), a dry run (it
  writes nothing), and a file system without file locks (some network shares), where the run
  goes on with a note (``FolderLock.note``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import math
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Optional, Union

from .. import seams
from ..errors import FastsliceError
from ..system import storage
from ..system.processes import alive

__all__ = ["LOCK_NAME", "Holder", "FolderLock", "FolderBusy", "Wait", "lock_folder", "lock_path"]

#: The lock's file in the output folder.
LOCK_NAME = ".fastslice.batch.lock"
#: Seconds between two tries of a run that waits a bounded time (or on Windows).
POLL_SECONDS = 0.2
#: Where the holder's description starts in the lock file (the first byte is the one Windows locks).
_INFO_OFFSET = 1

#: ``wait``: False or 0 refuses at once; True (or ``math.inf``) waits as long as it takes; a number of seconds.
Wait = Union[bool, float]


@dataclasses.dataclass(frozen=True)
class Holder:
    """Who holds an output folder's lock: a process on a host, since when (UTC), running what."""

    pid: int
    host: str
    since: str  # "2026-12-07 16:40:12 UTC"
    command: str

    @classmethod
    def this_process(cls) -> Holder:
        """This process, now."""
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(os.getpid(), socket.gethostname(), now, _command()[:500])

    def describe(self) -> str:
        """``process 1234 on host, since 2026-12-07 16:40:12 UTC (fastslice slice ...)``."""
        return f"process {self.pid} on {self.host}, since {self.since} ({self.command})"

    def encode(self) -> bytes:
        """The lock file's content for this holder (its first byte is the one Windows locks)."""
        return b"\n" + json.dumps(dataclasses.asdict(self)).encode("utf-8") + b"\n"

    @classmethod
    def decode(cls, data: bytes) -> Optional[Holder]:
        """The holder a lock file's content (from its second byte) names; None if empty or unreadable."""
        try:
            fields = json.loads(data.decode("utf-8"))
            return cls(int(fields["pid"]), str(fields["host"]), str(fields["since"]), str(fields["command"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _command() -> str:
    """This process's command line, ``python -m fastslice`` spelled ``fastslice``."""
    argv = list(sys.argv) or [""]
    if os.path.basename(argv[0]) in ("__main__.py", "fastslice", "fastslice.exe"):
        argv[0] = "fastslice"
    elif argv[0] in ("", "-c"):
        argv[0] = f"{os.path.basename(sys.executable)} {argv[0]}".strip()
    return shlex.join(argv)


class FolderBusy(FastsliceError):
    """Another run holds the output folder's lock (and this one was not to wait, or waited long enough)."""

    def __init__(self, folder: str, holder: Optional[Holder], hint: str, waited: float = 0.0) -> None:
        self.folder, self.holder, self.waited = folder, holder, waited
        who = holder.describe() if holder is not None else "its process id is not written yet"
        if holder is not None and holder.host == socket.gethostname() and not alive(holder.pid):
            who += (" has ended, but processes it started (its -j workers) still hold the folder: they end with "
                    "their file; if they do not, end them")
        if waited > 0:
            fix = f"waited {waited:g} s; wait longer ({hint}), or let it end first"
        else:
            fix = (f"two runs into one folder would lose clips: let it end, or run this again with {hint} to start "
                   "as soon as it ends")
        super().__init__(f"{folder}: another fastslice run is writing into this output folder: {who}; {fix}")


@dataclasses.dataclass
class FolderLock:
    """What ``lock_folder`` gives: the folder, whether it is locked, and what the caller may want to say."""

    folder: str
    locked: bool
    #: the run that held the lock before, which died without letting go (its leftovers are swept)
    taken_over: Optional[Holder] = None
    #: why the folder is not locked although it is a local folder (a file system without locks)
    note: Optional[str] = None


@dataclasses.dataclass
class _Entry:
    fd: int
    path: str
    count: int
    thread: int
    pid: int


_registry: dict[tuple[int, int], _Entry] = {}  # the folders this process holds, by (device, inode)
_changed = threading.Condition()


def held_descriptors() -> list[int]:
    """The open lock files of the folders this process holds.  A worker that is not forked is
    given duplicates of them (``fastslice.batch.pool``): a lock belongs to the open file, so the folder
    stays locked while any of the run's processes still writes into it (POSIX)."""
    with _changed:
        return [entry.fd for entry in _registry.values() if entry.pid == os.getpid()]


def lock_path(folder: Union[str, os.PathLike[str]]) -> str:
    """The lock file of an output folder."""
    return os.path.join(os.path.abspath(_local(folder)), LOCK_NAME)


def _local(folder: Union[str, os.PathLike[str]]) -> str:
    text = os.fspath(folder)
    return text[len("file://"):] if text.startswith("file://") else text


@contextlib.contextmanager
def lock_folder(folder: Union[str, os.PathLike[str]], wait: Wait = False, *, hint: str = "wait=True",
                on_wait: Optional[Callable[[str], None]] = None) -> Iterator[FolderLock]:
    """Hold the lock of the output folder ``folder`` (made if missing) for the ``with`` block.

    ``wait``: False (the default) raises ``FolderBusy`` at once if another run holds it; True
    waits as long as it takes; a number waits at most that many seconds, then raises.  ``hint``
    names the way to ask for waiting in the message (``--wait`` on the command line);
    ``on_wait(message)`` is called once when this run starts to wait.  Reentrant in one thread;
    a URL folder is not locked (``FolderLock.locked`` False).
    """
    if storage.is_url(os.fspath(folder)):
        yield FolderLock(os.fspath(folder), False)
        return
    path = os.path.abspath(_local(folder))
    os.makedirs(path, exist_ok=True)
    seconds = math.inf if wait is True else float(wait or 0.0)
    folder_lock, key = _acquire(path, seconds, hint, on_wait)
    try:
        yield folder_lock
    finally:
        if key is not None:
            _release(key)


def _acquire(path: str, seconds: float, hint: str,
             on_wait: Optional[Callable[[str], None]]) -> tuple[FolderLock, Optional[tuple[int, int]]]:
    """Take the lock of ``path`` (or count one more taking of it by this thread); ``(the folder's lock, registry key)``."""
    stat = os.stat(path)
    key = (stat.st_dev, stat.st_ino)
    deadline = time.monotonic() + seconds
    with _changed:
        while True:
            entry = _registry.get(key)
            if entry is None or entry.pid != os.getpid():
                break
            if entry.thread == threading.get_ident():
                entry.count += 1
                return FolderLock(path, entry.fd >= 0), key
            left = deadline - time.monotonic()  # another thread of this process holds it
            if left <= 0:
                raise FolderBusy(path, Holder.this_process(), hint, seconds if seconds > 0 else 0.0)
            _changed.wait(None if math.isinf(left) else left)
    taken = _take(os.path.join(path, LOCK_NAME), path, seconds, deadline, hint, on_wait)
    fd, previous = taken if taken is not None else (-1, None)  # -1: no locks on this file system
    with _changed:
        _registry[key] = _Entry(fd, os.path.join(path, LOCK_NAME), 1, threading.get_ident(), os.getpid())
    if taken is None:
        return FolderLock(path, False, note=f"{path}: cannot lock it (its file system offers no file locks, or the "
                                      "folder is read-only); fastslice cannot keep another run out of this folder "
                                      "while this one writes in it"), key
    seams.reach("lock-taken")
    return FolderLock(path, True, taken_over=previous), key


def _take(lock_file: str, folder: str, seconds: float, deadline: float, hint: str,
          on_wait: Optional[Callable[[str], None]]) -> Optional[tuple[int, Optional[Holder]]]:
    """Lock ``lock_file``: ``(fd, the dead holder it names, if any)``; None where locks are not offered (or
    the lock file cannot be made: a read-only folder)."""
    waiting = False
    while True:
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        except OSError as exc:  # a read-only folder: nothing will be written there to protect
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return None
            raise
        try:
            block = waiting and math.isinf(seconds) and sys.platform != "win32"
            got = _lock(fd, block)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EINVAL):
                return None
            raise
        if got:
            if _same_file(fd, lock_file):  # not removed by its last holder between our open and our lock
                previous = _read(fd)
                _write(fd, Holder.this_process())
                return fd, previous
            _unlock(fd)
            os.close(fd)
            continue
        holder = _read(fd)
        os.close(fd)
        left = deadline - time.monotonic()
        if left <= 0:
            raise FolderBusy(folder, holder, hint, seconds)
        if not waiting:
            waiting = True
            if on_wait is not None:
                on_wait(f"{folder}: another fastslice run is writing into this output folder: "
                        f"{holder.describe() if holder else 'its process id is not written yet'}; waiting for it "
                        "to end" + ("" if math.isinf(seconds) else f" (at most {seconds:g} s)"))
            seams.reach("lock-waiting")
            continue
        time.sleep(min(POLL_SECONDS, left))


def _release(key: tuple[int, int]) -> None:
    with _changed:
        entry = _registry[key]
        entry.count -= 1
        if entry.count > 0:
            return
        del _registry[key]
        _changed.notify_all()
    if entry.fd < 0:
        return
    try:
        os.ftruncate(entry.fd, 0)  # a lock file left with a holder in it is a dead run's
        if sys.platform != "win32" and _same_file(entry.fd, entry.path):
            os.unlink(entry.path)  # while still locked: a waiter on this file sees it gone, and opens anew
    except OSError:
        pass
    finally:
        _unlock(entry.fd)
        os.close(entry.fd)
    if sys.platform == "win32":  # Windows removes no file another process has open: tried once closed
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def _lock(fd: int, block: bool) -> bool:
    """Lock ``fd``'s file (waiting for it with ``block``); False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK):
                return False
            raise
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    try:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        pass  # closing the file lets go too


def _same_file(fd: int, path: str) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read(fd: int) -> Optional[Holder]:
    try:
        os.lseek(fd, _INFO_OFFSET, os.SEEK_SET)
        data = os.read(fd, 1 << 16)
    except OSError:
        return None
    return Holder.decode(data) if data.strip() else None


def _write(fd: int, holder: Holder) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, holder.encode())
