"""Self-checks of notebook 05 ("Optimization"): one Adam update, the train step.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

import functools
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from ...optimize import run_adam
from ._common import (ExerciseError, ExerciseNotWritten, _call, _close, _describe, _fail, _name, _ok, _ratio_message,
                      _scalar, _tf, _to_array, exercise)

NOTEBOOK = "05"

_ADAM = dict(learning_rate=0.05, beta_1=0.9, beta_2=0.999, epsilon=0.1)
_ADAM_STEPS = 3


def _adam_problem() -> tuple[np.ndarray, np.ndarray]:
    """A (2, 3, 3) quadratic problem x ↦ Σ (x − target)², with pixels near 0 and 1 so clipping matters."""
    rng = np.random.default_rng(7)
    init = rng.uniform(0.0, 1.0, size=(2, 3, 3)).astype(np.float32)
    init[0, 0] = (0.01, 0.99, 0.5)
    target = rng.uniform(-0.5, 1.5, size=(2, 3, 3)).astype(np.float32)
    target[0, 0] = (-2.0, 3.0, 0.5)
    return init, target


@functools.lru_cache(maxsize=1)
def _adam_reference() -> tuple[np.ndarray, ...]:
    """The images after each of the first steps of nst_lib's own :func:`~nst_lib.optimize.run_adam`."""
    tf = _tf()
    init, target = _adam_problem()
    target_t = tf.constant(target[np.newaxis])

    def value_and_grad(image):
        diff = image - target_t
        return {"total": tf.reduce_sum(tf.square(diff))}, 2.0 * diff

    images: list[np.ndarray] = []
    run_adam(value_and_grad, init, steps=_ADAM_STEPS, callback=lambda event: images.append(event.image()),
             **_ADAM)
    return tuple(images)


#: what a check says when the optimizer is made anew for every step
NEW_OPTIMIZER = ("a new optimizer is made on every call of the step: the optimizer make_train_step receives never "
                 "takes a step, and a fresh Adam starts its moments m, v (and its step count t) from zero each time, "
                 "so it never builds momentum; create the optimizer once, outside the step, and use the one passed in")


def _makes_its_own_optimizer(step: Callable, init: np.ndarray, optimizer) -> bool:
    """True when the step, run eagerly (its Python function, if it is a ``tf.function``), moves the image
    while the optimizer it was given takes no step: it makes its own (``tf.function`` refuses to create
    the new optimizer's variables on a second trace, which is how the compiled step failed)."""
    python_step = getattr(step, "python_function", None)
    if python_step is None:
        return False
    image = tf.Variable(init[np.newaxis])
    try:
        python_step(image)
    except Exception:  # noqa: BLE001 - another mistake: the original message stands
        return False
    return int(optimizer.iterations) == 0 and not np.allclose(image.numpy()[0], init)


def _adam_variant(t_offset: int = 0, bias_correction: bool = True, clip: bool = True, sign: float = 1.0,
                  eps_inside: bool = False, paper_eps: bool = False, v_beta: str = "beta_2", restart: bool = False):
    """Trajectories of typical wrong Adam steps, for diagnosis (``restart``: a new optimizer every step)."""
    init, target = _adam_problem()
    lr, b1, b2, eps = (_ADAM[k] for k in ("learning_rate", "beta_1", "beta_2", "epsilon"))
    bv = b1 if v_beta == "beta_1" else b2
    x = init.astype(np.float64)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = []
    with np.errstate(all="ignore"):
        for t in range(1, _ADAM_STEPS + 1):
            if restart:
                m, v, t = np.zeros_like(x), np.zeros_like(x), 1
            g = 2.0 * (x - target)
            m = b1 * m + (1 - b1) * g
            v = bv * v + (1 - bv) * g**2
            tt = t + t_offset
            if paper_eps:
                step = lr * (m / (1 - b1**tt)) / (np.sqrt(v / (1 - b2**tt)) + eps)
            else:
                alpha = lr * np.sqrt(1 - b2**tt) / (1 - b1**tt) if bias_correction else lr
                step = alpha * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
            x = x - sign * step
            if clip:
                x = np.clip(x, 0.0, 1.0)
            out.append(x.copy())
    return out


