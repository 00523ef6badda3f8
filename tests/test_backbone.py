"""The VGG backbone: layer catalogue, names, the extractor cut from one shared network, preprocessing.
(Where the weights come from, and their file formats: tests/test_weights.py.)"""
from __future__ import annotations


import numpy as np
import pytest

from nst_lib import backbone
from nst_lib.backbone import FeatureExtractor, layer_catalogue, layer_names, to_keras_name, to_keras_names
from nst_lib.errors import InvalidSettingError

from test_weights import assert_kernels_equal, conv_layers, random_vgg_arrays, write_legacy_h5


# ------------------------------------------------------------------------------------------ catalogue
def test_layer_names_of_both_backbones():
    assert len(layer_names("vgg19")) == 16 and len(layer_names("vgg16")) == 13
    assert layer_names("vgg19")[:3] == ["block1_conv1", "block1_conv2", "block2_conv1"]
    assert layer_names("vgg19")[-1] == "block5_conv4" and layer_names("vgg16")[-1] == "block5_conv3"
    assert set(layer_names("vgg16")) < set(layer_names("vgg19"))


def test_catalogue_channels_strides_and_receptive_fields():
    info = {i.gatys_name: i for i in layer_catalogue("vgg16")}
    # receptive fields of VGG16 (3×3 convolutions, 2×2/2 pools), computed by hand
    expected_rf = {
        "conv1_1": 3, "conv1_2": 5, "conv2_1": 10, "conv2_2": 14, "conv3_1": 24, "conv3_2": 32, "conv3_3": 40,
        "conv4_1": 60, "conv4_2": 76, "conv4_3": 92, "conv5_1": 132, "conv5_2": 164, "conv5_3": 196,
    }  # fmt: skip
    assert {k: v.receptive_field for k, v in info.items()} == expected_rf
    assert [info[f"conv{b}_1"].channels for b in range(1, 6)] == [64, 128, 256, 512, 512]
    assert [info[f"conv{b}_1"].stride for b in range(1, 6)] == [1, 2, 4, 8, 16]
    assert info["conv4_2"].keras_name == "block4_conv2"
    vgg19 = {i.gatys_name: i for i in layer_catalogue("vgg19")}
    assert vgg19["conv3_4"].receptive_field == 48 and vgg19["conv4_1"].receptive_field == 68
    assert vgg19["conv5_4"].channels == 512
    with pytest.raises(InvalidSettingError, match="backbone must be one of"):
        layer_catalogue("resnet")


@pytest.mark.parametrize("name", ["conv4_2", "relu4_2", "block4_conv2", " CONV4_2 ", "Block4_Conv2"])
def test_gatys_and_keras_names_are_both_accepted(name):
    assert to_keras_name(name) == "block4_conv2"


def test_unknown_layer_names_are_rejected_with_the_valid_list():
    for bad in ["conv6_1", "pool4", "block5_conv5", "", "dense"]:
        with pytest.raises(InvalidSettingError) as info:
            to_keras_name(bad)
        message = str(info.value)
        assert repr(bad) in message and "block1_conv1" in message and "conv5_4" in message
    with pytest.raises(InvalidSettingError, match="unknown vgg16 layer 'conv5_4'"):
        to_keras_name("conv5_4", "vgg16")
    assert to_keras_names("conv1_1, relu2_1,block3_conv1,") == ("block1_conv1", "block2_conv1", "block3_conv1")
    with pytest.raises(InvalidSettingError, match="backbone must be one of"):
        to_keras_names(["conv1_1"], "alexnet")


# ------------------------------------------------------------------------------------------ extractor
def test_extractor_is_cut_after_the_deepest_requested_layer():
    ext = FeatureExtractor(["conv3_1", "conv1_1", "block1_conv1"], weights=None)
    assert ext.layers == ("block3_conv1", "block1_conv1")  # Keras names, duplicates dropped, order kept
    assert conv_layers(ext.model) == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1"]
    assert sum("pool" in layer.name for layer in ext.model.layers) == 2
    feats = ext(np.random.default_rng(0).uniform(0, 1, (2, 32, 40, 3)).astype(np.float32))
    assert set(feats) == {"block3_conv1", "block1_conv1"}
    assert tuple(feats["block1_conv1"].shape) == (2, 32, 40, 64)
    assert tuple(feats["block3_conv1"].shape) == (2, 8, 10, 256)
    assert float(np.min(feats["block3_conv1"])) >= 0.0  # post-ReLU

    deep = FeatureExtractor(["conv5_4"], weights=None)
    assert len(conv_layers(deep.model)) == 16
    with pytest.raises(InvalidSettingError, match="at least one layer"):
        FeatureExtractor([], weights=None)


def test_preprocessing_equals_keras_vgg19_preprocess_input():
    import keras

    x = np.random.default_rng(1).uniform(0, 1, (2, 5, 6, 3)).astype(np.float32)
    ext = FeatureExtractor(["conv1_1"], weights=None)
    ours = np.asarray(ext.preprocess(x))
    reference = np.asarray(keras.applications.vgg19.preprocess_input(255.0 * x.copy()))
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-4)
    # and the VGG16 one is the same Caffe preprocessing
    np.testing.assert_allclose(ours, np.asarray(keras.applications.vgg16.preprocess_input(255.0 * x.copy())), atol=1e-4)


def test_weights_are_loaded_once_per_backbone_and_sub_models_share_one_network(tmp_path, monkeypatch):
    """Notebook 04 makes extractors for several depths: they must not hold one copy of VGG each."""
    arrays = random_vgg_arrays("block3_conv1", seed=5)
    path = write_legacy_h5(tmp_path / "shared.h5", arrays)
    loaded: list[str] = []
    real_load = backbone.load_weights

    def counting(model, info, names):
        loaded.extend(names)
        return real_load(model, info, names)

    monkeypatch.setattr(backbone, "load_weights", counting)
    shallow = FeatureExtractor(["conv1_1"], weights=str(path))
    deep = FeatureExtractor(["conv3_1", "conv2_1"], weights=str(path))
    again = FeatureExtractor(["conv2_1", "conv1_1"], weights=str(path))
    assert sorted(loaded) == sorted(set(loaded)) == sorted(arrays)  # every layer read once, only those needed
    layer = shallow.model.get_layer("block1_conv1")
    assert deep.model.get_layer("block1_conv1") is layer and again.model.get_layer("block1_conv1") is layer
    assert_kernels_equal(deep, arrays)
    assert conv_layers(shallow.model) == ["block1_conv1"]  # each sub-model is still cut after its deepest layer


# ------------------------------------------------------------------------------------ real weights
@pytest.mark.slow
def test_real_offline_weights_give_finite_post_relu_features(offline_weights, quiet_substitution, content_image):
    ext = FeatureExtractor(["conv1_1", "conv5_1"])
    assert ext.backbone == offline_weights
    feats = ext(content_image[np.newaxis])
    for name, value in feats.items():
        value = np.asarray(value)
        assert np.all(np.isfinite(value)) and value.min() >= 0 and value.max() > 0, name
    assert backbone.resolved_weights_description().startswith(offline_weights.upper())
