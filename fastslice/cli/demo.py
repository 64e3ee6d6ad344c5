"""``fastslice demo``: a short synthetic recording, sliced, its clips printed."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings.declarations import slicer_params_of

if TYPE_CHECKING:
    import numpy as np


def run_demo(args: argparse.Namespace) -> int:
    """Write ``OUT/demo.wav`` (40 s, synthetic), slice it into ``OUT/clips`` with the given flags, print the clips."""
    import numpy as np
    import soundfile

    from ..run.files import slice_file
    from .slice_command import print_clip_table

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sr = 44100
    recording = out / "demo.wav"
    soundfile.write(recording, demo_recording(sr), sr, subtype="PCM_16")
    print("fastslice demo: slicing (the very first run also compiles fastslice's kernels, a few seconds) ...", file=sys.stderr)
    result = slice_file(recording, out / "clips", slicer_params_of(args), overwrite=True)
    print(f"fastslice demo: sliced {recording} ({result.audio_seconds:.1f} s, synthetic) into {len(result.clips)} clips:")
    print_clip_table(result.clips)
    lengths = np.array([c.end_seconds - c.start_seconds for c in result.clips])
    if len(lengths):
        print(f"clips from {lengths.min():.2f} s to {lengths.max():.2f} s; try --threshold, --min-length, ... to see them change")
    return 0


def demo_recording(sr: int, seconds: float = 40.0, seed: int = 2024) -> np.ndarray:
    """Tones and noise bursts between pauses over a quiet noise floor, mono float32 (seeded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = rng.standard_normal(n) * 10 ** (-60 / 20)
    position = int(0.5 * sr)
    while position < n:
        length = min(int(rng.uniform(1.0, 5.0) * sr), n - position)
        t = np.arange(length) / sr
        if rng.uniform() < 0.5:
            burst = np.sin(2 * np.pi * rng.uniform(120, 400) * t) + 0.3 * np.sin(2 * np.pi * rng.uniform(800, 2000) * t)
        else:
            burst = rng.standard_normal(length)
        envelope = np.minimum(1, np.minimum(t, t[-1] - t) / 0.02) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
        x[position : position + length] += 0.25 * burst * envelope
        position += length + int(rng.uniform(0.4, 1.5) * sr)
    result: np.ndarray = x.astype(np.float32)
    return result
