"""File to clips by format: decoding alone vs ``fastslice slice`` vs the guide's flow, per input format.

The workloads are ``conftest.py``'s cached 16-bit stereo 44.1 kHz speech-like WAVs
(``speech_wav``: one hour, or ``FASTSLICE_BENCH_SECONDS``, and one minute), and the
same samples encoded once by ``workloads.encoded`` and cached beside them: 16-bit
FLAC, Ogg Vorbis (libsndfile), MP3 (libmp3lame, 160 kbit/s) and AAC in M4A (FFmpeg's
``aac``, 160 kbit/s), both through PyAV.  All runs use the so-vits-svc guide's
parameters (-30 dB, 4000/500/5/500 ms).

Group ``file to clips by format: <fmt>`` (one per format, so that the ratios are
read within one run):

* ``test_decode_alone`` - the decoder's own loop, on one thread, two ways:
  ``plain`` with no conversion to NumPy floats (``soundfile.SoundFile.read`` of
  65536-frame blocks in the file's own sample type into one reused buffer for WAV,
  FLAC and Ogg; ``for frame in container.decode(audio=0)``, nothing done with the
  frame, for MP3 and M4A), and with conversion (float32 blocks; ``frame.to_ndarray()``
  for every frame); MP3 is also decoded the libsndfile way (``mp3-sndfile``), the
  decoder the guide's ``librosa.load`` uses;
* ``test_cli`` - ``python -m fastslice slice FILE -o OUT -q --overwrite`` as a
  subprocess, timed as a whole process (interpreter start and imports included;
  the numba cache is warmed by an untimed run on the minute first);
* ``test_cli_16_bit`` - the same for Ogg, MP3 and M4A with ``--subtype PCM_16``: 16-bit WAV clips
  instead of float, half the bytes (``x_float_clips``: its time over the float run's);
* ``test_slice_file`` - the same through ``fastslice.run.files.slice_file`` in-process;
* ``test_guide`` - ``librosa.load(sr=None, mono=False)``, upstream
  ``Slicer.slice``, ``soundfile.write`` per chunk (16-bit WAV).  librosa reads
  M4A only through audioread, which needs an ffmpeg or GStreamer install: where
  it finds none, that one benchmark is skipped, saying so.

``extra_info`` has the clip count, the decoder fastslice used, the speed relative
to real time and, where the run had them, the CLI's and slice_file's time over
the conversion-free decode loop (``x_decode_alone``; the target: at most 1.2 for
MP3, M4A and Ogg, below 1.0 for FLAC and WAV on two cores) and over the converting
one (``x_decode_converting``), and the guide's over the CLI's (``x_cli``).

A fast wrong answer must not look good, so after the timings:

* WAV, FLAC, Ogg: the CLI's clips equal the guide's ``seq_<i>.wav`` sample for
  sample (16-bit, as the guide writes them; fastslice writes Ogg's clips as
  float WAV, which is first written the guide's way), and for Ogg also the
  guide's float32 chunks bit for bit, at the same [start, end) samples;
* MP3 (fastslice decodes it with FFmpeg, the guide with libsndfile): the clips'
  [start, end) (from ``--manifest``) are the guide's and their samples are within
  1e-5 of the guide's float32 chunks;
* M4A: ``slice_file``'s clips equal, at the same [start, end) and bit for bit, the
  upstream ``Slicer``'s chunks of the whole file decoded in memory through
  ``fastslice.reading.readers.open_source``.

Group ``peak memory by format: <fmt>``: the CLI's peak RSS on the minute, the
hour and ten hours of each format, in ``extra_info["peak_rss_mb"]`` (and
``minus_1min_mb``), measured as ``test_bench_files.py`` does (from a small
launcher process).  Measured, not asserted.  The ten-hour files
(``workloads.repeated``) hold the hour's samples ten times: RF64 WAV, FLAC and
Ogg encoded from them (FLAC and Ogg take minutes, once); MP3 and M4A are the
hour's packets remuxed ten times with shifted timestamps, without re-encoding.
They are built only when ``FASTSLICE_BENCH_SECONDS`` is at least 3600 (else skipped);
``-k "not 10h"`` leaves them out by name.

Run (add ``--benchmark-json=PATH`` to keep the ``extra_info``, which the table does not show)::

    pytest benchmarks/test_bench_formats.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group

Smoke test: ``FASTSLICE_BENCH_SECONDS=30 pytest benchmarks/test_bench_formats.py --benchmark-disable``.
"""
import csv
import io
import json
import subprocess
import sys
import tempfile
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile

