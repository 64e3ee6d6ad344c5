"""Bad input, faults and fuzzing: nothing crashes or hangs, nothing is lost, every failure says why.

The corpus of malformed files is made here.  Tests that need root (a tmpfs for a full disk)
or need to drop root (an unreadable file, a read-only folder: root reads and writes anything)
do so in a subprocess.
"""
import hashlib
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runner import fastslice, fastslice_process
from test_cli import OPTIONS, PARAMS, SR, expected_clips

import signals
from fastslice import FastsliceError, ParameterError, Slicer
from fastslice.cutting.ranges import iter_clip_ranges

ROOT = os.geteuid() == 0


def speech(seed=1, seconds=20, channels=2, rate=SR):
    return signals.with_digital_silence(signals.speech_like(seed, seconds, rate, channels=channels), seed, rate).T


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_corpus(folder):
    """Malformed and unusual files; returns {name: what fastslice must say, or None for "sliced"}."""
    folder.mkdir(parents=True)
    good = folder / "good.wav"
    soundfile.write(good, speech(), SR, subtype="PCM_16")
    data = good.read_bytes()
    (folder / "empty.wav").write_bytes(b"")
    (folder / "truncated header.wav").write_bytes(data[:30])
    (folder / "truncated data.wav").write_bytes(data[: len(data) // 3])
    claims_more = bytearray(data)
    struct.pack_into("<I", claims_more, 40, len(data) * 4)  # the data chunk's size
    (folder / "claims more.wav").write_bytes(bytes(claims_more))
    unknown_codec = bytearray(data)
    struct.pack_into("<H", unknown_codec, 20, 0x1234)  # the fmt chunk's format tag: no such codec
    (folder / "unknown codec.wav").write_bytes(bytes(unknown_codec))
    (folder / "notes.wav").write_text("this is not audio\n" * 20)
    (folder / "picture.wav").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (folder / "song.wav").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(900))
    soundfile.write(folder / "zero frames.wav", np.zeros((0, 2), np.int16), SR)
    soundfile.write(folder / "one frame.wav", np.full((1, 2), 1000, np.int16), SR)
    nan = speech(2).copy()
    nan[SR * 3 + 17] = np.nan
    soundfile.write(folder / "nan.wav", nan, SR, subtype="FLOAT")
    soundfile.write(folder / "twelve channels.wav", np.tile(speech(3, channels=1), (1, 12)), SR, subtype="PCM_16")
    for rate in (8000, 384000):
        soundfile.write(folder / f"rate {rate}.wav", speech(4, 12, 1, rate), rate, subtype="PCM_16")
    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
        soundfile.write(folder / f"subtype {subtype}.flac" if subtype in ("PCM_16", "PCM_24") else folder / f"subtype {subtype}.wav",
                        speech(5), SR, subtype=subtype)
    soundfile.write(folder / "ñandú 日本語 voice.wav", speech(6), SR, subtype="PCM_16")
    os.symlink("good.wav", folder / "link to good.wav")
    os.symlink("missing.wav", folder / "broken link.wav")
    return {
        "empty.wav": "the file is empty (0 bytes)",
        "truncated header.wav": "cannot read it as audio",
        "unknown codec.wav": "cannot read it as audio",
        "notes.wav": "it is a text file",
        "picture.wav": "it is a PNG image",
        "song.wav": "it looks like MP4/M4A/AAC",
        "zero frames.wav": "holds no audio frames",
        "nan.wav": "the sample at 3.001 s (frame 48017) is NaN or infinite",
        "broken link.wav": "No such file or directory",
    }


def test_a_corpus_of_malformed_files(tmp_path):
    corpus = tmp_path / "corpus"
    failing = make_corpus(corpus)
    before = {p.name: digest(p) for p in corpus.iterdir() if p.is_file()}
    out = tmp_path / "out"
    result = fastslice("slice", corpus, "-o", out, *OPTIONS)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    for name, message in failing.items():
        mine = [line for line in lines if f"{corpus / name}:" in line]
        assert len(mine) == 1 and "error:" in mine[0] and message in mine[0], (name, mine)
        assert not list(out.glob(f"{Path(name).stem}_*")), f"{name} left clips"
    sliced = sorted(p.name for p in corpus.iterdir() if p.is_file() and p.name not in failing and not p.is_symlink())
    assert f"{len(sliced) + len(failing)} files (0 already done, {len(failing)} failed)" in result.stderr
    for name in sliced:
        native = "int32" if "PCM_24" in name or "PCM_32" in name else "float64" if "FLOAT" in name or "DOUBLE" in name else "int16"
        ext = "flac" if name.endswith(".flac") else "wav"
        want = expected_clips(corpus / name, native) if soundfile.info(corpus / name).samplerate == SR else None
        got = sorted(out.glob(f"{Path(name).stem}_*.{ext}"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        assert got, name
        if want is not None:
            assert len(got) == len(want), name
            for path, samples in zip(got, want):
                assert np.array_equal(soundfile.read(path, dtype=native, always_2d=True)[0], samples), path
    assert soundfile.info(out / "one frame_0.wav").frames == 1
    assert soundfile.info(out / "twelve channels_0.wav").channels == 12
    assert soundfile.info(out / "rate 384000_0.wav").samplerate == 384000
    assert {p.name: digest(p) for p in corpus.iterdir() if p.is_file()} == before  # inputs untouched
    assert not list(out.rglob("*.part"))


def without_root_powers(argv):
    """Run argv with file permissions enforced: as root, without the capabilities that bypass them."""
    if ROOT:
        argv = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search", *argv]
    return subprocess.run(argv, capture_output=True, text=True)


def test_unreadable_file_and_read_only_output(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "secret.wav", speech(), SR, subtype="PCM_16")
    soundfile.write(folder / "open.wav", speech(2), SR, subtype="PCM_16")
    (folder / "secret.wav").chmod(0o000)
    cli = [sys.executable, "-m", "fastslice", "slice"]
    try:
        result = without_root_powers([*cli, str(folder), "-o", str(tmp_path / "out"), *OPTIONS])
        assert result.returncode == 1
        assert f"error: {folder / 'secret.wav'}: cannot read it (Permission denied)" in result.stderr
        assert list((tmp_path / "out").glob("open_*.wav"))
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        result = without_root_powers([*cli, str(folder / "open.wav"), "-o", str(locked), *OPTIONS])
        assert result.returncode == 2 and f"-o {locked}: cannot write in it (Permission denied)" in result.stderr
    finally:
        (folder / "secret.wav").chmod(0o644)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--threshold", "nan", "--threshold must be a finite number; got nan"),
        ("--threshold", "1e308", "--threshold: 1e308 must be at most 0 dB"),
        ("--min-length", "-5", "--min-length must be at least 0 ms and at least --min-interval (300 ms); got -5"),
        ("--hop-size", "0", "--hop-size must be more than 0 ms; got 0"),
        ("--hop-size", "-10", "--hop-size must be more than 0 ms; got -10"),
        ("--max-sil-kept", "1e15", "at most 16777216 are allowed"),
        ("--min-interval", "inf", "--min-interval must be a finite number; got inf"),
        ("--max-length", "100", "--max-length must be at least --min-length (2000 ms)"),
        ("--jobs", "0", "--jobs=0 must be >= 1"),
        ("--sr", "-8000", "--sr must be a positive sample rate in Hz; got -8000"),
        ("--start", "-1", "--start must be a time >= 0 in seconds; got -1"),
    ],
)
def test_bad_parameters_exit_2_with_a_message_naming_them(tmp_path, option, value, message):
    soundfile.write(tmp_path / "a.wav", speech(), SR, subtype="PCM_16")
    options = [o for o in OPTIONS]
    if option in options:
        options[options.index(option) + 1] = value
    else:
        options += [option, value]
    result = fastslice("slice", tmp_path / "a.wav", "-o", tmp_path / "out", *options)
    assert result.returncode == 2 and message in result.stderr
    assert not list((tmp_path / "out").glob("*.wav")) if (tmp_path / "out").exists() else True


def test_output_folder_that_is_a_file_or_inside_the_input(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "a.wav", speech(), SR, subtype="PCM_16")
    result = fastslice("slice", folder, "-o", folder / "a.wav", *OPTIONS)
    assert result.returncode == 2 and "exists and is not a folder" in result.stderr
    nested = folder / "clips"
    first = fastslice("slice", folder, "-o", nested, *OPTIONS, check=0)
    assert "1 file (" in first.stderr
    again = fastslice("slice", folder, "-o", nested, *OPTIONS, "--overwrite", check=0)
    assert "1 file (" in again.stderr  # its own output is not sliced again
    assert not list(nested.rglob("a_*_*.wav"))


def test_clipping_dc_offset_and_silence_are_sliced_with_a_warning(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "loud.wav", np.clip(speech() * 40, -1, 1), SR, subtype="PCM_16")
    soundfile.write(folder / "offset.wav", speech() + 0.2, SR, subtype="FLOAT")
    soundfile.write(folder / "silent.wav", np.zeros((SR * 10, 2)), SR, subtype="PCM_16")
    result = fastslice("slice", folder, "-o", tmp_path / "out", *OPTIONS)
    assert result.returncode == 0
    assert "warning: " + str(folder / "loud.wav") + ":" in result.stderr and "samples at full scale" in result.stderr
    assert "channel 0 has a DC offset of +0.200" in result.stderr
    assert f"warning: {folder / 'silent.wav'}: no clip: it is all silence" in result.stderr
    assert list((tmp_path / "out").glob("loud_*.wav"))


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small disk"
    mount.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)]).returncode:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_clip(tmp_path, small_disk):
    source = tmp_path / "long take.wav"
    soundfile.write(source, speech(7, 60), SR, subtype="PCM_16")
    before = digest(source)
    result = fastslice("slice", source, "-o", small_disk, *OPTIONS)
    assert result.returncode == 1
    assert "No space left on device" in result.stderr and str(source) in result.stderr
    assert digest(source) == before
    assert not [p for p in small_disk.iterdir() if p.name.endswith(".part")]
    assert not list(small_disk.glob("long take_*.wav"))  # the failed file's clips are all removed


