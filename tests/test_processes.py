"""Whether a process runs: one function (``fastslice.system.processes.alive``) for the lock's holder and the
stale temporaries beside a manifest.  The POSIX branch is asked about real processes (this one, a
child that runs, a child that has ended and been reaped); the Windows branch's decision is given
Windows' answers (``ask``) on any system, and asks Windows itself where it runs."""
import subprocess
import sys

import pytest

from fastslice.system.atomic import atomic_path
from fastslice.system import processes
from fastslice.system.processes import WindowsAnswer, alive

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="os.kill(pid, 0) is the POSIX branch")


def _ended_child() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)  # ended and reaped: its pid names no process
    return child.pid


def _running_child() -> subprocess.Popen:
    # runs until its standard input closes
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)


def test_this_process_runs():
    import os

    assert alive(os.getpid())


def test_a_running_child_runs_and_an_ended_one_does_not():
    child = _running_child()
    try:
        assert alive(child.pid)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    assert not alive(child.pid)
    assert not alive(_ended_child())


@pytest.mark.parametrize("answer, running", [
    (WindowsAnswer(processes.STILL_ACTIVE), True),  # opened, not ended
    (WindowsAnswer(0), False),  # opened, ended with status 0
    (WindowsAnswer(1), False),
    (WindowsAnswer(None, processes.ERROR_ACCESS_DENIED), True),  # another user's: it runs
    (WindowsAnswer(None, 87), False),  # ERROR_INVALID_PARAMETER: no such process
])
def test_the_windows_branch_decides_from_windows_answer(answer, running):
    asked = []

    def ask(pid):
        asked.append(pid)
        return answer

    assert alive(4242, platform="win32", ask=ask) is running
    assert asked == [4242]


def test_the_posix_branch_never_asks_windows():
    def ask(pid):
        raise AssertionError("Windows asked on POSIX")

    if sys.platform != "win32":
        assert alive(_ended_child(), platform="linux", ask=ask) is False


@pytest.mark.skipif(sys.platform != "win32", reason="asks Windows itself (OpenProcess)")
def test_windows_itself_answers():
    child = _running_child()
    try:
        assert alive(child.pid)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    assert not alive(child.pid)


@posix_only
def test_a_manifests_stale_temporaries_go_and_a_running_writers_stay(tmp_path):
    """The manifest's sweep asks the same function: an ended process's temporary is removed,
    a running one's is left to it."""
    child = _running_child()
    try:
        dead, live = _ended_child(), child.pid
        (tmp_path / f".m.csv.{dead}.part").write_text("half")
        (tmp_path / f".m.csv.{live}.part").write_text("half")
        with atomic_path(tmp_path / "m.csv") as part:
            part.write_text("whole")
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".m.csv.{live}.part", "m.csv"]
    finally:
        child.stdin.close()
        child.wait(timeout=60)
