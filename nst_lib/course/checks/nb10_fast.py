"""Self-checks for notebook 10's exercises ("Fast style transfer"): instance normalisation and the style
loss of a batch, written by the learner from an empty body.

Each check calls the learner's function on small, known inputs and compares the answer with the library
(:class:`nst_lib.fast.InstanceNormalization`, :func:`nst_lib.losses.style_loss` applied image by image, as
:func:`nst_lib.fast.perceptual_losses` does); a wrong answer raises
:class:`~nst_lib.course.checks.ExerciseError` whose message names the likely mistake (batch or layer
normalisation instead of instance normalisation, the variance instead of the standard deviation, one Gram
matrix for the whole batch, the sum instead of the mean over the images …).

The reference solutions are in :mod:`nst_lib.course.solutions_fast`; ``checks.solution("instance_norm")``
reveals one on purpose (the registry, :mod:`nst_lib.course.checks.registry`, lists both exercises).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import tensorflow as tf

from ...fast import InstanceNormalization
from ...losses import style_loss
from ._common import _call, _check_tensorflow, _close, _fail, _name, _ok, _to_array, exercise

__all__ = ["check_instance_norm", "check_batch_style_loss"]

NOTEBOOK = "10"


def _first_match(got: np.ndarray, expected: np.ndarray, mistakes) -> str | None:
    for message, candidate in mistakes:
        candidate = np.asarray(candidate)
        if candidate.shape == got.shape and np.allclose(got, candidate, rtol=1e-3, atol=1e-4) and not np.allclose(
                candidate, expected, rtol=1e-3, atol=1e-4):
            return message
    return None


# ------------------------------------------------------------------------------ instance normalisation
@exercise("instance_norm")
def check_instance_norm(fn: Callable) -> None:
    """Check ``fn(x)`` for a (B, H, W, C) batch: each channel of each image normalised over its positions,
    ``(x − mean) / sqrt(variance + 1e-5)``, as :class:`nst_lib.fast.InstanceNormalization` with γ = 1, β = 0."""
    __tracebackhide__ = True


    rng = np.random.default_rng(100)
    shape = (2, 5, 6, 3)
    x = (rng.normal(size=shape) * rng.uniform(0.5, 5.0, size=(2, 1, 1, 3)) + rng.uniform(-3, 3, size=(2, 1, 1, 3)))
    x = x.astype(np.float32)
    expected = InstanceNormalization()(x).numpy().astype(np.float64)
    what = f"{_name(fn)}(a batch of shape {shape})"
    inputs = (tf.constant(x),)
    raw = _call(fn, *inputs)
    got = _to_array(raw, what)
    if got.shape != shape:
        raise _fail(f"{what} returned shape {got.shape}; normalisation keeps the shape {shape} — keep the reduced "
                    "axes with keepdims=True so that the mean and variance broadcast")

    def normalised(axes):
        mean = x.mean(axis=axes, keepdims=True)
        return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)

    mean_hw = x.mean(axis=(1, 2), keepdims=True)
    var_hw = x.var(axis=(1, 2), keepdims=True)
    mistakes = [
        ("you normalised over the batch too (axes 0, 1, 2): that is batch normalisation. Instance normalisation "
         "uses each image's own statistics: reduce over axes 1 and 2 (height and width) only", normalised((0, 1, 2))),
        ("you normalised over the channels too (axes 1, 2, 3): that is layer normalisation. Each channel needs "
         "its own mean and variance: reduce over axes 1 and 2 only", normalised((1, 2, 3))),
        ("you normalised with the statistics of the whole batch (all axes); use each image's and each channel's "
         "own: reduce over axes 1 and 2", normalised((0, 1, 2, 3))),
        ("you divided by the variance; divide by the standard deviation, the square root of the variance plus ε",
         (x - mean_hw) / (var_hw + 1e-5)),
        ("you subtracted the mean but did not divide by the standard deviation", x - mean_hw),
        ("you divided by the standard deviation but did not subtract the mean first", x / np.sqrt(var_hw + 1e-5)),
    ]
    message = _first_match(got, expected, mistakes)
    if message:
        raise _fail(message)
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-3):
        worst = float(np.max(np.abs(got - expected)))
        raise _fail(f"{what} differs from nst_lib.fast.InstanceNormalization by up to {worst:.3g}; compute "
                    "(x − mean) / sqrt(variance + 1e-5) with the mean and variance over axes 1 and 2 (keepdims=True)")
    # the point of instance norm: the output does not depend on the image's contrast or brightness
    brighter = _to_array(_call(fn, tf.constant(3.0 * x + 7.0)), what)
    if not np.allclose(brighter, got, atol=1e-3):
        raise _fail(f"{_name(fn)}(3·x + 7) differs from {_name(fn)}(x); normalising each channel by its own mean and "
                    "standard deviation should remove a change of contrast and brightness")
    _check_tensorflow(fn, inputs, raw, what)  # a layer of the network: it runs in the training graph
    _ok(f"{_name(fn)} matches nst_lib.fast.InstanceNormalization and ignores a change of contrast and brightness "
        "(3·x + 7 gives the same output).")


# ------------------------------------------------------------------------------ the style loss of a batch
@exercise("batch_style_loss")
def check_batch_style_loss(fn: Callable) -> None:
    """Check ``fn(features, target_grams, layer_weights)``: each image's Gram matrices against the targets,
    the weighted style loss of each image, averaged over the batch (as :func:`nst_lib.fast.perceptual_losses`).

    ``features``: layer → (B, h, w, C); ``target_grams``: layer → (C, C); ``layer_weights``: layer → weight.
    """
    __tracebackhide__ = True


    rng = np.random.default_rng(101)
    batch = 3
    shapes = {"block1_conv1": (batch, 6, 5, 4), "block2_conv1": (batch, 3, 3, 6)}
    features = {k: np.maximum(rng.normal(size=s) * rng.uniform(0.5, 3, size=s[-1]) + 0.5, 0).astype(np.float32)
                for k, s in shapes.items()}
    # each image of the batch looks different (a different brightness), so pooling them is visibly wrong
    for k in features:
        features[k] *= np.array([0.5, 1.0, 2.0], np.float32)[:, None, None, None]
    targets = {k: np.cov(rng.normal(size=(40, s[-1])), rowvar=False).astype(np.float32) + 1.0 for k, s in shapes.items()}
    weights = {"block1_conv1": 0.25, "block2_conv1": 0.75}
    tf_features = {k: tf.constant(v) for k, v in features.items()}
    tf_targets = {k: tf.constant(v) for k, v in targets.items()}
    per_image = [float(style_loss({k: v[i:i + 1] for k, v in tf_features.items()}, tf_targets, weights)[0])
                 for i in range(batch)]
    expected = float(np.mean(per_image))
    what = f"{_name(fn)}(features of {batch} images at 2 layers, target_grams, layer_weights)"
    inputs = (tf_features, tf_targets, weights)
    raw = _call(fn, *inputs)
    got = _to_array(raw, what, allow_tuple=True)
    if got.size != 1:
        raise _fail(f"{what} returned an array of shape {got.shape}; a loss is one number — average the images' "
                    "losses")
    got = float(got.reshape(()))

    def loss_of(gram_fn):
        return sum(w * np.mean((gram_fn(features[k]) - targets[k]) ** 2) for k, w in weights.items())

    def pooled(f):
        flat = f.reshape(-1, f.shape[-1]).astype(np.float64)
        return flat.T @ flat / flat.shape[0]

    def unnormalised_mean():
        values = []
        for i in range(batch):
            values.append(loss_of(lambda f: (lambda m: m.T @ m)(f[i].reshape(-1, f.shape[-1]).astype(np.float64))))
        return np.mean(values)

    mistakes = [
        ("you computed one Gram matrix for the whole batch (all images' positions pooled together): each image "
         "must match the style on its own, so compute the Gram matrix of each image and average the losses",
         loss_of(pooled)),
        ("you used only the first image of the batch (gram_matrix(features)[0]?); loop over the images (or use "
         "per-image Gram matrices, (B, C, C)) and average their losses", per_image[0]),
        ("you summed the images' losses; take their mean, so the loss does not grow with the batch size",
         float(np.sum(per_image))),
        ("your Gram matrices are not divided by the number of positions h·w (DESIGN.md's normalisation)",
         unnormalised_mean()),
    ]
    for message, candidate in mistakes:
        if _close(got, candidate, rtol=1e-3) and not _close(candidate, expected, rtol=1e-3):
            raise _fail(message)
    if not _close(got, expected, rtol=1e-3):
        raise _fail(f"{what} gave {got:.6g}; expected {expected:.6g} = the mean over the {batch} images of "
                    "Σ_l w_l · mean((G_l − A_l)²), with G_l that image's own Gram matrix")
    _check_tensorflow(fn, inputs, raw, what, loss=True)  # the training loss: it runs in the training graph
    _ok(f"{_name(fn)} gives {got:.5g}: the mean over the batch of each image's style loss, as "
        "nst_lib.fast.perceptual_losses computes it.")
