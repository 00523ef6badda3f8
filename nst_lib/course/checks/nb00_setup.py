"""Self-checks of notebook 00 ("Setup and tour"): 8-bit pixels to the library's float images.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...images import load_image
from ._common import ExerciseError, exercise, _call, _close, _describe, _diagnose, _fail, _name, _ok

NOTEBOOK = "00"

@exercise("to_float_image")
def check_to_float_image(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``fn(uint8 (H, W, 3) array) -> float32 (H, W, 3) array in [0, 1]`` (notebook 00).

    Compared with :func:`nst_lib.load_image`, which turns 8-bit pixels into the library's image contract.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(32, 40, 3), dtype=np.uint8)
    pixels[0, 0] = (0, 128, 255)
    original = pixels.copy()
    expected = load_image(pixels)
    got = _call(fn, pixels)
    what = f"{_name(fn)}(a uint8 array of shape {pixels.shape})"
    if not np.array_equal(pixels, original):
        raise _fail(f"{what} changed its input array; build and return a new array instead of modifying the one you were given")
    if got is None:
        raise _fail(f"{what} returned None; did you forget the `return` statement?")
    if not isinstance(got, np.ndarray):
        raise _fail(f"{what} returned {_describe(got)}; return a NumPy array")
    if got.shape != expected.shape:
        raise _fail(f"{what} returned shape {got.shape}; the image keeps its shape (H, W, 3) = {expected.shape}")
    if got.dtype.kind in "iub":
        raise _fail(
            f"{what} returned integers ({got.dtype}); convert the array to a floating-point type before dividing (NumPy arrays can change their dtype)"
        )
    values = got.astype(np.float64)
    if values.max() > 100:
        raise _fail(f"{what} returned values up to {values.max():g}; divide by 255 so white becomes 1.0")
    if values.max() > 1 + 1e-6 or values.min() < 0:
        raise _fail(f"{what} returned values from {values.min():g} to {values.max():g}; they must stay in [0, 1], "
                    "with 255 becoming exactly 1.0")
    message = _diagnose(values, expected, [
        ("you divided by 256; divide by 255 instead, so that the brightest value 255 becomes exactly 1.0",
         pixels.astype(np.float64) / 256),
        ("the channels come out in reverse order (BGR); keep them as they are (RGB)",
         pixels[..., ::-1].astype(np.float64) / 255),
    ])
    if message:
        raise _fail(message)
    if not _close(values, expected, rtol=1e-6, atol=1e-6):
        raise _fail(
            f"{what} gave {values[0, 0].round(4).tolist()} for the pixel (0, 128, 255); "
            f"expected {expected[0, 0].round(4).tolist()}: each value should be pixel / 255"
        )
    if got.dtype != np.float32:
        raise _fail(
            f"the values are right but the dtype is {got.dtype}; the library's images are float32 "
            "(32-bit floats): half the memory, and what TensorFlow expects"
        )
    _ok(f"{_name(fn)} turns 8-bit pixels into float32 values in [0, 1], exactly like nst.load_image.")
