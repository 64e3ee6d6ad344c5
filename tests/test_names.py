"""Names safe on every file system: Windows' rules checked before any work, Unicode names through
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
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
import soundfile
from runner import fastslice, fastslice_process
from test_cli import OPTIONS, expected_clips, write_recording

import loopfs
from fastslice import ParameterError, fileops, names
from fastslice.batch import slice_files
from fastslice.naming import ClipNames
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


@pytest.mark.parametrize("template, says", [
    ("{stem}:{i}", "':' cannot be in a file name on Windows"),
    ("nul/{stem}_{i}", "device name NUL"),
    ("{stem}_{i}/com1", "device name COM1"),
    ("{stem}./{i}", "ends with a dot"),
    ("{stem} /{i}", "ends with a space"),
    ("{stem}|{i}", "'|' cannot be"),
    ("{stem}?{i}", "'?' cannot be"),
    ("{stem}\\{i}", "subfolders in --name are written with '/'"),
    ("{stem}\t{i}", "control character 9"),
])
def test_templates_windows_refuses_are_refused_before_any_work(tmp_path, template, says):
    source = write_recording(tmp_path / "talk.wav", 3, seconds=5)
    done = fastslice("slice", source, "-o", tmp_path / "out", "--name", template, *OPTIONS)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "--name" in done.stderr and "change --name" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(ParameterError):
        ClipNames(template)


@pytest.mark.parametrize("file_name, template, says", [
    ("a:b.wav", "{stem}_{i}", "':' cannot be"),
    ("what?.wav", "{stem}_{i}", "'?' cannot be"),
    ("tab\there.wav", "{stem}_{i}", "control character 9"),
    ("back\\slash.wav", "{stem}_{i}", "'\\' cannot be"),
    ("nul.wav", "{stem}/{i}", "device name NUL"),
    ("COM3.wav", "{stem}/{i}", "device name COM3"),
    ("take..wav", "{stem}/{i}", "ends with a dot"),
    ("a:b.wav", "{i}_x", "':' cannot be"),  # no {stem} in the name: its marker would still hold it
])
@POSIX_NAMES
def test_inputs_windows_cannot_name_are_refused_at_the_scan_and_the_rest_sliced(tmp_path, file_name, template, says):
    inputs = tmp_path / "in"
    bad = write_recording(inputs / file_name, 4, seconds=6)
    good = write_recording(inputs / "good.wav", 5, seconds=6)
    out = tmp_path / "out"
    done = fastslice("slice", inputs, "-o", out, "--name", template, *OPTIONS)
    assert done.returncode == 1, done.stderr
    line = next(ln for ln in done.stderr.splitlines() if str(bad) in ln)
    assert says in line and "rename the file" in line, line
    if "{stem}" in template:
        assert f"--name {template!r}" in line, line
    assert [p.name for p in out.glob(".*.fastslice.json")] == [".good.fastslice.json"]
    assert len(audio_under(out)) == len(expected_clips(good))


@POSIX_NAMES
def test_a_folder_windows_cannot_name_is_refused_once_with_its_inputs(tmp_path):
    inputs = tmp_path / "in"
    write_recording(inputs / "spk: one" / "a.wav", 6, seconds=6)
    write_recording(inputs / "spk: one" / "b.wav", 7, seconds=6)
    write_recording(inputs / "two" / "c.wav", 8, seconds=6)
    done = fastslice("slice", inputs, "-o", tmp_path / "out", *OPTIONS)
    assert done.returncode == 1
    refused = [ln for ln in done.stderr.splitlines() if "spk: one" in ln]
    assert len(refused) == 1 and "rename the folder" in refused[0] and "':' cannot be" in refused[0], done.stderr
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
    from fastslice import scan

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
def test_python_api_refuses_like_the_command_line(tmp_path):
    source = write_recording(tmp_path / "in" / "a|b.wav", 15, seconds=5)
    done = slice_files([source], tmp_path / "out", {"threshold": -35})
    assert done.n_inputs == 0 and any("'|' cannot be" in p and str(source) in p for p in done.errors)
