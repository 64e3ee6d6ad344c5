"""An endless WAV stream on a real pipe, and Ctrl-C sent to the slicer reading it.

The producer writes a 16-bit mono WAV header that gives no size, then blocks of 5 s seeded by their
number (``block``), without end; after each block it writes how many it has written into its
counter file.
"""
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import signals

_PRODUCER = textwrap.dedent("""
    import os, struct, sys, time
    sys.path.insert(0, sys.argv[1])
    import endless
    sr, kind, counter = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    out = sys.stdout.buffer
    out.write(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16)
              + b"data" + struct.pack("<I", 0xFFFFFFFF))
    k = 0
    while True:
        out.write(endless.block(k, sr, kind).astype("<i2").tobytes())
        out.flush()
        k += 1
        with open(counter + ".part", "w") as f:
            f.write(str(k))
        os.replace(counter + ".part", counter)
        time.sleep(0.02)
""")


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


def blocks_written(counter):
    """How many blocks the producer has written (0 before the first)."""
    try:
        return int(Path(counter).read_text())
    except (FileNotFoundError, ValueError):
        return 0


def slice_until_interrupted(slicer_argv, sr, kind, counter, ready, timeout=120):
    """Run ``slicer_argv`` reading the endless stream on its standard input; once ``ready()``
    (polled), send it SIGINT; returns ``(returncode, stderr)``.  Both processes are gone after."""
    producer = subprocess.Popen([sys.executable, "-c", _PRODUCER, str(Path(__file__).parent), str(sr), kind,
                                 str(counter)], stdout=subprocess.PIPE)
    slicer = subprocess.Popen(slicer_argv, stdin=producer.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    producer.stdout.close()
    try:
        deadline = time.monotonic() + timeout
        while not ready():  # wait for what the test needs, not for a fixed time
            assert slicer.poll() is None and time.monotonic() < deadline, "the stream is not being read"
            time.sleep(0.05)
        slicer.send_signal(signal.SIGINT)
        _, stderr = slicer.communicate(timeout=60)
    finally:
        producer.kill()
        producer.wait()
        slicer.kill()
        slicer.wait()
    return slicer.returncode, stderr
