"""File to clips: ``fastslice slice`` vs the so-vits-svc guide's librosa + slicer2 + soundfile flow.

The workloads are the cached 16-bit stereo 44.1 kHz WAVs of ``conftest.py``'s
``speech_wav``: one hour (or ``FASTSLICE_BENCH_SECONDS``) and one minute.  All runs use the guide's parameters
(-30 dB, 4000/500/5/500 ms).

Group ``file to clips`` (clips written to disk, from the same run; each round into a new,
empty folder, as a user's first run):

* ``test_cli`` - ``python -m fastslice slice ... -q --overwrite`` as a subprocess,
  timed as a whole process (interpreter start and imports included; the numba
  cache is warmed by an untimed run first);
* ``test_cli_start_up`` - the same command on 3 s of the audio: the fixed cost of a
  process, which bounds the whole-process ratio;
* ``test_slice_file`` - the same through ``fastslice.run.files.slice_file`` in-process;
* ``test_reference`` - ``librosa.load(sr=None, mono=False)``, upstream
  ``Slicer.slice``, ``soundfile.write`` per chunk (PCM_16).  Afterwards it
  asserts that fastslice's clips equal the reference's, sample for sample.

Group ``peak memory``: the CLI's peak RSS on the minute and on the whole file,
in ``extra_info["peak_rss_mb"]`` (and the difference on the whole file).  It is
measured, not asserted; the targets are <= 160 MB on one hour, within 16 MB of
the minute's.  A child's ``ru_maxrss`` from ``wait4`` includes the high-water
mark of the process that spawned it (Linux keeps it across ``exec``), so the
CLI is started from a fresh, small Python process that reports its child's.

Run::

    pytest benchmarks/test_bench_files.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test: ``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_files.py --benchmark-disable``.
"""
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile

from fastslice.run.files import slice_file

SR = 44100  # the workload's sample rate (conftest.SR)
PARAMS = dict(threshold=-30, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500)
CLI_OPTIONS = ["--threshold", "-30", "--min-length", "4000", "--min-interval", "500",
               "--hop-size", "5", "--max-sil-kept", "500", "-q", "--overwrite"]
FAST_ROUNDS = 3
REFERENCE_ROUNDS = 2

# Runs argv with stdout discarded, then prints its peak RSS in KiB (the only child of this process).
_PEAK_RSS = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")
_peaks = {}


@pytest.fixture(scope="session")
def wavs(speech_wav):
    """The workloads as 16-bit stereo WAVs: ``.whole`` (one hour, or the cap) and ``.minute``."""
    whole, minute = speech_wav(3600), speech_wav(60)
    return types.SimpleNamespace(whole=whole, minute=minute, three_seconds=speech_wav(3),
                                 seconds=soundfile.info(whole).duration)


def cli(wav, out):
    return [sys.executable, "-m", "fastslice", "slice", str(wav), "-o", str(out), *CLI_OPTIONS]


def run_cli(wav, out):
    subprocess.run(cli(wav, out), check=True)


def peak_rss_mb(wav, out):
    """Run the CLI on ``wav``; its peak resident set size in MiB."""
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS, *cli(wav, out)], check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024


def reference_flow(wav, out, upstream):
    """The so-vits-svc guide's slicing, verbatim; returns the number of clips."""
    import librosa

    audio, sr = librosa.load(wav, sr=None, mono=False)
    chunks = upstream.Slicer(sr=sr, **PARAMS).slice(audio)
    for i, chunk in enumerate(chunks):
        soundfile.write(os.path.join(out, f"seq_{i}.wav"), chunk.T if chunk.ndim > 1 else chunk, sr)
    return len(chunks)


def assert_same_clips(fast_dir, stem, ref_dir):
    """fastslice's ``<stem>_<i>.wav`` equal the reference's ``seq_<i>.wav``: count, order, int16 samples."""
    n_fast = len(list(fast_dir.glob(f"{stem}_*.wav")))
    assert_same_clip_files([fast_dir / f"{stem}_{i}.wav" for i in range(n_fast)], ref_dir)


def _int16(path):
    return soundfile.read(path, dtype="int16", always_2d=True)[0]


