"""Cutting: where an input's clips are, found as it is read, by one of four cutters behind one
interface (``Cutter``):

* ``ThresholdCuts``: the slicer's silence state machine at a fixed threshold (``ranges.RangeStream``);
  with a speech gate (``--detector speech``) the gate decides the silent frames instead;
* ``CueCuts``: the cues of a subtitle or label file (``cues.CueCutter`` over the RMS frames);
* ``AutoCuts``: ``--threshold auto``: the RMS frames are kept (``levels.Levels``), the threshold is
  chosen from them at the end, and the state machine runs over them then.

Each gives ``(start, end, text)`` ranges in samples from the first sliced frame.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import IO, Any, Literal, Protocol, Union

import numpy as np

from . import cues
from . import threshold as levels
from . import speech
from ..system import storage
from ..errors import FastsliceError
from .framing import FrameStream
from .slicer import Slicer, make_slicer
from .ranges import RangeStream

#: a clip's range: start and end sample, and its text ("" where the cutter gives none)
Cut = tuple[int, int, str]
#: which cutter cuts an input: the slicer's threshold, a speech gate, a cue file, or the automatic threshold
CutterKind = Literal["threshold", "speech", "cues", "auto"]
#: the slicer's parameters as (name, value) pairs, sorted by name (the threshold: dB, or a rule's text)
SlicerParams = tuple[tuple[str, Any], ...]


@dataclasses.dataclass(frozen=True)
class CutRule:
    """How the clips are cut, as the plan decided it: the slicer's ``params`` (as given: a threshold
    rule keeps its text), the automatic threshold's ``threshold_rule`` (None: a fixed threshold), the
    ``detector`` ("rms" or "speech"), and for cues the snap (``snap_ms``, None: by the cue file's kind)
    and whether short cues are merged (``merge_short``)."""

    params: SlicerParams
    threshold_rule: levels.ThresholdRule | None = None
    detector: str = "rms"
    snap_ms: float | None = None

    @property
    def merge_short(self) -> bool:
        """Clips shorter than ``min_length`` are merged with their neighbours (the slicer's parameter)."""
        return bool(dict(self.params).get("merge_short", False))

    def slicer(self, sample_rate: int, threshold: float | None = None) -> Slicer:
        """The ``Slicer`` for an input of ``sample_rate``, at ``threshold`` (dB) if given.  With a
        threshold rule and none given, at ``levels.FALLBACK_DB``: its RMS frames are the same whatever
        the threshold (``AutoCuts`` chooses it once they are all known)."""
        if threshold is None and self.threshold_rule is not None:
            threshold = levels.FALLBACK_DB
        return make_slicer(sample_rate, dict(self.params if threshold is None else self.params_at(threshold)))

    def params_at(self, threshold: float) -> SlicerParams:
        """``params`` with the threshold (dB) that a rule chose, as a marker records what cut the clips."""
        return tuple(sorted({**dict(self.params), "threshold": float(threshold)}.items()))


class CutPlan(Protocol):
    """What the cutting needs of an input's plan (``fastslice.run.plan.Plan`` has it)."""

    @property
    def cut(self) -> CutRule: ...
    @property
    def cutter(self) -> CutterKind: ...
    @property
    def slicer(self) -> Slicer: ...
    @property
    def source_rate(self) -> int: ...
    @property
    def first(self) -> int: ...
    @property
    def stop(self) -> int | None: ...


class Cutter(Protocol):
    """What the loop over one input asks of its cutter."""

    #: with ``--threshold auto``: the ``levels.Choice`` that cut it, once finished
    choice: levels.Choice | None

    def feed_mono(self, mono: np.ndarray) -> list[Cut]:
        """Take the next mono block; the clips completed so far."""

    def first_open_sample(self) -> int:
        """Samples before this are never needed again."""

    def finish(self, interrupted: bool = False) -> list[Cut]:
        """The clips still to come once the input has ended (``interrupted``: by Ctrl-C, a pipe)."""

    def threshold(self) -> float | None:
        """The threshold (dB) that cut the clips, for their rows; None where cues or speech cut them."""

    def record(self) -> dict[str, Any]:
        """What the marker records of the cutting, once finished (beyond the options)."""

    def notes(self, name: str, clips: int, interrupted: bool) -> list[str]:
        """Warnings about the cutting of input ``name``, which gave ``clips`` clips."""


class ThresholdCuts:
    """The slicer's ranges at its threshold, or where a speech gate finds silence (``gate``)."""

    choice: levels.Choice | None = None

    def __init__(self, slicer: Slicer, channels: int, gate: speech.SpeechGate | None = None) -> None:
        self.slicer, self.gate = slicer, gate
        self.ranges = RangeStream(slicer, None, channels, np.float32, gate=gate)

    def feed_mono(self, mono: np.ndarray) -> list[Cut]:
        """Take the next mono block; the clips completed so far."""
        return [(s, e, "") for s, e in self.ranges.feed_mono(mono)]

    def first_open_sample(self) -> int:
        """Samples before this are never needed again."""
        return self.ranges.first_open_sample()

    def finish(self, interrupted: bool = False) -> list[Cut]:
        """The rest (none when interrupted: the last range's end is only where the input stopped)."""
        return [] if interrupted else [(s, e, "") for s, e in self.ranges.finish()]

    def threshold(self) -> float | None:
        """The slicer's threshold; None where the speech gate decides."""
        return None if self.gate is not None else float(self.slicer.threshold)

    def record(self) -> dict[str, Any]:
        """Nothing beyond the options."""
        return {}

    def notes(self, name: str, clips: int, interrupted: bool) -> list[str]:
        """Why there is no clip, if none."""
        if clips or interrupted:
            return []
        why = "no speech found in it" if self.gate is not None else "it is all silence below the threshold"
        return [f"{name}: no clip: {why}"]


class CueCuts:
    """The clips of a cue file, cut at the quietest frames near each cue's ends."""

    choice: levels.Choice | None = None

    def __init__(self, slicer: Slicer, channels: int, cutter: cues.CueCutter) -> None:
        self.cutter = cutter
        self.frames = FrameStream(slicer, None, channels, np.float32, cutter.feed)

    def feed_mono(self, mono: np.ndarray) -> list[Cut]:
        """Take the next mono block; the clips decided so far."""
        self.frames.feed_mono(np.asarray(mono, dtype=np.float32))
        found: list[Cut] = self.cutter.ready()
        return found

    def first_open_sample(self) -> int:
        """Samples before this are never needed again."""
        first: int = self.cutter.first_open_sample()
        return first

    def finish(self, interrupted: bool = False) -> list[Cut]:
        """The rest (none when interrupted)."""
        if interrupted:
            return []
        self.frames.finish()
        assert self.frames.n_samples is not None  # known once the frames are finished
        found: list[Cut] = self.cutter.finish(self.frames.n_samples)
        return found

    def threshold(self) -> float | None:
        """None: the cues cut the clips."""
        return None

    def record(self) -> dict[str, Any]:
        """Nothing beyond the options (the cue file is recorded by ``files``)."""
        return {}

    def notes(self, name: str, clips: int, interrupted: bool) -> list[str]:
        """The cues that were split, and why there is no clip, if none."""
        notes = []
        if self.cutter.split:
            notes.append(f"{name}: {self.cutter.split} cues longer than --max-length were cut at their quietest "
                         "frames; their pieces have no text")
        if not clips and not interrupted:
            notes.append(f"{name}: no clip: no cue falls inside it")
        return notes


class AutoCuts:
    """The cuts of ``threshold="auto"``: none until the input has been read.  Its RMS frames are
    computed as it is (the slicer's threshold plays no part in them) and kept (``levels.Levels``: 4
    bytes a hop, an hour at 10 ms is 1.4 MB); ``finish`` chooses the threshold
    and runs the slicer's state machine over the frames.  Every sample is needed until then."""

    def __init__(self, rule: CutRule, slicer: Slicer, channels: int, rate: int) -> None:
        assert rule.threshold_rule is not None, "AutoCuts cuts with a threshold rule"
        self.cut, self.rate, self.rule = rule, rate, rule.threshold_rule
        self.levels = levels.Levels()
        self.frames = FrameStream(slicer, None, channels, np.float32, lambda first, rms: self.levels.add(rms))
        self.choice: levels.Choice | None = None

    def feed_mono(self, mono: np.ndarray) -> list[Cut]:
        """Take the next mono block: no clip until the end."""
        self.frames.feed_mono(np.asarray(mono, dtype=np.float32))
        return []

    def first_open_sample(self) -> int:
        """0: every sample is needed until the threshold is chosen."""
        return 0

    def finish(self, interrupted: bool = False) -> list[Cut]:
        """The ranges, at the threshold chosen from every frame.  ``interrupted``: the input ended
        early (Ctrl-C on a pipe): the ranges of the frames computed so far, less the last, whose end
        is only where the input stopped."""
        if not interrupted:
            self.frames.finish()
        rms = self.levels.frames()
        self.choice = choice = self.levels.analysis(self.rule)
        slicer = self.cut.slicer(self.rate, threshold=choice.threshold)
        n_samples = self.frames.fed
        if interrupted:  # the samples whose frames are all computed
            if rms.shape[0] == 0:
                return []
            n_samples = min(n_samples, (rms.shape[0] - 1) * slicer.hop_samples + slicer.win_samples
                            - 2 * (slicer.win_samples // 2))
            rms = rms[: slicer.n_frames(n_samples)]
        elif slicer.is_whole(n_samples):
            rms = np.empty(0, np.float32)
        found = [(int(s), int(e), "") for s, e in slicer.ranges_from_rms(rms, n_samples)]
        return found[:-1] if interrupted else found

    def threshold(self) -> float | None:
        """The threshold chosen (after ``finish``)."""
        return None if self.choice is None else float(self.choice.threshold)

    def record(self) -> dict[str, Any]:
        """The slicer's parameters that cut the clips (the threshold chosen, in dB) and the choice."""
        if self.choice is None:
            return {}
        return {"params": dict(self.cut.params_at(self.choice.threshold)), "threshold": self.choice.record()}

    def notes(self, name: str, clips: int, interrupted: bool) -> list[str]:
        """The fallback threshold, if nothing separated the levels; why there is no clip, if none."""
        notes = []
        choice = self.choice
        if choice is not None and not choice.separated:
            notes.append(f"{name}: --threshold {choice.rule}: {choice.reason}; cut at {choice.threshold:g} dB, as a "
                         f"fixed threshold would (give --threshold DB to choose)")
        if not clips and not interrupted:
            notes.append(f"{name}: no clip: it is all silence below the threshold")
        return notes


def cutter_for(plan: CutPlan, channels: int, cue: tuple[str, str] | None) -> Cutter:
    """The cutter the plan chose; ``cue`` is ``(path, text)`` of the cue file, where cues cut it."""
    slicer, rate = plan.slicer, plan.source_rate
    if plan.cutter == "auto":
        return AutoCuts(plan.cut, slicer, channels, rate)
    if plan.cutter == "cues" and cue is not None:
        return CueCuts(slicer, channels, _cue_cutter(plan, cue))
    gate = speech.SpeechGate(rate, slicer.hop_samples) if plan.cutter == "speech" else None
    return ThresholdCuts(slicer, channels, gate)


def _cue_cutter(plan: CutPlan, cue: tuple[str, str]) -> cues.CueCutter:
    slicer, rate, rule = plan.slicer, plan.source_rate, plan.cut
    cue_kind, cue_list = cues.read(cue[0], cue[1])
    snap_ms = rule.snap_ms if rule.snap_ms is not None else cues.SUBTITLE_SNAP_MS if cue_kind in ("srt", "vtt") else 0
    merge_short = rule.merge_short
    return cues.CueCutter(cues.in_samples(cue_list, rate, plan.first, plan.stop), slicer.hop_samples,
                          round(snap_ms * rate / 1000), merge_within=round(slicer.min_interval * rate / 1000),
                          min_length=round(slicer.min_length * rate / 1000) if merge_short else None,
                          max_length=slicer.max_length_samples)


def cue_file(source: Union[str, "os.PathLike[str]", IO[bytes]], cues_option: str, is_path: bool,
             remote: bool) -> tuple[str, str]:
    """(path, text) of the cue file an input is cut by: ``cues_option`` is --cues (a path, or "auto":
    the file beside the input)."""
    if cues_option != "auto":
        path = cues_option
    elif not is_path:
        raise FastsliceError(f"{getattr(source, 'name', '<stream>')}: --cues auto looks beside a file; give the stream "
                             "its cue file (--cues FILE)")
    elif remote:
        raise FastsliceError(f"{storage.public(str(source))}: --cues auto looks beside local files; give --cues FILE")
    else:
        assert isinstance(source, (str, os.PathLike)), "is_path: a local path"
        path = cues.for_input(source)
    try:
        with open(path, encoding="utf-8-sig") as f:
            return os.path.abspath(path), f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise FastsliceError(f"{path}: cannot read it as a cue file ({exc})") from None


def cue_record(cue: tuple[str, str]) -> dict[str, str]:
    """The cue file as the marker records it (it is part of what decides the clips)."""
    return {"path": cue[0], "sha1": hashlib.sha1(cue[1].encode("utf-8")).hexdigest()}
