"""The memory plan (nst_lib.memory): sizes, the model's shape, the calibration, whole / tiled / refused."""
from __future__ import annotations

import json

import pytest

from conftest import REPO
from nst_lib.config import StyleConfig
from nst_lib.errors import InvalidSettingError, MemoryBudgetError, NSTError
from nst_lib import memory
from nst_lib.memory import GIB, MIB, check_plan, parse_memory_size, plan_run

PORTRAIT = (1200, 1026)  # grace_hopper's shape (any size: the plan scales it to config.size)


# ------------------------------------------------------------------------------------------------ sizes
@pytest.mark.parametrize(
    "text,expected",
    [("8G", 8 * GIB), ("8GB", 8 * GIB), ("8 GiB", 8 * GIB), ("512M", 512 * MIB), ("1.5g", int(1.5 * GIB)),
     ("2T", 2 * 2**40), (str(3 * GIB), 3 * GIB), (4 * GIB, 4 * GIB)],
)
def test_parse_memory_size(text, expected):
    assert parse_memory_size(text) == expected


@pytest.mark.parametrize("bad", ["lots", "8X", "-1G", "", "1M", True, None, float("inf")])
def test_parse_memory_size_refuses_with_what_is_allowed(bad):
    with pytest.raises(InvalidSettingError, match="max_memory"):
        parse_memory_size(bad)


def test_max_memory_is_a_setting():
    assert StyleConfig(max_memory="8G").max_memory == "8G"
    with pytest.raises(InvalidSettingError, match="8G"):
        StyleConfig(max_memory="eight gigabytes")


# -------------------------------------------------------------------------------------- the model's shape
def _cfg(**kw):
    return StyleConfig(**{"backbone": "vgg16", **kw})


def test_estimate_grows_with_pixels_and_depth_and_lbfgs_costs_more_than_adam():
    small, big = (plan_run(_cfg(size=s, optimizer="adam"), PORTRAIT, "1000G") for s in (512, 1024))
    base = memory.base_bytes(_cfg().content_layers + _cfg().style_layers, "vgg16")
    assert 3.6 < (big.estimated_peak_bytes - base) / (small.estimated_peak_bytes - base) < 4.4  # ∝ pixels
    shallow = plan_run(_cfg(size=1024, optimizer="adam", content_layers=("block2_conv1",),
                            style_layers=("block1_conv1", "block2_conv1")), PORTRAIT, "1000G")
    assert shallow.estimated_peak_bytes < 0.75 * big.estimated_peak_bytes  # a shallower cut keeps less
    lbfgs = plan_run(_cfg(size=1024, optimizer="lbfgs"), PORTRAIT, "1000G")
    assert lbfgs.estimated_peak_bytes > big.estimated_peak_bytes
    # the network passed explicitly: offline without VGG19's weights, a config's "vgg19" is planned as the
    # VGG16 that replaces it (weights.planned_backbone, tests/test_plan_backbone.py)
    vgg19 = plan_run(_cfg(size=1024, optimizer="adam", backbone="vgg19"), PORTRAIT, "1000G", backbone="vgg19")
    assert vgg19.estimated_peak_bytes > big.estimated_peak_bytes


def test_estimate_is_within_25_percent_of_the_measured_peaks():
    """The calibration and check runs (benchmarks/memory.py) against today's model."""
    for name in ("memory_calibration.json", "memory_check.json", "memory_precision_check.json"):
        path = REPO / "benchmarks" / "results" / name
        if not path.is_file():  # issue #13 is open: the measured peaks are not committed yet
            pytest.skip(f"{path.relative_to(REPO)} is not measured yet: run benchmarks/memory.py (issue #13)")
        payload = json.loads(path.read_text())
        runs = [r for r in payload["runs"] if r.get("kind") == "stylize" and "peak_rss" in r]
        assert runs, name
        for run in runs:
            options = dict(run.get("options", {}))
            budget = options.pop("max_memory", "1000G")
            # runs measured before --precision existed computed in float32; later ones record what they used
            options.setdefault("precision", run.get("precision_used", "float32"))
            plan = plan_run(StyleConfig(size=run["size"], steps=run["steps"], **options), tuple(run["shape"]),
                            budget, backbone=run.get("backbone"))
            error = plan.estimated_peak_bytes / run["peak_rss"] - 1
            assert abs(error) <= 0.25, (name, run["size"], options, round(error, 3))


