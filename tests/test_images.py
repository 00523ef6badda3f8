"""Tests of nst_lib.images: every kind of input, good and bad, built in tmp_path (no network, no TensorFlow)."""
from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from image_fixtures import QUADRANT_COLOURS, encode, noise_rgb, png_declaring, quadrant_image, quadrant_means, write
from nst_lib import images
from nst_lib.errors import ImageNotFoundError, InvalidImageError, InvalidSettingError, NSTError, OutputError
from nst_lib.images import (
    MAX_INPUT_PIXELS,
    MIN_SIDE,
    check_output_path,
    describe_image,
    image_to_png_bytes,
    load_image,
    load_mask,
    resize_long_side,
    resize_to,
    save_image,
    to_pil,
    to_uint8,
)


def assert_image_contract(image: np.ndarray) -> None:
    """The contract of every image nst_lib hands out."""
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.float32
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.flags["C_CONTIGUOUS"]
    assert np.isfinite(image).all()
    assert image.min() >= 0.0 and image.max() <= 1.0


def assert_quadrants_upright(image: np.ndarray, tolerance: float = 12.0) -> None:
    """The quadrant image came out the right way up (pixel content, not just shape)."""
    for name, colour in quadrant_means(image).items():
        np.testing.assert_allclose(colour, QUADRANT_COLOURS[name], atol=tolerance, err_msg=name)


def png_file(tmp_path: Path, name: str = "image.png", image: Image.Image | None = None) -> Path:
    return write(tmp_path / name, encode(image or quadrant_image(), "PNG"))


# ------------------------------------------------------------------------------------------ bad inputs
def test_missing_path_raises_image_not_found(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(ImageNotFoundError, match="does not exist") as info:
        load_image(missing)
    assert str(missing) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)  # generic handlers still work


def test_url_is_not_downloaded(tmp_path):
    with pytest.raises(ImageNotFoundError, match="URLs are not downloaded"):
        load_image("https://example.com/cat.jpg")


def test_directory_raises_image_not_found(tmp_path):
    with pytest.raises(ImageNotFoundError, match="is a directory, not an image file"):
        load_image(tmp_path)


def test_empty_file_raises_invalid_image(tmp_path):
    path = write(tmp_path / "empty.png", b"")
    with pytest.raises(InvalidImageError, match=r"empty \(0 bytes\)") as info:
        load_image(path)
    assert "empty.png" in str(info.value)


def test_text_file_named_jpg_names_supported_formats(tmp_path):
    path = write(tmp_path / "notes.jpg", b"This is a shopping list, not a photo.\n" * 10)
    with pytest.raises(InvalidImageError, match="PNG, JPEG") as info:
        load_image(path)
    assert "notes.jpg" in str(info.value)


