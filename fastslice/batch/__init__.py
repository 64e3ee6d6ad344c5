"""Batches: a library sliced, from its inputs to its finished set.

* ``scan``: the inputs expanded into jobs, one scan per run; ``pool``: worker processes or any
  executor; ``lock``: one run per output folder (``lock_folder``); ``batch``: ``slice_files``
  (``BatchRequest``, ``run_batch``); ``callbacks``: what a run tells as it goes; ``finish``: the
  manifest, zip, exports and review page once every input is sliced; ``warmup``: the kernels
  compiled before a run.

``fastslice.batch.slice_files`` and the other names of ``fastslice.batch.batch`` are importable
from here, as from the module ``fastslice.batch`` of earlier versions (kept for compatibility).
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """The names of ``fastslice.batch.batch`` (``slice_files``, ``BatchResult``, ...), loaded on first use."""
    import importlib

    if name.startswith("__") or _is_submodule(name):
        # A module of this folder is never looked up among ``batch``'s names: ``from . import lock`` then
        # imports it (a spawned worker imports ``pool`` first, which must not import ``batch`` half way).
        raise AttributeError(name)
    module = importlib.import_module(".batch", __name__)
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'fastslice.batch' has no attribute {name!r}") from None


def _is_submodule(name: str) -> bool:
    """Whether ``name`` is a module of this folder (found, not imported)."""
    import pkgutil

    return any(module.name == name for module in pkgutil.iter_modules(__path__))
