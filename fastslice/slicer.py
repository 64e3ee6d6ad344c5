"""Kept for compatibility: ``fastslice.slicer`` is now ``fastslice.cutting.slicer`` (Slicer).

Importing ``fastslice.slicer`` gives that module itself, every name included; new code imports
``fastslice.cutting.slicer`` (or the public names of ``fastslice`` itself).
"""
from __future__ import annotations

import sys

from .cutting import slicer

sys.modules[__name__] = slicer