from fastslice.run.files import slice_file
from fastslice.reading.readers import open_source
from test_bench_files import (FAST_ROUNDS, PARAMS, REFERENCE_ROUNDS, _PEAK_RSS, assert_same_clip_files,
                              assert_same_clips, cli, fresh_folders, record, reference_flow)
from workloads import ENCODINGS, SECONDS, encoded, repeated

READ_BLOCK = 65536  # frames per read in the decode-alone loop
MP3_ATOL = 1e-5  # MP3 clips vs the guide's chunks (FFmpeg and libsndfile's mpg123 decode it slightly differently)
# The guide reads AAC through audioread, which has FFmpeg's command line print 16-bit samples: its chunks
# are fastslice's float decode rounded to 16 bits, up to half a step (2**-16) apart.
M4A_ATOL = 2.0 ** -16 + 1e-7

# (format, decoder): what decode-alone runs, and (format, --decoder) for the CLI and slice_file.
DECODE_CASES = [("wav", "sndfile"), ("flac", "sndfile"), ("ogg", "sndfile"), ("mp3", "av"), ("mp3", "sndfile"), ("m4a", "av"),
                ("wav", "sndfile-plain"), ("flac", "sndfile-plain"), ("ogg", "sndfile-plain"), ("mp3", "av-plain"),
                ("m4a", "av-plain")]
RUN_CASES = [("wav", "auto"), ("flac", "auto"), ("ogg", "auto"), ("mp3", "auto"), ("m4a", "auto")]
FORMATS = list(ENCODINGS)
LENGTHS = {"1min": 60, "1h": 3600, "10h": 36000}


def run_id(case):
    fmt, decoder = case
    return fmt if decoder == "auto" else f"{fmt}-decoder-{decoder}"


def group(fmt):
    return f"file to clips by format: {fmt}"


_medians = {}  # (test, case) -> median seconds, for the ratios in extra_info
_peaks = {}  # (case, length) -> MiB
_warm = set()


@pytest.fixture(scope="session")
def sources(speech_wav):
    """``sources(fmt, length)``: the cached file of that format, for length ``1min``, ``1h`` or ``10h``."""

    def get(fmt, length="1h"):
        if length == "10h":
            if SECONDS < 3600:
                pytest.skip(f"FASTSLICE_BENCH_SECONDS={SECONDS:g} caps the workloads below one hour: no ten-hour files")
            return repeated(speech_wav(3600), fmt, 10)
        return encoded(speech_wav(LENGTHS[length]), fmt)

    get.seconds = lambda length="1h": soundfile.info(speech_wav(3600 if length == "10h" else LENGTHS[length])).duration * (
        10 if length == "10h" else 1)
    return get


@pytest.fixture
def tmp_path():
    """A fresh folder for clips, removed after the test (ten hours of clips are up to 13 GB).

    Not pytest's: a session of this module takes 20 minutes, and every pytest session started
    meanwhile by the same user keeps only the three newest of pytest's base folders.
    """
    with tempfile.TemporaryDirectory(prefix="fastslice-bench-formats-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def warm(sources):
    """``warm(fmt, decoder)``: one untimed CLI run on the minute, once a session (numba cache, page cache)."""

    def run(fmt, decoder="auto"):
        if (fmt, decoder) not in _warm:
            with tempfile.TemporaryDirectory(prefix="fastslice-bench-formats-warm-") as folder:
                run_cli(sources(fmt, "1min"), folder, decoder)
            _warm.add((fmt, decoder))

    return run


def cli_args(path, out, decoder="auto", *more):
    return [*cli(path, out), *(["--decoder", decoder] if decoder != "auto" else []), *more]


def run_cli(path, out, decoder="auto", *more):
    subprocess.run(cli_args(path, out, decoder, *more), check=True)


def peak_rss_mb(path, out, decoder="auto"):
    """Run the CLI on ``path`` from the small launcher of test_bench_files.py; its peak RSS in MiB."""
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS, *cli_args(path, out, decoder)], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"fastslice slice {path} exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return int(done.stdout.split()[-1]) / 1024


def decode_sndfile(path):
    """The plainest libsndfile loop: float32 blocks until the end; returns the frames decoded."""
    frames = 0
    with soundfile.SoundFile(path) as f:
        while True:
            block = f.read(READ_BLOCK, dtype="float32")
            if not len(block):
                return frames
            frames += len(block)


def decode_sndfile_plain(path):
    """libsndfile's loop with no conversion: blocks in the file's own sample type (16-bit: int16) into one
    reused buffer; returns the frames decoded."""
    frames = 0
    with soundfile.SoundFile(path) as f:
        dtype = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32"}.get(f.subtype, "float32")
        buffer = np.empty((READ_BLOCK, f.channels), dtype)
        while True:
            block = f.read(READ_BLOCK, dtype=dtype, out=buffer)
            if not len(block):
                return frames
            frames += len(block)


