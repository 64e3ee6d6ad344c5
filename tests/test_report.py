"""fastslice.report.report on real files: level statistics, suggested threshold, envelope plot, clip statistics."""
import re
import struct
import sys

import numpy as np

import pytest
import soundfile

import signals
from fastslice import FastsliceError, ParameterError, Slicer
from fastslice import cli
from fastslice.report.report import (PERCENTILES, analyze, check_zoom, clip_stats, envelope_figure, format_analysis,
                              envelope_of, format_stats, plot_envelope)

SR = 16000
PARAMS = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write(path, x, sr=SR, subtype="PCM_16"):
    """Write (channels, samples) or (samples,) float audio; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.asarray(x).T, sr, subtype=subtype)
    return path


def decoded(path):
    x, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return x.T, sr


def frame_db(path, params):
    x, sr = decoded(path)
    return 20 * np.log10(Slicer(sr, **params).frame_rms(x).astype(np.float64))


def bursts_over_floor(seed, floor_db=-50.0, speech_db=-20.0, bursts=8, speech_s=2.0, pause_s=1.0):
    """Mono: ``bursts`` stretches of noise at speech_db between pauses, all over a noise floor at floor_db."""
    rng = np.random.default_rng(seed)
    n_speech, n_pause = int(speech_s * SR), int(pause_s * SR)
    x = rng.standard_normal(bursts * (n_speech + n_pause) + n_pause) * 10 ** (floor_db / 20)
    for k in range(bursts):
        start = n_pause + k * (n_speech + n_pause)
        x[start : start + n_speech] += rng.standard_normal(n_speech) * 10 ** (speech_db / 20)
    return x.astype(np.float32)


# -- analyze ------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
def test_analyze_cuts_what_slicer_cuts(tmp_path, channels):
    x = signals.with_digital_silence(signals.speech_like(5, 40, SR, channels=channels), 5, SR)
    path = write(tmp_path / "talk.wav", x)
    result = analyze(path, PARAMS)
    audio, sr = decoded(path)
    expected = Slicer(sr, **PARAMS).slice_ranges(audio).tolist()
    assert len(expected) > 3
    assert result["ranges"] == [tuple(r) for r in expected]
    assert result["clips"] == len(expected)
    assert (result["sample_rate"], result["channels"], result["frames"]) == (SR, channels, x.shape[-1])
    assert result["duration"] == pytest.approx(40.0)
    assert result["rms_frames"] == len(Slicer(sr, **PARAMS).frame_rms(audio))
    assert result["threshold"] == -35.0
    lengths = np.array([(end - start) / SR for start, end in expected])
    assert result["clip_lengths"] == pytest.approx({"min": lengths.min(), "median": np.median(lengths), "max": lengths.max()})
    counts, _ = np.histogram(lengths, bins=[0, 2, 4, 8, 15, 30, np.inf])
    assert result["clip_bins"] == list(zip(["0-2", "2-4", "4-8", "8-15", "15-30", "30+"], counts.tolist()))


@pytest.mark.parametrize("channels, hop_size", [(1, 10), (2, 20), (3, 5)])
def test_level_percentiles_match_numpy_within_a_tenth_of_a_db(tmp_path, channels, hop_size):
    params = dict(PARAMS, hop_size=hop_size, min_interval=300)
    path = write(tmp_path / "talk.wav", signals.speech_like(7 + channels, 30, SR, channels=channels))
    levels = analyze(path, params)["levels"]
    db = frame_db(path, params)
    for q in PERCENTILES:
        assert levels[q] == pytest.approx(np.percentile(db, q), abs=0.1), q
    assert levels["max"] == pytest.approx(db.max(), abs=1e-9)


def test_suggested_threshold_lies_between_a_known_floor_and_the_speech(tmp_path):
    path = write(tmp_path / "bursts.wav", bursts_over_floor(1))
    result = analyze(path, PARAMS)
    assert result["noise_floor"] == pytest.approx(-50.0, abs=1.0)
    assert result["speech_level"] == pytest.approx(-20.0, abs=1.0)
    assert result["noise_floor"] + 5 < result["suggested_threshold"] < result["speech_level"] - 5
    assert result["suggested_threshold"] == pytest.approx(-35.0, abs=1.0)
    # and slicing at the suggestion cuts one clip per burst
    suggested = dict(PARAMS, threshold=result["suggested_threshold"], min_length=1000, max_sil_kept=100)
    assert analyze(path, suggested)["clips"] == 8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_suggested_threshold_on_speech_like_recordings(tmp_path, seed):
    path = write(tmp_path / "talk.wav", signals.speech_like(seed, 60, SR, channels=1, floor_db=-50.0))
    result = analyze(path, PARAMS)
    db = frame_db(path, PARAMS)
    speech = np.median(db[db > -40])  # bursts are -30..-6 dB, the floor -50 dB
    assert result["noise_floor"] == pytest.approx(-50.0, abs=1.0)
    assert result["noise_floor"] < result["suggested_threshold"] < speech


def test_digital_silence_is_left_out_of_the_noise_floor(tmp_path):
    x = bursts_over_floor(2)
    x[: 6 * SR] = 0  # a quarter of the recording is exact zeros: far more than 10 % of the frames
    path = write(tmp_path / "zeros.wav", x)
    result = analyze(path, PARAMS)
    assert result["levels"][10] < -110  # counted in the levels (in the lowest bin) ...
    assert result["noise_floor"] == pytest.approx(-50.0, abs=1.0)  # ... but not in the floor
    assert -50 < result["suggested_threshold"] < -20


def test_no_suggestion_when_nothing_stands_out_from_the_floor(tmp_path):
    noise = np.random.default_rng(3).standard_normal(10 * SR) * 10 ** (-50 / 20)
    steady = analyze(write(tmp_path / "noise.wav", noise), PARAMS)
    assert steady["noise_floor"] == pytest.approx(-50.0, abs=1.0)
    assert steady["speech_level"] is None and steady["suggested_threshold"] is None
    silent = analyze(write(tmp_path / "zeros.wav", np.zeros(10 * SR)), PARAMS)
    assert silent["noise_floor"] is None and silent["suggested_threshold"] is None
    assert re.search(r"^suggested threshold \(dB\) +n/a", format_analysis(silent), re.M)


def test_a_recording_too_short_to_slice(tmp_path):
    path = write(tmp_path / "short.wav", signals.speech_like(4, 1.0, SR, channels=1))
    result = analyze(path, PARAMS)  # min_length is 2 s: returned whole, its levels still measured
    assert result["rms_frames"] == Slicer(SR, **PARAMS).n_frames(SR) > 0
    assert all(value is not None for value in result["levels"].values())
    assert result["ranges"] == [(0, SR)] and result["clip_lengths"]["max"] == 1.0
    assert "1.00" in format_analysis(result)


def test_analyze_errors_name_the_problem(tmp_path):
    path = write(tmp_path / "talk.wav", signals.speech_like(1, 5, SR, channels=1))
    with pytest.raises(ParameterError, match="min_interval"):
        analyze(path, dict(PARAMS, min_interval=5))
    with pytest.raises(ParameterError, match="treshold"):
        analyze(path, {"treshold": -30})
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(FastsliceError, match="notes.wav"):
        analyze(text, PARAMS)


def test_format_analysis_shows_units_and_numbers(tmp_path):
    path = write(tmp_path / "bursts.wav", bursts_over_floor(4))
    result = analyze(path, PARAMS)
    text = format_analysis(result)
    for label in ["duration (s)", "sample rate (Hz)", "RMS level p50 (dB)", "RMS level max (dB)", "noise floor (dB)",
                  "suggested threshold (dB)", "threshold used (dB)", "clip length median (s)", "clips of 2-4 s"]:
        assert label in text
    lines = dict(line.split("  ", 1) for line in text.splitlines())
    lines = {label.strip(): value.strip() for label, value in lines.items()}
    assert lines["duration (s)"] == f"{result['duration']:.3f}" == "25.000"
    assert lines["sample rate (Hz)"] == "16000"
    assert lines["clips"] == str(result["clips"]) == "8"
    assert lines["RMS level p50 (dB)"] == f"{result['levels'][50]:.1f}"
    assert lines["noise floor (dB)"].startswith(f"{result['noise_floor']:.1f} ")
    assert lines["suggested threshold (dB)"].startswith(f"{result['suggested_threshold']:.1f} ")
    assert lines["threshold used (dB)"] == "-35.0"
    assert lines["clip length median (s)"] == f"{result['clip_lengths']['median']:.2f}"
    assert lines["clips of 2-4 s"] == "8"


# -- plot_envelope ------------------------------------------------------------------------


def png_size(data):
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def bands_of(figure):
    """The clip bands drawn: (start, end) seconds of each, from the figure's own artists."""
    (bands,) = [c for c in figure.axes[0].collections if c.get_gid() == "clips"]
    return np.array([(path.vertices[:, 0].min(), path.vertices[:, 0].max()) for path in bands.get_paths()])


