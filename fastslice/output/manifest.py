"""The record of a sliced set: clip rows, the markers, and the files written from them.

Everything that knows what a clip row holds lives here, for ``slice``, ``review``, ``prune``
and ``export`` alike:

* ``Clip``: one clip, where it came from and where it went; ``Clip.row()`` is its manifest
  row (``FIELDS``), ``Clip.from_row`` reads one back, whatever wrote it.
* **Markers** (``.<stem>.fastslice.json`` beside an input's clips): what the input was, the
  options that decided its clips, and a row per clip with the clip's size in bytes.  Clip
  paths in a marker are relative to the marker's folder, so a set can be moved or read
  from any working directory.  ``write_marker`` / ``read_marker`` / ``iter_markers``.
* **Manifests** (``--manifest PATH``, CSV or JSON Lines): a row per clip, in input order, clip
  paths relative to the manifest's own folder (absolute ones are read too); sources absolute.
  ``ManifestWriter`` streams its rows to a temporary name and renames it when complete.
  ``read_manifest`` streams them back.
* **Run records**: ``RunRecords`` keeps the clips of every input of a run in a temporary file as
  results arrive, in whatever order, and gives them back in input order: the manifest, the zip
  and other end-of-run writers stream from it, so the parent's memory does not grow with the
  library.
* ``write_labels`` (an Audacity label track) and ``write_zip``; ``atomic_path`` is the one way
  every file here is written: to a hidden temporary name beside it, renamed when complete.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import re
import shutil
import tempfile
from array import array
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterable, Iterator, Literal, Mapping

from ..system import fileops
from ..system import storage
from ..errors import FastsliceError
from ..system.processes import alive

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed import StrPath, WriteableBuffer

#: The manifest's columns, in order.
FIELDS = ("source", "clip", "start_sample", "end_sample", "start_seconds", "end_seconds", "sample_rate", "channels",
          "source_rate", "speaker", "text", "threshold")
#: The markers' layout; a marker of another layout never matches (the input is sliced again).
MARKER_LAYOUT = 2
MARKER_SUFFIX = ".fastslice.json"
#: The folder beside the markers where clips and markers are written before they get their names.
WORK_FOLDER = ".fastslice.work"
_INTEGER_FIELDS = ("start_sample", "end_sample", "sample_rate", "channels", "source_rate")


@dataclasses.dataclass(frozen=True)
class Clip:
    """One clip: where it came from, where it went, and its range in samples."""

    source: str
    clip: str
    start_sample: int  # in the source, at source_rate
    end_sample: int
    sample_rate: int  # of the clip file
    channels: int  # of the clip file
    source_rate: int = 0  # the source's sample rate (0: the same as sample_rate)
    size: int | None = None  # bytes of the clip file as written (None: not written, or not known)
    speaker: str = ""
    text: str = ""  # what is said in it, where known
    source_frames: int = 0  # the source's length (frames at source_rate; 0: not known)
    frames: int | None = None  # frames in the clip file (at sample_rate; None: not known)
    threshold: float | None = None  # the RMS threshold (dB) that cut it (None: cues or speech cut it, or not known)

    @property
    def length(self) -> int:
        """The clip's length in frames of its file, or of its range in the source where there is no file."""
        return self.frames if self.frames is not None else self.end_sample - self.start_sample

    @property
    def has_file(self) -> bool:
        """False for a clip kept only as a range of its source (``--no-clips``)."""
        return bool(self.clip)

    @property
    def start_seconds(self) -> float:
        """The clip's start in its source, in seconds."""
        return self.start_sample / (self.source_rate or self.sample_rate)

    @property
    def end_seconds(self) -> float:
        """The clip's end in its source, in seconds."""
        return self.end_sample / (self.source_rate or self.sample_rate)

    def row(self, clip: str | None = None) -> dict[str, Any]:
        """The manifest row: every field of ``FIELDS``, with the times in seconds too; ``clip`` in
        place of the clip's own path (a relative one, say)."""
        return {
            "source": self.source, "clip": self.clip if clip is None else clip,
            "start_sample": self.start_sample, "end_sample": self.end_sample,
            "start_seconds": round(self.start_seconds, 6), "end_seconds": round(self.end_seconds, 6),
            "sample_rate": self.sample_rate, "channels": self.channels, "source_rate": self.source_rate or self.sample_rate,
            "speaker": self.speaker, "text": self.text, "threshold": self.threshold,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any], folder: str | None = None) -> Clip:
        """A clip from a manifest or marker row (CSV rows hold strings); a relative clip path is
        taken relative to ``folder``."""
        try:
            values = {name: int(row[name]) for name in _INTEGER_FIELDS if name in row and row[name] not in ("", None)}
            clip = row["clip"] or ""
            if folder is not None and clip and not os.path.isabs(clip) and not storage.is_url(clip):
                clip = storage.resolve(folder, clip)
            size, frames, threshold = row.get("bytes"), row.get("frames"), row.get("threshold")
            return cls(row["source"], clip, values["start_sample"], values["end_sample"], values["sample_rate"],
                       values["channels"], values.get("source_rate", 0),
                       None if size in (None, "") else int(size), row.get("speaker") or "", row.get("text") or "",
                       0, None if frames in (None, "") else int(frames),
                       None if threshold in (None, "") else float(threshold))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a clip row ({type(exc).__name__}: {exc})") from None


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