@exercise("adam_step")
def check_adam_step(fn: Callable) -> None:
    """Check one Adam update on the pixels against :func:`nst_lib.optimize.run_adam` (notebook 05).

    ``fn(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon) -> (image, m, v)`` with
    ``t`` = 1 for the first step: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    image ← clip(image − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε), 0, 1). Arrays or tensors are fine.
    The check runs three steps on a small problem and compares every image with nst_lib's run.
    """
    __tracebackhide__ = True
    reference = _adam_reference()
    init, target = _adam_problem()
    x = init.astype(np.float32)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    what = f"{_name(fn)}(image, grad, m, v, t, **hyper_parameters)"
    for t in range(1, _ADAM_STEPS + 1):
        grad = (2.0 * (x - target)).astype(np.float32)
        result = _call(fn, x.copy(), grad, m.copy(), v.copy(), t, **_ADAM)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise _fail(f"{what} returned {_describe(result)}; return three things: (new_image, new_m, new_v)")
        new_x, new_m, new_v = (_to_array(r, what) for r in result)
        if new_x.shape != x.shape:
            raise _fail(f"{what} returned an image of shape {new_x.shape}; expected {x.shape} like the input")
        expected_m = _ADAM["beta_1"] * m + (1 - _ADAM["beta_1"]) * grad
        if t == 1 and _close(new_x, x):
            raise _fail(f"{what} returned the image unchanged; subtract the update from it")
        if not _close(new_m, expected_m, rtol=1e-4, atol=1e-6):
            if _close(new_m, m):
                raise _fail(f"{what} returned m unchanged; return the updated first moment m")
            raise _fail(f"the first moment m is wrong at step {t}: it is a running average of the gradients that keeps a fraction β₁ = beta_1 = {_ADAM['beta_1']} of its old value")
        expected_v = _ADAM["beta_2"] * v + (1 - _ADAM["beta_2"]) * grad.astype(np.float64) ** 2
        if not _close(new_v, expected_v, rtol=1e-4, atol=1e-7):
            if _close(new_v, _ADAM["beta_1"] * v + (1 - _ADAM["beta_1"]) * grad.astype(np.float64) ** 2):
                raise _fail("v used beta_1; the second moment is a running average of the squared gradients with its own rate, β₂")
            if _close(new_v, _ADAM["beta_2"] * v + (1 - _ADAM["beta_2"]) * grad):
                raise _fail("the second moment averages the *squared* gradient: v ← β₂·v + (1 − β₂)·g²")
            raise _fail(f"the second moment v is wrong at step {t}: it is a running average of the squared gradients that keeps a fraction β₂ = beta_2 = {_ADAM['beta_2']} of its old value")
        if not _close(new_x, reference[t - 1], rtol=1e-4, atol=2e-6):
            variants = [
                ("you left out the bias correction √(1−β₂ᵗ)/(1−β₁ᵗ); without it the first steps are far too "
                 "small, because m and v start at zero", dict(bias_correction=False)),
                ("t must count from 1 for the first step (β₁ᵗ with t = 0 divides by zero); it looks like "
                 "yours is off by one", dict(t_offset=1)),
                ("wrong sign: step *against* the gradient (image − update)", dict(sign=-1.0)),
                ("you forgot to clip the image to [0, 1] after the step", dict(clip=False)),
                ("ε belongs outside the square root: it is added to √v, not to v", dict(eps_inside=True)),
                ("you used the paper's m̂ / (√v̂ + ε), which rescales ε by the bias correction; nst_lib (like "
                 "Keras) folds the bias correction into the learning rate and adds ε to the raw √v — with ε = 0.1 "
                 "the difference is visible",
                 dict(paper_eps=True)),
            ]
            for message, kwargs in variants:
                if _close(new_x, _adam_variant(**kwargs)[t - 1], rtol=1e-4, atol=2e-6):
                    raise _fail(message)
            raise _fail(
                f"the image after step {t} differs from nst_lib's run_adam (largest difference "
                f"{np.max(np.abs(new_x - reference[t - 1])):.3g}); compare your step with the four ingredients of the "
                "exercise text: the two moments, the bias correction, the step against the gradient, the clip"
            )
        x, m, v = new_x.astype(np.float32), new_m.astype(np.float32), new_v.astype(np.float32)
    _ok(f"{_name(fn)} reproduces {_ADAM_STEPS} steps of nst_lib's run_adam: moments, bias correction, "
        "ε and clipping are right.")



