"""The review page in a real browser (Debian's headless Chromium, driven by Selenium), and prune.

The set is sliced here from a seeded recording whose file name is hostile markup; the page is
opened from disk as a user opens it.  Waits are for events in the page (a condition polled by
WebDriverWait), never for fixed times.
"""
import dataclasses
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

import signals
from fastslice import FastsliceError
from fastslice.review import collect, prune, write_page
from runner import fastslice

SR = 16000
OPTIONS = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10", "--max-sil-kept", "300"]
HOSTILE = "<img src=x onerror=alert(1)>"



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
    # The hostile name is a folder the source is in (the page shows the source's path): fastslice
    # refuses < and > in the names it writes (Windows' rules), so not the file's own name.
    inputs = tmp_path / "in"
    (inputs / HOSTILE).mkdir(parents=True)
    sources = [inputs / HOSTILE / "voice.wav", inputs / "talk.wav"]
    for seed, path in zip((31, 32), sources):
        x = signals.with_digital_silence(signals.speech_like(seed, 40, SR), seed, SR)
        soundfile.write(path, x.T, SR, subtype="PCM_16")
    out = tmp_path / "out"
    done = fastslice("slice", *sources, "-o", out, "-q", "--review", *OPTIONS)
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
    # three more, whose names sort as text in the wrong order (x_10 before x_2)
    clips += [{"clip": name, "source": "x.wav", "start": 0.0, "seconds": 5.0, "peak_db": -3.0, "rms_db": -20.0,
               "flags": []} for name in ("x_2.wav", "x_10.wav", "x_1.wav")]
    sources.append({"source": "x.wav", "clips": [20000, 20001, 20002]})
    page = write_page(tmp_path / "review.html", tmp_path, sources, clips)
    browser.get(page.as_uri())
    wait_for(browser, "return document.body.dataset.ready === '1'")
    assert console_errors(browser) == []
    assert len(browser.find_elements("css selector", "#spacer .row")) < 100
    flagged_first = browser.execute_script("return order.slice(0, 10).every(c => c.flags.length > 0)")
    assert flagged_first
    # Every header fits its column on one line: not wrapped, not cut.
    cells = browser.execute_script(
        "return [...document.querySelectorAll('#head div')].map(d => [d.textContent, d.scrollWidth, d.clientWidth,"
        " d.getBoundingClientRect().height])")
    for label, scroll, client, height in cells:
        assert scroll <= client and height <= 26, (label, scroll, client, height)
    assert {"length s", "peak dBFS", "RMS dB"} <= {c[0] for c in cells}
    # Names sort naturally: x_1, x_2, x_10; sources s2 before s10.
    browser.find_element("css selector", "#head [data-key='clip']").click()
    assert browser.execute_script("return order.filter(c => c.source === 'x.wav').map(c => c.clip)") == \
        ["x_1.wav", "x_2.wav", "x_10.wav"]
    assert browser.execute_script("return order.slice(0, 3).map(c => c.clip)") == [f"s0/c{i:05d}.wav" for i in range(3)]
    browser.find_element("css selector", "#head [data-key='source']").click()
    shown = browser.execute_script("return [...new Set(order.map(c => c.source))]")
    assert shown == [f"s{k}.wav" for k in range(40)] + ["x.wav"], shown[:12]
    browser.execute_script("viewport.scrollTop = viewport.scrollHeight")
    last = browser.execute_script("return order[order.length - 1].clip")
    assert last == "x_10.wav"
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
    assert all((out / n).exists() for n in names) and not (out / "dropped").exists()
    assert manifest.read_text() == rows_before
    assert [c["clip"] for c in collect(out)[1]] == [c["clip"] for c in clips]
    with pytest.raises(FastsliceError, match="no such clip in dropped/"):
        prune(out, listing, restore=True)


