"""Start-up: how long a fresh Python process takes to do fastslice's first piece of work.

Every round is a new subprocess, timed as a whole (wall clock).  "cold" rounds get a new,
empty ``NUMBA_CACHE_DIR`` each (the kernels are compiled from scratch, as in a new venv, CI
job or Docker image); "warm" rounds share a cache folder filled once, untimed.

* group ``start-up: in memory`` - ``import fastslice`` and a first ``Slicer(44100, ...).slice``
  of 3 s of float32 stereo, channels-first in C order and in F order (librosa's layout);
  target: cold at most 4 s;
* group ``start-up: one file`` - ``fastslice slice`` of a 30 s 16-bit stereo WAV; target: cold
  at most 3 s;
* group ``start-up: folder`` - ``fastslice slice -j 1`` and ``-j 2`` of a folder of eight
  30 s WAVs, cold; target: ``-j 2`` no more than ``-j 1`` + 0.5 s (the parent compiles, the
  workers inherit);
* group ``start-up: warmup`` - ``fastslice warmup`` (float32 and float64), cold and warm;
  and ``fastslice --help`` (imports no numba).

``extra_info``: ``wall_seconds`` (the median), ``target_seconds`` where the issue sets one
(recorded, not asserted), and for the in-memory child its own split, ``import_seconds``
(NumPy and ``import fastslice``, which loads no numba) and ``first_call_seconds``.

Run::

    pytest benchmarks/test_bench_startup.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test: ``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_startup.py --benchmark-disable``.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

# Child code: import fastslice, then slice 3 s of stereo (noise, a quiet second in the middle).
# min_length=1000 ms: at the default 5000 a 3 s input is returned whole and no kernel runs.
FIRST_CALL = """
import sys, time
t0 = time.perf_counter()
import numpy as np
import fastslice
t1 = time.perf_counter()
n = 3 * 44100
wave = np.random.default_rng(0).standard_normal((2, n), dtype=np.float32) * 0.1
wave[:, n // 3 : 2 * n // 3] *= 0.01
if sys.argv[1] == "F":
    wave = np.asfortranarray(wave)
chunks = fastslice.Slicer(44100, min_length=1000).slice(wave)
assert len(chunks) > 1, "not sliced"
print(t1 - t0, time.perf_counter() - t1)
"""
COLD_ROUNDS = 3
WARM_ROUNDS = 5
FOLDER_FILES = 8


def run(argv, cache_dir=None):
    """Run argv to completion (exit 0 asserted); its stdout."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{argv[1:]} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def run_cold(benchmark, argv, tmp_path, rounds=COLD_ROUNDS):
    """Time argv in rounds, each with a new empty numba cache (made untimed); the last stdout."""

    def fresh_cache():
        return (argv, tempfile.mkdtemp(prefix="numba-cold-", dir=tmp_path)), {}

    return benchmark.pedantic(run, setup=fresh_cache, rounds=rounds, iterations=1)


def run_warm(benchmark, argv, tmp_path, rounds=WARM_ROUNDS):
    """Fill a cache folder with one untimed run, then time argv in rounds against it."""
    cache = tmp_path / "numba-warm"
    run(argv, cache)
    return benchmark.pedantic(run, args=(argv, cache), rounds=rounds, iterations=1)


def record(benchmark, stdout=None, **facts):
    benchmark.extra_info.update(facts)
    if stdout:  # the in-memory child's own split: import, then first slice (compile or cache load)
        import_s, call_s = map(float, stdout.split())
        benchmark.extra_info.update(import_seconds=round(import_s, 3), first_call_seconds=round(call_s, 3))
    if benchmark.stats:  # None under --benchmark-disable
        benchmark.extra_info["wall_seconds"] = benchmark.stats.stats.median


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_first_in_memory_slice(benchmark, tmp_path, order, cache):
    benchmark.group = "start-up: in memory"
    argv = [sys.executable, "-c", FIRST_CALL, order]
    out = (run_cold if cache == "cold" else run_warm)(benchmark, argv, tmp_path)
    record(benchmark, out, numba_cache=cache, **({"target_seconds": 4.0} if cache == "cold" else {}))


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_slice_one_file(benchmark, speech_wav, tmp_path, cache):
    benchmark.group = "start-up: one file"
    wav = speech_wav(30)
    out = tmp_path / "clips"
    argv = [sys.executable, "-m", "fastslice", "slice", str(wav), "-o", str(out), "--overwrite", "-q"]
    (run_cold if cache == "cold" else run_warm)(benchmark, argv, tmp_path)
    clips = list(out.glob(f"{wav.stem}_*.wav"))
    assert len(clips) > 1, "fastslice slice did not cut the file"
    record(benchmark, numba_cache=cache, n_clips=len(clips), **({"target_seconds": 3.0} if cache == "cold" else {}))


@pytest.fixture(scope="module")
def folder(speech_wav, tmp_path_factory):
    """Eight copies of the 30 s WAV in one folder."""
    path = tmp_path_factory.mktemp("folder")
    wav = speech_wav(30)
    for k in range(FOLDER_FILES):
        shutil.copyfile(wav, path / f"take{k}.wav")
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_slice_folder_cold(benchmark, folder, tmp_path, jobs):
    benchmark.group = "start-up: folder"
    out = tmp_path / "clips"
    argv = [sys.executable, "-m", "fastslice", "slice", str(folder), "-o", str(out), "-j", str(jobs), "--overwrite", "-q"]
    run_cold(benchmark, argv, tmp_path)
    assert len(list(out.glob("take*_*.wav"))) > FOLDER_FILES
    record(benchmark, numba_cache="cold", jobs=jobs, files=FOLDER_FILES,
           target="-j 2 at most the -j 1 time + 0.5 s")


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_warmup(benchmark, tmp_path, cache):
    benchmark.group = "start-up: warmup"
    argv = [sys.executable, "-m", "fastslice", "warmup"]
    out = (run_cold if cache == "cold" else run_warm)(benchmark, argv, tmp_path)
    assert "numba cache:" in out
    record(benchmark, numba_cache=cache)


def test_help(benchmark):
    benchmark.group = "start-up: warmup"
    benchmark.pedantic(run, args=([sys.executable, "-m", "fastslice", "--help"],), rounds=WARM_ROUNDS, iterations=1)
    record(benchmark)
