"""Names safe on every file system: what Windows refuses mapped (or, native, written as it is), Unicode names through
every writer, list and page, NFC and NFD as one name, and Windows' file habits (removals held by
another program, paths past 260 characters).

Windows itself is not run here: its rules are applied on every platform (a library made on Linux
is copied to a Windows drive), and each is tested as fastslice applies it.  The held removals are
real: a file made immutable (``chattr +i``) on a real ext4 file system refuses its removal with
``EPERM`` until the test lifts the flag, at the seam the retry loop reaches between tries.
"""
from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import soundfile
from runner import fastslice, fastslice_process
from test_cli import OPTIONS, expected_clips, write_recording

import loopfs
from fastslice import ParameterError
from fastslice.system import fileops
from fastslice.system import filenames as names
from fastslice.batch import slice_files
from fastslice.output.clipnames import ClipNames
from fastslice.seams import Seam

#: names Windows refuses cannot even be made there as inputs: those tests run where they can be
POSIX_NAMES = pytest.mark.skipif(os.name == "nt", reason="Windows cannot hold these input names (the rules are "
                                 "tested where the inputs can exist)")
#: the tests that hold the code at a seam need named pipes (POSIX)
SEAMS = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="test seams need named pipes (POSIX)")

NFC_CAFE = unicodedata.normalize("NFC", "café")
NFD_CAFE = unicodedata.normalize("NFD", "café")


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def audio_under(folder: Path) -> list[str]:
    return [p for p in files_under(folder) if not p.split("/")[-1].startswith(".") and p.endswith(
        (".wav", ".flac", ".ogg", ".mp3", ".aiff"))]


# -- Windows' rules, one by one ------------------------------------------------------------------------


@pytest.mark.parametrize("part, says", [
    *[(device, "device name") for device in ("CON", "prn", "Aux", "nul", "COM1", "com9", "LPT1", "lpt9",
                                             "COM\u00b9", "LPT\u00b3", "CONIN$", "conout$")],
    ("nul.wav", "device name NUL"), ("Con .txt", "device name CON"), ("aux.tar.gz", "device name AUX"),
    ("take.", "ends with a dot"), ("take ", "ends with a space"), ("a...", "ends with a dot"),
    *[(f"a{c}b", repr(c)) for c in '<>:"|?*\\'],
    *[(f"a{chr(code)}b", f"control character {code}") for code in (0, 1, 9, 10, 13, 27, 31)],
])
def test_each_windows_rule_refuses_its_names(part, says):
    problem = names.part_problem(part)
    assert problem is not None and says in problem, problem
    assert names.path_problem(f"ok/{part}/fine") == problem


@pytest.mark.parametrize("part", ["console", "com10", "COM0", "nul_0", "auxiliary", "LPT", "com\u00b9_x", "take_0",
                                  "café", "日本語", "🎤 talk", ".hidden", "a.b.c", " leading", "x\x7f"])
def test_names_windows_takes_pass(part):
    assert names.part_problem(part) is None


def test_a_trailing_dot_before_the_extension_is_allowed_but_not_in_a_folder():
    assert names.path_problem("take.", extension_follows=True) is None  # "take..wav" is a fine name
    assert "ends with a dot" in names.path_problem("take./0", extension_follows=True)


# -- names mapped, not refused (--names portable, the default) ------------------------------------------


@pytest.mark.parametrize("char, mapped", [(c, chr(ord(c) + 0xFEE0)) for c in '"*:<>?|'] + [("\\", "\u29f9")]
                         + [(chr(code), chr(0x2400 + code)) for code in (0, 1, 9, 10, 13, 27, 31)])
def test_each_forbidden_character_maps_to_its_look_alike(char, mapped):
    stem = f"a{char}b"
    assert names.portable_stem(stem) == f"a{mapped}b"
    assert names.portable_part(stem) == f"a{mapped}b"
    assert names.part_problem(names.portable_stem(stem)) is None
    assert names.portable_stem(names.portable_stem(stem)) == names.portable_stem(stem)  # the same every time


@pytest.mark.parametrize("part, mapped", [
    ("take.", "take\uff0e"), ("take ", "take\u3000"), ("a. .", "a\uff0e\u3000\uff0e"),
    *[(device, device + "_") for device in ("CON", "prn", "Aux", "nul", "COM1", "com9", "LPT1", "lpt9",
                                            "COM\u00b9", "LPT\u00b3", "CONIN$", "conout$")],
    ("nul.wav", "nul_.wav"), ("Con .txt", "Con_ .txt"), ("aux.tar.gz", "aux_.tar.gz"), ("COM3.", "COM3\uff0e"),
])
def test_trailing_dots_spaces_and_device_names_are_mapped_in_a_part(part, mapped):
    assert names.portable_part(part) == mapped
    assert names.part_problem(mapped) is None
    assert names.portable_part(mapped) == mapped


