"""Self-checks of notebook 03 ("Gram matrices").

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from ...gram import gram_matrix
from ._common import (ExerciseError, _call, _check_tensorflow, _close, _diagnose, _fail, _features, _name, _ok, _tf,
                      _to_array, exercise)

NOTEBOOK = "03"



@exercise("gram_matrix")
def check_gram_matrix(fn: Callable) -> None:
    """Check ``fn(features)``: (1, H, W, C) → Gram matrix (1, C, C) (or (C, C)) = Fᵀ F / (H·W).

    Compared with :func:`nst_lib.gram_matrix` (notebook 03).
    """
    __tracebackhide__ = True
    h, w, c = 3, 4, 5
    feats = _features((1, h, w, c), seed=3)
    expected = gram_matrix(feats).numpy().astype(np.float64)[0]
    what = f"{_name(fn)}(features of shape {feats.shape})"
    inputs = (_tf().constant(feats),)
    raw = _call(fn, *inputs)
    got = _to_array(raw, what)
    if got.shape == (1, h * w, h * w) or got.shape == (h * w, h * w):
        raise _fail(
            f"{what} returned shape {got.shape}: positions × positions. You computed F Fᵀ; the Gram "
            f"matrix is Fᵀ F, channels × channels ({c} × {c}), with F of shape (H·W, C) = ({h * w}, {c})"
        )
    if got.shape not in ((1, c, c), (c, c)):
        raise _fail(f"{what} returned shape {got.shape}; expected (1, {c}, {c}): one row and column per channel")
    got = got.reshape(c, c)
    flat = feats.reshape(h * w, c).astype(np.float64)
    scrambled = feats.reshape(c, h * w).astype(np.float64)  # reshaping straight to (C, H·W) mixes the axes
    message = _diagnose(got, expected, [
        (f"you forgot to divide by the number of positions H·W = {h * w}; the contract is Fᵀ F / (H·W), "
         "which makes the statistics independent of the image size", flat.T @ flat),
        (f"you divided by H·W·C = {h * w * c}; divide by H·W = {h * w} only (the number of positions)",
         flat.T @ flat / (h * w * c)),
        (f"you divided by the number of channels C = {c}; divide by the number of positions H·W = {h * w}, "
         "which is what makes the statistics independent of the image size", flat.T @ flat / c),
        (f"you used the 2015 paper's normalisation 1/(4N²M²) inside the Gram matrix (N = C = {c} channels, "
         f"M = H·W = {h * w} positions); in the paper it belongs to the style loss, and this course's Gram matrix "
         "is Fᵀ F / (H·W)", flat.T @ flat / (4 * c**2 * (h * w) ** 2)),
        ("you divided by H·W twice", flat.T @ flat / (h * w) ** 2),
        ("you reshaped the features straight to (C, H·W), which mixes channels and positions; reshape to "
         "(H·W, C) — channels stay the last axis — and transpose that (or use tf.einsum)",
         scrambled @ scrambled.T / (h * w)),
        ("you subtracted the mean of each channel: that is a covariance matrix, not the Gram matrix of "
         "Gatys et al., which uses the raw features", np.cov(flat.T, bias=True)),
    ])
    if message:
        raise _fail(message)
    if not _close(got, got.T, rtol=1e-5):
        raise _fail(f"{what} is not symmetric; a Gram matrix is, because G[i, j] and G[j, i] multiply the same two channels")
    if not _close(got, expected, rtol=1e-4):
        ratio = got / np.where(expected == 0, np.nan, expected)
        factor = np.nanmedian(ratio)
        if np.nanmax(np.abs(ratio - factor)) < 1e-3 * max(1.0, abs(factor)):
            raise _fail(f"{what} is off by a constant factor: every entry is {factor:.4g} times the right one")
        raise _fail(
            f"{what} gave G[0, 1] = {got[0, 1]:.4g}; expected {expected[0, 1]:.4g} "
            f"= Σ over positions of F[p, 0]·F[p, 1], divided by H·W = {h * w}"
        )
    _check_tensorflow(fn, inputs, raw, what)  # the style loss calls it inside notebook 08's train step
    _ok(f"{_name(fn)} matches nst.gram_matrix: shape (C, C), Fᵀ F divided by H·W; it runs inside tf.function "
        "and the gradient flows through it.")
