"""Every format, decoded once: libsndfile, FFmpeg (PyAV) and WAV streams from real pipes.

The files are made here: soundfile for WAV/FLAC/Ogg, FFmpeg's encoders through PyAV for
AAC in M4A, Opus in WebM, MP3 (alone, and in Matroska beside a video stream).  Clips are
compared with slicing a whole decode by the same decoder in memory, and with the guide's
flow (librosa.load + upstream slicer2) where it reads the format.
"""
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import avfiles
import endless
import signals
from fastslice import FastsliceError, ParameterError, RangeStream, Slicer, iter_clip_ranges
from fastslice.reading import readers
from fastslice.run.files import slice_file
from fastslice.rendering.samples import SampleHold
from runner import fastslice, fastslice_process

SR = 44100
PARAMS = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "500"]


def recording(seed, seconds, channels=2, sr=SR):
    return signals.with_digital_silence(signals.speech_like(seed, seconds, sr, channels=channels), seed, sr)



def clip_files(folder, stem, ext="wav"):
    found = sorted(folder.glob(f"{stem}_[0-9]*.{ext}"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    assert [p.name for p in found] == [f"{stem}_{i}.{ext}" for i in range(len(found))]
    return found


def assert_clips_are_slices_of(folder, stem, decoded, params=PARAMS, sr=SR, ext="wav"):
    """The clips in folder are Slicer's chunks of ``decoded`` (channels, n), sample for sample."""
    expected = Slicer(sr, **params).slice_ranges(np.asfortranarray(decoded)).tolist()
    files = clip_files(folder, stem, ext)
    assert len(files) == len(expected) > 1
    for path, (start, end) in zip(files, expected):
        got, rate = soundfile.read(path, dtype="float32", always_2d=True)
        assert rate == sr and np.array_equal(got, decoded[:, start:end].T), path


def everything_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# -- libsndfile: reading in the file's own format gives libsndfile's floats ---------------------


@pytest.mark.parametrize("format, subtype", [
    ("WAV", "PCM_U8"), ("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"), ("WAV", "DOUBLE"),
    ("WAV", "ULAW"), ("WAV", "ALAW"), ("AIFF", "PCM_S8"), ("FLAC", "PCM_S8"), ("FLAC", "PCM_16"), ("FLAC", "PCM_24"),
])
def test_samples_in_the_files_format_convert_to_libsndfiles_floats(tmp_path, format, subtype):
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-1, 1, (SR, 2)), [[-1.0, 1.0], [1 - 2 ** -23, -(2 ** -24)]]])
    path = tmp_path / f"x.{format.lower()}"
    soundfile.write(path, x, SR, format=format, subtype=subtype)
    with readers.open_source(path) as source:
        native = source.read(x.shape[0] + 10).copy()
        assert source.read(10).shape[0] == 0
    assert native.dtype == source.dtype and source.decoder == "sndfile"
    want, _ = soundfile.read(path, dtype="float32", always_2d=True)
    assert np.array_equal(readers.as_float32(native), want)


# -- FFmpeg: M4A, WebM, MP3 in MKV beside a video ---------------------------------------------


@pytest.fixture(scope="session")
def av_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("av")
    x = recording(1, 50)
    x48 = recording(2, 40, channels=2, sr=48000)
    mono = recording(3, 45, channels=1)
    return {
        "m4a": avfiles.encode(folder / "talk.m4a", [("aac", x, SR)]),
        "webm": avfiles.encode(folder / "talk.webm", [("libopus", x48, 48000)]),
        "mkv": avfiles.encode(folder / "film.mkv", [("libmp3lame", mono, SR), ("aac", x[:, : 30 * SR], SR)], video_seconds=45),
    }


