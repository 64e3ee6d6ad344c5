"""Numba's options live in one place, and caching never breaks an import."""
import pathlib
import subprocess
import sys
import warnings

import fastslice
from fastslice import _jit

PACKAGE = pathlib.Path(fastslice.__file__).parent


def test_only_the_jit_module_calls_numba_njit():
    for path in PACKAGE.glob("*.py"):
        if path.name != "_jit.py":
            assert "njit" not in path.read_text(), f"{path.name} sets numba options of its own"
    assert _jit.OPTIONS["fastmath"] is False and "parallel" not in _jit.OPTIONS


def test_uncacheable_function_falls_back_with_one_warning(monkeypatch):
    # A function defined by exec has no source file: numba finds no cache locator for it,
    # as for a kernel in a read-only install without a writable home.
    monkeypatch.setitem(_jit._state, "cache", True)
    namespace = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        twice = _jit.jit(namespace["twice"])
    assert twice(21) == 42
    assert [w.category for w in caught] == [RuntimeWarning]
    assert "NUMBA_CACHE_DIR" in str(caught[0].message)
    assert _jit._state["cache"] is False


def test_cached_kernels_load_in_a_fresh_process(tmp_path):
    # Compile into an empty cache directory, then load from it in a second process.
    code = (
        "import numpy as np, fastslice;"
        "x = np.zeros(16000 * 8, np.float32); x[16000:48000] = 0.5;"
        "print(fastslice.Slicer(16000, -40, 1000, 300, 10, 500).slice_ranges(x).tolist())"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert any(tmp_path.rglob("*.nbi")), "nothing was cached"
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout == second.stdout and first.stdout.startswith("[[")
