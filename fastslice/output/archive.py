"""The zip of a set (``--zip PATH``): every clip in one file, to carry a set elsewhere.

Stored uncompressed (audio does not deflate), paths relative to the output folder, written
atomically (``system.atomic``); local clips only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..system.atomic import atomic_path
from .rows import Clip

if TYPE_CHECKING:
    from _typeshed import StrPath

__all__ = ["write_zip"]


def write_zip(path: StrPath, out_dir: StrPath, clips: Iterable[Clip],
              storage_options: Mapping[str, Any] | None = None) -> None:
    """Store every clip in one zip file (uncompressed: audio does not deflate), paths relative to
    ``out_dir``, atomically (local clips only)."""
    import zipfile

    top = os.path.abspath(out_dir)
    with atomic_path(path, storage_options) as temporary:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for clip in clips:
                archive.write(clip.clip, Path(os.path.relpath(clip.clip, top)).as_posix())
