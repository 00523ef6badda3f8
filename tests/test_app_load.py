"""The served web page: private by default, and fair under load (six tabs against one local server).

The first test starts the page with the project's own settings (as ``make web`` does) and checks that it
answers on localhost and not on this machine's network address, and prints no "Network URL".

The load test starts a server on 127.0.0.1 and drives six browser tabs against it with real HTTP and
websocket clients (``scripts/web_client.py``), not AppTest: only a real server has real
sessions, so only this way does closing a tab disconnect a session, and only this way do the tabs share
the server's queue and worker process exactly as people's browsers would. Each tab speaks Streamlit's
own protocol (protobuf messages over ``/_stcore/stream``, uploads over HTTP with the XSRF cookie,
fragment timers), as the browser's JavaScript does.

The scenario, at 48 px and 3 steps (``NST_FAST=1``, offline weights, one run at a time, a 1 s grace
for closed tabs):

* tab A starts a long run and is closed while it runs: its run is stopped and gives up the worker;
* tabs B, C, D and E each upload their own content photo and run; tab W queues behind B and is closed
  while it waits: it leaves the queue and never runs;
* every one of B-E gets exactly one result, and it is made from its own photo (the result correlates
  best with that tab's upload); each tab's page shows its own upload and no one else's;
* runs start first come, first served (A, B, C, D, E in the server's log), each waiting tab saw its
  place (never going up; the last tab saw it count down), and a waiting tab's page still answers a full
  rerun within seconds and refreshes its status in well under a second (5 s and 1 s, or three times
  the same tab's rerun before any run, whichever is larger: a loaded machine slows every page).
"""
from __future__ import annotations

import importlib.util
import io
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
RESULT_TIMEOUT = 300.0  # seconds; ~40 s on a quiet 2-core machine
PROMPT = 5.0  # seconds a waiting tab's full rerun may take on a quiet machine …
PROMPT_FACTOR = 3.0  # … or this many times the same tab's rerun before any run started (a loaded machine)


def _scripts():
    pytest.importorskip("websocket", reason="the websocket-client package drives the tabs")
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location("screenshot_app", ROOT / "scripts" / "screenshot_app.py")
    shots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shots)
    import web_client

    return shots, web_client


