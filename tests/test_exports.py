"""Sets the next tool loads as they are: exports, layouts, speakers, --no-clips, fastslice export.

Hugging Face's AudioFolder is loaded by ``datasets`` itself.  lhotse and NeMo import PyTorch, so
their readers are restated here from their own code (``lhotse/audio/recording.py``,
``lhotse/supervision.py``, ``lhotse/cut/mono.py``, ``lhotse/qa.py``, ``lhotse/utils.py``;
``nemo/collections/common/parts/preprocessing/manifest.py``), as are Kaldi's data-folder rules
(``utils/validate_data_dir.sh``), GPT-SoVITS's ``.list`` reading
(``GPT_SoVITS/prepare_datasets/1-get-text.py``), so-vits-svc's ``resample.py`` and
``preprocess_flist_config.py``, fish-speech's ``tools/llama/build_dataset.py``, RVC's
``infer/modules/train/preprocess.py`` and DiffSinger's ``AcousticBinarizer.load_meta_data``.
"""
import csv
import gzip
import json
import os
import re
import wave
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import soundfile
from test_cli import OPTIONS, fastslice, write_recording

import avfiles
import signals


@pytest.fixture(scope="module")
def speakers(tmp_path_factory):
    """Two speakers' folders of recordings (one FLAC, one with a name so-vits-svc would warn about)."""
    root = tmp_path_factory.mktemp("speakers") / "data"
    made = {
        "alice/take 1.wav": write_recording(root / "alice" / "take 1.wav", 71, seconds=14),
        "alice/take2.flac": write_recording(root / "alice" / "take2.flac", 72, seconds=10, subtype="PCM_24"),
        "bob/café.wav": write_recording(root / "bob" / "café.wav", 73, seconds=12, channels=1),
    }
    return root, made


def slice_(root, out, *extra, check=0, cwd=None):
    return fastslice("slice", root, "-o", out, *OPTIONS, "-q", *extra, check=check, cwd=cwd)


def clips_of(out):
    """Every clip row of a set, from its markers (any folder, the layouts' records included)."""
    rows = []
    for marker in sorted(out.rglob(".*.fastslice.json")):
        record = json.loads(marker.read_text())
        for row in record["clips"]:
            rows.append({**row, "path": (marker.parent / row["clip"]).resolve() if row["clip"] else None,
                         "record": record})
    return rows


# -- Hugging Face AudioFolder, loaded by datasets itself ----------------------------------------------


def test_hf_audiofolder_loads_every_clip_with_its_columns(speakers, tmp_path):
    import datasets  # the test extra installs datasets<4 (4.1 and later build AudioFolders through torchcodec)
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--speaker-from-folder", "--export", "hf")
    loaded = datasets.load_dataset("audiofolder", data_dir=str(out), split="train")
    loaded = loaded.cast_column("audio", datasets.Audio(decode=False))
    rows = clips_of(out)
    assert len(loaded) == len(rows) > 6
    assert set(loaded.column_names) == {"audio", "source", "start", "duration", "speaker", "text"}
    got = sorted((Path(r["audio"]["path"]).resolve(), r["speaker"], r["text"]) for r in loaded)
    assert got == sorted((r["path"], r["record"]["speaker"], "") for r in rows)
    assert {r["speaker"] for r in loaded} == {"alice", "bob"}
    for r in loaded:
        info = soundfile.info(r["audio"]["path"])
        assert abs(info.duration - r["duration"]) < 1e-5


# -- lhotse, restated ------------------------------------------------------------------------------

RECORDING_FIELDS = {"id", "sources", "sampling_rate", "num_samples", "duration", "channel_ids", "transforms"}
SOURCE_FIELDS = {"type", "channels", "source", "video"}
SUPERVISION_FIELDS = {"id", "recording_id", "start", "duration", "channel", "text", "language", "speaker", "gender",
                      "custom", "alignment"}
CUT_FIELDS = {"id", "start", "duration", "channel", "supervisions", "features", "recording", "custom"}


def compute_num_samples(duration, sampling_rate):  # lhotse/utils.py
    return int(Decimal(round(duration * sampling_rate, ndigits=8)).quantize(0, rounding=ROUND_HALF_UP))


