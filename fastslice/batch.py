"""Slice many files: expand inputs into jobs, run them on any executor, stream the results back.

``slice_files(inputs, out_dir, options, executor=...)`` expands files, folders and glob
patterns once per run (one walk of each input folder, one ``stat`` per file) into a compact
table of jobs, and hands each job out as a task that carries only its own input: a source
path, its clip folder and its stem (all absolute), with the run's one ``SliceOptions``.

Where the tasks run:

* in this process (``jobs=1``, the default);
* a pool of ``jobs`` worker processes of fastslice's own (forked after the kernels are
  loaded), each given one file at a time: a worker that dies (the OOM killer, ``kill -9``)
  costs only its own file, which is sliced once more on a fresh worker and then, if that dies
  too, reported as failed;
* any ``concurrent.futures.Executor``, e.g. ``client.get_executor()`` of a
  ``dask.distributed.Client`` to spread a library over a cluster; a bounded number of tasks
  is in flight at once.  Workers read the inputs and write the clips themselves, so they must
  see the same paths as the caller (a shared file system, or one machine).

Results come back as each file finishes, to ``on_result``; with ``keep_results`` (the
default for the Python API) they are also gathered into the ``BatchResult``; the command line
keeps none, so that its memory does not grow with the library.
"""
import collections
import concurrent.futures
import dataclasses
import glob
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
from array import array

import numpy as np

from . import manifest, storage
from . import seams
from .errors import FastsliceError, ParameterError
from .options import SliceOptions
from .outputs import InputOutput, sweep_work_folders

_AUDIO_EXTENSIONS = {
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
    ".caf", ".w64", ".rf64", ".voc", ".sd2", ".mat", ".pvf", ".xi", ".htk", ".sf", ".ircam", ".nist", ".paf", ".svx", ".wve",
    # read through FFmpeg: compressed audio, and the sound track of video files
    ".m4a", ".m4b", ".mp4", ".aac", ".mov", ".mkv", ".mka", ".webm", ".flv", ".wma", ".asf", ".ac3", ".amr", ".mp2", ".alac",
}
#: The input that means standard input (a pipe).
STDIN = "-"
#: Tasks in flight at once on an executor that is not fastslice's own pool.
EXECUTOR_IN_FLIGHT = 256


class Job(collections.namedtuple("Job", "source folder stem speaker records", defaults=("", ""))):
    """One input: its path (absolute, or ``"-"``), the folder its clips go to (absolute), its stem, its
    speaker (``""``: none), and the folder of its marker (``""``: the clip folder)."""


@dataclasses.dataclass
class BatchResult:
    """What ``slice_files`` did: one entry per job, in input order (with ``keep_results``)."""

    jobs: list  # Job per input
    results: list  # FileResult, or None where the job failed
    errors: list  # one message per failed input or unusable argument
    #: inputs in all, inputs skipped as complete, and clips (of the inputs done)
    n_inputs: int = 0
    n_failed: int = 0
    n_skipped: int = 0
    n_clips: int = 0
    audio_seconds: float = 0.0
    interrupted: bool = False

    @property
    def done(self):
        return [r for r in self.results if r is not None]

    @property
    def clips(self):
        return [c for r in self.done for c in r.clips]


