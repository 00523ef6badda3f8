"""Loading, resizing, converting and saving images (taught in notebook 01).

Everything here is NumPy + Pillow (no TensorFlow), so it is cheap to import and to test. The one
contract the rest of ``nst_lib`` relies on: an *image* is a C-contiguous ``float32`` array of shape
``(H, W, 3)`` with values in ``[0, 1]`` (RGB, transparency already composited over white). The
backbone multiplies it by 255 and applies ``preprocess_input`` itself.

Untrusted input is expected (web uploads, CLI arguments), so every failure is one of the
:mod:`nst_lib.errors` exceptions with a one-sentence message that says what was received and what is
allowed, never a Pillow traceback.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import math
import os
import pathlib
import re
import warnings
from typing import Any, BinaryIO, Iterator, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from skimage.util import img_as_float32

from .config import MAX_SIZE
from .errors import ImageNotFoundError, InvalidImageError, InvalidSettingError, OutputError
from .validation import check_int
from .fileio import atomic_write  # noqa: F401 - re-exported (nst_lib.images.atomic_write is public)

__all__ = [
    "MAX_INPUT_PIXELS",
    "MIN_SIDE",
    "MIN_SOURCE_SIDE",
    "WRITABLE_EXTENSIONS",
    "load_image",
    "ImageHeader",
    "read_image_header",
    "resize_long_side",
    "resize_to",
    "to_uint8",
    "to_pil",
    "image_to_png_bytes",
    "check_output_path",
    "save_image",
    "output_bit_depth",
    "to_uint16",
    "atomic_write",
    "load_mask",
    "read_mask",
    "MASK_PRESETS",
    "preset_mask",
    "describe_image",
]

#: Images declaring more pixels than this are refused before decoding (decompression-bomb guard).
MAX_INPUT_PIXELS = 100_000_000
#: Both sides of a loaded image must be at least this many pixels (after resizing, if asked).
MIN_SIDE = 32
#: Both sides of a *source* must be at least this many pixels, before any resizing: a 1×1 or 3×500
#: image carries neither content nor style, and upscaling it would only hide that.
MIN_SOURCE_SIDE = 8
#: Output extensions :func:`save_image` accepts (formats that keep full 8-bit RGB).
WRITABLE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

#: What :func:`load_image` accepts, for error messages.
_ALLOWED_SOURCES = "a path (str or os.PathLike), bytes, a binary file object, a PIL image or a NumPy array"
_SUPPORTED_FORMATS = "PNG, JPEG, GIF, BMP, TIFF or WebP"
_ALLOWED_DTYPES = "uint8, uint16, bool or float16/32/64 in [0, 1]"
#: Pillow's resize first reduces by an integer factor while the image stays this many times larger
#: than the target, then resamples with Lanczos: fast on big photos and still antialiased.
_REDUCING_GAP = 3.0
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I;16S")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

#: Everything :func:`load_image` and :func:`load_mask` accept.
ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, Image.Image, np.ndarray]


# ------------------------------------------------------------------------------------------- validation
def _dims(width: int, height: int) -> str:
    return f"{width}×{height} px"


# ---------------------------------------------------------------------------------------------- opening
def _check_path(path: Any) -> tuple[str, str]:
    """Validate an image path; return (path text, label for messages)."""
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError as exc:  # a PathLike whose __fspath__ returns something odd
        raise _wrong_source(path) from exc
    label = f"'{text}'"
    if not text:
        raise ImageNotFoundError(subject="the image path", problem="is empty; give the path of an image file",
                                 reason="empty_path", received=text, allowed="the path of an image file")
    try:
        exists = os.path.exists(text)
        is_dir = exists and os.path.isdir(text)
        is_file = exists and os.path.isfile(text)
    except (ValueError, OSError) as exc:  # embedded NUL byte, name too long ...
        raise ImageNotFoundError(subject=label, problem=f"is not a valid file path ({exc})", reason="invalid_path",
                                 received=text) from exc
    if not exists:
        hint = " (URLs are not downloaded here: save the file first)" if re.match(r"^[a-z]+://", text) else ""
        raise ImageNotFoundError(subject=f"image file {label}", problem=f"does not exist{hint}", reason="not_found",
                                 received=text)
    if is_dir:
        raise ImageNotFoundError(subject=label, problem="is a directory, not an image file", reason="directory",
                                 received=text)
    if not is_file:
        raise ImageNotFoundError(subject=label, problem="is not a regular file (a device, pipe or socket), so it "
                                 "cannot be an image", reason="not_a_file", received=text)
    return text, label


def _wrong_source(source: Any) -> InvalidImageError:
    hint = "; call .numpy() on a tensor first" if hasattr(source, "numpy") else ""
    return InvalidImageError(f"load_image() accepts {_ALLOWED_SOURCES}; got {type(source).__name__}{hint}",
                             reason="wrong_type", received=type(source).__name__, allowed=_ALLOWED_SOURCES)


@contextlib.contextmanager
def _open_encoded(source: Any) -> Iterator[tuple[BinaryIO, str]]:
    """Open a path / bytes / file-object source as a seekable binary stream with a label for messages.

    Paths are streamed (Pillow reads only what it needs); file objects are read into memory because
    they may not be seekable. Any other type raises InvalidImageError naming the allowed types.
    """
    if isinstance(source, (str, os.PathLike)):
        text, label = _check_path(source)
        try:
            handle = open(text, "rb")
        except OSError as exc:
            raise InvalidImageError(subject=f"image file {label}", problem=f"cannot be read ({exc.strerror or exc})",
                                    reason="unreadable", received=text) from exc
        with handle:
            yield handle, label
        return
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        yield io.BytesIO(data), f"the given image data ({len(data):,} bytes)"
        return
    if hasattr(source, "read") and callable(source.read):
        name = getattr(source, "name", None)
        label = f"file object '{name}'" if isinstance(name, str) else "the given file object"
        try:
            data = source.read()
        except Exception as exc:  # closed file, non-readable stream, ...
            raise InvalidImageError(subject=label, problem=f"cannot be read ({exc})", reason="unreadable") from exc
        if isinstance(data, str):
            raise InvalidImageError(subject=label, problem="was opened in text mode; open image files with mode 'rb'",
                                    reason="text_mode", received="str", allowed="bytes")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidImageError(subject=label, problem=f"returned {type(data).__name__} from .read(), not bytes",
                                    reason="not_bytes", received=type(data).__name__, allowed="bytes")
        yield io.BytesIO(bytes(data)), label
        return
    raise _wrong_source(source)


def _refuse_too_many_pixels(width: int, height: int, max_pixels: int, label: str) -> None:
    if width * height > max_pixels:
        raise InvalidImageError(
            subject=label, problem=f"is {_dims(width, height)} ({width * height:,} pixels), more than the limit of "
            f"{max_pixels:,} pixels; use a smaller image", reason="too_large", received=(width, height),
            allowed=max_pixels)


def _open_header(stream: BinaryIO, label: str, max_pixels: int) -> Image.Image:
    """Parse an encoded image's header (no pixel is decoded), refusing empty, unknown and bomb files."""
    if not stream.read(1):
        raise InvalidImageError(subject=label, problem=f"is empty (0 bytes); expected a {_SUPPORTED_FORMATS} image",
                                reason="empty", received=0, allowed=_SUPPORTED_FORMATS)
    with warnings.catch_warnings():
        # We apply our own pixel limit below; Pillow's warning would only be noise (or, with
        # ``-W error``, an exception we did not plan for).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            stream.seek(0)
            image = Image.open(stream)
        except Image.DecompressionBombError as exc:
            # (Pillow refuses beyond twice its own limit before it tells the size: its message is the only
            # place the declared count appears, so it is read from there, once, here)
            match = re.search(r"\((\d+) pixels\)", str(exc))
            declared = int(match.group(1)) if match else None
            raise InvalidImageError(
                subject=label, problem=f"declares {f'{declared:,} pixels' if declared else 'too many pixels'}, more "
                f"than the limit of {max_pixels:,} pixels (a guard against decompression bombs); use a smaller image",
                reason="too_large", received=declared, allowed=max_pixels) from exc
        except UnidentifiedImageError as exc:
            raise InvalidImageError(
                subject=label, problem=f"is not an image format Pillow can read; use a {_SUPPORTED_FORMATS} file",
                reason="not_an_image", allowed=_SUPPORTED_FORMATS) from exc
        except MemoryError:
            raise
        except Exception as exc:  # Pillow plugins raise SyntaxError, struct.error, ValueError ...
            raise _corrupt(label, exc) from exc
    _refuse_too_many_pixels(image.size[0], image.size[1], max_pixels, label)
    return image


