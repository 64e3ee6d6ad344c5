"""fastslice: cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast.

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
    from .slicer import Slicer
    from .stream import RangeStream, iter_clip_ranges

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
}
__all__ = ["Slicer", "RangeStream", "iter_clip_ranges", "slice_file", "Clip", "FileResult", "slice_files", "SliceOptions",
           "finish_batch", "Finished",
           "FastsliceError", "ParameterError", "__version__"]


def __getattr__(name: str) -> Any:
    """Import the module that defines the public ``name`` on first use, and return the name."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'fastslice' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (``__all__``)."""
    return sorted(__all__)
