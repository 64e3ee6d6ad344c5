"""Whole libraries: the edges of large runs, where clips or rows could be lost, doubled or misnamed.

Each test here is one way a run over a library could go wrong (issue 19's fourteen), run as a
user runs it where that is possible: the command line in a subprocess, on real files.
"""
import csv
import io
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile
from runner import fastslice_process
from test_cli import OPTIONS, PARAMS, SR, expected_clips, fastslice, write_recording

import signals
from fastslice import Slicer
from fastslice.run import files
from fastslice.writing import writers
from fastslice.batch import slice_files
from fastslice.run.files import slice_file


def assert_clips(folder, stem, expected, ext="wav", dtype="int16"):
    """``folder`` holds ``<stem>_0`` .. ``<stem>_<n-1>`` with exactly the expected samples, and no ``<stem>_<n>``
    (by name: ``take_1_0.wav`` is not a clip of ``take``)."""
    for i, want in enumerate(expected):
        got, sr = soundfile.read(folder / f"{stem}_{i}.{ext}", dtype=dtype, always_2d=True)
        assert sr == SR and np.array_equal(got, want), f"{stem}_{i}.{ext}"
    assert not (folder / f"{stem}_{len(expected)}.{ext}").exists()


def clip_files(folder):
    """Relative paths of the clips under folder (no hidden files, no pages, lists or labels)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                  and p.suffix in (".wav", ".flac"))


def leftovers(folder):
    """Temporary files and work folders anywhere under folder."""
    return sorted(str(p) for p in folder.rglob("*") if p.name.endswith(".part") or p.name.endswith(".fastslice.work")
                  or p.name.endswith(".fastslice.journal"))


def markers(folder):
    return {p: json.loads(p.read_text()) for p in folder.rglob(".*.fastslice.json")}


def assert_every_clip_is_its_markers(folder, sources):
    """Every clip a marker lists holds exactly the samples of its source's range, and every clip file
    is listed by exactly one marker."""
    listed = []
    for marker, record in markers(folder).items():
        native, _ = soundfile.read(record["source"], dtype="int16", always_2d=True)
        for row in record["clips"]:
            path = (marker.parent / row["clip"]).resolve()
            listed.append(path)
            got, _ = soundfile.read(path, dtype="int16", always_2d=True)
            assert np.array_equal(got, native[row["start_sample"] : row["end_sample"]]), path
            assert path.stat().st_size == row["bytes"]
    assert sorted(listed) == sorted(set(listed)), "a clip is listed twice"
    assert sorted(str(p) for p in listed) == sorted(str((folder / c).resolve()) for c in clip_files(folder))


# -- 1. a re-run with --sr rewrites manifest and labels as the first run wrote them -----------------


def test_a_rerun_with_sr_writes_the_same_manifest_and_labels(tmp_path):
    source = write_recording(tmp_path / "in" / "talk.wav", 3)
    out, manifest = tmp_path / "out", tmp_path / "m.csv"
    args = ["slice", source, "-o", out, *OPTIONS, "--sr", "8000", "--manifest", manifest, "--labels"]
    fastslice(*args, check=0)
    first, labels = manifest.read_bytes(), (out / "talk_labels.txt").read_bytes()
    rows = list(csv.DictReader(io.StringIO(first.decode())))
    assert rows[0]["source_rate"] == "16000" and rows[0]["sample_rate"] == "8000"
    again = fastslice(*args, check=0)
    assert "(1 already done" in again.stderr
    assert manifest.read_bytes() == first
    assert (out / "talk_labels.txt").read_bytes() == labels


# -- 2. similar stems: one input never touches another's files ---------------------------------------


def test_slicing_take_leaves_the_files_of_take_1_alone(tmp_path):
    folder = tmp_path / "in"
    write_recording(folder / "take.wav", 4)
    write_recording(folder / "take_1.wav", 5)
    out = tmp_path / "out"
    fastslice("slice", folder / "take_1.wav", "-o", out, *OPTIONS, check=0)
    theirs = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # What a worker slicing take_1.wav at this moment has open: a temporary clip of its own.
    (out / ".fastslice.work").mkdir()
    (out / ".fastslice.work" / "take_1.3.wav.part").write_bytes(b"being written")
    (out / ".take_1_3.wav.4242.part").write_bytes(b"being written by fastslice 0.2")
    fastslice("slice", folder / "take.wav", "-o", out, *OPTIONS, check=0)
    for path, data in theirs.items():
        assert path.read_bytes() == data, path
    assert (out / ".fastslice.work" / "take_1.3.wav.part").exists() and (out / ".take_1_3.wav.4242.part").exists()
    assert_clips(out, "take", expected_clips(folder / "take.wav"))


def test_a_stream_named_take_is_not_refused_for_take_1s_clips(tmp_path):
    folder = tmp_path / "in"
    write_recording(folder / "take_1.wav", 5)
    out = tmp_path / "out"
    fastslice("slice", folder / "take_1.wav", "-o", out, *OPTIONS, check=0)
    assert (out / "take_1_0.wav").exists()
    wav = write_recording(tmp_path / "take.wav", 6)
    with open(wav, "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(out), "--stem", "take", *OPTIONS],
                                stdin=stdin, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert_clips(out, "take", expected_clips(wav))
    # the stem "take" is now used: the same stream again is refused, and --overwrite replaces it
    with open(wav, "rb") as stdin:
        again = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(out), "--stem", "take", *OPTIONS],
                               stdin=stdin, capture_output=True, text=True)
    assert again.returncode == 1 and "already holds clips of the stem 'take'" in again.stderr


def test_same_named_stems_under_j2(tmp_path):
    folder = tmp_path / "in"
    stems = ["take", "take_1", "take_1_0", "take_10", "take_1_1"]
    for k, stem in enumerate(stems):
        write_recording(folder / f"{stem}.wav", 30 + k, seconds=12)
    out = tmp_path / "out"
    for _ in range(2):  # a first run, then a run that finds everything done
        fastslice("slice", folder, "-o", out, *OPTIONS, "-j", "2", check=0)
    for stem in stems:
        assert_clips(out, stem, expected_clips(folder / f"{stem}.wav"))
    assert_every_clip_is_its_markers(out, stems)
    assert leftovers(out) == []


def test_one_file_spelled_three_ways_is_sliced_once(tmp_path):
    source = write_recording(tmp_path / "in" / "a.wav", 19)
    os.link(source, tmp_path / "in" / "hard link to a.wav")
    result = fastslice("slice", "./in/a.wav", "in/a.wav", "in/../in/a.wav", "in", "-o", "out", *OPTIONS,
                       "--manifest", "m.csv", cwd=tmp_path, check=0)
    assert "1 file (0 already done, 0 failed)" in result.stderr
    assert len(list(csv.DictReader((tmp_path / "m.csv").open()))) == len(expected_clips(source))
    assert_clips(tmp_path / "out", "a", expected_clips(source))


# -- 3. no name is written twice -----------------------------------------------------------------------


def test_clip_names_that_clash_across_inputs_replace_nothing(tmp_path):
    folder = tmp_path / "in"
    write_recording(folder / "a.wav", 7, seconds=60)  # more than ten clips: its clip 10 is named a10
    write_recording(folder / "a1.wav", 8)
    assert len(expected_clips(folder / "a.wav")) > 10
    out = tmp_path / "out"
    for jobs in ("1", "2"):
        shutil.rmtree(out, ignore_errors=True)
        result = fastslice("slice", folder, "-o", out, *OPTIONS, "--name", "{stem}{i}", "-j", jobs)
        assert result.returncode == 1, result.stderr
        assert "a10.wav already exists and is not one of this input's earlier clips" in result.stderr
        assert_every_clip_is_its_markers(out, ["a", "a1"])  # whichever came second has no clip at all
        assert len(markers(out)) == 1 and leftovers(out) == []


def test_a_template_that_names_two_clips_alike_is_an_error(tmp_path):
    source = write_recording(tmp_path / "a.wav", 7, seconds=60)
    result = fastslice("slice", source, "-o", tmp_path / "out", *OPTIONS, "--name", "{stem}_{i:.0e}")
    assert result.returncode == 1
    assert "names clips 10 and 11 both 'a_1e+01'" in result.stderr
    assert clip_files(tmp_path / "out") == [] and markers(tmp_path / "out") == {}


# -- 4. -o equal to the input folder ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["folder", "glob"])
def test_out_equal_to_the_input_folder_slices_nothing_twice(tmp_path, how):
    folder = tmp_path / "rec"
    for k in range(3):
        write_recording(folder / f"r{k}.wav", 40 + k)
    inputs = [folder] if how == "folder" else [str(folder / "*.wav")]
    first = fastslice("slice", *inputs, "-o", folder, *OPTIONS, check=0)
    assert "3 files (0 already done" in first.stderr
    count = len(list(folder.iterdir()))
    second = fastslice("slice", *inputs, "-o", folder, *OPTIONS, check=0)
    assert "3 files (3 already done" in second.stderr
    third = fastslice("slice", *inputs, "-o", folder, *OPTIONS, "--overwrite", check=0)
    assert "3 files (0 already done" in third.stderr
    assert len(list(folder.iterdir())) == count
    for k in range(3):
        assert_clips(folder, f"r{k}", expected_clips(folder / f"r{k}.wav"))


# -- 5. relative paths ----------------------------------------------------------------------------------


def test_relative_out_with_subfolder_names_review_manifest_and_prune(tmp_path):
    work = tmp_path / "work"
    source = write_recording(work / "in" / "talk.wav", 9)
    fastslice("slice", "in", "-o", "set", *OPTIONS, "--name", "{stem}/{i:04d}", "--manifest", "lists/m.jsonl",
              cwd=work, check=0)
    n = len(expected_clips(source))
    assert clip_files(work / "set") == [f"talk/{i:04d}.wav" for i in range(n)]
    rows = [json.loads(line) for line in (work / "lists" / "m.jsonl").read_text().splitlines()]
    assert [r["clip"] for r in rows] == [f"../set/talk/{i:04d}.wav" for i in range(n)]  # relative to the manifest
    assert rows[0]["source"] == str(source)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for extra in ([], ["--manifest", work / "lists" / "m.jsonl"]):
        result = fastslice("review", work / "set", *extra, cwd=elsewhere, check=0)
        assert f"fastslice review: {n} clips" in result.stdout, (extra, result.stdout)
    (work / "drop.txt").write_text("./talk/0001.wav\ntalk/0001.wav\n")
    result = fastslice("prune", "set", "--list", "drop.txt", "--manifest", "lists/m.jsonl", cwd=work, check=0)
    assert "1 clips moved" in result.stdout
    assert len((work / "lists" / "m.jsonl").read_text().splitlines()) == n - 1
    again = fastslice("slice", "in", "-o", "set", *OPTIONS, "--name", "{stem}/{i:04d}", cwd=work, check=0)
    assert "(1 already done" in again.stderr


# -- 6. --format without --subtype keeps the input's sample format -------------------------------------


@pytest.mark.parametrize("subtype, expected", [("PCM_24", "PCM_24"), ("PCM_16", "PCM_16"), ("FLOAT", "PCM_24")])
def test_format_flac_keeps_the_sample_format_it_can(tmp_path, subtype, expected):
    source = write_recording(tmp_path / "a.wav", 10, subtype=subtype)
    fastslice("slice", source, "-o", tmp_path / "out", *OPTIONS, "--format", "FLAC", check=0)
    assert soundfile.info(tmp_path / "out" / "a_0.flac").subtype == expected
    if subtype != "FLOAT":
        dtype = "int32" if subtype == "PCM_24" else "int16"
        assert_clips(tmp_path / "out", "a", expected_clips(source, dtype), ext="flac", dtype=dtype)


# -- 7. --dry-run with --max-length ------------------------------------------------------------------


def test_dry_run_with_max_length_numbers_every_clip_once(tmp_path):
    source = write_recording(tmp_path / "a.wav", 11, seconds=40)
    result = fastslice("slice", source, "-o", tmp_path / "out", *OPTIONS, "--max-length", "2500", "--dry-run", check=0)
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    ranges = Slicer(SR, **PARAMS, max_length=2500).slice_ranges(soundfile.read(source, dtype="float32")[0].T)
    assert len(names) == len(ranges) > 5
    assert [Path(n).name for n in names] == [f"a_{i}.wav" for i in range(len(ranges))]
    assert not (tmp_path / "out").exists()


# -- 8. NumPy numbers as parameters; a defect in one input does not escape ------------------------------


def test_numpy_numbers_as_parameters(tmp_path):
    source = write_recording(tmp_path / "a.wav", 12)
    params = {k: (np.float64(v) if k == "threshold" else np.int64(v)) for k, v in PARAMS.items()}
    result = slice_file(source, tmp_path / "out", params)
    assert_clips(tmp_path / "out", "a", expected_clips(source))
    assert json.loads((tmp_path / "out" / ".a.fastslice.json").read_text())["params"]["min_length"] == 2000
    assert slice_file(source, tmp_path / "out", params).skipped
    assert len(result.clips) > 1


def test_an_unexpected_error_in_one_input_is_recorded_and_the_others_go_on(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    for k in range(3):
        write_recording(folder / f"f{k}.wav", 13 + k)
    original = files.slice_open

    def defect(opened, *args):
        if str(opened.source).endswith("f1.wav"):
            raise TypeError("an injected defect")
        return original(opened, *args)

    monkeypatch.setattr(files, "slice_open", defect)
    done = slice_files([folder], tmp_path / "out", PARAMS)
    assert done.errors == [f"{folder / 'f1.wav'}: fastslice failed on it (TypeError: an injected defect); please report this"]
    assert [r is None for r in done.results] == [False, True, False]
    assert leftovers(tmp_path / "out") == [] and not list((tmp_path / "out").glob("f1_*"))


# -- 9. a WAV that ffmpeg wrote to a pipe, redirected into a file ------------------------------------


def test_a_wav_with_unknown_sizes_is_sliced_without_a_warning(tmp_path):
    source = write_recording(tmp_path / "a.wav", 14)
    piped = tmp_path / "piped.wav"
    with open(piped, "wb") as out:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(source), "-c:a", "pcm_s16le", "-f", "wav", "-"],
                       stdout=out, check=True)
    assert piped.read_bytes()[4:8] == b"\xff\xff\xff\xff"
    result = fastslice("slice", piped, "-o", tmp_path / "out", *OPTIONS, check=0)
    assert "missing" not in result.stderr and "warning" not in result.stderr, result.stderr
    want = expected_clips(source)
    got = sorted((tmp_path / "out").glob("piped_*.wav"), key=lambda p: int(p.stem.split("_")[1]))
    assert len(got) == len(want)
    for path, clip in zip(got, want):
        assert np.array_equal(soundfile.read(path, dtype="int16", always_2d=True)[0], clip)


# -- 10. prune: two spellings, only the set's clips, all or nothing -------------------------------------


def test_prune_takes_two_spellings_as_one_clip_and_moves_only_clips(tmp_path):
    source = write_recording(tmp_path / "in" / "x.wav", 15)
    out = tmp_path / "out"
    fastslice("slice", source, "-o", out, *OPTIONS, "--review", check=0)
    listing = tmp_path / "drop.txt"
    listing.write_text("./x_0.wav\nx_0.wav\n")
    result = fastslice("prune", out, "--list", listing, check=0)
    assert "1 clips moved" in result.stdout and (out / "dropped" / "x_0.wav").exists()
    for stranger in ("review.html", ".x.fastslice.json", "dropped/.records.jsonl", "x_labels.txt"):
        before = sorted(str(p) for p in out.rglob("*"))
        listing.write_text(f"x_1.wav\n{stranger}\n")
        refused = fastslice("prune", out, "--list", listing)
        assert refused.returncode == 2 and "nothing moved" in refused.stderr, stranger
        assert sorted(str(p) for p in out.rglob("*")) == before, stranger


def test_prune_moves_all_or_nothing(tmp_path):
    folder = tmp_path / "in"
    write_recording(folder / "a.wav", 16)
    write_recording(folder / "sub" / "b.wav", 17)
    out = tmp_path / "out"
    fastslice("slice", folder, "-o", out, *OPTIONS, check=0)
    (out / "dropped").mkdir()
    (out / "dropped" / "sub").write_text("a file where prune needs a folder")
    (tmp_path / "drop.txt").write_text("a_0.wav\nsub/b_0.wav\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = fastslice("prune", out, "--list", tmp_path / "drop.txt")
    assert result.returncode == 2 and "nothing moved" in result.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# -- 11. Ctrl-C on a stream while a clip is handed over ------------------------------------------------


def test_ctrl_c_during_a_handover_keeps_the_complete_queued_clips(tmp_path, monkeypatch):
    source = write_recording(tmp_path / "talk.wav", 18, seconds=40)
    whole = slice_file(source, tmp_path / "whole", PARAMS)
    assert len(whole.clips) >= 4
    data = source.read_bytes()
    writing = threading.Event()  # the writer has begun clip 0
    go_on = threading.Event()  # ... and may finish it
    original_write = writers.write_clip

    def held_write(blocks, temporary, *args):
        if temporary.name.startswith("talk.0."):
            writing.set()
            go_on.wait(60)
        return original_write(blocks, temporary, *args)

    original_put = writers.ClipWriter.put
    state = {"headers": 0}

    def put(self, item):
        if isinstance(item, tuple) and item[0] == "blocks":
            state["headers"] += 1
        elif isinstance(item, tuple) and item[0] == "block" and state["headers"] == 3:
            assert writing.wait(60)
            raise KeyboardInterrupt  # Ctrl-C while clip 2's blocks are being handed over
        return original_put(self, item)

    monkeypatch.setattr(writers, "write_clip", held_write)
    monkeypatch.setattr(writers.ClipWriter, "put", put)
    threading.Timer(0, lambda: writing.wait(60) and go_on.set()).start()
    result = slice_file(io.BytesIO(data), tmp_path / "stream", PARAMS, stem="talk", threads=2)
    assert result.interrupted
    assert [Path(c.clip).name for c in result.clips] == ["talk_0.wav", "talk_1.wav"]  # clip 1 was queued, complete
    for clip in result.clips:
        assert Path(clip.clip).read_bytes() == (tmp_path / "whole" / Path(clip.clip).name).read_bytes()
    assert leftovers(tmp_path / "stream") == []


# -- 12. a worker killed mid-batch -------------------------------------------------------------------


def _writes(pid, stem):
    """Whether process ``pid`` has a temporary clip of ``stem`` open (``STEM.K.EXT.part``)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # it has ended
        return False
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:  # closed meanwhile (by another of its threads)
            continue
        if Path(link).name.startswith(f"{stem}.") and link.endswith(".part"):
            return True
    return False


