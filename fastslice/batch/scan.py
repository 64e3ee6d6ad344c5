"""The inputs of a run: files, folders, glob patterns, URLs and standard input, expanded into jobs.

``expand_inputs(inputs, out_dir, options)`` walks each input folder once (one ``stat`` per file)
into a compact ``Jobs`` table (regular files and links to them only: a FIFO, a socket or a device
found in a folder is counted in ``Jobs.not_files`` and never opened; a FIFO named as an input is
read as a stream), and sets aside, each with a message, the inputs that cannot be
sliced: a file reached twice is kept once, and inputs whose marker or first clip name would be
another's (or clips of an earlier run into the same folder) are problems, never sliced.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
import stat
from array import array
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, Optional

import numpy as np

from ..output import markers
from ..system import storage
from ..system.fileops import is_fifo, what_it_is
from ..system.filenames import case_insensitive, fold, nfc, portable_path
from ..settings.options import SliceOptions

if TYPE_CHECKING:
    from ..output.clipnames import ClipNames

#: File name extensions taken as audio without reading them (others are tried by content).
AUDIO_EXTENSIONS = {
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
    ".caf", ".w64", ".rf64", ".voc", ".sd2", ".mat", ".pvf", ".xi", ".htk", ".sf", ".ircam", ".nist", ".paf", ".svx", ".wve",
    # read through FFmpeg: compressed audio, and the sound track of video files
    ".m4a", ".m4b", ".mp4", ".aac", ".mov", ".mkv", ".mka", ".webm", ".flv", ".wma", ".asf", ".ac3", ".amr", ".mp2", ".alac",
}

#: The input that means standard input (a pipe).
STDIN = "-"

#: How many of the entries a run skipped as not regular files it names (the summary line's "first few").
NAMED_NOT_FILES = 3


@dataclasses.dataclass
class NotFiles:
    """The entries of the input folders (and glob matches) skipped because they are not regular files
    (a FIFO, a socket, a device, a link to one, or a broken link without an audio extension): how
    many, and the first ``NAMED_NOT_FILES`` as ``(path, what)``, e.g. ``("/lib/pipe", "FIFO")``."""

    count: int = 0
    first: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def add(self, path: str, what: str) -> None:
        self.count += 1
        if len(self.first) < NAMED_NOT_FILES:
            self.first.append((path, what))


class Job(NamedTuple):
    """One input: its path (absolute, or ``"-"``), the folder its clips go to (absolute), its stem, its
    speaker (``""``: none), and the folder of its marker (``""``: the clip folder)."""

    source: str
    folder: str
    stem: str
    speaker: str = ""
    records: str = ""


def _no_speaker(folder: str) -> str:
    return ""


def _own_folder(clip_folder: str) -> str:
    return ""


def _nfc_stem(stem: str) -> str:
    return nfc(stem)


class Jobs:
    """The inputs of a run, kept compactly (a few integers and the file's name per input), in a
    stable order: by input argument, then by path."""

    #: a bucket output's one listing (``storage.Listing``), or None
    listing: Optional[storage.Listing] = None

    def __init__(self, speaker_of: Callable[[str], str] = _no_speaker,
                 records_of: Callable[[str], str] = _own_folder, stem_of: Callable[[str], str] = _nfc_stem) -> None:
        self._speaker_of = speaker_of  # a source folder's speaker (SliceOptions.speaker_of)
        self._records_of = records_of  # a clip folder's records folder ("": itself)
        self._stem_of = stem_of  # a file's stem as its clips are named (ClipNames.stem: NFC, mapped)
        self._folders: list[tuple[str, str]] = []  # (source folder, clip folder), both absolute
        self._folder_ids: dict[tuple[str, str], int] = {}
        self._folder = array("i")
        self._names: list[str] = []  # file names (short strings; folders are shared)
        self._sizes = array("q")
        self.has_stdin = False
        self._stdin: Optional[Job] = None
        #: the entries the walk skipped because they are not regular files (a FIFO, a socket, ...)
        self.not_files = NotFiles()

    def add(self, source_folder: str, clip_folder: str, name: str, size: int) -> None:
        """Add the file ``name`` of ``source_folder`` (``size`` bytes), its clips going to ``clip_folder``."""
        key = (source_folder, clip_folder)
        folder = self._folder_ids.get(key)
        if folder is None:
            folder = self._folder_ids[key] = len(self._folders)
            self._folders.append(key)
        self._folder.append(folder)
        self._names.append(name)
        self._sizes.append(size)

    def add_stdin(self, clip_folder: str, stem: str, speaker: str = "") -> None:
        """Make standard input the run's one input, its clips named after ``stem``."""
        self.has_stdin = True
        self._stdin = Job(STDIN, clip_folder, self._stem_of(stem), speaker, self._records_of(clip_folder))

    def __len__(self) -> int:
        return len(self._names) + self.has_stdin

    def __getitem__(self, index: int) -> Job:
        if self._stdin is not None:
            return self._stdin
        source_folder, clip_folder = self._folders[self._folder[index]]
        name = self._names[index]
        return Job(os.path.join(source_folder, name), clip_folder, self._stem_of(split_name(name)[0]),
                   nfc(self._speaker_of(source_folder)), self._records_of(clip_folder))

    def listed(self, index: int, options: SliceOptions) -> Optional[dict[str, int]]:
        """``{url: size}`` of the objects the run's listing found for input ``index`` (its marker, and
        what its clip names begin with), or None without a listing."""
        if self.listing is None:
            return None
        job = self[index]
        found: dict[str, int] = self.listing.under(storage.join(job.folder, f".{job.stem}{markers.MARKER_SUFFIX}"))
        found.update(self.listing.under(storage.join(job.folder, options.names.prefix(job.stem, job.speaker))))
        return found

    def folder_id(self, index: int) -> int:
        """The number of input ``index``'s (source folder, clip folder) pair in ``folders()``."""
        return self._folder[index]

    def folders(self) -> list[tuple[str, str]]:
        """Every (source folder, clip folder) pair of the table, absolute, in the order of ``folder_id``."""
        return list(self._folders)

    def clip_folder(self, index: int) -> str:
        """The clip folder of input ``index``."""
        return self._folders[self._folder[index]][1]

    def records_folders(self) -> list[str]:
        """Every folder of the run's markers and work folders, once."""
        if self._stdin is not None:
            return [self._stdin.records or self._stdin.folder]
        return list(dict.fromkeys(self._records_of(clip) or clip for _, clip in self._folders))

    def stems_in(self, records_folder: str) -> set[str]:
        """The stems of the inputs whose markers go to ``records_folder`` (a pass over the table)."""
        if self._stdin is not None:
            return {self._stdin.stem}
        ids = {k for k, (_, clip) in enumerate(self._folders) if (self._records_of(clip) or clip) == records_folder}
        return {self._stem_of(split_name(name)[0]) for name, k in zip(self._names, self._folder) if k in ids}

    def largest_first(self) -> list[int]:
        """Input indexes, largest file first (size stands for length), so that a long file among short
        ones does not start last.  Files of about one size (within 19 %) go round the clip folders in
        turn, each folder's in input order: workers then write in different folders, which file
        systems let them do at once (creating files in one folder they do one at a time)."""
        if self.has_stdin:
            return [0]
        n = len(self)
        if n == 0:
            return []
        sizes = np.frombuffer(self._sizes, np.int64)
        alike = -np.floor(4 * np.log2(np.maximum(sizes, 1))).astype(np.int64)
        folder = np.frombuffer(self._folder, np.int32).astype(np.int64)
        group = alike * (len(self._folders) + 1) + folder
        by_group = np.argsort(group, kind="stable")
        sorted_group = group[by_group]
        starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
        rank = np.empty(n, np.int64)
        rank[by_group] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        order: list[int] = np.lexsort((folder, rank, alike)).tolist()
        return order

    def keep(self, mask: np.ndarray) -> Jobs:
        """Only the inputs where ``mask`` is true."""
        kept = Jobs(self._speaker_of, self._records_of, self._stem_of)
        kept.not_files = self.not_files
        for i in np.flatnonzero(mask).tolist():
            source_folder, clip_folder = self._folders[self._folder[i]]
            kept.add(source_folder, clip_folder, self._names[i], self._sizes[i])
        return kept


class _Expansion:
    """One run's expansion of its inputs: where each folder's clips and markers go, and the table."""

    def __init__(self, out_dir: str | os.PathLike[str], options: SliceOptions) -> None:
        self.options = options
        self.remote_out = storage.is_url(str(out_dir))
        self.out_abs: str = str(out_dir).rstrip("/") if self.remote_out else os.path.abspath(out_dir)
        self.out_real = None if self.remote_out else os.path.realpath(self.out_abs)
        self.layout = options.project
        self.table = Jobs(options.speaker_of, self.records_of, options.names.stem)
        self.problems: list[str] = []
        self.identities = array("q")  # (device, inode) of each file, to slice a file reached twice once
        self.clips_here = ClipsOfThisRun(self.records_of)

    def clip_folder_of(self, folder: str, mirrored: str) -> str:
        """A source folder's clip folder: the layout's, or ``mirrored`` (the input tree under OUT_DIR)."""
        if self.layout is None:
            return mirrored
        resolved: str = storage.resolve(self.out_abs, self.folder_name(self.layout.clip_folder(
            nfc(self.options.speaker_of(folder)))))
        return resolved

    def folder_name(self, relative: str) -> str:
        """A folder's path under OUT_DIR (``/``-separated) as it is written: NFC, and mapped with
        ``--names portable`` (``fastslice.system.filenames.portable_path``)."""
        return portable_path(relative) if self.options.names.portable else nfc(relative)

    def records_of(self, clip_folder: str) -> str:
        """Where a layout keeps a clip folder's markers: ``OUT_DIR/.fastslice/<clip folder>`` (local output)."""
        if self.layout is None or self.remote_out:
            return ""
        return os.path.normpath(os.path.join(self.out_abs, markers.RECORDS_FOLDER,
                                             os.path.relpath(clip_folder, self.out_abs)))

    def add_stdin(self, stem: str) -> None:
        speaker = self.options.speaker or ""
        folder = self.out_abs if self.layout is None else storage.resolve(self.out_abs,
                                                                           self.folder_name(self.layout.clip_folder(speaker)))
        self.table.add_stdin(folder, stem, speaker)

    def add_path(self, spec: str) -> None:
        """A local file, folder or glob pattern."""
        path = os.path.abspath(spec)
        if os.path.isdir(path):
            if not self.walk(path):
                self.problems.append(f"{spec}: the folder holds no audio file")
        elif os.path.isfile(path) or is_fifo(path):  # a FIFO named as an input is read as a stream, as - is
            folder = os.path.dirname(path)
            self.add_file(folder, self.clip_folder_of(folder, self.out_abs), os.path.basename(path), explicit=True)
        elif glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                self.problems.append(f"{spec}: no file matches this pattern")
            for match in matches:
                match = os.path.abspath(match)
                if os.path.isdir(match):
                    self.walk(match)
                elif os.path.isfile(match):
                    folder = os.path.dirname(match)
                    self.add_file(folder, self.clip_folder_of(folder, self.out_abs), os.path.basename(match))
                else:  # matched, but not a file: a FIFO, a socket, a device, a broken link
                    mode = _mode_of(match)
                    folder, name = os.path.split(match)
                    if mode is None and os.path.islink(match) and self.missing_recording(name):
                        self.add_file(folder, self.clip_folder_of(folder, self.out_abs), name)
                    elif mode is not None or os.path.islink(match):  # else gone since the listing
                        self.not_a_file(match, mode)
        elif os.path.lexists(path):
            mode = _mode_of(path)
            what = "a broken link" if mode is None else f"a {what_it_is(mode)}"
            self.problems.append(f"{spec}: {what}, not a regular file, a FIFO or a folder; fastslice slices files, the "
                                 "audio files of folders, named pipes (FIFOs) and - (standard input)")
        else:
            self.problems.append(f"{spec}: no such file or folder")

    def add_remote(self, spec: str) -> None:
        """The objects a URL names: one object, a folder (every audio object under it, by extension), or
        a glob pattern (``s3://bucket/archive/**/*.flac``), listed once; mirrored under OUT_DIR."""
        storage_options = self.options.storage_options
        pattern = glob.has_magic(spec.split("://", 1)[1])
        root = spec.rstrip("/")
        magic = re.search(r"[*?\[]", spec)
        if pattern and magic is not None:
            root = spec[: magic.start()].rsplit("/", 1)[0]
        found = storage.files_under(root, storage_options, pattern=spec if pattern else None)
        if not pattern and [url for url, _ in found] == [root]:  # the URL of one object
            root = storage.dirname(root)
        if not pattern and not found:
            try:
                size, _ = storage.info(root, storage_options)
                found, root = [(root, size)], storage.dirname(root)
            except storage.StorageError:
                found = []
        audio = [(url, size) for url, size in found if split_name(storage.basename(url))[1].lower() in AUDIO_EXTENSIONS]
        if not audio:
            what = "no object matches this pattern" if pattern else "no audio object there (by extension)"
            self.problems.append(f"{storage.public(spec)}: {what}")
        for url, size in audio:
            folder, name = url.rsplit("/", 1)
            relative = self.folder_name(storage.relative(folder, root)) if folder != root else "."
            mirrored = self.out_abs if relative == "." else storage.join(self.out_abs, relative) \
                if storage.is_url(self.out_abs) else os.path.join(self.out_abs, relative)
            self.table.add(folder, self.clip_folder_of(folder, mirrored), name, size)
            self.identities.append(-2)  # a URL: reached twice only by the same spelling
            self.identities.append(hash(url) & 0x7FFFFFFFFFFFFFFF)

    def walk(self, root: str) -> int:
        """Add the audio files under ``root`` (one ``scandir`` per folder), mirrored under OUT_DIR;
        returns how many."""
        import soundfile

        found = 0
        stack = [(root, self.out_abs)]
        while stack:
            folder, mirrored = stack.pop()
            clip_folder = self.clip_folder_of(folder, mirrored)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError:
                continue
            skip = self.clips_here.in_folder(folder, clip_folder, [e.name for e in entries])
            subfolders = []
            written: dict[str, str] = {}  # a subfolder's name under OUT_DIR -> its name here
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    if os.path.realpath(entry.path) != self.out_real:
                        name = self.folder_name(entry.name)
                        other = written.setdefault(name, entry.name)
                        if other == entry.name:
                            subfolders.append((entry.path, os.path.join(mirrored, name)))
                        else:
                            self.folder_clash(os.path.join(folder, other), entry.path, os.path.join(mirrored, name),
                                              subfolders)
                    continue
                if not entry.is_file():  # never opened: a FIFO would block its reader, a device is no recording
                    mode = _mode_of_entry(entry)
                    if mode is None and entry.is_symlink() and self.missing_recording(entry.name):
                        found += self.add_file(folder, clip_folder, entry.name, entry=entry)
                    elif mode is not None or entry.is_symlink():  # else gone since the listing
                        self.not_a_file(entry.path, mode)
                    continue
                if entry.path in skip:
                    continue
                if split_name(entry.name)[1].lower() not in AUDIO_EXTENSIONS:
                    try:  # detected by content: libsndfile reads its header
                        soundfile.info(entry.path)
                    except Exception:
                        continue
                found += self.add_file(folder, clip_folder, entry.name, entry=entry)
            stack += reversed(subfolders)  # depth first, in name order
        return found

    def folder_clash(self, first: str, second: str, mirrored: str, subfolders: list[tuple[str, str]]) -> None:
        """Two folders whose clips would go to one folder (``a:b/`` and ``a：b/`` once mapped): neither
        is sliced, one problem names both."""
        subfolders[:] = [(path, clip) for path, clip in subfolders if path != first]
        self.problems.append(f"{first} and {second}: their clips would both go to {mirrored} (names a Windows or "
                             "exFAT drive cannot hold are mapped: fastslice.system.filenames); neither is sliced: rename one of "
                             "them, or slice them into different -o folders")

    @staticmethod
    def missing_recording(name: str) -> bool:
        """Whether a broken link named ``name`` is a recording that is missing (its name says audio):
        then it is an input, and its worker reports it failed (the run's exit status is 1)."""
        return split_name(name)[1].lower() in AUDIO_EXTENSIONS

    def not_a_file(self, path: str, mode: Optional[int]) -> None:
        """An entry found in a folder or by a glob pattern that is not a regular file (``mode``: its
        type, None for a broken link): skipped and counted, never opened."""
        if mode is None:
            self.table.not_files.add(path, "broken link")
        elif not stat.S_ISDIR(mode):  # a folder that vanished and came back: nothing to say
            self.table.not_files.add(path, what_it_is(mode))

    def add_file(self, folder: str, clip_folder: str, name: str, entry: Optional[os.DirEntry[str]] = None,
                 explicit: bool = False) -> int:
        """Add one file (1), or not if it is a clip of this run's layout (0)."""
        path = os.path.join(folder, name)
        if entry is None and path in self.clips_here.in_folder(folder, clip_folder, None):
            if explicit:
                self.problems.append(f"{path}: a clip of an earlier run into this -o folder; not sliced again")
            return 0
        try:
            stat = entry.stat() if entry is not None else os.stat(path)
            size, device, inode = stat.st_size, stat.st_dev, stat.st_ino
        except OSError:  # a broken link: its error is the worker's to report
            size, device, inode = 0, -1, -len(self.identities) - 1
        self.table.add(folder, clip_folder, name, size)
        self.identities.append(device)
        self.identities.append(inode)
        return 1


def expand_inputs(inputs: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                  options: Optional[SliceOptions] = None, stdin_stem: str = "stdin") -> tuple[Jobs, list[str]]:
    """(jobs, problems): the inputs as a ``Jobs`` table, and a message per unusable argument or input.

    ``"-"`` is standard input, sliced under ``stdin_stem``.  A folder is walked once (hidden
    files and folders, and ``out_dir`` itself, are skipped) and mirrored under ``out_dir``.  A
    file reached twice (two arguments, a symbolic or hard link) is sliced once.  Inputs whose
    clips would share a marker (the same stem in the same clip folder) or a first clip name are
    problems, compared as the output folder compares names (``without_clashes``: whether it is
    case-insensitive is probed once, in ``out_dir``; names a Windows drive could not hold are
    mapped first, ``fastslice.system.filenames``), and clips of this layout found among the inputs (``-o`` equal to an input
    folder): those are never sliced again."""
    options = options or SliceOptions()
    run = _Expansion(out_dir, options)
    for spec in inputs:
        spec = os.fspath(spec)
        if spec == STDIN:
            run.add_stdin(stdin_stem)
        elif storage.is_url(spec):
            run.add_remote(spec)
        else:
            run.add_path(spec)
    if run.table.has_stdin:
        return run.table, run.problems
    insensitive = not run.remote_out and case_insensitive(run.out_abs)  # one probe per run
    kept = without_clashes(run.table, run.identities, options.names, run.problems, insensitive)
    return kept, run.problems


def _mode_of(path: str) -> Optional[int]:
    """The type of what ``path`` leads to (links followed), or None where that cannot be known (a broken link)."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def _mode_of_entry(entry: os.DirEntry[str]) -> Optional[int]:
    """``_mode_of`` for a listing's entry: its own ``stat`` (the listing's type where it gives one)."""
    try:
        return entry.stat().st_mode
    except OSError:
        return None


def split_name(name: str) -> tuple[str, str]:
    """(stem, suffix) of a file name, as ``pathlib`` splits it (``"...wav"``: ``".."``, ``".wav"``)."""
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if 0 < dot < len(name) - 1 else (name, "")


class ClipsOfThisRun:
    """Clips that markers list in folders that are their own clip folder (``-o`` equal to an input
    folder): the inputs must not include them.  Each such folder's markers are read once."""

    def __init__(self, records_of: Callable[[str], str]) -> None:
        self._records_of = records_of
        self._known: dict[str, set[str]] = {}

    def in_folder(self, folder: str, clip_folder: str, names: Optional[list[str]]) -> set[str]:
        """The clips of this run's layout in ``folder`` (``names``: its listing, if at hand)."""
        if folder in self._known:
            return self._known[folder]
        clips: set[str] = set()
        if os.path.realpath(clip_folder) == os.path.realpath(folder):
            records = self._records_of(clip_folder) or folder
            if names is None or records != folder:
                try:
                    names = os.listdir(records)
                except OSError:
                    names = []
            for name in names:
                if name.startswith(".") and name.endswith(markers.MARKER_SUFFIX):
                    read = markers.read_marker(os.path.join(records, name))
                    if read is not None:
                        clips.update(os.path.normpath(c.clip) for c in read[1] if c.has_file)
        self._known[folder] = clips
        return clips


