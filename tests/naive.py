"""Naive reference implementations, one per kernel: plain Python, slow, obviously right.

Each follows NumPy's float rules by hand (pairwise summation, first argmin) so the
fast kernels can be compared with something that is not NumPy itself.
"""
import numpy as np


def pairwise_sum(values):
    """NumPy's pairwise sum of a 1-D array, written out (numpy loops_utils.h.src)."""
    t = values.dtype.type
    n = len(values)
    if n < 8:
        res = t(0)
        for v in values:
            res = t(res + v)
        return res
    if n <= 128:
        r = [t(v) for v in values[:8]]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] = t(r[j] + values[i + j])
            i += 8
        res = t(t(t(r[0] + r[1]) + t(r[2] + r[3])) + t(t(r[4] + r[5]) + t(r[6] + r[7])))
        while i < n:
            res = t(res + values[i])
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return t(pairwise_sum(values[:half]) + pairwise_sum(values[half:]))


def frame_rms(mono, win, hop):
    """RMS of each frame: zero-padded by win // 2 on both sides, pairwise mean square."""
    t = mono.dtype.type
    half = win // 2
    padded = np.concatenate([np.zeros(half, mono.dtype), mono, np.zeros(half, mono.dtype)])
    n_frames = (len(padded) - win) // hop + 1
    out = np.empty(n_frames, mono.dtype)
    for j in range(n_frames):
        window = padded[j * hop : j * hop + win]
        out[j] = np.sqrt(t(pairwise_sum(window * window) / t(win)))
    return out


def mix(waveform, pairwise):
    """Channel mean per sample: channels added in turn, or pairwise."""
    t = waveform.dtype.type
    channels, n = waveform.shape
    out = np.empty(n, waveform.dtype)
    for k in range(n):
        column = np.ascontiguousarray(waveform[:, k])
        if pairwise:
            acc = pairwise_sum(column)
        else:
            acc = t(0)
            for v in column:
                acc = t(acc + v)
        out[k] = t(acc / t(channels))
    return out


def first_argmin(values):
    for k, v in enumerate(values):
        if v != v:
            return k
    best = 0
    for k, v in enumerate(values):
        if v < values[best]:
            best = k
    return best


def silence_tags(rms, threshold, min_interval, min_length, max_sil_kept):
    """The reference's loop over frames, transcribed with a hand-written argmin."""
    tags = []
    silence_start = None
    clip_start = 0
    for i, value in enumerate(rms):
        if value < threshold:
            if silence_start is None:
                silence_start = i
            continue
        if silence_start is None:
            continue
        leading = silence_start == 0 and i > max_sil_kept
        middle = i - silence_start >= min_interval and i - clip_start >= min_length
        if not leading and not middle:
            silence_start = None
            continue
        ss, m = silence_start, max_sil_kept
        if i - ss <= m:
            pos = first_argmin(rms[ss : i + 1]) + ss
            tags.append((0, pos) if ss == 0 else (pos, pos))
            clip_start = pos
        elif i - ss <= 2 * m:
            pos = first_argmin(rms[i - m : ss + m + 1]) + i - m
            pos_l = first_argmin(rms[ss : ss + m + 1]) + ss
            pos_r = first_argmin(rms[i - m : i + 1]) + i - m
            if ss == 0:
                tags.append((0, pos_r))
                clip_start = pos_r
            else:
                tags.append((min(pos_l, pos), max(pos_r, pos)))
                clip_start = max(pos_r, pos)
        else:
            pos_l = first_argmin(rms[ss : ss + m + 1]) + ss
            pos_r = first_argmin(rms[i - m : i + 1]) + i - m
            tags.append((0, pos_r) if ss == 0 else (pos_l, pos_r))
            clip_start = pos_r
        silence_start = None
    total = len(rms)
    if silence_start is not None and total - silence_start >= min_interval:
        end = min(total, silence_start + max_sil_kept)
        pos = first_argmin(rms[silence_start : end + 1]) + silence_start
        tags.append((pos, total + 1))
    return tags
