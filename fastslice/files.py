"""Kept for compatibility: ``fastslice.files`` is now ``fastslice.run.files``(slice_file, FileResult, ...).

Importing ``fastslice.files`` gives that module itself, every name included; new code imports
``fastslice.run.files`` (or the public names of ``fastslice`` itself).
"""
from __future__ import annotations

import sys

from .run import files

sys.modules[__name__] = files