def decode_av_plain(path):
    """PyAV's loop with no conversion: every frame of the first audio stream decoded, nothing done with it."""
    import av

    frames = 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            frames += frame.samples
    return frames


def decode_av(path):
    """The plainest PyAV loop: every frame of the first audio stream as an array; returns the frames decoded."""
    import av

    frames = 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            frame.to_ndarray()
            frames += frame.samples
    return frames


DECODERS_ALONE = {"sndfile": decode_sndfile, "av": decode_av, "sndfile-plain": decode_sndfile_plain,
                  "av-plain": decode_av_plain}


def used_decoder(out, path):
    """The decoder a finished run on ``path`` into ``out`` used, as its marker (``.<stem>.fastslice.json``) records it."""
    marker = Path(out) / f".{Path(path).stem}.fastslice.json"
    return json.loads(marker.read_text())["decoder"] if marker.exists() else None


def ratio(benchmark, key, over, name):
    if benchmark.stats and over in _medians:
        _medians[key] = benchmark.stats.stats.median
        benchmark.extra_info[name] = round(_medians[key] / _medians[over], 3)
    elif benchmark.stats:
        _medians[key] = benchmark.stats.stats.median


def decode_ratios(benchmark, key, fmt, used):
    """``x_decode_alone`` (over the conversion-free loop of the decoder used) and ``x_decode_converting``."""
    ratio(benchmark, key, ("decode", fmt, f"{used}-plain"), "x_decode_alone")
    ratio(benchmark, key, ("decode", fmt, used), "x_decode_converting")


# -- timings ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DECODE_CASES, ids=lambda case: "-".join(case))
def test_decode_alone(benchmark, case, sources):
    fmt, decoder = case
    benchmark.group = group(fmt)
    decode = DECODERS_ALONE[decoder]
    path = sources(fmt)
    decode(sources(fmt, "1min"))  # imports, outside the timing
    frames = benchmark.pedantic(decode, args=(path,), rounds=FAST_ROUNDS, iterations=1)
    record(benchmark, types.SimpleNamespace(seconds=sources.seconds()), decoder=decoder, decoded_frames=frames,
           encoding=ENCODINGS[fmt], file_mb=round(path.stat().st_size / 1e6, 1))
    assert frames >= 0.99 * sources.seconds() * 44100
    if benchmark.stats:
        _medians[("decode", fmt, decoder)] = benchmark.stats.stats.median


@pytest.mark.parametrize("case", RUN_CASES, ids=run_id)
def test_cli(benchmark, case, sources, warm, tmp_path):
    fmt, decoder = case
    benchmark.group = group(fmt)
    path = sources(fmt)
    warm(fmt, decoder)
    setup, rounds = fresh_folders(tmp_path, "out")
    benchmark.pedantic(lambda out: run_cli(path, out, decoder), setup=setup, rounds=FAST_ROUNDS, iterations=1)
    used = used_decoder(rounds[-1], path)
    record(benchmark, types.SimpleNamespace(seconds=sources.seconds()), decoder=used,
           n_clips=len(list(rounds[-1].glob(f"{path.stem}_*.*"))))
    decode_ratios(benchmark, ("cli", fmt, decoder), fmt, used)


@pytest.mark.parametrize("fmt", ["ogg", "mp3", "m4a"])
def test_cli_16_bit(benchmark, fmt, sources, warm, tmp_path):
    """The lossy formats' clips as 16-bit WAV (``--subtype PCM_16``) instead of float: half the bytes."""
    benchmark.group = group(fmt)
    path = sources(fmt)
    warm(fmt)
    setup, rounds = fresh_folders(tmp_path, "out")
    benchmark.pedantic(lambda out: run_cli(path, out, "auto", "--subtype", "PCM_16"), setup=setup, rounds=FAST_ROUNDS,
                       iterations=1)
    clips = list(rounds[-1].glob(f"{path.stem}_*.wav"))
    assert clips and soundfile.info(clips[0]).subtype == "PCM_16"
    record(benchmark, types.SimpleNamespace(seconds=sources.seconds()), n_clips=len(clips),
           clip_mb=round(sum(c.stat().st_size for c in clips) / 1e6, 1))
    used = used_decoder(rounds[-1], path)
    decode_ratios(benchmark, ("cli-16-bit", fmt), fmt, used)
    ratio(benchmark, ("cli-16-bit", fmt), ("cli", fmt, "auto"), "x_float_clips")


