"""L-BFGS in TensorFlow, in float32, for the [0, 1] box (taught beside SciPy's L-BFGS-B in notebook 05).

SciPy's L-BFGS-B (:func:`nst_lib.optimize.run_lbfgs`) works on a float64 copy of the image and goes back and
forth between NumPy and TensorFlow at every evaluation; at 256 px that bookkeeping costs about a quarter of
an iteration, and its float64 arrays are why a 512 px run peaks above the tutorial's Adam. This module keeps
everything in float32 tensors:

* **direction**: the two-loop recursion (Nocedal & Wright, Algorithm 7.4) over the last ``corrections``
  pairs (s, y), kept in two (m, n) float32 buffers; H₀ = γI with γ = sᵀy / yᵀy of the newest pair. One
  traced function per iteration computes it (:func:`_direction`).
* **the box** by projection: components at a bound whose gradient points outwards are held (their
  gradient and direction are zero), and every trial point is clipped to [0, 1] (projected search, as in
  Bertsekas' projected Newton methods and the "L-BFGS-B lite" of many deep-learning codes).
* **line search**: backtracking with the Armijo condition on the projected step, f(x⁺) ≤ f(x) + c₁ gᵀ(x⁺ − x),
  stepping back by safeguarded quadratic interpolation. A pair is kept only with positive curvature
  (sᵀy > ε yᵀy), which replaces the Wolfe curvature condition's job of keeping H positive definite.
  The first iteration (and any after a reset) tries a step of length 1/‖g‖ as SciPy does.
* **noise** (bfloat16 features make the loss noisy in its last digits): when the search finds no lower
  value along an L-BFGS direction the memory is cleared and a scaled gradient step is tried; only when that
  fails too does the run stop with ``"line_search"``.
* **bfloat16's noise floor**: a bfloat16 run whose ``value_and_grad`` carries ``precise`` (a maker of the
  float32 evaluation of the same objective) does not take that gradient step: the first time its search
  fails along the L-BFGS direction — after a few hundred iterations at 256 px, when the loss's rounding
  noise is as large as the decrease an iteration can still make — it goes on from the same point in
  float32, with its memory, once (docs/precision.md, "bfloat16's noise floor").

:func:`run_lbfgs_tf` has :func:`~nst_lib.optimize.run_lbfgs`'s signature and result, so ``stylize`` can use
either (``optimizer="lbfgs-tf"`` / ``"lbfgs-scipy"``; :func:`lbfgs_runner`).
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from .config import DEFAULT_LBFGS
from .optimize import Iterate, OptimizeResult, RunContext, _finish, _main_parts, _Stop, _Tracker, run_lbfgs
from .sizes import LBFGS_HISTORY_BYTES, lbfgs_corrections_for

#: sufficient decrease constant of the Armijo condition
ARMIJO_C1 = 1e-4
#: evaluations one line search may use before it gives up
MAX_LINE_SEARCH = 12
#: a pair (s, y) is stored only when sᵀy > CURVATURE_EPS · yᵀy
CURVATURE_EPS = 1e-10
#: float32 history costs half of SciPy's float64 one: the same byte cap allows twice the corrections
FLOAT32_HISTORY_FACTOR = 2


def _direction(x, g, s_buf, y_buf, rho, count, head):
    """The search direction −H·g on the free components (two-loop recursion), and the free mask.

    ``s_buf``/``y_buf``: (m, n) ring buffers, ``head`` the slot of the newest pair, ``count`` pairs stored.
    Components at a bound whose gradient pushes outwards are held (free mask 0).
    """
    held = tf.logical_or(tf.logical_and(x <= 0.0, g > 0.0), tf.logical_and(x >= 1.0, g < 0.0))
    free = tf.cast(tf.logical_not(held), tf.float32)
    q = g * free
    m = rho.shape[0]  # static; the buffers' first dimension is left open (_History.release)
    alphas = tf.TensorArray(tf.float32, size=tf.maximum(count, 1))

    def newest_first(i, q, alphas):
        slot = tf.math.floormod(head - i, m)
        alpha = rho[slot] * tf.tensordot(s_buf.sparse_read(slot), q, 1)
        return i + 1, q - alpha * y_buf.sparse_read(slot), alphas.write(i, alpha)

    # one pair at a time: sparse_read reads one row of a buffer (indexing would read the whole buffer), and
    # parallel_iterations=1 keeps a single iteration's tensors alive
    _, q, alphas = tf.while_loop(lambda i, *_: i < count, newest_first, (tf.constant(0), q, alphas),
                                 parallel_iterations=1)
    newest_y = y_buf.sparse_read(head)
    gamma = tf.where(count > 0, tf.tensordot(s_buf.sparse_read(head), newest_y, 1)
                     / tf.maximum(tf.tensordot(newest_y, newest_y, 1), 1e-30), 1.0)
    r = gamma * q

    def oldest_first(j, r):
        i = count - 1 - j
        slot = tf.math.floormod(head - i, m)
        beta = rho[slot] * tf.tensordot(y_buf.sparse_read(slot), r, 1)
        return j + 1, r + (alphas.read(i) - beta) * s_buf.sparse_read(slot)

    _, r = tf.while_loop(lambda j, *_: j < count, oldest_first, (tf.constant(0), r), parallel_iterations=1)
    return -r * free, free


def _store_pair(s, y, s_buf, y_buf, rho, slot):
    """Write the pair (s, y) into ``slot`` of the buffers (variables) and its ρ = 1 / sᵀy."""
    s_buf.scatter_update(tf.IndexedSlices(s[tf.newaxis], slot[tf.newaxis]))
    y_buf.scatter_update(tf.IndexedSlices(y[tf.newaxis], slot[tf.newaxis]))
    rho.scatter_update(tf.IndexedSlices((1.0 / tf.tensordot(y, s, 1))[tf.newaxis], slot[tf.newaxis]))


class _History:
    """The L-BFGS memory: float32 ring buffers of the last ``size`` pairs (s, y).

    Its two graphs (the direction, storing a pair) are traced once per history, i.e. once per run: they
    close over this history's buffers, so concurrent runs share nothing. They hold the buffers, not the
    history (a history its own graphs referred to would be one more reference cycle); a run empties them
    with :meth:`release` when it ends.
    """

    def __init__(self, size: int, n: int):
        self.size = size
        # the first dimension is left open so that release() can empty the buffers (see there)
        self.s = tf.Variable(tf.zeros((size, n), tf.float32), trainable=False, shape=(None, n))
        self.y = tf.Variable(tf.zeros((size, n), tf.float32), trainable=False, shape=(None, n))
        self.rho = tf.Variable(tf.zeros((size,), tf.float32), trainable=False)
        self.count, self.head = 0, -1
        # autograph off: the loops are explicit tf.while_loops, and the graphs never depend on reading source.
        # functools.partial, not a lambda: TensorFlow counts retracings per function *code*, so every tile of a
        # poster (a new history each) made one lambda "retrace" and printed its warning to the user
        buffers = dict(s_buf=self.s, y_buf=self.y, rho=self.rho)
        self.traced_direction = tf.function(functools.partial(_direction, **buffers), autograph=False)
        self.traced_store = tf.function(functools.partial(_store_pair, **buffers), autograph=False)

    def add(self, s: tf.Tensor, y: tf.Tensor) -> bool:
        """Store the pair when its curvature sᵀy is positive enough; True when stored."""
        sy, yy = float(tf.tensordot(s, y, 1)), float(tf.tensordot(y, y, 1))
        if not (sy > CURVATURE_EPS * yy and math.isfinite(sy) and sy > 0):
            return False
        self.head = (self.head + 1) % self.size
        self.traced_store(s, y, slot=tf.constant(self.head))
        self.count = min(self.count + 1, self.size)
        return True

    def clear(self) -> None:
        self.count, self.head = 0, -1

    def release(self) -> None:
        """Free the buffers now (at the end of a run) by emptying them.

        The traced graphs hold the buffers, and TensorFlow's traced graphs are reference cycles: without this
        the buffers (up to 400 MiB) outlived their run until Python's garbage collector next ran — a tiled
        poster, one run per tile, grew by about a history per tile beyond its plan (docs/high_resolution.md).
        What the cycles keep after this is the graphs alone (a few MiB). A collection would free the buffers
        too, but it takes a noticeable fraction of a second (past a time budget's end), and a Ctrl-C arriving
        while it runs a finaliser is not raised.
        """
        self.clear()
        empty = tf.zeros((0, self.s.shape[1]), tf.float32)
        self.s.assign(empty)
        self.y.assign(empty)

    def direction(self, x: tf.Tensor, g: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return self.traced_direction(x, g, count=tf.constant(self.count), head=tf.constant(max(self.head, 0)))


def float32_corrections_for(corrections: int, n_values: int) -> int:
    """``corrections``, lowered so that the float32 history (2 · m · n · 4 bytes) stays under the cap SciPy's
    float64 history has (:data:`~nst_lib.sizes.LBFGS_HISTORY_BYTES`): twice SciPy's corrections fit."""
    return lbfgs_corrections_for(corrections, n_values, FLOAT32_HISTORY_FACTOR * LBFGS_HISTORY_BYTES)


def _projected_gradient_norm(x: tf.Tensor, g: tf.Tensor) -> float:
    """‖P(x − g) − x‖∞: zero exactly at a stationary point of the box-constrained problem."""
    return float(tf.reduce_max(tf.abs(tf.clip_by_value(x - g, 0.0, 1.0) - x)))


def run_lbfgs_tf(
    value_and_grad: Callable,
    init: np.ndarray,
    *,
    steps: int,
    corrections: int = 10,
    max_evaluations: int | None = None,
    callback: Callable[[Iterate], Optional[bool]] | None = None,
    time_budget: float | None = None,
    context: RunContext | None = None,
) -> OptimizeResult:
    """Projected L-BFGS on the pixels in float32 TensorFlow, bounds [0, 1] (see the module docstring).

    Same arguments, events and result as :func:`~nst_lib.optimize.run_lbfgs`: ``steps`` iterations, at
    most ``max_evaluations`` evaluations (default ``3 · steps + 20``), the best image seen is returned.
    ``corrections`` is capped like SciPy's, but float32 pairs take half the bytes. A ``value_and_grad`` in
    bfloat16 may carry ``precise``, a function making the float32 ``value_and_grad`` of the same objective
    (``make_value_and_grad(objective, precise=…)``): the run continues with it once its search stalls in
    bfloat16's noise (the result's notes say when).
    """
    tracker = _Tracker(callback, time_budget, context or RunContext(), init.shape[:2])
    limit = steps * 3 + 20 if max_evaluations is None else max_evaluations
    shape = (1, *init.shape)
    n = int(np.prod(init.shape))
    memory = _History(float32_corrections_for(corrections, n), n)

    def evaluate(x: tf.Tensor):
        if tracker.evaluations >= limit:
            raise _Stop("evaluations")
        tracker.check_time()
        parts, grad = value_and_grad(tf.reshape(x, shape))
        values = _main_parts(parts)
        tracker.observe(values["total"], lambda: tf.reshape(x, shape[1:]).numpy())
        grad = tf.reshape(tf.cast(grad, tf.float32), [-1])
        if not bool(tf.reduce_all(tf.math.is_finite(grad))):
            raise _Stop("nonfinite")
        return values, grad

    reason, notes, precise = "steps", [], getattr(value_and_grad, "precise", None)
    try:
        x = tf.clip_by_value(tf.constant(init.reshape(-1), tf.float32), 0.0, 1.0)
        values, g = evaluate(x)
        while tracker.iterations < steps:
            if _projected_gradient_norm(x, g) == 0.0:
                reason = "converged"
                break
            accepted = _line_search(evaluate, memory, x, g, values["total"], gradient_step=precise is None)
            if accepted is None and precise is not None:  # bfloat16's noise floor: the same point, in float32
                value_and_grad, precise = precise(), None
                tracker.best_loss = math.inf  # float32 values from here on: the best is judged among them
                values, g = evaluate(x)
                notes.append(_switch_note(tracker.offset + tracker.iterations, float(values["total"])))
                continue
            if accepted is None:
                reason = "line_search"
                break
            x_new, values, g_new = accepted
            memory.add(x_new - x, g_new - g)
            x, g = x_new, g_new
            tracker.iteration_done(values, lambda current=x: tf.reshape(current, shape[1:]).numpy())
    except _Stop as stop:
        reason = stop.reason
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        memory.release()
    detail = " (TensorFlow L-BFGS: no lower loss along the L-BFGS or the gradient direction)" if reason == "line_search" else ""
    result = _finish(tracker, reason, init, detail)
    result.notes.extend(notes)
    return result


def _switch_note(iteration: int, value: float) -> str:
    return (f"bfloat16 reached its noise floor after iteration {iteration} (the line search found no lower loss "
            f"along the L-BFGS direction); the run went on in float32 from there (loss {value:.4g} in float32; "
            "docs/precision.md)")


def _line_search(evaluate, memory: _History, x, g, f: float, gradient_step: bool = True):
    """(x⁺, its loss parts, its gradient) by a projected backtracking search along the L-BFGS direction;
    if none is found and ``gradient_step``, the memory is cleared and the scaled gradient direction is tried;
    None if they fail."""
    for attempt in range(2 if gradient_step else 1):
        d, _ = memory.direction(x, g)
        slope = float(tf.tensordot(g, d, 1))
        if not slope < 0.0:  # not a descent direction (a poor memory): start again from the gradient
            memory.clear()
            d, _ = memory.direction(x, g)
            slope = float(tf.tensordot(g, d, 1))
            if not slope < 0.0:
                return None
        first = memory.count == 0
        step = min(1.0, 1.0 / max(float(tf.norm(d)), 1e-30)) if first else 1.0
        found = _backtrack(evaluate, x, g, d, f, step)
        if found is not None:
            return found
        if memory.count == 0:
            return None
        memory.clear()
    return None


def _backtrack(evaluate, x, g, d, f: float, step: float):
    """Try ``step``, then shorter ones (safeguarded quadratic interpolation), on the projected path."""
    for _ in range(MAX_LINE_SEARCH):
        trial = tf.clip_by_value(x + step * d, 0.0, 1.0)
        moved = trial - x
        decrease = float(tf.tensordot(g, moved, 1))
        if decrease >= 0.0:  # the projection removed every descending component
            return None
        values, grad = evaluate(trial)
        f_trial = values["total"]
        if f_trial <= f + ARMIJO_C1 * decrease:
            return trial, values, grad
        # minimiser of the quadratic through f, the slope along the step and f_trial, kept in [0.1, 0.5]·step
        curvature = f_trial - f - decrease
        shrink = 0.5 if curvature <= 0 else min(0.5, max(0.1, -decrease / (2.0 * curvature)))
        step *= shrink
    return None


LBFGS_RUNNERS = {"lbfgs-scipy": run_lbfgs, "lbfgs-tf": run_lbfgs_tf}


def lbfgs_runner(optimizer: str) -> Callable:
    """The loop for an L-BFGS optimizer name: ``lbfgs`` (:data:`~nst_lib.config.DEFAULT_LBFGS`, the one measured
    faster to the same objective: docs/precision.md), ``lbfgs-scipy`` or ``lbfgs-tf``."""
    return LBFGS_RUNNERS[DEFAULT_LBFGS if optimizer == "lbfgs" else optimizer]
