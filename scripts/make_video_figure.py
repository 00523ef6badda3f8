"""docs/figures/video_flicker.png: frames of per-frame stylization and of ``nst video`` side by side, and the
flicker per frame, from a run of benchmarks/video.py (its JSON and the frames it keeps in outputs/).

    python benchmarks/video.py --clips pan --frames 12 --size 128 --out benchmarks/results/video_pan_128.json
    python scripts/make_video_figure.py benchmarks/results/video_pan_128.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="a JSON written by benchmarks/video.py")
    parser.add_argument("--clip", default="pan")
    parser.add_argument("--out", default=str(REPO / "docs" / "figures" / "video_flicker.png"))
    args = parser.parse_args()
    record = json.loads(Path(args.results).read_text())
    clip = record["clips"][args.clip]
    frames = np.load(REPO / "outputs" / f"video_{args.clip}_frames.npz")
    count = len(frames["clip"])
    shown = [0, count // 2, count - 1]
    rows = [("input", frames["clip"]), ("per frame", frames["per_frame"]), ("nst video", frames["ours"])]
    fig = plt.figure(figsize=(9, 8.2))
    grid = fig.add_gridspec(4, 3, height_ratios=[1, 1, 1, 1.1])
    for row, (label, images) in enumerate(rows):
        for column, index in enumerate(shown):
            ax = fig.add_subplot(grid[row, column])
            ax.imshow(np.clip(images[index], 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(label)
            if row == 0:
                ax.set_title(f"frame {index}")
    ax = fig.add_subplot(grid[3, :])
    steps = range(1, count)
    ax.plot(steps, clip["per_frame"]["flicker"], marker="o", label=f"per frame (mean {clip['per_frame']['mean_flicker']:.5f})")
    ax.plot(steps, clip["ours"]["flicker"], marker="o",
            label=f"nst video (mean {clip['ours']['mean_flicker']:.5f}, style loss {clip['ours']['style_ratio']:.2f}×)")
    ax.set_xlabel("frame")
    ax.set_ylabel("flicker (mean squared change\nafter following the motion)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    settings = record["settings"]
    fig.suptitle(f"{args.clip} clip, {settings['frames']} frames at {settings['size']} px; "
                 f"{settings['steps_first']} iterations for the first frame, {settings['steps']} for later ones",
                 fontsize=10)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
