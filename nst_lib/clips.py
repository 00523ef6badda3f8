"""Synthetic video clips with known motion, made from the bundled photos (notebook 13, benchmarks/video.py).

Four kinds, each a list of float32 (H, W, 3) frames in [0, 1]:

* ``pan`` — a window sliding sideways over a photo (every pixel moves alike);
* ``zoom`` — the camera moving in (motion grows from the centre outwards);
* ``rotate`` — the photo turning about the centre;
* ``object`` — a round piece of one photo gliding over another (occlusions and disocclusions at its edge).

Every frame is made from the source photo by one affine map, sampled once (no frame is made from another),
so the clips have no drift.
"""
from __future__ import annotations

import cv2
import numpy as np

from .data import content_image
from .errors import InvalidSettingError

CLIP_KINDS = ("pan", "zoom", "rotate", "object")

#: motion per frame: pan in pixels at a 256 px long side (scaled with the size), zoom factor, degrees
PAN_PIXELS, ZOOM_FACTOR, ROTATE_DEGREES, OBJECT_PIXELS = 3.0, 1.012, 1.0, 5.0


def _frame_shape(size: int) -> tuple[int, int]:
    return round(size * 3 / 4), size  # 4:3 landscape, like most cameras


def _linear_part(kind: str, index: int) -> np.ndarray:
    """The 2×2 map from frame offsets (about the frame's centre) to photo offsets for frame ``index``."""
    if kind == "zoom":  # moving in: each frame shows a smaller part of the photo
        return np.eye(2) * ZOOM_FACTOR ** -index
    if kind == "rotate":
        angle = np.deg2rad(ROTATE_DEGREES * index)
        return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.eye(2)


def synthetic_clip(kind: str, frames: int = 12, size: int = 256, photo: str = "coffee",
                   object_photo: str = "chelsea") -> list[np.ndarray]:
    """``frames`` frames of a clip of ``kind`` (see the module docstring), ``size`` px wide, 4:3.

    Args:
        kind: one of :data:`CLIP_KINDS`.
        frames: number of frames (>= 2).
        size: width in pixels (the height is 3/4 of it).
        photo: the bundled content photo the clip is cut from (``nst examples``).
        object_photo: for ``object``: the photo the moving disc is cut from.
    """
    if kind not in CLIP_KINDS:
        raise InvalidSettingError(f"unknown clip kind {kind!r}; choose one of {', '.join(CLIP_KINDS)}")
    if not isinstance(frames, int) or frames < 2:
        raise InvalidSettingError(f"a clip needs at least 2 frames, got {frames!r}")
    height, width = _frame_shape(size)
    scale = size / 256.0
    # the source is a little larger than the frame, so that panning, zooming out or turning never shows
    # its edge: the pan needs room for every step, the others a margin
    margin = 1.0 + (PAN_PIXELS * scale * frames / width if kind == "pan" else 0.25)
    source = content_image(photo)
    base = cv2.resize(source, (round(width * margin), round(width * margin * source.shape[0] / source.shape[1])),
                      interpolation=cv2.INTER_AREA)
    if base.shape[0] < height:
        base = cv2.resize(base, (round(base.shape[1] * height / base.shape[0]), height), interpolation=cv2.INTER_AREA)
    centre = np.array([width / 2, base.shape[0] / 2])  # the pan starts at the photo's left edge
    if kind != "pan":
        centre[0] = base.shape[1] / 2
    out = []
    for index in range(frames):
        linear = _linear_part(kind, index)
        here = centre + (np.array([PAN_PIXELS * scale * index, 0.0]) if kind == "pan" else 0.0)
        # frame pixel p samples the photo at here + linear · (p − frame centre)
        matrix = np.hstack([linear, (here - linear @ np.array([width / 2, height / 2]))[:, None]])
        out.append(cv2.warpAffine(base, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REFLECT))
    if kind == "object":
        out = _add_moving_disc(out, object_photo, scale)
    return [np.clip(frame, 0.0, 1.0).astype(np.float32) for frame in out]


def _add_moving_disc(frames: list[np.ndarray], object_photo: str, scale: float) -> list[np.ndarray]:
    """A disc cut from ``object_photo`` crossing the frames from left to right (soft edge, 1 px)."""
    height, width = frames[0].shape[:2]
    radius = 0.22 * height
    patch = cv2.resize(content_image(object_photo), (round(2 * radius) + 2, round(2 * radius) + 2),
                       interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for index, frame in enumerate(frames):
        cx, cy = 0.2 * width + OBJECT_PIXELS * scale * index, 0.5 * height
        shift = np.array([[1, 0, cx - radius - 1], [0, 1, cy - radius - 1]], np.float64)
        moved = cv2.warpAffine(patch, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = np.clip(radius - np.hypot(xs - cx, ys - cy) + 0.5, 0.0, 1.0)[..., None]
        out.append(frame * (1 - alpha) + moved * alpha)
    return out
