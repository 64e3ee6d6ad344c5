"""What the test modules share: the upstream oracle, the command line run as a user runs it, the
test seams, and the markers that set slow, browser, server and cluster tests apart.

Markers (registered in pyproject.toml): a test is marked ``browser``, ``server`` or ``cluster``
by the fixtures it uses (``browser``; ``s3``, ``counted_s3``; ``cluster``) or by its module's
``pytestmark``; ``slow`` by the module or the test itself.  ``-m 'not slow'`` gives a quick run.
"""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import oracle
from fastslice.seams import Seam

#: fixtures that make a test need something beyond Python: the marker each one gives
MARKED_BY_FIXTURE = {"browser": "browser", "s3": "server", "counted_s3": "server", "cluster": "cluster"}


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
    """Start ``python -m fastslice ARGS`` in the background (for tests that stop it at a seam);
    standard output and error are pipes of text unless ``kwargs`` say otherwise."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "fastslice", *map(str, args)], text=True, **kwargs)


@pytest.fixture
def seam(tmp_path: Path) -> Iterator[Any]:
    """A factory of held seams in this test's folder: ``with seam("input-done") as held: ...``
    (see ``fastslice.seams.Seam``; processes started with ``held.env`` stop at the point)."""
    folder = tmp_path / "seams"

    def hold(name: str) -> Seam:
        return Seam(folder, name)

    yield hold


@pytest.fixture(scope="session")
def upstream() -> Any:
    """The real upstream slicer2 module (audio-slicer==1.0.1)."""
    return oracle.load_upstream()


@pytest.fixture(scope="session")
def legacy() -> Any:
    """Upstream slicer2 with the older too-short check (so-vits-svc guide, RVC, GPT-SoVITS)."""
    return oracle.load_legacy()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by the fixtures it uses (a browser, a server, a cluster)."""
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            marker = MARKED_BY_FIXTURE.get(fixture)
            if marker is not None:
                item.add_marker(marker)