def test_truncated_jpeg_is_reported_as_truncated(tmp_path):
    data = encode(Image.fromarray(noise_rgb(256, 256)), "JPEG")
    path = write(tmp_path / "cut.jpg", data[: len(data) // 2])
    with pytest.raises(InvalidImageError, match="truncated or corrupt") as info:
        load_image(path)
    assert "cut.jpg" in str(info.value)


def test_unsupported_format_is_refused(tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'
    path = write(tmp_path / "drawing.svg", svg)
    with pytest.raises(InvalidImageError, match="not an image format Pillow can read"):
        load_image(path)


def test_one_pixel_image_is_refused(tmp_path):
    path = png_file(tmp_path, "dot.png", Image.new("RGB", (1, 1), "red"))
    with pytest.raises(InvalidImageError, match=r"1×1 px; both sides must be at least 8 px"):
        load_image(path, 256)


def test_extreme_aspect_ratio_is_refused_after_resizing(tmp_path):
    path = png_file(tmp_path, "strip.png", Image.new("RGB", (5000, 10), "red"))
    with pytest.raises(InvalidImageError, match=r"512×1 px after resizing to 512; both sides must be at least 32 px"):
        load_image(path, 512)


def test_extreme_aspect_ratio_without_resizing_is_refused(tmp_path):
    path = png_file(tmp_path, "strip.png", Image.new("RGB", (10, 5000), "red"))
    with pytest.raises(InvalidImageError, match="at least 32 px"):
        load_image(path)


def test_small_image_can_be_upscaled(tmp_path):
    path = png_file(tmp_path, "small.png", Image.new("RGB", (16, 12), "blue"))
    image = load_image(path, 64)
    assert image.shape == (48, 64, 3)
    np.testing.assert_allclose(image[..., 2], 1.0, atol=1e-6)


def test_png_declaring_50000_squared_pixels_is_refused_before_decoding(tmp_path):
    path = write(tmp_path / "bomb.png", png_declaring(50_000, 50_000))
    assert path.stat().st_size < 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither Pillow's warning nor its error may escape as such
        with pytest.raises(InvalidImageError, match="100,000,000 pixels") as info:
            load_image(path)
    assert "bomb.png" in str(info.value) and "2,500,000,000" in str(info.value)


def test_pixel_limit_between_pillow_warning_and_error_is_ours(tmp_path, monkeypatch):
    # 108 megapixels: Pillow only warns (limit ~89M, error above ~179M); our own limit must refuse it,
    # from the header alone: decoding would be a bug.
    path = write(tmp_path / "big.png", png_declaring(12_000, 9_000))

    def no_decoding(self):
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidImageError, match=r"12000×9000 px .*limit of 100,000,000"):
            load_image(path)


def test_max_pixels_argument_is_checked_before_decoding(tmp_path):
    path = png_file(tmp_path)  # 64×96
    with pytest.raises(InvalidImageError, match="limit of 1,000 pixels"):
        load_image(path, max_pixels=1000)
    with pytest.raises(InvalidImageError, match="limit of 1,000 pixels"):
        load_image(np.zeros((96, 64, 3), np.uint8), max_pixels=1000)


@pytest.mark.parametrize("source", [42, 3.5, None, [[0, 1], [1, 0]], {"path": "x.png"}, object()])
def test_wrong_python_type_names_allowed_types(source):
    with pytest.raises(InvalidImageError, match="a path .*bytes.*file object.*PIL image.*NumPy array"):
        load_image(source)


def test_text_mode_file_object_is_refused(tmp_path):
    path = png_file(tmp_path)
    with open(path, encoding="latin-1") as handle, pytest.raises(InvalidImageError, match="text mode"):
        load_image(handle)


@pytest.mark.parametrize("size", [16, 31, 4097, 0, -5, 512.0, "512", True])
def test_bad_size_is_an_invalid_setting(size):
    with pytest.raises(InvalidSettingError, match="size"):
        load_image(np.zeros((64, 64, 3), np.uint8), size)


def test_size_accepts_numpy_integers():
    assert load_image(np.zeros((64, 32, 3), np.uint8), np.int64(128)).shape == (128, 64, 3)


@pytest.mark.parametrize(
    "array",
    [
        np.full((40, 40, 3), 1.5, np.float32),
        np.full((40, 40, 3), -0.1, np.float64),
        np.full((40, 40), np.nan, np.float32),
        np.full((40, 40, 3), np.inf, np.float16),
    ],
    ids=["above-1", "negative", "nan", "inf"],
)
def test_floats_outside_unit_range_or_nan_are_refused(array):
    with pytest.raises(InvalidImageError, match=r"finite and in \[0, 1\]"):
        load_image(array)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((40, 40, 2), np.uint8), "shape"),
        (np.zeros((40, 40, 5), np.uint8), "shape"),
        (np.zeros(40, np.uint8), "shape"),
        (np.zeros((2, 40, 40, 3), np.uint8), "shape"),
        (np.zeros((40, 40, 3), np.int64), "dtype"),
        (np.zeros((40, 40, 3), np.complex64), "dtype"),
        (np.zeros((40, 40, 3), object), "dtype"),
    ],
)
def test_bad_arrays_are_refused(array, message):
    with pytest.raises(InvalidImageError, match=message):
        load_image(array)


