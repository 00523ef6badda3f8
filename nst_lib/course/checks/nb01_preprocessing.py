"""Self-checks of notebook 01 ("Images and preprocessing"): VGG's input and back.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from ._common import (ExerciseError, _call, _check_tensorflow, _close, _diagnose, _fail, _means, _name, _ok,
                      _reference_preprocess, _tf, _to_array, exercise)

NOTEBOOK = "01"

def _preprocess_input() -> np.ndarray:
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, size=(1, 3, 4, 3))
    x[0, 0, 0] = (0.9, 0.5, 0.1)  # a pixel with clearly different R, G, B, quoted in messages
    return x.astype(np.float32)


@exercise("preprocess")
def check_preprocess(fn: Callable) -> None:
    """Check ``fn(images)``: (batch, H, W, 3) RGB in [0, 1] → VGG input (BGR, ×255, means removed).

    Compared with :meth:`nst_lib.FeatureExtractor.preprocess` (notebook 01).
    """
    __tracebackhide__ = True
    x = _preprocess_input()
    original = x.copy()
    expected = _reference_preprocess(x)
    inputs = (_tf().constant(x),)
    raw = _call(fn, *inputs)
    what = f"{_name(fn)}(images)"
    got = _to_array(raw, what)
    if got.shape != expected.shape:
        hint = " (keep the batch axis: don't squeeze it away)" if got.shape == expected.shape[1:] else ""
        raise _fail(f"{what} returned shape {got.shape} for input shape {x.shape}; expected {expected.shape}{hint}")
    if not np.array_equal(x, original):
        raise _fail(f"{what} changed its input in place; compute a new tensor instead")
    means = _means()
    rgb255, bgr255, bgr = x * 255.0, x[..., ::-1] * 255.0, x[..., ::-1].astype(np.float64)
    message = _diagnose(got, expected, [
        ("you forgot to reverse the channel order: VGG was trained on BGR images, so reverse the order of the "
         "last axis (the channels) before subtracting the means", rgb255 - means),
        ("you subtracted the means in RGB order; CAFFE_MEANS_BGR is already in B, G, R order, so flip the "
         "channels first and then subtract the means as they are", bgr255 - means[::-1]),
        ("you forgot to multiply by 255: the means are in the 0–255 scale, so scale the [0, 1] image first",
         bgr - means),
        ("you subtracted the means before multiplying by 255; scale first (×255), then subtract", (bgr - means) * 255),
        ("you forgot to subtract the ImageNet means (CAFFE_MEANS_BGR)", bgr255),
        ("wrong sign: subtract the means, don't add them", bgr255 + means),
        ("you scaled the image to [−1, 1] (the 'tf' mode of preprocess_input); VGG uses the 'caffe' mode: "
         "×255, BGR, minus the means", x * 2.0 - 1.0),
    ])
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-5, atol=1e-3):
        raise _fail(
            f"for the RGB pixel (0.9, 0.5, 0.1) {what} gave {got[0, 0, 0].round(3).tolist()}; expected "
            f"{expected[0, 0, 0].round(3).tolist()} = (255·0.1 − 103.939, 255·0.5 − 116.779, 255·0.9 − 123.68)"
        )
    _check_tensorflow(fn, inputs, raw, what)  # it runs inside notebook 08's compiled train step
    _ok(f"{_name(fn)} matches FeatureExtractor.preprocess: ×255, RGB → BGR, ImageNet means subtracted; it runs "
        "inside tf.function and the gradient flows through it.")


@exercise("deprocess")
def check_deprocess(fn: Callable) -> None:
    """Check ``fn(vgg_input)``: the inverse of preprocessing, back to a displayable image (notebook 01).

    ``fn`` takes a (1, H, W, 3) tensor in VGG's input space and returns the RGB image in [0, 1],
    clipped, with shape (1, H, W, 3) or (H, W, 3). Checked by a round trip through
    :meth:`nst_lib.FeatureExtractor.preprocess` and on values outside the displayable range.
    """
    __tracebackhide__ = True
    x = _preprocess_input()
    y = _reference_preprocess(x)
    what = f"{_name(fn)}(vgg_input)"
    got = _to_array(_call(fn, _tf().constant(y, dtype="float32")), what)
    if got.shape not in (x.shape, x.shape[1:]):
        raise _fail(f"{what} returned shape {got.shape} for input {y.shape}; expected {x.shape} or {x.shape[1:]}")
    got = got.reshape(x.shape)
    means = _means()
    mistakes = [
        ("the channels are still in BGR order; flip the last axis back to RGB", x[..., ::-1]),
        ("you flipped the channels before adding the means, so each channel got another channel's mean; "
         "add CAFFE_MEANS_BGR while the tensor is still BGR, then flip", (y[..., ::-1] + means) / 255.0),
        ("you forgot to add the means back (preprocessing subtracted them)", y[..., ::-1] / 255.0),
        ("wrong sign: add the means back, don't subtract them again", (y - means)[..., ::-1] / 255.0),
        ("you forgot to divide by 255, so the values are on the 0–255 scale", (y + means)[..., ::-1]),
    ]
    # the learner may or may not clip already: compare with both versions of each mistake
    mistakes += [(message, np.clip(candidate, 0.0, 1.0)) for message, candidate in mistakes]
    message = _diagnose(got, x, mistakes, rtol=1e-3)
    if message:
        raise _fail(message)
    if not _close(got, x, rtol=1e-4, atol=1e-4):
        raise _fail(
            f"{what} does not undo preprocessing: the RGB pixel (0.9, 0.5, 0.1) came back as "
            f"{got[0, 0, 0].round(3).tolist()}. Undo the steps in reverse order: add the means, flip BGR → RGB, ÷255"
        )
    outside = np.array([[[[-80.0, 200.0, 10.0], [300.0, -150.0, 0.0]]]])  # not reachable from a [0, 1] image
    clipped = _to_array(_call(fn, _tf().constant(outside, dtype="float32")), what)
    if clipped.min() < -1e-6 or clipped.max() > 1 + 1e-6:
        raise _fail(
            f"{what} returned values in [{clipped.min():.3g}, {clipped.max():.3g}] for an optimised image; "
            "clip the result to [0, 1] so it can be displayed and saved"
        )
    _ok(f"{_name(fn)} undoes FeatureExtractor.preprocess (means back, BGR → RGB, ÷255) and clips to [0, 1].")
