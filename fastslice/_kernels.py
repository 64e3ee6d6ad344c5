"""Numba kernels: the arithmetic of openvpi's ``slicer2.Slicer``, reproduced bit for bit.

Pure functions of arrays and numbers.  No validation, no module globals, no
allocation of the audio's size: the caller (``fastslice.cutting.slicer``) checks its
inputs and owns every output buffer.  Every value is computed in the dtype of
the samples (float32 or float64), in the same order as NumPy computes it, so
that threshold decisions and argmin ties come out exactly as in the reference.

Pairwise sums.  NumPy sums a contiguous run of n values in blocks of at
most 128 (8 accumulators each), halving larger runs at ``n // 2`` rounded down
to a multiple of 8.  The halving depends on n only, so the caller computes it
once as a *plan* (see ``fastslice.cutting.slicer.pairwise_plan``) and the kernels walk
it with a small stack instead of recursing.

Frames.  Frame ``j`` is the window of ``win`` samples starting at sample
``j * hop - win // 2``; samples outside ``[0, n_samples)`` are zeros (the
reference pads with ``np.pad(mode="constant")``).  Its RMS is
``sqrt(pairwise_sum_of_squares(window) / win)``.

Silence tags.  ``tag_silences`` is the reference's loop over frames with its
state made explicit (``state`` in, ``state`` out), so that frames can arrive in
blocks.  RMS values are read from a ring: frame ``j`` lives at
``rms[j % rms.shape[0]]``.  The look-back never reaches more than
``2 * max_sil_kept`` frames behind the current one, so a call over frames
``first..stop-1`` needs the ring to hold frames ``first - 2 * max_sil_kept``
to ``stop - 1``: ``2 * max_sil_kept + (stop - first)`` frames.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._jit import jit

#: Interior frames summed at once by ``frame_rms``: its ``stacks`` need this many rows.
FRAMES_AT_ONCE = 8
#: The kernels' arrays (numba types them from the arguments of each call; these hints are for readers).
Array = npt.NDArray[Any]

@intrinsic
def _eight_lane_sums_of_squares(typingctx: Any, x: Any, first: Any, step: Any, length: Any) -> Any:
    """NumPy's 8-accumulator sums of ``x[s:s + length] ** 2`` for the 8 starts ``s = first + r * step``.

    ``length`` is a multiple of 8, at least 8.  Lane ``j`` adds
    ``x[s + j + 8m] ** 2`` for m = 0, 1, ... in turn, as NumPy's ``r[j]``
    does; the lanes are combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) +
    (r6 + r7))``.  Written with LLVM vectors because numba leaves LLVM's SLP
    vectoriser off, and eight runs at once so that eight independent additions
    hide each other's latency.  No fast-math flags: LLVM may neither
    reassociate nor fuse a multiply with an add.  ``x`` must be contiguous.
    Returns an 8-tuple of sums.
    """
    if not (isinstance(x, types.Array) and x.ndim == 1 and x.layout == "C"):
        return None
    runs = 8
    result = types.UniTuple(x.dtype, runs)  # type: ignore[no-untyped-call, unused-ignore]
    sig = result(x, first, step, length)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array = context.make_array(signature.args[0])(context, builder, args[0])
        vector = ir.VectorType(context.get_value_type(signature.args[0].dtype), 8)
        index = ir.IntType(64)
        first_, step_ = args[1], args[2]
        bases = [
            builder.gep(array.data, [builder.add(first_, builder.mul(step_, ir.Constant(index, r)))])
            for r in range(runs)
        ]

        def load8(base: Any, offset: Any) -> Any:
            return builder.load(builder.bitcast(builder.gep(base, [offset]), vector.as_pointer()), align=1)

        lanes = []
        for base in bases:
            v = load8(base, ir.Constant(index, 0))
            lanes.append(cgutils.alloca_once_value(builder, builder.fmul(v, v)))  # type: ignore[no-untyped-call, unused-ignore]
        eight = ir.Constant(index, 8)
        with cgutils.for_range_slice(builder, eight, args[3], eight, intp=index) as (offset, _):
            for base, acc in zip(bases, lanes):
                v = load8(base, offset)
                builder.store(builder.fadd(builder.load(acc), builder.fmul(v, v)), acc)
        sums = []
        for acc in lanes:
            value = builder.load(acc)
            r = [builder.extract_element(value, ir.Constant(ir.IntType(32), j)) for j in range(8)]
            left = builder.fadd(builder.fadd(r[0], r[1]), builder.fadd(r[2], r[3]))
            right = builder.fadd(builder.fadd(r[4], r[5]), builder.fadd(r[6], r[7]))
            sums.append(builder.fadd(left, right))
        return context.make_tuple(builder, signature.return_type, sums)

    return sig, codegen


@jit
def _block_sum_of_squares(x: Array, start: int, n: int) -> Any:
    """NumPy's pairwise sum of ``x[start:start + n] ** 2`` for 1 <= n <= 128 (one block)."""
    if n < 8:
        v = x[start]
        res = v * v
        for i in range(start + 1, start + n):
            v = x[i]
            res += v * v
        return res
    v0 = x[start]
    v1 = x[start + 1]
    v2 = x[start + 2]
    v3 = x[start + 3]
    v4 = x[start + 4]
    v5 = x[start + 5]
    v6 = x[start + 6]
    v7 = x[start + 7]
    r0 = v0 * v0
    r1 = v1 * v1
    r2 = v2 * v2
    r3 = v3 * v3
    r4 = v4 * v4
    r5 = v5 * v5
    r6 = v6 * v6
    r7 = v7 * v7
    stop8 = start + n - n % 8
    for i in range(start + 8, stop8, 8):
        v0 = x[i]
        v1 = x[i + 1]
        v2 = x[i + 2]
        v3 = x[i + 3]
        v4 = x[i + 4]
        v5 = x[i + 5]
        v6 = x[i + 6]
        v7 = x[i + 7]
        r0 += v0 * v0
        r1 += v1 * v1
        r2 += v2 * v2
        r3 += v3 * v3
        r4 += v4 * v4
        r5 += v5 * v5
        r6 += v6 * v6
        r7 += v7 * v7
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(stop8, start + n):
        v = x[i]
        res += v * v
    return res


