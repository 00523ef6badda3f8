"""Open every page of the built course site in headless Chromium and report what a reader would hit.

Usage (from the repository root, after ``make book``)::

    .venv/bin/python scripts/check_book.py                 # checks _build/html
    .venv/bin/python scripts/check_book.py /tmp/site/html  # another build

The site is served on a free localhost port (as ``python -m http.server`` would), and every ``.html``
page is opened in turn. A page fails when it does not render a heading, when an image does not load,
when the browser logs an error (a failed request, a JavaScript exception, ``console.error``), when a
link to another page of the site or to a file in it does not resolve (anchors included), or when a
widget placeholder is left on it. The site's search must find "Gram matrix" on the Gram-matrix notebook.
``tests/test_book.py`` runs the same checks on a smaller build; the exit status is 1 when anything fails.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot_app import Browser  # noqa: E402 - the DevTools driver of the web page's browser test

#: Facts about a loaded page, gathered in one evaluation.
PAGE_FACTS = """(() => {
  const main = document.querySelector('main') || document.body;
  const heading = main.querySelector('h1');
  return {
    ready: document.readyState,
    heading: heading ? heading.innerText.trim() : '',
    text: main.innerText.length,
    images: [...document.images].map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    widgets: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  };
})()"""
SEARCH_RESULTS = ("[...document.querySelectorAll('#search-results li a, ul.search li a')]"
                  ".map(a => [a.href, a.innerText])")
SEARCH_DONE = ("(() => { const s = document.querySelector('#search-results');"
               " return !!s && /found|did not match/i.test(s.innerText); })()")


class RecordingBrowser(Browser):
    """The screenshot helper's Chromium, keeping the error events that arrive between commands."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.events: list[str] = []
        super().__init__(*args, **kwargs)
        self.send("Log.enable")

    def send(self, method: str, **params: Any) -> dict:
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self._record(reply)

    def _record(self, event: dict) -> None:
        kind, params = event.get("method"), event.get("params", {})
        if kind == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.events.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif kind == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.events.append(f"console.{params['type']}: {args}")
        elif kind == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.events.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())

    def take_events(self) -> list[str]:
        events, self.events = self.events, []
        return events


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The folder on http://127.0.0.1:PORT (a quiet ``http.server`` in a thread)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Report:
    pages: list[str] = field(default_factory=list)
    images: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)
    search_hits: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0


def site_pages(html: Path) -> list[str]:
    """Every page of the site, as paths relative to its root (Sphinx's own folders left out)."""
    skip = ("_static/", "_sources/", "_images/", "_downloads/")
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not p.relative_to(html).as_posix().startswith(skip))


@functools.lru_cache(maxsize=None)
def _ids_in(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\bid="([^"]+)"', text))


def check_link(html: Path, base: str, url: str) -> str | None:
    """``None`` when an internal link resolves (file exists; for a page, its anchor exists too)."""
    parsed = urllib.parse.urlsplit(url)
    if f"{parsed.scheme}://{parsed.netloc}" != base:
        return None  # external: not this site's business (the check runs offline)
    target = html / urllib.parse.unquote(parsed.path).lstrip("/")
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"broken link to {parsed.path}"
    if parsed.fragment and target.suffix == ".html" and urllib.parse.unquote(parsed.fragment) not in _ids_in(target):
        return f"link to a missing anchor {parsed.path}#{parsed.fragment}"
    return None


def check_page(browser: RecordingBrowser, html: Path, base: str, page: str, report: Report,
               timeout: float = 30.0) -> None:
    browser.take_events()
    browser.goto(f"{base}/{page}")
    deadline = time.monotonic() + timeout
    facts: dict = {}
    while time.monotonic() < deadline:
        facts = browser.evaluate(PAGE_FACTS) or {}
        if facts.get("ready") == "complete" and all(done for _, done, _ in facts.get("images", [])):
            break
        time.sleep(0.2)
    time.sleep(0.3)  # late errors (MathJax, search index) arrive just after the load event
    facts = browser.evaluate(PAGE_FACTS) or facts
    problems = []
    if facts.get("ready") != "complete":
        problems.append("did not finish loading")
    if not facts.get("heading") and page not in {"genindex.html", "search.html", "py-modindex.html"}:
        problems.append("no heading rendered")
    for src, done, width in facts.get("images", []):
        report.images += 1
        if not done or not width:
            problems.append(f"image does not load: {src}")
    if facts.get("widgets"):
        problems.append(f"{facts['widgets']} widget placeholder(s) left")
    for url in sorted(set(facts.get("links", []))):
        report.links += 1
        broken = check_link(html, base, url)
        if broken:
            problems.append(broken)
    problems += browser.take_events()
    report.pages.append(page)
    report.problems += [f"{page}: {p}" for p in problems]


def check_search(browser: RecordingBrowser, base: str, report: Report, query: str = "Gram matrix") -> None:
    browser.take_events()
    browser.goto(f"{base}/search.html?q={urllib.parse.quote_plus(query)}")
    browser.wait_for(SEARCH_DONE, timeout=30)
    report.search_hits = browser.evaluate(SEARCH_RESULTS) or []
    if not any("03_gram_matrices" in href for href, _ in report.search_hits):
        report.problems.append(f"search for {query!r} does not find notebook 03: {report.search_hits[:5]}")
    report.problems += [f"search.html: {e}" for e in browser.take_events()]


def check_site(html: Path) -> Report:
    """Open every page of the built site; the report lists every problem found."""
    html = Path(html).resolve()
    report = Report()
    start = time.monotonic()
    with serve(html) as base, RecordingBrowser(1280, 1000) as browser:
        for page in site_pages(html):
            check_page(browser, html, base, page, report)
        check_search(browser, base, report)
    report.seconds = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", type=Path, default=ROOT / "_build" / "html", help="the built site")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").is_file():
        print(f"error: {args.html / 'index.html'} does not exist; run: make book", file=sys.stderr)
        return 2
    report = check_site(args.html)
    for problem in report.problems:
        print(problem)
    print(f"{len(report.pages)} pages, {report.images} images, {report.links} links checked in {report.seconds:.0f} s; "
          f"search 'Gram matrix': {len(report.search_hits)} results; {len(report.problems)} problem(s)")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
