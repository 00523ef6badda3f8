"""Notebook 13's pieces: the temporal-loss self-check (the reference passes; each typical mistake gets its
own message) and the clip player (a pure side-by-side render, and a widget driven headlessly)."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from nst_lib.course import checks
from nst_lib.course.solutions_video import temporal_loss
from nst_lib.course.widgets.video import GAP, frame_caption, side_by_side, video_demo


def test_the_reference_temporal_loss_passes_and_is_registered(capsys):
    checks.check_temporal_loss(temporal_loss)
    assert capsys.readouterr().out.startswith("✓ temporal_loss")
    assert checks.exercise_named("temporal_loss").notebook == "13"


@pytest.mark.parametrize("wrong, words", [
    (lambda x, w, c: tf.reduce_mean(tf.square(x - w)), "left the mask out"),
    (lambda x, w, c: tf.reduce_mean((1 - c)[..., None] * tf.square(x - w)), "1 − c"),
    (lambda x, w, c: tf.reduce_sum(c[..., None] * tf.square(x - w)), "summed instead"),
    (lambda x, w, c: tf.reduce_sum(c[..., None] * tf.square(x - w)) / (3 * tf.reduce_sum(c)), "Σ c"),
    (lambda x, w, c: tf.reduce_mean(c[..., None] * tf.abs(x - w)), "absolute differences"),
    (lambda x, w, c: tf.reduce_mean(c * tf.reduce_sum(tf.square(x - w), -1)), "channel axis"),
    (lambda x, w, c: c * tf.reduce_mean(tf.square(x - w)), "single number"),
])
def test_each_typical_mistake_is_named(wrong, words):
    with pytest.raises(checks.ExerciseError, match=words):
        checks.check_temporal_loss(wrong)


def test_an_empty_starter_is_still_empty():
    def temporal_loss(image, warped, mask):
        raise NotImplementedError

    with pytest.raises(checks.ExerciseNotWritten):
        checks.check_temporal_loss(temporal_loss)


def test_the_player_shows_each_frame_of_both_clips_side_by_side():
    left = [np.full((8, 10, 3), i / 10, np.float32) for i in range(4)]
    right = [np.full((8, 10, 3), 1 - i / 10, np.float32) for i in range(4)]
    picture = side_by_side([left, right], 2)
    assert picture.shape == (8, 20 + GAP, 3)
    assert np.allclose(picture[:, :10], 0.2) and np.allclose(picture[:, -10:], 0.8)
    demo = video_demo([left, right], ["a", "b"], flickers=[[0.1, 0.2, 0.3], [0.01, 0.02, 0.03]])
    first = demo.view.value
    demo.frame_slider.value = 3
    assert demo.view.value != first and demo.view.value == demo.pictures[3]
    assert "a: flicker 0.30000" in demo.caption.value and "b: flicker 0.03000" in demo.caption.value
    demo.speed.value = 16.0
    assert demo.play.interval == round(1000 / 16)
    assert "frame 0" in frame_caption(["a"], None, 0)
    with pytest.raises(ValueError, match="same, non-zero number of frames"):
        video_demo([left, right[:2]])
