"""Streaming speed by block size: ``iter_clip_ranges`` on a WAV file vs ``Slicer.slice_ranges`` in memory.

The workload is 10 min of the seeded speech-like stereo audio of ``conftest.py``
as a cached 16-bit 44.1 kHz WAV, sliced with the class-default parameters
(-40 dB, 5000/300/20/5000 ms).  Group ``streaming 10min stereo 44.1kHz by block size``:

* ``test_stream[B]`` - ``list(iter_clip_ranges(path, block_frames=B))``: reading,
  decoding and slicing the file in blocks of B frames, in constant memory;
* ``test_in_memory`` - ``Slicer.slice_ranges`` on the same audio, decoded by
  ``soundfile.read`` outside the timing.

Every block size must return exactly the in-memory ranges.  ``extra_info`` has
the block size, the speed relative to real time and in MB/s of decoded float32
samples.  The file is read once before the timings (page cache, JIT).

Run::

    pytest benchmarks/test_bench_stream.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test: ``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_stream.py --benchmark-disable``.
"""
import types

import numpy as np
import pytest
import soundfile

from workloads import label
from fastslice import Slicer
from fastslice.cutting.ranges import iter_clip_ranges

PARAMS = dict(threshold=-40, min_length=5000, min_interval=300, hop_size=20, max_sil_kept=5000)
SECONDS = 600
ROUNDS = 5
GROUP = f"streaming {label(SECONDS)} stereo 44.1kHz by block size"


@pytest.fixture(scope="module")
def wav(speech_wav):
    """The file, its decoded samples ``x`` ((2, n), F-ordered) and ``x``'s in-memory ranges."""
    path = speech_wav(SECONDS)
    x, sr = soundfile.read(path, dtype="float32", always_2d=True)
    x = x.T
    list(iter_clip_ranges(path, **PARAMS))  # page cache and JIT, untimed
    return types.SimpleNamespace(path=path, x=x, sr=sr, ranges=Slicer(sr, **PARAMS).slice_ranges(x))


def record(benchmark, wav, **facts):
    benchmark.extra_info.update(audio_seconds=wav.x.shape[1] / wav.sr, **facts)
    if benchmark.stats:  # None under --benchmark-disable
        median = benchmark.stats.stats.median
        benchmark.extra_info.update(x_realtime=wav.x.shape[1] / wav.sr / median, mb_per_s=wav.x.nbytes / median / 1e6)


@pytest.mark.parametrize("block_frames", [256, 4096, 65536, 1048576])
def test_stream(benchmark, wav, block_frames):
    benchmark.group = GROUP  # before the run: pytest-benchmark reads it when the timings start

    def run():
        return list(iter_clip_ranges(wav.path, block_frames=block_frames, **PARAMS))

    ranges = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    record(benchmark, wav, block_frames=block_frames)
    assert np.array_equal(np.array(ranges, dtype=np.int64).reshape(-1, 2), wav.ranges)


def test_in_memory(benchmark, wav):
    benchmark.group = GROUP
    slicer = Slicer(wav.sr, **PARAMS)
    ranges = benchmark.pedantic(slicer.slice_ranges, args=(wav.x,), rounds=ROUNDS, iterations=1)
    record(benchmark, wav, block_frames=None)
    assert np.array_equal(ranges, wav.ranges)
