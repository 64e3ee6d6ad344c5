"""Frames computed by several threads, each a range of frames, are the frames of one thread, bit for bit."""
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signals
from fastslice import ParameterError, Slicer
from fastslice.cutting import slicer as slicer_module


@pytest.fixture
def split_everything(monkeypatch):
    """Let any input be split among threads, down to one frame per thread (the real minimum
    of work keeps short inputs on one thread), so that short signals test every boundary."""
    monkeypatch.setattr(slicer_module, "_MIN_WORK_PER_THREAD", 1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    sr=st.sampled_from([8000, 16000, 22050]),
    seconds=st.floats(0.0, 8.0),
    layout=st.sampled_from(["mono", "C", "F", "rows of a wider buffer", "8 channels F", "strided"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    threads=st.integers(2, 8),
    hop_size=st.integers(1, 30),
    interval_factor=st.floats(1.0, 10.0),
)
def test_any_number_of_threads_gives_the_frames_and_clips_of_one(
    split_everything, seed, sr, seconds, layout, dtype, threads, hop_size, interval_factor
):
    channels = 8 if layout.startswith("8") else 2
    x = signals.speech_like(seed, seconds, sr, channels=channels, dtype=dtype)
    x = {
        "mono": lambda: x[0],
        "C": lambda: x,
        "F": lambda: np.asfortranarray(x),
        "rows of a wider buffer": lambda: np.pad(x, ((0, 0), (3, 5)))[:, 3:-5],
        "8 channels F": lambda: np.asfortranarray(x),
        "strided": lambda: np.repeat(x, 2, axis=1)[:, ::2],
    }[layout]()
    params = dict(threshold=-35, min_length=hop_size * interval_factor * 3, min_interval=hop_size * interval_factor,
                  hop_size=hop_size, max_sil_kept=hop_size * 5)
    one = Slicer(sr, **params, threads=1)
    many = Slicer(sr, **params, threads=threads)
    expected = one.frame_rms(x)
    got = many.frame_rms(x)
    assert got.dtype == expected.dtype and np.array_equal(got, expected, equal_nan=True)
    assert np.array_equal(many.slice_ranges(x), one.slice_ranges(x))


def test_long_inputs_really_use_the_threads(monkeypatch):
    # One hour at 8 kHz with a 20 ms hop: 180,000 frames of 640 samples, work for 4 threads and more.
    names = set()
    original = slicer_module.Slicer._scratch

    def noting(self, dtype):
        names.add(threading.current_thread().name)
        return original(self, dtype)

    monkeypatch.setattr(slicer_module.Slicer, "_scratch", noting)
    x = signals.speech_like(5, 3600, 8000, channels=2)
    ranges = Slicer(8000, threads=4).slice_ranges(x)
    helpers = names - {threading.current_thread().name}
    assert len(helpers) == 3 and all(n.startswith("fastslice-frames") for n in helpers), names
    assert np.array_equal(ranges, Slicer(8000, threads=1).slice_ranges(x))


def test_short_inputs_stay_on_the_calling_thread(monkeypatch):
    names = set()
    original = slicer_module.Slicer._scratch
    monkeypatch.setattr(slicer_module.Slicer, "_scratch",
                        lambda self, dtype: names.add(threading.current_thread().name) or original(self, dtype))
    Slicer(8000, threads=8).slice_ranges(signals.speech_like(5, 20, 8000, channels=2))
    assert names == {threading.current_thread().name}


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_threads_must_be_a_positive_whole_number(threads):
    with pytest.raises(ParameterError, match="threads="):
        Slicer(44100, threads=threads)