def test_plot_envelope_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = write(tmp_path / "talk.wav", signals.speech_like(2, 120, SR, channels=2))
    png = tmp_path / "plots" / "talk.png"
    shown = plot_envelope(path, PARAMS, png)
    data = png.read_bytes()
    assert png_size(data) == (1200, 400)
    assert len(data) > 10_000  # something was drawn
    assert shown["xlim"] == (0.0, 120.0) and shown["duration"] == 120.0


def test_plot_draws_one_band_per_clip_and_no_boundary_lines(tmp_path):
    pytest.importorskip("matplotlib")
    path = write(tmp_path / "talk.wav", signals.speech_like(3, 90, SR, channels=1))
    expected = Slicer(SR, **PARAMS).slice_ranges(decoded(path)[0]).tolist()
    assert len(expected) > 10
    figure, shown = envelope_figure(path, PARAMS)
    ax = figure.axes[0]
    assert bands_of(figure) == pytest.approx(np.array(expected) / SR)
    assert shown["clips"] == len(shown["spans"]) == analyze(path, PARAMS)["clips"] == len(expected)
    # no line per clip start or end: two lines (the envelope's top, the threshold) and two collections
    # (the bands, the envelope's area)
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert list(ax.lines[1].get_ydata()) == [-35, -35]
    assert f"{len(expected)} clips" in ax.get_title()
    assert f"clips ({len(expected)})" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_zoom_draws_the_span_only_in_finer_buckets(tmp_path):
    pytest.importorskip("matplotlib")
    path = write(tmp_path / "talk.wav", signals.speech_like(4, 120, SR, channels=1))
    whole = envelope_figure(path, PARAMS, max_points=200)[1]
    figure, zoomed = envelope_figure(path, PARAMS, zoom=(30.5, 50), max_points=200)
    assert figure.axes[0].get_xlim() == zoomed["xlim"] == (30.5, 50.0)
    assert whole["bucket_seconds"] == 0.32  # 12,000 frames: doubled to 32 a bucket, 375 buckets
    assert zoomed["bucket_seconds"] == 0.1  # 1,950 frames in buckets of ceil(1950 / 200) = 10
    assert zoomed["clips"] == whole["clips"]
    inside = [(max(a, 30.5), min(b, 50.0)) for a, b in whole["spans"] if b > 30.5 and a < 50]
    assert 2 < len(inside) < whole["clips"]
    assert zoomed["spans"] == inside
    assert bands_of(figure) == pytest.approx(np.array(inside))
    # the envelope drawn covers the span alone
    (level,) = [c for c in figure.axes[0].collections if c.get_label() == "RMS level (min-max)"]
    x = level.get_paths()[0].vertices[:, 0]
    assert 30.5 <= x.min() < 30.6 and 49.9 < x.max() <= 50.0
    # an END past the file's end: drawn up to the end
    assert envelope_figure(path, PARAMS, zoom=(100, 500))[1]["xlim"] == (100.0, 120.0)


