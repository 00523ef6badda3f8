"""A fresh ``make lab`` asks no "official Jupyter news?" question: the environment's JupyterLab settings
override (``nst_lib.course.lab_settings``, run by ``make install``) answers it, and a real JupyterLab
server started from this environment reports the answer through its settings API."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nst_lib.course import lab_settings

REPO = Path(__file__).resolve().parents[1]
PLUGIN = "@jupyterlab/apputils-extension:notification"


def test_install_writes_the_override_and_keeps_other_keys(tmp_path):
    path = lab_settings.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                                PLUGIN: {"doNotDisturbMode": True}}))
    assert lab_settings.install(tmp_path) == path
    written = json.loads(path.read_text())
    assert written[PLUGIN] == {"doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert lab_settings.install(tmp_path) == path and json.loads(path.read_text()) == written  # idempotent


def test_broken_overrides_file_is_reported_not_replaced(tmp_path):
    path = lab_settings.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SystemExit, match=r"error: .*overrides.json is not valid JSON"):
        lab_settings.install(tmp_path)
    assert path.read_text() == "{not json"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_jupyterlab_of_this_environment_does_not_ask_about_news(tmp_path):
    """What make install set up: the running server serves the notification plugin's schema with the
    default "false" (Never) for news, not "none" (which makes JupyterLab show the news prompt), and the
    user has set nothing (JupyterLab applies overrides.json to the schema defaults)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists() or shutil.which("jupyter-lab", path=str(jupyter.parent)) is None:
        pytest.skip("JupyterLab is not installed in this environment")
    if not lab_settings.overrides_path().is_file():
        pytest.fail(f"{lab_settings.overrides_path()} is missing: run make install")
    sys.path.insert(0, str(REPO / "scripts"))
    from screenshot_app import _stop, _wait_http, free_port

    port, token = free_port(), "nst-lab-settings"
    log = open(tmp_path / "lab.log", "wb")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--allow-root"],
        stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 90, server)
        url = f"http://127.0.0.1:{port}/lab/api/settings/{PLUGIN}?token={token}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    setting = json.load(response)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        _stop(server)
        log.close()
    properties = setting["schema"]["properties"]
    assert properties["fetchNews"]["default"] == "false", properties["fetchNews"]
    assert properties["checkForUpdates"]["default"] is False
    assert "fetchNews" not in setting["settings"]  # nothing in the user's own settings decides it
