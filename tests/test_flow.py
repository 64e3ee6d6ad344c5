"""The rest of the seed's flow: max length, start/end, resampling, mono, zip, on the command line."""
import re
import zipfile

import numpy as np
import pytest
import soundfile
import soxr
from test_cli import OPTIONS, PARAMS, SR, fastslice, write_recording

import signals
from fastslice import Slicer
from fastslice.run.files import slice_file


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "in" / "drama.wav"
    path.parent.mkdir()
    x = signals.with_digital_silence(signals.speech_like(31, 60, SR), 31, SR)
    x[:, 20 * SR : 45 * SR] += (np.random.default_rng(1).standard_normal((2, 25 * SR)) * 0.1).astype(np.float32)  # 25 s unbroken
    soundfile.write(path, x.T, SR, subtype="PCM_16")
    return path


def decoded(path):
    return soundfile.read(path, dtype="float32", always_2d=True)[0]


def test_max_length_on_the_command_line(recording, tmp_path):
    out = tmp_path / "out"
    fastslice("slice", recording, "-o", out, *OPTIONS, "--max-length", "8000", "--manifest", tmp_path / "m.csv", check=0)
    expected = Slicer(SR, **PARAMS, max_length=8000).slice_ranges(decoded(recording).T).tolist()
    assert max(e - s for s, e in expected) <= 8 * SR and len(expected) > len(Slicer(SR, **PARAMS).slice_ranges(decoded(recording).T))
    native = soundfile.read(recording, dtype="int16", always_2d=True)[0]
    for i, (start, end) in enumerate(expected):
        got = soundfile.read(out / f"drama_{i}.wav", dtype="int16", always_2d=True)[0]
        assert np.array_equal(got, native[start:end])
    assert not (out / f"drama_{len(expected)}.wav").exists()


def test_merge_short_needs_max_length(recording, tmp_path):
    result = fastslice("slice", recording, "-o", tmp_path / "out", "--merge-short")
    assert result.returncode == 2 and "--merge-short merges clips up to --max-length: give it too" in result.stderr


def test_start_and_end_slice_only_that_part(recording, tmp_path):
    out = tmp_path / "out"
    fastslice("slice", recording, "-o", out, *OPTIONS, "--start", "5", "--end", "50.5", "--manifest", tmp_path / "m.jsonl", check=0)
    audio = decoded(recording)
    part = audio[5 * SR : int(50.5 * SR)]
    expected = Slicer(SR, **PARAMS).slice_ranges(part.T).tolist()
    native = soundfile.read(recording, dtype="int16", always_2d=True)[0][5 * SR : int(50.5 * SR)]
    for i, (start, end) in enumerate(expected):
        assert np.array_equal(soundfile.read(out / f"drama_{i}.wav", dtype="int16", always_2d=True)[0], native[start:end])
    rows = (tmp_path / "m.jsonl").read_text().splitlines()
    assert len(rows) == len(expected) and f'"start_sample": {5 * SR + expected[0][0]}' in rows[0]
    result = fastslice("slice", recording, "-o", out, "--start", "70")
    assert result.returncode == 1 and "select no audio" in result.stderr


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_resampled_clips_have_the_target_rate_and_length(recording, tmp_path, rate):
    result = slice_file(recording, tmp_path / "out", PARAMS, sample_rate=rate, mono=True)
    audio = decoded(recording)
    assert len(result.clips) > 3
    for clip in result.clips:
        info = soundfile.info(clip.clip)
        assert (info.samplerate, info.channels) == (rate, 1) and (clip.sample_rate, clip.channels) == (rate, 1)
        mixed = audio[clip.start_sample : clip.end_sample].mean(axis=1, keepdims=True, dtype=np.float32)
        one_shot = soxr.resample(mixed, SR, rate, quality="HQ")
        assert info.frames == len(one_shot)
        assert abs(info.frames - (clip.end_sample - clip.start_sample) * rate / SR) <= 1
        got = soundfile.read(clip.clip, dtype="float32", always_2d=True)[0]
        # the streamed resampler gives the one-shot result, up to the clip's 16-bit rounding
        assert np.abs(got - np.clip(one_shot, -1, 1)).max() <= 1 / 32768 + 1e-6
    # the slicing was decided on the original audio
    assert [(c.start_sample, c.end_sample) for c in result.clips] == [
        tuple(r) for r in Slicer(SR, **PARAMS).slice_ranges(audio.T).tolist()]


def test_zip_on_the_command_line(tmp_path):
    root = tmp_path / "lib"
    write_recording(root / "a.wav", 41)
    write_recording(root / "sub" / "b.wav", 42)
    out = tmp_path / "out"
    fastslice("slice", root, "-o", out, *OPTIONS, "--zip", tmp_path / "set.zip", check=0)
    clips = sorted(str(p.relative_to(out)) for p in out.rglob("*_[0-9]*.wav"))
    with zipfile.ZipFile(tmp_path / "set.zip") as archive:
        assert sorted(archive.namelist()) == clips
        for name in clips:
            assert archive.read(name) == (out / name).read_bytes()


def test_analyze_and_stats_on_the_command_line(recording, tmp_path):
    result = fastslice("analyze", recording, *OPTIONS, "--plot", tmp_path / "envelope.png", check=0)
    n_clips = len(Slicer(SR, **PARAMS).slice_ranges(decoded(recording).T))
    assert re.search(rf"^clips +{n_clips}$", result.stdout, re.M), result.stdout
    assert "suggested threshold (dB)" in result.stdout and "noise floor (dB)" in result.stdout
    assert (tmp_path / "envelope.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "out"
    fastslice("slice", recording, "-o", out, *OPTIONS, check=0)
    result = fastslice("stats", out, "--target", "2", "6", check=0)
    assert f"clips: {n_clips}," in result.stdout and "in target 2-6 s:" in result.stdout
    result = fastslice("stats", tmp_path / "nowhere")
    assert result.returncode == 2 and "nowhere: no such folder" in result.stderr
