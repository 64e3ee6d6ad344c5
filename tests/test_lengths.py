"""max_length and merge_short: every clip within the maximum, nothing lost, cuts at the quietest frame."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import assert_same_chunks
from test_stream import stream_ranges

import signals
from fastslice import ParameterError, Slicer
from fastslice.cutting.lengths import merge_ranges, split_range

SR = 16000
SEED_FLOW = dict(threshold=-30, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500)


def long_recording(seed, minutes=4, channels=2):
    """Speech-like audio with some long unbroken stretches (no pause for 20-40 s)."""
    x = signals.speech_like(seed, minutes * 60, SR, channels=channels)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        start = int(rng.uniform(0, x.shape[1] - 40 * SR))
        length = int(rng.uniform(20, 40) * SR)
        x[:, start : start + length] += (rng.standard_normal((channels, length)) * 0.1).astype(np.float32)
    return x


def check_split(base, pieces, rms, hop, limit):
    """Pieces tile each base clip; each is within the limit; each cut is the envelope's minimum in its range."""
    assert pieces[0][0] == base[0][0] and pieces[-1][1] == base[-1][1]
    k = 0
    for start, end in base:
        cuts = []
        while pieces[k][1] != end:
            assert pieces[k + 1][0] == pieces[k][1]  # no gap, no overlap
            cuts.append(pieces[k][1])
            k += 1
        assert pieces[k][1] == end
        k += 1
        n = -(-(end - start) // limit)
        assert len(cuts) == max(0, n - 1)  # the fewest pieces possible
        left = start
        for remaining, cut in zip(range(n, 1, -1), cuts):
            lo, hi = end - (remaining - 1) * limit, left + limit
            assert lo <= cut <= hi
            frames = np.arange(-(-lo // hop), hi // hop + 1)
            if len(frames):
                assert cut % hop == 0 and rms[cut // hop] == np.nanmin(rms[frames])
                assert np.nanargmin(rms[frames]) == cut // hop - frames[0]  # the earliest minimum
            left = cut
    for start, end in pieces:
        assert 0 < end - start <= limit


@pytest.mark.parametrize("max_length", [4000, 8000, 15000])
def test_every_clip_within_the_maximum_and_cut_at_the_quietest_frame(max_length):
    x = long_recording(1)
    plain = Slicer(SR, **SEED_FLOW)
    limited = Slicer(SR, **SEED_FLOW, max_length=max_length)
    base = [tuple(r) for r in plain.slice_ranges(x).tolist()]
    pieces = [tuple(r) for r in limited.slice_ranges(x).tolist()]
    limit = limited.max_length_samples
    assert any(e - s > limit for s, e in base), "the workload must need forced cuts"
    check_split(base, pieces, plain.frame_rms(x), plain.hop_samples, limit)
    # the lengths add up to what the slicer keeps without max_length
    assert sum(e - s for s, e in pieces) == sum(e - s for s, e in base)
    chunks = limited.slice(x)
    assert [c.shape[1] for c in chunks] == [e - s for s, e in pieces]
    assert np.array_equal(np.concatenate(chunks, axis=1), np.concatenate(plain.slice(x), axis=1))


def test_without_max_length_nothing_changes(upstream):
    x = long_recording(2)
    assert_same_chunks(upstream.Slicer(SR, *SEED_FLOW.values()).slice(x), Slicer(SR, **SEED_FLOW).slice(x))


def test_an_input_too_short_to_slice_is_still_cut_to_the_maximum():
    x = np.full((2, 9 * SR), 0.3, np.float32)
    s = Slicer(SR, threshold=-30, min_length=10000, min_interval=500, hop_size=10, max_sil_kept=500, max_length=10000)
    assert s.slice(x)[0] is x  # 9 s: short, and within the maximum
    x = np.full((2, 12 * SR), 0.3, np.float32)
    s = Slicer(SR, threshold=-30, min_length=12000, min_interval=500, hop_size=10, max_sil_kept=500, max_length=12000)
    s2 = Slicer(SR, threshold=-30, min_length=12000, min_interval=500, hop_size=10, max_sil_kept=500, max_length=12000)
    assert s.slice_ranges(x).tolist() == s2.slice_ranges(x).tolist() == [[0, 12 * SR]]


def test_merge_short_packs_clips_up_to_the_maximum_with_the_right_accounting():
    ranges = [(0, 10), (12, 20), (25, 31), (40, 90), (95, 99), (100, 104), (110, 111)]
    assert merge_ranges(ranges, 30) == [(0, 20), (25, 31), (40, 90), (95, 111)]
    # the counter restarts at the new clip's own length, not at 0 (fish-audio-preprocess's slip)
    assert merge_ranges([(0, 25), (30, 50), (50, 56)], 26) == [(0, 25), (30, 56)]
    assert merge_ranges([(0, 25), (30, 50), (50, 57)], 26) == [(0, 25), (30, 50), (50, 57)]


def test_merge_short_then_split_keeps_every_sample_once():
    x = long_recording(3)
    plain = Slicer(SR, **SEED_FLOW)
    merged = Slicer(SR, **SEED_FLOW, max_length=12000, merge_short=True)
    base = [tuple(r) for r in plain.slice_ranges(x).tolist()]
    packed = merge_ranges(base, merged.max_length_samples)
    pieces = [tuple(r) for r in merged.slice_ranges(x).tolist()]
    assert len(packed) < len(base)
    check_split(packed, pieces, plain.frame_rms(x), plain.hop_samples, merged.max_length_samples)


def test_split_range_edges():
    rms = np.array([5, 4, 3, 3, 9, 1, np.nan, 0.5, 7, 7], np.float32)
    # range [10, 40] at hop 10: frames 1..4 -> earliest minimum is frame 2
    assert split_range(0, 50, rms, 0, 10, 40) == [(0, 20), (20, 50)]
    # NaN frames are never chosen
    assert split_range(50, 95, rms, 0, 10, 40) == [(50, 70), (70, 95)]
    # a range without a frame boundary is cut at its end
    assert split_range(3, 12, rms, 0, 10, 5) == [(3, 8), (8, 12)]


def test_parameter_rules():
    with pytest.raises(ParameterError, match="max_length=3000 must be >= min_length=4000"):
        Slicer(SR, **SEED_FLOW, max_length=3000)
    with pytest.raises(ParameterError, match="give max_length"):
        Slicer(SR, **SEED_FLOW, merge_short=True)
    with pytest.raises(ParameterError, match="max_length=nan must be a finite number"):
        Slicer(SR, **SEED_FLOW, max_length=float("nan"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    seconds=st.floats(0.0, 40.0),
    channels=st.sampled_from([1, 2]),
    max_factor=st.floats(1.0, 4.0),
    merge=st.booleans(),
    blocks=st.lists(st.integers(1, 70000), min_size=1, max_size=3),
    known_length=st.booleans(),
)
def test_streaming_with_a_maximum_equals_in_memory(seed, seconds, channels, max_factor, merge, blocks, known_length):
    min_length = 1500
    s = Slicer(8000, -35, min_length, 300, 10, 400, max_length=min_length * max_factor, merge_short=merge)
    x = signals.speech_like(seed, seconds, 8000, channels=channels)
    if x.shape[-1] < 2 * 8000 and seed % 2:
        blocks = [1] + blocks
    expected = s.slice_ranges(np.asfortranarray(x)).tolist()
    assert [list(r) for r in stream_ranges(s, x, blocks, known_length)] == expected
