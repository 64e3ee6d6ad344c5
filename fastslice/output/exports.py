"""Exports: a sliced set as each next tool reads it (``--export FORMAT[:PATH]``, ``fastslice export``).

Each format is restated from the reading tool's own code (``tests/test_exports.py`` checks
the files against those restatements, and against ``datasets``' own AudioFolder):

========== ===================================================== =====================================
format     files (default place)                                  "no text yet"
========== ===================================================== =====================================
hf         ``metadata.jsonl`` (or ``.csv``) beside the clips:      ``"text": ""``
           ``file_name`` relative to it, other columns features
lhotse     ``recordings.jsonl.gz``, ``supervisions.jsonl.gz``,    ``text`` left out (lhotse's own form)
           ``cuts.jsonl.gz`` (MonoCut / MultiCut) in a folder
nemo       ``manifest.json``: ``audio_filepath`` (relative to     ``"text": ""``
           the manifest), ``duration``, ``text``, ``offset``
kaldi      ``kaldi/``: ``wav.scp``, ``segments`` (``--no-clips``),  the utterance id alone on its line
           ``utt2spk``, ``spk2utt``, ``text``; C-sorted, unique
gpt-sovits ``dataset.list``: ``path|speaker|language|text``        an empty last field
diffsinger ``transcriptions.csv``: ``name,ph_seq,ph_dur`` beside   empty labelling columns
           ``wavs/``
========== ===================================================== =====================================

Rows come from a run's records or from the markers of a set (``fastslice export``), one at a
time: every writer streams (Kaldi's files are sorted by an external merge sort of bounded
runs), and writes its files to temporary names that are renamed when all are complete.

Clips kept as ranges of their source (``--no-clips``) are exported as offsets: lhotse cuts into
a recording of the whole source, NeMo's ``offset``, Kaldi's ``segments``; the formats whose
tools read clip files (hf, gpt-sovits, diffsinger) refuse them.

``--val N`` sets N clips per speaker aside for validation, the same ones every run (those whose
names hash lowest): hf marks them in a ``split`` column; nemo, lhotse, kaldi and gpt-sovits
write them to a second file or folder named with ``_val``.

Speakers: the clip's speaker (``--speaker``, ``--speaker-from-folder``, a layout's folders), or
for the formats that need one (kaldi, gpt-sovits) the source's stem where none was given.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import gzip
import hashlib
import heapq
import json
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Literal, Mapping

from ..system import storage
from ..errors import FastsliceError, ParameterError
from ..system.atomic import atomic_path
from .rows import Clip

#: Export formats, and the default place of each (relative to OUT_DIR).
DEFAULTS = {"hf": "metadata.jsonl", "lhotse": ".", "nemo": "manifest.json", "kaldi": "kaldi",
            "gpt-sovits": "dataset.list", "diffsinger": "transcriptions.csv"}
FORMATS = tuple(DEFAULTS)
#: The languages GPT-SoVITS's preparation step trains on (its 1-get-text.py), as it spells them.
GPT_SOVITS_LANGUAGES = ("zh", "ja", "en", "ko", "yue")
_NEEDS_FILES = ("hf", "gpt-sovits", "diffsinger")
_SORT_RUN = 50_000  # lines sorted in memory at once (Kaldi's files)
_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9_.]")


@dataclasses.dataclass(frozen=True)
class Export:
    """One ``--export FORMAT[:PATH]``: the format and where it is written."""

    format: str
    path: str  # absolute

    @classmethod
    def parse(cls, spec: object, out_dir: str) -> Export:
        """``FORMAT`` or ``FORMAT:PATH`` (PATH relative to the working folder; by default in OUT_DIR)."""
        format, _, path = str(spec).partition(":")
        if format not in DEFAULTS:
            raise ParameterError(f"--export {spec!r}: the format must be one of {', '.join(FORMATS)}")
        if not path:
            path = storage.join(out_dir, DEFAULTS[format])
        if format == "hf" and Path(path).suffix.lower() not in (".jsonl", ".csv"):
            raise ParameterError(f"--export {spec!r}: AudioFolder reads metadata.jsonl or metadata.csv")
        if format == "hf" and Path(path).stem != "metadata":
            raise ParameterError(f"--export {spec!r}: AudioFolder finds its metadata only under the name "
                                 "metadata.jsonl or metadata.csv")
        return cls(format, path if storage.is_url(path) else os.path.abspath(path))


@dataclasses.dataclass(frozen=True)
class Run:
    """What every writer of one ``write_all`` shares: the clips held out for validation (their keys),
    the language, the storage options of URLs."""

    held_out: frozenset[str] = frozenset()
    language: str | None = None
    storage_options: Mapping[str, Any] | None = dataclasses.field(default=None, repr=False)


def check(exports: Iterable[Export], no_clips: bool = False, language: str | None = None) -> None:
    """Refuse, before any work, exports that cannot be made: clip files needed with ``no_clips``,
    GPT-SoVITS lists without a language it trains on."""
    for export in exports:
        if no_clips and export.format in _NEEDS_FILES:
            raise ParameterError(f"--export {export.format}: its tool reads clip files, and --no-clips writes none; "
                                 "use lhotse, nemo or kaldi, or write clips")
        if export.format == "gpt-sovits" and language not in GPT_SOVITS_LANGUAGES:
            raise ParameterError(f"--export gpt-sovits needs --language, one of {', '.join(GPT_SOVITS_LANGUAGES)} "
                                 f"(GPT-SoVITS skips the lines of any other){'' if language is None else f'; not {language!r}'}")


def write_all(exports: Iterable[Export], clips_of: Callable[[], Iterable[Clip]], out_dir: str, val: int = 0,
              language: str | None = None, storage_options: Mapping[str, Any] | None = None) -> None:
    """Write every export; ``clips_of()`` gives a new iterator over the set's clips, in order, each time.
    ``storage_options`` serve exports (and clips) at URLs."""
    run = Run(validation(clips_of(), val, out_dir) if val else frozenset(), language, storage_options)
    for export in exports:
        clips = clips_of()
        if export.format in _NEEDS_FILES:
            clips = _with_files(clips, export)
        WRITERS[export.format](export.path, clips, out_dir, run)


def _with_files(clips: Iterable[Clip], export: Export) -> Iterator[Clip]:
    for clip in clips:
        if not clip.has_file:
            raise FastsliceError(f"--export {export.format}: {clip.source} was sliced with --no-clips, and "
                                 f"{export.format}'s tool reads clip files; use lhotse, nemo or kaldi")
        yield clip


def validation(clips: Iterable[Clip], n: int, out_dir: str) -> frozenset[str]:
    """The keys of ``n`` clips per speaker set aside for validation: those whose names (under OUT_DIR,
    so the same wherever the set is) hash lowest."""
    lowest: dict[str, list[tuple[int, str]]] = {}
    for clip in clips:
        key = _key(clip)
        name = storage.relative(key, out_dir) if clip.has_file else key
        rank = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()
        heap = lowest.setdefault(_speaker(clip), [])
        item = (-int(rank, 16), key)  # the heap keeps the largest: the lowest hashes
        if len(heap) < n:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return frozenset(key for heap in lowest.values() for _, key in heap)


def _absolute(path: str) -> str:
    return path if storage.is_url(path) else os.path.abspath(path)


def _key(clip: Clip) -> str:
    return clip.clip if clip.has_file else f"{clip.source}\0{clip.start_sample}"


def _speaker(clip: Clip) -> str:
    return clip.speaker or Path(clip.source).stem


def _seconds(clip: Clip) -> float:
    """The clip's length in seconds: of its file (at its rate), or of its range in the source."""
    if clip.has_file:
        return clip.length / clip.sample_rate
    return (clip.end_sample - clip.start_sample) / (clip.source_rate or clip.sample_rate)


