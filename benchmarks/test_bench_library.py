"""Whole libraries: the cost per file at 1,000, 10,000 and 100,000 files.

The workload (``library_folder``): N short files, 2 s of 8 kHz mono 16-bit WAV each (32 KB, so
that 100,000 fit on a disk: 3.2 GB), a hundred to a folder (``spk000/t000000.wav``, ...), each
cut into about two clips by the parameters below.  Made once by the benchmark (sixteen seeded
speech-like takes, the files rotate through them) into ``$TMPDIR/fastslice-bench-workloads``
and reused by later sessions.

Group ``library N files``, as a user runs them (each round writes into a new folder, with the
inputs read once beforehand so that they are in the page cache, untimed):

* ``slice -j1`` / ``slice -j2``: ``fastslice slice LIB -o OUT -q -j N`` (three rounds up to 10,000
  files, one at 100,000);
* ``rerun``: the same command again on the ``-j 1`` output, every file done;
* ``review``: ``fastslice review OUT`` (every clip measured, every source's envelope);
* ``stats``: ``fastslice stats OUT``;
* ``export``: ``fastslice export OUT --to hf --to lhotse --to nemo --to kaldi --val 2``;
* the floors, in the same run: ``floor: read`` reads every input once (what any slicer must
  read), ``floor: create 1`` / ``floor: create 2`` create the files a run leaves (two clips of
  the clips' size and a marker per input, each written to a temporary name and renamed, in the
  same folders) from one process and from two (each its own folders): what the file system
  allows, and how far a second process speeds it up.

Each command runs in a small Python process that calls ``fastslice.cli.main`` and reports its
own peak RSS (``RUSAGE_SELF``: the parent's, whatever its workers use), in
``extra_info["parent_peak_rss_mb"]``; ``extra_info["ms_per_file"]`` is the time per file.

Targets (measured, never asserted): time per file at 100,000 files within 1.2x of that at
1,000 (``-j 1`` and ``-j 2``); a re-run of 100,000 done files in at most 60 s; ``-j 2`` at least
1.8x ``-j 1`` at 10,000 files; the parent's peak RSS at 100,000 within 32 MB of that at 1,000.

``FASTSLICE_BENCH_LIBRARY`` (default ``1000,10000,100000``) picks the sizes; the CI smoke run
uses ``1000``.  Run::

    pytest benchmarks/test_bench_library.py -p no:cacheprovider --benchmark-group-by=group \\
        --benchmark-columns=min,rounds
"""
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from workloads import WORKLOAD_DIR, speech_like

SIZES = [int(n) for n in os.environ.get("FASTSLICE_BENCH_LIBRARY", "1000,10000,100000").split(",") if n]
SR, SECONDS, PER_FOLDER, TAKES = 8000, 2.0, 100, 16
OPTIONS = ["--threshold", "-40", "--min-length", "300", "--min-interval", "200", "--hop-size", "10",
           "--max-sil-kept", "100", "-q"]
# Runs fastslice's main() with the arguments given, then prints this process's own peak RSS (KiB).
_RUN = ("import resource, sys; from fastslice.cli import main; rc = main(sys.argv[1:]); "
        "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")
_outputs = {}
# Creates, in the folders argv[2:], three files per input name of folder argv[1] (two clips of 16 KB and
# a marker through a temporary name): the file system's share of a run.
_CREATE = ("import os, sys\nsource, out = sys.argv[1], sys.argv[2]\nclip = bytes(16000)\nmarker = bytes(1500)\n"
           "for folder in sys.argv[3:]:\n    os.makedirs(os.path.join(out, folder))\n"
           "    for name in sorted(os.listdir(os.path.join(source, folder))):\n"
           "        stem = os.path.join(out, folder, name[:-4])\n"
           "        for k in (0, 1):\n            with open(f'{stem}_{k}.wav', 'wb') as f: f.write(clip)\n"
           "        with open(stem + '.part', 'wb') as f: f.write(marker)\n"
           "        os.replace(stem + '.part', stem + '.json')\n")


def _wav_bytes(samples):
    data = samples.astype("<i2").tobytes()
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, SR, 2 * SR, 2, 16) + b"data" + struct.pack("<I", len(data)) + data)


def library_folder(n):
    """``n`` short WAVs in folders of ``PER_FOLDER``, cached across sessions."""
    folder = WORKLOAD_DIR / f"library_{n}x{SECONDS:g}s_{SR}Hz_v1"
    if not folder.exists():
        partial = folder.with_name(f".{folder.name}.{os.getpid()}.part")
        shutil.rmtree(partial, ignore_errors=True)
        takes = []
        for seed in range(TAKES):
            x = speech_like(SECONDS, sr=SR, channels=1, seed=500 + seed)[0]
            x[: int(0.1 * SR)] = 0  # a pause at each end, one in the middle: two clips a file
            x[int(0.9 * SR) : int(1.2 * SR)] *= 0.001
            takes.append(_wav_bytes(np.clip(x * 32768, -32768, 32767)))
        for i in range(n):
            sub = partial / f"spk{i // PER_FOLDER:03d}"
            if i % PER_FOLDER == 0:
                sub.mkdir(parents=True)
            (sub / f"t{i:06d}.wav").write_bytes(takes[i % TAKES])
        os.replace(partial, folder)
    return folder


