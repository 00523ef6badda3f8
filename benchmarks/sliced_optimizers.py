"""Sliced Wasserstein with L-BFGS and with Adam: what to do about directions that change at every evaluation.

L-BFGS assumes one fixed function: its line search compares values, and its curvature pairs compare
gradients, of successive evaluations. The sliced Wasserstein loss draws new random directions whenever
its seed changes, so each schedule below is a different answer to "when does the seed change":

* ``lbfgs_every_evaluation`` — a new seed at every evaluation (line-search trials included);
* ``lbfgs_every_iteration`` — a new seed after every accepted iteration (the line search sees one function);
* ``lbfgs_fixed`` — one seed for the whole run (a deterministic loss with K = C fixed directions per layer);
* ``lbfgs_restart_R`` — one seed for R iterations, then new directions and a fresh L-BFGS (memory cleared):
  :func:`nst_lib.optimize.run_lbfgs_redrawing` with ``block=R``, what ``stylize`` does;
* ``adam`` — a new seed at every step (Heitz et al.'s setting), the library's Adam recipe.

Fair measure (not the optimised loss): the objective with the style term measured by **held-out**
directions — four seeds never used by any run, K = C directions each — at the same layers. Cost: objective
evaluations (each one VGG forward and backward pass at the same size, whatever the schedule), so the
comparison does not depend on the machine's load; wall time is recorded too.

    .venv/bin/python benchmarks/sliced_optimizers.py --size 128 --evaluations 200

Writes ``benchmarks/results/sliced_optimizers.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
HELD_OUT_SEEDS = (10**6, 10**6 + 1, 10**6 + 2, 10**6 + 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--content", default="grace_hopper")
    parser.add_argument("--styles", nargs="+", default=["swirls", "stained_glass"])
    parser.add_argument("--every", type=int, default=20, help="measure the held-out objective every N evaluations")
    parser.add_argument("--restarts", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--skip", nargs="*", default=[], help="schedules to leave out")
    parser.add_argument("--out", type=Path, default=RESULTS / "sliced_optimizers.json")
    args = parser.parse_args()

    import tensorflow as tf

    from nst_lib import color, data
    from nst_lib.backbone import shared_extractor, to_keras_names
    from nst_lib.config import StyleConfig, normalize_weights
    from nst_lib.images import resize_long_side
    from nst_lib.losses import Objective, StyleTarget, style_loss, style_statistic, traced_value_and_grad
    from nst_lib.optimize import run_adam, run_lbfgs, run_lbfgs_redrawing

    sys_info = {"cpu": _cpu(), "load_before": os.getloadavg()}
    cfg = StyleConfig(style_loss="sliced_wasserstein", size=args.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extractor = shared_extractor(cfg.content_layers + cfg.style_layers, cfg.backbone, cfg.weights)
    content_layers = to_keras_names(cfg.content_layers, extractor.backbone)
    style_layers = to_keras_names(cfg.style_layers, extractor.backbone)
    content_lw = dict(zip(content_layers, normalize_weights("c", None, len(content_layers))))
    style_lw = dict(zip(style_layers, normalize_weights("s", None, len(style_layers))))
    statistic = style_statistic("sliced_wasserstein")
    content = data.content_image(args.content, args.size)

    schedules = ["lbfgs_every_evaluation", "lbfgs_every_iteration", "lbfgs_fixed"]
    schedules += [f"lbfgs_restart_{r}" for r in args.restarts] + ["adam"]
    schedules = [name for name in schedules if name not in args.skip]
    runs = []
    for style_name in args.styles:
        style = resize_long_side(data.style_image(style_name), max(content.shape[:2]))
        content_feats = extractor(content[np.newaxis])
        style_feats = extractor(style[np.newaxis])
        targets = {k: statistic.targets(style_feats[k]) for k in style_lw}
        objective = Objective(extractor, {k: content_feats[k] for k in content_lw}, [StyleTarget(targets)],
                              content_lw, style_lw, cfg.content_weight, cfg.style_weight, cfg.tv_weight,
                              style_loss="sliced_wasserstein", seed=cfg.seed)
        traced = traced_value_and_grad(extractor)
        start_image = color.match_color_histogram(content, style)

        def held_out(image: np.ndarray) -> dict:
            feats = extractor(image[np.newaxis])
            styles = [float(style_loss(feats, targets, style_lw, statistic="sliced_wasserstein",
                                       seed=tf.constant([s, 0], tf.int64))[0]) for s in HELD_OUT_SEEDS]
            content_value = float(tf.reduce_mean(tf.square(feats[content_layers[0]] - content_feats[content_layers[0]])))
            style_value = float(np.mean(styles))
            return {"objective": cfg.content_weight * content_value + cfg.style_weight * style_value,
                    "style": style_value, "content": content_value}

        for schedule in schedules:
            state = {"evaluations": 0, "seed": 0, "measured": 0.0}
            curve = []
            started = time.perf_counter()

            def value_and_grad(image):
                state["evaluations"] += 1
                if schedule in ("lbfgs_every_evaluation", "adam"):
                    state["seed"] += 1
                seed = tf.constant([cfg.seed, state["seed"]], tf.int64)
                return traced(tf.convert_to_tensor(image, tf.float32), objective.inputs, seed, objective.structure)

            def record(image: np.ndarray) -> None:
                before = time.perf_counter()
                entry = {"evaluations": state["evaluations"], "seconds": before - started - state["measured"],
                         **held_out(image)}
                state["measured"] += time.perf_counter() - before
                curve.append(entry)

            def callback(event) -> bool:
                if schedule == "lbfgs_every_iteration":
                    state["seed"] += 1
                if state["evaluations"] >= (len(curve)) * args.every:
                    record(event.image())
                return state["evaluations"] >= args.evaluations

            record(start_image)
            image = start_image
            if schedule == "adam":
                outcome = run_adam(value_and_grad, image, steps=args.evaluations, callback=callback,
                                   learning_rate=cfg.learning_rate, beta_1=cfg.adam_beta_1, epsilon=cfg.adam_epsilon)
                image = outcome.image
            elif schedule.startswith("lbfgs_restart_"):  # what stylize ships: one draw per block of R iterations
                def value_and_grad_for(draw):
                    state["seed"] = draw
                    return value_and_grad

                outcome = run_lbfgs_redrawing(value_and_grad_for, image, steps=10 * args.evaluations,
                                              block=int(schedule.rsplit("_", 1)[1]), callback=callback,
                                              corrections=cfg.lbfgs_corrections)
                image = outcome.image
            else:
                outcome = run_lbfgs(value_and_grad, image, steps=10 * args.evaluations, callback=callback,
                                    corrections=cfg.lbfgs_corrections)
                image = outcome.image
            final = held_out(image)  # the image the run returns (its best by its own loss)
            runs.append({"style": style_name, "schedule": schedule, "curve": curve, "returned": final,
                         "evaluations": state["evaluations"], "stop_reason": outcome.stop_reason,
                         "seconds": time.perf_counter() - started - state["measured"]})
            print(f"{style_name:>14} {schedule:>24}: held-out objective {curve[0]['objective']:.4g} → "
                  f"{final['objective']:.4g} (style {final['style']:.4g}) in {state['evaluations']} evaluations, "
                  f"{runs[-1]['seconds']:.0f} s", flush=True)

    payload = {
        "command": f"benchmarks/sliced_optimizers.py --size {args.size} --evaluations {args.evaluations} "
                   f"--styles {' '.join(args.styles)} --restarts {' '.join(map(str, args.restarts))}"
                   + (f" --skip {' '.join(args.skip)}" if args.skip else ""),
        "content": args.content, "size": args.size, "backbone": extractor.backbone,
        "held_out_seeds": list(HELD_OUT_SEEDS), "style_weight": cfg.style_weight,
        "machine": {**sys_info, "load_after": os.getloadavg()},
        "runs": runs,
        "ranking": _ranking(runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    for style_name, order in payload["ranking"].items():
        print(style_name, " < ".join(f"{name} ({value:.4g})" for name, value in order))
    print(f"wrote {args.out}")


def _ranking(runs: list[dict]) -> dict:
    out: dict = {}
    for run in runs:
        out.setdefault(run["style"], []).append((run["schedule"], run["returned"]["objective"]))
    return {style: sorted(values, key=lambda item: item[1]) for style, values in out.items()}


def _cpu() -> str:
    import subprocess

    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")


if __name__ == "__main__":
    main()
