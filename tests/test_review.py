"""The review page in a real browser (Debian's headless Chromium, driven by Selenium), and prune.

The set is sliced here from a seeded recording whose file name is hostile markup; the page is
opened from disk as a user opens it.  Waits are for events in the page (a condition polled by
WebDriverWait), never for fixed times.
"""
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import signals
from fastslice import FastsliceError
from fastslice.review import collect, prune, write_page

SR = 16000
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "300"]
HOSTILE = "<img src=x onerror=alert(1)>"


def fastslice(*args):
    return subprocess.run([sys.executable, "-m", "fastslice", *map(str, args)], capture_output=True, text=True)


def browser_paths():
    """Debian's chromium and chromedriver (.ci/run installs them)."""
    found = [shutil.which(n) for n in ("chromium", "chromium-browser")] + ["/usr/bin/chromium"]
    binary = next((p for p in found if p and os.path.exists(p)), None)
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    assert binary and driver, "these tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
    return binary, driver


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, script, timeout=30):
    """Wait until ``script`` (JavaScript returning a value) returns something true; return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: d.execute_script(script))


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.fixture
def sliced(tmp_path):
    """A sliced set: two sources, one with a hostile name; returns (OUT_DIR, clip count)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed, name in ((31, f"{HOSTILE}.wav"), (32, "talk.wav")):
        x = signals.with_digital_silence(signals.speech_like(seed, 40, SR), seed, SR)
        soundfile.write(inputs / name, x.T, SR, subtype="PCM_16")
    out = tmp_path / "out"
    done = fastslice("slice", inputs, "-o", out, "-q", "--review", *OPTIONS)
    assert done.returncode == 0, done.stderr
    clips = sorted(p for p in out.rglob("*.wav"))
    assert len(clips) > 6 and (out / "review.html").is_file()
    return out, len(clips)


def test_the_page_in_a_real_browser(browser, sliced):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    out, n_clips = sliced
    browser.get((out / "review.html").as_uri())
    wait_for(browser, "return document.body.dataset.ready === '1'")
    assert console_errors(browser) == []

    # One row per clip; the hostile name is shown as text and ran nothing.
    rows = browser.find_elements(By.CSS_SELECTOR, "#spacer .row")
    assert len(rows) == n_clips
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section.source h2")]
    assert any(HOSTILE in h for h in headings), headings
    assert browser.find_elements(By.CSS_SELECTOR, "#sources img, #spacer img") == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text

    # Space plays the first clip: its audio element plays and its time advances.
    first_clip = browser.execute_script("return order[0].clip")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.SPACE)
    wait_for(browser, "const p = document.getElementById('player'); return !p.paused && p.currentTime > 0.2")
    assert browser.execute_script("return decodeURIComponent(document.getElementById('player').src)").endswith(first_clip)
    body.send_keys(Keys.SPACE)
    wait_for(browser, "return document.getElementById('player').paused")

    # Sorting by length orders the rows.
    browser.find_element(By.CSS_SELECTOR, "#head [data-key='seconds']").click()
    lengths = [float(r.find_elements(By.TAG_NAME, "div")[5].text) for r in sorted(
        browser.find_elements(By.CSS_SELECTOR, "#spacer .row"), key=lambda r: float(r.value_of_css_property("top")[:-2]))]
    assert lengths == sorted(lengths) and len(set(lengths)) > 1

    # Mark the first and the third clip, save: the list prune turns into exactly those two moves.
    body.send_keys("x")
    body.send_keys("j")
    body.send_keys("j")
    body.send_keys("x")
    marked = browser.execute_script("return clips.filter(c => c.marked).map(c => c.clip)")
    assert len(marked) == 2
    browser.find_element(By.ID, "save").click()
    saved = browser.downloads / "dropped.txt"
    wait_for(browser, "return document.getElementById('list').value.length > 0")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30, poll_frequency=0.05).until(lambda d: saved.exists() and saved.stat().st_size > 0)
    assert saved.read_text().splitlines() == marked
    done = fastslice("prune", out, "--list", saved)
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(out / "dropped").as_posix() for p in (out / "dropped").rglob("*.wav")) == sorted(marked)
    assert not any((out / m).exists() for m in marked)

    # Clicking a clip's span in the overview plays that clip.
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = browser.find_element(By.CSS_SELECTOR, "canvas.envelope")
    target, middle = browser.execute_script(
        "const s = sources[0]; const c = s.spans[s.spans.length - 1];"
        "return [c.clip, (c.start + c.seconds / 2) / s.seconds];")
    ActionChains(browser).move_to_element_with_offset(canvas, int((middle - 0.5) * canvas.size["width"]), 0).click().perform()
    wait_for(browser, "const p = document.getElementById('player'); return !p.paused && p.currentTime > 0.1")
    assert browser.execute_script("return order[current].clip") == target

    # The envelope is drawn: the screenshot of the first source's canvas is not blank.
    from PIL import Image

    canvas = browser.find_element(By.CSS_SELECTOR, "canvas.envelope")
    image = np.asarray(Image.open(io.BytesIO(canvas.screenshot_as_png)).convert("RGB")).astype(int)
    blue = (image[..., 2] > 150) & (image[..., 0] < 120)
    assert blue.mean() > 0.01, "the envelope is not drawn"
    assert console_errors(browser) == []