def test_zoomed_envelope_is_the_min_and_max_of_the_span_frames(tmp_path):
    path = write(tmp_path / "talk.wav", signals.speech_like(5, 60, SR, channels=2))
    db = np.maximum(frame_db(path, PARAMS), -120)
    found = envelope_of(path, PARAMS, 100, span=(12.345, 20))
    first, bucket = found.first, found.bucket
    assert (first, bucket) == (1234, 8)  # frames 1234..1999: 766 of them, in 8s
    assert found.low.shape == found.high.shape == (96,)
    frames = db[first:2000]
    chunks = [frames[k : k + bucket] for k in range(0, frames.shape[0], bucket)]
    assert found.low == pytest.approx([c.min() for c in chunks], abs=1e-4)
    assert found.high == pytest.approx([c.max() for c in chunks], abs=1e-4)
    # and the whole file's, as before
    whole = envelope_of(path, PARAMS, 100)
    assert (whole.first, whole.bucket) == (0, 32)
    assert whole.high.max() == pytest.approx(db.max(), abs=1e-4)


def test_zoom_errors_name_the_flag(tmp_path, capsys):
    path = write(tmp_path / "talk.wav", signals.speech_like(6, 10, SR, channels=1))
    for zoom, message in [((5, 5), "END must be after START"), ((6, 2), "END must be after START"),
                          ((-1, 4), "must be >= 0"), ((1, float("nan")), "finite")]:
        with pytest.raises(ParameterError, match=rf"^--zoom .*{message}"):
            check_zoom(zoom)
    # (matplotlib is in the test extra: this part is never skipped)
    with pytest.raises(ParameterError, match=r"--zoom 12 20: START is beyond the end of talk.wav \(10.000 s\)"):
        plot_envelope(path, PARAMS, tmp_path / "late.png", zoom=(12, 20))
    assert not (tmp_path / "late.png").exists()
    png = tmp_path / "zoom.png"
    for argv, message in [(["--zoom", "1", "2"], "fastslice: --zoom needs --plot PNG"),
                          (["--zoom", "3", "1", "--plot", str(png)], "fastslice: --zoom 3 1: END must be after START"),
                          (["--zoom", "-2", "1", "--plot", str(png)], "fastslice: --zoom -2 1: START and END must be >= 0"),
                          (["--zoom", "10", "11", "--plot", str(png)], "fastslice: --zoom 10 11: START is beyond the end")]:
        assert cli.main(["analyze", str(path), *argv]) == 2
        assert message in capsys.readouterr().err
    assert not png.exists()


