"""Self-checks of notebook 04 ("Content and style losses"): content, style, total variation.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import tensorflow as tf

from ...gram import gram_matrix
from ...losses import content_loss, style_loss, total_variation_loss
from ._common import (ExerciseError, _call, _check_tensorflow, _diagnose, _fail, _features, _name, _ok,
                      _positional_arity, _ratio_message, _scalar, _tf, exercise)

NOTEBOOK = "04"

_LAYER_SHAPES = {"block1_conv1": (1, 6, 4, 3), "block2_conv1": (1, 3, 2, 5)}
_LAYER_WEIGHTS = {"block1_conv1": 0.25, "block2_conv1": 0.75}


def _layer_pair(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    feats = {k: _features(s, seed + i) for i, (k, s) in enumerate(_LAYER_SHAPES.items())}
    targets = {k: _features(s, seed + 10 + i) for i, (k, s) in enumerate(_LAYER_SHAPES.items())}
    return feats, targets


def _as_tf(mapping: Mapping[str, np.ndarray]) -> dict:
    tf = _tf()
    return {k: tf.constant(v) for k, v in mapping.items()}


@exercise("content_loss")
def check_content_loss(fn: Callable) -> None:
    """Check a content loss against :func:`nst_lib.content_loss` (notebook 04).

    Two forms are accepted, recognised by the number of parameters:

    * ``fn(features, target)`` for one layer: ``mean((F − P)²)`` of two (1, h, w, C) tensors;
    * ``fn(features, targets, layer_weights)`` for several layers (dicts keyed by layer name):
      ``Σ_l c_l · mean((F_l − P_l)²)``. Returning ``(loss, parts)`` like nst_lib is fine.
    """
    __tracebackhide__ = True
    tf = _tf()
    feats, targets = _layer_pair(seed=20)
    if _positional_arity(fn) == 2:
        layer = "block1_conv1"
        f, p = feats[layer].astype(np.float64), targets[layer].astype(np.float64)
        expected = float(content_loss({layer: tf.constant(feats[layer])}, {layer: tf.constant(targets[layer])},
                                      {layer: 1.0})[0])
        what = f"{_name(fn)}(features, target)"
        inputs = (tf.constant(feats[layer]), tf.constant(targets[layer]))
        raw = _call(fn, *inputs)
        got = _scalar(raw, what)
        diff = f - p
        message = _diagnose(got, expected, [
            ("you wrote Gatys et al.'s content loss ½ Σ (F − P)² (2015, eq. 1); this course takes the mean, mean((F − P)²), so that the loss does not grow with the image size (notebook 06 converts the paper's α/β)", 0.5 * np.sum(diff**2)),
            (f"you summed the squared differences; take their mean (divide by the {diff.size} elements), so the "
             "loss does not grow with the image size", np.sum(diff**2)),
            ("you multiplied by ½ (as in the 2015 paper); this course's contract is the plain mean",
             0.5 * np.mean(diff**2)),
            ("you forgot to square the differences (positive and negative ones cancel out)", np.mean(diff)),
            ("wrong sign: the differences go the other way round, and they were not squared", np.mean(-diff)),
            ("you took absolute values instead of squares", np.mean(np.abs(diff))),
            ("you took the square root (that is the RMS error); the loss is the mean of the squares itself",
             np.sqrt(np.mean(diff**2))),
        ])
        if message:
            raise _fail(message)
        if not np.isclose(got, expected, rtol=1e-4):
            raise _fail(_ratio_message(got, expected, what) + "; the loss is mean((F − P)²)")
        _check_tensorflow(fn, inputs, raw, what, loss=True)
        _ok(f"{_name(fn)} matches nst.content_loss for one layer: mean((F − P)²), and the gradient flows through it.")
        return

    expected = float(content_loss(_as_tf(feats), _as_tf(targets), _LAYER_WEIGHTS)[0])
    what = f"{_name(fn)}(features, targets, layer_weights)"
    inputs = (_as_tf(feats), _as_tf(targets), dict(_LAYER_WEIGHTS))
    raw = _call(fn, *inputs)
    got = _scalar(raw, what)
    per_layer = {k: np.mean((feats[k].astype(np.float64) - targets[k]) ** 2) for k in feats}
    sums = {k: np.sum((feats[k].astype(np.float64) - targets[k]) ** 2) for k in feats}
    pooled = np.concatenate([(feats[k].astype(np.float64) - targets[k]).ravel() for k in feats])
    message = _diagnose(got, expected, [
        ("you wrote Gatys et al.'s content loss ½ Σ (F − P)² (2015, eq. 1); this course takes the mean, mean((F − P)²), so that the loss does not grow with the image size (notebook 06 converts the paper's α/β)", sum(_LAYER_WEIGHTS[k] * 0.5 * sums[k] for k in feats)),
        ("you ignored layer_weights: multiply each layer's mean squared error by its weight c_l",
         sum(per_layer.values())),
        ("you averaged the layers equally; weight each layer by layer_weights[layer] instead",
         np.mean(list(per_layer.values()))),
        ("you summed the squared differences in each layer; take their mean, so layers of different sizes "
         "count equally", sum(_LAYER_WEIGHTS[k] * sums[k] for k in feats)),
        ("you pooled all layers into one mean; compute one mean per layer, then the weighted sum",
         np.mean(pooled**2)),
        ("you multiplied by ½; this course's contract is the plain mean", 0.5 * expected),
        ("only the first layer was counted; loop over every layer in layer_weights",
         _LAYER_WEIGHTS["block1_conv1"] * per_layer["block1_conv1"]),
    ])
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4):
        raise _fail(_ratio_message(got, expected, what) + "; the loss is Σ_l c_l · mean((F_l − P_l)²)")
    _check_tensorflow(fn, inputs, raw, what, loss=True)  # it runs inside notebook 08's train step
    _ok(f"{_name(fn)} matches nst.content_loss: Σ_l c_l · mean((F_l − P_l)²) over {len(feats)} layers, and the "
        "gradient flows through it.")


@exercise("style_loss")
def check_style_loss(fn: Callable) -> None:
    """Check a style loss against :func:`nst_lib.style_loss` (notebook 04).

    Two forms are accepted, recognised by the number of parameters:

    * ``fn(features, target_gram)`` for one layer: ``mean((gram(F) − A)²)`` with F (1, h, w, C) and A (C, C);
    * ``fn(features, target_grams, layer_weights)`` for several layers (dicts keyed by layer name):
      ``Σ_l w_l · mean((G_l − A_l)²)``. Returning ``(loss, parts)`` like nst_lib is fine.
    """
    __tracebackhide__ = True
    tf = _tf()
    feats, other = _layer_pair(seed=40)
    grams = {k: gram_matrix(v).numpy()[0].astype(np.float64) for k, v in feats.items()}
    targets = {k: gram_matrix(v).numpy()[0].astype(np.float64) for k, v in other.items()}

    def unnormalised(k):
        f = feats[k].reshape(-1, feats[k].shape[-1]).astype(np.float64)
        return f.T @ f

    def gatys(k):
        """The 2015 paper's E_l = 1/(4N²M²) Σ (G − A)² as a learner may write it: with unnormalised Gram
        matrices on both sides, with this course's normalised ones, or with a mix of the two."""
        _, h, w, n = feats[k].shape
        m = h * w
        return [np.sum((unnormalised(k) - targets[k] * m) ** 2) / (4 * n**2 * m**2),
                np.sum((grams[k] - targets[k]) ** 2) / (4 * n**2 * m**2),
                np.sum((unnormalised(k) - targets[k]) ** 2) / (4 * n**2 * m**2)]

    def gatys_message(k):
        _, h, w, n = feats[k].shape
        return (f"you wrote Gatys et al.'s style loss 1/(4N²M²) Σ (G − A)² (2015, eq. 4; here N = {n} channels and "
                f"M = {h * w} positions for {k}); this course's Gram matrix already divides by M = H·W and its style "
                "loss is the plain mean over the C × C entries, mean((G − A)²), so that the weights do not change "
                "with the image size (notebook 06 converts the paper's α/β)")

    if _positional_arity(fn) == 2:
        layer = "block2_conv1"
        _, h, w, c = feats[layer].shape
        expected = float(style_loss({layer: tf.constant(feats[layer])}, {layer: tf.constant(targets[layer], "float32")},
                                    {layer: 1.0})[0])
        what = f"{_name(fn)}(features, target_gram)"
        inputs = (tf.constant(feats[layer]), tf.constant(targets[layer], "float32"))
        raw = _call(fn, *inputs, hint="Compute the Gram matrix of the features first, then compare it with the target")
        got = _scalar(raw, what)
        diff = grams[layer] - targets[layer]
        message = _diagnose(got, expected, [
            *[(gatys_message(layer), value) for value in gatys(layer)],
            (f"you summed over the C × C = {c * c} entries; take the mean, so layers with more channels "
             "don't dominate", np.sum(diff**2)),
            ("your Gram matrix is not divided by H·W; use nst.gram_matrix (or your checked gram function)",
             np.mean((unnormalised(layer) - targets[layer]) ** 2)),
            ("you forgot to square the differences", np.mean(diff)),
            ("you took absolute values instead of squares", np.mean(np.abs(diff))),
            ("you multiplied by ½; this course's contract is the plain mean", 0.5 * np.mean(diff**2)),
            ("you took the square root of the mean (an RMS distance); the loss is the mean of the squares",
             np.sqrt(np.mean(diff**2))),
        ])
        if message:
            raise _fail(message)
        if not np.isclose(got, expected, rtol=1e-4):
            raise _fail(_ratio_message(got, expected, what) + "; the loss is mean((gram(F) − A)²), "
                        "with gram(F) = FᵀF/(H·W) of the features and A the target Gram matrix")
        _check_tensorflow(fn, inputs, raw, what, loss=True)
        _ok(f"{_name(fn)} matches nst.style_loss for one layer: mean((gram(F) − A)²), and the gradient flows "
            "through it.")
        return

    expected = float(style_loss(_as_tf(feats), {k: tf.constant(v, "float32") for k, v in targets.items()},
                                _LAYER_WEIGHTS)[0])
    what = f"{_name(fn)}(features, target_grams, layer_weights)"
    inputs = (_as_tf(feats), {k: tf.constant(v, "float32") for k, v in targets.items()}, dict(_LAYER_WEIGHTS))
    raw = _call(fn, *inputs,
                hint="Compute the Gram matrix of each layer's features, then compare it with that layer's target")
    got = _scalar(raw, what)
    per_layer = {k: np.mean((grams[k] - targets[k]) ** 2) for k in feats}
    message = _diagnose(got, expected, [
        *[(gatys_message("block1_conv1"), sum(_LAYER_WEIGHTS[k] * gatys(k)[variant] for k in feats))
          for variant in range(3)],
        ("you ignored layer_weights: multiply each layer's term by its weight w_l", sum(per_layer.values())),
        ("you averaged the layers equally; weight each layer by layer_weights[layer] instead",
         np.mean(list(per_layer.values()))),
        ("you summed over the entries of each Gram matrix; take the mean",
         sum(_LAYER_WEIGHTS[k] * np.sum((grams[k] - targets[k]) ** 2) for k in feats)),
        ("your Gram matrices are not divided by H·W; use nst.gram_matrix",
         sum(_LAYER_WEIGHTS[k] * np.mean((unnormalised(k) - targets[k]) ** 2) for k in feats)),
        ("only the first layer was counted; loop over every layer in layer_weights",
         _LAYER_WEIGHTS["block1_conv1"] * per_layer["block1_conv1"]),
        ("you multiplied by ½; this course's contract is the plain mean", 0.5 * expected),
    ])
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4):
        raise _fail(_ratio_message(got, expected, what) + "; the loss is Σ_l w_l · mean((G_l − A_l)²)")
    _check_tensorflow(fn, inputs, raw, what, loss=True)  # it runs inside notebook 08's train step
    _ok(f"{_name(fn)} matches nst.style_loss: Σ_l w_l · mean((G_l − A_l)²) over {len(feats)} layers, and the "
        "gradient flows through it.")


