"""Time to the first preview image of notebook 04's weights → picture demo (target: ≤ 3 s at 128 px on 2 cores
after warm-up).

    python benchmarks/preview.py                 # 128 px, 30 L-BFGS steps per preview (the demo's settings)
    python benchmarks/preview.py --size 64 --steps 3 --changes 2    # a quick smoke run

The demo (``nst_lib.course.widgets.weights_preview``) is driven headlessly, exactly as a learner drives it:
a slider's ``.value`` is set, the demo starts ``nst_lib.stylize`` in its background thread, and the time
from the assignment to the first preview image placed in the demo's image view is recorded
(``Run.first_preview_seconds``, counted from the ``start`` call, plus the microseconds before it).
Scenarios, after one warm-up run (which traces the graph; its time is reported separately as ``cold``):

* ``ratio``: the content/style ratio slider moves to a new value after the previous run finished;
* ``layer``: one style layer weight moves (a new combination of layer weights);
* ``during_run``: the ratio moves while a run is going (the older run must let go first);
* ``cache``: a setting seen before is shown again (no run).

The objective is traced once per image shape; ``traces`` counts how often it was traced again during the
measured changes (0 means every change reused the warm-up's graph). Prints the machine, the load and the
numbers, and writes ``benchmarks/results/preview_<size>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 3.0


def machine() -> dict:
    """CPU model (``lscpu``'s "Model name"), cores and load averages."""
    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "load_average": list(os.getloadavg())}


def count_traces() -> dict:
    """Count how often the objective is traced: the traced body (``nst_lib.losses.objective_parts``) runs in
    Python only while tracing."""
    import tensorflow as tf

    from nst_lib import losses

    counter = {"traces": 0}
    original = losses.objective_parts

    def parts(*args, **kwargs):
        if not tf.executing_eagerly():
            counter["traces"] += 1
        return original(*args, **kwargs)

    losses.objective_parts = parts
    return counter


