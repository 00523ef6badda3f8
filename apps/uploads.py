"""The web page's inputs: uploads validated into :class:`InputImage` objects, the bundled examples as the
same objects, and the spatial-control masks (no Streamlit import; tested in tests/test_app.py).

An upload is checked for type and size, its header read before a pixel is decoded (the decompression-bomb
guard of :func:`nst_lib.images.read_image_header`), and only a preview is decoded here, its cost counted
against the server's memory budget; :func:`nst_lib.stylize` decodes the file itself at the run's size.
Every problem is one sentence that names the file. The masks are the library's preset regions
(:data:`nst_lib.images.MASK_PRESETS`), plus "none" and "upload".
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from nst_lib.errors import INPUT_ROLES, InvalidImageError, InvalidSettingError, NSTError
from nst_lib.images import MASK_PRESETS as LIBRARY_MASK_PRESETS
from nst_lib.images import MAX_INPUT_PIXELS, MIN_SIDE, ImageHeader, load_image, read_image_header, resize_long_side

__all__ = [
    "InputImage",
    "MASK_CHOICES",
    "MAX_STYLES",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_MB",
    "MAX_UPLOAD_PIXELS",
    "PREVIEW_SIZE",
    "UPLOAD_EXTENSIONS",
    "example_image",
    "preset_mask",
    "read_upload",
]


#: Largest upload accepted, in bytes (a 12-megapixel phone JPEG is 3-6 MB).
MAX_UPLOAD_MB = 20


MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024


#: Largest upload accepted, in pixels, checked from the header before any pixel is decoded. Stricter than
#: the library's :data:`~nst_lib.images.MAX_INPUT_PIXELS` because a web server is shared: a 40-megapixel
#: image already needs ~0.5 GB as float32.
MAX_UPLOAD_PIXELS = min(40_000_000, MAX_INPUT_PIXELS)


#: File types the uploaders accept (what Pillow reads and people have).
UPLOAD_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


#: Long side of the input previews shown on the page.
PREVIEW_SIZE = 320


#: At most this many style images are blended (each adds a Gram target and a style forward pass).
MAX_STYLES = 3


#: Spatial-control choices: none, the library's preset regions (:data:`nst_lib.images.MASK_PRESETS`), or an
#: uploaded mask; see :func:`preset_mask`.
MASK_CHOICES = ("none", *LIBRARY_MASK_PRESETS, "upload")


@dataclass
class InputImage:
    """An input of the page: what :func:`nst_lib.stylize` receives, and a preview to show.

    ``source`` is the uploaded file's bytes (stylize decodes them at the size it needs, with JPEG
    draft decoding) or an example's float32 array; ``preview`` is float32 (H, W, 3), long side
    :data:`PREVIEW_SIZE` at most.
    """

    label: str  # file name or example name, used for captions, the download name and the CLI line
    source: Any
    preview: np.ndarray
    caption: str = ""
    uploaded: bool = False
    shape: tuple[int, int] = (0, 0)  # (height, width) of the full image, for the memory plan of a run
    header: ImageHeader | None = None  # an upload's header: what decoding it costs at a run's size


def _extension(name: str) -> str:
    match = re.search(r"(\.[A-Za-z0-9]+)$", name.strip())
    return match.group(1).lower() if match else ""


def _size_text(n_bytes: int) -> str:
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    return f"{n_bytes / 1024 / 1024:.1f} MB" if n_bytes >= 1024 * 1024 else f"{n_bytes / 1024:.0f} KB"


def read_upload(
    name: str,
    data: bytes,
    *,
    role: str = "image",
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_UPLOAD_PIXELS,
    preview_size: int = PREVIEW_SIZE,
    reserve: Callable[[int, str], Any] | None = None,
) -> InputImage:
    """Validate an uploaded file and decode a preview of it.

    Checks, in order: the file type (by extension), that it is not empty, the byte limit, and then
    everything :func:`nst_lib.images.load_image` checks (that it decodes as an image, the pixel limit
    read from the header before decoding — the decompression-bomb guard — and the minimum side).

    Args:
        name: the uploaded file's name.
        data: its bytes.
        role: what the image is for ("content image", "style image", "mask"), used in messages.
        max_bytes: largest accepted file, in bytes.
        max_pixels: largest accepted width × height.
        preview_size: long side of the returned preview.
        reserve: ``reserve(bytes, what)``, a context manager that counts the decoding against the server's
            memory budget together with the runs (:meth:`run_queue.RunQueue.reserve_memory`), or None.
            The cost is read from the file's header before a pixel is decoded, and the file is decoded
            reduced to the preview's size (a 36-megapixel PNG never becomes 430 MB of floats here).

    Returns:
        An :class:`InputImage` whose ``source`` is ``data`` (so stylize decodes it at its own size).

    Raises:
        InvalidImageError: one sentence naming the file and what is allowed; its fields say which input
            (``role``: content, style or mask), why (``reason``), what was received and what is allowed.
    """
    label = name or "the uploaded file"
    subject = f"the {role} '{label}'"
    which = _input_role(role)
    extension = _extension(label)
    if extension not in UPLOAD_EXTENSIONS:
        allowed = ", ".join(e.lstrip(".").upper() for e in UPLOAD_EXTENSIONS if e not in (".jpeg", ".tiff"))
        kind = f"a '{extension}' file" if extension else "a file without an extension"
        raise InvalidImageError(subject=subject, problem=f"is {kind}; upload a {allowed} image", reason="wrong_type",
                                received=extension, allowed=UPLOAD_EXTENSIONS, role=which)
    data = bytes(data)
    if not data:
        raise InvalidImageError(subject=subject, problem="is empty (0 bytes); upload the image again", reason="empty",
                                received=0, allowed=max_bytes, role=which)
    if len(data) > max_bytes:
        raise InvalidImageError(
            subject=subject, problem=f"is {_size_text(len(data))}, more than the limit of {_size_text(max_bytes)}; "
            "upload a smaller or more compressed image", reason="too_large", received=len(data), allowed=max_bytes,
            role=which)
    try:
        header = read_image_header(data, max_pixels=max_pixels)
    except NSTError as exc:
        raise _named(exc, subject, which) from None
    shape = header.upright_shape
    size = preview_size if max(shape) > preview_size and min(shape) >= MIN_SIDE else None
    # a refusal of the reservation (the server's memory is busy) is said as it is, outside the inner try
    with reserve(header.decode_bytes(size), f"decoding {subject}") if reserve else contextlib.nullcontext():
        try:
            preview = _shrink(load_image(data, size, max_pixels=max_pixels), preview_size)
        except NSTError as exc:
            raise _named(exc, subject, which) from None
    caption = f"{label} ({_size_text(len(data))})"
    return InputImage(label=label, source=data, preview=preview, caption=caption, uploaded=True, shape=shape,
                      header=header)


def _input_role(role: str) -> str | None:
    """The :data:`nst_lib.errors.INPUT_ROLES` entry a role's wording names ("style image" → "style")."""
    return next((r for r in INPUT_ROLES if role.startswith(r)), None)


