"""Colour control from Gatys et al. 2017, "Controlling Perceptual Factors in NST" (taught in notebook 07).

* ``luminance``: transfer style on luminance only. Style luminance is matched to the content's mean and
  spread, the optimisation runs on grey images, and the result's luminance is recombined with the
  content's colour (I, Q) channels.
* ``histogram``: the style image's colours are matched to the content's mean and covariance before the
  transfer, so the style's palette becomes the content's.

All functions work on float32 (H, W, 3) arrays in [0, 1] (NumPy only).
"""
from __future__ import annotations

import numpy as np

# NTSC YIQ, the colour space used by Gatys et al. 2017.
_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], np.float64
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] → YIQ (Y in [0, 1]; I, Q roughly in [−0.6, 0.6])."""
    return (np.asarray(image, np.float64) @ _RGB_TO_YIQ.T).astype(np.float32)


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    """YIQ → RGB, clipped to [0, 1]."""
    return np.clip(np.asarray(image, np.float64) @ _YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def luminance(image: np.ndarray) -> np.ndarray:
    """The Y channel (H, W) of an RGB image."""
    return rgb_to_yiq(image)[..., 0]


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """(H, W) luminance → (H, W, 3) grey RGB image, clipped to [0, 1]."""
    return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=-1).astype(np.float32)


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


def match_color_histogram(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Affine colour transfer: ``style`` with the content's RGB mean and covariance.

    x' = Σc^½ Σs^-½ (x − μs) + μc, with symmetric matrix square roots (Gatys et al. 2017, §5).
    """
    s = np.asarray(style, np.float64).reshape(-1, 3)
    c = np.asarray(content, np.float64).reshape(-1, 3)
    mu_s, mu_c = s.mean(0), c.mean(0)
    eye = 1e-5 * np.eye(3)
    transform = _sqrtm(np.cov(c, rowvar=False) + eye) @ _sqrtm(np.cov(s, rowvar=False) + eye, inverse=True)
    out = (s - mu_s) @ transform.T + mu_c
    return np.clip(out, 0.0, 1.0).reshape(np.shape(style)).astype(np.float32)


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the I and Q channels: how different two images' colours are."""
    return float(np.mean(np.abs(rgb_to_yiq(a)[..., 1:] - rgb_to_yiq(b)[..., 1:])))