def test_ctrl_c_stops_promptly_cleans_up_and_exits_130(tmp_path, seam):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3):
        soundfile.write(folder / f"take{i:02}.wav", speech(20 + i, 30), SR, subtype="PCM_16")
    out = tmp_path / "out"
    # Ctrl-C once the first input is committed, while a clip of the second is half written.
    with seam("input-done") as committed:
        process = fastslice_process("slice", folder, "-o", out, *OPTIONS, env=committed.env)
        assert committed.wait(1) == [process.pid]
        with seam("clip-writing") as writing:
            committed.release()
            assert writing.wait(1) == [process.pid]
            assert list(out.rglob("*.part"))  # the clip being written
            process.send_signal(signal.SIGINT)
            sent = time.monotonic()
            # released: a clip writer on a thread of its own (a file over 20 s) must go on to see the
            # stop; the decoding thread takes the KeyboardInterrupt before its next step
            writing.release()
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in stderr
    assert time.monotonic() - sent < 5
    assert not list(out.rglob("*.part"))
    done = {p.name.split(".")[1] for p in out.glob(".*.fastslice.json")}
    assert len(done) == 1
    assert {clip.stem.rsplit("_", 1)[0] for clip in out.glob("*.wav")} == done  # only the finished file keeps clips
    for clip in out.glob("*.wav"):  # and every clip is whole
        soundfile.read(clip)