# ---------------------------------------------------------------------------------- modes and formats
def test_16_bit_png_keeps_its_precision(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    path = write(tmp_path / "deep.png", encode(Image.fromarray(ramp), "PNG"))
    image = load_image(path)
    assert_image_contract(image)
    expected = ramp.astype(np.float64) / 65535
    for channel in range(3):
        np.testing.assert_allclose(image[..., channel], expected, atol=1 / 255)
    assert image.max() == pytest.approx(1.0)  # not clipped at 255/65535
    # finer than 8 bits: two neighbouring 16-bit levels are still told apart
    assert len(np.unique(image[..., 0])) > 256


def test_16_bit_big_endian_tiff(tmp_path):
    ramp = np.linspace(0, 65535, 48 * 48).round().astype(np.uint16).reshape(48, 48)
    path = write(tmp_path / "deep.tif", encode(Image.fromarray(ramp.astype(">u2")), "TIFF"))
    assert Image.open(path).mode == "I;16B"
    np.testing.assert_allclose(load_image(path)[..., 1], ramp / 65535, atol=1e-6)


def test_palette_png_with_transparency_is_composited_over_white(tmp_path):
    palette_image = Image.new("P", (40, 40), 0)
    palette_image.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    palette_image.paste(1, (0, 0, 20, 40))  # left half blue (index 1), right half index 0
    path = write(tmp_path / "pal.png", encode(palette_image, "PNG", transparency=0))  # index 0 transparent
    image = load_image(path)
    assert_image_contract(image)
    np.testing.assert_allclose(image[:, :20], np.broadcast_to([0, 0, 1], (40, 20, 3)), atol=1e-6)
    np.testing.assert_allclose(image[:, 20:], 1.0, atol=1e-6)  # transparent red -> white, not red or black


def test_palette_png_without_transparency(tmp_path):
    palette_image = Image.new("P", (40, 40), 0)
    palette_image.putpalette([255, 0, 0] + [0] * (255 * 3))
    image = load_image(write(tmp_path / "pal.png", encode(palette_image, "PNG")))
    np.testing.assert_allclose(image, np.broadcast_to([1, 0, 0], (40, 40, 3)), atol=1e-6)


def test_rgba_half_transparent_is_blended_with_white(tmp_path):
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 128))
    image = load_image(write(tmp_path / "half.png", encode(rgba, "PNG")))
    np.testing.assert_allclose(image, 1 - 128 / 255, atol=1e-6)


def test_cmyk_jpeg_gives_the_right_colours(tmp_path):
    path = write(tmp_path / "print.jpg", encode(quadrant_image().convert("CMYK"), "JPEG", quality=95))
    assert Image.open(path).mode == "CMYK"
    image = load_image(path)
    assert_image_contract(image)
    assert_quadrants_upright(image)


def test_animated_gif_uses_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "lime", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    path = write(tmp_path / "anim.gif", buffer.getvalue())
    assert Image.open(path).n_frames == 3
    np.testing.assert_allclose(load_image(path), np.broadcast_to([1, 0, 0], (40, 40, 3)), atol=1e-6)


@pytest.mark.parametrize(
    "orientation, stored_as",
    [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270), (3, Image.Transpose.ROTATE_180)],
)
def test_exif_orientation_comes_out_upright(tmp_path, orientation, stored_as):
    # A camera held sideways stores the sensor's pixels plus a tag saying how to turn them for display.
    upright = quadrant_image(96, 64)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = write(tmp_path / "phone.jpg", encode(upright.transpose(stored_as), "JPEG", exif=exif, quality=95))
    image = load_image(path)
    assert image.shape == (96, 64, 3)
    assert_quadrants_upright(image)


def test_exif_orientation_with_resize_and_draft_decoding(tmp_path):
    upright = quadrant_image(1600, 1200)  # big enough for JPEG draft (reduced-scale) decoding
    exif = Image.Exif()
    exif[0x0112] = 6
    path = write(tmp_path / "big.jpg", encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif))
    image = load_image(path, 200)
    assert image.shape == (200, 150, 3)
    assert_quadrants_upright(image)


def test_draft_decoding_matches_a_full_decode(tmp_path):
    # Detail at ~4 px: decoding at 1/4 scale (400×300) keeps it; decoding below 256 px would blur it
    # (mean difference ~0.07 instead of ~0.006).
    detailed = Image.fromarray(noise_rgb(300, 400)).resize((1600, 1200), Image.Resampling.BICUBIC)
    path = write(tmp_path / "photo.jpg", encode(detailed, "JPEG", quality=95))
    fast = load_image(path, 256)
    full = resize_long_side(load_image(path), 256)
    assert fast.shape == full.shape == (192, 256, 3)
    assert np.abs(fast - full).mean() < 0.02


