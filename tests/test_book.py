"""The course website (``make book``): it builds, and every page works in a real browser.

``make book`` executes every notebook, which takes longer than ``make test``'s budget allows next to the
notebook tests (which execute them all already). So this test builds the **whole site** — every
notebook page, every docs/*.md page, the library reference — but executes **one notebook** (03, the Gram
matrices: figures, maths and a widget demo); the others are rendered without outputs. Then
``scripts/check_book.py`` opens every page in headless Chromium: each renders a heading, every image
loads, every internal link and anchor resolves, the browser logs no error, no widget placeholder is left,
and the site's search finds "Gram matrix". Run the same check on the whole site with
``python scripts/check_book.py`` after ``make book``.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXECUTED = "03"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
pytest.importorskip("myst_nb", reason="the book extra is not installed (make install)")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    start = time.monotonic()
    build = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), "--execute", EXECUTED,
                            "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    print(f"site built in {time.monotonic() - start:.0f} s")
    return out / "html"


def _page(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def _text(site: Path, name: str) -> str:
    """The page's words without markup (code is split into highlighted spans)."""
    return " ".join(re.sub(r"<[^>]+>", "", _page(site, name)).split())


def test_the_site_has_the_landing_page_a_page_per_notebook_and_the_reference(site):
    index = _page(site, "index.html")
    for notebook in NOTEBOOKS:  # the course table and the sidebar pick up every notebooks/NN_*.ipynb
        page = site / "notebooks" / f"{notebook.stem}.html"
        assert page.is_file(), f"no page for {notebook.name}"
        assert f'href="notebooks/{notebook.stem}.html"' in index
        text = _text(site, f"notebooks/{notebook.stem}.html")
        assert "Run it yourself" in text and "NST_FAST=1 make lab" in text
        assert f'href="{notebook.stem}.ipynb"' in _page(site, f"notebooks/{notebook.stem}.html") and (site / "notebooks" / notebook.name).is_file()
    words = _text(site, "index.html")
    assert "make test" in words and "make lab" in words  # the two commands
    for doc in sorted((ROOT / "docs").glob("*.md")):  # the long reference sections, read where they live
        assert (site / "docs" / f"{doc.stem}.html").is_file(), f"no page for docs/{doc.name}"
    assert (site / "images" / "README.html").is_file()

    from nst_lib.config import StyleConfig

    config = _page(site, "reference/config.html")
    for f in dataclasses.fields(StyleConfig):
        assert f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{f.name}</span></code>" in config
    cli = _text(site, "reference/cli.html")
    for command in ("nst stylize", "nst train", "nst examples", "nst layers", "nst weights"):
        assert command in cli
    assert "Gram matrix" in _text(site, "reference/nst_lib.gram.html")  # autodoc read the docstrings


def test_the_executed_notebook_shows_its_outputs_and_its_widget_as_a_note(site):
    page = _page(site, f"notebooks/{next(p.stem for p in NOTEBOOKS if p.name.startswith(EXECUTED))}.html")
    assert len(re.findall(r'<img [^>]*src="[^"]*_images/', page)) >= 2, "no figures in the executed notebook"
    assert "cell_output" in page
    assert "Interactive in JupyterLab" in page  # the demo's widget, as a static note
    assert "application/vnd.jupyter.widget-view+json" not in page
    assert "fast mode" in page  # the box says how the page was executed


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)")
def test_every_page_works_in_headless_chromium(site):
    pytest.importorskip("websocket", reason="the websocket-client package is needed to drive Chromium")
    checker = _script("check_book")
    report = checker.check_site(site)
    assert len(report.pages) >= len(NOTEBOOKS) + 5
    assert report.images >= 5 and report.links >= 100
    assert not report.problems, "\n".join(report.problems[:40])
    assert any("03_gram_matrices" in href for href, _ in report.search_hits)
    print(f"{len(report.pages)} pages, {report.images} images, {report.links} links in {report.seconds:.0f} s")
