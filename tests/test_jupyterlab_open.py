"""Every notebook opens *unmodified* in a real JupyterLab: no dirty dot on its tab before the learner did
anything, and saving it straight away writes the files it was opened from, byte for byte.

JupyterLab writes the running kernel's ``kernelspec`` and ``language_info`` into an opened notebook and
marks it modified when they differ from the file's. The course's kernel (``nst_lib.course.kernel``) reports
a ``language_info`` without the Python patch version, and every notebook records exactly what it reports
(``tests/test_notebooks.py`` checks the metadata without a browser; this test checks what JupyterLab does).

One JupyterLab (``jupyter lab``, as ``make lab`` starts it, over a temporary copy of ``notebooks/`` and
with empty user settings, as on a fresh install) and one headless Chromium for all notebooks. The first
notebook starts its kernel as a learner's does; the others are opened on that same running kernel, so
JupyterLab receives the same kernel spec and ``kernel_info`` for each without thirteen more TensorFlow
start-ups. For each notebook the test waits until the kernel's spec and info have reached JupyterLab
(the cause it checks), then reads the tab's ``jp-mod-dirty`` class, and saves.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "nst-open-test"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks/NN_*.ipynb yet"),
    pytest.mark.slow,
    pytest.mark.timeout(420),
]

#: the notebook panel of a path (shell.currentWidget follows focus, which a headless window may not have)
PANEL = "Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === {path!r})"
#: once the panel's kernel is connected and idle: wait for its spec and info (what JupyterLab writes into the
#: notebook's metadata; its own handlers were registered first, so they have run when ours do), then record
#: the tab's classes, the model's dirty flag and the metadata JupyterLab now holds
OBSERVE = """(() => {{
  const w = {panel};
  const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.connectionStatus !== 'connected' || k.status !== 'idle') return false;
  if (window.__observing !== {path!r}) {{
    window.__observing = {path!r}; window.__observed = null;
    Promise.all([k.info, k.spec]).then(() => setTimeout(() => {{
      const tab = Array.from(document.querySelectorAll('.lm-TabBar-tab'))
        .find(t => t.innerText.trim() === {path!r});
      window.__observed = JSON.stringify({{kernel: k.id, dirty: w.model.dirty, tab: tab ? tab.className : null,
                                           metadata: w.model.toJSON().metadata}});
    }}, 500));
  }}
  return !!window.__observed;
}})()"""


def _lab(folder: Path, settings: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "NST_OFFLINE": "1", "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces")}
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}", "--expose-app-in-browser"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _what_changed(on_disk: dict, in_lab: dict) -> str:
    keys = sorted(k for k in set(on_disk) | set(in_lab) if on_disk.get(k) != in_lab.get(k))
    return "; ".join(f"metadata.{k}: file {on_disk.get(k)!r}, JupyterLab {in_lab.get(k)!r}" for k in keys) \
        or "no metadata difference (a cell changed?)"


def test_every_notebook_opens_unmodified_and_saves_unchanged(tmp_path: Path):
    pytest.importorskip("websocket", reason="the websocket-client package is needed to drive Chromium")
    pytest.importorskip("jupyterlab")
    sys.path.insert(0, str(REPO / "scripts"))
    from screenshot_app import Browser, _stop, _wait_http, free_port

    folder, settings = tmp_path / "notebooks", tmp_path / "settings"
    folder.mkdir()
    settings.mkdir()
    for path in [*NOTEBOOKS, *(p.with_suffix(".py") for p in NOTEBOOKS), NOTEBOOK_DIR / "jupytext.toml"]:
        shutil.copy2(path, folder / path.name)
    port = free_port()
    lab = _lab(folder, settings, port)
    problems: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/status?token={TOKEN}", 120, lab)
        with Browser(1280, 900, timeout=60) as browser:
            browser.goto(f"{base}/lab?token={TOKEN}")
            browser.wait_for("!!window.jupyterapp && !!document.querySelector('.jp-DirListing-item')", 120)
            kernel = None
            for notebook in NOTEBOOKS:
                path = notebook.name
                files = {p: (folder / p).read_bytes() for p in (path, notebook.with_suffix(".py").name)}
                choice = f", kernel: {{id: {kernel!r}}}" if kernel else ""  # the first starts the kernel
                browser.evaluate(f"window.jupyterapp.commands.execute('docmanager:open', {{path: {path!r}{choice}}})")
                panel = PANEL.format(path=path)
                browser.wait_for(OBSERVE.format(panel=panel, path=path), 240 if kernel is None else 60)
                seen = json.loads(browser.evaluate("window.__observed"))
                kernel = kernel or seen["kernel"]
                assert seen["kernel"] == kernel, f"{path} did not open on the shared kernel"
                assert seen["tab"] is not None, f"no tab titled {path}"
                if "jp-mod-dirty" in seen["tab"] or seen["dirty"]:
                    on_disk = json.loads(files[path])["metadata"]
                    problems.append(f"{path} opens modified (tab: {seen['tab']!r}): "
                                    + _what_changed(on_disk, seen["metadata"]))
                    continue
                browser.evaluate(f"window.__saved = null; {panel}.context.save()"
                                 ".then(() => window.__saved = 'ok', e => window.__saved = String(e))")
                browser.wait_for("window.__saved !== null", 60)
                assert browser.evaluate("window.__saved") == "ok", f"saving {path}: {browser.evaluate('window.__saved')}"
                changed = [p for p, data in files.items() if (folder / p).read_bytes() != data]
                if changed:
                    problems.append(f"{path}: saving it unmodified from JupyterLab rewrote {changed}")
    finally:
        _stop(lab)
    assert not problems, "\n".join(problems)
