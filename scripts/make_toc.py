"""Write the table of notebooks into README.md, between ``<!-- toc -->`` and ``<!-- /toc -->``.

Usage (from the repository root; ``make toc`` runs it)::

    python scripts/make_toc.py           # update README.md in place (idempotent)
    python scripts/make_toc.py --check   # exit 1 if README.md's table is out of date

One row per ``notebooks/NN_*.ipynb``: number, title (linked), one-line summary and "what you'll
build", all read from the notebook's first markdown cell, which looks like::

    # Gram matrices

    How the correlations between feature channels capture texture and style while forgetting the layout.

    **What you'll build:** the Gram matrix derived by hand, ...

Only the text between the markers is ever changed. If README.md has no markers, a "Notebooks" section
with them is appended; if there is no README.md, one is created with just that section.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- toc -->", "<!-- /toc -->"
BUILD_PREFIX = re.compile(r"^\*\*What you'll build:?\*\*:?\s*", re.IGNORECASE)
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


class TocError(ValueError):
    """A notebook's first cell does not follow the convention the table is built from."""


@dataclass(frozen=True)
class Entry:
    number: str
    path: str  # relative to the repository root, with forward slashes
    title: str
    summary: str
    build: str
    real_time: str = ""  # the measured time of a Run All at real settings, e.g. "14 min" ("" = not measured)


#: measured Run All times at real settings (benchmarks/notebook_times.py writes it): {"notebooks": {stem: {"seconds"}}}
TIMES = Path("benchmarks") / "results" / "notebook_times.json"


def measured_times(root: Path = REPO) -> dict[str, str]:
    """Notebook stem → "N min" from :data:`TIMES` (empty when the file is missing)."""
    path = root / TIMES
    if not path.is_file():
        return {}
    notebooks = json.loads(path.read_text(encoding="utf-8")).get("notebooks", {})
    return {stem: f"{max(1, round(entry['seconds'] / 60))} min" for stem, entry in notebooks.items() if "seconds" in entry}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def read_entry(path: Path, root: Path = REPO) -> Entry:
    """Title, summary and "what you'll build" of one notebook, from its first markdown cell."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    first = next((c for c in cells if c.get("cell_type") == "markdown"), None)
    if first is None:
        raise TocError(f"{path.name}: no markdown cell; the first one must hold the title and summary")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", _source(first).strip()) if p.strip()]
    if not paragraphs or not paragraphs[0].startswith("# "):
        raise TocError(f"{path.name}: the first markdown cell must start with an H1 title ('# Title')")
    title = paragraphs[0][2:].strip()
    build = next((BUILD_PREFIX.sub("", p) for p in paragraphs[1:] if BUILD_PREFIX.match(p)), None)
    summary = next((p for p in paragraphs[1:] if not BUILD_PREFIX.match(p) and not p.startswith("#")), None)
    if not summary:
        raise TocError(f"{path.name}: the first markdown cell needs a one-line summary after the title")
    if not build:
        raise TocError(f"{path.name}: the first markdown cell needs a line \"**What you'll build:** …\"")
    return Entry(path.name[:2], path.relative_to(root).as_posix(), title, summary, build)


def notebook_entries(root: Path = REPO) -> list[Entry]:
    """One entry per ``notebooks/NN_*.ipynb``, in file-name order, with its measured time if there is one."""
    times = measured_times(root)
    return [dataclasses.replace(entry, real_time=times.get(Path(entry.path).stem, ""))
            for entry in (read_entry(p, root) for p in sorted((root / "notebooks").glob(NOTEBOOK_GLOB)))]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(entries: list[Entry]) -> str:
    """The Markdown table that goes between the markers."""
    if not any(e.real_time for e in entries):
        lines = ["| # | Notebook | What it is about | What you'll build |", "| --- | --- | --- | --- |"]
        for e in entries:
            lines.append(f"| {e.number} | [{_cell(e.title)}]({e.path}) | {_cell(e.summary)} | {_cell(e.build)} |")
        return "\n".join(lines)
    # a column of measured times (benchmarks/results/notebook_times.json): "—" for notebooks not measured yet
    lines = ["| # | Notebook | What it is about | What you'll build | Run All at real settings |",
             "| --- | --- | --- | --- | --- |"]
    for e in entries:
        lines.append(f"| {e.number} | [{_cell(e.title)}]({e.path}) | {_cell(e.summary)} | {_cell(e.build)} | "
                     f"{e.real_time or '—'} |")
    return "\n".join(lines)


def update_readme(text: str, table: str) -> str:
    """README text with ``table`` between the markers (markers added at the end when missing)."""
    block = f"{START}\n<!-- generated by scripts/make_toc.py (make toc); edit the notebooks, not this table -->\n{table}\n{END}"
    start, end = text.find(START), text.find(END)
    if start == -1 and end == -1:
        prefix = text.rstrip("\n")
        heading = "## Notebooks\n\n"
        return (f"{prefix}\n\n" if prefix else "") + heading + block + "\n"
    if start == -1 or end == -1 or end < start:
        raise TocError(f"README.md has a broken table block: it needs {START} followed later by {END}")
    return text[:start] + block + text[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Update the notebook table in README.md.")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the table is out of date")
    parser.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    readme = args.root / "README.md"
    try:
        current = readme.read_text(encoding="utf-8") if readme.exists() else ""
        updated = update_readme(current, render_table(notebook_entries(args.root)))
    except TocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if updated == current:
        print("README.md: notebook table is up to date")
        return 0
    if args.check:
        print("README.md: notebook table is out of date; run: make toc", file=sys.stderr)
        return 1
    readme.write_text(updated, encoding="utf-8")
    print("README.md: notebook table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
