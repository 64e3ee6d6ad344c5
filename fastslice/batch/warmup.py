"""Compile fastslice's kernels before the first real run: ``fastslice warmup``.

Numba compiles a kernel the first time it is called with a given dtype and
array layout, and caches the result on disk (see ``fastslice._jit``).  These
functions make those first calls on a few seconds of generated audio, so
that a Docker image, a CI job or a new venv pays the compilation once, ahead of time.
"""
from __future__ import annotations

import time
import types
from typing import Any, Iterable, TypedDict

import numpy as np
import numpy.typing as npt

from .. import _jit
from .. import _kernels
from ..cutting.slicer import Slicer
from ..cutting.ranges import RangeStream
from ..reading.decoding import SampleCheck

#: The dtypes fastslice's decoders give samples in (``fastslice.reading.readers``).
SOURCE_DTYPES = ("int16", "int32", "float32", "float64")

_SR = 8000
# Lengths small enough for a 3 s signal with a 1 s pause to be cut, so that every kernel runs.
class _Params(TypedDict):
    """The slicing parameters the warm-up passes to ``Slicer`` (ms and dB)."""

    threshold: float
    min_length: float
    min_interval: float
    hop_size: float
    max_sil_kept: float


_PARAMS: _Params = {"threshold": -40.0, "min_length": 1000, "min_interval": 300, "hop_size": 10, "max_sil_kept": 500}


def _stereo(dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """3 s of seeded noise with a quiet second in the middle, (2, samples)."""
    x = np.random.default_rng(0).standard_normal((2, 3 * _SR)) * 0.1
    x[:, _SR : 2 * _SR] *= 1e-3
    return x.astype(dtype)


def warm_command_line(sources: Iterable[npt.DTypeLike] = ("int16", "float32")) -> None:
    """The kernels of the command line's path (``slice_file``), for inputs decoded as ``sources``
    (int16: 16-bit PCM; int32: 24/32-bit PCM; float32: MP3, M4A, Ogg, float WAV; float64: double WAV)."""
    x = _stereo(np.float32).T
    for source in (np.dtype(s) for s in sources):
        samples = (x * 2 ** (8 * source.itemsize - 1)).astype(source) if source.kind == "i" else x.astype(source)
        decoded: Any = types.SimpleNamespace(name="warm-up", samplerate=_SR, channels=2, float_data=source.kind == "f",
                                        dtype=source)
        mono = np.empty(samples.shape[0], np.float32)
        SampleCheck(decoded).mix(samples, 0, mono)
        stream = RangeStream(Slicer(_SR, **_PARAMS), None, 2, np.float32)
        assert len(stream.feed_mono(mono) + stream.finish()) > 1, "warm-up signal not cut"


def warm_filters() -> None:
    """The kernels of ``--highpass`` (``fastslice.rendering.filters``), of ``--loudness`` (``fastslice.rendering.loudness``)
    and of the count of samples past full scale."""
    from .. import _kernels
    from ..rendering.filters import HighPass, butter_highpass
    from ..rendering.loudness import Meter

    x = _stereo(np.float32).T
    HighPass(butter_highpass(5, 48, _SR), 2)(x)
    meter = Meter(_SR, 2)
    meter.feed(np.ascontiguousarray(x))
    assert meter.integrated() is not None
    _kernels.count_beyond_full_scale(np.ascontiguousarray(x))


def warm_streaming(dtype: npt.DTypeLike) -> None:
    """The kernels of ``RangeStream.feed`` (blocks of interleaved float samples)."""
    stream = RangeStream(Slicer(_SR, **_PARAMS), None, 2, dtype)
    assert len(stream.feed(_stereo(dtype).T) + stream.finish()) > 1, "warm-up signal not cut"


def warm_in_memory(dtype: npt.DTypeLike) -> None:
    """The kernels of ``Slicer.slice`` for mono, channels-first (C order) and interleaved (F order) input."""
    x = _stereo(dtype)
    slicer = Slicer(_SR, **_PARAMS)
    for waveform in (np.ascontiguousarray(x[0]), x, np.asfortranarray(x)):
        assert len(slicer.slice_ranges(waveform)) > 1, "warm-up signal not cut"


def warm_up(dtypes: Iterable[npt.DTypeLike] = ("float32", "float64")) -> tuple[float, int, int, str | None]:
    """Compile (or load from numba's cache) every kernel the command line, ``RangeStream`` and
    ``Slicer`` use, for every dtype a decoder gives and for analysis in each of ``dtypes``.

    Returns ``(seconds, compiled, loaded, cache_folder)``: how long it took, how many
    kernel specializations were compiled and how many loaded from the cache, and where
    numba caches them (None if it cannot).
    """
    kernels = [k for k in vars(_kernels).values() if hasattr(k, "stats")]
    before = [_counts(k) for k in kernels]
    started = time.perf_counter()
    warm_command_line(SOURCE_DTYPES)
    warm_filters()
    for dtype in dtypes:
        warm_streaming(np.dtype(dtype))
        warm_in_memory(np.dtype(dtype))
    seconds = time.perf_counter() - started
    after = [_counts(k) for k in kernels]
    compiled = sum(a[0] - b[0] for a, b in zip(after, before))
    loaded = sum(a[1] - b[1] for a, b in zip(after, before))
    return seconds, compiled, loaded, _jit.cache_dir(_kernels.frame_rms)


def _counts(kernel: Any) -> tuple[int, int]:
    """(specializations compiled, specializations loaded from the cache) of a kernel so far."""
    stats = kernel.stats
    return sum(stats.cache_misses.values()), sum(stats.cache_hits.values())
