"""``python -m fastslice``: the command line (``fastslice.cli.main``).

The call is guarded, so that importing this module runs nothing: a tool that imports every
module (documentation, checkers), or a worker process that imports its parent's main module
again (``multiprocessing``'s spawn does so for a script; for a package's ``__main__`` it skips it).
"""
from __future__ import annotations

import sys

from .cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
