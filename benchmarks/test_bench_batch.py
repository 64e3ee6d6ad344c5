"""A folder of many files: ``fastslice slice FOLDER`` with one and with two processes.

The workload is 120 WAV files (16-bit stereo 44.1 kHz, 20 s each, capped by
``FASTSLICE_BENCH_SECONDS``), each the speech-like audio of ``conftest.py`` with
its own seed; written once into ``$TMPDIR/fastslice-bench-workloads`` and reused
by later sessions.  All runs use the upstream CLI's parameters (-40 dB,
5000/300/10/500 ms).

Group ``batch 120 files``: ``python -m fastslice slice FOLDER -o OUT -q --overwrite -j N``
as a subprocess, timed as a whole, for N = 1 and 2 (the numba cache is warmed by
an untimed run first).  Afterwards the -j 2 test asserts that it wrote what -j 1
wrote: the same file names, byte for byte (the markers' paths to OUT aside).

Run::

    pytest benchmarks/test_bench_batch.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test: ``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_batch.py --benchmark-disable``.
"""
import subprocess
import sys

import pytest

from workloads import capped, wav_folder

N_FILES = 120
FILE_SECONDS = capped(20)
OPTIONS = ["--threshold", "-40", "--min-length", "5000", "--min-interval", "300",
           "--hop-size", "10", "--max-sil-kept", "500", "-q", "--overwrite"]
ROUNDS = 3
_outputs = {}  # jobs -> the folder its last timed run wrote


@pytest.fixture(scope="session")
def batch_dir():
    """The 120-file folder (file i has seed 1000 + i), built once and cached across sessions."""
    return wav_folder("speech", N_FILES, FILE_SECONDS, first_seed=1000)


def run_cli(folder, out, jobs):
    subprocess.run([sys.executable, "-m", "fastslice", "slice", str(folder), "-o", str(out), "-j", str(jobs), *OPTIONS],
                   check=True)


def clip_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def content(folder, name):
    """A written file's bytes, with the output folder's path (in the hidden .fastslice.json markers) masked."""
    return (folder / name).read_bytes().replace(str(folder).encode(), b"<OUT>")


def assert_same_output(expected, got):
    names = clip_files(expected)
    assert names and clip_files(got) == names, "-j 2 wrote other files than -j 1"
    different = [n for n in names if content(expected, n) != content(got, n)]
    assert not different, f"-j 2 wrote different bytes than -j 1 in {len(different)} files, e.g. {different[0]}"


@pytest.mark.parametrize("jobs", [1, 2])
def test_batch(benchmark, jobs, batch_dir, tmp_path):
    benchmark.group = f"batch {N_FILES} files"
    out = tmp_path / f"j{jobs}"
    run_cli(batch_dir / "speech_000.wav", tmp_path / "warm", 1)  # numba cache warm, outside the timing
    benchmark.pedantic(run_cli, args=(batch_dir, out, jobs), rounds=ROUNDS, iterations=1)
    _outputs[jobs] = out

    audio_seconds = N_FILES * FILE_SECONDS
    benchmark.extra_info.update(files=N_FILES, audio_hours=audio_seconds / 3600, jobs=jobs,
                                n_clips=len(list(out.glob("*.wav"))))
    if benchmark.stats:  # None under --benchmark-disable
        benchmark.extra_info["x_realtime"] = audio_seconds / benchmark.stats.stats.median

    if jobs == 2:  # same clips as one process, checked outside the timing
        reference = _outputs.get(1)
        if reference is None:
            reference = tmp_path / "j1"
            run_cli(batch_dir, reference, 1)
        assert_same_output(reference, out)
