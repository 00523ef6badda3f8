"""Build the course as a static website into ``_build/html`` (``make book``; ``make book FULL=1``).

Usage (from the repository root, with the venv's Python)::

    python scripts/build_book.py                 # fast mode (NST_FAST=1), every notebook executed
    python scripts/build_book.py --full          # real settings (slow: the notebooks' own defaults)
    python scripts/build_book.py --execute 00,03 --out /tmp/site   # a smaller build (the browser test)

The site is Sphinx + MyST-NB + sphinx-book-theme (the stack Jupyter Book 1 wraps; why: docs/book.md).
This script does three things and then runs ``sphinx-build``:

1. **Stages a source tree** in ``<out>/src``: symbolic links to the repository's top-level entries (so
   ``notebooks/``, ``docs/`` and ``images/`` are read where they are — nothing is copied, and relative
   links between them keep working) plus the site's own pages from ``book/``.
2. **Generates the pages that are read from code**, so they cannot drift: the landing page's course
   table (every ``notebooks/NN_*.ipynb``, by ``scripts/make_toc.py``), the ``StyleConfig`` field table,
   the ``nst`` commands' help (from ``nst_lib.cli.build_parser``) and one API page per ``nst_lib`` module
   (Sphinx autodoc reads the docstrings).
3. **Executes the notebooks through jupyter-cache** (MyST-NB's ``cache`` mode): one cache per mode in
   ``<out>/.jupyter_cache/{fast,full}``, keyed by the code cells, so a second build re-executes only the
   notebooks whose code changed. Fast and real-settings outputs never mix.

Exit status: 0 with a complete site; 2 with one ``error: …`` line when Sphinx or a notebook fails (the
notebook's traceback is in ``<out>/.jupyter_cache/<mode>/reports``; Sphinx's log precedes the line).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import io
import os
import pkgutil
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
if str(REPO) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
import make_toc  # noqa: E402  (the README's table, from the notebooks' first cells)

#: Top-level entries that are never part of the site's source tree.
NOT_STAGED = {".git", ".venv", "_build", "book", "outputs", "build", "dist", "__pycache__"}
#: Pages this script writes into the staged tree (kept between builds when unchanged).
GENERATED = {"reference", "index.md"}
#: Modules left out of the API reference: the learner-facing course package has its own pages (the
#: notebooks), and ``nst_lib.cli*`` are documented as commands.
NOT_IN_REFERENCE = ("nst_lib.course", "nst_lib.cli")


def repository_files() -> list[Path]:
    """The checkout's files as git sees them: tracked ones and new ones it does not ignore (so a notebook
    someone just added is in, and .venv, _build, images/yours and the learner's my_nst.py are out)."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                                cwd=REPO, capture_output=True, check=True).stdout.decode()
        paths = [Path(p) for p in listed.split("\0") if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked archive)
        paths = [p.relative_to(REPO) for p in REPO.rglob("*") if p.is_file()
                 and not ({*p.relative_to(REPO).parts} & NOT_STAGED)]
    return [p for p in paths if (REPO / p).is_file() and p.parts[0] not in NOT_STAGED]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b) or (a.stat().st_size == b.stat().st_size
                                          and a.stat().st_mtime_ns == b.stat().st_mtime_ns)
    except OSError:
        return False


