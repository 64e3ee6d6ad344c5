"""The public ``Slicer``: openvpi/audio-slicer's ``slicer2.Slicer``, exact and fast.

``Slicer(sr, threshold, min_length, min_interval, hop_size, max_sil_kept)`` takes
the reference's parameters, in its units (Hz, dB, ms) and with its rules.
``slice(waveform)`` returns the reference's list of chunks (views of the
input); ``slice_ranges(waveform)`` returns where they are, as a (K, 2) int64
array of ``[start, end)`` sample offsets.
"""
from __future__ import annotations

import math
import numbers
import os
import threading
import warnings
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .. import _kernels
from . import lengths
from ..errors import ParameterError

# Samples mixed to mono at once in the multichannel path (512 KiB of float32: about L2).
_MIX_BLOCK_SAMPLES = 1 << 17
# Least work worth a thread of its own, in samples summed (frames x window): about 2 ms.
_MIN_WORK_PER_THREAD = 1 << 22
# Limits on absurd parameters, so that they fail with a message and not with MemoryError:
# a window of 16 M samples is 44 s at 384 kHz; 16 M frames of look-back are 46 h at 10 ms.
_MAX_WINDOW_SAMPLES = 1 << 24
_MAX_LOOKBACK_FRAMES = 1 << 24

#: Audio as ``Slicer`` takes it: ``(samples,)`` or ``(channels, samples)``, float32 or float64.
Waveform = npt.NDArray[np.floating[Any]]
#: Clip ranges: a ``(K, 2)`` int64 array of ``[start, end)`` sample offsets.
Ranges = npt.NDArray[np.int64]
#: ``compute(first, stop)``: the RMS of frames ``[first, stop)`` into the output array.
FrameComputer = Callable[[int, int], None]


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name}={value!r} must be a number", parameter=name, value=value, rule="must be a number")
    if not math.isfinite(value):
        raise ParameterError(f"{name}={value!r} must be a finite number", parameter=name, value=value,
                             rule="must be a finite number")
    return value  # type: ignore[return-value]  # mypy: a numbers.Real (int, float, NumPy number) is no float


#: The slicing parameters ``Slicer`` takes besides ``sr`` and ``threads``, in its order.
PARAMS = ("threshold", "min_length", "min_interval", "hop_size", "max_sil_kept", "legacy_short_check", "max_length",
          "merge_short")


