"""fastslice: cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast.

``fastslice.tune(...)`` and ``fastslice.review(...)`` return pages that a notebook shows inline
(Jupyter, Colab): see ``fastslice.pages.inline``.

The package's folders are its stages, each importing only those below it: ``system``,
``reading``, ``cutting``, ``rendering``, ``writing``, ``output``, ``settings``, ``run`` (the plan
and the per-file loop), ``batch``, ``report``, ``pages``, ``cli`` (``fastslice.layers.ORDER``).

The names below load on first use, so ``import fastslice`` (and ``fastslice --help``)
does not import numba until something is sliced.  Type checkers and IDEs see them through the
``TYPE_CHECKING`` imports, which never run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FastsliceError, ParameterError

if TYPE_CHECKING:
    from .batch.batch import slice_files
    from .run.files import FileResult, slice_file
    from .batch.finish import Finished, finish_batch
    from .output.rows import Clip
    from .settings.options import SliceOptions
    from .pages.review import review_page as review
    from .cutting.slicer import Slicer
    from .cutting.ranges import RangeStream, iter_clip_ranges
    from .pages.tune import tune_page as tune

from ._version import __version__

#: Each lazily loaded public name and the module (under ``fastslice``) that defines it.
_LAZY = {
    "Slicer": "cutting.slicer",
    "RangeStream": "cutting.ranges",
    "iter_clip_ranges": "cutting.ranges",
    "slice_file": "run.files",
    "Clip": "output.rows",
    "SliceOptions": "settings.options",
    "FileResult": "run.files",
    "slice_files": "batch.batch",
    "finish_batch": "batch.finish",
    "Finished": "batch.finish",
    "tune": "pages.tune",
    "review": "pages.review",
}
#: Public names that are their module itself, made callable (``fastslice.pages.inline.CallableModule``):
#: ``import fastslice.tune`` (kept for compatibility) sets ``fastslice.tune`` to that module, so the
#: function ``fastslice.tune(...)`` (``tune_page``) is the module, called.
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
