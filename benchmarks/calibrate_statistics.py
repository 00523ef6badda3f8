"""Choose each style statistic's default ``style_weight`` (nst_lib.statistics.STATISTICS) and check that it
does not depend on the image size.

Rule: at its default weight, a statistic's style term has the same share of the *initial* objective (the
library's default start, the content recoloured with the style's colours) as the Gram style term has at
``style_weight = 1e-2`` (the TensorFlow tutorial's weight, ours for Gram). With the same content term,
that means

    w_X = 1e-2 · S_gram / S_X      (S = the style loss at the start, layers weighted 1/5 each)

for every content/style pair. The default is the geometric mean over the pairs at the reference size,
rounded to one significant figure; the spread over pairs and the ratio between sizes are reported.
The sliced distance is averaged over four seeds (its directions are random).

    .venv/bin/python benchmarks/calibrate_statistics.py            # 3 contents × 6 styles at 128 and 256 px
    .venv/bin/python benchmarks/calibrate_statistics.py --sizes 128 256 512

Writes ``benchmarks/results/calibrate_statistics.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CONTENTS = ("grace_hopper", "astronaut", "chelsea")
GRAM_WEIGHT = 1e-2
CONTENT_WEIGHT = 1e4
SEEDS = 4


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_before": os.getloadavg()}


def round_one_figure(value: float) -> float:
    exponent = math.floor(math.log10(value))
    return float(f"{round(value / 10**exponent)}e{exponent}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--reference-size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=RESULTS / "calibrate_statistics.json")
    parser.add_argument("--summarise", type=Path, help="only recompute the summary of an earlier result file")
    args = parser.parse_args()
    if args.summarise:
        write(json.loads(args.summarise.read_text()), args.out)
        return

    import tensorflow as tf

    from nst_lib import color, data
    from nst_lib.backbone import FeatureExtractor
    from nst_lib.config import GATYS_STYLE_LAYERS
    from nst_lib.images import resize_long_side
    from nst_lib.statistics import STATISTICS

    info = machine()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the VGG16-for-VGG19 notice: the backbone is recorded below
        extractor = FeatureExtractor(("block5_conv2",) + GATYS_STYLE_LAYERS)
    layer_weight = 1.0 / len(GATYS_STYLE_LAYERS)
    rows = []
    for size in args.sizes:
        for content_name in CONTENTS:
            content = data.content_image(content_name, size=size)
            content_feats = extractor(content[np.newaxis])
            for style_name in data.list_style_images():
                style = resize_long_side(data.style_image(style_name), max(content.shape[:2]))
                start = color.match_color_histogram(content, style)  # stylize()'s default init
                start_feats = extractor(start[np.newaxis])
                style_feats = extractor(style[np.newaxis])
                content_loss = float(tf.reduce_mean(tf.square(start_feats["block5_conv2"] - content_feats["block5_conv2"])))
                losses = {}
                for name, stat in STATISTICS.items():
                    seeds = range(SEEDS) if stat.random else [0]
                    values = []
                    for seed in seeds:
                        total = 0.0
                        for index, layer in enumerate(GATYS_STYLE_LAYERS):
                            target = stat.target(style_feats[layer])
                            layer_seed = tf.constant([seed, index], tf.int64)
                            total += layer_weight * float(stat.distance(start_feats[layer], target, None, layer_seed))
                        values.append(total)
                    losses[name] = float(np.mean(values))
                gram_share = GRAM_WEIGHT * losses["gram"] / (CONTENT_WEIGHT * content_loss + GRAM_WEIGHT * losses["gram"])
                rows.append({
                    "size": size, "content": content_name, "style": style_name, "shape": list(content.shape[:2]),
                    "content_loss": content_loss, "style_loss": losses, "gram_share": gram_share,
                    "matched_weight": {name: GRAM_WEIGHT * losses["gram"] / value for name, value in losses.items()},
                })
                print(size, content_name, style_name, {k: f"{v:.3g}" for k, v in rows[-1]["matched_weight"].items()},
                      f"gram share {gram_share:.3f}", flush=True)

    payload = {
        "command": "benchmarks/calibrate_statistics.py --sizes " + " ".join(map(str, args.sizes)),
        "rule": "w_X = 1e-2 * S_gram / S_X at the default start (recoloured content); default = geometric mean "
                f"over pairs at {args.reference_size} px, one significant figure",
        "backbone": extractor.backbone,
        "machine": {**info, "load_after": os.getloadavg()},
        "seconds": time.perf_counter() - started,
        "reference_size": args.reference_size,
        "rows": rows,
    }
    write(payload, args.out)


def _spread(values) -> dict:
    values = np.asarray(values, np.float64)
    return {"geometric_mean": float(np.exp(np.mean(np.log(values)))), "min": float(values.min()), "max": float(values.max())}


def summarise(rows: list[dict], reference_size: int) -> dict:
    """Per statistic: the default weight, the matched weights per size, and how the matched weight and the
    statistic's own initial loss change between sizes (same content/style pair)."""
    sizes = sorted({r["size"] for r in rows})
    by_pair = {(r["size"], r["content"], r["style"]): r for r in rows}
    summary = {}
    for name in rows[0]["style_loss"]:
        per_size = {size: _spread([r["matched_weight"][name] for r in rows if r["size"] == size]) for size in sizes}
        weight_ratio, loss_ratio = {}, {}
        for size in sizes:
            if size == reference_size:
                continue
            pairs = [(r, by_pair[(reference_size, r["content"], r["style"])]) for r in rows
                     if r["size"] == size and (reference_size, r["content"], r["style"]) in by_pair]
            key = f"{size}/{reference_size}"
            weight_ratio[key] = _spread([a["matched_weight"][name] / b["matched_weight"][name] for a, b in pairs])
            loss_ratio[key] = _spread([a["style_loss"][name] / b["style_loss"][name] for a, b in pairs])
        summary[name] = {"default_style_weight": round_one_figure(per_size[reference_size]["geometric_mean"]),
                         "per_size": per_size, "weight_ratio_between_sizes": weight_ratio,
                         "own_loss_ratio_between_sizes": loss_ratio}
    return summary


def write(payload: dict, out: Path) -> None:
    rows, reference = payload["rows"], payload["reference_size"]
    payload["summary"] = summarise(rows, reference)
    shares = np.array([r["gram_share"] for r in rows if r["size"] == reference])
    payload["gram_share_at_reference_size"] = {"median": float(np.median(shares)), "min": float(shares.min()),
                                               "max": float(shares.max())}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1))
    def fmt(spread):
        return f"{spread['geometric_mean']:.3g} [{spread['min']:.3g}, {spread['max']:.3g}]"
    for name, entry in payload["summary"].items():
        print(f"{name:>20}: default {entry['default_style_weight']:g}; "
              + "; ".join(f"{s} px {fmt(v)}" for s, v in entry["per_size"].items())
              + "; matched-weight ratio " + ", ".join(f"{k} {fmt(v)}" for k, v in entry["weight_ratio_between_sizes"].items())
              + "; own loss ratio " + ", ".join(f"{k} {fmt(v)}" for k, v in entry["own_loss_ratio_between_sizes"].items()))
    print(f"wrote {out}")



if __name__ == "__main__":
    main()
