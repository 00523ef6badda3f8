"""nst_lib.course.experiments: the Gatys et al. figures as functions.

Most tests replace ``stylize`` with a recorder, so they check *which* runs each figure asks for (the
paper's settings) in milliseconds; two tests run the real pipeline on tiny images, with real weights.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import make_content, make_style
from nst_lib.course import experiments
from nst_lib.course.viz import figure_to_array


class Recorder:
    """Stands in for nst_lib.stylize: records every call and returns a plausible Result."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, content, style, *, callback=None, **options):
        from nst_lib.config import StyleConfig
        from nst_lib.transfer import Result

        self.calls.append(dict(options, content=content, style=style))
        config = StyleConfig(**options)  # every figure's settings must be valid library settings
        image = np.full(content.shape, 0.5, np.float32)
        if callback is not None:
            from nst_lib.optimize import Iterate

            callback(Iterate(iteration=1, losses={"total": 1.0}, elapsed=0.0, image=lambda: image))
        return Result(image=image, history=[{"iteration": 1, "total": 1.0}], config=config, stop_reason="steps",
                      message="finished", elapsed=0.25, iterations=1, backbone="vgg16", weights_source="test")


@pytest.fixture
def recorder(monkeypatch):
    fake = Recorder()
    monkeypatch.setattr("nst_lib.transfer.stylize", fake)
    return fake


CONTENT = make_content(48, 64)
STYLE = make_style(64, 64)


def test_layer_set_helpers():
    sets = experiments.cumulative_layer_sets()
    assert sets[0] == ("conv1_1",)
    assert sets[-1] == experiments.GATYS_STYLE_LAYERS
    assert [len(s) for s in sets] == [1, 2, 3, 4, 5]
    assert experiments.layer_set_label(("conv1_1",)) == "conv1_1"
    assert experiments.layer_set_label(sets[2]) == "conv1_1 … conv3_1"


def test_paper_ratio_maps_to_our_weights():
    weights = experiments.paper_ratio_to_weights(1e-3)
    assert weights["style_weight"] == experiments.RATIO_STYLE_WEIGHT
    assert weights["content_weight"] / weights["style_weight"] == pytest.approx(experiments.RATIO_CALIBRATION * 1e-3)
    # ten times the ratio is ten times the content weight
    assert experiments.paper_ratio_to_weights(1e-2)["content_weight"] == pytest.approx(10 * weights["content_weight"])
    with pytest.raises(ValueError, match="alpha_over_beta"):
        experiments.paper_ratio_to_weights(0.0)


def test_normalisation_factor_is_two_n_m():
    # conv4_2: 512 channels at 1/8 of the input: 256×256 → 32×32 positions
    assert experiments.normalisation_factor(256, 256, "conv4_2") == 2 * 512 * 32 * 32
    assert experiments.normalisation_factor(100, 60, "block1_conv2") == 2 * 64 * 100 * 60


def test_content_reconstructions_one_layer_each_from_noise(recorder):
    panel = experiments.content_reconstructions(CONTENT, layers=("conv1_2", "conv4_2"), size=48, steps=7)
    assert panel.labels == ["conv1_2", "conv4_2"]
    assert [c["content_layers"] for c in recorder.calls] == [("conv1_2",), ("conv4_2",)]
    for call in recorder.calls:
        assert call["init"] == "noise" and call["style_weight"] == 0 and call["steps"] == 7
        assert call["style_layers"] == ()  # the network is cut after the content layer
    images, labels = panel  # a panel unpacks as (images, labels)
    assert len(images) == 2 and images[0].shape == (36, 48, 3)
    assert set(panel.inputs) == {"content"}


def test_style_reconstructions_grow_the_layer_set(recorder):
    panel = experiments.style_reconstructions(STYLE, size=32, steps=3)
    assert panel.labels == ["conv1_1", "+ conv2_1", "+ conv3_1", "+ conv4_1", "+ conv5_1"]
    assert [len(c["style_layers"]) for c in recorder.calls] == [1, 2, 3, 4, 5]
    assert all(c["content_weight"] == 0 and c["init"] == "noise" for c in recorder.calls)


def test_ratio_grid_columns_are_ratios_and_rows_layer_sets(recorder):
    sets = experiments.cumulative_layer_sets()[:2]
    panel = experiments.ratio_grid(CONTENT, STYLE, ratios=(1e-4, 1e-2), layer_sets=sets, size=48, steps=2)
    assert len(panel) == 4 and panel.ncols == 2
    assert len(panel.rows()) == 2
    ratios = [c["content_weight"] / c["style_weight"] for c in recorder.calls]
    assert ratios == pytest.approx([experiments.RATIO_CALIBRATION * r for r in (1e-4, 1e-2, 1e-4, 1e-2)])
    assert all(c["content_layers"] == ("conv4_2",) for c in recorder.calls)
    assert "ours 1e4" in panel.col_labels[0] and "1e-4" in panel.col_labels[0]
    assert panel.row_labels == ["conv1_1", "conv1_1 … conv2_1"]


def test_content_layer_comparison_and_init_comparison(recorder):
    panel = experiments.content_layer_comparison(CONTENT, STYLE, size=48, steps=2)
    assert [c["content_layers"] for c in recorder.calls] == [("conv2_2",), ("conv4_2",)]
    assert panel.labels == ["content at conv2_2", "content at conv4_2"]
    recorder.calls.clear()
    panel = experiments.init_comparison(CONTENT, STYLE, seeds=(3, 4), size=48, steps=2)
    assert panel.labels == ["from content", "from style", "noise seed 3", "noise seed 4"]
    assert [(c["init"], c["seed"]) for c in recorder.calls] == [("content", 0), ("style", 0), ("noise", 3),
                                                                 ("noise", 4)]
    recorder.calls.clear()
    panel = experiments.init_comparison(CONTENT, STYLE, seeds=(), starts=("recolored",), size=48, steps=2)
    assert panel.labels == ["from recoloured content"] and recorder.calls[0]["init"] == "recolored"


def test_progress_sees_every_run_with_its_label(recorder):
    seen = []
    experiments.init_comparison(CONTENT, STYLE, seeds=(0,), size=48, steps=2,
                                progress=lambda label, event: seen.append((label, event.iteration)))
    assert seen == [("from content", 1), ("from style", 1), ("noise seed 0", 1)]


def test_panel_figures_draw_with_and_without_inputs(recorder):
    panel = experiments.ratio_grid(CONTENT, STYLE, ratios=(1e-3, 1e-2), size=48, steps=1)
    assert panel.elapsed == pytest.approx(0.5)
    plain = figure_to_array(panel.figure(size=1.0))
    framed = figure_to_array(panel.figure(with_inputs=True, size=1.0))
    assert plain.ndim == 3 and framed.shape[0] > plain.shape[0]  # the inputs add a row


@pytest.mark.slow
def test_real_reconstructions_lower_their_loss(offline_weights, quiet_substitution):
    """The edge settings of Fig. 1 (no style term; no content term) run through the real pipeline."""
    content = experiments.content_reconstructions(CONTENT, layers=("conv2_2",), size=48, steps=4)
    history = content.results[0].history
    assert history[-1]["content"] < history[0]["content"]
    assert content.images[0].shape == (36, 48, 3)

    style = experiments.style_reconstructions(STYLE, layer_sets=[("conv1_1", "conv2_1")], size=48, steps=4)
    history = style.results[0].history
    assert history[-1]["style"] < history[0]["style"]
    assert style.images[0].shape == (48, 48, 3)