def _arrival_writing(held, stem, exclude=()):
    """Wait for the processes arriving at the held "clip-writing" seam until one is writing a clip
    of ``stem``: its pid."""
    count = 1
    while True:
        for pid in held.wait(count):
            if pid not in exclude and _writes(pid, stem):
                return pid
        count += 1


def _through_inputs(seam, done, inputs):
    """Let the one process held at ``done`` (an "input-done" seam) slice ``inputs`` more inputs, held
    each time (at "worker-task", then "input-done": the next is held before the last is released);
    returns the "input-done" seam it is held at in the end, for the caller to leave."""
    for _ in range(inputs):
        task = seam("worker-task").__enter__()
        done.__exit__(None, None, None)
        task.wait(1)
        done = seam("input-done").__enter__()
        task.__exit__(None, None, None)
        done.wait(1)
    return done


@pytest.fixture(scope="module")
def batch_with_a_long_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch") / "in"
    for k in range(6):
        write_recording(folder / f"short{k}.wav", 50 + k, seconds=8)
    long = folder / "long.flac"
    with soundfile.SoundFile(long, "w", SR, 1, subtype="PCM_16") as f:  # the largest: sliced first
        for k in range(2):
            f.write(signals.speech_like(60 + k, 20, SR, channels=1)[0])
    return folder, long


