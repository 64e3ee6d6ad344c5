"""A real exFAT file system, as a USB drive formatted on Windows or a camera's card is.

A module fixture makes one: an image file on a loop device, ``mkfs.exfat`` (exfatprogs), mounted
with the kernel's exFAT driver where ``mount -t exfat`` works, else with exfat-fuse; unmounted
and detached at the end, even after a failure.  It is skipped, with the reason, only where
neither can mount (not root, no loop device, no driver).

exFAT has no hard links and does not tell upper from lower case.  Shown here: a library's clips
and manifest are byte for byte those of a run onto the regular file system; ``talk.wav`` and
``Talk.wav`` are refused before any clip is written, naming both; a re-run writes nothing; the names
users have (``Episode 1: Start.wav``) are mapped there as on ext4, to the same names and bytes.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_cli import OPTIONS, expected_clips, write_recording

import loopfs
from fastslice.system import filenames as names
from runner import fastslice
from test_names import USERS_NAMES, users_library

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exfat(tmp_path_factory):
    """The mount point of a fresh exFAT file system."""
    folder = tmp_path_factory.mktemp("exfat")
    try:
        with loopfs.mounted("exfat", folder, size_mb=256) as point:
            yield point
    except loopfs.Unavailable as exc:
        pytest.skip(f"no exFAT file system can be mounted here: {exc}")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A small library in folders, with names exFAT takes (spaces, accents, CJK)."""
    root = tmp_path_factory.mktemp("library") / "lib"
    write_recording(root / "alice" / "take 1.wav", 81, seconds=14)
    write_recording(root / "alice" / "café.flac", 82, seconds=10, subtype="PCM_24")
    write_recording(root / "bob" / "日本語.wav", 83, seconds=12, channels=1)
    return root


def every_file(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def clips_and_pages(folder: Path) -> dict[str, bytes]:
    """The clips (the markers hold the output's own path and the source's time: compared apart)."""
    return {name: data for name, data in every_file(folder).items() if not name.split("/")[-1].startswith(".")}


def test_the_folder_is_exfat_case_insensitive_and_without_hard_links(exfat):
    assert loopfs.file_system_of(exfat) in ("exfat", "fuseblk")
    assert names.case_insensitive(exfat)
    assert not [p for p in exfat.iterdir() if p.name.startswith(".fastslice-case-")]  # the probe is gone
    (exfat / "a").write_bytes(b"")
    with pytest.raises(OSError):
        os.link(exfat / "a", exfat / "b")
    (exfat / "a").unlink()


def test_a_library_on_exfat_is_byte_for_byte_the_regular_run(exfat, library, tmp_path):
    here, there = tmp_path / "out", exfat / "out"
    shutil.rmtree(there, ignore_errors=True)
    for out in (here, there):  # each manifest beside its output: the clips' paths relative to it, "out/..."
        fastslice("slice", library, "-o", out, *OPTIONS, "-q", "--manifest", out.parent / "m.csv", "-j", "2", check=0)
    mine, theirs = clips_and_pages(here), clips_and_pages(there)
    assert len(mine) == sum(len(expected_clips(p)) for p in library.rglob("*.*"))
    assert mine == theirs  # every clip, by name and bytes
    markers_here = {n for n in every_file(here) if n.split("/")[-1].startswith(".")}
    assert markers_here == {n for n in every_file(there) if n.split("/")[-1].startswith(".")}
    assert (here.parent / "m.csv").read_bytes() == (there.parent / "m.csv").read_bytes()
    assert not [n for n in every_file(there) if n.endswith(".part") or ".fastslice.work" in n]
    shutil.rmtree(there)
    (there.parent / "m.csv").unlink()


def test_a_case_clash_is_refused_before_any_clip_naming_both(exfat, tmp_path):
    inputs = tmp_path / "in"  # the inputs stay on ext4: exFAT could not hold both names
    lower = write_recording(inputs / "talk.wav", 84, seconds=8)
    upper = write_recording(inputs / "Talk.wav", 85, seconds=8)
    other = write_recording(inputs / "other.wav", 86, seconds=8)
    out = exfat / "clash"
    shutil.rmtree(out, ignore_errors=True)
    done = fastslice("slice", lower, upper, "-o", out, *OPTIONS)
    assert done.returncode == 1
    line = next(ln for ln in done.stderr.splitlines() if "upper from lower case" in ln)
    assert str(lower) in line and str(upper) in line and "neither is sliced" in line, done.stderr
    assert "already exists" not in done.stderr
    assert not out.exists() or every_file(out) == {}
    assert not list(exfat.glob(".fastslice-case-*"))  # the probe left nothing
    both = fastslice("slice", inputs, "-o", out, *OPTIONS)  # the rest of a folder is sliced
    assert both.returncode == 1
    assert sorted(clips_and_pages(out)) == sorted(f"other_{k}.wav" for k in range(len(expected_clips(other))))
    on_ext4 = fastslice("slice", inputs, "-o", tmp_path / "ext4", *OPTIONS, "-q")  # as today where case counts
    assert on_ext4.returncode == 0, on_ext4.stderr
    shutil.rmtree(out)
    spk, Spk = (write_recording(tmp_path / "speakers" / folder / "a.wav", 87, seconds=6) for folder in ("spk", "Spk"))
    folders = fastslice("slice", tmp_path / "speakers", "-o", out, *OPTIONS)  # two mirrored folders, one there
    assert folders.returncode == 1 and str(spk) in folders.stderr and str(Spk) in folders.stderr, folders.stderr
    assert "neither is sliced" in folders.stderr and (not out.exists() or every_file(out) == {})
    shutil.rmtree(out)


def test_a_rerun_on_exfat_writes_nothing(exfat, library):
    out = exfat / "again"
    shutil.rmtree(out, ignore_errors=True)
    fastslice("slice", library, "-o", out, *OPTIONS, "-q", check=0)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    folders = sorted(p for p in out.rglob("*") if p.is_dir())
    again = fastslice("slice", library, "-o", out, *OPTIONS, check=0)
    assert "3 already done" in again.stderr, again.stderr
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p for p in out.rglob("*") if p.is_dir()) == folders
    shutil.rmtree(out)


def test_the_names_users_have_map_to_the_same_names_and_bytes_on_exfat(exfat, tmp_path):
    inputs = users_library(tmp_path / "in")
    here, there = tmp_path / "mapped", exfat / "mapped"
    shutil.rmtree(there, ignore_errors=True)
    for out in (here, there):
        fastslice("slice", inputs, "-o", out, *OPTIONS, "-q", "--manifest", out.parent / "mapped.csv", "-j", "2",
                  check=0)
    mine, theirs = clips_and_pages(here), clips_and_pages(there)
    assert mine == theirs and len(mine) == sum(len(expected_clips(inputs / f"{s}.wav")) for s in USERS_NAMES)
    assert all(names.part_problem(name) is None for name in mine)
    assert (here.parent / "mapped.csv").read_bytes() == (there.parent / "mapped.csv").read_bytes()
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in there.rglob("*") if p.is_file()}
    again = fastslice("slice", inputs, "-o", there, *OPTIONS, "-j", "2", check=0)
    assert f"({len(USERS_NAMES)} already done, 0 failed), wrote 0 clips" in again.stderr, again.stderr
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in there.rglob("*") if p.is_file()} == before
    shutil.rmtree(there)
