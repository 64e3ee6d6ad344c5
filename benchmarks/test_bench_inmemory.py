"""In-memory slicing speed: fastslice vs audio-slicer 1.0.1's slicer2 vs the memory floor.

The workload is one hour (by default) of synthetic speech-like stereo audio at
44.1 kHz, float32, channels-first, already in memory (see ``conftest.py``).
Each group holds, from the same run:

* ``test_fastslice[...-F-order]`` - ``fastslice.Slicer.slice`` on the Fortran-ordered
  array, the layout ``librosa.load(mono=False)`` returns (the primary case);
* ``test_fastslice[...-C-order]`` - the same on a C-ordered copy;
* ``test_reference`` - upstream ``Slicer.slice``; afterwards it asserts that fastslice
  returns exactly the same chunks (count, shapes, values);
* ``test_memory_floor`` - one ``np.dot(mono, mono)`` over the channel mix, a lower
  bound for anything that has to read the audio.

Run::

    pytest benchmarks/ -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test (each function runs once, untimed)::

    FASTSLICE_BENCH_SECONDS=120 pytest benchmarks/ --benchmark-disable

``FASTSLICE_BENCH_SECONDS`` (default 3600) sets the workload length in seconds.
The reference needs ~6 s and over 5 GB of memory per call on the full hour.
"""
import numpy as np
import pytest

from fastslice import Slicer

SR = 44100  # the workload's sample rate (conftest.SR)

PARAMS = {
    "default": dict(threshold=-40, min_length=5000, min_interval=300, hop_size=20, max_sil_kept=5000),
    "so-vits-svc": dict(threshold=-30, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500),
}
GROUP_SUFFIX = {"default": "", "so-vits-svc": ", so-vits-svc -30/4000/500/5/500"}
FAST_ROUNDS = 5
REFERENCE_ROUNDS = 2
WARMUP_SECONDS = 30

params = pytest.mark.parametrize("preset", list(PARAMS))


def group(preset, n_samples):
    seconds = n_samples / SR
    length = "1h" if seconds == 3600 else f"{seconds:g}s"
    return f"in-memory {length} stereo 44.1k" + GROUP_SUFFIX[preset]


def record(benchmark, n_samples, **facts):
    """Store the workload facts, and the throughput once there are timings."""
    benchmark.extra_info.update(audio_seconds=n_samples / SR, samples_per_channel=n_samples, **facts)
    if benchmark.stats:  # None under --benchmark-disable
        median = benchmark.stats.stats.median
        benchmark.extra_info.update(samples_per_second=n_samples / median, x_realtime=n_samples / SR / median)


@params
@pytest.mark.parametrize("order", ["F-order", "C-order"])
def test_fastslice(benchmark, preset, order, audio_f, audio_c):
    wave = audio_f if order == "F-order" else audio_c
    benchmark.group = group(preset, wave.shape[1])
    slicer = Slicer(SR, **PARAMS[preset])
    slicer.slice(np.array(wave[:, : WARMUP_SECONDS * SR]))  # compile for this layout, outside the timing
    chunks = benchmark.pedantic(slicer.slice, args=(wave,), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, wave.shape[1], n_chunks=len(chunks))


@params
def test_reference(benchmark, preset, audio_f, upstream):
    benchmark.group = group(preset, audio_f.shape[1])
    reference = upstream.Slicer(SR, **PARAMS[preset])
    expected = benchmark.pedantic(reference.slice, args=(audio_f,), rounds=REFERENCE_ROUNDS, iterations=1)
    record(benchmark, audio_f.shape[1], n_chunks=len(expected))

    # A fast wrong answer must not look good: fastslice must return the very same chunks.
    chunks = Slicer(SR, **PARAMS[preset]).slice(audio_f)
    assert len(expected) > 1
    assert len(chunks) == len(expected)
    for k, (got, want) in enumerate(zip(chunks, expected)):
        assert got.shape == want.shape, f"chunk {k}: shape {got.shape} != {want.shape}"
        assert np.array_equal(got, want), f"chunk {k} differs"


@params
def test_memory_floor(benchmark, preset, mono):
    benchmark.group = group(preset, mono.shape[0])
    benchmark.pedantic(np.dot, args=(mono, mono), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, mono.shape[0], bytes_read=mono.nbytes)
