"""The README's style-statistics figure: textures synthesised from noise and transfers with each statistic.

Rows: three bundled styles as textures (no content term, noise start), then one photo transferred in the
first style; columns: the style image, then ``gram``, ``mean_std``, ``wasserstein``, ``sliced_wasserstein``
at their default weights (notebook 09 has every style, the fair comparison and the costs).

    .venv/bin/python scripts/make_statistics_figure.py                 # 128 px textures, 80 iterations
    .venv/bin/python scripts/make_statistics_figure.py --size 96 --steps 20   # a quick look

Writes ``docs/figures/style_statistics.png``.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="long side of the textures and the transfer")
    parser.add_argument("--steps", type=int, default=80, help="L-BFGS iterations per picture")
    parser.add_argument("--styles", nargs="+", default=["stained_glass", "swirls", "pointillism"])
    parser.add_argument("--content", default="grace_hopper")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures" / "style_statistics.png")
    args = parser.parse_args()

    import nst_lib as nst
    from nst_lib import data
    from nst_lib.backbone import BackboneSubstitutionWarning
    from nst_lib.config import STYLE_LOSSES
    from nst_lib.course import viz

    warnings.simplefilter("ignore", BackboneSubstitutionWarning)  # the figure's caption names the network
    started = time.perf_counter()
    rows, labels = [], []
    backbone = "?"
    for style_name in args.styles:
        style = data.style_image(style_name, size=args.size)
        row = [style]
        for name in STYLE_LOSSES:
            result = nst.stylize(style, style, style_loss=name, content_weight=0.0, content_layers=(), init="noise",
                                 size=args.size, steps=args.steps, seed=0)
            row.append(result.image)
            backbone = result.backbone
            print(f"texture {style_name:>14} {name:>20}: {result.iterations} iterations, {result.elapsed:.0f} s", flush=True)
        rows.append(row)
        labels.append(f"{style_name}\n(texture)")
    content, style = data.example_pair(args.content, args.styles[0], size=args.size)
    row = [style]
    for name in STYLE_LOSSES:
        result = nst.stylize(content, style, style_loss=name, size=args.size, steps=args.steps, seed=0)
        row.append(result.image)
        print(f"transfer {args.content} + {args.styles[0]} {name:>20}: {result.elapsed:.0f} s", flush=True)
    rows.append(row)
    labels.append(f"{args.content}\n(transfer)")

    fig = viz.image_table(rows, row_labels=labels, col_labels=["style", *STYLE_LOSSES], size=2.2)
    fig.suptitle(f"Style statistics at their default weights: {args.size} px, {args.steps} L-BFGS iterations, "
                 f"{backbone.upper()}", fontsize=10)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
