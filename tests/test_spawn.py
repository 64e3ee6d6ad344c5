"""fastslice's pool on every start method: spawn (Windows' and macOS's), forkserver and fork.

Platforms we cannot run are simulated honestly: a ``sitecustomize`` on ``PYTHONPATH`` takes
fork and forkserver away from ``multiprocessing`` (as Windows has neither), in the command's
process and in every process it starts; the pool then has only spawn.  That its workers are
really spawned, or served by a forkserver, is read from their command lines in ``/proc``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from runner import fastslice, fastslice_process
from test_cli import OPTIONS, PARAMS, write_recording

from fastslice import batch, seams
from fastslice.batch import pool
from fastslice.errors import ParameterError
from fastslice.settings.options import SliceOptions
from fastslice.batch.scan import expand_inputs

# Linux: the tests read how workers started and what they hold open from /proc, and simulate the
# other platforms on it.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; simulates the others")

#: A platform without fork (Windows): ``multiprocessing`` refuses fork and forkserver as Windows'
#: does (``ValueError: cannot find context for 'fork'``) and lists spawn only.
WITHOUT_FORK = '''
import multiprocessing
from multiprocessing import context

_get_context = context.DefaultContext.get_context


def get_context(self, method=None):
    if method in ("fork", "forkserver"):
        raise ValueError(f"cannot find context for {method!r}")
    return _get_context(self, method)


context.DefaultContext.get_context = get_context
context.DefaultContext.get_all_start_methods = lambda self: ["spawn"]
multiprocessing.get_context = context._default_context.get_context
multiprocessing.get_all_start_methods = context._default_context.get_all_start_methods
multiprocessing.set_start_method("spawn", force=True)
'''

#: The pool's run function for the cache test: each worker reports what numba compiled in it and
#: what it loaded from the cache, and whether it is the parent's copy (a fork) or a fresh process.
PROBE = '''
import json, os
from numba.core import event
from fastslice import _kernels
from fastslice.batch import batch

ORIGINAL = batch.run_one
IN_PARENT = False
compiled = []


class Count(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        compiled.append(getattr(ev.data["dispatcher"], "__qualname__", "?"))


event.register("numba:compile", Count())


def stats():
    kernels = [k for k in vars(_kernels).values() if hasattr(k, "stats")]
    return {"compiled": list(compiled),
            "loaded": sum(sum(k.stats.cache_hits.values()) for k in kernels),
            "missed": sum(sum(k.stats.cache_misses.values()) for k in kernels)}


def run(job, options, **kwargs):
    result, error = ORIGINAL(job, options, **kwargs)
    assert error is None, error
    result.warnings.append(json.dumps({"pid": os.getpid(), "in_parent": IN_PARENT, **stats()}))
    return result, None
'''

MAIN = '''
import json, os, sys
import probe
from fastslice.batch import batch

if __name__ == "__main__":
    probe.IN_PARENT = True
    batch.run_one = probe.run
    done = batch.slice_files([sys.argv[1]], sys.argv[2], {"min_length": 2000, "max_sil_kept": 500}, jobs=2)
    assert not done.errors, done.errors
    for result in done.results:
        print("WORKER " + result.warnings[-1])
    print("PARENT " + json.dumps({"pid": os.getpid(), **probe.stats()}))
'''


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seeded recordings of 10 to 14 s, stereo 16-bit WAV."""
    folder = tmp_path_factory.mktemp("spawn") / "library"
    for k in range(5):
        write_recording(folder / f"take{k}.wav", 300 + k, seconds=10 + k)
    return folder


