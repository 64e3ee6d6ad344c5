"""In-memory slicing speed: fastslice vs audio-slicer 1.0.1's slicer2 vs librosa vs the memory floor.

Workloads: the seeded speech-like audio of ``conftest.py``, float32, already in
memory - 1 min, 10 min and 1 h at 44.1 kHz, each mono (a 1-D array) and stereo
(the channels-first Fortran-ordered array ``librosa.load(mono=False)`` returns),
plus 10 min stereo at 16 kHz and at 48 kHz.  All slicers use the class-default
parameters (-40 dB, 5000/300/20/5000 ms).  One group per workload, e.g.
``in-memory 1h stereo 44.1kHz``, holds from the same run:

* ``test_fastslice`` - ``fastslice.Slicer.slice`` with its default threads (one per CPU;
  numba compiled for the layout on a short copy first, outside the timing);
* ``test_fastslice_one_thread`` - the same with ``threads=1``;
* ``test_reference`` - upstream ``Slicer.slice``; afterwards it asserts that
  fastslice returns exactly the same chunks (count, shapes, values);
* ``test_librosa`` - ``librosa.effects.split(x, top_db=40)`` with the slicer's
  frame and hop lengths, the usual peer.  It answers a different question -
  intervals of non-silence relative to the loudest frame, no minimum clip length,
  no silence kept - so its output is not compared.  On stereo, librosa 0.11 does
  not mix to mono: it takes each channel's RMS and keeps the louder (its
  ``aggregate=np.max``), so it frames twice the samples - and on this
  F-ordered array it is ~8x slower than on a C-ordered copy.  The workloads'
  quietest frames are ~30 dB below their loudest, so it finds one interval;
* ``test_memory_floor`` - one ``np.dot(mono, mono)`` over the mono buffer (the
  channel mix, made outside the timing), a lower bound for anything that reads
  the audio once;
* ``test_input_floor`` - one ``np.dot`` over the whole input as it lies in memory
  (the interleaved buffer of the stereo workloads): one pass that reads every byte
  fastslice must read.

Group ``in-memory 1h stereo 44.1kHz guide``: fastslice (default threads and one thread)
and the reference with the so-vits-svc guide's parameters (-30 dB, 4000/500/5/500 ms) on
the 1 h stereo workload, the same chunks asserted.

fastslice and the floor run 5 rounds; the reference and librosa 5, 3 and 2 rounds
on 1 min, 10 min and 1 h.

Run::

    pytest benchmarks/test_bench_inmemory.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test (each function runs once, untimed; workloads that the cap makes
equal are run once)::

    FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_inmemory.py --benchmark-disable

The reference needs ~6 s and over 5 GB of memory per call on 1 h of stereo.
"""
import numpy as np
import pytest

from workloads import capped, label
from fastslice import Slicer

PARAMS = dict(threshold=-40, min_length=5000, min_interval=300, hop_size=20, max_sil_kept=5000)
FAST_ROUNDS = 5
WARMUP_SECONDS = 30

# (seconds, channels, sample rate); workloads the FASTSLICE_BENCH_SECONDS cap makes equal are run once.
WORKLOADS = [(s, ch, 44100) for s in (60, 600, 3600) for ch in (1, 2)] + [(600, 2, 16000), (600, 2, 48000)]
WORKLOADS = list(dict.fromkeys((capped(s), ch, sr) for s, ch, sr in WORKLOADS))


def slow_rounds(workload):
    """Rounds for the reference and librosa: seconds per call, and gigabytes, on the long workloads."""
    return 5 if workload[0] <= 60 else 3 if workload[0] <= 600 else 2


def name(workload):
    seconds, channels, sr = workload
    return f"{label(seconds)} {'mono' if channels == 1 else 'stereo'} {sr / 1000:g}kHz"


workloads = pytest.mark.parametrize("workload", WORKLOADS, ids=[name(w).replace(" ", "-") for w in WORKLOADS])


@pytest.fixture
def audio(workload, speech):
    """The workload's waveform as the slicers get it: 1-D for mono, (2, n) F-ordered for stereo."""
    seconds, channels, sr = workload
    x = speech(seconds, channels, sr)
    return x[0] if channels == 1 else x


def start(benchmark, workload):
    benchmark.group = f"in-memory {name(workload)}"
    return Slicer(workload[2], **PARAMS)


