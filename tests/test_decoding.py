"""Decoding at the decoder's speed: FFmpeg's frames gathered into blocks, FLAC decoded on several
threads, float WAV clips written without libsndfile's per-8 KB loop.  Each is checked against the
plain way: per-frame decoding, one libsndfile handle, libsndfile's own writer.
"""
import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import avfiles
from runner import fastslice
import signals
from fastslice import FastsliceError
from fastslice.reading import sndfile as read_sndfile
from fastslice.reading import readers
from fastslice.writing import writers as writing
from fastslice.writing.clipfile import ClipSpec, without_peak_chunk, write_clip

SR = 44100
CUT = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "500"]



def read_all(source, block):
    parts = []
    while True:
        got = source.read(block)
        if not len(got):
            return np.concatenate(parts) if parts else np.empty((0, source.channels), source.dtype)
        parts.append(np.array(got))


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory):
    """Ten minutes of mono speech-like bursts with pauses at 22.05 kHz, as 16-bit FLAC, MP3 and M4A
    (stereo and planar frames: ``test_formats.py``)."""
    folder = tmp_path_factory.mktemp("ten")
    rate = 22050
    x = signals.with_digital_silence(signals.speech_like(24, 600, rate, channels=1), 24, rate)
    soundfile.write(folder / "ten.flac", x.T, rate, subtype="PCM_16")
    avfiles.encode(folder / "ten.mp3", [("libmp3lame", x, rate)], options={"compression_level": "9"})
    avfiles.encode(folder / "ten.m4a", [("aac", x, rate)])
    return folder


# -- FFmpeg: frames gathered into blocks -------------------------------------------------------------


@pytest.mark.parametrize("ext", ["mp3", "m4a"])
def test_ffmpeg_blocks_equal_per_frame_decoding(ten_minutes, ext):
    path = ten_minutes / f"ten.{ext}"
    expected = avfiles.naive_decode(path)  # every frame's to_ndarray, in order: (channels, n)
    for block in (65536, 4097, 1024 * 7 + 3):
        with readers.open_source(path, decoder="av") as source:
            got = read_all(source, block)
        assert got.shape == expected.T.shape and np.array_equal(got, expected.T), (ext, block)


def test_a_sample_format_that_changes_midway_is_refused_with_the_time(tmp_path):
    # No encoder here makes a file whose sample format changes midway: the reader's own decoded
    # frames are followed by a real frame of another format.
    import av

    path = tmp_path / "one.wav"
    soundfile.write(path, np.zeros((SR, 2), np.float32), SR, subtype="PCM_16")
    with readers.open_source(path, decoder="av") as source:
        source._fifo.write(next(source._frames))
        other = av.AudioFrame.from_ndarray(np.zeros((2, 64), np.float32), format="fltp", layout="stereo")
        other.sample_rate = SR
        source._frames = iter([other])
        with pytest.raises(FastsliceError, match=r"one.wav: the sound changes at 0\.0\d\d s"):
            source.read(1 << 20)


# -- FLAC on several threads ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def flac(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flac")
    x = signals.speech_like(7, 25, 22050, channels=3)
    soundfile.write(folder / "three.flac", x.T, 22050, subtype="PCM_24")
    with soundfile.SoundFile(folder / "three.flac") as f:
        whole = f.read(dtype="int32", always_2d=True)
    return folder / "three.flac", whole


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threads=st.integers(2, 8), span=st.integers(2_000, 200_000), block=st.integers(1, 100_000),
       start=st.integers(0, 25 * 22050))
def test_flac_on_threads_gives_one_handles_samples(flac, threads, span, block, start):
    path, whole = flac
    source = readers.open_source(path)
    parallel = read_sndfile.ParallelSndfile(source, threads)
    parallel.SPAN = span
    with parallel:
        parallel.seek(start)  # re-plans the spans from there
        got = read_all(parallel, block)
    assert np.array_equal(got, whole[start:])


def test_threads_1_to_8_give_byte_identical_clips_on_a_ten_minute_flac(ten_minutes, tmp_path):
    outputs = {}
    for threads in (1, 3, 8):  # 1, 2 and 7 decoding threads, and the clips encoded on 3 and 8 threads at once
        out = tmp_path / f"t{threads}"
        fastslice("slice", ten_minutes / "ten.flac", "-o", out, *CUT, "--threads", threads, "--manifest",
                  tmp_path / f"t{threads}.csv", check=0)
        marker = out / ".ten.fastslice.json"
        assert marker.exists()
        outputs[threads] = ({p.name: p.read_bytes() for p in sorted(out.glob("ten_*.flac"))},
                            (tmp_path / f"t{threads}.csv").read_text().replace(f"t{threads}/", "OUT/"))
    assert len(outputs[1][0]) >= 20
    for threads in (3, 8):
        assert outputs[threads] == outputs[1], threads


