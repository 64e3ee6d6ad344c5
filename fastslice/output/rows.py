"""A clip's row: ``Clip``, the one value every record of a sliced set is made of.

``Clip`` is one clip: where it came from, where it went, and its range in samples.
``Clip.row()`` is its row (the columns ``FIELDS``: the manifest's, and a marker's with the
clip's size), ``Clip.from_row`` reads one back, whatever wrote it (a CSV row of strings, a JSON
row of numbers).  The files made of rows are elsewhere in ``output``: ``markers``,
``manifests``, ``records`` (a run's clips as they arrive), ``labels`` and ``archive``.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

from ..system import storage

__all__ = ["FIELDS", "Clip"]

#: The manifest's columns, in order.
FIELDS = ("source", "clip", "start_sample", "end_sample", "start_seconds", "end_seconds", "sample_rate", "channels",
          "source_rate", "speaker", "text", "threshold")
_INTEGER_FIELDS = ("start_sample", "end_sample", "sample_rate", "channels", "source_rate")


@dataclasses.dataclass(frozen=True)
class Clip:
    """One clip: where it came from, where it went, and its range in samples."""

    source: str
    clip: str
    start_sample: int  # in the source, at source_rate
    end_sample: int
    sample_rate: int  # of the clip file
    channels: int  # of the clip file
    source_rate: int = 0  # the source's sample rate (0: the same as sample_rate)
    size: int | None = None  # bytes of the clip file as written (None: not written, or not known)
    speaker: str = ""
    text: str = ""  # what is said in it, where known
    source_frames: int = 0  # the source's length (frames at source_rate; 0: not known)
    frames: int | None = None  # frames in the clip file (at sample_rate; None: not known)
    threshold: float | None = None  # the RMS threshold (dB) that cut it (None: cues or speech cut it, or not known)

    @property
    def length(self) -> int:
        """The clip's length in frames of its file, or of its range in the source where there is no file."""
        return self.frames if self.frames is not None else self.end_sample - self.start_sample

    @property
    def has_file(self) -> bool:
        """False for a clip kept only as a range of its source (``--no-clips``)."""
        return bool(self.clip)

    @property
    def start_seconds(self) -> float:
        """The clip's start in its source, in seconds."""
        return self.start_sample / (self.source_rate or self.sample_rate)

    @property
    def end_seconds(self) -> float:
        """The clip's end in its source, in seconds."""
        return self.end_sample / (self.source_rate or self.sample_rate)

    def row(self, clip: str | None = None) -> dict[str, Any]:
        """The manifest row: every field of ``FIELDS``, with the times in seconds too; ``clip`` in
        place of the clip's own path (a relative one, say)."""
        return {
            "source": self.source, "clip": self.clip if clip is None else clip,
            "start_sample": self.start_sample, "end_sample": self.end_sample,
            "start_seconds": round(self.start_seconds, 6), "end_seconds": round(self.end_seconds, 6),
            "sample_rate": self.sample_rate, "channels": self.channels, "source_rate": self.source_rate or self.sample_rate,
            "speaker": self.speaker, "text": self.text, "threshold": self.threshold,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any], folder: str | None = None) -> Clip:
        """A clip from a manifest or marker row (CSV rows hold strings); a relative clip path is
        taken relative to ``folder``."""
        try:
            values = {name: int(row[name]) for name in _INTEGER_FIELDS if name in row and row[name] not in ("", None)}
            clip = row["clip"] or ""
            if folder is not None and clip and not os.path.isabs(clip) and not storage.is_url(clip):
                clip = storage.resolve(folder, clip)
            size, frames, threshold = row.get("bytes"), row.get("frames"), row.get("threshold")
            return cls(row["source"], clip, values["start_sample"], values["end_sample"], values["sample_rate"],
                       values["channels"], values.get("source_rate", 0),
                       None if size in (None, "") else int(size), row.get("speaker") or "", row.get("text") or "",
                       0, None if frames in (None, "") else int(frames),
                       None if threshold in (None, "") else float(threshold))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a clip row ({type(exc).__name__}: {exc})") from None
