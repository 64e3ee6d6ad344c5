"""Seeded test signals: speech-like bursts over a noise floor, digital silence, edge lengths; and
sentences spoken by Debian's espeak-ng."""
import shutil
import subprocess

import numpy as np
import pytest
import soundfile


def speech_like(seed, seconds, sr, channels=2, floor_db=-50.0, dtype=np.float32):
    """Bursts of noise (0.2-4 s, -30..-6 dB) between pauses (0.05-1.5 s) over a noise floor."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = rng.standard_normal((channels, n)) * 10 ** (floor_db / 20)
    pos = int(rng.uniform(0, 1.0) * sr)
    while pos < n:
        length = int(rng.uniform(0.2, 4.0) * sr)
        seg = slice(pos, min(n, pos + length))
        envelope = np.hanning(seg.stop - seg.start + 2)[1:-1] ** 0.3
        level = 10 ** (rng.uniform(-30, -6) / 20)
        x[:, seg] += rng.standard_normal((channels, seg.stop - seg.start)) * envelope * level
        pos += length + int(rng.uniform(0.05, 1.5) * sr)
    return x.astype(dtype)


def with_digital_silence(x, seed, sr):
    """Zero out a few stretches (exact zeros give many RMS ties: argmin must take the first)."""
    rng = np.random.default_rng(seed)
    x = x.copy()
    n = x.shape[-1]
    for _ in range(4):
        start = int(rng.uniform(0, n))
        x[..., start : start + int(rng.uniform(0.1, 2.0) * sr)] = 0
    x[..., : int(0.7 * sr)] = 0  # leading silence
    x[..., n - int(0.9 * sr) :] = 0  # trailing silence
    return x


def near_threshold(seed, seconds, sr, threshold_db, channels=1, dtype=np.float32):
    """A noise floor that hovers around the threshold, so frames flip between silent and not."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    level = 10 ** ((threshold_db + rng.uniform(-1.5, 1.5, size=n // 64 + 1)) / 20)
    gain = np.repeat(level, 64)[:n]
    return (rng.standard_normal((channels, n)) * gain).astype(dtype)


ESPEAK_RATE = 22050


def spoken(sentences, folder):
    """Each sentence as espeak-ng says it (22.05 kHz, float64), from its first to its last sound, at half scale."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("the tests need Debian's espeak-ng (apt-get install espeak-ng; .ci/run does)")
    said = []
    for k, sentence in enumerate(sentences):
        path = folder / f"said_{k}.wav"
        subprocess.run(["espeak-ng", "-s", "165", "-w", str(path), sentence], check=True)
        y, rate = soundfile.read(path, dtype="float64")
        assert rate == ESPEAK_RATE
        loud = np.flatnonzero(np.abs(y) > 10 ** (-45 / 20))
        said.append(y[loud[0] : loud[-1] + 1] * 0.5)
    return said