def run(*args):
    """``fastslice ARGS`` in a fresh process; returns its peak RSS in MiB."""
    done = subprocess.run([sys.executable, "-c", _RUN, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stderr.split("peak")[-1]) / 1024


def record(benchmark, n, rss, what):
    benchmark.extra_info.update(files=n, parent_peak_rss_mb=round(rss, 1), what=what)
    if benchmark.stats:
        benchmark.extra_info["ms_per_file"] = round(1000 * benchmark.stats.stats.min / n, 3)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """Compile (or load) the kernels once, outside every timing."""
    folder = library_folder(min(SIZES))
    run("slice", folder / "spk000" / "t000000.wav", "-o", tmp_path_factory.mktemp("warm"), *OPTIONS)


def read_inputs(folder):
    """Read every input once (into the page cache): the floor of any slicer."""
    total = 0
    for sub in sorted(os.listdir(folder)):
        for name in sorted(os.listdir(folder / sub)):
            with open(folder / sub / name, "rb") as f:
                total += len(f.read())
    return total


@pytest.mark.parametrize("n", SIZES)
def test_floor_read(benchmark, n):
    benchmark.group = f"library {n} files"
    folder = library_folder(n)
    read_inputs(folder)
    benchmark.pedantic(read_inputs, args=(folder,), rounds=1, iterations=1)
    benchmark.extra_info.update(files=n, what="read every input once (warm)")
    if benchmark.stats:
        benchmark.extra_info["ms_per_file"] = round(1000 * benchmark.stats.stats.min / n, 3)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("processes", [1, 2])
def test_floor_create(benchmark, tmp_path, n, processes):
    benchmark.group = f"library {n} files"
    folder = library_folder(n)
    subs = sorted(os.listdir(folder))
    rounds = _rounds(n)

    def setup():
        out = tmp_path / f"created{len(list(tmp_path.iterdir()))}"
        shutil.rmtree(tmp_path / "previous", ignore_errors=True)
        return (out,), {}

    def create(out):
        children = [subprocess.Popen([sys.executable, "-c", _CREATE, str(folder), str(out), *subs[k::processes]])
                    for k in range(processes)]
        assert all(child.wait() == 0 for child in children)
        os.replace(out, tmp_path / "previous")

    benchmark.pedantic(create, setup=setup, rounds=rounds, iterations=1)
    shutil.rmtree(tmp_path / "previous", ignore_errors=True)
    benchmark.extra_info.update(files=n, what=f"create 3 files per input from {processes} process(es)")
    if benchmark.stats:
        benchmark.extra_info["ms_per_file"] = round(1000 * benchmark.stats.stats.min / n, 3)


def _rounds(n):
    return 3 if n <= 10000 else 1


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("jobs", [1, 2])
def test_slice(benchmark, warm, tmp_path, n, jobs):
    benchmark.group = f"library {n} files"
    folder = library_folder(n)
    outs = []

    def setup():  # a new folder each round; the previous round's output removed and the inputs read, untimed
        for old in outs[:-1] if jobs == 1 else outs:
            shutil.rmtree(old, ignore_errors=True)
        read_inputs(folder)
        outs.append(tmp_path / f"out{len(outs)}")
        return ("slice", folder, "-o", outs[-1], *OPTIONS, "-j", jobs), {}

    rss = benchmark.pedantic(run, setup=setup, rounds=_rounds(n), iterations=1)
    record(benchmark, n, rss, f"fastslice slice -j {jobs}")
    n_clips = sum(1 for _ in outs[-1].rglob("*.wav"))
    assert n_clips >= 1.9 * n, "the library's files should make about two clips each"
    for old in outs[:-1]:
        shutil.rmtree(old, ignore_errors=True)
    if jobs == 1:
        _outputs[n] = outs[-1]
    else:
        shutil.rmtree(outs[-1])


@pytest.mark.parametrize("n", SIZES)
def test_rerun(benchmark, warm, tmp_path, n):
    benchmark.group = f"library {n} files"
    out = _outputs.get(n)
    if out is None:
        out = tmp_path / "out"
        run("slice", library_folder(n), "-o", out, *OPTIONS)
    rss = benchmark.pedantic(run, args=("slice", library_folder(n), "-o", out, *OPTIONS), rounds=1, iterations=1)
    record(benchmark, n, rss, "fastslice slice (all done)")
    _outputs[n] = out


@pytest.mark.parametrize("n", SIZES)
def test_export(benchmark, warm, tmp_path, n):
    benchmark.group = f"library {n} files"
    out = _outputs.get(n)
    if out is None:
        out = _outputs[n] = tmp_path / "out"
        run("slice", library_folder(n), "-o", out, *OPTIONS)
    lists = tmp_path / "lists"
    args = ("export", out, "--to", f"hf:{out / 'metadata.jsonl'}", "--to", f"lhotse:{lists}",
            "--to", f"nemo:{lists / 'manifest.json'}", "--to", f"kaldi:{lists / 'kaldi'}", "--val", "2")
    rss = benchmark.pedantic(run, args=args, rounds=1, iterations=1)
    record(benchmark, n, rss, "fastslice export --to hf, lhotse, nemo, kaldi (--val 2)")
    assert sum(1 for _ in open(lists / "manifest.json")) + sum(1 for _ in open(lists / "manifest_val.json")) >= 1.9 * n


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("command", ["review", "stats"])
def test_review_and_stats(benchmark, warm, tmp_path, n, command):
    benchmark.group = f"library {n} files"
    out = _outputs.get(n)
    if out is None:
        out = _outputs[n] = tmp_path / "out"
        run("slice", library_folder(n), "-o", out, *OPTIONS)
    args = (command, out, "-o", tmp_path / "review.html") if command == "review" else (command, out)
    rss = benchmark.pedantic(run, args=args, rounds=1, iterations=1)
    record(benchmark, n, rss, f"fastslice {command}")


@pytest.fixture(scope="module", autouse=True)
def _clean_up():
    yield
    for out in _outputs.values():
        shutil.rmtree(out, ignore_errors=True)