def test_plot_envelope_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    path = write(tmp_path / "talk.wav", signals.speech_like(2, 5, SR, channels=1))
    png = tmp_path / "talk.png"
    with pytest.raises(FastsliceError, match=r"--plot needs matplotlib: pip install 'fastslice\[plot\]'"):
        plot_envelope(path, PARAMS, png)
    assert not png.exists()


# -- clip_stats ------------------------------------------------------------------------

LENGTHS = {"a/one.wav": 1.0, "a/three.flac": 3.0, "four.wav": 4.0, "b/c/five_and_a_half.wav": 5.5,
           "eight.wav": 8.0, "b/twelve.wav": 12.0}


@pytest.fixture
def clips(tmp_path):
    root = tmp_path / "clips"
    rng = np.random.default_rng(0)
    for name, seconds in LENGTHS.items():
        write(root / name, rng.standard_normal(int(seconds * SR)) * 0.1)
    write(root / ".hidden.wav", np.zeros(SR))  # hidden: skipped
    write(root / ".cache" / "old.wav", np.zeros(SR))  # in a hidden folder: skipped
    (root / "a" / "notes.txt").write_text("not audio")
    (root / "b" / "broken.wav").write_bytes(b"RIFF\x00\x00")  # libsndfile cannot read it
    return root


def test_clip_stats_of_known_lengths(clips):
    result = clip_stats(clips)
    assert result["count"] == 6
    assert result["seconds"] == pytest.approx(33.5)
    assert result["hours"] == pytest.approx(33.5 / 3600)
    assert (result["min"], result["median"], result["max"]) == (1.0, 4.75, 12.0)
    assert result["histogram"] == [("0-1", 0), ("1-2", 1), ("2-4", 1), ("4-6", 2), ("6-8", 0), ("8-10", 1),
                                   ("10-15", 1), ("15-30", 0), ("30+", 0)]
    assert result["target"] == (4.0, 8.0)
    assert result["in_target"] == 3  # 4, 5.5 and 8: both ends count
    assert result["outliers"] == [(str(clips / "a" / "one.wav"), 1.0), (str(clips / "a" / "three.flac"), 3.0),
                                  (str(clips / "b" / "twelve.wav"), 12.0)]


def test_clip_stats_other_target(clips):
    result = clip_stats(clips, target=(3, 5.5))
    assert result["in_target"] == 3
    assert [seconds for _, seconds in result["outliers"]] == [1.0, 12.0, 8.0]  # a/one, b/twelve, eight (by path)
    with pytest.raises(ParameterError, match="target"):
        clip_stats(clips, target=(8, 4))


def test_format_stats(clips):
    text = format_stats(clip_stats(clips))
    assert "6, 0.009 h (33.5 s)" in text
    assert "min 1.00, median 4.75, max 12.00" in text
    bars = {line.split()[0]: line.count("#") for line in text.splitlines() if line[:1].isdigit()}
    assert bars == {"0-1": 0, "1-2": 20, "2-4": 20, "4-6": 40, "6-8": 0, "8-10": 20, "10-15": 20, "15-30": 0, "30+": 0}
    assert "in target 4-8 s: 3 of 6 (50.0 %)" in text
    assert "outside it (3):" in text
    assert text.index("one.wav") < text.index("three.flac") < text.index("twelve.wav")
    short = format_stats(clip_stats(clips), max_outliers=2)
    assert "twelve.wav" not in short and "... and 1 more" in short


def test_clip_stats_errors_name_the_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FastsliceError, match="nowhere: no such folder"):
        clip_stats(missing)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("no audio here")
    write(empty / ".hidden.wav", np.zeros(SR))
    with pytest.raises(FastsliceError, match="empty: no audio files"):
        clip_stats(empty)
    with pytest.raises(FastsliceError, match="readme.txt: not a folder"):
        clip_stats(empty / "sub" / "readme.txt")
