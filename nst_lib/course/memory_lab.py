"""Measuring a run's memory for notebook 12 ("Big pictures in small memory").

:func:`measure_peak` runs one ``nst stylize`` in a child process and reads the child's peak resident set
size from the kernel (``ru_maxrss`` of ``os.wait4``, what ``/usr/bin/time -v`` calls "Maximum resident set
size"), next to :func:`nst_lib.memory.plan_run`'s estimate for the same settings. A child process is the
only way to measure a run's own peak: a process's peak never goes down, so a second run in the notebook's
kernel would report the first one's.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from ..config import StyleConfig
from ..data import content_image, style_image
from ..memory import plan_run
from ..weights import resolve_weights


def stylize_command(content: str, style: str, output: str | os.PathLike, size: int, steps: int,
                    extra: Sequence[str] = ()) -> list[str]:
    """The ``nst stylize`` command line (as a list) for bundled examples, run with this Python."""
    return [sys.executable, "-m", "nst_lib.cli", "stylize", f"example:{content}", f"example:{style}", "-o", str(output),
            "--size", str(size), "--steps", str(steps), "--quiet", *extra]


def measure_peak(size: int, steps: int, *, content: str = "grace_hopper", style: str = "swirls",
                 optimizer: str = "lbfgs", extra: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``nst stylize`` at ``size`` in a child process; its peak memory, wall time and the plan's estimate.

    Returns a dict: ``size``, ``shape`` (height, width), ``peak_bytes`` (measured), ``estimate_bytes``
    (:func:`~nst_lib.memory.plan_run`'s estimate of the whole run), ``seconds``, ``returncode`` and
    ``stderr`` (the child's error line, if any).
    """
    config = StyleConfig(size=size, steps=steps, optimizer=optimizer)
    photo, painting = content_image(content), style_image(style)
    backbone = resolve_weights(config.backbone, config.weights, warn=False).backbone
    plan = plan_run(config, photo.shape[:2], max_memory="1T", style_shapes=[painting.shape[:2]], backbone=backbone)
    with tempfile.TemporaryDirectory() as folder:
        command = stylize_command(content, style, Path(folder) / "out.png", size, steps,
                                  ["--optimizer", optimizer, *extra])
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        stderr = child.stderr.read().decode("utf-8", "replace") if child.stderr else ""
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
    return {"size": size, "shape": plan.output_shape, "peak_bytes": usage.ru_maxrss * 1024,
            "estimate_bytes": plan.whole_peak_bytes, "seconds": seconds, "returncode": child.returncode,
            "stderr": stderr.strip()}
