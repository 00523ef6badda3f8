"""Fast style transfer benchmark: train the README's example model, then measure inference and quality.

    python benchmarks/fast.py train --time-budget 1800          # the long run (background it: nohup …)
    python benchmarks/fast.py measure                            # inference time and quality of that model
    python benchmarks/fast.py train --resume --time-budget 1800 --snapshot-every 100   # continue, keep copies
    python benchmarks/fast.py curve                              # held-out quality of each kept copy
    python benchmarks/fast.py inference --size 512               # inference alone: wall and CPU seconds
    python benchmarks/fast.py --quick train && python benchmarks/fast.py --quick measure   # smoke run
    python benchmarks/fast.py --tag _bf16 --precision bfloat16 train --time-budget 1800   # another model, its own files

``train`` calls :func:`nst_lib.fast.train_fast` with the default (real) settings on the bundled style
``swirls`` and writes ``outputs/fast/swirls.keras`` (not committed), a log with one line per step (wall and
process CPU seconds, losses), the machine's load average every 30 s (the machine is shared, so the load is
part of the result) and ``benchmarks/results/fast_train.json``.

``measure`` loads that model and writes ``benchmarks/results/fast_512.json`` and docs/figures/fast_transfer.png:

* inference: the median wall time of stylizing a 512 px image with the model loaded (after one warm-up);
* speed-up: a ``stylize`` call with the model's objective on the same image, from the call (start-up and
  tracing included, as a user waits for them) to the first iteration whose style loss is at most the
  model's, divided by the inference time; both measured in the same process;
* quality: on each held-out photo (never used in training) at 256 px, the style and content losses of the
  model's output and of 100 L-BFGS iterations of ``stylize`` with the same objective, and their ratios.

``curve`` scores every copy kept by ``--snapshot-every`` against the stylize references of ``measure``
(``benchmarks/results/fast_curve.json``, docs/figures/fast_curve.png).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
MODEL = ROOT / "outputs" / "fast" / "swirls.keras"
FIGURE = ROOT / "docs" / "figures" / "fast_transfer.png"
CURVE_FIGURE = ROOT / "docs" / "figures" / "fast_curve.png"
STYLE = "swirls"


def machine() -> dict:
    """CPU model, core count and the load average now."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except Exception:  # noqa: BLE001
        model = platform.processor()
    return {"cpu": model, "cores": os.cpu_count(), "loadavg": list(os.getloadavg())}


class LoadRecorder(threading.Thread):
    """Records ``os.getloadavg()`` every ``interval`` seconds (the machine is shared)."""

    def __init__(self, interval: float = 30.0, log=None):
        super().__init__(daemon=True)
        self.interval, self.samples, self.log = interval, [], log
        self.stop = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stop.is_set():
            sample = [round(time.perf_counter() - start, 1), *os.getloadavg()]
            self.samples.append(sample)
            if self.log:
                print(f"load t={sample[0]:.0f}s {sample[1]:.2f} {sample[2]:.2f} {sample[3]:.2f}", file=self.log, flush=True)
            self.stop.wait(self.interval)


def cmd_train(args) -> None:
    from nst_lib import data
    from nst_lib.fast import train_fast

    args.model.parent.mkdir(parents=True, exist_ok=True)
    suffix = args.tag + ("_quick" if args.quick else ("_resumed" if args.resume else ""))
    log_path = RESULTS / f"fast_train{suffix}.log"
    options = dict(time_budget=args.time_budget, steps=None) if not args.quick else dict(
        size=64, batch_size=2, steps=6, style_size=64)
    options["precision"] = args.precision
    with open(log_path, "a") as log:
        print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} train {STYLE} -> {args.model} {options} "
              f"resume={args.resume} machine={machine()}", file=log, flush=True)
        recorder = LoadRecorder(log=log)
        recorder.start()

        def cpu_seconds() -> float:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime

        cpu_start = cpu_seconds()

        def progress(event):
            losses = " ".join(f"{k} {v:.5g}" for k, v in event.losses.items())
            print(f"step {event.step} t={event.elapsed:.1f}s cpu={cpu_seconds() - cpu_start:.1f}s {losses}"
                  + (" [checkpoint]" if event.checkpoint else ""), file=log, flush=True)
            if event.checkpoint and args.snapshot_every and event.step % args.snapshot_every == 0:
                shutil.copyfile(event.checkpoint, args.model.with_name(f"{args.model.stem}_step{event.step:05d}.keras"))

        model = train_fast(data.style_image_path(STYLE), output=args.model, callback=progress,
                           resume=args.model if args.resume else None, **options)
        recorder.stop.set()
        loads = [s[1] for s in recorder.samples]
        summary = {"steps": model.steps, "train_seconds": model.train_seconds, "stop_reason": model.stop_reason,
                   "settings": model.settings.to_dict(), "load_1min_mean": sum(loads) / max(1, len(loads)),
                   "load_1min_max": max(loads, default=0.0), "notes": model.notes,
                   "cpu_seconds_this_run": cpu_seconds() - cpu_start}
        print("# done " + json.dumps(summary), file=log, flush=True)
        (RESULTS / f"fast_train{suffix}.json").write_text(json.dumps(
            {**summary, "machine": machine(), "load_samples": recorder.samples}, indent=1))