def test_path_with_spaces_and_non_ascii_characters(tmp_path):
    path = png_file(tmp_path / "mes images é 图片", "photo d'été ü ß.png")
    image = load_image(path)
    assert_quadrants_upright(image, tolerance=1e-3)
    assert load_image(str(path)).shape == (96, 64, 3)


@pytest.mark.parametrize(
    "mode, image_format",
    [
        ("L", "PNG"),
        ("LA", "PNG"),
        ("1", "PNG"),
        ("RGB", "BMP"),
        ("RGBA", "WEBP"),
        ("YCbCr", "JPEG"),
        ("F", "TIFF"),
        ("I", "TIFF"),
        ("I;16", "PNG"),
        ("I;16", "TIFF"),
        ("CMYK", "TIFF"),
        ("P", "GIF"),
    ],
)
def test_every_mode_becomes_rgb_in_unit_range(tmp_path, mode, image_format):
    original = quadrant_image()
    converted = original.convert(mode) if mode not in ("F", "I", "I;16") else original.convert("L").convert(mode)
    path = write(tmp_path / f"x.{image_format.lower()}", encode(converted, image_format))
    image = load_image(path)
    assert_image_contract(image)
    assert image.shape == (96, 64, 3)


def test_float_mode_f_on_both_scales():
    unit = np.linspace(0, 1, 40 * 40, dtype=np.float32).reshape(40, 40)
    np.testing.assert_allclose(load_image(Image.fromarray(unit))[..., 0], unit, atol=1e-6)
    np.testing.assert_allclose(load_image(Image.fromarray(unit * 255))[..., 0], unit, atol=1e-6)
    with pytest.raises(InvalidImageError, match="mode F"):
        load_image(Image.fromarray(unit * 1000))


def test_one_bit_image_is_black_and_white():
    bits = Image.fromarray(np.tile([True, False], (40, 20)))
    assert bits.mode == "1"
    image = load_image(bits)
    assert set(np.unique(image)) == {0.0, 1.0}


# ------------------------------------------------------------------------------------- source types
def test_bytes_bytearray_memoryview_and_file_objects_give_the_same_image(tmp_path):
    data = encode(quadrant_image(), "PNG")
    path = write(tmp_path / "q.png", data)
    reference = load_image(path)
    assert_quadrants_upright(reference, tolerance=1e-3)
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        np.testing.assert_array_equal(load_image(source), reference)
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(load_image(handle), reference)
    np.testing.assert_array_equal(load_image(Image.open(path)), reference)
    np.testing.assert_array_equal(load_image(np.asarray(Image.open(path))), reference)


def test_empty_bytes_are_refused():
    with pytest.raises(InvalidImageError, match="empty"):
        load_image(b"")


def test_pil_image_in_memory_is_not_modified():
    picture = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    image = load_image(picture)
    np.testing.assert_allclose(image, 1.0)
    assert picture.mode == "RGBA" and picture.getpixel((0, 0)) == (255, 0, 0, 0)


GREY = np.linspace(0, 1, 48 * 40).reshape(48, 40)


@pytest.mark.parametrize(
    "array",
    [
        (GREY * 255).round().astype(np.uint8),
        (GREY * 65535).round().astype(np.uint16),
        (GREY * 65535).round().astype(">u2"),
        GREY.astype(np.float16),
        GREY.astype(np.float32),
        GREY,
        (GREY * 255).round().astype(np.uint8)[..., None],
        np.repeat(GREY[..., None], 3, axis=2).astype(np.float32),
        np.dstack([np.repeat(GREY[..., None], 3, axis=2), np.ones((48, 40))]),
        np.asfortranarray(np.repeat(GREY[..., None], 3, axis=2)),
        np.repeat(GREY[..., None], 3, axis=2)[:, ::-1][:, ::-1],  # a non-contiguous view
    ],
    ids=["u8", "u16", "u16-big-endian", "f16", "f32", "f64", "HW1", "HW3", "HW4-opaque", "fortran", "view"],
)
def test_numpy_sources_of_every_dtype_and_shape(array):
    image = load_image(array)
    assert_image_contract(image)
    assert image.shape == (48, 40, 3)
    np.testing.assert_allclose(image[..., 1], GREY, atol=1 / 255)


