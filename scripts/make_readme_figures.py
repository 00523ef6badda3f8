"""Regenerate the README's figures: the Gatys et al. (2016) experiments at real settings.

Usage (from the repository root)::

    python scripts/make_readme_figures.py            # 256 px, real step counts (about 15-25 min on 2 cores)
    python scripts/make_readme_figures.py --fast     # 64 px, a few steps: checks that everything runs
    python scripts/make_readme_figures.py --only ratio_grid init_comparison

Every figure comes from a function of :mod:`nst_lib.course.experiments` (the same ones notebooks 04–06 call)
and is written to ``docs/figures/<name>.png``. ``docs/figures/FIGURES.md`` records the settings, the
network used and the time each figure took, so the README can quote them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst_lib import data
from nst_lib.course import experiments  # noqa: E402

OUT_DIR = REPO / "docs" / "figures"
CONTENT = "grace_hopper"
STYLE = "swirls"

#: figure name → what it shows (the PNG is docs/figures/<name>.png)
FIGURES = {
    "content_reconstructions": "Gatys Fig. 1 (top): the photo rebuilt from noise with one layer's content loss",
    "style_reconstructions": "Gatys Fig. 1 (bottom): textures from noise with growing style layer sets",
    "ratio_grid": "Gatys Fig. 4: content/style ratio α/β from 1e-5 to 1e-2 (our content_weight/style_weight "
                  f"= {experiments.RATIO_CALIBRATION:g}·α/β)",
    "content_layers": "Gatys Fig. 5: content matched at conv2_2 versus conv4_2",
    "init_comparison": "Gatys Fig. 6: starting from the content, the style, or white noise (two seeds)",
}


def make(name: str, content, style, *, size: int, steps: int, transfer_steps: int, scales: int, progress):
    """Run one experiment and return its :class:`~nst_lib.course.experiments.Panel`."""
    common = dict(size=size, scales=scales, progress=progress)
    if name == "content_reconstructions":
        return experiments.content_reconstructions(content, steps=steps, **common)
    if name == "style_reconstructions":
        return experiments.style_reconstructions(style, steps=steps, **common)
    if name == "ratio_grid":
        return experiments.ratio_grid(content, style, steps=transfer_steps, **common)
    if name == "content_layers":
        return experiments.content_layer_comparison(content, style, steps=transfer_steps, **common)
    if name == "init_comparison":
        return experiments.init_comparison(content, style, seeds=(0, 1), steps=transfer_steps, **common)
    raise ValueError(f"unknown figure {name!r}; choose from {', '.join(FIGURES)}")


def figures_markdown(records: dict) -> str:
    """The table of docs/figures/FIGURES.md: each figure with its settings and how long it took."""
    lines = [
        "# README figures",
        "",
        "Written by `python scripts/make_readme_figures.py` (`make figures`) from the functions of",
        "`nst_lib.course.experiments`; do not edit by hand. Content `grace_hopper`, style `swirls`, L-BFGS.",
        "",
        "Seconds are wall-clock time on the machine named in the last column, which may have been shared with",
        "other jobs; CPU seconds are the work itself (user + system time of all threads). An otherwise idle",
        "machine with that many cores takes between CPU seconds ÷ cores and CPU seconds.",
        "",
        "| figure | what it shows | px | steps per image | scales | images | seconds | CPU seconds | network, machine |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in FIGURES:
        if name in records:
            r = records[name]
            lines.append(f"| [{name}]({name}.png) | {r['what']} | {r['size']} | {r['steps']} | {r['scales']} | "
                         f"{r['images']} | {r['seconds']:.0f} | {r.get('cpu_seconds', float('nan')):.0f} | "
                         f"{r['network']}; {r['cores']} "
                         f"cores, {r['machine']} |")
    total = sum(r["seconds"] for r in records.values())
    cpu = sum(r.get("cpu_seconds", float("nan")) for r in records.values())
    lines += ["", f"All figures: {total / 60:.1f} minutes of wall-clock time, {cpu / 60:.1f} minutes of CPU time.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny settings (64 px, 3 steps) to check the script")
    parser.add_argument("--size", type=int, default=256, help="long side in pixels (default 256)")
    parser.add_argument("--steps", type=int, default=100, help="L-BFGS iterations per reconstruction (default 100)")
    parser.add_argument("--transfer-steps", type=int, default=80,
                        help="L-BFGS iterations per style transfer (default 80)")
    parser.add_argument("--scales", type=int, default=2, help="coarse-to-fine levels (default 2)")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), help="make only these figures")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default {OUT_DIR.relative_to(REPO)}; with --fast a temporary folder, "
                             "so a quick check never overwrites the real figures)")
    args = parser.parse_args(argv)
    if args.fast:
        args.size, args.steps, args.transfer_steps, args.scales = 64, 3, 3, 1
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="nst_figures_")) if args.fast else OUT_DIR

    from nst_lib.backbone import BackboneSubstitutionWarning, resolved_weights_description

    warnings.simplefilter("ignore", BackboneSubstitutionWarning)
    args.out.mkdir(parents=True, exist_ok=True)
    content = data.content_image(CONTENT)
    style = data.style_image(STYLE)
    network = resolved_weights_description().splitlines()[0]  # without the local file path (its second line)
    print(f"network: {network}", flush=True)
    print(f"settings: {args.size} px, {args.steps} steps per reconstruction, {args.transfer_steps} per transfer, "
          f"scales={args.scales}", flush=True)

    def progress(label: str, event) -> None:
        if event.iteration % 20 == 0:
            print(f"    {label}: iteration {event.iteration}, loss {event.losses['total']:.4g}, "
                  f"{event.elapsed:.0f} s", flush=True)

    # timings of every figure ever made into this folder, so `--only` keeps the others' records
    record_path = args.out / "figures.json"
    records = json.loads(record_path.read_text()) if record_path.is_file() else {}
    started = time.perf_counter()
    for name in args.only or list(FIGURES):
        print(f"{name}: {FIGURES[name]}", flush=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        panel = make(name, content, style, size=args.size, steps=args.steps, transfer_steps=args.transfer_steps,
                     scales=args.scales, progress=progress)
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - cpu0  # the work itself, whatever else runs on the machine
        path = args.out / f"{name}.png"
        panel.figure(with_inputs=True).savefig(path, dpi=100)
        print(f"  wrote {path} in {seconds:.0f} s ({cpu_seconds:.0f} CPU seconds)", flush=True)
        records[name] = dict(what=FIGURES[name], images=len(panel), seconds=round(seconds, 1),
                             cpu_seconds=round(cpu_seconds, 1), size=args.size,
                             steps=args.steps if "reconstructions" in name else args.transfer_steps,
                             scales=args.scales, network=network, cores=os.cpu_count(),
                             machine=f"{platform.machine()}, Python {platform.python_version()}")
        record_path.write_text(json.dumps(records, indent=1, ensure_ascii=False))
    total = time.perf_counter() - started
    (args.out / "FIGURES.md").write_text(figures_markdown(records))
    print(f"done in {total:.0f} s; figures in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