def assert_same_clip_files(fast_paths, ref_dir, read=_int16):
    """fastslice's clips (paths, in order, each read with ``read``) equal the reference's
    ``seq_<i>.wav`` as 16-bit samples: count, order, samples (the first difference is named)."""
    n_ref = len(list(ref_dir.glob("seq_*.wav")))
    assert len(fast_paths) == n_ref, f"fastslice wrote {len(fast_paths)} clips, the reference {n_ref}"
    assert n_ref > 1
    for i, path in enumerate(fast_paths):
        fast = read(path)
        ref = _int16(ref_dir / f"seq_{i}.wav")
        assert fast.shape == ref.shape, f"clip {i}: fastslice {fast.shape}, reference {ref.shape} (frames, channels)"
        if not np.array_equal(fast, ref):
            frame, channel = np.argwhere(fast != ref)[0]
            pytest.fail(f"clip {i}: first difference at frame {frame}, channel {channel}: "
                        f"fastslice {fast[frame, channel]}, reference {ref[frame, channel]}")


def fresh_folders(tmp_path, name, make=False):
    """pedantic's ``setup``: each round writes into a new, empty folder, as a first run does (the
    last round's clips are deleted before, untimed: freeing their pages is not what is measured)."""
    rounds = []

    def setup():
        if rounds:
            shutil.rmtree(rounds[-1])
        rounds.append(tmp_path / f"{name}{len(rounds)}")
        if make:
            rounds[-1].mkdir()
        return (rounds[-1],), {}

    return setup, rounds


def record(benchmark, wavs, **facts):
    benchmark.extra_info.update(audio_seconds=wavs.seconds, **facts)
    if benchmark.stats:  # None under --benchmark-disable
        benchmark.extra_info["x_realtime"] = wavs.seconds / benchmark.stats.stats.median


def test_cli(benchmark, wavs, tmp_path):
    benchmark.group = "file to clips"
    run_cli(wavs.minute, tmp_path / "warm")  # numba cache warm, outside the timing
    setup, rounds = fresh_folders(tmp_path, "out")
    benchmark.pedantic(lambda out: run_cli(wavs.whole, out), setup=setup, rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, wavs, n_clips=len(list(rounds[-1].glob("speech_*.wav"))))


def test_cli_start_up(benchmark, wavs, tmp_path):
    """The same command on three seconds of the same audio: the whole-process figure's fixed part
    (interpreter, imports, numba's cache), which bounds what a whole-process ratio can reach."""
    benchmark.group = "file to clips"
    run_cli(wavs.three_seconds, tmp_path / "warm")
    setup, _ = fresh_folders(tmp_path, "out")
    benchmark.pedantic(lambda out: run_cli(wavs.three_seconds, out), setup=setup, rounds=FAST_ROUNDS, iterations=1)
    benchmark.extra_info.update(audio_seconds=soundfile.info(wavs.three_seconds).duration)


def test_slice_file(benchmark, wavs, tmp_path):
    benchmark.group = "file to clips"
    slice_file(wavs.minute, tmp_path / "warm", PARAMS, overwrite=True)  # compile or load the kernels
    setup, _ = fresh_folders(tmp_path, "out")
    result = benchmark.pedantic(lambda out: slice_file(wavs.whole, out, PARAMS), setup=setup,
                                rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, wavs, n_clips=len(result.clips))


def test_reference(benchmark, wavs, tmp_path, upstream):
    benchmark.group = "file to clips"
    fast_dir, warm = tmp_path / "fastslice", tmp_path / "warm"
    warm.mkdir()
    reference_flow(wavs.minute, warm, upstream)  # librosa's lazy imports, outside the timing
    setup, rounds = fresh_folders(tmp_path, "reference", make=True)
    n = benchmark.pedantic(lambda out: reference_flow(wavs.whole, out, upstream), setup=setup,
                           rounds=REFERENCE_ROUNDS, iterations=1)
    record(benchmark, wavs, n_clips=n)
    ref_dir = rounds[-1]

    # A fast wrong answer must not look good: the CLI's clips must be the reference's, sample for sample.
    run_cli(wavs.whole, fast_dir)
    assert_same_clips(fast_dir, wavs.whole.stem, ref_dir)


@pytest.mark.parametrize("length", ["1min", "whole"])
def test_peak_rss(benchmark, length, wavs, tmp_path):
    benchmark.group = "peak memory"
    wav = wavs.minute if length == "1min" else wavs.whole
    run_cli(wavs.minute, tmp_path / "warm")  # numba cache warm: measure running, not compiling
    peak = benchmark.pedantic(peak_rss_mb, args=(wav, tmp_path), rounds=1, iterations=1)
    _peaks[length] = peak
    benchmark.extra_info.update(audio_seconds=soundfile.info(wav).duration, peak_rss_mb=round(peak, 1))
    if length == "whole":
        minute = _peaks.get("1min") or peak_rss_mb(wavs.minute, tmp_path / "minute")
        benchmark.extra_info["minus_1min_mb"] = round(peak - minute, 1)
