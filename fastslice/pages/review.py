"""Review a sliced set by eye and ear: ``fastslice review OUT_DIR`` and ``fastslice prune``.

``collect(out_dir)`` finds the clips of a set, from the hidden markers that ``fastslice slice``
leaves beside them (or from a manifest), and measures each clip: length, peak, RMS and flags.
``sources_overview`` reads each source still present once, in constant memory, for its level
envelope.  ``write_page`` writes one self-contained HTML file: no server, no network, the data
inline as JSON (names and paths are data, never markup), the clips referenced by paths relative
to the page, so the page still works when the folder is zipped or copied.

``prune(out_dir, list_path)`` moves the clips a page's saved list names into ``OUT_DIR/dropped/``
(never deletes them), and takes them out of the markers and of a manifest; ``restore=True``
moves them back.  A list line that names anything outside ``OUT_DIR`` is refused, and then
nothing is moved.

``review_page(out_dir)`` is the same page for a notebook, each clip's audio embedded
(``fastslice.pages.inline``); the module itself is callable as it: ``fastslice.review(out_dir)``.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import math
import os
import posixpath
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TextIO

import numpy as np
import numpy.typing as npt
import soundfile

from ..system import fileops
from ..output.manifests import manifest_kind, read_manifest, write_manifest
from ..output.markers import iter_markers, read_marker, write_marker
from ..output.rows import Clip
from ..system.atomic import atomic_path
from ..errors import FastsliceError, ParameterError
from .inline import InlinePage, make_callable, file_preview, page_href, page_template, script_json
from ..output.outputs import lab_path

if TYPE_CHECKING:
    from _typeshed import StrPath

#: One source of a set, as the page shows it: its path, parameters, clips (indexes), envelope.
Source = dict[str, Any]
#: One clip of a set, measured: its path under OUT_DIR, source, start, length, levels and flags.
ClipFacts = dict[str, Any]

#: The folder under OUT_DIR that ``prune`` moves clips into.
DROPPED = "dropped"
#: Flags, in the order the page shows them: a clip with nothing to keep, then damage, then length.
FLAGS = ("silence", "no pauses", "clipping", "cut start", "cut end", "length")
# Calibrated on real speech (espeak-ng: six voices, 130-230 words a minute, 4-8 s clips with 0.05-0.3 s
# pauses at the edges, at -12..0 dB; noise floors 87, 67, 47 or 42 dB under the peaks) against clips
# made bad on purpose: tests/test_review.py, test_flags_catch_the_bad_clips_and_spare_the_good (the
# figures below are its set's).  Levels are those of 10 ms frames (RMS, dB) against the threshold
# the set was sliced with (-40 dB there).
_FRAME_S = 0.01
# "silence": less than this much sound (frames above the threshold) in the clip.  The speech clips
# hold 2 s or more; the test's blips 0.2 s at most (one short word, "a" or "the", 0.23-0.25 s,
# measured apart).
_MIN_SOUND_S = 0.3
# "no pauses" (music or steady noise only): from its first sound to its last, the clip's quiet
# frames (the 5th percentile of their levels) are within 15 dB of its loud ones (the 95th).  Speech
# dips to its noise floor between words and phrases: 29.5 dB or more (17-20 dB, measured apart,
# with the floor at the threshold itself and -9 dBFS peaks); sustained chords, a legato melody and steady noise stay
# within 9 dB.  A noise floor 15 dB or less under the speech's loud part is flagged too.
_DIP_PERCENTILE = 5
_LOUD_PERCENTILE = 95
_MIN_DIP_DB = 15.0
# "cut start" / "cut end": the first or last 20 ms are more than 3 dB above the threshold: the clip
# starts or ends mid-sound (the slicer cuts in silences, below the threshold: the speech clips'
# edges are 5 dB or more under it).  A cut where the voice sounds is caught; one in the silence of
# a closure or in the tail of a sound may not be.
_EDGE_MS = 20
_EDGE_ABOVE_DB = 3.0
# "clipping": at least this many samples at full scale.  A peak normalized to 0 dBFS is one or two;
# speech driven 6-12 dB over full scale has over 100 in a 5 s clip.
_CLIPPED_SAMPLES = 3
_FULL_SCALE = 32767 / 32768
_DEFAULT_THRESHOLD = -40.0


def collect(out_dir: StrPath, manifest: StrPath | None = None,
            target: tuple[float, float] = (4.0, 8.0)) -> tuple[list[Source], list[ClipFacts]]:
    """``(sources, clips)`` of the set in ``out_dir``: every clip with its facts and flags.

    The clips are those the markers (``.<stem>.fastslice.json``) under ``out_dir`` list, or the
    rows of ``manifest`` (CSV or JSON Lines, as ``--manifest`` writes them).  Clips already
    moved into ``dropped/`` are left out.  ``sources`` is one dict per source: its path, the
    slicing parameters when a marker gives them, and the indexes of its clips.  (``review``
    streams the same without holding them: see ``measured``.)
    """
    sources: list[Source] = []
    clips: list[ClipFacts] = []
    for source, group in measured(out_dir, manifest, target):
        source["clips"] = list(range(len(clips), len(clips) + len(group)))
        sources.append(source)
        clips += group
    if not clips:
        raise FastsliceError(_no_clips(out_dir, manifest))
    return sources, clips


def measured(out_dir: StrPath, manifest: StrPath | None = None,
             target: tuple[float, float] = (4.0, 8.0)) -> Iterator[tuple[Source, list[ClipFacts]]]:
    """``(source, clips)`` per source of the set, one source at a time: each clip measured
    (``clip_facts``), clips that are not there left out."""
    root = Path(out_dir)
    if not root.is_dir():
        raise FastsliceError(f"{out_dir}: no such folder" if not root.exists() else f"{out_dir}: not a folder")
    lo, hi = target
    if not (0 <= lo <= hi):
        raise ParameterError(f"target={target!r} must be two lengths in seconds, 0 <= lo <= hi")
    top = os.path.abspath(root)
    source: Source | None = None
    group: list[ClipFacts] = []
    for clip, record in _set_clips(root, manifest):
        if not os.path.isfile(clip.clip):
            continue
        name = record.get("source", clip.source)
        if source is None or name != source["source"]:
            if group and source is not None:
                yield source, group
            source = {"source": name, "params": record.get("params"), "decoder": record.get("decoder", "auto"),
                      "stream": record.get("stream")}
            group = []
        threshold = clip.threshold if clip.threshold is not None else \
            (source["params"] or {}).get("threshold", _DEFAULT_THRESHOLD)
        facts = clip_facts(clip.clip, target, threshold if isinstance(threshold, (int, float)) else _DEFAULT_THRESHOLD)
        group.append({"clip": Path(os.path.relpath(clip.clip, top)).as_posix(), "source": name,
                      "start": round(clip.start_seconds, 3), **facts})
    if group and source is not None:
        yield source, group


def _no_clips(out_dir: StrPath, manifest: StrPath | None) -> str:
    return (f"{out_dir}: no clips found (no .<stem>.fastslice.json marker"
            f"{'' if manifest else ' under it; give --manifest'})")


def _set_clips(root: StrPath, manifest_path: StrPath | None = None) -> Iterator[tuple[Clip, dict[str, Any]]]:
    """``(clip, record)`` of every clip of the set: from the markers under ``root`` (``record`` is the
    marker's), or from a manifest (``record`` empty)."""
    if manifest_path:
        try:
            for clip in read_manifest(manifest_path):
                yield clip, {}
        except (OSError, ValueError) as exc:
            raise FastsliceError(f"{manifest_path}: cannot read it as a manifest ({exc})") from None
        return
    for _, record, clips in iter_markers(root, skip=(DROPPED,)):
        for clip in clips:
            yield clip, record


def clip_facts(path: StrPath, target: tuple[float, float] = (4.0, 8.0),
               threshold_db: float = _DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Length (s), peak (dBFS), RMS (dB) and flags (in ``FLAGS`` order) of one clip file."""
    data, sr = soundfile.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    seconds = data.shape[0] / sr
    magnitude = np.abs(data)
    peak = float(magnitude.max(initial=0.0))
    rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64)))) if mono.size else 0.0
    flags: set[str] = set()
    if not target[0] <= seconds <= target[1]:
        flags.add("length")
    if np.count_nonzero(magnitude >= _FULL_SCALE) >= _CLIPPED_SAMPLES:
        flags.add("clipping")
    levels = _frame_levels(mono, max(1, round(sr * _FRAME_S)))
    sounding = np.flatnonzero(levels > threshold_db)
    if sounding.size * _FRAME_S < _MIN_SOUND_S:
        flags.add("silence")
    else:  # from the first sound to the last: the pauses the slicer left at the edges do not count
        low, loud = np.percentile(levels[sounding[0] : sounding[-1] + 1], [_DIP_PERCENTILE, _LOUD_PERCENTILE])
        if loud - low < _MIN_DIP_DB:
            flags.add("no pauses")
    edge = max(1, sr * _EDGE_MS // 1000)
    if mono.shape[0] >= 2 * edge:
        for name, part in (("cut start", mono[:edge]), ("cut end", mono[-edge:])):
            if _db(np.sqrt(np.mean(np.square(part, dtype=np.float64)))) > threshold_db + _EDGE_ABOVE_DB:
                flags.add(name)
    return {"seconds": round(seconds, 3), "peak_db": round(_db(peak), 1), "rms_db": round(_db(rms), 1),
            "flags": [f for f in FLAGS if f in flags]}


def _frame_levels(mono: npt.NDArray[np.floating], frame: int) -> npt.NDArray[np.float64]:
    """The RMS level (dB, at least -120) of each whole ``frame`` of samples."""
    n = mono.shape[0] // frame
    power = np.mean(np.square(mono[: n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    levels: npt.NDArray[np.float64] = 10 * np.log10(np.maximum(power, 1e-12))
    return levels


def sources_overview(sources: list[Source], clips: object = None, max_points: int = 1500) -> list[Source]:
    """Add to each source whose file is still there its level envelope (``low``/``high`` dB per
    bucket of ``bucket_seconds``), threshold and length; a source that is gone gets none."""
    for source in sources:
        with_envelope(source, max_points)
    return sources


def with_envelope(source: Source, max_points: int = 1500) -> Source:
    """``sources_overview`` of one source (read once, in constant memory); returns it."""
    from ..report.envelopes import envelope

    params = dict(source["params"] or {})  # from a manifest: none known, the Slicer's defaults frame it
    if not os.path.isfile(source["source"]):
        return source
    try:
        info, slicer, _, bucket, low, high = envelope(source["source"], params, max_points,
                                                      decoder=source["decoder"], stream=source["stream"])
    except FastsliceError:
        return source
    source.update(bucket_seconds=bucket * slicer.hop_samples / info.samplerate,
                  threshold=slicer.threshold if source["params"] else None,
                  seconds=info.frames / info.samplerate,
                  low=[round(float(v), 1) for v in np.maximum(low, -120)],
                  high=[round(float(v), 1) for v in np.maximum(high, -120)])
    return source


def write_page(page_path: StrPath, out_dir: StrPath, sources: list[Source], clips: list[ClipFacts],
               target: tuple[float, float] = (4.0, 8.0)) -> Path:
    """Write the review page of ``collect``'s ``(sources, clips)``: one HTML file, everything inline."""
    groups = ((source, [clips[i] for i in source["clips"]]) for source in sources)
    stream_page(page_path, out_dir, groups, target)
    return Path(page_path)


def stream_page(page_path: StrPath, out_dir: StrPath, groups: Iterable[tuple[Source, list[ClipFacts]]],
                target: tuple[float, float] = (4.0, 8.0)) -> int:
    """Write the review page from ``(source, clips)`` groups as they come (the page's data is
    written to the file row by row, never held whole); returns the number of clips.  With none,
    no page is written and ``FastsliceError`` says so.  The clips are linked by paths relative to
    the page."""
    page = Path(page_path)
    base = page.resolve().parent
    root = Path(out_dir).resolve()
    with atomic_path(page) as temporary:
        with open(temporary, "w", encoding="utf-8") as out:
            count = write_review(out, out_dir, groups, target, lambda clip: page_href(root / clip, base))
        if not count:
            raise FastsliceError(_no_clips(out_dir, None))
    return count


def write_review(out: TextIO, out_dir: StrPath, groups: Iterable[tuple[Source, list[ClipFacts]]],
                 target: tuple[float, float], href: Callable[[str], str]) -> int:
    """Write the review page into ``out``, each clip's audio at ``href(clip's path under out_dir)``;
    returns the number of clips."""
    head, tail = page_template("review").replace("__NONCE__", secrets.token_urlsafe(16)).split("__DATA__")
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as sources:
        start = {"out_dir": str(out_dir), "target": list(target), "flags": list(FLAGS)}
        out.write(head + script_json(start)[:-1] + ', "clips": [')
        for k, (source, clips) in enumerate(groups):
            first = count
            for clip in clips:
                out.write(("," if count else "") + script_json({**clip, "href": href(clip["clip"])}))
                count += 1
            shown = {key: v for key, v in source.items() if key not in ("params", "decoder", "stream")}
            shown["clips"] = list(range(first, count))
            sources.write(("," if k else "") + script_json(shown))
        out.write('], "sources": [')
        sources.seek(0)
        shutil.copyfileobj(sources, out)
        out.write("]}" + tail)
    return count


def review(out_dir: StrPath, page_path: StrPath | None = None, *, manifest: StrPath | None = None,
           target: tuple[float, float] = (4.0, 8.0)) -> tuple[Path, int]:
    """Measure the set's clips and write the page (default ``OUT_DIR/review.html``), one source at
    a time (memory does not grow with the set); returns (page path, clip count)."""
    page = Path(page_path or Path(out_dir) / "review.html")
    try:
        groups = ((with_envelope(source), clips) for source, clips in measured(out_dir, manifest, target))
        count = stream_page(page, out_dir, groups, target)
    except FastsliceError as exc:
        if str(exc) == _no_clips(out_dir, None):
            raise FastsliceError(_no_clips(out_dir, manifest)) from None
        raise
    return page, count


class ReviewPage(InlinePage):
    """The review page of a set for a notebook (``fastslice.review``): shown inline, every clip's
    audio embedded (``fastslice.pages.inline``); ``count`` is the number of clips, ``save(path)`` writes it."""

    def __init__(self, html_text: str, title: str, count: int, height: int = 800) -> None:
        super().__init__(html_text, title, height)
        self.count = count


def review_page(out_dir: StrPath, *, manifest: StrPath | None = None, target: tuple[float, float] = (4.0, 8.0),
                bitrate: int = 24000, height: int = 800) -> ReviewPage:
    """The review page of the set in ``out_dir``, for a notebook: the page ``fastslice review`` writes,
    each clip's audio embedded as an Opus preview at ``bitrate`` bits per second (so it plays in
    Colab and in a saved notebook), shown inline ``height`` pixels high.  ``manifest`` and ``target``
    as for ``fastslice review``.  Called as ``fastslice.review(...)``."""
    from .inline import check_bitrate

    check_bitrate(bitrate)
    root = Path(out_dir)
    text = io.StringIO()
    try:
        groups = ((with_envelope(source), clips) for source, clips in measured(out_dir, manifest, target))
        count = write_review(text, out_dir, groups, target, lambda clip: file_preview(root / clip, bitrate))
    except FastsliceError as exc:
        raise FastsliceError(str(exc).replace(_no_clips(out_dir, None), _no_clips(out_dir, manifest))) from None
    if not count:
        raise FastsliceError(_no_clips(out_dir, manifest))
    return ReviewPage(text.getvalue(), f"fastslice review: {out_dir}", count, height)


# -- prune ----------------------------------------------------------------------------------


def prune(out_dir: StrPath, list_path: StrPath, *, restore: bool = False,
          manifest: StrPath | None = None) -> list[tuple[Path, Path]]:
    """Move the clips named in ``list_path`` (paths relative to ``out_dir``, one per line) into
    ``out_dir/dropped/``, or back with ``restore``; returns the moves as ``(from, to)`` paths.

    Only the set's clips can be moved: those its markers (or ``manifest``) list.  Every line is
    checked first; if one names anything else (a path outside ``out_dir``, a marker, the review
    page, a clip that is not there, a place already taken), nothing is moved and
    ``FastsliceError`` lists the lines.  Two spellings of one clip (``./a_0.wav``, ``a_0.wav``)
    are one clip.  The moves are all done or none: if one fails, those done are moved back.
    The markers (and ``manifest``, if given) stop listing pruned clips; their rows are kept in
    ``dropped/.records.jsonl`` for ``restore``.
    """
    root = Path(out_dir)
    if not root.is_dir():
        raise FastsliceError(f"{out_dir}: no such folder")
    try:
        lines = [ln.strip() for ln in Path(list_path).read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise FastsliceError(f"{list_path}: cannot read it ({exc.strerror or exc})") from None
    store = root / DROPPED / _RECORDS
    records = _read_records(store)
    if restore:
        members = {r["name"] for r in records}
    else:
        top = os.path.abspath(root)
        listed = list(_set_clips(root)) + (list(_set_clips(root, manifest)) if manifest else [])
        members = {Path(os.path.relpath(clip.clip, top)).as_posix() for clip, _ in listed}
    moves, names = _planned_moves(out_dir, list_path, lines, members, restore)
    done: list[tuple[Path, Path]] = []
    companions = [(Path(lab_path(s)), Path(lab_path(t))) for s, t in moves if os.path.isfile(lab_path(s))]
    try:
        for source, target in moves + companions:  # a clip's transcript (.lab) goes with it
            target.parent.mkdir(parents=True, exist_ok=True)
            fileops.rename(source, target)  # retried while another program holds it a moment
            done.append((source, target))
        _move_records(root, set(names), restore, manifest, records, store)
    except BaseException as exc:
        for source, target in reversed(done):  # all or nothing
            fileops.rename(target, source)
        if isinstance(exc, OSError):
            raise FastsliceError(f"{list_path}: nothing moved ({exc.strerror or exc}: {exc.filename})") from None
        raise
    return moves


def _planned_moves(out_dir: StrPath, list_path: StrPath, lines: list[str], members: set[str],
                   restore: bool) -> tuple[list[tuple[Path, Path]], list[str]]:
    """``(moves, names)``: the ``(from, to)`` of each clip the list names, and their names; a
    ``FastsliceError`` listing every line that names anything else (then nothing is moved)."""
    root = Path(out_dir)
    real_root = Path(os.path.realpath(root))
    moves: list[tuple[Path, Path]] = []
    problems: list[str] = []
    names: list[str] = []
    for line in dict.fromkeys(ln for ln in lines if ln and not ln.startswith("#")):
        problem = _unsafe(line, real_root)
        if problem:
            problems.append(f"{line!r}: {problem}")
            continue
        name = posixpath.normpath(line)
        if name in names:
            continue  # another spelling of a clip already listed
        kept, dropped = root / name, root / DROPPED / name
        source, target = (dropped, kept) if restore else (kept, dropped)
        if name not in members:
            problems.append(f"{line!r}: no such clip in {DROPPED}/" if restore else
                            f"{line!r}: not a clip of this set (only clips its markers or manifest list can be moved)")
        elif source.is_symlink() or not source.is_file():
            problems.append(f"{line!r}: no such clip{' in ' + DROPPED + '/' if restore else ''}")
        elif not _inside(os.path.realpath(source), real_root):
            problems.append(f"{line!r}: leads outside {out_dir}")
        elif target.exists() or target.is_symlink():
            problems.append(f"{line!r}: {target} already exists")
        else:
            moves.append((source, target))
            names.append(name)
    if problems:
        raise FastsliceError(f"{list_path}: nothing moved; fix these lines: " + "; ".join(problems))
    return moves, names


_RECORDS = ".records.jsonl"


def _unsafe(name: str, real_root: Path) -> str | None:
    path = Path(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        return "an absolute path; give paths relative to the folder"
    if any(part == ".." for part in path.as_posix().split("/")) or "\\" in name:
        return "'..' in it; give a clip's path inside the folder"
    normal = Path(posixpath.normpath(name))
    if normal.parts[0] == DROPPED:
        return f"inside {DROPPED}/; name the clip by its place in the set"
    if not _inside(os.path.realpath(real_root / normal.parent), real_root):
        return "leads outside the folder (a symbolic link)"
    return None


def _inside(path: StrPath, real_root: StrPath) -> bool:
    return os.path.commonpath([str(path), str(real_root)]) == str(real_root)


def _read_records(store: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(ln) for ln in store.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise FastsliceError(f"{store}: cannot read the records of pruned clips ({exc})") from None


def _move_records(root: Path, names: set[str], restore: bool, manifest_path: StrPath | None,
                  records: list[dict[str, Any]], store: Path) -> None:
    """Take the pruned clips' rows out of the markers (and the manifest), keeping them in
    ``dropped/.records.jsonl``; ``restore`` puts them back.  Each file is rewritten atomically; a
    prune writes the records first, a restore last, so that a killed one loses no row.

    A manifest's rows are moved as their own text (``_manifest_rows``), each recorded with its place
    among the manifest's rows as they were before any prune: a restore puts every row back at its
    place, so the manifest is the same, byte for byte, once every pruned row is back.  If the
    manifest was edited in between (rows added, removed or moved), the rows still go back, each at
    its old place counted from the top, and nothing is lost."""
    top = os.path.abspath(root)

    def relative(clip: Clip) -> str:
        return Path(os.path.relpath(clip.clip, top)).as_posix()

    writes: list[Callable[[], None]] = []
    if restore:
        moving = [r for r in records if r["name"] in names]
        kept = [r for r in records if r["name"] not in names]
        by_marker: dict[str, list[Clip]] = {}
        for r in moving:
            if r["kind"] == "marker":
                by_marker.setdefault(r["file"], []).append(Clip(**r["clip"]))
        for path, back in by_marker.items():
            read = read_marker(path)
            if read is not None:
                record, clips = read
                clips = sorted(clips + back, key=lambda c: c.start_sample)
                writes.append(functools.partial(write_marker, path, record, clips))
        rows = [r for r in records if r["kind"] == "manifest"]
        targets = dict.fromkeys(_manifest_of(r, manifest_path) for r in rows if r["name"] in names)
        for target in targets:
            writes.append(functools.partial(
                _restore_rows, target, [r for r in rows if _manifest_of(r, manifest_path) == target], names))
        for write in writes:
            write()
        _write_records(store, kept)
        return
    kept = list(records)
    for marker, record, clips in iter_markers(root, skip=(DROPPED,)):
        out = [c for c in clips if relative(c) not in names]
        if len(out) != len(clips):
            kept += [{"kind": "marker", "file": str(marker), "name": relative(c), "clip": dataclasses.asdict(c)}
                     for c in clips if relative(c) in names]
            writes.append(functools.partial(write_marker, marker, record, out))
    if manifest_path:
        target = os.path.abspath(manifest_path)
        text, (head, current) = _manifest_text(target)
        placed = _in_place(current, [r for r in records if r["kind"] == "manifest" and "line" in r
                                     and _manifest_of(r, None) == target])
        remaining: list[str] = []
        folder = os.path.dirname(target)
        for row, index in placed:
            if isinstance(row, dict):
                continue  # pruned before
            name = _row_name(head, row, target, folder, relative)
            if name in names:
                kept.append({"kind": "manifest", "file": target, "name": name, "index": index, "line": row,
                             "clip": dataclasses.asdict(_row_clip(head, row, target, folder))})
            else:
                remaining.append(row)
        writes.append(functools.partial(_write_text, target, head + "".join(remaining)))
    _write_records(store, kept)
    for write in writes:
        write()


def _write_records(store: Path, records: list[dict[str, Any]]) -> None:
    """Write the records of the pruned clips; with none left, remove them and the folders emptied."""
    if records:
        with atomic_path(store) as temporary:
            temporary.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        return
    store.unlink(missing_ok=True)
    for folder, _, _ in sorted(os.walk(store.parent), key=lambda entry: -len(entry[0])):
        try:
            os.rmdir(folder)  # only an empty folder goes: a file left in dropped/ keeps it
        except OSError:
            pass


def _manifest_of(record: dict[str, Any], given: StrPath | None) -> str:
    """The manifest a pruned row goes back into: ``given`` (``--manifest``), else the one it came from."""
    return os.path.abspath(given if given else record["file"])


def _manifest_text(path: str) -> tuple[str, tuple[str, list[str]]]:
    try:
        with open(path, "rb") as file:
            text = file.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FastsliceError(f"{path}: cannot read the manifest ({exc})") from None
    return text, _manifest_rows(text, manifest_kind(path))


def _write_text(path: str, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(text.encode("utf-8"))


def _manifest_rows(text: str, kind: str) -> tuple[str, list[str]]:
    """``(head, rows)``: a manifest's header line (CSV; ``""`` for JSON Lines) and each row's own text,
    its line end kept (a CSV row whose text holds a line break is one row of several lines)."""
    if kind == "jsonl":
        return "", list(io.StringIO(text, newline=""))
    physical: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            physical.append(line)
            yield line

    chunks: list[str] = []
    for _ in csv.reader(lines()):
        chunks.append("".join(physical))
        physical.clear()
    if physical:
        chunks.append("".join(physical))
    return (chunks[0], chunks[1:]) if chunks else ("", [])


def _row_clip(head: str, row: str, path: str, folder: str) -> Clip:
    values = next(csv.DictReader(io.StringIO(head + row, newline=""))) if head else json.loads(row)
    return Clip.from_row(values, folder)


def _row_name(head: str, row: str, path: str, folder: str, relative: Callable[[Clip], str]) -> str | None:
    """The clip a manifest row names (its path relative to the set), or None for a line that is no clip row."""
    try:
        return relative(_row_clip(head, row, path, folder))
    except (StopIteration, ValueError, TypeError, AttributeError):
        return None


def _in_place(current: list[str], dropped: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    """The manifest's rows as they were before any prune, each with its place: the rows it has
    (their text), in order, around the records of the rows pruned (dicts) at their recorded places."""
    at = {int(r["index"]): r for r in dropped}
    rows = iter(current)
    merged: list[tuple[Any, int]] = []
    index = 0
    left = len(current)
    while left or any(i >= index for i in at):
        if index in at:
            merged.append((at[index], index))
        elif left:
            merged.append((next(rows), index))
            left -= 1
        else:  # the manifest lost rows since: the next pruned row's place
            index = min(i for i in at if i > index)
            continue
        index += 1
    return merged


def _restore_rows(path: str, rows: list[dict[str, Any]], names: set[str]) -> None:
    """Put the pruned rows of ``names`` back into the manifest ``path``, each at its place (``_in_place``);
    rows recorded before places were kept go at its end."""
    text, (head, current) = _manifest_text(path)
    placed = _in_place(current, [r for r in rows if "line" in r])
    out = [row if isinstance(row, str) else row["line"] for row, _ in placed
           if isinstance(row, str) or row["name"] in names]
    _write_text(path, head + "".join(out))
    older = [Clip(**r["clip"]) for r in rows if "line" not in r and r["name"] in names]
    if older:
        write_manifest(path, list(read_manifest(path)) + older)


def _db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else -120.0


make_callable(__name__, review_page)  # fastslice.tune(...) / fastslice.review(...) is review_page(...)
