"""Whether a process runs: one answer for every place that asks (the lock's holder, stale temporaries).

``alive(pid)`` asks the operating system without harming the process:

* POSIX: ``os.kill(pid, 0)`` sends no signal; "no such process" means ended, and a process of
  another user (``PermissionError``) counts as running;
* Windows: ``os.kill`` would end the process (signal 0 is ``CTRL_C_EVENT`` there), so Windows is
  asked itself: ``OpenProcess`` then ``GetExitCodeProcess``.  A process that cannot be opened
  because access is denied runs (another user's); one that cannot be opened otherwise has ended;
  one that can runs while its exit code is ``STILL_ACTIVE`` (259).

``platform`` (default ``sys.platform``) picks the branch and ``ask_windows`` replaces the call to
Windows, so the Windows branch's decision can be tested on any system.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NamedTuple, Optional

__all__ = ["WindowsAnswer", "alive", "ask_windows"]

#: GetExitCodeProcess's code for a process that has not ended
STILL_ACTIVE = 259
#: GetLastError's ERROR_ACCESS_DENIED
ERROR_ACCESS_DENIED = 5


class WindowsAnswer(NamedTuple):
    """What Windows says of a process id: its exit code (None where ``OpenProcess`` failed or
    ``GetExitCodeProcess`` did), and the error of the call that failed (0: none)."""

    exit_code: Optional[int]
    error: int = 0


def ask_windows(pid: int) -> WindowsAnswer:
    """Windows' own answer for ``pid``: ``OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION)`` and
    ``GetExitCodeProcess`` (on Windows only)."""
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return WindowsAnswer(None, int(ctypes.get_last_error()))  # type: ignore[attr-defined,unused-ignore]
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return WindowsAnswer(None, int(ctypes.get_last_error()))  # type: ignore[attr-defined,unused-ignore]
        return WindowsAnswer(int(code.value))
    finally:
        kernel32.CloseHandle(handle)


def alive(pid: int, platform: Optional[str] = None,
          ask: Callable[[int], WindowsAnswer] = ask_windows) -> bool:
    """Whether process ``pid`` of this host runs (another user's counts as running).  ``platform``:
    ``sys.platform``'s spelling (default: this one's); ``ask``: how Windows is asked (on ``"win32"``)."""
    if (platform or sys.platform) == "win32":
        answer = ask(pid)
        if answer.exit_code is None:
            return answer.error == ERROR_ACCESS_DENIED
        return answer.exit_code == STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True
