"""Soak test: many small stylizations in one process must not leak memory (not part of CI).

    NST_OFFLINE=1 .venv/bin/python benchmarks/soak.py [--runs 200] [--warmup 25] [--max-growth-mb 64]

Runs ``nst_lib.stylize`` ``--runs`` times on synthetic 48–64 px images with 2–3 steps (L-BFGS, every
fourth run Adam; three sizes, so shapes change and graphs are traced again and again, as in a notebook
session or a long-lived web worker). It prints the resident set size (RSS, psutil) at the start, after
every 25 runs and at the end, then one summary line, and exits 1 when RSS grew by more than
``--max-growth-mb`` between the end of the warm-up and the end.

Why these numbers: the first runs legitimately grow the process (TensorFlow's allocator pools, the
cached VGG model, the first traced graphs, SciPy), so growth is measured only after ``--warmup`` runs.
After that, a steady process stays flat except for allocator noise (a few MB). One run holds about 10 MB
of activations (VGG16 up to block5_conv2 at 64 px, forward and backward), and a traced graph of the
objective weighs a few MB; a leak of either per run would add several hundred MB over 175 runs, while
64 MB (about 0.37 MB per run) is well above the noise and far below any real per-run leak.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def images(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    content = np.stack([yy, xx, 1 - yy], axis=-1) * 0.8 + rng.uniform(0, 0.2, (size, size, 3))
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + yy) * size / rng.integers(4, 9))
    style = np.stack([stripes, 1 - stripes, 0.5 * stripes], axis=-1) * 0.85 + rng.uniform(0, 0.15, (size, size, 3))
    return np.clip(content, 0, 1).astype(np.float32), np.clip(style, 0, 1).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=25, help="runs before the baseline RSS is taken")
    parser.add_argument("--every", type=int, default=25, help="report RSS every N runs")
    parser.add_argument("--max-growth-mb", type=float, default=64.0, help="allowed RSS growth after warm-up")
    args = parser.parse_args(argv)
    if not 0 <= args.warmup < args.runs:
        parser.error("--warmup must be between 0 and --runs - 1")

    warnings.simplefilter("ignore")  # the VGG16-for-VGG19 notice would repeat 200 times
    start_rss = rss_mb()
    print(f"start: RSS {start_rss:.0f} MB (before importing TensorFlow)", flush=True)
    import nst_lib as nst

    started = time.perf_counter()
    samples: list[tuple[int, float]] = [(0, start_rss)]
    baseline = start_rss if args.warmup == 0 else None
    for run in range(1, args.runs + 1):
        size = (48, 56, 64)[run % 3]
        content, style = images(run, size)
        result = nst.stylize(
            content,
            style,
            size=size,
            steps=2 + run % 2,
            scales=1,
            optimizer="adam" if run % 4 == 0 else "lbfgs",
            seed=run,
        )
        if not np.all(np.isfinite(result.image)) or result.image.shape != (size, size, 3):
            print(f"run {run}: bad result {result.image.shape} {result.stop_reason}", file=sys.stderr)
            return 1
        del result
        if run == args.warmup or run % args.every == 0 or run == args.runs:
            gc.collect()
            now = rss_mb()
            samples.append((run, now))
            if run == args.warmup:
                baseline = now
            mark = " (end of warm-up: baseline)" if run == args.warmup else ""
            print(f"run {run:4d}: RSS {now:7.1f} MB, {time.perf_counter() - started:6.1f} s{mark}", flush=True)

    end_rss = samples[-1][1]
    growth = end_rss - baseline
    after = [(r, m) for r, m in samples if r >= args.warmup]
    slope = float(np.polyfit([r for r, _ in after], [m for _, m in after], 1)[0]) if len(after) > 2 else 0.0
    ok = growth <= args.max_growth_mb
    print(
        f"{'PASS' if ok else 'FAIL'}: {args.runs} stylizations in {time.perf_counter() - started:.0f} s; RSS start "
        f"{start_rss:.0f} MB, after warm-up {baseline:.0f} MB, end {end_rss:.0f} MB; growth after warm-up "
        f"{growth:+.1f} MB (limit {args.max_growth_mb:.0f} MB), trend {slope * 1000:+.0f} kB/run"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