def test_clip_facts_flag_what_a_listener_would(tmp_path):
    from fastslice.review import clip_facts

    rng = np.random.default_rng(9)
    t = np.arange(6 * SR) / SR
    speech = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t)) ** 2
    clean = np.concatenate([np.zeros(SR // 10), speech[SR // 10 : -SR // 10], np.zeros(SR // 10)])
    noisy = clean + 1e-3 * rng.standard_normal(len(clean))
    pause = 1e-4 * rng.standard_normal(3 * SR)
    cases = {
        "clean": clean,
        "normalized": noisy / np.abs(noisy).max(),  # one sample at 0 dBFS is not clipping
        "short": speech[: 2 * SR] * np.hanning(2 * SR),
        "clipping": np.clip(speech * 5, -1, 1),
        "silence": np.concatenate([pause, speech[SR // 2 : SR // 2 + SR // 5], pause]),  # 0.2 s of sound in 6 s
        # a steady tone: 0.1 s pauses at its edges are not the dips of speech
        "tone": np.concatenate([np.zeros(SR // 10), 0.3 * np.sin(2 * np.pi * 220 * t[: 6 * SR - SR // 5]), np.zeros(SR // 10)]),
    }
    expected = {"clean": [], "normalized": [], "short": ["length"], "clipping": ["clipping", "cut start", "cut end"],
                "silence": ["silence"], "tone": ["no pauses"]}
    for name, x in cases.items():
        path = tmp_path / f"{name}.wav"
        soundfile.write(path, x, SR, subtype="PCM_16")
        facts = clip_facts(path, (4.0, 8.0), -40.0)
        assert facts["flags"] == expected[name], (name, facts)
        assert facts["seconds"] == round(len(x) / SR, 3)
    assert clip_facts(tmp_path / "clipping.wav")["peak_db"] == 0.0


# -- flags on a set with bad clips made on purpose, without a browser ---------------------------

TEXT = (
    "The old lighthouse keeper climbed the stairs every evening, counting each step aloud. "
    "At the top, he wiped the glass, trimmed the wick, and waited for the first ship. "
    "Some nights the fog rolled in so thick that he could not see his own hands; "
    "on those nights he rang the bell instead, slowly, once a minute, until morning came. "
    "His daughter, who lived in the village below, wrote to him on Sundays. "
    "She told him about the market, the new school, and the price of bread. "
    "He kept her letters in a tin box beside the lamp, and read them again when the sea was calm. "
    "In the spring, a storm broke two windows and flooded the kitchen. "
    "He spent a week drying the floor, mending the frames, and painting the door a bright green. "
    "When the inspector arrived in June, he found everything in order, and stayed for supper. "
    "They talked about engines, weather, and the long winters of their childhood. "
    "Before leaving, the inspector asked whether he was ever lonely up there. "
    "The keeper laughed, pointed at the bell, and said that it answered him every time."
)
PASSAGE = TEXT.split()
VOICES = (("en", 150), ("en-us", 175), ("en+f3", 165), ("en-gb-scotland", 205), ("en-us+m3", 230), ("en+f4", 130))
ESPEAK_SR = 22050


def said(words, voice, rate, folder):
    """``words`` as espeak-ng says them in ``voice`` at ``rate`` words a minute (22.05 kHz), from the
    first to the last sound, at a peak of -3 dBFS."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("the tests need Debian's espeak-ng (apt-get install espeak-ng; .ci/run does)")
    path = folder / "said.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), " ".join(words)], check=True)
    y, sr = soundfile.read(path, dtype="float64")
    assert sr == ESPEAK_SR
    loud = np.flatnonzero(np.abs(y) > 10 ** (-45 / 20))
    y = y[loud[0] : loud[-1] + 1]
    return y * (10 ** (-3 / 20) / np.abs(y).max())


def speech(rng, folder, seconds, k):
    """Real speech of about ``seconds`` (a stretch of PASSAGE, the k-th voice and rate)."""
    voice, rate = VOICES[k % len(VOICES)]
    count = max(2, round(seconds * rate / 60))
    start = int(rng.integers(0, len(PASSAGE) - count))
    return said(PASSAGE[start : start + count], voice, rate, folder)


def quiet(rng, n, level_db):
    """``n`` samples of white noise at ``level_db`` RMS."""
    return rng.standard_normal(n) * 10 ** (level_db / 20)


def padded(rng, x, floor_db, lead=(0.1, 0.4), tail=(0.1, 0.4)):
    """``x`` with pauses before and after it (as the slicer leaves them), over a noise floor."""
    x = np.concatenate([np.zeros(int(rng.uniform(*lead) * ESPEAK_SR)), x, np.zeros(int(rng.uniform(*tail) * ESPEAK_SR))])
    return x + quiet(rng, len(x), floor_db)


def music(rng, seconds, kind):
    """Music with no pauses: sustained chords, or a legato sawtooth melody; at -15 dBFS RMS."""
    t = np.arange(int(seconds * ESPEAK_SR)) / ESPEAK_SR
    x = np.zeros_like(t)
    pos = 0
    while pos < len(t):
        length = int(rng.uniform(0.8, 2.0) * ESPEAK_SR) if kind == "chords" else int(rng.uniform(0.12, 0.5) * ESPEAK_SR)
        part = slice(pos, min(len(t), pos + length))
        tt = t[part] - t[pos]
        if kind == "chords":  # three notes of a triad, a few harmonics each
            root = 110 * 2 ** (int(rng.integers(0, 12)) / 12)
            tone = sum(sum(np.sin(2 * np.pi * root * r * h * tt) / h ** 1.5 for h in (1, 2, 3, 4)) for r in (1, 1.26, 1.5))
        else:
            f = 220 * 2 ** (int(rng.integers(0, 24)) / 12)
            tone = 2 * ((f * tt) % 1.0) - 1
        ramp = np.minimum(1, np.minimum(tt, tt[-1] - tt) / 0.01)  # 10 ms attack and release
        x[part] = tone * (0.6 + 0.4 * ramp)
        pos += length
    return x * (0.18 / np.sqrt(np.mean(x ** 2)))


def noise(rng, seconds, kind):
    """Steady noise at 0 dB RMS: white, or pink (a fan, a hiss), or a hum with some noise."""
    n = int(seconds * ESPEAK_SR)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        x = np.fft.irfft(spectrum / np.sqrt(np.maximum(1, np.arange(len(spectrum)))), n)
    else:
        t = np.arange(n) / ESPEAK_SR
        x = np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 150 * t) + 0.3 * rng.standard_normal(n)
    return x / np.sqrt(np.mean(x ** 2))


def sounding_point(x, rng, lo, hi):
    """A random sample between ``lo`` and ``hi`` (fractions of ``x``) where the voice sounds: the
    10 ms frame around it is 6 dB or more above the -40 dB threshold (not in a pause or the
    silence of a closure)."""
    frame = ESPEAK_SR // 100
    n = len(x) // frame
    level = 10 * np.log10(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    candidates = [i for i in range(int(lo * n), int(hi * n)) if level[i] > -34]
    return int(rng.choice(candidates)) * frame + int(rng.integers(0, frame))


def made_set(folder, each=5, good=40):
    """``(kind, clip)`` of a set: ``good`` clean clips of real speech, and ``each`` bad clips of each
    kind, all at a random gain of -12..0 dB.  The kind of a bad clip is the flag it must get."""
    rng = np.random.default_rng(25)

    def gain():
        return 10 ** (rng.uniform(-12, 0) / 20)

    clips = []
    for k in range(good):  # clean: 4-8 s of speech (a few phrases), short pauses at the edges, some over noise
        while True:
            x = padded(rng, speech(rng, folder, rng.uniform(4.0, 7.0), k), rng.choice([-90.0, -70.0, -50.0, -45.0]),
                       lead=(0.05, 0.3), tail=(0.05, 0.3))
            if 4.0 <= len(x) / ESPEAK_SR <= 8.0:
                break
        clips.append(("good", x * gain()))
    edges = {"lead": (0, 0.5), "tail": (0, 0.5)}  # music or noise between two silences keeps some of them
    for k in range(each):
        blip = speech(rng, folder, 1.0, k)
        at = sounding_point(blip, rng, 0.1, 0.8)
        blip = blip[at : at + int(rng.uniform(0.05, 0.2) * ESPEAK_SR)]  # a syllable's worth, or a click
        silence = quiet(rng, int(rng.uniform(4.5, 7.5) * ESPEAK_SR), rng.choice([-90.0, -60.0]))
        place = int(rng.uniform(0.3, 0.7) * len(silence))
        silence[place : place + len(blip)] += blip
        clips.append(("silence", silence * gain()))
        x = music(rng, rng.uniform(4, 7), ("chords", "melody")[k % 2])
        clips.append(("no pauses", padded(rng, x * gain(), -80.0, **edges)))
        x = noise(rng, rng.uniform(4, 7), ("white", "pink", "hum")[k % 3])  # -25..-15 dBFS: above the threshold
        clips.append(("no pauses", padded(rng, x * 10 ** (rng.uniform(-25, -15) / 20), -80.0, **edges)))
        x = padded(rng, speech(rng, folder, 5.5, k + 1), -60.0)
        clips.append(("clipping", np.clip(x * 10 ** (rng.uniform(6, 12) / 20), -1, 1)))  # 6-12 dB over full scale
        x = speech(rng, folder, 7.5, k + 2) * gain()
        clips.append(("cut start", padded(rng, x[sounding_point(x, rng, 0.05, 0.4) :], -70.0, lead=(0, 0))))
        x = speech(rng, folder, 7.5, k + 3) * gain()
        clips.append(("cut end", padded(rng, x[: sounding_point(x, rng, 0.6, 0.95)], -70.0, tail=(0, 0))))
        clips.append(("length", padded(rng, speech(rng, folder, rng.uniform(0.8, 2.5), k + 4), -60.0) * gain()))  # short
        long = np.concatenate([speech(rng, folder, 5.0, k + 5), np.zeros(ESPEAK_SR // 2), speech(rng, folder, 5.0, k)])
        clips.append(("length", padded(rng, long, -60.0) * gain()))  # too long
    written = []
    for k, (kind, x) in enumerate(clips):
        path = folder / f"{kind.replace(' ', '_')}_{k}.wav"
        soundfile.write(path, x, ESPEAK_SR, subtype="PCM_16")
        written.append((kind, path))
    return written


def test_flags_catch_the_bad_clips_and_spare_the_good(tmp_path):
    """Issue 25: on a set of clean speech clips and bad clips made on purpose, at least 90% of the
    bad ones get the flag of their kind and at most 10% of the good ones get any flag."""
    from fastslice.review import clip_facts

    facts = [(kind, path.name, clip_facts(path, (4.0, 8.0), -40.0)["flags"]) for kind, path in made_set(tmp_path)]
    good = [(name, flags) for kind, name, flags in facts if kind == "good"]
    bad = [(kind, name, flags) for kind, name, flags in facts if kind != "good"]
    caught = [name for kind, name, flags in bad if kind in flags]
    wrong = [(name, flags) for name, flags in good if flags]
    kinds = dict.fromkeys(kind for kind, _, _ in bad)
    rates = (f"{len(caught)} of {len(bad)} bad clips flagged as their kind ({len(caught) / len(bad):.0%}: "
             + ", ".join(f"{k} {sum(k in f for kk, _, f in bad if kk == k)}/{sum(kk == k for kk, _, _ in bad)}" for k in kinds)
             + f"); {len(wrong)} of {len(good)} good ones flagged ({len(wrong) / len(good):.0%})")
    print(rates)
    missed = [(name, flags) for kind, name, flags in bad if kind not in flags]
    assert len(good) >= 30 and len(caught) >= 0.9 * len(bad) and len(wrong) <= 0.1 * len(good), (rates, missed, wrong)


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


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_prune_then_restore_gives_back_the_manifest_byte_for_byte_and_no_empty_folder(tmp_path, kind):
    from fastslice.output import manifests

    folder = tmp_path / "in"
    (folder / "show").mkdir(parents=True)
    for i, name in enumerate(("a.wav", "show/b.wav")):
        x = signals.with_digital_silence(signals.speech_like(50 + i, 30, SR), 50 + i, SR)
        soundfile.write(folder / name, x.T, SR, subtype="PCM_16")
    out, manifest = tmp_path / "out", tmp_path / f"clips.{kind}"
    assert fastslice("slice", folder, "-o", out, "-q", "--manifest", manifest, *OPTIONS).returncode == 0
    if kind == "jsonl":  # a row with a line break in its text, as a cue's may be
        rows = list(manifests.read_manifest(manifest))
        rows[2] = dataclasses.replace(rows[2], text="one\ntwo, \"three\"")
        manifests.write_manifest(manifest, rows)
    before = manifest.read_bytes()
    listed = [c["clip"] for c in collect(out)[1]]
    clips = [Path(c.clip).relative_to(out).as_posix() for c in manifests.read_manifest(manifest)]
    assert len(clips) >= 6 and any(c.startswith("show/") for c in clips)
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text(f"{clips[1]}\n{clips[-2]}\n")  # rows from the middle, one of them in a subfolder
    second.write_text(f"{clips[2]}\n{clips[3]}\n")
    assert fastslice("prune", out, "--list", first, "--manifest", manifest).returncode == 0
    assert fastslice("prune", out, "--list", second, "--manifest", manifest).returncode == 0
    after = [Path(c.clip).relative_to(out).as_posix() for c in manifests.read_manifest(manifest)]
    assert after == [c for c in clips if c not in (clips[1], clips[-2], clips[2], clips[3])]
    # restored in the other order than pruned: each row goes back at its place
    assert fastslice("prune", out, "--list", first, "--restore", "--manifest", manifest).returncode == 0
    assert (out / "dropped").is_dir()  # the second list's clips are still there
    assert fastslice("prune", out, "--list", second, "--restore").returncode == 0  # the manifest they came from
    assert manifest.read_bytes() == before
    assert not (out / "dropped").exists()
    assert [c["clip"] for c in collect(out)[1]] == listed
    assert all((out / c).is_file() for c in clips)