def test_bool_array():
    mask = np.zeros((40, 40), bool)
    mask[:20] = True
    image = load_image(mask)
    assert_image_contract(image)
    assert image[:20].min() == 1.0 and image[20:].max() == 0.0


def test_transparent_array_pixels_become_white():
    rgba = np.zeros((40, 40, 4), np.uint8)  # black, fully transparent
    np.testing.assert_allclose(load_image(rgba), 1.0)


def test_result_is_a_copy_of_the_array_source():
    source = np.full((40, 40, 3), 0.5, np.float32)
    image = load_image(source)
    image[:] = 0
    assert source.min() == 0.5


# ------------------------------------------------------------------------------------------ resizing
@pytest.mark.parametrize(
    "height, width, size, expected",
    [
        (300, 400, 200, (150, 200)),
        (400, 300, 200, (200, 150)),
        (100, 100, 512, (512, 512)),
        (333, 500, 512, (341, 512)),  # 333 * 512 / 500 = 340.99 -> 341
        (64, 32, 64, (64, 32)),  # already the right size
        (1000, 9, 100, (100, 1)),  # never below 1 px
    ],
)
def test_resize_long_side_maths(height, width, size, expected):
    image = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    resized = resize_long_side(image, size)
    assert resized.shape[:2] == expected
    assert max(resized.shape[:2]) == size
    assert resized.dtype == np.float32 and resized.flags["C_CONTIGUOUS"]
    assert resized.min() >= image.min() and resized.max() <= image.max()


@pytest.mark.parametrize("size", [48, 64, 100, 257, 512])
def test_load_image_long_side_and_aspect(size):
    image = load_image(np.zeros((300, 200, 3), np.uint8), size)
    assert image.shape[0] == size
    assert abs(image.shape[1] / image.shape[0] - 200 / 300) <= 1 / size


def test_downscaling_is_antialiased():
    checkerboard = (np.indices((256, 256)).sum(axis=0) % 2).astype(np.float32)
    small = resize_long_side(np.dstack([checkerboard] * 3), 32)
    np.testing.assert_allclose(small, 0.5, atol=0.02)  # averaged, not aliased to 0 or 1


def test_constant_image_stays_constant_and_in_range():
    flat = np.full((50, 70, 3), 0.25, np.float32)
    for size in (7, 35, 140):
        np.testing.assert_allclose(resize_long_side(flat, size), 0.25, atol=1e-6)
    edges = np.zeros((64, 64, 3), np.float32)
    edges[:, 32:] = 1.0
    up = resize_long_side(edges, 256)
    assert up.min() >= 0.0 and up.max() <= 1.0  # Lanczos ringing is clipped


def test_resize_to_exact_shape_and_grey():
    image = np.random.default_rng(1).random((30, 40, 3)).astype(np.float32)
    assert resize_to(image, 17, 91).shape == (17, 91, 3)
    assert resize_to(image[..., 0], 5, 6).shape == (5, 6)
    with pytest.raises(InvalidSettingError, match="height"):
        resize_to(image, 0, 10)
    with pytest.raises(InvalidImageError, match="float"):
        resize_to(np.zeros((10, 10, 3), np.uint8), 5, 5)
    with pytest.raises(InvalidSettingError, match="size"):
        resize_long_side(image, 0)


# ----------------------------------------------------------------------------------------- converting
def test_to_uint8_rounds_and_clips():
    values = np.array([[-0.5, 0.0, 0.4 / 255, 1.6 / 255, 0.5, 1.0, 2.0, np.nan]], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [[0, 0, 0, 2, 128, 255, 255, 0]])
    assert to_uint8(values).dtype == np.uint8