def _decode(
    stream: BinaryIO, label: str, max_pixels: int, draft_size: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """Decode an encoded image stream into a loaded PIL image (first frame), refusing bombs and corrupt files.

    With ``draft_size``, a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), but
    never below ``draft_size`` on either side: a 12-megapixel photo wanted at 512 px decodes ~10x faster.

    Returns:
        The loaded image and the (width, height) the file declares (before any draft scaling).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = _open_header(stream, label, max_pixels)
        # The header is parsed but no pixel is decoded yet: check the declared size first.
        width, height = image.size
        _refuse_too_many_pixels(width, height, max_pixels, label)
        try:
            image.seek(0)  # animated images: the first frame
            if draft_size is not None:  # only JPEG/MPO implement draft(); a no-op for other formats
                image.draft(None, (draft_size, draft_size))
            missing = _missing_decoders(image)
            if missing:  # e.g. JPEG 2000 in a Pillow built without OpenJPEG
                raise InvalidImageError(
                    subject=label, problem=f"uses a compression this Pillow build cannot decode "
                    f"({', '.join(missing)}); convert it to {_SUPPORTED_FORMATS}", reason="unsupported_codec",
                    received=image.format, allowed=_SUPPORTED_FORMATS)
            image.load()
        except (MemoryError, InvalidImageError):
            raise
        except Exception as exc:  # truncated JPEG -> OSError, broken PNG -> SyntaxError/ValueError ...
            raise _corrupt(label, exc) from exc
    return image, (width, height)


def _missing_decoders(image: Image.Image) -> list[str]:
    """The decoders ``image.load()`` would need that this Pillow build lacks (asked of Pillow, not guessed
    from an error message)."""
    names = {tile[0] for tile in getattr(image, "tile", None) or [] if isinstance(tile[0], str)}
    return sorted(n for n in names if n not in Image.DECODERS and not hasattr(Image.core, f"{n}_decoder"))


def _corrupt(label: str, exc: BaseException) -> InvalidImageError:
    return InvalidImageError(subject=label, problem=f"is truncated or corrupt ({exc})", reason="corrupt")


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, if any, so the pixels come out the way the camera was held."""
    try:
        return ImageOps.exif_transpose(image)
    except MemoryError:
        raise
    except Exception:
        # A malformed EXIF block must not make a readable picture unusable: keep the stored pixels.
        return image


# --------------------------------------------------------------------------------- conversion to float
def _composite_over_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) float in [0, 1] -> (H, W, 3) float32: transparent pixels become white."""
    from skimage.color import rgba2rgb

    return rgba2rgb(rgba, background=(1.0, 1.0, 1.0)).astype(np.float32, copy=False)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    from skimage.color import gray2rgb

    return gray2rgb(grey)


def _integer_bit_depth(image: Image.Image, values: np.ndarray) -> int:
    """Bits per sample of a 16/32-bit integer image, so its full range maps to [0, 1]."""
    bits = None
    tags = getattr(image, "tag_v2", None)  # TIFF files say it outright (e.g. 12-bit sensors)
    if tags is not None:
        declared = tags.get(258)
        if isinstance(declared, tuple):
            declared = declared[0] if declared else None
        if isinstance(declared, int) and 1 <= declared <= 32:
            bits = declared
    if bits is None:
        bits = 16 if image.mode in _SIXTEEN_BIT_MODES else (16 if values.size == 0 or values.max() <= 65535 else 32)
    if values.size and values.max() > 2**bits - 1:  # a wrong tag must not produce values above 1
        bits = 16 if values.max() <= 65535 else 32
    return bits


def _pil_to_float(image: Image.Image, label: str) -> np.ndarray:
    """Convert a loaded PIL image of any mode to float32 (H, W, 3) in [0, 1], alpha over white."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES or mode == "I":
        values = np.asarray(image)
        if values.size and values.min() < 0:
            raise InvalidImageError(
                subject=label, problem=f"holds negative {mode} pixel values; expected non-negative integer samples",
                reason="out_of_range", received=int(values.min()), allowed=(0, None))
        scale = float(2 ** _integer_bit_depth(image, values) - 1)
        return _grey_to_rgb((values.astype(np.float64) / scale).astype(np.float32))
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        if values.size:
            low, high = float(np.min(values)), float(np.max(values))
            if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high > 255:
                raise InvalidImageError(
                    subject=label, problem=f"is a floating-point (mode F) image with values in [{low:g}, {high:g}]; "
                    "allowed are finite values in [0, 1] (or Pillow's [0, 255] scale)", reason="out_of_range",
                    received=(low, high), allowed=(0.0, 255.0))
            if high > 1:  # Pillow's own convention for mode F (e.g. convert("F") of an 8-bit image)
                values = values / np.float32(255)
        return _grey_to_rgb(values)
    if mode == "1":
        return _grey_to_rgb(img_as_float32(np.asarray(image.convert("L"))))
    has_alpha = mode in _ALPHA_MODES or (
        image.info.get("transparency") is not None and mode in ("P", "L", "RGB")
    )
    try:
        if has_alpha:
            if mode == "La":  # premultiplied grey: Pillow converts it to LA only
                image = image.convert("LA")
            return _composite_over_white(img_as_float32(np.asarray(image.convert("RGBA"))))
        return img_as_float32(np.asarray(image.convert("RGB")))
    except ValueError as exc:  # a mode Pillow cannot convert to RGB
        raise InvalidImageError(subject=label, problem=f"has colour mode {mode}, which cannot be converted to RGB",
                                reason="unsupported_mode", received=mode) from exc