@jit
def pairwise_sum_of_squares(x: Array, start: int, plan: Array, stack: Array) -> Any:
    """NumPy's pairwise sum of ``x[start:start + n] ** 2``, following ``plan``.

    ``plan`` comes from ``fastslice.cutting.slicer.pairwise_plan(n)``; ``stack`` is
    scratch of the samples' dtype with ``plan.shape[0]`` elements.
    """
    top = 0
    for k in range(plan.shape[0]):
        length = plan[k, 1]
        if length > 0:
            stack[top] = _block_sum_of_squares(x, start + plan[k, 0], length)
            top += 1
        else:
            top -= 1
            stack[top - 1] = stack[top - 1] + stack[top]
    return stack[0]


# The channel mix.  NumPy's ``x.mean(axis=0)`` adds the channels one after another when the
# channel axis is its outer loop (C order) and pairwise when it is the inner one (F order);
# the two differ from 8 channels on.  These kernels add them one after another; the wrappers
# leave the rare pairwise case (8 or more interleaved channels) to NumPy itself, so that its
# code is never compiled for the common one.  Plain loops throughout: array expressions
# (``out[:] = ...``, ``out += ...``) would compile NumPy's broadcasting and the text of its
# errors, seconds of a cold start, for no speed.


@jit
def mix_rows(flat: Array, channels: int, channel_stride: int, first_sample: int, n_channels: float, out: Array) -> None:
    """``out[k]`` = the mean of the channels of sample ``first_sample + k``, added one after another.

    Channel ``c`` is the contiguous row ``flat[c * channel_stride:]`` (a channels-first
    array in C order, or rows of a wider buffer).  ``n_channels`` is ``channels`` in the
    samples' dtype.
    """
    m = out.shape[0]
    first = flat[first_sample : first_sample + m]
    if channels == 2:  # stereo, the common case, in one pass; x / 2 == x * 0.5 exactly
        second = flat[channel_stride + first_sample : channel_stride + first_sample + m]
        half = 1 / n_channels
        for k in range(m):
            out[k] = (first[k] + second[k]) * half
        return
    for k in range(m):
        out[k] = first[k]
    for c in range(1, channels):
        row = flat[c * channel_stride + first_sample : c * channel_stride + first_sample + m]
        for k in range(m):
            out[k] += row[k]
    for k in range(m):
        out[k] /= n_channels


