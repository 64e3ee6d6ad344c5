"""Only files are inputs (issue 34): a folder walk takes regular files and links to them; a FIFO, a
socket, a device or a broken link found in a folder (or by a glob pattern) is skipped without being
opened, and the summary counts and names them; a FIFO named as an input is read as a stream, as
``-`` is, and gives the clips the same audio gives from a file.

Every command runs as a real process with a timeout: opening a FIFO blocks until a writer comes, so
a scan that opened one would hang, and the test fails at its timeout instead.  The FIFOs are real
(``os.mkfifo``), fed by real writer processes; the socket is bound (``AF_UNIX``).
"""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

import signals
from fastslice import FastsliceError
from fastslice.reading import readers
from fastslice.batch import slice_files
from runner import fastslice

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes (os.mkfifo) are POSIX's")

SR = 44100
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10",
           "--max-sil-kept", "500"]
#: seconds a command may take before the test calls it hung (a blocked open never returns)
BOUND = 120


def write_recording(path: Path, seed: int, seconds: int = 12, fmt: str = "WAV", subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = signals.with_digital_silence(signals.speech_like(seed, seconds, SR, channels=2), seed, SR)
    soundfile.write(path, x.T, SR, format=fmt, subtype=subtype)
    return path


def clips_of(folder: Path) -> dict[str, bytes]:
    """The clips in ``folder`` (not its markers), name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def run(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``fastslice ARGS`` bounded by ``BOUND`` seconds: a hang fails the test (TimeoutExpired)."""
    return fastslice(*args, cwd=cwd, timeout=BOUND)


def feed(fifo: Path, source: Path) -> subprocess.Popen[bytes]:
    """A writer process that copies ``source`` into ``fifo`` (its open waits for the reader)."""
    return subprocess.Popen(["sh", "-c", 'cat "$1" > "$2"', "sh", str(source), str(fifo)])


@pytest.fixture
def library(tmp_path, monkeypatch):
    """``lib/``: two recordings, a FIFO without an audio suffix, a FIFO named ``x.wav``, a bound unix
    socket and a broken link without an audio suffix; and ``only/``: the two recordings alone."""
    monkeypatch.chdir(tmp_path)  # the socket's path is relative: a unix socket's path is short
    lib = tmp_path / "lib"
    for name, seed in (("a.wav", 1), ("b.wav", 2)):
        write_recording(lib / name, seed)
        write_recording(tmp_path / "only" / name, seed)
    os.mkfifo(lib / "pipe")
    os.mkfifo(lib / "x.wav")
    os.symlink(tmp_path / "nowhere" / "notes.txt", lib / "notes")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("lib/sock")
    yield tmp_path
    server.close()


def test_a_folder_walk_skips_fifos_sockets_and_broken_links_without_opening_them(library):
    done = run("slice", "lib", "-o", "out", "-j", "2", *OPTIONS, cwd=library)
    assert done.returncode == 0, done.stderr
    assert ("; skipped 4 entries that are not regular files: lib/notes (broken link), lib/pipe (FIFO), "
            "lib/sock (socket), ...") in done.stderr
    assert "2 files (0 already done, 0 failed)" in done.stderr
    reference = run("slice", "only", "-o", "reference", *OPTIONS, cwd=library)
    assert reference.returncode == 0, reference.stderr
    assert "skipped" not in reference.stderr
    assert clips_of(library / "out") == clips_of(library / "reference") and len(clips_of(library / "out")) > 2
    again = run("slice", "lib", "-o", "out", *OPTIONS, cwd=library)
    assert again.returncode == 0 and "2 files (2 already done, 0 failed), wrote 0 clips" in again.stderr


def test_a_glob_pattern_skips_a_fifo_it_matches(library):
    done = run("slice", "lib/*.wav", "-o", "out", *OPTIONS, cwd=library)
    assert done.returncode == 0, done.stderr
    assert "2 files (0 already done, 0 failed)" in done.stderr
    assert "; skipped 1 entry that is not a regular file: lib/x.wav (FIFO)" in done.stderr


def test_a_broken_link_named_as_audio_is_reported_and_the_rest_sliced(library):
    os.symlink(library / "unmounted" / "c.wav", library / "lib" / "c.wav")
    done = run("slice", "lib", "-o", "out", *OPTIONS, cwd=library)
    assert done.returncode == 1
    assert f"{library}/lib/c.wav: a broken link to {library}/unmounted/c.wav (No such file or directory); restore " \
           "its target, or remove the link" in done.stderr
    assert "3 files (0 already done, 1 failed)" in done.stderr
    assert {name.split("_")[0] for name in clips_of(library / "out")} == {"a", "b"}


def test_the_python_api_counts_what_it_skipped(library):
    batch = slice_files([library / "lib"], library / "api", dict(threshold=-35, min_length=2000, min_interval=300,
                                                                 hop_size=10, max_sil_kept=500))
    assert batch.n_inputs == 2 and not batch.errors
    assert batch.n_not_files == 4
    assert batch.not_files == [(str(library / "lib" / "notes"), "broken link"), (str(library / "lib" / "pipe"), "FIFO"),
                               (str(library / "lib" / "sock"), "socket")]


def test_stats_of_a_folder_with_a_fifo_counts_its_files(library):
    done = run("stats", "lib", cwd=library)
    assert done.returncode == 0, done.stderr
    assert "clips: 2," in done.stdout, done.stdout


def test_an_input_that_is_a_socket_says_what_it_is(library):
    done = run("slice", "lib/sock", "-o", "out", *OPTIONS, cwd=library)
    assert done.returncode == 1
    assert "lib/sock: a socket, not a regular file, a FIFO or a folder" in done.stderr


def test_reading_a_fifo_by_path_is_refused_at_once(library):
    with pytest.raises(FastsliceError, match="a named pipe \\(FIFO\\), not a file"):
        readers.open_source(library / "lib" / "pipe")
    done = run("analyze", "lib/x.wav", cwd=library)
    assert done.returncode != 0 and "a named pipe (FIFO)" in done.stderr


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_a_fifo_given_as_input_is_read_as_a_stream_and_gives_the_files_clips(tmp_path, subtype):
    ext = "wav"
    source = write_recording(tmp_path / "file" / f"talk.{ext}", 7, seconds=20, subtype=subtype)
    by_file = run("slice", source, "-o", "by_file", *OPTIONS, cwd=tmp_path)
    assert by_file.returncode == 0, by_file.stderr
    fifo = tmp_path / "pipes" / f"talk.{ext}"  # named as the file: its clips are talk_0, talk_1, ...
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    writer = feed(fifo, source)
    try:
        by_fifo = run("slice", fifo, "-o", "by_fifo", *OPTIONS, cwd=tmp_path)
    finally:
        assert writer.wait(timeout=BOUND) == 0
    assert by_fifo.returncode == 0, by_fifo.stderr
    clips = clips_of(tmp_path / "by_file")
    assert len(clips) > 3 and all(name.startswith("talk_") for name in clips)
    assert clips_of(tmp_path / "by_fifo") == clips


def test_a_fifo_is_sliced_as_standard_input_is_through_ffmpeg(tmp_path):
    """A compressed stream from a FIFO (FFmpeg reads it, as it reads any stream that is not WAV) gives
    the clips the same bytes give through a pipe on standard input."""
    source = write_recording(tmp_path / "talk.ogg", 8, seconds=20, fmt="OGG", subtype="VORBIS")
    producer = subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE)
    piped = subprocess.run([sys.executable, "-m", "fastslice", "slice", "-", "-o", "by_stdin", "--stem", "talk",
                            *OPTIONS], stdin=producer.stdout, capture_output=True, text=True, cwd=tmp_path,
                           timeout=BOUND)
    producer.stdout.close()
    assert producer.wait(timeout=BOUND) == 0 and piped.returncode == 0, piped.stderr
    fifo = tmp_path / "pipes" / "talk.ogg"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    writer = feed(fifo, source)
    try:
        by_fifo = run("slice", fifo, "-o", "by_fifo", *OPTIONS, cwd=tmp_path)
    finally:
        assert writer.wait(timeout=BOUND) == 0
    assert by_fifo.returncode == 0, by_fifo.stderr
    clips = clips_of(tmp_path / "by_stdin")
    assert len(clips) > 3 and clips_of(tmp_path / "by_fifo") == clips


def test_a_fifo_sliced_again_is_refused_as_a_stream_is(tmp_path):
    source = write_recording(tmp_path / "talk.wav", 9)
    fifo = tmp_path / "pipes" / "talk.wav"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    for expected in (0, 1):
        writer = feed(fifo, source)
        try:
            done = run("slice", fifo, "-o", "out", *OPTIONS, cwd=tmp_path)
        finally:  # a refused run has opened the FIFO and closed it: its writer ends (a broken pipe)
            writer.wait(timeout=BOUND)
        assert done.returncode == expected, done.stderr
    assert "already holds clips of the stem 'talk'" in done.stderr and "give the FIFO another name" in done.stderr