def lhotse_recording(d):
    """Recording.from_dict: only its fields, of their types; then qa.validate_recording."""
    assert set(d) <= RECORDING_FIELDS and {"id", "sources", "sampling_rate", "num_samples", "duration"} <= set(d), d
    assert isinstance(d["id"], str) and isinstance(d["sampling_rate"], int) and isinstance(d["num_samples"], int)
    assert isinstance(d["duration"], float) and d["duration"] > 0
    for source in d["sources"]:
        assert set(source) <= SOURCE_FIELDS and source["type"] in ("file", "command", "url", "memory")
        assert isinstance(source["channels"], list) and all(isinstance(c, int) for c in source["channels"])
    assert d["channel_ids"] == sorted(c for s in d["sources"] for c in s["channels"])
    assert abs(d["num_samples"] / d["sampling_rate"] - d["duration"]) <= 0.5
    return d


def lhotse_supervision(d):
    assert set(d) <= SUPERVISION_FIELDS and {"id", "recording_id", "start", "duration"} <= set(d), d
    assert d["duration"] > 0 and isinstance(d["start"], float)
    assert "text" not in d or isinstance(d["text"], str)  # None is never written
    return d


def lhotse_cut(d):
    """deserialize_cut: a "type", then MonoCut/MultiCut.from_dict's fields; qa.validate_cut."""
    kind = d.pop("type")
    assert kind in ("MonoCut", "MultiCut") and set(d) <= CUT_FIELDS, d
    recording = lhotse_recording(d["recording"])
    assert d["start"] >= 0 and d["duration"] > 0
    channels = d["channel"] if kind == "MultiCut" else [d["channel"]]
    assert kind == "MultiCut" or isinstance(d["channel"], int)
    assert set(channels) <= set(recording["channel_ids"])
    for s in d["supervisions"]:
        lhotse_supervision(s)
        assert s["recording_id"] == recording["id"] and s["channel"] == d["channel"]
        assert -1e-3 <= s["start"] <= s["start"] + s["duration"] <= d["duration"] + 1e-3
    assert d["start"] + d["duration"] <= recording["duration"] + 1e-3
    return kind, d, recording


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("no_clips", [False, True])
def test_lhotse_manifests_follow_lhotses_own_contract(speakers, tmp_path, no_clips):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--speaker-from-folder", "--export", f"lhotse:{tmp_path / 'lhotse'}",
           *(["--no-clips"] if no_clips else []))
    recordings = [lhotse_recording(d) for d in read_jsonl_gz(tmp_path / "lhotse" / "recordings.jsonl.gz")]
    supervisions = [lhotse_supervision(d) for d in read_jsonl_gz(tmp_path / "lhotse" / "supervisions.jsonl.gz")]
    cuts = [lhotse_cut(d) for d in read_jsonl_gz(tmp_path / "lhotse" / "cuts.jsonl.gz")]
    rows = clips_of(out)
    assert len(cuts) == len(supervisions) == len(rows)
    assert len({r["id"] for r in recordings}) == len(recordings) == (3 if no_clips else len(rows))
    by_id = {r["id"]: r for r in recordings}
    for s in supervisions:  # validate_recordings_and_supervisions
        assert -1e-3 <= s["start"] <= s["start"] + s["duration"] <= by_id[s["recording_id"]]["duration"] + 1e-3
    for (kind, cut, recording), row in zip(cuts, rows):
        frames = row["end_sample"] - row["start_sample"]
        assert compute_num_samples(cut["duration"], recording["sampling_rate"]) == frames  # Cut.num_samples
        data, sr = soundfile.read(recording["sources"][0]["source"], dtype="int32", always_2d=True)
        assert sr == recording["sampling_rate"] and data.shape == (recording["num_samples"], row["channels"])
        assert kind == ("MonoCut" if row["channels"] == 1 else "MultiCut")
        assert cut["supervisions"][0]["speaker"] == row["speaker"] and "text" not in cut["supervisions"][0]


# -- NeMo, restated ---------------------------------------------------------------------------------


def nemo_items(manifest):
    """manifest.py's item_iter/__parse_item: audio key, required duration, text or "", offset; a
    relative path tried against the manifest's folder (get_full_path)."""
    for line in Path(manifest).read_text().splitlines():
        if not line:
            continue
        item = json.loads(line)
        audio = item.get("audio_filename", item.get("audio_filepath"))
        assert audio is not None and "duration" in item
        if not os.path.isabs(audio) and os.path.isfile(os.path.join(os.path.dirname(manifest), audio)):
            audio = os.path.abspath(os.path.join(os.path.dirname(manifest), audio))
        yield {"audio_file": audio, "duration": item["duration"], "text": item.get("text", ""),
               "offset": item.get("offset"), "speaker": item.get("speaker")}