@pytest.mark.parametrize("part", ["console", "com10", "COM0", "nul_0", "take_0", "café", "日本語", "🎤 talk", "a.b.c",
                                  "Episode 1 Start", "x" * 250])
def test_names_that_need_no_mapping_are_kept_as_they_are(part):
    assert names.portable_part(part) == part and names.portable_stem(part[:200]) == part[:200]


def test_a_long_name_is_shortened_at_a_character_boundary_keeping_a_hash_of_the_whole():
    one, two = "長" * 81 + "一", "長" * 81 + "二"  # 246 bytes each: valid on ext4, too long with a suffix
    a, b = names.portable_stem(one), names.portable_stem(two)
    assert a != b and a.startswith("長" * 60) and "\u2026" in a
    assert len(a.encode()) <= names.STEM_BYTES and names.portable_stem(one) == a
    accented = names.shorten(unicodedata.normalize("NFD", "é" * 200), 100)
    assert len(accented.encode()) <= 100 and not unicodedata.combining(accented.split("\u2026")[0][0])
    emoji = names.portable_part("🎤" * 70)  # 280 bytes, 140 UTF-16 units
    assert len(emoji.encode()) <= 255 and emoji.startswith("🎤" * 58)
    assert ClipNames().name(a, 12, 0, 0, 1000) == a + "_12"


@pytest.mark.parametrize("template, stem, name", [
    ("{stem}:{i}", "talk", "talk\uff1a3"),
    ("nul/{stem}_{i}", "talk", "nul_/talk_3"),
    ("{stem}_{i}/com1", "talk", "talk_3/com1_"),
    ("{stem}./{i}", "talk", "talk\uff0e/3"),
    ("{stem} /{i}", "talk", "talk\u3000/3"),
    ("{stem}|{i}", "talk", "talk\uff5c3"),
    ("{stem}?{i}", "talk", "talk\uff1f3"),
    ("{stem}\t{i}", "talk", "talk\u24093"),
    ("{stem}/{i}", "nul", "nul_/3"),
    ("{stem}/{i}", "take.", "take\uff0e/3"),
])
def test_a_template_windows_refuses_is_mapped_too(template, stem, name):
    clip_names = ClipNames(template)
    assert clip_names.name(clip_names.stem(stem), 3, 0, 0, 1000) == name
    assert names.path_problem(name, extension_follows=True) is None


@pytest.mark.parametrize("template, says", [
    ("{stem}\\{i}", "subfolders in --name are written with '/'"),
    ("../{stem}_{i}", "outside the output folder"),
    ("/abs/{stem}_{i}", "absolute"),
    (".{stem}_{i}", "hide"),
])
def test_a_template_that_would_leave_the_output_folder_is_still_refused(tmp_path, template, says):
    with pytest.raises(ParameterError, match=re.escape(says)):
        ClipNames(template)
    source = write_recording(tmp_path / "talk.wav", 3, seconds=5)
    done = fastslice("slice", source, "-o", tmp_path / "out", "--name", template, *OPTIONS)
    assert done.returncode == 2 and says in done.stderr and "--name" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


USERS_NAMES = ["Episode 1: Start", "Where are you?", "10:30 news", "a|b", '"quoted" *star*']


def users_library(folder: Path) -> Path:
    for k, stem in enumerate(USERS_NAMES):
        write_recording(folder / f"{stem}.wav", 70 + k, seconds=6)
    return folder