def without_clashes(table: Jobs, identities: array[int], names: ClipNames, problems: list[str],
                    case_insensitive: bool = False) -> Jobs:
    """``table`` without the second of two entries for one file, and without inputs whose marker or
    first clip would be another's (a problem each).

    Names are compared as the output folder compares them (``fastslice.system.filenames.fold``: NFC, and the
    case folded where ``case_insensitive``), in one pass over the inputs with a dict keyed by the
    folded name.  Two inputs whose names are spelled alike: the later is refused (the first is
    sliced).  Two whose names differ as spelled but are one name there (``talk.wav`` and
    ``Talk.wav`` on exFAT, NFC and NFD spellings, ``a:b.wav`` and ``a：b.wav`` once mapped):
    neither is sliced, one problem names both."""
    n = len(table)
    if n == 0:
        return table
    keep = np.ones(n, bool)
    pairs = np.frombuffer(identities, np.int64).reshape(n, 2)
    _, first = np.unique(pairs, axis=0, return_index=True)
    seen_once = np.zeros(n, bool)
    seen_once[first] = True
    keep &= seen_once | (pairs[:, 0] == -1)  # a file reached twice is sliced once (its first place)
    seen: dict[str, dict[tuple[str, str], int]] = {"stem": {}, "first clip": {}}
    for i in np.flatnonzero(keep).tolist():
        job = table[i]
        values = _names_of(job, names, problems)
        if values is None:
            keep[i] = False
            continue
        folder = fold(job.folder, case_insensitive)
        keys = {kind: (folder, fold(value, case_insensitive)) for kind, value in values.items()}
        for kind, key in keys.items():
            j = seen[kind].get(key)
            if j is None:
                continue
            keep[i] = False
            earlier = table[j]
            theirs = _names_of(earlier, names, []) or {}
            spelled_apart = job.stem == earlier.stem and _raw_stem(job) != _raw_stem(earlier) and \
                os.path.dirname(job.source) == os.path.dirname(earlier.source)  # NFC and NFD, or mapped
            if theirs.get(kind) == values[kind] and earlier.folder == job.folder and not spelled_apart:
                problems.append(_same_names(kind, job, earlier, values[kind], names))
            else:
                keep[j] = False
                problems.append(_one_name_there(kind, job, earlier, values[kind], theirs.get(kind, ""),
                                                spelled_apart))
            break
        else:
            for kind, key in keys.items():
                seen[kind][key] = i
    return table if keep.all() else table.keep(keep)


