"""The web page under load with real settings: queue waits, run times, page latency and peak memory.

    NST_OFFLINE=1 .venv/bin/python benchmarks/web_load.py [--tabs 4] [--size 256] [--steps 100]
        [--max-runs 1] [--out benchmarks/results/web_load_256.json]

Starts ``streamlit run apps/streamlit_app.py`` on a free 127.0.0.1 port (the page's real defaults: no
``NST_FAST``), opens ``--tabs`` browser tabs with ``scripts/web_client.py`` (Streamlit's websocket
protocol, as ``tests/test_app_load.py`` does), lets each tab upload its own bundled example photo
(grace_hopper, astronaut, coffee, …, encoded as PNG at full size), and presses Run in every tab, one
after the other. Then it measures:

* for each tab: the wait in the queue and the run time (from the server's log), and the time from its
  click to its result on the page;
* how the page answers while runs go on: the status refreshes of the waiting tabs (the fragment that
  polls the queue once a second; from request to answer) and a full rerun of the last tab, every 5 s;
* memory, sampled every 0.2 s with psutil: the server process (Streamlit, the queue, the sessions'
  uploads and results) and the worker process that runs the optimisations (TensorFlow, VGG, the run),
  each at its peak, and the peak of the two together; beside the memory plan's estimate
  (:func:`nst_lib.memory.plan_run`) for the largest of the runs.

It prints a table and writes the numbers as JSON. Record ``uptime`` with the result: the machine's
load changes every number here but the memory.

    NST_OFFLINE=1 .venv/bin/python benchmarks/web_load.py --upload-megapixels 36 --max-memory 1G --size 128 --steps 20

measures issue 18's case instead (docs/safety.md): the page started as ``make web`` starts it
(``apps/serve.py``) with ``NST_WEB_MAX_MEMORY=1G``; every tab uploads its own 36-megapixel PNG (about
100 kB) at the same moment, then presses Run; the server's and the worker's resident memory are sampled
against the budget plus their own baseline (both idle, the worker's TensorFlow loaded) →
``benchmarks/results/web_uploads_36mp.json``.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "apps"))


def _screenshot_helpers():
    spec = importlib.util.spec_from_file_location("screenshot_app", ROOT / "scripts" / "screenshot_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "")
    except OSError:
        model = ""
    return f"{model or platform.processor() or 'unknown CPU'}, {os.cpu_count()} logical cores"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class MemorySampler(threading.Thread):
    """Peak resident memory of this script's child processes: the server and its worker(s)."""

    def __init__(self, every: float = 0.2):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.every = every
        self.peak = {"server": 0, "workers": 0, "total": 0}
        self.latest = dict(self.peak)
        self._stop_event = threading.Event()

    def run(self) -> None:
        me = self.psutil.Process()
        while not self._stop_event.wait(self.every):
            server = workers = 0
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                    command = " ".join(child.cmdline())
                except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                    continue
                if "run_worker.py" in command:
                    workers += rss
                elif "streamlit" in command:
                    server += rss
            for key, value in (("server", server), ("workers", workers), ("total", server + workers)):
                self.peak[key] = max(self.peak[key], value)
                self.latest[key] = value

    def reset(self) -> dict[str, int]:
        """Start a new peak from now; returns the latest sample (the baseline of what follows)."""
        time.sleep(2 * self.every)
        latest = dict(self.latest)
        self.peak = dict(latest)
        return latest

    def stop(self) -> dict[str, int]:
        self._stop_event.set()
        self.join(5)
        return dict(self.peak)


def photo_png(name: str) -> tuple[bytes, tuple[int, int]]:
    from PIL import Image

    from nst_lib import data

    image = data.content_image(name)
    buffer = io.BytesIO()
    Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue(), image.shape[:2]


