"""The review page of a large set in a real browser: how soon 20,000 clips are interactive.

Group ``review page``: ``fastslice.pages.review.write_page`` of 20,000 clips (synthetic facts, 40
sources without their recordings), then headless Chromium (Debian's, through Selenium) opening
it from disk until its script has rendered the table (``document.body.dataset.ready``), in a
new tab each round.  ``extra_info["interactive_ms"]`` is the page's own ``performance.now()`` at
that moment (from navigation start).  Target: within 3 s; measured, not asserted.

Run::

    pytest benchmarks/test_bench_review.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_review import browser, wait_for  # noqa: E402,F401  (the fixture, shared with the tests)

from fastslice.review import write_page  # noqa: E402

N_CLIPS = 20000


@pytest.fixture
def page(tmp_path):
    rng = np.random.default_rng(5)
    clips = [{"clip": f"s{i // 500}/c{i:05d}.wav", "source": f"s{i // 500}.wav", "start": float(i % 500) * 7,
              "seconds": float(rng.uniform(1, 12)), "peak_db": -3.0, "rms_db": -20.0,
              "flags": ["length"] if i % 7 == 0 else []} for i in range(N_CLIPS)]
    sources = [{"source": f"s{k}.wav", "clips": list(range(500 * k, 500 * k + 500))} for k in range(N_CLIPS // 500)]
    return write_page(tmp_path / "review.html", tmp_path, sources, clips)


def open_until_ready(browser, page, ready_ms, when):  # noqa: F811
    """Open ``page`` in a fresh document until its script says it is ready; ``when`` (JavaScript) is appended."""
    browser.get("about:blank")
    browser.get(page.as_uri())
    wait_for(browser, "return document.body.dataset.ready === '1'")
    ready_ms.append(browser.execute_script(f"return {when}"))


def test_open_20000_clips(benchmark, browser, page):
    benchmark.group = "review page"
    ready_ms = []

    benchmark.pedantic(open_until_ready, args=(browser, page, ready_ms, "performance.now()"), rounds=5, iterations=1)
    benchmark.extra_info.update(clips=N_CLIPS, page_mb=round(page.stat().st_size / 1e6, 2),
                                interactive_ms=round(float(np.median(ready_ms)), 1))


# -- the tuning page -----------------------------------------------------------------------------


@pytest.fixture
def tune_page(speech_wav, tmp_path):
    """``fastslice tune`` of the hour (44.1 kHz stereo) at the guide's 5 ms hop: 720,000 RMS frames."""
    from fastslice.tune import tune

    path = speech_wav(3600)
    page, frames = tune(path, tmp_path / "tune.html", params={"threshold": -30, "min_length": 4000,
                                                              "min_interval": 500, "hop_size": 5, "max_sil_kept": 500})
    return page, frames


def test_tune_page_one_hour(benchmark, browser, tune_page):
    """Group ``tune page``: headless Chromium opening the hour's tuning page until its script has
    drawn the cuts (``interactive_ms``: the page's ``performance.now()`` then, from navigation start;
    target 2 s), and then 20 moves of the threshold slider, each timed by the page from its input
    event to the end of its redraw (``slider_redraw_ms``: the median and the slowest; target 100 ms)."""
    benchmark.group = "tune page"
    page, frames = tune_page
    ready_ms = []

    benchmark.pedantic(open_until_ready, args=(browser, page, ready_ms, "fastsliceTune.readyMs"), rounds=3,
                       iterations=1)
    moves = browser.execute_script("""
        const slider = document.getElementById("threshold_slider"), T = fastsliceTune;
        T.drawMs.length = 0;
        for (let k = 0; k < 20; k++) {
          slider.value = String(-45 + k * 0.7);
          slider.dispatchEvent(new Event("input", {bubbles: true}));
        }
        return T.drawMs.slice();""")
    benchmark.extra_info.update(frames=frames, page_mb=round(page.stat().st_size / 1e6, 2),
                                interactive_ms=round(float(np.median(ready_ms)), 1),
                                slider_redraw_ms=round(float(np.median(moves)), 1),
                                slider_redraw_slowest_ms=round(float(np.max(moves)), 1))
