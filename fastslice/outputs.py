"""Where one input's clips go, and how they get there without loss, doubles or clashes.

Each input has, in its clip folder:

* its **marker** ``.<stem>.fastslice.json`` (``fastslice.manifest``): written once its clips
  are complete, it lists them with their sizes;
* its **work folder** ``.<stem>.fastslice.work/``: clips are written there first, as
  ``<k>.<ext>.part``; nothing else writes there, so what an interrupted run leaves is found
  by name, without listing the output folder or matching patterns, and removed whole.

A file's clips are all or nothing.  They are written into the work folder while it is
decoded; then ``commit`` checks that no clip would take the place of a file that is not this
input's own earlier clip, removes the clips its old marker lists, writes the new marker, moves
the clips to their names, and removes the work folder.  A run killed before the marker leaves
only the work folder; one killed after it leaves a marker that lists clips not all in place,
which a re-run does not count as done.

A stream's clips (a pipe, which may never end) are moved to their names as each completes,
and listed in the work folder's journal as they are, so that an interrupted stream keeps
them and a later run can tell they are there.

Clips are moved to their names without replacing anything (a hard link, then the temporary
name removed): no clip ever replaces another clip, an input file or any other file, whatever
the names a template gives.

A re-run skips an input (``finished``) when its marker has this layout, the source has the
same path, size and modification time, the options that decide the clips are the same, and
every clip listed is there with the size recorded.
"""
import errno
import os
import shutil
from pathlib import Path

from . import manifest
from .errors import FastsliceError

WORK_SUFFIX = ".fastslice.work"
_JOURNAL = "placed.txt"


class InputOutput:
    """The output side of one input: its clip folder (absolute), stem, marker and work folder."""

    def __init__(self, folder, stem):
        self.folder = Path(os.path.abspath(folder))
        self.stem = stem
        self.marker = manifest.marker_path(self.folder, stem)
        self.work = self.folder / f".{stem}{WORK_SUFFIX}"
        self._placed = None  # a stream's journal, open while it places clips
        self._moved = []  # clips commit() has given their names (taken back by abandon())
        self._wrote_marker = False

    # -- before slicing ------------------------------------------------------------------

    def finished(self, record):
        """``(recorded, clips)`` if the marker shows this input complete with ``record``'s source and
        options and every clip listed is there with its size; else None."""
        read = manifest.read_marker(self.marker)
        if read is None:
            return None
        recorded, clips = read
        if recorded.get("fastslice_marker") != manifest.MARKER_LAYOUT:
            return None
        if any(recorded.get(key) != value for key, value in record.items()):
            return None
        for clip in clips:
            try:
                if clip.size is None or os.stat(clip.clip).st_size != clip.size:
                    return None
            except OSError:
                return None
        self._remove_work()  # left by a run killed after its marker: nothing in it is needed
        return recorded, clips

    def begin(self, source, stream=False, overwrite=False):
        """Clear what an earlier, interrupted run of this input left, and make the work folder.

        A stream cannot be recognised again: if an earlier run left clips under this stem (a
        marker, or a journal), it is refused unless ``overwrite``, which removes them first."""
        if stream:
            used, earlier = self._earlier_clips()
            if used and not overwrite:
                names = "".join(f"{Path(p).name}, " for p in earlier[:2])
                raise FastsliceError(f"{source}: {self.folder} already holds clips of the stem {self.stem!r} ({names}...); "
                                     "give another stem (--stem) or --overwrite to replace them")
            for path in earlier:
                _unlink(path)
            _unlink(self.marker)
        self._remove_work()
        self.folder.mkdir(parents=True, exist_ok=True)
        os.mkdir(self.work)

    def work_path(self, k, extension):
        """Where clip ``k`` is written before it gets its name."""
        return self.work / f"{k}.{extension}.part"

    # -- after slicing ----------------------------------------------------------------------

    def commit(self, source, record, clips):
        """Give a file's clips (written to their work paths, ``clip.clip`` their final names) their names,
        with the marker.  ``clips`` are ``(work_path, Clip)`` pairs."""
        read = manifest.read_marker(self.marker)
        earlier = {os.path.normpath(c.clip) for c in read[1]} if read is not None else set()
        for _, clip in clips:
            final = os.path.normpath(clip.clip)
            if final not in earlier and os.path.lexists(final):
                raise FastsliceError(_taken(source, final))
        for path in earlier:
            _unlink(path)
        self._wrote_marker = True
        manifest.write_marker(self.marker, record, [clip for _, clip in clips])
        for work_path, clip in clips:
            try:
                move_without_replacing(work_path, clip.clip)
            except FileExistsError:  # taken since the check: by another run writing here at the same time
                raise FastsliceError(_taken(source, clip.clip)) from None
            self._moved.append(clip.clip)
        self._remove_work()

    def place(self, source, work_path, clip):
        """A stream's clip, complete: give it its name now, and note it in the journal."""
        try:
            move_without_replacing(work_path, clip.clip)
        except FileExistsError:
            raise FastsliceError(_taken(source, clip.clip)) from None
        if self._placed is None:
            self._placed = open(self.work / _JOURNAL, "a", encoding="utf-8")
        self._placed.write(clip.clip + "\n")
        self._placed.flush()

    def finish_stream(self, record, clips):
        """A stream's end (or Ctrl-C): the marker for the clips placed, then the work folder goes."""
        manifest.write_marker(self.marker, record, clips)
        self._close_journal()
        self._remove_work()

    def abandon(self):
        """A file that failed: remove its work folder, and what ``commit`` had done of its part."""
        self._close_journal()
        for path in self._moved:
            _unlink(path)
        if self._wrote_marker:
            _unlink(self.marker)
        self._remove_work()

    # -- internals --------------------------------------------------------------------------

    def _earlier_clips(self):
        """``(used, paths)``: whether an earlier stream run used this stem (a marker, or an interrupted
        run's journal), and the clips of it still there."""
        read = manifest.read_marker(self.marker)
        paths = [c.clip for c in read[1]] if read is not None else []
        try:
            with open(self.work / _JOURNAL, encoding="utf-8") as journal:
                paths += [line.rstrip("\n") for line in journal if line.strip()]
        except OSError:
            pass
        existing = [p for p in dict.fromkeys(paths) if os.path.lexists(p)]
        return read is not None or os.path.lexists(self.marker) or bool(existing), existing

    def _close_journal(self):
        if self._placed is not None:
            self._placed.close()
            self._placed = None

    def _remove_work(self):
        try:
            os.rmdir(self.work)
        except FileNotFoundError:
            pass
        except OSError:
            shutil.rmtree(self.work, ignore_errors=True)


def move_without_replacing(temporary, final):
    """Move ``temporary`` to ``final``, which must not exist (``FileExistsError`` if it does): a hard
    link then an unlink, where the file system has hard links; else a check, then a rename."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(temporary, final)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS):
            raise
        if os.path.lexists(final):  # no hard links here (FAT, some network shares)
            raise FileExistsError(errno.EEXIST, "File exists", str(final)) from None
        os.rename(temporary, final)
        return
    os.unlink(temporary)


def _taken(source, final):
    return (f"{source}: clip {final} already exists and is not one of this input's earlier clips (another input's "
            "clip with the same name, or a file of yours); fastslice replaces no file: choose another --name or -o "
            "folder, or move that file away")


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
