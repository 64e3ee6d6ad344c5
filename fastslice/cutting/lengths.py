"""Clip lengths beyond the reference: a maximum length, cut where it is quietest, and merging.

Both work on ``(start, end)`` sample ranges and the RMS envelope (frame ``j`` is
centred on sample ``j * hop``), after the reference's slicing:

* ``merge_ranges`` packs consecutive clips together, left to right, while the
  merged clip (first start to last end, the pause between them included) stays
  within the maximum.  A merged clip's length is always its full span.
* ``split_ranges`` cuts every clip longer than the maximum M.  A clip of L
  samples needs n = ceil(L / M) pieces; its first cut goes at the quietest frame
  boundary ``j * hop`` in the *allowed range* ``[end - (n - 1) * M, start + M]``:
  the first piece is at most M and the rest still fits in n - 1 pieces.  The
  rest is cut the same way, until every piece is at most M.  So a clip becomes
  the fewest pieces possible, every sample lands in exactly one piece, and a cut
  falls where the envelope is lowest in its range: mid-sound only if the whole
  range is sound.  Ties go to the earliest frame; frames with NaN RMS are never
  chosen; a range holding no frame boundary (narrower than one hop) is cut at
  its end, ``start + M``.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import numpy.typing as npt


def merge_ranges(ranges: Iterable[tuple[int, int]], max_samples: int) -> list[tuple[int, int]]:
    """Pack consecutive ranges while the merged span stays within ``max_samples``."""
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and end - merged[-1][0] <= max_samples:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def split_range(start: int, end: int, rms: npt.NDArray[np.floating], first_frame: int, hop: int,
                max_samples: int) -> list[tuple[int, int]]:
    """Cut one range into pieces of at most ``max_samples``; ``rms[k]`` is frame ``first_frame + k``."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_samples:
        n = -(-(end - start) // max_samples)
        lo, hi = end - (n - 1) * max_samples, start + max_samples
        j_lo, j_hi = -(-lo // hop), hi // hop
        cut = hi
        if j_lo <= j_hi:
            window = rms[j_lo - first_frame : j_hi - first_frame + 1]
            if not np.isnan(window).all():
                cut = (j_lo + int(np.nanargmin(window))) * hop
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def split_ranges(ranges: Iterable[tuple[int, int]], rms: npt.NDArray[np.floating], first_frame: int, hop: int,
                 max_samples: int) -> list[tuple[int, int]]:
    """``split_range`` of every range."""
    return [piece for start, end in ranges for piece in split_range(start, end, rms, first_frame, hop, max_samples)]