def _split(path: str, suffix: str = "_val") -> str:
    """``manifest.json`` -> ``manifest_val.json``; a folder -> ``folder_val``."""
    root, ext = os.path.splitext(path)
    if ext == ".gz":
        root, inner = os.path.splitext(root)
        ext = inner + ext
    return root + suffix + ext


@contextlib.contextmanager
def _files(run: Run, *paths: str) -> Iterator[list[IO[str]]]:
    """Text files written to temporary names, all renamed (or uploaded) when every one is complete."""
    with contextlib.ExitStack() as stack:
        handles: list[IO[str]] = []
        for path in paths:
            temporary = stack.enter_context(atomic_path(path, run.storage_options))
            if str(path).endswith(".gz"):
                handles.append(stack.enter_context(gzip.open(temporary, "wt", encoding="utf-8", newline="")))
            else:
                handles.append(stack.enter_context(open(temporary, "wt", encoding="utf-8", newline="")))
        yield handles


# -- hf -----------------------------------------------------------------------------------------


def write_hf(path: str, clips: Iterable[Clip], out_dir: str, run: Run = Run()) -> None:
    """Hugging Face AudioFolder's ``metadata.jsonl`` (or ``.csv``): a row per clip, paths relative to it."""
    folder = storage.dirname(path)
    fields = ["file_name", "source", "start", "duration", "speaker", "text"] + (["split"] if run.held_out else [])
    with _files(run, path) as (f,):
        writer = csv.DictWriter(f, fieldnames=fields) if path.endswith(".csv") else None
        if writer is not None:
            writer.writeheader()
        for clip in clips:
            relative = storage.relative(clip.clip, folder)
            if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
                raise FastsliceError(f"--export hf:{path}: clip {clip.clip} is not under {folder}; AudioFolder reads "
                                     "only files under its metadata's folder: put the metadata in OUT_DIR")
            row: dict[str, object] = {"file_name": Path(relative).as_posix(), "source": clip.source, "start": round(clip.start_seconds, 6),
                   "duration": round(_seconds(clip), 6), "speaker": clip.speaker, "text": clip.text}
            if run.held_out:
                row["split"] = "validation" if _key(clip) in run.held_out else "train"
            if writer is not None:
                writer.writerow(row)
            else:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


