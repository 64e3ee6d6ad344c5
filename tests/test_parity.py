"""fastslice.Slicer against the real upstream code (audio-slicer==1.0.1): zero mismatches."""
import numpy as np
import pytest
from oracle import assert_same_chunks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signals
from fastslice import Slicer

# (threshold dB, min_length ms, min_interval ms, hop_size ms, max_sil_kept ms)
PARAMETER_SETS = {
    "seed-so-vits-svc": (-30, 4000, 500, 5, 500),
    "rvc": (-42, 1500, 400, 15, 500),
    "gpt-sovits": (-34, 4000, 300, 10, 500),
    "class-defaults": (-40, 5000, 300, 20, 5000),
    "cli-defaults": (-40, 5000, 300, 10, 500),
    "short-everything": (-45, 300, 100, 10, 100),
}


def both(upstream, sr, params, waveform, **kwargs):
    reference = upstream.Slicer(sr, *params).slice(waveform)
    fast = Slicer(sr, *params, **kwargs)
    return reference, fast.slice(waveform), fast


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
@pytest.mark.parametrize("sr", [44100, 16000, 48000])
def test_speech_like_stereo_matches_reference(upstream, name, sr):
    params = PARAMETER_SETS[name]
    x = signals.speech_like(seed=sr + len(name), seconds=75, sr=sr)
    reference, got, _ = both(upstream, sr, params, x)
    assert len(reference) > 3, "the workload should actually be cut"
    assert_same_chunks(reference, got)


def _record_field(x):
    """x as a field of 9-byte records: (channels, samples) with strides (9, 9 * channels)."""
    records = np.zeros(x.shape[::-1], dtype=np.dtype({"names": ["sample"], "formats": ["<f4"], "itemsize": 9}))
    records["sample"] = x.T
    field = records["sample"].T
    assert field.strides == (9, 9 * x.shape[0])
    return field


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_layouts_and_dtypes_match_reference(upstream, name):
    sr = 44100
    params = PARAMETER_SETS[name]
    x = signals.with_digital_silence(signals.speech_like(seed=7, seconds=40, sr=sr), seed=8, sr=sr)
    readonly = x.copy()
    readonly.flags.writeable = False
    cases = {
        "C": x,
        "F (librosa's transposed view)": np.asfortranarray(x),
        "transposed (N, C) buffer": np.ascontiguousarray(x.T).T,
        "strided": np.repeat(x, 2, axis=1)[:, ::2],
        "reversed channels": x[::-1],
        "rows of a wider buffer": np.pad(x, ((0, 0), (700, 300)))[:, 700:-300],
        "interleaved among other channels": np.ascontiguousarray(np.vstack([x, x[:1] * 0.5]).T).T[:2],
        "record field (strides not a multiple of 4 bytes)": _record_field(x),
        "read-only": readonly,
        "mono": x[0],
        "mono strided": np.repeat(x[0], 3)[::3],
        "float64": x.astype(np.float64),
        "float64 F": np.asfortranarray(x.astype(np.float64)),
    }
    for case, waveform in cases.items():
        reference, got, _ = both(upstream, sr, params, waveform)
        assert len(reference) > 1, case
        assert_same_chunks(reference, got)


@pytest.mark.parametrize("channels", [1, 3, 6, 8, 9, 16])
@pytest.mark.parametrize("order", ["C", "F"])
def test_many_channels_match_reference(upstream, channels, order):
    # From 8 channels on, NumPy mixes F-ordered input pairwise and C-ordered input in turn.
    sr = 22050
    x = signals.speech_like(seed=channels, seconds=40, sr=sr, channels=channels)
    x = np.asarray(x, order=order)
    reference, got, _ = both(upstream, sr, PARAMETER_SETS["gpt-sovits"], x)
    assert_same_chunks(reference, got)


@pytest.mark.parametrize("threshold", [-44.0, -40.0, -37.5])
def test_noise_floor_near_threshold_matches_reference(upstream, threshold):
    sr = 16000
    x = signals.near_threshold(seed=int(-threshold * 10), seconds=120, sr=sr, threshold_db=threshold)
    params = (threshold, 1000, 100, 10, 200)
    for waveform in (x[0], x):
        reference, got, _ = both(upstream, sr, params, waveform)
        assert len(reference) > 5
        assert_same_chunks(reference, got)