def check_params(threshold: float = -40.0, min_length: float = 5000, min_interval: float = 300, hop_size: float = 20,
                 max_sil_kept: float = 5000, max_length: float | None = None, merge_short: bool = False,
                 legacy_short_check: bool = False) -> dict[str, Any]:
    """Check the rules of ``Slicer``'s parameters that hold whatever the sample rate (one message per
    rule); returns them as a dict of plain Python numbers (a NumPy integer becomes an ``int``, a
    NumPy float a ``float``), as ``Slicer`` and the markers take them.  The rules that depend on the
    rate (a hop of at least one sample, the window's size) are checked by ``Slicer`` itself."""
    values: dict[str, Any] = {}  # numbers, flags and None: keyed by the parameter's name
    if isinstance(threshold, str) and threshold.strip().lower().startswith("auto"):
        raise ParameterError(f"threshold={threshold!r} is chosen per input once it has been read: slice_file, "
                             "slice_files and the command line take it; for a Slicer, choose the level with "
                             "fastslice.levels (Levels().add(slicer.frame_rms(waveform)); .analysis().threshold)")
    for name, value in (("threshold", threshold), ("min_length", min_length), ("min_interval", min_interval),
                        ("hop_size", hop_size), ("max_sil_kept", max_sil_kept)):
        values[name] = _plain(_check_number(name, value))
    threshold, min_length, min_interval, hop_size, max_sil_kept = values.values()
    # Each message names the keywords (as a Python caller typed them); ``rule`` says the same with
    # the other parameters as fields, for the command line to name their flags.
    if hop_size <= 0:
        raise ParameterError(f"hop_size={hop_size!r} must be > 0 (ms)", parameter="hop_size", value=hop_size,
                             rule="must be more than 0 ms")
    if not min_interval >= hop_size:
        raise ParameterError(f"min_interval={min_interval!r} must be >= hop_size={hop_size!r} (ms)",
                             parameter="min_interval", value=min_interval,
                             rule="must be at least {hop_size}: a silence is measured in frames of the hop",
                             refs={"hop_size": hop_size})
    if not min_length >= min_interval:
        raise ParameterError(f"min_length={min_length!r} must be >= min_interval={min_interval!r} (ms)",
                             parameter="min_length", value=min_length,
                             rule="must be at least 0 ms and at least {min_interval}", refs={"min_interval": min_interval})
    if not max_sil_kept >= hop_size:
        raise ParameterError(f"max_sil_kept={max_sil_kept!r} must be >= hop_size={hop_size!r} (ms)",
                             parameter="max_sil_kept", value=max_sil_kept, rule="must be at least {hop_size}",
                             refs={"hop_size": hop_size})
    try:
        10 ** (threshold / 20.0)
    except OverflowError:
        raise ParameterError(f"threshold={threshold!r} dB is out of range; give a level in dB such as -40",
                             parameter="threshold", value=threshold,
                             rule="is out of range: give a level in dB such as -40") from None
    if max_sil_kept / hop_size > _MAX_LOOKBACK_FRAMES + 1:
        raise ParameterError(
            f"max_sil_kept={max_sil_kept!r} ms is {max_sil_kept / hop_size:.0f} frames of hop_size={hop_size!r} ms; "
            f"at most {_MAX_LOOKBACK_FRAMES} are allowed", parameter="max_sil_kept", value=max_sil_kept,
            rule=f"is {max_sil_kept / hop_size:.0f} frames of {{hop_size}}; at most {_MAX_LOOKBACK_FRAMES} are allowed",
            refs={"hop_size": hop_size})
    if max_length is not None:
        max_length = _plain(_check_number("max_length", max_length))
        if not max_length >= min_length:
            raise ParameterError(
                f"max_length={max_length!r} must be >= min_length={min_length!r} (ms): "
                "clips shorter than min_length are kept whole, so a smaller maximum cannot hold",
                parameter="max_length", value=max_length, refs={"min_length": min_length},
                rule="must be at least {min_length}: shorter clips are kept whole, so a smaller maximum cannot hold")
    if merge_short and max_length is None:
        raise ParameterError("merge_short=True merges clips up to max_length; give max_length (ms) too",
                             parameter="merge_short", value=True,
                             rule="merges clips up to {max_length}: give it too", refs={"max_length": None})
    values.update(legacy_short_check=bool(legacy_short_check), max_length=max_length, merge_short=bool(merge_short))
    return values


def _plain(value: float) -> float:
    """A number as the Python number it equals (``np.int64(5)`` -> ``5``, ``np.float32(0.5)`` -> ``0.5``)."""
    if isinstance(value, numbers.Integral):
        return int(value)
    return value if type(value) is float else float(value)