def slice_files(inputs, out_dir, options=None, *, executor=None, jobs=1, progress=None, on_inputs=None,
                on_result=None, on_progress=None, keep_results=True, stdin_stem=None, **settings):
    """Slice files, folders and glob patterns into ``out_dir``; returns a ``BatchResult``.

    ``options`` is a ``SliceOptions``, or ``Slicer``'s keyword arguments as a dict with
    ``slice_file``'s settings as keywords (format, subtype, overwrite, dry_run, start_seconds,
    ...), made into one once.  ``executor`` runs one file per task: by default this process
    (``jobs=1``) or fastslice's pool of ``jobs`` processes.  ``threads`` (threads per file)
    defaults to one per CPU in this process, and to 1 elsewhere (the processes already use the
    cores).  Callbacks: ``on_inputs(n_files, problems)`` once the inputs are expanded;
    ``on_result(index, job, result, error)`` and ``progress(result, error)`` as each file
    finishes; ``on_progress(index, job, seconds, total_seconds)`` now and then while a long file is
    read (in this process and in fastslice's pool).  One file's failure is recorded, never raised.
    """
    options = SliceOptions.coerce(options, settings)
    table, problems = expand_inputs(inputs, out_dir, options, stdin_stem=stdin_stem or "stdin")
    if table.has_stdin and (executor is not None or len(table) > 1):
        raise ParameterError("'-' (standard input) must be the only input, sliced in this process (no --dask)")
    if on_inputs is not None:
        on_inputs(len(table), problems)
    batch = BatchResult([], [], list(problems), n_inputs=len(table))
    if keep_results:
        batch.jobs = [table[i] for i in range(len(table))]
        batch.results = [None] * len(table)

    def record(index, job, result, error):
        if keep_results:
            batch.results[index] = result
        if error is not None:
            batch.errors.append(error)
            batch.n_failed += 1
        else:
            batch.n_skipped += result.skipped
            batch.n_clips += len(result.clips)
            batch.audio_seconds += result.audio_seconds
            batch.interrupted = batch.interrupted or result.interrupted
        if on_result is not None:
            on_result(index, job, result, error)
        if progress is not None:
            progress(result, error)

    in_process = executor is None and (jobs == 1 or len(table) <= 1)
    if not in_process and options.threads is None:
        options = options.replace(threads=1)
    order = table.largest_first()
    if storage.is_url(str(out_dir)) and not (options.overwrite or options.dry_run or table.has_stdin):
        table.listing = storage.Listing.of(str(out_dir).rstrip("/"), options.storage_options)  # once per run
    try:
        _run(table, order, options, in_process, executor, jobs, on_progress, record)
    finally:
        if not options.dry_run:  # the work folders, with what workers that died (or earlier runs) left
            sweep_work_folders([f for f in table.records_folders() if not storage.is_url(f)], table.stems_in)
    return batch


def _run(table, order, options, in_process, executor, jobs, on_progress, record):
    if in_process:
        for index in order:
            job = table[index]
            watch = None if on_progress is None else (lambda s, t, index=index, job=job: on_progress(index, job, s, t))
            record(index, job, *run_one(job, options, on_progress=watch, listed=table.listed(index, options)))
            seams.reach("input-done")
    elif executor is None:
        from .warmup import warm_command_line

        # Compile (or load) the kernels here, once, before the workers are forked: they inherit them.
        warm_command_line()
        for index, job, result, error in _Pool(jobs, options, on_progress).run(table, order):
            record(index, job, result, error)
    else:
        for index, job, result, error in _on_executor(executor, table, order, options):
            record(index, job, result, error)


def run_one(job, options, on_progress=None, listed=None):
    """Slice one input (in whatever process); returns (FileResult or None, error message or None).
    ``listed``: what the run's listing of a bucket output found of this input's objects."""
    from .files import slice_file

    source, folder, stem, speaker, records = job
    seams.reach("worker-task")
    try:
        if source == STDIN:
            return slice_file(sys.stdin.buffer, folder, options, stem=stem, speaker=speaker, records=records,
                              on_progress=on_progress, sweep=False), None
        return slice_file(source, folder, options, stem=stem, speaker=speaker, records=records, listed=listed,
                          on_progress=on_progress, sweep=False), None
    except FastsliceError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{source}: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    except Exception as exc:  # a defect: reported for this input, the others go on
        return None, storage.redact(f"{storage.public(source)}: fastslice failed on it ({type(exc).__name__}: {exc}); "
                                    "please report this", options.storage_options)


# -- the inputs -----------------------------------------------------------------------------