@jit
def mix_interleaved(flat: Array, channels: int, sample_stride: int, first_sample: int, n_channels: float,
                    out: Array) -> None:
    """``mix_rows`` for interleaved samples: channel c of sample n is ``flat[n * sample_stride + c]``.

    That is the memory of soundfile's blocks (``sample_stride == channels``) and of a
    channels-first array in F order (librosa's transposed view).
    """
    m = out.shape[0]
    if channels == 2 and sample_stride == 2:  # x / 2 == x * 0.5 exactly
        pairs = flat[2 * first_sample : 2 * (first_sample + m)]
        half = 1 / n_channels
        for k in range(m):
            out[k] = (pairs[2 * k] + pairs[2 * k + 1]) * half
        return
    for k in range(m):
        base = (first_sample + k) * sample_stride
        acc = flat[base]
        for c in range(1, channels):
            acc += flat[base + c]
        out[k] = acc / n_channels


@jit
def decode_and_mix(flat: Array, channels: int, scale: float, n_channels: float, full_scale: float, largest: float,
                   out: Array, integer_sums: Array) -> tuple[int, int]:
    """A decoded block as the analysis needs it, in one pass: ``mix_interleaved`` of its float32 samples.

    ``flat`` holds ``len(out)`` interleaved frames in the decoder's own dtype (int16, int32,
    float32, float64); each sample becomes float32 as libsndfile reads it,
    ``float32(sample) * scale`` (``scale`` is 1 for float data).  ``out[k]`` is the mean of
    frame k's channels, exactly as ``mix_interleaved`` gives it.  Also counts, for the checks
    of a file, the samples at or beyond ``full_scale`` and those that are not finite (beyond
    ``largest``, or NaN); returns ``(at_full_scale, not_finite)``.  ``integer_sums``
    (int64, one per channel, or empty) gains each channel's integer samples, exactly.
    """
    m = out.shape[0]
    at_full_scale = 0
    not_finite = 0
    if channels == 2:  # x / 2 == x * 0.5 exactly
        half = 1 / n_channels
        for k in range(m):
            left = np.float32(flat[2 * k]) * scale
            right = np.float32(flat[2 * k + 1]) * scale
            out[k] = (left + right) * half
            a, b = abs(left), abs(right)
            at_full_scale += (a >= full_scale) + (b >= full_scale)
            not_finite += (not a <= largest) + (not b <= largest)
        if integer_sums.shape[0] == 2:
            left_sum = 0
            right_sum = 0
            for k in range(m):
                left_sum += np.int64(flat[2 * k])
                right_sum += np.int64(flat[2 * k + 1])
            integer_sums[0] += left_sum
            integer_sums[1] += right_sum
        return at_full_scale, not_finite
    for k in range(m):
        acc = np.float32(0)
        for c in range(channels):
            v = np.float32(flat[k * channels + c]) * scale
            a = abs(v)
            at_full_scale += a >= full_scale
            not_finite += not a <= largest
            acc = v if c == 0 else acc + v
        out[k] = acc / n_channels
    if integer_sums.shape[0] == channels:
        for k in range(m):
            for c in range(channels):
                integer_sums[c] += np.int64(flat[k * channels + c])
    return at_full_scale, not_finite