def test_to_pil_modes_and_png_round_trip():
    image = load_image(quadrant_image())
    assert to_pil(image).mode == "RGB"
    assert to_pil(image[..., 0]).mode == "L"
    assert to_pil(np.dstack([image, np.ones(image.shape[:2], np.float32)])).mode == "RGBA"
    with pytest.raises(InvalidImageError, match="shape"):
        to_pil(np.zeros((4, 4, 2), np.float32))
    data = image_to_png_bytes(image)
    assert data.startswith(b"\x89PNG")
    np.testing.assert_array_equal(load_image(data), image)


def test_describe_image():
    image = np.full((384, 512, 3), 0.43, np.float32)
    assert describe_image(image) == "512×384 px, RGB float32, mean 0.43"
    assert describe_image(image[..., 0]).startswith("512×384 px, grey float32")


# ------------------------------------------------------------------------------------- output paths
def test_check_output_path_accepts_known_extensions(tmp_path):
    for name in ("a.png", "b.JPG", "c.jpeg", "d.webp", "e.bmp", "f.tif", "g.tiff"):
        assert check_output_path(tmp_path / name) == tmp_path / name


def test_check_output_path_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="folder .*does not exist"):
        check_output_path(tmp_path / "nowhere" / "out.png")


def test_check_output_path_not_writable(tmp_path, monkeypatch):
    # The tests run as root, for whom chmod 0o555 does not stop writes; so we make os.access (what
    # check_output_path asks) answer "no", the answer a normal user gets for a read-only folder.
    real_access = os.access
    def access(path, mode, **kwargs):
        return False if Path(path) == tmp_path else real_access(path, mode, **kwargs)

    monkeypatch.setattr(images.os, "access", access)
    with pytest.raises(OutputError, match="folder .* is not writable"):
        check_output_path(tmp_path / "out.png")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write into read-only folders")
def test_check_output_path_really_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(folder / "out.png")
    finally:
        folder.chmod(stat.S_IRWXU)