def record(benchmark, workload, **facts):
    """Store the workload facts, and the speed once there are timings."""
    seconds, channels, sr = workload
    benchmark.extra_info.update(audio_seconds=seconds, channels=channels, sample_rate=sr, **facts)
    if benchmark.stats:  # None under --benchmark-disable
        benchmark.extra_info["x_realtime"] = seconds / benchmark.stats.stats.median


@workloads
def test_fastslice(benchmark, workload, audio):
    slicer = start(benchmark, workload)
    slicer.slice(np.array(audio[..., : WARMUP_SECONDS * workload[2]]))  # compile for this layout, untimed
    chunks = benchmark.pedantic(slicer.slice, args=(audio,), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, workload, n_chunks=len(chunks))


@workloads
def test_fastslice_one_thread(benchmark, workload, audio):
    start(benchmark, workload)
    slicer = Slicer(workload[2], **PARAMS, threads=1)
    slicer.slice(np.array(audio[..., : WARMUP_SECONDS * workload[2]]))
    chunks = benchmark.pedantic(slicer.slice, args=(audio,), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, workload, n_chunks=len(chunks), threads=1)


@workloads
def test_reference(benchmark, workload, audio, upstream):
    slicer = start(benchmark, workload)
    reference = upstream.Slicer(workload[2], **PARAMS)
    expected = benchmark.pedantic(reference.slice, args=(audio,), rounds=slow_rounds(workload), iterations=1)
    record(benchmark, workload, n_chunks=len(expected))

    # A fast wrong answer must not look good: fastslice must return the very same chunks.
    chunks = slicer.slice(audio)
    assert len(expected) > 1
    assert len(chunks) == len(expected)
    for k, (got, want) in enumerate(zip(chunks, expected)):
        assert got.shape == want.shape, f"chunk {k}: shape {got.shape} != {want.shape}"
        assert np.array_equal(got, want), f"chunk {k} differs"


@workloads
def test_librosa(benchmark, workload, audio):
    import librosa  # slow to import, and only needed here

    slicer = start(benchmark, workload)
    options = dict(top_db=40, frame_length=slicer.win_samples, hop_length=slicer.hop_samples)
    librosa.effects.split(np.array(audio[..., : workload[2]]), **options)  # its lazy imports, untimed
    intervals = benchmark.pedantic(librosa.effects.split, args=(audio,), kwargs=options,
                                   rounds=slow_rounds(workload), iterations=1)
    record(benchmark, workload, n_chunks=len(intervals))


@workloads
def test_memory_floor(benchmark, workload, audio):
    start(benchmark, workload)
    # The channel mix from a C-ordered copy: the same values, and far faster than the F-ordered mean.
    mono = audio if audio.ndim == 1 else np.ascontiguousarray(audio).mean(axis=0)
    benchmark.pedantic(np.dot, args=(mono, mono), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, workload, bytes_read=mono.nbytes)


@workloads
def test_input_floor(benchmark, workload, audio):
    start(benchmark, workload)
    flat = audio.reshape(-1, order="A")  # the input's own memory, no copy (F order: interleaved)
    assert np.shares_memory(flat, audio)
    benchmark.pedantic(np.dot, args=(flat, flat), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, workload, bytes_read=flat.nbytes)


GUIDE = dict(threshold=-30, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500)
HOUR = (capped(3600), 2, 44100)


@pytest.mark.parametrize("threads", [None, 1], ids=["default-threads", "one-thread"])
def test_fastslice_guide(benchmark, speech, threads):
    benchmark.group = f"in-memory {name(HOUR)} guide"
    audio = speech(*HOUR)
    slicer = Slicer(HOUR[2], **GUIDE, threads=threads)
    slicer.slice(np.array(audio[..., : WARMUP_SECONDS * HOUR[2]]))
    chunks = benchmark.pedantic(slicer.slice, args=(audio,), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, HOUR, n_chunks=len(chunks), threads=threads)


def test_reference_guide(benchmark, speech, upstream):
    benchmark.group = f"in-memory {name(HOUR)} guide"
    audio = speech(*HOUR)
    expected = benchmark.pedantic(upstream.Slicer(HOUR[2], **GUIDE).slice, args=(audio,), rounds=slow_rounds(HOUR), iterations=1)
    record(benchmark, HOUR, n_chunks=len(expected))
    chunks = Slicer(HOUR[2], **GUIDE).slice(audio)
    assert len(expected) > 1 and len(chunks) == len(expected)
    for got, want in zip(chunks, expected):
        assert np.array_equal(got, want)