def test_threshold_is_compared_in_float32_like_numpy(upstream):
    # Frames whose float32 RMS r sits just below a float64 threshold that rounds to r in float32:
    # NumPy 2 compares a float32 with a Python float in float32 (r < r: not silent); a float64
    # comparison would call them silent.
    sr = 8000
    x = np.full(sr * 20, 0.03, dtype=np.float32)
    x[sr * 5 : sr * 6] = 0
    x[sr * 12 : sr * 13] = 0
    r = Slicer(sr, -30, 2000, 300, 10, 500).frame_rms(x)[100]
    threshold_db = float(20 * np.log10(float(r) + float(np.spacing(r)) / 4))
    amplitude = 10 ** (threshold_db / 20)
    assert float(r) < amplitude and np.float32(amplitude) == r
    params = (threshold_db, 2000, 300, 10, 500)
    reference, got, fast = both(upstream, sr, params, x)
    assert_same_chunks(reference, got)
    assert len(got) == 3  # cut at the two zero gaps only
    # A NumPy float64 threshold makes NumPy compare in float64: every frame is silent, and the
    # reference returns no chunk at all.
    params = (np.float64(threshold_db), 2000, 300, 10, 500)
    reference, got, fast = both(upstream, sr, params, x)
    assert_same_chunks(reference, got)
    assert got == []


@pytest.mark.parametrize("extra", range(-3, 4))
@pytest.mark.parametrize("hop_ms", [10, 20])
def test_lengths_around_window_and_hop_edges(upstream, extra, hop_ms):
    sr = 8000
    params = (-40, 300, 100, hop_ms, 100)
    fast = Slicer(sr, *params)
    base = signals.speech_like(seed=extra + 10, seconds=8, sr=sr, channels=1)[0]
    for n in (
        fast.win_samples,
        fast.hop_samples * (fast.min_length_frames + 1),
        fast.hop_samples * 37,
        len(base) - fast.win_samples // 2,
    ):
        waveform = base[: max(0, n + extra)]
        reference = upstream.Slicer(sr, *params).slice(waveform)
        assert_same_chunks(reference, fast.slice(waveform))


@pytest.mark.parametrize("name", ["seed-so-vits-svc", "rvc", "gpt-sovits"])
def test_legacy_short_check_matches_older_copies(legacy, upstream, name):
    sr = 16000
    params = PARAMETER_SETS[name]
    fast = Slicer(sr, *params, legacy_short_check=True)
    for seconds in (1.0, fast.min_length / 1000 * 0.9, 30):
        x = signals.with_digital_silence(signals.speech_like(seed=3, seconds=seconds, sr=sr), seed=4, sr=sr)
        assert_same_chunks(legacy.Slicer(sr, *params).slice(x), fast.slice(x))


def test_legacy_and_upstream_checks_differ_where_they_should(legacy, upstream):
    # A clip a little longer than min_length frames in samples but not in frames.
    sr = 16000
    params = (-40, 1000, 300, 10, 500)
    fast = Slicer(sr, *params)
    n = fast.min_length_frames * fast.hop_samples - 5
    x = np.zeros(n, np.float32)
    x[n * 7 // 10 :] = 0.5  # leading silence longer than max_sil_kept
    new = Slicer(sr, *params).slice(x)
    old = Slicer(sr, *params, legacy_short_check=True).slice(x)
    assert_same_chunks(upstream.Slicer(sr, *params).slice(x), new)
    assert_same_chunks(legacy.Slicer(sr, *params).slice(x), old)
    assert new[0] is x  # too short: returned whole
    assert len(old) == 1 and old[0].shape[0] < n  # the legacy check lets it be cut


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    sr=st.sampled_from([8000, 11025, 16000, 22050]),
    seconds=st.floats(0.0, 12.0),
    channels=st.sampled_from([0, 1, 2, 3, 8]),
    order=st.sampled_from("CF"),
    dtype=st.sampled_from([np.float32, np.float64]),
    threshold=st.floats(-60, -10),
    hop_size=st.integers(1, 30),
    interval_factor=st.floats(1.0, 20.0),
    length_factor=st.floats(1.0, 10.0),
    kept_factor=st.floats(1.0, 60.0),
    zeros=st.booleans(),
)
def test_random_signals_and_parameters_match_reference(
    upstream, seed, sr, seconds, channels, order, dtype, threshold, hop_size,
    interval_factor, length_factor, kept_factor, zeros,
):
    min_interval = hop_size * interval_factor
    min_length = min_interval * length_factor
    max_sil_kept = hop_size * kept_factor
    params = (threshold, min_length, min_interval, hop_size, max_sil_kept)
    x = signals.speech_like(seed, seconds, sr, channels=max(channels, 1), dtype=dtype)
    if zeros:
        x = signals.with_digital_silence(x, seed, sr) if x.shape[-1] > 2 * sr else np.zeros_like(x)
    x = x[0] if channels == 0 else np.asarray(x, order=order)
    reference, got, fast = both(upstream, sr, params, x)
    assert_same_chunks(reference, got)
    ranges = fast.slice_ranges(x)
    assert [g.shape[-1] for g in got] == (ranges[:, 1] - ranges[:, 0]).tolist()
