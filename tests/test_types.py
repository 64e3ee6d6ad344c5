"""The package is typed: mypy passes with the project's configuration, ``py.typed`` ships, and every
public name of ``fastslice`` (loaded lazily at run time) is visible to a type checker."""
from __future__ import annotations

import importlib.resources
import os
import pathlib
import subprocess
import sys

import pytest

import fastslice

ROOT = pathlib.Path(__file__).resolve().parent.parent


def mypy(*args: str, cwd: pathlib.Path, cache: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """``python -m mypy ARGS`` in ``cwd``, with its cache in ``cache`` (never the project's)."""
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_mypy_passes_on_the_package(tmp_path: pathlib.Path) -> None:
    """``mypy`` as the README and CI run it: from the project's root, its configuration in pyproject.toml
    (strict on the public modules)."""
    pytest.importorskip("mypy")
    run = mypy(cwd=ROOT, cache=tmp_path / "cache")
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
    assert "Success: no issues found" in run.stdout


def test_py_typed_is_in_the_package() -> None:
    """PEP 561: the marker that tells type checkers the package's own hints are to be used."""
    assert (importlib.resources.files("fastslice") / "py.typed").is_file()


def test_the_page_templates_are_package_data() -> None:
    pages = importlib.resources.files("fastslice") / "pages"
    for name in ("head.html", "review.html", "review.css", "review.js", "tune.html", "tune.css", "tune.js"):
        assert (pages / name).is_file(), name


@pytest.mark.slow
def test_every_public_name_is_visible_to_mypy(tmp_path: pathlib.Path) -> None:
    """``fastslice.__getattr__`` loads the names lazily; the ``TYPE_CHECKING`` imports show mypy each
    one's own type, never ``Any`` (what a lazy ``__getattr__`` alone would give)."""
    pytest.importorskip("mypy")
    names = [name for name in fastslice.__all__ if name != "__version__"]
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import fastslice\n" + "".join(f"reveal_type(fastslice.{name})\n" for name in names)
                       + "from fastslice import " + ", ".join(names) + "\n", encoding="utf-8")
    run = mypy("--config-file=", "--follow-imports=silent", "--ignore-missing-imports", "--strict", str(snippet),
               cwd=tmp_path, cache=tmp_path / "cache")
    revealed = [line for line in run.stdout.splitlines() if "Revealed type is" in line]
    assert len(revealed) == len(names), run.stdout + run.stderr
    for name, line in zip(names, revealed):
        assert not line.endswith('Revealed type is "Any"'), f"{name}: {line}"
        assert line.split("Revealed type is ", 1)[1].startswith(('"def ', '"Overload(', '"type[')), f"{name}: {line}"
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert not errors, "\n".join(errors)
