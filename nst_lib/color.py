"""Colour control from Gatys et al. 2017, "Controlling Perceptual Factors in NST" (taught in notebook 07).

* ``luminance``: transfer style on luminance only. Style luminance is matched to the content's mean and
  spread, the optimisation runs on grey images, and the result's luminance is recombined with the
  content's colour (I, Q) channels.
* ``histogram``: the style image's colours are matched to the content's mean and covariance before the
  transfer, so the style's palette becomes the content's. Gatys et al. call it "colour histogram matching";
  it matches the first two moments of the colour distribution (:func:`match_color_moments`), not the whole
  histogram.

All functions work on float32 (H, W, 3) arrays in [0, 1] (NumPy and scikit-image, no TensorFlow).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] → YIQ (Y in [0, 1]; I, Q roughly in [−0.6, 0.6]); scikit-image's NTSC matrix."""
    from skimage.color import rgb2yiq

    return rgb2yiq(np.asarray(image, np.float64)).astype(np.float32)


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    """YIQ → RGB, clipped to [0, 1]."""
    from skimage.color import yiq2rgb

    return np.clip(yiq2rgb(np.asarray(image, np.float64)), 0.0, 1.0).astype(np.float32)


def luminance(image: np.ndarray) -> np.ndarray:
    """The Y channel (H, W) of an RGB image."""
    return rgb_to_yiq(image)[..., 0]


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """(H, W) luminance → (H, W, 3) grey RGB image, clipped to [0, 1]."""
    from skimage.color import gray2rgb

    return gray2rgb(np.clip(np.asarray(gray, np.float32), 0.0, 1.0))


def match_luminance(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Grey version of ``style`` whose luminance has the content's mean and standard deviation."""
    ys, yc = luminance(style), luminance(content)
    matched = (ys - ys.mean()) * (yc.std() / max(float(ys.std()), 1e-6)) + yc.mean()
    return gray_to_rgb(matched)


def combine_luminance(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance of ``stylized`` with the colour (I, Q) of ``content`` (sizes must agree)."""
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = luminance(stylized)
    return yiq_to_rgb(yiq)


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-8)
    power = -0.5 if inverse else 0.5
    return (vectors * values**power) @ vectors.T


class ColorStatistics(NamedTuple):
    """Mean (3,) and covariance (3, 3) of an image's RGB values (float64)."""

    mean: np.ndarray
    covariance: np.ndarray


def color_statistics(image: np.ndarray) -> ColorStatistics:
    """The RGB mean and covariance of ``image`` (compute them once, match many times)."""
    pixels = np.asarray(image, np.float64).reshape(-1, 3)
    return ColorStatistics(pixels.mean(0), np.cov(pixels, rowvar=False))


def match_color_statistics(image: np.ndarray, source: ColorStatistics, target: ColorStatistics) -> np.ndarray:
    """Affine colour transfer of ``image`` (whose statistics are ``source``) to the ``target`` statistics.

    x' = Σt^½ Σs^-½ (x − μs) + μt, with symmetric matrix square roots (Gatys et al. 2017, §5).
    """
    eye = 1e-5 * np.eye(3)
    transform = _sqrtm(target.covariance + eye) @ _sqrtm(source.covariance + eye, inverse=True)
    pixels = np.asarray(image, np.float64).reshape(-1, 3)
    out = (pixels - source.mean) @ transform.T + target.mean
    return np.clip(out, 0.0, 1.0).reshape(np.shape(image)).astype(np.float32)


def match_color_moments(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``image`` recoloured to the RGB mean and covariance of ``reference`` (an affine colour transfer, see
    :func:`match_color_statistics`). ``preserve_colors="histogram"`` recolours each style image to the
    content's; ``init="recolored"`` the content to the style's."""
    return match_color_statistics(image, color_statistics(image), color_statistics(reference))


def match_color_histogram(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The older name of :func:`match_color_moments` (``style`` recoloured to ``content``'s colours).

    Gatys et al. 2017 call this "colour histogram matching" (hence ``preserve_colors="histogram"``), but it
    matches the first two moments of the colours, mean and covariance, not the whole histogram."""
    return match_color_moments(style, content)


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the I and Q channels: how different two images' colours are."""
    return float(np.mean(np.abs(rgb_to_yiq(a)[..., 1:] - rgb_to_yiq(b)[..., 1:])))