@jit
def _eight_frames_sum_of_squares(x: Array, s0: int, hop: int, plan: Array, stacks: Array) -> None:
    """``pairwise_sum_of_squares`` of the eight windows starting at ``s0 + r * hop`` into ``stacks[r, 0]``.

    ``stacks`` is (8, len(plan)) scratch.
    """
    top = 0
    for k in range(plan.shape[0]):
        length = plan[k, 1]
        if length == 0:
            top -= 1
            for r in range(8):
                stacks[r, top - 1] = stacks[r, top - 1] + stacks[r, top]
            continue
        start = s0 + plan[k, 0]
        if length < 8:
            for r in range(8):
                stacks[r, top] = _block_sum_of_squares(x, start + r * hop, length)
        else:
            n8 = length - length % 8
            sums: Any = _eight_lane_sums_of_squares(x, start, hop, n8)  # type: ignore[call-arg]  # numba types it
            for r in range(8):
                acc = sums[r]
                for i in range(start + r * hop + n8, start + r * hop + length):
                    v = x[i]
                    acc += v * v
                stacks[r, top] = acc
        top += 1


@jit
def frame_rms(mono: Array, mono_offset: int, n_samples: int, hop: int, first_frame: int, win_length: float,
              plan: Array, stacks: Array, scratch: Array, out: Array) -> None:
    """RMS of frames ``first_frame, first_frame + 1, ...`` into ``out``.

    ``mono[k]`` holds sample ``mono_offset + k`` of a signal of ``n_samples``
    samples, and must hold every in-range sample of the requested frames.  The
    window is ``win = scratch.shape[0]`` samples; ``win_length`` is ``win`` in
    the samples' dtype and ``plan`` its pairwise plan; ``stacks`` is scratch of
    shape (8, len(plan)) or more columns.  ``scratch`` holds the zero-padded window of frames
    that overhang either end of the signal.  Interior frames go eight at a time.
    """
    win = scratch.shape[0]
    half = win // 2
    n_out = out.shape[0]
    stack = stacks[0]
    k = 0
    while k < n_out:
        begin = (first_frame + k) * hop - half
        if k + 8 <= n_out and begin >= 0 and begin + 7 * hop + win <= n_samples:
            _eight_frames_sum_of_squares(mono, begin - mono_offset, hop, plan, stacks)
            for r in range(8):
                out[k + r] = np.sqrt(stacks[r, 0] / win_length)
            k += 8
            continue
        if begin >= 0 and begin + win <= n_samples:
            total = pairwise_sum_of_squares(mono, begin - mono_offset, plan, stack)
        else:
            for t in range(win):
                p = begin + t
                if p >= 0 and p < n_samples:
                    scratch[t] = mono[p - mono_offset]
                else:
                    scratch[t] = 0
            # np.int64(0), not 0: a literal 0 would compile a second specialization of the callee.
            total = pairwise_sum_of_squares(scratch, np.int64(0), plan, stack)
        out[k] = np.sqrt(total / win_length)
        k += 1


