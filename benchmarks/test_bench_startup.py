"""Cold start: how long a fresh Python process takes to do fastslice's first piece of work.

Group ``cold start``; every round is a new subprocess, timed as a whole (wall clock):

* ``test_first_call_cold`` - ``import fastslice`` and a first ``Slicer(44100, min_length=1000).slice``
  on 3 s of generated stereo audio, with ``NUMBA_CACHE_DIR`` a new, empty folder in
  every round: the kernels are compiled from scratch;
* ``test_first_call_warm`` - the same with a cache folder warmed once, untimed: the
  kernels are loaded from disk;
* ``test_help`` - ``fastslice --help`` (imports no numba);
* ``test_slice_3s_warm`` - ``fastslice slice --min-length 1000`` on a 3-second WAV with a
  warm cache; the target is under 1 s (``extra_info["target_seconds"]``; recorded, not asserted).

Both slicing children use ``min_length=1000`` ms: at the default 5000 ms a 3 s input
is returned whole (the reference's too-short rule) and no kernel is compiled or loaded.

``extra_info["wall_seconds"]`` is the median; the first-call tests add the
child's own split from the last round: ``import_seconds`` (NumPy and ``import fastslice``,
which loads no numba) and ``first_call_seconds`` (importing numba, compiling or loading
the kernels, slicing).

Run::

    pytest benchmarks/test_bench_startup.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test: ``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_startup.py --benchmark-disable``.
"""
import os
import subprocess
import sys
import tempfile

import pytest

# Child code: import fastslice, then slice 3 s of stereo as librosa lays it out (noise, a quiet second
# in the middle).  min_length=1000 ms: at the default 5000 a 3 s input is returned whole, no kernel runs.
FIRST_CALL = """
import time
t0 = time.perf_counter()
import numpy as np
import fastslice
t1 = time.perf_counter()
n = 3 * 44100
wave = np.random.default_rng(0).standard_normal((n, 2), dtype=np.float32) * 0.1
wave[n // 3 : 2 * n // 3] *= 0.01
chunks = fastslice.Slicer(44100, min_length=1000).slice(wave.T)  # (2, n), Fortran order
assert len(chunks) > 1, "not sliced"
print(t1 - t0, time.perf_counter() - t1)
"""
# The same reason for the CLI on a 3 s file: --min-length 1000, so the kernels run.
SLICE_OPTIONS = ["--min-length", "1000", "--overwrite", "-q"]
COLD_ROUNDS = 3
WARM_ROUNDS = 5
_compiled = []  # cache folders the cold test filled


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A NUMBA_CACHE_DIR shared by the warm tests (the cold test's last, if it ran: saves a compile).

    Each warm test also warms it with its own command, untimed.
    """
    return _compiled[-1] if _compiled else tmp_path_factory.mktemp("numba-warm")


def run(argv, cache_dir=None):
    """Run argv to completion (exit 0 asserted); its stdout."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{argv[1:]} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def record(benchmark, stdout=None, **facts):
    benchmark.extra_info.update(facts)
    if stdout:  # the first-call child's own split: import, then first slice (compile or cache load)
        import_s, call_s = map(float, stdout.split())
        benchmark.extra_info.update(import_seconds=round(import_s, 3), first_call_seconds=round(call_s, 3))
    if benchmark.stats:  # None under --benchmark-disable
        benchmark.extra_info["wall_seconds"] = benchmark.stats.stats.median


def test_first_call_cold(benchmark, tmp_path):
    benchmark.group = "cold start"
    argv = [sys.executable, "-c", FIRST_CALL]

    def fresh_cache():  # untimed: a new empty cache folder per round
        _compiled.append(tempfile.mkdtemp(prefix="numba-cold-", dir=tmp_path))
        return (argv, _compiled[-1]), {}

    out = benchmark.pedantic(run, setup=fresh_cache, rounds=COLD_ROUNDS, iterations=1)
    record(benchmark, out, numba_cache="empty")


def test_first_call_warm(benchmark, warm_cache):
    benchmark.group = "cold start"
    argv = [sys.executable, "-c", FIRST_CALL]
    run(argv, warm_cache)
    out = benchmark.pedantic(run, args=(argv, warm_cache), rounds=WARM_ROUNDS, iterations=1)
    record(benchmark, out, numba_cache="warm")


def test_help(benchmark):
    benchmark.group = "cold start"
    benchmark.pedantic(run, args=([sys.executable, "-m", "fastslice", "--help"],), rounds=WARM_ROUNDS, iterations=1)
    record(benchmark)


def test_slice_3s_warm(benchmark, speech_wav, warm_cache, tmp_path):
    benchmark.group = "cold start"
    wav = speech_wav(3)
    argv = [sys.executable, "-m", "fastslice", "slice", str(wav), "-o", str(tmp_path), *SLICE_OPTIONS]
    run(argv, warm_cache)
    benchmark.pedantic(run, args=(argv, warm_cache), rounds=WARM_ROUNDS, iterations=1)
    clips = list(tmp_path.glob(f"{wav.stem}_*.wav"))
    assert clips, "fastslice slice wrote no clips"
    record(benchmark, target_seconds=1.0, numba_cache="warm", n_clips=len(clips))
