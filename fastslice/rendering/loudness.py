"""Loudness: integrated loudness per ITU-R BS.1770-4, as pyloudnorm measures it, in constant memory.

``Meter(rate, channels)`` is fed consecutive ``(frames, channels)`` blocks and gives the integrated
loudness (LUFS) of everything fed.  The method, step by step as pyloudnorm 0.1/0.2 computes it
(``pyloudnorm.Meter(rate).integrated_loudness``, its defaults):

1. **K-weighting**: each channel through two biquads, in float64 with zero initial state: a high
   shelf (+4 dB, Q 1/sqrt(2), 1500 Hz) then a high pass (Q 0.5, 38 Hz), both from the RBJ
   cookbook's formulas at the recording's own rate (``k_weighting``);
2. **gating blocks** of 400 ms every 100 ms: block j covers samples
   ``[int(0.4 * (j * 0.25) * rate), int(0.4 * (j * 0.25 + 1) * rate))``, there are
   ``round((T - 0.4) / 0.1) + 1`` of them for T seconds (half to even), and each block's mean
   square is its sum of squares over the full 0.4 s (a last block that runs past the end counts
   the missing part as zeros);
3. each block's loudness ``-0.691 + 10 log10(sum_c G_c z_c)`` with channel weights 1, 1, 1,
   1.41, 1.41 (L, R, C, Ls, Rs; channels beyond the fifth weigh 1, where pyloudnorm refuses them);
4. the **absolute gate** keeps blocks at or above -70 LUFS, the **relative gate** then keeps
   blocks above (strictly) the loudness of their mean minus 10 LU, and above -70;
5. the integrated loudness is ``-0.691 + 10 log10(sum_c G_c mean_c)`` over the blocks kept.

A recording shorter than one block (400 ms) has no integrated loudness (``integrated()`` gives
None; pyloudnorm raises); one whose blocks are all below -70 LUFS gives ``-inf``.

``gain(loudness, peak, target, ceiling)`` is the gain that brings a clip to ``target`` LUFS and
then lowers it until its sample peak is at most ``ceiling`` dBFS (``--loudness``, ``--peak-ceiling``).
"""
from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .. import _kernels

#: The gating block (s), and the step between blocks (a fraction of a block: 75 % overlap).
BLOCK_SECONDS = 0.4
_STEP = 1.0 - 0.75
#: The absolute gate (LUFS) and the relative gate (LU below the mean of the blocks above the absolute one).
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)


def k_weighting(rate: float) -> npt.NDArray[np.float64]:
    """The K-weighting filter at ``rate`` as second-order sections ``(2, 6)``: the high shelf, then the high pass."""
    def section(kind: str, gain_db: float, q: float, fc: float) -> npt.NDArray[np.float64]:
        a_ = 10 ** (gain_db / 40.0)
        w0 = 2.0 * np.pi * (fc / rate)
        alpha = np.sin(w0) / (2.0 * q)
        cos = np.cos(w0)
        if kind == "high_shelf":
            b = [a_ * ((a_ + 1) + (a_ - 1) * cos + 2 * np.sqrt(a_) * alpha), -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
                 a_ * ((a_ + 1) + (a_ - 1) * cos - 2 * np.sqrt(a_) * alpha)]
            a = [(a_ + 1) - (a_ - 1) * cos + 2 * np.sqrt(a_) * alpha, 2 * ((a_ - 1) - (a_ + 1) * cos),
                 (a_ + 1) - (a_ - 1) * cos - 2 * np.sqrt(a_) * alpha]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        coefficients: npt.NDArray[np.float64] = np.array(b + a) / a[0]
        return coefficients

    return np.array([section("high_shelf", 4.0, 1 / np.sqrt(2), 1500.0), section("high_pass", 0.0, 0.5, 38.0)])


def _lower(j: int, rate: float) -> int:
    return int(BLOCK_SECONDS * (j * _STEP) * rate)


def _upper(j: int, rate: float) -> int:
    return int(BLOCK_SECONDS * (j * _STEP + 1) * rate)