@pytest.mark.parametrize("kind, rate", [("m4a", SR), ("webm", 48000), ("mkv", SR)])
def test_ffmpeg_formats_give_the_clips_of_a_whole_decode(tmp_path, av_files, kind, rate):
    path = av_files[kind]
    result = fastslice("slice", path, "-o", tmp_path / "out", *OPTIONS)
    assert result.returncode == 0, result.stderr
    assert_clips_are_slices_of(tmp_path / "out", path.stem, avfiles.naive_decode(path), sr=rate)
    marker = json.loads((tmp_path / "out" / f".{path.stem}.fastslice.json").read_text())
    assert marker["decoder"] == "av" and marker["subtype"] == "FLOAT"


@pytest.mark.parametrize("kind", ["m4a", "wav", "flac"])
def test_start_and_end_on_every_kind_of_reader(tmp_path, av_files, kind):
    # FFmpeg inputs are decoded up to --start and dropped; PCM is sought (and read again for clips).
    if kind == "m4a":
        path, whole = av_files["m4a"], avfiles.naive_decode(av_files["m4a"])
    else:
        path = tmp_path / f"talk.{kind}"
        soundfile.write(path, recording(12, 50).T, SR, subtype="FLOAT" if kind == "wav" else "PCM_24")
        whole = soundfile.read(path, dtype="float32", always_2d=True)[0].T
    result = slice_file(path, tmp_path / "out", PARAMS, start_seconds=7, end_seconds=41.5)
    part = whole[:, 7 * SR : int(41.5 * SR)]
    assert_clips_are_slices_of(tmp_path / "out", path.stem, part, ext="flac" if kind == "flac" else "wav")
    expected = Slicer(SR, **PARAMS).slice_ranges(np.asfortranarray(part)).tolist()
    assert [[c.start_sample - 7 * SR, c.end_sample - 7 * SR] for c in result.clips] == expected


def test_a_video_files_audio_streams(tmp_path, av_files):
    film = av_files["mkv"]
    second = fastslice("slice", film, "-o", tmp_path / "second", "--stream", "1", *OPTIONS)
    assert second.returncode == 0, second.stderr
    assert_clips_are_slices_of(tmp_path / "second", "film", avfiles.naive_decode(film, stream=1))
    missing = fastslice("slice", film, "-o", tmp_path / "none", "--stream", "2", *OPTIONS)
    assert missing.returncode == 1
    assert f"{film}: stream=2 (--stream) is not there: it has 2 audio streams" in missing.stderr
    wrong = fastslice("slice", film, "-o", tmp_path / "none", "--stream", "1", "--decoder", "sndfile", *OPTIONS)
    assert wrong.returncode == 2 and "--stream" in wrong.stderr


def test_python_api_reads_ffmpeg_formats_from_paths_and_file_objects(av_files):
    path = av_files["m4a"]
    whole = avfiles.naive_decode(path)
    expected = Slicer(SR, **PARAMS).slice_ranges(np.asfortranarray(whole)).tolist()
    assert [list(r) for r in iter_clip_ranges(path, block_frames=3000, **PARAMS)] == expected
    with open(path, "rb") as f:
        assert [list(r) for r in iter_clip_ranges(f, **PARAMS)] == expected


# -- MP3: FFmpeg, on a file long enough to cross many block boundaries -------------------------


@pytest.fixture(scope="session")
def long_mp3(tmp_path_factory):
    """Ten and a half minutes of mono speech-like MP3 (LAME at its fastest setting)."""
    x = np.concatenate([recording(seed, 63, channels=1) for seed in range(10)], axis=1)
    path = tmp_path_factory.mktemp("mp3") / "lecture.mp3"
    return avfiles.encode(path, [("libmp3lame", x, SR)], options={"compression_level": "9"})


