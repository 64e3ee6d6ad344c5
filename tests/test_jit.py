"""Numba's options live in one place, caching never breaks an import, and a cold start
compiles only the kernels it uses, once each."""
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings

import soundfile

import fastslice
import signals
from fastslice import _jit

PACKAGE = pathlib.Path(fastslice.__file__).parent
TESTS = pathlib.Path(__file__).parent

# Child prelude: count every compilation numba makes (its event API) and, at the end, print
# each fastslice kernel's compiled signatures and every compiled function's name as JSON.
COUNTING = """
import atexit, json, sys
from numba.core import event
compiled = []
class Count(event.Listener):
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        compiled.append(getattr(ev.data["dispatcher"], "__qualname__", "?"))
event.register("numba:compile", Count())
def report():
    from fastslice import _kernels
    kernels = {name: [str(s) for s in k.signatures] for name, k in vars(_kernels).items() if hasattr(k, "signatures")}
    print("COMPILED " + json.dumps({"kernels": kernels, "events": compiled}))
atexit.register(report)
"""

# A float32 stereo slice in memory, channels-first in C order (the reference's own layout).
IN_MEMORY = """
import numpy as np, fastslice, signals
x = signals.speech_like(seed=3, seconds=20, sr=44100, channels=2)
assert len(fastslice.Slicer(44100, -40, 2000, 300, 10, 500).slice(x)) > 2
"""

# Exactly the kernels (and numba's own functions) that each path compiles, once each.
MEMORY_KERNELS = {
    "rows_frame_rms", "_block_span", "mix_rows", "frame_rms", "_eight_frames_sum_of_squares",
    "pairwise_sum_of_squares", "_block_sum_of_squares", "tag_silences", "_ring_argmin", "trailing_tag",
}
COMMAND_LINE_KERNELS = {
    "decode_and_mix", "frame_rms", "_eight_frames_sum_of_squares",
    "pairwise_sum_of_squares", "_block_sum_of_squares", "tag_silences", "_ring_argmin", "trailing_tag",
}
NUMBA_OWN = ["ol_max.<locals>.impl", "ol_min.<locals>.impl"]


