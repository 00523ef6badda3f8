"""Gatys et al.'s network as settings: average pooling, and VGG rescaled so that every filter's mean
activation is 1 (nst_lib.normalized_vgg; notebook 11). The CLI side is at the end."""
from __future__ import annotations

import numpy as np
import pytest

from nst_lib import backbone, config, normalized_vgg
from nst_lib.backbone import FeatureExtractor, layer_catalogue, layer_names
from nst_lib.cli import main
from nst_lib.config import StyleConfig
from nst_lib.errors import InvalidSettingError

from conftest import make_content, make_style, write_png
from test_weights import write_legacy_h5

BACKBONE = "vgg16"


def he_arrays(seed: int = 0) -> dict:
    """Every layer of VGG16 with He-initialised random kernels (activations neither vanish nor explode)."""
    rng = np.random.default_rng(seed)
    arrays, in_channels = {}, 3
    for info in layer_catalogue(BACKBONE):
        std = np.sqrt(2.0 / (9 * in_channels))
        kernel = rng.normal(0, std, (3, 3, in_channels, info.channels)).astype(np.float32)
        arrays[info.keras_name] = (kernel, rng.normal(0.0, 0.05, info.channels).astype(np.float32))
        in_channels = info.channels
    return arrays


@pytest.fixture
def small_calibration(monkeypatch, tmp_path):
    """Three 48 px calibration images instead of the 25 of 224 px, and a cache folder of our own."""
    rng = np.random.default_rng(3)
    images = [make_content(48, 48, seed=1), make_style(48, 48, seed=2), rng.uniform(0, 1, (48, 48, 3)).astype(np.float32)]
    labels = ["content (whole)", "style (whole)", "noise (crop 1 of 1)"]
    monkeypatch.setattr(normalized_vgg, "calibration_images", lambda size=48: (list(images), list(labels)))
    monkeypatch.setattr(normalized_vgg, "cache_folder", lambda: tmp_path / "cache")
    monkeypatch.setattr(normalized_vgg, "_RESCALINGS", {})
    return images


@pytest.fixture
def weights_file(tmp_path):
    return str(write_legacy_h5(tmp_path / "vgg16_random.h5", he_arrays()))


# ---------------------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("pooling, kind", [("max", "MaxPooling2D"), ("avg", "AveragePooling2D")])
def test_pooling_setting_builds_that_pooling_between_every_block(pooling, kind):
    model = backbone.build_vgg("vgg19", pooling)
    pools = [layer for layer in model.layers if "pool" in layer.name]
    assert len(pools) == 4 and {type(layer).__name__ for layer in pools} == {kind}
    extractor = FeatureExtractor(["conv5_1"], weights=None, pooling=pooling)
    assert {type(layer).__name__ for layer in extractor.model.layers if "pool" in layer.name} == {kind}
    assert extractor.pooling == pooling


def test_average_pooling_averages_and_keeps_the_weights(weights_file):
    image = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
    by_max = FeatureExtractor(["conv1_2", "conv2_1"], BACKBONE, weights_file, pooling="max")
    by_avg = FeatureExtractor(["conv1_2", "conv2_1"], BACKBONE, weights_file, pooling="avg")
    a, b = by_max(image), by_avg(image)
    np.testing.assert_allclose(a["block1_conv2"], b["block1_conv2"], rtol=1e-5)  # same weights before a pool
    assert not np.allclose(a["block2_conv1"], b["block2_conv1"])  # after one: not the same
    # avg pooling by hand, then conv2_1 of the same weights
    kernel, bias = he_arrays()["block2_conv1"]
    pooled = np.asarray(b["block1_conv2"])[0].reshape(16, 2, 16, 2, 64).mean(axis=(1, 3))
    import tensorflow as tf

    by_hand = tf.nn.relu(tf.nn.conv2d(pooled[np.newaxis], kernel, 1, "SAME") + bias).numpy()
    np.testing.assert_allclose(b["block2_conv1"], by_hand, rtol=1e-3, atol=1e-4)


def test_bad_pooling_and_rescale_values_are_refused():
    with pytest.raises(InvalidSettingError, match="pooling must be one of max, avg; got 'median'"):
        FeatureExtractor(["conv1_1"], weights=None, pooling="median")
    with pytest.raises(InvalidSettingError, match="pooling must be one of max, avg"):
        StyleConfig(pooling="average")
    with pytest.raises(InvalidSettingError, match="rescale_network must be True or False, got 'yes'"):
        StyleConfig(rescale_network="yes")


def test_defaults_are_the_keras_network_and_the_choices_agree():
    cfg = StyleConfig()
    assert (cfg.pooling, cfg.rescale_network) == ("max", False)
    assert config.POOLINGS == backbone.POOLINGS


# ---------------------------------------------------------------------------------------- rescaling
def test_rescaled_network_has_mean_activation_one_per_filter_on_the_calibration_images(small_calibration, weights_file):
    rescaling = normalized_vgg.network_rescaling(BACKBONE, weights_file, "avg")
    assert rescaling.pooling == "avg" and rescaling.calibration.startswith("3 images of 48×48 px")
    original = FeatureExtractor(layer_names(BACKBONE), BACKBONE, weights_file, pooling="avg")
    before = normalized_vgg.filter_mean_activations(original, small_calibration)
    spread = [float(np.ptp(np.log(m[m > 0]))) for m in before.values()]
    assert max(spread) > 1.0, "the test needs filters whose means differ (else any scaling passes)"
    rescaled = FeatureExtractor(layer_names(BACKBONE), BACKBONE, weights_file, pooling="avg", rescaling=rescaling)
    after = normalized_vgg.filter_mean_activations(rescaled, small_calibration)
    for layer, means in after.items():
        live = rescaling.means[layer] > 0
        np.testing.assert_allclose(means[live], 1.0, rtol=1e-3, err_msg=layer)
        assert np.all(means[~live] == 0)  # a dead filter stays dead (divisor 1)
    assert rescaling.dead_filters == {k: int(np.sum(m <= 0)) for k, m in rescaling.means.items() if np.any(m <= 0)}


