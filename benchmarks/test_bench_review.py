"""The review page of a large set in a real browser: how soon 20,000 clips are interactive.

Group ``review page``: ``fastslice.review.write_page`` of 20,000 clips (synthetic facts, 40
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


def test_open_20000_clips(benchmark, browser, page):
    benchmark.group = "review page"
    ready_ms = []

    def open_page():
        browser.get("about:blank")
        browser.get(page.as_uri())
        wait_for(browser, "return document.body.dataset.ready === '1'")
        ready_ms.append(browser.execute_script("return performance.now()"))

    benchmark.pedantic(open_page, rounds=5, iterations=1)
    benchmark.extra_info.update(clips=N_CLIPS, page_mb=round(page.stat().st_size / 1e6, 2),
                                interactive_ms=round(float(np.median(ready_ms)), 1))
