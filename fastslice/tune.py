"""Kept for compatibility: ``fastslice.tune`` is now ``fastslice.pages.tune``.

Importing ``fastslice.tune`` gives that module itself, which is also callable as ``fastslice.tune(...)``
(``fastslice.pages.inline.CallableModule``).
"""
from __future__ import annotations

import sys

from .pages import tune

sys.modules[__name__] = tune
