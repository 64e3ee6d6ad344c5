"""Manifests (``--manifest PATH``): a set's clips as one CSV or JSON Lines file, a row per clip.

Rows (``rows.Clip.row``, the columns ``rows.FIELDS``) in input order; clip paths relative to the
manifest's own folder where both are local (absolute ones are read too), URLs as they are;
sources absolute.  ``ManifestWriter`` streams its rows to a temporary name and renames it when
complete (``system.atomic``); ``write_manifest`` writes an iterable of clips; ``read_manifest``
streams them back.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Mapping

from ..errors import FastsliceError
from ..system import storage
from ..system.atomic import atomic_path
from .rows import FIELDS, Clip

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed import StrPath

__all__ = ["manifest_kind", "ManifestWriter", "write_manifest", "read_manifest"]


def manifest_kind(path: StrPath) -> str:
    """"csv" or "jsonl", from the manifest's name; ``ValueError`` for another."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise ValueError(f"--manifest={path}: the name must end in .csv or .jsonl")
    return suffix[1:]


class ManifestWriter:
    """Writes a manifest row by row to a temporary name; ``close()`` renames it into place (an
    error or ``abandon()`` removes it).  Clip paths are written relative to the manifest's folder
    where both are local, else as they are (URLs); sources as they are (absolute)."""

    def __init__(self, path: StrPath, storage_options: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.kind = manifest_kind(path)
        self._folder: str | None = None if storage.is_url(str(path)) else os.path.abspath(os.path.dirname(path))
        self._atomic = atomic_path(self.path, storage_options)
        self._temporary = self._atomic.__enter__()
        self._file = open(self._temporary, "w", newline="", encoding="utf-8")
        self._csv: csv.DictWriter[str] | None = None
        if self.kind == "csv":
            self._csv = csv.DictWriter(self._file, fieldnames=FIELDS)
            self._csv.writeheader()

    def add(self, clip: Clip) -> None:
        """Write ``clip``'s row."""
        if not clip.has_file:
            name = ""
        elif self._folder is None or storage.is_url(clip.clip):
            name = clip.clip
        else:
            name = Path(os.path.relpath(clip.clip, self._folder)).as_posix()
        row = clip.row(name)
        if self._csv is not None:
            self._csv.writerow(row)
        else:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Finish the manifest: it gets its name."""
        self._file.close()
        self._atomic.__exit__(None, None, None)

    def abandon(self) -> None:
        """Remove the manifest being written: it never gets its name."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._atomic.__exit__(FastsliceError, FastsliceError("abandoned"), None)

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> Literal[False]:
        if kind is None:
            self.close()
        else:
            self.abandon()
        return False


def write_manifest(path: StrPath, clips: Iterable[Clip], storage_options: Mapping[str, Any] | None = None) -> None:
    """Write ``clips`` (any iterable of ``Clip``) to a CSV or JSON Lines manifest, atomically."""
    with ManifestWriter(path, storage_options) as writer:
        for clip in clips:
            writer.add(clip)


def read_manifest(path: StrPath) -> Iterator[Clip]:
    """The clips of a manifest, one by one: clip paths relative to the manifest's folder (or absolute)."""
    file = Path(path)
    kind = manifest_kind(file)
    folder = os.path.abspath(file.parent)
    with open(file, encoding="utf-8", newline="") as f:
        rows: Iterable[Mapping[str, Any]] = csv.DictReader(f) if kind == "csv" else \
            (json.loads(line) for line in f if line.strip())
        for number, row in enumerate(rows, 2 if kind == "csv" else 1):
            try:
                yield Clip.from_row(row, folder)
            except (ValueError, AttributeError) as exc:
                raise FastsliceError(f"{file}: line {number} is not a clip row ({exc})") from None
