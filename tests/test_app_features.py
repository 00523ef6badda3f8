"""The web page offers what the library can do: the four style statistics, the precision setting, a
trained fast network (from the models folder or uploaded), and large sizes with their memory plan shown
before Run — each driven through Streamlit's AppTest (the pure helpers are tested directly)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import app_logic as logic
import fast_models
from run_plan import plan_view
from nst_lib.config import DEFAULT_STYLE_WEIGHTS, PRECISIONS, STYLE_LOSSES, StyleConfig
from nst_lib.errors import NSTError

from test_app import errors, finish_run, page  # noqa: F401 - the page fixture and its helpers

GiB = 2**30


# ------------------------------------------------------------------------------------ pure helpers
def test_the_form_covers_the_statistic_and_the_precision_and_moves_the_weight_with_the_statistic():
    assert {"style_loss", "precision"} <= set(logic.FORM_FIELDS)
    for name in STYLE_LOSSES:
        assert logic.style_weight_for(name) == DEFAULT_STYLE_WEIGHTS[name]
        values = {**logic.form_defaults(fast=True), "style_loss": name, "style_weight": logic.style_weight_for(name)}
        config = logic.make_config(values)
        assert config.style_loss == name and config.style_weight == DEFAULT_STYLE_WEIGHTS[name]
    with pytest.raises(NSTError, match="style statistic must be one of gram, mean_std"):
        logic.style_weight_for("fourier")
    query = logic.parse_query_params({"style_loss": "wasserstein", "precision": "float32"}, ["a"], ["b"])
    assert query.values == {"style_loss": "wasserstein", "precision": "float32"} and not query.problems


def test_the_plan_of_a_4096_px_request_is_shown_in_words():
    config = StyleConfig(size=4096, steps=10)
    tiled = plan_view(config, (3000, 4000), 8 * GiB)
    assert tiled.fits and tiled.mode == "tiled"
    assert "4096×3072 px does not fit in one piece" in tiled.text and "in tiles of" in tiled.text
    assert "estimated peak" in tiled.text
    refused = plan_view(config, (3000, 4000), GiB // 2)
    assert not refused.fits and refused.text.startswith("A 4096×3072 px run needs at least")
    assert refused.text.endswith("; choose a smaller size.") and refused.text == logic.error_sentence(
        NSTError(logic.run_admission(logic.RunRequest(config, (3000, 4000)), GiB // 2).message))
    small = plan_view(StyleConfig(size=256), (300, 400), 8 * GiB)
    assert small.fits and small.mode == "whole" and "256×192 px in one piece" in small.text


def test_models_are_found_in_the_models_folder_and_uploads_are_checked(tmp_path, monkeypatch):
    monkeypatch.setenv(fast_models.ENV_MODELS, str(tmp_path))
    (tmp_path / "swirls.keras").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "notes.txt").write_text("no")
    assert list(fast_models.list_models()) == ["swirls"]
    stored = fast_models.save_uploaded_model(b"PK\x03\x04abc", "mine.keras", tmp_path / "up")
    assert stored.read_bytes() == b"PK\x03\x04abc" and stored.parent == tmp_path / "up"
    with pytest.raises(NSTError, match="is not a .keras model"):
        fast_models.save_uploaded_model(b"PK\x03\x04", "mine.h5", tmp_path)
    with pytest.raises(NSTError, match="is not a Keras model file"):
        fast_models.save_uploaded_model(b"<html>", "mine.keras", tmp_path)


# ----------------------------------------------------------------------------------- the page itself
@pytest.mark.slow
@pytest.mark.parametrize("statistic", STYLE_LOSSES)
def test_the_page_runs_a_style_transfer_with_each_statistic(page, statistic):
    at = page.start()
    assert at.selectbox(key="style_loss").options == [
        "Gram matrix (Gatys et al.)", "mean and standard deviation (AdaIN)", "Wasserstein of Gaussian fits",
        "sliced Wasserstein (Heitz et al.)"]
    at.selectbox(key="style_loss").set_value(statistic).run()
    assert at.number_input(key="style_weight").value == DEFAULT_STYLE_WEIGHTS[statistic]
    at.number_input(key="size").set_value(40)
    at.number_input(key="steps").set_value(2)
    at.button(key="run").click()
    finish_run(at.run())
    assert errors(at) == []
    assert at.session_state["result"]["cli"].count(f"--style-loss {statistic}") == (statistic != "gram")
    assert len(at.get("download_button")) == 1


@pytest.mark.slow
def test_the_precision_setting_reaches_the_run(page):
    at = page.start()
    assert at.radio(key="precision").options == list(PRECISIONS)
    at.radio(key="precision").set_value("float32")
    at.number_input(key="size").set_value(40)
    at.number_input(key="steps").set_value(2)
    at.button(key="run").click()
    finish_run(at.run())
    assert errors(at) == []
    assert "--precision float32" in at.session_state["result"]["cli"]


@pytest.mark.slow
def test_the_page_stylizes_with_a_fast_model_from_the_models_folder(page, tiny_models_folder, monkeypatch):
    monkeypatch.setenv(fast_models.ENV_MODELS, str(tiny_models_folder))
    at = page.start()
    at.radio(key="method").set_value("fast").run()
    assert at.selectbox(key="model_choice").options == ["tiny_swirls", "upload a .keras file"]
    assert not at.get("multiselect") or "style_examples" not in [m.key for m in at.multiselect]
    at.number_input(key="size").set_value(256)
    at.button(key="run").click()
    finish_run(at.run())
    assert errors(at) == []
    result = at.session_state["result"]
    assert result["image"].shape[:2] in {(256, 256), (256, 170), (170, 256)} or max(result["image"].shape[:2]) == 256
    assert result["seconds"] < 1.0, result["summary"]  # one forward pass, measured in the worker
    assert "fast network tiny_swirls" in result["summary"] and "--model tiny_swirls.keras" in result["cli"]
    assert len(at.get("download_button")) == 1


@pytest.mark.slow
def test_a_4096_px_request_shows_its_plan_before_anything_runs(page, monkeypatch):
    monkeypatch.setenv(logic.ENV_MAX_MEMORY, "8G")
    at = page.start()
    at.number_input(key="size").set_value(4096).run()
    plan = [c.value for c in at.caption if c.value.startswith("**Memory plan:**")]
    assert plan and "4096" in plan[0] and "estimated peak" in plan[0], [c.value for c in at.caption]
    assert "ticket" not in at.session_state and "result" not in at.session_state  # nothing ran
    assert not at.button(key="run").disabled
    regions = at.selectbox(key="mask_kind").options  # the library's preset regions, each with its label
    assert len(regions) == len(logic.MASK_CHOICES) and "None" not in regions


@pytest.mark.slow
def test_a_request_that_cannot_fit_is_refused_with_a_sentence_and_run_is_disabled(page, monkeypatch):
    monkeypatch.setenv(logic.ENV_MAX_MEMORY, "1G")
    at = page.start()
    at.number_input(key="size").set_value(4096).run()
    assert any("run needs at least" in e and "choose a smaller size" in e for e in errors(at)), errors(at)
    assert at.button(key="run").disabled
    assert "ticket" not in at.session_state
