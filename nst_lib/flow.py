"""Optical flow between video frames, where it can be trusted, and warping along it (notebook 13).

Ruder, Dosovitskiy & Brox (2016), "Artistic style transfer for videos", keep a stylized video steady by
starting each frame from the previous *stylized* frame carried along the motion, and by penalising changes
where that motion is known. This module gives the three pieces, with OpenCV's DIS flow (Kroeger et al.
2016: fast on a CPU, accurate enough at the sizes style transfer runs at):

* :func:`optical_flow` — the dense motion field from one frame to another;
* :func:`warp` — an image carried along a flow (the previous stylized frame, onto the current one);
* :func:`reliable_mask` — 1 where the carried image can be trusted, 0 at *disocclusions* (the forward and
  the backward flow disagree: something appeared from behind something else), at *motion boundaries*
  (the flow changes abruptly) and where the flow points out of the frame.

Conventions: images are float32 (H, W, 3) in [0, 1]; a flow is float32 (H, W, 2) with (dx, dy) in
pixels, and ``flow(source, target)[y, x]`` says where pixel (x, y) of ``source`` went in ``target``:
``source(p) ≈ target(p + flow(p))``. So ``warp(target_image, flow(source, target))`` is aligned with
``source``. For frame *i*, the *backward* flow goes from frame *i* to frame *i − 1*, and
``warp(stylized[i − 1], backward)`` is the previous stylized frame seen from frame *i*.

:func:`flicker` is the number the benchmarks and the notebook report: the mean squared difference between a
stylized frame and the previous stylized frame warped onto it, over the pixels the mask trusts.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Ruder et al.'s thresholds (section 3.2): disoccluded where ``|w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5`` …
CONSISTENCY_RELATIVE, CONSISTENCY_ABSOLUTE = 0.01, 0.5
#: … and a motion boundary where ``|∇û|² + |∇v̂|² > 0.01 |ŵ|² + 0.002`` (flows in pixels).
BOUNDARY_RELATIVE, BOUNDARY_ABSOLUTE = 0.01, 0.002


def _grey8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    rgb = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def optical_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The dense flow from ``source`` to ``target`` (OpenCV DIS, "medium" preset): (H, W, 2) float32.

    ``source(p) ≈ target(p + flow(p))`` for every pixel p = (x, y) that is visible in both.
    """
    first, second = _grey8(source), _grey8(target)
    if first.shape != second.shape:
        raise ValueError(f"frames of different sizes: {first.shape[::-1]} and {second.shape[::-1]} (width, height)")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(first, second, None).astype(np.float32)


def _sample_points(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at p + flow(p) for every pixel p (bilinear; the border is repeated outside).

    With ``flow = optical_flow(source, target)``, ``warp(target_image, flow)`` is aligned with ``source``.
    """
    image = np.asarray(image, np.float32)
    if image.shape[:2] != flow.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and flow {flow.shape[:2]} differ in size")
    map_x, map_y = _sample_points(flow)
    warped = cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped.reshape(image.shape)


def reliable_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Where the backward flow can be trusted: (H, W) float32, 1 = reliable, 0 = not.

    Args:
        backward: flow from the current frame to the previous one (ŵ).
        forward: flow from the previous frame to the current one (w).

    A pixel is unreliable when it was *disoccluded* (following ŵ back and w forward again does not return
    to it: ``|w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5``, with ``w̃(p) = w(p + ŵ(p))``), when it lies on a *motion
    boundary* (``|∇û|² + |∇v̂|² > 0.01 |ŵ|² + 0.002``), or when ŵ points outside the previous frame.
    """
    forward_here = warp(forward, backward)
    round_trip = np.sum((forward_here + backward) ** 2, axis=-1)
    magnitudes = np.sum(forward_here**2, axis=-1) + np.sum(backward**2, axis=-1)
    disoccluded = round_trip > CONSISTENCY_RELATIVE * magnitudes + CONSISTENCY_ABSOLUTE
    gradient = sum(np.sum(np.square(np.gradient(backward[..., k])), axis=0) for k in range(2))
    boundary = gradient > BOUNDARY_RELATIVE * np.sum(backward**2, axis=-1) + BOUNDARY_ABSOLUTE
    h, w = backward.shape[:2]
    map_x, map_y = _sample_points(backward)
    outside = (map_x < 0) | (map_x > w - 1) | (map_y < 0) | (map_y > h - 1)
    return (~(disoccluded | boundary | outside)).astype(np.float32)


@dataclass(frozen=True)
class FrameMotion:
    """The motion from the previous frame to the current one, as the temporal term needs it."""

    backward: np.ndarray  # (H, W, 2): current → previous
    forward: np.ndarray  # (H, W, 2): previous → current
    mask: np.ndarray  # (H, W) in {0, 1}: where `backward` can be trusted

    @property
    def reliable_fraction(self) -> float:
        """The share of pixels the temporal term constrains."""
        return float(np.mean(self.mask))


def frame_motion(previous: np.ndarray, current: np.ndarray) -> FrameMotion:
    """Backward and forward flow between two (input) frames, and the mask of reliable pixels."""
    backward = optical_flow(current, previous)
    forward = optical_flow(previous, current)
    return FrameMotion(backward, forward, reliable_mask(backward, forward))


def flicker(previous_stylized: np.ndarray, stylized: np.ndarray, motion: FrameMotion) -> float:
    """Mean squared difference between ``stylized`` and the previous stylized frame warped onto it, over
    the pixels ``motion.mask`` trusts and the three channels (images in [0, 1]; 0 = perfectly steady).

    The motion comes from the *input* frames, so two stylizations of one clip are measured alike.
    """
    warped = warp(previous_stylized, motion.backward)
    squared = np.mean((np.asarray(stylized, np.float32) - warped) ** 2, axis=-1)
    weight = motion.mask
    return float(np.sum(weight * squared) / max(float(np.sum(weight)), 1.0))


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """A flow drawn as colours (direction = hue, speed = brightness), float32 (H, W, 3) in [0, 1]."""
    magnitude, angle = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    top = float(max_magnitude) if max_magnitude else max(float(np.percentile(magnitude, 99)), 1e-6)
    hsv = np.zeros(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = (angle * 90.0 / np.pi).astype(np.uint8)  # OpenCV's hue runs over 0–179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(magnitude / top * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255.0
