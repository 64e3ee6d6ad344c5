"""Finishing a batch: its manifest, zip, exports and review page, once every input is sliced.

``slice_files`` slices; ``finish_batch`` writes what a set needs around its clips, from Python
as from the command line (``fastslice slice --manifest --zip --export --review``):

    batch = slice_files(["recordings/"], "clips", {"min_length": 4000})
    finish_batch(batch, "clips", manifest="clips/all.csv", exports=["hf", "lhotse"], review=True)

The manifest is written last: a reader that trusts the manifest never sees a partial set.
``check_finish`` refuses, before any work, what could not be written (a bad manifest name, a
zip not named .zip, an export its tool could not read); ``write_input_labels`` writes one
input's Audacity label file as it finishes (``--labels``).
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from ..output.archive import write_zip
from ..output.labels import write_labels
from ..output.manifests import manifest_kind, write_manifest
from ..system import storage
from ..errors import ParameterError
from .lock import Wait, lock_folder

if TYPE_CHECKING:
    from .batch import BatchResult
    from ..output.exports import Export
    from ..run.files import FileResult
    from ..output.rows import Clip
    from ..settings.options import SliceOptions
    from .scan import Job

__all__ = ["Finished", "finish_batch", "check_finish", "batch_exports", "write_input_labels"]

#: Where a clip list comes from: a ``BatchResult`` kept with its results, or a function that gives a
#: new iterator over the set's clips, in order, each time it is called.
ClipSource = Union["BatchResult", Callable[[], Iterable["Clip"]]]
PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass
class Finished:
    """What ``finish_batch`` wrote (None / empty: not asked for)."""

    manifest: Optional[str] = None
    zip: Optional[str] = None
    exports: list[Export] = dataclasses.field(default_factory=list)
    #: the review page and the clips it shows
    review: Optional[str] = None
    review_clips: int = 0


def batch_exports(specs: Iterable[Union[str, Export]], out_dir: PathLike, options: Optional[SliceOptions] = None, *,
                  val: Optional[int] = None, language: Optional[str] = None) -> list[Export]:
    """The exports of a batch, checked: ``specs`` (``"FORMAT"`` or ``"FORMAT:PATH"``, as ``--export``
    takes them, or ``Export`` values) and the lists of the options' layout; ``ParameterError`` for
    one that cannot be made (``val`` below 1, clip files needed with ``no_clips``, a language)."""
    from ..output.exports import Export, check

    exports = [spec if isinstance(spec, Export) else Export.parse(spec, os.fspath(out_dir)) for spec in specs]
    if options is not None and options.project is not None:
        given = {e.format for e in exports}
        exports += [Export(format, os.path.abspath(os.path.join(out_dir, path)))
                    for format, path in options.project.exports if format not in given]
    if val is not None and val < 1:
        raise ParameterError(f"val={val} (--val) must be a number of clips per speaker, >= 1")
    check(exports, no_clips=options is not None and options.no_clips, language=language)
    return exports


def check_finish(out_dir: PathLike, options: Optional[SliceOptions] = None, *, manifest_path: Optional[PathLike] = None,
                 zip_path: Optional[PathLike] = None, exports: Iterable[Union[str, Export]] = (),
                 val: Optional[int] = None, language: Optional[str] = None) -> list[Export]:
    """Refuse before any work what ``finish_batch`` could not write; returns the exports, checked."""
    if zip_path is not None and Path(zip_path).suffix.lower() != ".zip":
        raise ParameterError(f"zip={os.fspath(zip_path)!r} (--zip): the name must end in .zip")
    if manifest_path is not None:
        try:
            manifest_kind(manifest_path)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
    return batch_exports(exports, out_dir, options, val=val, language=language)


def _clips_of(result: ClipSource) -> Callable[[], Iterable[Clip]]:
    if callable(result):
        return result
    batch = result
    if batch.n_inputs and not batch.jobs:
        raise ParameterError("finish_batch needs the batch's clips: slice with keep_results=True (the default), "
                             "or pass clips=, a function that gives them")

    def clips() -> Iterator[Clip]:
        return iter(batch.clips)

    return clips


def finish_batch(result: ClipSource, out_dir: PathLike, *, manifest: Optional[PathLike] = None,
                 zip: Optional[PathLike] = None, exports: Sequence[Union[str, Export]] = (), val: int = 0,
                 language: Optional[str] = None, review: bool = False, options: Optional[SliceOptions] = None,
                 clips: Optional[Callable[[], Iterable[Clip]]] = None, wait: Wait = False) -> Finished:
    """Write a sliced batch's zip, exports, manifest (last) and review page; returns what was written.

    ``result`` is ``slice_files``' ``BatchResult`` (kept with its results), or a function that
    gives the set's clips anew each time (``clips`` overrides where the clips come from, e.g. the
    command line's ``RunRecords.clips``, ``fastslice.output.records``).  ``manifest``: a ``.csv`` or ``.jsonl`` path;
    ``zip``: a ``.zip`` path (the clips' paths relative to ``out_dir``; local clips only);
    ``exports``: ``"FORMAT[:PATH]"`` specs or ``Export`` values (with ``val`` clips per speaker
    set aside for validation and ``language`` for GPT-SoVITS; a layout's lists are added from
    ``options``); ``review``: write ``out_dir/review.html`` if the batch has clips.  ``options``
    also gives the storage options for URLs.  Raises ``ParameterError`` for an argument that
    cannot be used, before anything is written.  ``out_dir``'s lock is held while it writes
    (``fastslice.batch.lock``: ``FolderBusy`` if another run holds it; ``wait`` as for ``slice_files``).
    """
    checked = check_finish(out_dir, options, manifest_path=manifest, zip_path=zip, exports=exports,
                           val=val or None, language=language)
    request = FinishRequest(out_dir, checked, manifest, zip, val, language, review, options)
    clips_of = clips if clips is not None else _clips_of(result)
    with lock_folder(out_dir, wait):
        return _write(request, result, clips_of)


@dataclasses.dataclass(frozen=True)
class FinishRequest:
    """What ``finish_batch`` is asked to write, checked (``check_finish``): ``_write``'s one value."""

    out_dir: PathLike
    exports: list[Export]  # checked, a layout's lists added
    manifest: Optional[PathLike]
    zip: Optional[PathLike]
    val: int  # clips per speaker set aside for validation (0: none)
    language: Optional[str]
    review: bool
    options: Optional[SliceOptions]


def _write(request: FinishRequest, result: ClipSource, clips_of: Callable[[], Iterable[Clip]]) -> Finished:
    """What ``finish_batch`` writes, in its order, with the output folder's lock held."""
    out_dir, checked, manifest, zip = request.out_dir, request.exports, request.manifest, request.zip
    options, val, language = request.options, request.val, request.language
    storage_options = None if options is None else options.storage_options
    done = Finished(exports=checked)
    if zip is not None:
        local = [c for c in clips_of() if c.has_file and not storage.is_url(c.clip)]
        write_zip(os.fspath(zip), os.fspath(out_dir), local, storage_options)
        done.zip = os.fspath(zip)
    if checked:
        from ..output.exports import write_all

        write_all(checked, clips_of, os.fspath(out_dir), val=val or 0, language=language,
                  storage_options=storage_options)
    if manifest is not None:  # last: a reader that trusts the manifest never sees a partial set
        write_manifest(os.fspath(manifest), clips_of(), storage_options)
        done.manifest = os.fspath(manifest)
    if request.review and _has_clips(result, clips_of):
        from ..pages.review import review as write_review

        page, count = write_review(os.fspath(out_dir))
        done.review, done.review_clips = str(page), int(count)
    return done


def _has_clips(result: ClipSource, clips_of: Callable[[], Iterable[Clip]]) -> bool:
    if not callable(result):
        return result.n_clips > 0
    return next(iter(clips_of()), None) is not None


def write_input_labels(job: Job, result: FileResult, options: SliceOptions) -> Optional[str]:
    """Write an input's Audacity label file ``<stem>_labels.txt`` beside its clips (``--labels``); an
    input skipped as done keeps the one it has.  Returns its path, or None if kept."""
    labels: str = storage.join(job.folder, f"{job.stem}_labels.txt")
    if result.skipped and (storage.is_url(labels) or os.path.exists(labels)):
        return None
    write_labels(labels, result.clips, options.storage_options)
    return labels
