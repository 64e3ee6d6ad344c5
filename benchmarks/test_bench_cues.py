"""Cutting by cues and by speech: the benchmark's hour, against the RMS slicer, in one run.

Group ``cues and speech: 1h``: ``fastslice slice HOUR -o OUT`` (16-bit stereo WAV, the guide's
parameters, a new folder each round) three ways:

* ``rms``: the plain slicer;
* ``cues``: ``--cues HOUR.srt``, a subtitle per "sentence" (the plain slicer's clips, each boundary
  moved by up to 250 ms, seeded), snapped to the quietest frame within 300 ms;
* ``speech``: ``--detector speech`` (Silero VAD through onnxruntime on one thread).

Each is a whole process pinned to one CPU (``taskset -c 0``: "on one core").
``extra_info``: ``x_realtime`` (the hour over the best round) and ``peak_rss_mb``.
Target (measured, never asserted): the detector at least 100x realtime on one core.

Run::

    pytest benchmarks/test_bench_cues.py -p no:cacheprovider --benchmark-group-by=group --benchmark-columns=min,median,rounds
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from test_bench_files import _PEAK_RSS
from workloads import label

PARAMS = dict(threshold=-30, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500)
CLI_OPTIONS = ["--threshold", "-30", "--min-length", "4000", "--min-interval", "500", "--hop-size", "5",
               "--max-sil-kept", "500", "-q"]
ROUNDS = 2


@pytest.fixture(scope="module")
def hour(speech_wav, tmp_path_factory):
    """The hour's WAV and a subtitle file for it."""
    from fastslice import Slicer

    wav = speech_wav(3600)
    audio, sr = soundfile.read(wav, dtype="float32", always_2d=True)
    ranges = Slicer(sr, **PARAMS).slice_ranges(audio.T)
    rng = np.random.default_rng(7)
    srt = tmp_path_factory.mktemp("cues") / "hour.srt"
    with open(srt, "w", encoding="utf-8") as f:
        for k, (a, b) in enumerate(ranges.tolist(), 1):
            start, end = max(0.0, a / sr + rng.uniform(-0.25, 0.25)), b / sr + rng.uniform(-0.25, 0.25)
            f.write(f"{k}\n{_srt(start)} --> {_srt(end)}\nsentence {k}\n\n")
    return wav, srt, soundfile.info(wav).duration


def _srt(t):
    ms = round(t * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def one_core(argv):
    return (["taskset", "-c", "0"] if shutil.which("taskset") else []) + argv


@pytest.mark.parametrize("how", ["rms", "cues", "speech"])
def test_cues_and_speech(benchmark, hour, tmp_path, how):
    wav, srt, seconds = hour
    benchmark.group = f"cues and speech: {label(3600)}"
    extra = {"rms": [], "cues": ["--cues", str(srt)], "speech": ["--detector", "speech"]}[how]

    def argv(out):
        return one_core([sys.executable, "-m", "fastslice", "slice", str(wav), "-o", str(out), *CLI_OPTIONS, *extra])

    subprocess.run(argv(tmp_path / "warm"), check=True)  # numba's cache, the page cache, onnxruntime's first load
    rounds = iter(range(100))
    benchmark.pedantic(lambda: subprocess.run(argv(tmp_path / f"r{next(rounds)}"), check=True),
                       rounds=ROUNDS, iterations=1)
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS, *argv(tmp_path / "rss")], capture_output=True, text=True,
                          check=True)
    benchmark.extra_info.update(peak_rss_mb=round(int(done.stdout.split()[-1]) / 1024, 1),
                                clips=len([n for n in os.listdir(tmp_path / "r0") if n.endswith(".wav")]))
    if benchmark.stats:
        benchmark.extra_info["x_realtime"] = round(seconds / benchmark.stats.stats.min)