@POSIX_NAMES
def test_the_names_users_have_are_sliced_under_their_mapped_names_and_a_rerun_writes_nothing(tmp_path):
    inputs = users_library(tmp_path / "in")
    out, listing = tmp_path / "out", tmp_path / "out.csv"
    done = fastslice("slice", inputs, "-o", out, "-j", "2", "--manifest", listing, *OPTIONS)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(listing.open(encoding="utf-8")))
    for stem in USERS_NAMES:
        mapped = names.portable_stem(stem)
        assert mapped != stem and names.part_problem(mapped) is None
        clips = sorted((p for p in out.glob("*.wav") if p.name.startswith(mapped + "_")),
                       key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        want = expected_clips(inputs / f"{stem}.wav")
        assert [p.name for p in clips] == [f"{mapped}_{i}.wav" for i in range(len(want))]
        for path, samples in zip(clips, want):
            assert np.array_equal(soundfile.read(path, dtype="int16", always_2d=True)[0], samples)
        assert (out / f".{mapped}.fastslice.json").is_file()
        mine = [r for r in rows if r["source"] == str(inputs / f"{stem}.wav")]  # the real source, the mapped clip
        assert sorted(Path(r["clip"]).name for r in mine) == sorted(p.name for p in clips)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    again = fastslice("slice", inputs, "-o", out, "-j", "2", "--manifest", listing, *OPTIONS)
    assert again.returncode == 0, again.stderr
    assert f"{len(USERS_NAMES)} files ({len(USERS_NAMES)} already done, 0 failed), wrote 0 clips" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name != "out.csv"} == \
        {p: t for p, t in before.items() if p.name != "out.csv"}


@POSIX_NAMES
def test_names_native_writes_names_as_they_are_where_the_folder_takes_them(tmp_path):
    inputs = users_library(tmp_path / "in")
    out = tmp_path / "out"
    done = fastslice("slice", inputs / "Episode 1: Start.wav", "-o", out, "--names", "native", *OPTIONS)
    assert done.returncode == 0, done.stderr
    assert (out / "Episode 1: Start_0.wav").is_file() and (out / ".Episode 1: Start.fastslice.json").is_file()
    assert not list(out.glob("*\uff1a*"))


@POSIX_NAMES
def test_a_stem_of_82_cjk_characters_slices_and_two_that_differ_at_their_end_stay_apart(tmp_path):
    inputs = tmp_path / "in"
    one = write_recording(inputs / ("長" * 81 + "一.wav"), 80, seconds=6)
    two = write_recording(inputs / ("長" * 81 + "二.wav"), 81, seconds=6)
    assert len(os.path.basename(one).encode()) == 250
    out = tmp_path / "out"
    done = fastslice("slice", inputs, "-o", out, *OPTIONS)
    assert done.returncode == 0, done.stderr
    for source in (one, two):
        mapped = names.portable_stem(source.stem)
        assert len(mapped.encode()) <= names.STEM_BYTES
        assert len([p for p in out.glob("*.wav") if p.name.startswith(mapped + "_")]) == len(expected_clips(source))
    assert len(list(out.glob(".*.fastslice.json"))) == 2
    again = fastslice("slice", inputs, "-o", out, *OPTIONS)
    assert again.returncode == 0 and "2 files (2 already done, 0 failed), wrote 0 clips" in again.stderr, again.stderr


@POSIX_NAMES
def test_a_mirrored_folder_windows_refuses_is_mapped(tmp_path):
    inputs = tmp_path / "in"
    write_recording(inputs / "spk: one" / "a.wav", 6, seconds=6)
    write_recording(inputs / "nul" / "b.wav", 7, seconds=6)
    write_recording(inputs / "end." / "c.wav", 8, seconds=6)
    done = fastslice("slice", inputs, "-o", tmp_path / "out", *OPTIONS)
    assert done.returncode == 0, done.stderr
    folders = {p.split("/")[0] for p in audio_under(tmp_path / "out")}
    assert folders == {"spk\uff1a one", "nul_", "end\uff0e"}


@POSIX_NAMES
@pytest.mark.parametrize("first, second", [("a:b.wav", "a\uff1ab.wav"), ("what?.flac", "what\uff1f.wav")])
def test_two_inputs_that_map_to_one_name_are_refused_before_any_clip(tmp_path, first, second):
    inputs = tmp_path / "in"
    write_recording(inputs / first, 4, seconds=6)
    write_recording(inputs / second, 5, seconds=6)
    write_recording(inputs / "good.wav", 6, seconds=6)
    out = tmp_path / "out"
    done = fastslice("slice", inputs, "-o", out, "--manifest", tmp_path / "m.csv", *OPTIONS)
    assert done.returncode == 1, done.stderr
    line = next(ln for ln in done.stderr.splitlines() if "neither is sliced" in ln)
    assert str(inputs / first) in line and str(inputs / second) in line and "mapped" in line, line
    assert [p.name for p in out.glob(".*.fastslice.json")] == [".good.fastslice.json"]
    assert all(p.startswith("good_") for p in audio_under(out))


