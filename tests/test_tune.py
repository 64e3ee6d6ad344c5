"""The tuning page (``fastslice tune``) in a real browser: Debian's headless Chromium, driven by Selenium.

The recording is made here: ten minutes of espeak-ng speech over generated music (chords that
swell and fade), seeded, under a file name that is hostile both as markup and as shell text.  The
page's cuts, for parameters set through its own controls, are checked against ``Slicer(...)
.slice_ranges`` on the same samples; its command is run by a real shell.  Waits are for events in
the page (conditions polled by WebDriverWait), never for fixed times.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
import signals
import soundfile
from test_review import browser, console_errors, wait_for  # noqa: F401  (browser: a fixture)

from fastslice import ParameterError
from fastslice.cutting.slicer import Slicer
from fastslice.tune import threshold_table, tune

RATE = signals.ESPEAK_RATE
HOP_MS = 10
# Hostile to a page and to a shell, but a name Windows allows (fastslice refuses < > : " | ? * in
# the names it writes, fastslice/names.py), so that the copied command can slice it: an
# attribute and an entity a page that inserted it as HTML would act on, a command substitution
# and a quote-breaking command a shell would run.
HOSTILE = "x' onerror='alert(1)' &amp; $(touch pwned) ';touch pwned2;'"
SENTENCES = [
    "The lighthouse keeper climbed the stairs again, counting every step out loud.",
    "Nobody in the village remembered when the bell had last been rung.",
    "She folded the letter twice and pressed it under the heavy blue book.",
    "Rain moved across the harbour in long grey sheets, and the boats rocked.",
    "He said the train would wait, but the platform was already empty.",
    "Three small birds argued on the wire above the bakery all morning.",
    "If the river rises tonight, we will carry the chairs upstairs.",
    "The map was wrong about the bridge, so we walked along the shore instead.",
]


def music(seconds, seed):
    """Chords of sines with a few partials that swell and fade, as a bed under the speech (float64)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    out = np.zeros(n)
    at = 0.0
    while at < seconds:
        length = rng.uniform(4, 12)
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        a, b = int(at * RATE), min(n, int((at + length) * RATE))
        swell = np.sin(np.linspace(0, np.pi, b - a)) ** 2
        for ratio in (1, 1.25, 1.5, 2):
            for partial, gain in ((1, 1.0), (2, 0.4), (3, 0.2)):
                out[a:b] += gain * np.sin(2 * np.pi * root * ratio * partial * t[a:b]) * swell
        at += length + rng.uniform(0, 3)  # sometimes a pause in the music too
    return out / np.abs(out).max()


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Ten minutes: the sentences said again and again with pauses of 0.1-1.5 s, over music at -30 dB
    that fades now and then; a 16-bit WAV under the hostile name.  Returns (path, float32 samples)."""
    folder = tmp_path_factory.mktemp("tune")
    said = signals.spoken(SENTENCES, folder)
    rng = np.random.default_rng(7)
    parts, total = [], 0
    while total < 600 * RATE:
        gap = np.zeros(int(rng.uniform(0.1, 1.5) * RATE))
        line = said[rng.integers(len(said))] * rng.uniform(0.5, 1.0)
        parts += [gap, line]
        total += gap.size + line.size
    speech = np.concatenate(parts)
    mixed = speech + 10 ** (-30 / 20) * music(speech.size / RATE, 3)[: speech.size]
    mixed += np.random.default_rng(4).normal(0, 10 ** (-65 / 20), mixed.size)
    path = folder / f"{HOSTILE}.wav"
    soundfile.write(path, mixed, RATE, subtype="PCM_16")
    audio, _ = soundfile.read(path, dtype="float32")
    return path, audio


@pytest.fixture(scope="module")
def page(recording, tmp_path_factory):
    path, _ = recording
    folder = tmp_path_factory.mktemp("page")
    done = subprocess.run([sys.executable, "-m", "fastslice", "tune", str(path), "-o", str(folder / "tune.html"),
                           "--threshold", "-40", "--min-length", "3000", "--min-interval", "300", "--hop-size",
                           str(HOP_MS), "--max-sil-kept", "300"], capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "RMS frames" in done.stdout
    return folder / "tune.html"


def open_page(browser, page):  # noqa: F811
    browser.get(page.as_uri())
    wait_for(browser, "return document.body.dataset.ready === '1'")
    return browser


def set_controls(browser, values):  # noqa: F811
    """Type each value into its number field as a user's input would arrive (an input event per field)."""
    browser.execute_script("""
        for (const [key, value] of Object.entries(arguments[0])) {
          const box = document.getElementById(key);
          box.value = String(value);
          box.dispatchEvent(new Event("input", {bubbles: true}));
        }""", values)


