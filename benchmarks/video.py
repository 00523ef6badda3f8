"""Video without flicker, measured (docs/video.md): per-frame stylization against ``nst video`` on synthetic
clips with known motion, by optimisation and with a fast network.

For each clip (``nst_lib.clips``: pan, zoom, rotate, a moving object), at ``--size`` px:

* **per frame** — ``stylize`` on every frame on its own (``--steps-first`` iterations each);
* **ours** — ``nst video FRAMES_DIR STYLE -o OUT_DIR`` (the command itself, in-process): the first frame with
  ``--steps-first`` iterations, later ones from the warped previous result with the temporal loss and
  ``--steps`` iterations;

and reports per frame: the flicker (``nst_lib.flow.flicker``: mean squared difference between a stylized
frame and the previous one warped onto it along the input's flow, over reliable pixels), the style and
content losses (the unweighted parts of ``stylize``'s objective for that frame), and seconds per frame.
Both outputs are compared as the 8-bit PNGs a user gets.

``--model`` trains a small fast network briefly with ``nst train`` in a temporary folder (never kept) and
compares its per-frame outputs with ``nst video --model`` (the blend). ``--speed-size`` times seconds per
frame at that size for optimisation (a later frame) and for the network.

    python benchmarks/video.py --size 128 --frames 12 --out benchmarks/results/video_128.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from nst_lib.startup import import_tensorflow_quietly

import_tensorflow_quietly()

import nst_lib as nst  # noqa: E402
from nst_lib import data  # noqa: E402
from nst_lib.cli import main as nst_main  # noqa: E402
from nst_lib.clips import CLIP_KINDS, synthetic_clip  # noqa: E402
from nst_lib.flow import flicker, frame_motion  # noqa: E402
from nst_lib.frames import open_frames, write_frame  # noqa: E402
from nst_lib.images import to_uint8  # noqa: E402
from nst_lib.transfer import make_objective  # noqa: E402
from nst_lib.video import VideoSettings, blend_frames, load_model, network_outputs, stylize_frames  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STYLE = "swirls"


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    flags = Path("/proc/cpuinfo").read_text()
    return {"cpu": model, "cores": os.cpu_count(), "avx512_bf16": "avx512_bf16" in flags,
            "load_average_at_start": list(os.getloadavg()), "python": platform.python_version()}


def as_png(image: np.ndarray) -> np.ndarray:
    """What a user gets from an 8-bit PNG."""
    return to_uint8(image).astype(np.float32) / 255.0


def measure(clip, frames, motions, style, config) -> dict:
    flick = [flicker(p, c, m) for p, c, m in zip(frames, frames[1:], motions)]
    losses = [make_objective(f, style, config=config).parts(x[np.newaxis]) for f, x in zip(clip, frames)]
    return {"flicker": flick, "mean_flicker": float(np.mean(flick)),
            "style": [float(p["style"]) for p in losses], "content": [float(p["content"]) for p in losses],
            "mean_style": float(np.mean([float(p["style"]) for p in losses])),
            "mean_content": float(np.mean([float(p["content"]) for p in losses]))}


def run_clip(kind: str, args, style, workdir: Path) -> dict:
    clip = [as_png(f) for f in synthetic_clip(kind, args.frames, args.size)]
    folder = workdir / kind
    for index, frame in enumerate(clip):
        write_frame(folder / "in", index, frame)
    config = nst.StyleConfig(size=args.size, steps=args.steps_first)
    motions = [frame_motion(a, b) for a, b in zip(clip, clip[1:])]
    start = time.perf_counter()
    per_frame = [as_png(r.image) for r in stylize_frames(enumerate(clip), style, config=config, temporal=False)]
    per_frame_seconds = (time.perf_counter() - start) / len(clip)
    out = {"per_frame": {**measure(clip, per_frame, motions, style, config), "seconds_per_frame": per_frame_seconds},
           "input_flicker": float(np.mean([flicker(p, c, m) for p, c, m in zip(clip, clip[1:], motions)])),
           "reliable_fraction": float(np.mean([m.reliable_fraction for m in motions])), "by_weight": {}}
    for weight in args.temporal_weights:
        command = ["video", str(folder / "in"), f"example:{STYLE}", "-o", str(folder / f"ours_{weight:g}"), "--size",
                   str(args.size), "--steps-first", str(args.steps_first), "--steps", str(args.steps), "--quiet",
                   "--temporal-weight", f"{weight:g}"]
        start = time.perf_counter()
        assert nst_main(command) == 0, "nst video failed"
        ours_seconds = (time.perf_counter() - start) / len(clip)
        ours = [frame for _, frame in open_frames(folder / f"ours_{weight:g}").read(None)]
        assert len(ours) == len(clip)
        result = {"command": "nst " + " ".join(command).replace(str(workdir), "TMP"),
                  **measure(clip, ours, motions, style, config), "seconds_per_frame": ours_seconds}
        result["flicker_ratio"] = result["mean_flicker"] / out["per_frame"]["mean_flicker"]
        result["style_ratio"] = result["mean_style"] / out["per_frame"]["mean_style"]
        out["by_weight"][f"{weight:g}"] = result
        print(f"{kind} weight {weight:g}: flicker {out['per_frame']['mean_flicker']:.5f} → {result['mean_flicker']:.5f} "
              f"({result['flicker_ratio']:.2f}×), style {result['style_ratio']:.2f}×, "
              f"{per_frame_seconds:.1f} / {ours_seconds:.1f} s per frame", flush=True)
        if "ours" not in out:
            out["ours"], kept = result, ours
    np.savez_compressed(workdir.parent / f"video_{kind}_frames.npz", clip=np.array(clip), per_frame=np.array(per_frame),
                        ours=np.array(kept))
    return out


def train_model(workdir: Path, seconds: float) -> Path:
    path = workdir / "bench_model.keras"
    assert nst_main(["train", f"example:{STYLE}", "-o", str(path), "--size", "128", "--time-budget", str(seconds),
                     "--width", "8", "--residual-blocks", "3", "--quiet"]) in (0, 130)
    return path


def run_model(model_path: Path, args, style, blend: float) -> dict:
    model = load_model(model_path)
    clip = [as_png(f) for f in synthetic_clip("pan", args.frames, args.size)]
    motions = [frame_motion(a, b) for a, b in zip(clip, clip[1:])]
    config = nst.StyleConfig(size=args.size)
    raw = list(network_outputs(model, enumerate(clip)))
    per_frame = [as_png(output) for _, _, output in raw]
    ours = [as_png(r.image) for r in blend_frames(raw, blend=blend)]
    out = {"blend": blend, "steps_trained": model.steps, "per_frame": measure(clip, per_frame, motions, style, config),
           "ours": measure(clip, ours, motions, style, config)}
    out["flicker_ratio"] = out["ours"]["mean_flicker"] / out["per_frame"]["mean_flicker"]
    out["style_ratio"] = out["ours"]["mean_style"] / out["per_frame"]["mean_style"]
    print(f"model (blend {blend}): flicker {out['flicker_ratio']:.2f}×, style {out['style_ratio']:.2f}×", flush=True)
    return out


def seconds_per_frame(model_path: Path | None, size: int, steps: int, style, frames: int = 3) -> dict:
    """Seconds per frame at ``size``: a later frame of nst video (optimisation), and the network + blend."""
    clip = synthetic_clip("pan", frames, size)
    config = nst.StyleConfig(size=size, steps=steps)
    results = list(stylize_frames(enumerate(clip), style, config=config,
                                  settings=VideoSettings(steps_first=steps, steps=steps)))
    out = {"size": size, "steps": steps, "optimisation_later_frames": float(np.mean([r.seconds for r in results[1:]]))}
    if model_path is not None:
        model = load_model(model_path)
        model.stylize(clip[0])  # traced once
        start = time.perf_counter()
        list(blend_frames(network_outputs(model, enumerate(clip)), blend=0.5))
        out["model_with_blend"] = (time.perf_counter() - start) / len(clip)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default=",".join(CLIP_KINDS))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--steps-first", type=int, default=60)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--temporal-weights", type=lambda t: [float(v) for v in t.split(",")], default=[1e9],
                        help="comma-separated; the first is the one reported as 'ours' (and drawn)")
    parser.add_argument("--model-seconds", type=float, default=0, help="train a network this long (0: no --model part)")
    parser.add_argument("--blend", type=float, default=0.5)
    parser.add_argument("--speed-size", type=int, default=0, help="also time seconds per frame at this size")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "video.json"))
    args = parser.parse_args()
    style = data.style_image(STYLE)
    record = {"machine": machine(), "settings": vars(args), "clips": {}}
    started = time.perf_counter()
    outputs = REPO / "outputs"
    outputs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=outputs) as tmp:
        workdir = Path(tmp)
        for kind in filter(None, args.clips.split(",")):
            record["clips"][kind] = run_clip(kind, args, style, workdir)
            Path(args.out).write_text(json.dumps(record, indent=1))
        model_path = train_model(workdir, args.model_seconds) if args.model_seconds else None
        if model_path is not None:
            record["model"] = run_model(model_path, args, style, args.blend)
        if args.speed_size:
            record["speed"] = seconds_per_frame(model_path, args.speed_size, args.steps, style)
    record["machine"]["load_average_at_end"] = list(os.getloadavg())
    record["total_seconds"] = time.perf_counter() - started
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out} ({record['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