def wait_for(condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the preview did not arrive in time")
        time.sleep(0.005)


def first_preview_after(demo, change) -> tuple[float, object]:
    """Apply ``change`` (a slider move) and return (seconds until the first preview image, the run)."""
    before = demo.background_run.current
    t0 = time.perf_counter()
    change()
    run = demo.background_run.current
    assert run is not before, "the change did not start a run (cached or refused?)"
    wait_for(lambda: run.first_preview_seconds is not None or run.done.is_set())
    if run.first_preview_seconds is None:
        raise RuntimeError(f"the run ended without a preview: {demo.status.value}")
    return run.requested - t0 + run.first_preview_seconds, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128, help="long side of the previews (px)")
    parser.add_argument("--steps", type=int, default=30, help="L-BFGS iterations per preview")
    parser.add_argument("--changes", type=int, default=5, help="measured changes per scenario")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default results/preview_<size>.json)")
    args = parser.parse_args()

    from nst_lib.backbone import BackboneSubstitutionWarning

    warnings.simplefilter("ignore", BackboneSubstitutionWarning)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores; load average before: "
          f"{', '.join(f'{x:.2f}' for x in info['load_average'])}")
    started = time.perf_counter()
    import tensorflow as tf  # noqa: F401 - imported before the clock of the cold run starts

    from nst_lib.course.widgets.weights_preview import WeightsPreviewDemo

    traces = count_traces()
    demo = WeightsPreviewDemo(size=args.size, steps=args.steps, background=True, start=False)

    cold, run = first_preview_after(demo, lambda: setattr(demo.ratio_slider, "value", 1e6 + 1))  # any new value
    wait_for(lambda: run.done.is_set())
    cold_traces = traces["traces"]
    per_iteration = run.result.elapsed / max(1, run.result.iterations)
    print(f"warm-up (cold, traces the graph): first preview after {cold:.2f} s; the run: {run.result.iterations} "
          f"iterations in {run.result.elapsed:.1f} s ({per_iteration:.2f} s per iteration), {cold_traces} trace(s)")

    results: dict[str, list[float]] = {"ratio": [], "layer": [], "during_run": [], "cache": []}
    iteration_seconds: list[float] = []  # of the finished warm runs: the load-independent yardstick
    ratios = [10.0 ** e for e in (4, 8, 3, 7, 5, 9, 2.5, 6.5)][: max(2, args.changes)]
    for ratio in ratios:
        seconds, run = first_preview_after(demo, lambda r=ratio: setattr(demo.ratio_slider, "value", r))
        results["ratio"].append(seconds)
        wait_for(lambda: run.done.is_set())
        iteration_seconds.append(run.result.elapsed / max(1, run.result.iterations))
    for ratio in ratios[:-1]:  # settings seen before (not the current one): shown from the cache
        t0 = time.perf_counter()
        demo.ratio_slider.value = ratio
        assert demo.shown_from_cache, demo.status.value
        results["cache"].append(time.perf_counter() - t0)
    layers = list(demo.style_sliders)
    for i in range(args.changes):
        slider = demo.style_sliders[layers[i % len(layers)]]
        seconds, run = first_preview_after(demo, lambda s=slider, v=round(0.2 + 0.1 * i, 1): setattr(s, "value", v))
        results["layer"].append(seconds)
        wait_for(lambda: run.done.is_set())
        iteration_seconds.append(run.result.elapsed / max(1, run.result.iterations))
    for i in range(args.changes):  # move the ratio while a run is going
        demo.cache.clear()  # both settings must run, whatever ran before
        _, run = first_preview_after(demo, lambda e=3.5 + i: setattr(demo.ratio_slider, "value", 10.0**e))
        wait_for(lambda: run.iterations >= 2)
        seconds, run = first_preview_after(demo, lambda e=8.5 - i * 0.5: setattr(demo.ratio_slider, "value", 10.0**e))
        results["during_run"].append(seconds)
        wait_for(lambda: run.done.is_set())
    measured_traces = traces["traces"] - cold_traces

    load_after = list(os.getloadavg())
    summary = {name: {"median_s": statistics.median(v), "max_s": max(v), "all_s": v} for name, v in results.items()}
    warm = results["ratio"] + results["layer"]
    verdict = "meets" if statistics.median(warm) <= TARGET_SECONDS else "misses"
    print(f"\ntime from a slider move to the first preview image at {args.size} px (after warm-up):")
    for name, row in summary.items():
        print(f"  {name:<11} median {row['median_s']:.3f} s, max {row['max_s']:.3f} s "
              f"({', '.join(f'{x:.2f}' for x in row['all_s'])})")
    warm_iteration = statistics.median(iteration_seconds)
    in_iterations = statistics.median(warm) / warm_iteration
    print(f"retraces during the {len(warm) + len(results['during_run'])} measured runs: {measured_traces}")
    print(f"one iteration of a warm run takes {warm_iteration:.2f} s here (median); the first preview arrives "
          f"after {in_iterations:.1f}× that (targets, the first L-BFGS iteration with its line search, the PNG)")
    print(f"target ≤ {TARGET_SECONDS:.0f} s: the warm median {statistics.median(warm):.2f} s {verdict} it")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in load_after)}; "
          f"benchmark took {time.perf_counter() - started:.0f} s")

    payload = {
        "command": "python benchmarks/preview.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "machine": info,
        "load_average_after": load_after,
        "size": args.size,
        "steps": args.steps,
        "backbone": run.result.backbone,
        "cold_first_preview_s": cold,
        "cold_seconds_per_iteration": per_iteration,
        "warm_seconds_per_iteration_median": warm_iteration,
        "first_preview_in_warm_iterations": in_iterations,
        "traces_during_warm_up": cold_traces,
        "retraces_during_measured_changes": measured_traces,
        "first_preview": summary,
        "target_s": TARGET_SECONDS,
        "warm_median_s": statistics.median(warm),
    }
    out = args.out or HERE / "results" / f"preview_{args.size}.json"
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
