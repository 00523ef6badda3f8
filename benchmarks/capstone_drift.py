"""How far two correct float32 implementations of the same style transfer drift apart (notebook 08's check).

The capstone's self-check (:func:`nst_lib.course.checks.check_style_transfer`) compares a learner's
style transfer, built from their own functions with ``tf.GradientTape`` and ``keras.optimizers.Adam``,
with ``nst.stylize(**nst.TF_TUTORIAL)``: the same objective, the same Adam, the same start. The two can
only agree up to float32 rounding (other summation orders in the Gram matrix and the means, another
graph), and Adam then carries those differences forward. This script measures that drift with the
reference solution (:func:`nst_lib.course.solutions.style_transfer`) against ``stylize``, the same solution
with its Gram matrices and losses computed in float64 with other reductions (standing for a learner who
sums in another order), and ``stylize`` against itself (run-to-run noise of TensorFlow's CPU kernels), so
the check's tolerance rests on a measurement.

Usage (from the repository root)::

    NST_OFFLINE=1 python benchmarks/capstone_drift.py                      # the default grid (~10 min, 2 cores)
    NST_OFFLINE=1 python benchmarks/capstone_drift.py --runs 64:10 128:100  # size:steps pairs

Writes ``benchmarks/results/capstone_drift.json`` (``--out``): for every size and step count the largest
relative difference of the loss at any step, at step 0 and at the last step, and the difference step by
step. The learner's train step returns the loss *before* each step and ``stylize``'s history the loss
*after* each step, so the two are aligned (step 0, the content image, is the check's independent float64
computation of the objective).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = ("64:10", "64:30", "64:100", "128:30", "256:20")


def relative(a, b) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b) / np.abs(b)


def float64_pieces(solutions):
    """Another correct implementation: Gram matrices and losses in float64 with other reductions (einsum,
    sum ÷ count), cast back to float32 for Adam. It stands for a learner's code that sums in another order."""
    import tensorflow as tf

    def gram_matrix(features):
        f = tf.cast(features, tf.float64)
        return tf.einsum("bhwc,bhwd->bcd", f, f) / tf.cast(tf.shape(f)[1] * tf.shape(f)[2], tf.float64)

    def mean_square(x):
        return tf.reduce_sum(tf.square(x)) / tf.cast(tf.size(x), tf.float64)

    def content_loss(features, targets, layer_weights):
        return tf.cast(tf.add_n([w * mean_square(tf.cast(features[k], tf.float64) - tf.cast(targets[k], tf.float64))
                                 for k, w in layer_weights.items()]), tf.float32)

    def style_loss(features, grams, layer_weights):
        return tf.cast(tf.add_n([w * mean_square(gram_matrix(features[k]) - grams[k])
                                 for k, w in layer_weights.items()]), tf.float32)

    return dict(gram_matrix=gram_matrix, content_loss=content_loss, style_loss=style_loss)


def run_solution(solutions, content, style, steps: int, pieces: dict | None = None):
    saved = {name: getattr(solutions, name) for name in (pieces or {})}
    try:
        for name, fn in (pieces or {}).items():
            setattr(solutions, name, fn)
        return solutions.style_transfer(content, style, steps)[1]
    finally:
        for name, fn in saved.items():
            setattr(solutions, name, fn)


def measure(size: int, steps: int) -> dict:
    """Losses at steps 0 … steps − 1: the learner's train step returns the loss *before* each step, stylize's
    history holds the loss *after* each step, and step 0 (the content image) comes from the check's
    independent float64 computation of the tutorial's objective."""
    import nst_lib as nst
    from nst_lib.course import solutions
    from nst_lib.course.checks import nb08_capstone

    problem = nb08_capstone._capstone_problem(size)
    content, style = problem["content"], problem["style"]
    start = float(problem["parts"](content)["total"])
    started = time.perf_counter()
    learner = run_solution(solutions, content, style, steps)
    learner_seconds = time.perf_counter() - started
    other = run_solution(solutions, content, style, steps, float64_pieces(solutions))
    started = time.perf_counter()
    first = nst.stylize(content, style, **nst.TF_TUTORIAL, precision="float32", size=size, steps=steps - 1)
    stylize_seconds = time.perf_counter() - started
    second = nst.stylize(content, style, **nst.TF_TUTORIAL, precision="float32", size=size, steps=steps - 1)
    library = [start, *(h["total"] for h in first.history)]
    again = [start, *(h["total"] for h in second.history)]
    drift = relative(learner, library)
    noise = relative(again, library)
    variant = relative(other, library)
    return {
        "size": size, "steps": steps,
        "solution_vs_stylize": {"max": float(drift.max()), "step0": float(drift[0]), "last": float(drift[-1]),
                                "argmax": int(drift.argmax())},
        "stylize_vs_stylize": {"max": float(noise.max()), "last": float(noise[-1])},
        "float64_variant_vs_stylize": {"max": float(variant.max()), "step0": float(variant[0]),
                                       "last": float(variant[-1])},
        "relative_by_step": [float(v) for v in drift],
        "loss_first_last": [library[0], library[-1]],
        "seconds": {"solution": round(learner_seconds, 1), "stylize": round(stylize_seconds, 1)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="size:steps pairs")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "capstone_drift.json")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    cpu = subprocess.run(["bash", "-c", "lscpu | grep 'Model name' | cut -d: -f2"], capture_output=True, text=True)
    record = {"machine": f"{cpu.stdout.strip()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "load_before": os.getloadavg()[0], "runs": []}
    for pair in args.runs:
        size, steps = (int(v) for v in pair.split(":"))
        result = measure(size, steps)
        record["runs"].append(result)
        d = result["solution_vs_stylize"]
        print(f"{size:4d} px, {steps:4d} steps: solution vs stylize max {d['max']:.2e} (step {d['argmax']}), "
              f"step 0 {d['step0']:.1e}, last {d['last']:.2e}; stylize vs stylize max "
              f"{result['stylize_vs_stylize']['max']:.1e}; float64 variant vs stylize max "
              f"{result['float64_variant_vs_stylize']['max']:.2e}", flush=True)
    record["load_after"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
