"""Streaming equals in-memory: RangeStream and iter_clip_ranges against Slicer.slice_ranges."""
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signals
from fastslice import FastsliceError, ParameterError, RangeStream, Slicer, iter_clip_ranges


def stream_ranges(slicer, waveform, block_sizes, known_length=True):
    """Feed waveform (channels, samples) as interleaved blocks of the given sizes, cycling; the
    stream is told the length up front, or (``known_length=False``) finds it at the end, as from a pipe."""
    interleaved = np.ascontiguousarray(waveform.T)
    n_samples = interleaved.shape[0] if known_length else None
    stream = RangeStream(slicer, n_samples, interleaved.shape[1], waveform.dtype)
    ranges, position, k = [], 0, 0
    while position < interleaved.shape[0]:
        size = block_sizes[k % len(block_sizes)]
        ranges += stream.feed(interleaved[position : position + size])
        position += size
        k += 1
    return ranges + stream.finish()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    seconds=st.floats(0.0, 15.0),
    channels=st.sampled_from([1, 2, 3, 8]),
    dtype=st.sampled_from([np.float32, np.float64]),
    threshold=st.floats(-60, -15),
    hop_size=st.integers(1, 25),
    interval_factor=st.floats(1.0, 15.0),
    length_factor=st.floats(1.0, 8.0),
    kept_factor=st.floats(1.0, 80.0),
    zeros=st.booleans(),
    block_sizes=st.lists(st.integers(1, 70000), min_size=1, max_size=4),
    known_length=st.booleans(),
)
def test_stream_equals_in_memory(seed, seconds, channels, dtype, threshold, hop_size, interval_factor,
                                 length_factor, kept_factor, zeros, block_sizes, known_length):
    sr = 8000
    min_interval = hop_size * interval_factor
    slicer = Slicer(sr, threshold, min_interval * length_factor, min_interval, hop_size, hop_size * kept_factor)
    x = signals.speech_like(seed, seconds, sr, channels=channels, dtype=dtype)
    if zeros and x.shape[-1] > 2 * sr:
        x = signals.with_digital_silence(x, seed, sr)
    # ~1 in 3 examples also tries single-frame blocks (slow, so on short signals only)
    if x.shape[-1] < 3 * sr and seed % 3 == 0:
        block_sizes = [1] + block_sizes
    expected = slicer.slice_ranges(np.asfortranarray(x)).tolist()
    assert [list(r) for r in stream_ranges(slicer, x, block_sizes, known_length)] == expected


@pytest.mark.parametrize("known_length", [True, False])
@pytest.mark.parametrize("block", [1, 2, 333, 4096, 1 << 20])
def test_block_sizes_down_to_one_frame(block, known_length):
    sr = 8000
    slicer = Slicer(sr, -35, 1500, 300, 10, 400)
    x = signals.with_digital_silence(signals.speech_like(9, 12, sr), 9, sr)
    expected = slicer.slice_ranges(np.asfortranarray(x)).tolist()
    assert [list(r) for r in stream_ranges(slicer, x, [block], known_length)] == expected


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("max_length", [None, 1200])
def test_unknown_length_around_the_too_short_rule(legacy, max_length):
    # Lengths on both sides of "too short" (returned whole), fed in small blocks whose length is
    # unknown to the stream until it ends: ranges are withheld until the input is long enough.
    sr = 8000
    slicer = Slicer(sr, -35, 1000, 300, 10, 400, legacy_short_check=legacy, max_length=max_length)
    x = signals.with_digital_silence(signals.speech_like(4, 3, sr), 4, sr)
    bound = slicer.min_length_frames * (1 if legacy else slicer.hop_samples)
    for n in sorted({0, 1, bound - 1, bound, bound + 1, bound + 97, 2 * bound, x.shape[-1]}):
        part = x[:, :n]
        expected = slicer.slice_ranges(np.asfortranarray(part)).tolist()
        assert [list(r) for r in stream_ranges(slicer, part, [37], known_length=False)] == expected, n


def test_buffers_do_not_grow_with_the_length_of_the_recording():
    slicer = Slicer(44100, -40, 5000, 300, 10, 500)
    minute = RangeStream(slicer, 44100 * 60, 2)
    ten_hours = RangeStream(slicer, 44100 * 36000, 2)
    sizes = lambda s: [v.nbytes for v in vars(s).values() if isinstance(v, np.ndarray)]  # noqa: E731
    assert sizes(minute) == sizes(ten_hours)
    assert sum(sizes(ten_hours)) < 2 * 2**20


@pytest.mark.parametrize("subtype, dtype", [("PCM_16", "int16"), ("PCM_24", "int32"), ("FLOAT", "float32")])
@pytest.mark.parametrize("channels", [1, 2])
def test_iter_clip_ranges_of_a_file(tmp_path, subtype, dtype, channels):
    sr = 22050
    x = signals.with_digital_silence(signals.speech_like(4, 40, sr, channels=channels), 4, sr)
    path = tmp_path / "take.wav"
    soundfile.write(path, x.T, sr, subtype=subtype)
    audio, _ = soundfile.read(path, dtype="float32", always_2d=True)
    expected = Slicer(sr, -35, 3000, 300, 10, 500).slice_ranges(audio.T).tolist()
    got = [list(r) for r in iter_clip_ranges(path, threshold=-35, min_length=3000, min_interval=300,
                                             hop_size=10, max_sil_kept=500, block_frames=4000)]
    assert got == expected and len(got) > 3


def test_a_truncated_wav_is_sliced_as_far_as_it_holds_data(tmp_path):
    # libsndfile counts the frames a WAV really holds, whatever its header claims.
    sr = 8000
    path = tmp_path / "cut short.wav"
    soundfile.write(path, signals.with_digital_silence(signals.speech_like(1, 20, sr, channels=1), 1, sr)[0], sr)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    audio, _ = soundfile.read(path, dtype="float32")
    assert 0 < len(audio) < 20 * sr
    expected = Slicer(sr, -40, 1000, 300, 10, 500).slice_ranges(audio).tolist()
    got = iter_clip_ranges(path, threshold=-40, min_length=1000, min_interval=300, hop_size=10, max_sil_kept=500)
    assert [list(r) for r in got] == expected


def test_a_file_that_is_not_audio_is_an_error_that_names_it(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")
    with pytest.raises(FastsliceError, match="notes.wav: cannot read it as audio"):
        list(iter_clip_ranges(path))


def test_stream_misuse_is_explained():
    slicer = Slicer(8000, -40, 1000, 300, 10, 500)
    stream = RangeStream(slicer, 100_000, 2)
    with pytest.raises(ParameterError, match=r"expected \(frames, 2\)"):
        stream.feed(np.zeros((10, 3), np.float32))
    with pytest.raises(ParameterError, match="more than n_samples=100000"):
        stream.feed(np.zeros((100_001, 2), np.float32))
    stream.feed(np.zeros((10, 2), np.float32))
    with pytest.raises(FastsliceError, match="after 10 of 100000 samples"):
        stream.finish()
