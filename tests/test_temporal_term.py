"""The temporal term of video style transfer (Ruder et al. 2016) as one more objective term through
``stylize``: the formula against NumPy, its place in the total, its structure flag, and a run pulled
towards a target where the mask is on and left alone where it is off."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import nst_lib as nst
from nst_lib.errors import InvalidSettingError
from nst_lib.losses import Objective, StyleTarget, TemporalTarget, temporal_loss

from conftest import make_content, make_style

RNG = np.random.default_rng(21)


class _ToyExtractor:
    def __init__(self):
        self.kernel = tf.constant(np.random.default_rng(0).normal(0, 0.5, size=(3, 3, 3, 4)), tf.float32)

    def __call__(self, image):
        return {"a": tf.nn.relu(tf.nn.conv2d(image, self.kernel, 1, "SAME"))}


def test_temporal_loss_is_the_masked_mean_over_pixels_and_channels():
    x, warped = (RNG.uniform(0, 1, size=(1, 6, 7, 3)).astype(np.float32) for _ in range(2))
    mask = (RNG.uniform(size=(1, 6, 7)) > 0.4).astype(np.float32)
    expected = np.sum(mask[..., None] * (x.astype(np.float64) - warped) ** 2) / x.size  # (1/D) Σ c (x − ω)²
    np.testing.assert_allclose(float(temporal_loss(tf.constant(x), tf.constant(warped), tf.constant(mask))),
                               expected, rtol=1e-5)


def test_the_objective_adds_the_weighted_temporal_term_and_marks_its_structure():
    ext = _ToyExtractor()
    content, style, x, warped = (RNG.uniform(0, 1, size=(8, 8, 3)).astype(np.float32) for _ in range(4))
    mask = np.ones((8, 8), np.float32)
    mask[:, :3] = 0.0
    targets = ext(tf.constant(content[np.newaxis]))
    grams = {k: nst.gram_matrix(v)[0] for k, v in ext(tf.constant(style[np.newaxis])).items()}

    def objective(temporal=None):
        return Objective(ext, targets, [StyleTarget(grams)], {"a": 1.0}, {"a": 1.0}, 2.0, 3.0, 0.0, temporal=temporal)

    plain, timed = objective(), objective(TemporalTarget(warped, mask, weight=50.0))
    assert not plain.structure.temporal and timed.structure.temporal
    assert plain.structure != timed.structure  # another graph, traced once for every frame of a video
    without = {k: float(v) for k, v in plain.parts(tf.constant(x[np.newaxis])).items()}
    parts = {k: float(v) for k, v in timed.parts(tf.constant(x[np.newaxis])).items()}
    assert "temporal" not in without
    np.testing.assert_allclose(parts["temporal"], np.mean(mask[..., None] * (x - warped) ** 2), rtol=1e-5)
    np.testing.assert_allclose(parts["total"], without["total"] + 50.0 * parts["temporal"], rtol=1e-5)


def test_a_temporal_target_of_the_wrong_shape_is_refused():
    ext = _ToyExtractor()
    with pytest.raises(InvalidSettingError, match="temporal target"):
        Objective(ext, {}, [], {}, {}, 0.0, 0.0, 0.0,
                  temporal=TemporalTarget(np.zeros((8, 8, 3)), np.ones((8, 9)), 1.0))


@pytest.mark.slow
def test_stylize_pulls_the_image_towards_the_warped_frame_only_where_the_mask_is_on(offline_weights,
                                                                                    quiet_substitution):
    content, style = make_content(48, 48), make_style(48, 48)
    target = np.full((48, 48, 3), 0.5, np.float32)
    mask = np.zeros((48, 48), np.float32)
    mask[:, :24] = 1.0
    settings = dict(size=48, steps=15, scales=1, init="content")
    free = nst.stylize(content, style, **settings)
    held = nst.stylize(content, style, temporal=TemporalTarget(target, mask, weight=1e11), **settings)
    left = lambda image: float(np.mean((image[:, :24] - 0.5) ** 2))  # noqa: E731
    assert left(held.image) < 0.25 * left(free.image)  # held where the mask is on …
    assert "temporal" in held.history[-1] and "temporal" not in free.history[-1]
    # … and still stylized where it is off (well away from the seam)
    right_change = float(np.mean((held.image[:, 32:] - content[:, 32:]) ** 2))
    assert right_change > 0.5 * float(np.mean((free.image[:, 32:] - content[:, 32:]) ** 2))


@pytest.mark.slow
def test_a_temporal_target_is_the_runs_start_unless_asked_otherwise(offline_weights, quiet_substitution):
    content, style = make_content(48, 48), make_style(48, 48)
    target = np.full((48, 48, 3), 0.5, np.float32)
    off = np.zeros((48, 48), np.float32)
    settings = dict(size=48, steps=1, scales=1, init="content", optimizer="adam", learning_rate=0.001,
                    average_decay=None)
    warped_start = nst.stylize(content, style, temporal=TemporalTarget(target, off, weight=0.0), **settings)
    content_start = nst.stylize(content, style, temporal=TemporalTarget(target, off, 0.0, start=False), **settings)
    assert float(np.max(np.abs(warped_start.image - 0.5))) < 0.01  # one tiny Adam step from the grey start
    assert float(np.max(np.abs(content_start.image - content))) < 0.01