def without_fork(tmp_path: Path) -> dict[str, str]:
    """The environment of a platform without fork or forkserver (the ``sitecustomize`` above)."""
    site = tmp_path / "without-fork"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(WITHOUT_FORK)
    env = {k: v for k, v in os.environ.items() if k != pool.START_METHOD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return env


def started_as(pid: int) -> str:
    """How process ``pid`` was started: "spawn", "forkserver" or "fork" (its command line's)."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "multiprocessing.spawn" in cmdline:
        return "spawn"
    return "forkserver" if "multiprocessing.forkserver" in cmdline else "fork"


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` that is not hidden (clips, the manifest): relative path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.part"))


# -- (a) no fork, as on Windows: -j 2 on spawn gives what -j 1 gives --------------------------------


def test_without_fork_as_on_windows_j2_gives_the_clips_and_manifest_of_j1(library, tmp_path, seam):
    env = without_fork(tmp_path)
    probe = subprocess.run([sys.executable, "-c", "import multiprocessing\nfrom fastslice.batch import pool\n"
                            "print(multiprocessing.get_all_start_methods(), pool.start_method())\n"
                            "multiprocessing.get_context('fork')"], env=env, capture_output=True, text=True)
    assert probe.stdout.strip() == "['spawn'] spawn"
    assert "ValueError: cannot find context for 'fork'" in probe.stderr  # as on Windows
    one, two = tmp_path / "one", tmp_path / "two"
    fastslice("slice", library, "-o", one, *OPTIONS, "-j", "1", "--manifest", one / "manifest.csv", env=env, check=0)
    with seam("worker-task") as task:
        process = fastslice_process("slice", library, "-o", two, *OPTIONS, "-j", "2", "--manifest",
                                    two / "manifest.csv", env={**env, seams.ENV: str(task.folder)})
        workers = task.wait(2)  # two workers, each with a file in hand
        assert process.pid not in workers and [started_as(pid) for pid in workers] == ["spawn", "spawn"]
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    sliced, expected = files(two), files(one)
    assert len(sliced) > 10 and "manifest.csv" in sliced
    assert sliced == expected  # the same clips, byte for byte, and the same manifest
    assert temporaries(two) == []


def test_importing_the_main_module_runs_nothing():
    done = subprocess.run([sys.executable, "-c", "import fastslice.__main__"], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_console_script_works_under_spawn(library, tmp_path):
    script = shutil.which("fastslice")
    if script is None:
        pytest.skip("no fastslice console script on PATH (not installed)")
    env = {**os.environ, pool.START_METHOD_ENV: "spawn"}
    fastslice("slice", library, "-o", tmp_path / "one", *OPTIONS, "-j", "1", env=env, check=0)
    done = subprocess.run([script, "slice", library, "-o", tmp_path / "two", *OPTIONS, "-j", "2"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert files(tmp_path / "two") == files(tmp_path / "one")


# -- (b) the rule that chooses the start method -------------------------------------------------------


def test_the_variable_chooses_the_start_method(monkeypatch):
    for method in pool.START_METHODS:
        monkeypatch.setenv(pool.START_METHOD_ENV, method)
        assert pool.start_method() == method
        assert pool.Pool(2, SliceOptions.make(PARAMS), batch.run_one).method == method
    monkeypatch.setenv(pool.START_METHOD_ENV, "threads")
    with pytest.raises(ParameterError, match=r"FASTSLICE_START_METHOD='threads'.* one of fork, forkserver, spawn"):
        pool.start_method()


def test_fork_only_while_the_process_has_one_thread(tmp_path):
    code = (
        "import os, threading\n"
        "from fastslice.batch import pool\n"
        "alone = pool.start_method()\n"
        "stop = threading.Event()\n"
        "thread = threading.Thread(target=stop.wait)\n"
        "thread.start()\n"
        "with_a_thread = pool.start_method()\n"
        "stop.set()\n"
        "thread.join()\n"
        "print(alone, with_a_thread, pool.start_method())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != pool.START_METHOD_ENV}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fork", "forkserver", "fork"]  # Linux: forkserver where fork is unsafe
    # Where there is neither fork nor forkserver (Windows), spawn, threads or not.
    simulated = subprocess.run([sys.executable, "-c", code], env=without_fork(tmp_path), capture_output=True, text=True)
    assert simulated.stdout.split() == ["spawn", "spawn", "spawn"], simulated.stderr


def test_a_start_method_the_platform_lacks_is_refused_naming_the_variable(library, tmp_path):
    env = {**without_fork(tmp_path), pool.START_METHOD_ENV: "fork"}
    done = fastslice("slice", library, "-o", tmp_path / "out", *OPTIONS, "-j", "2", env=env)
    assert done.returncode == 2
    assert "FASTSLICE_START_METHOD='fork' is not a start method this platform has: set it to one of spawn" in done.stderr
    assert not list((tmp_path / "out").rglob("*.wav"))
    bogus = fastslice("slice", library, "-o", tmp_path / "out", *OPTIONS, "-j", "2",
                      env={**os.environ, pool.START_METHOD_ENV: "vfork"})
    assert bogus.returncode == 2 and "FASTSLICE_START_METHOD='vfork'" in bogus.stderr


# -- (c) a worker killed under spawn costs only its own file --------------------------------------------


def _writing(pid: int) -> str | None:
    """The stem of the clip temporary (``STEM.K.wav.part``) process ``pid`` has open, if any."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.endswith(".part"):
            return Path(link).name.split(".")[0]
    return None


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_worker_killed_costs_only_its_own_file(library, tmp_path, seam, method):
    env = {**os.environ, pool.START_METHOD_ENV: method}
    fastslice("slice", library, "-o", tmp_path / "one", *OPTIONS, env=env, check=0)
    out = tmp_path / "out"
    with seam("clip-writing") as writing:
        process = fastslice_process("slice", library, "-o", out, *OPTIONS, "-j", "2",
                                    env={**writing.env, pool.START_METHOD_ENV: method})
        (victim,) = writing.wait(1)  # a worker with a clip's temporary open, its header written
        assert started_as(victim) == method
        stem = _writing(victim)
        assert stem is not None
        os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert f"{library / stem}.wav: the worker slicing it died (killed by SIGKILL" in stderr
    assert "sliced again on a fresh worker" in stderr and stderr.count("died") == 1
    assert files(out) == files(tmp_path / "one")
    assert temporaries(out) == []


# -- (d) spawned workers load the kernels from numba's cache: the parent compiled them -----------------


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_load_the_kernels_the_parent_compiled(library, tmp_path, method):
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "main.py").write_text(MAIN)
    cache = tmp_path / "numba-cache"  # empty: the parent compiles
    env = {**os.environ, pool.START_METHOD_ENV: method, "NUMBA_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, str(tmp_path / "main.py"), str(library), str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    parent = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("PARENT "))[7:])
    workers = [json.loads(ln[7:]) for ln in done.stdout.splitlines() if ln.startswith("WORKER ")]
    assert parent["missed"] > 0 and parent["compiled"]  # the parent compiled into the empty cache ...
    assert list(cache.rglob("*.nbi"))  # ... and wrote numba's index files there
    assert len(workers) == 5 and len({w["pid"] for w in workers}) == 2 and parent["pid"] not in {w["pid"] for w in workers}
    for worker in workers:
        assert not worker["in_parent"]  # a fresh process, not a copy of the parent's
        assert worker["compiled"] == [] and worker["missed"] == 0, worker  # it compiled nothing
        assert worker["loaded"] > 0, worker  # it loaded the kernels from the cache


# -- (e) Ctrl-C where there is no graceful signal (Windows): killed, then swept by the parent ----------


@pytest.mark.parametrize("graceful", [True, False], ids=["SIGTERM", "no graceful signal"])
def test_ctrl_c_stops_the_workers_and_leaves_no_temporaries(library, tmp_path, seam, monkeypatch, graceful):
    if not graceful:  # as on Windows: the parent kills the workers, no clean-up runs in them
        monkeypatch.setattr(pool, "STOP_SIGNAL", None)
    method = pool.start_method()  # before this test's thread starts (a thread makes the rule avoid fork)
    out = tmp_path / "out"
    options = SliceOptions.make(PARAMS, threads=1)
    table, problems = expand_inputs([library], out, options)
    assert not problems
    held: dict[str, Any] = {}
    with seam("clip-writing") as writing:
        monkeypatch.setenv(seams.ENV, str(writing.folder))

        def press_ctrl_c() -> None:
            try:
                held["workers"] = writing.wait(2)  # both workers hold a clip's temporary, header written
                held["temporaries"] = temporaries(out)
                for pid in held["workers"]:  # a terminal's Ctrl-C reaches every process of the group ...
                    os.kill(pid, signal.SIGINT)
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # ... and the parent's

        thread = threading.Thread(target=press_ctrl_c)
        thread.start()
        with pytest.raises(KeyboardInterrupt):
            for _ in pool.Pool(2, options, batch.run_one, method=method).run(table, table.largest_first()):
                pass
        thread.join()
    assert len(held["temporaries"]) == 2  # each worker had a clip of its file half written
    assert temporaries(out) == []  # removed: by the worker (SIGTERM), or by the parent after the kill
    assert not any(Path(f"/proc/{pid}").exists() for pid in held["workers"])
    assert not list(out.rglob("*.wav")) and not list(out.rglob(".*.fastslice.json"))


# -- os.copy_file_range (Linux) and os.pread (POSIX): the buffered fallback writes the same bytes -----


@pytest.mark.parametrize("missing", [("copy_file_range",), ("copy_file_range", "pread")],
                         ids=["no copy_file_range", "neither (Windows)"])
def test_wav_clips_copied_without_the_kernel_copy_are_the_same_bytes(library, tmp_path, monkeypatch, missing):
    from fastslice.writing import wavcopy
    from fastslice.run.files import slice_file

    source = library / "take4.wav"
    kernel = slice_file(source, tmp_path / "kernel", PARAMS)
    reads: list[int] = []
    read_range = wavcopy.read_range

    def counted(src: Any, offset: int, count: int) -> bytes:
        data = read_range(src, offset, count)
        reads.append(len(data))
        return data

    monkeypatch.setattr(wavcopy, "read_range", counted)
    for name in missing:  # as on another system: the names are looked up at each call
        monkeypatch.delattr(os, name)
    buffered = slice_file(source, tmp_path / "buffered", PARAMS)
    assert len(buffered.clips) == len(kernel.clips) > 2
    assert sum(reads) == sum(Path(c.clip).stat().st_size - 44 for c in buffered.clips)  # every sample byte read here
    assert files(tmp_path / "buffered") == files(tmp_path / "kernel")


# -- a notebook kernel runs threads: its pool is not forked -------------------------------------------


def test_in_a_notebook_kernel_the_pool_does_not_fork_and_slices_alike(library, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    fastslice("slice", library, "-o", tmp_path / "one", *OPTIONS, env={**os.environ, pool.START_METHOD_ENV: "fork"},
              check=0)
    cell = (
        "import os, threading\n"
        f"os.environ.pop({pool.START_METHOD_ENV!r}, None)\n"
        "from fastslice import slice_files\nfrom fastslice.batch import pool\n"
        "threads, method = threading.active_count(), pool.start_method()\n"
        f"done = slice_files([{str(library)!r}], {str(tmp_path / 'notebook')!r}, {PARAMS!r}, jobs=2)\n"
        "print(threads > 1, method, done.errors)\n"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[0].outputs)
    assert printed.split() == ["True", "forkserver", "[]"], notebook.cells[0].outputs  # a kernel has threads
    assert files(tmp_path / "notebook") == files(tmp_path / "one")