# -- lhotse ---------------------------------------------------------------------------------------


def write_lhotse(folder: str, clips: Iterable[Clip], out_dir: str, run: Run = Run()) -> None:
    """lhotse's recordings, supervisions and cuts (``.jsonl.gz``) in ``folder``."""
    names = ("recordings.jsonl.gz", "supervisions.jsonl.gz", "cuts.jsonl.gz")
    paths = [storage.join(folder, n) for n in names]
    if run.held_out:
        paths += [_split(p) for p in paths]
    with _files(run, *paths) as handles:
        last_source: dict[int, str] = {}
        for clip in clips:
            part = 3 if run.held_out and _key(clip) in run.held_out else 0
            recordings, supervisions, cuts = handles[part : part + 3]
            recording, supervision, cut = lhotse_records(clip, out_dir)
            if clip.has_file or last_source.get(part) != clip.source:  # a source's recording once per file
                recordings.write(json.dumps(recording, ensure_ascii=False) + "\n")
                last_source[part] = clip.source
            supervisions.write(json.dumps(supervision, ensure_ascii=False) + "\n")
            cuts.write(json.dumps(cut, ensure_ascii=False) + "\n")


def lhotse_records(clip: Clip, out_dir: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(Recording, SupervisionSegment, cut) dicts of one clip, as lhotse's ``to_dict`` writes them."""
    channels = list(range(clip.channels))
    if clip.has_file:
        rate, frames, source = clip.sample_rate, clip.length, _absolute(clip.clip)
        recording_id = clip_id(clip, out_dir)
        cut_id, start = recording_id, 0.0
    else:
        rate, frames, source = clip.source_rate or clip.sample_rate, clip.source_frames, clip.source
        recording_id = source_id(clip.source)
        cut_id, start = f"{recording_id}-{clip.start_sample:010d}-{clip.end_sample:010d}", clip.start_sample / rate
    duration = (clip.length if clip.has_file else clip.end_sample - clip.start_sample) / rate
    recording = {"id": recording_id, "sources": [{"type": "file", "channels": channels, "source": source}],
                 "sampling_rate": rate, "num_samples": frames, "duration": frames / rate, "channel_ids": channels}
    channel: int | list[int] = 0 if len(channels) == 1 else channels
    supervision: dict[str, Any] = {"id": cut_id, "recording_id": recording_id, "start": start, "duration": duration,
                   "channel": channel}
    if clip.text:
        supervision["text"] = clip.text
    if clip.speaker:
        supervision["speaker"] = clip.speaker
    in_cut = {**supervision, "start": 0.0}  # a cut's supervisions start from the cut
    cut = {"id": cut_id, "start": start, "duration": duration, "channel": channel, "supervisions": [in_cut],
           "recording": recording, "type": "MonoCut" if len(channels) == 1 else "MultiCut"}
    return recording, supervision, cut


def clip_id(clip: Clip, out_dir: str) -> str:
    """A clip's id: its path under OUT_DIR without the extension, ``/`` as ``-``."""
    relative = os.path.splitext(storage.relative(clip.clip, out_dir))[0]
    return Path(relative).as_posix().replace("/", "-")


def source_id(source: str) -> str:
    """A source's id: its stem and eight hex digits of its path (two sources of one stem stay apart)."""
    return f"{Path(source).stem}-{hashlib.sha1(source.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


# -- nemo -----------------------------------------------------------------------------------------


def write_nemo(path: str, clips: Iterable[Clip], out_dir: str, run: Run = Run()) -> None:
    """NeMo's manifest: a JSON line per clip (``audio_filepath``, ``duration``, ``text``)."""
    folder = storage.dirname(path)
    paths = [path] + ([_split(path)] if run.held_out else [])
    with _files(run, *paths) as handles:
        for clip in clips:
            f = handles[1] if run.held_out and _key(clip) in run.held_out else handles[0]
            row: dict[str, object] = {"audio_filepath": Path(storage.relative(clip.clip, folder)).as_posix() if clip.has_file else clip.source,
                   "duration": round(_seconds(clip), 6), "text": clip.text}
            if not clip.has_file:
                row["offset"] = round(clip.start_seconds, 6)
            if clip.speaker:
                row["speaker"] = clip.speaker
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


# -- kaldi -----------------------------------------------------------------------------------------


def write_kaldi(folder: str, clips: Iterable[Clip], out_dir: str, run: Run = Run()) -> None:
    """A Kaldi data folder: every file sorted in C order by its first field, each id once; utterance
    ids begin with their speaker's (``<speaker>-<clip>``), so that utt2spk sorts both ways."""
    parts = {False: _KaldiLines(run), True: _KaldiLines(run)}
    with contextlib.ExitStack() as stack:
        for part in parts.values():
            stack.enter_context(part)
        for clip in clips:
            part = parts[bool(run.held_out) and _key(clip) in run.held_out]
            speaker = kaldi_id(_speaker(clip))
            if clip.has_file:
                utterance = f"{speaker}-{kaldi_id(clip_id(clip, out_dir))}"
                part.add("wav.scp", f"{utterance} {_absolute(clip.clip)}")
            else:
                recording = kaldi_id(source_id(clip.source))
                rate = clip.source_rate or clip.sample_rate
                utterance = f"{speaker}-{recording}-{clip.start_sample:010d}"
                part.add("wav.scp", f"{recording} {clip.source}", unique=False)
                part.add("segments", f"{utterance} {recording} {clip.start_sample / rate:.6f} {clip.end_sample / rate:.6f}")
            part.add("utt2spk", f"{utterance} {speaker}")
            part.add("text", f"{utterance} {' '.join(clip.text.split())}".rstrip())
        for held, part in parts.items():
            if part.count or not held:
                part.write(_split(folder) if held else folder)


def kaldi_id(text: str) -> str:
    """An id in ``[A-Za-z0-9_.]``: what is not becomes ``_`` (``-`` joins speaker and utterance)."""
    return _ID_CHARACTERS.sub("_", text) or "_"


class _KaldiLines:
    """Lines of each Kaldi file, sorted (an external merge sort of bounded runs) when written."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._sorters: dict[str, _ExternalSort] = {}
        self.count = 0
        self._speaker: str | None = None
        self._utterances: list[str] = []

    def add(self, name: str, line: str, unique: bool = True) -> None:
        self._sorters.setdefault(name, _ExternalSort(unique)).add(line)
        self.count += name == "utt2spk"

    def write(self, folder: str) -> None:
        names = sorted(self._sorters) + ["spk2utt"]
        with _files(self.run, *(storage.join(folder, n) for n in names)) as handles:
            files = dict(zip(names, handles))
            for name, sorter in self._sorters.items():
                for line in sorter.lines():
                    files[name].write(line + "\n")
                    if name == "utt2spk":
                        self._spk2utt(files["spk2utt"], line)
            self._spk2utt(files["spk2utt"], None)

    def _spk2utt(self, f: IO[str], line: str | None) -> None:
        """Each speaker's utterances on one line, from utt2spk's lines in order (``None``: the end)."""
        utterance, speaker = line.split(" ", 1) if line is not None else (None, None)
        if speaker != self._speaker and self._speaker is not None:
            f.write(f"{self._speaker} {' '.join(self._utterances)}\n")
            self._utterances = []
        self._speaker = speaker
        if utterance is not None:
            self._utterances.append(utterance)

    def __enter__(self) -> _KaldiLines:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        for sorter in self._sorters.values():
            sorter.close()
        return False


class _ExternalSort:
    """Lines sorted by their first field in code-point order (UTF-8 byte order: C's), in bounded memory:
    runs of ``_SORT_RUN`` lines are sorted and spilled to temporary files, then merged.  With
    ``unique``, a first field seen twice is an error; else exact repeats are dropped."""

    def __init__(self, unique: bool = True, key: Callable[[str], str] | None = None,
                 what: str = "kaldi export: the id") -> None:
        self.unique, self.what = unique, what
        self._key = key or _first_field
        self._run: list[str] = []
        self._spilled: list[IO[str]] = []

    def add(self, line: str) -> None:
        self._run.append(line)
        if len(self._run) >= _SORT_RUN:
            self._spill()

    def _spill(self) -> None:
        f = tempfile.TemporaryFile("w+", encoding="utf-8")
        f.writelines(line + "\n" for line in sorted(self._run, key=self._key))
        f.seek(0)
        self._spilled.append(f)
        self._run = []

    def lines(self) -> Iterator[str]:
        runs = [(line.rstrip("\n") for line in f) for f in self._spilled] + [iter(sorted(self._run, key=self._key))]
        last: str | None = None
        for line in heapq.merge(*runs, key=self._key):
            if last is not None and self._key(line) == self._key(last):
                if line == last and not self.unique:
                    continue
                raise FastsliceError(f"{self.what} {self._key(line)!r} is given twice ({last!r}, {line!r}); "
                                     "give the clips other names")
            last = line
            yield line

    def close(self) -> None:
        for f in self._spilled:
            f.close()


def _first_field(line: str) -> str:
    return line.split(" ", 1)[0]


# -- gpt-sovits ---------------------------------------------------------------------------------------


def write_gpt_sovits(path: str, clips: Iterable[Clip], out_dir: str, run: Run = Run()) -> None:
    """GPT-SoVITS's ``.list``: ``path|speaker|language|text`` (absolute paths; its preparation steps
    use each path's base name with their audio folder, so base names must be unique)."""
    paths = [path] + ([_split(path)] if run.held_out else [])
    names = _ExternalSort(unique=True, key=lambda name: name, what=f"--export gpt-sovits:{path}: the clip name")
    try:
        with _files(run, *paths) as handles:
            for clip in clips:
                f = handles[1] if run.held_out and _key(clip) in run.held_out else handles[0]
                text = " ".join(clip.text.replace("|", " ").split())
                speaker = _speaker(clip).replace("|", " ")
                f.write(f"{_absolute(clip.clip)}|{speaker}|{run.language}|{text}\n")
                names.add(storage.basename(clip.clip))
            for _ in names.lines():  # raises for a base name given twice, before the list is renamed into place
                pass
    finally:
        names.close()


# -- diffsinger ---------------------------------------------------------------------------------------


def write_diffsinger(path: str, clips: Iterable[Clip], out_dir: str, run: Run = Run()) -> None:
    """DiffSinger's ``transcriptions.csv``: ``name`` (each clip is ``wavs/<name>.wav`` beside it) and the
    labelling columns, empty until the set is labelled (MakeDiffSinger's forced alignment fills them)."""
    wavs = storage.join(storage.dirname(path), "wavs")
    with _files(run, path) as (f,):
        writer = csv.DictWriter(f, fieldnames=["name", "ph_seq", "ph_dur"])
        writer.writeheader()
        for clip in clips:
            name, ext = os.path.splitext(storage.basename(clip.clip))
            if storage.dirname(clip.clip).rstrip("/") != wavs.rstrip("/") or ext.lower() != ".wav":
                raise FastsliceError(f"--export diffsinger:{path}: clip {clip.clip} is not a WAV in {wavs}, where "
                                     "DiffSinger looks for wavs/<name>.wav; use --layout diffsinger")
            writer.writerow({"name": name, "ph_seq": "", "ph_dur": ""})


WRITERS: dict[str, Callable[[str, Iterable[Clip], str, Run], None]] = {"hf": write_hf, "lhotse": write_lhotse, "nemo": write_nemo, "kaldi": write_kaldi,
           "gpt-sovits": write_gpt_sovits, "diffsinger": write_diffsinger}
