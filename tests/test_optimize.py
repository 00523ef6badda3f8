"""Adam and L-BFGS on cheap synthetic objectives: descent, best-so-far, bounds, time budget, callback
stop, Ctrl-C, and the NaN/inf guard. No VGG here (the transfer tests run the real thing)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import tensorflow as tf

from nst_lib.optimize import STOP_REASONS, Iterate, RunContext, make_value_and_grad, run_adam, run_lbfgs

SHAPE = (8, 8, 3)
RUNNERS = {"adam": run_adam, "lbfgs": run_lbfgs}


class Synthetic:
    """An Objective-like object: total = scale · mean((x − target)²) + a little roughness.

    ``poison_after`` makes the loss NaN (or ``poison``) from that call on, counted in the graph so it
    also works inside Adam's ``tf.function``; ``sleep`` slows every evaluation down (seconds).
    """

    def __init__(self, target, scale=100.0, poison_after=None, poison=np.nan, sleep=0.0, nan_gradient=False):
        self.target = tf.constant(np.asarray(target, np.float32)[np.newaxis])
        self.scale = scale
        self.calls = tf.Variable(0, dtype=tf.int64)
        self.poison_after = poison_after
        self.poison = poison
        self.sleep = sleep
        self.nan_gradient = nan_gradient

    def parts(self, image):
        self.calls.assign_add(1)
        content = tf.reduce_mean(tf.square(image - self.target))
        tv = tf.reduce_mean(tf.square(image[:, 1:] - image[:, :-1]))
        total = self.scale * content + 0.1 * tv
        if self.sleep:
            total += 0.0 * tf.py_function(lambda: time.sleep(self.sleep) or 0.0, [], tf.float32)
        if self.poison_after is not None:
            bad = self.calls > self.poison_after
            if self.nan_gradient:
                total = tf.cond(bad, lambda: _nan_gradient(total), lambda: total)
            else:
                total = tf.where(bad, tf.constant(self.poison, tf.float32), total)
        return {"total": total, "content": content, "style": tf.constant(0.0), "tv": tv}

    def value(self, image: np.ndarray) -> float:
        return float(self.parts(tf.constant(image[np.newaxis]))["total"])


@tf.custom_gradient
def _nan_gradient(x):
    def grad(upstream):
        return upstream * np.nan

    return tf.identity(x), grad


def _target(seed=0):
    return np.random.default_rng(seed).uniform(0.1, 0.9, SHAPE).astype(np.float32)


def _init(seed=1):
    return np.random.default_rng(seed).uniform(0.0, 1.0, SHAPE).astype(np.float32)


def _run(name, objective, init, **kwargs):
    kwargs.setdefault("steps", 20)
    if name == "adam":
        kwargs.setdefault("learning_rate", 0.05)
        kwargs.setdefault("beta_1", 0.9)
    return RUNNERS[name](make_value_and_grad(objective), init, **kwargs)


# ------------------------------------------------------------------------------------------- descent
@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_loss_decreases_and_events_are_reported(name):
    objective, init = Synthetic(_target(), scale=1000.0), _init()
    events: list[Iterate] = []
    result = _run(name, objective, init, steps=15, callback=events.append,
                  context=RunContext(iteration_offset=100, scale=1, scales=2))
    start = objective.value(init)
    assert result.best_loss < 0.2 * start
    assert objective.value(result.image) == pytest.approx(result.best_loss, rel=1e-5)
    assert result.image.dtype == np.float32 and result.image.shape == SHAPE
    assert 1 <= result.iterations <= 15 and result.evaluations >= result.iterations
    assert result.stop_reason in ("steps", "converged") and result.message == STOP_REASONS[result.stop_reason]
    assert [e.iteration for e in events] == list(range(101, 101 + result.iterations))
    assert all(e.scale == 1 and e.scales == 2 and e.shape == SHAPE[:2] for e in events)
    assert {"total", "content", "style", "tv"} <= set(events[-1].losses)
    assert events[-1].image().shape == SHAPE
    assert [h["iteration"] for h in result.history] == [e.iteration for e in events]
    assert all(b["elapsed"] >= a["elapsed"] for a, b in zip(result.history, result.history[1:]))


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_best_image_so_far_is_returned(name):
    # Adam with a learning rate far too large oscillates: the last iterate is not the best one
    objective, init = Synthetic(_target(), scale=100.0), _init()
    kwargs = {"learning_rate": 0.9, "beta_1": 0.0, "epsilon": 1e-8} if name == "adam" else {}
    result = _run(name, objective, init, steps=12, **kwargs)
    totals = [h["total"] for h in result.history]
    assert result.best_loss <= min(totals) + 1e-6
    assert result.best_loss <= objective.value(init)
    assert objective.value(result.image) == pytest.approx(result.best_loss, rel=1e-5)
    if name == "adam":
        assert totals[-1] > result.best_loss  # so "best so far" is not just "last"


def test_lbfgs_respects_the_bounds():
    target = np.where(np.indices(SHAPE).sum(0) % 2 == 0, -0.5, 1.5).astype(np.float32)  # outside [0, 1]
    objective = Synthetic(target)
    vg = make_value_and_grad(objective)
    seen = []

    def recording(image):
        seen.append(image.numpy().copy())
        return vg(image)

    result = run_lbfgs(recording, _init(), steps=30)
    assert seen and all(x.min() >= 0.0 and x.max() <= 1.0 for x in seen)
    np.testing.assert_allclose(result.image, np.clip(target, 0, 1), atol=2e-2)


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_adam_clips_and_both_stay_in_range(name):
    target = np.full(SHAPE, 1.7, np.float32)
    result = _run(name, Synthetic(target), _init(), steps=10, learning_rate=0.3) if name == "adam" else _run(
        name, Synthetic(target), _init(), steps=10
    )
    assert result.image.min() >= 0 and result.image.max() <= 1


# ------------------------------------------------------------------------------------------- stopping
@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_time_budget_stops_early(name):
    objective = Synthetic(_target(), sleep=0.05)
    started = time.perf_counter()
    result = _run(name, objective, _init(), steps=1000, time_budget=0.4)
    took = time.perf_counter() - started
    assert result.stop_reason == "time_budget" and result.message == STOP_REASONS["time_budget"]
    assert result.iterations < 100
    assert took < 20.0  # the budget counts from the call; tracing the first graph comes on top
    assert np.all(np.isfinite(result.image))


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_callback_returning_true_stops(name):
    seen = []

    def stop_at_two(event):
        seen.append(event.iteration)
        return event.iteration >= 2

    result = _run(name, Synthetic(_target()), _init(), steps=50, callback=stop_at_two)
    assert result.stop_reason == "callback" and result.iterations == 2 and seen == [1, 2]


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_keyboard_interrupt_returns_the_best_image(name):
    objective, init = Synthetic(_target()), _init()

    def ctrl_c(event):
        if event.iteration == 2:
            raise KeyboardInterrupt

    result = _run(name, objective, init, steps=50, callback=ctrl_c)
    assert result.stop_reason == "interrupted" and result.iterations == 2
    assert result.message == STOP_REASONS["interrupted"]
    assert objective.value(result.image) == pytest.approx(result.best_loss, rel=1e-5)
    assert result.best_loss < objective.value(init)


# ---------------------------------------------------------------------------------------- NaN guard
@pytest.mark.parametrize("name", ["adam", "lbfgs"])
@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_nonfinite_loss_stops_with_a_helpful_message_and_a_finite_image(name, poison):
    objective, init = Synthetic(_target(), poison_after=5, poison=poison), _init()
    result = _run(name, objective, init, steps=50)
    assert result.stop_reason == "nonfinite"
    assert "NaN or infinite" in result.message and "learning rate" in result.message
    assert np.all(np.isfinite(result.image)) and np.isfinite(result.best_loss)
    assert result.best_loss < Synthetic(_target()).value(init)
    assert all(np.isfinite(h["total"]) for h in result.history)


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_nonfinite_from_the_first_evaluation_returns_the_initial_image(name):
    init = _init()
    result = _run(name, Synthetic(_target(), poison_after=0), init, steps=10)
    assert result.stop_reason == "nonfinite" and result.iterations == 0
    np.testing.assert_array_equal(result.image, init)


@pytest.mark.parametrize("name", ["adam", "lbfgs"])
def test_nan_gradient_with_a_finite_loss_is_caught(name):
    objective, init = Synthetic(_target(), poison_after=4, nan_gradient=True), _init()
    result = _run(name, objective, init, steps=30)
    assert result.stop_reason == "nonfinite", result.stop_reason
    assert np.all(np.isfinite(result.image))
    assert Synthetic(_target()).value(result.image) < Synthetic(_target()).value(init)


def test_lbfgs_history_is_capped_for_large_images(monkeypatch):
    from nst_lib import optimize, sizes

    assert optimize.lbfgs_corrections_for(50, 256 * 218 * 3) == 50  # small images keep all of them
    assert optimize.lbfgs_corrections_for(50, 1024 * 874 * 3) == 9  # 2·9·n·8 bytes ≈ 370 MB
    assert 16 * 9 * 1024 * 874 * 3 <= optimize.LBFGS_HISTORY_BYTES
    assert optimize.lbfgs_corrections_for(50, 10**9) == 3  # never fewer than 3
    assert optimize.lbfgs_corrections_for(7, 100) == 7  # never more than asked

    seen = {}
    import scipy.optimize

    real = scipy.optimize.minimize

    def spy(*args, **kwargs):
        seen["maxcor"] = kwargs["options"]["maxcor"]
        return real(*args, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", spy)
    monkeypatch.setattr(sizes, "LBFGS_HISTORY_BYTES", 16 * 4 * 8 * 8 * 3)  # room for 4 at 8×8 px
    _run("lbfgs", Synthetic(_target()), _init(), steps=2, corrections=50)
    assert seen["maxcor"] == 4


# ------------------------------------------------------------------------------------ how runs end
def test_lbfgs_stop_reasons_map_scipy_status_explicitly():
    from nst_lib.optimize import lbfgs_stop_reason

    assert lbfgs_stop_reason(0, 3, 10) == "converged"
    assert lbfgs_stop_reason(1, 10, 10) == "steps"
    assert lbfgs_stop_reason(1, 4, 10) == "evaluations"  # the function evaluations ran out first
    assert lbfgs_stop_reason(2, 4, 10) == "line_search"  # ABNORMAL_TERMINATION_IN_LNSRCH is not convergence
    assert {"steps", "converged", "evaluations", "line_search"} <= set(STOP_REASONS)


def test_lbfgs_reports_an_abnormal_line_search_as_such():
    """A gradient that points the wrong way: every line search fails; SciPy says ABNORMAL, not converged."""
    objective = Synthetic(_target())
    vg = make_value_and_grad(objective)

    def wrong_gradient(image):
        parts, grad = vg(image)
        return parts, -grad

    result = run_lbfgs(wrong_gradient, _init(), steps=20)
    assert result.stop_reason == "line_search", (result.stop_reason, result.message)
    assert result.message.startswith(STOP_REASONS["line_search"]) and "ABNORMAL" in result.message


def test_lbfgs_reports_convergence_and_running_out_of_evaluations():
    flat = lambda image: ({"total": tf.reduce_sum(0.0 * image)}, tf.zeros_like(image))  # noqa: E731
    converged = run_lbfgs(flat, _init(), steps=20)  # zero gradient: the projected gradient test passes
    assert converged.stop_reason == "converged" and converged.iterations < 20
    result = _run("lbfgs", Synthetic(_target()), _init(), steps=50, max_evaluations=4)
    assert result.stop_reason == "evaluations" and result.iterations < 50, (result.stop_reason, result.iterations)
    assert result.evaluations >= 4


def test_adam_events_pair_each_loss_with_its_own_image():
    objective = Synthetic(_target(), scale=100.0)
    events: list[Iterate] = []
    _run("adam", objective, _init(), steps=5, learning_rate=0.2, callback=events.append)
    assert len(events) == 5
    for event in events:  # the loss reported is the loss of the image reported
        assert objective.value(event.image()) == pytest.approx(event.losses["total"], rel=1e-5)


def test_an_absolute_deadline_bounds_the_run():
    objective = Synthetic(_target(), sleep=0.05)
    for name in RUNNERS:
        started = time.perf_counter()
        result = _run(name, objective, _init(), steps=1000, context=RunContext(deadline=started + 0.5))
        took = time.perf_counter() - started
        assert result.stop_reason == "time_budget" and result.iterations < 100
        # the deadline is a point in time: the earlier of a deadline and a time budget wins
        early = _run(name, objective, _init(), steps=1000, context=RunContext(deadline=time.perf_counter() + 30),
                     time_budget=0.3)
        assert early.stop_reason == "time_budget" and early.iterations < 30
        assert took < 20
