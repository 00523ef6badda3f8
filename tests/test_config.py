"""StyleConfig: defaults, validation messages, weight normalisation, fast mode."""
from __future__ import annotations

import json
import math

import pytest

from nst_lib.config import (
    GATYS_STYLE_LAYERS,
    MAX_SIZE,
    TF_TUTORIAL,
    StyleConfig,
    config_fields,
    fast_mode,
    normalize_weights,
    pick,
)
from nst_lib.errors import InvalidSettingError, NSTError


def test_defaults_are_valid_and_every_field_is_documented():
    cfg = StyleConfig()
    assert cfg.content_layers == ("block5_conv2",)
    assert cfg.style_layers == GATYS_STYLE_LAYERS
    assert (cfg.content_weight, cfg.style_weight, cfg.tv_weight) == (1e4, 1e-2, 0.0)
    for f in config_fields():
        assert f.metadata.get("doc"), f"field {f.name} has no one-line doc"
        assert "\n" not in f.metadata["doc"]


def test_tutorial_settings_make_a_valid_config():
    cfg = StyleConfig(**TF_TUTORIAL)
    assert cfg.optimizer == "adam" and cfg.scales == 1


def test_to_dict_is_plain_json_and_round_trips():
    cfg = StyleConfig(size=64, style_blend=(1.0, 2.0), time_budget=3.0)
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["style_layers"] == list(GATYS_STYLE_LAYERS)
    rebuilt = StyleConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    assert rebuilt == cfg


def test_replace_validates_again():
    with pytest.raises(InvalidSettingError, match="steps"):
        StyleConfig().replace(steps=0)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"size": 0}, ["size", "between", "got 0"]),
        ({"size": -5}, ["size", "-5"]),
        ({"size": 10000}, ["size", str(MAX_SIZE), "10000"]),
        ({"size": 64.5}, ["size", "whole number"]),
        ({"size": True}, ["size", "whole number"]),
        ({"steps": 0}, ["steps", ">= 1", "got 0"]),
        ({"optimizer": "sgd"}, ["optimizer", "lbfgs", "adam", "'sgd'"]),
        ({"content_weight": -1.0}, ["content_weight", ">= 0", "-1"]),
        ({"style_weight": "heavy"}, ["style_weight", "must be a number", "'heavy'"]),
        ({"tv_weight": math.nan}, ["tv_weight", "finite"]),
        ({"content_weight": 0, "style_weight": 0, "tv_weight": 0}, ["all zero", "nothing to optimise"]),
        ({"style_layers": ()}, ["style_layers is empty"]),
        ({"content_layers": ()}, ["content_layers is empty"]),
        ({"style_layer_weights": (1.0, 2.0)}, ["style_layer_weights", "5 value(s)", "got 2"]),
        ({"style_layer_weights": (0.0,) * 5}, ["style_layer_weights", "all zero"]),
        ({"style_blend": (1.0, -1.0)}, ["style_blend", ">= 0", "-1"]),
        ({"style_blend": (0.0, 0.0)}, ["style_blend", "all zero"]),
        ({"style_scale": 0.0}, ["style_scale", "> 0"]),
        ({"style_scale": 20.0}, ["style_scale", "between 0.05 and 8"]),
        ({"preserve_colors": "sepia"}, ["preserve_colors", "luminance", "histogram"]),
        ({"init": "random"}, ["init", "content", "noise", "style"]),
        ({"seed": -1}, ["seed"]),
        ({"scales": 0}, ["scales", "between 1 and 6"]),
        ({"learning_rate": 0.0}, ["learning_rate", "> 0"]),
        ({"adam_beta_1": 1.0}, ["adam_beta_1", "below 1"]),
        ({"adam_epsilon": 0}, ["adam_epsilon", "> 0"]),
        ({"lbfgs_corrections": 0}, ["lbfgs_corrections"]),
        ({"backbone": "resnet50"}, ["backbone", "vgg19", "vgg16"]),
        ({"weights": ""}, ["weights", "imagenet"]),
        ({"time_budget": 0}, ["time_budget", "> 0"]),
        ({"time_budget": -3.0}, ["time_budget"]),
        ({"steps": None}, ["steps=None", "time_budget"]),
    ],
)
def test_bad_settings_are_refused_with_a_message_naming_the_field(changes, words):
    with pytest.raises(InvalidSettingError) as info:
        StyleConfig(**changes)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert isinstance(info.value, (ValueError, NSTError))


def test_steps_none_means_until_the_time_budget():
    cfg = StyleConfig(steps=None, time_budget=30.0)
    assert cfg.steps is None and cfg.time_budget == 30.0


