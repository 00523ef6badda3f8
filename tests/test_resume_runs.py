"""Resuming the three kinds of run that save state differently: a multi-scale Adam run stopped in its coarse
scale, an L-BFGS-B run (whose curvature history SciPy cannot save), and a tiled run stopped in the middle of
a pass (its grid offsets must be the same after the resume). Each run is stopped through the callback (as
Ctrl-C or a kill would leave it), its state read back, and the resumed run must finish the same schedule.
Also: Adam's state carried from one scale to the next (``resize_adam_state``)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import make_content, make_style
from nst_lib.resume import RunState
from nst_lib.transfer import resize_adam_state


@pytest.fixture(autouse=True)
def save_at_every_iteration(monkeypatch):
    monkeypatch.setenv("NST_SAVE_INTERVAL", "0")


def _stop_after(iteration: int, scale: int | None = None):
    def callback(event):
        return event.iteration >= iteration and (scale is None or event.scale == scale)

    return callback


def _iterations(history):
    return [entry["iteration"] for entry in history]


@pytest.mark.slow
def test_a_multi_scale_adam_run_stopped_in_its_coarse_scale_resumes_and_finishes(tmp_path, quiet_substitution):
    import nst_lib

    state = tmp_path / "run.npz"
    content, style = make_content(128, 128), make_style(96, 96)  # coarse scale 64 × 64 (none under 64 px)
    settings = dict(size=128, steps=8, scales=2, optimizer="adam", backbone="vgg16", learning_rate=0.05)
    first = nst_lib.stylize(content, style, save_state=state, callback=_stop_after(2), **settings)
    assert first.stop_reason == "callback" and first.iterations == 2
    saved = RunState.load(state)
    assert (saved.stage, saved.stage_iterations, int(saved.optimizer["t"])) == (0, 2, 2)  # the coarse scale, 2 done
    assert saved.image.shape[:2] == (64, 64) and not saved.finished

    second = nst_lib.stylize(content, style, resume=state, save_state=state)
    assert second.stop_reason == "steps" and second.iterations == 8
    assert _iterations(second.history) == list(range(1, 9))  # the saved two, then six more: 2 coarse, 4 fine
    assert [entry["scale"] for entry in second.history] == [0] * 4 + [1] * 4
    assert second.image.shape == (128, 128, 3) and RunState.load(state).finished


@pytest.mark.slow
def test_an_lbfgs_run_resumes_from_its_image_with_a_fresh_history(tmp_path, quiet_substitution):
    import nst_lib

    state = tmp_path / "run.npz"
    content, style = make_content(64, 56), make_style(64, 64)
    settings = dict(size=64, steps=6, scales=1, optimizer="lbfgs", backbone="vgg16")
    first = nst_lib.stylize(content, style, save_state=state, callback=_stop_after(3), **settings)
    assert first.stop_reason == "callback"
    saved = RunState.load(state)
    assert (saved.stage, saved.stage_iterations, saved.optimizer) == (0, 3, {})  # nothing of SciPy's to save
    second = nst_lib.stylize(content, style, resume=state)
    assert any("L-BFGS restarts its curvature history" in note for note in second.notes)
    iterations = _iterations(second.history)
    assert iterations[:3] == [1, 2, 3] and iterations == sorted(set(iterations)) and iterations[-1] > 3
    assert second.stop_reason in ("steps", "converged", "line_search") and second.iterations == iterations[-1]
    # the resumed run starts from the saved image: its first loss is the saved run's last, not a restart's
    assert second.history[3]["total"] <= first.history[-1]["total"] * 1.001


@pytest.mark.slow
def test_a_tiled_run_stopped_inside_a_pass_resumes_on_the_same_grids(tmp_path, quiet_substitution, monkeypatch):
    import nst_lib
    from nst_lib import memory
    from nst_lib.config import StyleConfig

    monkeypatch.setattr(memory, "COMPOSITION_SIZE", 64)  # the ladder of test_tiling.py's tiled run, at 128 px
    monkeypatch.setattr(memory, "MIN_WHOLE", 48)
    monkeypatch.setattr(memory, "MIN_TILE", 64)
    cfg = StyleConfig(size=128, steps=64, backbone="vgg16", optimizer="adam", learning_rate=0.05,
                      precision="float32")  # the budget below is a float32 estimate
    shape = memory.output_shape((128, 112), 128)
    tile_peak = memory.estimate_tiled(shape, 96, layers=cfg.content_layers + cfg.style_layers, backbone="vgg16",
                                      optimizer="adam") + 2**20
    budget = int(tile_peak / memory.PLAN_HEADROOM)
    content, style = make_content(128, 112), make_style(96, 96)
    state = tmp_path / "run.npz"

    first = nst_lib.stylize(content, style, config=cfg, max_memory=budget, save_state=state,
                            callback=_stop_after(1, scale=1))  # the first iteration of the tiled stage
    assert first.plan.mode == "tiled" and first.stop_reason == "callback"
    saved = RunState.load(state)
    assert saved.stage == 1 and (saved.tile_pass, saved.next_tile) == (0, 1) and len(saved.offsets) >= 1
    assert {"m", "v", "t"} <= set(saved.optimizer)  # Adam's whole-image moments go on from here

    second = nst_lib.stylize(content, style, resume=state, max_memory=budget)
    assert second.stop_reason == "steps" and second.image.shape == (128, 112, 3)
    (grid,) = second.tiling
    assert [tuple(o) for o in grid["offsets"][: len(saved.offsets)]] == [tuple(o) for o in saved.offsets]
    assert _iterations(second.history) == sorted(set(_iterations(second.history)))


def test_resize_adam_state_carries_the_moments_to_another_size():
    rng = np.random.default_rng(0)
    m = rng.normal(0, 1, (8, 6, 3)).astype(np.float32)
    v = np.abs(rng.normal(0, 1, (8, 6, 3))).astype(np.float32)
    state = {"m": m, "v": v, "t": np.array(7), "average": m, "average_weight": np.array(0.5)}
    resized = resize_adam_state(state, (16, 12))
    assert resized["m"].shape == resized["v"].shape == (16, 12, 3)
    assert int(resized["t"]) == 7  # the step count goes on (bias correction continues)
    assert "average" not in resized and "average_weight" not in resized  # the average starts afresh per scale
    assert resized["v"].min() >= 0  # a second moment stays non-negative (bicubic could undershoot)
    np.testing.assert_allclose(resized["m"].mean(axis=(0, 1)), m.mean(axis=(0, 1)), atol=0.15)
    np.testing.assert_allclose(resized["v"].mean(axis=(0, 1)), v.mean(axis=(0, 1)), atol=0.15)
    same = resize_adam_state({"m": m, "v": v, "t": np.array(1)}, (8, 6))
    np.testing.assert_array_equal(same["m"], m)
    np.testing.assert_array_equal(same["v"], v)
    assert resize_adam_state(None, (4, 4)) is None and resize_adam_state({}, (4, 4)) is None