def run_child(code, cache_dir, env=None, cwd=None):
    """Run ``code`` with the counting prelude in a fresh process; (what it compiled, stdout)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(TESTS), **(env or {})}
    done = subprocess.run([sys.executable, "-c", COUNTING + code], env=env, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("COMPILED ")][-1]
    return json.loads(line[len("COMPILED "):]), done.stdout


def check_specializations(compiled, expected_kernels):
    wrong = {
        name: sigs for name, sigs in compiled["kernels"].items()
        if len(sigs) != (1 if name in expected_kernels else 0)
    }
    assert not wrong, "kernels compiled a wrong number of times (expected once each, or never):\n" + "\n".join(
        f"  {name}: {len(sigs)} specializations {sigs}" for name, sigs in wrong.items()
    )
    ours = sorted(e for e in compiled["events"] if e in compiled["kernels"])
    assert ours == sorted(expected_kernels), compiled["events"]
    # numba's own functions: at most min() and max() (numba >= 0.68 compiles them as overloads).
    # An array expression would add NumPy's broadcasting and the text of its errors here.
    assert {e for e in compiled["events"] if e not in compiled["kernels"]} <= set(NUMBA_OWN), compiled["events"]


def test_only_the_jit_module_calls_numba_njit():
    for path in PACKAGE.glob("*.py"):
        if path.name != "_jit.py":
            assert "njit" not in path.read_text(), f"{path.name} sets numba options of its own"
    assert _jit.OPTIONS["fastmath"] is False and "parallel" not in _jit.OPTIONS


def test_in_memory_stereo_slice_compiles_each_kernel_it_uses_once(tmp_path):
    compiled, _ = run_child(IN_MEMORY, tmp_path / "cache")
    check_specializations(compiled, MEMORY_KERNELS)


def test_command_line_run_compiles_each_kernel_it_uses_once(tmp_path):
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, signals.speech_like(seed=4, seconds=20, sr=44100, channels=2).T, 44100, subtype="PCM_16")
    code = f"from fastslice.cli import main\nassert main(['slice', {str(wav)!r}, '-o', {str(tmp_path / 'out')!r}, '-q']) == 0\n"
    compiled, _ = run_child(code, tmp_path / "cache")
    check_specializations(compiled, COMMAND_LINE_KERNELS)
    assert len(list((tmp_path / "out").glob("talk_*.wav"))) > 2


def test_warmup_caches_everything_the_command_line_and_slicer_use(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-m", "fastslice", "warmup"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "0 loaded from the cache" in done.stdout
    folder = pathlib.Path(done.stdout.split("numba cache: ")[1].strip())
    assert folder.parent == cache and any(folder.glob("*.nbi"))
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, signals.speech_like(seed=4, seconds=20, sr=44100, channels=2).T, 44100, subtype="PCM_16")
    uses = IN_MEMORY + (
        "fastslice.Slicer(44100, -40, 2000, 300, 10, 500).slice(np.asfortranarray(x.astype(np.float64)))\n"
        "fastslice.Slicer(44100, -40, 2000, 300, 10, 500).slice(x[0])\n"
        "from fastslice.cli import main\n"
        f"assert main(['slice', {str(wav)!r}, '-o', {str(tmp_path / 'out')!r}, '-q']) == 0\n"
    )
    compiled, _ = run_child(uses, cache)
    assert compiled["events"] == [], f"compiled although warmed up: {compiled['events']}"
    again = subprocess.run([sys.executable, "-m", "fastslice", "warmup"], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "(0 compiled," in again.stdout, again.stdout


def test_workers_of_j2_compile_nothing_the_parent_compiled(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(4):
        soundfile.write(folder / f"f{k}.wav", signals.speech_like(seed=k, seconds=12, sr=16000).T, 16000, subtype="PCM_16")
    # Each worker reports what it compiled: the parent compiled it all before they started.
    code = (
        "import concurrent.futures, os\n"
        "from fastslice.batch import batch\n"
        "slice_one = batch.run_one\n"
        "def run(job, options, **kwargs):\n"
        "    before = len(compiled)\n"
        "    result, error = slice_one(job, options, **kwargs)\n"
        "    assert error is None, error\n"
        "    result.warnings.append('worker %d compiled %r' % (os.getpid(), compiled[before:]))\n"
        "    return result, None\n"
        "batch.run_one = run\n"
        f"done = batch.slice_files([{str(folder)!r}], {str(tmp_path / 'out')!r}, "
        "{'min_length': 2000, 'max_sil_kept': 500}, jobs=2)\n"
        "assert not done.errors, done.errors\n"
        "for result in done.results:\n"
        "    print(result.warnings[-1])\n"
    )
    # Forked workers (the run function is defined in "-c"): under spawn the same claim is
    # tests/test_spawn.py::test_workers_load_the_kernels_the_parent_compiled.
    _, stdout = run_child(code, tmp_path / "cache", env={"FASTSLICE_START_METHOD": "fork"})
    said = [ln for ln in stdout.splitlines() if ln.startswith("worker ")]
    assert len(said) == 4 and all(ln.endswith("compiled []") for ln in said), said


def test_fallback_cache_dir_is_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = pathlib.Path(_jit.fallback_cache_dir())
    assert folder.parent == tmp_path and folder.name.startswith("fastslice-numba-cache-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert _jit.fallback_cache_dir() == str(folder)  # the same folder for the next process
    # One that others may write to, or a symlink, is never used: a new private folder instead.
    folder.chmod(0o777)
    other = pathlib.Path(_jit.fallback_cache_dir())
    assert other != folder and other.parent == tmp_path and stat.S_IMODE(other.stat().st_mode) == 0o700
    shutil.rmtree(folder)
    folder.symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    assert pathlib.Path(_jit.fallback_cache_dir()) not in (folder, tmp_path / "elsewhere")


def test_read_only_install_without_a_home_caches_in_the_temporary_directory(tmp_path):
    # A copy of the package whose __pycache__ cannot be a folder (a file is in the way), and a
    # home under a file: numba has nowhere to cache (even root cannot write there).
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "fastslice", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "fastslice" / "__pycache__").write_text("not a folder")
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        "PYTHONPATH": f"{site}{os.pathsep}{TESTS}", "HOME": str(blocker / "home"), "XDG_CACHE_HOME": str(blocker / "cache"),
        "TMPDIR": str(temp), "NUMBA_CACHE_DIR": "", "PYTHONDONTWRITEBYTECODE": "1",
    }
    code = f"assert fastslice.__file__.startswith({str(site)!r}), fastslice.__file__\n"
    first, _ = run_child("import warnings; warnings.simplefilter('error')\n" + IN_MEMORY + code, "", env=env, cwd=tmp_path)
    assert first["events"], "nothing compiled on the first run"
    cached = list(temp.glob("fastslice-numba-cache-*/**/*.nbi"))
    assert cached, sorted(str(p) for p in temp.rglob("*"))
    second, _ = run_child(IN_MEMORY + code, "", env=env, cwd=tmp_path)
    assert second["events"] == [], f"compiled again: {second['events']}"


def test_function_without_source_compiles_uncached_with_one_warning(monkeypatch, tmp_path):
    # A function defined by exec has no source file: no cache can be keyed on it, not even
    # in the temporary folder; it still works, with one warning.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setitem(_jit.cache_state, "cache", "numba")
    namespace = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        twice = _jit.jit(namespace["twice"])
    assert twice(21) == 42
    assert [w.category for w in caught] == [RuntimeWarning]
    assert "twice" in str(caught[0].message) and "NUMBA_CACHE_DIR" in str(caught[0].message)
    assert _jit.cache_state["cache"] == "numba"  # the kernels with a source file still cache as before


def test_cached_kernels_load_in_a_fresh_process(tmp_path):
    # Compile into an empty cache directory, then load from it in a second process.
    code = (
        "x = np.zeros(16000 * 8, np.float32); x[16000:48000] = 0.5\n"
        "print(fastslice.Slicer(16000, -40, 1000, 300, 10, 500).slice_ranges(x).tolist())\n"
    )
    first, out1 = run_child("import numpy as np, fastslice\n" + code, tmp_path)
    assert first["events"] and any(tmp_path.rglob("*.nbi")), "nothing was cached"
    second, out2 = run_child("import numpy as np, fastslice\n" + code, tmp_path)
    assert second["events"] == []
    assert out1.splitlines()[0] == out2.splitlines()[0] and out1.startswith("[[")


def test_cache_survives_a_reinstall_and_not_an_edit(tmp_path):
    # pip writes every file anew: new modification times, same content.  The kernels must
    # load from the cache all the same (a CI job's or a Docker image's cache folder), and
    # compile again once the source really changes.
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "fastslice", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": f"{site}{os.pathsep}{TESTS}"}
    cache = tmp_path / "cache"
    code = f"assert fastslice.__file__.startswith({str(site)!r}), fastslice.__file__\n"
    first, _ = run_child(IN_MEMORY + code, cache, env=env, cwd=tmp_path)
    assert first["events"]
    later = os.stat(site / "fastslice" / "_kernels.py").st_mtime + 3600
    for path in (site / "fastslice").glob("*.py"):
        os.utime(path, (later, later))
    reinstalled, _ = run_child(IN_MEMORY + code, cache, env=env, cwd=tmp_path)
    assert reinstalled["events"] == [], f"compiled again after a reinstall: {reinstalled['events']}"
    with open(site / "fastslice" / "_kernels.py", "a") as f:
        f.write("\n# edited\n")
    edited, _ = run_child(IN_MEMORY + code, cache, env=env, cwd=tmp_path)
    assert "frame_rms" in edited["events"], "a stale cache was used after an edit"