class Jobs:
    """The inputs of a run, kept compactly (a few integers and the file's name per input), in a
    stable order: by input argument, then by path."""

    #: a bucket output's one listing (``storage.Listing``), or None
    listing = None

    def __init__(self, speaker_of=lambda folder: "", records_of=lambda clip_folder: ""):
        self._speaker_of = speaker_of  # a source folder's speaker (SliceOptions.speaker_of)
        self._records_of = records_of  # a clip folder's records folder ("": itself)
        self._folders = []  # (source folder, clip folder), both absolute
        self._folder_ids = {}
        self._folder = array("i")
        self._names = []  # file names (short strings; folders are shared)
        self._sizes = array("q")
        self.has_stdin = False
        self._stdin = None

    def add(self, source_folder, clip_folder, name, size):
        key = (source_folder, clip_folder)
        folder = self._folder_ids.get(key)
        if folder is None:
            folder = self._folder_ids[key] = len(self._folders)
            self._folders.append(key)
        self._folder.append(folder)
        self._names.append(name)
        self._sizes.append(size)

    def add_stdin(self, clip_folder, stem, speaker=""):
        self.has_stdin = True
        self._stdin = Job(STDIN, clip_folder, stem, speaker, self._records_of(clip_folder))

    def __len__(self):
        return len(self._names) + self.has_stdin

    def __getitem__(self, index):
        if self.has_stdin:
            return self._stdin
        source_folder, clip_folder = self._folders[self._folder[index]]
        name = self._names[index]
        return Job(os.path.join(source_folder, name), clip_folder, _split_name(name)[0], self._speaker_of(source_folder),
                   self._records_of(clip_folder))

    def listed(self, index, options):
        """``{url: size}`` of the objects the run's listing found for input ``index`` (its marker, and
        what its clip names begin with), or None without a listing."""
        if self.listing is None:
            return None
        job = self[index]
        found = self.listing.under(storage.join(job.folder, f".{job.stem}{manifest.MARKER_SUFFIX}"))
        found.update(self.listing.under(storage.join(job.folder, options.names.prefix(job.stem, job.speaker))))
        return found

    def clip_folder(self, index):
        return self._folders[self._folder[index]][1]

    def records_folders(self):
        """Every folder of the run's markers and work folders, once."""
        if self.has_stdin:
            return [self._stdin.records or self._stdin.folder]
        return list(dict.fromkeys(self._records_of(clip) or clip for _, clip in self._folders))

    def stems_in(self, records_folder):
        """The stems of the inputs whose markers go to ``records_folder`` (a pass over the table)."""
        if self.has_stdin:
            return {self._stdin.stem}
        ids = {k for k, (_, clip) in enumerate(self._folders) if (self._records_of(clip) or clip) == records_folder}
        return {_split_name(name)[0] for name, k in zip(self._names, self._folder) if k in ids}

    def largest_first(self):
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
        return np.lexsort((folder, rank, alike)).tolist()

    def keep(self, mask):
        """Only the inputs where ``mask`` is true."""
        kept = Jobs(self._speaker_of, self._records_of)
        for i in np.flatnonzero(mask).tolist():
            source_folder, clip_folder = self._folders[self._folder[i]]
            kept.add(source_folder, clip_folder, self._names[i], self._sizes[i])
        return kept