def test_dividing_the_outputs_equals_the_rescaled_weights(small_calibration, weights_file):
    """Rescaled kernels and biases (rescale_weights) give the extractor's divided features, at every layer."""
    rescaling = normalized_vgg.network_rescaling(BACKBONE, weights_file, "max")
    probe = normalized_vgg.rescaled_keras_model(rescaling)
    names = layer_names(BACKBONE)
    kernel, _ = probe.get_layer("block2_conv1").get_weights()
    original, _ = he_arrays()["block2_conv1"]
    np.testing.assert_allclose(kernel, original * rescaling.divisors["block1_conv2"][None, None, :, None]
                               / rescaling.divisors["block2_conv1"], rtol=1e-5)
    image = make_content(40, 56, seed=9)[np.newaxis]
    extractor = FeatureExtractor(names, BACKBONE, weights_file, pooling="max", rescaling=rescaling)
    by_weights = dict(zip(names, probe(extractor.preprocess(image))))
    for name, value in extractor(image).items():
        np.testing.assert_allclose(by_weights[name], value, rtol=2e-3, atol=1e-4 * float(np.max(value)), err_msg=name)


def test_means_are_measured_once_and_read_back_from_the_cache(small_calibration, weights_file, monkeypatch, tmp_path):
    first = normalized_vgg.network_rescaling(BACKBONE, weights_file, "avg")
    files = list((tmp_path / "cache").glob("vgg16_avg_*.npz"))
    assert len(files) == 1
    monkeypatch.setattr(normalized_vgg, "_RESCALINGS", {})  # a new process

    def no_measuring(*args, **kwargs):
        raise AssertionError("measured again instead of reading the cache")

    monkeypatch.setattr(normalized_vgg, "filter_mean_activations", no_measuring)
    again = normalized_vgg.network_rescaling(BACKBONE, weights_file, "avg")
    assert again == first
    for layer in first.means:
        np.testing.assert_array_equal(again.means[layer], first.means[layer])
    # other images (or another pooling) are another key: measured, not read
    with pytest.raises(AssertionError, match="measured again"):
        normalized_vgg.network_rescaling(BACKBONE, weights_file, "max")


def test_rescale_weights_of_a_two_layer_chain_by_hand():
    kernel1 = np.ones((1, 1, 1, 2), np.float32)
    kernel2 = np.ones((1, 1, 2, 1), np.float32)
    k, b = normalized_vgg.rescale_weights([kernel1, kernel2], [np.array([1.0, 2.0]), np.array([3.0])],
                                          [np.array([2.0, 4.0]), np.array([10.0])])
    np.testing.assert_allclose(k[0][0, 0, 0], [0.5, 0.25])  # each filter divided by its mean
    np.testing.assert_allclose(b[0], [0.5, 0.5])
    np.testing.assert_allclose(k[1][0, 0, :, 0], [2.0 / 10, 4.0 / 10])  # undo layer 1's division, then divide
    np.testing.assert_allclose(b[1], [0.3])


# ------------------------------------------------------------------------------- stylize and the CLI
def test_stylize_accepts_the_settings_and_the_rescaled_losses_are_smaller(small_calibration, weights_file):
    import nst_lib as nst

    content, style = make_content(48, 48), make_style(48, 48)
    common = dict(size=48, steps=2, scales=1, weights=weights_file, backbone=BACKBONE, init="content",
                  content_layers=("conv4_2",), content_weight=1.0, style_weight=1.0)
    plain = nst.stylize(content, style, **common)
    faithful = nst.stylize(content, style, pooling="avg", rescale_network=True, **common)
    assert faithful.config.pooling == "avg" and faithful.config.rescale_network
    first_plain, first_faithful = plain.history[0], faithful.history[0]
    assert np.isfinite(first_faithful["total"]) and first_faithful["style"] > 0
    # He-initialised filters' means are ≫ 1 deep in the network: dividing by them shrinks the style loss
    assert first_faithful["style"] < first_plain["style"]


def test_cli_accepts_pooling_and_rescale_network(small_calibration, weights_file, tmp_path, capsys):
    content = write_png(tmp_path / "content.png", make_content())
    style = write_png(tmp_path / "style.png", make_style())
    out = tmp_path / "out.png"
    code = main(["stylize", str(content), str(style), "-o", str(out), "--size", "48", "--steps", "2",
                 "--backbone", BACKBONE, "--weights", weights_file, "--pooling", "avg", "--rescale-network",
                 "--content-layers", "conv4_2", "--history", str(tmp_path / "h.json")])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()
    import json

    saved = json.loads((tmp_path / "h.json").read_text())["config"]
    assert saved["pooling"] == "avg" and saved["rescale_network"] is True


@pytest.mark.parametrize("flags, words", [
    (["--pooling", "median"], ["--pooling", "median", "max", "avg"]),
    (["--rescale-network=yes"], ["--rescale-network"]),
])
def test_cli_refuses_bad_values_with_one_error_line(flags, words, tmp_path, capsys):
    content = write_png(tmp_path / "content.png", make_content())
    style = write_png(tmp_path / "style.png", make_style())
    out = tmp_path / "out.png"
    code = main(["stylize", str(content), str(style), "-o", str(out), "--size", "48", *flags])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not out.exists()
