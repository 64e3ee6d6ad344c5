"""Levels: the threshold --threshold auto chooses per input, loudness per ITU-R BS.1770-4
(--loudness, --peak-ceiling) against pyloudnorm and the EBU's compliance cases, and the warning
for samples an integer format clips.

The speech is real: Debian's espeak-ng speaks the sentences (``.ci/run`` installs it), over a
room's noise floor.
"""
import csv
import json
import re
import sys

import numpy as np
import pyloudnorm
import pytest
import soundfile

import endless
import oracle
import signals
from fastslice import ParameterError, SliceOptions, Slicer, slice_file
from fastslice.cutting import threshold as levels
from fastslice.rendering.loudness import Meter
from runner import fastslice

SR = 22050  # espeak-ng's rate
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A library is a hundred thousand files, and none of them may be lost.",
    "Every clip is cut where the speaker stops to breathe.",
    "Loudness is measured in blocks of four hundred milliseconds.",
    "The noise floor of a room sits far below the voice.",
    "Nothing separates two levels in a recording of pure noise.",
]
CUT = dict(min_length=1500, min_interval=300, hop_size=10, max_sil_kept=300)
CUT_FLAGS = ["--min-length", "1500", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "300"]
GAINS_DB = (-12, -24, -36)



def manifest_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def ranges_by_source(rows):
    found = {}
    for row in rows:
        found.setdefault(row["source"], []).append((int(row["start_sample"]), int(row["end_sample"])))
    return found


def loudness_of(path):
    x, rate = soundfile.read(path, dtype="float64", always_2d=True)
    return pyloudnorm.Meter(rate).integrated_loudness(x), 20 * np.log10(np.abs(x).max())


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    """Sentences spoken by espeak-ng with pauses, over a -50 dB noise floor (float64, mono)."""
    rng = np.random.default_rng(23)
    parts = [np.zeros(int(0.7 * SR))]
    for y in signals.spoken(SENTENCES, tmp_path_factory.mktemp("said")):
        parts += [y, np.zeros(int(rng.uniform(0.6, 1.2) * SR))]
    clean = np.concatenate(parts)
    return clean + rng.standard_normal(clean.shape[0]) * 10 ** (-50 / 20)


@pytest.fixture(scope="module")
def copies(talk, tmp_path_factory):
    """The same recording at -12, -24 and -36 dB (float WAV: nothing but the gain differs)."""
    folder = tmp_path_factory.mktemp("levels")
    for gain in GAINS_DB:
        soundfile.write(folder / f"talk_{-gain}dB.wav", (talk * 10 ** (gain / 20)).astype(np.float32), SR,
                        subtype="FLOAT")
    return folder


# -- --threshold auto ------------------------------------------------------------------------------


def test_auto_gives_every_level_of_a_recording_the_same_cuts_where_a_fixed_threshold_does_not(copies, tmp_path):
    out, table = tmp_path / "auto", tmp_path / "auto.csv"
    done = fastslice("slice", copies, "-o", out, "--threshold", "auto", *CUT_FLAGS, "--manifest", table, "-v", check=0)
    rows = manifest_rows(table)
    found = ranges_by_source(rows)
    assert len(found) == 3
    cuts = list(found.values())
    assert len(cuts[0]) >= 4 and cuts[0] == cuts[1] == cuts[2], found
    # the threshold moves with the level, 12 dB a step, and is in every row and marker
    thresholds = {}
    for row in rows:
        thresholds.setdefault(row["source"], set()).add(float(row["threshold"]))
    by_gain = [thresholds[str(copies / f"talk_{-g}dB.wav")] for g in GAINS_DB]
    assert all(len(t) == 1 for t in by_gain)
    steps = np.diff([t.pop() for t in by_gain])
    assert np.allclose(steps, -12.0, atol=1e-3), steps
    for gain in GAINS_DB:
        name = f"talk_{-gain}dB"
        marker = json.loads((out / f".{name}.fastslice.json").read_text())
        assert marker["request"]["params"]["threshold"] == "auto"
        chosen = marker["threshold"]
        assert chosen["separated"] and chosen["rule"] == "auto"
        assert marker["params"]["threshold"] == chosen["threshold"] == float(rows[[r["source"] for r in rows].index(
            str(copies / f"{name}.wav"))]["threshold"])
        assert chosen["noise_floor"] < chosen["threshold"] < chosen["speech_level"]
        assert f"{name}.wav: {len(cuts[0])} clips" in done.stderr and f"threshold auto = {chosen['threshold']:.1f} dB" \
            in done.stderr, done.stderr
    # a re-run skips every input and writes the same manifest
    again = fastslice("slice", copies, "-o", out, "--threshold", "auto", *CUT_FLAGS, "--manifest", table, check=0)
    assert "3 already done" in again.stderr and manifest_rows(table) == rows
    # the fixed default cuts the quieter copies differently (or not at all)
    fixed = tmp_path / "fixed.csv"
    fastslice("slice", copies, "-o", tmp_path / "fixed", "--threshold", "-40", *CUT_FLAGS, "--manifest", fixed, check=0)
    fixed_cuts = ranges_by_source(manifest_rows(fixed))
    assert len({tuple(fixed_cuts.get(str(copies / f"talk_{-g}dB.wav"), ())) for g in GAINS_DB}) > 1, fixed_cuts