def test_normalize_weights():
    assert normalize_weights("w", None, 4) == (0.25,) * 4
    assert normalize_weights("w", [1, 3], 2) == (0.25, 0.75)
    assert normalize_weights("w", (0, 2.0), 2) == (0.0, 1.0)
    with pytest.raises(InvalidSettingError, match="needs 3 value"):
        normalize_weights("w", (1, 1), 3)
    with pytest.raises(InvalidSettingError, match="must be a number"):
        normalize_weights("w", ("a", 1), 2)
    with pytest.raises(InvalidSettingError, match="finite"):
        normalize_weights("w", (math.inf, 1), 2)


def test_fast_mode_and_pick(monkeypatch):
    for value in ("1", "true", "YES", " on "):
        monkeypatch.setenv("NST_FAST", value)
        assert fast_mode() and pick(512, 64) == 64
    for value in ("", "0", "no"):
        monkeypatch.setenv("NST_FAST", value)
        assert not fast_mode() and pick(512, 64) == 512
    monkeypatch.delenv("NST_FAST")
    assert pick("real", "fast") == "real"


def test_numpy_numbers_and_lists_are_accepted_and_normalised():
    import numpy as np

    cfg = StyleConfig(size=np.int64(256), steps=np.int32(20), seed=np.uint8(3), content_weight=np.float32(1e3),
                      style_weight=np.int64(2), style_layers=["conv1_1", "conv2_1"], style_blend=[np.float64(1), 2],
                      style_layer_weights=np.array([1.0, 3.0]))
    assert (cfg.size, cfg.steps, cfg.seed) == (256, 20, 3) and type(cfg.size) is int and type(cfg.seed) is int
    assert cfg.content_weight == pytest.approx(1e3) and type(cfg.content_weight) is float
    assert cfg.style_layers == ("conv1_1", "conv2_1") and cfg.style_blend == (1, 2.0)
    assert cfg.style_layer_weights == (1.0, 3.0) and all(type(w) is float for w in cfg.style_layer_weights)
    assert hash(cfg) == hash(cfg.replace())  # hashable: lists would make the frozen config unhashable
    assert json.loads(json.dumps(cfg.to_dict()))["size"] == 256
    assert StyleConfig(style_layers="conv1_1, conv2_1").style_layers == ("conv1_1", "conv2_1")
    with pytest.raises(InvalidSettingError, match="size must be a whole number"):
        StyleConfig(size=np.float64(256.5))


def test_the_style_image_size_is_bounded():
    assert StyleConfig(size=2048, style_scale=2).style_scale == 2
    with pytest.raises(InvalidSettingError, match=r"size × style_scale must be at most 4096 px.*2048 × 4 = 8192"):
        StyleConfig(size=2048, style_scale=4)


def test_style_loss_names_are_the_registered_statistics():
    from nst_lib.config import STYLE_LOSSES
    from nst_lib.losses import style_statistic_names

    assert StyleConfig().style_loss == "gram"
    assert set(STYLE_LOSSES) == set(style_statistic_names())
    with pytest.raises(InvalidSettingError, match="style_loss must be one of"):
        StyleConfig(style_loss="fourier")


def test_errors_carry_what_they_are_about_and_why():
    """Front ends read an error's fields, not its message (``subject``: what, ``reason``: why)."""
    import numpy as np

    from nst_lib.errors import InvalidImageError, NSTError
    from nst_lib.images import load_image

    with pytest.raises(InvalidImageError) as caught:
        load_image(np.zeros((4, 40, 3), np.float32))
    assert (caught.value.subject, caught.value.reason) == ("the given array", "too_small")
    assert caught.value.subject in str(caught.value)
    plain = NSTError("no fields")
    assert (plain.subject, plain.reason) == (None, None)
    assert plain.about("x", "y") is plain and (plain.subject, plain.reason) == ("x", "y")
    assert plain.about("z").subject == "x"  # fields already given are kept


def test_every_switch_has_one_spelling_of_true(monkeypatch):
    """NST_FAST and NST_OFFLINE read alike, when used (nst_lib.environment)."""
    from nst_lib import environment
    from nst_lib.config import fast_mode

    for text, expected in (("1", True), ("true", True), (" Yes ", True), ("on", True), ("0", False), ("", False),
                           ("no", False), ("2", False)):
        monkeypatch.setenv("NST_FAST", text)
        monkeypatch.setenv("NST_OFFLINE", text)
        assert fast_mode() is expected and environment.offline() is expected, text
    monkeypatch.setenv("NST_SAVE_INTERVAL", "2.5")
    assert environment.save_interval() == 2.5
    monkeypatch.setenv("NST_SAVE_INTERVAL", "soon")
    with pytest.raises(InvalidSettingError, match="NST_SAVE_INTERVAL must be a number of seconds"):
        environment.save_interval()
