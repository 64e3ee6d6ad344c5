"""Where one input's clips go, and how they get there without loss, doubles or clashes.

In each clip folder:

* every input has its **marker** ``.<stem>.fastslice.json`` (``fastslice.output.markers``), written
  once its clips are complete: it lists them with their sizes;
* the folder's **work folder** ``.fastslice.work/`` holds clips while they are written, as
  ``<stem>.<k>.<ext>.part`` (``~<stem>...`` for a stem that is a Windows device name, or that
  begins with ``~``: ``fastslice.system.filenames.work_stem``), and nothing else: no clip, no marker.
  What an interrupted run left there is found by name or by listing that small folder, never
  the output folder:
  ``slice_file`` removes its stem's leftovers before it starts, and ``slice_files`` (whose
  tasks do not) removes the work folders of a run's clip folders when the run is over, with
  the leftovers of its inputs (``sweep_work_folders``).

A file's clips are all or nothing.  They are written into the work folder while it is
decoded; then ``commit`` checks that no clip would take the place of a file that is not this
input's own earlier clip, removes the clips its old marker lists, writes the new marker, and
moves the clips to their names.  A run killed before the marker leaves only temporaries in the
work folder; one killed after it leaves a marker that lists clips not all in place, which a
re-run does not count as done.

A pipe's clips (a file object or a named pipe, which may never end) are moved to their names as
each completes, and listed in its journal ``.<stem>.fastslice.journal`` as they are, so that an
interrupted pipe keeps them and a later run can tell they are there.

Clips are moved to their names without replacing anything (a hard link, then the temporary
name removed): no clip ever replaces another clip, an input file or any other file, whatever
the names a template gives.  Removals and renames that another program holds for a moment
(Windows' antivirus or indexer) are tried again within a bound (``fastslice.system.fileops``).

A re-run skips an input (``finished``) when its marker has this layout, the source has the
same path, size and modification time, the options that decide the clips are the same, and
every clip listed is there with the size recorded.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from collections.abc import Iterable
from typing import IO, Any, Protocol

from ..system import fileops
from . import markers
from ..system import storage
from ..errors import FastsliceError
from .rows import Clip
from ..system.filenames import nfc, work_stem

WORK_FOLDER = markers.WORK_FOLDER
JOURNAL_SUFFIX = ".fastslice.journal"


def _another_stem(source: str) -> str:
    """The fix for a stream whose stem has clips already: another stem (-: --stem; a FIFO: its name)."""
    return "give the FIFO another name" if fileops.is_fifo(source) else "give another stem (--stem)"


class Output(Protocol):
    """The output side of one input, local (``InputOutput``) or in a bucket (``BucketOutput``):
    what ``fastslice.run.files`` asks of it, in the order it asks."""

    @property
    def folder(self) -> Any:
        """The clip folder: a path, or a URL."""

    @property
    def stem(self) -> str:
        """The stem of the input's clips."""

    @property
    def work(self) -> Path | None:
        """The local folder clips are written into before they get their names (made by ``begin``)."""

    def finished(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[Any]] | None:
        """``(recorded, clips)`` if an earlier run finished this input with ``record``'s source and options."""

    def begin(self, source: str, pipe: bool = False, overwrite: bool = False, sweep: bool = True) -> None:
        """Make the work folder (a pipe: refuse, or with ``overwrite`` remove, its stem's earlier clips)."""

    def work_path(self, k: int, extension: str) -> Path:
        """Where clip ``k`` is written before it gets its name."""

    def sweep(self) -> None:
        """Remove what an interrupted run of this input left in the work folder."""

    def commit(self, source: str, record: dict[str, Any], clips: list[Any], labs: bool = False) -> None:
        """A file's clips (``(work path, clip)``), all at once: marker written, clips moved to their names."""

    def place(self, source: str, work_path: Path, clip: Any, labs: bool = False) -> None:
        """A stream's clip, as soon as it is complete: moved to its name and journalled."""

    def finish_pipe(self, record: dict[str, Any], clips: list[Any]) -> None:
        """A pipe's marker, listing the clips it placed."""

    def abandon(self) -> None:
        """Remove every clip and temporary of this run (a file that failed or was interrupted)."""

    def remove_work_folder_if_empty(self) -> None:
        """Remove the work folder if nothing is left in it."""


