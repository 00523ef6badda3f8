"""Look at a notebook as a learner sees it: open it in a real JupyterLab, run its first cells, screenshot.

    .venv/bin/python scripts/screenshot_lab.py 00_setup_and_tour --cells 2 --out /tmp/lab_00.png
    .venv/bin/python scripts/screenshot_lab.py 00_setup_and_tour --cells 0 --show 0 --out /tmp/lab_00_top.png
    .venv/bin/python scripts/screenshot_lab.py 09_what_is_style --cells 2 --fast --out /tmp/lab_09.png
    .venv/bin/python scripts/screenshot_lab.py 02_vgg19_feature_maps --cells 17 --show 13 --fast --out /tmp/lab_02.png
    .venv/bin/python scripts/screenshot_lab.py 05_optimization --cells 12 --show 1,7,11 --fast --out /tmp/lab_05.png

It copies the notebook (and its text twin) into a temporary folder, starts ``jupyter lab`` there on a
free localhost port with the project's ``python3`` kernel (``nst_lib.course.kernel``, installed by ``make
install``), opens the notebook in headless Chromium, runs the first ``--cells`` cells one after the other
through JupyterLab's own command (``notebook:run-cell-and-select-next``, what Shift+Enter does), waits for
the kernel to be idle after each, and saves a screenshot of the window (one per cell of ``--show``: with several, ``/tmp/lab_05.png`` becomes
``/tmp/lab_05_c1.png``, ``/tmp/lab_05_c7.png``, …; ``--show 0`` is the top of the notebook, what a learner
sees first). It prints whether the notebook's tab shows it modified (JupyterLab's dirty dot; a notebook
nobody has run should open unmodified), then every stream output
of the cells it ran that went to stderr — what a learner would see in red — so a check does not rely on
the eye alone. Nothing in the repository is written (the copy is discarded). ``--fast`` sets ``NST_FAST=1``.

JupyterLab starts as on a fresh install: with empty user settings and workspaces (temporary folders), so
only the environment's settings apply — among them ``make install``'s override that switches off the "get
notified about official Jupyter news?" prompt (``nst_lib.course.lab_settings``). After ``--settle`` seconds
the script prints the notifications JupyterLab shows (toasts and the status bar's count); ``--ask-news``
sets the news setting back to JupyterLab's own default in those user settings, to see the prompt appear::

    .venv/bin/python scripts/screenshot_lab.py 00_setup_and_tour --cells 0 --settle 10 --out /tmp/lab_news.png
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot_app import Browser, _stop, _wait_http, free_port  # noqa: E402 - the same DevTools helpers

TOKEN = "nst-screenshot"
#: the notebook's panel (shell.currentWidget follows focus, which a headless window may not have)
PANEL = "(window.jupyterapp && Array.from(window.jupyterapp.shell.widgets('main')).find(x => x.sessionContext))"
KERNEL_IDLE = ("(() => { const w = " + PANEL + ";"
               " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
               " return !!k && k.status === 'idle'; })()")
STDERR_OUTPUTS = ("(() => { const w = " + PANEL + "; const out = [];"
                  " w.content.widgets.slice(0, %d).forEach((cell, i) => { const o = cell.model.outputs;"
                  " if (!o) return; for (let j = 0; j < o.length; j++) { const m = o.get(j).toJSON();"
                  " if (m.output_type === 'stream' && m.name === 'stderr') out.push([i, [].concat(m.text).join('')]); } });"
                  " return JSON.stringify(out); })()")
#: the notifications on screen: toasts' texts, and the status bar's notification item
NOTIFICATIONS = ("JSON.stringify({toasts: Array.from(document.querySelectorAll('.Toastify__toast'))"
                 ".map(t => t.innerText.trim()), status: Array.from(document.querySelectorAll("
                 "'.jp-Notification-Status')).map(s => s.innerText.trim()),"
                 " news: document.body.innerText.includes('Jupyter news')})")
#: whether the notebook's tab carries JupyterLab's dirty mark (the dot that replaces the close button)
TAB_MODIFIED = ("Array.from(document.querySelectorAll('.lm-TabBar-tab')).some(t => t.innerText.trim() === %s"
                " && t.classList.contains('jp-mod-dirty'))")
#: JupyterLab's notification settings as its own default (the prompt appears while fetchNews is "none")
NEWS_DEFAULT = {"fetchNews": "none", "checkForUpdates": True}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", help="a notebook's name, e.g. 00_setup_and_tour")
    ap.add_argument("--cells", type=int, default=2, help="run the notebook from the top through this many code cells")
    ap.add_argument("--out", default="/tmp/lab.png")
    ap.add_argument("--fast", action="store_true", help="NST_FAST=1 (tiny images)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    ap.add_argument("--show", default="1",
                    help="scroll so that this code cell (counted from 1; 0: the notebook's first cell) is at the top "
                         "of the screenshot; several, comma-separated (1,7,11), give one screenshot each, named OUT_c1.png, …")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait before the screenshot (JupyterLab's start-up notifications come late)")
    ap.add_argument("--ask-news", action="store_true",
                    help="the news setting at JupyterLab's default (as without make install's override)")
    args = ap.parse_args(argv)
    try:
        shows = [int(part) for part in str(args.show).split(",") if part.strip()]
    except ValueError:
        print(f"error: --show takes code cell numbers separated by commas, e.g. 1,7,11; got {args.show!r}", file=sys.stderr)
        return 2
    out = Path(args.out)
    outs = [out] if len(shows) == 1 else [out.with_name(f"{out.stem}_c{n}{out.suffix}") for n in shows]

    source = ROOT / "notebooks" / f"{args.notebook}.ipynb"
    if not source.is_file():
        print(f"error: no notebook {source}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="nst-lab-"))
    for path in (source, source.with_suffix(".py"), ROOT / "notebooks" / "jupytext.toml"):
        shutil.copy(path, folder / path.name)
    port = free_port()
    settings = Path(tempfile.mkdtemp(prefix="nst-lab-settings-"))  # a fresh install's empty user settings
    if args.ask_news:
        plugin = settings / "@jupyterlab" / "apputils-extension"
        plugin.mkdir(parents=True)
        (plugin / "notification.jupyterlab-settings").write_text(json.dumps(NEWS_DEFAULT), encoding="utf-8")
    env = {**os.environ, "NST_OFFLINE": "1", **({"NST_FAST": "1"} if args.fast else {}),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as in a learner's shell
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
         "--expose-app-in-browser"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api?token={TOKEN}", 90, lab)
        with Browser(1280, 1400) as browser:
            browser.goto(f"{base}/lab/tree/{source.name}?token={TOKEN}")
            browser.wait_for("!!window.jupyterapp && !!document.querySelector('.jp-Notebook .jp-Cell')", 120)
            try:
                browser.wait_for(KERNEL_IDLE, 120)
            except TimeoutError:
                browser.screenshot(args.out, full_page=False)
                raise TimeoutError(f"the kernel did not start within 120 s; the window is in {args.out}") from None
            browser.evaluate(f"window.jupyterapp.shell.activateById({PANEL}.id)")
            kinds = browser.evaluate(f"{PANEL}.content.widgets.map(c => c.model.type)")
            code = [i for i, kind in enumerate(kinds) if kind == "code"]
            last = code[min(args.cells, len(code)) - 1] if args.cells > 0 else -1  # up to the N-th code cell
            for _ in range(last + 1):
                browser.evaluate("window.jupyterapp.commands.execute('notebook:run-cell-and-select-next')")
                time.sleep(0.5)
                browser.wait_for(KERNEL_IDLE, args.timeout)
            time.sleep(1.5)  # late stream messages
            time.sleep(args.settle)
            for number, path in zip(shows, outs):
                shown = 0 if number <= 0 else code[min(number, len(code)) - 1]
                browser.evaluate(f"{PANEL}.content.activeCellIndex = {shown}; {PANEL}.content.scrollToItem({shown}, 'start')")
                time.sleep(1.0)
                browser.screenshot(str(path), full_page=False)
            stderr = json.loads(browser.evaluate(STDERR_OUTPUTS % (last + 1)))
            modified = browser.evaluate(TAB_MODIFIED % json.dumps(source.name))
            notifications = json.loads(browser.evaluate(NOTIFICATIONS))
    finally:
        _stop(lab)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(settings, ignore_errors=True)
    print("wrote " + ", ".join(str(path) for path in outs))
    print(f"notifications: {len(notifications['toasts'])} on screen {notifications['toasts']}, status bar "
          f"{notifications['status']}; the news prompt is {'SHOWN' if notifications['news'] else 'not shown'}")
    print(f"the notebook's tab shows it {'MODIFIED (dirty dot)' if modified else 'unmodified'}"
          + (f" after running {args.cells} code cells" if args.cells > 0 else ", nothing run"))
    for index, text in stderr:
        print(f"cell {index} stderr: {text[:400]!r}")
    print(f"{len(stderr)} stderr outputs in the cells run (through code cell {args.cells})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
