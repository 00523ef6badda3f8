"""Prototype recipes of the speed exploration (archived: their conclusions are in benchmarks/README.md).

The archived scripts next to this file import it as ``_common``. The problem, FLOP counting and the clock
come from the live ``benchmarks/_common.py``; what stays here are the prototypes that were measured against
``nst_lib.stylize`` — coarse-to-fine with residual upsampling, other parameterisations, other starts —
written on top of the library's objective and SciPy's L-BFGS-B. ``nst_lib`` does not use them.
"""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

_spec = importlib.util.spec_from_file_location("benchmarks_common", Path(__file__).resolve().parents[1] / "_common.py")
_live = sys.modules["benchmarks_common"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_live)
Problem, Trace, Clock, vgg_flops, matmul_peak = _live.Problem, _live.Trace, _live.Clock, _live.vgg_flops, _live.matmul_peak
VERBOSE = _live.VERBOSE


# ------------------------------------------------------------------------------------ parameterisations
def _blur_down(x, tf):
    return tf.nn.avg_pool2d(x, 2, 2, "VALID")


def make_transform(kind: str, shape, levels: int = 4, level_gain: float = 1.0):
    """A linear map params → image (TF) and its initialisation from an image (NumPy).

    ``pixel``: identity. ``laplacian``: image = Σ_k up^k(p_k) over ``levels`` levels (each coarser level
    halves the size, bilinear upsampling), with p_k scaled by ``level_gain**k`` (gain > 1 = larger steps
    for coarse structure: a preconditioner). ``decorrelated``: pixel parameterisation in a decorrelated
    colour basis (Lucid's ImageNet colour matrix).
    Returns (to_image(p) -> (1,H,W,3) tf tensor, from_image(np img) -> np params (flat), n_params).
    """
    import tensorflow as tf

    h, w = shape
    if kind == "pixel":
        return (lambda p: tf.reshape(p, (1, h, w, 3))), (lambda img: img.astype(np.float64).ravel()), h * w * 3
    if kind == "decorrelated":
        # Lucid's colour correlation (sqrt of the ImageNet colour covariance), normalised
        m = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
        m = m / np.max(np.linalg.norm(m, axis=0))
        minv = np.linalg.inv(m)
        mt = tf.constant(m.T)
        return ((lambda p: tf.reshape(tf.reshape(p, (-1, 3)) @ mt, (1, h, w, 3))),
                (lambda img: (img.reshape(-1, 3) @ minv.T).astype(np.float64).ravel()), h * w * 3)
    if kind == "laplacian":
        shapes = [(h, w)]
        for _ in range(levels - 1):
            ph, pw = shapes[-1]
            shapes.append((max(1, (ph + 1) // 2), max(1, (pw + 1) // 2)))
        sizes = [a * b * 3 for a, b in shapes]
        offsets = np.cumsum([0] + sizes)
        gains = [level_gain**k for k in range(levels)]

        def to_image(p):
            img = tf.zeros((1, h, w, 3))
            for k, (sh, g) in enumerate(zip(shapes, gains)):
                part = tf.reshape(p[offsets[k]:offsets[k + 1]], (1, *sh, 3)) * g
                if k:
                    part = tf.image.resize(part, (h, w), method="bilinear")
                img = img + part
            return img

        def from_image(img):
            # put the whole image in the finest level; coarse levels start at zero
            out = np.zeros(offsets[-1], np.float64)
            out[: sizes[0]] = img.astype(np.float64).ravel()
            return out

        return to_image, from_image, int(offsets[-1])
    raise ValueError(kind)


def run_scale(problem: Problem, shape, init: np.ndarray, *, iters: int, trace: Trace, clock: Clock,
              cost0: float, param: str = "pixel", levels: int = 4, level_gain: float = 1.0,
              corrections: int = 10, maxls: int = 20, checkpoint_every: int | None = None,
              cost_limit: float | None = None, time_limit: float | None = None,
              target_value: float | None = None, bounded: bool | None = None,
              style_layers_only: Sequence[str] | None = None) -> tuple[np.ndarray, float]:
    """L-BFGS-B at one scale. Returns (image, cost so far).

    At full resolution every evaluation is a point of the trace. At a coarser scale the full-res objective
    of the upsampled image is evaluated every ``checkpoint_every`` iterations and at the end, off the clock.
    """
    import tensorflow as tf
    from scipy.optimize import minimize

    shape = tuple(shape)
    full = shape == problem.shape
    rel = shape[0] * shape[1] / problem.pixels
    objective = problem.objective(shape)
    to_image, from_image, n = make_transform(param, shape, levels, level_gain)
    pixel = param == "pixel"
    bounded = pixel if bounded is None else bounded

    @tf.function(jit_compile=problem.jit_compile, reduce_retracing=True)
    @tf.autograph.experimental.do_not_convert
    def vg(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            raw = to_image(p)
            img = raw if bounded else tf.clip_by_value(raw, 0.0, 1.0)
            parts = objective.parts(img)
            total = parts["total"]
            if not bounded:  # keep the raw image near [0, 1] so clipping stays mild
                total = total + 1e7 * tf.reduce_mean(tf.square(raw - img))
        return parts["total"], total, tape.gradient(total, p), img

    state = {"cost": cost0, "best": np.inf, "best_img": init, "it": 0}

    class Done(Exception):
        pass

    def fun(p):
        if cost_limit is not None and state["cost"] >= cost_limit:
            raise Done
        if time_limit is not None and clock.now() >= time_limit:
            raise Done
        if target_value is not None and state["best"] <= target_value:
            raise Done
        value, total, grad, img = vg(tf.constant(p, tf.float32))
        state["cost"] += rel
        v = float(value)
        if v < state["best"]:
            state["best"], state["best_img"] = v, img[0].numpy()
        if full:
            trace.add(state["cost"], clock.now(), v)
            trace.full_walls.append(clock.now())
            if VERBOSE and len(trace.full_walls) % 10 == 0:
                print(f"  [{time.strftime('%H:%M:%S')}]", end="")
                print(f"  cost {state['cost']:.1f} wall {clock.now():.0f}s best {min(trace.value):.4g}", flush=True)
        return float(total), grad.numpy().astype(np.float64)

    def checkpoint():
        clock.pause()
        trace.add(state["cost"], clock.spent, problem.full_objective(state["best_img"])["total"])
        clock.resume()

    def callback(*_):
        state["it"] += 1
        if not full and checkpoint_every and state["it"] % checkpoint_every == 0:
            checkpoint()

    bounds = [(0.0, 1.0)] * n if bounded else None
    try:
        minimize(fun, from_image(init), jac=True, method="L-BFGS-B", bounds=bounds, callback=callback,
                 options={"maxiter": iters, "maxcor": corrections, "maxls": maxls, "maxfun": iters * 3 + 20,
                          "ftol": 0, "gtol": 0})
    except Done:
        pass
    if not full:
        checkpoint()
    return np.clip(state["best_img"], 0, 1).astype(np.float32), state["cost"]


def coarse_shapes(shape, scales: int, min_side: int = 48):
    h, w = shape
    out = []
    for level in reversed(range(scales)):
        f = 2.0**-level
        sh = (max(1, round(h * f)), max(1, round(w * f)))
        if level == 0 or min(sh) >= min_side:
            out.append(sh)
    return out


def upsample(problem: Problem, image: np.ndarray, shape, residual: bool) -> np.ndarray:
    """Upsample a coarse result to ``shape``; ``residual`` keeps the content's fine detail:
    x_fine = content_fine + up(x_coarse − content_coarse)."""
    from nst_lib.images import resize_to

    shape = tuple(shape)
    if not residual:
        return resize_to(image, *shape)
    coarse_content = problem.content_at(image.shape[:2])
    delta = resize_to((image - coarse_content + 1.0) / 2.0, *shape) * 2.0 - 1.0
    return np.clip(problem.content_at(shape) + delta, 0.0, 1.0).astype(np.float32)


def multiscale(problem, *, iters: Sequence[int], scales: int | None = None, residual: bool = False,
               init: str = "content", trace: Trace | None = None, clock: Clock | None = None,
               final_cost_limit: float | None = None, time_limit: float | None = None,
               target_value: float | None = None, checkpoint_every: int | None = 10, **kw) -> Trace:
    """Coarse-to-fine L-BFGS-B: ``iters[i]`` iterations at scale i (coarsest first)."""
    trace = trace or Trace()
    clock = clock or Clock()
    shapes = coarse_shapes(problem.shape, scales or len(iters))
    iters = list(iters)[-len(shapes):]
    image = initial_image(problem, shapes[0], init)
    cost = 0.0
    clock.pause()
    trace.add(0.0, 0.0, problem.full_objective(image)["total"])
    clock.resume()
    for i, (sh, n) in enumerate(zip(shapes, iters)):
        if i:
            image = upsample(problem, image, sh, residual)
        last = i == len(shapes) - 1
        image, cost = run_scale(problem, sh, image, iters=n, trace=trace, clock=clock, cost0=cost,
                                checkpoint_every=checkpoint_every,
                                cost_limit=final_cost_limit if last else None,
                                time_limit=time_limit if last else None,
                                target_value=target_value if last else None, **kw)
    trace.image = image
    return trace


def initial_image(problem: Problem, shape, init: str) -> np.ndarray:
    content = problem.content_at(shape)
    if init == "content":
        return content.copy()
    if init == "histogram":  # content with the style's colour statistics
        from nst_lib import color
        return np.clip(color.match_color_histogram(content, problem.style_full), 0, 1).astype(np.float32)
    if init == "mean_std":  # per-channel mean/std of the style
        s = problem.style_full.reshape(-1, 3)
        c = content.reshape(-1, 3)
        out = (c - c.mean(0)) / (c.std(0) + 1e-6) * s.std(0) + s.mean(0)
        return np.clip(out.reshape(content.shape), 0, 1).astype(np.float32)
    raise ValueError(init)