# ------------------------------------------------------------------- notebook 05: the train step
@exercise("make_train_step")
def check_train_step(fn: Callable) -> None:
    """Check ``fn(loss_fn, optimizer) -> train_step``: one ``tf.GradientTape`` step on a ``tf.Variable`` image.

    ``train_step(image)`` computes ``loss_fn(image)`` under a tape, applies the gradient with the Keras
    ``optimizer``, clips the image to [0, 1] and returns the loss of the image *before* the step. Three
    steps on a small problem are compared with nst_lib's :func:`~nst_lib.optimize.run_adam` (notebook 05).
    """
    __tracebackhide__ = True
    tf = _tf()
    reference = _adam_reference()
    init, target = _adam_problem()
    target_t = tf.constant(target[np.newaxis])

    def loss_fn(image):
        return tf.reduce_sum(tf.square(image - target_t))

    optimizer = keras.optimizers.Adam(**_ADAM)
    what = f"{_name(fn)}(loss_fn, optimizer)"
    step = _call(fn, loss_fn, optimizer)
    if step is None:
        raise _fail(f"{what} returned None; define the step function inside it and return it")
    if not callable(step):
        raise _fail(f"{what} returned {_describe(step)}; return the step function itself")
    image = tf.Variable(init[np.newaxis])
    before = init.astype(np.float64)
    for t in range(1, _ADAM_STEPS + 1):
        step_what = f"train_step(image) at step {t}"
        try:
            loss = _call(step, image, hint="Compute the loss while a gradient tape records, then ask the tape "
                                           "for the gradient and hand it to the optimizer")
        except ExerciseNotWritten:
            raise
        except ExerciseError:
            if t == 1 and _makes_its_own_optimizer(step, init, optimizer):
                raise _fail(NEW_OPTIMIZER) from None
            raise
        if t == 1 and int(optimizer.iterations) == 0 and not _close(image.numpy()[0], init, rtol=0, atol=1e-9):
            raise _fail(NEW_OPTIMIZER)
        if loss is None:
            raise _fail(f"{step_what} returned None; return the loss (the one computed inside the tape)")
        loss = _scalar(loss, step_what)
        now = image.numpy()[0].astype(np.float64)
        if _close(now, before, rtol=0, atol=1e-9):
            raise _fail(f"{step_what} did not change the image: the optimizer updates the tf.Variable "
                        "in place when you give it the (gradient, variable) pairs (if the tape's gradient is None, compute the loss "
                        "while the tape records, inside its block)")
        if not _close(now, reference[t - 1], rtol=1e-4, atol=2e-6):
            if _close(now, _adam_variant(clip=False)[t - 1], rtol=1e-4, atol=2e-6):
                raise _fail("the pixels left [0, 1]: after the optimizer's step, put the clipped "
                            "values back into the variable")
            if _close(now, _adam_variant(restart=True)[t - 1], rtol=1e-4, atol=2e-6):
                raise _fail(NEW_OPTIMIZER)
            if _close(now, _adam_variant(sign=-1.0)[t - 1], rtol=1e-4, atol=2e-6):
                raise _fail("the image moved uphill: give apply_gradients the gradient itself (the optimizer "
                            "subtracts it), not its negative")
            raise _fail(f"the image after step {t} differs from nst_lib's run_adam with the same optimizer settings "
                        f"(largest difference {np.max(np.abs(now - reference[t - 1])):.3g}); take one optimizer "
                        "step with the tape's gradient, then clip to [0, 1], and nothing else")
        expected_loss = float(np.sum((before - target) ** 2))
        if not np.isclose(loss, expected_loss, rtol=1e-4):
            if np.isclose(loss, float(np.sum((now - target) ** 2)), rtol=1e-4):
                raise _fail(f"{step_what} returned the loss *after* the step; return the loss computed inside the "
                            "tape, the loss of the image the gradient belongs to")
            raise _fail(_ratio_message(loss, expected_loss, step_what) + "; return loss_fn(image) as computed "
                        "inside the tape")
        before = now
    compiled = hasattr(step, "get_concrete_function")
    _ok(f"{_name(fn)} takes {_ADAM_STEPS} steps exactly like nst_lib's run_adam: gradient from the tape, Adam, clip, "
        "loss before the step." + ("" if compiled else " (Tip: wrap the step in @tf.function to compile it.)"))