@exercise("total_variation")
def check_total_variation(fn: Callable) -> None:
    """Check ``fn(image)`` for a (1, H, W, 3) image against :func:`nst_lib.total_variation_loss`.

    mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) (notebook 04).
    """
    __tracebackhide__ = True
    tf = _tf()
    rng = np.random.default_rng(5)
    image = rng.uniform(0.0, 1.0, size=(1, 5, 7, 3)).astype(np.float32)
    expected = float(total_variation_loss(tf.constant(image)))
    what = f"{_name(fn)}(image of shape {image.shape})"
    inputs = (tf.constant(image),)
    raw = _call(fn, *inputs)
    got = _scalar(raw, what)
    x = image.astype(np.float64)
    dy, dx = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]
    dc = x[..., 1:] - x[..., :-1]
    message = _diagnose(got, expected, [
        ("you summed the squared differences; take the mean of each direction, so the loss does not depend "
         "on the image size", np.sum(dy**2) + np.sum(dx**2)),
        ("you used tf.image.total_variation (a sum of absolute differences); this course's TV is the mean of "
         "squared differences", np.sum(np.abs(dy)) + np.sum(np.abs(dx))),
        ("you took absolute differences; square them instead", np.mean(np.abs(dy)) + np.mean(np.abs(dx))),
        ("you only counted vertical differences (between rows); add the horizontal ones (between columns)",
         np.mean(dy**2)),
        ("you only counted horizontal differences (between columns); add the vertical ones (between rows)",
         np.mean(dx**2)),
        ("you averaged the two directions; add them instead", (np.mean(dy**2) + np.mean(dx**2)) / 2),
        ("you took differences along the channel axis; neighbouring pixels are along axes 1 (rows) and 2 (columns)",
         np.mean(dc**2)),
        ("you pooled both directions into one mean; take one mean per direction and add them",
         np.mean(np.concatenate([dy.ravel(), dx.ravel()]) ** 2)),
    ])
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4):
        raise _fail(_ratio_message(got, expected, what)
                    + "; TV = mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²)")
    _check_tensorflow(fn, inputs, raw, what, loss=True)  # notebook 08's objective may add it
    _ok(f"{_name(fn)} matches nst.total_variation_loss: mean squared differences down and across, added; the "
        "gradient flows through it.")