@POSIX_NAMES
def test_two_folders_that_map_to_one_are_refused_with_their_inputs(tmp_path):
    inputs = tmp_path / "in"
    write_recording(inputs / "a:b" / "x.wav", 6, seconds=6)
    write_recording(inputs / "a\uff1ab" / "y.wav", 7, seconds=6)
    write_recording(inputs / "two" / "c.wav", 8, seconds=6)
    done = fastslice("slice", inputs, "-o", tmp_path / "out", *OPTIONS)
    assert done.returncode == 1
    line = next(ln for ln in done.stderr.splitlines() if "neither is sliced" in ln)
    assert str(inputs / "a:b") in line and str(inputs / "a\uff1ab") in line, line
    assert audio_under(tmp_path / "out") and all(p.startswith("two/") for p in audio_under(tmp_path / "out"))


@POSIX_NAMES
@SEAMS
def test_a_stem_that_is_a_device_name_gets_clips_and_temporaries_windows_takes(tmp_path):
    inputs = tmp_path / "in"
    for k, stem in enumerate(["aux", "~aux", "Com1"]):
        write_recording(inputs / f"{stem}.wav", 40 + k, seconds=6)
    out = tmp_path / "out"
    with Seam(tmp_path / "seams", "clip-writing") as seam:
        run = fastslice_process("slice", inputs, "-o", out, *OPTIONS, env=seam.env)
        seam.wait(1)
        writing = os.listdir(out / ".fastslice.work")
        seam.release()
        _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert writing and all(names.part_problem(name) is None for name in writing), writing
    for stem in ("aux", "~aux", "Com1"):
        clips = [c for c in audio_under(out) if c.startswith(f"{stem}_")]
        assert len(clips) == len(expected_clips(inputs / f"{stem}.wav"))
        assert all(names.path_problem(c) is None for c in clips)
    assert names.work_stem("aux") == "~aux" and names.work_stem("~aux") == "~~aux" and names.work_stem("take") == "take"


# -- Unicode names through every writer, list and page ---------------------------------------------------


UNICODE_STEMS = ["日本語の録音", NFC_CAFE + " noir", "🎤 talk", "Ελληνικά"]


