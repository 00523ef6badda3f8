"""Peak memory of style transfer runs: the calibration of ``nst_lib.memory`` and the check of its estimate.

    python benchmarks/memory.py calibrate                      # 256/512/768/1024 px, L-BFGS-B and Adam
    python benchmarks/memory.py check --sizes 256 512 1024 2048 --max-memory 4G   # estimate vs measured
    python benchmarks/memory.py compare --sizes 512            # the TensorFlow tutorial's recipe and ours, one run
    python benchmarks/memory.py check --sizes 1024 1536 --optimizers lbfgs-tf --steps 5 --precisions float32 bfloat16
                                                               # the estimate against the peak in each precision

Every run happens in its own subprocess and its peak resident set size is the kernel's ``ru_maxrss`` for
that child (what ``/usr/bin/time -v`` reports as "Maximum resident set size"). Each child also records its
resident size after TensorFlow, the network and the targets are loaded (the "base"), so the fit in
``nst_lib.memory`` can separate the fixed cost from the per-pixel cost. L-BFGS-B runs do enough iterations
to fill their history (SciPy fills it one pair per iteration), so the peak is the run's real peak.

The problem is the speed benchmark's: content ``grace_hopper``, style ``swirls``, the TensorFlow tutorial's
layers (offline weights: ImageNet VGG16). Results are appended to a JSON file with the machine's load.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GIB = 2**30


# --------------------------------------------------------------------------------------------- children
def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def child_stylize(spec: dict) -> dict:
    """One ``nst_lib.stylize`` run; returns the base RSS (at the first iteration) and the run's facts."""
    import numpy as np

    import nst_lib
    from nst_lib import data

    content = data.content_image("grace_hopper")
    style = data.style_image("swirls")
    seen: dict = {}

    def callback(event):
        if "first_rss" not in seen:
            seen["first_rss"] = _rss()
            seen["shape"] = list(event.shape)
        seen["last_iteration"] = event.iteration

    options = dict(spec.get("options", {}))
    t0 = time.perf_counter()
    result = nst_lib.stylize(content, style, size=spec["size"], steps=spec["steps"], callback=callback, **options)
    out = dict(spec, wall=time.perf_counter() - t0, iterations=result.iterations, shape=list(result.image.shape[:2]),
               first_rss=seen.get("first_rss"), end_rss=_rss(), backbone=result.backbone,
               stop_reason=result.stop_reason, precision_used=result.precision.used)
    notes = getattr(result, "notes", None)
    if notes:
        out["notes"] = list(notes)
    plan = getattr(result, "plan", None)
    if plan is not None:
        out["plan"] = {k: v for k, v in plan.to_dict().items()} if hasattr(plan, "to_dict") else str(plan)
    if spec.get("image_out"):
        result.save(spec["image_out"])
    del np
    return out


def child_tutorial(spec: dict) -> dict:
    """The TensorFlow tutorial's recipe (Adam on a variable, content start) on the same objective."""
    import numpy as np
    import tensorflow as tf

    from nst_lib import data
    from nst_lib.backbone import FeatureExtractor
    from nst_lib.gram import gram_matrix

    content = data.content_image("grace_hopper", size=spec["size"])
    style = data.style_image("swirls", size=spec["size"])
    content_layers = ["block5_conv2"]
    style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extractor = FeatureExtractor(style_layers + content_layers, "vgg16", "imagenet")
    style_feats = extractor(style[np.newaxis])
    style_targets = {k: gram_matrix(style_feats[k]) for k in style_layers}
    content_targets = {k: v for k, v in extractor(content[np.newaxis]).items() if k in content_layers}
    image = tf.Variable(content[np.newaxis])
    opt = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            feats = extractor(image)
            style_loss = tf.add_n([tf.reduce_mean((gram_matrix(feats[k]) - style_targets[k]) ** 2) for k in style_layers])
            content_loss = tf.add_n([tf.reduce_mean((feats[k] - content_targets[k]) ** 2) for k in content_layers])
            loss = 1e-2 * style_loss / len(style_layers) + 1e4 * content_loss / len(content_layers)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    t0 = time.perf_counter()
    first = None
    for step in range(spec["steps"]):
        train_step()
        if first is None:
            first = _rss()
    return dict(spec, wall=time.perf_counter() - t0, shape=list(content.shape[:2]), first_rss=first, end_rss=_rss())