def expand_inputs(inputs, out_dir, options=None, stdin_stem="stdin"):
    """(jobs, problems): the inputs as a ``Jobs`` table, and a message per unusable argument or input.

    ``"-"`` is standard input, sliced under ``stdin_stem``.  A folder is walked once (hidden
    files and folders, and ``out_dir`` itself, are skipped) and mirrored under ``out_dir``.  A
    file reached twice (two arguments, a symbolic or hard link) is sliced once.  Inputs whose
    clips would share a marker (the same stem in the same clip folder) or a first clip name are
    problems, as are clips of this layout found among the inputs (``-o`` equal to an input
    folder): those are never sliced again."""
    options = options or SliceOptions()
    names = options.names
    remote_out = storage.is_url(str(out_dir))
    out_abs = str(out_dir).rstrip("/") if remote_out else os.path.abspath(out_dir)
    out_real = None if remote_out else os.path.realpath(out_abs)
    layout = options.project

    def clip_folder_of(folder, mirrored):
        """A source folder's clip folder: the layout's, or ``mirrored`` (the input tree under OUT_DIR)."""
        if layout is None:
            return mirrored
        return storage.resolve(out_abs, layout.clip_folder(options.speaker_of(folder)))

    def records_of(clip_folder):
        """Where a layout keeps a clip folder's markers: ``OUT_DIR/.fastslice/<clip folder>`` (local output)."""
        if layout is None or remote_out:
            return ""
        return os.path.normpath(os.path.join(out_abs, manifest.RECORDS_FOLDER, os.path.relpath(clip_folder, out_abs)))

    table, problems = Jobs(options.speaker_of, records_of), []

    identities = array("q")  # (device, inode) of each file, to slice a file reached twice once
    clips_here = _ClipsOfThisRun(records_of)
    for spec in inputs:
        spec = os.fspath(spec)
        if spec == STDIN:
            speaker = options.speaker or ""
            folder = out_abs if layout is None else storage.resolve(out_abs, layout.clip_folder(speaker))
            table.add_stdin(folder, stdin_stem, speaker)
            continue
        if storage.is_url(spec):
            _add_remote(spec, out_abs, table, identities, problems, clip_folder_of, options.storage_options)
            continue
        path = os.path.abspath(spec)
        if os.path.isdir(path):
            found = _walk(path, out_abs, out_real, table, identities, clips_here, clip_folder_of)
            if not found:
                problems.append(f"{spec}: the folder holds no audio file")
        elif os.path.isfile(path):
            folder = os.path.dirname(path)
            _add_file(table, identities, folder, clip_folder_of(folder, out_abs), os.path.basename(path), clips_here,
                      explicit=True, problems=problems)
        elif glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                problems.append(f"{spec}: no file matches this pattern")
            for match in matches:
                match = os.path.abspath(match)
                if os.path.isdir(match):
                    _walk(match, out_abs, out_real, table, identities, clips_here, clip_folder_of)
                elif os.path.isfile(match):
                    folder = os.path.dirname(match)
                    _add_file(table, identities, folder, clip_folder_of(folder, out_abs), os.path.basename(match),
                              clips_here)
        elif os.path.lexists(path):
            problems.append(f"{spec}: not a regular file or folder")
        else:
            problems.append(f"{spec}: no such file or folder")
    if table.has_stdin:
        return table, problems
    return _without_clashes(table, identities, names, problems), problems


def _add_remote(spec, out_abs, table, identities, problems, clip_folder_of, storage_options):
    """The objects a URL names: one object, a folder (every audio object under it, by extension), or
    a glob pattern (``s3://bucket/archive/**/*.flac``), listed once; mirrored under ``out_abs``."""
    pattern = glob.has_magic(spec.split("://", 1)[1])
    root = spec.rstrip("/")
    if pattern:
        root = spec[: re.search(r"[*?\[]", spec).start()].rsplit("/", 1)[0]
    found = storage.files_under(root, storage_options, pattern=spec if pattern else None)
    if not pattern and [url for url, _ in found] == [root]:  # the URL of one object
        root = storage.dirname(root)
    if not pattern and not found:
        try:
            size, _ = storage.info(root, storage_options)
            found, root = [(root, size)], storage.dirname(root)
        except storage.StorageError:
            found = []
    audio = [(url, size) for url, size in found if _split_name(storage.basename(url))[1].lower() in _AUDIO_EXTENSIONS]
    if not audio:
        what = "no object matches this pattern" if pattern else "no audio object there (by extension)"
        problems.append(f"{storage.public(spec)}: {what}")
    for url, size in audio:
        folder, name = url.rsplit("/", 1)
        relative = storage.relative(folder, root) if folder != root else "."
        mirrored = out_abs if relative == "." else storage.join(out_abs, relative) if storage.is_url(out_abs) \
            else os.path.join(out_abs, relative)
        table.add(folder, clip_folder_of(folder, mirrored), name, size)
        identities.append(-2)  # a URL: reached twice only by the same spelling
        identities.append(hash(url) & 0x7FFFFFFFFFFFFFFF)


