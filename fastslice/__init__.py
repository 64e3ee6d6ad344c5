"""fastslice: cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast.

``fastslice.tune(...)`` and ``fastslice.review(...)`` return pages that a notebook shows inline
(Jupyter, Colab): see ``fastslice.inline``.

The names below load on first use, so ``import fastslice`` (and ``fastslice --help``)
does not import numba until something is sliced.  Type checkers and IDEs see them through the
``TYPE_CHECKING`` imports, which never run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FastsliceError, ParameterError

if TYPE_CHECKING:
    from .batch import slice_files
    from .files import FileResult, slice_file
    from .finish import Finished, finish_batch
    from .manifest import Clip
    from .options import SliceOptions
    from .review import review_page as review
    from .slicer import Slicer
    from .stream import RangeStream, iter_clip_ranges
    from .tune import tune_page as tune

__version__ = "0.3.0"

#: Each lazily loaded public name and the module (under ``fastslice``) that defines it.
_LAZY = {
    "Slicer": "slicer",
    "RangeStream": "stream",
    "iter_clip_ranges": "stream",
    "slice_file": "files",
    "Clip": "manifest",
    "SliceOptions": "options",
    "FileResult": "files",
    "slice_files": "batch",
    "finish_batch": "finish",
    "Finished": "finish",
    "tune": "tune",
    "review": "review",
}
#: Public names that are their module itself, made callable (``fastslice.inline.CallableModule``):
#: Python sets ``fastslice.tune`` to the submodule ``fastslice/tune.py`` once it is imported, so the
#: function ``fastslice.tune(...)`` (``tune.tune_page``) is that module, called.
_CALLABLE_MODULES = ("tune", "review")
__all__ = ["Slicer", "RangeStream", "iter_clip_ranges", "slice_file", "Clip", "FileResult", "slice_files", "SliceOptions",
           "finish_batch", "Finished", "tune", "review",
           "FastsliceError", "ParameterError", "__version__"]


def __getattr__(name: str) -> Any:
    """Import the module that defines the public ``name`` on first use, and return the name."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return module if name in _CALLABLE_MODULES else getattr(module, name)
    raise AttributeError(f"module 'fastslice' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (``__all__``)."""
    return sorted(__all__)
