"""The demos of notebooks 11 (Gatys et al.'s recipe) and 12 (the memory plan), driven headlessly."""
from __future__ import annotations

import pytest

from nst_lib.course import experiments
from nst_lib.course.widgets.big_pictures import plan_demo, render_plan
from nst_lib.course.widgets.common import has_picture, png_size
from nst_lib.course.widgets.gatys import gatys_demo, gatys_settings, weights_sentence
from nst_lib.errors import InvalidSettingError


def test_gatys_settings_convert_alpha_over_beta_exactly_on_the_rescaled_network():
    settings = gatys_settings(alpha_over_beta=1e-3, height=224, width=192, size=224, steps=10)
    # conv4_2 of a 224×192 image: 28×24 positions, 512 filters → 2·N·M·α/β
    assert settings["content_weight"] == pytest.approx(2 * 512 * 28 * 24 * 1e-3)
    assert settings["style_weight"] == 1.0
    assert (settings["pooling"], settings["rescale_network"], settings["init"]) == ("avg", True, "noise")
    assert "exactly" in weights_sentence(settings, 1e-3)
    keras = gatys_settings(alpha_over_beta=1e-3, height=224, width=192, rescale_network=False, pooling="max")
    assert keras["content_weight"] / keras["style_weight"] == pytest.approx(experiments.RATIO_CALIBRATION * 1e-3)
    assert "chosen-by-eye" in weights_sentence(keras, 1e-3)
    with pytest.raises(InvalidSettingError, match="pooling"):
        gatys_settings(alpha_over_beta=1e-3, height=64, width=64, pooling="median")


def test_paper_weights_match_the_normalisation_factor_and_refuse_bad_ratios():
    weights = experiments.paper_weights(1e-4, 256, 256, "conv2_2")
    assert weights["content_weight"] == pytest.approx(2 * 128 * 128 * 128 * 1e-4)
    with pytest.raises(InvalidSettingError, match="alpha_over_beta"):
        experiments.paper_weights(0, 256, 256)


def test_gatys_demo_runs_and_says_what_alpha_over_beta_became():
    demo = gatys_demo(background=False)
    demo.size_slider.value, demo.steps_slider.value = 64, 1
    demo.rescale_checkbox.value = False  # the Keras network: no calibration needed in this test
    demo.pooling_toggle.value = "avg"
    demo.exponent_slider.value = -2.0
    demo.run_button.click()
    assert demo.result is not None, demo.status.value
    assert demo.settings["pooling"] == "avg" and demo.settings["content_layers"] == ("conv4_2",)
    assert "α/β = 0.01" in demo.status.value and "Done" in demo.status.value
    assert has_picture(demo.result_view) and has_picture(demo.figure_view)


def test_render_plan_whole_tiled_and_refused():
    text, png = render_plan(512, "16G")
    assert "done in one piece" in text and "rung" not in text, text
    assert png_size(png)[0] > 100
    text, _ = render_plan(4096, "8G")
    assert "tiles of" in text and "rung" in text
    text, _ = render_plan(4096, "1G")
    assert "more than the memory budget" in text and "rung" not in text


def test_plan_demo_updates_when_a_control_moves():
    demo = plan_demo()
    first = demo.summary.value
    assert "tiles" in first and has_picture(demo.grid_view)
    demo.budget_picker.value = "1G"
    assert demo.summary.value != first and "budget" in demo.summary.value
    demo.size_slider.value = 512
    demo.budget_picker.value = "24G"
    assert "rung" not in demo.summary.value