def _walk(root, out_abs, out_real, table, identities, clips_here, clip_folder_of):
    """Add the audio files under ``root`` (one ``scandir`` per folder), mirrored under ``out_abs``
    (``clip_folder_of(folder, mirrored)`` says where each folder's clips go)."""
    import soundfile

    found = 0
    stack = [(root, out_abs)]
    while stack:
        folder, mirrored = stack.pop()
        clip_folder = clip_folder_of(folder, mirrored)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        skip = clips_here.in_folder(folder, clip_folder, [e.name for e in entries])
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                if os.path.realpath(entry.path) != out_real:
                    subfolders.append((entry.path, os.path.join(mirrored, entry.name)))
                continue
            if entry.path in skip:
                continue
            if _split_name(entry.name)[1].lower() not in _AUDIO_EXTENSIONS:
                try:  # detected by content: libsndfile reads its header
                    soundfile.info(entry.path)
                except Exception:
                    continue
            found += _add_file(table, identities, folder, clip_folder, entry.name, clips_here, entry=entry)
        stack += reversed(subfolders)  # depth first, in name order
    return found


def _add_file(table, identities, folder, clip_folder, name, clips_here, entry=None, explicit=False, problems=None):
    path = os.path.join(folder, name)
    if entry is None and path in clips_here.in_folder(folder, clip_folder, None):
        if explicit:
            problems.append(f"{path}: a clip of an earlier run into this -o folder; not sliced again")
        return 0
    try:
        stat = entry.stat() if entry is not None else os.stat(path)
        size, device, inode = stat.st_size, stat.st_dev, stat.st_ino
    except OSError:  # a broken link: its error is the worker's to report
        size, device, inode = 0, -1, -len(identities) - 1
    table.add(folder, clip_folder, name, size)
    identities.append(device)
    identities.append(inode)
    return 1


def _split_name(name):
    """(stem, suffix) of a file name, as ``pathlib`` splits it (``"...wav"``: ``".."``, ``".wav"``)."""
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if 0 < dot < len(name) - 1 else (name, "")


class _ClipsOfThisRun:
    """Clips that markers list in folders that are their own clip folder (``-o`` equal to an input
    folder): the inputs must not include them.  Each such folder's markers are read once."""

    def __init__(self, records_of):
        self._records_of = records_of
        self._known = {}

    def in_folder(self, folder, clip_folder, names):
        """The clips of this run's layout in ``folder`` (``names``: its listing, if at hand)."""
        if folder in self._known:
            return self._known[folder]
        clips = set()
        if os.path.realpath(clip_folder) == os.path.realpath(folder):
            records = self._records_of(clip_folder) or folder
            if names is None or records != folder:
                try:
                    names = os.listdir(records)
                except OSError:
                    names = []
            for name in names:
                if name.startswith(".") and name.endswith(manifest.MARKER_SUFFIX):
                    read = manifest.read_marker(os.path.join(records, name))
                    if read is not None:
                        clips.update(os.path.normpath(c.clip) for c in read[1] if c.has_file)
        self._known[folder] = clips
        return clips