class InputOutput:
    """The output side of one input: its clip folder (absolute), stem, marker and temporaries.

    The marker, journal and work folder are in ``records`` (by default the clip folder itself;
    a layout keeps them in ``OUT_DIR/.fastslice/...``, so that the clip folders hold nothing but
    what the project reads)."""

    def __init__(self, folder: str | os.PathLike[str], stem: str, records: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(os.path.abspath(folder))
        self.records = Path(os.path.abspath(records)) if records else self.folder
        self.stem = stem = nfc(stem)  # the spelling clip names are written in
        self.marker = markers.marker_path(self.records, stem)
        self.work = self.records / WORK_FOLDER
        self.journal = self.records / f".{stem}{JOURNAL_SUFFIX}"
        self._temporaries: list[Path] = []  # work paths handed out (removed by abandon())
        self._placed: IO[str] | None = None  # a stream's journal, open while it places clips
        self._moved: list[str] = []  # clips commit() has given their names (taken back by abandon())
        self._wrote_marker = False

    # -- before slicing ------------------------------------------------------------------

    def finished(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[Clip]] | None:
        """``(recorded, clips)`` if the marker shows this input complete with ``record``'s source and
        options and every clip listed is there with its size; else None."""
        read = _matching(markers.read_marker(self.marker), record)
        if read is None:
            return None
        recorded, clips = read
        for clip in clips:
            if not clip.has_file:  # --no-clips: a range of the source, nothing to check
                continue
            try:
                if clip.size is None or os.stat(clip.clip).st_size != clip.size:
                    return None
                if recorded.get("labs") and not os.path.isfile(lab_path(clip.clip)):
                    return None
            except OSError:
                return None
        return recorded, clips

    def begin(self, source: str, pipe: bool = False, overwrite: bool = False, sweep: bool = True) -> None:
        """Make the work folder; with ``sweep``, first remove this stem's temporaries that an earlier,
        interrupted run left (``slice_files`` sweeps whole work folders itself, once per run).

        A pipe cannot be recognised again: if an earlier run left clips under this stem (a
        marker, or a journal), it is refused unless ``overwrite``, which removes them first."""
        if pipe:
            used, earlier = self._earlier_clips()
            if used and not overwrite:
                names = "".join(f"{Path(p).name}, " for p in earlier[:2])
                raise FastsliceError(f"{source}: {self.folder} already holds clips of the stem {self.stem!r} "
                                     f"({names}...); {_another_stem(source)} or --overwrite to replace them")
            for path in earlier:
                _unlink(path)
            _unlink(self.marker)
            _unlink(self.journal)
        try:
            os.mkdir(self.work)
        except FileExistsError:
            if sweep:
                self.sweep()
        except FileNotFoundError:  # the clip folder is new (another worker may be making it too)
            os.makedirs(self.work, exist_ok=True)
        if self.records != self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def work_path(self, k: int, extension: str) -> Path:
        """Where clip ``k`` is written before it gets its name."""
        path = self.work / f"{work_stem(self.stem)}.{k}.{extension}.part"
        self._temporaries.append(path)
        return path

    def sweep(self) -> None:
        """Remove this stem's temporaries from the work folder (one listing of that small folder)."""
        mine = re.compile(re.escape(work_stem(self.stem)) + r"\.[0-9]+\.[A-Za-z0-9]+\.part")
        try:
            with os.scandir(self.work) as entries:
                names = [e.name for e in entries if mine.fullmatch(e.name)]
        except OSError:
            return
        for name in names:
            _unlink(self.work / name)

    # -- after slicing ----------------------------------------------------------------------

    def commit(self, source: str, record: dict[str, Any], clips: list[tuple[Path | None, Clip]], labs: bool = False) -> None:
        """Give a file's clips (written to their work paths, ``clip.clip`` their final names) their names,
        with the marker, and with ``labs`` a ``.lab`` transcript beside each.  ``clips`` are
        ``(work_path, Clip)`` pairs; a clip with no file (``--no-clips``) has ``None``."""
        earlier = self._earlier_files()
        finals = [os.path.normpath(clip.clip) for work, clip in clips if work is not None]
        finals += [lab_path(path) for path in finals] if labs else []
        for final in finals:
            if final not in earlier and os.path.lexists(final):
                raise FastsliceError(_taken(source, final))
        for path in earlier:
            _unlink(path)
        self._wrote_marker = True
        markers.write_marker(self.marker, record, [clip for _, clip in clips])
        for work_path, clip in clips:
            if work_path is not None:
                self._move(source, work_path, clip.clip)
                if labs:
                    self._write_lab(source, clip)
        self._temporaries = []

    def place(self, source: str, work_path: Path, clip: Clip, labs: bool = False) -> None:
        """A stream's clip, complete: give it its name now (with its ``.lab``), and note it in the journal."""
        self._move(source, work_path, clip.clip)
        if labs:
            self._write_lab(source, clip)
        if self._placed is None:
            self._placed = open(self.journal, "a", encoding="utf-8")
        self._placed.write(clip.clip + "\n" + (lab_path(clip.clip) + "\n" if labs else ""))
        self._placed.flush()

    def finish_pipe(self, record: dict[str, Any], clips: list[Clip]) -> None:
        """A pipe's end (or Ctrl-C): the marker for the clips placed, then the journal goes."""
        markers.write_marker(self.marker, record, clips)
        self._close_journal()
        _unlink(self.journal)
        self._remove_temporaries()

    def abandon(self) -> None:
        """A file that failed: remove its temporaries, and what ``commit`` had done of its part."""
        self._close_journal()
        for path in self._moved:
            _unlink(path)
        if self._wrote_marker:
            _unlink(self.marker)
        self._remove_temporaries()

    def remove_work_folder_if_empty(self) -> None:
        try:
            os.rmdir(self.work)
        except OSError:
            pass

    # -- internals --------------------------------------------------------------------------

    def _earlier_files(self) -> set[str]:
        """The clip files (and their ``.lab`` files) the marker lists: this input's own, to replace."""
        read = markers.read_marker(self.marker)
        if read is None:
            return set()
        recorded, clips = read
        paths = {os.path.normpath(c.clip) for c in clips if c.has_file}
        return paths | {lab_path(p) for p in paths} if recorded.get("labs") else paths

    def _move(self, source: str, work_path: Path, final: str) -> None:
        try:
            move_without_replacing(work_path, final)
        except FileExistsError:  # taken since the check: by another run writing here at the same time
            raise FastsliceError(_taken(source, final)) from None
        except OSError as exc:
            raise FastsliceError(f"{source}: cannot give clip {final} its name: {fileops.describe(exc)}") from None
        self._moved.append(final)

    def _write_lab(self, source: str, clip: Clip) -> None:
        work = self.work / f"{work_stem(self.stem)}.{len(self._moved)}.lab.part"
        self._temporaries.append(work)
        try:
            work.write_text(clip.text, encoding="utf-8")
        except OSError as exc:
            raise FastsliceError(f"{source}: cannot write {lab_path(clip.clip)} ({exc.strerror or exc})") from None
        self._move(source, work, lab_path(clip.clip))

    def _earlier_clips(self) -> tuple[bool, list[str]]:
        """``(used, paths)``: whether an earlier stream run used this stem (a marker, or an interrupted
        run's journal), and the clips of it still there."""
        read = markers.read_marker(self.marker)
        paths = sorted(self._earlier_files()) if read is not None else []
        try:
            with open(self.journal, encoding="utf-8") as journal:
                paths += [line.rstrip("\n") for line in journal if line.strip()]
        except OSError:
            pass
        existing = [p for p in dict.fromkeys(paths) if os.path.lexists(p)]
        return read is not None or os.path.lexists(self.marker) or os.path.lexists(self.journal) or bool(existing), existing

    def _close_journal(self) -> None:
        if self._placed is not None:
            self._placed.close()
            self._placed = None

    def _remove_temporaries(self) -> None:
        for path in self._temporaries:
            _unlink(path)
        self._temporaries = []


def sweep_work_folders(folders: Iterable[str | os.PathLike[str]], stems_in: Any) -> None:
    """Remove the work folders of ``folders`` (clip folders), once a run is over: an empty or absent
    one costs no listing.  One that still holds temporaries (of a worker that died, or of a run
    killed earlier) is listed, the temporaries of the stems ``stems_in(folder)`` gives (this
    run's inputs there) are removed, and then the folder if that empties it."""
    for folder in folders:
        work = os.path.join(folder, WORK_FOLDER)
        try:
            os.rmdir(work)
            continue
        except FileNotFoundError:
            continue
        except OSError:
            pass
        stems = {work_stem(stem) for stem in stems_in(folder)}
        try:
            with os.scandir(work) as entries:
                names = [e.name for e in entries]
        except OSError:
            continue
        for name in names:
            parts = name.rsplit(".", 3)
            if len(parts) == 4 and parts[3] == "part" and parts[1].isdigit() and parts[0] in stems:
                _unlink(os.path.join(work, name))
        try:
            os.rmdir(work)
        except OSError:
            pass


def lab_path(clip: str | os.PathLike[str]) -> str:
    """The transcript beside a clip: ``talk_0.wav`` -> ``talk_0.lab``."""
    return os.path.splitext(clip)[0] + ".lab"


def move_without_replacing(temporary: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Move ``temporary`` to ``final``, which must not exist (``FileExistsError`` if it does): a hard
    link then an unlink, where the file system has hard links; else a check, then a rename."""
    final = Path(final)
    try:
        try:
            os.link(temporary, final)
        except FileNotFoundError:
            if not os.path.exists(temporary):
                raise
            final.parent.mkdir(parents=True, exist_ok=True)  # a template's subfolder
            os.link(temporary, final)
    except FileExistsError:
        raise
    except OSError as exc:
        # Windows says "no hard links here" (FAT, exFAT) as ERROR_INVALID_FUNCTION or ERROR_NOT_SUPPORTED
        if (exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS)
                and getattr(exc, "winerror", None) not in (1, 50)):
            raise
        if os.path.lexists(final):  # no hard links here (FAT, some network shares)
            raise FileExistsError(errno.EEXIST, "File exists", str(final)) from None
        final.parent.mkdir(parents=True, exist_ok=True)
        fileops.rename(temporary, final)
        return
    fileops.remove(temporary)


def _taken(source: str | os.PathLike[str], final: str | os.PathLike[str]) -> str:
    return (f"{source}: clip {final} already exists and is not one of this input's earlier clips (another input's "
            "clip with the same name, or a file of yours); fastslice replaces no file: choose another --name or -o "
            "folder, or move that file away")


_unlink = fileops.remove  # removals retried while another program holds the file (Windows)


class BucketOutput:
    """The output side of one input whose clip folder is a URL: an object store, which has no rename.

    Clips are written to a local temporary folder while the input is decoded; ``commit`` uploads
    each under its final name in one request (an object is whole or absent), then the marker, and
    only then removes what the old marker listed that the new one does not.  A stream's clips are
    uploaded as each completes.  ``listed`` (``{url: size}`` of this input's objects, from the
    run's one listing of the output) lets ``finished`` check the clips without a request each.
    """

    def __init__(self, folder: str, stem: str, storage_options: dict[str, Any] | None,
                 listed: dict[str, int] | None = None) -> None:
        self.folder = folder.rstrip("/")
        self.records = self.folder
        self.stem = stem = nfc(stem)
        self.options = storage_options or {}
        self.marker = storage.join(self.folder, f".{stem}{markers.MARKER_SUFFIX}")
        self.listed = listed
        self.work: Path | None = None  # a local temporary folder, from begin()
        self._uploaded: list[str] = []
        self._wrote_marker = False

    def _read_marker(self) -> Any:
        if self.listed is not None and self.marker not in self.listed:
            return None  # the run's listing has no marker for it: no request
        data = storage.read_bytes(self.marker, self.options)
        return None if data is None else markers.parse_marker(data.decode("utf-8", "replace"), self.folder)

    def _size(self, url: str) -> int | None:
        if self.listed is not None:
            return self.listed.get(url)
        try:
            return storage.info(url, self.options)[0]
        except storage.StorageError:
            return None

    def finished(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[Clip]] | None:
        read = _matching(self._read_marker(), record)
        if read is None:
            return None
        recorded, clips = read
        for clip in clips:
            if clip.has_file and (clip.size is None or self._size(clip.clip) != clip.size
                                  or recorded.get("labs") and self._size(lab_path(clip.clip)) is None):
                return None
        return recorded, clips

    def begin(self, source: str, pipe: bool = False, overwrite: bool = False, sweep: bool = True) -> None:
        if pipe:
            read = self._read_marker()
            if read is not None and not overwrite:
                raise FastsliceError(f"{source}: {self.folder} already holds clips of the stem {self.stem!r}; "
                                     f"{_another_stem(source)} or --overwrite to replace them")
            for clip in (read[1] if read is not None else ()):
                if clip.has_file:
                    storage.remove(clip.clip, self.options)
            if read is not None:
                storage.remove(self.marker, self.options)
        self.work = Path(tempfile.mkdtemp(prefix="fastslice-work-"))

    def work_path(self, k: int, extension: str) -> Path:
        assert self.work is not None, "prepare() makes the work folder first"
        return self.work / f"{work_stem(self.stem)}.{k}.{extension}.part"

    def sweep(self) -> None:
        pass  # temporaries are local, in a folder of their own

    def commit(self, source: str, record: dict[str, Any], clips: list[tuple[Path | None, Clip]], labs: bool = False) -> None:
        read = self._read_marker()
        for work_path, clip in clips:
            if work_path is not None:
                self._upload(source, work_path, clip, labs)
        self._wrote_marker = True
        try:
            markers.write_marker(self.marker, record, [clip for _, clip in clips], self.options)
        except storage.StorageError as exc:
            raise FastsliceError(f"{source}: {exc}") from None
        kept = {clip.clip for _, clip in clips}
        for old in (read[1] if read is not None else ()):  # the old marker's clips that are not the new ones
            if old.has_file and old.clip not in kept:
                storage.remove(old.clip, self.options)
                if read[0].get("labs"):
                    storage.remove(lab_path(old.clip), self.options)
        self._uploaded = []
        self.remove_work_folder_if_empty()

    def place(self, source: str, work_path: Path, clip: Clip, labs: bool = False) -> None:
        self._upload(source, work_path, clip, labs)

    def finish_pipe(self, record: dict[str, Any], clips: list[Clip]) -> None:
        markers.write_marker(self.marker, record, clips, self.options)
        self.remove_work_folder_if_empty()

    def abandon(self) -> None:
        for url in self._uploaded:
            storage.remove(url, self.options)
        if self._wrote_marker:
            storage.remove(self.marker, self.options)
        self.remove_work_folder_if_empty()

    def remove_work_folder_if_empty(self) -> None:
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None

    def _upload(self, source: str, work_path: Path, clip: Clip, labs: bool) -> None:
        try:
            storage.put(str(work_path), clip.clip, self.options)
            self._uploaded.append(clip.clip)
            if labs:
                lab = Path(f"{work_path}.lab")
                lab.write_text(clip.text, encoding="utf-8")
                storage.put(str(lab), lab_path(clip.clip), self.options)
                self._uploaded.append(lab_path(clip.clip))
        except storage.StorageError as exc:  # the input is named first, then the object
            raise FastsliceError(f"{source}: {exc}") from None
        os.unlink(work_path)


def _matching(read: Any, record: dict[str, Any]) -> tuple[dict[str, Any], list[Clip]] | None:
    """A marker's ``(recorded, clips)`` (``read``) if it is of this layout and records ``record``'s source
    and options, else None."""
    if read is None:
        return None
    recorded, _ = read
    if recorded.get("fastslice_marker") != markers.MARKER_LAYOUT:
        return None
    if any(recorded.get(key) != value for key, value in record.items()):
        return None
    return read


def output_for(folder: str | os.PathLike[str], stem: str, records: str | os.PathLike[str] | None = None,
               storage_options: dict[str, Any] | None = None, listed: dict[str, int] | None = None) -> Output:
    """The output side of an input: a ``BucketOutput`` for a URL, else an ``InputOutput``."""
    if storage.is_url(str(folder)):
        return BucketOutput(str(folder), stem, storage_options, listed)
    return InputOutput(folder, stem, records)
