"""One file, several threads: clips written while reading goes on give the same bytes, and a slow
or failing writer stops the whole file cleanly.

The files are real (libsndfile's WAV, FLAC and Ogg; FFmpeg's MP3 and M4A through PyAV), and so
are the threads; only ``writing.write_clip`` is wrapped, around the real one, to be slow or to fail.
"""
import dataclasses
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile

import avfiles
import signals
from fastslice import FastsliceError, ParameterError, Slicer
from fastslice.run import files
from fastslice.reading import readers
from fastslice.writing import wavcopy
from fastslice.writing import writers as writing
from fastslice.cutting import slicer as slicer_module
from fastslice.run.files import slice_file

SR = 44100
PARAMS = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)
KINDS = ["wav", "aiff", "flac", "ogg", "mp3", "m4a"]


def recording(seed, seconds, channels=2):
    return signals.with_digital_silence(signals.speech_like(seed, seconds, SR, channels=channels), seed, SR)


@pytest.fixture(scope="module")
def every_format(tmp_path_factory):
    """Forty seconds of stereo speech-like audio in each format: {kind: path}."""
    folder = tmp_path_factory.mktemp("formats")
    x = recording(21, 40)
    made = {}
    for kind, subtype in [("wav", "PCM_16"), ("aiff", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS")]:
        made[kind] = folder / f"talk.{kind}"
        soundfile.write(made[kind], x.T, SR, subtype=subtype)
    made["mp3"] = avfiles.encode(folder / "talk.mp3", [("libmp3lame", x, SR)])
    made["m4a"] = avfiles.encode(folder / "talk.m4a", [("aac", x, SR)])
    return made


def written(folder):
    """{name: bytes} of every file in folder (hidden ones included: the marker)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def writer_threads():
    """The clip writer's thread and the encoders' (FLAC clips on several threads) still running."""
    return [t for t in threading.enumerate() if t.name == "fastslice-clip-writer" or t.name.startswith("fastslice-encoder")]


@pytest.mark.parametrize("kind", KINDS)
def test_threads_1_to_8_write_the_same_bytes_on_every_format(tmp_path, every_format, kind, monkeypatch):
    path = every_format[kind]
    one = slice_file(path, tmp_path / "1", PARAMS, threads=1)
    assert len(one.clips) > 3
    expected = written(tmp_path / "1")
    for threads in range(2, 9):
        result = slice_file(path, tmp_path / str(threads), PARAMS, threads=threads)
        assert result.clips == [dataclasses.replace(c, clip=c.clip.replace(f"{tmp_path / '1'}", f"{tmp_path / str(threads)}"))
                                for c in one.clips]
        got = written(tmp_path / str(threads))
        assert got.keys() == expected.keys()
        differ = [name for name in expected if not name.startswith(".") and got[name] != expected[name]]
        assert differ == [], f"{kind}, threads={threads}: these clips differ from one thread's: {differ}"
    # The decode of every format, in memory, framed by 1..8 threads (each may take a single frame).
    with readers.open_source(path) as source:
        decoded = readers.as_float32(source.read(source.frames or 60 * SR)).T
    monkeypatch.setattr(slicer_module, "_MIN_WORK_PER_THREAD", 1)
    expected_ranges = Slicer(SR, **PARAMS, threads=1).slice_ranges(decoded)
    assert expected_ranges.tolist() == [[c.start_sample, c.end_sample] for c in one.clips]
    for threads in range(2, 9):
        assert np.array_equal(Slicer(SR, **PARAMS, threads=threads).slice_ranges(decoded), expected_ranges)


def test_the_command_lines_threads_option(tmp_path, every_format):
    def run(*extra):
        return subprocess.run([sys.executable, "-m", "fastslice", "slice", str(every_format["flac"]), "-q",
                               "--threshold", "-35", "--min-length", "2000", "--min-interval", "300",
                               "--hop-size", "10", "--max-sil-kept", "500", *extra], capture_output=True, text=True)

    for threads in ("1", "3"):
        done = run("-o", tmp_path / threads, "--threads", threads)
        assert done.returncode == 0, done.stderr
    one, three = written(tmp_path / "1"), written(tmp_path / "3")
    assert one.keys() == three.keys() and len(one) > 4
    assert [name for name in one if not name.startswith(".") and one[name] != three[name]] == []
    bad = run("-o", tmp_path / "0", "--threads", "0")
    assert bad.returncode == 2 and "--threads must be a whole number >= 1" in bad.stderr


@pytest.mark.parametrize("threads", [0, -2, 1.5, True, "2"])
def test_slice_file_refuses_a_bad_number_of_threads(tmp_path, every_format, threads):
    with pytest.raises(ParameterError, match=r"threads=.* must be a whole number >= 1"):
        slice_file(every_format["wav"], tmp_path, PARAMS, threads=threads)


def clip_writes(monkeypatch, on_clip=None, on_block=None):
    """Wrap the real clip writers: ``on_clip(k)`` before clip k, ``on_block(k)`` before each of its
    blocks.  Clips of a 16-bit WAV are copied by the kernel (``wavcopy.WavCopy``), here in steps of 1024
    frames, each a block; others are written from blocks of samples (``write_clip``)."""
    calls, current = [], threading.local()
    real_write, real_copy, real_range = writing.write_clip, wavcopy.WavCopy.copy_frames, wavcopy.copy_range

    def started(final):
        current.k = len(calls)
        calls.append(final)
        if on_clip is not None:
            on_clip(current.k)

    def write_clip(blocks, *args):
        started(args[-1])  # the clip's name (args[0] is where it is written first)

        def watched():
            for block in blocks:
                if on_block is not None:
                    on_block(current.k)
                yield block

        return real_write(watched(), *args)

    def copy_clip(self, start, end, temporary, source, final, stopping):
        started(final)
        return real_copy(self, start, end, temporary, source, final, stopping)

    def copy_range(*args):
        if on_block is not None:
            on_block(current.k)
        return real_range(*args)

    monkeypatch.setattr(writing, "write_clip", write_clip)
    monkeypatch.setattr(wavcopy.WavCopy, "copy_frames", copy_clip)
    monkeypatch.setattr(wavcopy.WavCopy, "STEP", 1024 * 4)
    monkeypatch.setattr(wavcopy, "copy_range", copy_range)
    return calls


def counted_reads(monkeypatch, before_read):
    """Count the first reader's reads (the decoding); ``before_read(n)`` runs before read n."""
    original, counts = readers.open_source, []

    def counting(*args, **kwargs):
        source = original(*args, **kwargs)
        if counts:  # a second reader: the writer's, reading a WAV's clips again
            return source
        counts.append(0)
        read = source.read

        def counted(frames):
            counts[0] += 1
            before_read(counts[0])
            return read(frames)

        source.read = counted
        return source

    monkeypatch.setattr(readers, "open_source", counting)
    return counts


# A WAV's clips are copied by the kernel; an AIFF's read again by the writer; a FLAC's handed over.
@pytest.mark.parametrize("kind", ["wav", "aiff", "flac"])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_failing_writer_stops_the_reading_and_leaves_nothing(tmp_path, every_format, monkeypatch, kind, threads):
    blocks = -(-soundfile.info(every_format[kind]).frames // 4096)
    failed = threading.Event()

    def fail_in_second(k):  # as a full disk would, inside the real write_clip
        if k == 1:
            failed.set()
            raise OSError(28, "No space left on device")

    calls = clip_writes(monkeypatch, on_block=fail_in_second)
    # Once the writer has begun its second clip, each read waits until it has failed: the decoding
    # thread must then stop at the next clip it hands over, long before the end of the file.
    reads = counted_reads(monkeypatch, lambda n: failed.wait(60) if len(calls) > 1 else None)
    with pytest.raises(FastsliceError, match=rf"talk.{kind}: cannot write clip .*talk_1.{kind} \(No space left on device\)"):
        slice_file(every_format[kind], tmp_path / "out", PARAMS, threads=threads, block_frames=4096)
    assert reads[0] < blocks * 3 // 4, (reads, blocks)
    assert list((tmp_path / "out").iterdir()) == []  # no clip, no temporary file, no marker
    assert writer_threads() == []


@pytest.mark.parametrize("kind", ["wav", "aiff", "flac"])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_slow_writer_is_stopped_cleanly_when_the_reading_fails(tmp_path, every_format, monkeypatch, kind, threads):
    # A writer held in the middle of its second clip (on a thread of its own, it waits there until
    # the reading has failed: no sleep, no race), and a decoder error at the first read after the
    # writer began that clip.  FLAC clips on two threads are encoded two at a time (``_Encoders``,
    # at most threads + 1 clips in hand): the decoding may be waiting for clip 0 to finish when
    # clip 1 begins, and then hands over one more clip before that read, so up to threads + 2 have begun.
    in_second_clip, read_failed = threading.Event(), threading.Event()

    def hold_the_second_clip(k):
        if k == 1:
            in_second_clip.set()
            if threading.current_thread().name.startswith("fastslice-"):  # a writer's thread
                assert read_failed.wait(60)

    calls = clip_writes(monkeypatch, on_block=hold_the_second_clip)

    def fail_once_writing(n):
        if len(calls) > 1 and in_second_clip.wait(60):
            read_failed.set()
            raise FastsliceError(f"{every_format[kind]}: read failed at read {n} (a test's decoder error)")

    counted_reads(monkeypatch, fail_once_writing)
    with pytest.raises(FastsliceError, match="a test's decoder error"):
        slice_file(every_format[kind], tmp_path / "out", PARAMS, threads=threads, block_frames=1024)
    encoders = threads if kind == "flac" and threads > 1 else 0
    assert 2 <= len(calls) <= max(2, encoders + 2), calls
    assert list((tmp_path / "out").iterdir()) == []  # the clip being written and the finished one: gone
    assert writer_threads() == []
    monkeypatch.undo()
    result = slice_file(every_format[kind], tmp_path / "out", PARAMS, threads=threads)  # a re-run is whole
    assert len(result.clips) > 3 and not result.skipped


def test_one_thread_per_file_under_a_pool_and_one_per_cpu_alone(tmp_path, every_format, monkeypatch):
    import concurrent.futures

    from fastslice.batch import slice_files

    seen = []
    real = files.slice_file
    monkeypatch.setattr(files, "slice_file", lambda *a, **k: seen.append(a[2].threads) or real(*a, **k))
    other = tmp_path / "other.flac"
    other.write_bytes(every_format["flac"].read_bytes())
    inputs = [str(every_format["wav"]), str(other)]
    assert not slice_files(inputs, tmp_path / "alone", PARAMS).errors
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # any executor: Dask's, a process pool
        assert not slice_files(inputs, tmp_path / "pooled", PARAMS, executor=pool).errors
        assert not slice_files(inputs, tmp_path / "asked", PARAMS, executor=pool, threads=3, overwrite=True).errors
    assert seen == [None, None, 1, 1, 3, 3]
