"""How long each notebook took when ``make book`` executed it, read from the site's jupyter-cache.

``make book FULL=1`` executes every notebook at real settings through jupyter-cache (MyST-NB's ``cache``
mode), which stores each notebook's execution time with its outputs. This script reads those records —
so the numbers are the build's own, not a second run — and writes them with the machine and the load
average during each notebook (from a log of ``/proc/loadavg`` samples, one ``ISO-TIME L1 L5 L15`` line each,
which the build's operator keeps, e.g. ``while sleep 60; do echo "$(date -u +%FT%T) $(cut -d' ' -f1-3
/proc/loadavg)"; done >> _build/loadavg.log``)::

    python benchmarks/book_times.py --loadavg _build/loadavg.log            # _build/.jupyter_cache/full
    python benchmarks/book_times.py --table                                 # the recorded results as Markdown

A notebook that is not in the cache did not finish (or failed: its traceback is in the cache's project
record, and the script says so). Results: ``benchmarks/results/book_full_times.json``. Compare times only
within one build: the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "book_full_times.json"


def machine() -> dict:
    """CPU model, whether it has bfloat16 instructions, core count, Python."""
    lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "unknown")
    try:
        bf16 = "avx512_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        bf16 = None
    return {"cpu": model, "avx512_bf16": bf16, "cores": os.cpu_count(), "python": platform.python_version()}


def read_load_samples(paths: list[Path]) -> list[tuple[datetime, float]]:
    """``(time, 1-minute load)`` from ``ISO-TIME L1 L5 L15`` lines, sorted; bad lines are skipped."""
    samples = []
    for path in paths:
        for line in path.read_text().splitlines():
            parts = line.split()
            try:
                when = datetime.fromisoformat(parts[0]).replace(tzinfo=timezone.utc)
                samples.append((when, float(parts[1])))
            except (IndexError, ValueError):
                continue
    return sorted(samples)


def load_during(samples: list[tuple[datetime, float]], start: datetime, end: datetime) -> dict | None:
    """Mean, min and max of the 1-minute load samples taken while a notebook ran (None without samples)."""
    inside = [load for when, load in samples if start <= when <= end]
    if not inside:
        return None
    return {"mean": round(sum(inside) / len(inside), 1), "min": min(inside), "max": max(inside),
            "samples": len(inside)}


def cache_entries(cache_path: Path, samples: list[tuple[datetime, float]]) -> tuple[dict, list[str], dict]:
    """Per notebook: seconds, finish time and load, from the cache; the course's notebooks that are not in it
    (not reached yet, still running, or failed); and the tracebacks of those that failed."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    entries = {}
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        name = Path(record.uri).stem
        seconds = float((record.data or {}).get("execution_seconds", float("nan")))
        finished = record.created.replace(tzinfo=timezone.utc)  # jupyter-cache stores naive UTC times
        entries[name] = {"seconds": round(seconds, 1), "minutes": round(seconds / 60, 1),
                         "finished_at": finished.isoformat(timespec="seconds"),
                         "load_1min_while_running": load_during(samples, finished - timedelta(seconds=seconds), finished)}
    staged = {Path(r.uri).stem: r for r in cache.list_project_records()}
    course = {p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    missing = sorted((course | set(staged)) - set(entries))  # not reached, running, or failed
    failed = {name: staged[name].traceback[-2000:] for name in missing if name in staged and staged[name].traceback}
    return entries, missing, failed


def markdown_table(results: dict) -> str:
    rows = ["| notebook | minutes at real settings | load (1 min) while it ran: mean (min–max) |",
            "| --- | ---: | --- |"]
    for name, entry in sorted(results.get("notebooks", {}).items()):
        load = entry.get("load_1min_while_running")
        shown = f"{load['mean']:.0f} ({load['min']:.0f}–{load['max']:.0f})" if load else "not sampled"
        rows.append(f"| {name} | {entry['minutes']:.1f} | {shown} |")
    for name in results.get("not_finished", []):
        rows.append(f"| {name} | not finished | |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO / "_build" / ".jupyter_cache" / "full",
                        help="the build's jupyter-cache folder (default: _build/.jupyter_cache/full)")
    parser.add_argument("--loadavg", type=Path, action="append", default=[],
                        help="a log of 'ISO-TIME L1 L5 L15' lines sampled during the build (repeatable)")
    parser.add_argument("--command", default="nice -n 5 make book FULL=1",
                        help="how the build was started (recorded as is)")
    parser.add_argument("--note", action="append", default=[], help="a sentence to record with the results")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the recorded results as a Markdown table and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.out.read_text()) if args.out.exists() else {}))
        return 0
    if not (args.cache / "global.db").is_file():
        print(f"error: {args.cache} holds no jupyter-cache (run make book FULL=1 first)", file=sys.stderr)
        return 2
    entries, missing, failed = cache_entries(args.cache, read_load_samples(args.loadavg))
    results = {
        "command": args.command,
        "settings": "real (NST_FAST unset), offline (NST_OFFLINE=1), MyST-NB cache mode (jupyter-cache), "
                    "notebooks executed one after another in the staged notebooks/ folder, Agg backend",
        "machine": machine(),
        "read_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "notebooks": entries,
        "total_minutes": round(sum(e["seconds"] for e in entries.values()) / 60, 1),
        "not_finished": missing,
        "failed": failed,
        "notes": args.note,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(markdown_table(results))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
