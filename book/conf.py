"""Sphinx configuration of the course website (built by scripts/build_book.py; ``make book``).

Sphinx + MyST-NB + sphinx-book-theme: the notebooks are executed through jupyter-cache and rendered with
their outputs, the docs/*.md pages are read where they live, and autodoc reads nst_lib's docstrings. Why
this stack: docs/book.md. Settings that scripts/build_book.py passes through the environment:

* ``NST_BOOK_MODE``: ``fast`` (NST_FAST=1, the default) or ``full`` (the notebooks' real settings);
* ``NST_BOOK_CACHE``: the jupyter-cache folder of that mode;
* ``NST_BOOK_EXECUTE``: comma-separated notebook numbers to execute (unset: all of them).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent
sys.path.insert(0, str(BOOK))  # the site's own extension, nst_book.py

# autodoc imports nst_lib's modules, some of which import TensorFlow: start it with its C++ lines muted
from nst_lib.startup import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

project = "nst — neural style transfer, step by step"
author = "the nst contributors"
copyright = "the nst contributors (MIT licence)"
release = version = "0.1.0"

extensions = [
    "myst_nb",  # MyST Markdown and executed notebooks (it loads myst_parser itself)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style Args:/Returns: docstrings
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 from the package, not from a CDN: the site works offline
    "nst_book",  # widget outputs as a static note, the "run it yourself" box, notebook downloads
]

root_doc = "index"
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
# Only these files of the staged repository are pages: everything else is reachable as a plain link.
include_patterns = ["index.md", "reference/*.md", "notebooks/[0-9][0-9]_*.ipynb", "docs/*.md",
                    "images/README.md", "README.md", "benchmarks/README.md"]
exclude_patterns = ["**/.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]  # notebooks' H1 title and then H3 under H2 … is how the course writes

# ------------------------------------------------------------------------------------------- MyST
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3  # README.md#quick-start style links between pages resolve

# --------------------------------------------------------------------------------- notebook execution
nst_book_mode = os.environ.get("NST_BOOK_MODE", "fast")
nb_execution_mode = "cache"
nb_execution_cache_path = os.environ.get("NST_BOOK_CACHE", str(BOOK.parent / "_build" / ".jupyter_cache" / nst_book_mode))
# per cell; real settings: notebook 12's tiled 1024 px run alone measured 3114 s on the shared 2-core
# machine (benchmarks/results/notebook_times.json), so a full build allows four hours per cell
nb_execution_timeout = 4 * 3600 if nst_book_mode == "full" else 600
nb_execution_raise_on_error = True  # a notebook that fails fails the build (cells tagged raises-exception excepted)
nb_execution_show_tb = True
nb_execution_in_temp = False  # notebooks run in notebooks/, as in JupyterLab (they save my_nst.py there)
_execute = [n for n in os.environ.get("NST_BOOK_EXECUTE", "").split(",") if n.strip()]
if os.environ.get("NST_BOOK_EXECUTE") is not None:
    nb_execution_excludepatterns = [
        str(p.relative_to(BOOK.parent)) for p in sorted((BOOK.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if p.name[:2] not in _execute
    ]
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: nst_book replaces widget outputs with a note
nb_merge_streams = True

# ----------------------------------------------------------------------------------------- autodoc
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # "Attributes:" sections, not a second description of each dataclass field

# -------------------------------------------------------------------------------------------- HTML
html_theme = "sphinx_book_theme"
html_title = "nst — neural style transfer"
html_static_path = [str(BOOK / "_static")]
html_css_files = ["nst_book.css"]
html_theme_options = {
    "use_download_button": True,  # every page offers its source (.ipynb / .md) for download
    "use_fullscreen_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_context = {"default_mode": "light"}  # an explicit mode: the theme logs an error on a first visit without one
html_favicon = os.environ.get("NST_BOOK_FAVICON") or None  # drawn from a style image by build_book.py
html_show_sourcelink = True
html_last_updated_fmt = None