def _array_to_float(array: np.ndarray, label: str = "the given array") -> np.ndarray:
    """Validate a NumPy image and convert it to float32 (H, W, 3) in [0, 1]."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InvalidImageError(
            subject=label, problem=f"has shape {array.shape}; allowed are (H, W), (H, W, 1), (H, W, 3) and (H, W, 4)",
            reason="wrong_shape", received=array.shape, allowed="(H, W), (H, W, 1), (H, W, 3), (H, W, 4)")
    kind, itemsize = array.dtype.kind, array.dtype.itemsize
    if kind == "b" or (kind == "u" and itemsize in (1, 2)):
        values = img_as_float32(array)  # full range of the type → [0, 1]
    elif kind == "f":
        if array.size:
            low, high = np.min(array), np.max(array)  # NaN propagates through min/max
            if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 1:
                raise InvalidImageError(
                    subject=label, problem=f"is {array.dtype} with values in [{float(low):g}, {float(high):g}]; float "
                    "images must be finite and in [0, 1] (divide 0-255 data by 255)", reason="out_of_range",
                    received=(float(low), float(high)), allowed=(0.0, 1.0))
        values = array.astype(np.float32)
    else:
        raise InvalidImageError(subject=label, problem=f"has dtype {array.dtype}; allowed dtypes are {_ALLOWED_DTYPES}",
                                reason="wrong_dtype", received=str(array.dtype), allowed=_ALLOWED_DTYPES)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim == 2:
        return _grey_to_rgb(values)
    if values.shape[2] == 4:
        return _composite_over_white(values)
    return values


def _read_source(
    source: Any, max_pixels: int, draft_size: int | None = None
) -> tuple[np.ndarray, str, tuple[int, int]]:
    """Any accepted source -> (float32 (H, W, 3) in [0, 1] upright, label, upright (height, width) of the source).

    The returned array may be smaller than the source when ``draft_size`` let a JPEG decode at reduced
    scale; the source size is what the size checks and the resize target are computed from.
    """
    if isinstance(source, np.ndarray):
        label = "the given array"
        if source.ndim >= 2:
            _refuse_too_many_pixels(source.shape[1], source.shape[0], max_pixels, label)
        array = _array_to_float(source, label)
        return array, label, array.shape[:2]
    if isinstance(source, Image.Image):
        label = f"the given PIL image ({source.mode}, {_dims(*source.size)})"
        _refuse_too_many_pixels(source.size[0], source.size[1], max_pixels, label)
        try:
            source.load()
        except MemoryError:
            raise
        except Exception as exc:
            raise _corrupt(label, exc) from exc
        array = _pil_to_float(_upright(source), label)
        return array, label, array.shape[:2]
    with _open_encoded(source) as (stream, label):
        image, (width, height) = _decode(stream, label, max_pixels, draft_size)
        image = _reduced(image, draft_size)
        upright = _upright(image)
        if upright.size != image.size:  # rotated by 90 degrees: the source's sides swap too
            width, height = height, width
        return _pil_to_float(upright, label), label, (height, width)


# ------------------------------------------------------------------------------- headers and reduced decoding
#: bytes Pillow keeps per pixel of a decoded frame, by mode (RGB is stored in 4 bytes, like RGBA)
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "I;16S": 2}
#: modes :meth:`PIL.Image.Image.reduce` averages directly (without transparency)
_REDUCIBLE_MODES = ("L", "RGB", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "RGBa", "La")


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image file declares, read without decoding a pixel (:func:`read_image_header`)."""

    label: str  # how messages name the file
    width: int  # as stored (before the EXIF orientation)
    height: int
    mode: str  # Pillow's mode, e.g. "RGB", "P", "I;16"
    format: str | None  # "PNG", "JPEG", …
    orientation: int = 1  # the EXIF orientation tag (5–8: the picture is stored turned by 90°)

    @property
    def upright_shape(self) -> tuple[int, int]:
        """(height, width) of the picture as shown, the EXIF orientation applied (what load_image returns)."""
        return (self.width, self.height) if self.orientation in (5, 6, 7, 8) else (self.height, self.width)

    def decode_bytes(self, size: int | None = None) -> int:
        """Peak bytes of decoding this image for a run that needs it at long side ``size`` (None: full size).

        The decoded frame (JPEG: at the draft scale libjpeg gives for ``size``), a full-size converted copy
        where the mode must be converted before it can be reduced, and the float32 arrays made from the
        (reduced) frame: what :func:`load_image` holds at its peak.
        """
        width, height = self.width, self.height
        if size is not None and self.format in ("JPEG", "MPO"):
            scale = next(s for s in (8, 4, 2, 1) if s == 1 or (width // s >= size and height // s >= size))
            width, height = -(-width // scale), -(-height // scale)
        pixels = width * height
        frame = _PIXEL_BYTES.get(self.mode, 4) * pixels
        factor = _reduction_factor(width, height, size)
        converted = 4 * pixels if factor >= 2 and self.mode not in _REDUCIBLE_MODES else 0
        reduced = pixels // (factor * factor)
        return frame + converted + reduced * (4 + 12 + 12 + 16)


def read_image_header(source: Any, max_pixels: int = MAX_INPUT_PIXELS) -> ImageHeader:
    """Read an image's size and mode from its header only (paths, bytes or file objects; no pixel decoded).

    Used before any decoding, so a run can be refused, or its inputs decoded reduced, from what the files
    declare (docs/safety.md). Raises the same errors as :func:`load_image` for missing, empty, unknown and
    bomb files.
    """
    with _open_encoded(source) as (stream, label):
        image = _open_header(stream, label, max_pixels)
        try:  # (a PNG's getexif() decodes the whole image to look for an eXIf chunk after the pixels)
            has_exif = image.format != "PNG" or "exif" in image.info
            orientation = int(image.getexif().get(0x0112, 1)) if has_exif else 1
        except Exception:  # noqa: BLE001 - a malformed EXIF block is ignored by load_image too
            orientation = 1
        return ImageHeader(label, image.size[0], image.size[1], image.mode, image.format, orientation)


def _reduction_factor(width: int, height: int, size: int | None) -> int:
    """The whole factor a frame can shrink by and still be ``_REDUCING_GAP`` times the size the run needs.

    The same factor Pillow's own ``resize(..., reducing_gap=3)`` would reduce by before its Lanczos pass,
    so reducing right after decoding gives (up to 8-bit rounding) the picture the full-size path gave.
    """
    if size is None:
        return 1
    target_height, target_width = _long_side_shape(height, width, size)
    return max(1, int(min(width / target_width, height / target_height) / _REDUCING_GAP))


def _reduced(image: Image.Image, size: int | None) -> Image.Image:
    """A decoded frame shrunk by a whole factor (box average) when it is far larger than the size the run
    needs, so the float32 arrays are made from the small frame (11000×9000 px → 1.2 GB otherwise)."""
    factor = _reduction_factor(image.size[0], image.size[1], size)
    if factor < 2 or (image.mode.startswith("I") and getattr(image, "tag_v2", None) is not None):
        return image  # (a TIFF's declared bit depth must reach _pil_to_float)
    mode, info = image.mode, dict(image.info)
    transparent = mode in _ALPHA_MODES or (info.get("transparency") is not None and mode in ("P", "L", "RGB"))
    if transparent:  # average premultiplied colours, or transparent pixels' colours would fringe the edges
        grey = mode in ("L", "LA", "La")
        image = image.convert("LA" if grey else "RGBA").convert("La" if grey else "RGBa")
        image = image.reduce(factor).convert("LA" if grey else "RGBA")
    else:
        if mode not in _REDUCIBLE_MODES:
            image = image.convert("I" if mode.startswith("I;16") else ("L" if mode == "1" else "RGB"))
        image = image.reduce(factor)
    info.pop("transparency", None)
    image.info.update(info)  # EXIF orientation and the rest travel with the pixels
    return image


def decoded_frame_at_size(frame: Image.Image, size: int | None, label: str = "a video frame") -> np.ndarray:
    """A frame a decoder has just made (a video frame from PyAV) → float32 (H, W, 3) in [0, 1], long side
    ``size`` (None: as it is).

    The path :func:`load_image` takes for files: a frame far larger than ``size`` is shrunk by a whole factor
    before any float32 array is made, then resized with Lanczos, so what :meth:`ImageHeader.decode_bytes`
    counts for a header of the frame's size is what decoding it costs (docs/safety.md).
    """
    width, height = frame.size
    array = _pil_to_float(_reduced(frame, size), label)
    if size is None:
        return array
    return _resize_array(array, *_long_side_shape(height, width, size))


# ------------------------------------------------------------------------------------------- resizing
def _long_side_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) whose long side is ``size``, aspect kept, short side rounded and at least 1."""
    if height >= width:
        return size, max(1, int(math.floor(width * size / height + 0.5)))
    return max(1, int(math.floor(height * size / width + 0.5))), size


def _resize_array(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Antialiased Lanczos resize of a float (H, W) or (H, W, C) array, clipped to its input range."""
    values = np.asarray(array, dtype=np.float32)
    if values.shape[:2] == (height, width):
        return np.array(values, dtype=np.float32, order="C", copy=True)
    planes = values[..., np.newaxis] if values.ndim == 2 else values
    out = np.empty((height, width, planes.shape[2]), dtype=np.float32)
    for channel in range(planes.shape[2]):
        # Mode "F" keeps full float precision (8-bit resizing would quantise 16-bit sources).
        plane = Image.fromarray(np.ascontiguousarray(planes[..., channel]))
        resized = plane.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        out[..., channel] = np.asarray(resized, dtype=np.float32)
    if values.size:
        # Lanczos rings a little past sharp edges; stay inside the input's range (so [0, 1] stays [0, 1]).
        np.clip(out, float(np.min(values)), float(np.max(values)), out=out)
    return out[..., 0] if values.ndim == 2 else out


def _check_float_image(image: Any, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(
            f"{name}() expects a NumPy array as returned by load_image(); got {type(image).__name__}"
        )
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidImageError(
            f"{name}() expects an (H, W) or (H, W, C) array with H, W >= 1; got shape {image.shape}"
        )
    if image.dtype.kind != "f":
        raise InvalidImageError(
            f"{name}() expects a float image in [0, 1] (as returned by load_image()); got dtype {image.dtype}"
        )
    return image


def resize_long_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a float image so its long side is ``size`` pixels, keeping the aspect ratio.

    Taught in notebook 01. Lanczos resampling with Pillow's ``reducing_gap`` (antialiased when
    shrinking); the short side is rounded and at least 1 px; values stay within the input's range.

    Args:
        image: float array (H, W, 3) in [0, 1] (also (H, W) or (H, W, C)).
        size: the new long side in pixels (>= 1).

    Returns:
        A new C-contiguous float32 array.
    """
    image = _check_float_image(image, "resize_long_side")
    size = check_int("size", size, 1)
    height, width = _long_side_shape(image.shape[0], image.shape[1], size)
    _check_output_pixels(height, width)
    return _resize_array(image, height, width)


def resize_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float image to exactly ``height`` × ``width`` pixels (aspect ratio not kept).

    Taught in notebook 01 (used to match a style image or a mask to the content image).

    Args:
        image: float array (H, W, 3) in [0, 1] (also (H, W) or (H, W, C)).
        height: new height in pixels (>= 1).
        width: new width in pixels (>= 1).

    Returns:
        A new C-contiguous float32 array of shape (height, width, ...).
    """
    image = _check_float_image(image, "resize_to")
    height = check_int("height", height, 1)
    width = check_int("width", width, 1)
    _check_output_pixels(height, width)
    return _resize_array(image, height, width)


def _check_output_pixels(height: int, width: int) -> None:
    if height * width > MAX_INPUT_PIXELS:
        raise InvalidSettingError(
            f"a {_dims(width, height)} result would exceed the limit of {MAX_INPUT_PIXELS:,} pixels"
        )


# --------------------------------------------------------------------------------------------- loading
def load_image(
    source: ImageSource,
    size: int | None = None,
    *,
    min_side: int = MIN_SIDE,
    max_pixels: int = MAX_INPUT_PIXELS,
) -> np.ndarray:
    """Load any image as a float32 RGB array in [0, 1], upright and optionally resized.

    Taught in notebook 01. EXIF orientation is applied, animated images give their first frame, every
    Pillow mode (grey, palette, 16-bit, float, CMYK, YCbCr, 1-bit, with or without alpha) becomes RGB,
    and transparent pixels are composited over white. A PIL image is used at its current frame.

    Args:
        source: a path (str or os.PathLike), encoded bytes (bytes, bytearray, memoryview), a binary file
            object, a ``PIL.Image.Image``, or a NumPy array of shape (H, W), (H, W, 1), (H, W, 3) or
            (H, W, 4) with dtype uint8, uint16, bool or float16/32/64 (floats must be in [0, 1]).
        size: if given, the long side of the result in pixels (up- or downscaled, aspect kept),
            between ``min_side`` and 4096.
        min_side: both sides of the result must be at least this many pixels.
        max_pixels: sources declaring more pixels are refused before decoding. (Pillow itself refuses
            more than twice ``PIL.Image.MAX_IMAGE_PIXELS``, about 179 million, whatever this says.)

    Returns:
        C-contiguous float32 array of shape (H, W, 3) with values in [0, 1].

    Raises:
        ImageNotFoundError: the path does not exist or is a directory.
        InvalidImageError: the source is empty, corrupt, not an image, of an unsupported type, too large,
            or too small (a side below 8 px before resizing or below ``min_side`` after).
        InvalidSettingError: ``size``, ``min_side`` or ``max_pixels`` is out of range.
    """
    min_side = check_int("min_side", min_side, 1, MAX_SIZE)
    max_pixels = check_int("max_pixels", max_pixels, 1)
    if size is not None:
        size = check_int("size", size, min_side, MAX_SIZE)

    image, label, (height, width) = _read_source(source, max_pixels, draft_size=size)
    if min(height, width) < MIN_SOURCE_SIDE:
        raise InvalidImageError(
            subject=label, problem=f"is {_dims(width, height)}; both sides must be at least {MIN_SOURCE_SIDE} px "
            "to carry any content or style", reason="too_small", received=(width, height), allowed=MIN_SOURCE_SIDE)
    if size is not None:
        new_height, new_width = _long_side_shape(height, width, size)
        if min(new_height, new_width) < min_side:
            raise InvalidImageError(
                subject=label, problem=f"is {_dims(new_width, new_height)} after resizing to {size}; both sides must "
                f"be at least {min_side} px — the aspect ratio of the {_dims(width, height)} source is too "
                "extreme for this size", reason="too_small", received=(new_width, new_height), allowed=min_side)
        image = _resize_array(image, new_height, new_width)
    elif min(height, width) < min_side:
        raise InvalidImageError(
            subject=label, problem=f"is {_dims(width, height)}; both sides must be at least {min_side} px "
            "(pass a larger size= to upscale it)", reason="too_small", received=(width, height), allowed=min_side)
    return np.ascontiguousarray(image, dtype=np.float32)


def load_mask(source: ImageSource, height: int, width: int) -> np.ndarray:
    """Load a mask for spatial style control as float32 (height, width) in [0, 1].

    Taught in notebook 01. Accepts the same sources as :func:`load_image`; colour is reduced to
    luminance (ITU-R 601 weights, as Pillow's ``convert("L")``), transparency is composited over white,
    EXIF orientation is applied, and the mask is resized to (height, width) when its size differs. A mask
    whose aspect ratio differs from the target's by more than 2 % is still stretched, with a warning.

    Args:
        source: path, bytes, binary file object, PIL image or NumPy array (see :func:`load_image`).
        height: height of the image the mask applies to, in pixels.
        width: width of the image the mask applies to, in pixels.

    Returns:
        C-contiguous float32 array of shape (height, width) with values in [0, 1].

    Raises:
        ImageNotFoundError: the path does not exist or is a directory.
        InvalidImageError: the source is not an image (text, a 1-D array, 5 channels ...).
        InvalidSettingError: ``height`` or ``width`` is not a positive whole number.
    """
    mask, note = read_mask(source, height, width)
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    return mask


def read_mask(source: ImageSource, height: int, width: int) -> tuple[np.ndarray, str | None]:
    """:func:`load_mask` without the warning: returns ``(mask, note)``, ``note`` saying how the mask was
    stretched when its aspect ratio differs from the image's by more than 2 % (else ``None``).
    :func:`~nst_lib.transfer.stylize` puts the note on its result instead of warning.
    """
    height = check_int("height", height, 1)
    width = check_int("width", width, 1)
    _check_output_pixels(height, width)
    note = None
    # decoded reduced when far larger than the image (an 11000×9000 mask must not become 1.2 GB of floats)
    rgb, label, (source_height, source_width) = _read_source(source, MAX_INPUT_PIXELS, draft_size=max(height, width))
    if source_height < 1 or source_width < 1:
        raise InvalidImageError(subject=f"mask {label}", problem=f"is {_dims(source_width, source_height)}; it has no "
                                "pixels", reason="too_small", received=(source_width, source_height), allowed=1)
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    np.clip(luminance, 0.0, 1.0, out=luminance)
    if rgb.shape[:2] != (height, width):
        ratio = (source_width / source_height) / (width / height)
        if abs(ratio - 1.0) > 0.02:
            note = (
                f"mask {label} is {_dims(source_width, source_height)} but the image is "
                f"{_dims(width, height)}; the mask is stretched to fit (aspect ratios differ by "
                f"{abs(ratio - 1.0):.0%})"
            )
        luminance = _resize_array(luminance, height, width)
    return np.ascontiguousarray(luminance, dtype=np.float32), note


#: The mask shapes :func:`preset_mask` draws (white = where the first style goes).
MASK_PRESETS = ("left half", "right half", "top half", "bottom half", "centre disc", "centre ellipse")


def preset_mask(kind: str, height: int, width: int) -> np.ndarray:
    """A ready-made mask for spatial style control: float32 (height, width) in [0, 1], white = first style.

    Taught in notebook 07 (the widgets and the web page offer these shapes). The halves split the image
    in the middle; ``"centre disc"`` has a radius of 30 % of the short side; ``"centre ellipse"`` spans 80 %
    of the width and of the height. Edges are softened over 3 % of the long side (at least 2 px), so two
    styles blend instead of meeting at a seam.

    Raises:
        InvalidSettingError: ``kind`` is not one of :data:`MASK_PRESETS`, or a size is not a positive whole number.
    """
    if kind not in MASK_PRESETS:
        raise InvalidSettingError(f"mask must be one of {', '.join(MASK_PRESETS)}; got {kind!r}")
    height = check_int("height", height, 1)
    width = check_int("width", width, 1)
    _check_output_pixels(height, width)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + np.float32(0.5)  # pixel centres
    soft = max(2.0, 0.03 * max(height, width))
    if kind == "left half":
        inside = width / 2 - x  # signed distance to the edge in pixels, positive inside
    elif kind == "right half":
        inside = x - width / 2
    elif kind == "top half":
        inside = height / 2 - y
    elif kind == "bottom half":
        inside = y - height / 2
    elif kind == "centre disc":
        inside = 0.3 * min(height, width) - np.hypot(y - height / 2, x - width / 2)
    else:  # centre ellipse: (1 − normalised radius) × the shorter semi-axis approximates the distance
        a, b = 0.4 * width, 0.4 * height
        inside = (1.0 - np.hypot((x - width / 2) / a, (y - height / 2) / b)) * min(a, b)
    return np.clip(0.5 + inside / soft, 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------------ converting
def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert a float image in [0, 1] to uint8 in [0, 255] (rounded, clipped; NaN becomes 0).

    Taught in notebook 01. A uint8 array is returned as a copy, unchanged.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"to_uint8() expects a NumPy array; got {type(image).__name__}")
    if image.dtype == np.uint8:
        return np.array(image, order="C", copy=True)
    if image.dtype.kind not in "fbiu":
        raise InvalidImageError(f"to_uint8() expects a float image in [0, 1]; got dtype {image.dtype}")
    values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.ascontiguousarray(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8))


def to_pil(image: np.ndarray) -> Image.Image:
    """Convert a float [0, 1] (or uint8) array to a PIL image: (H, W) or (H, W, 1) -> L, 3 -> RGB, 4 -> RGBA.

    Taught in notebook 01.
    """
    if isinstance(image, Image.Image):
        return image.copy()
    pixels = to_uint8(image)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    modes = {3: "RGB", 4: "RGBA"}
    mode = "L" if pixels.ndim == 2 else (modes.get(pixels.shape[2]) if pixels.ndim == 3 else None)
    if mode is None or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise InvalidImageError(
            f"to_pil() expects shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {pixels.shape}"
        )
    return Image.fromarray(np.ascontiguousarray(pixels))


def image_to_png_bytes(image: np.ndarray) -> bytes:
    """Encode a float [0, 1] image as PNG bytes (for widgets, web pages and downloads); notebook 01."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def describe_image(image: np.ndarray | Image.Image) -> str:
    """One line for notebooks, e.g. ``"512×384 px, RGB float32, mean 0.43"`` (taught in notebook 01)."""
    if isinstance(image, Image.Image):
        array = np.asarray(image)
        mean = float(array.mean()) if array.size else float("nan")
        return f"{_dims(*image.size)}, {image.mode} PIL image, mean {mean:.2f}"
    if not isinstance(image, np.ndarray):
        return f"not an image: {type(image).__name__}"
    if image.ndim == 2:
        kind = "grey"
    elif image.ndim == 3:
        kind = {1: "grey", 3: "RGB", 4: "RGBA"}.get(image.shape[2], f"{image.shape[2]}-channel")
    else:
        return f"array of shape {image.shape}, {image.dtype} (not an image)"
    mean = float(np.mean(image)) if image.size and image.dtype.kind in "fbiu" else float("nan")
    return f"{_dims(image.shape[1], image.shape[0])}, {kind} {image.dtype}, mean {mean:.2f}"


# ---------------------------------------------------------------------------------------------- saving
def _writable_formats() -> dict[str, str]:
    """Extension -> Pillow format for the extensions we write (those this Pillow build can save)."""
    Image.init()
    registered = Image.registered_extensions()
    return {
        ext: registered[ext]
        for ext in WRITABLE_EXTENSIONS
        if ext in registered and registered[ext] in Image.SAVE
    }


def check_output_path(path: str | os.PathLike[str]) -> pathlib.Path:
    """Check, before a long run, that an image can be written at ``path``.

    Taught in notebook 01. The folder must exist and be writable, the path must not be a directory,
    and the extension must be one we write (.png, .jpg, .jpeg, .webp, .bmp, .tif, .tiff).

    Args:
        path: the output file; ``~`` is expanded.

    Returns:
        The path as a ``pathlib.Path``.

    Raises:
        OutputError: with one sentence saying what is wrong.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"the output path must be a str or os.PathLike; got {type(path).__name__}",
                          reason="wrong_type", received=type(path).__name__, allowed="str or os.PathLike")
    text = os.fsdecode(os.fspath(path))
    if not text:
        raise OutputError(subject="the output path", problem="is empty; give a file name such as 'result.png'",
                          reason="empty_path", received=text)
    target = pathlib.Path(text).expanduser()
    formats = _writable_formats()
    allowed = ", ".join(formats)
    try:
        is_dir = target.is_dir()
    except (OSError, ValueError) as exc:
        raise OutputError(subject=f"output path '{target}'", problem=f"is not valid ({exc})", reason="invalid_path",
                          received=text) from exc
    if is_dir:
        raise OutputError(subject=f"output path '{target}'", problem=f"is a directory; give a file name such as "
                          f"'{target / 'result.png'}'", reason="directory", received=text)
    suffix = target.suffix.lower()
    if not suffix:
        raise OutputError(subject=f"output path '{target}'", problem=f"has no extension; use {allowed}",
                          reason="wrong_type", received="", allowed=tuple(formats))
    if suffix not in formats:
        raise OutputError(f"cannot write '{suffix}' files; use {allowed}", subject=f"output path '{target}'",
                          reason="wrong_type", received=suffix, allowed=tuple(formats))
    folder = target.parent
    if not folder.exists():
        raise OutputError(subject=f"folder '{folder}'", problem="does not exist; create it first or choose another "
                          "output path", reason="not_found", received=str(folder))
    if not folder.is_dir():
        raise OutputError(subject=f"'{folder}'", problem=f"is not a folder, so '{target.name}' cannot be written "
                          "inside it", reason="not_a_folder", received=str(folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(subject=f"folder '{folder}'", problem="is not writable; choose another output path",
                          reason="unwritable", received=str(folder))
    return target


#: extensions that can hold 16 bits per channel; TIFF is written with 16 unless told otherwise
SIXTEEN_BIT_EXTENSIONS = (".png", ".tif", ".tiff")


def output_bit_depth(path: str | os.PathLike[str], bit_depth: int | None = None) -> int:
    """Bits per channel an image saved at ``path`` gets: ``bit_depth`` if given (8 or 16), else 16 for
    ``.tif``/``.tiff`` and 8 for everything else. 16 bits need ``.png``, ``.tif`` or ``.tiff``.

    Raises:
        OutputError: 16 bits asked for a format that holds only 8, or a depth other than 8 or 16.
    """
    suffix = pathlib.Path(os.fspath(path)).suffix.lower()
    if bit_depth is None:
        return 16 if suffix in (".tif", ".tiff") else 8
    if bit_depth not in (8, 16):
        raise OutputError(f"the bit depth must be 8 or 16 bits per channel, got {bit_depth!r}")
    if bit_depth == 16 and suffix not in SIXTEEN_BIT_EXTENSIONS:
        raise OutputError(
            f"16 bits per channel need a .png, .tif or .tiff file; '{suffix}' holds 8 (got '{pathlib.Path(os.fspath(path)).name}')"
        )
    return bit_depth


def to_uint16(image: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] (or uint8) as uint16 in [0, 65535] (rounded, clipped; NaN becomes 0)."""
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"to_uint16() expects a NumPy array; got {type(image).__name__}")
    if image.dtype == np.uint16:
        return np.ascontiguousarray(image)
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image.astype(np.uint16) * 257)
    values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.ascontiguousarray(np.clip(np.rint(values * 65535.0), 0, 65535).astype(np.uint16))


def _write_16bit(pixels: np.ndarray, suffix: str, stream: BinaryIO) -> None:
    """PNG (pypng) or TIFF (tifffile, deflate-compressed) with 16 bits per channel; grey or RGB(A)."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if suffix == ".png":
        import png

        height, width = pixels.shape[:2]
        writer = png.Writer(width=width, height=height, bitdepth=16, greyscale=channels == 1,
                            alpha=channels == 4, compression=6)
        writer.write_array(stream, pixels.reshape(-1))
    else:
        import tifffile

        buffer = io.BytesIO()  # tifffile wants a named file or a memory buffer, not a descriptor's stream
        tifffile.imwrite(buffer, pixels, photometric="minisblack" if channels == 1 else "rgb",
                         compression="zlib", extrasamples=["unassalpha"] if channels == 4 else None)
        stream.write(buffer.getbuffer())


def save_image(image: np.ndarray | Image.Image, path: str | os.PathLike[str], bit_depth: int | None = None) -> pathlib.Path:
    """Save an image atomically: the file at ``path`` is either complete or not there at all.

    Taught in notebook 01. Written with :func:`atomic_write`: on any failure (including Ctrl-C) no partial
    file is left and an existing file at ``path`` is left untouched. JPEG and WebP are
    written with quality 95; JPEG is always RGB (alpha composited over white first).

    **16 bits per channel** (for prints, and for editing without banding): ``.tif``/``.tiff`` files are
    always written with 16 bits per channel unless ``bit_depth=8``; PNG files with 16 when
    ``bit_depth=16`` (CLI: ``--bit-depth 16``); other formats hold 8 (see :func:`output_bit_depth`).

    Args:
        image: float array in [0, 1] (H, W, 3) (also uint8, (H, W), (H, W, 4), or a PIL image).
        path: the output file, checked with :func:`check_output_path`.
        bit_depth: 8, 16, or None for the format's default (16 for TIFF, 8 otherwise).

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        OutputError: the path is not writable, the write failed (disk full ...) or the format cannot hold
            the bit depth asked for.
        InvalidImageError: ``image`` is not an image array.
    """
    target = check_output_path(path)
    suffix = target.suffix.lower()
    if output_bit_depth(target, bit_depth) == 16:
        array = np.asarray(image) if isinstance(image, Image.Image) else image
        if isinstance(image, np.ndarray) and image.dtype.kind == "f" and image.ndim == 3 and image.shape[2] not in (1, 3, 4):
            raise InvalidImageError(f"save_image() expects (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {image.shape}")
        pixels = to_uint16(np.asarray(array))
        with atomic_write(target) as stream:
            _write_16bit(pixels, suffix, stream)
        return target
    picture = to_pil(image)
    image_format = _writable_formats()[suffix]
    options: dict[str, Any] = {}
    if image_format in ("JPEG", "WEBP"):
        options["quality"] = 95
    if image_format == "JPEG" and picture.mode != "RGB":
        if picture.mode in ("RGBA", "LA"):
            white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
            picture = Image.alpha_composite(white, picture.convert("RGBA"))
        picture = picture.convert("RGB")
    with atomic_write(target) as stream:
        picture.save(stream, format=image_format, **options)
    return target


def fingerprint(image: np.ndarray) -> str:
    """The identity of an image's pixels: SHA-256 of its shape and its 8-bit pixels (a resumed run or a
    resumed training must go on with the same images; differences below 1/255 do not count)."""
    pixels = np.round(np.clip(np.asarray(image, np.float32), 0, 1) * 255).astype(np.uint8)
    digest = hashlib.sha256(str(pixels.shape).encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()
