"""The README's poster figure: the 4096 px result scaled down, and a crop at 100 % with the tile borders.

    nst stylize example:grace_hopper example:swirls -o poster.png --size 4096 --max-memory 8G --history poster.json
    python scripts/make_poster_figure.py poster.png --history poster.json

Writes ``docs/figures/poster_overview.jpg`` (the whole poster, 1024 px, the crop outlined) and
``docs/figures/poster_crop.png`` (a region at 100 %, one image pixel per screen pixel, beside the same region
with the borders of the last tiled pass drawn on it, so one can look for seams where they would be).

The grids come from the history file (``Result.save_history`` records them); for a history written before
it did, they are redrawn from the run's seed and plan the way ``nst_lib.tiling.refine`` draws them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def grids_from_history(history: dict, shape: tuple[int, int]) -> list[dict]:
    """The tiled passes' grids: recorded ones, or redrawn from the seed and the plan."""
    if history.get("tiling"):
        return history["tiling"]
    from nst_lib.config import StyleConfig
    from nst_lib.memory import plan_run
    from nst_lib.tiling import random_offset

    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in history["config"].items()
                if k in StyleConfig.__dataclass_fields__}
    config = StyleConfig(**settings)
    plan = plan_run(config, shape, config.max_memory)
    rng = np.random.default_rng(config.seed)  # stylize's rng: the recoloured start draws nothing from it
    grids = []
    for rung in plan.rungs:
        if rung.mode == "tiled":
            offsets = [random_offset(rng, rung.tile, rung.overlap) for _ in range(rung.passes)]
            grids.append({"shape": list(rung.shape), "tile": rung.tile, "overlap": rung.overlap, "offsets": offsets})
    return grids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("poster", help="the poster image")
    ap.add_argument("--history", help="the run's --history JSON (for the tile grids)")
    ap.add_argument("--crop", type=int, nargs=4, metavar=("TOP", "LEFT", "HEIGHT", "WIDTH"), default=None,
                    help="the region shown at 100 %% (default: 640×640 px around the face)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "figures"))
    args = ap.parse_args(argv)

    poster = np.asarray(Image.open(args.poster).convert("RGB"))
    height, width = poster.shape[:2]
    top, left, crop_h, crop_w = args.crop or (int(0.30 * height), int(0.30 * width), 640, 640)
    crop = poster[top:top + crop_h, left:left + crop_w]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    borders = Image.fromarray(crop.copy())
    draw = ImageDraw.Draw(borders)
    label = "tile borders: unknown (no --history)"
    if args.history:
        from nst_lib.tiling import tile_boxes

        history = json.loads(Path(args.history).read_text())
        grids = [g for g in grids_from_history(history, (height, width)) if tuple(g["shape"]) == (height, width)]
        if grids:
            grid = grids[-1]
            boxes = tile_boxes((height, width), grid["tile"], grid["overlap"], grid["offsets"][-1])
            for box in boxes:  # each tile's edges inside the image (not its border), clipped to the crop
                y0, y1 = max(box.top - top, 0), min(box.top + box.height - top, crop_h)
                x0, x1 = max(box.left - left, 0), min(box.left + box.width - left, crop_w)
                if y0 >= y1 or x0 >= x1:
                    continue
                for edge in (box.top, box.top + box.height):
                    if top < edge < top + crop_h and 0 < edge < height:
                        draw.line([(x0, edge - top), (x1, edge - top)], fill=(255, 255, 255), width=1)
                for edge in (box.left, box.left + box.width):
                    if left < edge < left + crop_w and 0 < edge < width:
                        draw.line([(edge - left, y0), (edge - left, y1)], fill=(255, 255, 255), width=1)
            label = f"the last pass's tile borders ({grid['tile']} px tiles, {grid['overlap']} px overlap)"

    gap = 16
    figure = Image.new("RGB", (2 * crop_w + gap, crop_h + 28), (255, 255, 255))
    figure.paste(Image.fromarray(crop), (0, 28))
    figure.paste(borders, (crop_w + gap, 28))
    caption = ImageDraw.Draw(figure)
    caption.text((4, 6), f"100 % crop of the {width} x {height} px poster at ({left}, {top})", fill=(0, 0, 0))
    caption.text((crop_w + gap + 4, 6), label, fill=(0, 0, 0))
    figure.save(out / "poster_crop.png", optimize=True)

    scale = 1024 / max(height, width)
    overview = Image.fromarray(poster).resize((round(width * scale), round(height * scale)), Image.LANCZOS)
    ImageDraw.Draw(overview).rectangle(
        [left * scale, top * scale, (left + crop_w) * scale, (top + crop_h) * scale], outline=(255, 255, 255), width=2)
    overview.save(out / "poster_overview.jpg", quality=90)
    print(f"wrote {out / 'poster_crop.png'} and {out / 'poster_overview.jpg'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