@pytest.mark.parametrize("case", RUN_CASES, ids=run_id)
def test_slice_file(benchmark, case, sources, upstream, tmp_path):
    fmt, decoder = case
    benchmark.group = group(fmt)
    path = sources(fmt)
    slice_file(sources(fmt, "1min"), tmp_path / "warm", PARAMS, overwrite=True, decoder=decoder)  # kernels, imports
    setup, rounds = fresh_folders(tmp_path, "clips")
    result = benchmark.pedantic(lambda out: slice_file(path, out, PARAMS, decoder=decoder), setup=setup,
                                rounds=FAST_ROUNDS, iterations=1)
    used = used_decoder(rounds[-1], path)
    record(benchmark, types.SimpleNamespace(seconds=sources.seconds()), decoder=used, n_clips=len(result.clips))
    decode_ratios(benchmark, ("slice_file", fmt, decoder), fmt, used)

    if fmt == "m4a":  # the guide cannot read it here: check against a whole decode sliced in memory instead
        audio = whole_decode(path)
        chunks, ranges = upstream_chunks(audio, result.clips[0].source_rate, upstream)
        del audio
        clips = [(c.clip, c.start_sample, c.end_sample) for c in result.clips]
        assert_clips_match(clips, chunks, ranges, atol=0.0, what="the upstream Slicer on the whole PyAV decode")


@pytest.mark.parametrize("fmt", FORMATS)
def test_guide(benchmark, fmt, sources, upstream, tmp_path):
    benchmark.group = group(fmt)
    path = sources(fmt)
    warm_dir = tmp_path / "warm"
    warm_dir.mkdir()
    if fmt == "m4a":
        skip_unless_librosa_reads(sources(fmt, "1min"))
    reference_flow(sources(fmt, "1min"), warm_dir, upstream)  # librosa's lazy imports, outside the timing
    setup, rounds = fresh_folders(tmp_path, "guide", make=True)
    n = benchmark.pedantic(lambda out: reference_flow(path, out, upstream), setup=setup, rounds=REFERENCE_ROUNDS,
                           iterations=1)
    guide_dir = rounds[-1]
    record(benchmark, types.SimpleNamespace(seconds=sources.seconds()), n_clips=n)
    ratio(benchmark, ("guide", fmt), ("cli", fmt, "auto"), "x_cli")

    # A fast wrong answer must not look good: fastslice's clips against the guide's.
    if fmt == "wav":
        fast_dir = tmp_path / "fastslice"
        run_cli(path, fast_dir)
        assert_same_clips(fast_dir, path.stem, guide_dir)
        return
    if fmt == "flac":
        fast_dir = tmp_path / "fastslice"
        run_cli(path, fast_dir)
        assert_same_clip_files(sorted_clips(fast_dir, path.stem, "flac"), guide_dir, read=as_the_guide_writes)
        return
    audio, sr = load_as_the_guide(path)
    chunks, ranges = upstream_chunks(audio, sr, upstream)
    assert len(chunks) == n
    fast_dir = tmp_path / "fastslice"
    run_cli(path, fast_dir, "auto", "--manifest", str(fast_dir / "manifest.csv"))
    with open(fast_dir / "manifest.csv", newline="") as f:
        # manifest paths are relative to the manifest's folder
        clips = [(str(fast_dir / row["clip"]), int(row["start_sample"]), int(row["end_sample"])) for row in csv.DictReader(f)]
    if fmt == "ogg":  # the same decoder (libsndfile): bit for bit, and 16-bit files equal once written the guide's way
        assert_clips_match(clips, chunks, ranges, atol=0.0, what="the guide's chunks")
        assert_same_clip_files([c[0] for c in clips], guide_dir, read=as_the_guide_writes)
    else:
        used = used_decoder(fast_dir, path)
        benchmark.extra_info.update(fastslice_decoder=used, max_abs_diff=assert_clips_match(
            clips, chunks, ranges, atol=M4A_ATOL if fmt == "m4a" else MP3_ATOL, what=f"the guide's chunks (fastslice decoding with {used})"))


# -- peak memory --------------------------------------------------------------------------