def test_a_long_mp3_is_sliced_as_a_whole_decode_gives_it(tmp_path, long_mp3, upstream):
    whole = avfiles.naive_decode(long_mp3)
    assert whole.shape[1] >= 10 * 60 * SR
    result = slice_file(long_mp3, tmp_path / "out", PARAMS)
    assert_clips_are_slices_of(tmp_path / "out", "lecture", whole)
    assert result.decoded_frames == whole.shape[1]
    small_blocks = [list(r) for r in iter_clip_ranges(long_mp3, block_frames=4093, **PARAMS)]
    assert small_blocks == [[c.start_sample, c.end_sample] for c in result.clips]
    # The guide's flow reads the MP3 whole with libsndfile (mpg123): the same cuts, samples within 1e-5.
    import librosa

    guide, sr = librosa.load(long_mp3, sr=None, mono=False)
    assert sr == SR and guide.shape[-1] == whole.shape[1]
    chunks = upstream.Slicer(sr=SR, **PARAMS).slice(guide)
    assert len(chunks) == len(result.clips)
    for clip, chunk in zip(result.clips, chunks):
        got, _ = soundfile.read(clip.clip, dtype="float32")
        assert got.shape == chunk.shape and np.abs(got - chunk).max() <= 1e-5, clip.clip


def test_an_mp3_goes_to_ffmpeg_unless_libsndfile_is_asked_for(tmp_path, long_mp3):
    with readers.open_source(long_mp3) as auto, readers.open_source(long_mp3, decoder="sndfile") as sndfile:
        assert (auto.decoder, sndfile.decoder) == ("av", "sndfile")


# -- decoded once ---------------------------------------------------------------------------------


@pytest.fixture
def counted_reads(monkeypatch):
    """Frames read from every source fastslice opens (the real decoders, counted)."""
    counts = []
    original = readers.open_source

    def counting(*args, **kwargs):
        source = original(*args, **kwargs)
        read = source.read
        counts.append(0)
        index = len(counts) - 1

        def counted(frames):
            block = read(frames)
            counts[index] += block.shape[0]
            return block

        source.read = counted
        return source

    monkeypatch.setattr(readers, "open_source", counting)
    return counts


@pytest.mark.parametrize("kind", ["flac", "ogg", "m4a", "webm", "wav", "aiff"])
def test_each_input_is_decoded_once(tmp_path, av_files, counted_reads, kind):
    if kind in av_files:
        path, length = av_files[kind], avfiles.naive_decode(av_files[kind]).shape[1]
    else:
        path = tmp_path / f"talk.{kind}"
        x = recording(4, 40)
        with soundfile.SoundFile(path, "w", SR, 2, subtype="VORBIS" if kind == "ogg" else "PCM_16") as f:
            f.write(x.T)
        length = x.shape[1]
    result = slice_file(path, tmp_path / "out", PARAMS)
    assert len(result.clips) > 3 and result.decoded_frames == length
    if kind == "aiff":  # uncompressed PCM is read again for the clips, which is cheaper than holding it
        assert counted_reads == [length, sum(c.end_sample - c.start_sample for c in result.clips)]
    else:  # (a 16-bit WAV's clips are copied from the file by the kernel, not decoded again)
        assert counted_reads == [length]


