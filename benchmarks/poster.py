"""A poster from the command line: peak memory, wall time and seams of ``nst stylize --size N --max-memory M``.

    python benchmarks/poster.py --size 4096 --max-memory 8G     # the issue's poster (≈ 1 h on 2 cores)
    python benchmarks/poster.py --size 2048 --max-memory 4G
    python benchmarks/poster.py --size 1024 --max-memory 2G --steps 60   # a quick look

Runs exactly the README's command (``nst stylize example:grace_hopper example:swirls -o OUT --size N
--max-memory M --history OUT.json``) in a subprocess, takes its peak resident set size from the kernel
(``wait4``'s ``ru_maxrss``, what ``/usr/bin/time -v`` calls "Maximum resident set size") and its wall time,
and measures seams on the result: for every tiled pass recorded in the history,
:func:`nst_lib.tiling.border_energy_ratio` of the final image along that pass's tile borders (1.0 = a
border looks like the lines next to it; a seam is > 1), next to the same ratio along grids moved by random
multiples of 16 px (see :func:`seams`; ``--seams-only`` redoes this on an existing run). Writes ``benchmarks/results/poster_<N>.json``;
the image and its history stay in ``--workdir`` (images are not committed). Then
``python scripts/make_poster_figure.py WORKDIR/poster_<N>.png --history WORKDIR/poster_<N>.json`` draws
the README's overview and 100 % crop.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent
GIB = 2**30

from memory import machine  # noqa: E402 - benchmarks/memory.py, next to this file


def seams(image_path: Path, history: dict, controls: int = 10, seed: int = 0) -> list[dict]:
    """Border energy ratio of the final image along each tiled pass's borders (at the output's size), and
    the same ratio along ``controls`` grids of the same tile size moved by random multiples of 16 px, and
    along ``controls`` grids moved at random.

    The controls matter: VGG's strides leave a faint 16-px periodic texture in an optimised image, so lines
    on one phase of that period differ from the rest; grids of the same phase are the fair comparison
    (a seam shows as a ratio above theirs)."""
    import numpy as np

    from nst_lib.images import load_image
    from nst_lib.tiling import border_energy_ratio, tile_boxes

    image = np.asarray(load_image(image_path), np.float64)
    shape = image.shape[:2]
    rng = np.random.default_rng(seed)
    rows = []
    for grid in history.get("tiling", []):
        if tuple(grid["shape"]) != shape:
            continue
        tile, overlap = grid["tile"], grid["overlap"]
        for number, offset in enumerate(grid["offsets"], 1):
            boxes = tile_boxes(shape, tile, overlap, offset)
            control = []
            for _ in range(controls):
                shift = rng.integers(2, max(3, tile // 16 - 2), size=2) * 16
                moved = ((offset[0] + int(shift[0])) % tile, (offset[1] + int(shift[1])) % tile)
                control.append(round(border_energy_ratio(image, tile_boxes(shape, tile, overlap, moved)), 4))
            unaligned = []
            for _ in range(controls):
                moved = (int(rng.integers(0, tile)), int(rng.integers(0, tile)))
                unaligned.append(round(border_energy_ratio(image, tile_boxes(shape, tile, overlap, moved)), 4))
            rows.append(dict(pass_=number, tile=tile, overlap=overlap, offset=list(offset),
                             border_energy_ratio=round(border_energy_ratio(image, boxes), 4),
                             same_phase_grids=control, random_grids=unaligned))
    return rows


def sample_rss(pid: int, samples: list, done: threading.Event, every: float = 0.5) -> None:
    """Append (seconds since start, resident bytes) of process ``pid`` every ``every`` seconds until ``done``."""
    start = time.perf_counter()
    status = Path(f"/proc/{pid}/status")
    while not done.wait(every):
        try:
            line = next(ln for ln in status.read_text().splitlines() if ln.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return
        samples.append((round(time.perf_counter() - start, 1), int(line.split()[1]) * 1024))


def peaks_by_stage(samples: list, history: dict, wall: float) -> list[dict]:
    """The highest sampled RSS during each scale of the run. The history's clock starts when ``stylize``
    starts, after TensorFlow's start-up; it is aligned with the sampler's by its end (the image's and
    the history's writing, a few seconds, is counted in the last stage), so stage boundaries are right
    to a few seconds — enough for stages of minutes."""
    rows = history.get("history") or []
    offset = wall - float(history.get("elapsed") or 0.0)
    stages = []
    for scale in sorted({row["scale"] for row in rows}):
        times = [row["elapsed"] for row in rows if row["scale"] == scale]
        previous = [row["elapsed"] for row in rows if row["scale"] < scale]
        begin = offset + (max(previous) if previous else -offset)  # the first stage includes the start-up
        end = offset + max(times)
        inside = [rss for t, rss in samples if begin <= t <= end]
        stages.append(dict(scale=scale, shape=(history.get("scale_shapes") or [None] * (scale + 1))[scale],
                           iterations=len(times), seconds=round(end - begin, 1),
                           peak_rss_gib=round(max(inside) / GIB, 3) if inside else None))
    return stages


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--max-memory", default="8G")
    ap.add_argument("--steps", type=int, default=None, help="total iterations (default: the library's)")
    ap.add_argument("--content", default="example:grace_hopper")
    ap.add_argument("--style", default="example:swirls")
    ap.add_argument("--nst-args", default="", help="more options for nst stylize, e.g. '--precision float32'")
    ap.add_argument("--workdir", default="/tmp/nst-poster", help="where the image and its history go")
    ap.add_argument("--out", default=None, help="results JSON (default benchmarks/results/poster_<size>.json)")
    ap.add_argument("--seams-only", action="store_true",
                    help="only measure the seams of the image and history already in --workdir (updates --out)")
    args = ap.parse_args(argv)

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    image, history_path = work / f"poster_{args.size}.png", work / f"poster_{args.size}.json"
    out = Path(args.out or HERE / "results" / f"poster_{args.size}.json")
    if args.seams_only:
        result = json.loads(out.read_text())
        result["seams"] = seams(image, json.loads(history_path.read_text()))
        out.write_text(json.dumps(result, indent=1))
        print(json.dumps(result["seams"], indent=1))
        return 0
    nst = Path(sys.executable).with_name("nst")
    command = [str(nst), "stylize", args.content, args.style, "-o", str(image), "--size", str(args.size),
               "--max-memory", args.max_memory, "--history", str(history_path), "--quiet"]
    if args.steps is not None:
        command += ["--steps", str(args.steps)]
    command += args.nst_args.split()
    print("running:", " ".join(command[1:]), flush=True)
    load_before = os.getloadavg()
    start = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "NST_OFFLINE": os.environ.get("NST_OFFLINE", "1")})
    samples: list = []
    done = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(process.pid, samples, done), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    result = dict(
        command=["nst", *command[1:]], exit_code=code, wall_seconds=round(wall, 1),
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 1), peak_rss_bytes=usage.ru_maxrss * 1024,
        peak_rss_gib=round(usage.ru_maxrss * 1024 / GIB, 3), load_before=load_before, load_after=os.getloadavg(),
        machine=machine(), date=time.strftime("%Y-%m-%d %H:%M"),
    )
    if code == 0:
        history = json.loads(history_path.read_text())
        result["plan"] = history.get("plan")
        result["iterations"] = history.get("iterations")
        result["seams"] = seams(image, history)
        result["peak_rss_by_stage"] = peaks_by_stage(samples, history, wall)
    result["rss_samples"] = samples[:: max(1, len(samples) // 2000)]  # at most ~2000 (seconds, bytes) pairs
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"exit {code}, {wall / 60:.1f} min, peak RSS {result['peak_rss_gib']:.2f} GiB "
          f"(budget {args.max_memory}); seams: {[s['border_energy_ratio'] for s in result.get('seams', [])]}")
    for stage in result.get("peak_rss_by_stage", []):
        print(f"  stage {stage['scale']} {stage['shape']}: {stage['iterations']} iterations, {stage['seconds']:.0f} s, "
              f"peak RSS {stage['peak_rss_gib']} GiB")
    print(f"wrote {out}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
