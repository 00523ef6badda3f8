"""Self-check for notebook 13's exercise ("Video without flicker"): the temporal loss of Ruder, Dosovitskiy
& Brox (2016), written by the learner from an empty body.

``temporal_loss(image, warped, mask)`` takes the (1, H, W, 3) frame being optimised, the (1, H, W, 3)
previous stylized frame warped onto it, and the (1, H, W) mask c (1 where the flow is reliable) and returns
``(1/D) Σ c · (x − ω)²`` with D = H·W·3: the mean over pixels *and* channels, each squared difference
weighted by the mask. The check compares the learner's answer with :func:`nst_lib.losses.temporal_loss` on
random inputs and names the likely mistake (no mask, the mask inverted, the mask not broadcast over the
channels, a sum instead of the mean, absolute instead of squared differences, dividing by the masked
pixels only). The reference solution is in :mod:`nst_lib.course.solutions_video`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from ...losses import temporal_loss as library_temporal_loss
from ._common import _call, _diagnose, _fail, _name, _ok, _ratio_message, _scalar, exercise

__all__ = ["check_temporal_loss"]

NOTEBOOK = "13"


def _inputs(seed: int = 13):
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 1, (1, 6, 7, 3)).astype(np.float32)
    warped = rng.uniform(0, 1, (1, 6, 7, 3)).astype(np.float32)
    mask = (rng.uniform(size=(1, 6, 7)) > 0.35).astype(np.float32)
    return image, warped, mask


def _mistakes(image, warped, mask):
    x, w, c = (np.asarray(a, np.float64) for a in (image, warped, mask))
    squared = (x - w) ** 2
    weighted = c[..., None] * squared
    return [
        ("you left the mask out: multiply each squared difference by c, so that occluded pixels (c = 0) add "
         "nothing", squared.mean()),
        ("you weighted by 1 − c: the mask is 1 where the flow is *reliable*, and those are the pixels to hold",
         ((1 - c)[..., None] * squared).mean()),
        ("you summed instead of taking the mean; divide by D = H·W·3 (a mean over all the values does it)", weighted.sum()),
        ("you divided by the number of reliable pixels (Σ c) instead of D = H·W·3: Ruder et al. normalise by the "
         "image size, so the weight does not change with how much of the frame is occluded",
         weighted.sum() / (3 * c.sum())),
        ("you used absolute differences; the temporal loss squares them", (c[..., None] * np.abs(x - w)).mean()),
        ("the mask is (1, H, W) and the images (1, H, W, 3): give it a channel axis of length 1 at the end, so that "
         "it multiplies all three channels", weighted.mean() * 3),
    ]


@exercise("temporal_loss")
def check_temporal_loss(fn: Callable) -> None:
    """Check ``fn(image, warped, mask)`` = mean(c · (x − ω)²) over pixels and channels."""
    __tracebackhide__ = True
    image, warped, mask = _inputs()
    what = f"{_name(fn)}(image (1, 6, 7, 3), warped (1, 6, 7, 3), mask (1, 6, 7))"
    got = _scalar(_call(fn, tf.constant(image), tf.constant(warped), tf.constant(mask),
                        hint="the mask has no channel axis: give it one of length 1 at the end, so that it broadcasts over the three channels"), what)
    expected = float(library_temporal_loss(tf.constant(image), tf.constant(warped), tf.constant(mask)))
    message = _diagnose(got, expected, _mistakes(image, warped, mask))
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4, atol=1e-7):
        raise _fail(_ratio_message(got, expected, what))
    still = _scalar(_call(fn, tf.constant(image), tf.constant(image), tf.constant(mask)), what)
    if abs(still) > 1e-7:
        raise _fail(f"a frame equal to its warped predecessor must cost 0, yours costs {still:.3g}")
    _ok(f"temporal_loss matches nst_lib.losses.temporal_loss ({got:.6f}) and is 0 for a steady frame")
