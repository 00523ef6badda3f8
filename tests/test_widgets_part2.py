"""The demos of notebooks 04–07, driven headlessly: set ``.value``, call ``.click()``, read what they show.

Runs use real (offline) weights on 48–64 px images and a few steps, so each takes a few seconds.
"""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from conftest import make_content, make_style
from nst_lib.course.widgets.common import png_size

pytestmark = pytest.mark.usefixtures("offline_weights", "quiet_substitution")


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_value(name: str, image: np.ndarray) -> tuple[dict, ...]:
    """What an ipywidgets 8 FileUpload holds after the user picked one file."""
    from datetime import datetime, timezone

    data = png_bytes(image)
    return ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.now(timezone.utc)},)


# --------------------------------------------------------------------------------- notebook 04: losses
@pytest.fixture(scope="module")
def loss_demo():
    from nst_lib.course.widgets.losses import loss_weights_demo

    return loss_weights_demo(size=48)


def test_loss_parts_match_the_library_objective(loss_demo):
    """The demo's arithmetic on cached features equals nst_lib's Objective on the same image."""
    import tensorflow as tf

    from nst_lib.losses import Objective, StyleTarget
    from nst_lib.course.widgets.common import feature_extractor
    from nst_lib.course.widgets.losses import compute_loss_parts

    features = loss_demo.features
    weights = dict(content_weight=1e4, style_weight=1e-2, tv_weight=1e2)
    style_lw = {layer: 0.2 for layer in features.style_layers}
    parts = compute_loss_parts(features, "white noise", content_layer_weights={"block5_conv2": 1.0},
                               style_layer_weights=style_lw, **weights)
    objective = Objective(feature_extractor(), {"block5_conv2": features.content_targets["block5_conv2"]},
                          [StyleTarget(grams=features.style_grams)], {"block5_conv2": 1.0}, style_lw, **weights)
    expected = objective.parts(tf.constant(features.candidate_images["white noise"][np.newaxis]))
    for key in ("content", "style", "tv", "total", "style/block3_conv1"):
        assert parts[key] == pytest.approx(float(expected[key]), rel=1e-4)


def test_loss_demo_updates_when_a_slider_moves(loss_demo):
    loss_demo.candidate_picker.value = "50/50 pixel mix"
    before = dict(loss_demo.parts)
    assert before["style"] > 0 and before["content"] > 0
    loss_demo.style_sliders["block1_conv1"].value = 1.0  # more weight on a layer with a small loss
    after = dict(loss_demo.parts)
    assert after["style"] != pytest.approx(before["style"])
    assert after["content"] == pytest.approx(before["content"])  # only the style part moved
    loss_demo.content_weight_slider.value = 10.0
    assert loss_demo.parts["total"] < after["total"]
    width, height = png_size(loss_demo.chart_view.value)
    assert width > 300 and height > 150
    assert "total" in loss_demo.table_view.value


def test_loss_demo_scores_the_targets_as_zero(loss_demo):
    loss_demo.candidate_picker.value = "content photo"
    assert loss_demo.parts["content"] == pytest.approx(0.0, abs=1e-6)
    loss_demo.candidate_picker.value = "style image"
    assert loss_demo.parts["style"] == pytest.approx(0.0, abs=1e-3)


def test_loss_demo_says_what_is_wrong_when_all_weights_are_zero(loss_demo):
    for slider in loss_demo.style_sliders.values():
        slider.value = 0.0
    assert "must not be all zero" in loss_demo.status.value
    loss_demo.style_sliders["block2_conv1"].value = 0.5
    assert "must not be all zero" not in loss_demo.status.value
    assert set(k for k in loss_demo.parts if k.startswith("style/")) == {"style/block2_conv1"}


# ----------------------------------------------------------------------------- notebook 05: optimisers
def test_optimization_settings_and_labels():
    from nst_lib.course.widgets.optimization import run_label, run_settings

    adam = run_settings(optimizer="adam", learning_rate=0.05, steps=10, init="noise", size=64)
    assert adam == dict(optimizer="adam", steps=10, init="noise", size=64, scales=1, learning_rate=0.05)
    lbfgs = run_settings(optimizer="lbfgs", learning_rate=0.05, steps=10, init="content", size=64)
    assert "learning_rate" not in lbfgs
    assert run_label(adam) == "adam lr=0.05, from noise"
    assert run_label(lbfgs) == "lbfgs, from content"


def test_optimization_demo_runs_and_draws_live():
    from nst_lib.course.widgets.optimization import optimization_demo

    demo = optimization_demo(background=False)
    demo.size_slider.value = 64
    demo.steps_slider.value = 3
    demo.preview_every_slider.value = 1
    demo.optimizer_picker.value = "adam"
    demo.learning_rate_slider.value = 0.05
    demo.run_button.click()
    assert demo.result is not None, demo.status.value
    height, width = demo.result.image.shape[:2]
    assert max(height, width) == 64
    assert png_size(demo.image_view.value) == (width, height)
    assert demo.previews == 3  # one live redraw per iteration
    assert list(demo.histories) == ["adam lr=0.05, from content"]
    assert len(demo.histories["adam lr=0.05, from content"]) == 3
    curves_one = demo.curves_view.value

    demo.optimizer_picker.value = "lbfgs"
    assert demo.learning_rate_slider.disabled
    demo.run_button.click()
    assert list(demo.histories) == ["adam lr=0.05, from content", "lbfgs, from content"]
    assert demo.curves_view.value != curves_one
    demo.x_axis_picker.value = "elapsed"
    assert png_size(demo.curves_view.value)[0] > 300
    demo.clear_button.click()
    assert demo.histories == {}


