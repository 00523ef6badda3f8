"""README figures made from the bundled images.

    python scripts/demo_figure.py demo outputs/demo.jpg docs/figures/demo.jpg
        content | style | result of `make demo` (grace_hopper in the style of swirls)
    python scripts/demo_figure.py styles docs/figures/styles.jpg
        the generated style images side by side, with their names
    python scripts/demo_figure.py features docs/figures/feature_maps.png
        the 16 most active feature maps of grace_hopper at block3_conv1 (as in notebook 02)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from nst_lib import data
from nst_lib.images import load_image, resize_to, save_image


def _square(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return resize_to(image[top : top + s, left : left + s], side, side)


def demo(result_path: str, out_path: str, content: str = "grace_hopper", style: str = "swirls") -> None:
    result = load_image(result_path)
    h, w = result.shape[:2]
    gap = np.ones((h, 8, 3), np.float32)
    row = [resize_to(data.content_image(content), h, w), gap, _square(data.style_image(style), h), gap, result]
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    save_image(np.concatenate(row, axis=1), out_path)
    print(f"wrote {out_path}")


def styles(out_path: str, side: int = 200) -> None:
    from nst_lib.course.viz import show_images

    names = data.list_style_images()
    fig = show_images([_square(data.style_image(n), side) for n in names], names, ncols=len(names), size=2.2)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=90)
    print(f"wrote {out_path}")


def features(out_path: str, layer: str = "block3_conv1", size: int = 256) -> None:
    from nst_lib.backbone import FeatureExtractor
    from nst_lib.course.viz import feature_map_grid

    extractor = FeatureExtractor([layer])
    maps = extractor(data.content_image("grace_hopper", size)[np.newaxis])[layer]
    title = f"grace_hopper: the 16 most active maps of {layer} ({extractor.backbone.upper()})"
    fig = feature_map_grid(maps, "most_active", 16, title=title)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=80)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"demo": demo, "styles": styles, "features": features}[command](*args)
