"""The float32 L-BFGS in TensorFlow (nst_lib/lbfgs_tf.py) against SciPy's L-BFGS-B.

Textbook functions on the [0, 1] box (minimum inside, minimum outside, a coupled quadratic with active
bounds), the style-transfer objective at a tiny size (same objective within 1 % after 100 iterations), the
stop reasons, one trace per run, and a run's memory freed when it returns.
"""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_content, make_style
from nst_lib import lbfgs_tf
from nst_lib.config import DEFAULT_LBFGS, OPTIMIZERS
from nst_lib.lbfgs_tf import lbfgs_runner, run_lbfgs_tf
from nst_lib.optimize import run_lbfgs


def _traced(function):
    """A value-and-gradient function of a (1, H, W, 3) image, as the optimisers call it."""

    @tf.function
    def value_and_grad(image):
        x = tf.reshape(tf.cast(image, tf.float32), [-1])
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = function(x)
        return {"total": total}, tf.reshape(tape.gradient(total, x), tf.shape(image))

    return value_and_grad


def _rosenbrock(x):
    z = 4.0 * x - 2.0  # the box [0, 1] is [-2, 2] for Rosenbrock; its minimum z = 1 is x = 0.75
    a, b = z[0::2], z[1::2]
    return tf.reduce_sum(100.0 * (b - a**2) ** 2 + (1.0 - a) ** 2)


START = np.full((4, 5, 3), 0.3, np.float32)  # 60 variables


@pytest.mark.parametrize("runner", [run_lbfgs, run_lbfgs_tf])
def test_rosenbrock_in_the_box(runner):
    result = runner(_traced(_rosenbrock), START, steps=200, corrections=10)
    assert result.best_loss < 1e-6, (runner.__name__, result.best_loss, result.stop_reason)
    np.testing.assert_allclose(result.image, 0.75, atol=2e-3)


def test_a_minimum_outside_the_box_is_its_projection():
    rng = np.random.default_rng(0)
    centre = rng.uniform(-0.5, 1.5, START.size).astype(np.float32)  # about half the optimum lies outside
    weights = rng.uniform(0.5, 20.0, START.size).astype(np.float32)

    def quadratic(x):
        return tf.reduce_sum(weights * (x - centre) ** 2)

    result = run_lbfgs_tf(_traced(quadratic), START, steps=100)
    # float32 resolves the loss to ~1e-7 of its value (here mostly the clipped components' constant part), so
    # the free components are found to ~1e-3, not to SciPy's float64 precision
    np.testing.assert_allclose(result.image.ravel(), np.clip(centre, 0, 1), atol=2e-3)
    assert np.all(result.image.ravel()[centre <= 0] == 0) and np.all(result.image.ravel()[centre >= 1] == 1)
    assert result.stop_reason in ("converged", "steps", "line_search")


def test_a_coupled_quadratic_with_active_bounds_matches_scipy():
    rng = np.random.default_rng(1)
    n = START.size
    basis = rng.normal(size=(n, n)).astype(np.float32)
    matrix = (basis @ basis.T / n + 0.1 * np.eye(n)).astype(np.float32)  # condition number in the hundreds
    target = rng.uniform(-0.3, 1.3, n).astype(np.float32)

    def quadratic(x):
        d = x - target
        return tf.tensordot(d, tf.linalg.matvec(matrix, d), 1)

    ours = run_lbfgs_tf(_traced(quadratic), START, steps=300, corrections=10)
    scipy = run_lbfgs(_traced(quadratic), START, steps=300, corrections=10)
    assert ours.best_loss <= scipy.best_loss * 1.001 + 1e-5, (ours.best_loss, scipy.best_loss)
    np.testing.assert_allclose(ours.image, scipy.image, atol=5e-3)


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_the_style_objective_reaches_scipys_value_within_one_percent(offline_weights):
    from nst_lib.optimize import make_value_and_grad
    from nst_lib.transfer import make_objective

    content, style = make_content(32, 32), make_style(32, 32)
    objective = make_objective(content, style, size=32, backbone="vgg16", precision="float32")
    value_and_grad = make_value_and_grad(objective)
    ours = run_lbfgs_tf(value_and_grad, content, steps=100, corrections=50)
    scipy = run_lbfgs(value_and_grad, content, steps=100, corrections=50)
    start = float(objective.parts(content[np.newaxis])["total"])
    assert scipy.best_loss < 0.2 * start  # the problem is a real one: both lower it a lot
    assert ours.iterations == 100 or ours.stop_reason == "converged", ours.message
    assert ours.best_loss <= 1.01 * scipy.best_loss, (ours.best_loss, scipy.best_loss)


