"""The one place that sets numba's options for every fastslice kernel.

Kernels are compiled lazily on first call with ``cache=True``, so a second run
loads them from disk.  Where numba has nowhere to write its cache (a read-only
install with no writable home, librosa #1156) we fall back to compiling in
memory and say so once, instead of failing at import.
"""
import warnings

import numba

#: Options shared by every kernel.  No ``fastmath``: fastslice must round
#: exactly as NumPy does.  ``error_model="numpy"`` drops Python's
#: ZeroDivisionError checks from the hot loops.  No ``parallel``: fastslice
#: parallelises across files, not inside a kernel.
OPTIONS = {"nogil": True, "fastmath": False, "error_model": "numpy", "boundscheck": False}

_state = {"cache": True}


def jit(func):
    """Compile ``func`` with fastslice's options (``numba.njit``, cached where possible)."""
    if _state["cache"]:
        try:
            return numba.njit(cache=True, **OPTIONS)(func)
        except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
            _state["cache"] = False
            warnings.warn(
                f"fastslice: numba cannot cache compiled kernels here ({exc}); they will be "
                "compiled again in every process. Set NUMBA_CACHE_DIR to a writable folder to fix this.",
                RuntimeWarning,
                stacklevel=2,
            )
    return numba.njit(cache=False, **OPTIONS)(func)