# --------------------------------------------------------------------------------- notebook 06: studio
def test_decode_upload_and_download_round_trip():
    from nst_lib.course.widgets.studio import decode_download, decode_upload, download_html

    photo = make_content(40, 56)
    image, name = decode_upload(upload_value("photo.png", photo))
    assert name == "photo.png" and image.shape == (40, 56, 3)
    assert decode_upload(()) is None
    link = download_html(image, "result.png")
    assert "download='result.png'" in link and "56×40 px" in link
    assert np.allclose(decode_download(link), image, atol=1 / 255)


def test_studio_settings_are_validated():
    from nst_lib.errors import InvalidSettingError
    from nst_lib.course.widgets.studio import studio_settings

    from nst_lib.config import StyleConfig

    settings = studio_settings(size=128, steps=5, content_weight=1e4, style_weight=1e-2, tv_weight=0.0)
    assert settings["scales"] == StyleConfig().scales and settings["optimizer"] == "lbfgs"
    assert studio_settings(size=128, steps=5, content_weight=1, style_weight=1, tv_weight=0, scales=2)["scales"] == 2
    with pytest.raises(InvalidSettingError, match="content_weight, style_weight and tv_weight are all zero"):
        studio_settings(size=128, steps=5, content_weight=0, style_weight=0, tv_weight=0)


def test_studio_runs_uploaded_images_and_offers_the_result():
    from nst_lib.course.widgets.studio import UPLOADED, decode_download, studio_demo

    demo = studio_demo(background=False)
    demo.content_upload.value = upload_value("mine.png", make_content(60, 80))
    assert demo.content_picker.value == UPLOADED
    assert "mine.png" in demo.status.value
    demo.style_upload.value = upload_value("art.png", make_style(64, 64))
    demo.size_slider.value = 64
    demo.steps_slider.value = 3
    demo.preview_every_slider.value = 1
    demo.run_button.click()
    assert demo.result is not None, demo.status.value
    assert demo.result.image.shape == (48, 64, 3)
    assert png_size(demo.preview.value) == (64, 48)
    assert demo.previews >= 2
    assert decode_download(demo.download.value).shape == (48, 64, 3)
    assert demo.progress.value == 3 and not demo.run_button.disabled and demo.stop_button.disabled


def test_studio_reports_a_missing_upload():
    from nst_lib.course.widgets.studio import UPLOADED, studio_demo

    demo = studio_demo(background=False)
    demo.style_picker.value = UPLOADED
    demo.run_button.click()
    assert demo.result is None
    assert "no style file uploaded yet" in demo.status.value


def test_studio_stop_keeps_the_best_image():
    """Run in a background thread as in Jupyter; Stop ends it early and the best image is kept."""
    from nst_lib.course.widgets.studio import decode_download, studio_demo

    demo = studio_demo(background=True)
    demo.size_slider.value = 64
    demo.steps_slider.value = 500
    demo.preview_every_slider.value = 1
    demo.run_button.click()
    deadline = time.monotonic() + 120
    while demo.progress.value < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert demo.running
    demo.stop_button.click()
    assert demo.wait(timeout=60)
    result = demo.result
    assert result is not None, demo.status.value
    assert result.stop_reason == "callback" and result.iterations < 500
    assert "best image so far is kept" in demo.status.value
    height, width = result.image.shape[:2]
    assert max(height, width) == 64 and png_size(demo.preview.value) == (width, height)
    assert decode_download(demo.download.value).shape == result.image.shape


# -------------------------------------------------------------------------------- notebook 07: controls
def test_masks_and_control_settings():
    from nst_lib.errors import InvalidSettingError
    from nst_lib.course.widgets.controls import MASKS, control_settings, make_mask

    assert make_mask("none", 20, 30) is None
    left = make_mask("left half", 20, 30)
    assert left.shape == (20, 30) and left[:, 0].min() == 1.0 and left[:, -1].max() == 0.0
    disc = make_mask("centre disc", 40, 40)
    assert disc[20, 20] == 1.0 and disc[0, 0] == 0.0
    for kind in MASKS[1:]:
        mask = make_mask(kind, 16, 24)
        assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert control_settings() == dict(preserve_colors="none", style_scale=1.0, scales=1)
    two = control_settings(second_style=True, blend=0.25, preserve_colors="histogram", scales=2)
    assert two["style_blend"] == (0.75, 0.25) and two["preserve_colors"] == "histogram"
    with pytest.raises(InvalidSettingError, match="mask must be one of"):
        make_mask("star", 10, 10)
    with pytest.raises(InvalidSettingError, match="preserve_colors"):
        control_settings(preserve_colors="sepia")


def test_controls_demo_runs_every_toggle():
    from nst_lib.course.widgets.controls import controls_demo

    demo = controls_demo(background=False)
    demo.size_slider.value = 64
    demo.steps_slider.value = 2
    demo.colors_toggle.value = "luminance"
    demo.second_style_picker.value = "cubist"
    assert not demo.blend_slider.disabled
    demo.blend_slider.value = 0.3
    demo.style_scale_slider.value = 0.75
    demo.mask_picker.value = "left half"
    assert "second style fills the black part" in demo.status.value
    demo.run_button.click()
    assert demo.result is not None, demo.status.value
    assert demo.settings["style_blend"] == pytest.approx((0.7, 0.3))
    assert {k: demo.settings[k] for k in ("preserve_colors", "style_scale", "scales")} == dict(
        preserve_colors="luminance", style_scale=0.75, scales=1)
    assert demo.result.config.preserve_colors == "luminance"
    height, width = demo.result.image.shape[:2]
    assert max(height, width) == 64 and png_size(demo.result_view.value) == (width, height)
    assert png_size(demo.figure_view.value)[0] > 5 * width  # content, two styles, mask and result