def test_runs_are_byte_identical(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, subtype in enumerate(("PCM_16", "FLOAT", "PCM_24")):
        soundfile.write(folder / f"t{i}.wav", speech(30 + i), SR, subtype=subtype)
    outputs = []
    for run, jobs in enumerate((1, 2, 1)):
        out = tmp_path / f"out{run}"
        fastslice("slice", folder, "-o", out, *OPTIONS, "-j", jobs, "--manifest", tmp_path / f"m{run}.jsonl", check=0)
        files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*_[0-9]*.wav"))}
        manifest = (tmp_path / f"m{run}.jsonl").read_text().replace(f'"{out.name}/', '"OUT/')
        outputs.append((files, manifest))
    assert outputs[0] == outputs[1] == outputs[2]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    samples=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=3000),
    channels=st.sampled_from([0, 1, 2, 3]),
    sr=st.sampled_from([1, 100, 8000, 44100]),
    threshold=st.floats(allow_nan=True, allow_infinity=True),
    min_length=st.floats(-10, 1e4) | st.integers(-5, 10**9),
    min_interval=st.floats(-10, 1e4),
    hop_size=st.floats(-1, 200),
    max_sil_kept=st.floats(-1, 1e4),
    max_length=st.none() | st.floats(0, 1e5),
    block=st.integers(1, 5000),
)
def test_fuzz_the_public_api(samples, channels, sr, threshold, min_length, min_interval, hop_size, max_sil_kept,
                             max_length, block):
    """Any input and parameters: a result, or a ParameterError; never another exception."""
    x = np.array(samples, np.float32)
    if channels:
        x = np.tile(x, (channels, 1))
    try:
        slicer = Slicer(sr, threshold, min_length, min_interval, hop_size, max_sil_kept, max_length=max_length)
    except ParameterError:
        return
    with np.errstate(all="ignore"):
        chunks = slicer.slice(x)
    ranges = slicer.slice_ranges(x)
    assert len(chunks) == len(ranges)
    if max_length is not None:
        assert all(e - s <= slicer.max_length_samples for s, e in ranges.tolist())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=4000), subtype=st.sampled_from(["PCM_16", "PCM_24", "FLOAT", "ULAW"]))
def test_fuzz_the_file_reader(tmp_path, tail, subtype):
    """A valid header followed by random bytes: ranges, or a FastsliceError; never another exception."""
    path = tmp_path / f"fuzz_{subtype}.wav"
    soundfile.write(path, np.zeros((0, 2), np.float32), SR, subtype=subtype)
    path.write_bytes(path.read_bytes() + tail)
    try:
        ranges = list(iter_clip_ranges(path, **PARAMS))
    except FastsliceError:
        return
    assert all(0 <= s <= e for s, e in ranges)