@pytest.mark.parametrize("kills, when", [(1, "at once"), (1, "the others done"), (2, "at once")])
def test_a_killed_worker_costs_only_its_own_file(tmp_path, batch_with_a_long_file, seam, kills, when):
    folder, long = batch_with_a_long_file
    out = tmp_path / "out"
    killed = []
    # The worker with the long file is killed (kill -9) while it writes a clip of it: held at the seam.
    with seam("input-done") as done, seam("clip-writing") as writing:
        process = fastslice_process("slice", folder, "-o", out, *OPTIONS, "-j", "2", env=writing.env)
        worker = _arrival_writing(writing, long.stem)
        if when == "the others done":  # the long file's worker stopped, the other slices the six
            os.kill(worker, signal.SIGSTOP)
            writing.release()
            assert done.wait(1)
            done = _through_inputs(seam, done, 5)
            assert len(list(out.glob(".short*.fastslice.json"))) == 6
        os.kill(worker, signal.SIGKILL)
        killed.append(worker)
        if kills == 2:  # and the fresh worker it is given to, too
            killed.append(_arrival_writing(writing, long.stem, exclude=killed))
            os.kill(killed[-1], signal.SIGKILL)
        done.__exit__(None, None, None)
    _, stderr = process.communicate(timeout=300)
    for k in range(6):
        assert_clips(out, f"short{k}", expected_clips(folder / f"short{k}.wav"))
    if kills == 1:
        assert process.returncode == 0, stderr
        assert "the worker slicing it died (killed by SIGKILL" in stderr and "sliced again on a fresh worker" in stderr
        assert_clips(out, "long", expected_clips(long), ext="flac")
    else:
        assert process.returncode == 1
        assert f"error: {long}: the worker slicing it died (killed by SIGKILL" in stderr and "twice" in stderr
        assert not list(out.glob("long_*"))
    assert leftovers(out) == []


