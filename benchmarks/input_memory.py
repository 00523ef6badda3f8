"""Peak memory of ``nst stylize`` with huge but small-on-disk inputs and ``--max-memory 1G`` (issue 18, §3).

An 11000 × 9000 PNG of a few hundred kB used to peak at 2.36 GB (as content) and 5.3 GB (as two styles)
under ``--max-memory 1G``: decoding was not counted, and every input became a full-size float32 array.
This script makes such PNGs (in a temporary folder; never committed), runs the command line in a fresh
process per case, and records the kernel's peak resident set size (``ru_maxrss`` from ``wait4``), the
exit code and the command's last line.

    python benchmarks/input_memory.py            # → benchmarks/results/input_memory.json

Goal: every case with ``--max-memory 1G`` peaks under 1.1 GB, or is refused up front (exit 2, from the
files' headers, before any pixel is decoded); the 2G case shows a run that decodes all three and runs.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))  # so the child process can import make_big_png

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "input_memory.json"
NST = str(Path(sys.executable).with_name("nst"))
GOAL_BYTES = 1.1e9


def make_big_png(path: Path, width: int = 11000, height: int = 9000, seed: int = 0) -> Path:
    """A smooth gradient with a few shapes: 99 megapixels that compress to a few hundred kB."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[np.newaxis, :]
    down = np.linspace(0, 255, height, dtype=np.float32)[:, np.newaxis]
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[..., 0] = ramp.astype(np.uint8)
    pixels[..., 1] = down.astype(np.uint8)
    pixels[..., 2] = 128
    picture = Image.fromarray(pixels)
    del pixels
    draw = ImageDraw.Draw(picture)
    for _ in range(12):
        x, y = rng.integers(0, width - 2000), rng.integers(0, height - 2000)
        size = int(rng.integers(400, 2000))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x, y, x + size, y + size), fill=colour)
    picture.save(path, optimize=False, compress_level=9)
    return path


def run(argv: list[str]) -> dict:
    """One ``nst`` command in its own process: peak RSS, wall time, exit code, last stderr/stdout line."""
    start = time.perf_counter()
    proc = subprocess.Popen([NST, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    lines = [line for line in (out + err).strip().splitlines() if line.strip()]
    return {"argv": ["nst", *argv], "exit_code": os.waitstatus_to_exitcode(status),
            "peak_rss_bytes": usage.ru_maxrss * 1024, "wall_seconds": round(time.perf_counter() - start, 1),
            "last_line": lines[-1] if lines else ""}


def make_inputs(folder: Path) -> None:
    """The PNGs, made in a process of their own: a child inherits its parent's peak RSS through fork and
    exec (Linux keeps it in the process's signal struct), so this process must stay small."""
    code = ("import sys; sys.path.insert(0, %r); from input_memory import make_big_png; from pathlib import Path; "
            "f = Path(%r); make_big_png(f / 'big_a.png'); make_big_png(f / 'big_b.png', seed=1)" % (str(HERE), str(folder)))
    subprocess.run([sys.executable, "-c", code], check=True)
    Image.new("RGB", (256, 256), (200, 120, 40)).save(folder / "small.png")


def main() -> None:
    os.environ.setdefault("NST_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        make_inputs(folder)
        big, big_b, small = folder / "big_a.png", folder / "big_b.png", folder / "small.png"
        steps = ["--steps", "3", "--quiet"]

        def stylize(content, styles, output, *extra):
            return ["stylize", str(content), *map(str, styles), "-o", str(folder / output), *extra, *steps]

        cases = {
            "11000x9000 content, 512 px, --max-memory 1G": stylize(big, [small], "a.png", "--max-memory", "1G"),
            "two 11000x9000 styles, 512 px, --max-memory 1G": stylize(small, [big, big_b], "b.png", "--max-memory", "1G"),
            "11000x9000 content, 128 px, --max-memory 1G": stylize(big, [small], "c.png", "--max-memory", "1G",
                                                                   "--size", "128"),
            "two 11000x9000 styles, 128 px, --max-memory 1G": stylize(small, [big, big_b], "d.png", "--max-memory",
                                                                      "1G", "--size", "128"),
            "11000x9000 content and two such styles, 512 px, --max-memory 2G": stylize(
                big, [big, big_b], "f.png", "--max-memory", "2G"),
            "11000x9000 content, --max-memory 300M": stylize(big, [small], "e.png", "--max-memory", "300M"),
        }
        results = []
        for name, argv in cases.items():
            outcome = run(argv)
            budget = 2 * GOAL_BYTES if "2G" in name else GOAL_BYTES
            outcome.update(case=name, file_bytes=big.stat().st_size, wrote_image=outcome["exit_code"] == 0,
                           within_goal=outcome["peak_rss_bytes"] < budget)
            print(f"{name}: exit {outcome['exit_code']}, peak {outcome['peak_rss_bytes'] / 1e9:.2f} GB, "
                  f"{outcome['wall_seconds']} s — {outcome['last_line'][:160]}")
            results.append(outcome)
    machine = {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
               "python": platform.python_version(), "load_average": os.getloadavg()}
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        machine["cpu"] = model
    except (OSError, StopIteration):
        pass
    RESULTS.write_text(json.dumps({"goal_bytes": GOAL_BYTES, "machine": machine, "runs": results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
