"""The high-pass filter of ``--highpass HZ``: a Butterworth filter, designed here without SciPy.

``butter_highpass(order, cutoff_hz, sample_rate)`` gives second-order sections ``(n, 6)`` as
``scipy.signal.butter(order, cutoff_hz, "highpass", fs=sample_rate, output="sos")`` does: the
analog prototype's poles, the high-pass transform at the pre-warped cutoff, the bilinear
transform, and the poles paired into sections nearest the unit circle last.

``HighPass(sos, channels)`` filters ``(frames, channels)`` blocks one after another, the
filter's state carried across them (``_kernels.sos_filter``, transposed direct form II in
float64), so that a file filtered in blocks equals ``sosfilt`` over the whole signal within
float rounding, in constant memory.
"""
import numpy as np

from .. import _kernels
from ..errors import ParameterError


def butter_highpass(order, cutoff_hz, sample_rate):
    """Second-order sections of an ``order``-th order Butterworth high-pass at ``cutoff_hz``."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= 20:
        raise ParameterError(f"highpass order={order!r} must be a whole number from 1 to 20")
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ParameterError(f"highpass={cutoff_hz!r} Hz must be above 0 and below half the sample rate "
                             f"({sample_rate / 2:g} Hz)")
    prototype = -np.exp(1j * np.pi * np.arange(-order + 1, order, 2) / (2 * order))  # cutoff 1 rad/s, gain 1
    fs2 = 2.0 * sample_rate
    warped = fs2 * np.tan(np.pi * cutoff_hz / sample_rate)
    poles = warped / prototype  # low-pass to high-pass: every zero goes to s = 0
    gain = np.real(1.0 / np.prod(-prototype))
    # the bilinear transform: s = 0 becomes z = 1
    gain *= np.real(fs2 ** order / np.prod(fs2 - poles))
    return _sections(list((fs2 + poles) / (fs2 - poles)), [1.0 + 0j] * order, gain)


def _sections(poles, zeros, gain):
    """SciPy's ``zpk2sos`` with its "nearest" pairing: the pole nearest the unit circle (with its
    conjugate, or the real pole nearest the circle) takes the zeros nearest to it, into the last
    section not yet filled; an odd order is padded with a pole and a zero at 0."""
    if len(poles) % 2:
        poles, zeros = poles + [0j], zeros + [0j]
    n_sections = len(poles) // 2
    sos = np.zeros((n_sections, 6))
    for section in range(n_sections - 1, -1, -1):
        p1 = poles.pop(int(np.argmin([abs(1 - abs(p)) for p in poles])))
        if abs(p1.imag) > 0:
            p2 = poles.pop(int(np.argmin([abs(p - np.conj(p1)) for p in poles])))
        else:
            reals = [k for k, p in enumerate(poles) if p.imag == 0]
            p2 = poles.pop(reals[int(np.argmin([abs(abs(poles[k]) - 1) for k in reals]))])
        z1 = zeros.pop(int(np.argmin([abs(z - p1) for z in zeros])))
        z2 = zeros.pop(int(np.argmin([abs(z - p1) for z in zeros])))  # every zero is real here
        sos[section, :3] = np.real(np.poly([z1, z2]))
        sos[section, 3:] = np.real(np.poly([p1, p2]))
    sos[0, :3] *= gain
    return sos


class HighPass:
    """A high-pass over consecutive ``(frames, channels)`` blocks; ``__call__`` returns float32 blocks."""

    def __init__(self, sos, channels):
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self.state = np.zeros((channels, self.sos.shape[0], 2))
        self._out = np.empty((0, channels), np.float32)

    def __call__(self, block):
        """The next block (float32 samples as libsndfile decodes them) filtered; a buffer reused by the next call."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        if self._out.shape[0] < block.shape[0]:
            self._out = np.empty((block.shape[0], block.shape[1]), np.float32)
        out = self._out[: block.shape[0]]
        _kernels.sos_filter(self.sos, self.state, block, out)
        return out
