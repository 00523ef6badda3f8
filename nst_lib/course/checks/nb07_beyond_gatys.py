"""Self-checks of notebook 07 ("Beyond Gatys"): the guided Gram matrix.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...gram import gram_matrix
from ._common import ExerciseError, exercise, _call, _close, _diagnose, _fail, _features, _name, _ok, _tf, _to_array

NOTEBOOK = "07"

@exercise("guided_gram_matrix")
def check_guided_gram_matrix(fn: Callable) -> None:
    """Check ``fn(features, mask)``: a guided Gram matrix ``(m·F)ᵀ (m·F) / Σ m²`` (notebook 07).

    ``features`` is (1, h, w, C) and ``mask`` (h, w) in [0, 1] at the features' resolution; the result is
    (C, C) or (1, C, C). Compared with :func:`nst_lib.gram_matrix` called with a mask (Gatys et al. 2017).
    """
    __tracebackhide__ = True
    h, w, c = 6, 5, 4
    feats = _features((1, h, w, c), seed=8)
    mask = np.zeros((h, w), np.float32)
    mask[1:5, 1:4] = np.random.default_rng(9).uniform(0.3, 1.0, size=(4, 3))
    expected = gram_matrix(feats, mask).numpy().astype(np.float64)[0]
    what = f"{_name(fn)}(features of shape {feats.shape}, mask of shape {mask.shape})"
    got = _to_array(_call(fn, _tf().constant(feats), _tf().constant(mask)), what)
    if got.shape not in ((1, c, c), (c, c)):
        raise _fail(f"{what} returned shape {got.shape}; expected ({c}, {c}): one row and column per channel")
    got = got.reshape(c, c)
    flat = feats.reshape(h * w, c).astype(np.float64)
    m = mask.reshape(h * w, 1).astype(np.float64)
    weighted = flat * m
    energy, total = float(np.sum(m**2)), float(np.sum(m))
    message = _diagnose(got, expected, [
        (f"you divided by the number of positions h·w = {h * w}; divide by the mask's energy Σ m² = {energy:.4g}, "
         "so the result describes the masked region alone, whatever its size", weighted.T @ weighted / (h * w)),
        ("you divided by Σ m; the features are multiplied by m twice (once on each side), so divide by Σ m²",
         weighted.T @ weighted / total),
        ("you multiplied by the mask on one side only: weight both copies of F, (m·F)ᵀ (m·F)",
         weighted.T @ flat / energy),
        ("you ignored the mask: this is the ordinary Gram matrix of the whole image", flat.T @ flat / (h * w)),
        ("you forgot to divide by Σ m²", weighted.T @ weighted),
    ])
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-4):
        raise _fail(f"{what} differs from nst.gram_matrix(features, mask); multiply the features by the mask "
                    "(m[..., None] · F), reshape to (h·w, C), then compute (mF)ᵀ (mF) / Σ m²")
    _ok(f"{_name(fn)} matches nst.gram_matrix(features, mask): (m·F)ᵀ (m·F) / Σ m².")
