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
"""
import csv
import json
import math
import os
import secrets
from pathlib import Path
from urllib.parse import quote

import numpy as np
import soundfile

from ._review_page import PAGE
from .errors import FastsliceError, ParameterError

#: The folder under OUT_DIR that ``prune`` moves clips into.
DROPPED = "dropped"
#: Flags, in the order the page shows them.
FLAGS = ("length", "clipping", "silence", "cut start", "cut end")
# A clip is mostly silence when more than this share of its 10 ms frames is below the threshold.
_SILENT_SHARE = 0.5
# The start or end of a clip is "cut" when its first or last 20 ms are this much above the threshold.
_EDGE_MS = 20
_EDGE_ABOVE_DB = 6.0
_FULL_SCALE = 32767 / 32768
_DEFAULT_THRESHOLD = -40.0


def collect(out_dir, manifest=None, target=(4.0, 8.0)):
    """``(sources, clips)`` of the set in ``out_dir``: every clip with its facts and flags.

    The clips are those the markers (``.<stem>.fastslice.json``) under ``out_dir`` list, or the
    rows of ``manifest`` (CSV or JSON Lines, as ``--manifest`` writes them).  Clips already
    moved into ``dropped/`` are left out.  ``sources`` is one dict per source: its path, the
    slicing parameters when a marker gives them, and the indexes of its clips.
    """
    root = Path(out_dir)
    if not root.is_dir():
        raise FastsliceError(f"{out_dir}: no such folder" if not root.exists() else f"{out_dir}: not a folder")
    lo, hi = target
    if not (0 <= lo <= hi):
        raise ParameterError(f"target={target!r} must be two lengths in seconds, 0 <= lo <= hi")
    rows = _manifest_rows(manifest, root) if manifest else _marker_rows(root)
    if not rows:
        raise FastsliceError(f"{out_dir}: no clips found (no .<stem>.fastslice.json marker"
                             f"{'' if manifest else ' under it; give --manifest'})")
    sources, clips = {}, []
    for row in rows:
        path = row["path"]
        if not path.is_file():
            continue
        source = sources.setdefault(row["source"], {"source": row["source"], "params": row.get("params"),
                                                    "decoder": row.get("decoder", "auto"),
                                                    "stream": row.get("stream"), "clips": []})
        facts = clip_facts(path, target, (source["params"] or {}).get("threshold", _DEFAULT_THRESHOLD))
        source["clips"].append(len(clips))
        clips.append({"clip": path.relative_to(root).as_posix(), "source": row["source"],
                      "start": row["start_seconds"], **facts})
    return list(sources.values()), clips


def clip_facts(path, target=(4.0, 8.0), threshold_db=_DEFAULT_THRESHOLD):
    """Length (s), peak (dBFS), RMS (dB) and flags of one clip file."""
    data, sr = soundfile.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    seconds = data.shape[0] / sr
    peak = float(np.abs(data).max(initial=0.0))
    rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64)))) if mono.size else 0.0
    flags = []
    if not target[0] <= seconds <= target[1]:
        flags.append("length")
    if peak >= _FULL_SCALE:
        flags.append("clipping")
    frame = max(1, sr // 100)
    n = mono.shape[0] // frame
    if n:
        power = np.mean(np.square(mono[: n * frame].reshape(n, frame), dtype=np.float64), axis=1)
        if np.count_nonzero(power < 10 ** (threshold_db / 10)) > _SILENT_SHARE * n:  # RMS below the threshold
            flags.append("silence")
    edge = max(1, sr * _EDGE_MS // 1000)
    if mono.shape[0] >= 2 * edge:
        for name, part in (("cut start", mono[:edge]), ("cut end", mono[-edge:])):
            if _db(np.sqrt(np.mean(np.square(part, dtype=np.float64)))) > threshold_db + _EDGE_ABOVE_DB:
                flags.append(name)
    return {"seconds": round(seconds, 3), "peak_db": round(_db(peak), 1), "rms_db": round(_db(rms), 1), "flags": flags}


def sources_overview(sources, clips, max_points=1500):
    """Add to each source whose file is still there its level envelope (``low``/``high`` dB per
    bucket of ``bucket_seconds``), threshold and length; a source that is gone gets none."""
    from .report import envelope

    for source in sources:
        params = dict(source["params"] or {})  # from a manifest: none known, the Slicer's defaults frame it
        if not os.path.isfile(source["source"]):
            continue
        try:
            info, slicer, _, bucket, low, high = envelope(source["source"], params, max_points,
                                                          decoder=source["decoder"], stream=source["stream"])
        except FastsliceError:
            continue
        source.update(bucket_seconds=bucket * slicer.hop_samples / info.samplerate,
                      threshold=slicer.threshold if source["params"] else None,
                      seconds=info.frames / info.samplerate,
                      low=[round(float(v), 1) for v in np.maximum(low, -120)],
                      high=[round(float(v), 1) for v in np.maximum(high, -120)])
    return sources


def write_page(page_path, out_dir, sources, clips, target=(4.0, 8.0)):
    """Write the review page: one HTML file, everything inline."""
    page_path = Path(page_path)
    base = page_path.resolve().parent
    root = Path(out_dir).resolve()
    rows = []
    for clip in clips:
        href = os.path.relpath(root / clip["clip"], base)
        rows.append({**clip, "href": "/".join(quote(part) for part in Path(href).as_posix().split("/"))})
    data = {"out_dir": str(out_dir), "target": list(target), "flags": list(FLAGS), "clips": rows,
            "sources": [{k: v for k, v in s.items() if k not in ("params", "decoder", "stream")} for s in sources]}
    nonce = secrets.token_urlsafe(16)
    text = PAGE.replace("__NONCE__", nonce).replace("__DATA__", _script_json(data))
    page_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = page_path.with_name(f".{page_path.name}.{os.getpid()}.part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, page_path)
    return page_path


def review(out_dir, page_path=None, *, manifest=None, target=(4.0, 8.0)):
    """Collect, measure and write the page (default ``OUT_DIR/review.html``); returns (page path, clip count)."""
    sources, clips = collect(out_dir, manifest, target)
    sources_overview(sources, clips)
    page = write_page(page_path or Path(out_dir) / "review.html", out_dir, sources, clips, target)
    return page, len(clips)


# -- prune ----------------------------------------------------------------------------------


def prune(out_dir, list_path, *, restore=False, manifest=None):
    """Move the clips named in ``list_path`` (paths relative to ``out_dir``, one per line) into
    ``out_dir/dropped/``, or back with ``restore``; returns the moves as ``(from, to)`` paths.

    Every line is checked first; if one names anything outside ``out_dir`` (an absolute path,
    ``..``, a symbolic link out of it), a clip that is not there, or a place already taken,
    nothing is moved and ``FastsliceError`` lists the lines.  The markers (and ``manifest``, if
    given) stop listing pruned clips; their rows are kept in ``dropped/`` for ``restore``.
    """
    root = Path(out_dir)
    if not root.is_dir():
        raise FastsliceError(f"{out_dir}: no such folder")
    real_root = Path(os.path.realpath(root))
    try:
        lines = [ln.strip() for ln in Path(list_path).read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise FastsliceError(f"{list_path}: cannot read it ({exc.strerror or exc})") from None
    names = [ln for ln in lines if ln and not ln.startswith("#")]
    moves, problems = [], []
    for name in dict.fromkeys(names):
        problem = _unsafe(name, real_root)
        if problem:
            problems.append(f"{name!r}: {problem}")
            continue
        kept, dropped = root / name, root / DROPPED / name
        source, target = (dropped, kept) if restore else (kept, dropped)
        if source.is_symlink() or not source.is_file():
            problems.append(f"{name!r}: no such clip{' in ' + DROPPED + '/' if restore else ''}")
        elif not _inside(os.path.realpath(source), real_root):
            problems.append(f"{name!r}: leads outside {out_dir}")
        elif target.exists() or target.is_symlink():
            problems.append(f"{name!r}: {target} already exists")
        else:
            moves.append((source, target))
    if problems:
        raise FastsliceError(f"{list_path}: nothing moved; fix these lines: " + "; ".join(problems))
    names = {Path(s).relative_to(root / DROPPED if restore else root).as_posix() for s, _ in moves}
    for source, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    _move_records(root, names, restore, manifest)
    return moves


def _unsafe(name, real_root):
    path = Path(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        return "an absolute path; give paths relative to the folder"
    if any(part in ("..", "") for part in Path(name).as_posix().split("/")) or "\\" in name:
        return "'..' or an empty part; give a clip's path inside the folder"
    if path.parts[0] == DROPPED:
        return f"inside {DROPPED}/; name the clip by its place in the set"
    if not _inside(os.path.realpath(real_root / path.parent), real_root):
        return "leads outside the folder (a symbolic link)"
    return None


def _inside(path, real_root):
    return os.path.commonpath([str(path), str(real_root)]) == str(real_root)


def _move_records(root, names, restore, manifest):
    """Take the pruned clips' rows out of the markers (and the manifest), keeping them in
    ``dropped/.records.jsonl``; ``restore`` puts them back."""
    store = root / DROPPED / ".records.jsonl"
    kept_rows = [json.loads(ln) for ln in store.read_text(encoding="utf-8").splitlines()] if store.exists() else []
    moving = []
    if restore:
        moving = [r for r in kept_rows if r["name"] in names]
        kept_rows = [r for r in kept_rows if r["name"] not in names]
        for record in moving:
            if record["kind"] == "marker":
                _edit_json(Path(record["file"]), lambda m, rec=record: m["clips"].append(rec["row"]) or
                           m["clips"].sort(key=lambda r: r["start_sample"]))
        _edit_manifest(manifest, add=[r["row"] for r in moving if r["kind"] == "manifest"])
    else:
        for marker, data in _markers(root):
            out = []
            for row in data.get("clips", []):
                name = _name_in(root, marker.parent, row["clip"])
                if name in names:
                    moving.append({"kind": "marker", "file": str(marker), "name": name, "row": row})
                else:
                    out.append(row)
            if len(out) != len(data.get("clips", [])):
                _edit_json(marker, lambda m, out=out: m.__setitem__("clips", out))
        if manifest:
            removed = _edit_manifest(manifest, drop={str(root / n) for n in names} | names, root=root)
            moving += [{"kind": "manifest", "file": str(manifest), "name": _name_in(root, root, r["clip"]), "row": r}
                       for r in removed]
        kept_rows += moving
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("".join(json.dumps(r) + "\n" for r in kept_rows), encoding="utf-8")


def _name_in(root, folder, clip):
    """A marker's or manifest's clip path as a path relative to ``root``."""
    path = Path(clip)
    path = path if path.is_absolute() else Path(os.path.abspath(path))
    try:
        return path.relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return (Path(folder) / path.name).relative_to(root).as_posix()


def _edit_json(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def _edit_manifest(manifest, drop=(), add=(), root=None):
    """Rewrite a CSV or JSON Lines manifest without the rows whose clip is in ``drop`` (or with
    ``add`` appended); returns the rows taken out."""
    if not manifest:
        return []
    from .cli import write_manifest_rows

    path = Path(manifest)
    rows = _read_manifest(path)
    removed = [r for r in rows if r["clip"] in drop or (root is not None and _name_in(root, root, r["clip"]) in drop)]
    kept = [r for r in rows if r not in removed] + list(add)
    write_manifest_rows(path, kept)
    return removed


def _read_manifest(path):
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def _markers(root):
    """``(path, content)`` of each readable marker under ``root``, outside ``dropped/``."""
    for marker in sorted(root.rglob(".*.fastslice.json")):
        if DROPPED in marker.relative_to(root).parts:
            continue
        try:
            yield marker, json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue


def _marker_rows(root):
    rows = []
    for marker, data in _markers(root):
        for row in data.get("clips", []):
            rows.append({"path": marker.parent / Path(row["clip"]).name, "source": data.get("source", row["source"]),
                         "start_seconds": round(row["start_sample"] / (row.get("source_rate") or row["sample_rate"]), 3),
                         "params": data.get("params"), "decoder": data.get("decoder", "auto"), "stream": data.get("stream")})
    return rows


def _manifest_rows(manifest, root):
    try:
        found = _read_manifest(manifest)
    except (OSError, ValueError, KeyError) as exc:
        raise FastsliceError(f"{manifest}: cannot read it as a manifest ({exc})") from None
    rows = []
    for row in found:
        path = Path(row["clip"])
        rows.append({"path": path if path.is_absolute() else root / path, "source": row["source"],
                     "start_seconds": round(float(row["start_seconds"]), 3)})
    return rows


def _db(value):
    return 20 * math.log10(value) if value > 0 else -120.0


def _script_json(data):
    """JSON that is safe inside a <script> element: no '<', '>' or '&' appear as such."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