# -- 13. a clip cut short after its marker was written ------------------------------------------------


def test_clips_truncated_after_the_marker_are_sliced_again(tmp_path):
    folder = tmp_path / "in"
    for k in range(3):
        write_recording(folder / f"f{k}.wav", 70 + k)
    out = tmp_path / "out"
    fastslice("slice", folder, "-o", out, *OPTIONS, check=0)
    (out / "f0_1.wav").write_bytes(b"")  # a power cut: renamed, marker written, data never flushed
    with open(out / "f2_0.wav", "r+b") as f:
        f.truncate(f.seek(0, 2) // 2)
    result = fastslice("slice", folder, "-o", out, *OPTIONS, check=0)
    assert "3 files (1 already done" in result.stderr
    for k in range(3):
        assert_clips(out, f"f{k}", expected_clips(folder / f"f{k}.wav"))


def test_temporaries_of_a_run_killed_while_writing_are_removed_by_the_next(tmp_path):
    """A run killed while it wrote its manifest (or an input's marker) left a hidden temporary; the
    next run that writes the same file removes it, and a live process's temporary is left alone."""
    folder = tmp_path / "in"
    write_recording(folder / "f0.wav", 80)
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id no longer running
    stale_manifest = out / f".clips.csv.{dead.pid}.part"
    live_manifest = out / f".clips.csv.{os.getppid()}.part"
    stale_marker = out / ".fastslice.work" / f"f0.{dead.pid}.marker.part"
    stale_marker.parent.mkdir(parents=True)
    for path in (stale_manifest, live_manifest, stale_marker):
        path.write_text("half a file")
    fastslice("slice", folder, "-o", out, *OPTIONS, "--manifest", out / "clips.csv", check=0)
    assert not stale_manifest.exists() and not stale_marker.exists()
    assert live_manifest.exists(), "the temporary of a process still running was removed"
    live_manifest.unlink()
    assert leftovers(out) == []
    assert_every_clip_is_its_markers(out, [folder / "f0.wav"])


# -- 14. progress within a long file ------------------------------------------------------------------


def test_progress_shows_how_far_a_long_file_has_got(tmp_path, monkeypatch):
    long = tmp_path / "long.wav"
    with soundfile.SoundFile(long, "w", SR, 1, subtype="PCM_16") as f:
        for k in range(4):
            f.write(signals.speech_like(80 + k, 60, SR, channels=1)[0])
    monkeypatch.setattr(files, "PROGRESS_EVERY", 0.0)  # every block
    seen = []
    slice_file(long, tmp_path / "out", PARAMS, on_progress=lambda s, t: seen.append((s, t)))
    assert len(seen) > 10 and all(t == 240.0 for _, t in seen)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen) and 0 < seen[0][0] < seen[-1][0] <= 240


