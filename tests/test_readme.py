"""The README's Python example, run as written on a real WAV file read through libsndfile."""
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
