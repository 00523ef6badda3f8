"""Resident memory over successive L-BFGS runs of changing sizes — what a tiled poster does, one run per tile.

    python benchmarks/lbfgs_memory.py                         # the three optimisers, sizes 700,560,700,640,…
    python benchmarks/lbfgs_memory.py --sizes 700,700,700 --optimizers lbfgs-tf

Each optimiser runs in its own subprocess: a sequence of short runs (3 iterations, 50 corrections) on a
weighted quadratic over a side×side×3 image, one run per size in ``--sizes``, and the process's resident
set size after each run (``benchmarks/memory.py``'s ``_rss``). No network is involved, so this isolates the optimiser's own memory.
``lbfgs-tf-unfreed`` is the TensorFlow L-BFGS with ``_History.release`` made a no-op —
the sixth session's state before the fix: its traced graphs, reference cycles inside TensorFlow, held
each finished run's history (up to 400 MiB) until Python's garbage collector ran, and a poster's memory
grew by about a history per tile (docs/high_resolution.md). Writes ``benchmarks/results/lbfgs_memory.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from memory import _rss, machine  # noqa: E402 - benchmarks/memory.py, next to this file

OPTIMIZERS = ("lbfgs-scipy", "lbfgs-tf", "lbfgs-tf-unfreed")
DEFAULT_SIZES = "700,560,700,640,700,600,700,520,700,660,700"


def child(optimizer: str, sizes: list[int]) -> dict:
    """Run the sequence in this process; the RSS after each run."""
    import numpy as np
    import tensorflow as tf

    from nst_lib import lbfgs_tf

    if optimizer == "lbfgs-tf-unfreed":
        lbfgs_tf._History.release = lambda self: None
    runner = lbfgs_tf.lbfgs_runner(optimizer.replace("-unfreed", ""))
    after = []
    for side in sizes:
        target = tf.constant(np.random.default_rng(side).random((1, side, side, 3)), tf.float32)
        weights = tf.linspace(1.0, 50.0, side)[None, :, None, None]

        @tf.function
        def value_and_grad(image):
            with tf.GradientTape() as tape:
                tape.watch(image)
                total = tf.reduce_sum(weights * (image - target) ** 2)
            return {"total": total}, tape.gradient(total, image)

        runner(value_and_grad, np.full((side, side, 3), 0.5, np.float32), steps=3, corrections=50)
        after.append(round(_rss() / 2**20, 1))
    return dict(optimizer=optimizer, sizes=sizes, rss_mib_after_each_run=after,
                growth_mib=round(after[-1] - after[0], 1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="image sides, one run each (comma-separated)")
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=OPTIMIZERS)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "lbfgs_memory.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        print(json.dumps(child(args.child, sizes)))
        return
    runs = []
    for optimizer in args.optimizers:
        done = subprocess.run([sys.executable, __file__, "--child", optimizer, "--sizes", args.sizes],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{optimizer:18s} RSS after each run (MiB): {runs[-1]['rss_mib_after_each_run']}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(argv=sys.argv[1:], machine=machine(), date=time.strftime("%Y-%m-%d %H:%M"),
                                        load=os.getloadavg(), runs=runs), indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
