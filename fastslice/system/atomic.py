"""Files written whole or not at all: ``atomic_path``, the one way fastslice writes a file in place.

A file is written to a hidden temporary name beside it (``.<name>.<pid>.part``) and renamed when
complete, or removed if the writing fails, so a reader never sees half a file.  A URL is written
as a local temporary file uploaded when complete (an object store has no rename; the upload is
whole or absent).  The temporaries that a run killed while writing left behind are removed by
the next run that writes the same file (a process check: ``system.processes.alive``).

Used for the markers, manifests, label tracks, zips, exports and pages.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from . import fileops
from . import storage
from .processes import alive

if TYPE_CHECKING:
    from _typeshed import StrPath

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: StrPath, storage_options: Mapping[str, Any] | None = None,
                temporary: StrPath | None = None) -> Iterator[Path]:
    """A hidden temporary path beside ``path`` (its folder made) that becomes ``path`` when the block
    completes, and is removed if it fails.  For a URL, a local temporary file uploaded as the object
    ``path`` when the block completes (an object store has no rename; the upload is whole or absent).

    ``temporary`` is the temporary path to use instead (on the same file system: a work folder whose
    leftovers are swept).  Otherwise, once the file is in place, the temporaries that processes no
    longer running left beside it (a run killed while writing it) are removed: one listing of its
    folder, for the files written once per run (manifests, exports)."""
    if storage.is_url(str(path)):
        folder = tempfile.mkdtemp(prefix="fastslice-upload-")
        upload = Path(folder) / storage.basename(str(path))
        try:
            yield upload
            storage.put(str(upload), str(path), storage_options or {})
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    path = Path(path)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    sweep = temporary is None
    part = Path(temporary) if temporary is not None else path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        yield part
        fileops.replace(part, path)  # retried while another program holds it a moment (Windows)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if sweep:
        _remove_stale_temporaries(path)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.<name>.<pid>.part`` beside ``path`` where no process ``pid`` is running."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"([0-9]+)\.part")
    try:
        with os.scandir(path.parent) as entries:
            stale = [(e.name, int(m.group(1))) for e in entries if (m := pattern.fullmatch(e.name))]
    except OSError:
        return
    for name, pid in stale:
        if pid != os.getpid() and not alive(pid):
            with contextlib.suppress(OSError):
                os.unlink(path.parent / name)
