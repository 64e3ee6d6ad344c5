"""Cutting where the words are: subtitles and labels as cut lists (--cues), and the speech detector.

The speech is real: Debian's espeak-ng speaks the sentences (``.ci/run`` installs it), laid out
with pauses between them over a quiet noise floor; for the detector, an organ-like chord plays all
through, under the speech and in the pauses, loud enough that no RMS threshold finds the pauses.  The
subtitles are written here, each time moved by up to 250 ms, as real subtitles are off.
"""
import csv
import io
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import avfiles
import signals
from fastslice import Slicer
from fastslice.cutting import cues
from fastslice.reading import readers
from fastslice.cutting import speech
from fastslice.run.files import slice_file
from fastslice.cutting.ranges import Decoding, SampleCheck
from runner import fastslice

SR = 22050  # espeak-ng's rate
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "How much wood would a woodchuck chuck?",
    "Peter Piper picked a peck of pickled peppers.",
    "A journey of a thousand miles begins with a single step.",
    "All that glitters is not gold.",
    "The early bird catches the worm.",
    "Better late than never, but never late is better.",
]
PARAMS = dict(threshold=-40, min_length=1000, min_interval=300, hop_size=10, max_sil_kept=300)
OPTIONS = ["--threshold", "-40", "--min-length", "1000", "--min-interval", "300", "--hop-size", "10",
           "--max-sil-kept", "300"]
HOP = round(SR * 10 / 1000)



def _music(n, level_db, seed):
    """An organ-like chord (four notes and their overtones), steady: music, not speech."""
    t = np.arange(n) / SR
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for f in rng.choice([196.0, 220.0, 261.6, 293.7, 329.6, 392.0, 440.0], 4, replace=False):
        for overtone, gain in ((1, 1.0), (2, 0.4), (3, 0.2)):
            x += gain * np.sin(2 * np.pi * f * overtone * t)
    return x / np.sqrt(np.mean(x ** 2)) * 10 ** (level_db / 20)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """``(folder, speech spans in samples, clean speech, subtitles)``: talk.wav (speech and pauses over
    a -65 dB floor), music.wav (the same with a chord at -32 dB all through it), talk.srt."""
    folder = tmp_path_factory.mktemp("spoken")
    rng = np.random.default_rng(22)
    parts, spans, position = [np.zeros(int(0.8 * SR))], [], int(0.8 * SR)
    for y in signals.spoken(SENTENCES, folder):  # the words, from the first to the last sound
        spans.append((position, position + y.shape[0]))
        gap = int(rng.uniform(0.9, 1.4) * SR)
        parts += [y, np.zeros(gap)]
        position += y.shape[0] + gap
    clean = np.concatenate(parts)
    floor = rng.standard_normal(clean.shape[0]) * 10 ** (-65 / 20)
    soundfile.write(folder / "talk.wav", (clean + floor).astype(np.float32), SR, subtype="PCM_16")
    music = _music(clean.shape[0], -32.0, 5)  # under the speech and through every pause: above any threshold
    soundfile.write(folder / "music.wav", (clean + music + floor).astype(np.float32), SR, subtype="PCM_16")
    subtitles = []
    for (a, b), sentence in zip(spans, SENTENCES):
        subtitles.append((a / SR + rng.uniform(-0.25, 0.25), b / SR + rng.uniform(-0.25, 0.25), sentence))
    with open(folder / "talk.srt", "w", encoding="utf-8") as f:
        for k, (a, b, sentence) in enumerate(subtitles, 1):
            f.write(f"{k}\n{_srt(a)} --> {_srt(b)}\n{sentence}\n\n")
    return folder, spans, clean, subtitles


