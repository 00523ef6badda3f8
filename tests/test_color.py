"""Colour control (Gatys et al. 2017): YIQ conversions, luminance transfer, histogram matching."""
from __future__ import annotations

import numpy as np
import pytest

from nst_lib import color

RNG = np.random.default_rng(11)


def _image(mean, spread, shape=(24, 32, 3), seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(0, 1, (3, 3))
    values = rng.normal(0, 1, (shape[0] * shape[1], 3)) @ mixing
    values = values / values.std(0) * spread + np.asarray(mean)
    return np.clip(values, 0, 1).reshape(shape).astype(np.float32)


def test_rgb_yiq_round_trip():
    image = RNG.uniform(0, 1, (16, 16, 3)).astype(np.float32)
    yiq = color.rgb_to_yiq(image)
    assert yiq.dtype == np.float32
    np.testing.assert_allclose(color.yiq_to_rgb(yiq), image, atol=1e-5)
    # the NTSC luma weights, and white / grey have no chroma
    np.testing.assert_allclose(color.luminance(np.ones((2, 2, 3))), 1.0, atol=1e-6)
    grey = np.full((3, 3, 3), 0.4, np.float32)
    np.testing.assert_allclose(color.rgb_to_yiq(grey)[..., 1:], 0.0, atol=1e-6)
    red = np.zeros((1, 1, 3), np.float32)
    red[..., 0] = 1
    assert color.luminance(red)[0, 0] == pytest.approx(0.299, abs=1e-6)


def test_gray_to_rgb_and_match_luminance():
    grey = np.array([[-0.2, 0.5], [1.3, 0.25]], np.float32)
    rgb = color.gray_to_rgb(grey)
    assert rgb.shape == (2, 2, 3) and rgb.min() == 0 and rgb.max() == 1
    assert np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2])

    style, content = _image((0.3, 0.6, 0.2), 0.05, seed=1), _image((0.5, 0.45, 0.55), 0.08, seed=2)
    matched = color.match_luminance(style, content)
    assert np.all(matched[..., 0] == matched[..., 2])  # grey
    y, yc = color.luminance(matched), color.luminance(content)
    assert float(y.mean()) == pytest.approx(float(yc.mean()), abs=2e-3)
    assert float(y.std()) == pytest.approx(float(yc.std()), rel=2e-2)


def test_combine_luminance_takes_brightness_from_one_image_and_colour_from_the_other():
    stylized, content = _image((0.5, 0.5, 0.5), 0.08, seed=3), _image((0.55, 0.45, 0.5), 0.05, seed=4)
    out = color.combine_luminance(stylized, content)
    np.testing.assert_allclose(color.luminance(out), color.luminance(stylized), atol=2e-3)
    np.testing.assert_allclose(color.rgb_to_yiq(out)[..., 1:], color.rgb_to_yiq(content)[..., 1:], atol=2e-3)
    assert color.chroma_distance(out, content) < 1e-3


def test_histogram_matching_gives_the_contents_mean_and_covariance():
    style = _image((0.2, 0.6, 0.3), 0.06, seed=5)
    content = _image((0.6, 0.4, 0.5), 0.08, seed=6)
    matched = color.match_color_histogram(style, content)
    assert matched.shape == style.shape and matched.dtype == np.float32
    assert 0 < matched.min() and matched.max() < 1  # no clipping in this set-up, so the match is exact
    m, c = matched.reshape(-1, 3).astype(np.float64), content.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(m.mean(0), c.mean(0), atol=1e-4)
    target = np.cov(c, rowvar=False)  # (1e-5 regularisation of both covariances: 1 % of these entries)
    np.testing.assert_allclose(np.cov(m, rowvar=False), target, atol=1e-2 * np.abs(target).max())
    # the spatial structure is the style's: matching is a per-pixel affine map
    assert np.corrcoef(matched[..., 1].ravel(), style[..., 1].ravel())[0, 1] > 0.5


def test_histogram_matching_survives_a_flat_image():
    flat = np.full((8, 8, 3), 0.3, np.float32)
    content = _image((0.5, 0.5, 0.5), 0.1, seed=7, shape=(8, 8, 3))
    out = color.match_color_histogram(flat, content)
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1


def test_chroma_distance():
    a, b = _image((0.6, 0.3, 0.3), 0.05, seed=8), _image((0.3, 0.6, 0.3), 0.05, seed=9)
    assert color.chroma_distance(a, a) == 0
    assert color.chroma_distance(a, b) == pytest.approx(color.chroma_distance(b, a))
    assert color.chroma_distance(a, b) > 0.05
    grey_dark, grey_light = np.full((4, 4, 3), 0.2, np.float32), np.full((4, 4, 3), 0.9, np.float32)
    assert color.chroma_distance(grey_dark, grey_light) < 1e-6  # brightness is not colour


def test_match_color_moments_gives_the_reference_mean_and_covariance_and_the_old_name_agrees():
    """``preserve_colors="histogram"`` is Gatys et al.'s "histogram matching": a mean/covariance transfer."""
    from nst_lib.color import match_color_histogram, match_color_moments

    rng = np.random.default_rng(3)
    image = np.clip(rng.normal((0.6, 0.3, 0.2), 0.08, (40, 50, 3)), 0, 1).astype(np.float32)
    reference = np.clip(rng.normal((0.2, 0.5, 0.7), 0.05, (30, 30, 3)), 0, 1).astype(np.float32)
    out = match_color_moments(image, reference).reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(out.mean(0), ref.mean(0), atol=2e-3)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.cov(ref, rowvar=False), atol=2e-4)
    np.testing.assert_array_equal(match_color_histogram(image, reference), match_color_moments(image, reference))