def _named(exc: NSTError, subject: str, role: str | None) -> InvalidImageError:
    """The library's error about the bytes, restated about the uploaded file (from its fields: the library
    named the data "the given image data (N bytes)"); an upload that cannot be used is an
    :class:`InvalidImageError` whatever the library raised, with the same fields."""
    exc.about(role=role)
    if not isinstance(exc, InvalidImageError):
        twin = InvalidImageError(str(exc))
        twin.__dict__.update(exc.__dict__)
        exc = twin
    return exc.restated(subject)


def _shrink(image: np.ndarray, long_side: int) -> np.ndarray:
    return resize_long_side(image, long_side) if max(image.shape[:2]) > long_side else image


def example_image(kind: str, name: str, *, preview_size: int = PREVIEW_SIZE) -> InputImage:
    """A bundled example of :mod:`nst_lib.data` as an :class:`InputImage` (``kind``: content or style)."""
    from nst_lib import data

    if kind == "content":
        image = data.content_image(name)
        caption = data.CONTENT_IMAGES[name].description
    elif kind == "style":
        image = data.style_image(name)
        caption = f"{name.replace('_', ' ')} (procedural style image)"
    else:
        raise InvalidSettingError(f"example kind must be 'content' or 'style', got {kind!r}")
    return InputImage(label=name, source=image, preview=_shrink(image, preview_size), caption=caption,
                      shape=image.shape[:2])


def preset_mask(kind: str, height: int, width: int) -> np.ndarray | None:
    """A spatial-control mask (float32 (height, width) in [0, 1], white = first style) or ``None``.

    The shapes are :func:`nst_lib.images.preset_mask`'s (edges softened so the styles blend).
    """
    if kind in ("none", "upload"):
        return None
    if kind not in MASK_CHOICES:
        raise InvalidSettingError(f"mask must be one of {', '.join(MASK_CHOICES)}; got {kind!r}")
    from nst_lib.images import preset_mask as draw_preset

    return draw_preset(kind, height, width)

