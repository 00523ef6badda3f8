"""Cost of one objective evaluation (VGG forward + backward + style loss) with each style statistic.

Every statistic's value-and-gradient function is built for the same content/style pair with
``nst_lib.transfer.make_objective`` (what ``stylize`` optimises) and timed **interleaved**: round after
round, each statistic is evaluated a few times in turn, so a change in the machine's load hits them all
alike. Reported: the median seconds per evaluation and the ratio to Gram's, per size.

    .venv/bin/python benchmarks/statistics_cost.py --sizes 256 512

Writes ``benchmarks/results/statistics_cost.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _cpu() -> str:
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "statistics_cost.json")
    args = parser.parse_args()

    import tensorflow as tf

    from nst_lib import data
    from nst_lib.backbone import BackboneSubstitutionWarning
    from nst_lib.config import STYLE_LOSSES
    from nst_lib.optimize import make_value_and_grad
    from nst_lib.transfer import make_objective

    warnings.simplefilter("ignore", BackboneSubstitutionWarning)
    info = {"cpu": _cpu(), "cores": os.cpu_count(), "load_before": os.getloadavg()}
    results = {}
    backbone = "?"
    for size in args.sizes:
        content, style = data.example_pair("grace_hopper", "swirls", size=size)
        functions = {}
        image = tf.constant(content[np.newaxis])
        for name in STYLE_LOSSES:
            objective = make_objective(content, style, style_loss=name, size=size)
            backbone = objective.extractor.backbone
            functions[name] = make_value_and_grad(objective)
            functions[name](image)[1].numpy()  # trace and warm up
        times: dict[str, list[float]] = {name: [] for name in STYLE_LOSSES}
        for _ in range(args.rounds):
            for name, fn in functions.items():
                for _ in range(args.per_round):
                    started = time.perf_counter()
                    fn(image)[1].numpy()
                    times[name].append(time.perf_counter() - started)
        medians = {name: float(np.median(values)) for name, values in times.items()}
        results[size] = {name: {"seconds": medians[name], "ratio_to_gram": medians[name] / medians["gram"],
                                "all_seconds": times[name]} for name in STYLE_LOSSES}
        print(f"{size} px: " + ", ".join(f"{name} {medians[name]:.3f} s ({medians[name] / medians['gram']:.2f}×)"
                                          for name in STYLE_LOSSES), flush=True)
    payload = {"command": "benchmarks/statistics_cost.py --sizes " + " ".join(map(str, args.sizes)),
               "backbone": backbone, "pair": ["grace_hopper", "swirls"],
               "machine": {**info, "load_after": os.getloadavg()}, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
