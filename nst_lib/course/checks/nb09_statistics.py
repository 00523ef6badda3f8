"""Self-checks for notebook 09's exercises ("What is style?"): mean/std matching and the sliced
Wasserstein distance, written by the learner from an empty body.

Each check calls the learner's function on small, known features and compares the answer with
:mod:`nst_lib.statistics`; a wrong answer raises :class:`~nst_lib.course.checks.ExerciseError` whose
message names the likely mistake (no square, a forgotten division by C, the variance instead of the
standard deviation, statistics over the wrong axis, projections not sorted, sorted over channels …).

The reference solutions are in :mod:`nst_lib.course.solutions_statistics`;
``checks.solution("mean_std_distance")`` reveals one on purpose, like those of notebooks 00–08.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import tensorflow as tf

from ...statistics import STD_EPSILON, mean_std_distance, mean_std_target, random_directions, sliced_target, sliced_wasserstein_distance
from ._common import _call, _check_tensorflow, _close, _fail, _name, _ok, _to_array, exercise

__all__ = ["check_mean_std_distance", "check_sliced_wasserstein_distance"]

NOTEBOOK = "09"


def _features(shape, seed: int) -> np.ndarray:
    """Post-ReLU-like float32 features: non-negative, channels with different means and spreads."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 4.0, size=shape[-1])
    offset = rng.uniform(0.0, 3.0, size=shape[-1])
    return np.maximum(rng.normal(size=shape) * scale + offset, 0.0).astype(np.float32)


def _scalar_result(value, what: str) -> float:
    array = _to_array(value, what)
    if array.size != 1:
        raise _fail(f"{what} returned an array of shape {array.shape}; a distance is one number — average the "
                    "per-channel (or per-direction) terms into their mean")
    return float(array.reshape(()))


def _first_match(got: float, expected: float, mistakes) -> str | None:
    for message, candidate in mistakes:
        if _close(got, candidate, rtol=1e-3) and not _close(candidate, expected, rtol=1e-3):
            return message
    return None


# -------------------------------------------------------------------------------- mean and std
@exercise("mean_std_distance")
def check_mean_std_distance(fn: Callable) -> None:
    """Check ``fn(features, style_features)`` = (‖μ − μ*‖² + ‖σ − σ*‖²) / C (notebook 09).

    Both arguments are (1, h, w, C) feature maps (different sizes); μ, σ are per-channel means and
    standard deviations over the positions, σ = √(variance + 1e-5). Compared with
    :func:`nst_lib.statistics.mean_std_distance`.
    """
    __tracebackhide__ = True


    feats, style = _features((1, 5, 6, 4), seed=90), _features((1, 7, 4, 4), seed=91)
    expected = float(mean_std_distance(tf.constant(feats), mean_std_target(tf.constant(style))))
    what = f"{_name(fn)}(features of shape {feats.shape}, style features of shape {style.shape})"
    inputs = (tf.constant(feats), tf.constant(style))
    raw = _call(fn, *inputs)
    got = _scalar_result(raw, what)

    x, y = feats.reshape(-1, 4).astype(np.float64), style.reshape(-1, 4).astype(np.float64)
    mu, mu_s = x.mean(0), y.mean(0)
    var, var_s = x.var(0), y.var(0)
    sd, sd_s = np.sqrt(var + STD_EPSILON), np.sqrt(var_s + STD_EPSILON)
    channels = 4
    mistakes = [
        ("you summed over the channels; divide by the number of channels C = 4 too (a mean over the "
         "channels), so that layers with 64 and 512 channels count alike",
         np.sum((mu - mu_s) ** 2 + (sd - sd_s) ** 2)),
        ("you compared variances, not standard deviations: take the square root of the variance plus 1e-5 (AdaIN matches σ, "
         "which has the units of the features)",
         np.mean((mu - mu_s) ** 2 + (var - var_s) ** 2)),
        ("you left out the squares: the distance is (μ − μ*)² + (σ − σ*)², averaged over channels",
         np.mean(np.abs(mu - mu_s) + np.abs(sd - sd_s))),
        ("you used only the means; add the standard-deviation term (σ − σ*)²", np.mean((mu - mu_s) ** 2)),
        ("you used only the standard deviations; add the mean term (μ − μ*)²", np.mean((sd - sd_s) ** 2)),
        ("you took the mean and standard deviation of all numbers together; compute one per channel: reduce "
         "over the positions (axis 0 of the (N, C) reshaped features, or axes 1 and 2 of (1, h, w, C))",
         (x.mean() - y.mean()) ** 2 + (np.sqrt(x.var() + STD_EPSILON) - np.sqrt(y.var() + STD_EPSILON)) ** 2),
    ]
    message = _first_match(got, expected, mistakes)
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-4):
        raise _fail(f"{what} gave {got:.6g}; expected {expected:.6g} = (‖μ − μ*‖² + ‖σ − σ*‖²) / C with "
                    f"μ, σ per channel over the positions, σ = √(variance + 1e-5), C = {channels}")

    # the same cloud in another order (and another size) is the same style: the distance must not care
    order = np.random.default_rng(92).permutation(30)
    shuffled = x[order].reshape(1, 6, 5, 4).astype(np.float32)
    again = _scalar_result(_call(fn, tf.constant(shuffled), tf.constant(style)), what)
    if not _close(again, expected, rtol=1e-4):
        raise _fail(f"{_name(fn)} changed when the positions were shuffled ({again:.6g} instead of {expected:.6g}); "
                    "mean and standard deviation over the positions do not depend on their order or layout")
    itself = _scalar_result(_call(fn, tf.constant(feats), tf.constant(feats)), what)
    if abs(itself) > 1e-6 * max(1.0, expected):
        raise _fail(f"{_name(fn)}(features, features) gave {itself:.3g}; the distance of a style to itself is 0")
    _check_tensorflow(fn, inputs, raw, what)  # a style loss: it runs in the optimiser's graph
    _ok(f"{_name(fn)} matches nst_lib.statistics.mean_std_distance ({got:.5g}), ignores the order of positions, "
        "and is 0 between a style and itself.")


