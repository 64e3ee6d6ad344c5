"""The projects' own slicing steps against the one-line ``fastslice slice`` that replaces each.

Group ``slicing step: <project>``, on the cached 16-bit stereo 44.1 kHz WAV of ``conftest.py``
(one hour, or ``FASTSLICE_BENCH_SECONDS``), each timed in the same run:

* ``test_project_step[rvc]`` - RVC's preprocessing step, restated here around the upstream
  ``Slicer`` with the older short check (the copy RVC ships): ``librosa.load`` at 40 kHz mono,
  SciPy's 5th-order Butterworth high-pass at 48 Hz (``lfilter``), ``Slicer(40000, -42, 1500,
  400, 15, 500)``, each chunk cut into 3.7 s pieces overlapping by 0.3 s, each piece
  peak-normalized (0.9, alpha 0.75) and written as a float WAV at 40 kHz;
* ``test_project_step[gpt_sovits]`` - GPT-SoVITS's ``slice_audio`` step, restated the same way:
  ``librosa.load`` at 32 kHz mono, ``Slicer(32000, -34, 4000, 300, 10, 500)``, each chunk
  peak-normalized (0.9, alpha 0.25) and written as 16-bit WAV named by its offsets;
* ``test_fastslice_step[...]`` - the docs' command for that project (docs/how-to/slicer2-projects.md) (``--highpass``,
  ``--max-length``, ``--normalize``, ``--name``, ``--sr``, ``--mono``) as a whole process, the
  numba cache warm.

The projects resample before slicing and fastslice after, so the cuts are not the same to the
sample; the test checks that the two make a similar number of clips (within 15 %).
``extra_info``: clip counts, and the project's time over fastslice's (``x_fastslice``).

Run::

    pytest benchmarks/test_bench_projects.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group
"""
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "slicer2-projects.md"
FAST_ROUNDS, PROJECT_ROUNDS = 3, 1
_times, _counts = {}, {}


def readme_commands():
    section = re.search(r"## Their whole slicing step, from the command line\n.*?```bash\n(.*?)```", PAGE.read_text(), re.S)
    commands = [line for line in section.group(1).replace("\\\n", " ").splitlines() if line.startswith("fastslice ")]
    gpt_sovits, rvc = commands
    return {"gpt_sovits": gpt_sovits, "rvc": rvc}


def rvc_step(wav, out, legacy):
    import librosa
    import scipy.signal

    sr, per, overlap = 40000, 3.7, 0.3
    audio, _ = librosa.load(wav, sr=sr, mono=True)
    b, a = scipy.signal.butter(5, 48, btype="high", fs=sr)
    audio = scipy.signal.lfilter(b, a, audio)
    written = 0
    for chunk in legacy.Slicer(sr, -42, 1500, 400, 15, 500).slice(audio):
        start = 0
        while True:
            last = len(chunk) - start <= (per + overlap) * sr
            piece = chunk[start:] if last else chunk[start : start + int(per * sr)]
            peak = np.abs(piece).max()
            if 0 < peak <= 2.5:
                piece = piece / peak * (0.9 * 0.75) + (1 - 0.75) * piece
                soundfile.write(out / f"0_{written}.wav", piece.astype(np.float32), sr)
                written += 1
            if last:
                break
            start += int(sr * (per - overlap))
    return written


def gpt_sovits_step(wav, out, legacy):
    import librosa

    sr = 32000
    audio, _ = librosa.load(wav, sr=sr, mono=True)
    slicer = legacy.Slicer(sr, -34, 4000, 300, 10, 500)
    written = 0
    for chunk in slicer.slice(audio):
        peak = np.abs(chunk).max()
        if peak > 1:
            chunk = chunk / peak
        chunk = chunk / peak * (0.9 * 0.25) + (1 - 0.25) * chunk
        soundfile.write(out / f"{Path(wav).name}_{written:010d}.wav", (chunk * 32767).astype(np.int16), sr)
        written += 1
    return written


STEPS = {"rvc": rvc_step, "gpt_sovits": gpt_sovits_step}


def fresh(tmp_path, name):
    rounds = []

    def setup():
        if rounds:
            shutil.rmtree(rounds[-1])
        rounds.append(tmp_path / f"{name}{len(rounds)}")
        rounds[-1].mkdir()
        return (rounds[-1],), {}

    return setup, rounds


@pytest.fixture(scope="module")
def raw(speech_wav, tmp_path_factory):
    """The hour in a folder of its own, as the commands' raw/ (a link, not a copy)."""
    folder = tmp_path_factory.mktemp("raw")
    (folder / "talk.wav").symlink_to(speech_wav(3600))
    return folder


@pytest.mark.parametrize("project", list(STEPS))
def test_project_step(benchmark, project, raw, legacy, tmp_path):
    benchmark.group = f"slicing step: {project}"
    setup, rounds = fresh(tmp_path, "out")
    n = benchmark.pedantic(lambda out: STEPS[project](raw / "talk.wav", out, legacy), setup=setup,
                           rounds=PROJECT_ROUNDS, iterations=1)
    benchmark.extra_info.update(n_clips=n)
    _counts[("project", project)] = n
    if benchmark.stats:
        _times[("project", project)] = benchmark.stats.stats.median


@pytest.mark.parametrize("project", list(STEPS))
def test_fastslice_step(benchmark, project, raw, tmp_path):
    benchmark.group = f"slicing step: {project}"
    argv = shlex.split(readme_commands()[project])[1:]
    out_index = argv.index("-o") + 1

    def run(out):
        args = [*argv[:out_index], str(out), *argv[out_index + 1 :]]
        args[args.index("raw/")] = str(raw)
        subprocess.run([sys.executable, "-m", "fastslice", *args, "-q", "--overwrite"], check=True)

    run(tmp_path / "warm")  # the numba cache, outside the timing
    setup, rounds = fresh(tmp_path, "out")
    benchmark.pedantic(run, setup=setup, rounds=FAST_ROUNDS, iterations=1)
    n = len(list(rounds[-1].rglob("*.wav")))
    benchmark.extra_info.update(n_clips=n)
    if benchmark.stats and ("project", project) in _times:
        benchmark.extra_info["x_fastslice"] = _times[("project", project)] / benchmark.stats.stats.median
    if ("project", project) in _counts:
        theirs = _counts[("project", project)]
        assert abs(n - theirs) <= 0.15 * theirs + 2, f"fastslice made {n} clips, the project's step {theirs}"
