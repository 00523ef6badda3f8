"""Tiles for high resolution (nst_lib.tiling): geometry, blending, exact tiled targets, and no seams."""
from __future__ import annotations

import numpy as np
import pytest

from nst_lib.tiling import (
    Box,
    TilePosition,
    border_energy_ratio,
    feather,
    random_offset,
    refine,
    segments,
    tile_boxes,
)


# ------------------------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("length,tile,overlap", [(1000, 300, 60), (517, 128, 32), (129, 128, 16), (96, 128, 16)])
def test_segments_cover_with_enough_overlap(length, tile, overlap):
    step = tile - overlap
    for offset in range(0, step, max(1, step // 7)):
        segs = segments(length, tile, overlap, offset)
        assert segs[0][0] == 0 and segs[-1][1] == length
        assert all(min(length, tile // 2) <= end - start <= tile for start, end in segs)
        for (_, end), (start, _) in zip(segs, segs[1:]):
            assert end - start >= overlap, (segs, offset)


def test_grid_moves_with_the_offset():
    a = tile_boxes((600, 500), 200, 40, (0, 0))
    b = tile_boxes((600, 500), 200, 40, (70, 33))
    def edges(boxes):  # interior tile edges, rows and columns
        rows = {e for box in boxes for e in (box.top, box.top + box.height) if 0 < e < 600}
        cols = {e for box in boxes for e in (box.left, box.left + box.width) if 0 < e < 500}
        return rows, cols

    assert edges(a)[0].isdisjoint(edges(b)[0]) and edges(a)[1].isdisjoint(edges(b)[1])
    rng = np.random.default_rng(0)
    offsets = {random_offset(rng, 200, 40) for _ in range(20)}
    assert len(offsets) > 15 and all(0 <= o < 160 for pair in offsets for o in pair)


def test_feather_rises_from_earlier_tiles_and_every_pixel_is_written_fully_once():
    shape = (300, 300)
    boxes = tile_boxes(shape, 160, 40, (25, 50))
    best = np.zeros(shape)
    for box in boxes:
        w = feather(box, shape, 40)
        assert w.shape == (box.height, box.width) and w.min() >= 0 and w.max() <= 1
        if box.top > 0:
            assert w[0].max() < 0.01  # an edge shared with earlier tiles: nothing of the padded border is written
        else:
            assert w[0, -1] == 1.0  # the image's own border is not faded
        assert w[-1, -1] == 1.0  # later tiles overwrite the bottom and right edges
        rows, cols = box.slices
        best[rows, cols] = np.maximum(best[rows, cols], w)
    assert best.min() > 0.99  # every pixel is fully written by at least one tile


def test_refine_writes_every_pixel_and_resumes_where_it_stopped():
    rng = np.random.default_rng(1)
    image = rng.random((230, 170, 3)).astype(np.float32)
    seen = []

    def to_grey(box, crop):
        return np.full_like(crop, 0.5)

    def stop_after_three(event, current):
        seen.append((event.pass_index, event.tile_index))
        return len(seen) == 3

    partial, stopped = refine(image.copy(), to_grey, tile=96, overlap=24, passes=2, rng=np.random.default_rng(5),
                              on_tile=stop_after_three)
    assert stopped and seen[-1] == (0, 2)
    offsets = [random_offset(np.random.default_rng(5), 96, 24)]  # the same draws as above
    rng5 = np.random.default_rng(5)
    offsets = [random_offset(rng5, 96, 24) for _ in range(2)]
    done, stopped = refine(partial, to_grey, tile=96, overlap=24, passes=2, rng=np.random.default_rng(9),
                           resume_at=TilePosition(0, 3, offsets))
    assert not stopped
    np.testing.assert_allclose(done, 0.5, atol=1e-6)


# ------------------------------------------------------------------------------------------- seams metric
def test_border_energy_ratio_sees_a_seam_and_not_noise():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:200, 0:240]
    texture = 0.5 + 0.2 * np.sin(xx / 3.0 + np.cos(yy / 7.0))[..., None] + rng.normal(0, 0.02, (200, 240, 3))
    boxes = [Box(0, 0, 200, 130), Box(0, 110, 200, 130)]
    assert 0.8 < border_energy_ratio(texture, boxes) < 1.2
    seam = texture.copy()
    seam[:, 130:] += 0.1  # a step of 10 % where the first tile ends
    assert border_energy_ratio(seam, boxes) > 1.5


# ------------------------------------------------------------------------------------------- tiled targets
def test_tiled_gram_targets_equal_the_whole_image():
    from nst_lib.backbone import FeatureExtractor
    from nst_lib.gram import gram_matrix
    from nst_lib.tiling import tiled_gram_targets

    layers = ("block1_conv1", "block2_conv1", "block4_conv1")  # margin 32 px: small, quick tiles
    extractor = FeatureExtractor(layers, "vgg16", weights=None)
    image = np.random.default_rng(3).random((100, 130, 3)).astype(np.float32)
    whole = extractor(image[np.newaxis])
    tiled = tiled_gram_targets(extractor, image, layers, tile=48)  # 3 × 3 tiles
    for layer in layers:
        expected = gram_matrix(whole[layer])[0].numpy()
        np.testing.assert_allclose(tiled[layer].numpy(), expected, rtol=2e-4, atol=1e-6 * np.abs(expected).max())


# ------------------------------------------------------------------------------------ a real tiled run
@pytest.fixture(scope="module")
def tiled_run():
    """A 128 px run with a memory budget too small for it whole: a 64 px whole stage, then 96 px tiles."""
    import nst_lib
    from conftest import make_content, make_style
    from nst_lib import memory
    from nst_lib.config import StyleConfig

    saved = memory.COMPOSITION_SIZE, memory.MIN_WHOLE, memory.MIN_TILE
    memory.COMPOSITION_SIZE, memory.MIN_WHOLE, memory.MIN_TILE = 64, 48, 64
    try:
        cfg = StyleConfig(size=128, steps=64, backbone="vgg16", optimizer="adam", learning_rate=0.05,
                          precision="float32")  # the budget below is a float32 estimate
        layers = cfg.content_layers + cfg.style_layers
        shape = memory.output_shape((128, 112), 128)
        tile_peak = memory.estimate_tiled(shape, 96, layers=layers, backbone="vgg16", optimizer="adam") + 2**20
        budget = int(tile_peak / memory.PLAN_HEADROOM)  # plans keep PLAN_HEADROOM of the budget in hand
        result = nst_lib.stylize(make_content(128, 112), make_style(96, 96), config=cfg, max_memory=budget)
    finally:
        memory.COMPOSITION_SIZE, memory.MIN_WHOLE, memory.MIN_TILE = saved
    return result


def test_a_run_too_large_for_its_budget_is_refined_in_tiles(tiled_run):
    assert tiled_run.plan.mode == "tiled" and tiled_run.plan.fits
    assert tiled_run.image.shape == (128, 112, 3)
    assert [s for s in tiled_run.scale_shapes] == [(64, 56), (128, 112)]
    (grid,) = tiled_run.tiling
    assert grid["tile"] == 96 and len(grid["offsets"]) == 2 and grid["offsets"][0] != grid["offsets"][1]
    assert any("tiles" in note for note in tiled_run.notes)
    losses = [h["total"] for h in tiled_run.history if h["scale"] == 1]
    assert losses and np.isfinite(losses).all()


def test_no_seams_along_the_tile_borders(tiled_run):
    """The image changes no more across the tile borders of either pass than on the lines next to them.

    Grids that were never used scatter between about 0.8 and 1.1 on this small image; the metric's
    sensitivity to a real step is checked on a smooth image above.
    """
    grid = tiled_run.tiling[0]
    for offset in grid["offsets"]:
        boxes = tile_boxes(grid["shape"], grid["tile"], grid["overlap"], offset)
        assert len(boxes) > 1
        assert border_energy_ratio(tiled_run.image, boxes, band=2) <= 1.1


@pytest.mark.slow
def test_tiles_run_the_lbfgs_asked_for_and_the_plan_counts_it(monkeypatch):
    """A tiled stage runs the L-BFGS the settings name — ``lbfgs`` is config.DEFAULT_LBFGS, as in whole
    stages (for one session tiles ran SciPy's instead, while the TensorFlow L-BFGS's histories outlived their
    runs: docs/high_resolution.md) — and the plan counts that one."""
    import nst_lib
    from conftest import make_content, make_style
    from nst_lib import ladder, memory
    from nst_lib.config import DEFAULT_LBFGS, StyleConfig

    common = dict(layers=("block5_conv2", "block1_conv1"), backbone="vgg16")
    assert memory.estimate_tiled((4096, 3495), 1024, optimizer="lbfgs", **common) == memory.estimate_tiled(
        (4096, 3495), 1024, optimizer=DEFAULT_LBFGS, **common)
    monkeypatch.setattr(memory, "COMPOSITION_SIZE", 64)
    monkeypatch.setattr(memory, "MIN_WHOLE", 48)
    monkeypatch.setattr(memory, "MIN_TILE", 64)
    used = []
    real = ladder.lbfgs_runner

    def recording(name):
        runner = real(name)
        used.append(runner.__name__)
        return runner

    monkeypatch.setattr(ladder, "lbfgs_runner", recording)
    assert DEFAULT_LBFGS == "lbfgs-tf"
    for asked, expected in (("lbfgs", "run_lbfgs_tf"), ("lbfgs-scipy", "run_lbfgs"), ("lbfgs-tf", "run_lbfgs_tf")):
        used.clear()
        cfg = StyleConfig(size=128, steps=4, backbone="vgg16", optimizer=asked, precision="float32")
        layers = cfg.content_layers + cfg.style_layers
        shape = memory.output_shape((128, 112), 128)
        tile_peak = memory.estimate_tiled(shape, 96, layers=layers, backbone="vgg16", optimizer=asked) + 2**20
        result = nst_lib.stylize(make_content(128, 112), make_style(96, 96), config=cfg,
                                 max_memory=int(tile_peak / memory.PLAN_HEADROOM))
        assert result.plan.mode == "tiled" and used and set(used) == {expected}, (asked, used, result.plan.message)