def _names_of(job: Job, names: ClipNames, problems: list[str]) -> Optional[dict[str, str]]:
    """``{"stem": ..., "first clip": ...}`` of an input, or None (a problem) where the template gives
    it a name that would leave the output folder or hide itself."""
    try:
        return {"stem": job.stem, "first clip": names.first_name(job.stem, job.speaker)}
    except ValueError as exc:
        problems.append(f"{job.source}: {exc}; rename the file, or change --name")
        return None


def _same_names(kind: str, job: Job, earlier: Job, value: str, names: ClipNames) -> str:
    what = ("its clips and marker would be those of" if kind == "stem" else
            "its clips would have the same names as those of")
    hint = "" if "{stem" in names.template or kind == "stem" else ", or put {stem} in --name"
    return (f"{job.source}: {what} {earlier.source} ({value!r} in {job.folder}); "
            f"slice them into different -o folders{hint}")


def _raw_stem(job: Job) -> str:
    """The input's stem as its file name spells it (``Job.stem`` is in NFC)."""
    return split_name(os.path.basename(job.source))[0]


def _one_name_there(kind: str, job: Job, earlier: Job, value: str, other: str, spelled_apart: bool) -> str:
    if spelled_apart:
        value, other = _raw_stem(job), _raw_stem(earlier)
    if not spelled_apart:
        why = "one name on this output folder, which does not tell upper from lower case"
    elif nfc(value) == nfc(other):
        why = "one name: the same letters in two Unicode spellings (NFC and NFD), and clip names are written in NFC"
    else:
        why = (f"one name once mapped for Windows and exFAT drives ({job.stem!r}; fastslice.system.filenames, "
               "or --names native)")
    what = "clips and markers" if kind == "stem" else "clips"
    mine, theirs = os.path.join(job.folder, value), os.path.join(earlier.folder, other)
    return (f"{earlier.source} and {job.source}: their {what} ({theirs!r} and {mine!r}) would be {why}; "
            "neither is sliced: rename one of them, or slice them into different -o folders")