def test_auto_streamed_equals_the_reference_at_the_threshold_chosen_in_memory(talk, tmp_path, upstream):
    path = tmp_path / "talk.flac"  # compressed: the stream's samples are held (spilled to disk) until the end
    soundfile.write(path, (talk * 10 ** (-20 / 20)).astype(np.float32), SR, subtype="PCM_24")
    out = tmp_path / "out"
    with open(path, "rb") as f:
        result = slice_file(f, out, {"threshold": "auto", **CUT}, stem="talk", hold_bytes=1 << 16)
    assert result.spilled_frames > 0
    waveform, _ = soundfile.read(path, dtype="float32")
    # in memory: the levels of the whole waveform's frames choose the same threshold
    kept = levels.Levels()
    kept.add(Slicer(SR, **CUT).frame_rms(waveform))
    choice = kept.analysis()
    assert result.threshold_choice == choice and choice.separated
    marker = json.loads((out / ".talk.fastslice.json").read_text())
    assert marker["threshold"]["threshold"] == choice.threshold
    assert [c.threshold for c in result.clips] == [choice.threshold] * len(result.clips)
    # and the reference's clips at that threshold, bit for bit
    chunks = upstream.Slicer(SR, threshold=choice.threshold, min_length=CUT["min_length"],
                             min_interval=CUT["min_interval"], hop_size=CUT["hop_size"],
                             max_sil_kept=CUT["max_sil_kept"]).slice(waveform)
    got = [soundfile.read(c.clip, dtype="float32")[0] for c in result.clips]
    assert len(chunks) >= 4
    oracle.assert_same_chunks(chunks, got)
    # the command line, from a pipe, makes the same clips
    table = tmp_path / "pipe.csv"
    with open(path, "rb") as f:
        fastslice("slice", "-", "--stem", "talk", "-o", tmp_path / "piped", "--threshold", "auto", *CUT_FLAGS,
                  "--manifest", table, stdin=f, check=0)
    rows = manifest_rows(table)
    assert [(int(r["start_sample"]), int(r["end_sample"])) for r in rows] == \
        [(c.start_sample, c.end_sample) for c in result.clips]
    assert {float(r["threshold"]) for r in rows} == {choice.threshold}


def test_auto_n_is_n_db_above_the_noise_floor(copies, tmp_path):
    result = slice_file(copies / "talk_24dB.wav", tmp_path, {"threshold": "auto-12", **CUT}, dry_run=True)
    choice = result.threshold_choice
    assert choice.rule == "auto-12" and choice.threshold == pytest.approx(choice.noise_floor + 12)
    assert len(result.clips) >= 4