@pytest.fixture(scope="module")
def unicode_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("unicode") / "in"
    for k, stem in enumerate(UNICODE_STEMS):
        write_recording(root / "Zoë" / f"{stem}.wav", 60 + k, seconds=8)
    return root


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "aiff"])
def test_unicode_names_round_trip_through_writers_manifest_exports_and_page(unicode_library, tmp_path, fmt):
    out = tmp_path / "out"
    done = fastslice("slice", unicode_library, "-o", out, *OPTIONS, "--format", fmt, "--speaker-from-folder",
                     "--manifest", tmp_path / "m.jsonl", "--export", "hf", "--export", "nemo", "--export", "kaldi",
                     "--export", "lhotse:" + str(tmp_path / "lhotse"), "--export", "gpt-sovits", "--language", "ja",
                     "--review", "--zip", tmp_path / "set.zip", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    clips = audio_under(out)
    for stem in UNICODE_STEMS:  # every writer: the files, named as given, complete and readable
        mine = [c for c in clips if c.startswith(f"Zoë/{stem}_")]
        assert mine and all(c.endswith("." + fmt) for c in mine), clips
        for clip in mine:
            assert soundfile.info(out / clip).frames > 0
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(Path(r["clip"]).relative_to("out").as_posix() for r in rows) == clips
    assert {r["speaker"] for r in rows} == {"Zoë"}
    exported = {
        "hf": (out / "metadata.jsonl").read_text(encoding="utf-8"),
        "nemo": (out / "manifest.json").read_text(encoding="utf-8"),
        "kaldi": (out / "kaldi" / "wav.scp").read_text(encoding="utf-8"),
        "lhotse": gzip.open(tmp_path / "lhotse" / "recordings.jsonl.gz", "rt", encoding="utf-8").read(),
        "gpt-sovits": (out / "dataset.list").read_text(encoding="utf-8"),
    }
    for export, text in exported.items():
        for clip in clips:
            assert Path(clip).name in text, (export, clip)
    with zipfile.ZipFile(tmp_path / "set.zip") as archive:  # the zip: UTF-8 names, each clip's bytes
        assert sorted(n for n in archive.namelist() if not n.endswith("/")) == clips
        assert all(archive.read(clip) == (out / clip).read_bytes() for clip in clips)
    page = (out / "review.html").read_text(encoding="utf-8")
    for clip in clips:  # the page lists each clip by name, and links its file
        assert json.dumps(Path(clip).name)[1:-1] in page, clip
        assert "/".join(quote(part) for part in clip.split("/")) in page, clip


def test_a_name_in_nfd_is_written_in_nfc_and_found_again(tmp_path):
    source = write_recording(tmp_path / "in" / f"{NFD_CAFE}.wav", 11, seconds=6)
    out = tmp_path / "out"
    fastslice("slice", source, "-o", out, *OPTIONS, "--manifest", tmp_path / "m.csv", check=0)
    clips = audio_under(out)
    assert clips and all(c.startswith(f"{NFC_CAFE}_") for c in clips) and all(
        unicodedata.is_normalized("NFC", c) for c in clips)
    assert [n for n in os.listdir(out) if n.endswith(".fastslice.json")] == [f".{NFC_CAFE}.fastslice.json"]
    rows = list(csv.DictReader((tmp_path / "m.csv").open(encoding="utf-8")))
    assert all(unicodedata.is_normalized("NFC", Path(r["clip"]).name) for r in rows)
    again = fastslice("slice", source, "-o", out, *OPTIONS, check=0)
    assert "1 already done" in again.stderr, again.stderr


def test_nfc_and_nfd_spellings_of_one_stem_are_refused_naming_both(tmp_path):
    inputs = tmp_path / "in"
    composed = write_recording(inputs / f"{NFC_CAFE}.wav", 12, seconds=6)
    decomposed = write_recording(inputs / f"{NFD_CAFE}.wav", 13, seconds=6)
    other = write_recording(inputs / "other.wav", 14, seconds=6)
    if len(os.listdir(inputs)) < 3:
        pytest.skip("this file system takes both spellings for one name (macOS): there is nothing to refuse")
    out = tmp_path / "out"
    done = fastslice("slice", inputs, "-o", out, *OPTIONS)
    assert done.returncode == 1
    line = next(ln for ln in done.stderr.splitlines() if "NFC" in ln)
    assert str(composed) in line and str(decomposed) in line and "neither is sliced" in line, line
    assert [p for p in audio_under(out) if not p.startswith("other_")] == []
    assert len(audio_under(out)) == len(expected_clips(other))


# -- case: probed once per run ---------------------------------------------------------------------------


def test_a_case_sensitive_folder_keeps_todays_names_and_the_probe_runs_once(tmp_path, monkeypatch):
    from fastslice.batch import scan

    inputs = tmp_path / "in"
    for k in range(40):
        write_recording(inputs / ("Talk" if k == 0 else "talk") / f"t{k:02d}.wav", 20 + k, seconds=2)
    probes = []
    real = scan.case_insensitive

    def counted(folder):
        probes.append(folder)
        return real(folder)

    monkeypatch.setattr(scan, "case_insensitive", counted)
    out = tmp_path / "out"
    if names.case_insensitive(tmp_path):
        pytest.skip("the temporary folder is case-insensitive here (Windows, macOS): test_exfat shows that case")
    jobs, problems = scan.expand_inputs([inputs], out)
    assert len(jobs) == 40 and problems == [] and len(probes) == 1
    assert not out.exists()  # the probe's folder was made for it and removed
    assert not [p for p in tmp_path.rglob(".fastslice-case-*")]


def test_the_case_probe_keeps_no_answer_between_runs(tmp_path, monkeypatch):
    """Each call probes (the run holds the answer, not the module): two runs, two probe files."""
    made = []
    real = names.uuid.uuid4

    def counted():
        made.append(1)
        return real()

    monkeypatch.setattr(names.uuid, "uuid4", counted)
    first = names.case_insensitive(tmp_path)
    assert names.case_insensitive(tmp_path) == first and len(made) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fastslice-case-")]


def test_the_folded_spelling_compares_as_ntfs_and_exfat_do():
    assert names.fold("Talk", True) == names.fold("TALK", True) == names.fold("talk", True)
    assert names.fold("Talk", False) != names.fold("talk", False)
    assert names.fold(NFD_CAFE, False) == NFC_CAFE
    assert names.fold("Zoë", True) == names.fold("ZOË", True)
    assert names.fold("straße", True) != names.fold("strasse", True)  # one letter for one, as the up-case tables


# -- Windows' file habits: held removals are tried again, long paths explained -----------------------------


@pytest.fixture
def ext4_folder(tmp_path):
    """A folder on a real ext4 file system where ``chattr +i`` works: tmp_path, or a loop image."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0:
        subprocess.run(["chattr", "-i", str(probe)], check=True)
        probe.unlink()
        yield tmp_path
        return
    probe.unlink()
    try:
        with loopfs.mounted("ext4", tmp_path / "ext4", size_mb=64) as point:
            yield point
    except loopfs.Unavailable as exc:
        pytest.skip(f"no file system with chattr here: {exc}")


def sliced_then_held(folder: Path) -> tuple[Path, Path, Path]:
    """A file sliced once into folder/out, its first clip made immutable: (source, out, that clip)."""
    source = write_recording(folder / "talk.wav", 31, seconds=8)
    out = folder / "out"
    fastslice("slice", source, "-o", out, *OPTIONS, "-q", check=0)
    held = out / "talk_0.wav"
    subprocess.run(["chattr", "+i", str(held)], check=True)
    return source, out, held


@SEAMS
def test_a_removal_held_for_a_moment_is_tried_again_and_succeeds(ext4_folder):
    source, out, held = sliced_then_held(ext4_folder)
    try:
        with Seam(ext4_folder / "seams", "file-retry") as seam:
            # a new template: the run replaces the old clips, and the first removal meets EPERM
            run = fastslice_process("slice", source, "-o", out, *OPTIONS, "--name", "{stem}-{i}", env=seam.env)
            seam.wait(1)
            assert held.exists()
            subprocess.run(["chattr", "-i", str(held)], check=True)  # the other program lets go
            seam.release()
            _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert not held.exists() and (out / "talk-0.wav").exists()
        assert not [c for c in audio_under(out) if c.startswith("talk_")]
    finally:
        subprocess.run(["chattr", "-i", str(held)], capture_output=True)


@SEAMS
def test_a_removal_held_for_good_is_reported_naming_the_file(ext4_folder):
    source, out, held = sliced_then_held(ext4_folder)
    try:
        with Seam(ext4_folder / "seams", "file-retry") as seam:
            run = fastslice_process("slice", source, "-o", out, *OPTIONS, "--name", "{stem}-{i}", env=seam.env)
            seam.wait(1)  # it is trying again; let every try go on
            seam.release()
            _, err = run.communicate(timeout=120)
        assert run.returncode == 1
        assert str(held) in err and "refused 6 times" in err and "antivirus" in err, err
        assert held.exists()
    finally:
        subprocess.run(["chattr", "-i", str(held)], capture_output=True)


def test_the_retry_gives_up_within_its_bound(ext4_folder):
    held = ext4_folder / "held.wav"
    held.write_bytes(b"x")
    subprocess.run(["chattr", "+i", str(held)], check=True)
    try:
        with pytest.raises(PermissionError) as raised:
            fileops.remove(held)
        assert raised.value.filename == str(held) and "removing it was refused" in str(raised.value)
        with pytest.raises(PermissionError, match="renaming it to .*moved.wav was refused 6 times"):
            fileops.rename(held, ext4_folder / "moved.wav")
        assert sum(fileops.RETRY_DELAYS) <= 2
    finally:
        subprocess.run(["chattr", "-i", str(held)], check=True)
    fileops.remove(held)
    fileops.remove(held)  # gone already: nothing to do
    assert not held.exists()


def test_long_paths_are_explained_on_windows_only():
    long = "C:\\Users\\someone\\" + "x" * 250 + "\\talk_0.wav"
    hint = fileops.long_path_hint(long, "nt")
    assert f"{len(long)} characters" in hint and "long paths" in hint and "shorter -o" in hint
    assert fileops.long_path_hint(long, "posix") == ""
    assert fileops.long_path_hint("C:\\clips\\talk_0.wav", "nt") == ""
    error = FileNotFoundError(2, "No such file or directory", long)
    assert fileops.describe(error, "nt").startswith(f"No such file or directory ({long})")
    assert "LongPathsEnabled" in fileops.describe(error, "nt")
    assert "LongPathsEnabled" not in fileops.describe(error, "posix")


@POSIX_NAMES
def test_python_api_maps_like_the_command_line(tmp_path):
    source = write_recording(tmp_path / "in" / "a|b.wav", 15, seconds=5)
    done = slice_files([source], tmp_path / "out", {"threshold": -35})
    assert done.n_inputs == 1 and not done.errors
    assert [p.name for p in (tmp_path / "out").glob("*.wav")] == ["a\uff5cb_0.wav"]
    native = slice_files([source], tmp_path / "native", {"threshold": -35}, file_names="native")
    assert native.n_inputs == 1 and [p.name for p in (tmp_path / "native").glob("*.wav")] == ["a|b_0.wav"]