def test_the_progress_line_of_a_terminal_shows_the_long_file(tmp_path):
    # Five minutes of WAV through a pipe (its header gives the length), sent a second at a time
    # until the terminal shows how far the file has got; then the rest.
    data = io.BytesIO()
    soundfile.write(data, signals.speech_like(90, 300, SR, channels=1)[0], SR, format="WAV", subtype="PCM_16")
    data = data.getvalue()
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "fastslice", "slice", "-", "--stem", "long", "-o", tmp_path / "out",
                                *OPTIONS], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    said, sent, step = b"", 0, 2 * SR

    def shown():
        return [int(part.split()[-1][:-1]) for part in said.decode(errors="replace").split("\r")
                for part in part.split("|")[1:2] if part.strip().startswith("long ") and part.strip().endswith("%")]

    while sent < len(data) and not shown():
        process.stdin.write(data[sent : sent + step])
        process.stdin.flush()
        sent += step
        if select.select([master], [], [], 0.02)[0]:
            said += os.read(master, 4096)
    seen_before_the_end = shown()
    process.stdin.write(data[sent:])
    process.stdin.close()
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        said += chunk
    process.wait()
    os.close(master)
    assert process.returncode == 0
    assert seen_before_the_end and 0 < seen_before_the_end[0] < 100, said.decode(errors="replace")[-500:]