@pytest.mark.parametrize("kind", ["noise", "digital silence"])
def test_auto_on_a_recording_without_two_levels_warns_and_cuts_as_the_default(kind, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(20 * SR) * 0.03 if kind == "noise" else np.zeros(20 * SR)
    if kind == "noise":  # with a few quieter stretches: still one spread of levels
        for start in rng.integers(0, 19 * SR, 6):
            x[start : start + SR // 2] *= 0.5
    path = tmp_path / "steady.wav"
    soundfile.write(path, x.astype(np.float32), SR, subtype="PCM_16")
    tables = {}
    for threshold in ("auto", "-40"):
        tables[threshold] = tmp_path / f"{threshold}.csv"
        done = fastslice("slice", path, "-o", tmp_path / threshold, "--threshold", threshold, *CUT_FLAGS,
                         "--manifest", tables[threshold], check=0)
        if threshold == "auto":
            assert "steady.wav: --threshold auto: nothing separates two levels" in done.stderr, done.stderr
            assert "cut at -40 dB, as a fixed threshold would" in done.stderr
    assert [(r["start_sample"], r["end_sample"]) for r in manifest_rows(tables["auto"])] == \
        [(r["start_sample"], r["end_sample"]) for r in manifest_rows(tables["-40"])]


def test_threshold_rules_are_checked_with_the_flag_named(copies, tmp_path):
    talk = copies / "talk_12dB.wav"
    for args, said in [(["--threshold", "loud"], "'auto'"), (["--loudness", "-23", "--normalize", "-1"], "--normalize")]:
        done = fastslice("slice", talk, "-o", tmp_path / "out", *args)  # the command line says it, and writes nothing
        assert done.returncode == 2 and said in done.stderr, (args, done.stderr)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    for params, settings, said in [({"threshold": "auto-0"}, {}, "auto-N"), ({"threshold": "auto"}, {"cues": "auto"}, "--cues"),
                                   ({"threshold": "auto"}, {"detector": "speech"}, "--detector"),
                                   ({}, {"loudness_lufs": -80}, "--loudness"), ({}, {"peak_ceiling_dbfs": 3}, "--peak-ceiling"),
                                   ({}, {"no_clips": True, "loudness_lufs": -23}, "--no-clips")]:
        with pytest.raises(ParameterError, match=re.escape(said)):
            SliceOptions.make(params, **settings)


# -- loudness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (22050, 2), (44100, 2), (48000, 5)])
def test_loudness_equals_pyloudnorm_on_generated_signals(rate, channels):
    rng = np.random.default_rng(rate + channels)
    for floor_db in (-70.0, -50.0, -30.0):
        x = signals.speech_like(rate + int(floor_db), 12, rate, channels=channels, floor_db=floor_db,
                                dtype=np.float64).T
        x *= 10 ** (rng.uniform(-20, 0) / 20)
        meter = Meter(rate, channels)
        position = 0
        while position < x.shape[0]:  # blocks of every size, as readers give them
            step = int(rng.integers(1, 40000))
            meter.feed(x[position : position + step].astype(np.float32))
            position += step
        expected = pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float32).astype(np.float64))
        assert abs(meter.integrated() - expected) < 0.1
        assert meter.integrated() == pytest.approx(expected, abs=1e-6)  # the same method, not just near it


def _sine(db, seconds, rate=48000, channels=2):
    t = np.arange(int(round(seconds * rate))) / rate
    return np.repeat((10 ** (db / 20) * np.sin(2 * np.pi * 997 * t))[:, None], channels, axis=1)


