"""The one place that sets numba's options for every fastslice kernel.

Kernels are compiled lazily on first call with ``cache=True``, so a second run
loads them from disk.  Numba writes its cache next to the package, or in the
user's cache folder (``~/.cache/numba``) when the package's folder is read-only,
or in ``NUMBA_CACHE_DIR`` when that is set.  Where none of these can be written
(a read-only install with no writable home, librosa #1156), fastslice uses a
private folder in the temporary directory instead of compiling in every process;
only a function with no source file at all is compiled without a cache.

A cache stays valid while the kernels' source file has the same content, so a cache
folder kept by a CI job or built into a Docker image survives a reinstall of the same
release.  Numba keys caches on the file's content from 0.68 on; before, on its
modification time, which every ``pip install`` changes, so for those versions
fastslice sets a content key itself.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import os
import stat
import tempfile
import warnings
from typing import Any, Callable, Iterator

import numba
from numba.core import caching as _numba_caching

#: Options shared by every kernel.  No ``fastmath``: fastslice must round
#: exactly as NumPy does.  ``error_model="numpy"`` drops Python's
#: ZeroDivisionError checks from the hot loops.  No ``parallel``: fastslice
#: parallelises across files, not inside a kernel.
OPTIONS: dict[str, Any] = {"nogil": True, "fastmath": False, "error_model": "numpy", "boundscheck": False}

#: Where kernels are cached: ``"numba"`` (numba's own locations serve), else the folder used instead
#: (see ``fallback_cache_dir``).
cache_state: dict[str, str | None] = {"cache": "numba"}


def jit(func: Callable[..., Any]) -> Any:
    """Compile ``func`` with fastslice's options (``numba.njit``, cached where possible)."""
    if cache_state["cache"] == "numba":
        try:
            return _keyed_on_content(numba.njit(cache=True, **OPTIONS)(func), func)
        except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
            problem: object = exc
        folder = fallback_cache_dir()
    else:
        folder = cache_state["cache"]
    if folder is not None:
        try:
            with _numba_cache_dir(folder):
                compiled = _keyed_on_content(numba.njit(cache=True, **OPTIONS)(func), func)
            cache_state["cache"] = folder  # the next kernels go there at once
            return compiled
        except RuntimeError as exc:  # no source file to key a cache on (e.g. defined by exec)
            problem = exc
    else:
        problem = "no writable folder for numba's cache, not even in the temporary directory"
    warnings.warn(
        f"fastslice: numba cannot cache {func.__qualname__} ({problem}); it will be compiled again "
        "in every process. Set NUMBA_CACHE_DIR to a writable folder to fix this.",
        RuntimeWarning,
        stacklevel=2,
    )
    return numba.njit(cache=False, **OPTIONS)(func)


def _keyed_on_content(kernel: Any, func: Callable[..., Any]) -> Any:
    """``kernel`` with its cache keyed on a hash of its source file, as numba >= 0.68 does itself.

    Older numba keeps its key (the "source stamp": mtime and size) on the cache's
    index file object, where it is replaced.
    """
    if hasattr(_numba_caching, "_hash_source_file"):  # numba >= 0.68 hashes the content
        return kernel
    index = getattr(getattr(kernel, "_cache", None), "_cache_file", None)
    if index is not None and hasattr(index, "_source_stamp"):
        index._source_stamp = _content_stamp(inspect.getfile(func))
    return kernel


@functools.lru_cache(maxsize=None)
def _content_stamp(path: str) -> tuple[str, str]:
    with open(path, "rb") as f:
        return "sha256", hashlib.sha256(f.read()).hexdigest()


def fallback_cache_dir() -> str | None:
    """A cache folder only this user can write: ``<tmp>/fastslice-numba-cache-<uid>``.

    Reused across processes when it is a real folder owned by this user that no
    one else may write to (numba's cache holds code that gets run); otherwise a
    new private folder for this process; None if not even that can be made.
    """
    user: object = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    folder = os.path.join(tempfile.gettempdir(), f"fastslice-numba-cache-{user}")
    try:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(folder)
        private = stat.S_ISDIR(info.st_mode) and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if private and (not hasattr(os, "getuid") or info.st_uid == os.getuid()):
            return folder
        return tempfile.mkdtemp(prefix="fastslice-numba-cache-")
    except OSError:
        try:
            return tempfile.mkdtemp(prefix="fastslice-numba-cache-")
        except OSError:
            return None


@contextlib.contextmanager
def _numba_cache_dir(folder: str) -> Iterator[None]:
    """Numba's NUMBA_CACHE_DIR set to ``folder`` while functions are decorated (it is read then)."""
    config: Any = numba.config  # its settings are made at run time
    before = config.CACHE_DIR
    config.CACHE_DIR = folder
    try:
        yield
    finally:
        config.CACHE_DIR = before


def cache_dir(kernel: Any) -> str | None:
    """Where numba caches ``kernel`` (a folder), or None where it is compiled in memory only."""
    path: str | None = kernel.stats.cache_path
    return path
