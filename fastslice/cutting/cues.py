"""``--cues``: one clip per subtitle or label, its text carried, its boundaries where it is quiet.

Cue files (``read``): SubRip (``.srt``), WebVTT (``.vtt``), an Audacity label track (``start<TAB>end
<TAB>text``, seconds: what ``--labels`` writes), or a CSV of ``start,end[,text]`` (seconds, an
optional header).  ``--cues auto`` takes ``<stem>.srt``, ``<stem>.vtt`` or ``<stem>_labels.txt``
beside each input (``for_input``).

Subtitles are timed to a few hundred milliseconds and often fall mid-word, so their times are
moved (``--snap MS``, 300 by default): each boundary goes to the quietest RMS frame (frame ``j``
is centred on sample ``j * hop``, as the slicer's) within the snap of its time, never across the
neighbouring cue's time or the previous cut; ties go to the earliest frame; where no frame lies
in reach the time is kept.  Subtitles closer than ``min_interval`` (overlapping ones included)
are one clip, their texts joined.  Labels and CSV rows are cuts made by hand: they are taken as
they are (no snap unless ``--snap`` is given, no merging), so that labels fastslice wrote give
the same clips back.

Then, as for the slicer: a clip shorter than ``min_length`` is merged with the next (texts
joined) while the merged clip stays within ``max_length``; a clip longer than ``max_length`` is
cut at its quietest frames (``fastslice.cutting.lengths``), and its pieces have no text (a text cannot
be split).

``CueCutter`` does this as the RMS frames arrive, holding only the frames from the earliest
clip still open: constant memory for a stream of any length, and the same cuts whatever the
blocks (the in-memory ``cut`` feeds it all at once).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
from typing import TYPE_CHECKING, Iterable

import numpy as np
import numpy.typing as npt

from . import lengths
from ..errors import FastsliceError

if TYPE_CHECKING:
    from _typeshed import StrPath

#: A clip of a cue, in samples of the stream: ``(start, end, text)``.
SampleCue = tuple[int, int, str]

#: The snap (ms) of subtitles by default; labels and CSV rows are exact.
SUBTITLE_SNAP_MS = 300
_BESIDE = (".srt", ".vtt", "_labels.txt")
_SRT_TIME = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{1,3})")
_VTT_TIME = re.compile(r"(?:(\d+):)?(\d\d):(\d\d)\.(\d{3})")
_TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")


@dataclasses.dataclass(frozen=True)
class Cue:
    """One cue of a cue file: its span in seconds of the input, and its text."""

    start: float  # seconds in the input
    end: float
    text: str = ""


def read(path: StrPath, text: str | None = None) -> tuple[str, list[Cue]]:
    """``(kind, cues)`` of a cue file (``text``: its content, if already read); kind is "srt", "vtt",
    "labels" or "csv"; cues sorted by start.  ``FastsliceError`` names the file and the line."""
    if text is None:
        try:
            with open(path, encoding="utf-8-sig") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise FastsliceError(f"{path}: cannot read it as a cue file ({exc})") from None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    name = str(path).lower()
    if name.endswith(".srt"):
        kind, cues = "srt", _subtitles(path, text, _SRT_TIME)
    elif name.endswith(".vtt") or text.startswith("WEBVTT"):
        kind, cues = "vtt", _subtitles(path, text, _VTT_TIME)
    elif name.endswith(".csv"):
        kind, cues = "csv", _csv(path, text)
    else:
        kind, cues = "labels", _labels(path, text)
    return kind, sorted(cues, key=lambda c: (c.start, c.end))


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds, fraction = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _subtitles(path: StrPath, text: str, time: re.Pattern[str]) -> list[Cue]:
    cues: list[Cue] = []
    for number, block in enumerate(text.split("\n\n"), 1):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        arrow = next((k for k, ln in enumerate(lines) if "-->" in ln), None)
        if arrow is None:
            continue  # a header, a NOTE or STYLE block, a stray number
        left, right = lines[arrow].split("-->", 1)
        start, end = time.search(left), time.search(right)
        if start is None or end is None:
            raise FastsliceError(f"{path}: cue {number} has no times I can read: {lines[arrow]!r}")
        words = " ".join(_TAGS.sub("", ln).strip() for ln in lines[arrow + 1 :])
        cues.append(Cue(_seconds(start), _seconds(end), " ".join(words.split())))
    return cues


def _labels(path: StrPath, text: str) -> list[Cue]:
    cues: list[Cue] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.startswith("\\") or line.startswith("\t"):
            continue  # a spectral selection's frequency line
        parts = line.split("\t")
        try:
            start, end = float(parts[0]), float(parts[1] if len(parts) > 1 else parts[0])
        except ValueError:
            raise FastsliceError(f"{path}: line {number} is not an Audacity label (start<TAB>end<TAB>text): "
                                 f"{line[:80]!r}") from None
        cues.append(Cue(start, end, parts[2].strip() if len(parts) > 2 else ""))
    return cues


def _csv(path: StrPath, text: str) -> list[Cue]:
    cues: list[Cue] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip():
            continue
        try:
            start, end = float(row[0]), float(row[1])
        except (ValueError, IndexError):
            if number == 1:
                continue  # a header
            raise FastsliceError(f"{path}: row {number} is not start,end[,text] in seconds: {row!r}") from None
        cues.append(Cue(start, end, row[2].strip() if len(row) > 2 else ""))
    return cues


def for_input(source: StrPath) -> str:
    """The cue file beside an input for ``--cues auto``: ``<stem>.srt``, ``.vtt`` or ``_labels.txt``."""
    folder, name = os.path.split(os.fspath(source))
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    for suffix in _BESIDE:
        candidate = os.path.join(folder, stem + suffix)
        if os.path.isfile(candidate):
            return candidate
    raise FastsliceError(f"{source}: --cues auto finds no {', '.join(stem + s for s in _BESIDE)} beside it")


class CueCutter:
    """The clips of ``cues`` (in samples of the stream: ``(start, end, text)``), fed RMS frames.

    ``feed(first, rms)`` takes frames ``[first, first + len)`` in order; ``ready()`` returns the
    clips decided since; ``finish(n_samples)`` the rest.  ``snap`` is in samples (0: exact);
    ``merge_within`` merges cues whose gap is below it (snapped cues only); ``min_length`` and
    ``max_length`` are in samples (None: none)."""

    def __init__(self, cues: Iterable[SampleCue], hop: int, snap: int, merge_within: int = 0, min_length: int | None = None,
                 max_length: int | None = None) -> None:
        self.hop, self.snap = hop, snap
        self.min_length, self.max_length = min_length, max_length
        self._cues = _merged(sorted(cues), merge_within) if snap else [c for c in sorted(cues) if c[1] > c[0]]
        self._frames = np.empty(0, np.float64)
        self._frames_first = 0  # the frame at _frames[0]
        self._next = 0  # the next boundary: cue next // 2, its start (even) or end (odd)
        self._cut = 0  # the last cut made
        self._open_start: int | None = None
        self._decided: list[SampleCue] = []  # clips of cues, waiting for min_length merging and max_length splitting
        self._out: list[SampleCue] = []
        self.split = 0  # clips longer than max_length that were cut (their pieces lost their text)

    # -- boundaries ---------------------------------------------------------------------------

    def _boundary(self, k: int) -> tuple[int, int, int]:
        """(time, lowest, highest) of boundary ``k``, in samples."""
        cue = self._cues[k // 2]
        if k % 2 == 0:
            return cue[0], max(cue[0] - self.snap, self._cut), min(cue[0] + self.snap, cue[1])
        after = self._cues[k // 2 + 1][0] if k // 2 + 1 < len(self._cues) else None
        highest = cue[1] + self.snap if after is None else min(cue[1] + self.snap, after)
        return cue[1], max(cue[1] - self.snap, self._cut + 1), highest

    def feed(self, first: int, rms: npt.NDArray[np.floating]) -> None:
        """Take the RMS frames ``[first, first + len(rms))``, the next in order."""
        if self._frames.shape[0] == 0:
            self._frames_first = first
        self._frames = np.concatenate([self._frames, rms.astype(np.float64)])
        self._decide(known_frames=first + rms.shape[0])

    def _decide(self, known_frames: int | None, n_samples: int | None = None) -> None:
        while self._next < 2 * len(self._cues):
            time, lowest, highest = self._boundary(self._next)
            if n_samples is not None:
                time, lowest, highest = min(time, n_samples), min(lowest, n_samples), min(highest, n_samples)
            last_frame = highest // self.hop
            if n_samples is None and known_frames is not None and last_frame >= known_frames:
                break  # its window is not all here yet
            cut = self._quietest(lowest, highest, time)
            if self._next % 2 == 0:
                self._open_start = cut
            else:
                if self._open_start is not None and cut > self._open_start:
                    self._decided.append((self._open_start, cut, self._cues[self._next // 2][2]))
                self._open_start = None
            self._cut = cut
            self._next += 1
        self._settle(final=n_samples is not None)

    def _quietest(self, lowest: int, highest: int, time: int) -> int:
        lowest = min(lowest, highest)
        j_lo, j_hi = -(-lowest // self.hop), highest // self.hop
        if self.snap and j_lo <= j_hi:
            window = self._frames[j_lo - self._frames_first : j_hi - self._frames_first + 1]
            if window.shape[0] and not np.isnan(window).all():
                return int((j_lo + int(np.nanargmin(window))) * self.hop)
        return int(min(max(time, lowest), highest))

    def _settle(self, final: bool) -> None:
        """Merge short clips into the next, split long ones; hand out what is settled."""
        while self._decided:
            start, end, text = self._decided[0]
            if self.min_length is not None and end - start < self.min_length:
                if len(self._decided) > 1:
                    following = self._decided[1]
                    if self.max_length is None or following[1] - start <= self.max_length:
                        self._decided[:2] = [(start, following[1], " ".join(t for t in (text, following[2]) if t))]
                        continue
                elif not final:
                    return  # wait for the next clip
            self._decided.pop(0)
            if self.max_length is not None and end - start > self.max_length:
                pieces = lengths.split_range(start, end, self._frames, self._frames_first, self.hop, self.max_length)
                self.split += 1
                self._out += [(a, b, "") for a, b in pieces]
            else:
                self._out.append((start, end, text))
        self._release()

    def _release(self) -> None:
        """Forget frames no boundary or open clip will read again."""
        keep: list[int] = []
        if self._open_start is not None:
            keep.append(self._open_start)
        if self._decided:
            keep.append(self._decided[0][0])
        if self._next < 2 * len(self._cues):
            keep.append(self._boundary(self._next)[1])
        frame = max(0, min(keep) // self.hop - 1) if keep else self._frames_first + self._frames.shape[0]
        drop = min(frame - self._frames_first, self._frames.shape[0])
        if drop > 0:
            self._frames = self._frames[drop:]
            self._frames_first += drop

    def ready(self) -> list[SampleCue]:
        """The clips decided since the last call."""
        out, self._out = self._out, []
        return out

    def finish(self, n_samples: int) -> list[SampleCue]:
        """The clips left, the stream having ended after ``n_samples``."""
        self._decide(known_frames=None, n_samples=n_samples)
        return self.ready()

    def first_open_sample(self) -> int:
        """The earliest sample a clip not yet handed out can start at."""
        candidates = [self._cut]
        if self._open_start is not None:
            candidates.append(self._open_start)
        if self._decided:
            candidates.append(self._decided[0][0])
        if self._next < 2 * len(self._cues):
            candidates.append(self._boundary(self._next)[1])
        return max(0, min(candidates))


def _merged(cues: Iterable[SampleCue], within: int) -> list[SampleCue]:
    """Cues whose gap is below ``within`` (or that overlap) as one, texts joined."""
    merged: list[SampleCue] = []
    for start, end, text in cues:
        if end <= start:
            continue
        if merged and start - merged[-1][1] < within:
            a, b, t = merged[-1]
            merged[-1] = (a, max(b, end), " ".join(x for x in (t, text) if x))
        else:
            merged.append((start, end, text))
    return merged


def in_samples(cues: Iterable[Cue], rate: int, first: int = 0, stop: int | None = None) -> list[SampleCue]:
    """``(start, end, text)`` in samples of a stream that starts at sample ``first`` of the input
    (``--start``), cues outside ``[first, stop)`` left out, those across its edges cut there."""
    out: list[SampleCue] = []
    for cue in cues:
        start, end = round(cue.start * rate) - first, round(cue.end * rate) - first
        if stop is not None:
            end = min(end, stop - first)
        start = max(start, 0)
        if end > start:
            out.append((start, end, cue.text))
    return out


def cut(cues: Iterable[SampleCue], rms: npt.ArrayLike, n_samples: int, hop: int, snap: int, merge_within: int = 0,
        min_length: int | None = None, max_length: int | None = None) -> list[SampleCue]:
    """The clips of ``cues`` over a whole recording's RMS frames at once (``CueCutter`` fed in one go)."""
    cutter = CueCutter(cues, hop, snap, merge_within, min_length, max_length)
    cutter.feed(0, np.asarray(rms))
    return cutter.ready() + cutter.finish(n_samples)