def child_forward(spec: dict) -> dict:
    """One forward pass (no gradient) at ``size``: what computing a style image's targets costs."""
    import numpy as np

    from nst_lib import data
    from nst_lib.backbone import FeatureExtractor

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extractor = FeatureExtractor(["block5_conv2", "block1_conv1", "block2_conv1", "block3_conv1",
                                      "block4_conv1", "block5_conv1"], "vgg16", "imagenet")
    image = data.content_image("grace_hopper", size=spec["size"])
    extractor(np.zeros((1, 64, 64, 3), np.float32))
    base = _rss()
    t0 = time.perf_counter()
    extractor(image[np.newaxis])
    return dict(spec, wall=time.perf_counter() - t0, shape=list(image.shape[:2]), first_rss=base, end_rss=_rss())


CHILDREN = {"stylize": child_stylize, "tutorial": child_tutorial, "forward": child_forward}


def run_child(spec: dict) -> dict:
    """Run ``spec`` in a subprocess; add its peak RSS (ru_maxrss from wait4, bytes) and wall time."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, __file__, "--child", json.dumps(spec), "--child-out", path]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        return dict(spec, failed=f"status {status}")
    out = json.loads(Path(path).read_text())
    os.unlink(path)
    out.update(peak_rss=usage.ru_maxrss * 1024, process_wall=time.perf_counter() - t0,
               cpu_seconds=usage.ru_utime + usage.ru_stime, load_before=load_before,
               load_after=os.getloadavg()[0])
    return out


def _lbfgs_steps(size: int) -> int:
    """Iterations that fill the (capped) L-BFGS history at ``size``, plus a few."""
    from nst_lib.optimize import lbfgs_corrections_for

    height = size
    width = round(size * 0.855)  # grace_hopper's aspect ratio (long side vertical)
    return lbfgs_corrections_for(50, height * width * 3) + 3


def _options(optimizer: str, precision: str | None) -> dict:
    """stylize's options for one run: the optimiser, and the precision when one is asked for."""
    return dict(optimizer=optimizer, **({"precision": precision} if precision else {}))


def _with_estimate(run: dict) -> dict:
    try:
        from nst_lib.config import StyleConfig
        from nst_lib.memory import plan_run
    except ImportError:  # before nst_lib.memory existed
        return run
    if run.get("kind") != "stylize" or "failed" in run:
        return run
    options = {k: v for k, v in run.get("options", {}).items() if k != "max_memory"}
    cfg = StyleConfig(size=run["size"], steps=run["steps"], **options)
    plan = plan_run(cfg, tuple(run["shape"]), max_memory=run.get("options", {}).get("max_memory", "1000G"),
                    backbone=run.get("backbone"))  # the network the run used (default: the one this machine would)
    run["estimate"] = plan.estimated_peak_bytes
    run["plan_mode"] = plan.mode
    run["estimate_error"] = plan.estimated_peak_bytes / run["peak_rss"] - 1
    return run


def _report(run: dict) -> None:
    if "failed" in run:
        print(f"  {run['kind']} {run['size']} px: FAILED ({run['failed']})", flush=True)
        return
    extra = ""
    if "estimate" in run:
        extra = f", estimate {run['estimate'] / GIB:.2f} GB ({run['estimate_error']:+.0%}, {run['plan_mode']})"
    first = run.get("first_rss")
    options = run.get("options", {})
    label = " ".join(filter(None, [options.get("optimizer"), run.get("precision_used") or options.get("precision")]))
    print(f"  {run['kind']} {run['size']} px {label}: peak "
          f"{run['peak_rss'] / GIB:.2f} GB (first iteration {first / GIB if first else float('nan'):.2f} GB), "
          f"{run['process_wall']:.0f} s, load {run['load_before']:.1f}{extra}", flush=True)


