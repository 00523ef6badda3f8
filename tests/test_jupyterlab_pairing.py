"""Saving a notebook in JupyterLab updates its jupytext twin, and the pairing test notices a stale twin.

JupyterLab saves through the Jupyter server's contents API; jupytext's server extension (enabled when
the ``jupytext`` package is installed) writes both files of a pair. This test starts a real server on
127.0.0.1 over a temporary copy of one notebook, saves an edit exactly as JupyterLab does (``PUT
/api/contents/…``), and checks the text twin.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_notebooks import NOTEBOOK_DIR, _cells, _read

pytest.importorskip("jupytext")
pytest.importorskip("jupyter_server")

NOTEBOOK = "03_gram_matrices"
TOKEN = "nst-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def lab_server(tmp_path: Path):
    for name in (f"{NOTEBOOK}.ipynb", f"{NOTEBOOK}.py", "jupytext.toml"):
        shutil.copy(NOTEBOOK_DIR / name, tmp_path / name)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}?token={TOKEN}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the Jupyter server did not start within 60 s")
                time.sleep(0.3)
        yield base, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.timeout(120)
def test_saving_in_jupyterlab_updates_the_text_twin(lab_server):
    import jupytext

    base, folder = lab_server
    url = f"{base}/contents/{NOTEBOOK}.ipynb?token={TOKEN}"
    model = json.load(urllib.request.urlopen(url, timeout=30))
    cells = model["content"]["cells"]
    marker = "A sentence added in JupyterLab."
    cells[1]["source"] += f"\n\n{marker}"
    body = json.dumps({"type": "notebook", "format": "json", "content": model["content"]}).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=30).status == 200

    twin = folder / f"{NOTEBOOK}.py"
    assert marker in twin.read_text(encoding="utf-8"), "jupytext did not write the .py twin on save"
    assert _cells(_read(folder / f"{NOTEBOOK}.ipynb")) == _cells(jupytext.read(twin))

    # an edit of the twin alone (outside JupyterLab, without `make sync`) is what the pairing test catches
    twin.write_text(twin.read_text(encoding="utf-8").replace(marker, "Edited only in the .py file."),
                    encoding="utf-8")
    assert _cells(_read(folder / f"{NOTEBOOK}.ipynb")) != _cells(jupytext.read(twin))