# EBU Tech 3341 (v4) cases 1-6, generated: a 997 Hz sine (as the EBU's 1 kHz), in dBFS per channel.
EBU_3341 = {
    "1": ([(-23, 20)], -23.0),
    "2": ([(-33, 20)], -33.0),
    "3": ([(-36, 10), (-23, 60), (-36, 10)], -23.0),
    "4": ([(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),
    "5": ([(-26, 20), (-20, 20.1), (-26, 20)], -23.0),
}


@pytest.mark.parametrize("case", [*EBU_3341, "6"])
def test_loudness_meets_the_ebu_3341_compliance_cases(case):
    if case == "6":  # 5.0: L, R -28, C -24, Ls, Rs -30 dBFS
        x = np.concatenate([_sine(db, 20, channels=1) for db in (-28, -28, -24, -30, -30)], axis=1)
        expected = -23.0
    else:
        segments, expected = EBU_3341[case]
        x = np.concatenate([_sine(db, seconds) for db, seconds in segments])
    meter = Meter(48000, x.shape[1])
    for start in range(0, x.shape[0], 48000):
        meter.feed(x[start : start + 48000])
    assert abs(meter.integrated() - expected) <= 0.1
    assert abs(pyloudnorm.Meter(48000).integrated_loudness(x) - expected) <= 0.1


def test_a_meter_says_what_it_cannot_measure():
    short = Meter(16000, 1)
    short.feed(np.full((6000, 1), 0.1, np.float32))
    assert short.integrated() is None  # under one 400 ms block
    quiet = Meter(16000, 1)
    quiet.feed(_sine(-80, 2, rate=16000, channels=1))
    assert quiet.integrated() == -np.inf


def _loud_and_hot(tmp_path):
    """Stereo 44.1 kHz speech-like bursts; one stretch has a click at -0.5 dBFS over a quiet hum."""
    rate = 44100
    x = signals.speech_like(31, 40, rate, channels=2, floor_db=-60).T * 0.5
    hot = slice(int(12 * rate), int(18 * rate))
    x[hot] = 0.02 * np.sin(2 * np.pi * 120 * np.arange(hot.stop - hot.start) / rate)[:, None]
    x[int(15 * rate) : int(15 * rate) + 40] = 10 ** (-0.5 / 20)
    x[int(11.4 * rate) : int(12 * rate)] = 0
    x[int(18 * rate) : int(18.6 * rate)] = 0
    path = tmp_path / "loud.wav"
    soundfile.write(path, x, rate, subtype="PCM_16")
    return path


def test_loudness_brings_every_clip_to_the_target_or_its_peak_to_the_ceiling(tmp_path):
    path = _loud_and_hot(tmp_path)
    out = tmp_path / "out"
    table = tmp_path / "m.csv"
    done = fastslice("slice", path, "-o", out, "--threshold", "-45", *CUT_FLAGS, "--loudness", "-23",
                     "--peak-ceiling", "-1", "--manifest", table, check=0)
    rows = manifest_rows(table)
    assert len(rows) >= 5
    at_target = at_ceiling = 0
    for row in rows:
        if int(row["end_sample"]) - int(row["start_sample"]) < 0.4 * 44100:  # no loudness: named, left as it is
            note = next(line for line in done.stderr.splitlines() if "left at their own gain" in line)
            assert row["clip"].rsplit("/", 1)[-1] in note.split("(-1 dBFS): ", 1)[1].split(", "), note
            continue
        measured, peak = loudness_of(tmp_path / row["clip"])
        assert peak <= -1 + 0.01, (row["clip"], peak)
        if abs(measured + 23) <= 0.1:
            at_target += 1
        else:
            assert measured < -23 and abs(peak + 1) <= 0.01, (row["clip"], measured, peak)  # held by the ceiling
            at_ceiling += 1
    assert at_target >= 3 and at_ceiling >= 1, done.stderr
    assert "clipped" not in done.stderr


def test_clips_too_short_to_measure_are_named_and_left_as_they_are(tmp_path):
    rate = 16000
    rng = np.random.default_rng(8)
    x = rng.standard_normal(6 * rate) * 10 ** (-70 / 20)
    x[int(1.0 * rate) : int(1.25 * rate)] += 0.05 * rng.standard_normal(int(0.25 * rate))  # a 250 ms burst
    x[int(3.0 * rate) : int(5.0 * rate)] += 0.05 * rng.standard_normal(2 * rate)
    path = tmp_path / "blip.wav"
    soundfile.write(path, x.astype(np.float32), rate, subtype="FLOAT")
    out = tmp_path / "out"
    done = fastslice("slice", path, "-o", out, "--threshold", "-40", "--min-length", "100", "--min-interval", "100",
                     "--hop-size", "10", "--max-sil-kept", "50", "--loudness", "-23", "--manifest", tmp_path / "m.csv",
                     check=0)
    rows = manifest_rows(tmp_path / "m.csv")
    short = [r for r in rows if int(r["end_sample"]) - int(r["start_sample"]) < 0.4 * rate]
    assert len(short) == 1 and len(rows) >= 2
    name = short[0]["clip"].rsplit("/", 1)[-1]
    assert f"blip.wav: no loudness for 1 clip shorter than 400 ms (one gating block); left at their own gain, " \
           f"under the ceiling (-1 dBFS): {name}" in done.stderr, done.stderr
    clip, _ = soundfile.read(tmp_path / short[0]["clip"], dtype="float32")
    assert np.array_equal(clip, x.astype(np.float32)[int(short[0]["start_sample"]) : int(short[0]["end_sample"])])
    long_ = [r for r in rows if r is not short[0]]
    assert all(abs(loudness_of(tmp_path / r["clip"])[0] + 23) <= 0.1 for r in long_)


# -- clipping --------------------------------------------------------------------------------------


def test_samples_an_integer_format_clips_are_counted_and_the_clip_named(tmp_path):
    rate = 16000
    t = np.arange(3 * rate) / rate
    x = np.zeros(10 * rate, np.float32)
    x[rate : 4 * rate] = 1.5 * np.sin(2 * np.pi * 220 * t)  # past full scale
    x[6 * rate : 9 * rate] = 0.5 * np.sin(2 * np.pi * 220 * t)
    path = tmp_path / "hot.wav"
    soundfile.write(path, x, rate, subtype="FLOAT")
    done = fastslice("slice", path, "-o", tmp_path / "out", *CUT_FLAGS, "--subtype", "PCM_16",
                     "--manifest", tmp_path / "m.csv", check=0)
    first, second = manifest_rows(tmp_path / "m.csv")
    over = int(np.count_nonzero(np.abs(x[int(first["start_sample"]) : int(first["end_sample"])]) > 1.0))
    assert over > 0
    assert f"hot.wav: clip hot_0.wav: {over} samples past full scale clipped writing PCM_16; keep the peaks under " \
           "it with --peak-ceiling -1" in done.stderr, done.stderr
    assert "hot_1.wav" not in done.stderr
    # the fix the warning gives: no clipping, the peak at the ceiling
    fixed = fastslice("slice", path, "-o", tmp_path / "fixed", *CUT_FLAGS, "--subtype", "PCM_16", "--peak-ceiling", "-1",
                      check=0)
    assert "clipped" not in fixed.stderr
    assert loudness_of(tmp_path / "fixed" / "hot_0.wav")[1] == pytest.approx(-1, abs=0.01)
    assert np.array_equal(soundfile.read(tmp_path / "fixed" / "hot_1.wav", dtype="int16")[0],
                          soundfile.read(tmp_path / "out" / "hot_1.wav", dtype="int16")[0])  # under it: unchanged


def test_resampling_overshoot_into_16_bit_is_reported(tmp_path):
    rate = 16000
    square = np.where(np.sin(2 * np.pi * 300 * np.arange(4 * rate) / rate) >= 0, 0.999, -0.999)
    x = np.concatenate([np.zeros(rate), square, np.zeros(rate)])
    path = tmp_path / "square.wav"
    soundfile.write(path, x, rate, subtype="PCM_16")
    done = fastslice("slice", path, "-o", tmp_path / "out", *CUT_FLAGS, "--sr", "44100", check=0)
    assert "square.wav: clip square_0.wav: " in done.stderr and "past full scale clipped writing PCM_16" in done.stderr


# -- analyze ---------------------------------------------------------------------------------------


def test_analyze_prints_the_integrated_loudness_and_the_threshold_auto_chooses(copies, tmp_path):
    path = tmp_path / "ebu1.wav"
    soundfile.write(path, _sine(-23, 20).astype(np.float32), 48000, subtype="FLOAT")
    done = fastslice("analyze", path, check=0)
    assert re.search(r"^integrated loudness \(LUFS\) +-23\.0 ", done.stdout, re.M), done.stdout
    talk = fastslice("analyze", copies / "talk_24dB.wav", "--threshold", "auto", *CUT_FLAGS, check=0)
    result = slice_file(copies / "talk_24dB.wav", tmp_path, {"threshold": "auto", **CUT}, dry_run=True)
    line = next(line for line in talk.stdout.splitlines() if line.startswith("threshold used (dB)"))
    assert line.split()[3] == f"{result.threshold_choice.threshold:.1f}" and "(auto)" in line
    assert re.search(rf"^clips +{len(result.clips)}$", talk.stdout, re.M), talk.stdout


def test_a_stream_stopped_with_ctrl_c_under_auto_keeps_the_clips_of_what_was_read(tmp_path):
    rate = 16000
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "fastslice", "slice", "-", "-o", str(out), "--stem", "radio", "--threshold", "auto",
            *CUT_FLAGS, "--manifest", str(tmp_path / "radio.csv")]
    # 8 blocks written: the pipe holds at most 64 KB, so the slicer has read more than 7 (35 s)
    returncode, stderr, written = endless.slice_until_interrupted(argv, rate, "floor", blocks=8)
    assert returncode == 130, stderr
    marker = json.loads((out / ".radio.fastslice.json").read_text())
    threshold = marker["threshold"]["threshold"]
    rows = manifest_rows(tmp_path / "radio.csv")
    clips = sorted(out.glob("radio_*.wav"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    assert len(clips) >= 4 and len(rows) == len(clips)
    assert sorted(p.name for p in out.iterdir()) == sorted([".radio.fastslice.json", *(p.name for p in clips)])
    assert {float(r["threshold"]) for r in rows} == {threshold}
    # the clips are those the whole stream's samples give at that threshold, in memory (all but the open last one)
    samples = endless.samples(written + 2, rate, "floor")
    expected = Slicer(rate, threshold=threshold, **CUT).slice_ranges(samples.astype(np.float32) / 32768).tolist()
    for path, row, (start, end) in zip(clips, rows, expected):
        got, got_rate = soundfile.read(path, dtype="int16")
        assert (int(row["start_sample"]), int(row["end_sample"])) == (start, end)
        assert got_rate == rate and np.array_equal(got, samples[start:end]), path
    assert int(rows[-1]["end_sample"]) <= marker["seconds"] * rate
