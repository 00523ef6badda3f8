"""The demos of notebooks 00–03, driven headlessly: set ``.value``, call ``.click()``, check what they show."""
from __future__ import annotations

import datetime
import io
import warnings

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
tf = pytest.importorskip("tensorflow")

import nst_lib as nst  # noqa: E402
from nst_lib.backbone import CAFFE_MEANS_BGR  # noqa: E402
from nst_lib.course.widgets import common, features, gram, images  # noqa: E402


@pytest.fixture(autouse=True)
def fast_and_quiet(monkeypatch):
    monkeypatch.setenv("NST_FAST", "1")  # the demos work at 64 px
    monkeypatch.setenv("NST_OFFLINE", "1")
    from nst_lib.backbone import BackboneSubstitutionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        yield


def _no_error(demo) -> None:
    assert "⚠" not in demo.status.value, demo.status.value


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(name: str, content: bytes) -> tuple[dict, ...]:
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


def _images_drawn(fig) -> int:
    return sum(1 for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>")


# ----------------------------------------------------------------------------------------- common
def test_example_options_cover_photos_and_styles():
    keys = [key for _, key in common.example_options()]
    assert "content:grace_hopper" in keys and "style:swirls" in keys
    assert all(key.startswith("content:") for _, key in common.example_options(("content",)))
    image = common.load_example("style:swirls", 64)
    assert image.shape == (64, 64, 3) and image.dtype == np.float32 and not image.flags.writeable


def test_demo_shows_errors_as_one_line():
    demo = common.Demo("t", [])
    assert demo.run(lambda: nst.load_image(b"nope")) is None
    assert demo.status.value.startswith("<span") and "⚠" in demo.status.value and "Traceback" not in demo.status.value


# ------------------------------------------------------------------------------- notebook 00: tour
def test_tour_demo_shows_the_pair_and_previews_a_stylize():
    demo = images.tour_demo("astronaut", "stained_glass", background=False)
    _no_error(demo)
    first = demo.pair_view.value
    assert common.png_size(first)[0] > common.png_size(first)[1]  # two images side by side
    assert not common.has_picture(demo.result_view)  # a neutral placeholder, not a broken image

    demo.style_picker.value = "style:swirls"
    assert demo.pair_view.value != first

    demo.steps_slider.value = 2
    demo.preview_button.click()
    _no_error(demo)
    result = demo.result
    assert result is not None and result.iterations >= 1
    height, width = result.image.shape[:2]
    assert max(height, width) == demo.preview_size == 64
    assert common.png_size(demo.result_view.value) == (width, height)  # the stylized image itself
    assert "Done" in demo.status.value and f"{width}×{height}" in demo.status.value

    demo.content_picker.value = "content:chelsea"  # a new pair clears the old preview
    assert not common.has_picture(demo.result_view) and demo.result is None


# ---------------------------------------------------------------------------- notebook 01: images
def test_preprocessed_statistics_match_the_vgg_preprocessing():
    image = np.zeros((40, 50, 3), np.float32)
    image[..., 0] = 1.0  # pure red
    stats = images.preprocessed_statistics(image)
    assert stats["image_shape"] == (40, 50, 3) and stats["tensor_shape"] == (1, 40, 50, 3)
    assert stats["image"]["R"] == (1.0, 1.0, 1.0)
    b_mean, g_mean, r_mean = CAFFE_MEANS_BGR
    assert stats["preprocessed"]["R"][2] == pytest.approx(255 - r_mean, abs=1e-3)
    assert stats["preprocessed"]["B"][2] == pytest.approx(-b_mean, abs=1e-3)
    assert "BGR" in images.statistics_html(stats)


def test_render_channels_draws_the_image_and_three_channels():
    fig = images.render_channels(common.load_example("content:astronaut", 64))
    assert _images_drawn(fig) == 4


def test_images_demo_follows_the_size_slider_and_uploads():
    demo = images.images_demo("astronaut")
    _no_error(demo)
    assert demo.image.shape == (64, 64, 3)
    assert "(1, 64, 64, 3)" in demo.stats_view.value
    first_stats, first_png = demo.stats_view.value, demo.channels_view.value

    demo.size_slider.value = 96
    _no_error(demo)
    assert demo.image.shape == (96, 96, 3)
    assert demo.stats_view.value != first_stats and "(1, 96, 96, 3)" in demo.stats_view.value
    assert common.png_size(demo.channels_view.value) == common.png_size(first_png)  # same layout, new pixels
    assert "96×96" in demo.status.value

    demo.upload.value = _upload("mine.png", _png(120, 60))
    _no_error(demo)
    assert demo.image.shape == (48, 96, 3)  # long side follows the slider, aspect kept
    assert "mine.png" in demo.status.value and "(1, 48, 96, 3)" in demo.stats_view.value

    demo.upload.value = _upload("broken.png", b"not an image")
    assert "⚠" in demo.status.value and "not an image format" in demo.status.value
    assert demo.image.shape == (48, 96, 3)  # the previous image stays

    demo.source_picker.value = "style:cubist"  # picking an example leaves the upload
    _no_error(demo)
    assert demo.image.shape == (96, 96, 3) and "cubist" in demo.status.value


# -------------------------------------------------------------------------- notebook 02: features
def test_parse_channels():
    assert features.parse_channels("0, 5, 3-4, 5", 8) == [0, 5, 3, 4]
    with pytest.raises(ValueError, match="out of range"):
        features.parse_channels("9", 8)
    with pytest.raises(ValueError, match="cannot read"):
        features.parse_channels("a", 8)
    with pytest.raises(ValueError, match="no channels"):
        features.parse_channels(" , ", 8)


def test_feature_maps_demo_draws_the_chosen_channels():
    demo = features.feature_maps_demo("astronaut", "block3_conv1")
    _no_error(demo)
    assert _images_drawn(demo.figure) == 16 and len(demo.channels_drawn) == 16
    assert "block3_conv1" in demo.info.value and "256 channels of 16×16" in demo.info.value
    assert "receptive field 24×24" in demo.info.value

    demo.count_slider.value = 5
    assert _images_drawn(demo.figure) == 5 and len(demo.channels_drawn) == 5
    maps = features.example_features("content:astronaut", 64)["block3_conv1"]
    means = maps.mean(axis=(0, 1))
    assert sorted(means[demo.channels_drawn]) == sorted(np.sort(means)[-5:])  # "most active" = largest means

    demo.layer_picker.value = "block1_conv1"
    assert "64 channels of 64×64" in demo.info.value and "stride 1" in demo.info.value
    assert _images_drawn(demo.figure) == 5

    demo.mode_picker.value = "first"
    assert demo.channels_drawn == [0, 1, 2, 3, 4]

    demo.mode_picker.value = "chosen"
    demo.channels_text.value = "7, 2-3"
    _no_error(demo)
    assert demo.channels_drawn == [7, 2, 3] and _images_drawn(demo.figure) == 3

    drawn = demo.maps_view.value
    demo.channels_text.value = "70"  # block1_conv1 has 64 channels
    assert "⚠" in demo.status.value and "0…63" in demo.status.value
    assert demo.maps_view.value == drawn  # the last good grid stays

    demo.channels_text.value = "1"
    demo.image_picker.value = "style:stained_glass"
    _no_error(demo)
    assert demo.maps_view.value != drawn


# ------------------------------------------------------------------------------ notebook 03: Gram
def test_style_distance_is_nst_style_loss_at_one_layer():
    feats = features.example_features("style:swirls", 64)["block2_conv1"]
    other = gram.gram_matrices(features.example_features("content:astronaut", 64))["block2_conv1"]
    expected = float(nst.style_loss({"l": tf.constant(feats[None])}, {"l": tf.constant(other)}, {"l": 1.0})[0])
    assert gram.style_distance(feats, other) == pytest.approx(expected, rel=1e-6)
    own = gram.gram_matrices({"block2_conv1": feats})["block2_conv1"]
    assert gram.style_distance(feats, own) == pytest.approx(0.0, abs=1e-6 * float(np.mean(own**2)))


def test_gram_demo_compares_two_images_at_a_layer():
    demo = gram.gram_demo("swirls", "stained_glass", "block1_conv1")
    _no_error(demo)
    first_distance, first_text, first_png = demo.distance, demo.distance_view.value, demo.comparison_view.value
    assert first_distance > 0 and "block1_conv1" in first_text and f"{first_distance:.4g}" in first_text
    for layer in nst.config.GATYS_STYLE_LAYERS:
        assert layer in first_text  # the table of all five style layers
    assert common.png_size(first_png)[1] > 0

    demo.layer_picker.value = "block3_conv1"
    _no_error(demo)
    assert demo.distance != first_distance and demo.distance_view.value != first_text
    assert "<b>block3_conv1</b>" in demo.distance_view.value
    assert demo.comparison_view.value != first_png

    demo.image_b_picker.value = "style:swirls"  # the same image twice: no style difference
    assert demo.distance == pytest.approx(0.0, abs=1e-3)

    demo.image_b_picker.value = "content:astronaut"
    assert demo.distance > 0


def test_render_gram_comparison_draws_two_images_and_two_heat_maps():
    a = common.load_example("style:swirls", 64)
    b = common.load_example("style:cubist", 64)
    grams_a = gram.gram_matrices(features.compute_features(a))
    grams_b = gram.gram_matrices(features.compute_features(b))
    fig = gram.render_gram_comparison(a, b, grams_a["block1_conv1"], grams_b["block1_conv1"], "block1_conv1")
    titles = [ax.get_title() for ax in fig.axes]
    assert "Gram of A at block1_conv1" in titles and "Gram of B at block1_conv1" in titles
    assert _images_drawn(fig) == 4
