"""How long each course notebook takes at its **real** settings (not fast mode), cell by cell.

Runs every requested notebook top to bottom with nbclient, offline (``NST_OFFLINE=1``) and *without*
``NST_FAST``, from the ``notebooks/`` folder, exactly as a learner's *Run All* would (the interactive demo
in the last cell is only displayed, not used). For each notebook it records the wall time, and for every
code cell that took longer than ``--slow`` seconds (20 by default) its first line and whether the
markdown cell just before it carries a ⏱ note, which the course promises for such cells.

The machine is shared, so the load average is recorded before and after each notebook; compare times
only within one run. Results are merged into ``benchmarks/results/notebook_times.json`` (a notebook
measured again replaces its old entry; one that could not be measured keeps its old entry, if any)::

    python benchmarks/notebook_times.py                       # every notebook (slow: over an hour)
    python benchmarks/notebook_times.py 00 01 02 --budget 1800
    python benchmarks/notebook_times.py 11 --keep /tmp/executed  # also keep the executed notebook (figures)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
RESULTS = REPO / "benchmarks" / "results" / "notebook_times.json"
TIMER_MARK = "⏱"


def machine() -> dict:
    """CPU model, core count and the load average now."""
    lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "unknown")
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "%"))]
    return (lines[0] if lines else text.strip().splitlines()[0])[:100]


def time_notebook(path: Path, cell_timeout: int, slow: float, keep: Path | None = None) -> dict:
    """Execute ``path`` at real settings; the wall time of the whole and of every slow cell.

    With ``keep``, the executed notebook (outputs and figures included) is also written there, so its
    figures can be looked at; the repository's notebook itself is never written.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    cell_seconds: dict[int, float] = {}
    load_before = os.getloadavg()
    started = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            cell_seconds[index] = time.perf_counter() - t0
    total = time.perf_counter() - started
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, keep / path.name)
    errors = [(i, o.ename) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"
              and "raises-exception" not in c.metadata.get("tags", [])]
    slow_cells = []
    for index, seconds in cell_seconds.items():
        if seconds < slow:
            continue
        before = _source(nb.cells[index - 1]) if index > 0 and nb.cells[index - 1].cell_type == "markdown" else ""
        slow_cells.append({"cell": index, "seconds": round(seconds, 1), "first_line": _first_line(_source(nb.cells[index])),
                           "timer_note_before": TIMER_MARK in before})
    return {"seconds": round(total, 1), "code_cells": len(cell_seconds), "slow_cells": slow_cells,
            "unexpected_errors": [f"cell {i}: {name}" for i, name in errors],
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def markdown_table(results: dict) -> str:
    """The measured notebooks as a Markdown table (for docs/course.md): minutes, load, slow cells."""
    rows = ["| notebook | minutes at real settings | load average (1 min) before → after | cells over 20 s (seconds) |",
            "| --- | ---: | --- | --- |"]
    for name, entry in sorted(results.get("notebooks", {}).items()):
        slow = ", ".join(f"{c['seconds']:.0f}" + ("" if c["timer_note_before"] else " (no ⏱ note)")
                         for c in entry["slow_cells"]) or "none"
        rows.append(f"| {name} | {entry['seconds'] / 60:.1f} | {entry['load_before'][0]:.0f} → "
                    f"{entry['load_after'][0]:.0f} | {slow} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: every notebook)")
    parser.add_argument("--slow", type=float, default=20.0, help="report cells slower than this (seconds)")
    parser.add_argument("--cell-timeout", type=int, default=3600, help="give up on a cell after this (seconds)")
    parser.add_argument("--budget", type=float, default=None,
                        help="start no new notebook after this many seconds (the rest are reported as not measured)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="also write each executed notebook (with its outputs) into this folder, e.g. /tmp/executed")
    parser.add_argument("--table", action="store_true", help="print the recorded results as a Markdown table and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(RESULTS.read_text()) if RESULTS.exists() else {}))
        return 0

    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        paths = [p for n in args.notebooks for p in paths if p.stem.startswith(n)]  # in the order given
        if not paths:
            print(f"error: no notebook matches {args.notebooks}", file=sys.stderr)
            return 2
    os.environ.pop("NST_FAST", None)
    os.environ.update(NST_OFFLINE="1", MPLBACKEND="Agg")

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("notebooks", {})
    results.update(command="python benchmarks/notebook_times.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                   settings="real (NST_FAST unset), offline (NST_OFFLINE=1), nbclient, Agg backend",
                   machine=machine())
    not_measured = []
    started = time.perf_counter()
    for path in paths:
        if args.budget is not None and time.perf_counter() - started > args.budget:
            not_measured.append(path.stem)
            continue
        print(f"{path.stem} …", flush=True)
        entry = time_notebook(path, args.cell_timeout, args.slow, args.keep)
        results["notebooks"][path.stem] = entry
        print(f"{path.stem}: {entry['seconds'] / 60:.1f} min, slow cells: "
              + (", ".join(f"{c['cell']} ({c['seconds']:.0f} s{'' if c['timer_note_before'] else ', no ⏱ note'})"
                           for c in entry["slow_cells"]) or "none"), flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    results["not_measured_in_last_run"] = not_measured
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    if not_measured:
        print("not measured (budget spent):", ", ".join(not_measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