def test_check_output_path_unsupported_extension(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write '\.xyz' files; use \.png, \.jpg"):
        check_output_path(tmp_path / "out.xyz")
    with pytest.raises(OutputError, match="no extension"):
        check_output_path(tmp_path / "out")


def test_check_output_path_refuses_a_directory(tmp_path):
    folder = tmp_path / "looks_like.png"
    folder.mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        check_output_path(folder)


# ------------------------------------------------------------------------------------------- saving
def test_save_image_round_trip_png(tmp_path):
    image = load_image(quadrant_image())
    path = save_image(image, tmp_path / "result.png")
    assert path == tmp_path / "result.png"
    np.testing.assert_array_equal(load_image(path), image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.png"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


def test_save_image_jpeg_is_rgb_with_quality_95(tmp_path):
    image = np.random.default_rng(2).random((48, 64, 3)).astype(np.float32)
    path = save_image(image, tmp_path / "result.jpg")
    reference = io.BytesIO()
    to_pil(image).save(reference, format="JPEG", quality=95)
    assert path.read_bytes() == reference.getvalue()
    assert Image.open(path).mode == "RGB"
    rgba = np.dstack([image, np.zeros((48, 64), np.float32)])  # fully transparent -> white JPEG
    np.testing.assert_allclose(load_image(save_image(rgba, tmp_path / "white.jpg")), 1.0, atol=2 / 255)


class _Interrupted(Exception):
    pass


@pytest.mark.parametrize("failure", [_Interrupted, KeyboardInterrupt, OSError])
def test_save_image_is_atomic(tmp_path, monkeypatch, failure):
    real_png_save = Image.SAVE["PNG"]

    def half_written(picture, stream, filename):
        stream.write(b"\x89PNG\r\n\x1a\n half an image")
        raise failure(28, "No space left on device") if failure is OSError else failure()

    monkeypatch.setitem(Image.SAVE, "PNG", half_written)
    image = np.zeros((40, 40, 3), np.float32)
    target = tmp_path / "out.png"
    expected = OutputError if failure is OSError else failure
    with pytest.raises(expected):
        save_image(image, target)
    assert list(tmp_path.iterdir()) == []  # no target, no temporary file

    monkeypatch.setitem(Image.SAVE, "PNG", real_png_save)
    save_image(np.ones((40, 40, 3), np.float32), target)
    before = target.read_bytes()
    monkeypatch.setitem(Image.SAVE, "PNG", half_written)
    with pytest.raises(expected):
        save_image(image, target)
    assert target.read_bytes() == before  # the existing file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_image_checks_the_path_first(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        save_image(np.zeros((8, 8, 3), np.float32), tmp_path / "missing" / "out.png")


# -------------------------------------------------------------------------------------------- masks
def test_load_mask_luminance_and_resize(tmp_path):
    colour = np.zeros((40, 60, 3), np.uint8)
    colour[:, 30:] = (255, 255, 255)
    colour[:, :30] = (255, 0, 0)
    path = write(tmp_path / "mask.png", encode(Image.fromarray(colour), "PNG"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same aspect ratio (3:2): no warning
        mask = load_mask(path, 80, 120)
    assert mask.shape == (80, 120) and mask.dtype == np.float32 and mask.flags["C_CONTIGUOUS"]
    assert mask.min() >= 0 and mask.max() <= 1
    np.testing.assert_allclose(mask[:, :50], 0.299, atol=1e-3)  # red -> its luminance
    np.testing.assert_allclose(mask[:, 70:], 1.0, atol=1e-6)


def test_load_mask_same_size_is_unchanged():
    grey = np.random.default_rng(3).random((30, 20)).astype(np.float32)
    np.testing.assert_allclose(load_mask(grey, 30, 20), grey, atol=1e-6)


def test_load_mask_within_two_percent_aspect_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_mask(np.ones((100, 101), np.uint8), 50, 50).shape == (50, 50)


def test_load_mask_with_other_aspect_ratio_warns_and_stretches():
    with pytest.warns(UserWarning, match="stretched"):
        mask = load_mask(np.ones((10, 40), np.uint8) * 255, 64, 64)
    assert mask.shape == (64, 64)


@pytest.mark.parametrize(
    "source",
    [b"just some text", np.zeros(50, np.float32), np.zeros((20, 20, 5), np.float32), 7],
    ids=["text", "1-D", "5-channels", "int"],
)
def test_load_mask_refuses_non_images(source):
    with pytest.raises(InvalidImageError):
        load_mask(source, 32, 32)


def test_preset_masks_cover_the_named_region_with_soft_edges():
    from nst_lib.images import MASK_PRESETS, preset_mask

    regions = {  # where each preset is fully white / fully black on a 40×60 image
        "left half": (np.s_[:, :28], np.s_[:, 32:]),
        "right half": (np.s_[:, 32:], np.s_[:, :28]),
        "top half": (np.s_[:18], np.s_[22:]),
        "bottom half": (np.s_[22:], np.s_[:18]),
        "centre disc": (np.s_[15:25, 25:35], np.s_[:4, :4]),
        "centre ellipse": (np.s_[12:28, 18:42], np.s_[:3, :3]),
    }
    assert set(regions) == set(MASK_PRESETS)
    for kind, (white, black) in regions.items():
        mask = preset_mask(kind, 40, 60)
        assert mask.shape == (40, 60) and mask.dtype == np.float32, kind
        assert mask[white].min() == 1.0 and mask[black].max() == 0.0, kind
        assert 0 < np.mean((mask > 0) & (mask < 1)) < 0.2, kind  # a soft edge, not a seam
    np.testing.assert_allclose(preset_mask("left half", 40, 60), preset_mask("right half", 40, 60)[:, ::-1])
    with pytest.raises(InvalidSettingError, match="mask must be one of left half"):
        preset_mask("star", 10, 10)


def test_load_mask_missing_file(tmp_path):
    with pytest.raises(ImageNotFoundError):
        load_mask(tmp_path / "missing.png", 32, 32)


# ------------------------------------------------------------------------------------------- module
def test_importing_images_does_not_load_tensorflow():
    code = "import sys, nst_lib.images; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    root = Path(images.__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_error_is_an_nst_error():
    assert MIN_SIDE == 32 and MAX_INPUT_PIXELS == 100_000_000
    for error in (ImageNotFoundError, InvalidImageError, InvalidSettingError, OutputError):
        assert issubclass(error, NSTError)
