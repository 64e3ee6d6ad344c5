"""The README's Python example, run as written on a real WAV file read through libsndfile."""
import os
import re
from pathlib import Path

import numpy as np
import soundfile
from oracle import assert_same_chunks

import signals

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_api_example_runs_and_matches_the_reference(tmp_path, monkeypatch, upstream):
    sr = 44100
    x = signals.speech_like(seed=11, seconds=30, sr=sr)
    soundfile.write(tmp_path / "drama.wav", x.T, sr, subtype="PCM_16")
    example = re.search(r"## Python API\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(example, namespace)
    audio = namespace["audio"]
    reference = upstream.Slicer(sr, -30, 4000, 500, 5, 500).slice(audio.T)
    assert len(reference) > 2
    assert_same_chunks(reference, namespace["chunks"])
    for (start, end), chunk in zip(namespace["ranges"].tolist(), namespace["chunks"]):
        assert np.array_equal(audio.T[:, start:end], chunk)
    assert np.shares_memory(namespace["chunks"][0], audio)


def test_streaming_example_runs(tmp_path, monkeypatch, capsys):
    sr = 44100
    x = signals.speech_like(seed=12, seconds=30, sr=sr)
    soundfile.write(tmp_path / "drama.wav", x.T, sr, subtype="PCM_16")
    example = re.search(r"### Streaming.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(example, namespace)
    clips = namespace["result"].clips
    assert len(clips) > 2 and all((tmp_path / c.clip).is_file() for c in clips)
    printed = capsys.readouterr().out.splitlines()
    assert printed[: len(clips)] == [f"{c.start_sample} {c.end_sample}" for c in clips]


def test_so_vits_svc_walkthrough_runs(tmp_path):
    import shlex
    import subprocess
    import sys

    sr = 44100
    x = signals.with_digital_silence(signals.speech_like(seed=13, seconds=100, sr=sr), 13, sr)
    soundfile.write(tmp_path / "drama.wav", x.T, sr, subtype="PCM_16")
    block = re.search(r"## The so-vits-svc flow, with fastslice.*?```bash\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line for line in block.replace("\\\n", " ").splitlines() if line.startswith("fastslice ")]
    assert len(commands) == 8
    outputs = []
    for command in commands:
        if command.startswith("fastslice prune") and not (tmp_path / "dropped.txt").exists():
            # what the page saves: two clips marked, as paths inside the set
            (tmp_path / "dropped.txt").write_text("drama_1.wav\ndrama_2.wav\n")
        argv = [sys.executable, "-m", "fastslice", *shlex.split(command, comments=True)[1:]]
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout)
    page = (tmp_path / "drama.tune.html").read_text()
    assert "RMS frames of drama.wav in drama.tune.html" in outputs[0] and "fastslice slice " in page
    outputs = outputs[1:]
    assert "suggested threshold" in outputs[0] and (tmp_path / "drama.png").is_file()
    assert "dataset/drama_0.wav" in outputs[1]
    clips = sorted((tmp_path / "dataset").glob("drama_*.wav"))
    assert clips and all(soundfile.info(c).duration <= 8.0 for c in clips)
    assert (tmp_path / "dataset.zip").is_file() and (tmp_path / "dataset.csv").is_file()
    assert "in target 4-8 s" in outputs[3]
    assert "clips in dataset/review.html" in outputs[4] and (tmp_path / "dataset" / "review.html").is_file()
    assert "2 clips moved into dataset/dropped" in outputs[5] and "2 clips restored" in outputs[6]
    assert sorted((tmp_path / "dataset").glob("drama_*.wav")) == clips  # back where they were
    assert not list((tmp_path / "dataset" / "dropped").glob("*.wav"))


def test_warmup_prints_what_the_readme_shows(tmp_path):
    import subprocess
    import sys

    shown = re.search(r"\*\*`fastslice warmup`\*\*.*?```\n\$ fastslice warmup\n(.*?)```", README.read_text(), re.S).group(1)
    done = subprocess.run([sys.executable, "-m", "fastslice", "warmup"], capture_output=True, text=True,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr

    def shape(text):  # numbers and the cache folder's path vary
        return re.sub(r"numba cache: \S+", "numba cache: PATH", re.sub(r"\d+(\.\d+)?", "N", text)).splitlines()

    assert shape(done.stdout) == shape(shown)
    assert done.stdout.splitlines()[1] == f"numba cache: {next((tmp_path / 'cache').iterdir())}"


def test_the_projects_slicing_steps_run(tmp_path):
    import shlex
    import subprocess
    import sys

    import numpy as np

    section = re.search(r"\*\*Their whole slicing step, from the command line\.\*\*.*?```bash\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line for line in section.replace("\\\n", " ").splitlines() if line.startswith("fastslice ")]
    assert len(commands) == 2
    raw = tmp_path / "raw"
    raw.mkdir()
    for seed in (21, 22):
        x = signals.with_digital_silence(signals.speech_like(seed=seed, seconds=60, sr=44100), seed, 44100)
        soundfile.write(raw / f"take{seed}.wav", x.T, 44100, subtype="PCM_16")
    for command, folder, rate, alpha in zip(commands, ("sliced", "gt_wavs"), (32000, 40000), (0.25, 0.75)):
        done = subprocess.run([sys.executable, "-m", "fastslice", *shlex.split(command)[1:]], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        clips = sorted((tmp_path / folder).glob("take*.wav"))
        assert len(clips) > 6
        for clip in clips:
            info = soundfile.info(clip)
            assert (info.samplerate, info.channels, info.subtype) == (rate, 1, "PCM_16")
        if folder == "sliced":
            assert all(re.fullmatch(r"take2[12]_\d{10}_\d{10}", c.stem) for c in clips)
        else:
            assert all(soundfile.info(c).duration <= 3.7 + 1e-3 for c in clips)
        peaks = [np.abs(soundfile.read(c, dtype="float64")[0]).max() for c in clips]
        assert min(peaks) >= 0.9 * alpha - 1e-3  # peak out = 0.9 * alpha + (1 - alpha) * peak in