class Slicer:
    """Cut audio into clips at silences, exactly as openvpi/audio-slicer's ``slicer2.Slicer``.

    Parameters
    ----------
    sr : sample rate of the audio to slice, in Hz.
    threshold : RMS level in dB (relative to full scale 1.0) below which a frame is silent.
    min_length : minimum length of a clip, in ms.
    min_interval : minimum length of a silence to cut at, in ms.
    hop_size : distance between RMS frames, in ms.
    max_sil_kept : maximum silence kept around a clip, in ms.
    max_length : maximum clip length in ms, or None (default: no maximum, the reference's clips).
        A longer clip is cut at the quietest frames (see ``fastslice.cutting.lengths``).  Must be
        >= ``min_length``.
    merge_short : with ``max_length``, pack consecutive clips together while the merged clip
        (pauses between them included) stays within ``max_length``.
    threads : threads that compute the RMS frames of one input, each a range of frames
        (``None``, the default: the CPUs this process may use).  The clips are the same,
        bit for bit, whatever the number.
    legacy_short_check : ``False`` (default) follows audio-slicer 1.0.1, which returns the
        input whole when it has at most ``min_length`` frames.  ``True`` reproduces the
        older check of the copies in the so-vits-svc guide, RVC and GPT-SoVITS, which
        compare the number of *samples* with ``min_length`` in frames.

    The rules are the reference's: ``min_length >= min_interval >= hop_size`` and
    ``max_sil_kept >= hop_size``; in addition every length must be positive and
    ``hop_size`` must be at least one sample at ``sr``.
    """

    def __init__(
        self,
        sr: float,
        threshold: float = -40.0,
        min_length: float = 5000,
        min_interval: float = 300,
        hop_size: float = 20,
        max_sil_kept: float = 5000,
        *,
        legacy_short_check: bool = False,
        max_length: float | None = None,
        merge_short: bool = False,
        threads: int | None = None,
    ) -> None:
        _check_number("sr", sr)
        if sr <= 0:
            raise ParameterError(f"sr={sr!r} must be > 0 (Hz)")
        check_params(threshold, min_length, min_interval, hop_size, max_sil_kept, max_length, merge_short)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1):
            raise ParameterError(f"threads={threads!r} must be a whole number >= 1, or None for one per CPU")
        hop_samples = round(sr * hop_size / 1000)
        if hop_samples < 1:
            raise ParameterError(
                f"hop_size={hop_size!r} ms is {sr * hop_size / 1000:g} samples at sr={sr!r}, "
                f"which rounds to 0; use hop_size >= {1000 * 1.5 / sr:.3g} ms", parameter="hop_size", value=hop_size,
                rule=f"is {sr * hop_size / 1000:g} samples at {sr:g} Hz, which rounds to 0; give at least "
                f"{1000 * 1.5 / sr:.3g} ms"
            )
        self.sr = sr
        self.threshold = threshold
        self.min_length = min_length
        self.min_interval = min_interval
        self.hop_size = hop_size
        self.max_sil_kept = max_sil_kept
        self.legacy_short_check = bool(legacy_short_check)
        self.max_length = max_length
        self.merge_short = bool(merge_short)
        self.threads = threads
        #: maximum clip length in samples, or None
        self.max_length_samples: int | None = None if max_length is None else max(1, round(sr * max_length / 1000))
        # Derived exactly as the reference derives them (same operations, same rounding).
        min_interval_samples = sr * min_interval / 1000
        try:
            #: silence threshold as an RMS amplitude
            self.threshold_amplitude: float = 10 ** (threshold / 20.0)
        except OverflowError:
            raise ParameterError(f"threshold={threshold!r} dB is out of range; give a level in dB such as -40") from None
        self.hop_samples = hop_samples
        self.win_samples = min(round(min_interval_samples), 4 * hop_samples)
        self.min_length_frames = round(sr * min_length / 1000 / hop_samples)
        self.min_interval_frames = round(min_interval_samples / hop_samples)
        self.max_sil_kept_frames = round(sr * max_sil_kept / 1000 / hop_samples)
        if self.win_samples > _MAX_WINDOW_SAMPLES:
            raise ParameterError(
                f"hop_size={hop_size!r} and min_interval={min_interval!r} ms make an RMS window of "
                f"{self.win_samples} samples at sr={sr!r}; at most {_MAX_WINDOW_SAMPLES} are allowed"
            )
        if self.max_sil_kept_frames > _MAX_LOOKBACK_FRAMES:
            raise ParameterError(
                f"max_sil_kept={max_sil_kept!r} ms is {self.max_sil_kept_frames} frames of hop_size={hop_size!r} ms; "
                f"at most {_MAX_LOOKBACK_FRAMES} are allowed"
            )
        #: the order the window's squares are summed in (pairwise, as NumPy sums them)
        self.window_plan = pairwise_plan(self.win_samples)

    def __repr__(self) -> str:
        return (
            f"Slicer(sr={self.sr!r}, threshold={self.threshold!r}, min_length={self.min_length!r}, "
            f"min_interval={self.min_interval!r}, hop_size={self.hop_size!r}, "
            f"max_sil_kept={self.max_sil_kept!r}, legacy_short_check={self.legacy_short_check!r}, "
            f"max_length={self.max_length!r}, merge_short={self.merge_short!r}, threads={self.threads!r})"
        )

    # -- public API -------------------------------------------------------

    def slice(self, waveform: npt.ArrayLike) -> list[Waveform]:
        """Cut ``waveform`` at silences; returns the reference's list of chunks.

        ``waveform`` is ``(samples,)`` or channels-first ``(channels, samples)``,
        float32 or float64, any memory order.  Each chunk is a view of it (the
        input itself when nothing is cut).
        """
        waveform = check_waveform(waveform)
        ranges = self._ranges(waveform)
        if ranges is None:
            return [waveform]
        return [waveform[..., start:end] for start, end in ranges.tolist()]

    def slice_ranges(self, waveform: npt.ArrayLike) -> Ranges:
        """Where ``slice`` cuts: a (K, 2) int64 array of ``[start, end)`` sample offsets."""
        waveform = check_waveform(waveform)
        ranges = self._ranges(waveform)
        if ranges is None:
            return np.array([[0, waveform.shape[-1]]], dtype=np.int64)
        return ranges

    def frame_rms(self, waveform: npt.ArrayLike) -> Waveform:
        """The RMS of every frame (the reference's ``get_rms`` on the channel mix), in the input's dtype."""
        return self._frame_rms(check_waveform(waveform))

    def n_frames(self, n_samples: int) -> int:
        """Number of RMS frames of a signal of ``n_samples`` samples."""
        half = self.win_samples // 2
        return (n_samples + 2 * half - self.win_samples) // self.hop_samples + 1

    # -- implementation ---------------------------------------------------

    def is_too_short(self, n_samples: int) -> bool:
        """The reference returns a recording of ``n_samples`` samples whole, uncut (its too-short rule)."""
        if self.legacy_short_check:
            return bool(n_samples <= self.min_length_frames)
        return bool((n_samples + self.hop_samples - 1) // self.hop_samples <= self.min_length_frames)

    def _frame_rms(self, waveform: Waveform) -> Waveform:
        out = np.empty(self.n_frames(waveform.shape[-1]), dtype=waveform.dtype)
        self._in_ranges(self._frames_into(waveform, out), out.shape[0])
        return out

    def _frames_into(self, waveform: Waveform, out: Waveform) -> FrameComputer:
        """``compute(first, stop)``: the RMS of frames ``[first, stop)`` into ``out[first:stop]``.

        Each call makes its own work buffers, so calls on disjoint ranges may run at once.
        """
        dtype = waveform.dtype
        n_samples = waveform.shape[-1]
        hop, win_length, plan = self.hop_samples, dtype.type(self.win_samples), self.window_plan
        mixing = _mixing_kernel(waveform)
        if mixing is not None:  # the channels one after another, mixed in blocks
            kernel, layout = mixing
            n_channels = dtype.type(waveform.shape[0])

            def compute_mixed(first: int, stop: int) -> None:
                stacks, scratch = self._scratch(dtype)
                block = np.empty(_mix_block_length(self.win_samples, hop), dtype=dtype)
                kernel(*layout, n_samples, n_channels, hop, win_length, plan, stacks, block, scratch,
                       first, out[first:stop])

            return compute_mixed
        mono = np.ascontiguousarray(waveform if waveform.ndim == 1 else waveform.mean(axis=0))

        def compute(first: int, stop: int) -> None:
            stacks, scratch = self._scratch(dtype)
            _kernels.frame_rms(mono, 0, n_samples, hop, first, win_length, plan, stacks, scratch, out[first:stop])

        return compute

    def _scratch(self, dtype: np.dtype[Any]) -> tuple[Waveform, Waveform]:
        """(stacks, scratch): a thread's own work buffers for the frame kernels."""
        return np.empty((_kernels.FRAMES_AT_ONCE, len(self.window_plan)), dtype=dtype), np.empty(self.win_samples, dtype=dtype)

    def _in_ranges(self, compute: FrameComputer, n_frames: int) -> None:
        """Run ``compute(first, stop)`` over frames ``[0, n_frames)``: the calling thread takes the
        first range, one more thread each of the others (the kernels release the GIL)."""
        threads = max(1, min(self.threads or available_cpus(), n_frames * self.win_samples // _MIN_WORK_PER_THREAD))
        if threads == 1:
            compute(0, n_frames)
            return
        bounds = [n_frames * k // threads for k in range(threads + 1)]
        failures: list[BaseException] = []

        def run(first: int, stop: int) -> None:
            try:
                compute(first, stop)
            except BaseException as exc:  # handed to the calling thread
                failures.append(exc)

        helpers = [threading.Thread(target=run, args=(a, b), name=f"fastslice-frames-{k}", daemon=True)
                   for k, (a, b) in enumerate(zip(bounds[1:], bounds[2:]), 1)]
        for helper in helpers:
            helper.start()
        run(bounds[0], bounds[1])  # the first range on this thread
        for helper in helpers:
            helper.join()
        if failures:
            raise failures[0]

    def comparable_threshold(self, rms_dtype: np.dtype[Any]) -> np.floating[Any]:
        """The threshold in the type NumPy compares ``rms < threshold`` in.

        NumPy 2 (NEP 50) converts a Python float to the RMS dtype (float32 for
        float32 audio), but promotes the RMS to float64 for a NumPy float64
        threshold (``threshold=np.float64(-30)``).  A threshold beyond float32's
        range becomes inf, as in NumPy.
        """
        dtype = np.result_type(rms_dtype, self.threshold_amplitude)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            threshold: np.floating[Any] = dtype.type(self.threshold_amplitude)
            return threshold

    def ranges_from_rms(self, rms: npt.ArrayLike, n_samples: int) -> Ranges:
        """``slice_ranges`` of a recording of ``n_samples`` samples whose RMS frames are ``rms``
        (``frame_rms`` of it, or the frames a stream computed): the state machine alone, for a
        threshold chosen after the frames were computed (``fastslice.cutting.threshold``)."""
        rms = np.asarray(rms)
        if rms.shape != (self.n_frames(n_samples),) and not self.is_whole(n_samples):
            raise ParameterError(f"rms has shape {rms.shape}; a recording of {n_samples} samples has "
                                 f"{self.n_frames(n_samples)} frames at hop {self.hop_samples}")
        ranges = self._ranges(None, n_samples, rms)
        return np.array([[0, n_samples]], dtype=np.int64) if ranges is None else ranges

    def is_whole(self, n_samples: int) -> bool:
        """A recording of ``n_samples`` samples is one clip, whole: too short to cut, and not over ``max_length``."""
        limit = self.max_length_samples
        return self.is_too_short(n_samples) and (limit is None or n_samples <= limit)

    def _ranges(self, waveform: Waveform | None, n_samples: int | None = None,
                rms: Waveform | None = None) -> Ranges | None:
        """[start, end) of each chunk, or None where the reference returns the input whole."""
        if n_samples is None:
            assert waveform is not None, "the waveform, or its length and its frames"
            n_samples = waveform.shape[-1]
        limit = self.max_length_samples
        if self.is_whole(n_samples):
            return None
        if rms is None:
            assert waveform is not None, "the waveform, or its frames"
            rms = self._frame_rms(waveform)
        ranges = None if self.is_too_short(n_samples) else self._reference_ranges(rms, n_samples)
        if limit is None:
            return ranges
        clips: list[tuple[int, int]] = [(0, n_samples)] if ranges is None else [(a, b) for a, b in ranges.tolist()]
        if self.merge_short:
            clips = lengths.merge_ranges(clips, limit)
        clips = lengths.split_ranges(clips, rms, 0, self.hop_samples, limit)
        return np.array(clips, dtype=np.int64).reshape(-1, 2)

    def _reference_ranges(self, rms: Waveform, n_samples: int) -> Ranges | None:
        """The reference's chunk ranges from the RMS of every frame, or None for "the input whole"."""
        tags = self.silence_tags(rms)
        if tags is None:
            return None
        return tags_to_ranges(tags, rms.shape[0], n_samples, self.hop_samples)

    def silence_tags(self, rms: Waveform) -> Ranges | None:
        """The reference's silence tags ``(K, 2)`` in frames (the last may end at ``n_frames + 1``), or None."""
        n_frames = rms.shape[0]
        threshold = self.comparable_threshold(rms.dtype)
        state = np.array([-1, 0, -1], dtype=np.int64)
        tags = np.empty((n_frames + 1, 2), dtype=np.int64)
        count: int = _kernels.tag_silences(
            rms, 0, n_frames, threshold,
            self.min_interval_frames, self.min_length_frames, self.max_sil_kept_frames,
            state, tags,
        )
        count += _kernels.trailing_tag(n_frames, self.min_interval_frames, state, tags[count])
        return tags[:count] if count else None


def make_slicer(sample_rate: float, params: Mapping[str, Any]) -> Slicer:
    """The one factory of ``Slicer``: ``Slicer(sample_rate, **params)``, where ``params`` are named as in
    ``PARAMS``.  A name not among them is a ``ParameterError`` naming it (as every other wrong parameter
    is); nothing is cached: a ``Slicer`` is a few numbers, made per input (by its plan)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ParameterError(f"params: unknown slicer parameter {unknown[0]!r}; use {', '.join(PARAMS)}")
    return Slicer(sample_rate, **params)


def available_cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pairwise_plan(n: int) -> Ranges:
    """How NumPy's pairwise summation splits a run of ``n`` values, in post-order.

    Rows ``[offset, length]`` (length 1..128) are blocks summed with 8
    accumulators; rows ``[0, 0]`` add the two most recent partial sums.  NumPy
    halves runs longer than 128 at ``n // 2`` rounded down to a multiple of 8.
    """
    rows: list[tuple[int, int]] = []

    def visit(offset: int, length: int) -> None:
        if length <= 128:
            rows.append((offset, length))
            return
        half = length // 2
        half -= half % 8
        visit(offset, half)
        visit(offset + half, length - half)
        rows.append((0, 0))

    visit(0, n)
    return np.array(rows, dtype=np.int64)


def tags_to_bounds(tags: Ranges, n_frames: int) -> list[tuple[int, int]]:
    """The reference's chunks between silence tags, as ``(begin, end)`` frames."""
    bounds: list[tuple[int, int]] = []
    if tags[0, 0] > 0:
        bounds.append((0, int(tags[0, 0])))
    for k in range(len(tags) - 1):
        bounds.append((int(tags[k, 1]), int(tags[k + 1, 0])))
    if tags[-1, 1] < n_frames:
        bounds.append((int(tags[-1, 1]), n_frames))
    return bounds


def tags_to_ranges(tags: Ranges, n_frames: int, n_samples: int, hop_samples: int) -> Ranges:
    """Turn silence tags (frames) into the reference's chunk ranges (samples)."""
    bounds = tags_to_bounds(tags, n_frames)
    ranges = np.empty((len(bounds), 2), dtype=np.int64)
    for k, (begin, end) in enumerate(bounds):
        start = min(begin * hop_samples, n_samples)
        ranges[k, 0] = start
        ranges[k, 1] = max(start, min(n_samples, end * hop_samples))
    return ranges


def check_waveform(waveform: npt.ArrayLike) -> Waveform:
    """``waveform`` as the float array ``Slicer`` cuts (an array as it is, anything else through
    ``np.asarray``); raises ``ParameterError`` saying the fix for another dtype or shape."""
    if not isinstance(waveform, np.ndarray):
        waveform = np.asarray(waveform)
    if waveform.dtype not in (np.float32, np.float64):
        if waveform.dtype.kind in "iu":
            fix = (
                f"; convert it to float first, e.g. waveform.astype(np.float32) / {2 ** (8 * waveform.dtype.itemsize - 1)} "
                "so that full scale is 1.0 (soundfile.read(..., dtype='float32') does this for you)"
            )
        else:
            fix = "; convert it with waveform.astype(np.float32)"
        raise ParameterError(f"waveform has dtype {waveform.dtype}, but fastslice needs float32 or float64 samples{fix}")
    if waveform.ndim not in (1, 2):
        raise ParameterError(
            f"waveform has shape {waveform.shape}; it must be (samples,) or channels-first (channels, samples)"
        )
    if waveform.ndim == 2 and waveform.shape[0] == 0:
        raise ParameterError(f"waveform has shape {waveform.shape}: no channels")
    return waveform  # float32 or float64: checked above


def _mix_block_length(win: int, hop: int) -> int:
    """Samples mixed at once: about ``_MIX_BLOCK_SAMPLES``, for a whole number of groups of
    frames that ``frame_rms`` sums together (a frame left over is summed on its own, slower)."""
    group = _kernels.FRAMES_AT_ONCE
    frames = group * max(1, round(_MIX_BLOCK_SAMPLES / hop / group))
    return (frames - 1) * hop + win


def _mixing_kernel(waveform: Waveform) -> tuple[Callable[..., None], tuple[Waveform, int, int]] | None:
    """``(kernel, layout arguments)`` that mix ``waveform``'s channels block by block, or None
    where NumPy's own mean makes the mono mix: 1-D input, 8+ channels that NumPy adds
    pairwise, views that skip samples, negative or zero strides (rare cases, not worth
    compiling for)."""
    if waveform.ndim == 1 or _numpy_mixes_pairwise(waveform) is not False:
        return None
    strided = _strided_samples(waveform)
    if strided is None:
        return None
    flat, channel_stride, sample_stride = strided
    if sample_stride == 1:
        return _kernels.rows_frame_rms, (flat, waveform.shape[0], channel_stride)
    if channel_stride == 1:
        return _kernels.interleaved_frame_rms, (flat, waveform.shape[0], sample_stride)
    return None


def _strided_samples(waveform: Waveform) -> tuple[Waveform, int, int] | None:
    """``(flat, channel_stride, sample_stride)``: waveform's memory as a 1-D array, strides in samples.

    Channel c of sample n is ``flat[c * channel_stride + n * sample_stride]``.  None
    where the strides are not positive multiples of the sample size (NumPy mixes those).
    """
    channels, n = waveform.shape
    item = waveform.itemsize
    channel_stride, sample_stride = waveform.strides
    if channels == 1:
        channel_stride = item  # never used: a single row
    if n <= 1:
        sample_stride = item  # never used: a single sample
    if channel_stride <= 0 or sample_stride <= 0 or channel_stride % item or sample_stride % item:
        return None
    channel_stride //= item
    sample_stride //= item
    span = (channels - 1) * channel_stride + (n - 1) * sample_stride + 1 if n else 0
    flat = np.lib.stride_tricks.as_strided(waveform, shape=(span,), strides=(item,))
    return flat, channel_stride, sample_stride


def _numpy_mixes_pairwise(waveform: Waveform) -> bool | None:
    """How ``waveform.mean(axis=0)`` adds channels: True pairwise, False in turn, None unknown.

    NumPy's reduction loops over the axis of smallest stride innermost, and sums
    an innermost reduction axis pairwise; below 8 channels both orders agree.
    """
    channels, samples = waveform.shape
    channel_stride, sample_stride = waveform.strides
    if (channels > 1 and channel_stride <= 0) or (samples > 1 and sample_stride <= 0):
        return None
    if channels < 8:
        return False
    return samples == 1 or channel_stride < sample_stride