def _without_clashes(table, identities, names, problems):
    """``table`` without the second of two entries for one file, and without inputs whose marker or
    first clip would be another's (a problem each)."""
    n = len(table)
    if n == 0:
        return table
    keep = np.ones(n, bool)
    pairs = np.frombuffer(identities, np.int64).reshape(n, 2)
    _, first = np.unique(pairs, axis=0, return_index=True)
    seen_once = np.zeros(n, bool)
    seen_once[first] = True
    keep &= seen_once | (pairs[:, 0] == -1)  # a file reached twice is sliced once (its first place)
    for kind, key in (("stem", lambda job: job.stem), ("first clip", lambda job: names.first_name(job.stem, job.speaker))):
        hashes = np.zeros(n, np.int64)
        for i in np.flatnonzero(keep).tolist():
            job = table[i]
            try:
                hashes[i] = hash((table.clip_folder(i), key(job)))
            except ValueError as exc:  # the template gives this stem an unsafe name
                problems.append(f"{job.source}: {exc}")
                keep[i] = False
        live = np.flatnonzero(keep)
        order = live[np.argsort(hashes[live], kind="stable")]
        same = np.flatnonzero(hashes[order[1:]] == hashes[order[:-1]]) + 1
        owners = {}
        for position in same.tolist():
            for i in (order[position - 1], order[position]):
                owners.setdefault((table.clip_folder(i), key(table[i])), []).append(int(i))
        for (folder, value), holders in owners.items():
            holders = sorted(set(holders))
            for later in holders[1:]:
                if keep[later]:
                    keep[later] = False
                    what = ("its clips and marker would be those of" if kind == "stem" else
                            "its clips would have the same names as those of")
                    hint = "" if "{stem" in names.template or kind == "stem" else ", or put {stem} in --name"
                    problems.append(f"{table[later].source}: {what} {table[holders[0]].source} "
                                    f"({value!r} in {folder}); slice them into different -o folders{hint}")
    return table if keep.all() else table.keep(keep)


# -- fastslice's own pool --------------------------------------------------------------------