def content_photo(index: int, height: int = 60, width: int = 80) -> np.ndarray:
    """A light gradient with one big dark disc in a different place per tab (structure survives styling)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([0.9 - 0.2 * yy / height, 0.85 - 0.1 * xx / width, 0.8 + 0.1 * yy / height], axis=-1)
    cy, cx = [(0.3, 0.28), (0.3, 0.72), (0.7, 0.28), (0.7, 0.72)][index]
    disc = (yy - cy * height) ** 2 + (xx - cx * width) ** 2 < (0.22 * height) ** 2
    image[disc] = (0.1, 0.1, 0.15)
    return np.clip(image, 0, 1)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def grey(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    picture = Image.fromarray(np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)).convert("L")
    values = np.asarray(picture.resize((shape[1], shape[0]), Image.BILINEAR), np.float32)
    return (values - values.mean()) / (values.std() + 1e-6)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).mean())


def positions(tab) -> list[int]:
    """The queue places a tab was shown, in order (repeats collapsed)."""
    seen = [int(m.group(1)) for s in tab.seen("alert", "in the queue")
            if (m := re.search(r"you are (\d+)(?:st|nd|rd|th) in the queue", s.text))]
    return [p for i, p in enumerate(seen) if i == 0 or p != seen[i - 1]]


def test_the_page_serves_only_this_machine_by_default(tmp_path):
    """With the project's settings (what ``make web`` runs), the page listens on loopback addresses only.

    The listening sockets are read from the kernel (psutil), so no request goes to the machine's network
    address (tests/test_app_safety.py does the same from a folder outside the repository).
    """
    import ipaddress

    import psutil

    shots, _ = _scripts()
    log = tmp_path / "streamlit.log"
    started = {}
    with shots.streamlit_server(env={"NST_FAST": "1", "NST_OFFLINE": "1"}, log=log, address=None,
                                on_start=lambda process: started.update(pid=process.pid)) as base:
        port = int(base.rsplit(":", 1)[1])
        assert shots._get(f"http://localhost:{port}/_stcore/health").strip() == "ok"
        listening = {c.laddr.ip for c in psutil.Process(started["pid"]).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN}
    assert listening and all(ipaddress.ip_address(ip).is_loopback for ip in listening), listening
    printed = log.read_text(errors="replace")
    assert f"URL: http://localhost:{port}" in printed and "Network URL" not in printed, printed


@pytest.mark.serial  # it times the page's answers under its own load: make test runs it alone
def test_six_tabs_share_the_server_fairly_and_each_gets_its_own_result(tmp_path):
    shots, web_client = _scripts()
    log = tmp_path / "streamlit.log"
    env = {"NST_FAST": "1", "NST_OFFLINE": "1", "NST_WEB_MAX_RUNS": "1", "NST_WEB_DISCONNECT_GRACE": "1"}
    photos = {name: content_photo(i) for i, name in enumerate("BCDE")}
    start = time.monotonic()
    tabs: dict[str, object] = {}
    try:
        with shots.streamlit_server(env=env, log=log) as base:
            tabs["A"] = web_client.PageSession(base, query="size=64&steps=5000")
            for name in "BWCDE":
                tabs[name] = web_client.PageSession(base, query="size=48&steps=3")
            for name in "BCDE":
                tab = tabs[name]
                tab.choose("content_source", "Upload")
                tab.upload("content_upload", f"photo_{name}.png", png_bytes(photos[name]))
            A, B, W, C, D, E = (tabs[n] for n in "ABWCDE")
            idle = E.rerun()  # the same page with no run anywhere: what this machine's load makes of a rerun
            sessions = {tab.session_id[:8]: name for name, tab in tabs.items()}

            A.click("run")
            B.click("run")
            W.click("run")
            W.wait_for(lambda: positions(W), timeout=60, what="W's place in the queue")
            W.close()  # closing a waiting tab
            for tab in (C, D, E):
                tab.click("run")
            A.wait_for(lambda: any("Iteration" in t for t in A.texts("progress")), timeout=RESULT_TIMEOUT,
                       what="A's run to iterate")
            A.close()  # closing a running tab
            E.wait_for(lambda: positions(E), timeout=60, what="E's place in the queue")
            prompt = E.rerun()  # a waiting tab's whole page, while another tab's run has the worker
            for tab in (B, C, D, E):
                tab.wait_for(tab.download_url, timeout=RESULT_TIMEOUT, what="the result")
            results = {name: np.asarray(Image.open(io.BytesIO(tabs[name].get(tabs[name].download_url()))),
                                        np.float32) / 255 for name in "BCDE"}
            shown = {name: tabs[name].texts("imgs") for name in "BCDE"}
            fragment_runs = [d for name in "CDE" for kind, d in tabs[name].run_durations if kind == "fragment"]
    except Exception:
        print(log.read_text(errors="replace")[-4000:] if log.exists() else "(no server log)")
        raise
    finally:
        for tab in tabs.values():
            tab.close()
    elapsed = time.monotonic() - start

    # every tab that stayed got one result, made from its own photo
    for name, result in results.items():
        assert result.shape[:2] in ((36, 48), (48, 36)) or max(result.shape[:2]) == 48, result.shape
        scores = {other: correlation(grey(result, result.shape[:2]), grey(photos[other], result.shape[:2]))
                  for other in "BCDE"}
        best = max(scores, key=scores.get)
        assert best == name and scores[name] > 0.5, (name, scores)
        assert scores[name] - max(v for k, v in scores.items() if k != name) > 0.3, (name, scores)
        captions = " ".join(shown[name])
        assert f"photo_{name}.png" in captions, (name, shown[name])  # its own upload and result …
        assert not any(f"photo_{other}" in captions for other in "BCDE" if other != name), (name, shown[name])

    # the server's log: first come, first served; closed tabs gave up their place and their run
    queue_log = [line for line in log.read_text(errors="replace").splitlines() if "run #" in line]
    for prefix, name in sessions.items():
        queue_log = [line.replace(prefix, f"{prefix} (tab {name})") for line in queue_log]
    print("\n".join(queue_log))
    events: dict[str, list[str]] = {name: [] for name in tabs}
    started: list[str] = []
    for match in re.finditer(r"run #\d+ of session (\w{8}) \(tab \w\): (\w+)", "\n".join(queue_log)):
        name = sessions[match.group(1)]
        events[name].append(match.group(2))
        if match.group(2) == "started":
            started.append(name)
    assert started == list("ABCDE"), started
    assert events["A"] == ["queued", "started", "abandoned"], events["A"]
    assert events["W"] == ["queued", "abandoned"], events["W"]
    for name in "BCDE":
        assert events[name] == ["queued", "started", "done"], (name, events[name])

    # each waiting tab saw its place, and saw it count down (the page polls: a quick run ahead of a tab
    # can come and go between two looks); a waiting page stayed responsive
    for name in "CDE":
        seen = positions(tabs[name])
        assert seen and seen == sorted(seen, reverse=True), (name, seen)
    assert positions(E)[0] >= 2 and len(positions(E)) >= 2, positions(E)
    assert prompt < max(PROMPT, PROMPT_FACTOR * idle), (
        f"a waiting tab's page took {prompt:.1f} s to rerun (before any run: {idle:.1f} s)")
    assert fragment_runs and float(np.median(fragment_runs)) < max(1.0, PROMPT_FACTOR * idle), (sorted(fragment_runs)[-5:], idle)
    print(f"load test: 6 tabs, 5 runs in {elapsed:.0f} s; waiting tab's full rerun {prompt:.2f} s (idle {idle:.2f} s), status "
          f"refresh median {np.median(fragment_runs) * 1000:.0f} ms, max {max(fragment_runs) * 1000:.0f} ms; "
          f"places seen: " + ", ".join(f"{n} {positions(tabs[n])}" for n in "CDE"))
