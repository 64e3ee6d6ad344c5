"""A newcomer's first steps, as the pages give them: in a fresh virtual environment, from a clone.

- The README's install block (the one whose ``not run`` mark names this module) runs in a fresh
  ``python -m venv``, in a ``git clone`` of this checkout, then the README's first command
  (``fastslice demo``) in an empty folder: it exits 0 and writes clips.
- The getting-started page's install block runs there too, then its step 3 (``--sr 44100``) on a
  22.05 kHz recording: exit 0 and 44.1 kHz clips, so resampling needs nothing the page leaves out.
- The example notebook's install cell, where fastslice is missing: refused with the way to get it
  without a wheel, and installs the wheel a clone makes (as the pages say) where one is in the folder.

The commands are read from the pages themselves (the blocks ``tests/test_docs.py`` parses), so the
test follows the pages, not a copy.  A clone holds what is committed: the test checks HEAD, which
is what a newcomer gets.  pip fetches fastslice's dependencies from the package index as a
newcomer's pip does (its cache makes later runs quick).  The environment is made once per module;
its tests run in order on one process (``xdist_group``).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile
from test_docs import Block, blocks_of, commands_of

import signals

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "getting-started.md"
NOTEBOOK = ROOT / "examples" / "so-vits-svc-flow.ipynb"
#: seconds for one step (a venv made, an install from the index, a first slice that compiles)
STEP = 1200

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_first_steps::fresh")]


@dataclass(frozen=True)
class Fresh:
    """A fresh virtual environment and a clone: where the pages' commands run, and with what environment."""

    venv: Path
    clone: Path
    env: dict[str, str]

    def run(self, command: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        """One command of a page, as bash runs it in this environment; the page's line in the failure."""
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], cwd=cwd, env=self.env,
                              capture_output=True, text=True, timeout=STEP)
        if check:
            assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    @property
    def python(self) -> Path:
        return self.venv / ("Scripts" if os.name == "nt" else "bin") / "python"


def install_block(page: Path) -> Block:
    """The page's install block: the one block whose ``not run`` mark says this module runs it."""
    marked = [b for b in blocks_of(page) if b.not_run and "test_first_steps.py" in b.not_run]
    assert len(marked) == 1, f"{page.name}: {len(marked)} blocks marked as run by test_first_steps.py, not one"
    assert marked[0].lang == "bash" and "pip install" in marked[0].text
    return marked[0]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Fresh:
    """A clone of this checkout, a venv made with ``python -m venv``, and the README's install run in the clone."""
    if not (ROOT / ".git").exists():
        pytest.skip(f"{ROOT} is not a git checkout (an unpacked sdist?): the README installs from a clone")
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the README installs from a clone")
    base = tmp_path_factory.mktemp("first-steps")
    clone = base / "fastslice"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=STEP)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=STEP)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE"}}
    env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               NUMBA_CACHE_DIR=str(base / "numba-cache"), PIP_NO_INPUT="1")
    made = Fresh(venv, clone, env)
    assert Path(shutil.which("pip", path=env["PATH"]) or "").parent == bin_dir  # the venv's pip, not another
    outside = base / "outside"  # a folder without the clone in it (python -c imports from the current folder)
    outside.mkdir()
    assert made.run("python -c 'import fastslice'", cwd=outside, check=False).returncode != 0  # fresh: nothing yet
    for command in commands_of(install_block(README).text):
        made.run(command, cwd=clone)
    return made


def test_the_readme_install_and_first_command_in_a_fresh_venv(fresh: Fresh, tmp_path: Path) -> None:
    where = fresh.run("python -c 'import fastslice; print(fastslice.__file__)'", cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(fresh.venv), where  # installed into the venv, not read from a checkout
    blocks = blocks_of(README)
    after = blocks[blocks.index(install_block(README)) + 1 :]
    first = next(b for b in after if b.not_run is None and b.lang == "bash")
    commands = commands_of(first.text)
    assert commands and commands[0].split()[:2] == ["fastslice", "demo"], commands
    empty = tmp_path / "empty"
    empty.mkdir()
    done = [fresh.run(command, cwd=empty) for command in commands]
    assert "into" in done[0].stdout and "clips" in done[0].stdout, done[0].stdout
    clips = sorted((empty / "fastslice-demo" / "clips").glob("*.wav"))
    assert len(clips) > 2 and all(soundfile.info(c).frames > 0 for c in clips)


def test_the_getting_started_install_and_its_step_3_on_a_22_khz_recording(fresh: Fresh, tmp_path: Path) -> None:
    for command in commands_of(install_block(GUIDE).text):
        fresh.run(command, cwd=fresh.clone)
    fresh.run("python -c 'import matplotlib, soxr'", cwd=tmp_path)  # the plot extra, and soxr with fastslice itself
    step3 = next(b for b in blocks_of(GUIDE) if b.not_run is None and "--sr 44100" in b.text)
    commands = commands_of(step3.text)
    assert len(commands) == 1 and commands[0].startswith("fastslice slice drama.wav")
    sr = 22050
    drama = signals.with_digital_silence(signals.speech_like(seed=31, seconds=100, sr=sr), 31, sr)
    soundfile.write(tmp_path / "drama.wav", drama.T, sr, subtype="PCM_16")
    fresh.run(commands[0], cwd=tmp_path)
    clips = sorted((tmp_path / "dataset").glob("drama_*.wav"))
    assert len(clips) > 2
    assert {soundfile.info(c).samplerate for c in clips} == {44100}
    assert all(soundfile.info(c).duration <= 8.0 for c in clips)
    assert (tmp_path / "dataset.zip").is_file()
    with open(tmp_path / "dataset.csv", newline="") as manifest:
        rows = list(csv.DictReader(manifest))
    assert len(rows) == len(clips) and {(row["sample_rate"], row["source_rate"]) for row in rows} == {("44100", "22050")}


def test_the_notebooks_install_cell_takes_the_wheel_a_clone_makes(fresh: Fresh, tmp_path: Path) -> None:
    cell = "".join(json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"][1]["source"])
    assert cell.startswith("# 1. Install fastslice")
    script = tmp_path / "install_cell.py"
    script.write_text(cell, encoding="utf-8")
    fresh.run("pip uninstall -y -q fastslice", cwd=tmp_path)
    try:
        empty = tmp_path / "no-wheel"
        empty.mkdir()
        refused = fresh.run(f"python {script}", cwd=empty, check=False)
        assert refused.returncode != 0 and "not on PyPI yet" in refused.stderr and "pip wheel --no-deps" in refused.stderr
        fresh.run("pip wheel -q --no-deps . -w dist", cwd=fresh.clone)  # as the pages say a clone makes it
        wheels = sorted((fresh.clone / "dist").glob("fastslice-*.whl"))
        assert len(wheels) == 1
        colab = tmp_path / "content"
        colab.mkdir()
        shutil.copy(wheels[0], colab)
        done = fresh.run(f"python {script}", cwd=colab)
        assert done.stdout.startswith("fastslice "), done.stdout
        where = fresh.run("python -c 'import fastslice; print(fastslice.__file__)'", cwd=tmp_path).stdout.strip()
        assert Path(where).is_relative_to(fresh.venv), where
    finally:  # the environment stays one with fastslice, whatever happened
        if fresh.run("python -c 'import fastslice'", cwd=tmp_path, check=False).returncode != 0:
            fresh.run("pip install -q .", cwd=fresh.clone)
