"""Seeded speech-like workloads for the benchmarks (imported by conftest.py and the benchmark files).

``FASTSLICE_BENCH_SECONDS`` (default 3600) caps every workload's length in seconds.
"""
import os
import tempfile
from pathlib import Path

import numpy as np

SR = 44100
SECONDS = float(os.environ.get("FASTSLICE_BENCH_SECONDS", "3600"))

BLOCK = 256  # envelope resolution in samples (5.8 ms; deliberately not a multiple of any hop)
BANK = 1 << 21  # noise samples drawn per channel (47 s), laid down at random circular shifts
FLOOR_DB = -50.0


def speech_like(seconds, sr=SR, channels=2, seed=0):
    """Deterministic speech-like audio: float32, channels-first ``(channels, n)``, Fortran-ordered.

    Voiced bursts of 0.3-6 s (white noise at -32..-18 dB RMS, 3-6 Hz syllable
    modulation, 30 ms ramps, a random level per channel) alternate with pauses
    of 0.05-1.5 s, all over a -50 dB noise floor.  Vectorized: 1-3 s per hour.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    n_blocks = -(-n // BLOCK)
    block_s = BLOCK / sr

    # Segments alternate burst, pause, burst, ...; enough of them to cover n samples.
    n_pairs = int(seconds / 0.35) + 2
    bursts = rng.uniform(0.3, 6.0, n_pairs)
    pauses = rng.uniform(0.05, 1.5, n_pairs)
    lengths = np.maximum(1, np.rint(np.stack([bursts, pauses], 1).ravel() / block_s)).astype(np.int64)
    voiced = np.tile([1.0, 0.0], n_pairs)
    level = np.repeat(10 ** (rng.uniform(-32.0, -18.0, n_pairs) / 20), 2)
    rate = np.repeat(rng.uniform(3.0, 6.0, n_pairs), 2)
    pan = rng.uniform(0.6, 1.0, (2 * n_pairs, channels))

    # Per-block gain (n_blocks, channels).
    seg = np.repeat(np.arange(2 * n_pairs), lengths)[:n_blocks]
    t = (np.arange(n_blocks) - (np.cumsum(lengths) - lengths)[seg]) * block_s  # time into the segment
    ramp = np.minimum(1.0, np.minimum(t, lengths[seg] * block_s - t) / 0.03)
    syllables = 0.25 + 0.75 * np.sin(np.pi * rate[seg] * t) ** 2
    envelope = voiced[seg] * level[seg] * ramp * syllables
    gain = (10 ** (FLOOR_DB / 20) + envelope[:, None] * pan[seg]).astype(np.float32)

    # Unit-RMS Gaussian noise, from a bank copied at random shifts (drawing 2x159M normals takes ~5 s).
    bank = rng.standard_normal((BANK, channels), dtype=np.float32)
    bank = np.concatenate([bank, bank])
    out = np.empty((n_blocks * BLOCK, channels), dtype=np.float32)
    for start in range(0, len(out), BANK):
        shift = rng.integers(BANK)
        out[start:start + BANK] = bank[shift:shift + min(BANK, len(out) - start)]
    out.reshape(n_blocks, BLOCK, channels)[...] *= gain[:, None, :]
    return out[:n].T  # (channels, n), F-contiguous: the layout librosa.load(mono=False) returns


def capped(seconds):
    """A workload's length: its nominal length, capped by FASTSLICE_BENCH_SECONDS."""
    return min(float(seconds), SECONDS)


def label(seconds):
    """``1min``, ``10min``, ``1h``, or the capped length in seconds."""
    seconds = capped(seconds)
    return {60.0: "1min", 600.0: "10min", 3600.0: "1h"}.get(seconds, f"{seconds:g}s")


WORKLOAD_DIR = Path(tempfile.gettempdir()) / "fastslice-bench-workloads"


def wav_folder(name, n_files, seconds, first_seed):
    """A folder of ``n_files`` 16-bit stereo WAVs (file i has seed first_seed + i), cached across sessions."""
    import shutil

    import soundfile

    folder = WORKLOAD_DIR / f"{name}_{n_files}x{seconds:g}s_v1"
    if not folder.exists():
        partial = folder.with_name(f".{folder.name}.{os.getpid()}.part")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for i in range(n_files):
            wave = speech_like(seconds, seed=first_seed + i)
            soundfile.write(partial / f"{name}_{i:03d}.wav", wave.T, SR, subtype="PCM_16")
        os.replace(partial, folder)
    return folder


