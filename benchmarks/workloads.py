"""Seeded speech-like workloads for the benchmarks (imported by conftest.py and the benchmark files).

``FASTSLICE_BENCH_SECONDS`` (default 3600) caps every workload's length in seconds.
"""
import os
import tempfile
from pathlib import Path

import numpy as np

SR = 44100
SECONDS = float(os.environ.get("FASTSLICE_BENCH_SECONDS", "3600"))

BLOCK = 256  # envelope resolution in samples (5.8 ms; deliberately not a multiple of any hop)
BANK = 1 << 21  # noise samples drawn per channel (47 s), laid down at random circular shifts
FLOOR_DB = -50.0


def speech_like(seconds, sr=SR, channels=2, seed=0):
    """Deterministic speech-like audio: float32, channels-first ``(channels, n)``, Fortran-ordered.

    Voiced bursts of 0.3-6 s (white noise at -32..-18 dB RMS, 3-6 Hz syllable
    modulation, 30 ms ramps, a random level per channel) alternate with pauses
    of 0.05-1.5 s, all over a -50 dB noise floor.  Vectorized: 1-3 s per hour.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    n_blocks = -(-n // BLOCK)
    block_s = BLOCK / sr

    # Segments alternate burst, pause, burst, ...; enough of them to cover n samples.
    n_pairs = int(seconds / 0.35) + 2
    bursts = rng.uniform(0.3, 6.0, n_pairs)
    pauses = rng.uniform(0.05, 1.5, n_pairs)
    lengths = np.maximum(1, np.rint(np.stack([bursts, pauses], 1).ravel() / block_s)).astype(np.int64)
    voiced = np.tile([1.0, 0.0], n_pairs)
    level = np.repeat(10 ** (rng.uniform(-32.0, -18.0, n_pairs) / 20), 2)
    rate = np.repeat(rng.uniform(3.0, 6.0, n_pairs), 2)
    pan = rng.uniform(0.6, 1.0, (2 * n_pairs, channels))

    # Per-block gain (n_blocks, channels).
    seg = np.repeat(np.arange(2 * n_pairs), lengths)[:n_blocks]
    t = (np.arange(n_blocks) - (np.cumsum(lengths) - lengths)[seg]) * block_s  # time into the segment
    ramp = np.minimum(1.0, np.minimum(t, lengths[seg] * block_s - t) / 0.03)
    syllables = 0.25 + 0.75 * np.sin(np.pi * rate[seg] * t) ** 2
    envelope = voiced[seg] * level[seg] * ramp * syllables
    gain = (10 ** (FLOOR_DB / 20) + envelope[:, None] * pan[seg]).astype(np.float32)

    # Unit-RMS Gaussian noise, from a bank copied at random shifts (drawing 2x159M normals takes ~5 s).
    bank = rng.standard_normal((BANK, channels), dtype=np.float32)
    bank = np.concatenate([bank, bank])
    out = np.empty((n_blocks * BLOCK, channels), dtype=np.float32)
    for start in range(0, len(out), BANK):
        shift = rng.integers(BANK)
        out[start:start + BANK] = bank[shift:shift + min(BANK, len(out) - start)]
    out.reshape(n_blocks, BLOCK, channels)[...] *= gain[:, None, :]
    return out[:n].T  # (channels, n), F-contiguous: the layout librosa.load(mono=False) returns


def capped(seconds):
    """A workload's length: its nominal length, capped by FASTSLICE_BENCH_SECONDS."""
    return min(float(seconds), SECONDS)


def label(seconds):
    """``1min``, ``10min``, ``1h``, or the capped length in seconds."""
    seconds = capped(seconds)
    return {60.0: "1min", 600.0: "10min", 3600.0: "1h"}.get(seconds, f"{seconds:g}s")


WORKLOAD_DIR = Path(tempfile.gettempdir()) / "fastslice-bench-workloads"


def wav_folder(name, n_files, seconds, first_seed):
    """A folder of ``n_files`` 16-bit stereo WAVs (file i has seed first_seed + i), cached across sessions."""
    import shutil

    import soundfile

    folder = WORKLOAD_DIR / f"{name}_{n_files}x{seconds:g}s_v1"
    if not folder.exists():
        partial = folder.with_name(f".{folder.name}.{os.getpid()}.part")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for i in range(n_files):
            wave = speech_like(seconds, seed=first_seed + i)
            soundfile.write(partial / f"{name}_{i:03d}.wav", wave.T, SR, subtype="PCM_16")
        os.replace(partial, folder)
    return folder
