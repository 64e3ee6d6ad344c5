"""--normalize DBFS and --normalize-mix ALPHA: each clip scaled by its own peak; the cuts unchanged."""
import csv

import numpy as np
import pytest
import soundfile

import signals
from runner import fastslice

SR = 16000
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "300"]



def recording(path, seed=61, seconds=30, subtype="PCM_16"):
    x = signals.with_digital_silence(signals.speech_like(seed, seconds, SR), seed, SR)
    soundfile.write(path, x.T, SR, subtype=subtype)
    return path


def rows(manifest):
    with open(manifest, newline="") as f:  # clip paths are relative to the manifest's folder
        return [(manifest.parent / r["clip"], int(r["start_sample"]), int(r["end_sample"])) for r in csv.DictReader(f)]


def read(path):
    return soundfile.read(path, dtype="float64", always_2d=True)[0]


@pytest.mark.parametrize("kind", ["wav", "flac"])  # read again from the file / held in memory
@pytest.mark.parametrize("mix", [1.0, 0.25])
def test_each_clip_is_scaled_by_its_own_peak_and_the_cuts_stay(tmp_path, kind, mix):
    source = recording(tmp_path / f"talk.{kind}")
    plain = fastslice("slice", source, "-o", tmp_path / "plain", "-q", "--format", "WAV", "--subtype", "FLOAT",
                      "--manifest", tmp_path / "plain.csv", *OPTIONS)
    assert plain.returncode == 0, plain.stderr
    done = fastslice("slice", source, "-o", tmp_path / "norm", "-q", "--format", "WAV", "--subtype", "FLOAT", "--manifest",
                     tmp_path / "norm.csv", "--normalize", "-1", "--normalize-mix", mix, *OPTIONS)
    assert done.returncode == 0, done.stderr
    before, after = rows(tmp_path / "plain.csv"), rows(tmp_path / "norm.csv")
    assert [r[1:] for r in after] == [r[1:] for r in before] and len(after) > 3
    target = 10 ** (-1 / 20)
    for (clip, _, _), (plain_clip, _, _) in zip(after, before):
        x, y = read(plain_clip), read(clip)
        peak = np.abs(x).max()
        expected = x / peak * target * mix + (1 - mix) * x  # the projects' blended form
        assert np.allclose(y, expected, rtol=0, atol=2e-7), clip
        if mix == 1.0:
            assert abs(np.abs(y).max() - target) < 1e-6


def test_with_mono_resampling_jobs_and_16_bit_clips(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    recording(inputs / "a.wav", seed=62)
    recording(inputs / "b.flac", seed=63)
    done = fastslice("slice", inputs, "-o", tmp_path / "out", "-q", "-j", "2", "--mono", "--sr", "8000",
                     "--normalize", "-3", *OPTIONS)
    assert done.returncode == 0, done.stderr
    clips = sorted(p for p in (tmp_path / "out").iterdir() if p.suffix in (".wav", ".flac"))
    assert len(clips) > 6
    for clip in clips:
        y = soundfile.read(clip, dtype="int16", always_2d=True)[0]
        assert soundfile.info(clip).samplerate == 8000 and y.shape[1] == 1
        assert abs(np.abs(y.astype(int)).max() - 10 ** (-3 / 20) * 32768) <= 1.5, clip


def test_standard_input(tmp_path):
    source = recording(tmp_path / "talk.wav", seed=64)
    with open(source, "rb") as stdin:
        done = fastslice("slice", "-", "-o", tmp_path / "out", "-q", "--stem", "s", "--subtype", "FLOAT",
                         "--normalize", "-6", *OPTIONS, stdin=stdin)
    assert done.returncode == 0, done.stderr
    peaks = [np.abs(read(c)).max() for c in (tmp_path / "out").glob("s_*.wav")]
    assert len(peaks) > 3 and np.allclose(peaks, 10 ** (-6 / 20), atol=1e-6)


@pytest.mark.parametrize("extra, message", [
    (["--normalize", "3"], "--normalize must be a peak level in dBFS from -120 to 0 (e.g. -1); got 3"),
    (["--normalize", "-1", "--normalize-mix", "0"], "--normalize-mix must be above 0 and at most 1 (1: plain peak normalization); got 0"),
    (["--normalize", "-1", "--normalize-mix", "1.5"], "--normalize-mix must be above 0 and at most 1 (1: plain peak normalization); got 1.5"),
    (["--normalize-mix", "0.5"], "--normalize-mix goes with --normalize: give it too; got 0.5"),
])
def test_bad_values_are_refused_before_any_work(tmp_path, extra, message):
    source = recording(tmp_path / "talk.wav", seconds=5)
    done = fastslice("slice", source, "-o", tmp_path / "out", *extra, *OPTIONS)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