def _srt(t):
    ms = round(t * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def in_a_pause(clean, sample, frames=3):
    """No speech within ``frames`` RMS frames (10 ms) of ``sample``: the clean speech stays below -50 dB there."""
    a, b = max(0, sample - frames * HOP), min(clean.shape[0], sample + frames * HOP)
    return b <= a or np.sqrt(np.mean(clean[a:b] ** 2)) < 10 ** (-50 / 20)


def rows(manifest):
    with open(manifest, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# -- subtitles and labels --------------------------------------------------------------------------


def test_one_clip_per_subtitle_with_its_text_cut_in_pauses(spoken, tmp_path):
    folder, spans, clean, _ = spoken
    fastslice("slice", folder / "talk.wav", "-o", tmp_path / "out", *OPTIONS, "--cues", folder / "talk.srt",
              "--manifest", tmp_path / "m.csv", check=0)
    found = rows(tmp_path / "m.csv")
    assert [r["text"] for r in found] == SENTENCES  # one clip per cue, its text
    for r in found:
        for edge in (int(r["start_sample"]), int(r["end_sample"])):
            assert in_a_pause(clean, edge), (r["text"], edge / SR)
    # the same subtitles taken as they are cut some words: snapping is what puts the cuts in pauses
    fastslice("slice", folder / "talk.wav", "-o", tmp_path / "raw", *OPTIONS, "--cues", folder / "talk.srt",
              "--snap", "0", "--manifest", tmp_path / "raw.csv", check=0)
    raw = rows(tmp_path / "raw.csv")
    assert not all(in_a_pause(clean, int(r[k])) for r in raw for k in ("start_sample", "end_sample"))


def test_audacity_labels_round_trip_to_the_same_clips(spoken, tmp_path):
    folder, _, _, _ = spoken
    first = tmp_path / "first"
    fastslice("slice", folder / "talk.wav", "-o", first, *OPTIONS, "--cues", "auto", "--labels", check=0)
    labels = first / "talk_labels.txt"
    assert [ln.split("\t")[2] for ln in labels.read_text(encoding="utf-8").splitlines()] == SENTENCES
    again = tmp_path / "again"
    fastslice("slice", folder / "talk.wav", "-o", again, *OPTIONS, "--cues", labels, "--labels", check=0)
    clips = sorted(p.name for p in first.glob("talk_*.wav"))
    assert clips and clips == sorted(p.name for p in again.glob("talk_*.wav"))
    for name in clips:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert (again / "talk_labels.txt").read_text() == labels.read_text()
    # plain RMS clips through their labels: the same clips too
    rms, back = tmp_path / "rms", tmp_path / "back"
    fastslice("slice", folder / "talk.wav", "-o", rms, *OPTIONS, "--labels", "--max-length", "2500", check=0)
    fastslice("slice", folder / "talk.wav", "-o", back, *OPTIONS, "--cues", rms / "talk_labels.txt", check=0)
    names = sorted(p.name for p in rms.glob("talk_*.wav"))
    assert len(names) > len(SENTENCES) and names == sorted(p.name for p in back.glob("talk_*.wav"))
    assert all((rms / n).read_bytes() == (back / n).read_bytes() for n in names)


@pytest.fixture(scope="module")
def every_format(spoken, tmp_path_factory):
    folder, _, _, _ = spoken
    x, _ = soundfile.read(folder / "talk.wav", dtype="float32", always_2d=True)
    made = {"wav": folder / "talk.wav"}
    out = tmp_path_factory.mktemp("formats")
    for kind, subtype in (("flac", "PCM_16"), ("ogg", "VORBIS")):
        made[kind] = out / f"talk.{kind}"
        soundfile.write(made[kind], x, SR, subtype=subtype)
    made["mp3"] = avfiles.encode(out / "talk.mp3", [("libmp3lame", x.T, SR)])
    made["m4a"] = avfiles.encode(out / "talk.m4a", [("aac", x.T, SR)])
    return made


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_cues_streamed_equal_cues_in_memory_on_every_format(spoken, every_format, tmp_path, kind):
    folder, _, _, subtitles = spoken
    path = every_format[kind]
    result = slice_file(path, tmp_path / "out", PARAMS, cues=str(folder / "talk.srt"), block_frames=3001)
    with readers.open_source(path) as reader:  # the whole decode, in memory
        rate = reader.samplerate
        mono = np.concatenate([m.copy() for _, m in Decoding(reader, 1 << 20, check=SampleCheck(reader))])
    slicer = Slicer(rate, **PARAMS)
    listed = cues.in_samples(cues.read(folder / "talk.srt")[1], rate)
    whole = cues.cut(listed, slicer.frame_rms(mono), mono.shape[0], slicer.hop_samples,
                     round(cues.SUBTITLE_SNAP_MS * rate / 1000), merge_within=round(0.3 * rate))
    assert [(c.start_sample, c.end_sample, c.text) for c in result.clips] == whole
    assert len(whole) == len(SENTENCES)


def test_cue_files_of_every_kind(tmp_path):
    vtt = tmp_path / "a.vtt"
    vtt.write_text("WEBVTT\n\nNOTE a note\n\nintro\n00:01.500 --> 00:03.250 align:start\n<v Ann>Hello <i>there</i>\n\n"
                   "01:00:00.000 --> 01:00:01.000\nlast\n", encoding="utf-8")
    assert cues.read(vtt) == ("vtt", [cues.Cue(1.5, 3.25, "Hello there"), cues.Cue(3600.0, 3601.0, "last")])
    srt = tmp_path / "a.srt"
    srt.write_text("\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\nTwo\r\nlines {\\an8}\r\n\r\n", encoding="utf-8")
    assert cues.read(srt) == ("srt", [cues.Cue(1.0, 2.5, "Two lines")])
    labels = tmp_path / "a_labels.txt"
    labels.write_text("0.5\t1.25\tone\n\\\t100.0\t2000.0\n2\t3\n", encoding="utf-8")
    assert cues.read(labels) == ("labels", [cues.Cue(0.5, 1.25, "one"), cues.Cue(2.0, 3.0, "")])
    table = tmp_path / "a.csv"
    table.write_text("start,end,text\n4,5.5,\"four, five\"\n1,2,one\n", encoding="utf-8")
    assert cues.read(table) == ("csv", [cues.Cue(1.0, 2.0, "one"), cues.Cue(4.0, 5.5, "four, five")])
    bad = tmp_path / "bad.srt"
    bad.write_text("1\n00:00:01 --> soon\nx\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.srt: cue 1 has no times I can read"):
        cues.read(bad)
    (tmp_path / "a.wav").write_bytes(b"")
    assert cues.for_input(tmp_path / "a.wav").endswith("a.srt")  # .srt before .vtt before _labels.txt
    with pytest.raises(Exception, match=r"--cues auto finds no b.srt, b.vtt, b_labels.txt beside it"):
        cues.for_input(tmp_path / "b.wav")


def test_cues_merge_split_and_pack():
    rms = np.concatenate([np.full(100, 0.1), [0.001], np.full(99, 0.1), [0.002], np.full(200, 0.1)])
    hop = 10
    close = [(0, 500, "one"), (520, 900, "two"), (2000, 3000, "three")]  # 20 samples apart: closer than 50
    assert cues.cut(close, rms, 4000, hop, snap=5, merge_within=50) == [(0, 900, "one two"), (2000, 3000, "three")]
    assert cues.cut(close, rms, 4000, hop, snap=0) == close  # taken as they are (labels)
    split = cues.cut([(0, 3000, "long")], rms, 4000, hop, snap=0, max_length=2500)
    assert split == [(0, 1000, ""), (1000, 3000, "")]  # cut at the quietest frame in reach (frame 100)
    short = [(0, 300, "a"), (400, 700, "b"), (800, 2000, "c")]
    assert cues.cut(short, rms, 4000, hop, snap=0, min_length=500) == [(0, 700, "a b"), (800, 2000, "c")]


# -- the speech detector -------------------------------------------------------------------------


def test_the_speech_detector_cuts_in_the_pauses_the_rms_slicer_cannot_find(spoken, tmp_path):
    folder, spans, clean, _ = spoken
    fastslice("slice", folder / "music.wav", "-o", tmp_path / "rms", *OPTIONS, "--manifest", tmp_path / "rms.csv",
              check=0)
    fastslice("slice", folder / "music.wav", "-o", tmp_path / "speech", *OPTIONS, "--detector", "speech",
              "--manifest", tmp_path / "speech.csv", check=0)
    by_level, by_speech = rows(tmp_path / "rms.csv"), rows(tmp_path / "speech.csv")
    assert len(by_level) < len(SENTENCES)  # the music leaves the RMS threshold no pause to cut at
    assert len(by_speech) >= len(SENTENCES)
    for r in by_speech:
        for edge in (int(r["start_sample"]), int(r["end_sample"])):
            assert in_a_pause(clean, edge), edge / SR  # every cut lies in a pause of the speech
    covered = [any(int(r["start_sample"]) <= (a + b) // 2 < int(r["end_sample"]) for r in by_speech) for a, b in spans]
    assert all(covered)  # and every sentence is in a clip


@pytest.mark.parametrize("rate", [SR, 48000])  # soxr's 16 kHz copy; decimation by 3
def test_the_detectors_decisions_are_the_models_over_the_whole_signal(spoken, tmp_path, monkeypatch, rate):
    folder, _, _, _ = spoken
    x, _ = soundfile.read(folder / "music.wav", dtype="float32")
    path = folder / "music.wav"
    if rate != SR:
        import soxr

        path = tmp_path / "music48k.wav"
        soundfile.write(path, soxr.resample(x, SR, rate), rate, subtype="PCM_16")
    decided = []
    real = speech.SpeechGate.gate

    def watched(self, first, rms):
        gated = real(self, first, rms)
        decided.append((first, np.isinf(gated)))
        return gated

    monkeypatch.setattr(speech.SpeechGate, "gate", watched)
    slice_file(path, tmp_path / "out", PARAMS, detector="speech", block_frames=2999)
    whole, got_rate = soundfile.read(path, dtype="float32")
    slicer = Slicer(got_rate, **PARAMS)
    n = slicer.n_frames(whole.shape[0])
    streamed = np.zeros(n, bool)
    for first, d in decided:
        streamed[first : first + d.shape[0]] = d
    assert sum(d.shape[0] for _, d in decided) == n
    assert np.array_equal(streamed, speech.frame_decisions(whole, got_rate, slicer.hop_samples, n))
    assert 0.2 < streamed.mean() < 0.8


def test_analyze_with_the_speech_detector(spoken, tmp_path):
    folder, _, _, _ = spoken
    done = fastslice("analyze", folder / "music.wav", *OPTIONS, "--detector", "speech", "--plot", tmp_path / "p.png",
                     check=0)
    said = dict(line.split("  ", 1) for line in done.stdout.splitlines() if "  " in line)
    ratio = float(said["speech (share of 32 ms windows)"].split("%")[0])
    assert 40 < ratio < 80
    assert int(said["pauses between speech"]) >= len(SENTENCES) - 1
    assert (tmp_path / "p.png").stat().st_size > 10000
    refused = fastslice("slice", folder / "music.wav", "-o", tmp_path / "x", "--cues", "auto", "--detector", "speech")
    assert refused.returncode == 2 and "does not go with detector='speech' (--detector)" in refused.stderr
    stream = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(tmp_path / "s"), "--cues", "auto"],
                            input=io.BytesIO((folder / "talk.wav").read_bytes()).getvalue(), capture_output=True)
    assert stream.returncode == 1 and b"--cues auto looks beside a file" in stream.stderr


def test_the_cutter_holds_only_the_frames_of_the_clips_still_open():
    rng = np.random.default_rng(9)
    hop = 100
    listed = [(k * 10_000 + 2_000, k * 10_000 + 7_000, f"cue {k}") for k in range(300)]  # 30 s of cues, 100 frames each
    cutter = cues.CueCutter(listed, hop, snap=500)
    held, out = [], []
    for k in range(400):
        cutter.feed(k * 100, rng.random(100))
        held.append(cutter._frames.shape[0])
        out += cutter.ready()
    out += cutter.finish(400 * 100 * hop)
    assert len(out) == 300 and [t for _, _, t in out] == [t for _, _, t in listed]
    assert max(held) <= 200  # about one cue and its snap windows, however long the stream