def machine() -> dict:
    """The processor model, the number of CPUs and Python's version (benchmark results say where they ran)."""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, cpus=os.cpu_count(), python=platform.python_version())


def _save(runs: list[dict], out: Path, argv) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(argv=argv, machine=machine(), date=time.strftime("%Y-%m-%d %H:%M"), runs=runs)
    out.write_text(json.dumps(payload, indent=1))
    print(f"wrote {out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", choices=["calibrate", "check", "compare", "tutorial", "forward"])
    ap.add_argument("--sizes", type=int, nargs="+", default=None)
    ap.add_argument("--optimizers", nargs="+", default=["lbfgs", "adam"])
    ap.add_argument("--steps", type=int, default=None, help="iterations (default: enough to fill L-BFGS's history)")
    ap.add_argument("--precisions", nargs="+", default=[None], choices=["float32", "bfloat16", "auto"],
                    help="calibrate/check: run each size and optimiser in each of these precisions (default: "
                         "StyleConfig's default)")
    ap.add_argument("--max-memory", default=None, help="check: the budget given to stylize (tiles above it)")
    ap.add_argument("--image-out", default=None, help="check: save each image as this prefix + size + .png")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        spec = json.loads(args.child)
        Path(args.child_out).write_text(json.dumps(CHILDREN[spec["kind"]](spec)))
        return 0

    runs = []
    if args.command == "calibrate":
        sizes = args.sizes or [256, 512, 768, 1024]
        for size in sizes:
            for optimizer, precision in itertools.product(args.optimizers, args.precisions):
                steps = args.steps or (_lbfgs_steps(size) if optimizer.startswith("lbfgs") else 3)
                spec = dict(kind="stylize", size=size, steps=steps, options=_options(optimizer, precision))
                runs.append(_with_estimate(run_child(spec)))
                _report(runs[-1])
        for size in sizes:
            runs.append(run_child(dict(kind="forward", size=size)))
            _report(runs[-1])
    elif args.command == "check":
        for size in args.sizes or [256, 512, 1024, 2048]:
            for optimizer, precision in itertools.product(args.optimizers, args.precisions):
                steps = args.steps or (_lbfgs_steps(size) if optimizer.startswith("lbfgs") else 3)
                options = _options(optimizer, precision)
                if args.max_memory:
                    options["max_memory"] = args.max_memory
                spec = dict(kind="stylize", size=size, steps=steps, options=options)
                if args.image_out:
                    spec["image_out"] = f"{args.image_out}{size}_{optimizer}{'_' + precision if precision else ''}.png"
                runs.append(_with_estimate(run_child(spec)))
                _report(runs[-1])
    elif args.command == "compare":  # the tutorial's recipe and ours, in one run (the 512 px memory goal)
        for size in args.sizes or [512]:
            runs.append(run_child(dict(kind="tutorial", size=size, steps=args.steps or 5)))
            _report(runs[-1])
            for optimizer in args.optimizers:
                steps = _lbfgs_steps(size) if optimizer == "lbfgs" else (args.steps or 5)
                spec = dict(kind="stylize", size=size, steps=steps, options=dict(optimizer=optimizer))
                runs.append(_with_estimate(run_child(spec)))
                _report(runs[-1])
    elif args.command == "tutorial":
        for size in args.sizes or [512]:
            runs.append(run_child(dict(kind="tutorial", size=size, steps=args.steps or 5)))
            _report(runs[-1])
    elif args.command == "forward":
        for size in args.sizes or [256, 512, 1024]:
            runs.append(run_child(dict(kind="forward", size=size)))
            _report(runs[-1])
    else:
        ap.error("give a command: calibrate, check, compare, tutorial or forward")
    name = "calibration" if args.command == "calibrate" else args.command
    out = Path(args.out) if args.out else HERE / "results" / f"memory_{name}.json"
    _save(runs, out, sys.argv[1:] if argv is None else list(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