@pytest.mark.parametrize("no_clips", [False, True])
def test_nemo_manifest_as_nemo_parses_it(speakers, tmp_path, no_clips):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--export", f"nemo:{tmp_path / 'lists' / 'train.json'}", *(["--no-clips"] if no_clips else []))
    items = list(nemo_items(tmp_path / "lists" / "train.json"))
    rows = clips_of(out)
    assert len(items) == len(rows) > 6
    for item, row in zip(items, rows):
        assert os.path.isfile(item["audio_file"]) and item["text"] == ""
        rate = row["source_rate"]
        if no_clips:
            assert item["audio_file"] == row["record"]["source"]
            assert item["offset"] == pytest.approx(row["start_sample"] / rate, abs=1e-6)
        else:
            assert Path(item["audio_file"]) == row["path"] and item["offset"] is None
        assert item["duration"] == pytest.approx((row["end_sample"] - row["start_sample"]) / rate, abs=1e-6)


# -- Kaldi, its data folder rules -----------------------------------------------------------------------


def kaldi_folder(folder):
    """validate_data_dir.sh --no-feats: files end in newlines, first fields C-sorted and unique,
    utt2spk sorted by speaker too, spk2utt its inverse, text and segments for every utterance."""
    files = {}
    for name in ("wav.scp", "utt2spk", "spk2utt", "text", "segments"):
        path = folder / name
        if not path.exists():
            continue
        data = path.read_bytes()
        assert data.endswith(b"\n"), name
        lines = data.decode("utf-8").splitlines()
        keys = [ln.split(" ", 1)[0] for ln in lines]
        assert [k.encode() for k in keys] == sorted({k.encode() for k in keys}), f"{name} is not sorted or has duplicates"
        files[name] = [ln.split(" ") for ln in lines]
    utt2spk = files["utt2spk"]
    assert all(len(f) == 2 for f in utt2spk)
    assert [(s, u) for u, s in utt2spk] == sorted((s, u) for u, s in utt2spk)  # sort -k2 -C
    spk2utt = {}
    for utt, spk in utt2spk:
        spk2utt.setdefault(spk, []).append(utt)
    assert [[s, *u] for s, u in sorted(spk2utt.items())] == files["spk2utt"]
    utterances = [u for u, _ in utt2spk]
    assert [f[0] for f in files["text"]] == utterances
    if "segments" in files:
        assert [f[0] for f in files["segments"]] == utterances
        assert all(len(f) == 4 and float(f[3]) > float(f[2]) for f in files["segments"])
        assert sorted({f[1] for f in files["segments"]}) == [f[0] for f in files["wav.scp"]]
    else:
        assert [f[0] for f in files["wav.scp"]] == utterances
    return files


@pytest.mark.parametrize("no_clips", [False, True])
def test_kaldi_data_folder_passes_its_rules(speakers, tmp_path, no_clips):
    root, made = speakers
    out = tmp_path / "set"
    slice_(root, out, "--speaker-from-folder", "--export", "kaldi", "--val", "1", *(["--no-clips"] if no_clips else []))
    train, val = kaldi_folder(out / "kaldi"), kaldi_folder(out / "kaldi_val")
    rows = clips_of(out)
    assert len(train["utt2spk"]) + len(val["utt2spk"]) == len(rows)
    assert sorted(s for _, s in val["utt2spk"]) == ["alice", "bob"]  # one clip per speaker set aside
    for files in (train, val):
        paths = {f[0]: " ".join(f[1:]) for f in files["wav.scp"]}
        if no_clips:
            for utt, rec, begin, end in files["segments"]:  # the segment lies inside its recording
                assert float(end) <= soundfile.info(paths[rec]).duration + 1e-6
        assert all(os.path.isfile(p) for p in paths.values())
        assert all(u.startswith(s + "-") for u, s in files["utt2spk"])
    again = tmp_path / "again"
    slice_(root, again, "--speaker-from-folder", "--export", "kaldi", "--val", "1",
           *(["--no-clips"] if no_clips else []))
    assert (again / "kaldi_val" / "utt2spk").read_text() == (out / "kaldi_val" / "utt2spk").read_text()  # deterministic


# -- the projects' layouts, read as each project reads them -------------------------------------------------