# -- the same audio in other formats (test_bench_formats.py) -------------------------------

#: extension -> what the encoded copies are; all are made from a cached 16-bit WAV, read in blocks.
ENCODINGS = {
    "wav": "16-bit PCM WAV (the source itself)",
    "flac": "16-bit FLAC (libsndfile)",
    "ogg": "Ogg Vorbis (libsndfile, default quality)",
    "mp3": "MP3, libmp3lame 160 kbit/s CBR (PyAV)",
    "m4a": "AAC-LC in M4A, FFmpeg's aac 160 kbit/s (PyAV)",
}
ENCODE_BLOCK = 65536  # frames per write: libsndfile segfaults writing a long Ogg Vorbis in one call
BIT_RATE = 160_000


def _cached(path, build):
    """``path``, made by ``build(partial_path)`` under a temporary name and renamed, unless it exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            build(partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return path


def _int16_blocks(wav, times=1):
    """The 16-bit WAV's samples as (frames, channels) int16 blocks, ``times`` times over."""
    import soundfile

    for _ in range(times):
        with soundfile.SoundFile(wav) as f:
            while True:
                block = f.read(ENCODE_BLOCK, dtype="int16", always_2d=True)
                if not len(block):
                    break
                yield block


def _sndfile_encode(wav, partial, format, subtype, times=1):
    import soundfile

    info = soundfile.info(wav)
    with soundfile.SoundFile(partial, "w", info.samplerate, info.channels, subtype, format=format) as out:
        for block in _int16_blocks(wav, times):
            out.write(block)


def _av_encode(wav, partial, ext):
    """MP3 (libmp3lame takes s32p planes) or AAC in M4A (fltp planes), from the WAV's int16 samples."""
    from fractions import Fraction

    import av
    import soundfile

    info = soundfile.info(wav)
    codec, sample_format, container = {"mp3": ("libmp3lame", "s32p", "mp3"), "m4a": ("aac", "fltp", "ipod")}[ext]
    layout = {1: "mono", 2: "stereo"}[info.channels]
    with av.open(str(partial), "w", format=container) as out:
        stream = out.add_stream(codec, rate=info.samplerate, layout=layout)
        stream.bit_rate = BIT_RATE
        position = 0
        for block in _int16_blocks(wav):
            if sample_format == "s32p":
                planes = np.left_shift(block.T.astype(np.int32), 16)  # int16 exactly, as 32-bit
            else:
                planes = block.T * np.float32(2.0 ** -15)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format=sample_format, layout=layout)
            frame.sample_rate, frame.time_base, frame.pts = info.samplerate, Fraction(1, info.samplerate), position
            position += len(block)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def encoded(wav, ext):
    """The 16-bit WAV ``wav`` encoded as ``ext`` (a key of ENCODINGS), cached next to it."""
    if ext == "wav":
        return Path(wav)
    path = Path(wav).with_name(f"{Path(wav).stem}_{ext}_v1.{ext}")
    if ext == "flac":
        return _cached(path, lambda partial: _sndfile_encode(wav, partial, "FLAC", "PCM_16"))
    if ext == "ogg":
        return _cached(path, lambda partial: _sndfile_encode(wav, partial, "OGG", "VORBIS"))
    return _cached(path, lambda partial: _av_encode(wav, partial, ext))


def _remux(source, partial, ext, times):
    """``source``'s packets ``times`` times over, the pts shifted, without decoding (MP3, M4A)."""
    import av

    container = {"mp3": "mp3", "m4a": "ipod"}[ext]
    with av.open(str(source)) as first:
        packets = [p for p in first.demux(first.streams.audio[0]) if p.pts is not None]
        span = packets[-1].pts + packets[-1].duration - packets[0].pts
    with av.open(str(partial), "w", format=container) as out:
        with av.open(str(source)) as inp:
            template = inp.streams.audio[0]
            stream = out.add_stream_from_template(template)
            for k in range(times):
                inp.seek(0)
                for packet in inp.demux(template):
                    if packet.pts is None:  # the demuxer's flush packet
                        continue
                    packet.pts += k * span
                    packet.dts += k * span
                    packet.stream = stream
                    out.mux(packet)


