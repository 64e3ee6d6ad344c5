"""The pages inside a notebook: ``fastslice.tune(...)`` and ``fastslice.review(...)``, and the example
notebook ``examples/so-vits-svc-flow.ipynb`` run headless in a real kernel (nbclient).

The executed notebook's outputs are written into one HTML file, as a saved notebook shows them,
and opened in Debian's headless Chromium (Selenium): the tuning page works inside its output (the
cuts follow the controls and equal ``Slicer``'s), a band plays (the audio's time advances), and so
does a clip of the review page.  Waits are for conditions in the page (WebDriverWait), never for
fixed times.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import soundfile
from test_review import browser, console_errors, wait_for  # noqa: F401  (browser: a fixture)

import fastslice
import signals
from fastslice import FastsliceError, ParameterError
from fastslice.cutting.slicer import Slicer
from runner import fastslice as run_fastslice

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "so-vits-svc-flow.ipynb"
SR = 44100
PARAMS = {"threshold": -35, "min_length": 2000, "min_interval": 300, "hop_size": 10, "max_sil_kept": 300}
FLAGS = [x for k, v in PARAMS.items() for x in (f"--{k.replace('_', '-')}", str(v))]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Forty seconds of speech-like stereo at 44.1 kHz, 16-bit, with pauses: ``talk.wav``."""
    folder = tmp_path_factory.mktemp("notebook")
    x = signals.with_digital_silence(signals.speech_like(41, 40, SR), 41, SR)
    path = folder / "talk.wav"
    soundfile.write(path, x.T, SR, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def sliced(recording: Path) -> Path:
    """The recording sliced by the command line into ``talk_clips/``."""
    out = recording.parent / "talk_clips"
    run_fastslice("slice", recording, "-o", out, "-q", *FLAGS, check=0)
    assert len(list(out.glob("*.wav"))) > 4
    return out


def page_data(page_html: str) -> dict[str, Any]:
    """The JSON data a page carries."""
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', page_html, re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def without_nonce_and_audio(page_html: str) -> str:
    """The page with its nonce and its audio links (``"href": "..."``) blanked."""
    nonce = re.search(r"nonce-([A-Za-z0-9_-]+)'", page_html)
    assert nonce
    return re.sub(r'"href": "[^"]*"', '"href": ""', page_html.replace(nonce.group(1), "NONCE"))


def srcdoc(repr_html: str) -> str:
    """The document an ``<iframe srcdoc>`` shows."""
    found = re.fullmatch(r'<iframe [^>]*srcdoc="([^"]*)"></iframe>', repr_html, re.S)
    assert found, repr_html[:300]
    return html.unescape(found.group(1))


def test_pages_are_self_contained(recording: Path, sliced: Path) -> None:
    tune = fastslice.tune(recording, **PARAMS)
    review = fastslice.review(sliced)
    assert tune.frames > 3000 and review.count == len(list(sliced.glob("*.wav")))
    for page in (tune, review):
        shown = page._repr_html_()
        assert srcdoc(shown) == page.html  # the notebook shows exactly the page
        policy = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>', page.html, re.S)
        assert policy
        rest = page.html.replace(policy.group(0), "")
        assert "file:" not in rest and "http:" not in rest and "https:" not in rest and str(ROOT) not in rest
        assert not re.search(r'\s(src|href)="(?!data:)', rest)  # no attribute links to anything
    hrefs = [page_data(tune.html)["href"]] + [c["href"] for c in page_data(review.html)["clips"]]
    assert len(hrefs) == review.count + 1
    for href in hrefs:
        assert href.startswith("data:audio/ogg;base64,")
    # the tune page's preview is the recording: Opus in Ogg, as long as it
    import av

    with av.open(io.BytesIO(base64.b64decode(hrefs[0].split(",", 1)[1]))) as preview:
        stream = preview.streams.audio[0]
        assert stream.codec_context.name == "opus"
        seconds = sum(frame.samples for frame in preview.decode(stream)) / stream.rate
    assert abs(seconds - soundfile.info(recording).duration) < 0.05


def test_save_writes_what_the_command_line_writes_but_the_audio(recording: Path, sliced: Path, tmp_path: Path) -> None:
    run_fastslice("tune", recording, "-o", tmp_path / "cli-tune.html", *FLAGS, check=0, cwd=tmp_path)
    run_fastslice("review", sliced, "-o", tmp_path / "cli-review.html", check=0)
    tune = fastslice.tune(recording, **PARAMS).save(tmp_path / "tune.html")
    review = fastslice.review(sliced).save(tmp_path / "review.html")
    for ours, theirs in ((tune, "cli-tune.html"), (review, "cli-review.html")):
        cli = (tmp_path / theirs).read_text(encoding="utf-8")
        assert without_nonce_and_audio(ours.read_text(encoding="utf-8")) == without_nonce_and_audio(cli)
        assert ours.read_text(encoding="utf-8") != cli  # the audio: embedded, not linked


def test_tune_and_review_are_callable_however_fastslice_is_imported() -> None:
    code = ("import fastslice.tune, fastslice.review, fastslice\n"
            "from fastslice import tune, review\n"
            "import inspect\n"
            "assert tune is fastslice.tune and callable(tune) and callable(review)\n"
            "assert 'bitrate' in inspect.signature(tune).parameters and 'manifest' in inspect.signature(review).parameters\n"
            "assert fastslice.pages.tune.tune.__name__ == 'tune'  # the command line's writer is still there\n"
            "assert {'tune', 'review'} <= set(fastslice.__all__)\n")
    for first in ("", "import fastslice\nfastslice.tune\n"):
        done = subprocess.run([sys.executable, "-c", first + code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_the_pages_say_what_is_wrong(recording: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="bitrate=100: .* from 6000 to 510000"):
        fastslice.tune(recording, bitrate=100)
    with pytest.raises(ParameterError, match="bitrate"):
        fastslice.review(tmp_path, bitrate=10**6)
    with pytest.raises(FastsliceError, match="missing.wav: no such file"):
        fastslice.tune(tmp_path / "missing.wav")
    with pytest.raises(FastsliceError, match="no clips found"):
        fastslice.review(tmp_path)
    with pytest.raises(ParameterError, match="min_interval"):
        fastslice.tune(recording, min_interval=5, hop_size=10)


def test_two_pages_in_one_document_do_not_clash(browser: Any, recording: Path, sliced: Path,  # noqa: F811
                                                tmp_path: Path) -> None:
    pages = [fastslice.tune(recording, **PARAMS), fastslice.tune(recording, **{**PARAMS, "threshold": -20}),
             fastslice.review(sliced)]
    document = tmp_path / "two.html"
    document.write_text("<!doctype html><html><body>" + "".join(p._repr_html_() for p in pages) + "</body></html>",
                        encoding="utf-8")
    browser.get(document.as_uri())
    frames = browser.find_elements("css selector", "iframe.fastslice-page")
    assert len(frames) == 3

    def in_frame(k: int, script: str) -> Any:
        browser.switch_to.default_content()
        browser.switch_to.frame(browser.find_elements("css selector", "iframe.fastslice-page")[k])
        wait_for(browser, "return document.body.dataset.ready === '1'")
        return browser.execute_script(script)

    first, second = in_frame(0, "return fastsliceTune.cuts()"), in_frame(1, "return fastsliceTune.cuts()")
    assert first != second  # each page has its own parameters
    in_frame(0, """const box = document.getElementById("threshold"); box.value = "-20";
                   box.dispatchEvent(new Event("input", {bubbles: true}));""")
    assert in_frame(0, "return fastsliceTune.cuts()") == second == in_frame(1, "return fastsliceTune.cuts()")
    assert in_frame(2, "return document.querySelectorAll('.row').length") > 0
    assert not console_errors(browser)


def notebook_html(nb: Any) -> str:
    """The executed notebook as one HTML document, as a saved notebook shows it: each code cell's
    source, then its outputs (HTML as it is, text escaped)."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>notebook</title></head><body>"]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts.append(f"<pre class='source'>{html.escape(cell.source)}</pre>")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                parts.append(f"<div class='output'>{data['text/html']}</div>")
            elif "text/plain" in data or output.get("output_type") == "stream":
                parts.append(f"<pre class='output'>{html.escape(data.get('text/plain', output.get('text', '')))}</pre>")
    return "".join(parts) + "</body></html>"


def run_notebook(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Execute the example notebook in ``folder`` in a real kernel that imports the fastslice these
    tests import (this checkout, or the installed package), and runs ``!fastslice`` from this Python."""
    import nbclient
    import nbformat

    package_parent = str(Path(fastslice.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([package_parent, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


@pytest.mark.slow
def test_the_notebook_runs_and_its_pages_work_inline(browser: Any, tmp_path: Path,  # noqa: F811
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    nb = run_notebook(tmp_path, monkeypatch)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert "google.colab" in "".join(cell.source for cell in code)  # the Drive cell is there, and ran as a no-op
    clips = sorted(p.name for p in (tmp_path / "dataset").glob("*.wav"))
    assert len(clips) > 10
    with zipfile.ZipFile(tmp_path / "dataset.zip") as archive:
        assert sorted(archive.namelist()) == clips
    saved = tmp_path / "notebook.html"
    saved.write_text(notebook_html(nb), encoding="utf-8")
    browser.get(saved.as_uri())
    frames = browser.find_elements("css selector", "iframe.fastslice-page")
    assert len(frames) == 2  # the tuning page, then the review page
    browser.execute_script("arguments[0].scrollIntoView()", frames[0])  # the pointer acts on what is in view
    browser.switch_to.frame(frames[0])
    wait_for(browser, "return document.body.dataset.ready === '1'")
    # the page works: the cuts follow a control, and are the Slicer's for the values set
    audio, rate = soundfile.read(tmp_path / "drama.wav", dtype="float32", always_2d=True)
    before = browser.execute_script("return fastsliceTune.cuts()")
    browser.execute_script("""const box = document.getElementById("threshold"); box.value = "-45";
                              box.dispatchEvent(new Event("input", {bubbles: true}));""")
    after = browser.execute_script("return fastsliceTune.cuts()")
    slicer = Slicer(rate, threshold=-45, min_length=4000, min_interval=500, hop_size=5, max_sil_kept=500, max_length=8000)
    assert after != before and after == slicer.slice_ranges(audio.T).tolist()
    # a band plays: click clip 2's band in the zoomed view
    start, end = (v / rate for v in after[2])
    x = browser.execute_script("""
        const [a, b] = arguments[0], r = document.getElementById("zoom").getBoundingClientRect();
        const [t0, t1] = fastsliceTune.view();
        return ((a + b) / 2 - t0) / (t1 - t0) * r.width;""", [start, end])
    zoom = browser.find_element("id", "zoom")
    ActionChains(browser).move_to_element_with_offset(zoom, int(x - zoom.size["width"] / 2), 0).click().perform()
    wait_for(browser, "return fastsliceTune.current() === 2")
    wait_for(browser, f"const p = document.getElementById('player'); return !p.paused && p.currentTime > {start} + 0.1")
    assert not console_errors(browser)
    # and a clip of the review page plays
    browser.switch_to.default_content()
    browser.execute_script("arguments[0].scrollIntoView()", frames[1])
    browser.switch_to.frame(frames[1])
    wait_for(browser, "return document.body.dataset.ready === '1'")
    browser.find_element("css selector", ".row button.play").click()
    wait_for(browser, "const p = document.getElementById('player'); return !p.paused && p.currentTime > 0.2")
    assert not console_errors(browser)
