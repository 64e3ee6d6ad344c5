"""Streaming: slice a recording block by block, in constant memory.

``RangeStream`` is fed interleaved blocks of samples, ``(frames, channels)`` as
soundfile reads them, and gives back each clip's ``(start, end)`` sample range
as soon as its end is known.  It holds one window of mono samples and a ring of
``2 * max_sil_kept_frames + _FRAMES_PER_STEP`` RMS values, whatever the
length of the recording.  The ranges are exactly ``Slicer.slice_ranges`` of the
whole recording, in the channels-first F-ordered layout that
``soundfile.read(...).T`` and ``librosa.load(mono=False)`` return.

``iter_clip_ranges(path, ...)`` does this for a file.
"""
import os

import numpy as np
import soundfile

from . import _kernels, lengths
from .errors import FastsliceError, ParameterError
from .slicer import _NO_PLAN, Slicer, pairwise_plan

# RMS frames computed and tagged per step (bounds the ring).
_FRAMES_PER_STEP = 4096
# Mono samples mixed per step, beyond one window and one hop (bounds the mono buffer).
_MONO_STEP = 1 << 16
#: Frames (samples per channel) read from a file per block.
BLOCK_FRAMES = 1 << 16


class RangeStream:
    """Clip ranges of a recording of known length, fed in blocks.

    ``feed(block)`` takes the next ``(frames, channels)`` block (float32 or
    float64, the dtype of the first block is kept) and returns the ranges
    completed so far; ``finish()`` returns the rest once every sample was fed.
    """

    def __init__(self, slicer, n_samples, channels, dtype=np.float32):
        if n_samples < 0 or channels < 1:
            raise ParameterError(f"n_samples={n_samples!r} and channels={channels!r} must be >= 0 and >= 1")
        self.slicer = slicer
        self.n_samples = int(n_samples)
        self.channels = int(channels)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype={self.dtype} must be float32 or float64")
        self.fed = 0
        self._limit = slicer.max_length_samples
        self._too_short = slicer._is_too_short(self.n_samples)
        # A recording too short to cut is returned whole, unread, unless a maximum length applies.
        self._whole = self._too_short and (self._limit is None or self.n_samples <= self._limit)
        if self._whole:
            return
        dtype = self.dtype
        win, hop = slicer.win_samples, slicer.hop_samples
        self._n_frames = slicer.n_frames(self.n_samples)
        self._next_frame = 0
        self._plan = slicer._window_plan
        # NumPy mixes an interleaved (F-ordered) array's channels pairwise from 8 channels on.
        self._channel_plan = pairwise_plan(channels) if channels >= 8 else _NO_PLAN
        self._stacks = np.empty((4, max(len(self._plan), len(self._channel_plan))), dtype)
        self._scratch = np.empty(win, dtype)
        self._win_length = dtype.type(win)
        self._n_channels = dtype.type(channels)
        self._threshold = slicer._comparable_threshold(dtype)
        # mono[k] is sample mono_start + k; it holds samples mono_start .. mono_stop - 1.
        self._mono = np.empty(win + hop + _MONO_STEP, dtype)
        self._mono_start = 0
        self._mono_stop = 0
        self._ring = np.empty(2 * slicer.max_sil_kept_frames + _FRAMES_PER_STEP, dtype)
        self._rms = np.empty(_FRAMES_PER_STEP, dtype)
        self._state = np.array([-1, 0, -1], dtype=np.int64)
        self._tags = np.empty((_FRAMES_PER_STEP + 1, 2), dtype=np.int64)
        self._last_right = None  # right end (frames) of the last silence tag
        #: called as ``rms_sink(first_frame, rms)`` with every block of RMS frames, if set
        self.rms_sink = None
        # With a maximum length: the RMS since the earliest clip not yet given out, and the
        # merged clip waiting for its neighbour (see fastslice.lengths).
        self._history = np.empty(0, dtype)
        self._history_first = 0
        self._pending = None

    # -- public -------------------------------------------------------------

    def feed(self, block):
        """Take the next block, ``(frames, channels)``; return the ranges completed so far."""
        block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ParameterError(f"block has shape {block.shape}; expected (frames, {self.channels})")
        if self.fed + block.shape[0] > self.n_samples:
            raise ParameterError(f"fed {self.fed + block.shape[0]} samples, more than n_samples={self.n_samples}")
        self.fed += block.shape[0]
        if self._whole or block.shape[0] == 0:
            return []
        block = np.ascontiguousarray(block, dtype=self.dtype)
        ranges = []
        position = 0
        while position < block.shape[0]:  # mix as much as the mono buffer can take, then frame it
            self._drop_used_samples()
            room = self._mono.shape[0] - (self._mono_stop - self._mono_start)
            take = min(room, block.shape[0] - position)
            part = block[position : position + take].reshape(-1)
            filled = self._mono_stop - self._mono_start
            _kernels.mix_interleaved(
                part, self.channels, 0, self._n_channels, self._channel_plan, self._stacks[0],
                self._mono[filled : filled + take],
            )
            self._mono_stop += take
            position += take
            ranges += self._run_frames()
        return self._limit_lengths(ranges, final=False)

    def finish(self):
        """The remaining ranges; call once every sample has been fed."""
        if self.fed != self.n_samples:
            raise FastsliceError(f"stream ended after {self.fed} of {self.n_samples} samples")
        if self._whole:
            return [(0, self.n_samples)]
        ranges = self._run_frames()
        tag = self._tags[0]
        if _kernels.trailing_tag(self._n_frames, self.slicer.min_interval_frames, self._state, tag):
            ranges += self._ranges_of_tags(self._tags[:1])
        if self._too_short or self._last_right is None:  # the reference returns the input whole
            ranges = [(0, self.n_samples)]
        elif self._last_right < self._n_frames:
            ranges.append(self._samples(self._last_right, self._n_frames))
        return self._limit_lengths(ranges, final=True)

    # -- internals ------------------------------------------------------------

    def _computable_frames(self):
        """Frames whose whole window has been fed (all of them once the stream is complete)."""
        if self._mono_stop == self.n_samples:
            return self._n_frames
        slicer = self.slicer
        reach = self._mono_stop + slicer.win_samples // 2 - slicer.win_samples
        return min(self._n_frames, max(0, reach // slicer.hop_samples + 1))

    def _run_frames(self):
        slicer = self.slicer
        ranges = []
        stop = self._computable_frames()
        while self._next_frame < stop:
            first = self._next_frame
            last = min(stop, first + _FRAMES_PER_STEP)
            rms = self._rms[: last - first]
            _kernels.frame_rms(
                self._mono[: self._mono_stop - self._mono_start], self._mono_start, self.n_samples,
                slicer.hop_samples, first, self._win_length, self._plan, self._stacks, self._scratch, rms,
            )
            self._ring[np.arange(first, last) % self._ring.shape[0]] = rms
            if self.rms_sink is not None:
                self.rms_sink(first, rms)
            count = _kernels.tag_silences(
                self._ring, first, last, self._threshold, slicer.min_interval_frames,
                slicer.min_length_frames, slicer.max_sil_kept_frames, self._state, self._tags,
            )
            if self._limit is not None:
                self._history = np.concatenate([self._history, rms])
            ranges += self._ranges_of_tags(self._tags[:count])
            self._next_frame = last
        return ranges

    def _limit_lengths(self, ranges, final):
        """With a maximum length: merge (if asked) and split the reference's ranges."""
        if self._limit is None:
            return ranges
        done = []
        for clip in ranges:
            if self.slicer.merge_short:
                if self._pending is not None and clip[1] - self._pending[0] <= self._limit:
                    self._pending = (self._pending[0], clip[1])
                    continue
                if self._pending is not None:
                    done.append(self._pending)
                self._pending = clip
            else:
                done.append(clip)
        if final and self._pending is not None:
            done.append(self._pending)
            self._pending = None
        hop = self.slicer.hop_samples
        pieces = lengths.split_ranges(done, self._history, self._history_first, hop, self._limit)
        # Keep the RMS from the earliest clip still to come: the pending one, or the open one.
        open_start = 0 if self._last_right is None or self._too_short else self._last_right
        keep_from = min(open_start, self._pending[0] // hop) if self._pending is not None else open_start
        drop = max(0, min(keep_from, self._next_frame) - self._history_first)
        if drop:
            self._history = self._history[drop:]
            self._history_first += drop
        return pieces

    def _drop_used_samples(self):
        """Forget mono samples that no frame still to come will read."""
        keep_from = max(0, self._next_frame * self.slicer.hop_samples - self.slicer.win_samples // 2)
        drop = min(keep_from, self._mono_stop) - self._mono_start
        if drop > 0:
            kept = self._mono_stop - self._mono_start - drop
            self._mono[:kept] = self._mono[drop : drop + kept]
            self._mono_start += drop

    def _ranges_of_tags(self, tags):
        ranges = []
        if self._too_short:  # the reference returns the input whole; tags only move the clip start
            if len(tags):
                self._last_right = int(tags[-1, 1])
            return ranges
        for left, right in tags.tolist():
            if self._last_right is None:
                if left > 0:
                    ranges.append(self._samples(0, left))
            else:
                ranges.append(self._samples(self._last_right, left))
            self._last_right = right
        return ranges

    def _samples(self, begin_frame, end_frame):
        hop = self.slicer.hop_samples
        start = min(begin_frame * hop, self.n_samples)
        return (start, max(start, min(self.n_samples, end_frame * hop)))


def open_audio(path):
    """Open an audio file for reading; a FastsliceError names the file if libsndfile cannot."""
    try:
        if os.path.getsize(path) == 0:
            raise FastsliceError(f"{path}: the file is empty (0 bytes)")
        with open(path, "rb"):  # a permission error in words, not libsndfile's "System error"
            pass
        return soundfile.SoundFile(path)
    except soundfile.LibsndfileError as exc:
        raise FastsliceError(f"{path}: cannot read it as audio ({exc.error_string.rstrip('.')}){_what_it_is(path)}") from None
    except OSError as exc:
        raise FastsliceError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (RuntimeError, TypeError) as exc:
        raise FastsliceError(f"{path}: cannot read it as audio ({exc})") from None


# First bytes of formats libsndfile does not read, for a message that says what the file is.
_SIGNATURES = [
    (b"ftyp", 4, "it looks like MP4/M4A/AAC, which libsndfile does not read: convert it first, e.g. ffmpeg -i IN -c:a flac OUT.flac"),
    (b"\xff\xf1", 0, "it looks like raw AAC (ADTS), which libsndfile does not read: convert it first, e.g. with ffmpeg"),
    (b"\xff\xf9", 0, "it looks like raw AAC (ADTS), which libsndfile does not read: convert it first, e.g. with ffmpeg"),
    (b"\x89PNG", 0, "it is a PNG image"),
    (b"\xff\xd8\xff", 0, "it is a JPEG image"),
    (b"%PDF", 0, "it is a PDF document"),
    (b"PK\x03\x04", 0, "it is a zip archive"),
    (b"\x1aE\xdf\xa3", 0, "it looks like WebM/Matroska, which libsndfile does not read: convert it first, e.g. with ffmpeg"),
]


def _what_it_is(path):
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return ""
    for signature, offset, meaning in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return f"; {meaning}"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "; it is a text file"
    return ""


def slicer_for(sr, params):
    """A ``Slicer`` for a file of sample rate ``sr`` with the other ``params``."""
    return Slicer(sr, **params)


def iter_clip_ranges(path, *, block_frames=BLOCK_FRAMES, **params):
    """Yield each clip's ``(start, end)`` sample range of the audio file at ``path``.

    The file is read in blocks of ``block_frames`` frames; memory stays
    constant whatever its length.  ``params`` are ``Slicer``'s (``threshold``,
    ``min_length``, ``min_interval``, ``hop_size``, ``max_sil_kept``,
    ``legacy_short_check``) with its defaults; the sample rate is the file's.
    The ranges are ``Slicer(sr, **params).slice_ranges`` of the whole file as
    ``soundfile.read(path, dtype="float32")`` decodes it.
    """
    if block_frames < 1:
        raise ParameterError(f"block_frames={block_frames!r} must be >= 1")
    with open_audio(path) as f:
        yield from ranges_of_open_file(f, slicer_for(f.samplerate, params), block_frames)


# libsndfile decodes 16-bit samples to float as s * (1 / 32768), exactly; reading int16 and
# scaling here gives the same floats three times faster than its own conversion.
_INT16_SCALE = np.float32(1 / 32768)


def iter_frame_rms(path, *, block_frames=BLOCK_FRAMES, **params):
    """Yield ``(first_frame, rms)`` blocks of the file's RMS envelope (one value per hop) as it is
    read; the generator's return value (``StopIteration.value``) is the list of clip ranges.

    ``params`` as for ``iter_clip_ranges``.  A recording too short to slice (``Slicer``'s
    too-short rule) has no RMS to yield.
    """
    with open_audio(path) as f:
        stream = RangeStream(slicer_for(f.samplerate, params), f.frames, f.channels, np.float32)
        pending = []
        stream.rms_sink = lambda first, rms: pending.append((first, rms.copy()))
        ranges = []
        for block in _float_blocks(f, stream.n_samples, block_frames):
            ranges += stream.feed(block)
            yield from pending
            pending.clear()
        ranges += stream.finish()
        yield from pending
        return ranges


# Subtypes libsndfile seeks in exactly (PCM, float, G.711; FLAC is PCM_*).
_EXACT_SEEK = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}


def advance(source, frame, block_frames):
    """Position ``source`` at ``frame``, so that what it reads next is what a straight decode gives.

    PCM and FLAC seek exactly.  A lossy decoder (Vorbis, Opus, MP3, ADPCM) can
    give other samples after a seek, so those are read forward instead (clips
    come in order, so each frame is decoded once).
    """
    if source.subtype in _EXACT_SEEK:
        source.seek(frame)
        return
    position = source.tell()
    if position > frame:
        source.seek(0)
        position = 0
    while position < frame:
        skipped = source.read(min(block_frames, frame - position), dtype="float32", always_2d=True).shape[0]
        if skipped == 0:
            raise FastsliceError(f"{source.name}: the data ends before frame {frame}")
        position += skipped


def ranges_of_open_file(f, slicer, block_frames, first=0, count=None, check=None):
    """Yield the clip ranges of frames ``first .. first + count`` of an open ``soundfile.SoundFile``
    (to its end by default), relative to ``first``, reading them in blocks.  ``check``, a
    ``SampleCheck``, sees every block (by default a new one: NaN or inf raise)."""
    advance(f, first, block_frames)
    stream = RangeStream(slicer, f.frames - first if count is None else count, f.channels, np.float32)
    check = check or SampleCheck(f)
    for block in _float_blocks(f, stream.n_samples, block_frames):
        check.see(block, first + stream.fed)
        yield from stream.feed(block)
    yield from stream.finish()


class SampleCheck:
    """Watches the samples as they are read.

    NaN or infinite samples (possible only in float files) stop the file with a
    ``FastsliceError`` that says where: a dataset must not be cut from corrupt
    audio.  Samples at full scale (a clipped recording) and a DC offset are
    only counted, for ``warnings()``.
    """

    DC_OFFSET = 0.01  # -40 dBFS

    def __init__(self, f):
        self.name, self.rate = f.name, f.samplerate
        self.float_data = f.subtype in ("FLOAT", "DOUBLE")
        self.full_scale = 1.0 if self.float_data else 32767 / 32768
        self.clipped = 0
        self.frames = 0
        self.sums = np.zeros(f.channels)
        self._ones = np.ones(0, np.float32)

    def see(self, block, first_frame):
        if self.float_data and not np.isfinite(block).all():
            frame = first_frame + int(np.argwhere(~np.isfinite(block))[0][0])
            raise FastsliceError(
                f"{self.name}: the sample at {frame / self.rate:.3f} s (frame {frame}) is NaN or infinite; "
                "the file is corrupt, and fastslice does not cut datasets from it"
            )
        if max(block.max(initial=0), -block.min(initial=0)) >= self.full_scale:
            self.clipped += int(np.count_nonzero(np.abs(block) >= self.full_scale))
        if self._ones.shape[0] < block.shape[0]:
            self._ones = np.ones(block.shape[0], block.dtype)
        self.sums += self._ones[: block.shape[0]] @ block  # per-channel sums; 40x faster than sum(axis=0)
        self.frames += block.shape[0]

    def warnings(self):
        notes = []
        if self.clipped:
            notes.append(f"{self.name}: {self.clipped} samples at full scale: the recording clips")
        if self.frames:
            for channel, mean in enumerate(self.sums / self.frames):
                if abs(mean) >= self.DC_OFFSET:
                    notes.append(f"{self.name}: channel {channel} has a DC offset of {mean:+.3f} "
                                 "(it raises the RMS of silences; remove it, e.g. with a high-pass filter)")
        return notes


def _float_blocks(f, n_samples, block_frames):
    """The file's samples as float32 ``(frames, channels)`` blocks (reusing one buffer), as libsndfile decodes them."""
    buffer = np.empty((block_frames, f.channels), np.float32)
    pcm16 = f.subtype == "PCM_16"
    raw = np.empty((block_frames, f.channels), np.int16) if pcm16 else buffer
    fed = 0
    while fed < n_samples:
        wanted = min(block_frames, n_samples - fed)
        try:
            block = f.read(dtype=raw.dtype.name, always_2d=True, out=raw[:wanted])
            if pcm16:
                block = np.multiply(block, _INT16_SCALE, out=buffer[: block.shape[0]], dtype=np.float32)
        except soundfile.LibsndfileError as exc:
            raise FastsliceError(f"{f.name}: read failed after {fed} frames ({exc.error_string})") from None
        if block.shape[0] == 0:
            raise FastsliceError(f"{f.name}: the header promises {n_samples} frames but the data ends after {fed}")
        fed += block.shape[0]
        yield block
