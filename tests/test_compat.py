"""fastslice.compat: each project's copy of slicer2.py, restated here as a naive reference.

RVC, fish-audio-preprocess and the so-vits-svc guide return a list of chunks; GPT-SoVITS returns
``[chunk, start, end]`` with its own labels.  Both carry the older too-short check.  The naive
references below restate those contracts from tests/naive.py's pieces (hand-written pairwise
sums, frames and tag loop); the RVC family is also checked against the real upstream code with
the older check (the ``legacy`` oracle).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import naive
import signals
from fastslice.compat import gpt_sovits, rvc
from oracle import assert_same_chunks


def naive_frames(waveform, sr, threshold, min_length, min_interval, hop_size, max_sil_kept):
    """(mono length, frame bounds (begin, end) or None for "nothing cut", hop): the copies' frame logic."""
    mono = naive.mix(waveform, pairwise=False) if waveform.ndim > 1 else waveform
    interval_samples = sr * min_interval / 1000
    hop = round(sr * hop_size / 1000)
    win = min(round(interval_samples), 4 * hop)
    length_frames = round(sr * min_length / 1000 / hop)
    if mono.shape[0] <= length_frames:  # the older check: samples against frames
        return mono.shape[0], "too short", hop, 0
    rms = naive.frame_rms(mono, win, hop)
    tags = naive.silence_tags(rms, 10 ** (threshold / 20.0), round(interval_samples / hop), length_frames,
                              round(sr * max_sil_kept / 1000 / hop))
    total = len(rms)
    if not tags:
        return mono.shape[0], None, hop, total
    bounds = [(0, tags[0][0])] if tags[0][0] > 0 else []
    bounds += [(tags[k][1], tags[k + 1][0]) for k in range(len(tags) - 1)]
    if tags[-1][1] < total:
        bounds.append((tags[-1][1], total))
    return mono.shape[0], bounds, hop, total


def naive_rvc(waveform, sr, *params):
    n, bounds, hop, _ = naive_frames(waveform, sr, *params)
    if bounds is None or bounds == "too short":
        return [waveform]
    return [waveform[..., b * hop : min(n, e * hop)] for b, e in bounds]


def naive_gpt_sovits(waveform, sr, *params):
    n, bounds, hop, total = naive_frames(waveform, sr, *params)
    if bounds == "too short":  # GPT-SoVITS returns [waveform] here; compat returns a triple (see its docstring)
        return [[waveform, 0, n]]
    if bounds is None:
        return [[waveform, 0, total * hop]]
    return [[waveform[..., b * hop : min(n, e * hop)], b * hop, e * hop] for b, e in bounds]


def assert_same_triples(expected, got):
    assert [t[1:] for t in got] == [t[1:] for t in expected]
    assert all(isinstance(v, int) for t in got for v in t[1:])
    assert_same_chunks([t[0] for t in expected], [t[0] for t in got])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    sr=st.sampled_from([8000, 16000]),
    seconds=st.floats(0.05, 6.0),
    channels=st.sampled_from([0, 1, 2]),
    dtype=st.sampled_from([np.float32, np.float64]),
    hop_size=st.integers(5, 25),
    interval=st.integers(1, 8),
    length=st.integers(1, 8),
    kept=st.integers(1, 12),
    trailing=st.booleans(),
)
def test_compat_slicers_match_the_copies_contracts(seed, sr, seconds, channels, dtype, hop_size, interval, length, kept,
                                                    trailing):
    x = signals.speech_like(seed, seconds, sr, channels=max(1, channels), dtype=dtype)
    if trailing:  # silence to the very end: the trailing tag (its end past the last frame)
        x[:, -x.shape[1] // 3 :] = 0
    x = x[0] if channels == 0 else x
    params = (-35.0, hop_size * interval * length, hop_size * interval, hop_size, hop_size * kept)
    assert_same_chunks(naive_rvc(x, sr, *params), rvc.Slicer(sr, *params).slice(x))
    assert_same_triples(naive_gpt_sovits(x, sr, *params), gpt_sovits.Slicer(sr, *params).slice(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_rvc_family_is_the_real_code_with_the_older_check(legacy, dtype):
    sr = 40000  # RVC's own rate; float64, as RVC passes audio after its high-pass filter
    for seed in range(4):
        x = signals.with_digital_silence(signals.speech_like(seed, 20, sr, channels=1 + seed % 2, dtype=dtype), seed, sr)
        x = x[0] if seed % 2 == 0 else x
        # (every parameter given: upstream's class default min_interval is 100, the copies' 300)
        for params in [(-40, 5000, 300, 20, 5000), (-42, 4000, 300, 10, 500), (-30, 300, 300, 10, 10)]:
            assert_same_chunks(legacy.Slicer(sr, *params).slice(x), rvc.Slicer(sr, *params).slice(x))
        assert_same_chunks(legacy.Slicer(sr, *params).slice(x[..., :100]), rvc.Slicer(sr, *params).slice(x[..., :100]))
    assert_same_chunks(naive_rvc(x, sr, -40, 5000, 300, 20, 5000), rvc.Slicer(sr).slice(x))  # the copies' defaults


def test_gpt_sovits_edge_labels():
    sr = 16000
    x = signals.with_digital_silence(signals.speech_like(7, 12, sr, channels=1), 7, sr)[0]
    slicer = gpt_sovits.Slicer(sr, -35, 2000, 300, 10, 500)
    hop = slicer.hop_samples
    total = slicer.n_frames(x.shape[0])
    # Sound to the end: the last clip's end label is total_frames * hop, past the audio's end.
    loud = x.copy()
    loud[-sr:] = 0.3 * np.sin(np.arange(sr) / 3.0)
    last = slicer.slice(loud)[-1]
    assert last[2] == total * hop > loud.shape[0] and last[0].shape[-1] == loud.shape[0] - last[1]
    # Silence to the end, cut at its quietest frame: the last label is that frame's sample.
    quiet = x.copy()
    quiet[-2 * sr :] = 0
    triples = slicer.slice(quiet)
    assert triples[-1][2] < quiet.shape[0] and triples[-1][2] % hop == 0
    # Nothing to cut: one triple, the whole input, labelled up to total_frames * hop.
    steady = 0.3 * np.sin(np.arange(5 * sr) / 3.0).astype(np.float32)
    assert [t[1:] for t in slicer.slice(steady)] == [[0, slicer.n_frames(5 * sr) * hop]]
    # Shorter than min_length (the older check, samples against frames): a triple, not [waveform].
    short = x[:150]
    (chunk, start, end), = slicer.slice(short)
    assert chunk is short or np.shares_memory(chunk, short)
    assert (start, end) == (0, 150)


def test_the_constructors_are_the_copies(legacy):
    assert rvc.Slicer(44100).__dict__.items() >= {"threshold": -40.0, "min_length": 5000, "min_interval": 300,
                                                  "hop_size": 20, "max_sil_kept": 5000}.items()
    for bad in (dict(min_length=100, min_interval=300), dict(min_interval=10), dict(max_sil_kept=5)):
        with pytest.raises(ValueError):
            legacy.Slicer(44100, **bad)
        for cls in (rvc.Slicer, gpt_sovits.Slicer):
            with pytest.raises(ValueError, match="must be >="):
                cls(44100, **bad)
