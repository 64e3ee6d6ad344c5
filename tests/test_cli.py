"""The fastslice command line, run as a user runs it: in a subprocess, on real files."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

import signals
from fastslice import Slicer
from runner import fastslice, fastslice_process

SR = 16000
# Parameters that cut the test recordings into several clips.
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "500"]
PARAMS = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)



def write_recording(path, seed, seconds=20, channels=2, subtype="PCM_16", format=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = signals.with_digital_silence(signals.speech_like(seed, seconds, SR, channels=channels), seed, SR)
    soundfile.write(path, x.T, SR, subtype=subtype, format=format)
    return path


def expected_clips(path, dtype="int16"):
    """The clips Slicer.slice cuts from the whole file, in the file's own sample format."""
    decoded, _ = soundfile.read(path, dtype="float32", always_2d=True)
    native, _ = soundfile.read(path, dtype=dtype, always_2d=True)
    return [native[start:end] for start, end in Slicer(SR, **PARAMS).slice_ranges(decoded.T).tolist()]


def assert_clips(folder, stem, expected, ext="wav", dtype="int16"):
    names = sorted(folder.glob(f"{stem}_[0-9]*.{ext}"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    assert [p.name for p in names] == [f"{stem}_{i}.{ext}" for i in range(len(expected))]
    for path, want in zip(names, expected):
        got, sr = soundfile.read(path, dtype=dtype, always_2d=True)
        assert sr == SR and np.array_equal(got, want), path


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "library"
    files = {
        "a.wav": write_recording(root / "a.wav", 1),
        "show/b.wav": write_recording(root / "show" / "b.wav", 2, channels=1),
        "show/deep/c.flac": write_recording(root / "show" / "deep" / "c.flac", 3, subtype="PCM_24"),
    }
    (root / "show" / "readme.txt").write_text("not audio, ignored in folder scans")
    return root, files


def test_a_directory_tree_is_mirrored_with_exact_clips(library, tmp_path):
    root, files = library
    out = tmp_path / "out"
    result = fastslice("slice", root, "-o", out, *OPTIONS, check=0)
    assert "3 files (0 already done, 0 failed)" in result.stderr
    assert_clips(out, "a", expected_clips(files["a.wav"]))
    assert_clips(out / "show", "b", expected_clips(files["show/b.wav"]))
    assert_clips(out / "show" / "deep", "c", expected_clips(files["show/deep/c.flac"], "int32"), ext="flac", dtype="int32")
    assert soundfile.info(out / "show" / "deep" / "c_0.flac").subtype == "PCM_24"  # the input's sample format
    assert not list(out.rglob("*.part"))


def test_files_and_glob_patterns(library, tmp_path):
    root, files = library
    out = tmp_path / "out"
    fastslice("slice", files["a.wav"], str(root / "show" / "**" / "*.flac"), "-o", out, *OPTIONS, check=0)
    assert_clips(out, "a", expected_clips(files["a.wav"]))
    assert_clips(out, "c", expected_clips(files["show/deep/c.flac"], "int32"), ext="flac", dtype="int32")


def test_formats_are_detected_by_content(tmp_path):
    flac_named_wav = write_recording(tmp_path / "in" / "mislabeled.wav", 4, format="FLAC")
    wav_named_dat = write_recording(tmp_path / "in" / "take.dat", 5, format="WAV")
    out = tmp_path / "out"
    fastslice("slice", tmp_path / "in", "-o", out, *OPTIONS, check=0)
    assert_clips(out, "mislabeled", expected_clips(flac_named_wav), ext="flac")
    assert_clips(out, "take", expected_clips(wav_named_dat))


def test_a_corrupt_file_is_reported_and_the_batch_goes_on(library, tmp_path):
    root, files = library
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    out = tmp_path / "out"
    result = fastslice("slice", root, "-o", out, *OPTIONS)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "broken.wav" in line]
    assert len(errors) == 1 and "cannot read it as audio" in errors[0]
    assert "4 files (0 already done, 1 failed)" in result.stderr
    assert_clips(out, "a", expected_clips(files["a.wav"]))
    assert_clips(out / "show", "b", expected_clips(files["show/b.wav"]))


def test_missing_inputs_and_bad_options_are_explained(tmp_path):
    result = fastslice("slice", tmp_path / "nowhere.wav", "-o", tmp_path / "out")
    assert result.returncode == 1 and "nowhere.wav: no such file or folder" in result.stderr
    result = fastslice("slice", tmp_path, "-o", tmp_path / "out", "--min-interval", "5")
    assert result.returncode == 2 and "--min-interval must be at least --hop-size (10 ms)" in result.stderr
    result = fastslice("slice", tmp_path, "-o", tmp_path / "out", "--manifest", tmp_path / "m.txt")
    assert result.returncode == 2 and "must end in .csv or .jsonl" in result.stderr
    result = fastslice("slice", tmp_path, "-o", tmp_path / "out", "--subtype", "PCM_99")
    assert result.returncode == 2 and "subtype='PCM_99'" in result.stderr


def test_rerun_skips_finished_inputs_and_overwrite_redoes_them(library, tmp_path):
    root, files = library
    out = tmp_path / "out"
    fastslice("slice", root, "-o", out, *OPTIONS, check=0)
    long_ago = 1_000_000_000 * 10**9  # 2001: any file the re-run writes again gets the time of now
    for path in out.rglob("*.*"):
        os.utime(path, ns=(long_ago, long_ago))
    result = fastslice("slice", root, "-o", out, *OPTIONS, check=0)
    assert "3 files (3 already done, 0 failed)" in result.stderr
    assert {p.stat().st_mtime_ns for p in out.rglob("*.*")} == {long_ago}  # nothing written again
    # Other parameters are other clips: that input is sliced again, stale clips removed.
    result = fastslice("slice", root, "-o", out, *OPTIONS[:-2], "--max-sil-kept", "300", check=0)
    assert "3 files (0 already done, 0 failed)" in result.stderr
    result = fastslice("slice", root, "-o", out, *OPTIONS, "--overwrite", check=0)
    assert "(0 already done" in result.stderr
    assert_clips(out, "a", expected_clips(files["a.wav"]))


def test_resume_after_a_killed_run_gives_the_uninterrupted_output(tmp_path, seam):
    root = tmp_path / "many"
    for i in range(3):
        write_recording(root / f"take{i:02}.wav", 10 + i, seconds=30)
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    fastslice("slice", root, "-o", clean, *OPTIONS, check=0)
    # Killed (kill -9) once the first input is committed, while a clip of the second is half written.
    with seam("input-done") as committed:
        process = fastslice_process("slice", root, "-o", resumed, *OPTIONS, env=committed.env)
        assert committed.wait(1) == [process.pid]
        with seam("clip-writing") as writing:  # held from here on: the second input's first clip
            committed.release()
            assert writing.wait(1) == [process.pid]
            process.kill()
            process.wait()
    assert len(list(resumed.glob(".*.fastslice.json"))) == 1
    (half,) = resumed.rglob("*.part")  # the second input's clip, half written; none of its clips is done
    assert not list(resumed.glob(half.name.split(".")[0] + "_*"))
    result = fastslice("slice", root, "-o", resumed, *OPTIONS, check=0)
    assert "(1 already done" in result.stderr
    assert not list(resumed.rglob("*.part"))
    files = lambda d: sorted(p.relative_to(d) for p in d.rglob("*") if not p.name.endswith(".json"))  # noqa: E731
    assert files(resumed) == files(clean)
    for name in files(clean):
        assert (resumed / name).read_bytes() == (clean / name).read_bytes(), name


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_manifest_lists_every_clip(library, tmp_path, suffix):
    root, files = library
    out = tmp_path / "out"
    manifest = tmp_path / f"clips{suffix}"
    fastslice("slice", root, "-o", out, *OPTIONS, "--manifest", manifest, check=0)
    if suffix == ".csv":
        rows = list(csv.DictReader(manifest.open()))
    else:
        rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    written = sorted(str(p) for p in out.rglob("*_[0-9]*.*"))
    assert sorted(str(tmp_path / r["clip"]) for r in rows) == written  # relative to the manifest's folder
    for r in rows:
        start, end, sr = int(r["start_sample"]), int(r["end_sample"]), int(r["sample_rate"])
        assert sr == SR and float(r["start_seconds"]) == pytest.approx(start / sr, abs=1e-6)
        assert float(r["end_seconds"]) == pytest.approx(end / sr, abs=1e-6)
        source, _ = soundfile.read(r["source"], dtype="int32", always_2d=True)
        clip, _ = soundfile.read(tmp_path / r["clip"], dtype="int32", always_2d=True)
        assert int(r["channels"]) == clip.shape[1]
        assert np.array_equal(source[start:end], clip)
    # a re-run that skips everything still writes the whole manifest
    fastslice("slice", root, "-o", out, *OPTIONS, "--manifest", tmp_path / "again.csv", check=0)
    assert len(list(csv.DictReader((tmp_path / "again.csv").open()))) == len(rows)


def test_dry_run_writes_nothing(library, tmp_path):
    root, files = library
    out = tmp_path / "out"
    result = fastslice("slice", root, "-o", out, *OPTIONS, "--dry-run", check=0)
    assert not out.exists()
    assert str(out / "a_0.wav") in result.stdout and "would write" in result.stderr


def test_jobs_give_the_same_output(library, tmp_path):
    root, _ = library
    one, two = tmp_path / "one", tmp_path / "two"
    fastslice("slice", root, "-o", one, *OPTIONS, "--manifest", tmp_path / "one.csv", check=0)
    fastslice("slice", root, "-o", two, *OPTIONS, "-j", "2", "--manifest", tmp_path / "two.csv", check=0)
    files = sorted(p.relative_to(one) for p in one.rglob("*_[0-9]*.*"))
    assert files == sorted(p.relative_to(two) for p in two.rglob("*_[0-9]*.*"))
    for name in files:
        assert (one / name).read_bytes() == (two / name).read_bytes()
    strip = lambda text, d: text.replace(f",{d.name}/", ",OUT/")  # noqa: E731  (clips relative to the manifest)
    assert strip((tmp_path / "one.csv").read_text(), one) == strip((tmp_path / "two.csv").read_text(), two)


def test_audacity_labels(library, tmp_path):
    root, files = library
    out = tmp_path / "out"
    fastslice("slice", files["a.wav"], "-o", out, *OPTIONS, "--labels", check=0)
    lines = (out / "a_labels.txt").read_text().splitlines()
    ranges = Slicer(SR, **PARAMS).slice_ranges(soundfile.read(files["a.wav"], dtype="float32")[0].T)
    assert len(lines) == len(ranges) > 1
    for line, (start, end) in zip(lines, ranges.tolist()):
        begin, finish, name = line.split("\t")
        assert float(begin) == pytest.approx(start / SR, abs=1e-6) and float(finish) == pytest.approx(end / SR, abs=1e-6)


def test_never_writes_over_an_input(tmp_path):
    folder = tmp_path / "takes"
    write_recording(folder / "x.wav", 6)
    victim = write_recording(folder / "x_0.wav", 7)
    before = victim.read_bytes()
    result = fastslice("slice", folder / "x.wav", folder / "x_0.wav", "-o", folder, *OPTIONS)
    assert result.returncode == 1 and f"clip {folder / 'x_0.wav'} already exists and is not one of this input's" in result.stderr
    assert victim.read_bytes() == before


def test_demo_slices_a_synthetic_recording(tmp_path):
    result = fastslice("demo", cwd=tmp_path, check=0)
    clips = sorted((tmp_path / "fastslice-demo" / "clips").glob("demo_*.wav"))
    assert len(clips) >= 3
    for clip in clips:
        assert clip.name in result.stdout
    assert (tmp_path / "fastslice-demo" / "demo.wav").is_file()


def test_help_does_not_import_numba():
    code = "import sys; from fastslice import cli; print('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_clips_equal_the_seed_flows_clips(tmp_path, upstream):
    # The so-vits-svc guide: librosa.load(sr=None, mono=False), Slicer.slice, soundfile.write.
    import librosa

    sr = 44100
    source = tmp_path / "radio drama.wav"
    x = signals.with_digital_silence(signals.speech_like(21, 90, sr), 21, sr)
    soundfile.write(source, x.T, sr, subtype="PCM_16")
    audio, _ = librosa.load(source, sr=None, mono=False)
    chunks = upstream.Slicer(sr=sr, threshold=-30, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500).slice(audio)
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    for i, chunk in enumerate(chunks):
        soundfile.write(seed_dir / f"seq_{i}.wav", chunk.T, sr)
    out = tmp_path / "out"
    fastslice("slice", source, "-o", out, "--threshold", "-30", "--min-length", "4000", "--min-interval", "500",
              "--hop-size", "5", "--max-sil-kept", "500", check=0)
    ours = sorted(out.glob("radio drama_*.wav"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    assert len(ours) == len(chunks) > 5
    for i, path in enumerate(ours):
        want, _ = soundfile.read(seed_dir / f"seq_{i}.wav", dtype="int16")
        got, _ = soundfile.read(path, dtype="int16")
        assert np.array_equal(got, want), path.name


def test_progress_bar_on_a_terminal(library, tmp_path):
    import pty

    root, _ = library
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "fastslice", "slice", root, "-o", tmp_path / "out", *OPTIONS],
                               stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        output += data
    assert process.wait() == 0
    text = output.decode()
    assert "\r[" in text and "3/3 files" in text and "h of audio" in text and "x realtime" in text
    assert "3 files (0 already done, 0 failed)" in text


def test_j2_starts_the_longest_files_first(tmp_path):
    # Five files of 4 to 40 s given shortest first; the workers note when each file starts.
    folder = tmp_path / "in"
    folder.mkdir()
    lengths = {"a": 4, "b": 8, "c": 12, "d": 40, "e": 30}
    for stem, seconds in lengths.items():
        soundfile.write(folder / f"{stem}.wav", signals.speech_like(seed=seconds, seconds=seconds, sr=8000).T, 8000)
    log = tmp_path / "started.txt"
    # The noting run function in a module of its own: a spawned worker imports it by name.
    (tmp_path / "started.py").write_text(
        "from fastslice.batch import batch\n"
        "slice_one = batch.run_one\n"
        "def run(job, options, **kwargs):\n"
        f"    with open({str(log)!r}, 'a') as f:\n"
        "        f.write(job[2] + '\\n')\n"
        "    return slice_one(job, options, **kwargs)\n"
    )
    code = (
        "import started\n"
        "from fastslice.batch import batch\n"
        "batch.run_one = started.run\n"
        f"done = batch.slice_files([{str(folder)!r}], {str(tmp_path / 'out')!r}, {{'min_length': 2000}}, jobs=2)\n"
        "assert not done.errors, done.errors\n"
        "print([r.source.rsplit('/', 1)[-1] for r in done.results])\n"
    )
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": path})
    assert out.returncode == 0, out.stderr
    started = log.read_text().split()
    assert sorted(started[:2]) == ["d", "e"], started  # the two longest go to the two workers first
    assert sorted(started) == sorted(lengths)
    assert out.stdout.strip() == str([f"{s}.wav" for s in sorted(lengths)])  # results in input order
