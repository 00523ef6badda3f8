"""The tiled stages of a high-resolution run: a rung of the ladder of sizes refined tile by tile
(:mod:`nst_lib.tiling` does the geometry; :mod:`nst_lib.memory` plans the ladder).

The style targets are computed once per stage (in tiles when the style image is too large for one forward
pass), the content targets per tile from the content crop. Adam's moments are kept for the whole image, so
every tile continues them; L-BFGS-B starts afresh on every tile. A moving average of the iterates is not
used here (a tile's few iterations would be averaged with its start).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .checkpointer import Checkpointer
from .config import StyleConfig
from .objective import LayerWeights, build_objective, style_at, style_targets
from .lbfgs_tf import lbfgs_runner
from .optimize import STOP_REASONS, AdamSettings, Iterate, RunContext, make_value_and_grad, run_adam
from .schedule import Stage
from .tiling import TilePosition, feather, refine, tiled_gram_targets

#: stop reasons that end a whole run (a tile that ran out of its own steps or converged does not)
ENDING = ("interrupted", "callback", "nonfinite", "time_budget")


@dataclass
class StageRun:
    """One stage of a run as its optimiser sees it: the settings, the images at the stage's size, where the
    stage sits in the run (``context``: deadline, start, iteration offset, scale, history) and its observers."""

    cfg: StyleConfig
    extractor: Any
    weights: LayerWeights
    content: np.ndarray  # the content the content loss compares with, at the stage's size
    styles: list[np.ndarray]  # each style image (resized to the stage's use here)
    blend: Sequence[float]
    masks: list[np.ndarray] | None  # at the stage's size
    stage: Stage
    context: RunContext
    callback: Callable[[Iterate], Optional[bool]] | None = None
    checkpointer: Checkpointer | None = None
    temporal: Any = None  # the video's temporal term at the stage's size (whole stages only)
    rng: np.random.Generator | None = None  # the run's generator (tiled stages draw their grid offsets from it)
    #: makes the float32 extractor a bfloat16 whole stage goes on with when its L-BFGS stalls in bfloat16's noise
    #: (nst_lib.lbfgs_tf; None: no such continuation)
    precise_extractor: Callable[[], Any] | None = None


@dataclass
class TiledOutcome:
    """What a tiled stage returns (the fields :func:`~nst_lib.transfer.stylize` reads from an OptimizeResult,
    and where it is)."""

    image: np.ndarray
    iterations: int
    stop_reason: str
    message: str
    state: dict | None
    position: tuple[int, int, list]  # (pass, next tile, grid offsets): where a resumed run goes on


def stage_style_targets(run: StageRun) -> list[dict]:
    """Each style image's targets for the stage's output size (see :func:`~nst_lib.objective.style_at`). A
    style image larger than a tile is processed in tiles (Gram targets are sums over positions, so they come
    out the same); other statistics need it whole."""
    out = []
    for style_image in run.styles:
        style_s = style_at(style_image, run.stage.shape, run.cfg.style_scale)
        if run.cfg.style_loss == "gram" and style_s.shape[0] * style_s.shape[1] > run.stage.tile ** 2:
            grams = tiled_gram_targets(run.extractor, style_s, tuple(run.weights.style), run.stage.tile)
            out.append({k: (grams[k],) for k in run.weights.style})
        else:
            out.append(style_targets(run.extractor, style_s, tuple(run.weights.style), run.cfg.style_loss))
    return out


class _TiledStage:
    """The bookkeeping of one tiled stage: the image, Adam's whole-image moments, the iteration count, how
    the stage ends and where it is."""

    def __init__(self, run: StageRun, init: np.ndarray, carried: dict | None, resume_at: TilePosition | None):
        self.run = run
        self.image = np.array(init, np.float32)
        self.targets = stage_style_targets(run)
        h, w = run.stage.shape
        carried = carried or {}
        self.moments = {
            "m": np.array(carried.get("m", np.zeros((h, w, 3))), np.float32),
            "v": np.array(carried.get("v", np.zeros((h, w, 3))), np.float32),
            "t": int(carried.get("t", 0)),
        } if run.cfg.optimizer == "adam" else None
        self.iterations = run.context.iteration_offset
        self.reason, self.message = "steps", STOP_REASONS["steps"]
        self.position = {"pass": 0, "tile": 0, "offsets": list(resume_at.offsets) if resume_at is not None else []}

    def optimise_tile(self, box, crop: np.ndarray) -> np.ndarray:
        run, (rows, cols) = self.run, box.slices
        masks = None if run.masks is None else [m[rows, cols] for m in run.masks]
        objective = build_objective(run.extractor, run.content[rows, cols], self.targets, run.cfg, run.weights,
                                    blend=run.blend, masks=masks)
        context = dataclasses.replace(run.context, iteration_offset=self.iterations)
        callback = self._whole_image_events(box, crop)
        if self.moments is not None:  # every tile of a pass continues from the pass's step count (each pixel's own)
            state = {"m": self.moments["m"][rows, cols], "v": self.moments["v"][rows, cols], "t": self.moments["t"]}
            outcome = run_adam(make_value_and_grad(objective), crop, steps=run.stage.steps, settings=AdamSettings.of_config(run.cfg),
                               average_decay=None, state=state, callback=callback, context=context)
        else:  # a few evaluations per iteration at most: a tile's short run must not spend itself on one line search
            outcome = lbfgs_runner(run.cfg.optimizer)(
                make_value_and_grad(objective), crop, steps=run.stage.steps, corrections=run.cfg.lbfgs_corrections,
                max_evaluations=2 * run.stage.steps + 4, callback=callback, context=context)
        self.iterations += outcome.iterations
        if outcome.stop_reason in ENDING:
            self.reason, self.message = outcome.stop_reason, outcome.message
        if self.moments is not None and outcome.state is not None:
            weight = feather(box, run.stage.shape, run.stage.overlap)[..., np.newaxis]
            for key in ("m", "v"):
                region = self.moments[key][rows, cols]
                self.moments[key][rows, cols] = region + weight * (outcome.state[key] - region)
        return outcome.image

    def _whole_image_events(self, box, crop: np.ndarray):
        """The user's callback, shown the whole picture as it would be if this tile stopped now."""
        run, (rows, cols) = self.run, box.slices
        if run.callback is None:
            return None

        def on_event(event: Iterate):
            def whole_image() -> np.ndarray:
                weight = feather(box, run.stage.shape, run.stage.overlap)[..., np.newaxis]
                current = self.image.copy()
                current[rows, cols] = crop + weight * (event.image() - crop)
                return current

            return run.callback(dataclasses.replace(event, shape=run.stage.shape, image=whole_image,
                                                    optimizer_state=None))

        return on_event

    def on_tile(self, event, current: np.ndarray) -> bool:
        self.position.update({"pass": event.pass_index, "tile": event.tile_index + 1})
        if self.moments is not None and event.tile_index == event.tiles - 1:
            self.moments["t"] += self.run.stage.steps  # a pass done: every pixel took about `steps` more Adam steps
        if len(self.position["offsets"]) <= event.pass_index:
            self.position["offsets"].append(event.offset)
        if self.run.checkpointer is not None:
            self.run.checkpointer.tile_done(current, self.run.context.scale, self.position, self.iterations,
                                            self.moments)
        return self.reason in ENDING


def refine_tiled_stage(run: StageRun, init: np.ndarray, carried: dict | None,
                       resume_at: TilePosition | None = None) -> TiledOutcome:
    """Refine ``init`` (already at the stage's size) tile by tile; ``carried`` is Adam's state from the stage
    before (or the saved run's), ``resume_at`` where a saved run stopped in this stage."""
    stage = _TiledStage(run, init, carried, resume_at)
    offsets = list(stage.position["offsets"])
    if resume_at is not None:
        resume_at = TilePosition(resume_at.pass_index, resume_at.tile_index, offsets)
    image, _ = refine(stage.image, stage.optimise_tile, tile=run.stage.tile, overlap=run.stage.overlap,
                      passes=run.stage.passes, rng=run.rng, on_tile=stage.on_tile, resume_at=resume_at)
    return TiledOutcome(
        image=image, iterations=stage.iterations - run.context.iteration_offset, stop_reason=stage.reason,
        message=stage.message, state=dict(stage.moments) if stage.moments is not None else None,
        position=(stage.position["pass"], stage.position["tile"], stage.position["offsets"]),
    )
