"""The web page's half of issue 18 (docs/safety.md): nothing exposed, memory counted from the first byte.

* §2 started from a folder outside the repository, by ``make web``'s script (``apps/serve.py``) or by the
  page itself (``streamlit run <repo>/apps/streamlit_app.py``), the server listens on loopback addresses
  only: its listening sockets are read from the kernel (psutil), so no packet is sent to another address;
* §5 a live server sends ``X-Frame-Options: DENY`` and ``Content-Security-Policy: frame-ancestors 'none'``,
  and a link (``?demo=1`` or ``?run=1``) preselects but never starts a run;
* §4 ``NST_WEB_MAX_WAITING=0`` means "no waiting list", not "no runs";
* §3 uploads are decoded reduced to the preview's size, and their decoding is counted against
  ``NST_WEB_MAX_MEMORY`` together with the runs; §8 a budget of 400 nines is one sentence.
"""
from __future__ import annotations

import importlib.util
import io
import ipaddress
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "apps"))

import app_logic as logic  # noqa: E402
from run_queue import RunQueue, RunRefusedError, State  # noqa: E402


def _shots():
    spec = importlib.util.spec_from_file_location("screenshot_app", ROOT / "scripts" / "screenshot_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _listening_addresses(pid: int) -> set[str]:
    import psutil

    process = psutil.Process(pid)
    sockets = []
    for proc in [process, *process.children(recursive=True)]:
        try:
            sockets += proc.net_connections(kind="inet")
        except psutil.Error:
            continue
    return {conn.laddr.ip for conn in sockets if conn.status == psutil.CONN_LISTEN}


# ------------------------------------------------------------------------------ §2 and §5: a live server
@pytest.mark.parametrize("script", ["serve.py", "streamlit_app.py"])
def test_started_outside_the_repository_it_listens_on_loopback_only(script, tmp_path):
    shots = _shots()
    outside = tmp_path / "somewhere_else"
    outside.mkdir()
    started = {}
    log = tmp_path / "streamlit.log"
    with shots.streamlit_server(env={"NST_FAST": "1", "NST_OFFLINE": "1"}, log=log, address=None,
                                script=ROOT / "apps" / script, cwd=outside,
                                on_start=lambda process: started.update(pid=process.pid)) as base:
        addresses = _listening_addresses(started["pid"])
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            headers = {name.lower(): value for name, value in response.getheaders()}
    assert addresses, "the server listens nowhere?"
    assert all(ipaddress.ip_address(ip).is_loopback for ip in addresses), addresses
    assert "Network URL" not in log.read_text(errors="replace")
    if script == "serve.py":  # make web: the framing headers, read from the live server
        assert headers.get("x-frame-options") == "DENY", headers
        assert headers.get("content-security-policy") == "frame-ancestors 'none'", headers


def test_the_page_warns_when_it_is_shared_or_started_without_serve_py():
    served = {logic.ENV_SERVED_BY: "apps/serve.py"}
    assert logic.exposure_warnings("localhost", served) == []
    assert logic.exposure_warnings("127.0.0.1", served) == []
    shared = logic.exposure_warnings("0.0.0.0", served)
    assert len(shared) == 1 and "anyone who can reach this machine" in shared[0]
    assert "every network interface" in logic.exposure_warnings("", served)[0]
    unframed = logic.exposure_warnings("localhost", {})
    assert len(unframed) == 1 and "frame" in unframed[0] and "make web" in unframed[0]


def test_a_link_preselects_but_never_starts_a_run(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NST_FAST", "1")
    monkeypatch.setenv("NST_OFFLINE", "1")
    at = AppTest.from_file(str(ROOT / "apps" / "streamlit_app.py"), default_timeout=180)
    at.query_params["demo"] = "1"
    at.query_params["size"] = "1024"
    at.query_params["steps"] = "5000"
    at.query_params["time_budget"] = "86400"
    at.run()
    assert not at.exception
    assert "ticket" not in at.session_state  # nothing was queued
    assert at.session_state["size"] == 1024 and at.session_state["steps"] == 5000  # but preselected
    assert any("never starts a run by itself" in info.value for info in at.info)


# ----------------------------------------------------------------------------------- §4: no waiting list
def test_no_waiting_list_still_runs_when_the_server_is_free():
    release = threading.Event()
    queue = RunQueue(max_running=1, max_waiting=0)
    try:
        first = queue.submit("a", lambda ticket: release.wait(30))
        assert first.state in (State.RUNNING, State.DONE)
        with pytest.raises(RunRefusedError, match="no waiting list"):
            queue.submit("b", lambda ticket: None)
        release.set()
        assert first.wait(30)
        second = queue.submit("b", lambda ticket: "done")
        assert second.wait(30) and second.outcome == "done"
    finally:
        release.set()
        queue.close()


# --------------------------------------------------------------------------- §3: uploads within the budget
def _png(width: int, height: int) -> bytes:
    from PIL import Image

    ramp = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)
    pixels = np.broadcast_to(ramp[np.newaxis, :, np.newaxis], (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_upload_is_decoded_at_the_preview_size_and_counted():
    import tracemalloc

    data = _png(4000, 3000)
    reserved = []

    class Reserve:
        def __init__(self, cost, what):
            reserved.append((cost, what))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    tracemalloc.start()
    item = logic.read_upload("big.png", data, role="content image", reserve=Reserve)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert item.shape == (3000, 4000) and max(item.preview.shape[:2]) == logic.PREVIEW_SIZE
    assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MB traced (a full float32 copy is 137 MB)"
    (cost, what), = reserved
    assert cost == item.header.decode_bytes(logic.PREVIEW_SIZE) and "big.png" in what


def test_uploads_and_runs_share_the_memory_budget():
    release = threading.Event()
    queue = RunQueue(max_running=2, memory_budget=100 * 2**20, admission=lambda request, budget: logic_admission(60))
    try:
        run = queue.submit("a", lambda ticket: release.wait(30))
        with pytest.raises(RunRefusedError, match="decoding the content image 'x.png'"):
            with queue.reserve_memory(50 * 2**20, "decoding the content image 'x.png'"):
                pass
        with queue.reserve_memory(30 * 2**20, "decoding y.png"):
            assert queue.status().memory_in_use == 90 * 2**20
        release.set()
        assert run.wait(30)
        with queue.reserve_memory(90 * 2**20, "decoding z.png"):
            waiting = queue.submit("b", lambda ticket: "ran")
            assert waiting.state is State.WAITING  # 60 MB more would pass the budget while z.png decodes
        assert waiting.wait(30) and waiting.outcome == "ran"
    finally:
        release.set()
        queue.close()


def logic_admission(megabytes: int):
    from run_queue import Admission

    return Admission(True, megabytes * 2**20)


def test_a_server_budget_of_400_nines_is_one_sentence():
    from nst_lib.errors import InvalidSettingError

    with pytest.raises(InvalidSettingError, match="NST_WEB_MAX_MEMORY must be a size") as caught:
        logic.ServerSettings.from_env({logic.ENV_MAX_MEMORY: "9" * 400})
    assert len(str(caught.value)) < 200
