"""bfloat16 against float32, and the TensorFlow L-BFGS against SciPy's, with the real (offline VGG16) weights.

    python benchmarks/precision.py step --sizes 128 256 512          # one evaluation: time and agreement
    python benchmarks/precision.py quality --size 128 --steps 40     # objective after the same iterations
    python benchmarks/precision.py memory --size 512 --steps 10      # peak RSS: tutorial recipe vs ours
    python benchmarks/precision.py plot A.json [B.json ...]          # the curves of one or more quality runs

``step``: one value-and-gradient of the TensorFlow tutorial's objective (content block5_conv2, style
block1_conv1…block5_conv1, 1e4 / 1e-2) through VGG16 computing in float32 and in bfloat16, **interleaved**
(f32, bf16, f32, bf16, …) so that both see the same load; medians, and how far bfloat16's loss and gradient
are from float32's (relative error, cosine).

``quality``: content/style pairs (``--pairs`` picks them by index); for each, ``nst_lib.stylize`` with
L-BFGS (SciPy's and the TensorFlow one) and Adam (the tutorial's recipe), in float32 and in bfloat16, the
same number of iterations. Every ``--every`` iterations the output is evaluated with the **float32**
objective (off the clock), so the curves compare images, not each precision's own rounding. Wall times are
recorded too (same process, one run after the other: compare their ratios with the load in mind).

``memory``: each recipe in its own subprocess, its peak resident set size from the kernel (``wait4``), and
the memory plan's estimate for it: the tutorial's recipe (Adam, float32), our default (``auto``), our
default forced to float32, and the TensorFlow L-BFGS (``auto``).

Results go to ``benchmarks/results/precision_<command>_<size>.json`` with the processor, its bfloat16 flags
and the load average before and after; ``plot`` draws ``docs/figures/precision_quality_<size>.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAIRS = (("grace_hopper", "swirls"), ("astronaut", "stained_glass"), ("chelsea", "woodcut_waves"))
OBJECTIVE = dict(content_layers=("block5_conv2",),
                 style_layers=("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"),
                 content_weight=1e4, style_weight=1e-2, tv_weight=0.0, backbone="vgg16")
#: the TensorFlow tutorial's Adam (nst_lib.config.TF_TUTORIAL)
TUTORIAL_ADAM = dict(optimizer="adam", learning_rate=0.02, adam_beta_1=0.99, adam_epsilon=0.1, init="content")
RECIPES = {"lbfgs-scipy": dict(optimizer="lbfgs-scipy"), "lbfgs-tf": dict(optimizer="lbfgs-tf"), "adam": TUTORIAL_ADAM}


def machine() -> dict:
    from nst_lib.precision import cpu_description

    return {**cpu_description(), "loadavg": os.getloadavg()}


def _inputs(pair, size):
    from nst_lib import data

    return data.content_image(pair[0], size=size), data.style_image(pair[1])


# -------------------------------------------------------------------------------------------------- step
def run_step(args) -> dict:
    import numpy as np
    import tensorflow as tf

    from nst_lib.optimize import make_value_and_grad
    from nst_lib.transfer import make_objective

    out = []
    for size in args.sizes:
        content, style = _inputs(PAIRS[0], size)
        functions = {p: make_value_and_grad(make_objective(content, style, size=size, precision=p, **OBJECTIVE))
                     for p in ("float32", "bfloat16")}
        image = tf.constant(content[np.newaxis])
        results = {p: f(image) for p, f in functions.items()}  # trace, warm up, and the values compared
        times: dict = {p: [] for p in functions}
        for _ in range(args.repeats):
            for p, f in functions.items():
                t = time.perf_counter()
                parts, grad = f(image)
                grad.numpy()
                times[p].append(time.perf_counter() - t)
        (l32, g32), (l16, g16) = (results["float32"], results["bfloat16"])
        a, b = g32.numpy().ravel().astype(np.float64), g16.numpy().ravel().astype(np.float64)
        row = dict(size=size, shape=list(content.shape[:2]), times=times,
                   float32=statistics.median(times["float32"]), bfloat16=statistics.median(times["bfloat16"]),
                   gradient_relative_error=float(np.linalg.norm(a - b) / np.linalg.norm(a)),
                   gradient_cosine=float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))),
                   loss_relative_error=float(abs(float(l16["total"]) - float(l32["total"])) / float(l32["total"])))
        row["ratio"] = row["bfloat16"] / row["float32"]
        print(json.dumps({k: v for k, v in row.items() if k != "times"}), flush=True)
        out.append(row)
    return {"rows": out}


# ----------------------------------------------------------------------------------------------- quality
def run_quality(args) -> dict:
    import numpy as np
    import tensorflow as tf

    import nst_lib
    from nst_lib.optimize import make_value_and_grad
    from nst_lib.transfer import make_objective

    runs = []
    for pair in [PAIRS[i] for i in args.pairs]:
        content, style = _inputs(pair, args.size)
        judge = make_value_and_grad(make_objective(content, style, size=args.size, precision="float32", **OBJECTIVE))

        def float32_objective(image) -> float:
            return float(judge(tf.constant(image[np.newaxis]))[0]["total"])

        for name in args.recipes:
            for precision in ("float32", "bfloat16"):
                curve, off = [], [0.0]

                def callback(event):
                    if event.iteration % args.every == 0:
                        t = time.perf_counter()
                        curve.append((event.iteration, event.elapsed - off[0], float32_objective(event.image()),
                                      event.losses["total"]))
                        off[0] += time.perf_counter() - t

                t0 = time.perf_counter()
                result = nst_lib.stylize(content, style, size=args.size, steps=args.steps, precision=precision,
                                         callback=callback, **{**OBJECTIVE, **RECIPES[name]})
                wall = time.perf_counter() - t0 - off[0]
                row = dict(pair=list(pair), recipe=name, precision=precision, iterations=result.iterations,
                           stop_reason=result.stop_reason, wall=wall, final=float32_objective(result.image),
                           start=float32_objective(content), curve=curve, loadavg=os.getloadavg())
                print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
                runs.append(row)
                if args.partial:  # what is done so far survives a run stopped early (a loaded machine)
                    args.partial({"size": args.size, "steps": args.steps, "every": args.every, "runs": runs,
                                  "complete": False})
    return {"size": args.size, "steps": args.steps, "every": args.every, "runs": runs, "complete": True}


# ------------------------------------------------------------------------------------------------ memory
MEMORY_RECIPES = {
    "tutorial (Adam, float32)": dict(TUTORIAL_ADAM, precision="float32"),
    "default (auto)": dict(),
    "default, float32": dict(precision="float32"),
    "lbfgs-tf, auto": dict(optimizer="lbfgs-tf"),
    "lbfgs-scipy, auto": dict(optimizer="lbfgs-scipy"),
}


def child_memory(spec: dict) -> dict:
    import psutil

    import nst_lib
    from nst_lib.memory import plan_run

    content, style = _inputs(PAIRS[0], spec["size"])
    settings = {**OBJECTIVE, **spec["options"]}
    t = time.perf_counter()
    result = nst_lib.stylize(content, style, size=spec["size"], steps=spec["steps"], **settings)
    plan = plan_run(result.config, content.shape[:2], style_shapes=[style.shape[:2]], backbone=result.backbone)
    return dict(wall=time.perf_counter() - t, iterations=result.iterations, precision=result.precision.to_dict(),
                estimate_bytes=plan.estimated_peak_bytes, end_rss=psutil.Process().memory_info().rss,
                optimizer=result.config.optimizer)


def run_memory(args) -> dict:
    rows = []
    for label, options in MEMORY_RECIPES.items():
        if args.memory_recipes and label not in args.memory_recipes:
            continue
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            path = f.name
        spec = dict(size=args.size, steps=args.steps, options=options)
        proc = subprocess.Popen([sys.executable, __file__, "child", json.dumps(spec), path])
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"error: the memory child {label!r} failed (status {status})")
        row = dict(label=label, **spec, **json.loads(Path(path).read_text()), peak_rss_bytes=usage.ru_maxrss * 1024,
                   loadavg=os.getloadavg())
        os.unlink(path)
        row["estimate_over_peak"] = row["estimate_bytes"] / row["peak_rss_bytes"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    return {"rows": rows}


# -------------------------------------------------------------------------------------------------- plot
def plot(paths: list[Path], figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    payloads = [json.loads(p.read_text()) for p in paths]
    runs = [run for payload in payloads for run in payload["runs"]]
    pairs = list(dict.fromkeys(tuple(r["pair"]) for r in runs))
    recipes = list(dict.fromkeys(r["recipe"] for r in runs))
    fig, axes = plt.subplots(len(recipes), len(pairs), figsize=(4.2 * len(pairs), 3.0 * len(recipes)), squeeze=False)
    for i, recipe in enumerate(recipes):
        for j, pair in enumerate(pairs):
            ax = axes[i][j]
            for run in runs:
                if run["recipe"] == recipe and tuple(run["pair"]) == pair:
                    xs = [0] + [c[0] for c in run["curve"]]
                    ys = [run["start"]] + [c[2] for c in run["curve"]]
                    ax.plot(xs, ys, "-" if run["precision"] == "float32" else "--", label=run["precision"])
            if not ax.lines:
                ax.set_axis_off()
                continue
            ax.set_yscale("log")
            ax.set_title(f"{recipe}: {pair[0]} + {pair[1]}", fontsize=9)
            ax.set_xlabel("iteration")
            ax.set_ylabel("objective (float32)")
            ax.legend(fontsize=8)
    m = payloads[0]["machine"]
    fig.suptitle(f"{payloads[0]['size']} px, objective of the output evaluated in float32 — {m['model']} "
                 f"({', '.join(m['bfloat16_flags']) or 'no bf16'}), {m['cpus']} cpus", fontsize=10)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=90)
    print(f"plot: {figure}")


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "child":
        Path(sys.argv[3]).write_text(json.dumps(child_memory(json.loads(sys.argv[2]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["step", "quality", "memory", "plot"])
    ap.add_argument("results", nargs="*", help="plot: quality results files (drawn in one figure)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pairs", type=int, nargs="+", default=[0, 1, 2], help="indices into PAIRS")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--memory-recipes", nargs="+", choices=list(MEMORY_RECIPES), help="memory: only these")
    ap.add_argument("--out", default=None)
    ap.add_argument("--fig", default=None, help="plot: the figure's path")
    args = ap.parse_args(argv)
    if args.command == "plot":
        paths = [Path(p) for p in args.results]
        plot(paths, Path(args.fig) if args.fig else ROOT / "docs" / "figures" / (paths[0].stem + ".png"))
        return 0
    before = machine()
    tag = "_".join(map(str, args.sizes)) if args.command == "step" else str(args.size)
    out = Path(args.out or HERE / "results" / f"precision_{args.command}_{tag}.json")

    def write(payload: dict) -> None:
        payload.update(argv=sys.argv[1:], machine=before, loadavg_after=os.getloadavg(),
                       finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        out.write_text(json.dumps(payload, indent=1))

    args.partial = write
    write({"step": run_step, "quality": run_quality, "memory": run_memory}[args.command](args))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