def drawn_parameters(rng):
    min_interval = int(rng.integers(4 * HOP_MS, 1500))  # from 4 hops on, the frames do not depend on it
    min_length = int(rng.integers(min_interval, 9000))
    values = {"threshold": round(float(rng.uniform(-60, -20)), 1), "min_length": min_length,
              "min_interval": min_interval, "max_sil_kept": int(rng.integers(HOP_MS, 2500)),
              "max_length": int(rng.integers(min_length, 20000)) if rng.random() < 0.5 else 0}
    if rng.random() < 0.2:  # values as a user types them, with a fraction
        values["min_length"] += 0.5
    return values


def slicer_ranges(audio, values):
    params = {k: v for k, v in values.items() if k != "max_length"}
    slicer = Slicer(RATE, hop_size=HOP_MS, max_length=values["max_length"] or None, **params)
    return slicer.slice_ranges(audio).tolist()


def test_the_page_s_cuts_equal_the_slicer_s_for_fifty_parameter_sets(browser, page, recording):  # noqa: F811
    _, audio = recording
    open_page(browser, page)
    assert not console_errors(browser)
    rng = np.random.default_rng(25)
    counts = []
    for _ in range(50):
        values = drawn_parameters(rng)
        set_controls(browser, values)
        assert browser.execute_script("return fastsliceTune.valid()"), browser.find_element("id", "status").text
        got = browser.execute_script("return fastsliceTune.cuts()")
        expected = slicer_ranges(audio, values)
        assert got == expected, values
        counts.append(len(got))
    assert len(set(counts)) > 20 and max(counts) > 60  # the sets differ, and cut the hour's speech apart
    # below four hops, the window and so the frames would change: the page says so and shows no command
    set_controls(browser, {"min_interval": 2 * HOP_MS, "min_length": 3000})
    assert not browser.execute_script("return fastsliceTune.valid()")
    assert "run fastslice tune again with --min-interval 20" in browser.find_element("id", "status").text
    assert browser.find_element("id", "command").get_attribute("value").startswith("(no command")
    set_controls(browser, {"min_interval": 300, "max_length": 2000})  # a maximum under the minimum
    assert "max length must be at least min length" in browser.find_element("id", "status").text
    assert not console_errors(browser)