def cmd_inference(args) -> None:
    """Inference alone at ``--size``: wall time and process CPU time (user + system) per image, over
    ``--repeats`` runs after a warm-up. CPU time does not grow with the machine's load the way wall time
    does; on an idle machine the wall time is at least CPU time ÷ cores."""
    from nst_lib.fast import FastModel
    from nst_lib.fast_data import HELD_OUT_PHOTOS, held_out_photo

    model = FastModel.load(args.model)
    photo = held_out_photo(HELD_OUT_PHOTOS[0], args.size)
    model.stylize(photo)
    runs = []
    for _ in range(args.repeats):
        cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        model.stylize(photo)
        cpu1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall0
        runs.append({"wall": wall, "cpu": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)})
    walls, cpus = sorted(r["wall"] for r in runs), sorted(r["cpu"] for r in runs)
    payload = {"command": f"python benchmarks/fast.py inference --size {args.size} --repeats {args.repeats}",
               "size": list(photo.shape[:2]), "median_wall_seconds": walls[len(walls) // 2], "min_wall_seconds": walls[0],
               "median_cpu_seconds": cpus[len(cpus) // 2], "runs": runs, "machine": machine()}
    out = RESULTS / f"fast_inference_{args.size}.json"
    out.write_text(json.dumps(payload, indent=1))
    print(json.dumps({k: v for k, v in payload.items() if k != "runs"}, indent=1))


def cmd_curve(args) -> None:
    """Held-out quality of every kept snapshot (MODEL_stepNNNNN.keras) against the stylize references
    measured by ``measure`` (``fast_512.json``): the style and content loss ratios against training time."""
    import warnings

    from nst_lib import data
    from nst_lib.fast import FastModel, evaluate_stylization
    from nst_lib.fast_data import held_out_photo

    warnings.simplefilter("ignore")
    reference = json.loads((RESULTS / "fast_512.json").read_text())
    style = data.style_image_path(STYLE)
    rows = []
    for path in sorted(args.model.parent.glob(f"{args.model.stem}_step*.keras")):
        model = FastModel.load(path)
        row = {"steps": model.steps, "train_seconds": model.train_seconds, "photos": {}}
        for q in reference["quality"]:
            photo = held_out_photo(q["photo"], max(q["size"]))
            losses = evaluate_stylization(model.stylize(photo), photo, style,
                                          model.settings.replace(style_size=max(q["size"])))
            row["photos"][q["photo"]] = {"style_ratio": losses["style"] / q["stylize"]["style"],
                                         "content_ratio": losses["content"] / q["stylize"]["content"],
                                         "style": losses["style"], "content": losses["content"]}
        rows.append(row)
        print(row["steps"], {k: (round(v["style_ratio"], 2), round(v["content_ratio"], 2)) for k, v in row["photos"].items()})
    (RESULTS / "fast_curve.json").write_text(json.dumps({"command": "python benchmarks/fast.py curve",
                                                         "machine": machine(), "snapshots": rows}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for log_name in ("fast_train.log", "fast_train_resumed.log"):
        log_path = RESULTS / log_name
        if not log_path.exists():
            continue
        steps, totals = [], []
        for line in log_path.read_text().splitlines():
            if line.startswith("step "):
                parts = line.split()
                steps.append(int(parts[1]))
                totals.append(float(parts[parts.index("total") + 1]))
        window = 25
        if len(totals) > window:
            smooth = np.convolve(totals, np.ones(window) / window, mode="valid")
            left.plot(steps[window - 1:], smooth, label=log_name.replace(".log", ""))
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_title("training loss (random crops, mean of 25 steps)", fontsize=10)
    left.legend(fontsize=8)
    for name in rows[0]["photos"] if rows else []:
        minutes = [r["train_seconds"] / 60 for r in rows]
        right.plot(minutes, [r["photos"][name]["style_ratio"] for r in rows], "o-", label=f"{name}: style")
        right.plot(minutes, [r["photos"][name]["content_ratio"] for r in rows], "s--", label=f"{name}: content")
    right.axhline(2.0, color="k", linewidth=0.8)
    right.axvline(30.0, color="grey", linewidth=0.8, linestyle=":")
    right.set_yscale("log")
    right.set_xlabel("training minutes (shared 2-core machine)")
    right.set_title("held-out loss ÷ 100 L-BFGS iterations of stylize (goal: style ≤ 2)", fontsize=10)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(CURVE_FIGURE, dpi=80)
    print(f"wrote {RESULTS / 'fast_curve.json'} and {CURVE_FIGURE}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--model", type=Path, default=None, help=f"default: {MODEL.relative_to(ROOT)} (with --tag T: swirlsT.keras)")
    parser.add_argument("--tag", default="", help="suffix of the model's and the results' file names (e.g. _bf16)")
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"],
                        help="train: the loss network's precision; measure/inference: the model's inference precision")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("--time-budget", type=float, default=1800.0)
    train.add_argument("--resume", action="store_true", help="continue the model file (log: fast_train_resumed.*)")
    train.add_argument("--snapshot-every", type=int, default=0,
                       help="also keep a copy of the model every N steps (MODEL_stepNNNNN.keras, for the curve command)")
    sub.add_parser("curve", help="held-out quality of the kept snapshots (train --snapshot-every) against time")
    inference = sub.add_parser("inference", help="inference alone: wall and CPU time per image")
    inference.add_argument("--size", type=int, default=512)
    inference.add_argument("--repeats", type=int, default=15)
    measure = sub.add_parser("measure")
    measure.add_argument("--size", type=int, default=512, help="inference and speed-up comparison size (long side)")
    measure.add_argument("--quality-size", type=int, default=256, help="size of the quality comparison")
    measure.add_argument("--stylize-cap", type=int, default=150,
                         help="most stylize iterations when chasing the model's style loss")
    args = parser.parse_args(argv)
    if args.model is None:
        args.model = MODEL.with_name(f"{MODEL.stem}{args.tag}{'_quick' if args.quick else ''}.keras")
    {"train": cmd_train, "measure": cmd_measure, "curve": cmd_curve, "inference": cmd_inference}[args.command](args)


def _median_seconds(function, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], times


def cmd_measure(args) -> None:
    import warnings

    import numpy as np

    from nst_lib import data
    from nst_lib.fast import FastModel, evaluate_stylization
    from nst_lib.fast_data import HELD_OUT_PHOTOS, held_out_photo
    from nst_lib.transfer import stylize

    warnings.simplefilter("ignore")  # the VGG16-for-VGG19 notice is recorded in the result instead
    quick = args.quick
    recorder = LoadRecorder(interval=15.0)
    recorder.start()
    style = data.style_image_path(STYLE)
    start = time.perf_counter()
    model = FastModel.load(args.model)
    load_seconds = time.perf_counter() - start
    settings = model.settings
    config = settings.style_config()
    size = 128 if quick else args.size

    # ---- inference at `size` px (long side), model loaded, after one warm-up
    photo = held_out_photo(HELD_OUT_PHOTOS[0], size)
    first_start = time.perf_counter()
    output = model.stylize(photo, precision=args.precision)
    first_call = time.perf_counter() - first_start
    inference, inference_runs = _median_seconds(lambda: model.stylize(photo, precision=args.precision), 3 if quick else 7)
    inference_precision = model.last_precision.used
    model_losses = evaluate_stylization(output, photo, style, settings.replace(style_size=size))

    # ---- stylize with the same objective at the same size until its style loss reaches the model's
    trace = []

    def until_model_style(event):
        trace.append({"iteration": event.iteration, "elapsed": event.elapsed, **event.losses})
        return event.losses["style"] <= model_losses["style"]

    cap = 5 if quick else args.stylize_cap
    stylize_start = time.perf_counter()
    result = stylize(photo, style, config=config.replace(size=size, steps=cap), callback=until_model_style)
    stylize_seconds = time.perf_counter() - stylize_start
    reached = result.stop_reason == "callback"

    # ---- quality on the held-out photos at `quality_size` px: the model against 100 L-BFGS iterations
    quality_size = 96 if quick else args.quality_size
    steps = 3 if quick else 100
    quality = []
    panels = []
    for name in HELD_OUT_PHOTOS:
        photo_q = held_out_photo(name, quality_size)
        t0 = time.perf_counter()
        ours = model.stylize(photo_q, precision=args.precision)
        ours_seconds = time.perf_counter() - t0
        reference = stylize(photo_q, style, config=config.replace(size=quality_size, steps=steps))
        q_settings = settings.replace(style_size=quality_size)
        ours_losses = evaluate_stylization(ours, photo_q, style, q_settings)
        ref_losses = evaluate_stylization(reference.image, photo_q, style, q_settings)
        quality.append({
            "photo": name, "size": list(photo_q.shape[:2]),
            "model": {"style": ours_losses["style"], "content": ours_losses["content"], "total": ours_losses["total"],
                      "seconds": ours_seconds},
            "stylize": {"style": ref_losses["style"], "content": ref_losses["content"], "total": ref_losses["total"],
                        "seconds": reference.elapsed, "iterations": reference.iterations},
            "style_ratio": ours_losses["style"] / ref_losses["style"],
            "content_ratio": ours_losses["content"] / ref_losses["content"],
        })
        panels.append((name, photo_q, ours, reference.image, quality[-1]))
    recorder.stop.set()
    loads = [s[1] for s in recorder.samples]
    payload = {
        "command": "python benchmarks/fast.py " + " ".join(sys.argv[1:]),
        "model": {"path": str(args.model), "steps": model.steps, "train_seconds": model.train_seconds,
                  "settings": settings.to_dict(), "backbone": model.metadata.get("backbone"),
                  "held_out_photos": model.metadata.get("held_out_photos")},
        "load_seconds": load_seconds,
        "inference": {"size": list(photo.shape[:2]), "median_seconds": inference, "runs": inference_runs,
                      "first_call_seconds": first_call, "model_losses": model_losses,
                      "precision": inference_precision},
        "stylize_to_model_style": {
            "reached": reached, "iterations": result.iterations, "seconds": stylize_seconds,
            "style": trace[-1]["style"] if trace else None, "content": trace[-1]["content"] if trace else None,
            "cap": cap, "trace": trace,
        },
        "speedup": stylize_seconds / inference,
        "quality": quality,
        "quality_goal_met": all(q["style_ratio"] <= 2.0 for q in quality),
        "machine": machine(),
        "load_1min_mean": sum(loads) / max(1, len(loads)),
        "load_1min_max": max(loads, default=0.0),
    }
    out = RESULTS / f"fast_{'quick' if quick else size}{args.tag}.json"
    out.write_text(json.dumps(payload, indent=1))
    print(json.dumps({k: payload[k] for k in ("load_seconds", "speedup", "quality_goal_met")}
                     | {"inference_s": inference, "stylize_s": stylize_seconds, "reached": reached,
                        "style_ratios": [q["style_ratio"] for q in quality],
                        "content_ratios": [q["content_ratio"] for q in quality]}, indent=1))
    print(f"wrote {out}")
    if not quick:
        write_figure(panels, payload, FIGURE.with_name(f"{FIGURE.stem}{args.tag}.png"))


def write_figure(panels, payload, path: Path) -> None:
    """Held-out photos: the photo, the network's output, 100 L-BFGS iterations of stylize (with losses)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 3, figsize=(11, 3.8 * len(panels)), squeeze=False)
    for row, (name, photo, ours, reference, q) in zip(axes, panels):
        row[0].imshow(photo)
        row[0].set_title(f"{name} (held out)")
        row[1].imshow(ours)
        row[1].set_title(f"network: {q['model']['seconds']:.2f} s\nstyle {q['model']['style']:.3g}, "
                         f"content {q['model']['content']:.3g}", fontsize=9)
        row[2].imshow(reference)
        row[2].set_title(f"stylize, {q['stylize']['iterations']} L-BFGS its: {q['stylize']['seconds']:.0f} s\n"
                         f"style {q['stylize']['style']:.3g}, content {q['stylize']['content']:.3g}", fontsize=9)
        for ax in row:
            ax.axis("off")
    model = payload["model"]
    fig.suptitle(f"Fast style transfer: a network trained {model['steps']} steps ({model['train_seconds'] / 60:.0f} min, "
                 f"{payload['machine']['cores']} shared cores) vs optimisation, same objective", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
