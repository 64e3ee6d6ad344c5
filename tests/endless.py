"""An endless WAV stream on a real pipe, and Ctrl-C sent to the slicer reading it.

The test writes the stream itself: a 16-bit mono WAV header that gives no size, then blocks of
5 s seeded by their number (``block``), without end.  A pipe holds at most 64 KB (2 s here), so
once the write of block ``n`` has returned the slicer has read all but the last 2 s of it: that
is the event the Ctrl-C waits for (no clock, no polling).  The writing goes on after the Ctrl-C,
until the slicer has gone, so a read that the signal did not interrupt still returns.
"""
import signal
import struct
import subprocess
import threading

import numpy as np

import signals


def block(k, sr, kind="silences"):
    """Block ``k`` of the stream (int16): speech-like bursts with stretches of digital silence
    (``"silences"``), or over a -55 dB noise floor throughout (``"floor"``)."""
    if kind == "silences":
        x = signals.with_digital_silence(signals.speech_like(k, 5, sr, channels=1), k, sr)[0]
    else:
        x = signals.speech_like(k, 5, sr, channels=1, floor_db=-55)[0]
    return (np.clip(x, -1, 1 - 2 ** -15) * 32768).astype(np.int16)


def samples(n_blocks, sr, kind="silences"):
    """The stream's first ``n_blocks`` blocks, joined (int16)."""
    return np.concatenate([block(k, sr, kind) for k in range(n_blocks)])


def slice_until_interrupted(slicer_argv, sr, kind, blocks, timeout=120):
    """Run ``slicer_argv`` reading the endless stream on its standard input; once ``blocks`` blocks
    have been written into the pipe, send it SIGINT.  Returns ``(returncode, stderr, written)``:
    ``written``, the blocks written in all (the slicer has read no more than these).  The slicer is
    gone after."""
    slicer = subprocess.Popen(slicer_argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ready, written = threading.Event(), [0]

    def write():
        try:
            fmt = struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16)
            slicer.stdin.write(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + fmt + b"data" +
                               struct.pack("<I", 0xFFFFFFFF))
            while True:
                # returns once the slicer has read all but 64 KB of it
                slicer.stdin.write(block(written[0], sr, kind).astype("<i2").tobytes())
                slicer.stdin.flush()
                written[0] += 1
                if written[0] == blocks:
                    ready.set()
        except (BrokenPipeError, ValueError):  # the slicer has gone
            pass
        finally:
            ready.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        assert ready.wait(timeout) and written[0] >= blocks, "the stream is not being read"
        slicer.send_signal(signal.SIGINT)
        stderr = slicer.stderr.read().decode()
        slicer.wait(timeout=60)
    finally:
        slicer.kill()
        slicer.wait()
        writer.join(timeout=60)
        try:
            slicer.stdin.close()
        except BrokenPipeError:
            pass
    return slicer.returncode, stderr, written[0]
