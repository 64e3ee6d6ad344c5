"""--name TEMPLATE: GPT-SoVITS's and fish-audio-preprocess's clip names, subfolders, and refusals."""
import csv
import re

import pytest
import soundfile

import signals
from fastslice import ParameterError
from fastslice.output.clipnames import ClipNames
from runner import fastslice

SR = 16000
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "300"]



def recording(folder, name, seed=41, seconds=30):
    path = folder / name
    x = signals.with_digital_silence(signals.speech_like(seed, seconds, SR), seed, SR)
    soundfile.write(path, x.T, SR, subtype="PCM_16", format="WAV")
    return path


def manifest_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_gpt_sovits_names_hold_the_clips_samples(tmp_path, jobs):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k in range(3):
        recording(inputs, f"take{k}.wav", seed=50 + k)
    out = tmp_path / "out"
    done = fastslice("slice", inputs, "-o", out, "-q", "-j", jobs, "--manifest", tmp_path / "m.csv",
                     "--name", "{stem}_{start:010d}_{end:010d}", *OPTIONS)
    assert done.returncode == 0, done.stderr
    rows = manifest_rows(tmp_path / "m.csv")
    assert len(rows) > 6
    for row in rows:
        stem = row["source"].rsplit("/", 1)[1][:-4]
        assert row["clip"] == f"out/{stem}_{int(row['start_sample']):010d}_{int(row['end_sample']):010d}.wav"
    assert files_under(out) == sorted([r["clip"].split("out/", 1)[1] for r in rows] +
                                      [f".take{k}.fastslice.json" for k in range(3)])


def test_fish_folders_resume_and_a_new_template_replaces_the_old_clips(tmp_path):
    source = recording(tmp_path, "talk.wav")
    out = tmp_path / "out"
    assert fastslice("slice", source, "-o", out, "-q", "--name", "{stem}/{i:04d}", *OPTIONS).returncode == 0
    clips = files_under(out / "talk")
    assert clips[:2] == ["0000.wav", "0001.wav"] and len(clips) > 3
    marker = out / ".talk.fastslice.json"
    stamp = marker.stat().st_mtime_ns
    assert fastslice("slice", source, "-o", out, "-q", "--name", "{stem}/{i:04d}", *OPTIONS).returncode == 0
    assert marker.stat().st_mtime_ns == stamp  # complete: skipped
    done = fastslice("slice", source, "-o", out, "-q", "--name", "{stem}_{start_ms}ms", *OPTIONS)
    assert done.returncode == 0, done.stderr
    assert not (out / "talk").exists() or files_under(out / "talk") == []  # the old names are gone
    new = [p for p in files_under(out) if p.endswith(".wav")]
    assert len(new) == len(clips) and all(re.fullmatch(r"talk_\d+ms\.wav", p) for p in new)


def test_standard_input_uses_the_stem(tmp_path):
    source = recording(tmp_path, "talk.wav")
    with open(source, "rb") as stdin:
        done = fastslice("slice", "-", "-o", tmp_path / "out", "-q", "--stem", "ep1", "--name", "{stem}/{i:03d}",
                         *OPTIONS, stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert files_under(tmp_path / "out" / "ep1")[0] == "000.wav"


@pytest.mark.parametrize("template, message", [
    ("../{stem}_{i}", "outside the output folder"),
    ("/tmp/{stem}_{i}", "an absolute or empty path"),
    ("{stem}/../../{i}", "outside the output folder"),
    ("{stem}", "put {i}, {start} or {start_ms} in it"),
    ("{stem}_{take}", "unknown field {take}"),
    ("{stem}_{i:q}", "Unknown format code"),
    (".{stem}_{i}", "would hide it"),
])
def test_unsafe_or_useless_templates_are_refused_before_any_work(tmp_path, template, message):
    source = recording(tmp_path, "talk.wav", seconds=5)
    done = fastslice("slice", source, "-o", tmp_path / "out", "--name", template, *OPTIONS)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(ParameterError):
        ClipNames(template).name("talk", 0, 0, 0, SR)


def test_inputs_whose_names_clash_or_escape_are_refused_and_the_rest_sliced(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    recording(inputs, "a.wav", seed=1)
    recording(inputs, "b.wav", seed=2)
    done = fastslice("slice", inputs, "-o", tmp_path / "out", "-q", "--name", "{i:03d}", *OPTIONS)
    assert done.returncode == 1
    assert "b.wav: its clips would have the same names as those of" in done.stderr and "put {stem} in --name" in done.stderr
    assert (tmp_path / "out" / ".a.fastslice.json").exists() and not (tmp_path / "out" / ".b.fastslice.json").exists()
    # A stem that is itself '..' (a file named "...wav") cannot lead outside with '{stem}/{i}'.
    dots = recording(tmp_path, "...wav", seed=3, seconds=5)
    done = fastslice("slice", dots, "-o", tmp_path / "out2", "--name", "{stem}/{i}", *OPTIONS)
    assert done.returncode == 1 and "outside the output folder" in done.stderr and "...wav" in done.stderr
    assert not list(tmp_path.glob("*.wav*")) or [p.name for p in tmp_path.glob("*.wav*")] == ["...wav"]
    assert not (tmp_path / "out2").exists() or files_under(tmp_path / "out2") == []


def test_names():
    names = ClipNames("{stem}/{i:04d}_{start_ms}-{end_ms}")
    assert names.name("talk", 3, 16000, 48000, SR) == "talk/0003_1000-3000"
    assert ClipNames().name("talk", 7, 0, 1, SR) == "talk_7" and ClipNames().is_default
    assert ClipNames("{speaker}/{stem}_{i}").name("talk", 2, 0, 1, SR, "alice") == "alice/talk_2"
    safe = ClipNames("{speaker}/{stem}_{i}", ascii_safe=True)
    assert safe.name("café au lait", 0, 0, 1, SR, "Zoë") == "Zoe/cafe_au_lait_0"
    japanese = safe.name("日本語", 0, 0, 1, SR, "s")
    assert re.fullmatch(r"s/_[0-9a-f]{6}_0", japanese) and japanese != safe.name("中文", 0, 0, 1, SR, "s")
