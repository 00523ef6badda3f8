"""The web page in a real browser: ``streamlit run`` + headless Chromium, driven through DevTools.

Starts the page on a free localhost port (headless, NST_FAST=1, NST_OFFLINE=1), opens a demo link that
preselects the bundled examples and runs once at 48 px / 3 steps, waits until the result's download
button is in the DOM, takes a full-page screenshot and checks that it is a real page, not a blank one.
The helpers are those of ``scripts/screenshot_app.py`` (which makes docs/figures/web_page.png).

Needs ``/usr/bin/chromium`` (Debian/Ubuntu: ``apt-get install chromium``) and the ``websocket-client``
package; skipped with the reason when either is missing.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.slow,
    pytest.mark.serial,  # it times the browser check: make test runs it alone
    pytest.mark.timeout(180),
]


def _helpers():
    pytest.importorskip("websocket", reason="the websocket-client package is needed to drive Chromium")
    spec = importlib.util.spec_from_file_location("screenshot_app", ROOT / "scripts" / "screenshot_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_renders_and_runs_in_headless_chromium(tmp_path):
    shots = _helpers()
    start = time.monotonic()
    log = tmp_path / "streamlit.log"
    env = {"NST_FAST": "1", "NST_OFFLINE": "1"}
    try:
        # served as make web serves it (apps/serve.py); a link preselects, and only the click starts the run
        with shots.streamlit_server(env=env, log=log, script=shots.SERVE) as base, \
                shots.Browser(1280, 1600) as browser:
            browser.goto(f"{base}/?demo=1&size=48&steps=3")
            browser.wait_for(shots.PAGE_RENDERED, timeout=30)
            assert browser.evaluate("document.querySelector('h1').innerText").strip() == "Neural style transfer"
            assert "Settings" in browser.evaluate(
                "document.querySelector('[data-testid=\"stSidebar\"]').innerText")
            browser.wait_for("document.body.innerText.includes('never starts a run by itself')", timeout=30)
            time.sleep(1)  # a run started by the link would show its progress bar by now
            assert not browser.evaluate("!!document.querySelector('[data-testid=\"stProgress\"]')")
            browser.evaluate("[...document.querySelectorAll('button')].find(b => b.innerText.includes("
                             "'Run style transfer')).click()")
            # the progress bar is up while the network loads and the optimiser runs
            browser.wait_for("document.querySelector('[data-testid=\"stProgress\"]')"
                             " || document.querySelector('[data-testid=\"stDownloadButton\"]')", timeout=60)
            assert browser.evaluate("!!document.querySelector('[data-testid=\"stProgress\"]')")
            browser.wait_for(shots.RESULT_SHOWN, timeout=90)
            results = browser.evaluate(
                "[...document.querySelectorAll('[data-testid=\"stImage\"] img')].map(i => [i.naturalWidth,"
                " i.naturalHeight])")
            assert len(results) >= 3  # content and style previews, and the result
            assert any(max(size) == 48 for size in results), results  # the result, at the asked size
            assert browser.evaluate(shots.PAGE_ERROR) == ""
            path = browser.screenshot(tmp_path / "page.png")
    except Exception:
        print(log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)")
        raise
    elapsed = time.monotonic() - start

    with Image.open(path) as shot:
        assert shot.format == "PNG"
        assert shot.size[0] == 1280 and shot.size[1] >= 1600
        pixels = np.asarray(shot.convert("RGB"), dtype=np.float32)
    assert pixels.std() > 25  # a blank or single-colour page has (almost) none
    not_background = (np.abs(pixels - pixels[5, -5]).sum(axis=2) > 30).mean()
    assert not_background > 0.05  # text, previews and the result cover a good part of the page
    assert elapsed < 90, f"the browser check took {elapsed:.0f} s"
