"""Property tests of nst_lib.images: whatever the input, the result honours the image contract or is one
of our errors (an NSTError subclass), never a stray Pillow/NumPy exception.

Well-formed inputs (sides large enough, float values in range) must moreover load without error.
"""
from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_lib.errors import NSTError
from nst_lib.images import MIN_SOURCE_SIDE, load_image, load_mask, resize_long_side

MODES = ["L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "F", "1"]
CONTAINERS = ["pil", "PNG", "TIFF", "JPEG", "GIF", "WEBP", "bytesio"]
DTYPES = [np.uint8, np.uint16, np.bool_, np.float16, np.float32, np.float64]
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Case:
    source: Any
    height: int
    width: int
    valid_values: bool  # False when the pixel values themselves are out of the allowed range
    description: str


def _pil_image(mode: str, height: int, width: int, rng: np.random.Generator, value_range: str) -> Image.Image:
    def u8(*channels: int) -> np.ndarray:
        return rng.integers(0, 256, size=(height, width, *channels), dtype=np.uint8)

    if mode == "LA":
        return Image.merge("LA", [Image.fromarray(u8()), Image.fromarray(u8())])
    if mode in ("L", "RGB", "RGBA"):
        return Image.fromarray(u8(*{"L": (), "RGB": (3,), "RGBA": (4,)}[mode]))
    if mode == "P":
        image = Image.fromarray(u8(3)).convert("P")
        if rng.random() < 0.5:
            image.info["transparency"] = int(rng.integers(0, 256))
        return image
    if mode == "CMYK":
        return Image.frombytes("CMYK", (width, height), u8(4).tobytes())
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, size=(height, width), dtype=np.uint16))
    if mode == "1":
        return Image.fromarray(rng.random((height, width)) < 0.5)
    # mode F: [0, 1], Pillow's [0, 255] scale, or out of range / NaN
    values = rng.random((height, width), dtype=np.float32)
    if value_range == "255":
        values *= 255
    elif value_range == "bad":
        values = values * 1000 - 10
        values.flat[0] = np.nan
    return Image.fromarray(values)


@st.composite
def pil_cases(draw) -> Case:
    height, width = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    mode = draw(st.sampled_from(MODES))
    value_range = draw(st.sampled_from(["unit", "255", "bad"])) if mode == "F" else "unit"
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = _pil_image(mode, height, width, rng, value_range)
    # Only TIFF stores mode F as floats (other encoders would quietly convert and clip it).
    container = draw(st.sampled_from(["pil", "TIFF"] if mode == "F" else CONTAINERS))
    source: Any = image
    if container != "pil":
        buffer = io.BytesIO()
        try:
            image.save(buffer, format="PNG" if container == "bytesio" else container)
        except (OSError, ValueError, KeyError):  # this format cannot store this mode: use the PIL image
            container = "pil"
        else:
            source = io.BytesIO(buffer.getvalue()) if container == "bytesio" else buffer.getvalue()
    return Case(source, height, width, value_range != "bad", f"{mode} {width}×{height} via {container}")


@st.composite
def array_cases(draw) -> Case:
    height, width = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = (height, width) + draw(st.sampled_from([(), (1,), (3,), (4,)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    valid = True
    if dtype.kind == "b":
        array = rng.random(shape) < 0.5
    elif dtype.kind == "u":
        array = rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = rng.random(shape).astype(dtype)
        flaw = draw(st.sampled_from(["none", "none", "above", "below", "nan", "inf"]))
        if flaw != "none":
            valid = False
            bad_value = {"above": 1.01, "below": -0.01, "nan": np.nan, "inf": np.inf}[flaw]
            array.flat[int(rng.integers(0, array.size))] = bad_value
    return Case(array, height, width, valid, f"{dtype} {shape}")


sizes = st.one_of(st.none(), st.integers(1, 400))
min_sides = st.one_of(st.just(32), st.integers(1, 64))


def _expected_to_load(case: Case, size: int | None, min_side: int) -> bool:
    """Whether a correct loader must succeed on this case."""
    if not case.valid_values or min(case.height, case.width) < MIN_SOURCE_SIDE:
        return False
    if size is None:
        return min(case.height, case.width) >= min_side
    if not min_side <= size <= 4096:
        return False
    short = min(case.height, case.width) * size / max(case.height, case.width)
    return max(1, math.floor(short + 0.5)) >= min_side


def _check(case: Case, size: int | None, min_side: int) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no stray warnings either
            image = load_image(case.source, size, min_side=min_side)
    except NSTError as error:
        assert not _expected_to_load(case, size, min_side), f"{case.description}, size={size}: {error}"
        assert str(error)  # a message, always
        return
    assert _expected_to_load(case, size, min_side), f"{case.description}, size={size} should have been refused"
    assert isinstance(image, np.ndarray) and image.dtype == np.float32
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.flags["C_CONTIGUOUS"]
    assert np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0
    assert min(image.shape[:2]) >= min_side
    if size is not None:
        assert max(image.shape[:2]) == size
    else:
        assert image.shape[:2] == (case.height, case.width)


@SETTINGS
@given(case=pil_cases(), size=sizes, min_side=min_sides)
def test_any_pil_image_or_file_loads_or_raises_our_error(case, size, min_side):
    _check(case, size, min_side)


@SETTINGS
@given(case=array_cases(), size=sizes, min_side=min_sides)
def test_any_array_loads_or_raises_our_error(case, size, min_side):
    _check(case, size, min_side)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 200),
    width=st.integers(1, 200),
    size=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_resize_long_side_keeps_aspect_and_range(height, width, size, seed):
    image = np.random.default_rng(seed).random((height, width, 3), dtype=np.float32)
    resized = resize_long_side(image, size)
    assert resized.dtype == np.float32 and resized.flags["C_CONTIGUOUS"]
    assert max(resized.shape[:2]) == size and min(resized.shape[:2]) >= 1
    expected_short = max(1, math.floor(min(height, width) * size / max(height, width) + 0.5))
    assert min(resized.shape[:2]) == expected_short
    if height > width:
        assert resized.shape[0] == size  # the long side stays the long side
    elif width > height:
        assert resized.shape[1] == size
    assert resized.min() >= image.min() and resized.max() <= image.max()


@settings(max_examples=60, deadline=None)
@given(
    shape=st.one_of(
        st.tuples(st.integers(1, 120)),
        st.tuples(st.integers(1, 120), st.integers(1, 120)),
        st.tuples(st.integers(1, 120), st.integers(1, 120), st.integers(1, 6)),
    ),
    dtype=st.sampled_from(DTYPES),
    target=st.tuples(st.integers(1, 150), st.integers(1, 150)),
    seed=st.integers(0, 2**32 - 1),
)
def test_load_mask_returns_unit_range_mask_or_our_error(shape, dtype, target, seed):
    rng = np.random.default_rng(seed)
    array = (rng.random(shape) * (255 if np.dtype(dtype).kind == "u" else 1)).astype(dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the aspect-ratio warning is expected here
            mask = load_mask(array, *target)
    except NSTError:
        assert len(shape) != 2 and not (len(shape) == 3 and shape[2] in (1, 3, 4))
        return
    assert mask.shape == target and mask.dtype == np.float32 and mask.flags["C_CONTIGUOUS"]
    assert mask.min() >= 0.0 and mask.max() <= 1.0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
