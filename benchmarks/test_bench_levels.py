"""Levels: what ``--threshold auto`` and ``--loudness`` cost against a plain run, on the hour, in one run.

The workload (``workloads.spoken_hour``): an hour of espeak-ng speech (pauses of 0.4-1.5 s, a
-65 dB noise floor; 22.05 kHz mono 16-bit WAV), and the same as FLAC (``workloads.encoded``):
for a PCM file ``auto`` reads each clip from the file again, for a compressed one it holds the
decoded samples until the end (in a temporary file beyond the memory bound).

Group ``levels: 1h``: ``fastslice slice FILE -o OUT`` (a new folder each round), same parameters
(1000/300/10/300 ms), three ways per format:

* ``plain``: ``--threshold -40``;
* ``auto``: ``--threshold auto`` (the frames kept, the threshold chosen at the end, then the cuts);
* ``loudness``: ``--threshold -40 --loudness -23`` (each clip measured per ITU-R BS.1770-4 in a
  first pass, then written at its gain, under -1 dBFS).

Each is a whole process pinned to one CPU (``taskset -c 0``).  ``extra_info``: ``x_realtime``,
``peak_rss_mb``, ``clips``, and ``x_plain`` (this case's best round over the plain run's of the
same format, measured in this run).

Run::

    pytest benchmarks/test_bench_levels.py -p no:cacheprovider --benchmark-group-by=group --benchmark-columns=min,median,rounds
"""
import os
import shutil
import sys

import pytest
import soundfile

from test_bench_cues import one_core, timed_processes
from workloads import encoded, label, spoken_hour

CUT = ["--min-length", "1000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "300", "-q"]
HOW = {"plain": ["--threshold", "-40"], "auto": ["--threshold", "auto"],
       "loudness": ["--threshold", "-40", "--loudness", "-23"]}
ROUNDS = 2
_BEST = {}  # (format, how) -> best round (s), for the ratios


@pytest.fixture(scope="module")
def hour():
    if shutil.which("espeak-ng") is None:
        pytest.fail("the spoken hour is made by Debian's espeak-ng (apt-get install espeak-ng)")
    wav, _ = spoken_hour(3600)
    return {"wav": wav, "flac": encoded(wav, "flac")}, soundfile.info(wav).duration


@pytest.mark.parametrize("fmt", ["wav", "flac"])
@pytest.mark.parametrize("how", list(HOW))
def test_levels(benchmark, hour, tmp_path, fmt, how):
    paths, seconds = hour
    benchmark.group = f"levels: {label(3600)}"

    def argv(out):
        return one_core([sys.executable, "-m", "fastslice", "slice", str(paths[fmt]), "-o", str(out), *CUT, *HOW[how]])

    rss, first = timed_processes(benchmark, argv, tmp_path, ROUNDS)
    benchmark.extra_info.update(peak_rss_mb=rss, clips=len([n for n in os.listdir(first) if not n.startswith(".")]))
    if benchmark.stats:
        best = benchmark.stats.stats.min
        _BEST[fmt, how] = best
        benchmark.extra_info["x_realtime"] = round(seconds / best)
        if (fmt, "plain") in _BEST:
            benchmark.extra_info["x_plain"] = round(best / _BEST[fmt, "plain"], 2)
