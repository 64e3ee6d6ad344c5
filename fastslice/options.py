"""Kept for compatibility: ``fastslice.options`` is now ``fastslice.settings.options``(SliceOptions).

Importing ``fastslice.options`` gives that module itself, every name included; new code imports
``fastslice.settings.options`` (or the public names of ``fastslice`` itself).
"""
from __future__ import annotations

import sys

from .settings import options

sys.modules[__name__] = options
