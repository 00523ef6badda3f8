"""Optimising the pixels: value-and-gradient, Adam and L-BFGS-B loops (taught in notebook 05).

Both loops keep the best image seen so far, stop on a time budget, stop cleanly on a NaN/inf loss, and
turn Ctrl-C (KeyboardInterrupt) into a normal return with the best image. They never print: progress
goes to ``callback(event)`` with an :class:`Iterate`; a callback that returns ``True`` stops the run.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

from .losses import traced_value_and_grad
from .sizes import LBFGS_HISTORY_BYTES, lbfgs_corrections_for  # noqa: F401 - re-exported

#: iteration count meaning "no limit: run until the deadline" (nst_lib.transfer.UNLIMITED_STEPS)
UNLIMITED_STEPS = 10**8

STOP_REASONS = {
    "steps": "finished the requested steps",
    "converged": "converged (the gradient vanished or the loss stopped changing)",
    "line_search": "stopped early: the L-BFGS-B line search found no lower loss along its direction",
    "evaluations": "stopped early: L-BFGS-B used up the loss evaluations allowed for these steps",
    "time_budget": "time budget spent",
    "interrupted": "interrupted",
    "callback": "stopped on request",
    "nonfinite": "the loss became NaN or infinite",
}


@dataclass
class Iterate:
    """A progress event, sent to the callback after every iteration.

    ``image()`` returns the current image as a float32 (H, W, 3) array (computed only when called).
    """

    iteration: int  # global, counted over all scales
    losses: dict[str, float]  # total, content, style, tv (weighted total; unweighted parts)
    elapsed: float  # seconds since the run started
    scale: int = 0  # index of the current scale (0 = coarsest)
    scales: int = 1
    shape: tuple[int, int] = (0, 0)  # (height, width) of the current scale
    image: Callable[[], np.ndarray] = field(default=lambda: np.zeros((0, 0, 3), np.float32), repr=False)
    #: the optimiser's state now, where it can be saved (Adam: moments, step count, the iterate, its
    #: average); None for L-BFGS-B, whose history lives inside SciPy (used by ``save_state``)
    optimizer_state: Optional[Callable[[], dict]] = field(default=None, repr=False)


@dataclass
class RunContext:
    """Where one optimisation sits in a whole run (:func:`~nst_lib.transfer.stylize` makes one per scale or
    tile): the run's clock, its place in the schedule, and the run's loss history. A loop on its own
    needs none (the defaults: its own clock, iterations from 1, one scale, a fresh history)."""

    deadline: float | None = None  # absolute time.perf_counter() seconds; the earlier of this and time_budget wins
    start: float | None = None  # the whole run's start: events' elapsed times count from here
    iteration_offset: int = 0  # iterations done before this call (events count on from here)
    scale: int = 0  # index of this scale (0 = coarsest)
    scales: int = 1
    history: list | None = None  # the run's history: this loop appends its iterations to it


@dataclass(frozen=True)
class AdamSettings:
    """Adam's hyper-parameters (``StyleConfig`` holds the same with ``adam_`` names; see :func:`run_adam`)."""

    learning_rate: float = 0.02
    beta_1: float = 0.99
    beta_2: float = 0.999
    epsilon: float = 0.1
    learning_rate_end: float | None = None  # a half-cosine decay to this rate over the steps (or the time left)
    average_decay: float | None = None  # the result is the moving average of the iterates with this decay

    @classmethod
    def of_config(cls, cfg: Any) -> "AdamSettings":
        """The Adam settings of a :class:`~nst_lib.config.StyleConfig` (``learning_rate``, ``adam_beta_1``, …)."""
        return cls(cfg.learning_rate, cfg.adam_beta_1, cfg.adam_beta_2, cfg.adam_epsilon, cfg.learning_rate_end,
                   cfg.average_decay)

    @classmethod
    def of(cls, settings: "AdamSettings | None", options: dict) -> "AdamSettings":
        """``settings`` with ``options`` (keywords named like the fields) replacing fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise TypeError(f"run_adam() got unknown option(s) {', '.join(unknown)}; Adam's are {', '.join(sorted(names))}")
        return dataclasses.replace(settings or cls(), **options)


@dataclass
class OptimizeResult:
    """What a loop returns: the best image and why it stopped."""

    image: np.ndarray  # best image seen, float32 (H, W, 3) in [0, 1]
    best_loss: float
    iterations: int  # iterations done in this call
    evaluations: int  # objective evaluations (L-BFGS evaluates more than once per iteration)
    stop_reason: str  # one of STOP_REASONS
    history: list[dict] = field(default_factory=list)
    message: str = ""
    state: dict | None = None  # the optimiser's state at the end, where it can be continued (Adam's moments)
    notes: list[str] = field(default_factory=list)  # what the user should know about this run (Result.notes)


class _Stop(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def make_value_and_grad(objective, jit_compile: bool = False, *, draw: int | None = None,
                        precise: Callable[[], Callable] | None = None) -> Callable:
    """A function mapping a (1, H, W, 3) image to (loss parts, d total / d image), run as a traced graph.

    For a :class:`~nst_lib.losses.Objective`, the graph is the extractor's one ``tf.function``
    (:func:`~nst_lib.losses.traced_value_and_grad`) called with this objective's tensors: objectives on the
    same extractor with the same structure and shapes share one trace, and concurrent runs share nothing
    mutable. Each call passes the seed (the objective's seed, the evaluation number) on, so statistics
    that draw random numbers redraw them at every evaluation, reproducibly; with ``draw`` set, every call
    passes (seed, ``draw``) instead, so the loss is one fixed function (what L-BFGS needs:
    :func:`run_lbfgs_redrawing`). Any other object with a ``parts(image)`` method gets a graph of its own.
    ``precise`` (for a bfloat16 objective): a function making the float32 ``value_and_grad`` of the same
    objective, kept as the result's ``precise`` attribute for :func:`~nst_lib.lbfgs_tf.run_lbfgs_tf`.
    """
    if getattr(objective, "structure", None) is None or getattr(objective, "inputs", None) is None:

        @tf.function(jit_compile=jit_compile, reduce_retracing=True)
        def own_graph(image):
            with tf.GradientTape() as tape:
                tape.watch(image)
                parts = objective.parts(image)
            return parts, tape.gradient(parts["total"], image)

        return own_graph

    traced = traced_value_and_grad(objective.extractor, jit_compile)
    inputs, structure, run_seed = objective.inputs, objective.structure, int(objective.seed)
    evaluations = itertools.count() if draw is None else itertools.repeat(int(draw))

    def value_and_grad(image):
        seed = tf.constant([run_seed, next(evaluations)], tf.int64)
        return traced(tf.convert_to_tensor(image, tf.float32), inputs, seed, structure)

    value_and_grad.function = traced  # for trace counts: value_and_grad.function.experimental_get_tracing_count()
    value_and_grad.precise = precise
    return value_and_grad


def _main_parts(parts: dict) -> dict[str, float]:
    return {k: float(v) for k, v in parts.items()}


NONFINITE_HINT = (
    "the loss became NaN or infinite at iteration {it}; the likely cause is a learning rate or loss weight "
    "that is too large — lower it (kept the best finite image, loss {best:.4g})"
)


def _deadline(deadline: float | None, time_budget: float | None) -> float | None:
    """The earlier of an absolute ``deadline`` and ``time_budget`` seconds from now."""
    if time_budget is None:
        return deadline
    own = time.perf_counter() + time_budget
    return own if deadline is None else min(deadline, own)


class _Tracker:
    """Shared bookkeeping: best image, history, time budget, callback."""

    def __init__(self, callback, time_budget: float | None, context: RunContext, shape):
        self.callback = callback
        # an absolute deadline (time.perf_counter() seconds: stylize passes one for the whole run), or a
        # budget counted from this call; the context's `start` (the whole run's start) times the history
        self.deadline = _deadline(context.deadline, time_budget)
        self.start = time.perf_counter() if context.start is None else context.start
        self.offset = context.iteration_offset
        self.scale, self.scales = context.scale, context.scales
        self.history = context.history if context.history is not None else []
        self.best_loss = math.inf
        self.best_image: Optional[np.ndarray] = None
        self.iterations = 0
        self.evaluations = 0
        self.shape: tuple[int, int] = tuple(shape)  # (height, width) of the image being optimised
        self.eval_seconds = 0.0  # duration of the last evaluation, to avoid overshooting the budget
        self._eval_start: float | None = None

    def check_time(self):
        """Stop before an evaluation that would end more than half an evaluation past the deadline."""
        now = time.perf_counter()
        if self.deadline is not None and now + 0.5 * self.eval_seconds >= self.deadline:
            raise _Stop("time_budget")
        self._eval_start = now

    def observe(self, loss: float, image_fn: Callable[[], np.ndarray]):
        """Record one evaluated point; raise on a non-finite loss."""
        self.evaluations += 1
        if self._eval_start is not None:
            self.eval_seconds = time.perf_counter() - self._eval_start
        if not math.isfinite(loss):
            raise _Stop("nonfinite")
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_image = image_fn()

    def iteration_done(self, parts: dict[str, float], image_fn: Callable[[], np.ndarray],
                       state_fn: Optional[Callable[[], dict]] = None):
        self.iterations += 1
        elapsed = time.perf_counter() - self.start
        entry = {"iteration": self.offset + self.iterations, "elapsed": elapsed, "scale": self.scale, **parts}
        self.history.append(entry)
        if self.callback is not None:
            event = Iterate(
                iteration=self.offset + self.iterations,
                losses=parts,
                elapsed=elapsed,
                scale=self.scale,
                scales=self.scales,
                shape=self.shape,
                image=image_fn,
                optimizer_state=state_fn,
            )
            if self.callback(event):
                raise _Stop("callback")
        self.check_time()


def run_adam(
    value_and_grad: Callable,
    init: np.ndarray,
    *,
    steps: int,
    settings: AdamSettings | None = None,
    state: dict | None = None,
    callback: Callable[[Iterate], Optional[bool]] | None = None,
    time_budget: float | None = None,
    context: RunContext | None = None,
    **options: Any,
) -> OptimizeResult:
    """Adam on the pixels, clipping to [0, 1] after each step (the TensorFlow tutorial's recipe).

    Each step evaluates the new image, so the loss in an :class:`Iterate` event (and in the history) is
    the loss of that event's ``image()``: the image after the step. ``time_budget`` counts seconds from
    this call; ``context.deadline`` is an absolute ``time.perf_counter()`` time (the earlier one wins).

    The hyper-parameters are an :class:`AdamSettings` (``settings``) or its fields as keywords
    (``learning_rate=0.02, beta_1=0.99, beta_2=0.999, epsilon=0.1``). Three additions, all off by default
    (crowsonkb's recipe and a decay; measured in docs/speed.md):

    * ``learning_rate_end``: the rate falls from ``learning_rate`` to it along a half cosine over the
      ``steps`` (over the time left before the deadline when ``steps`` is unlimited);
    * ``average_decay``: the result is the bias-corrected exponential moving average of the iterates
      (decay e.g. 0.99) instead of the best iterate, which smooths Adam's last oscillations; events then
      show that average as their ``image()`` (their losses stay the iterate's);
    * ``state``: moments to start from (``m``, ``v`` as (H, W, 3) arrays, the step count ``t``, and the
      average) — from an earlier scale (resized) or a saved run; the result's ``state`` holds them at the end.

    The update is Keras' Adam written out: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    x ← clip(x − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε), 0, 1).
    """
    adam = AdamSettings.of(settings, options)
    tracker = _Tracker(callback, time_budget, context or RunContext(), init.shape[:2])
    moments = _AdamMoments.start(init, state, adam.average_decay)
    rate = _learning_rate_schedule(adam, steps, tracker)
    reason = "steps"
    try:
        tracker.check_time()
        parts, grad = value_and_grad(moments.image)  # the start is evaluated too: every event pairs an image and its loss
        values = _main_parts(parts)
        tracker.observe(values["total"], lambda start=moments.image: start[0].numpy())
        for step in range(1, steps + 1):
            moments.step(grad, rate(step), adam)
            tracker.check_time()
            parts, grad = value_and_grad(moments.image)
            values = _main_parts(parts)
            tracker.observe(values["total"], lambda current=moments.image: current[0].numpy())
            tracker.iteration_done(values, moments.shown(), moments.saver())
    except _Stop as stop:
        reason = stop.reason
    except KeyboardInterrupt:
        reason = "interrupted"
    final_state = moments.final_state(tracker.iterations)
    result_image = None
    if moments.averaging and moments.average_weight > 0:
        result_image = final_state["average"] / moments.average_weight
    result = _finish(tracker, reason, init, image=result_image)
    result.state = final_state
    return result


def _learning_rate_schedule(adam: AdamSettings, steps: int, tracker: "_Tracker") -> Callable[[int], float]:
    """step → learning rate: constant, or a half cosine from ``learning_rate`` to ``learning_rate_end`` over
    the steps (over the time left before the deadline when the steps are unlimited)."""
    run_start = time.perf_counter()

    def rate(step: int) -> float:
        if adam.learning_rate_end is None:
            return adam.learning_rate
        progress = step / steps
        if steps >= UNLIMITED_STEPS and tracker.deadline is not None:  # run until the deadline
            progress = (time.perf_counter() - run_start) / max(1e-9, tracker.deadline - run_start)
        progress = min(1.0, max(0.0, progress))
        low, high = adam.learning_rate_end, adam.learning_rate
        return low + 0.5 * (high - low) * (1 + math.cos(math.pi * progress))

    return rate


class _AdamMoments:
    """Adam's state during a run: the iterate, the moments, the step count, the moving average."""

    def __init__(self, image, m, v, t0: int, average, average_weight: float, decay: float | None):
        self.image, self.m, self.v, self.t0, self.t = image, m, v, t0, t0
        self.average, self.average_weight, self.decay = average, average_weight, decay
        self.averaging = decay is not None

    @classmethod
    def start(cls, init: np.ndarray, state: dict | None, decay: float | None) -> "_AdamMoments":
        image = tf.constant(init[np.newaxis].astype(np.float32))
        state = dict(state or {})

        def saved(key):
            return tf.constant(state[key][np.newaxis], tf.float32) if key in state else tf.zeros_like(image)

        average = saved("average") if decay is not None else None
        # t0: steps already taken (bias correction continues from there); average_weight = 1 − decay^n
        return cls(image, saved("m"), saved("v"), int(state.get("t", 0)), average,
                   float(state.get("average_weight", 0.0)), decay)

    def step(self, grad, learning_rate: float, adam: AdamSettings) -> None:
        self.t += 1
        self.m = adam.beta_1 * self.m + (1 - adam.beta_1) * grad
        self.v = adam.beta_2 * self.v + (1 - adam.beta_2) * tf.square(grad)
        alpha = learning_rate * math.sqrt(1 - adam.beta_2**self.t) / (1 - adam.beta_1**self.t)
        self.image = tf.clip_by_value(self.image - alpha * self.m / (tf.sqrt(self.v) + adam.epsilon), 0.0, 1.0)
        if self.averaging:
            self.average = self.decay * self.average + (1 - self.decay) * self.image
            self.average_weight = self.decay * self.average_weight + (1 - self.decay)

    def shown(self) -> Callable[[], np.ndarray]:
        """The picture an event shows: the average when averaging, else the iterate."""
        if self.averaging:
            average, weight = self.average, self.average_weight
            return lambda: (average[0] / max(weight, 1e-12)).numpy()
        current = self.image
        return lambda: current[0].numpy()

    def saver(self) -> Callable[[], dict]:
        """The state now, as a function (an event's ``optimizer_state``: computed only when saved)."""
        image, m, v, t, average, weight = self.image, self.m, self.v, self.t, self.average, self.average_weight

        def get() -> dict:
            out = {"m": m[0].numpy(), "v": v[0].numpy(), "t": np.array(t), "iterate": image[0].numpy()}
            if self.averaging:
                out["average"], out["average_weight"] = average[0].numpy(), np.array(weight)
            return out

        return get

    def final_state(self, iterations: int) -> dict:
        """The state at the end; the step count is the steps completed (a step cut short does not count)."""
        out = {"m": self.m[0].numpy(), "v": self.v[0].numpy(), "t": np.array(self.t0 + iterations)}
        if self.averaging:
            out["average"], out["average_weight"] = self.average[0].numpy(), np.array(self.average_weight)
        return out


def run_lbfgs(
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
    """L-BFGS-B (SciPy) on the pixels with bounds [0, 1]: no clipping needed, the bounds are exact.

    ``steps`` counts L-BFGS iterations; each may evaluate the objective more than once (line search), up
    to ``max_evaluations`` in all (default ``3 · steps + 20``). SciPy's ending is mapped explicitly: status 0
    is ``"converged"``; status 1 is ``"steps"`` when the iterations ran out and ``"evaluations"`` when the
    evaluations did; status 2 (an abnormal line-search end) is ``"line_search"``, whose message quotes SciPy.
    ``corrections`` is capped by :func:`lbfgs_corrections_for` (SciPy fills its history as it goes, so
    without a cap a 1024 px run with 50 corrections would grow by 2.1 GB over its first 50 iterations).
    ``time_budget`` and ``context`` as for :func:`run_adam`.
    """
    from scipy.optimize import Bounds, minimize

    tracker = _Tracker(callback, time_budget, context or RunContext(), init.shape[:2])
    shape = (1, *init.shape)
    last: dict = {}

    def fun(x: np.ndarray):
        tracker.check_time()
        image = tf.constant(x.reshape(shape), tf.float32)
        parts, grad = value_and_grad(image)
        values = _main_parts(parts)
        last["values"], last["x"] = values, x
        tracker.observe(values["total"], lambda: x.reshape(shape[1:]).astype(np.float32))
        gradient = grad.numpy().astype(np.float64).ravel()
        if not np.all(np.isfinite(gradient)):  # SciPy would stop silently ("ABNORMAL"), looking converged
            raise _Stop("nonfinite")
        return values["total"], gradient

    def on_iteration(intermediate_result=None):
        # L-BFGS-B's line search ends on the accepted point, so `last` holds its losses; the image is copied
        # now because SciPy updates its own array in place
        image = last["x"].reshape(shape[1:]).astype(np.float32)
        tracker.iteration_done(last["values"], lambda: image)

    reason, detail = "steps", ""
    try:
        tracker.check_time()
        result = minimize(
            fun,
            init.astype(np.float64).ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=Bounds(0.0, 1.0),
            callback=on_iteration,
            options={
                "maxiter": steps,
                "maxcor": lbfgs_corrections_for(corrections, init.size),
                "maxfun": steps * 3 + 20 if max_evaluations is None else max_evaluations,
                "ftol": 0,
                "gtol": 0,
            },
        )
        reason = lbfgs_stop_reason(result.status, result.nit, steps)
        if reason == "line_search":
            detail = f" (SciPy: {result.message})"
    except _Stop as stop:
        reason = stop.reason
    except KeyboardInterrupt:
        reason = "interrupted"
    return _finish(tracker, reason, init, detail)


def lbfgs_stop_reason(status: int, iterations: int, steps: int) -> str:
    """The stop reason for SciPy's L-BFGS-B ``status`` after ``iterations`` of ``steps`` allowed.

    0: converged (projected gradient or relative loss change below tolerance); 1: a limit was reached —
    the iterations (``"steps"``) or the function evaluations (``"evaluations"``); 2: the line search ended
    abnormally or another warning (``"line_search"``): not converged, the loss may still go down.
    """
    if status == 0:
        return "converged"
    if status == 1:
        return "steps" if iterations >= steps else "evaluations"
    return "line_search"


#: L-BFGS iterations per draw of a random loss's numbers (the sliced Wasserstein distance's directions):
#: benchmarks/sliced_optimizers.py compared redrawing at every evaluation or iteration (L-BFGS-B's line
#: search then gives up within a few iterations), one draw per run, and blocks of 10 and 30 iterations.
SLICED_LBFGS_BLOCK = 30

#: how a block of :func:`run_lbfgs_redrawing` may end and still hand over to the next draw
_BLOCK_ENDS = ("steps", "converged", "line_search", "evaluations")


def run_lbfgs_redrawing(
    value_and_grad_for: Callable[[int], Callable],
    init: np.ndarray,
    *,
    steps: int,
    block: int = SLICED_LBFGS_BLOCK,
    callback: Callable[[Iterate], Optional[bool]] | None = None,
    time_budget: float | None = None,
    context: RunContext | None = None,
    **options,
) -> OptimizeResult:
    """L-BFGS-B for a loss that draws random numbers (the sliced Wasserstein distance's directions).

    L-BFGS assumes one fixed function: its line search compares the values, and its memory the gradients,
    of successive evaluations. So the random numbers are drawn once per block of ``block`` iterations
    (``value_and_grad_for(draw)`` is the loss with draw number ``draw``), and each block is a fresh
    :func:`run_lbfgs` (memory cleared) starting where the previous one ended. Draw numbers are the global
    iteration number at the block's start, so they differ between blocks and between scales. A block that
    ends early (converged, or the line search gave up) hands over to the next draw; the run ends after
    ``steps`` iterations in all, on the time budget or deadline, on Stop, on a NaN, or when two blocks in
    a row make no iteration. Other keyword arguments go to :func:`run_lbfgs`.

    Returns the last block's :class:`OptimizeResult` (its best image) with the whole run's ``iterations``,
    ``evaluations`` and ``history``.
    """
    context = context or RunContext()
    whole = dataclasses.replace(
        context, start=time.perf_counter() if context.start is None else context.start,
        deadline=_deadline(context.deadline, time_budget), history=[] if context.history is None else context.history)
    image, done, evaluations, idle = init, 0, 0, 0
    while True:
        offset = whole.iteration_offset + done
        outcome = run_lbfgs(value_and_grad_for(offset), image, steps=min(block, steps - done), callback=callback,
                            context=dataclasses.replace(whole, iteration_offset=offset), **options)
        done += outcome.iterations
        evaluations += outcome.evaluations
        image = outcome.image
        idle = idle + 1 if outcome.iterations == 0 else 0
        if outcome.stop_reason not in _BLOCK_ENDS or done >= steps or idle >= 2:
            break
    outcome.iterations, outcome.evaluations, outcome.history = done, evaluations, whole.history
    if outcome.stop_reason in _BLOCK_ENDS and done >= steps:
        outcome.stop_reason, outcome.message = "steps", STOP_REASONS["steps"]
    return outcome


def _finish(tracker: _Tracker, reason: str, init: np.ndarray, detail: str = "",
            image: np.ndarray | None = None) -> OptimizeResult:
    if image is None:  # the best image seen (Adam with averaging returns its average instead)
        image = tracker.best_image if tracker.best_image is not None else init.astype(np.float32)
    message = STOP_REASONS[reason] + detail
    if reason == "nonfinite":
        message = NONFINITE_HINT.format(it=tracker.offset + tracker.iterations + 1, best=tracker.best_loss)
    return OptimizeResult(
        image=np.clip(image, 0.0, 1.0).astype(np.float32),
        best_loss=tracker.best_loss,
        iterations=tracker.iterations,
        evaluations=tracker.evaluations,
        stop_reason=reason,
        history=tracker.history,
        message=message,
    )