# -- the cost per input does not grow with the library ---------------------------------------------------


def test_the_work_per_input_does_not_grow_with_the_number_of_inputs(tmp_path, monkeypatch):
    sr = 8000
    tone = (signals.speech_like(1, 1.5, sr, channels=1)[0] * 32767).astype(np.int16)
    folders = 20
    for k in range(2000):
        folder = tmp_path / "lib" / f"spk{k % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / f"t{k:04d}.wav", tone, sr)
    calls = {"listings": 0, "resolved": 0}
    real_scandir, real_listdir, real_realpath = os.scandir, os.listdir, os.path.realpath

    def scandir(*args):
        calls["listings"] += 1
        return real_scandir(*args)

    def listdir(*args):
        calls["listings"] += 1
        return real_listdir(*args)

    def realpath(*args, **kwargs):
        calls["resolved"] += 1
        return real_realpath(*args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os.path, "realpath", realpath)
    params = dict(threshold=-40, min_length=300, min_interval=200, hop_size=10, max_sil_kept=100)
    for run in ("first", "again"):
        calls.update(listings=0, resolved=0)
        done = slice_files([tmp_path / "lib"], tmp_path / "out", params, keep_results=False)
        assert done.errors == [] and done.n_inputs == 2000
        assert done.n_skipped == (2000 if run == "again" else 0)
        # one listing per input folder (os.walk's own calls go through os.scandir too), whatever the inputs
        assert calls["listings"] <= folders + 2, (run, calls)
        assert calls["resolved"] <= 2 * 2000 + 2 * folders + 10, (run, calls)
