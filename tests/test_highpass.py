"""--highpass HZ: a Butterworth high-pass (designed without SciPy) before slicing, in blocks.

Compared with SciPy's own design and ``sosfilt`` over the whole signal (SciPy is in the test
extra only), and with slicing the whole filtered signal in memory.
"""
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal as scipy_signal  # the test extra's; fastslice itself does not need SciPy
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

import signals
from fastslice import FastsliceError, ParameterError, Slicer
from fastslice.run.files import slice_file
from fastslice.rendering.filters import HighPass, butter_highpass


SR = 40000  # RVC's rate
PARAMS = dict(threshold=-40, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)


@settings(max_examples=60, deadline=None)
@given(order=st.integers(1, 12), sr=st.sampled_from([8000, 16000, 22050, 40000, 44100, 48000]),
       fraction=st.floats(0.0005, 0.45))
def test_the_design_is_scipys(order, sr, fraction):
    cutoff = fraction * sr
    mine = butter_highpass(order, cutoff, sr)
    theirs = scipy_signal.butter(order, cutoff, "highpass", fs=sr, output="sos")
    assert mine.shape == theirs.shape and np.allclose(mine, theirs, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), block=st.integers(1, 5000), channels=st.integers(1, 3))
def test_blocks_carry_the_state_and_equal_sosfilt_over_the_whole(seed, block, channels):
    x = (np.random.default_rng(seed).standard_normal((20000, channels)) * 0.3 + 0.05).astype(np.float32)
    sos = butter_highpass(5, 48, SR)
    filt = HighPass(sos, channels)
    got = np.concatenate([filt(x[k : k + block]).copy() for k in range(0, len(x), block)])
    whole = scipy_signal.sosfilt(scipy_signal.butter(5, 48, "highpass", fs=SR, output="sos"), x.astype(np.float64), axis=0)
    assert got.dtype == np.float32 and np.abs(got - whole).max() <= 2e-7 * max(1.0, np.abs(whole).max())


@pytest.fixture(scope="module")
def rumbling(tmp_path_factory):
    """Ten minutes of stereo speech at 40 kHz over a 20 Hz rumble and a DC offset, 16-bit."""
    folder = tmp_path_factory.mktemp("hp")
    x = signals.with_digital_silence(signals.speech_like(71, 600, SR), 71, SR).astype(np.float64)
    t = np.arange(x.shape[1]) / SR
    x = np.clip(0.7 * x + 0.02 * np.sin(2 * np.pi * 20 * t) + 0.01, -1, 1)
    path = folder / "rumble.wav"
    soundfile.write(path, x.T, SR, subtype="PCM_16")
    return path


def test_a_long_file_is_sliced_as_its_whole_filtered_signal(tmp_path, rumbling):
    decoded, _ = soundfile.read(rumbling, dtype="float32", always_2d=True)
    whole = HighPass(butter_highpass(5, 48, SR), 2)(decoded).copy()  # our filter in one block
    expected = Slicer(SR, **PARAMS).slice_ranges(np.asfortranarray(whole.T)).tolist()
    reference = scipy_signal.sosfilt(scipy_signal.butter(5, 48, "highpass", fs=SR, output="sos"),
                                     decoded.astype(np.float64), axis=0)
    result = slice_file(rumbling, tmp_path / "out", PARAMS, format="WAV", subtype="FLOAT", highpass_hz=48,
                        block_frames=4093)  # many block boundaries
    assert [[c.start_sample, c.end_sample] for c in result.clips] == expected and len(expected) > 20
    for clip in result.clips:
        got, _ = soundfile.read(clip.clip, dtype="float32", always_2d=True)
        assert np.array_equal(got, whole[clip.start_sample : clip.end_sample])
        assert np.abs(got - reference[clip.start_sample : clip.end_sample]).max() <= 2e-7
    # The filter removes what the slicer would otherwise see: the rumble and the offset.
    assert abs(float(whole.mean())) < 1e-4 < abs(float(decoded.mean()))
    plain = slice_file(rumbling, tmp_path / "plain", PARAMS, dry_run=True)
    assert [[c.start_sample, c.end_sample] for c in plain.clips] != expected


def test_held_streamed_and_pooled_runs_agree(tmp_path, rumbling):
    x, _ = soundfile.read(rumbling, dtype="int16", always_2d=True, frames=120 * SR)
    flac = tmp_path / "in" / "talk.flac"
    flac.parent.mkdir()
    soundfile.write(flac, x, SR, subtype="PCM_16")
    options = ["--threshold", "-40", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10",
               "--max-sil-kept", "500", "--highpass", "48", "-q", "--format", "WAV", "--subtype", "FLOAT"]
    runs = {"file": ["slice", flac, "-o", tmp_path / "file"], "pool": ["slice", flac.parent, "-o", tmp_path / "pool", "-j", "2"]}
    for argv in runs.values():
        done = subprocess.run([sys.executable, "-m", "fastslice", *map(str, argv), *options], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    with open(flac, "rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(tmp_path / "pipe"), "--stem", "talk",
                               *options], stdin=stdin, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "file").glob("talk_*.wav"))
    assert len(names) > 5
    for other in ("pool", "pipe"):
        assert sorted(p.name for p in (tmp_path / other).glob("talk_*.wav")) == names
        for name in names:
            assert (tmp_path / other / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), (other, name)


def test_bad_frequencies_and_orders_name_the_file(tmp_path, rumbling):
    with pytest.raises(FastsliceError, match=r"rumble.wav: highpass=25000 Hz must be above 0 and below half the sample rate \(20000 Hz\)"):
        slice_file(rumbling, tmp_path / "out", PARAMS, highpass_hz=25000)
    with pytest.raises(ParameterError, match="order=0 must be a whole number from 1 to 20"):
        butter_highpass(0, 48, SR)
    done = subprocess.run([sys.executable, "-m", "fastslice", "slice", str(rumbling), "-o", str(tmp_path / "o"),
                           "--highpass-order", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and "--highpass-order must be a whole number from 1 to 20; got 0" in done.stderr