def planned_peak(size: int, steps: int, shapes: list[tuple[int, int]], backbone: str) -> int:
    """The memory plan's largest estimate for the tabs' runs (the whole worker process; swirls is 512²)."""
    from nst_lib.config import StyleConfig
    from nst_lib.memory import plan_run

    return max(int(plan_run(StyleConfig(size=size, steps=steps), shape, max_memory=64 * 2**30,
                            style_shapes=[(512, 512)], backbone=backbone).estimated_peak_bytes)
               for shape in shapes)


def big_png(megapixels: float, seed: int) -> bytes:
    """A square PNG of ``megapixels`` (a smooth gradient and a few discs): large decoded, ~100 kB on disk."""
    from PIL import Image, ImageDraw

    side = int(round((megapixels * 1e6) ** 0.5))
    ramp = np.linspace(0, 255, side, dtype=np.float32).astype(np.uint8)
    pixels = np.empty((side, side, 3), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = ramp[np.newaxis, :], ramp[:, np.newaxis], 90 + 40 * seed
    picture = Image.fromarray(pixels)
    draw = ImageDraw.Draw(picture)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        x, y, r = (int(v) for v in rng.integers(0, side // 2, 3))
        draw.ellipse((x, y, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def upload_load(args: argparse.Namespace, out: Path) -> int:
    """``--upload-megapixels N``: every tab uploads its own N-megapixel PNG at the same moment, then presses Run;
    the server's and the worker's memory are sampled against ``NST_WEB_MAX_MEMORY`` plus their own baseline
    (issue 18 §3; docs/safety.md)."""
    import web_client

    shots = _screenshot_helpers()
    photos = [big_png(args.upload_megapixels, seed=i) for i in range(args.tabs)]
    env = {"NST_OFFLINE": os.environ.get("NST_OFFLINE", "1"), "NST_FAST": "0", "NST_WEB_MAX_RUNS": str(args.max_runs),
           "NST_WEB_MAX_WAITING": str(max(10, args.tabs)), "NST_WEB_MAX_MEMORY": args.max_memory}
    log = out.with_suffix(".log")
    sampler = MemorySampler()
    sampler.start()
    tabs: list = []
    answers: dict[int, list[str]] = {}
    results: dict[int, float] = {}
    try:
        with shots.streamlit_server(env=env, log=log, timeout=120, script=shots.SERVE) as base:
            query = f"size={args.size}&steps={args.steps}&time_budget=0"
            for _ in range(args.tabs):
                tab = web_client.PageSession(base, query=query, timeout=300)
                tab.choose("content_source", "Upload")
                tabs.append(tab)
            time.sleep(20)  # the worker has loaded TensorFlow (warm_up on the first page)
            baseline = sampler.reset()

            def upload(i: int) -> None:
                tabs[i].upload("content_upload", f"big_{i}.png", photos[i])
                answers[i] = [text for text in tabs[i].texts("alert") if "big_" in text or "memory" in text]

            threads = [threading.Thread(target=upload, args=(i,)) for i in range(args.tabs)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(600)
            upload_peak = dict(sampler.peak)
            clicked = {}
            for i, tab in enumerate(tabs):
                if not answers.get(i):
                    tab.click("run")
                    clicked[i] = time.monotonic()
            deadline = time.monotonic() + args.timeout
            while len(results) < len(clicked) and time.monotonic() < deadline:
                for i in clicked:
                    if i not in results and (tabs[i].download_url() or tabs[i].seen("alert", "memory")):
                        results[i] = time.monotonic() - clicked[i]
                time.sleep(2)
    finally:
        for tab in tabs:
            tab.close()
        memory = sampler.stop()
    budget = __import__("nst_lib.memory", fromlist=["parse_memory_size"]).parse_memory_size(args.max_memory)
    report = {
        "command": "NST_OFFLINE=1 .venv/bin/python benchmarks/web_load.py " + " ".join(sys.argv[1:]),
        "machine": machine(), "load_after": load_average(), "tabs": args.tabs,
        "upload_megapixels": args.upload_megapixels, "upload_bytes": [len(p) for p in photos],
        "size": args.size, "steps": args.steps, "NST_WEB_MAX_MEMORY": args.max_memory, "budget_mb": budget // 2**20,
        "baseline_rss_mb": {k: round(v / 2**20) for k, v in baseline.items()},
        "peak_rss_mb_during_uploads": {k: round(v / 2**20) for k, v in upload_peak.items()},
        "peak_rss_mb_uploads_and_runs": {k: round(v / 2**20) for k, v in memory.items()},
        "above_baseline_mb": round((memory["total"] - baseline["total"]) / 2**20),
        "within_budget_plus_baseline": memory["total"] <= baseline["total"] + budget,
        "upload_refusals": {str(i): a for i, a in answers.items() if a},
        "results": {str(i): round(t, 1) for i, t in results.items()},
        "runs_clicked": len(clicked),
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("command",)}, indent=1))
    print(f"wrote {out} and {log.name}")
    return 0 if report["within_budget_plus_baseline"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tabs", type=int, default=4, help="tabs that each run once (default 4)")
    parser.add_argument("--size", type=int, default=256, help="long side of the results (the page's default 256)")
    parser.add_argument("--steps", type=int, default=100, help="optimiser steps (the page's default 100)")
    parser.add_argument("--max-runs", type=int, default=1, help="NST_WEB_MAX_RUNS for the server (default 1)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for all results")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file (default benchmarks/results/web_load_SIZE.json)")
    parser.add_argument("--upload-megapixels", type=float, default=None,
                        help="instead: every tab uploads its own PNG of this many megapixels at once, then runs")
    parser.add_argument("--max-memory", default="1G", help="NST_WEB_MAX_MEMORY with --upload-megapixels (default 1G)")
    args = parser.parse_args(argv)
    if args.upload_megapixels:
        out = args.out or ROOT / "benchmarks" / "results" / f"web_uploads_{args.upload_megapixels:g}mp.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        return upload_load(args, out)
    out = args.out or ROOT / "benchmarks" / "results" / f"web_load_{args.size}.json"

    from nst_lib import data

    import web_client

    shots = _screenshot_helpers()
    names = [data.list_content_images()[i % len(data.list_content_images())] for i in range(args.tabs)]
    photos = {i: photo_png(name) for i, name in enumerate(names)}
    env = {"NST_OFFLINE": os.environ.get("NST_OFFLINE", "1"), "NST_FAST": "0",
           "NST_WEB_MAX_RUNS": str(args.max_runs), "NST_WEB_MAX_WAITING": str(max(10, args.tabs))}
    log = out.with_suffix(".log")
    out.parent.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    sampler = MemorySampler()
    sampler.start()
    start = time.monotonic()
    tabs: list = []
    full_reruns: list[float] = []
    clicked: dict[int, float] = {}
    results: dict[int, float] = {}
    try:
        with shots.streamlit_server(env=env, log=log, timeout=120) as base:
            query = f"size={args.size}&steps={args.steps}&time_budget=0"
            for i in range(args.tabs):
                tab = web_client.PageSession(base, query=query, timeout=120)
                tab.choose("content_source", "Upload")
                tab.upload("content_upload", f"{names[i]}_{i}.png", photos[i][0])
                tabs.append(tab)
            idle_memory = dict(sampler.peak)
            for i, tab in enumerate(tabs):
                tab.click("run")
                clicked[i] = time.monotonic()
            last = tabs[-1]
            deadline = time.monotonic() + args.timeout
            while len(results) < len(tabs):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {len(results)} of {len(tabs)} results after {args.timeout:.0f} s")
                for i, tab in enumerate(tabs):
                    if i not in results and tab.download_url():
                        results[i] = time.monotonic() - clicked[i]
                if last.download_url() is None and last.seen("alert", "in the queue") and len(results) < len(tabs) - 1:
                    full_reruns.append(last.rerun())
                time.sleep(5)
            refreshes = [d for tab in tabs for kind, d in tab.run_durations if kind == "fragment"]
    finally:
        for tab in tabs:
            tab.close()
        memory = sampler.stop()
    elapsed = time.monotonic() - start

    queue_log = [line for line in log.read_text(errors="replace").splitlines() if "run #" in line]
    by_session = {tab.session_id[:8]: i for i, tab in enumerate(tabs)}
    waits: dict[int, float] = {}
    runs: dict[int, float] = {}
    for line in queue_log:
        match = re.search(r"of session (\w{8}): (started|done) after ([\d.]+) s", line)
        if match and match.group(1) in by_session:
            (waits if match.group(2) == "started" else runs)[by_session[match.group(1)]] = float(match.group(3))
    from nst_lib.weights import resolve_weights

    plan = planned_peak(args.size, args.steps, [shape for _, shape in photos.values()],
                        resolve_weights("vgg19", warn=False).backbone)
    report = {
        "command": "NST_OFFLINE=1 .venv/bin/python benchmarks/web_load.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine(), "load_before": load_before, "load_after": load_average(),
        "tabs": args.tabs, "size": args.size, "steps": args.steps, "max_runs": args.max_runs,
        "elapsed_s": round(elapsed, 1),
        "per_tab": [{"photo": names[i], "queue_wait_s": waits.get(i), "run_s": runs.get(i),
                     "click_to_result_s": round(results[i], 1)} for i in range(args.tabs)],
        "status_refresh_ms": {"median": round(1000 * float(np.median(refreshes)), 1),
                              "p95": round(1000 * float(np.percentile(refreshes, 95)), 1),
                              "max": round(1000 * max(refreshes), 1), "count": len(refreshes)},
        "waiting_tab_full_rerun_s": {"max": round(max(full_reruns), 2) if full_reruns else None,
                                     "median": round(float(np.median(full_reruns)), 2) if full_reruns else None,
                                     "count": len(full_reruns)},
        "peak_rss_mb": {k: round(v / 2**20) for k, v in memory.items()},
        "idle_rss_mb_before_runs": {k: round(v / 2**20) for k, v in idle_memory.items()},
        "planned_peak_mb_one_run": round(plan / 2**20),
        "queue_log": queue_log,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"{report['machine']}; load before {load_before}, after {report['load_after']}")
    print(f"{args.tabs} tabs, {args.size} px, {args.steps} steps, {args.max_runs} run(s) at a time: "
          f"all results in {elapsed:.0f} s")
    print(f"{'tab':<4} {'photo':<14} {'queue wait':>10} {'run':>7} {'click→result':>13}")
    for i, row in enumerate(report["per_tab"]):
        wait = "-" if row["queue_wait_s"] is None else f"{row['queue_wait_s']:.1f} s"
        run = "-" if row["run_s"] is None else f"{row['run_s']:.1f} s"
        print(f"{i:<4} {row['photo']:<14} {wait:>10} {run:>7} {row['click_to_result_s']:>11.1f} s")
    refresh = report["status_refresh_ms"]
    print(f"status refresh of the tabs (n={refresh['count']}): median {refresh['median']:.0f} ms, "
          f"95th percentile {refresh['p95']:.0f} ms, max {refresh['max']:.0f} ms")
    rerun = report["waiting_tab_full_rerun_s"]
    if rerun["count"]:
        print(f"full rerun of a waiting tab (n={rerun['count']}): median {rerun['median']:.2f} s, "
              f"max {rerun['max']:.2f} s")
    peak = report["peak_rss_mb"]
    idle = report["idle_rss_mb_before_runs"]
    print(f"peak RSS: server {peak['server']} MB (idle {idle['server']} MB), worker {peak['workers']} MB "
          f"(idle {idle['workers']} MB), together {peak['total']} MB; the memory plan estimates "
          f"{report['planned_peak_mb_one_run']} MB for the largest of these runs")
    print(f"wrote {out} and {log.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
