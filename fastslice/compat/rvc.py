"""``Slicer`` for RVC, fish-audio-preprocess and the so-vits-svc guide's copy of ``slicer2.py``.

Swap ``from infer.lib.slicer2 import Slicer`` (or ``from slicer2 import Slicer``) for
``from fastslice.compat.rvc import Slicer``.  ``slice(waveform)`` returns the copy's list of
chunks, views of ``waveform`` (the input itself when nothing is cut or it is too short),
bit for bit; float64 input, as RVC passes it after its high-pass filter, is computed in float64.
"""
from __future__ import annotations

from ..cutting import slicer as _slicer


class Slicer(_slicer.Slicer):
    """The copy's ``Slicer(sr, threshold=-40., min_length=5000, min_interval=300, hop_size=20,
    max_sil_kept=5000)``: dB and milliseconds, with its checks (``ValueError``) and its older
    too-short rule."""

    def __init__(self, sr: float, threshold: float = -40.0, min_length: float = 5000, min_interval: float = 300,
                 hop_size: float = 20, max_sil_kept: float = 5000) -> None:
        super().__init__(sr, threshold=threshold, min_length=min_length, min_interval=min_interval,
                         hop_size=hop_size, max_sil_kept=max_sil_kept, legacy_short_check=True)
