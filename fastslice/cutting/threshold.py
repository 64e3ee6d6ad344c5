"""Levels: a recording's RMS levels, its noise floor and speech level, and the threshold
``--threshold auto`` chooses from them.

Levels are RMS in dB relative to full scale 1.0, frame by frame, as ``Slicer`` computes them
(one frame per hop).  ``Levels`` keeps a recording's frames as they are computed (4 bytes a hop:
an hour at 10 ms is 1.4 MB) and counts them in 0.1 dB bins from -120 to 0 dB for the separation.

The rules, on the frames above -100 dB (below is digital silence: exact zeros, or dither):

* **noise floor**: their 10th percentile;
* **speech level**: the median of the frames at least 10 dB above the noise floor;
* **separation**: how well one level splits the frames into two groups, as Otsu's measure
  (between-group variance over total variance of the dB levels at the best split, 0..1).  Levels
  spread evenly over a range give 0.75, a single bell curve 0.64; speech and its pauses over a
  noise floor give 0.8-0.9 (0.84 over a -50 dB floor, 0.79 with the floor at -35 dB), steady
  noise 0.62, music with its dynamics 0.67-0.70 (fastslice's tests measure these signals);
* **threshold** (``auto``): halfway, in dB, between the noise floor and the speech level;
  ``auto-N``: N dB above the noise floor.

The floor and the speech level are exact percentiles of the frames (not of the bins), and the
threshold is not rounded: the same recording made 12 dB quieter gets a threshold 12 dB lower and
the same cuts.

A recording is **separated** when its separation is at least 0.75 (more distinct than an even
spread of levels) and a speech level exists.  Where the pauses are digital silence and the rest
is not separated (speech with nothing at all between its words: synthetic or gated audio),
digital silence (at least 5 % of the frames) is the floor, at -100 dB, and the speech level is
the median of the other frames.  Otherwise nothing separates two levels (all music, all noise,
all digital silence): the threshold is the fixed default, -40 dB, and the choice says why.

The floor is the 10th percentile, so it holds while pauses are at least about 10 % of the
frames; with fewer pauses it rises into the speech.
"""
from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError

#: The histogram: BIN_DB wide bins from LOW_DB to 0 dB.
LOW_DB = -120.0
BIN_DB = 0.1
N_BINS = 1200
#: Frames below this level (dB) are digital silence, left out of the noise floor.
DIGITAL_SILENCE_DB = -100.0
#: Frames this much (dB) above the noise floor count as speech.
SPEECH_ABOVE_FLOOR_DB = 10.0
#: The least separation (Otsu's measure) of a recording whose threshold ``auto`` chooses.
SEPARATED = 0.75
#: The least share of digital-silence frames that makes them the floor.
DIGITAL_SILENCE_SHARE = 0.05
#: The threshold (dB) of a recording that nothing separates: the command line's default.
FALLBACK_DB = -40.0


class Levels:
    """A recording's RMS frames, added block by block (``add``), and their level histogram."""

    def __init__(self) -> None:
        self.counts = np.zeros(N_BINS, np.int64)
        self._blocks: list[npt.NDArray[np.float32]] = []
        self._frames: npt.NDArray[np.float32] | None = None

    def add(self, rms: npt.ArrayLike) -> None:
        """Keep a block of RMS frames (amplitudes, as ``Slicer`` computes them); NaN frames are not counted."""
        block = np.array(rms, dtype=np.float32)
        self._blocks.append(block)
        self._frames = None
        db = to_db(block)
        db = db[~np.isnan(db)]
        if db.size:
            self.counts += np.bincount(_bin_index(db), minlength=N_BINS)

    def frames(self) -> npt.NDArray[np.float32]:
        """Every frame added, in order (float32 amplitudes)."""
        if self._frames is None:
            self._frames = np.concatenate(self._blocks) if self._blocks else np.empty(0, np.float32)
            self._blocks = [self._frames]
        return self._frames

    @property
    def n(self) -> int:
        """The number of frames counted (NaN frames are not)."""
        return int(self.counts.sum())

    def db(self) -> npt.NDArray[np.float64]:
        """The levels (dB, float64) of the frames counted, from -120 dB up (quieter ones at -120)."""
        db = to_db(self.frames())
        return np.maximum(db[~np.isnan(db)], LOW_DB)

    def percentile(self, q: float) -> float | None:
        """``np.percentile`` of the levels (dB); None if there are none."""
        db = self.db()
        return float(np.percentile(db, q)) if db.size else None

    @property
    def loudest(self) -> float:
        """The loudest frame's level (dB); -inf with none."""
        db = self.db()
        return float(db.max()) if db.size else -math.inf

    def analysis(self, rule: ThresholdRule | None = None) -> Choice:
        """The noise floor, speech level, separation and the threshold ``rule`` gives (``Choice``)."""
        return choose(self, rule or ThresholdRule())


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """``auto`` (halfway between noise floor and speech level) or ``auto-N`` (N dB above the floor)."""

    above_floor_db: float | None = None

    @classmethod
    def parse(cls, value: object) -> ThresholdRule | None:
        """The rule a ``threshold`` value names (``"auto"``, ``"auto-6"``), or None for a level in dB."""
        if not isinstance(value, str):
            return None
        match = re.fullmatch(r"\s*auto(?:-([0-9]+(?:\.[0-9]*)?))?\s*", value.lower())
        if match is None:
            rule = ("must be a level in dB (e.g. -40), 'auto' (halfway between each input's noise floor and speech "
                    "level) or 'auto-N' (N dB above its noise floor, e.g. auto-12)")
            raise ParameterError(f"threshold={value!r} (--threshold) {rule}", parameter="threshold", value=value,
                                 rule=rule)
        above = None if match.group(1) is None else float(match.group(1))
        if above is not None and not 0 < above <= 100:
            raise ParameterError(f"threshold={value!r} (--threshold): N in auto-N must be above 0 and at most "
                                 "100 dB", parameter="threshold", value=value,
                                 rule="is auto-N with an N that is not above 0 and at most 100 dB")
        return cls(above)

    @property
    def text(self) -> str:
        """The rule as ``--threshold`` spells it: ``auto`` or ``auto-N``."""
        return "auto" if self.above_floor_db is None else f"auto-{self.above_floor_db:g}"


