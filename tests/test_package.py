"""The package as installed: what the wheel must hold, and that the tests exercise what is installed.

``tests/run`` runs the suite from a folder outside the checkout against the fastslice installed in
its Python (CI installs the wheel, see ``.ci/run``).  These tests make a file missing from the wheel
fail: every file of the checkout's package is in the installed one, byte for byte, and every file
that is not Python is declared as package data (else ``pip wheel .`` would leave it out).
"""
from __future__ import annotations

import fnmatch
import pathlib
import sys

import fastslice

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKOUT = ROOT / "fastslice"
INSTALLED = pathlib.Path(fastslice.__file__).resolve().parent


def package_files(folder: pathlib.Path) -> set[str]:
    """The package's own files under ``folder`` (no caches), relative to it."""
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".nbi", ".nbc"}}


def test_every_file_of_the_package_is_installed_byte_for_byte() -> None:
    missing = sorted(name for name in package_files(CHECKOUT) if not (INSTALLED / name).is_file())
    assert not missing, f"not in the installed fastslice ({INSTALLED}): {missing}"
    differ = sorted(name for name in package_files(CHECKOUT)
                    if (INSTALLED / name).read_bytes() != (CHECKOUT / name).read_bytes())
    assert not differ, (f"the installed fastslice ({INSTALLED}) differs from this checkout in {differ}: "
                        "build and install the wheel again")


def test_every_file_that_is_not_python_is_declared_package_data() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["fastslice"]
    undeclared = sorted(name for name in package_files(CHECKOUT)
                        if not name.endswith(".py") and not any(fnmatch.fnmatch(name, glob) for glob in declared))
    assert not undeclared, f"add these to [tool.setuptools.package-data] in pyproject.toml: {undeclared}"


def test_the_installed_package_is_typed_and_has_its_pages() -> None:
    assert (INSTALLED / "py.typed").is_file()
    assert {"review.html", "review.css", "review.js", "tune.html", "tune.css", "tune.js", "head.html"} <= {
        path.name for path in (INSTALLED / "pages").iterdir()}
