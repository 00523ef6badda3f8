"""Screenshot the web page with a finished result: writes docs/figures/web_page.png.

    .venv/bin/python scripts/screenshot_app.py [--size 256] [--steps 60] [--out docs/figures/web_page.png]
    .venv/bin/python scripts/screenshot_app.py --queue     # docs/figures/web_queue.png: a tab waiting its turn
    .venv/bin/python scripts/screenshot_app.py --plan 4096 # docs/figures/web_plan.png: a large request's memory plan

It starts ``streamlit run apps/streamlit_app.py`` (or ``apps/serve.py``) on a free localhost port, opens
``/?demo=1&size=…&steps=…`` (bundled examples, one automatic run) in headless Chromium, waits through
the DevTools protocol until the result's download button is on the page, grows the window to the page's
full height and saves a PNG. Needs ``/usr/bin/chromium`` (Debian: ``apt-get install chromium``) and the
``websocket-client`` package. ``tests/test_app_browser.py`` uses the same helpers at a tiny size.

Chromium's own ``--screenshot`` fires at page load, before Streamlit's websocket has rendered anything,
which is why this talks DevTools instead.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "apps" / "streamlit_app.py"
SERVE = ROOT / "apps" / "serve.py"  # what make web runs: loopback only, framing forbidden
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1", "--disable-dev-shm-usage",
]
#: JavaScript conditions for :func:`wait_for`.
PAGE_RENDERED = (
    "!!document.querySelector('h1') && document.querySelector('h1').innerText.includes('Neural style transfer')"
    " && document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 2"
    " && [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
)
RESULT_SHOWN = (
    "!!document.querySelector('[data-testid=\"stDownloadButton\"]')"
    " && !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
    " && [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
)
PAGE_ERROR = (
    "[...document.querySelectorAll('[data-testid=\"stAlertContentError\"], [data-testid=\"stException\"]')]"
    ".map(e => e.innerText).join(' | ')"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - localhost only
        return response.read().decode()


def _wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _get(url)
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} before answering")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.25)


def _stop(process: subprocess.Popen) -> None:
    """End a process we started (and its children: it leads its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None, log: Path | None = None,
                     timeout: float = 60.0, address: str | None = "127.0.0.1", script: Path = APP,
                     cwd: Path = ROOT, on_start=None) -> Iterator[str]:
    """Run the page headless on a free localhost port; yield its base URL once /_stcore/health answers.

    ``address=None`` leaves the listening address to the page's ``apps/.streamlit/config.toml`` (as
    ``make web`` does). ``script``: the page, or ``SERVE`` (apps/serve.py, what ``make web`` runs); ``cwd``:
    the folder it is started from; ``on_start(process)`` is called once it answers.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--global.developmentMode", "false", "--client.toolbarMode", "viewer",
    ]
    if address is not None:
        command += ["--server.address", address]
    environment = {**os.environ, **(env or {})}
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/_stcore/health", timeout, process)
        if on_start is not None:
            on_start(process)
        yield base
    finally:
        _stop(process)
        if log:
            output.close()


class Browser:
    """Headless Chromium driven through the DevTools protocol (one page, one websocket)."""

    def __init__(self, width: int = 1280, height: int = 1600, timeout: float = 30.0):
        import websocket  # websocket-client

        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="nst-chromium-")
        self._ids = itertools.count(1)
        self._log = Path(self._profile).with_suffix(".log")
        try:
            port = self._start(timeout)
            targets = json.loads(_wait_http(f"http://127.0.0.1:{port}/json/list", timeout, self.process))
            page = next(t for t in targets if t.get("type") == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout,
                                                  suppress_origin=True)
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout: float, attempts: int = 2) -> int:
        """Start Chromium and return its DevTools port; a start that hangs is killed and tried once more.

        A cold first start on a busy machine (font cache, profile creation) has been seen to take longer
        than the timeout; a second start is then quick. Chromium's own messages go to a log whose last
        lines are in the error if both attempts fail.
        """
        for attempt in range(1, attempts + 1):
            with open(self._log, "ab") as log:
                self.process = subprocess.Popen(
                    [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
                     f"--window-size={self.width},{self.height}", "about:blank"],
                    stdout=log, stderr=log, start_new_session=True,
                )
            try:
                return self._devtools_port(timeout)
            except TimeoutError:
                _stop(self.process)
                if attempt == attempts:
                    tail = self._log.read_text(errors="replace").strip().splitlines()[-5:]
                    raise TimeoutError(f"chromium did not open its DevTools port within {timeout:.0f} s "
                                       f"({attempts} attempts); its last messages: {tail}") from None
        raise AssertionError("unreachable")

    def _devtools_port(self, timeout: float) -> int:
        """Chromium writes the port it chose into DevToolsActivePort in the profile folder."""
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode} at start; "
                                   f"its log: {self._log}")
            time.sleep(0.1)
        raise TimeoutError(f"chromium did not open its DevTools port within {timeout:.0f} s")

    def send(self, method: str, **params: Any) -> dict:
        """Send one DevTools command and return its result (events that arrive meanwhile are skipped)."""
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, condition: str, timeout: float, poll: float = 0.5) -> None:
        """Poll a JavaScript condition until it is true; fail early if the page shows an error."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"Boolean({condition})"):
            errors = self.evaluate(PAGE_ERROR)
            if errors:
                raise AssertionError(f"the page shows an error: {errors}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page did not reach `{condition[:80]}…` within {timeout:.0f} s")
            time.sleep(poll)

    def screenshot(self, path: str | os.PathLike, full_page: bool = True) -> Path:
        """Save a PNG; ``full_page`` grows the window to the height of Streamlit's scrolling main area."""
        height = self.height
        if full_page:
            content = self.evaluate(
                "Math.max(document.documentElement.scrollHeight,"
                " ...[...document.querySelectorAll('[data-testid=\"stMain\"], [data-testid=\"stSidebarContent\"]')]"
                ".map(e => e.scrollHeight))"
            )
            height = max(self.height, int(content or 0))
            self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=height, deviceScaleFactor=1,
                      mobile=False)
            time.sleep(1.0)  # let Streamlit re-lay out the taller page
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False,
                         clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1})
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(shot["data"]))
        return target

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        if getattr(self, "process", None) is not None:
            _stop(self.process)
        shutil.rmtree(self._profile, ignore_errors=True)
        self._log.unlink(missing_ok=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def capture(out: Path, size: int, steps: int, env: dict[str, str] | None = None, timeout: float = 900.0,
            width: int = 1280, height: int = 1600, log: Path | None = None) -> Path:
    """Start the page, run the demo at ``size``/``steps`` in Chromium and save a full-page screenshot."""
    with streamlit_server(env=env, log=log) as base, Browser(width, height) as browser:
        browser.goto(f"{base}/?demo=1&size={size}&steps={steps}")
        browser.wait_for(RESULT_SHOWN, timeout)
        time.sleep(1.0)  # the last images and the chart fade in
        return browser.screenshot(out)


QUEUE_SHOWN = (
    "[...document.querySelectorAll('[data-testid=\"stAlertContentInfo\"]')].some(e => e.innerText.includes('in the queue'))"
    " && [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
)


def capture_queue(out: Path, size: int, steps: int, env: dict[str, str] | None = None, timeout: float = 300.0,
                  width: int = 1280, height: int = 900, log: Path | None = None) -> Path:
    """Screenshot a tab that waits in the queue: another tab (a websocket client) runs first."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from web_client import PageSession

    with streamlit_server(env=env, log=log) as base, PageSession(base, query=f"size={size}&steps={steps * 20}") as other:
        other.click("run")
        other.wait_for(lambda: other.texts("progress"), timeout=timeout, what="the other tab's run")
        with Browser(width, height) as browser:
            browser.goto(f"{base}/?demo=1&size={size}&steps={steps}")
            browser.wait_for(QUEUE_SHOWN, timeout)
            time.sleep(1.5)  # one more status refresh, so the wait shown is not 0 s
            return browser.screenshot(out, full_page=False)


PLAN_SHOWN = (
    "[...document.querySelectorAll('[data-testid=\"stCaptionContainer\"], [data-testid=\"stAlertContentError\"]')]"
    ".some(e => /Memory plan:|run needs at least/.test(e.innerText))"
    " && [...document.querySelectorAll('button')].some(b => b.innerText.includes('Run style transfer'))"
    " && [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
)


def capture_plan(out: Path, size: int, env: dict[str, str] | None = None, timeout: float = 300.0,
                 width: int = 1280, height: int = 1450, log: Path | None = None) -> Path:
    """Screenshot the page set up for a ``size`` px run with the Wasserstein statistic: its memory plan is
    shown before anything runs (nothing is run)."""
    query = f"content=coffee&style=swirls&style_loss=wasserstein&style_weight=800&size={size}&steps=300"
    with streamlit_server(env=env, log=log, script=SERVE) as base, Browser(width, height) as browser:
        browser.goto(f"{base}/?{query}")
        browser.wait_for(PLAN_SHOWN, timeout)
        time.sleep(2.0)
        return browser.screenshot(out, full_page=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="long side of the result in px (default 256)")
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps (default 60)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "web_page.png")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the result")
    parser.add_argument("--queue", action="store_true",
                        help="instead: a tab waiting behind another tab's run (default --out docs/figures/web_queue.png)")
    parser.add_argument("--plan", type=int, metavar="SIZE",
                        help="instead: the memory plan of a SIZE px request, before Run (default --out "
                             "docs/figures/web_plan.png)")
    parser.add_argument("--max-memory", default="8G", help="the server's budget for --plan (NST_WEB_MAX_MEMORY)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} not found; install it (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    start = time.monotonic()
    if args.plan:
        out = args.out if "--out" in (argv or sys.argv) else ROOT / "docs" / "figures" / "web_plan.png"
        path = capture_plan(out, args.plan, env={"NST_WEB_MAX_MEMORY": args.max_memory})
    elif args.queue:
        out = args.out if "--out" in (argv or sys.argv) else ROOT / "docs" / "figures" / "web_queue.png"
        path = capture_queue(out, args.size, args.steps, timeout=args.timeout)
    else:
        path = capture(args.out, args.size, args.steps, timeout=args.timeout)
    print(f"wrote {path} in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