def test_so_vits_svc_layout_as_its_resample_and_flist_steps_read_it(speakers, tmp_path):
    root, made = speakers
    out = tmp_path / "set"
    slice_(root, out, "--layout", "so-vits-svc")
    raw = out / "dataset_raw"
    speakers_found = [s for s in os.listdir(raw) if os.path.isdir(raw / s)]  # resample.py
    assert sorted(speakers_found) == ["alice", "bob"]
    pattern = re.compile(r"^[\.a-zA-Z0-9_\/]+$")  # preprocess_flist_config.py: anything else warns
    found = []
    for speaker in speakers_found:
        for name in os.listdir(raw / speaker):
            if not name.endswith("wav"):
                continue
            assert pattern.match(name), name
            with wave.open(str(raw / speaker / name)) as w:  # get_wav_duration: PCM WAV only
                assert w.getnframes() / w.getframerate() >= 0.3
            found.append((speaker, name))
    assert sorted(os.listdir(raw / "alice")) == sorted(n for s, n in found if s == "alice")  # nothing else there
    rows = clips_of(out)
    assert sorted(found) == sorted((r["path"].parent.name, r["path"].name) for r in rows)
    assert {r["record"]["subtype"] for r in rows} == {"PCM_16", "PCM_24"}


def test_fish_speech_layout_as_its_dataset_builder_reads_it(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--layout", "fish-speech")
    extensions = {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".wma", ".aac", ".aiff", ".aif", ".aifc"}
    audio = sorted(p for ext in extensions for p in out.rglob(f"*{ext}"))  # extract_vq: list_files(recursive)
    rows = clips_of(out)
    assert sorted(audio) == sorted(r["path"] for r in rows) and len(audio) > 6
    for path in audio:  # build_dataset: text = <clip>.lab beside it, speaker = its folder
        assert path.with_suffix(".lab").read_text(encoding="utf-8") == ""
        assert path.parent.name in ("alice", "bob")
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix not in extensions | {".lab"}
                and ".fastslice" not in p.parts]


