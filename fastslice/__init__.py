"""fastslice: cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast.

The names below load on first use, so ``import fastslice`` (and ``fastslice --help``)
does not import numba until something is sliced.
"""
from .errors import FastsliceError, ParameterError

__version__ = "0.3.0"

_LAZY = {
    "Slicer": "slicer",
    "RangeStream": "stream",
    "iter_clip_ranges": "stream",
    "slice_file": "files",
    "Clip": "manifest",
    "SliceOptions": "options",
    "FileResult": "files",
    "slice_files": "batch",
}
__all__ = ["Slicer", "RangeStream", "iter_clip_ranges", "slice_file", "Clip", "FileResult", "slice_files", "SliceOptions",
           "FastsliceError", "ParameterError", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'fastslice' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
