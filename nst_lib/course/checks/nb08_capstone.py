"""Self-checks of notebook 08 ("Your own style transfer"): the objective and the whole loop.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import keras
import numpy as np
import tensorflow as tf

from ... import data
from ...backbone import FeatureExtractor
from ...config import TF_TUTORIAL
from ...transfer import stylize
from .. import solutions
from ._common import (ExerciseError, _call, _check_tensorflow, _describe, _fail, _name, _ok, _scalar, _tf, _to_array,
                      exercise)

NOTEBOOK = "08"

#: the capstone's self-checks run at this size (long side, px) and for this many Adam steps
CAPSTONE_SIZE = 64
CAPSTONE_STEPS = 10
#: relative tolerances of the loss at step 0 and of the losses of the following steps. Two correct float32
#: implementations differ by rounding only, but Adam amplifies it: benchmarks/capstone_drift.py measured
#: (64 px, 10 steps, 2 cores) at most 1.5e-7 at step 0 and, over the 10 steps, 2.7e-4 between the reference
#: solution (keras.optimizers.Adam) and nst.stylize (its own Adam with float64 constants; Keras computes
#: 1 − β₂ in float32, 1.3e-5 off, which alone changes the step sizes by about 1e-5), and 3.8e-4 for a
#: variant computing the Gram matrices and losses in float64. The drift grows with the number of steps
#: (1.1e-3 within 30), so the check stops at 10. 1e-5 at step 0 is 66× the measured drift; 2e-3 afterwards
#: is 5× the larger measurement, and still catches β₁ = 0.9 instead of 0.99 (7e-3 by step 3) and any wrong
#: learning rate. A wrong ε (Keras' 1e-7 instead of 0.1) moves these losses by at most 1.2e-4: inside the
#: drift, so no loss comparison can see it.
CAPSTONE_RTOL_STEP0 = 1e-5
CAPSTONE_RTOL = 2e-3


@functools.lru_cache(maxsize=2)
def _capstone_problem(size: int = CAPSTONE_SIZE):
    """The capstone check's images (long side ``size``) and an independent float64 reference of the
    tutorial's objective on nst_lib's features (also used by ``benchmarks/capstone_drift.py``)."""
    content, style = data.example_pair("grace_hopper", "swirls", size=size)
    content_layers = tuple(TF_TUTORIAL["content_layers"])
    style_layers = tuple(TF_TUTORIAL["style_layers"])
    extractor = FeatureExtractor((*content_layers, *style_layers))

    def features(image):
        return {k: v.numpy()[0].astype(np.float64) for k, v in extractor(image[np.newaxis]).items()}

    def gram(f):
        flat = f.reshape(-1, f.shape[-1])
        return flat.T @ flat / flat.shape[0]

    content_f, style_f = features(content), features(style)
    targets = ({k: content_f[k] for k in content_layers}, {k: gram(style_f[k]) for k in style_layers})
    noisy = np.clip(0.6 * content + 0.4 * np.random.default_rng(3).uniform(0, 1, content.shape), 0, 1).astype(np.float32)

    def parts(image):
        """Every term of the objective at ``image``, and what typical mistakes would give instead."""
        feats = features(image)
        out: dict[str, Any] = {"mistakes": {}}
        n_content, n_style = len(content_layers), len(style_layers)
        for k in content_layers:
            diff2 = (feats[k] - targets[0][k]) ** 2
            out[f"content/{k}"] = np.mean(diff2) / n_content
            out["mistakes"][f"content/{k}"] = [
                (f"you summed the squared differences over the {diff2.size} values of the feature map instead of "
                 "taking their mean", np.sum(diff2) / n_content),
                ("you multiplied by ½ (the paper's content loss); this course's is the plain mean",
                 0.5 * np.mean(diff2) / n_content),
            ]
        for k in style_layers:
            f, flat_s = feats[k].reshape(-1, feats[k].shape[-1]), style_f[k].reshape(-1, style_f[k].shape[-1])
            g, a = gram(feats[k]), targets[1][k]
            out[f"style/{k}"] = np.mean((g - a) ** 2) / n_style
            out["mistakes"][f"style/{k}"] = [
                (f"did you forget to divide the Gram matrix by H·W? (here H·W = {f.shape[0]} for your image and "
                 f"{flat_s.shape[0]} for the style image)", np.mean((f.T @ f - flat_s.T @ flat_s) ** 2) / n_style),
                (f"did you divide the Gram matrix by H·W·C instead of H·W (C = {f.shape[1]} channels)?",
                 np.mean((g - a) ** 2) / f.shape[1] ** 2 / n_style),
                (f"did you sum over the {g.size} entries of the Gram matrices instead of taking their mean?",
                 np.sum((g - a) ** 2) / n_style),
                ("you left out the layer weight: each style layer's part is w_l · mean((G − A)²) with "
                 f"w_l = 1/{n_style}", np.mean((g - a) ** 2)),
                ("you multiplied by ½; this course's style loss is the plain mean", 0.5 * np.mean((g - a) ** 2) / n_style),
            ]
        out["content"] = sum(out[f"content/{k}"] for k in content_layers)
        out["style"] = sum(out[f"style/{k}"] for k in style_layers)
        out["total"] = TF_TUTORIAL["content_weight"] * out["content"] + TF_TUTORIAL["style_weight"] * out["style"]
        return out

    shapes = {k: v.shape for k, v in content_f.items()}
    return dict(content=content, style=style, noisy=noisy, parts=parts, shapes=shapes,
                content_layers=content_layers, style_layers=style_layers,
                settings={**TF_TUTORIAL, "precision": "float32"})  # stylize's VGG in float32, as the learner's


def _part_message(key: str, got: float, expected: Mapping) -> str:
    """One line about a wrong part: its value, the right one, and the typical mistake that explains it."""
    ratio = got / expected[key] if expected[key] else float("inf")
    line = f"{key.split('/')[-1]}: {got:.4g} instead of {expected[key]:.4g} ({ratio:.4g}×)"
    for message, value in expected["mistakes"].get(key, []):
        if np.isclose(got, value, rtol=1e-3):
            return f"{line} — {message}"
    return line


def _compare_objective(got_total: float, got_parts: Mapping, expected: Mapping, problem: dict, where: str,
                       rtol: float) -> str | None:
    """Which term, and which layer, differs from the reference (None: the total agrees)."""
    if np.isclose(got_total, expected["total"], rtol=rtol, atol=0):
        return None
    lines = [f"at {where} your objective gives {got_total:.6g}, the library's {expected['total']:.6g} "
             f"(yours is {got_total / expected['total']:.4g}×)"]
    for term in ("content", "style"):
        if term not in got_parts:
            lines.append(f"parts has no '{term}' entry, so the check cannot say which term differs")
            continue
        value = _scalar(got_parts[term], f"parts['{term}']")
        if np.isclose(value, expected[term], rtol=rtol, atol=0):
            continue
        layers = problem["content_layers"] if term == "content" else problem["style_layers"]
        keys = [f"{term}/{layer}" for layer in layers]
        if term == "content" and len(layers) == 1 and keys[0] not in got_parts:
            got_parts = {**got_parts, keys[0]: value}  # one content layer: the term is its only part
        wrong = [_part_message(key, _scalar(got_parts[key], f"parts['{key}']"), expected) for key in keys
                 if key in got_parts and not np.isclose(_scalar(got_parts[key], key), expected[key], rtol=rtol, atol=0)]
        missing = [key for key in keys if key not in got_parts]
        line = f"your {term} term is {value:.4g} instead of {expected[term]:.4g}"
        if wrong:
            line += "; by layer: " + "; ".join(wrong)
        elif missing:
            line += f" (add the parts {', '.join(repr(k) for k in missing)} to see which layer differs)"
        lines.append(line)
    if len(lines) == 1 and all(t in got_parts for t in ("content", "style")):
        s = problem["settings"]
        lines.append(f"both terms are right, so their weights are not: total = {s['content_weight']:g} · content + "
                     f"{s['style_weight']:g} · style")
    return "; ".join(lines)


def _objective_values(objective: Callable, image: np.ndarray, what: str) -> tuple[float, dict]:
    tf = _tf()
    out = _call(objective, tf.constant(image[np.newaxis]))
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping)):
        raise _fail(f"{what} returned {_describe(out)}; return (total, parts) with parts a dict holding at least "
                    "'content' and 'style' (and 'style/<layer>' for each style layer)")
    return _scalar(out[0], what), dict(out[1])


@exercise("make_objective")
def check_objective(fn: Callable) -> None:
    """Check ``fn(content, style) -> objective`` with ``objective(image) -> (total, parts)``: the TensorFlow
    tutorial's objective (:data:`nst_lib.TF_TUTORIAL`) at the content image (step 0) and at a noisy image,
    term by term and layer by layer, against an independent float64 computation on nst_lib's features.
    """
    __tracebackhide__ = True
    problem = _capstone_problem()
    objective = _call(fn, problem["content"], problem["style"])
    what = f"{_name(fn)}(content, style)"
    if objective is None:
        raise _fail(f"{what} returned None; define objective(image) inside it and return it")
    if not callable(objective):
        raise _fail(f"{what} returned {_describe(objective)}; return the objective function itself")
    for where, image in (("the content image (step 0)", problem["content"]), ("a noisy copy of it", problem["noisy"])):
        total, parts = _objective_values(objective, image, f"objective(image) at {where}")
        message = _compare_objective(total, parts, problem["parts"](image), problem, where, CAPSTONE_RTOL_STEP0)
        if message:
            raise _fail(message)
    start = (tf.constant(problem["content"][np.newaxis]),)
    _check_tensorflow(objective, start, _call(objective, *start), "objective(image)", loss=True)  # the train step's graph
    _ok(f"{_name(fn)} gives the tutorial's objective: content and style terms, every style layer and the weights agree; "
        "it runs inside tf.function and the gradient reaches the pixels.")


@functools.lru_cache(maxsize=1)
def _capstone_library_losses(steps: int) -> tuple[float, ...]:
    """The loss of the content image and after each of ``steps`` Adam steps of ``nst.stylize`` (tutorial recipe).

    ``stylize``'s history holds the loss *after* each step; the loss of the start (step 0) is the tutorial's
    objective at the content image, computed independently by :func:`_capstone_problem`.
    """
    problem = _capstone_problem()
    result = stylize(problem["content"], problem["style"], **problem["settings"], size=CAPSTONE_SIZE, steps=steps)
    start = float(problem["parts"](problem["content"])["total"])
    return (start, *(float(h["total"]) for h in result.history))


@functools.lru_cache(maxsize=1)
def _restarting_losses(steps: int) -> tuple[float, ...]:
    """The losses of the tutorial's recipe when a new Adam is made for every step (the reference objective)."""
    problem = _capstone_problem()
    objective = solutions.make_objective(problem["content"], problem["style"])
    image = tf.Variable(problem["content"][np.newaxis])
    losses = []
    for _ in range(steps):
        optimizer = keras.optimizers.Adam(learning_rate=TF_TUTORIAL["learning_rate"],
                                          beta_1=TF_TUTORIAL["adam_beta_1"], epsilon=TF_TUTORIAL["adam_epsilon"])
        with tf.GradientTape() as tape:
            loss = objective(image)[0]
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        losses.append(float(loss))
    return tuple(losses)


