"""Finishing a batch from Python (fastslice.batch.finish.finish_batch): the manifest, zip, exports and
review page the command line writes, for slice_files callers too."""
from __future__ import annotations

import zipfile

import pytest
import soundfile

import signals
from fastslice import ParameterError, cli
from fastslice.batch import slice_files
from fastslice.batch.finish import Finished, check_finish, finish_batch
from fastslice.output.manifests import read_manifest

SR = 16000
# The command line's flags below give exactly these parameters: a re-run from Python recognises its markers.
PARAMS = {"threshold": -40.0, "min_length": 2000, "min_interval": 300, "hop_size": 10, "max_sil_kept": 500}
FLAGS = ["--threshold", "-40", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10",
         "--max-sil-kept", "500"]


@pytest.fixture
def recordings(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(3):
        x = signals.with_digital_silence(signals.speech_like(k, 12, SR, channels=1), k, SR)
        soundfile.write(folder / f"talk{k}.wav", x.T, SR, subtype="PCM_16")
    return folder


def test_finish_batch_writes_manifest_zip_exports_and_review(recordings, tmp_path):
    out = tmp_path / "clips"
    batch = slice_files([recordings], out, PARAMS)
    assert not batch.errors and batch.n_clips >= 3
    done = finish_batch(batch, out, manifest=tmp_path / "all.csv", zip=tmp_path / "all.zip",
                        exports=["lhotse", "hf"], review=True)
    assert isinstance(done, Finished)
    rows = read_manifest(tmp_path / "all.csv")
    assert [r.clip for r in rows] == [c.clip for c in batch.clips]
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        assert len(archive.namelist()) == batch.n_clips
    assert sorted(e.format for e in done.exports) == ["hf", "lhotse"]
    for export in done.exports:
        assert (tmp_path / export.path).exists(), export
    assert done.review is not None and (out / "review.html").is_file() and done.review_clips == batch.n_clips
    assert done.manifest == str(tmp_path / "all.csv") and done.zip == str(tmp_path / "all.zip")


def test_finish_batch_writes_the_manifest_the_command_line_writes(recordings, tmp_path):
    out = tmp_path / "clips"
    assert cli.main(["slice", str(recordings), "-o", str(out), *FLAGS, "--manifest", str(tmp_path / "cli.csv"),
                     "-q"]) == 0
    batch = slice_files([recordings], out, PARAMS)  # the same options: every input recognised as done
    assert batch.n_skipped == 3
    finish_batch(batch, out, manifest=tmp_path / "python.csv")
    assert (tmp_path / "python.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()


def test_clips_may_come_from_a_function(recordings, tmp_path):
    out = tmp_path / "clips"
    batch = slice_files([recordings], out, PARAMS)
    clips = batch.clips
    done = finish_batch(lambda: iter(clips), out, manifest=tmp_path / "all.jsonl", review=False)
    assert [r.clip for r in read_manifest(tmp_path / "all.jsonl")] == [c.clip for c in clips]
    assert done.review is None and done.zip is None and done.exports == []


def test_a_batch_without_its_results_needs_its_clips(recordings, tmp_path):
    batch = slice_files([recordings], tmp_path / "clips", PARAMS, keep_results=False)
    with pytest.raises(ParameterError, match="keep_results=True"):
        finish_batch(batch, tmp_path / "clips", manifest=tmp_path / "all.csv")
    assert not (tmp_path / "all.csv").exists()


@pytest.mark.parametrize("keywords, words", [
    ({"zip_path": "clips.tar"}, "must end in .zip"),
    ({"manifest_path": "clips.txt"}, ".csv"),
    ({"exports": ["nonesuch"]}, "the format must be one of"),
    ({"exports": ["gpt-sovits"]}, "needs --language"),
    ({"exports": ["lhotse"], "val": 0}, "val=0 (--val)"),
])
def test_what_cannot_be_written_is_refused_before_any_work(tmp_path, keywords, words):
    with pytest.raises(ParameterError) as caught:
        check_finish(tmp_path, **keywords)
    assert words in str(caught.value)


def test_nothing_is_written_when_an_argument_is_bad(recordings, tmp_path):
    out = tmp_path / "clips"
    batch = slice_files([recordings], out, PARAMS)
    with pytest.raises(ParameterError):
        finish_batch(batch, out, manifest=tmp_path / "all.csv", zip=tmp_path / "all.tar")
    assert not (tmp_path / "all.csv").exists()


def test_a_layout_adds_its_lists(recordings, tmp_path):
    out = tmp_path / "set"
    batch = slice_files([recordings], out, PARAMS, layout="gpt-sovits", speaker="ann")
    assert not batch.errors
    from fastslice.settings.options import SliceOptions

    options = SliceOptions.make(PARAMS, layout="gpt-sovits", speaker="ann")
    done = finish_batch(batch, out, options=options, language="en")
    assert done.exports and all(e.format in {f for f, _ in options.project.exports} for e in done.exports)
    for export in done.exports:
        assert (tmp_path / export.path).exists()