# -- clips longer than the memory bound ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["flac", "m4a"])
def test_a_clip_longer_than_the_memory_bound_spills_to_disk_and_is_the_same(tmp_path, kind):
    x = recording(5, 30)
    x[:, 4 * SR : 24 * SR] += 0.05 * np.sin(np.arange(20 * SR) / 7.0)  # a 20-second clip without a pause
    path = tmp_path / f"long.{kind}"
    if kind == "flac":
        soundfile.write(path, x.T, SR, subtype="PCM_16")
    else:
        avfiles.encode(path, [("aac", x, SR)])
    held = slice_file(path, tmp_path / "held", PARAMS)
    spilled = slice_file(path, tmp_path / "spilled", PARAMS, hold_bytes=1 << 16, block_frames=4096)
    assert held.spilled_frames == 0 and spilled.spilled_frames > 20 * SR // 2
    names = everything_in(tmp_path / "held")
    assert names == everything_in(tmp_path / "spilled")  # nothing left behind: no temporary file
    assert max(soundfile.info(tmp_path / "held" / n).frames for n in names if not n.startswith(".")) > 20 * SR
    for name in names:
        if not name.startswith("."):
            assert (tmp_path / "held" / name).read_bytes() == (tmp_path / "spilled" / name).read_bytes(), name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    seconds=st.floats(0.0, 25.0),
    limit_frames=st.integers(1, 30000),
    blocks=st.lists(st.integers(1, 20000), min_size=1, max_size=3),
    max_factor=st.one_of(st.none(), st.floats(1.0, 3.0)),
    merge=st.booleans(),
)
def test_held_samples_give_every_clip_exactly(tmp_path, seed, seconds, limit_frames, blocks, max_factor, merge):
    # RangeStream.first_open_sample tells the hold what it may forget; every clip must still be held.
    sr = 8000
    max_length = None if max_factor is None else 1500 * max_factor
    slicer = Slicer(sr, -35, 1500, 300, 10, 400, max_length=max_length, merge_short=merge and max_length is not None)
    x = signals.speech_like(seed, seconds, sr, channels=2)
    interleaved = np.ascontiguousarray(x.T)
    stream = RangeStream(slicer, None, 2)
    clips = []
    with SampleHold(2, np.float32, tmp_path, limit_bytes=limit_frames * 8, min_frames=1) as hold:
        position, k = 0, 0
        while position < interleaved.shape[0]:
            block = interleaved[position : position + blocks[k % len(blocks)]]
            position, k = position + block.shape[0], k + 1
            hold.append(block)
            for start, end in stream.feed(block):
                clips.append(np.concatenate([b.copy() for b in hold.blocks(start, end, 777)] or [np.empty((0, 2), np.float32)]))
            hold.release_before(stream.first_open_sample())
        for start, end in stream.finish():
            clips.append(np.concatenate([b.copy() for b in hold.blocks(start, end, 777)] or [np.empty((0, 2), np.float32)]))
    expected = slicer.slice(np.asfortranarray(x))
    assert len(clips) == len(expected)
    for got, want in zip(clips, expected):
        assert np.array_equal(got, want.T)


# -- standard input through real pipes --------------------------------------------------------------

# Writes a WAV file to stdout the way FFmpeg's muxer writes one to a pipe (the sizes unknown).
_FFMPEG_WAV_TO_PIPE = textwrap.dedent("""
    import sys, av
    source = av.open(sys.argv[1])
    out = av.open(sys.stdout.buffer, "w", format="wav")
    stream = out.add_stream("pcm_s16le", rate=source.streams.audio[0].rate)
    stream.layout = source.streams.audio[0].layout.name
    for frame in source.decode(audio=0):
        frame.pts = None
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
""")


def with_unknown_sizes(data, size):
    """A WAV file's bytes with its RIFF and data sizes replaced by ``size`` (0 or 0xFFFFFFFF), as pipes get them."""
    data = bytearray(data)
    struct.pack_into("<I", data, 4, size)
    struct.pack_into("<I", data, data.index(b"data") + 4, size)
    return bytes(data)


@pytest.mark.parametrize("subtype, writer", [("PCM_16", "ffmpeg"), ("PCM_24", 0xFFFFFFFF), ("FLOAT", 0), ("PCM_16", "cat")])
def test_standard_input_through_a_pipe_equals_the_file(tmp_path, subtype, writer):
    path = tmp_path / "talk.wav"
    soundfile.write(path, recording(6, 40).T, SR, subtype=subtype)
    by_path = fastslice("slice", path, "-o", tmp_path / "by_path", *OPTIONS)
    assert by_path.returncode == 0, by_path.stderr
    if writer == "ffmpeg":
        producer = subprocess.Popen([sys.executable, "-c", _FFMPEG_WAV_TO_PIPE, str(path)], stdout=subprocess.PIPE)
    else:
        piped = tmp_path / "piped.wav"
        piped.write_bytes(path.read_bytes() if writer == "cat" else with_unknown_sizes(path.read_bytes(), writer))
        producer = subprocess.Popen(["cat", str(piped)], stdout=subprocess.PIPE)
    result = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(tmp_path / "piped"), "--stem", "talk",
                             *OPTIONS], stdin=producer.stdout, capture_output=True, text=True)
    producer.stdout.close()
    assert producer.wait() == 0 and result.returncode == 0, result.stderr
    assert "header promises" not in result.stderr  # an unknown length is not a truncated file
    clips = clip_files(tmp_path / "by_path", "talk")
    assert len(clips) > 3
    assert [p.name for p in clip_files(tmp_path / "piped", "talk")] == [p.name for p in clips]
    for clip in clips:
        assert (tmp_path / "piped" / clip.name).read_bytes() == clip.read_bytes(), clip.name