@dataclasses.dataclass(frozen=True)
class Choice:
    """What a recording's levels say (dB), and the threshold a rule chose from them."""

    threshold: float
    noise_floor: float | None = None
    speech_level: float | None = None
    separation: float | None = None
    #: False: nothing separates two levels, and ``threshold`` is FALLBACK_DB
    separated: bool = False
    #: how the floor was found, or why nothing separates
    reason: str = ""
    rule: str = "auto"

    def record(self) -> dict[str, object]:
        """As plain JSON values, for markers."""
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """One line: the threshold and what it was chosen from."""
        def db(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f}"

        facts = (f"noise floor {db(self.noise_floor)} dB, speech level {db(self.speech_level)} dB, "
                 f"separation {'n/a' if self.separation is None else f'{self.separation:.2f}'}")
        if not self.separated:
            return f"threshold {self.threshold:.1f} dB ({self.rule}: {self.reason}; {facts})"
        return f"threshold {self.rule} = {self.threshold:.1f} dB ({facts}{'; ' + self.reason if self.reason else ''})"


def choose(levels: Levels, rule: ThresholdRule) -> Choice:
    """The ``Choice`` of ``rule`` (a ``ThresholdRule``) for the frames kept in ``levels`` (``Levels``)."""
    db = levels.db()
    audible = db[db > DIGITAL_SILENCE_DB]
    n_all, n_audible = db.shape[0], audible.shape[0]
    if n_audible == 0:
        why = "it has no RMS frames" if n_all == 0 else "it is all digital silence"
        return Choice(FALLBACK_DB, reason=f"nothing separates two levels: {why}", rule=rule.text)
    floor = float(np.percentile(audible, 10))
    loud = db[db >= floor + SPEECH_ABOVE_FLOOR_DB]
    speech = float(np.median(loud)) if loud.size else None
    separation = _otsu(levels.counts[_bin_at(DIGITAL_SILENCE_DB):])
    reason = ""
    if speech is None or separation < SEPARATED:
        if (n_all - n_audible) >= DIGITAL_SILENCE_SHARE * n_all:  # pauses of digital silence, the rest one spread
            floor, speech = DIGITAL_SILENCE_DB, float(np.median(audible))
            reason = f"the pauses are digital silence ({100 * (n_all - n_audible) / n_all:.0f} % of the frames)"
        else:
            why = ("no frame is 10 dB above the noise floor" if speech is None else
                   f"the levels do not fall into two groups (separation {separation:.2f} < {SEPARATED})")
            return Choice(FALLBACK_DB, floor, speech, separation, reason=f"nothing separates two levels: {why}",
                          rule=rule.text)
    if rule.above_floor_db is None:
        threshold = (floor + speech) / 2
    else:
        threshold = floor + rule.above_floor_db
    return Choice(min(threshold, 0.0), floor, speech, separation, True, reason, rule.text)


def suggestion(levels: Levels) -> float | None:
    """The threshold ``auto`` would choose (dB), or None where nothing separates two levels."""
    choice = choose(levels, ThresholdRule())
    return choice.threshold if choice.separated else None


def to_db(rms: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """RMS amplitudes as dB (float64; 0 gives -inf)."""
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.asarray(rms).astype(np.float64))


# -- the histogram's arithmetic ---------------------------------------------------------------


def _bin_position(db: float | npt.NDArray[np.float64]) -> float | npt.NDArray[np.float64]:
    return (db - LOW_DB) / BIN_DB


def _bin_at(db: float) -> int:
    """The bin that holds level ``db``."""
    return math.floor(_bin_position(db) + 1e-9)


def _bin_index(db: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Histogram bin of each level (dB); levels outside -120..0 dB go to the end bins."""
    return np.clip(np.floor(_bin_position(np.clip(db, LOW_DB, 0.0))), 0, N_BINS - 1).astype(np.int64)


def _otsu(counts: npt.NDArray[np.int64]) -> float:
    """Otsu's separability of the levels counted: the largest between-group variance of a split into
    two groups, over the total variance (0 where all levels are in one bin)."""
    p = counts / counts.sum()
    centres = np.arange(p.shape[0], dtype=np.float64)
    weight = np.cumsum(p)[:-1]
    mean_below = np.cumsum(p * centres)[:-1]
    mean = float((p * centres).sum())
    variance = float((p * (centres - mean) ** 2).sum())
    if variance <= 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean * weight - mean_below) ** 2 / (weight * (1 - weight))
    between = between[np.isfinite(between)]
    return float(between.max() / variance) if between.size else 0.0