@pytest.mark.parametrize("length", list(LENGTHS))
@pytest.mark.parametrize("case", RUN_CASES, ids=run_id)
def test_peak_rss(benchmark, case, length, sources, warm, tmp_path):
    fmt, decoder = case
    benchmark.group = f"peak memory by format: {fmt}"
    path = sources(fmt, length)
    warm(fmt, decoder)  # measure running, not compiling
    peak = benchmark.pedantic(peak_rss_mb, args=(path, tmp_path, decoder), rounds=1, iterations=1)
    _peaks[(case, length)] = peak
    benchmark.extra_info.update(audio_seconds=sources.seconds(length), peak_rss_mb=round(peak, 1),
                                decoder=used_decoder(tmp_path, path), file_mb=round(path.stat().st_size / 1e6, 1),
                                n_clips=len(list(tmp_path.glob(f"{path.stem}_*.*"))))
    if length != "1min":
        minute = _peaks.get((case, "1min")) or peak_rss_mb(sources(fmt, "1min"), tmp_path / "minute", decoder)
        benchmark.extra_info["minus_1min_mb"] = round(peak - minute, 1)


# -- helpers ------------------------------------------------------------------------------


def skip_unless_librosa_reads(path):
    """Skip (saying why) when librosa cannot load ``path``: M4A goes to audioread, which needs ffmpeg or GStreamer."""
    import audioread
    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "PySoundFile failed. Trying audioread instead." and its deprecation
            librosa.load(path, sr=None, mono=False)
    except audioread.exceptions.NoBackendError:
        pytest.skip(f"the guide's flow cannot read {path.suffix}: libsndfile does not open it, so librosa.load falls "
                    "back to audioread, which finds no backend here (no ffmpeg / GStreamer installed): NoBackendError")


def load_as_the_guide(path):
    import librosa

    return librosa.load(path, sr=None, mono=False)


def whole_decode(path):
    """``path`` decoded to the end through ``fastslice.reading.readers.open_source``: (channels, n) float32, F order."""
    parts = []
    with open_source(path) as source:
        while True:
            block = source.read(READ_BLOCK)
            if not len(block):
                break
            parts.append(np.array(block, dtype=np.float32))  # a copy: the source reuses its buffer
    audio = np.concatenate(parts)
    del parts
    return audio.T


def upstream_chunks(audio, sr, upstream):
    """The upstream Slicer's chunks of ``audio`` (channels, n) and their [start, end) sample offsets in it."""
    chunks = upstream.Slicer(sr=sr, **PARAMS).slice(audio)
    ranges = []
    for chunk in chunks:  # each chunk is a view of audio[:, start:end]
        assert np.shares_memory(chunk, audio)
        start = (chunk.__array_interface__["data"][0] - audio.__array_interface__["data"][0]) // audio.strides[-1]
        ranges.append((int(start), int(start) + chunk.shape[-1]))
    return chunks, ranges


def sorted_clips(folder, stem, ext):
    return [folder / f"{stem}_{i}.{ext}" for i in range(len(list(folder.glob(f"{stem}_*.{ext}"))))]


def assert_clips_match(clips, chunks, ranges, atol, what):
    """``clips`` ((path, start, end) in order) are ``chunks`` at ``ranges``, samples within ``atol``; the largest difference."""
    got = [(start, end) for _, start, end in clips]
    if got != ranges:
        k = next((k for k, (a, b) in enumerate(zip(got, ranges)) if a != b), min(len(got), len(ranges)))
        pytest.fail(f"fastslice has {len(got)} clips, {what} {len(ranges)}; the first difference is clip {k}: "
                    f"fastslice {got[k] if k < len(got) else None}, reference {ranges[k] if k < len(ranges) else None} "
                    "([start, end) samples)")
    assert len(got) > 1
    worst = 0.0
    for k, ((path, _, _), chunk) in enumerate(zip(clips, chunks)):
        fast = soundfile.read(path, dtype="float32", always_2d=True)[0]
        ref = chunk.T if chunk.ndim > 1 else chunk[:, None]
        assert fast.shape == ref.shape, f"clip {k}: fastslice {fast.shape}, {what} {ref.shape} (frames, channels)"
        diff = np.abs(fast - ref)
        worst = max(worst, float(diff.max()))
        if not diff.max() <= atol:
            frame, channel = np.unravel_index(np.argmax(diff), diff.shape)
            pytest.fail(f"clip {k}: max difference {diff.max():.3g} > {atol:g} at frame {frame}, channel {channel}: "
                        f"fastslice {fast[frame, channel]!r}, {what} {ref[frame, channel]!r}")
    return worst


def as_the_guide_writes(path):
    """A clip's samples as int16, as the guide's ``soundfile.write`` (16-bit WAV) stores them."""
    info = soundfile.info(path)
    if info.subtype == "PCM_16":
        return soundfile.read(path, dtype="int16", always_2d=True)[0]
    buffer = io.BytesIO()
    soundfile.write(buffer, soundfile.read(path, dtype="float32", always_2d=True)[0], info.samplerate, format="WAV")
    buffer.seek(0)
    return soundfile.read(buffer, dtype="int16", always_2d=True)[0]
