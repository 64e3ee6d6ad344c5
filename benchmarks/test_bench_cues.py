"""Cutting by cues and by speech: an hour of real speech, against the RMS slicer, in one run.

The workload (``workloads.spoken_hour``): an hour of espeak-ng speech (sixteen sentences in a
seeded order, pauses of 0.4-1.5 s, a -65 dB noise floor; 22.05 kHz mono 16-bit), and a subtitle
per sentence, each time moved by up to 250 ms; made once and cached.

Group ``cues and speech: 1h``: ``fastslice slice HOUR -o OUT`` (a new folder each round) three
ways, with the same parameters (-40 dB, 1000/300/10/300 ms):

* ``rms``: the plain slicer;
* ``cues``: ``--cues HOUR.srt``, each boundary snapped to the quietest frame within 300 ms;
* ``speech``: ``--detector speech`` (Silero VAD through onnxruntime on one thread).

Each is a whole process pinned to one CPU (``taskset -c 0``: "on one core").
``extra_info``: ``x_realtime`` (the hour over the best round), ``peak_rss_mb`` and ``clips``.
Target (measured, never asserted): the detector at least 100x realtime on one core.

Run::

    pytest benchmarks/test_bench_cues.py -p no:cacheprovider --benchmark-group-by=group --benchmark-columns=min,median,rounds
"""
import os
import shutil
import subprocess
import sys

import pytest
import soundfile

from test_bench_files import _PEAK_RSS
from workloads import label, spoken_hour

CLI_OPTIONS = ["--threshold", "-40", "--min-length", "1000", "--min-interval", "300", "--hop-size", "10",
               "--max-sil-kept", "300", "-q"]
ROUNDS = 2


@pytest.fixture(scope="module")
def hour():
    """The spoken hour's WAV, its subtitles, and its length in seconds."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("the spoken hour is made by Debian's espeak-ng (apt-get install espeak-ng)")
    wav, srt = spoken_hour(3600)
    return wav, srt, soundfile.info(wav).duration


def one_core(argv):
    return (["taskset", "-c", "0"] if shutil.which("taskset") else []) + argv


def timed_processes(benchmark, argv, folder, rounds):
    """Time the process ``argv(out)`` over ``rounds`` rounds, each into a new folder under ``folder`` (after
    one warm-up run); then run it once more for its peak RSS.  Returns ``(peak RSS in MB, the first round's folder)``."""
    subprocess.run(argv(folder / "warm"), check=True)  # numba's cache, the page cache, first loads
    numbers = iter(range(100))
    benchmark.pedantic(lambda: subprocess.run(argv(folder / f"r{next(numbers)}"), check=True), rounds=rounds,
                       iterations=1)
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS, *argv(folder / "rss")], capture_output=True, text=True,
                          check=True)
    return round(int(done.stdout.split()[-1]) / 1024, 1), folder / "r0"


@pytest.mark.parametrize("how", ["rms", "cues", "speech"])
def test_cues_and_speech(benchmark, hour, tmp_path, how):
    wav, srt, seconds = hour
    benchmark.group = f"cues and speech: {label(3600)}"
    extra = {"rms": [], "cues": ["--cues", str(srt)], "speech": ["--detector", "speech"]}[how]

    def argv(out):
        return one_core([sys.executable, "-m", "fastslice", "slice", str(wav), "-o", str(out), *CLI_OPTIONS, *extra])

    rss, first = timed_processes(benchmark, argv, tmp_path, ROUNDS)  # onnxruntime's first load in the warm-up
    benchmark.extra_info.update(peak_rss_mb=rss, clips=len([n for n in os.listdir(first) if n.endswith(".wav")]))
    if benchmark.stats:
        benchmark.extra_info["x_realtime"] = round(seconds / benchmark.stats.stats.min)
