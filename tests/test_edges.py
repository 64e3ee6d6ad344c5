"""Defined edges: every odd input has a documented result or a ParameterError that says the fix."""
import numpy as np
import pytest
from oracle import assert_same_chunks

import signals
from fastslice import FastsliceError, ParameterError, Slicer

SR = 16000
PARAMS = (-40, 2000, 300, 10, 500)


def slicer():
    return Slicer(SR, *PARAMS)


@pytest.mark.parametrize(
    "waveform",
    [
        np.zeros(0, np.float32),
        np.zeros((2, 0), np.float32),
        np.ones(1, np.float32),
        np.ones(100, np.float64),  # shorter than one window
        np.ones((2, 500), np.float32),
    ],
    ids=["empty", "empty-stereo", "one-sample", "shorter-than-window", "too-short"],
)
def test_short_input_is_returned_whole_like_the_reference(upstream, waveform):
    got = slicer().slice(waveform)
    assert len(got) == 1 and got[0] is waveform
    assert_same_chunks(upstream.Slicer(SR, *PARAMS).slice(waveform), got)
    assert slicer().slice_ranges(waveform).tolist() == [[0, waveform.shape[-1]]]


def test_all_silence_gives_no_chunk_like_the_reference(upstream):
    x = np.zeros((2, SR * 10), np.float32)
    got = slicer().slice(x)
    assert got == []
    assert_same_chunks(upstream.Slicer(SR, *PARAMS).slice(x), got)
    assert slicer().slice_ranges(x).shape == (0, 2)


def test_no_silence_gives_the_input_whole(upstream):
    x = np.full(SR * 10, 0.5, np.float32)
    got = slicer().slice(x)
    assert len(got) == 1 and got[0] is x
    assert_same_chunks(upstream.Slicer(SR, *PARAMS).slice(x), got)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_samples_follow_the_reference(upstream, bad):
    # A NaN or inf makes its frames' RMS NaN or inf: never silent; argmin picks a NaN first.
    x = signals.with_digital_silence(signals.speech_like(seed=5, seconds=20, sr=SR), seed=6, sr=SR)
    x[0, SR * 3] = bad
    x[1, SR * 9 : SR * 9 + 50] = bad
    x[:, SR * 14] = bad
    with np.errstate(all="ignore"):
        reference = upstream.Slicer(SR, *PARAMS).slice(x)
    got = slicer().slice(x)
    assert_same_chunks(reference, got)
    assert any(not np.isfinite(c).all() for c in got)  # samples are passed through untouched


def test_chunks_are_views_of_the_input():
    x = signals.speech_like(seed=1, seconds=30, sr=SR)
    chunks = slicer().slice(x)
    assert len(chunks) > 2
    assert all(np.shares_memory(c, x) for c in chunks)


def test_slice_ranges_locate_the_chunks():
    x = signals.speech_like(seed=2, seconds=30, sr=SR)
    ranges = slicer().slice_ranges(x)
    assert ranges.dtype == np.int64 and ranges.ndim == 2 and ranges.shape[1] == 2
    for (start, end), chunk in zip(ranges.tolist(), slicer().slice(x)):
        assert np.array_equal(x[:, start:end], chunk)
    assert (np.diff(ranges.ravel()) >= 0).all()  # ordered, not overlapping


def test_lists_are_accepted_like_arrays():
    x = signals.speech_like(seed=3, seconds=12, sr=SR, channels=1)[0].astype(np.float64)
    assert_same_chunks(slicer().slice(x), slicer().slice(x.tolist()))


@pytest.mark.parametrize(
    "waveform, words",
    [
        (np.zeros(SR, np.int16), ["int16", "astype(np.float32) / 32768"]),
        (np.zeros(SR, np.int32), ["int32", "2147483648"]),
        (np.zeros(SR, np.float16), ["float16", "astype(np.float32)"]),
        (np.zeros(SR, np.complex64), ["complex64"]),
        (np.zeros((1, 2, SR), np.float32), ["(1, 2, 16000)", "(channels, samples)"]),
        (np.zeros((0, SR), np.float32), ["no channels"]),
        (np.float32(1.0), ["()"]),
    ],
    ids=["int16", "int32", "float16", "complex", "3-D", "0-channels", "scalar"],
)
def test_unusable_arrays_raise_a_parameter_error_that_says_the_fix(waveform, words):
    with pytest.raises(ParameterError) as info:
        slicer().slice(waveform)
    for word in words:
        assert word in str(info.value)
    assert isinstance(info.value, (ValueError, FastsliceError))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"min_interval": 5, "hop_size": 10}, ["min_interval=5 must be >= hop_size=10 (ms)"]),
        ({"min_length": 200, "min_interval": 300}, ["min_length=200 must be >= min_interval=300 (ms)"]),
        ({"max_sil_kept": 5, "hop_size": 10}, ["max_sil_kept=5 must be >= hop_size=10 (ms)"]),
        ({"hop_size": 0}, ["hop_size=0 must be > 0"]),
        ({"hop_size": -10}, ["hop_size=-10 must be > 0"]),
        ({"sr": 0}, ["sr=0 must be > 0"]),
        ({"sr": 20, "hop_size": 10}, ["hop_size=10 ms is 0.2 samples at sr=20", "use hop_size >="]),
        ({"threshold": float("nan")}, ["threshold=nan must be a finite number"]),
        ({"min_length": float("inf")}, ["min_length=inf must be a finite number"]),
        ({"threshold": "-40"}, ["threshold='-40' must be a number"]),
        ({"threshold": True}, ["threshold=True must be a number"]),
    ],
)
def test_bad_parameters_raise_errors_that_name_them(kwargs, words):
    params = {"sr": SR, "threshold": -40, "min_length": 2000, "min_interval": 300, "hop_size": 10, "max_sil_kept": 500}
    params.update(kwargs)
    with pytest.raises(ParameterError) as info:
        Slicer(**params)
    for word in words:
        assert word in str(info.value)


def test_defaults_are_openvpis(upstream):
    s = Slicer(44100)
    assert (s.threshold, s.min_length, s.min_interval, s.hop_size, s.max_sil_kept) == (-40.0, 5000, 300, 20, 5000)
    ref = upstream.Slicer(44100, -40.0, 5000, 300, 20, 5000)
    assert (s.hop_samples, s.win_samples, s.min_length_frames, s.min_interval_frames, s.max_sil_kept_frames) == (
        ref.hop_size, ref.win_size, ref.min_length, ref.min_interval, ref.max_sil_kept,
    )
    assert s.threshold_amplitude == ref.threshold
    assert "Slicer(sr=44100, threshold=-40.0" in repr(s)


def test_huge_and_tiny_thresholds(upstream):
    x = signals.speech_like(seed=4, seconds=20, sr=SR)
    for threshold in (300.0, -300.0):  # everything silent / nothing silent
        params = (threshold, 2000, 300, 10, 500)
        with np.errstate(all="ignore"):
            reference = upstream.Slicer(SR, *params).slice(x)
        assert_same_chunks(reference, Slicer(SR, *params).slice(x))