def _adam_setting_hint(got: np.ndarray, steps: int) -> str:
    """Name a mis-set Adam hyper-parameter, by re-running nst.stylize with the usual wrong values, or a new
    optimizer made for every step."""
    if np.allclose(got, _restarting_losses(steps), rtol=CAPSTONE_RTOL):
        return ("a new optimizer is made for every step: a fresh Adam starts its moments from zero each time, so "
                "every step is a first step; make the optimizer once, before the loop, and give that one to "
                "make_train_step")
    problem = _capstone_problem()
    s = problem["settings"]
    variants = [
        ("you used Keras' default learning rate 0.001; the tutorial's is 0.02 (LEARNING_RATE)", dict(learning_rate=0.001)),
        ("you used Keras' default β₁ = 0.9; the tutorial's is 0.99 (BETA_1)", dict(adam_beta_1=0.9)),
        ("you used Keras' default Adam settings; the tutorial sets three of them: the learning rate 0.02, β₁ = 0.99 "
         "and ε = 0.1 (LEARNING_RATE, BETA_1, EPSILON in section 1)",
         dict(learning_rate=0.001, adam_beta_1=0.9, adam_epsilon=1e-7)),
    ]
    for message, change in variants:
        result = stylize(problem["content"], problem["style"], **{**s, **change}, size=CAPSTONE_SIZE, steps=steps - 1)
        after = np.array([h["total"] for h in result.history])  # the losses after steps 1 … steps − 1
        if after.shape == got[1:].shape and np.allclose(got[1:], after, rtol=CAPSTONE_RTOL):
            return message
    return ""


