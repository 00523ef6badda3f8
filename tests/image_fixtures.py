"""Helpers that build test images in memory or in ``tmp_path`` (never from the network).

Used by ``test_images.py`` and ``test_images_property.py``.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

#: Colours of the four quadrants of :func:`quadrant_image` (top-left, top-right, bottom-left, bottom-right).
QUADRANT_COLOURS = {
    "top_left": (255, 0, 0),
    "top_right": (0, 255, 0),
    "bottom_left": (0, 0, 255),
    "bottom_right": (255, 255, 255),
}


def quadrant_image(height: int = 96, width: int = 64) -> Image.Image:
    """An RGB image whose four quadrants have different colours, so any rotation or flip is visible."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    half_h, half_w = height // 2, width // 2
    pixels[:half_h, :half_w] = QUADRANT_COLOURS["top_left"]
    pixels[:half_h, half_w:] = QUADRANT_COLOURS["top_right"]
    pixels[half_h:, :half_w] = QUADRANT_COLOURS["bottom_left"]
    pixels[half_h:, half_w:] = QUADRANT_COLOURS["bottom_right"]
    return Image.fromarray(pixels)


def quadrant_means(image: np.ndarray) -> dict[str, np.ndarray]:
    """Mean colour (0-255 scale) of the centre of each quadrant of a float image, away from the edges."""
    height, width = image.shape[:2]
    qh, qw = height // 4, width // 4

    def centre(row: int, col: int) -> np.ndarray:
        top, left = row * 2 * qh + qh // 2, col * 2 * qw + qw // 2
        block = image[top : top + qh, left : left + qw]
        return block.reshape(-1, image.shape[2]).mean(axis=0) * 255

    return {
        "top_left": centre(0, 0),
        "top_right": centre(0, 1),
        "bottom_left": centre(1, 0),
        "bottom_right": centre(1, 1),
    }


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    """Encode a PIL image to bytes in ``image_format``."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def noise_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random uint8 RGB pixels."""
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A small, well-formed PNG header (valid CRCs) that declares ``width`` × ``height`` RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


def write(path: Path, data: bytes) -> Path:
    """Write bytes to ``path`` (creating parent folders) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