def test_a_cut_off_flac_fails_alike_on_every_thread_count_and_leaves_nothing(ten_minutes, tmp_path):
    data = (ten_minutes / "ten.flac").read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) * 2 // 3])  # the header still promises ten minutes
    for threads in (1, 4):
        out = tmp_path / f"t{threads}"
        done = fastslice("slice", path, "-o", out, *CUT, "--threads", threads)
        assert done.returncode == 1, done.stderr
        assert f"{path}: read failed at frame " in done.stderr and "flac decoder lost sync" in done.stderr
        assert not list(out.rglob("*.flac")) and not list(out.glob(".cut.fastslice.json"))  # a file is all or nothing


# whole_bytes 3000: every clip handed over in part, the rest fed
@pytest.mark.parametrize(("fmt", "whole_bytes"), [("flac", None), ("flac", 3000), ("ogg", None)])
def test_clips_encoded_on_several_threads_are_those_one_writer_writes(ten_minutes, tmp_path, monkeypatch, fmt,
                                                                      whole_bytes):
    from fastslice.run import files
    from fastslice.settings.options import SliceOptions

    if whole_bytes:
        monkeypatch.setattr(writing.Encoders, "WHOLE_BYTES", whole_bytes)
    source = ten_minutes / "ten.flac"
    params = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)
    got = {}
    for threads in (1, 2, 5):
        out = tmp_path / f"t{threads}"
        result = files.slice_file(source, out, SliceOptions.make(params, format=fmt, threads=threads))
        # Ogg: libsndfile gives each stream a random serial number, so its bytes differ run to run; its samples not
        got[threads] = [(Path(c.clip).name, c.start_sample, c.end_sample, c.frames,
                         Path(c.clip).read_bytes() if fmt == "flac" else soundfile.read(c.clip)[0].tobytes())
                        for c in result.clips]
    assert len(got[1]) >= 20 and [c[0] for c in got[1]] == [f"ten_{i}.{fmt}" for i in range(len(got[1]))]
    assert got[2] == got[1] and got[5] == got[1]