class Meter:
    """Integrated loudness of consecutive ``(frames, channels)`` blocks (float32 or float64)."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self.sos = k_weighting(rate)
        self.state = np.zeros((channels, self.sos.shape[0], 2))
        self.sums = np.zeros(channels)
        self.position = 0
        # the running sums of squares at each block's lower and upper bound, as they are passed
        self._at_lower: list[npt.NDArray[np.float64] | None] = []
        self._at_upper: list[npt.NDArray[np.float64] | None] = []
        self._take_points(0, np.zeros((0, channels), np.float32))

    def feed(self, block: npt.NDArray[np.floating]) -> None:
        """Feed the next samples: ``(frames, channels)``, or ``(frames,)`` for one channel."""
        block = np.ascontiguousarray(block)
        if block.ndim == 1:
            block = block[:, None]
        self._take_points(self.position, block)
        self.position += block.shape[0]

    def _take_points(self, first: int, block: npt.NDArray[np.floating]) -> None:
        """Filter ``block`` (samples ``first`` ..) and keep the sums at the block bounds it passes."""
        end = first + block.shape[0]
        stops: list[int] = []
        where: list[tuple[list[npt.NDArray[np.float64] | None], int]] = []
        for kind, bound, kept in (("lower", _lower, self._at_lower), ("upper", _upper, self._at_upper)):
            j = len(kept)
            while bound(j, self.rate) <= end:
                stops.append(bound(j, self.rate) - first)
                where.append((kept, j))
                kept.append(None)
                j += 1
        order = sorted(range(len(stops)), key=stops.__getitem__)
        offsets = np.array([stops[k] for k in order], np.int64)
        out = np.empty((offsets.shape[0], self.channels))
        _kernels.filtered_energy(self.sos, self.state, block, self.sums, offsets, out)
        for row, k in enumerate(order):
            kept, j = where[k]
            kept[j] = out[row]

    def integrated(self) -> float | None:
        """The integrated loudness (LUFS) of what was fed; None if shorter than one block, -inf if
        every block is below the absolute gate."""
        n, rate = self.position, self.rate
        if n < BLOCK_SECONDS * rate:
            return None
        blocks = int(np.round((n / rate - BLOCK_SECONDS) / (BLOCK_SECONDS * _STEP))) + 1
        at_lower = np.array(self._at_lower[:blocks])
        upper = np.array([self._at_upper[j] if _upper(j, rate) <= n else self.sums for j in range(blocks)])
        z = (upper - at_lower).T / (BLOCK_SECONDS * rate)  # (channels, blocks) mean squares
        weights = np.array([_WEIGHTS[c] if c < len(_WEIGHTS) else 1.0 for c in range(self.channels)])
        with np.errstate(divide="ignore", invalid="ignore"):
            loudness = -0.691 + 10.0 * np.log10(weights @ z)
            above = loudness >= ABSOLUTE_GATE
            if not above.any():
                return -math.inf
            relative = -0.691 + 10.0 * np.log10(weights @ z[:, above].mean(axis=1)) + RELATIVE_GATE
            kept = (loudness > relative) & (loudness > ABSOLUTE_GATE)
            if not kept.any():
                return -math.inf
            return float(-0.691 + 10.0 * np.log10(weights @ z[:, kept].mean(axis=1)))


def gain(loudness: float | None, peak: float, target: float, ceiling: float) -> float | None:
    """The gain (a factor) that brings a clip of ``loudness`` LUFS to ``target`` LUFS, lowered so that its
    sample ``peak`` (amplitude) stays at or under ``ceiling`` dBFS; None where it has no loudness
    (shorter than a block, or all below the gate): such a clip is left as it is."""
    if loudness is None or not math.isfinite(loudness) or peak == 0:
        return None
    factor: float = 10 ** ((target - loudness) / 20)
    limit: float = 10 ** (ceiling / 20)
    if peak * factor > limit:
        factor = limit / peak
    return factor
