"""Slice many files: expand inputs into jobs, run them on any executor, gather the results.

``slice_files(inputs, out_dir, params, executor=...)`` takes any
``concurrent.futures.Executor``: a local process pool by default, or
``client.get_executor()`` of a ``dask.distributed.Client`` to spread a library
over a cluster.  Workers read the inputs and write the clips themselves, so
they must see the same paths as the caller (a shared file system, or one
machine); only the results (clip ranges, manifest rows) travel back.
"""
import concurrent.futures
import dataclasses
import glob
import os
import sys
from pathlib import Path

from .naming import ClipNames

_AUDIO_EXTENSIONS = {
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
    ".caf", ".w64", ".rf64", ".voc", ".sd2", ".mat", ".pvf", ".xi", ".htk", ".sf", ".ircam", ".nist", ".paf", ".svx", ".wve",
    # read through FFmpeg: compressed audio, and the sound track of video files
    ".m4a", ".m4b", ".mp4", ".aac", ".mov", ".mkv", ".mka", ".webm", ".flv", ".wma", ".asf", ".ac3", ".amr", ".mp2", ".alac",
}
#: The input that means standard input (a pipe).
STDIN = "-"


@dataclasses.dataclass
class BatchResult:
    """What ``slice_files`` did: one entry per job, in input order."""

    jobs: list  # (source, clip folder, stem)
    results: list  # FileResult, or None where the job failed
    errors: list  # one message per failed input or unusable argument

    @property
    def done(self):
        return [r for r in self.results if r is not None]

    @property
    def clips(self):
        return [c for r in self.done for c in r.clips]


def slice_files(inputs, out_dir, params=None, *, executor=None, jobs=1, progress=None, on_inputs=None, **options):
    """Slice files, folders and glob patterns into ``out_dir``; returns a ``BatchResult``.

    ``params`` are ``Slicer``'s keyword arguments; ``options`` are
    ``slice_file``'s (format, subtype, overwrite, dry_run, start_seconds, ...).
    ``executor`` runs one file per task: by default this process (``jobs=1``)
    or a pool of ``jobs`` processes.  ``options["threads"]`` (threads per file) defaults to
    one per CPU in this process, and to 1 in a pool (its processes already use the cores).
    ``progress(result, error)`` is called as
    each file finishes, and ``on_inputs(n_files, problems)`` once the inputs
    are expanded.  One file's failure is recorded, never raised.
    """
    params = dict(params or {})
    names = ClipNames(options.get("name_template"))
    job_list, problems = expand_inputs(inputs, out_dir, stdin_stem=options.pop("stdin_stem", None) or "stdin", names=names)
    if any(source == STDIN for source, _, _ in job_list) and (executor is not None or len(job_list) > 1):
        raise ValueError("'-' (standard input) must be the only input, sliced in this process (no --dask)")
    if on_inputs is not None:
        on_inputs(len(job_list), problems)
    options = {**options, "protected": tuple(str(source) for source, _, _ in job_list if source != STDIN)}
    batch = BatchResult(job_list, [None] * len(job_list), list(problems))

    def record(index, outcome):
        result, error = outcome
        batch.results[index] = result
        if error is not None:
            batch.errors.append(error)
        if progress is not None:
            progress(result, error)

    if executor is None and (jobs == 1 or len(job_list) <= 1):
        options.setdefault("threads", None)
        for index, job in enumerate(job_list):
            record(index, run_one(job, params, options))
        return batch
    own = executor is None
    options["threads"] = options.get("threads") or 1
    if own:
        # Compile (or load) the kernels here, once, before the workers start: forked workers
        # inherit them, others load them from numba's cache, instead of each compiling them at once.
        from .warmup import warm_command_line

        warm_command_line()
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=jobs) if own else executor
    try:
        # Longest first, so that a long file among short ones does not start last and leave the
        # other workers idle at the end (file size stands for length; results keep input order).
        order = sorted(range(len(job_list)), key=lambda i: -_size(job_list[i][0]))
        futures = {pool.submit(run_one, job_list[i], params, options): i for i in order}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died (killed, out of memory) or the task was lost
                outcome = (None, f"{job_list[index][0]}: the worker failed ({type(exc).__name__}: {exc})")
            record(index, outcome)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return batch


def _size(source):
    """The input's size in bytes (0 if unknown)."""
    try:
        return os.path.getsize(source)
    except (OSError, TypeError):
        return 0


def expand_inputs(inputs, out_dir, stdin_stem="stdin", names=None):
    """(jobs, problems): jobs are (source, clip folder, stem) in a stable order; problems are messages.

    ``"-"`` is standard input, sliced under ``stdin_stem``.  ``names`` (a ``naming.ClipNames``,
    default ``{stem}_{i}``) names the clips: inputs whose clips it would name alike, or place
    outside the output folder, are problems."""
    names = names or ClipNames()
    out_real = os.path.realpath(out_dir)

    def jobs_for(path):
        if path.is_dir():
            found = [(f, Path(out_dir) / f.parent.relative_to(path), f.stem) for f in _audio_files_under(path, out_real)]
            if not found:
                problems.append(f"{path}: the folder holds no audio file")
            return found
        return [(path, Path(out_dir), path.stem)] if path.is_file() else []

    jobs, problems = [], []
    for spec in inputs:
        path = Path(spec)
        if spec == STDIN:
            jobs.append((STDIN, Path(out_dir), stdin_stem))
        elif path.is_dir() or path.is_file():
            jobs += jobs_for(path)
        elif glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                problems.append(f"{spec}: no file matches this pattern")
            for match in matches:
                jobs += jobs_for(Path(match))
        elif path.exists() or path.is_symlink():
            problems.append(f"{spec}: not a regular file or folder")
        else:
            problems.append(f"{spec}: no such file or folder")
    unique, seen, taken = [], set(), {}
    for source, folder, stem in jobs:
        real = source if source == STDIN else os.path.realpath(source)
        if real in seen:
            continue
        seen.add(real)
        try:
            first = names.first_name(stem)
        except ValueError as exc:
            problems.append(f"{source}: {exc}")
            continue
        key = os.path.normpath(os.path.join(os.path.realpath(folder), first))
        if key in taken:
            problems.append(f"{source}: its clips would have the same names as those of {taken[key]} ({first}, ...); "
                            "slice them into different -o folders" + ("" if "{stem" in names.template else
                                                                      ", or put {stem} in --name"))
            continue
        taken[key] = source
        unique.append((source, folder, stem))
    return unique, problems


def _audio_files_under(folder, out_real):
    """Files under folder that are audio (by extension, or by content for the rest), skipping OUT_DIR."""
    import soundfile

    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(root, d)) != out_real and not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            if path.suffix.lower() in _AUDIO_EXTENSIONS:
                found.append(path)
                continue
            try:  # detected by content: libsndfile reads its header
                soundfile.info(str(path))
            except Exception:
                continue
            found.append(path)
    return found




def run_one(job, params, options):
    """Slice one input (in a worker process); returns (FileResult or None, error message or None)."""
    from .errors import FastsliceError
    from .files import slice_file

    source, folder, stem = job
    try:
        if source == STDIN:
            return slice_file(sys.stdin.buffer, folder, params, stem=stem, **options), None
        return slice_file(source, folder, params, stem=stem, **options), None
    except FastsliceError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{source}: {exc.strerror or exc}"