def test_one_trace_of_each_graph_per_run_and_right_answers_at_every_size(monkeypatch):
    """The direction and the pair update are traced once for a whole run (a poster's every tile is a new
    run, and a new size): with the right answer at every size."""
    traced = []

    class Recorded(lbfgs_tf._History):
        def __init__(self, *args):
            super().__init__(*args)
            traced.append((self.traced_direction, self.traced_store))

    monkeypatch.setattr(lbfgs_tf, "_History", Recorded)
    result = run_lbfgs_tf(_traced(_rosenbrock), START, steps=30, corrections=5)
    assert result.iterations == 30 and len(traced) == 1
    for side in (6, 8, 10):
        start = np.full((side, side, 3), 0.3, np.float32)
        result = run_lbfgs_tf(_traced(_rosenbrock), start, steps=200, corrections=10)
        assert result.best_loss < 1e-6, (side, result.best_loss, result.stop_reason)
    assert len(traced) == 4
    for direction, store in traced:
        assert direction.experimental_get_tracing_count() == 1
        assert store.experimental_get_tracing_count() == 1


def test_a_finished_runs_buffers_do_not_wait_for_the_garbage_collector():
    """The L-BFGS history (up to 400 MiB of float32 pairs) must be freed when its run returns: a tiled
    poster runs one L-BFGS per tile. Its traced graphs hold its buffers and are reference cycles inside
    TensorFlow, so the buffers stayed allocated until Python's collector happened to run — the memory of
    a poster grew tile by tile. With the collector off (as it mostly is between its rare full collections),
    every buffer a collection after the run finds (a variable, or a resource handle a graph captured) must
    be empty or tiny."""
    import gc

    start = np.full((40, 40, 3), 0.3, np.float32)  # 4800 values: a full buffer holds 10 × 4800
    run_lbfgs_tf(_traced(_rosenbrock), start, steps=3, corrections=10)  # traces happen outside the check
    gc.collect()
    gc.disable()
    try:
        result = run_lbfgs_tf(_traced(_rosenbrock), start, steps=10, corrections=10)
        assert result.iterations == 10
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        handles = [obj.handle if isinstance(obj, tf.Variable) else obj for obj in gc.garbage
                   if isinstance(obj, tf.Variable)
                   or (isinstance(obj, tf.Tensor) and not tf.is_symbolic_tensor(obj) and obj.dtype == tf.resource)]
        assert handles, "the check found no buffer at all: it would not see one that is kept"
        sizes = [int(tf.size(tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32))) for handle in handles]
        assert max(sizes) <= 10, f"buffers kept after the run returned, waiting for the collector: {sizes} values"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_stop_reasons_are_those_of_the_scipy_loop():
    value_and_grad = _traced(_rosenbrock)
    stopped = run_lbfgs_tf(value_and_grad, START, steps=50, callback=lambda event: event.iteration >= 3)
    assert stopped.stop_reason == "callback" and stopped.iterations == 3
    limited = run_lbfgs_tf(value_and_grad, START, steps=50, max_evaluations=5)
    assert limited.stop_reason == "evaluations" and limited.evaluations == 5
    assert run_lbfgs_tf(value_and_grad, START, steps=5).stop_reason == "steps"

    @tf.function
    def explodes(image):
        return {"total": tf.constant(np.nan, tf.float32)}, tf.zeros_like(image)

    nan = run_lbfgs_tf(explodes, START, steps=5)
    assert nan.stop_reason == "nonfinite" and "NaN" in nan.message
    np.testing.assert_array_equal(nan.image, START)


def test_the_names_of_the_lbfgs_loops():
    assert {"lbfgs", "lbfgs-scipy", "lbfgs-tf", "adam"} <= set(OPTIMIZERS)
    assert lbfgs_runner("lbfgs-tf") is run_lbfgs_tf and lbfgs_runner("lbfgs-scipy") is run_lbfgs
    assert lbfgs_runner("lbfgs") is lbfgs_runner(DEFAULT_LBFGS)


def test_stylize_with_the_tensorflow_lbfgs(offline_weights):
    import nst_lib

    result = nst_lib.stylize(make_content(40, 40), make_style(40, 40), size=40, steps=8, backbone="vgg16",
                             optimizer="lbfgs-tf")
    assert result.iterations == 8 and result.config.optimizer == "lbfgs-tf"
    assert result.history[-1]["total"] < 0.5 * result.history[0]["total"]


