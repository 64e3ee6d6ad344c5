"""``python -m fastslice``: the command line (``fastslice.cli.main``).

The call is guarded: a worker started by spawn or forkserver imports this module again (as
``__mp_main__``) and must not run the command a second time.
"""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