@jit
def _block_span(j0: int, j1: int, n_samples: int, hop: int, win: int) -> tuple[int, int]:
    """Samples ``[lo, hi)`` that frames ``j0..j1-1`` read, clipped to the signal."""
    lo = min(n_samples, max(0, j0 * hop - win // 2))
    return lo, max(lo, min(n_samples, (j1 - 1) * hop - win // 2 + win))


# The frames of a channel mix, made one block of frames at a time in ``block`` (at least
# ``win + hop`` samples) so that no buffer of the audio's size is needed.  One kernel per
# memory layout, so that each compiles only the mix it uses.  Arguments as in ``mix_rows``
# or ``mix_interleaved`` and ``frame_rms``; any range of frames can be computed on its own
# (threads take disjoint ranges).


@jit
def rows_frame_rms(flat: Array, channels: int, channel_stride: int, n_samples: int, n_channels: float, hop: int,
                   win_length: float, plan: Array, stacks: Array, block: Array, scratch: Array, first_frame: int,
                   out: Array) -> None:
    """RMS of frames ``first_frame, first_frame + 1, ...`` of the channel mix of rows (``mix_rows``) into ``out``."""
    win = scratch.shape[0]
    step = max(1, (block.shape[0] - win) // hop + 1)  # frames whose samples fit in block
    for k0 in range(0, out.shape[0], step):
        k1 = min(out.shape[0], k0 + step)
        lo, hi = _block_span(first_frame + k0, first_frame + k1, n_samples, hop, win)
        mix_rows(flat, channels, channel_stride, lo, n_channels, block[: hi - lo])
        frame_rms(block[: hi - lo], lo, n_samples, hop, first_frame + k0, win_length, plan, stacks, scratch, out[k0:k1])


@jit
def interleaved_frame_rms(flat: Array, channels: int, sample_stride: int, n_samples: int, n_channels: float,
                          hop: int, win_length: float, plan: Array, stacks: Array, block: Array, scratch: Array,
                          first_frame: int, out: Array) -> None:
    """``rows_frame_rms`` of interleaved samples (``mix_interleaved``)."""
    win = scratch.shape[0]
    step = max(1, (block.shape[0] - win) // hop + 1)
    for k0 in range(0, out.shape[0], step):
        k1 = min(out.shape[0], k0 + step)
        lo, hi = _block_span(first_frame + k0, first_frame + k1, n_samples, hop, win)
        mix_interleaved(flat, channels, sample_stride, lo, n_channels, block[: hi - lo])
        frame_rms(block[: hi - lo], lo, n_samples, hop, first_frame + k0, win_length, plan, stacks, scratch, out[k0:k1])


@jit
def _ring_argmin(rms: Array, lo: int, hi: int) -> int:
    """First argmin of frames ``lo..hi`` (inclusive) of the ring, as ``np.argmin``: a NaN wins."""
    size = rms.shape[0]
    best = lo
    best_value = rms[lo % size]
    if best_value != best_value:
        return lo
    for j in range(lo + 1, hi + 1):
        value = rms[j % size]
        if value != value:
            return j
        if value < best_value:
            best = j
            best_value = value
    return best


@jit
def tag_silences(rms: Array, first: int, stop: int, threshold: float, min_interval: int, min_length: int,
                 max_sil_kept: int, state: Array, tags: Array) -> int:
    """Run the reference's silence loop over frames ``first..stop-1``.

    Lengths are in frames, ``threshold`` is an amplitude in the RMS dtype.
    ``state`` (int64, 3 elements) carries the loop between calls: the first
    frame of the current silent run (or -1), the frame where the current clip
    starts, and the first argmin of the silent run's first ``max_sil_kept + 1``
    frames; start it at ``[-1, 0, -1]``.  Silences to cut are appended to ``tags`` (an int64
    array of at least ``stop - first`` rows) as ``[left, right]`` frames; the
    number written is returned.
    """
    size = rms.shape[0]
    silence_start = state[0]
    clip_start = state[1]
    head_min = state[2]
    count = 0
    for i in range(first, stop):
        value = rms[i % size]
        if value < threshold:
            if silence_start < 0:
                silence_start = i
                head_min = i
            elif i - silence_start <= max_sil_kept and value < rms[head_min % size]:
                head_min = i
            continue
        if silence_start < 0:
            continue
        is_leading_silence = silence_start == 0 and i > max_sil_kept
        need_slice_middle = i - silence_start >= min_interval and i - clip_start >= min_length
        if not is_leading_silence and not need_slice_middle:
            silence_start = -1
            continue
        if i - silence_start <= max_sil_kept:
            pos = _ring_argmin(rms, silence_start, i)
            tags[count, 0] = 0 if silence_start == 0 else pos
            tags[count, 1] = pos
            clip_start = pos
        elif i - silence_start <= 2 * max_sil_kept:
            pos = _ring_argmin(rms, i - max_sil_kept, silence_start + max_sil_kept)
            pos_r = _ring_argmin(rms, i - max_sil_kept, i)
            if silence_start == 0:
                tags[count, 0] = 0
                tags[count, 1] = pos_r
                clip_start = pos_r
            else:
                tags[count, 0] = min(head_min, pos)
                tags[count, 1] = max(pos_r, pos)
                clip_start = max(pos_r, pos)
        else:
            pos_r = _ring_argmin(rms, i - max_sil_kept, i)
            tags[count, 0] = 0 if silence_start == 0 else head_min
            tags[count, 1] = pos_r
            clip_start = pos_r
        count += 1
        silence_start = -1
    state[0] = silence_start
    state[1] = clip_start
    state[2] = head_min
    return count


@jit
def trailing_tag(n_frames: int, min_interval: int, state: Array, tag: Array) -> int:
    """The reference's trailing-silence rule after the last frame; returns 1 if it wrote ``tag``."""
    silence_start = state[0]
    if silence_start >= 0 and n_frames - silence_start >= min_interval:
        tag[0] = state[2]
        tag[1] = n_frames + 1
        return 1
    return 0


@jit
def _through_sections(sos: Array, state: Array, c: int, x: float) -> float:
    """One sample ``x`` (float64) of channel ``c`` through the second-order sections ``sos`` (n, 6) in
    transposed direct form II, ``state[c]`` (n, 2) updated; the filtered sample."""
    for s in range(sos.shape[0]):
        b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        y = b0 * x + state[c, s, 0]
        state[c, s, 0] = b1 * x - a1 * y + state[c, s, 1]
        state[c, s, 1] = b2 * x - a2 * y
        x = y
    return x


@jit
def sos_filter(sos: Array, state: Array, block: Array, out: Array) -> None:
    """Filter ``block`` (frames, channels) through the second-order sections ``sos`` (n, 6) into ``out``,
    in transposed direct form II, in float64; ``state`` (channels, n, 2) is carried to the next block."""
    frames = block.shape[0]
    for c in range(block.shape[1]):
        for k in range(frames):
            out[k, c] = _through_sections(sos, state, c, np.float64(block[k, c]))


@jit
def filtered_energy(sos: Array, state: Array, block: Array, sums: Array, stops: Array, out: Array) -> None:
    """Filter ``block`` (frames, channels) through ``sos`` (n, 6) as ``sos_filter`` does, adding each
    filtered sample's square to ``sums[channel]`` (float64); after ``stops[k]`` samples of the block
    (ascending, 1..frames), ``out[k]`` is a copy of ``sums``.  ``state`` is carried to the next block."""
    frames, channels = block.shape
    k = 0
    n_stops = stops.shape[0]
    while k < n_stops and stops[k] <= 0:
        for c in range(channels):
            out[k, c] = sums[c]
        k += 1
    for i in range(frames):
        for c in range(channels):
            x = _through_sections(sos, state, c, np.float64(block[i, c]))
            sums[c] += x * x
        while k < n_stops and stops[k] == i + 1:
            for c in range(channels):
                out[k, c] = sums[c]
            k += 1


@jit
def count_beyond_full_scale(block: Array) -> int:
    """Samples of a float block (any shape, contiguous) above 1.0 or below -1.0: what an integer
    format clips."""
    flat = block.reshape(-1)
    count = 0
    for i in range(flat.shape[0]):
        if flat[i] > 1.0 or flat[i] < -1.0:
            count += 1
    return count
