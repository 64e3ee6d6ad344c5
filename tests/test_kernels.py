"""Kernels against the naive implementations of tests/naive.py (and NumPy itself)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
import signals
from fastslice import Slicer, _kernels
from fastslice.cutting.slicer import pairwise_plan

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 15, 16, 63, 127, 128, 129, 130, 255, 256, 257, 1000, 3528, 9001])
def test_pairwise_sums_match_naive_and_numpy(dtype, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n + 11) * rng.uniform(1e-4, 10)).astype(dtype)
    plan = pairwise_plan(n)
    stack = np.empty(len(plan), dtype)
    for start in (0, 3, 11):
        values = x[start : start + n]
        expected = naive.pairwise_sum(values * values)
        assert _kernels.pairwise_sum_of_squares(x, start, plan, stack) == expected
        if n <= 8192 or np.lib.NumpyVersion(np.__version__) >= "2.3.0":
            assert expected == np.add.reduce(values * values)
        else:  # NumPy 2.2 and older reduce a contiguous array in buffered blocks of 8192, pairwise in each
            assert (naive.pairwise_sum(values[:8192] ** 2) + naive.pairwise_sum(values[8192:] ** 2)
                    == np.add.reduce(values * values))


def test_pairwise_plan_halves_like_numpy():
    assert pairwise_plan(128).tolist() == [[0, 128]]
    assert pairwise_plan(129).tolist() == [[0, 64], [64, 65], [0, 0]]
    plan = pairwise_plan(3528)
    leaves = plan[plan[:, 1] > 0]
    assert leaves[:, 1].sum() == 3528 and (leaves[:, 1] <= 128).all()
    assert np.array_equal(leaves[1:, 0], np.cumsum(leaves[:-1, 1]))  # contiguous, in order


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("win, hop", [(4, 1), (7, 3), (40, 10), (64, 16), (300, 100), (441, 110), (3528, 882)])
def test_frame_rms_matches_naive_and_upstream(upstream, dtype, win, hop):
    rng = np.random.default_rng(win)
    for n in (1, win // 2, win - 1, win, win + 1, 5 * hop + 3, 4000):
        mono = (rng.standard_normal(n) * 0.1).astype(dtype)
        out = np.empty((n + 2 * (win // 2) - win) // hop + 1, dtype)
        plan = pairwise_plan(win)
        _kernels.frame_rms(mono, 0, n, hop, 0, dtype(win), plan, np.empty((_kernels.FRAMES_AT_ONCE, len(plan)), dtype), np.empty(win, dtype), out)
        assert np.array_equal(out, naive.frame_rms(mono, win, hop))
        assert np.array_equal(out, upstream.get_rms(mono, frame_length=win, hop_length=hop).squeeze(0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 2, 3, 6, 8, 9, 17])
def test_channel_mixes_match_naive_and_numpy(dtype, channels):
    # The kernel adds channels in turn, as NumPy does for C order (and for F order below 8
    # channels); F order from 8 channels on is left to NumPy (tests/test_parity.py).
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((channels, 301)).astype(dtype)
    expected = naive.mix(x, pairwise=False)[7:297]
    out = np.empty(290, dtype)
    rows = {"C order": (x.reshape(-1), 301), "rows of a wider buffer": (np.pad(x, ((0, 0), (0, 5))).reshape(-1), 306)}
    for name, (flat, channel_stride) in rows.items():
        out[:] = np.nan
        _kernels.mix_rows(flat, channels, channel_stride, 7, dtype(channels), out)
        assert np.array_equal(out, expected), name
    interleaved = {
        "F order": (np.ascontiguousarray(x.T).reshape(-1), channels),
        "among other channels": (np.ascontiguousarray(np.vstack([x, x[:1]]).T).reshape(-1), channels + 1),
    }
    for name, (flat, sample_stride) in interleaved.items():
        out[:] = np.nan
        _kernels.mix_interleaved(flat, channels, sample_stride, 7, dtype(channels), out)
        assert np.array_equal(out, expected), name
    assert np.array_equal(out, x.mean(axis=0)[7:297])
    if channels < 8:
        assert np.array_equal(out, np.asfortranarray(x).mean(axis=0)[7:297])
    else:
        assert np.array_equal(np.asfortranarray(x).mean(axis=0), naive.mix(x, pairwise=True))


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("channels", [1, 2, 3, 7])
def test_decode_and_mix_is_libsndfiles_float32_decode_mixed(tmp_path, subtype, channels):
    import soundfile
    from fastslice.reading import readers

    rng = np.random.default_rng(channels)
    x = rng.uniform(-1.2, 1.2, (3001, channels))  # beyond full scale: clipped by the PCM writer
    x[5] = 1.0
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype=subtype)
    with readers.open_source(path) as source:
        native = source.read(4000).copy()
        float_data = source.float_data
    as_float32 = soundfile.read(path, dtype="float32", always_2d=True)[0]  # libsndfile's own float32 decode
    full_scale = np.float32(1.0 if float_data else 32767 / 32768)
    largest = np.finfo(np.float32).max
    if float_data:
        native[17, channels - 1] = np.nan
        native[99, 0] = -np.inf
        as_float32 = readers.as_float32(native).copy()
    out = np.full(native.shape[0] - 3, np.nan, np.float32)
    sums = np.zeros(0 if float_data else channels, np.int64)
    at_full_scale, not_finite = _kernels.decode_and_mix(
        native[3:].reshape(-1), channels, readers.float32_scale(native.dtype), np.float32(channels), full_scale,
        largest, out, sums)
    expected = naive.mix(np.ascontiguousarray(as_float32[3:].T), pairwise=False)
    assert np.array_equal(out, expected, equal_nan=True)
    assert at_full_scale == np.count_nonzero(np.abs(as_float32[3:]) >= full_scale) > 0
    assert not_finite == (2 if float_data else 0)
    if not float_data:
        assert np.array_equal(sums, native[3:].astype(np.int64).sum(axis=0))


def _tags_in_blocks(rms, ring_size, block, threshold, min_interval, min_length, max_sil_kept):
    """Feed frames through a ring of ring_size, block frames at a time, as a stream would."""
    ring = np.full(ring_size, np.nan, rms.dtype)
    state = np.array([-1, 0, -1], np.int64)
    tags = np.empty((len(rms) + 1, 2), np.int64)
    count = 0
    for first in range(0, len(rms), block):
        stop = min(len(rms), first + block)
        for j in range(first, stop):
            ring[j % ring_size] = rms[j]
        count += _kernels.tag_silences(ring, first, stop, threshold, min_interval, min_length, max_sil_kept, state, tags[count:])
    count += _kernels.trailing_tag(len(rms), min_interval, state, tags[count])
    return [tuple(t) for t in tags[:count].tolist()]


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 600),
    min_interval=st.integers(0, 40),
    extra_length=st.integers(0, 80),
    max_sil_kept=st.integers(0, 60),
    block=st.integers(1, 700),
    ties=st.booleans(),
)
def test_silence_tags_match_naive_whole_and_in_blocks(seed, n, min_interval, extra_length, max_sil_kept, block, ties):
    rng = np.random.default_rng(seed)
    levels = rng.choice([0.0, 0.005, 0.01, 0.5], size=n) if ties else rng.uniform(0, 0.05, size=n) ** 2
    rms = levels.astype(np.float32)
    if n > 5 and rng.uniform() < 0.2:
        rms[rng.integers(0, n)] = np.nan
    threshold = np.float32(0.011)
    min_length = min_interval + extra_length
    expected = naive.silence_tags(rms, threshold, min_interval, min_length, max_sil_kept)
    args = (threshold, min_interval, min_length, max_sil_kept)
    assert _tags_in_blocks(rms, n, n, *args) == expected
    assert _tags_in_blocks(rms, 2 * max_sil_kept + block, block, *args) == expected
    assert _tags_in_blocks(rms, 2 * max_sil_kept + 1, 1, *args) == expected  # the smallest ring


def test_calls_after_the_first_compile_nothing_new():
    # Other tests in this process may have compiled other specializations (a float64
    # threshold, other layouts); tests/test_jit.py pins the exact counts in a fresh process.
    def kernels():
        return {name: len(k.signatures) for name, k in vars(_kernels).items() if hasattr(k, "signatures")}

    s = Slicer(16000, -40, 1000, 200, 10, 300)
    for dtype in DTYPES:
        s.slice(signals.speech_like(seed=1, seconds=3, sr=16000, channels=1, dtype=dtype)[0])
    before = kernels()
    for seed in (2, 3):
        for dtype in DTYPES:
            s.slice(signals.speech_like(seed=seed, seconds=3 + seed, sr=16000, channels=1, dtype=dtype)[0])
    assert kernels() == before
    assert before["frame_rms"] >= 2 and before["tag_silences"] >= 2