def test_ffmpeg_formats_through_a_pipe(tmp_path, av_files):
    path = av_files["webm"]
    producer = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    result = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(tmp_path / "out"), "--stem", "talk",
                             *OPTIONS], stdin=producer.stdout, capture_output=True, text=True)
    producer.stdout.close()
    assert producer.wait() == 0 and result.returncode == 0, result.stderr
    assert_clips_are_slices_of(tmp_path / "out", "talk", avfiles.naive_decode(path), sr=48000)


def test_a_stream_does_not_replace_an_earlier_runs_clips(tmp_path):
    data = io.BytesIO()
    soundfile.write(data, recording(7, 12).T, SR, format="WAV", subtype="PCM_16")

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(tmp_path / "out"), *extra, *OPTIONS],
                              input=data.getvalue(), capture_output=True)

    assert run("--stem", "talk").returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    again = run("--stem", "talk")
    assert again.returncode == 1 and b"already holds clips of the stem 'talk' (talk_0.wav, talk_1.wav, ...)" in again.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert run("--stem", "talk", "--overwrite").returncode == 0
    assert run("--stem", "other").returncode == 0
    assert clip_files(tmp_path / "out", "other") and clip_files(tmp_path / "out", "talk")
    mixed = fastslice("slice", "-", tmp_path / "out", "-o", tmp_path / "x", *OPTIONS)
    assert mixed.returncode == 2 and "must be the only input" in mixed.stderr
    with pytest.raises(ParameterError, match="stem="):
        slice_file(io.BytesIO(data.getvalue()), tmp_path / "api", PARAMS)


