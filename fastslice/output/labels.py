"""Label tracks (``--labels``): an input's clips as an Audacity label track, ``<stem>_labels.txt``.

One ``start<TAB>end<TAB>label`` line per clip, in seconds; the label is the clip's text, or its
name.  Fed back as ``--cues``, it gives the same clips.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..system.atomic import atomic_path
from .rows import Clip

if TYPE_CHECKING:
    from _typeshed import StrPath

__all__ = ["write_labels"]


def write_labels(path: StrPath, clips: Iterable[Clip], storage_options: Mapping[str, Any] | None = None) -> None:
    """An Audacity label track: one ``start<TAB>end<TAB>label`` line per clip, in seconds (the label: the
    clip's text, or its name), atomically.  Fed back as ``--cues``, it gives the same clips."""
    with atomic_path(path, storage_options) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            for c in clips:
                label = " ".join(c.text.split()) or Path(c.clip).stem
                f.write(f"{c.start_seconds:.6f}\t{c.end_seconds:.6f}\t{label}\n")