def repeated(wav, ext, times=10):
    """The 16-bit WAV's samples ``times`` times over as ``ext``, cached: a long file made cheaply.

    WAV is written as RF64 (a RIFF WAV stops at 4 GiB); FLAC and Ogg are encoded from the
    repeated samples; MP3 and M4A are the encoded file's packets remuxed ``times`` times with
    shifted timestamps (no re-encoding: each copy keeps its encoder delay, a few ms).
    """
    path = Path(wav).with_name(f"{Path(wav).stem}_x{times}_v1.{ext}")
    if ext == "wav":
        return _cached(path, lambda partial: _sndfile_encode(wav, partial, "RF64", "PCM_16", times))
    if ext == "flac":
        return _cached(path, lambda partial: _sndfile_encode(wav, partial, "FLAC", "PCM_16", times))
    if ext == "ogg":
        return _cached(path, lambda partial: _sndfile_encode(wav, partial, "OGG", "VORBIS", times))
    return _cached(path, lambda partial: _remux(encoded(wav, ext), partial, ext, times))


# -- an hour of real speech (test_bench_cues.py) ---------------------------------------------------

SPOKEN_RATE = 22050  # espeak-ng's
_SPOKEN_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood?",
    "Peter Piper picked a peck of pickled peppers.", "A journey of a thousand miles begins with a single step.",
    "All that glitters is not gold.", "The early bird catches the worm, but the second mouse gets the cheese.",
    "Better late than never, but never late is better.", "Every cloud has a silver lining.",
    "Actions speak louder than words.", "When in Rome, do as the Romans do.",
    "The pen is mightier than the sword.", "Fortune favours the bold and the well prepared.",
    "Rome was not built in a day, and neither was this recording.", "Two wrongs do not make a right.",
    "Practice makes perfect, or at least a little better each time.",
]


def spoken_hour(seconds=3600):
    """``(wav, srt)``: ``seconds`` of espeak-ng speech (its sentences in a seeded order, pauses of 0.4-1.5 s,
    a -65 dB noise floor), 22.05 kHz mono 16-bit, and a subtitle per sentence (each time moved by up to
    250 ms); cached across sessions."""
    import subprocess

    import soundfile

    seconds = capped(seconds)
    wav = WORKLOAD_DIR / f"spoken_{seconds:g}s_v1.wav"
    srt = wav.with_suffix(".srt")
    if wav.exists() and srt.exists():
        return wav, srt
    WORKLOAD_DIR.mkdir(parents=True, exist_ok=True)
    said = []
    for k, sentence in enumerate(_SPOKEN_SENTENCES):
        path = WORKLOAD_DIR / f".spoken_sentence_{k}.wav"
        subprocess.run(["espeak-ng", "-s", "165", "-w", str(path), sentence], check=True)
        y, _ = soundfile.read(path, dtype="float32")
        path.unlink()
        loud = np.flatnonzero(np.abs(y) > 10 ** (-45 / 20))
        said.append((y[loud[0] : loud[-1] + 1] * 0.5, sentence))
    rng = np.random.default_rng(31)
    n = round(seconds * SPOKEN_RATE)
    out = (rng.standard_normal(n) * 10 ** (-65 / 20)).astype(np.float32)
    lines, position, k = [], int(0.5 * SPOKEN_RATE), 0
    while True:
        y, sentence = said[rng.integers(len(said))]
        if position + y.shape[0] >= n:
            break
        out[position : position + y.shape[0]] += y
        a = position / SPOKEN_RATE + rng.uniform(-0.25, 0.25)
        b = (position + y.shape[0]) / SPOKEN_RATE + rng.uniform(-0.25, 0.25)
        k += 1
        lines.append(f"{k}\n{_srt_time(a)} --> {_srt_time(b)}\n{sentence}\n")
        position += y.shape[0] + int(rng.uniform(0.4, 1.5) * SPOKEN_RATE)
    _cached(wav, lambda partial: soundfile.write(partial, out, SPOKEN_RATE, subtype="PCM_16", format="WAV"))
    _cached(srt, lambda partial: partial.write_text("\n".join(lines), encoding="utf-8"))
    return wav, srt


def _srt_time(t):
    ms = max(0, round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
