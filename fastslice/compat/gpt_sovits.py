"""``Slicer`` for GPT-SoVITS's copy of ``slicer2.py`` (``tools/slicer2.py``).

Swap ``from tools.slicer2 import Slicer`` for ``from fastslice.compat.gpt_sovits import Slicer``.
``slice(waveform)`` returns GPT-SoVITS's list of ``[chunk, start, end]``: ``chunk`` a view of
``waveform``, ``start`` and ``end`` in samples as GPT-SoVITS computes them from its frames
(``frame * hop``), which it uses in its file names.  So the last chunk's ``end`` is
``total_frames * hop``, which may lie past the end of the audio; when nothing is cut the one
entry is ``[waveform, 0, total_frames * hop]``.

One difference, on purpose: for an input too short to slice (its sample count at most
``min_length`` in frames, the older check), GPT-SoVITS returns ``[waveform]``, which its own
loop (``for chunk, start, end in ...``) cannot unpack; this returns ``[[waveform, 0, n]]``,
``n`` the input's length in samples.
"""
from __future__ import annotations

from typing import Any

import numpy.typing as npt

from ..cutting import slicer as _slicer
from .rvc import Slicer as _RvcSlicer


class Slicer(_RvcSlicer):
    """The copy's ``Slicer(sr, threshold=-40., min_length=5000, min_interval=300, hop_size=20,
    max_sil_kept=5000)``, returning ``[chunk, start, end]`` triples."""

    def slice(self, waveform: npt.ArrayLike) -> list[list[Any]]:  # type: ignore[override,unused-ignore]
        """GPT-SoVITS's ``[chunk, start, end]`` list of ``waveform``, ``start`` and ``end`` in samples."""
        audio: npt.NDArray[Any] = _slicer.check_waveform(waveform)
        n_samples = audio.shape[-1]
        if self.is_too_short(n_samples):
            return [[audio, 0, n_samples]]
        rms = self.frame_rms(audio)
        hop = self.hop_samples
        tags = self.silence_tags(rms)
        if tags is None:
            return [[audio, 0, rms.shape[0] * hop]]
        return [[audio[..., begin * hop : min(n_samples, end * hop)], begin * hop, end * hop]
                for begin, end in _slicer.tags_to_bounds(tags, rms.shape[0])]
