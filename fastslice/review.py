"""Kept for compatibility: ``fastslice.review`` is now ``fastslice.pages.review``.

Importing ``fastslice.review`` gives that module itself, which is also callable as ``fastslice.review(...)``
(``fastslice.pages.inline.CallableModule``).
"""
from __future__ import annotations

import sys

from .pages import review

sys.modules[__name__] = review