def test_the_copied_command_writes_the_clips_the_page_showed_and_runs_nothing_else(browser, page, recording,  # noqa: F811
                                                                                  tmp_path):
    path, audio = recording
    open_page(browser, page)
    assert browser.execute_script("return document.title").endswith(HOSTILE + ".wav")  # shown as text
    assert HOSTILE in browser.find_element("id", "title").text
    assert not browser.find_elements("css selector", "img")
    values = {"threshold": -33.7, "min_length": 2500, "min_interval": 250, "max_sil_kept": 400, "max_length": 9000}
    set_controls(browser, values)
    browser.find_element("id", "copy").click()
    command = browser.find_element("id", "command").get_attribute("value")
    cuts = browser.execute_script("return fastsliceTune.cuts()")
    assert command.startswith("fastslice slice ") and "--max-length 9000" in command and "--threshold -33.7" in command
    done = subprocess.run(["bash", "-c", command.replace("fastslice slice", f"{sys.executable} -m fastslice slice", 1)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    out = tmp_path / f"{HOSTILE}_clips"
    marker = json.loads((out / f".{HOSTILE}.fastslice.json").read_text())
    assert len(marker["clips"]) == len(cuts)
    clips = [out / f"{HOSTILE}_{k}.wav" for k in range(len(cuts))]
    assert sorted(p.name for p in out.glob("*.wav")) == sorted(p.name for p in clips)
    pcm, _ = soundfile.read(path, dtype="int16")
    for clip, (start, end) in zip(clips, cuts):
        data, rate = soundfile.read(clip, dtype="int16")
        assert rate == RATE and np.array_equal(data, pcm[start:end]), clip.name
    assert cuts == slicer_ranges(audio, values)


def test_clicking_a_band_plays_that_span_and_keys_step_through_the_cuts(browser, page):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, page)
    set_controls(browser, {"threshold": -38, "min_length": 3000, "min_interval": 300, "max_sil_kept": 300,
                           "max_length": 0})
    cuts = browser.execute_script("return fastsliceTune.cuts()")
    assert len(cuts) > 10
    k = 3
    start, end = (v / RATE for v in cuts[k])
    # the band's middle, in the zoomed view's pixels, after showing clip k in it
    x = browser.execute_script("""
        const [a, b] = arguments[0], zoom = document.getElementById("zoom"), r = zoom.getBoundingClientRect();
        const [t0, t1] = fastsliceTune.view();
        return ((a + b) / 2 - t0) / (t1 - t0) * r.width;""", [start, end])
    if not 5 < x < browser.execute_script("return document.getElementById('zoom').getBoundingClientRect().width") - 5:
        browser.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight'}))")
        pytest.fail(f"clip {k} is not in the first view: {x}")
    zoom = browser.find_element("id", "zoom")
    width = zoom.size["width"]
    ActionChains(browser).move_to_element_with_offset(zoom, int(x - width / 2), 0).click().perform()
    wait_for(browser, f"return fastsliceTune.current() === {k}")
    wait_for(browser, f"const p = document.getElementById('player'); return !p.paused && p.currentTime > {start} + 0.05")
    now = browser.execute_script("return document.getElementById('player').currentTime")
    assert start <= now <= end + 0.3
    body = browser.find_element("tag name", "body")
    body.send_keys("j")
    wait_for(browser, f"return fastsliceTune.current() === {k + 1}")
    next_start = cuts[k + 1][0] / RATE
    wait_for(browser, f"return document.getElementById('player').currentTime > {next_start}")
    body.send_keys(" ")
    wait_for(browser, "return document.getElementById('player').paused")
    body.send_keys("k")
    wait_for(browser, f"return fastsliceTune.current() === {k}")
    assert not console_errors(browser)


def test_zoom_and_pan_by_wheel_drag_and_keys(browser, page):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, page)
    first = browser.execute_script("return fastsliceTune.view()")
    zoom = browser.find_element("id", "zoom")
    browser.execute_script("""arguments[0].dispatchEvent(new WheelEvent("wheel", {deltaY: -100, clientX:
        arguments[0].getBoundingClientRect().left + 100, bubbles: true, cancelable: true}))""", zoom)
    zoomed = browser.execute_script("return fastsliceTune.view()")
    assert zoomed[1] - zoomed[0] < first[1] - first[0]
    ActionChains(browser).move_to_element(zoom).click_and_hold().move_by_offset(-200, 0).release().perform()
    panned = browser.execute_script("return fastsliceTune.view()")
    assert panned[0] > zoomed[0] and abs((panned[1] - panned[0]) - (zoomed[1] - zoomed[0])) < 1e-6
    browser.find_element("tag name", "body").send_keys("-")
    wider = browser.execute_script("return fastsliceTune.view()")
    assert wider[1] - wider[0] > panned[1] - panned[0]


def test_the_embedded_thresholds_are_those_the_slicer_compares(recording):
    table = threshold_table()
    for k in (-1200, -600, -403, -335, -1, 0):
        slicer = Slicer(RATE, threshold=k / 10)
        assert table[k + 1200] == slicer.comparable_threshold(np.dtype(np.float32)), k


def test_tune_says_what_is_wrong(tmp_path):
    with pytest.raises(ParameterError, match="min_length=100 must be >= min_interval=300"):
        tune(tmp_path / "x.wav", params={"min_length": 100, "min_interval": 300})
    done = subprocess.run([sys.executable, "-m", "fastslice", "tune", str(tmp_path / "missing.wav")],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "missing.wav" in done.stderr
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.int16), RATE)
    done = subprocess.run([sys.executable, "-m", "fastslice", "tune", str(tmp_path / "empty.wav"), "-o",
                           str(tmp_path / "p.html")], capture_output=True, text=True)
    assert done.returncode != 0 and "empty.wav: holds no audio frames" in done.stderr
    assert not (tmp_path / "p.html").exists()
    done = subprocess.run([sys.executable, "-m", "fastslice", "tune", str(tmp_path / "x.wav"), "--threshold", "auto"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "tune starts from a threshold in dB" in done.stderr