# -- markers ----------------------------------------------------------------------------


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


#: Where a layout keeps the markers of OUT_DIR's clip folders (``OUT_DIR/.fastslice/<clip folder>``).
RECORDS_FOLDER = ".fastslice"


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


# -- manifests ----------------------------------------------------------------------------


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


# -- the records of one run -------------------------------------------------------------------


class RunRecords:
    """The clips of every input of a run, kept in a temporary file as results arrive (in any order)
    and given back in input order.  Memory: two integers per input."""

    def __init__(self, n_inputs: int) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="fastslice-run-")
        self._offsets = array("q", bytes(8 * n_inputs))
        self._lengths = array("q", bytes(8 * n_inputs))
        self._end = 0
        self._in_order = True
        self._last = -1
        self.count = 0  # clips recorded

    def add(self, index: int, clips: list[Clip]) -> None:
        """Record input ``index``'s clips (once per input)."""
        if not clips:
            return
        data = "".join(json.dumps(dataclasses.astuple(c), ensure_ascii=False) + "\n" for c in clips).encode("utf-8")
        self._file.seek(self._end)
        self._file.write(data)
        self._offsets[index], self._lengths[index] = self._end, len(data)
        self._end += len(data)
        self._in_order = self._in_order and index > self._last
        self._last = max(self._last, index)
        self.count += len(clips)

    def clips(self) -> Iterator[Clip]:
        """Every clip recorded, inputs in order, each input's clips in order."""
        self._file.flush()
        if self._in_order:  # one sequential read
            self._file.seek(0)
            for line in io.TextIOWrapper(_Unclosed(self._file), encoding="utf-8"):  # type: ignore[type-var]  # a raw stream reads
                yield Clip(*json.loads(line))
            return
        for offset, length in zip(self._offsets, self._lengths):
            if length:
                self._file.seek(offset)
                for line in self._file.read(length).decode("utf-8").splitlines():
                    yield Clip(*json.loads(line))

    def close(self) -> None:
        """Remove the temporary file."""
        self._file.close()

    def __enter__(self) -> RunRecords:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False


class _Unclosed(io.RawIOBase):
    """A view of a binary file that TextIOWrapper may close without closing the file."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._f.read(len(view))
        view[: len(data)] = data
        return len(data)


# -- other writers ---------------------------------------------------------------------------


def write_labels(path: StrPath, clips: Iterable[Clip], storage_options: Mapping[str, Any] | None = None) -> None:
    """An Audacity label track: one ``start<TAB>end<TAB>label`` line per clip, in seconds (the label: the
    clip's text, or its name), atomically.  Fed back as ``--cues``, it gives the same clips."""
    with atomic_path(path, storage_options) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            for c in clips:
                label = " ".join(c.text.split()) or Path(c.clip).stem
                f.write(f"{c.start_seconds:.6f}\t{c.end_seconds:.6f}\t{label}\n")


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