def test_ctrl_c_while_a_clip_is_fed_to_the_encoders_keeps_the_complete_ones(ten_minutes, tmp_path, monkeypatch):
    """A stream whose FLAC clips are encoded on two threads, interrupted while a long clip's blocks
    are being fed: that clip is abandoned, the clips handed over before it are written and kept."""
    from fastslice.run import files
    from fastslice.settings.options import SliceOptions

    x, rate = soundfile.read(ten_minutes / "ten.flac", dtype="int16", frames=120 * SR // 2)
    data = io.BytesIO()
    soundfile.write(data, x, rate, format="WAV", subtype="PCM_16")
    options = SliceOptions.make({"threshold": -35, "min_length": 2000, "min_interval": 300, "hop_size": 10,
                                 "max_sil_kept": 500}, format="flac", threads=2)
    whole = files.slice_file(io.BytesIO(data.getvalue()), tmp_path / "whole", options, stem="talk")
    assert len(whole.clips) >= 6
    monkeypatch.setattr(writing.Encoders, "WHOLE_BYTES", 3000)
    submitted, real_submit, real_put = [], writing.Encoders.submit, writing.Encoders.put

    def submit(self, *args):
        submitted.append(args[0])
        return real_submit(self, *args)

    def put(self, feed, item):
        if len(submitted) == 4 and isinstance(item, np.ndarray):
            raise KeyboardInterrupt  # Ctrl-C while clip 3's blocks are being fed
        return real_put(self, feed, item)

    monkeypatch.setattr(writing.Encoders, "submit", submit)
    monkeypatch.setattr(writing.Encoders, "put", put)
    result = files.slice_file(io.BytesIO(data.getvalue()), tmp_path / "stream", options, stem="talk")
    assert result.interrupted
    assert [Path(c.clip).name for c in result.clips] == ["talk_0.flac", "talk_1.flac", "talk_2.flac"]
    for clip in result.clips:
        assert Path(clip.clip).read_bytes() == (tmp_path / "whole" / Path(clip.clip).name).read_bytes()
    left = sorted(p.name for p in (tmp_path / "stream").rglob("*") if p.is_file() and not p.name.startswith("."))
    assert left == ["talk_0.flac", "talk_1.flac", "talk_2.flac"]


def test_a_full_disk_under_encoder_threads_leaves_nothing_and_names_the_input(ten_minutes, tmp_path):
    """Clips encoded on several threads at once onto a disk that fills up: the error names the input and
    the clip, and none of the file's clips, work files or marker is left."""
    mount = tmp_path / "small disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)]).returncode:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    try:
        done = fastslice("slice", ten_minutes / "ten.flac", "-o", mount, *CUT, "--threads", 2)
        assert done.returncode == 1, done.stderr
        assert f"{ten_minutes / 'ten.flac'}: cannot write clip " in done.stderr and "No space left" in done.stderr
        assert not [p for p in mount.rglob("*") if p.is_file()]
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# -- float WAV clips -------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("frames", [0, 1, 999, 70001])
def test_float_wav_clips_are_the_bytes_libsndfile_writes(tmp_path, channels, frames):
    x = (np.random.default_rng(frames + channels).standard_normal((frames, channels)) * 0.5).astype(np.float32)
    x[::97] = 1.7  # past full scale: a float keeps it
    blocks = [x[k : k + 9000] for k in range(0, frames, 9000)] or [x]
    path = tmp_path / "clip.wav"
    assert write_clip(iter(blocks), path, ClipSpec(32000, channels, "WAV", "FLOAT", "src", []), "clip.wav") == frames
    expected = io.BytesIO()
    with soundfile.SoundFile(expected, "w", 32000, channels, "FLOAT", format="WAV") as out:
        without_peak_chunk(out)
        for b in blocks:
            out.write(b)
    assert path.read_bytes() == expected.getvalue()
    assert np.array_equal(soundfile.read(path, dtype="float32", always_2d=True)[0], x)


def test_an_mp3_s_float_clips_read_back_as_its_decoded_samples(ten_minutes, tmp_path):
    out = tmp_path / "out"
    fastslice("slice", ten_minutes / "ten.mp3", "-o", out, *CUT, "--manifest", tmp_path / "m.csv", check=0)
    decoded = avfiles.naive_decode(ten_minutes / "ten.mp3").T
    rows = [line.split(",") for line in (tmp_path / "m.csv").read_text().splitlines()[1:]]
    assert len(rows) >= 20
    for row in rows:
        clip, start, end = Path(tmp_path / row[1]), int(row[2]), int(row[3])
        got, rate = soundfile.read(clip, dtype="float32", always_2d=True)
        assert soundfile.info(clip).subtype == "FLOAT" and np.array_equal(got, decoded[start:end]), clip


# -- any other compressed file: decoded ahead on a thread of its own --------------------------------


def outcome(path, threads, block, start=0):
    """The kind of source and the samples read to the end (or the error met), with ``threads``."""
    kind = None
    try:
        with readers.open_source(path, threads=threads) as source:
            kind = type(source).__name__
            if start:
                source.seek(start)
            return kind, read_all(source, block)
    except FastsliceError as exc:
        return kind, str(exc)


def test_a_compressed_file_read_ahead_gives_the_same_samples_and_errors(tmp_path):
    x = signals.speech_like(9, 20, SR, channels=2)
    ogg = tmp_path / "talk.ogg"
    soundfile.write(ogg, x.T, SR, format="OGG", subtype="VORBIS")
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(ogg.read_bytes()[: ogg.stat().st_size // 2] + b"\x00" * 5000)
    for path in (ogg, cut):
        for block in (65536, 1000):
            one, ahead = outcome(path, 1, block), outcome(path, 2, block)
            assert one[0] == "SndfileSource" and ahead[0] == "Prefetched"
            assert type(one[1]) is type(ahead[1])
            assert (one[1] == ahead[1]) if isinstance(one[1], str) else np.array_equal(one[1], ahead[1])
    short = tmp_path / "short.flac"  # too short to split: read ahead, and sought exactly
    soundfile.write(short, x.T[: 5 * SR], SR, subtype="PCM_16")
    kind, got = outcome(short, 2, 3000, start=12345)
    assert kind == "Prefetched"
    assert np.array_equal(got, soundfile.read(short, dtype="int16", always_2d=True)[0][12345:])