# --------------------------------------------------------------------------------- sliced Wasserstein
@exercise("sliced_wasserstein_distance")
def check_sliced_wasserstein_distance(fn: Callable) -> None:
    """Check ``fn(features, style_features, directions)``: the sliced Wasserstein distance (notebook 09).

    ``features`` and ``style_features`` are (1, h, w, C) with as many positions; ``directions`` is (C, K)
    with unit columns. The answer is the mean over the K directions of the mean squared difference between
    the sorted projections. Compared with :func:`nst_lib.statistics.sliced_wasserstein_distance` drawing
    the same directions.
    """
    __tracebackhide__ = True


    channels, count, seed = 4, 6, 2021
    feats, style = _features((1, 4, 5, channels), seed=93), _features((1, 5, 4, channels), seed=94)
    directions = random_directions(channels, count, seed)
    expected = float(sliced_wasserstein_distance(tf.constant(feats), sliced_target(tf.constant(style)), seed=seed,
                                                 projections=count))
    what = (f"{_name(fn)}(features of shape {feats.shape}, style features of shape {style.shape}, "
            f"directions of shape {tuple(directions.shape)})")
    inputs = (tf.constant(feats), tf.constant(style), directions)
    raw = _call(fn, *inputs)
    got = _scalar_result(raw, what)

    d = directions.numpy().astype(np.float64)
    x, y = feats.reshape(-1, channels).astype(np.float64), style.reshape(-1, channels).astype(np.float64)
    px, py = x @ d, y @ d
    sx, sy = np.sort(px, axis=0), np.sort(py, axis=0)
    mistakes = [
        ("you did not sort the projections: in one dimension the optimal transport sends the i-th smallest "
         "value to the i-th smallest, so sort each direction's projected values over the positions before "
         "comparing", np.mean((px - py) ** 2)),
        ("you sorted along the directions (each row) instead of along the positions; sort each column "
         "of the (N, K) projections, that is along the positions' axis",
         np.mean((np.sort(px, axis=1) - np.sort(py, axis=1)) ** 2)),
        ("you sorted the raw features, not their projections: first project, (N, C) @ (C, K) → (N, K), then sort",
         np.mean((np.sort(x, axis=0) - np.sort(y, axis=0)) ** 2)),
        ("you took the square root of each direction's mean square (W₁-like); the loss is the mean of the "
         "squared differences itself", np.mean(np.sqrt(np.mean((sx - sy) ** 2, axis=0)))),
        ("you summed over the directions; average over them (a mean over positions and directions alike)",
         np.sum(np.mean((sx - sy) ** 2, axis=0))),
        ("you summed over the positions; average over them too", np.mean(np.sum((sx - sy) ** 2, axis=0))),
        ("you left out the square: the loss is the mean of squared differences", np.mean(np.abs(sx - sy))),
    ]
    message = _first_match(got, expected, mistakes)
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-4):
        raise _fail(f"{what} gave {got:.6g}; expected {expected:.6g}: project both feature clouds on the "
                    "directions, sort each projection over the positions, and average the squared differences")
    order = np.random.default_rng(95).permutation(20)
    shuffled = x[order].reshape(1, 5, 4, channels).astype(np.float32)
    again = _scalar_result(_call(fn, tf.constant(shuffled), tf.constant(style), directions), what)
    if not _close(again, expected, rtol=1e-4):
        raise _fail(f"{_name(fn)} changed when the positions were shuffled ({again:.6g} instead of {expected:.6g})")
    _check_tensorflow(fn, inputs, raw, what)  # a style loss: it runs in the optimiser's graph
    _ok(f"{_name(fn)} matches nst_lib.statistics.sliced_wasserstein_distance ({got:.5g}) with the same "
        "directions, and ignores the order of positions.")
