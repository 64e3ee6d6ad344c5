"""What a page inside a notebook costs for the hour (44.1 kHz stereo, 16-bit): size and build time.

``fastslice.tune(...)`` and ``fastslice.review(...)`` embed the audio as a mono Opus preview (24
kbit/s by default) in the page, which a notebook shows as an ``<iframe srcdoc>`` (``fastslice.pages.inline``).

* group ``notebook tune page``: ``fastslice.tune`` of the hour at the guide's parameters (5 ms hop:
  720,000 RMS frames), the read, the RMS frames and the Opus encoding in one pass; and headless
  Chromium opening the page as a notebook shows it (``_repr_html_`` in a document) until its script
  has drawn the cuts (``interactive_ms``, the frame's ``performance.now()``);
* group ``notebook review page``: ``fastslice.review`` of the hour's clips (sliced once, untimed),
  every clip read and encoded.

``extra_info``: ``page_bytes`` (``len(page.html)`` in UTF-8: what ``save`` writes),
``output_bytes`` (``_repr_html_``: what the notebook stores), ``audio_bytes`` (the embedded Opus,
decoded from base64), ``cli_page_bytes`` (the command line's page, audio linked) and the recording's
``seconds``.  ``FASTSLICE_BENCH_SECONDS`` caps the length (default 3600).

Run::

    pytest benchmarks/test_bench_pages.py -p no:cacheprovider --benchmark-columns=min,median,rounds
    FASTSLICE_BENCH_SECONDS=20 pytest benchmarks/test_bench_pages.py -p no:cacheprovider --benchmark-disable  # smoke
"""
import base64
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from runner import fastslice as run_fastslice  # noqa: E402
from test_review import browser, wait_for  # noqa: E402,F401  (the fixture, shared with the tests)

import fastslice  # noqa: E402
from workloads import capped  # noqa: E402

GUIDE = {"threshold": -30, "min_length": 4000, "min_interval": 500, "hop_size": 5, "max_sil_kept": 500}
FLAGS = [x for k, v in GUIDE.items() for x in (f"--{k.replace('_', '-')}", str(v))]


def audio_bytes(page_html):
    """The bytes of every embedded ``data:`` audio URI in the page."""
    return sum(len(base64.b64decode(m)) for m in re.findall(r"data:audio/ogg;base64,([A-Za-z0-9+/=]+)", page_html))


def sizes(page, seconds):
    return {"seconds": seconds, "page_bytes": len(page.html.encode("utf-8")),
            "output_bytes": len(page._repr_html_().encode("utf-8")), "audio_bytes": audio_bytes(page.html)}


@pytest.fixture
def hour(speech_wav):
    """The hour (capped by ``FASTSLICE_BENCH_SECONDS``), a 16-bit stereo WAV at 44.1 kHz."""
    return speech_wav(3600), capped(3600)


def test_notebook_tune_page_one_hour(benchmark, browser, hour, tmp_path):  # noqa: F811
    benchmark.group = "notebook tune page"
    path, seconds = hour
    pages = []
    benchmark.pedantic(lambda: pages.append(fastslice.tune(path, **GUIDE)), rounds=2, iterations=1)
    page = pages[-1]
    run_fastslice("tune", path, "-o", tmp_path / "cli.html", *FLAGS, check=0, cwd=tmp_path)
    # as a notebook shows it: the output in a document, the page in its frame
    shown = tmp_path / "notebook.html"
    shown.write_text(f"<!doctype html><html><body>{page._repr_html_()}</body></html>", encoding="utf-8")
    browser.get(shown.as_uri())
    browser.switch_to.frame(browser.find_element("css selector", "iframe.fastslice-page"))
    wait_for(browser, "return document.body.dataset.ready === '1'", timeout=120)
    ready_ms = browser.execute_script("return fastsliceTune.readyMs")
    duration = wait_for(browser, "const p = document.getElementById('player'); return p.duration > 0 && p.duration")
    assert abs(duration - seconds) < 0.1  # the whole preview is there and playable
    benchmark.extra_info.update(sizes(page, seconds), frames=page.frames, interactive_ms=round(float(ready_ms), 1),
                                cli_page_bytes=(tmp_path / "cli.html").stat().st_size)


@pytest.fixture
def hour_sliced(hour, tmp_path):
    path, seconds = hour
    out = tmp_path / "clips"
    run_fastslice("slice", path, "-o", out, "-q", *FLAGS, "--max-length", "8000", check=0)
    return out, seconds


def test_notebook_review_page_one_hour(benchmark, hour_sliced, tmp_path):
    benchmark.group = "notebook review page"
    out, seconds = hour_sliced
    pages = []
    benchmark.pedantic(lambda: pages.append(fastslice.review(out)), rounds=2, iterations=1)
    page = pages[-1]
    run_fastslice("review", out, "-o", tmp_path / "cli.html", check=0)
    clips = json.loads(re.search(r'application/json">(.*?)</script>', page.html, re.S).group(1))["clips"]
    benchmark.extra_info.update(sizes(page, seconds), clips=page.count,
                                clip_seconds=round(float(np.sum([c["seconds"] for c in clips])), 1),
                                cli_page_bytes=(tmp_path / "cli.html").stat().st_size)