def test_an_endless_stream_stopped_with_ctrl_c_keeps_its_finished_clips(tmp_path):
    sr = 16000
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "fastslice", "slice", "-", "-o", str(out), "--stem", "radio",
            "--manifest", str(tmp_path / "radio.csv"), *OPTIONS]
    # 8 blocks written: the slicer has read more than 7 (37 s), cut at least 7 clips and queued them
    returncode, stderr, _ = endless.slice_until_interrupted(argv, sr, "silences", blocks=8)
    assert returncode == 130, stderr
    assert "interrupted; the clips finished until then are kept" in stderr
    clips = clip_files(out, "radio")
    assert len(clips) >= 6
    assert everything_in(out) == sorted([".radio.fastslice.json", *(p.name for p in clips)])  # no temporary file
    assert len((tmp_path / "radio.csv").read_text().splitlines()) == len(clips) + 1
    # The clips are those of slicing the stream's samples in memory (all but the still-open last one).
    samples = endless.samples(len(clips) * 4 // 3 + 8, sr)
    expected = Slicer(sr, **PARAMS).slice_ranges(samples.astype(np.float32) / 32768).tolist()
    for path, (start, end) in zip(clips, expected):
        got, rate = soundfile.read(path, dtype="int16")
        assert rate == sr and np.array_equal(got, samples[start:end]), path


# -- kill -9 and resume, on held (compressed) inputs --------------------------------------------------


def test_resume_after_kill_is_byte_identical_for_compressed_inputs(tmp_path, seam):
    inputs = tmp_path / "in"
    inputs.mkdir()
    x = recording(10, 30)
    soundfile.write(inputs / "flac0.flac", x.T, SR, subtype="PCM_24")
    avfiles.encode(inputs / "aac0.m4a", [("aac", recording(11, 30), SR)])
    clean = fastslice("slice", inputs, "-o", tmp_path / "clean", *OPTIONS)
    assert clean.returncode == 0, clean.stderr
    out = tmp_path / "killed"
    # kill -9 once the FLAC (the larger, first) is committed, while a clip of the M4A is half written
    with seam("input-done") as committed:
        process = fastslice_process("slice", str(inputs), "-o", str(out), *OPTIONS, env=committed.env)
        assert committed.wait(1) == [process.pid]
        with seam("clip-writing") as writing:
            committed.release()
            assert writing.wait(1) == [process.pid]
            process.kill()
            process.wait()
    assert [p.name for p in out.glob(".*.fastslice.json")] == [".flac0.fastslice.json"]
    assert [p.name.split(".")[0] for p in out.rglob("*.part")] == ["aac0"]
    again = fastslice("slice", inputs, "-o", out, *OPTIONS)
    assert again.returncode == 0, again.stderr
    assert everything_in(out) == everything_in(tmp_path / "clean")
    for name in everything_in(out):
        if not name.startswith(".") and (out / name).is_file():
            assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name


# -- what the reader notices ----------------------------------------------------------------------


def test_a_header_that_promises_more_than_the_data_is_sliced_with_a_warning(tmp_path):
    wav = tmp_path / "in" / "claims more.wav"
    wav.parent.mkdir()
    x = recording(8, 20)
    soundfile.write(wav, x.T, SR, subtype="PCM_16")
    data = bytearray(wav.read_bytes())
    struct.pack_into("<I", data, data.index(b"data") + 4, 20 * SR * 4 * 3)  # claims 60 s of stereo 16-bit
    wav.write_bytes(bytes(data))
    flac = tmp_path / "in" / "cut short.flac"
    soundfile.write(tmp_path / "whole.flac", recording(9, 20).T, SR, subtype="PCM_16")
    flac.write_bytes((tmp_path / "whole.flac").read_bytes()[: (tmp_path / "whole.flac").stat().st_size // 2])
    result = fastslice("slice", tmp_path / "in", "-o", tmp_path / "out", *OPTIONS)
    assert result.returncode == 1, result.stderr
    warned = [line for line in result.stderr.splitlines() if "the header promises" in line]
    assert warned == [f"fastslice: warning: {wav}: the header promises {60 * SR} frames but the data ends after "
                      f"{20 * SR} (40.000 s missing): sliced as far as the data goes"], result.stderr
    audio, _ = soundfile.read(wav, dtype="float32", always_2d=True)
    assert_clips_are_slices_of(tmp_path / "out", "claims more", audio.T)
    # libsndfile stops a FLAC cut mid-frame with an error: the file is reported, none of its clips kept.
    assert f"fastslice: error: {flac}: read failed at frame" in result.stderr
    assert not list((tmp_path / "out").glob("cut short*"))


def test_a_folder_without_audio_is_an_error_that_names_it(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no audio here")
    soundfile.write(tmp_path / "talk.wav", recording(1, 10).T, SR, subtype="PCM_16")
    result = fastslice("slice", tmp_path / "notes", tmp_path / "talk.wav", "-o", tmp_path / "out", *OPTIONS)
    assert result.returncode == 1
    assert f"fastslice: error: {tmp_path / 'notes'}: the folder holds no audio file" in result.stderr
    assert clip_files(tmp_path / "out", "talk")


def test_file_objects_in_the_python_api(tmp_path):
    path = tmp_path / "talk.flac"
    soundfile.write(path, recording(11, 20).T, SR, subtype="PCM_16")
    expected = [list(r) for r in iter_clip_ranges(path, **PARAMS)]
    assert len(expected) > 3
    assert [list(r) for r in iter_clip_ranges(io.BytesIO(path.read_bytes()), **PARAMS)] == expected
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, soundfile.read(path, dtype="int16")[0], SR, subtype="PCM_16")
    read_end, write_end = os.pipe()
    writer = subprocess.Popen(["cat", str(wav)], stdout=write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert [list(r) for r in iter_clip_ranges(pipe, **PARAMS)] == expected
    writer.wait()
    with open(path, "rb") as f:
        result = slice_file(f, tmp_path / "out", PARAMS, stem="talk")
    assert [[c.start_sample, c.end_sample] for c in result.clips] == expected
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end, "rb") as empty, pytest.raises(FastsliceError, match="the stream is empty"):
        list(iter_clip_ranges(empty, **PARAMS))


def test_an_mp3_cut_short_goes_straight_to_ffmpeg_without_libsndfiles_noise(tmp_path, long_mp3):
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(long_mp3.read_bytes()[:400_000])  # its Xing header now overstates the size
    result = fastslice("slice", cut, "-o", tmp_path / "out", *OPTIONS)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1].startswith("fastslice: 1 file (") and "Xing" not in result.stderr
    empty = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", str(tmp_path / "none"), *OPTIONS],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert empty.returncode == 1 and "fastslice: error: <stdin>: the stream is empty" in empty.stderr


class _CtrlCAfter:
    """A pipe-like reader (no seek) whose reads raise KeyboardInterrupt after ``limit`` bytes."""

    def __init__(self, data, limit):
        self._data, self._limit, self._position = data, limit, 0

    def readinto(self, buffer):
        if self._position >= self._limit:
            raise KeyboardInterrupt
        n = min(len(buffer), len(self._data) - self._position, 50_000)
        memoryview(buffer).cast("B")[:n] = self._data[self._position : self._position + n]
        self._position += n
        return n

    def read(self, size=-1):
        buffer = bytearray(size)
        return bytes(buffer[: self.readinto(buffer)])


def test_ctrl_c_keeps_a_streams_finished_clips_and_none_of_a_files(tmp_path, monkeypatch):
    path = tmp_path / "talk.wav"
    soundfile.write(path, recording(13, 60).T, SR, subtype="PCM_16")
    data = path.read_bytes()
    whole = slice_file(path, tmp_path / "whole", PARAMS)
    result = slice_file(_CtrlCAfter(data, len(data) // 2), tmp_path / "stream", PARAMS, stem="talk")
    assert result.interrupted and 2 <= len(result.clips) < len(whole.clips)
    assert everything_in(tmp_path / "stream") == sorted([".talk.fastslice.json", *(Path(c.clip).name for c in result.clips)])
    for clip in result.clips:
        assert Path(clip.clip).read_bytes() == (tmp_path / "whole" / Path(clip.clip).name).read_bytes()
    # A file interrupted after 20 of its 60 seconds (clips were written by then) keeps none of them.
    original, reads = readers.open_source, []

    def interrupted_after_20_reads(*args, **kwargs):
        source = original(*args, **kwargs)
        read = source.read

        def read_then_stop(frames):
            reads.append(frames)
            if len(reads) > 20:
                raise KeyboardInterrupt
            return read(frames)

        source.read = read_then_stop
        return source

    assert whole.clips[1].end_sample < 15 * SR  # so clips were complete before the interrupt
    monkeypatch.setattr(readers, "open_source", interrupted_after_20_reads)
    with pytest.raises(KeyboardInterrupt):
        slice_file(path, tmp_path / "file", PARAMS, block_frames=SR)
    assert everything_in(tmp_path / "file") == []


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_long_ogg_files_stream_as_libsndfile_decodes_them_whole(tmp_path, subtype):
    # libsndfile decodes Ogg Vorbis and Ogg Opus identically in blocks and whole: fastslice keeps them.
    sr = 16000
    path = tmp_path / f"talk_{subtype}.ogg"
    with soundfile.SoundFile(path, "w", sr, 1, format="OGG", subtype=subtype) as f:
        for seed in range(10):
            f.write(recording(seed, 61, channels=1, sr=sr)[0])
    whole, _ = soundfile.read(path, dtype="float32", always_2d=True)
    assert whole.shape[0] >= 10 * 60 * sr
    result = slice_file(path, tmp_path / "out", PARAMS, block_frames=4093)
    assert result.decoded_frames == whole.shape[0]
    assert_clips_are_slices_of(tmp_path / "out", path.stem, whole.T, sr=sr)
