"""Markers: the record beside an input's clips of what was sliced, and how.

A marker (``.<stem>.fastslice.json`` in the clip folder, or in ``OUT_DIR/.fastslice/`` for a
layout) holds what the input was, the options that decided its clips, and a row per clip
(``rows.Clip``) with the clip's size in bytes.  Clip paths in a marker are relative to the
marker's folder, so a set can be moved or read from any working directory.  A marker is written
last, once the clips are in place: an input with a matching marker is done.

``marker_path``, ``write_marker``, ``read_marker`` / ``parse_marker``, ``iter_markers`` (every
marker under a folder: ``review``, ``prune``, ``export``, ``stats``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from ..system import storage
from ..system.atomic import atomic_path
from .rows import Clip

if TYPE_CHECKING:
    from _typeshed import StrPath

__all__ = ["MARKER_LAYOUT", "MARKER_SUFFIX", "WORK_FOLDER", "RECORDS_FOLDER", "marker_path", "write_marker",
           "read_marker", "parse_marker", "iter_markers"]

#: The markers' layout; a marker of another layout never matches (the input is sliced again).
MARKER_LAYOUT = 2
MARKER_SUFFIX = ".fastslice.json"
#: The folder beside the markers where clips and markers are written before they get their names.
WORK_FOLDER = ".fastslice.work"
#: Where a layout keeps the markers of OUT_DIR's clip folders (``OUT_DIR/.fastslice/<clip folder>``).
RECORDS_FOLDER = ".fastslice"


def marker_path(folder: StrPath, stem: str) -> Path:
    """Where the marker of the input ``stem`` goes in ``folder``: ``.<stem>.fastslice.json``."""
    return Path(folder) / f".{stem}{MARKER_SUFFIX}"


def write_marker(path: StrPath, record: Mapping[str, Any], clips: Iterable[Clip],
                 storage_options: Mapping[str, Any] | None = None) -> None:
    """The marker: ``record`` (a dict) and a row per clip with its size, written row by row (a
    stream may have made thousands of clips), atomically (a URL: uploaded whole).  Clip paths are
    stored relative to the marker's folder."""
    folder = storage.dirname(str(path))
    temporary: Path | None = None
    made: Path | None = None
    if not storage.is_url(str(path)):  # written through the work folder beside it, whose leftovers are swept
        work = Path(folder) / WORK_FOLDER
        if not work.is_dir():
            work.mkdir(parents=True, exist_ok=True)
            made = work
        temporary = work / f"{Path(path).name[1:-len(MARKER_SUFFIX)]}.{os.getpid()}.marker.part"
    try:
        _write_marker(path, record, clips, storage_options, temporary, folder)
    finally:
        if made is not None:  # made for this marker alone (prune): removed again
            with contextlib.suppress(OSError):
                made.rmdir()


def _write_marker(path: StrPath, record: Mapping[str, Any], clips: Iterable[Clip],
                  storage_options: Mapping[str, Any] | None, temporary: Path | None, folder: str) -> None:
    with atomic_path(path, storage_options, temporary) as part:
        with open(part, "w", encoding="utf-8") as f:
            f.write(json.dumps({"fastslice_marker": MARKER_LAYOUT, **record})[:-1] + ', "clips": [')
            for k, clip in enumerate(clips):
                row = clip.row(Path(storage.relative(clip.clip, folder)).as_posix() if clip.has_file else "")
                row["bytes"], row["frames"] = clip.size, clip.frames
                f.write(("\n" if k == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            f.write("\n]}\n")


def read_marker(path: StrPath) -> tuple[dict[str, Any], list[Clip]] | None:
    """``(record, clips)`` of a marker (clip paths made absolute from the marker's folder), or None
    if there is none or it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    return parse_marker(text, os.path.abspath(os.path.dirname(path)))


def parse_marker(text: str, folder: str) -> tuple[dict[str, Any], list[Clip]] | None:
    """``read_marker`` of a marker's text, its clip paths taken relative to ``folder`` (a path or URL)."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("clips"), list):
        return None
    clips: list[Clip] = []
    frames = record.get("source_frames") or 0
    for row in record.pop("clips"):
        try:
            clip = Clip.from_row(row, folder)
        except (ValueError, AttributeError, TypeError):
            return None
        if frames:
            clip = dataclasses.replace(clip, source_frames=frames)
        if record.get("fastslice_marker") != MARKER_LAYOUT:
            # fastslice 0.2 stored paths as given on its command line: the clip is the one of that
            # name in the marker's folder
            clip = dataclasses.replace(clip, clip=storage.join(folder, storage.basename(row["clip"])))
        clips.append(clip)
    return record, clips


def iter_markers(root: StrPath, skip: Iterable[str] = ("dropped",)) -> Iterator[tuple[Path, dict[str, Any], list[Clip]]]:
    """``(path, record, clips)`` of every readable marker under ``root`` (one walk; hidden folders
    but ``RECORDS_FOLDER``, and the top-level folders named in ``skip``, are not entered)."""
    top = os.path.abspath(root)
    skipped = set(skip)
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if (not d.startswith(".") or (folder == top and d == RECORDS_FOLDER))
                         and not (folder == top and d in skipped))
        for name in sorted(files):
            if name.startswith(".") and name.endswith(MARKER_SUFFIX):
                read = read_marker(os.path.join(folder, name))
                if read is not None:
                    yield Path(folder) / name, read[0], read[1]