class _Pool:
    """``size`` forked worker processes, one file each at a time.  A worker that dies costs only the
    file it had: that file is given once more to a fresh worker, then reported."""

    ATTEMPTS = 2

    def __init__(self, size, options, on_progress=None):
        self.size, self.options, self.on_progress = size, options, on_progress
        self._context = multiprocessing.get_context("fork")

    def run(self, table, order):
        """Yield ``(index, job, result, error)`` as files finish."""
        waiting = collections.deque(order)
        again = collections.deque()  # (index, attempts, why) of files whose worker died: for fresh workers
        workers, busy = [], {}  # busy: worker -> (index, attempts, why)
        try:
            while waiting or again or busy:
                idle = [w for w in workers if w not in busy]
                if again and not any(w.fresh for w in idle):  # a file to retry needs a fresh worker
                    if len(workers) >= self.size and idle:
                        self._stop([idle[0]])  # an idle one makes room for it
                        workers.remove(idle[0])
                    if len(workers) < self.size:
                        workers.append(self._start())
                while len(workers) < min(self.size, len(waiting) + len(again) + len(busy)):
                    workers.append(self._start())
                for worker in list(workers):
                    if worker in busy or not (again and worker.fresh or waiting):
                        continue
                    task = again.popleft() if again and worker.fresh else (waiting.popleft(), 1, None)
                    try:
                        worker.conn.send((task[0], table[task[0]], table.listed(task[0], self.options)))
                    except (OSError, ValueError):  # it died while idle: the task goes to another
                        (again if task[1] > 1 else waiting).appendleft(task if task[1] > 1 else task[0])
                        workers.remove(worker)
                        worker.process.join()
                        continue
                    worker.fresh.clear()
                    busy[worker] = task
                if not busy:
                    continue
                ready = set(multiprocessing.connection.wait([w.conn for w in busy] +
                                                            [w.process.sentinel for w in busy]))
                for worker in [w for w in busy if w.conn in ready or w.process.sentinel in ready]:
                    index, attempts, why = busy[worker]
                    finished = self._messages(worker, index, table)
                    if finished is _ALIVE:
                        continue
                    del busy[worker]
                    if finished is not _DIED:
                        result, error = finished
                        if why is not None and result is not None:
                            result.warnings.insert(0, f"{table[index].source}: {why}; sliced again on a fresh worker")
                        yield index, table[index], result, error
                        continue
                    workers.remove(worker)  # it died with the file unfinished
                    worker.process.join()
                    died = f"the worker slicing it died ({_how(worker.process.exitcode)})"
                    if attempts < self.ATTEMPTS:
                        again.append((index, attempts + 1, died))
                    else:
                        _clean_after(table[index])
                        yield index, table[index], None, (f"{table[index].source}: {died}, twice (it was given to a "
                                                          "fresh worker once); not sliced")
        except BaseException:
            self._stop(workers, interrupt=True)
            raise
        self._stop(workers)

    def _messages(self, worker, index, table):
        """Read what a worker sent: progress is passed on.  Returns its outcome once it sends it,
        ``_DIED`` if it ended without one, else ``_ALIVE``."""
        try:
            while worker.conn.poll():
                kind, *rest = worker.conn.recv()
                if kind == "progress":
                    if self.on_progress is not None:
                        self.on_progress(index, table[index], *rest)
                else:
                    return rest[0]
        except (EOFError, OSError):
            return _DIED
        return _ALIVE if worker.process.is_alive() else _DIED

    def _start(self):
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(child, self.options), daemon=True,
                                        name="fastslice-worker")
        process.start()
        child.close()
        return _Worker(process, parent, [True])

    @staticmethod
    def _stop(workers, interrupt=False):
        for worker in workers:
            try:
                if interrupt:  # the file in hand is cleaned up, then the worker ends
                    os.kill(worker.process.pid, signal.SIGTERM)
                else:
                    worker.conn.send(None)
            except (OSError, ValueError):
                pass
        for worker in workers:
            worker.process.join(timeout=30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


class _Worker(collections.namedtuple("_Worker", "process conn fresh")):
    """A pool process, the parent's end of its pipe, and ``fresh`` (non-empty until it takes a file)."""

    __hash__ = object.__hash__
    __eq__ = object.__eq__


_ALIVE, _DIED = object(), object()


def _worker(conn, options):
    """A pool worker: slice the files it is sent, one at a time, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it sends SIGTERM

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            task = conn.recv()
            if task is None:
                return
            index, job, listed = task
            outcome = run_one(job, options, on_progress=lambda s, t: conn.send(("progress", s, t)), listed=listed)
            seams.reach("input-done")
            conn.send(("done", outcome))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return


def _clean_after(job):
    """What a worker that died left of a file it had (its temporaries), removed from here."""
    if job.source != STDIN:
        InputOutput(job.folder, job.stem, job.records).sweep()


def _how(exitcode):
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}" + (": out of memory, or kill -9" if -exitcode == signal.SIGKILL else "")
    return f"exit status {exitcode}"


# -- any executor ------------------------------------------------------------------------------


def _on_executor(executor, table, order, options):
    """Run the jobs on ``executor``, at most ``EXECUTOR_IN_FLIGHT`` at a time; yield results as they come."""
    order = iter(order)
    running = {}
    try:
        while True:
            while len(running) < EXECUTOR_IN_FLIGHT:
                index = next(order, None)
                if index is None:
                    break
                job = table[index]
                running[executor.submit(run_one, job, options, listed=table.listed(index, options))] = (index, job)
            if not running:
                return
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                index, job = running.pop(future)
                try:
                    result, error = future.result()
                except Exception as exc:  # the worker died (killed, out of memory) or the task was lost
                    _clean_after(job)
                    result, error = None, f"{job.source}: the worker failed ({type(exc).__name__}: {exc})"
                yield index, job, result, error
    except BaseException:
        for future in running:
            future.cancel()
        raise
