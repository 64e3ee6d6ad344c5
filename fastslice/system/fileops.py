"""Windows' file habits: removals and renames held for a moment, and paths past 260 characters.

On Windows an antivirus, the search indexer or a sync client opens a file just written, and a
removal or rename of it fails with ``PermissionError`` until they let go (a few to a few hundred
milliseconds).  ``remove`` and ``rename`` try again after 0.05, 0.1, 0.2, 0.4 and 0.8 s (at most
1.55 s in all), then report the file and what to do.  The same holds on every platform (a
``PermissionError`` that lasts costs those 1.55 s before it is reported).  Between tries the test
seam ``"file-retry"`` is reached.

``long_path_hint`` explains an error on a path of 260 characters or more on Windows, where such
paths fail unless long paths are enabled.  ``is_fifo`` and ``what_it_is`` tell a named pipe, a
socket or a device from a file without opening it.
"""
from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable
from typing import TypeVar

from .. import seams

#: the waits between tries of a removal or rename that meets ``PermissionError`` (seconds)
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)

#: Windows' MAX_PATH: paths this long or longer fail where long paths are not enabled
WINDOWS_PATH_LIMIT = 260

T = TypeVar("T")


def retried(action: Callable[[], T], path: str | os.PathLike[str], what: str) -> T:
    """``action()``, tried again while it raises ``PermissionError`` (``RETRY_DELAYS``); then a
    ``PermissionError`` that names ``path``, says ``what`` was refused and what to do."""
    for delay in RETRY_DELAYS:
        try:
            return action()
        except PermissionError:
            seams.reach("file-retry")
            time.sleep(delay)
    try:
        return action()
    except PermissionError as exc:
        tries = len(RETRY_DELAYS) + 1
        raise PermissionError(exc.errno or errno.EACCES,
                              f"{what} was refused {tries} times over {sum(RETRY_DELAYS):.2f} s "
                              f"({exc.strerror or exc}): another program (an antivirus, the search indexer, a "
                              "sync client, a player) holds the file, or it is read-only; close that program "
                              "or exclude the output folder from it, and run again",
                              os.fspath(path)) from None


def remove(path: str | os.PathLike[str]) -> None:
    """Remove the file ``path`` if it is there, trying again while it is held (``retried``)."""
    def unlink() -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    retried(unlink, path, "removing it")


def rename(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """``os.rename(source, target)``, trying again while it is held (``retried``)."""
    retried(lambda: os.rename(source, target), source, f"renaming it to {os.fspath(target)}")


def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """``os.replace(source, target)``, trying again while either is held (``retried``)."""
    retried(lambda: os.replace(source, target), target, f"replacing it with {os.fspath(source)}")


def long_path_hint(path: str | os.PathLike[str] | None, platform: str = os.name) -> str:
    """Why an error on ``path`` may be its length, and the fix, where ``platform`` (``os.name``) is
    Windows (``"nt"``) and the path has 260 characters or more; else ``""``."""
    if path is None or platform != "nt":
        return ""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if len(text) < WINDOWS_PATH_LIMIT:
        return ""
    return (f"; the path is {len(text)} characters, and Windows refuses paths of {WINDOWS_PATH_LIMIT} or more "
            "unless long paths are enabled: enable them (Group Policy 'Enable Win32 long paths', or the registry "
            "value LongPathsEnabled = 1 under HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem), or give a "
            "shorter -o folder or --name")


def describe(exc: OSError, platform: str = os.name) -> str:
    """An ``OSError``'s message with the file it names and, on Windows, the long-path hint."""
    text = exc.strerror or str(exc)
    if exc.filename is not None:
        text += f" ({os.fspath(exc.filename)!s})"
    return text + long_path_hint(exc.filename, platform)


def what_it_is(mode: int) -> str:
    """A file's type in words, from its ``st_mode``: ``"FIFO"``, ``"socket"``, ``"character device"``..."""
    for test, what in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder"), (stat.S_ISREG, "regular file")):
        if test(mode):
            return what
    return "special file"


def is_fifo(path: str) -> bool:
    """Whether ``path`` is a named pipe (FIFO), or a link to one: read as a stream, never probed."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
