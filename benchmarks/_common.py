"""Shared pieces of the speed benchmarks: the problem (one content/style pair, the tutorial objective),
FLOP counting, a matmul peak, and :func:`multiscale`, which runs ``nst_lib.stylize`` and records its progress.

Nothing here re-implements the library: objectives come from :func:`nst_lib.transfer.make_objective` (the
objective ``stylize`` optimises) and runs are ``stylize`` calls. The prototype recipes the exploration
measured against it are archived in ``benchmarks/archive/_common.py``.

Cost metric (independent of CPU load): every objective evaluation costs ``pixels / full_pixels``
"full-resolution evaluations" (a 128 px evaluation costs ~1/4 of a 256 px one).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Sequence

os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

VERBOSE = bool(os.environ.get("NST_BENCH_VERBOSE"))
CONTENT = "grace_hopper"
STYLE = "swirls"


# ------------------------------------------------------------------------------------------- the problem
class Problem:
    """Content/style pair at ``size`` with the TF-tutorial objective, objectives cached per shape."""

    def __init__(self, size: int = 256, content: str = CONTENT, style: str = STYLE, backbone: str = "vgg19",
                 jit_compile: bool = False):
        from nst_lib import data
        from nst_lib.backbone import shared_extractor
        from nst_lib.config import TF_TUTORIAL, StyleConfig

        self.size = size
        objective_fields = {k: TF_TUTORIAL[k] for k in ("content_layers", "style_layers", "content_weight",
                                                        "style_weight", "tv_weight")}
        # float32: the tutorial's own recipe, and the judge every recipe's output is scored with (a bfloat16
        # run's own loss carries its rounding; StyleConfig's default precision is "auto")
        self.cfg = StyleConfig(size=size, backbone=backbone, precision="float32", **objective_fields)
        self.content_full = data.content_image(content, size=size)
        self.style_full = data.style_image(style)
        self.extractor = shared_extractor(self.cfg.content_layers + self.cfg.style_layers, backbone, warn=False)
        self.shape = tuple(self.content_full.shape[:2])
        self.jit_compile = jit_compile
        self._objectives: dict = {}
        self._vgs: dict = {}

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def content_at(self, shape) -> np.ndarray:
        from nst_lib.images import resize_to

        return resize_to(self.content_full, *shape) if tuple(shape) != self.shape else self.content_full

    def objective(self, shape):
        """The objective ``stylize`` optimises at ``shape`` (nst_lib.transfer.make_objective)."""
        shape = tuple(shape)
        if shape not in self._objectives:
            from nst_lib.transfer import make_objective

            self._objectives[shape] = make_objective(self.content_at(shape), self.style_full,
                                                     config=self.cfg.replace(size=max(shape)))
        return self._objectives[shape]

    def value_and_grad(self, shape):
        shape = tuple(shape)
        if shape not in self._vgs:
            from nst_lib.optimize import make_value_and_grad

            self._vgs[shape] = make_value_and_grad(self.objective(shape), jit_compile=self.jit_compile)
        return self._vgs[shape]

    def full_objective(self, image: np.ndarray) -> dict[str, float]:
        """Full-resolution objective parts of ``image`` (upsampled first if it is coarser)."""
        import tensorflow as tf

        from nst_lib.images import resize_to

        if tuple(image.shape[:2]) != self.shape:
            image = resize_to(np.clip(image, 0, 1).astype(np.float32), *self.shape)
        parts, _ = self.value_and_grad(self.shape)(tf.constant(image[None], tf.float32))
        return {k: float(v) for k, v in parts.items()}


# ------------------------------------------------------------------------------------------------ FLOPs
VGG_CONVS = {
    "vgg16": [(2, 3, 64), (2, 64, 128), (3, 128, 256), (3, 256, 512), (3, 512, 512)],
    "vgg19": [(2, 3, 64), (2, 64, 128), (4, 128, 256), (4, 256, 512), (4, 512, 512)],
}


def vgg_flops(height: int, width: int, backbone: str, last_layer: str = "block5_conv2", backward: bool = True) -> float:
    """Analytic conv FLOPs of one forward (+backward: ×3) pass up to ``last_layer``: 2·H·W·9·Cin·Cout per conv."""
    last_block, last_conv = int(last_layer[5]), int(last_layer.split("conv")[1])
    total = 0.0
    h, w = height, width
    for b, (n, cin, cout) in enumerate(VGG_CONVS[backbone], start=1):
        c = cin
        for i in range(1, n + 1):
            total += 2.0 * h * w * 9 * c * cout
            c = cout
            if (b, i) == (last_block, last_conv):
                return total * (3.0 if backward else 1.0)
        h, w = h // 2, w // 2
    return total * (3.0 if backward else 1.0)


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a large float32 tf.matmul (best of ``repeats``), the machine's practical peak."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    mm = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    mm(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        mm(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best


# ------------------------------------------------------------------------------------ recipe machinery
@dataclass
class Trace:
    """Progress of one recipe: (cost in full-res evaluations, wall seconds, full-res objective) points."""

    cost: list = field(default_factory=list)
    wall: list = field(default_factory=list)
    value: list = field(default_factory=list)
    full_walls: list = field(default_factory=list)  # clock time of every full-resolution evaluation
    image: np.ndarray | None = None

    def add(self, cost, wall, value):
        self.cost.append(float(cost))
        self.wall.append(float(wall))
        self.value.append(float(value))

    def first_below(self, target: float, axis: str = "cost") -> float | None:
        xs = getattr(self, axis)
        for x, v in zip(xs, self.value):
            if v <= target:
                return x
        return None

    def best_at(self, x: float, axis: str = "cost") -> float:
        xs = getattr(self, axis)
        vals = [v for xx, v in zip(xs, self.value) if xx <= x]
        return min(vals) if vals else float("nan")


class Clock:
    """Wall clock for a recipe that can be paused (full-res checkpoints are not charged)."""

    def __init__(self):
        self.spent = 0.0
        self._t = time.perf_counter()

    def pause(self):
        self.spent += time.perf_counter() - self._t

    def resume(self):
        self._t = time.perf_counter()

    def now(self):
        return self.spent + time.perf_counter() - self._t


# ------------------------------------------------------------------------------------ runs of stylize
def multiscale(problem: Problem, *, iters: Sequence[int], scales: int | None = None, residual: bool = False,
               init: str = "histogram", trace: Trace | None = None, clock: Clock | None = None,
               final_cost_limit: float | None = None, time_limit: float | None = None,
               target_value: float | None = None, checkpoint_every: int | None = 10, param: str = "pixel",
               corrections: int = 50, maxls: int = 20, **unsupported) -> Trace:
    """Run ``nst_lib.stylize`` on the problem and record its progress as a :class:`Trace`.

    ``iters`` are the iterations per scale (coarsest first; the last one, or ``final_cost_limit``, bounds
    the finest scale), ``time_limit`` is stylize's time budget and ``target_value`` stops the run once the
    full-resolution objective reaches it. Every full-resolution iteration is a point of the trace; at
    coarse scales the upsampled image is evaluated at full resolution every ``checkpoint_every``
    iterations, off the clock. Settings stylize does not have (residual upsampling, other
    parameterisations, line-search lengths) are refused: they are prototypes, in benchmarks/archive/.
    """
    import nst_lib

    scales = scales or len(iters)
    if unsupported or param != "pixel" or maxls != 20 or (residual and scales > 1):
        raise ValueError("stylize has no residual upsampling, other parameterisation or line-search length; "
                         "see benchmarks/archive/_common.py for those prototypes")
    trace = trace or Trace()
    clock = clock or Clock()
    fine_steps = int(final_cost_limit) if final_cost_limit is not None else list(iters)[-1]
    steps = None if time_limit is not None and final_cost_limit is None else sum(list(iters)[-scales:-1]) + fine_steps
    best = [float("inf")]

    def callback(event):
        if tuple(event.shape) == problem.shape:
            value = event.losses["total"]
            trace.add(event.iteration, clock.now(), value)
            trace.full_walls.append(clock.now())
        elif checkpoint_every and event.iteration % checkpoint_every == 0:
            clock.pause()
            value = problem.full_objective(event.image())["total"]
            trace.add(event.iteration, clock.spent, value)
            clock.resume()
        else:
            return False
        best[0] = min(best[0], value)
        if VERBOSE and len(trace.value) % 10 == 0:
            print(f"  [{time.strftime('%H:%M:%S')}] iteration {event.iteration} wall {clock.now():.0f}s "
                  f"best {best[0]:.4g}", flush=True)
        return target_value is not None and best[0] <= target_value

    result = nst_lib.stylize(
        problem.content_full, problem.style_full, config=problem.cfg, callback=callback, scales=scales,
        steps=steps, time_budget=time_limit, init={"histogram": "recolored"}.get(init, init),
        lbfgs_corrections=corrections,
    )
    trace.image = result.image
    return trace