def stage(src: Path) -> None:
    """Mirror the repository into ``src`` as hard links (copies across file systems), plus ``book/*.md``.

    Sphinx resolves symbolic links to their targets (and then no longer finds the pages), so the mirror
    is made of hard links: the same files, not copies that could drift. Unchanged files keep their
    modification time, so Sphinx re-reads only the pages that changed.
    """
    wanted = {p: REPO / p for p in repository_files()}
    wanted.update({Path(p.name): p for p in BOOK.glob("*.md") if p.name not in GENERATED})  # the site's pages
    src.mkdir(parents=True, exist_ok=True)
    for path in [p for p in src.rglob("*") if p.is_file() or p.is_symlink()]:
        relative = path.relative_to(src)
        if relative not in wanted and relative.parts[0] not in GENERATED:
            path.unlink()
    for relative, origin in wanted.items():
        target = src / relative
        if target.exists() and _same_file(origin, target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(origin, target)
        except OSError:
            shutil.copy2(origin, target)


def write_if_changed(path: Path, text: str) -> None:
    """Keep an unchanged generated page's modification time (Sphinx then does not re-read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.unlink(missing_ok=True)  # never write through a hard link into the repository
        path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------------- generated pages
def course_table() -> str:
    """The notebooks table (same text as the README's), linking each notebook's page."""
    return make_toc.render_table(make_toc.notebook_entries(REPO))


def config_table() -> str:
    """Every ``StyleConfig`` field: name, CLI flag, default and its one-line doc (the field metadata)."""
    from nst_lib.config import StyleConfig

    rows = ["| field | flag | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(StyleConfig):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "—")
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        doc = str(f.metadata.get("doc", "")).replace("|", "\\|")
        rows.append(f"| `{f.name}` | `{flag}` | `{default!r}` | {doc} |")
    return "\n".join(rows)


def cli_help() -> str:
    """``nst --help`` and ``nst COMMAND --help`` for every command, as the parser prints them."""
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal width: make the page reproducible
    from nst_lib.cli import build_parser

    parser = build_parser()
    sections = [("nst", parser)]
    for action in parser._subparsers._group_actions:  # argparse keeps the sub-commands here
        sections += [(f"nst {name}", sub) for name, sub in action.choices.items()]
    parts = []
    for title, sub in sections:
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            sub.print_help()
        parts.append(f"## `{title}`\n\n```text\n{buffer.getvalue().rstrip()}\n```\n")
    return "\n".join(parts)


def reference_modules() -> list[str]:
    """Every importable module of ``nst_lib`` except the course package and the command line."""
    import nst_lib

    names = []
    for info in pkgutil.walk_packages(nst_lib.__path__, "nst_lib."):
        if info.name.startswith(NOT_IN_REFERENCE) or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        importlib.import_module(info.name)  # a module that cannot be imported fails here, not as a warning
        names.append(info.name)
    return sorted(names)


def write_generated(src: Path) -> None:
    """The landing page's table and the reference pages, written into the staged tree."""
    template = (BOOK / "index.md").read_text(encoding="utf-8")
    write_if_changed(src / "index.md", template.replace("{{ course_table }}", course_table()))
    ref = src / "reference"
    write_if_changed(ref / "config.md", 
        "# Settings: `StyleConfig`\n\n"
        "Every hyper-parameter of a style transfer is a field of `nst_lib.StyleConfig`, declared once: the "
        "`nst` command line derives its flags and help from these fields, and the notebooks' widgets and the "
        "web page read their defaults from them. The table is generated from the field metadata.\n\n"
        f"{config_table()}\n\n"
        "```{eval-rst}\n.. autoclass:: nst_lib.config.StyleConfig\n   :no-index:\n```\n")
    write_if_changed(ref / "cli.md", 
        "# The `nst` command line\n\nEvery command's help, as `nst COMMAND --help` prints it "
        "(generated from `nst_lib.cli.build_parser`). Images may be paths or `example:NAME` "
        "(`nst examples` lists the names; photos you drop into `images/yours/` count too).\n\n"
        + cli_help())
    modules = reference_modules()
    for name in modules:
        write_if_changed(ref / f"{name}.md",
                         f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n```\n")
    for stale in set(ref.glob("nst_lib.*.md")) - {ref / f"{name}.md" for name in modules}:
        stale.unlink()
    toctree = "\n".join(["config", "cli", *modules])
    write_if_changed(ref / "index.md",
        "# Library reference\n\n"
        "Generated from the docstrings of `nst_lib` (Sphinx autodoc). Start with the settings and the "
        "command line; each module's page says which notebook teaches it.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{toctree}\n```\n")


def write_favicon(path: Path) -> Path:
    """A 32 px icon cut from the ``swirls`` style image (browsers ask for one on every site)."""
    from PIL import Image

    from nst_lib.data import style_image_path

    with Image.open(style_image_path("swirls")) as image:
        icon = image.convert("RGB").crop((96, 96, 352, 352)).resize((32, 32), Image.LANCZOS)
    buffer = io.BytesIO()
    icon.save(buffer, format="PNG")
    if not path.is_file() or path.read_bytes() != buffer.getvalue():
        path.write_bytes(buffer.getvalue())
    return path


# ------------------------------------------------------------------------------------------ building
def build(out: Path, full: bool, execute: list[str] | None) -> int:
    mode = "full" if full else "fast"
    src = out / "src"
    stage(src)
    write_generated(src)
    favicon = write_favicon(out / "favicon.png")
    env = {**os.environ, "NST_BOOK_FAVICON": str(favicon), "NST_OFFLINE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2",
           "NST_BOOK_MODE": mode, "NST_BOOK_CACHE": str(out / ".jupyter_cache" / mode)}
    env.pop("NST_FAST", None)
    if not full:
        env["NST_FAST"] = "1"
    if execute is not None:
        env["NST_BOOK_EXECUTE"] = ",".join(execute)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", "-c", str(BOOK),
               "-d", str(out / ".doctrees" / mode), str(src), str(out / "html")]
    finished = subprocess.run(command, env=env, cwd=REPO)
    if finished.returncode != 0:
        print(f"error: sphinx-build failed (exit {finished.returncode}); the lines above say where",
              file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the course website (Sphinx + MyST-NB).")
    parser.add_argument("--full", action="store_true", help="execute the notebooks at real settings (slow)")
    parser.add_argument("--out", type=Path, default=REPO / "_build",
                        help="build folder (default: _build; the site is OUT/html/index.html)")
    parser.add_argument("--execute", metavar="NN,NN",
                        help="execute only these notebooks (by number); the others are shown without outputs")
    args = parser.parse_args(argv)
    execute = None if args.execute is None else [n.strip() for n in args.execute.split(",") if n.strip()]
    status = build(args.out.resolve(), args.full, execute)
    if status == 0:
        print(f"site: {args.out / 'html' / 'index.html'}  (or: python -m http.server -d {args.out / 'html'})")
    return status


if __name__ == "__main__":
    sys.exit(main())