def test_twenty_thousand_clips_render_only_the_rows_in_view(browser, tmp_path):
    rng = np.random.default_rng(5)
    clips = [{"clip": f"s{i // 500}/c{i:05d}.wav", "source": f"s{i // 500}.wav", "start": float(i % 500) * 7,
              "seconds": float(rng.uniform(1, 12)), "peak_db": -3.0, "rms_db": -20.0,
              "flags": ["length"] if i % 7 == 0 else []} for i in range(20000)]
    sources = [{"source": f"s{k}.wav", "clips": list(range(500 * k, 500 * k + 500))} for k in range(40)]
    page = write_page(tmp_path / "review.html", tmp_path, sources, clips)
    browser.get(page.as_uri())
    wait_for(browser, "return document.body.dataset.ready === '1'")
    assert console_errors(browser) == []
    assert len(browser.find_elements("css selector", "#spacer .row")) < 100
    flagged_first = browser.execute_script("return order.slice(0, 10).every(c => c.flags.length > 0)")
    assert flagged_first
    browser.execute_script("viewport.scrollTop = viewport.scrollHeight")
    last = browser.execute_script("return order[order.length - 1].clip")
    wait_for(browser, f"return [...document.querySelectorAll('#spacer .row div:nth-child(3)')].some(d => d.textContent === {json.dumps(last)})")


# -- prune, without a browser -----------------------------------------------------------------


def test_prune_refuses_anything_outside_the_folder_and_moves_nothing(sliced, tmp_path):
    out, _ = sliced
    clips = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"not yours")
    (out / "link").symlink_to(tmp_path)
    bad_lines = ["../elsewhere.wav", str(outside), "link/elsewhere.wav", "missing.wav", "dropped/x.wav"]
    for bad in bad_lines:
        listing = tmp_path / "list.txt"
        listing.write_text(f"{clips[0]}\n{bad}\n")
        before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
        done = fastslice("prune", out, "--list", listing)
        assert done.returncode == 2 and "nothing moved" in done.stderr and bad in done.stderr, (bad, done.stderr)
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert outside.read_bytes() == b"not yours"


