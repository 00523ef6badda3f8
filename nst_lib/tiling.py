"""High resolution in a memory budget: overlapping tiles, blended, on a grid that moves between passes.

(README, "High resolution and memory"; the plan that decides when to tile is :mod:`nst_lib.memory`.)

A run too large to optimise in one piece climbs a ladder of sizes: it is optimised whole at the largest
size that fits, upsampled, and refined tile by tile at each larger size (the multi-resolution recipes of
jcjohnson/neural-style, with tiles as in crowsonkb's style_transfer). Three things keep the tiles from
showing:

* **Blended overlaps.** Neighbouring tiles share at least ``overlap`` pixels and are refined one after the
  other, each starting from the image as the tiles before it left it. A refined tile is written back with
  a weight that rises smoothly from 0 at the edges it shares with earlier tiles to 1 at ``overlap`` pixels
  inside (:func:`feather`); the edges it shares with later tiles are overwritten by them. So the network's
  zero padding at a tile's edge never reaches the output, and two tiles meet without a step.
* **A moving grid.** Every pass draws a random offset for the grid (:func:`tile_boxes`), so a pixel that
  sat at a tile's edge in one pass sits in the middle of a tile in the next; seams cannot accumulate.
* **One style target for every tile.** The style targets are computed once per size from the style image
  resized to that size × ``style_scale`` — the size at which its brush strokes have the same size,
  relative to the picture, as in an ordinary run — in tiles of their own when the style image is too
  large for one forward pass (:func:`tiled_gram_targets`: Gram matrices are sums over positions, so the
  tiles' sums add up to the whole image's, exactly when each tile carries a margin of the deepest
  layer's receptive field). Content targets are computed per tile from the content crop.

:func:`border_energy_ratio` measures seams: the image-gradient energy on the tile borders relative to the
rest of the image (1.0 = no seam); ``tests/test_tiling.py`` checks it stays at or below the rest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from .layers import layer_catalogue, to_keras_names

#: pixels of alignment for tile positions in :func:`tiled_gram_targets` (VGG's deepest stride)
ALIGN = 16


class Box(NamedTuple):
    """A tile: rows ``top:top+height``, columns ``left:left+width`` of the image."""

    top: int
    left: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


# -------------------------------------------------------------------------------------------- geometry
def segments(length: int, tile: int, overlap: int, offset: int = 0) -> list[tuple[int, int]]:
    """1-D tiles ``(start, end)`` covering ``[0, length)`` on a grid of step ``tile − overlap`` shifted by
    ``offset`` pixels: consecutive tiles overlap by at least ``overlap``, none is longer than ``tile``.

    The tiles at the two ends are cut by the image's edge (not moved inwards), so where every tile's
    blending zone lies changes with the offset; a cut tile is kept at least half a tile (and twice the
    overlap) long, so the network's deep layers still see something.
    """
    if length <= tile:
        return [(0, length)]
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile), got overlap={overlap}, tile={tile}")
    step = tile - overlap
    shortest = min(tile, max(2 * overlap, tile // 2))
    start = -(int(offset) % step)
    found: list[tuple[int, int]] = []
    while True:
        lo, hi = max(start, 0), min(start + tile, length)
        if hi - lo < shortest:  # a thin tile at an end: lengthen it inwards
            lo, hi = (0, shortest) if lo == 0 else (length - shortest, length)
        if not found or hi > found[-1][1]:
            found.append((lo, hi))
        if start + tile >= length:
            break
        start += step
    return found


def tile_boxes(shape: Sequence[int], tile: int, overlap: int, offset: Sequence[int] = (0, 0)) -> list[Box]:
    """The tiles of an image of ``shape`` (rows first, raster order), the grid shifted by ``offset``.

    Tiles are at most ``tile`` pixels on a side; those at the image's edges may be shorter (see
    :func:`segments`).
    """
    height, width = int(shape[0]), int(shape[1])
    rows = segments(height, tile, overlap, offset[0])
    cols = segments(width, tile, overlap, offset[1])
    return [Box(r0, c0, r1 - r0, c1 - c0) for r0, r1 in rows for c0, c1 in cols]


def random_offset(rng: np.random.Generator, tile: int, overlap: int) -> tuple[int, int]:
    """A grid offset drawn uniformly from one tile step in each direction."""
    step = max(1, tile - overlap)
    return int(rng.integers(0, step)), int(rng.integers(0, step))


def _ramp(n: int, width: int, rising: bool) -> np.ndarray:
    """1-D weights: a raised-cosine rise from 0 to 1 over the first ``width`` pixels (if ``rising``)."""
    weights = np.ones(n, np.float32)
    width = max(1, min(width, n))
    if rising:
        weights[:width] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(width, dtype=np.float32) + 0.5) / width)
    return weights


def feather(box: Box, shape: Sequence[int], overlap: int) -> np.ndarray:
    """(height, width) write-back weights of a tile processed in raster order.

    The weight rises smoothly from 0 to 1 over ``overlap`` pixels along the tile's top and left edges when
    tiles processed earlier lie there, and is 1 elsewhere. The tile started from those tiles' results, so
    the rise blends two consistent versions; its own bottom and right edges (where the network saw zero
    padding) are overwritten by the tiles that come next, whose weight is 1 from ``overlap`` pixels past
    their edge — consecutive tiles overlap by at least that much (:func:`segments`).
    """
    del shape  # the image's own edges are never "earlier tiles": top == 0 / left == 0
    rows = _ramp(box.height, overlap, box.top > 0)
    cols = _ramp(box.width, overlap, box.left > 0)
    return np.outer(rows, cols)


# ---------------------------------------------------------------------------------------- seams metric
def border_energy_ratio(image: np.ndarray, boxes: Iterable[Box], band: int = 1, reach: int = 8) -> float:
    """Mean squared image difference *across* the tiles' borders ÷ the same differences on the lines
    next to them (1.0: a border looks like its surroundings; a seam makes it larger).

    A seam is a step or a change of texture along a tile's edge; both raise the finite differences across
    the edge compared with the lines parallel to it a few pixels away. Comparing with those neighbours
    (``band + 2`` to ``band + 2 + reach`` pixels from the edge, on both sides) rather than with the whole
    image keeps the measure blind to where the picture itself is busy. Edges on the image's own border
    are left out.

    Args:
        image: (H, W, 3) float image.
        boxes: the tiles whose interior edges are checked.
        band: differences within this many lines of an edge count as "across" it.
        reach: how many lines on each side make the neighbourhood.
    """
    image = np.asarray(image, np.float64)
    height, width = image.shape[:2]
    dy = np.sum(np.square(np.diff(image, axis=0)), axis=-1)  # dy[i] = row i+1 − row i
    dx = np.sum(np.square(np.diff(image, axis=1)), axis=-1).T  # transposed: columns become rows
    across, around = [], []
    edges = {(0, e, box.left, box.left + box.width) for box in boxes for e in (box.top, box.top + box.height)
             if 0 < e < height}
    edges |= {(1, e, box.top, box.top + box.height) for box in boxes for e in (box.left, box.left + box.width)
              if 0 < e < width}
    for axis, edge, lo, hi in edges:
        diff = dy if axis == 0 else dx
        line = edge - 1  # the difference between lines edge-1 and edge
        near = range(max(0, line - band + 1), min(diff.shape[0], line + band))
        gap = band + 2
        far = [i for i in list(range(line - gap - reach + 1, line - gap + 1)) + list(range(line + gap, line + gap + reach))
               if 0 <= i < diff.shape[0]]
        if not far:
            continue
        across.append(diff[list(near), lo:hi].ravel())
        around.append(diff[far, lo:hi].ravel())
    if not across:
        return 1.0
    return float(np.concatenate(across).mean() / max(np.concatenate(around).mean(), 1e-12))


# ------------------------------------------------------------------------------------ tiled targets
def receptive_margin(layers: Sequence[str], backbone: str) -> int:
    """Half the receptive field of the deepest of ``layers``, rounded up to :data:`ALIGN` pixels."""

    names = set(to_keras_names(tuple(layers), backbone))
    field = max(info.receptive_field for info in layer_catalogue(backbone) if info.keras_name in names)
    return int(math.ceil(field / 2 / ALIGN) * ALIGN)


def _aligned_cuts(length: int, tile: int) -> list[int]:
    """Cut points 0 < … < length, at most ``tile`` apart, on multiples of :data:`ALIGN` (except the end)."""
    tile = max(ALIGN, tile // ALIGN * ALIGN)
    count = max(1, math.ceil(length / tile))
    cuts = [0]
    for i in range(1, count):
        cuts.append(round(i * length / count / ALIGN) * ALIGN)
    cuts.append(length)
    return sorted(set(cuts))


def tiled_gram_targets(extractor, image: np.ndarray, layers: Sequence[str], tile: int) -> dict:
    """Gram matrices of ``image``'s features at ``layers``, computed tile by tile.

    Each tile's forward pass sees a margin of half the deepest layer's receptive field around it; only the
    features of the tile's interior are summed. Interiors partition the image on a grid aligned to the
    network's strides, so the sums equal the whole image's ``Fᵀ F`` (up to float rounding) while the
    largest forward pass is ``tile + 2·margin`` pixels on a side.

    Args:
        extractor: a :class:`~nst_lib.backbone.FeatureExtractor` computing ``layers``.
        image: (H, W, 3) float32 in [0, 1].
        layers: Keras layer names.
        tile: the interior side of a tile, in pixels (margins come on top).

    Returns:
        ``{layer: (C, C) float32 tensor}``, normalised like :func:`nst_lib.gram.gram_matrix`.
    """
    import tensorflow as tf

    strides = {info.keras_name: info.stride for info in layer_catalogue(extractor.backbone)}
    margin = receptive_margin(layers, extractor.backbone)
    height, width = image.shape[:2]
    sums: dict = {}
    counts: dict = {layer: 0 for layer in layers}
    rows, cols = _aligned_cuts(height, tile), _aligned_cuts(width, tile)
    for r0, r1 in zip(rows, rows[1:]):
        for c0, c1 in zip(cols, cols[1:]):
            y0, y1 = max(0, r0 - margin), min(height, r1 + margin)
            x0, x1 = max(0, c0 - margin), min(width, c1 + margin)
            features = extractor(image[np.newaxis, y0:y1, x0:x1])
            for layer in layers:
                s = strides[layer]
                # the interior in feature coordinates; the crop starts on a multiple of the stride
                top, left = (r0 - y0) // s, (c0 - x0) // s
                bottom = (r1 - y0) // s if r1 < height else features[layer].shape[1]
                right = (c1 - x0) // s if c1 < width else features[layer].shape[2]
                inner = features[layer][0, top:bottom, left:right]
                flat = tf.reshape(inner, (-1, inner.shape[-1]))
                product = tf.matmul(flat, flat, transpose_a=True)
                sums[layer] = product if layer not in sums else sums[layer] + product
                counts[layer] += int(flat.shape[0])
            del features
    return {layer: sums[layer] / float(max(counts[layer], 1)) for layer in layers}


# --------------------------------------------------------------------------------------- refinement
class TilePosition(NamedTuple):
    """Where a tiled refinement is: the pass, the first tile of it not yet refined, the grid offsets drawn."""

    pass_index: int = 0
    tile_index: int = 0
    offsets: Sequence[tuple[int, int]] = ()


@dataclass
class TileEvent:
    """Where a tiled refinement is: sent with every tile finished (for progress and checkpoints)."""

    pass_index: int
    passes: int
    tile_index: int
    tiles: int
    box: Box
    offset: tuple[int, int]


def refine(
    image: np.ndarray,
    optimise_tile: Callable[[Box, np.ndarray], np.ndarray],
    *,
    tile: int,
    overlap: int,
    passes: int,
    rng: np.random.Generator,
    on_tile: Callable[[TileEvent, np.ndarray], bool | None] | None = None,
    resume_at: TilePosition | None = None,
) -> tuple[np.ndarray, bool]:
    """Refine ``image`` in overlapping tiles, ``passes`` times, on a grid moved randomly between passes.

    Args:
        image: (H, W, 3) float32; refined in place and returned.
        optimise_tile: ``optimise_tile(box, crop) -> refined crop``: optimises one tile (the caller builds
            its objective with the content targets of that crop).
        tile, overlap: tile side and the pixels neighbouring tiles share (see :func:`tile_boxes`).
        passes: how many times the whole image is covered.
        rng: draws the grid offsets (the first pass too: no grid position is special).
        on_tile: called after each tile with a :class:`TileEvent` and the image; return True to stop.
        resume_at: where to resume an interrupted refinement: the pass, its first tile not yet refined,
            and the offsets already drawn (so the resumed passes use the same grids).

    Returns:
        ``(image, stopped)``, where ``stopped`` is True when ``on_tile`` asked to stop.
    """
    first_pass, first_tile, offsets = resume_at or TilePosition()
    offsets = list(offsets)
    while len(offsets) < passes:
        offsets.append(random_offset(rng, tile, overlap))
    for pass_index in range(first_pass, passes):
        boxes = tile_boxes(image.shape[:2], tile, overlap, offsets[pass_index])
        start = first_tile if pass_index == first_pass else 0
        for tile_index in range(start, len(boxes)):
            box = boxes[tile_index]
            rows, cols = box.slices
            crop = image[rows, cols].copy()
            refined = optimise_tile(box, crop)
            weight = feather(box, image.shape[:2], overlap)[..., np.newaxis]
            image[rows, cols] = crop + weight * (refined - crop)
            event = TileEvent(pass_index, passes, tile_index, len(boxes), box, tuple(offsets[pass_index]))
            if on_tile is not None and on_tile(event, image):
                return image, True
    return image, False


def pass_boxes(shape: Sequence[int], tile: int, overlap: int, offsets: Sequence[Sequence[int]]) -> list[list[Box]]:
    """The tiles of every pass (for tests and figures)."""
    return [tile_boxes(shape, tile, overlap, o) for o in offsets]
