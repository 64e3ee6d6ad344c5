"""Drop-in ``Slicer`` classes for the projects that ship their own copy of ``slicer2.py``.

Each module is the exact drop-in for one family of copies: the same constructor (names,
defaults, checks), the same return shape and the same clips, so that the swap is one import
line.  Both families carry the older "too short" check (the input's sample count against
``min_length`` in frames), which ``fastslice.Slicer`` follows with ``legacy_short_check=True``.

* ``fastslice.compat.rvc.Slicer``: RVC (``infer/lib/slicer2.py``, ``train/dataset/slicer2.py``),
  fish-audio-preprocess and the so-vits-svc guide: a list of chunks.
* ``fastslice.compat.gpt_sovits.Slicer``: GPT-SoVITS (``tools/slicer2.py``): a list of
  ``[chunk, start, end]`` with ``start``/``end`` in samples as GPT-SoVITS labels them.
"""
from __future__ import annotations