@exercise("style_transfer")
def check_style_transfer(fn: Callable, make_objective: Callable | None = None) -> None:
    """Check ``fn(content, style, steps) -> (image, losses)`` against ``nst.stylize(**nst.TF_TUTORIAL)``.

    Both start from the content image and take :data:`CAPSTONE_STEPS` Adam steps at :data:`CAPSTONE_SIZE` px;
    ``losses[k]`` must be the loss before step k+1, as the train step returns it: the loss of the content
    image for k = 0 (compared with the tutorial's objective computed independently from nst_lib's features),
    then the loss after step k (compared with ``stylize``'s history, which records the loss after each step). Step 0 must agree to :data:`CAPSTONE_RTOL_STEP0` and every
    later step to :data:`CAPSTONE_RTOL` (float32 drift, measured in ``benchmarks/capstone_drift.py``). When
    they differ, the message says where: the objective (by term and layer, if ``make_objective`` is given),
    the loss bookkeeping, or the Adam settings.
    """
    __tracebackhide__ = True
    problem = _capstone_problem()
    steps = CAPSTONE_STEPS
    what = f"{_name(fn)}(content, style, steps={steps})"
    out = _call(fn, problem["content"], problem["style"], steps)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise _fail(f"{what} returned {_describe(out)}; return two things: (image, losses)")
    image, losses = out
    image = _to_array(image, f"the image {what} returned")
    if image.shape not in (problem["content"].shape, (1, *problem["content"].shape)):
        raise _fail(f"{what} returned an image of shape {image.shape}; expected {problem['content'].shape} "
                    "(the content image's shape)")
    if image.min() < -1e-6 or image.max() > 1 + 1e-6:
        raise _fail(f"the image has values in [{image.min():.3g}, {image.max():.3g}]; clip it to [0, 1] after each step")
    try:
        got = np.array([float(np.asarray(v)) for v in losses], np.float64)
    except (TypeError, ValueError):
        raise _fail(f"losses should be a list of numbers, one per step; got {_describe(losses)}") from None
    if got.shape != (steps,):
        raise _fail(f"{what} returned {got.size} losses for {steps} steps; keep one per step (the value train_step returns)")
    reference = np.array(_capstone_library_losses(steps))  # the losses at steps 0 … steps
    expected = reference[:steps]
    relative = np.abs(got - expected) / np.abs(expected)
    if relative[0] <= CAPSTONE_RTOL_STEP0 and np.all(relative <= CAPSTONE_RTOL):
        _ok(f"{_name(fn)} matches nst.stylize with the tutorial's recipe: the same loss at step 0 (relative difference "
            f"{relative[0]:.1e}) and after each of the next {steps - 1} Adam steps (largest {relative[1:].max():.1e}; "
            f"tolerance {CAPSTONE_RTOL:g}, float32 drift).")
        return
    if np.allclose(got, reference[1:], rtol=CAPSTONE_RTOL, atol=0):
        raise _fail("each of your losses belongs to the image *after* its step (yours are nst.stylize's shifted by one); "
                    "record the loss train_step returns, computed inside the tape before the update")
    if relative[0] > CAPSTONE_RTOL_STEP0:
        if make_objective is not None:
            check_objective(make_objective)  # raises, naming the term and the layer that differ
            raise _fail(f"your objective is right, but your first loss {got[0]:.6g} is not the loss of the content "
                        f"image ({expected[0]:.6g}): start from a variable holding the content image as a batch of one, "
                        "and record what train_step returns")
        raise _fail(f"the loss at step 0 (the content image) is {got[0]:.6g}; nst.stylize has {expected[0]:.6g}: your "
                    "objective differs. Run check_style_transfer(style_transfer, make_objective) to see which term "
                    "and which layer")
    first = int(np.argmax(relative > CAPSTONE_RTOL))
    hint = _adam_setting_hint(got, steps) or (
        "the objective is right at step 0, so look at the loop: one Adam with the tutorial's three settings of "
        "section 1, made before the loop; the gradient of the total loss only; a clip to [0, 1] after each step")
    raise _fail(f"your losses leave nst.stylize's at step {first}: {got[first]:.6g} instead of {expected[first]:.6g} "
                f"(relative difference {relative[first]:.2g}, tolerance {CAPSTONE_RTOL:g}); {hint}")