def test_prune_updates_the_manifest_and_markers_and_restore_undoes_it(tmp_path):
    x = signals.with_digital_silence(signals.speech_like(33, 40, SR), 33, SR)
    source = tmp_path / "talk.wav"
    soundfile.write(source, x.T, SR, subtype="PCM_16")
    out, manifest = tmp_path / "out", tmp_path / "clips.csv"
    assert fastslice("slice", source, "-o", out, "-q", "--manifest", manifest, *OPTIONS).returncode == 0
    rows_before = manifest.read_text()
    _, clips = collect(out)
    names = [c["clip"] for c in clips][1:3]
    listing = tmp_path / "dropped.txt"
    listing.write_text("\n".join(names) + "\n")
    moves = prune(out, listing, manifest=manifest)
    assert [t.relative_to(out / "dropped").as_posix() for _, t in moves] == names
    assert not any(name in manifest.read_text() for name in names)
    assert [c["clip"] for c in collect(out)[1]] == [c["clip"] for c in clips if c["clip"] not in names]
    # A re-run of the same slice keeps the pruned clips out: its marker no longer lists them.
    done = fastslice("slice", source, "-o", out, "-q", *OPTIONS)
    assert done.returncode == 0 and not any((out / n).exists() for n in names)
    prune(out, listing, restore=True, manifest=manifest)
    assert all((out / n).exists() for n in names) and not list((out / "dropped").rglob("*.wav"))
    assert sorted(manifest.read_text().splitlines()) == sorted(rows_before.splitlines())
    assert [c["clip"] for c in collect(out)[1]] == [c["clip"] for c in clips]
    with pytest.raises(FastsliceError, match="no such clip in dropped/"):
        prune(out, listing, restore=True)


def test_clip_facts_flag_what_a_listener_would(tmp_path):
    from fastslice.review import clip_facts

    rng = np.random.default_rng(9)
    t = np.arange(6 * SR) / SR
    speech = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t)) ** 2
    cases = {
        "clean": np.concatenate([np.zeros(SR // 10), speech[SR // 10 : -SR // 10], np.zeros(SR // 10)]),
        "short": speech[: 2 * SR] * np.hanning(2 * SR),
        "clipping": np.clip(speech * 5, -1, 1),
        "silence": np.concatenate([speech[: SR], 1e-4 * rng.standard_normal(5 * SR)]),
    }
    expected = {"clean": [], "short": ["length"], "clipping": ["clipping", "cut start", "cut end"],
                "silence": ["silence", "cut start"]}
    for name, x in cases.items():
        path = tmp_path / f"{name}.wav"
        soundfile.write(path, x, SR, subtype="PCM_16")
        facts = clip_facts(path, (4.0, 8.0), -40.0)
        assert facts["flags"] == expected[name], (name, facts)
        assert facts["seconds"] == round(len(x) / SR, 3)
    assert clip_facts(tmp_path / "clipping.wav")["peak_db"] == 0.0


def test_a_manifest_and_a_source_that_is_gone(tmp_path, browser):
    x = signals.with_digital_silence(signals.speech_like(34, 30, SR), 34, SR)
    source = tmp_path / "gone.wav"
    soundfile.write(source, x.T, SR, subtype="PCM_16")
    out, manifest = tmp_path / "out", tmp_path / "clips.jsonl"
    assert fastslice("slice", source, "-o", out, "-q", "--manifest", manifest, *OPTIONS).returncode == 0
    source.unlink()
    for marker in out.glob(".*.fastslice.json"):
        marker.unlink()
    assert "no clips found" in fastslice("review", out).stderr
    done = fastslice("review", out, "--manifest", manifest, "-o", tmp_path / "page" / "set.html")
    assert done.returncode == 0, done.stderr
    browser.get((tmp_path / "page" / "set.html").as_uri())
    wait_for(browser, "return document.body.dataset.ready === '1'")
    assert console_errors(browser) == []
    heading = browser.find_element("css selector", "section.source h2").text
    assert "source not found: its clips only" in heading
    n = len(list(out.glob("*.wav")))
    assert len(browser.find_elements("css selector", "#spacer .row")) == n > 3
    # the page sits in another folder: the clips are still found, by relative paths
    browser.find_element("tag name", "body").send_keys(" ")
    wait_for(browser, "const p = document.getElementById('player'); return !p.paused && p.currentTime > 0.1")
