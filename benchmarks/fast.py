"""Fast style transfer benchmark: train the README's example model, then measure inference and quality.

    python benchmarks/fast.py train --time-budget 1800          # the long run (background it: nohup …)
    python benchmarks/fast.py measure                            # inference time and quality of that model
    python benchmarks/fast.py --quick train && python benchmarks/fast.py --quick measure   # smoke run

``train`` calls :func:`nst_lib.fast.train_fast` with the default (real) settings on the bundled style
``swirls`` and writes ``outputs/fast/swirls.keras`` (not committed), a log with one line per step, and the
machine's load average every 30 s (the machine is shared, so the load is part of the result).

``measure`` loads that model and writes ``benchmarks/results/fast_<size>.json``:

* inference: the median wall time of stylizing a 512 px image with the model loaded (after one warm-up),
  and of a ``stylize`` run with the model's objective at the same size, measured in the same process; the
  speed-up is their ratio;
* quality: on each held-out photo (never used in training) at 256 px, the style and content losses of the
  model's output and of 100 L-BFGS iterations of ``stylize`` with the same objective, and their ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
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
    log_path = RESULTS / f"fast_train{'_quick' if args.quick else ''}.log"
    options = dict(time_budget=args.time_budget, steps=None) if not args.quick else dict(
        size=64, batch_size=2, steps=6, style_size=64)
    with open(log_path, "a") as log:
        print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} train {STYLE} -> {args.model} {options} "
              f"resume={args.resume} machine={machine()}", file=log, flush=True)
        recorder = LoadRecorder(log=log)
        recorder.start()

        def progress(event):
            losses = " ".join(f"{k} {v:.5g}" for k, v in event.losses.items())
            print(f"step {event.step} t={event.elapsed:.1f}s {losses}" + (" [checkpoint]" if event.checkpoint else ""),
                  file=log, flush=True)

        model = train_fast(data.style_image_path(STYLE), output=args.model, callback=progress,
                           resume=args.model if args.resume else None, **options)
        recorder.stop.set()
        loads = [s[1] for s in recorder.samples]
        summary = {"steps": model.steps, "train_seconds": model.train_seconds, "stop_reason": model.stop_reason,
                   "settings": model.settings.to_dict(), "load_1min_mean": sum(loads) / max(1, len(loads)),
                   "load_1min_max": max(loads, default=0.0), "notes": model.notes}
        print("# done " + json.dumps(summary), file=log, flush=True)
        (RESULTS / f"fast_train{'_quick' if args.quick else ''}.json").write_text(json.dumps(
            {**summary, "machine": machine(), "load_samples": recorder.samples}, indent=1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--model", type=Path, default=MODEL)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("--time-budget", type=float, default=1800.0)
    train.add_argument("--resume", action="store_true")
    sub.add_parser("measure")
    args = parser.parse_args(argv)
    if args.quick and args.model == MODEL:
        args.model = ROOT / "outputs" / "fast" / "swirls_quick.keras"
    {"train": cmd_train, "measure": cmd_measure}[args.command](args)


def cmd_measure(args) -> None:
    raise SystemExit("measure: not written yet")


if __name__ == "__main__":
    main()