def test_whole_runs_count_bfloat16_at_its_measured_share_and_tiles_like_float32():
    """bfloat16 activations are counted at 0.65 of float32's in whole runs (measured 0.65–0.70, not the half
    their bytes suggest: the losses read float32 copies); in tiles bfloat16 measured no saving, so a tiled
    stage counts float32's, and a bfloat16 poster plans the tiles a float32 one does."""
    half, full = (plan_run(_cfg(size=1024, precision=p), PORTRAIT, "1000G") for p in ("bfloat16", "float32"))
    base = memory.base_bytes(_cfg().content_layers + _cfg().style_layers, "vgg16")
    assert memory.ACTIVATION_BYTES["bfloat16"] / memory.ACTIVATION_BYTES["float32"] == pytest.approx(0.65)
    assert 0.6 < (half.estimated_peak_bytes - base) / (full.estimated_peak_bytes - base) < 0.8
    posters = {p: plan_run(_cfg(size=4096, steps=300, precision=p), PORTRAIT, "8G") for p in ("bfloat16", "float32")}
    assert all(plan.fits and plan.mode == "tiled" for plan in posters.values())
    assert posters["bfloat16"].tile == posters["float32"].tile
    assert posters["bfloat16"].estimated_peak_bytes == posters["float32"].estimated_peak_bytes


# ------------------------------------------------------------------------------------------------ plans
def test_plan_whole_when_it_fits():
    plan = plan_run(_cfg(size=512), PORTRAIT, "8G")
    assert plan.fits and plan.mode == "whole" and plan.rungs == ()
    assert plan.estimated_peak_bytes == plan.whole_peak_bytes <= plan.budget_bytes
    assert "512" in plan.message and "8.0 GB" in plan.message


def test_plan_tiled_climbs_a_ladder_within_the_budget():
    plan = plan_run(_cfg(size=4096, steps=300), PORTRAIT, "8G")
    assert plan.fits and plan.mode == "tiled"
    assert plan.estimated_peak_bytes <= memory.PLAN_HEADROOM * 8 * GIB < plan.whole_peak_bytes  # headroom kept
    sizes = [r.size for r in plan.rungs]
    assert sizes == [512, 1024, 2048, 4096]  # halved down to the composition size
    modes = [r.mode for r in plan.rungs]
    assert modes == sorted(modes, key=["whole", "tiled"].index)  # whole while it fits, then tiles
    for rung in plan.rungs:  # the whole rungs fit whole, the tiled ones would not
        fits_whole = plan_run(_cfg(size=rung.size, steps=300), PORTRAIT, "8G").mode == "whole"
        assert fits_whole == (rung.mode == "whole"), rung
    # iterations fall with the pixels: each later rung costs about half the composition's time
    assert plan.rungs[0].iterations == 300
    for rung in plan.rungs[1:]:
        work = rung.iterations * max(1, rung.passes)
        assert work >= memory.MIN_RUNG_ITERATIONS
        assert abs(work - 0.5 * 300 * (512 / rung.size) ** 2) <= max(3, 0.5 * work)
    assert plan.total_iterations > sum(r.iterations for r in plan.rungs)  # tiles counted one by one
    assert "tiles" in plan.message and "4096" in plan.message


def test_plan_refuses_what_cannot_fit_even_in_tiles():
    plan = plan_run(_cfg(size=4096), PORTRAIT, "1G")
    assert not plan.fits
    assert "1.0 GB" in plan.message and "--max-memory" in plan.message
    with pytest.raises(MemoryBudgetError) as caught:
        check_plan(plan)
    assert isinstance(caught.value, NSTError) and "\n" not in str(caught.value)


def test_default_budget_is_a_share_of_the_available_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10 * GIB)
    assert memory.default_budget() == int(memory.DEFAULT_SHARE * 10 * GIB)
    plan = plan_run(_cfg(size=512), PORTRAIT)
    assert plan.budget_bytes == memory.default_budget() and "available" in plan.message
    assert plan_run(_cfg(size=512, max_memory="2G"), PORTRAIT).budget_bytes == 2 * GIB
