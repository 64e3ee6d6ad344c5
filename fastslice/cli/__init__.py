"""The command line: ``fastslice slice|analyze|stats|tune|review|prune|export|demo|warmup``.

* ``commands``: the parser and ``main`` (it parses, then calls); ``slice_command``: ``fastslice
  slice``; ``demo``: ``fastslice demo``.

``fastslice.cli.main`` (the console script) and the other names of ``commands`` are importable
from here, as from the module ``fastslice.cli`` of earlier versions.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """The names of ``fastslice.cli.commands`` (``main``, ``build_parser``, ...), loaded on first use."""
    import importlib

    if name.startswith("__") or name == "commands":
        raise AttributeError(name)
    module = importlib.import_module(".commands", __name__)
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'fastslice.cli' has no attribute {name!r}") from None