# ------------------------------------------------------------------- bfloat16's noise floor: go on in float32
def _coarse(function, quantum: float):
    """``function`` whose value is rounded to ``quantum``: a loss noisy in its last digits, as bfloat16 makes it."""
    exact = _traced(function)

    def value_and_grad(image):
        parts, grad = exact(image)
        return {"total": tf.round(parts["total"] / quantum) * quantum}, grad

    return value_and_grad


def _noise_floor_problem():
    rng = np.random.default_rng(1)
    centre = tf.constant(rng.uniform(0.2, 0.8, START.size), tf.float32)
    weights = tf.constant(rng.uniform(0.5, 20.0, START.size), tf.float32)
    return lambda x: tf.reduce_sum(weights * (x - centre) ** 2)


def test_a_run_stalled_in_noise_goes_on_with_the_precise_evaluation_once():
    quadratic = _noise_floor_problem()
    quantum = 1e-3 * float(_traced(quadratic)(START[np.newaxis])[0]["total"])
    alone = run_lbfgs_tf(_coarse(quadratic, quantum), START, steps=200)
    made = []

    def precise():
        made.append(1)
        return _traced(quadratic)

    noisy = _coarse(quadratic, quantum)
    noisy.precise = precise  # as make_value_and_grad(objective, precise=…) marks a bfloat16 evaluation
    helped = run_lbfgs_tf(noisy, START, steps=200)
    alone_loss, helped_loss = (float(quadratic(tf.constant(r.image.ravel()))) for r in (alone, helped))
    assert alone.stop_reason == "line_search" and not alone.notes  # it cannot see below its rounding
    assert made == [1] and len(helped.notes) == 1 and "float32" in helped.notes[0]
    switched_at = int(helped.notes[0].split("after iteration ")[1].split()[0])
    assert 0 < switched_at < helped.iterations and helped.best_loss == pytest.approx(helped_loss, rel=1e-5)
    assert helped_loss < 1e-3 * alone_loss, (helped_loss, alone_loss)


def test_a_run_that_never_stalls_never_builds_the_precise_evaluation():
    made = []
    exact = _coarse(_noise_floor_problem(), 1e-30)
    exact.precise = lambda: made.append(1)
    result = run_lbfgs_tf(exact, START, steps=5)
    assert result.iterations == 5 and not made and not result.notes


def test_stylize_offers_float32_to_bfloat16_lbfgs_runs_that_fit_whole_in_float32(offline_weights, monkeypatch):
    from nst_lib import transfer
    from nst_lib.config import StyleConfig
    from nst_lib.inputs import prepare_inputs

    def continuation(**settings):
        cfg = StyleConfig(size=40, backbone="vgg16", **settings)
        inputs = prepare_inputs(make_content(40, 40), make_style(40, 40), cfg, None)
        return transfer._plan(cfg, inputs, None)[1]

    made = continuation(precision="bfloat16")
    assert callable(made) and made().precision == "float32"
    assert continuation(precision="float32") is None
    assert continuation(precision="bfloat16", optimizer="adam") is None
    assert continuation(precision="bfloat16", optimizer="lbfgs-scipy") is None
    seen = {}
    real = transfer.lbfgs_runner

    def spy(name):
        runner = real(name)

        def run(value_and_grad, *args, **kwargs):
            seen["precise"] = value_and_grad.precise
            return runner(value_and_grad, *args, **kwargs)
        return run

    monkeypatch.setattr(transfer, "lbfgs_runner", spy)
    import nst_lib

    nst_lib.stylize(make_content(40, 40), make_style(40, 40), size=40, steps=2, backbone="vgg16", precision="bfloat16")
    assert callable(seen["precise"])
    assert seen["precise"]().function is not None  # a float32 evaluation of the same objective, traced on demand


def test_many_runs_print_no_retracing_warning(caplog):
    """A poster optimises dozens of tiles, each with an L-BFGS history of its own: no "triggered tf.function
    retracing" warning may reach the user (TensorFlow counts retracings per function code)."""
    import logging

    caplog.set_level(logging.WARNING, logger="tensorflow")
    value_and_grad = _traced(lambda x: tf.reduce_sum((x - 0.5) ** 2))  # one objective, as a poster's tiles share
    for seed in range(7):
        start = np.random.default_rng(seed).uniform(0.2, 0.8, (3, 4, 3)).astype(np.float32)
        run_lbfgs_tf(value_and_grad, start, steps=3)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()], caplog.text
