"""The command line run as a user runs it: ``python -m fastslice`` in a process of its own.

A plain module (not ``conftest``), so that the benchmarks, which have a ``conftest`` of their own,
can import the tests' helpers too.
"""
from __future__ import annotations

import subprocess
import sys
from typing import Any


def fastslice(*args: object, check: int | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fastslice ARGS`` as a user runs it (a subprocess), its output captured as text.

    ``check``: the exit status it must end with (the assertion shows its standard error);
    ``kwargs`` go to :func:`subprocess.run` (``cwd``, ``input``, ``env``, ``stdin``...).
    """
    done = subprocess.run([sys.executable, "-m", "fastslice", *map(str, args)], capture_output=True, text=True,
                          **kwargs)
    if check is not None:
        assert done.returncode == check, done.stderr
    return done


def fastslice_process(*args: object, **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -m fastslice ARGS`` in the background (for tests that stop it at a seam): its
    standard output discarded, its standard error a pipe of text, unless ``kwargs`` say otherwise."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "fastslice", *map(str, args)], text=True, **kwargs)