def test_rvc_layout_is_one_folder_of_audio(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--layout", "rvc")
    entries = sorted(os.listdir(out / "wavs"))  # preprocess.py: every entry, sorted, not recursive
    assert entries and all(soundfile.info(out / "wavs" / e).frames > 0 for e in entries)
    assert sorted(out / "wavs" / e for e in entries) == sorted(r["path"] for r in clips_of(out))


def test_gpt_sovits_layout_and_list(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    missing = slice_(root, out, "--layout", "gpt-sovits", check=2)
    assert "--export gpt-sovits needs --language, one of zh, ja, en, ko, yue" in missing.stderr
    slice_(root, out, "--layout", "gpt-sovits", "--language", "en")
    lines = (out / "dataset.list").read_text(encoding="utf-8").strip("\n").split("\n")  # 1-get-text.py
    rows = {r["path"]: r for r in clips_of(out)}
    assert len(lines) == len(rows)
    names = []
    for line in lines:
        wav_name, spk_name, language, text = line.split("|")
        row = rows[Path(wav_name)]
        assert language == "en" and text == ""
        names.append(os.path.basename(wav_name))  # 2-get-hubert-wav32k.py joins it to its audio folder
        start, end = re.fullmatch(r".*_(\d{10})_(\d{10})\.\w+", wav_name).groups()
        assert (int(start), int(end)) == (row["start_sample"], row["end_sample"])
        assert spk_name == Path(row["record"]["source"]).stem  # no --speaker: the source's name
    assert len(set(names)) == len(names)
    assert all((out / "wavs" / n).is_file() for n in names)


def test_diffsinger_layout_as_its_binarizer_reads_it(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--layout", "diffsinger")
    with open(out / "transcriptions.csv", newline="", encoding="utf-8") as f:
        labels = list(csv.DictReader(f))
    assert labels and set(labels[0]) == {"name", "ph_seq", "ph_dur"}
    wavs = sorted((out / "wavs" / f"{row['name']}.wav") for row in labels)  # load_meta_data: wavs/<name>.wav
    assert wavs == sorted(r["path"] for r in clips_of(out)) and all(p.is_file() for p in wavs)
    assert all(re.fullmatch(r"[.a-zA-Z0-9_]+", row["name"]) for row in labels)


# -- clips without copies ---------------------------------------------------------------------------


def test_no_clips_offsets_are_the_clips_bit_for_bit(speakers, tmp_path):
    root, _ = speakers
    slice_(root, tmp_path / "clips", "--manifest", tmp_path / "clips.csv")
    slice_(root, tmp_path / "offsets", "--no-clips", "--manifest", tmp_path / "offsets.csv")
    with open(tmp_path / "clips.csv", newline="") as f:
        written = list(csv.DictReader(f))
    with open(tmp_path / "offsets.csv", newline="") as f:
        offsets = list(csv.DictReader(f))
    assert len(offsets) == len(written) > 6 and not list((tmp_path / "offsets").rglob("*.wav"))
    for row, clip in zip(offsets, written):
        assert row["clip"] == "" and row["source"] == clip["source"]
        dtype = "int32" if row["source"].endswith(".flac") else "int16"
        start, end = int(row["start_sample"]), int(row["end_sample"])
        at_offset, _ = soundfile.read(row["source"], start=start, stop=end, dtype=dtype, always_2d=True)
        got, _ = soundfile.read(tmp_path / clip["clip"], dtype=dtype, always_2d=True)
        assert np.array_equal(at_offset, got)
    again = slice_(root, tmp_path / "offsets", "--no-clips", "--manifest", tmp_path / "offsets.csv")
    assert again.returncode == 0


def test_no_clips_refuses_what_has_no_exact_offsets(tmp_path):
    x = signals.with_digital_silence(signals.speech_like(74, 12, 44100), 74, 44100)
    mp3 = avfiles.encode(tmp_path / "talk.mp3", [("libmp3lame", x, 44100)])
    done = fastslice("slice", mp3, "-o", tmp_path / "out", *OPTIONS, "--no-clips")
    assert done.returncode == 1 and "does not give sample-exact offsets" in done.stderr
    refused = fastslice("slice", mp3, "-o", tmp_path / "out", *OPTIONS, "--no-clips", "--sr", "16000")
    assert refused.returncode == 2 and "sample_rate=16000 (--sr) cannot apply" in refused.stderr
    refused = fastslice("slice", mp3, "-o", tmp_path / "out", *OPTIONS, "--no-clips", "--export", "hf")
    assert refused.returncode == 2 and "--export hf: its tool reads clip files" in refused.stderr


# -- after the fact ------------------------------------------------------------------------------------


def test_export_after_the_fact_equals_the_export_of_the_run(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--speaker", "narrator", "--export", "nemo", "--export", "kaldi", "--export", "hf")
    made = {name: (out / name).read_bytes() for name in ("manifest.json", "metadata.jsonl", "kaldi/utt2spk",
                                                          "kaldi/wav.scp", "kaldi/text")}
    for name in made:
        (out / name).unlink()
    fastslice("export", out, "--to", "nemo", "--to", "kaldi", "--to", "hf", check=0)
    assert {name: (out / name).read_bytes() for name in made} == made
    assert json.loads((out / "manifest.json").read_text().splitlines()[0])["speaker"] == "narrator"


def test_speakers_go_into_names_and_the_manifest(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--speaker-from-folder", "--name", "{speaker}/{stem}_{i:03d}", "--manifest", tmp_path / "m.csv")
    with open(tmp_path / "m.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["speaker"] for r in rows} == {"alice", "bob"}
    assert all(r["clip"].startswith(f"set/{r['speaker']}/{r['speaker']}/") for r in rows)  # mirrored, then {speaker}
    refused = fastslice("slice", root, "-o", out, "--speaker", "a/b")
    assert refused.returncode == 2 and "speaker='a/b' (--speaker) must be a plain name" in refused.stderr


def test_kaldi_files_sorted_in_bounded_runs_are_the_same(speakers, tmp_path, monkeypatch):
    from fastslice.output import exports
    from fastslice.output.markers import iter_markers

    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--speaker-from-folder", "--no-clips")
    clips = lambda: (c for _, _, listed in iter_markers(out) for c in listed)  # noqa: E731
    exports.write_kaldi(str(tmp_path / "whole"), clips(), str(out))
    monkeypatch.setattr(exports, "_SORT_RUN", 2)  # every two lines spilled to a file, then merged
    exports.write_kaldi(str(tmp_path / "runs"), clips(), str(out))
    names = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert names == ["segments", "spk2utt", "text", "utt2spk", "wav.scp"]
    for name in names:
        assert (tmp_path / "runs" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    refused = fastslice("export", out, "--to", "hf")
    assert refused.returncode == 2 and "was sliced with --no-clips" in refused.stderr


def test_a_layout_is_resumed_like_any_set(speakers, tmp_path):
    root, _ = speakers
    out = tmp_path / "set"
    slice_(root, out, "--layout", "diffsinger")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = fastslice("slice", root, "-o", out, *OPTIONS, "--layout", "diffsinger", check=0)
    assert "3 files (3 already done" in again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(out.rglob("*.part")) and not list((out / "wavs").glob(".*"))  # the records are elsewhere
