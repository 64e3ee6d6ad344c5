"""Fixtures for the fastslice benchmarks: synthetic speech-like workloads, deterministic (seeded).

* ``speech(seconds, channels=2, sr=44100)``: the audio in memory, float32, channels-first,
  F-ordered (librosa's layout), made once per session;
* ``speech_wav(seconds, channels=2, sr=44100)``: the same as a 16-bit WAV, written once into
  ``$TMPDIR/fastslice-bench-workloads`` and reused by later sessions.

``FASTSLICE_BENCH_SECONDS`` (default 3600) caps every workload's length in seconds, so
``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/ --benchmark-disable`` is a quick smoke test.
"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest
import soundfile

from workloads import SR, WORKLOAD_DIR, capped, speech_like

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark the checkout, installed or not
    sys.path.insert(0, str(ROOT))


def _oracle():
    spec = importlib.util.spec_from_file_location("fastslice_bench_oracle", ROOT / "tests" / "oracle.py")
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    return oracle


@pytest.fixture(scope="session")
def upstream():
    """audio-slicer 1.0.1's slicer2 module, loaded through tests/oracle.py."""
    return _oracle().load_upstream()


@pytest.fixture(scope="session")
def legacy():
    """The same with the older too-short check, as RVC and GPT-SoVITS ship it (tests/oracle.py)."""
    return _oracle().load_legacy()


_speech = {}


@pytest.fixture(scope="session")
def speech():
    """``speech(seconds, channels=2, sr=44100)``: seeded speech-like audio, (channels, n) float32, F order."""

    def get(seconds, channels=2, sr=SR):
        key = (capped(seconds), channels, sr)
        if key not in _speech:
            _speech[key] = speech_like(key[0], sr=sr, channels=channels, seed=channels * 100003 + sr)
        return _speech[key]

    return get




@pytest.fixture(scope="session")
def speech_wav(speech):
    """``speech_wav(seconds, channels=2, sr=44100)``: that audio as a 16-bit WAV, cached across sessions."""

    def get(seconds, channels=2, sr=SR):
        seconds = capped(seconds)
        path = WORKLOAD_DIR / f"speech_{sr}Hz_{channels}ch_{seconds:g}s_v1.wav"
        if not path.exists():
            WORKLOAD_DIR.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.part")
            soundfile.write(partial, speech(seconds, channels, sr).T, sr, subtype="PCM_16", format="WAV")
            os.replace(partial, path)
        return path

    return get
