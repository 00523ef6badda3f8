"""The course site's own Sphinx extension (book/conf.py loads it).

* A notebook's **widget output** (ipywidgets) cannot run on a static page; instead of an empty
  placeholder (or widget JavaScript from a CDN), it becomes a note saying it is interactive in JupyterLab.
* Every notebook page gets a **"Run it yourself" box** under its title: the commands, the mode the page
  was executed in, and links to the notebook and its text twin (copied next to the page).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTEBOOK_PREFIX = "notebooks/"

MODE_SENTENCE = {
    "fast": "This page was executed in fast mode (NST_FAST=1: tiny images, few steps), so its pictures are "
            "small and its numbers are those of short runs; ``make book FULL=1`` builds it at the notebook's "
            "real settings.",
    "full": "This page was executed at the notebook's real settings (``make book FULL=1``).",
}


def _widget_note() -> nodes.Element:
    note = nodes.note(classes=["nst-widget-note"])
    note += nodes.paragraph(text="Interactive in JupyterLab: this output is a widget (sliders, buttons, live "
                                 "pictures) that needs a running Python kernel, which a static page does not "
                                 "have. Open the notebook with make lab to use it.")
    return note


def replace_widgets(doctree: nodes.document) -> int:
    """Swap every widget-view output for the static note; returns how many were replaced."""
    found = [raw for raw in doctree.findall(nodes.raw) if WIDGET_VIEW in raw.astext()[:200]]
    for raw in found:
        raw.replace_self(_widget_note())
    return len(found)


def _link(text: str, uri: str) -> nodes.reference:
    return nodes.reference(text, text, refuri=uri, internal=False, classes=["nst-download"])


def run_box(docname: str, mode: str) -> nodes.Element:
    """The "Run it yourself" admonition of ``notebooks/NN_name``."""
    stem = docname[len(NOTEBOOK_PREFIX):]
    box = nodes.admonition(classes=["tip", "nst-run-box"])
    box += nodes.title(text="Run it yourself")
    intro = nodes.paragraph()
    intro += nodes.Text("This page is ")
    intro += nodes.literal(text=f"notebooks/{stem}.ipynb")
    intro += nodes.Text(" with its outputs. Download ")
    intro += _link(f"{stem}.ipynb", f"{stem}.ipynb")
    intro += nodes.Text(" or its text twin ")
    intro += _link(f"{stem}.py", f"{stem}.py")
    intro += nodes.Text(", or run it in a clone of the repository, where the exercises, their self-checks and the "
                        "widgets work: ")
    intro += nodes.literal(text="make lab")
    intro += nodes.Text(f" installs everything once and opens JupyterLab on notebooks/; open {stem}.ipynb there "
                        "and run all cells.")
    box += intro
    commands = ("make lab              # the notebook's real settings\n"
                "NST_FAST=1 make lab   # tiny images and few steps: seconds per cell")
    box += nodes.literal_block(commands, commands, language="bash")
    box += nodes.paragraph(text=MODE_SENTENCE.get(mode, MODE_SENTENCE["fast"]).replace("``", ""))
    return box


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    replace_widgets(doctree)
    docname = app.env.docname
    if not docname.startswith(NOTEBOOK_PREFIX):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return
    # after the title and the notebook's opening paragraphs (summary, "what you'll build")
    position = 1
    while position < len(section) and isinstance(section[position], nodes.paragraph) and position < 3:
        position += 1
    section.insert(position, run_box(docname, app.config.nst_book_mode))


def copy_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Put each rendered notebook's .ipynb and .py twin next to its page, for the box's links."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "notebooks"
    for docname in app.env.found_docs:
        if not docname.startswith(NOTEBOOK_PREFIX):
            continue
        source = Path(app.srcdir) / f"{docname}.ipynb"
        for path in (source, source.with_suffix(".py")):
            if path.is_file():
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / path.name)


def setup(app: Sphinx) -> dict:
    app.add_config_value("nst_book_mode", "fast", "env")
    app.connect("doctree-read", on_doctree_read)
    app.connect("build-finished", copy_notebooks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
