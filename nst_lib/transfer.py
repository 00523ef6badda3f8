"""``stylize()``: the whole Gatys et al. pipeline in one call (taught in notebook 06).

Every front end (notebooks, widgets, the ``nst`` CLI, the web page) calls this function; none of them
re-implements a loss or a loop. Steps: resolve the settings, load the content at the output size and each
style at the size it is used at (``size × style_scale``), take the shared feature extractor, then for each
scale (coarse to fine) compute the targets, build the objective, and optimise, starting each finer scale
from the upsampled result of the coarser one. One deadline, counted from the call, bounds every scale.

Thread safety: a run keeps all its state in local variables and tensors passed to the shared traced
graph, so several runs may go on at once on several threads (web sessions, a widget's background run)
and give the same images as one after the other. Notices for the user (a VGG16 standing in for VGG19, a
mask that has no effect, a stretched mask) are returned on :attr:`Result.notes`, never printed or warned.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import color
from .config import INITS, StyleConfig, normalize_weights
from .errors import InvalidSettingError
from .fileio import atomic_write
from .images import MIN_SOURCE_SIDE, load_image, read_mask, resize_long_side, resize_to, save_image
from .layers import layer_catalogue, to_keras_names
from .losses import Objective, StyleTarget, style_statistic
from .memory import NOMINAL_STEPS, RunPlan, check_plan, plan_run
from .normalized_vgg import configured_extractor
from .precision import PrecisionChoice, resolve_precision
from .resume import RunState, StateWriter, check_inputs, fingerprint, resumed_config
from .tiling import feather, refine, tiled_gram_targets
from .optimize import STOP_REASONS, Iterate, OptimizeResult, make_value_and_grad, run_adam, run_lbfgs, run_lbfgs_redrawing


@dataclass
class Result:
    """The outcome of :func:`stylize`."""

    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    history: list[dict]  # one entry per iteration: iteration, elapsed, scale, total, content, style, tv, parts
    config: StyleConfig  # the settings used
    stop_reason: str  # see nst_lib.optimize.STOP_REASONS
    message: str  # one human sentence about how the run ended
    elapsed: float  # seconds, including loading and target computation
    iterations: int
    backbone: str  # the network really used (vgg16 when vgg19 weights were unavailable)
    weights_source: str
    scale_shapes: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one-line notices for the user (front ends show them)
    plan: Any = None  # the memory plan (nst_lib.memory.RunPlan): whole or tiled, estimated peak
    #: tiled stages: {"stage", "shape", "tile", "overlap", "offsets"} (the grids used, for checks and figures)
    tiling: list[dict] = field(default_factory=list)
    #: the precision VGG ran in and why (nst_lib.precision: requested, used, reason)
    precision: PrecisionChoice | None = None

    @property
    def final_losses(self) -> dict[str, float]:
        """The loss parts of the last recorded iteration."""
        return dict(self.history[-1]) if self.history else {}

    def save(self, path: str | os.PathLike, bit_depth: int | None = None) -> Path:
        """Write the image atomically (PNG, JPEG, … by extension; TIFF with 16 bits per channel, PNG too
        with ``bit_depth=16``: see :func:`~nst_lib.images.save_image`)."""
        return save_image(self.image, path, bit_depth)

    def save_history(self, path: str | os.PathLike) -> Path:
        """Write the settings, how the run ended, the notes and the loss history as JSON (atomically).

        Raises:
            OutputError: the file cannot be written (missing folder, a directory at ``path``, disk full…).
        """
        path = Path(path)
        payload = {
            "config": self.config.to_dict(),
            "stop_reason": self.stop_reason,
            "message": self.message,
            "elapsed": self.elapsed,
            "iterations": self.iterations,
            "backbone": self.backbone,
            "weights_source": self.weights_source,
            "scale_shapes": [list(s) for s in self.scale_shapes],
            "notes": list(self.notes),
            "precision": None if self.precision is None else self.precision.to_dict(),
            "plan": None if self.plan is None else self.plan.to_dict(),
            "tiling": [{**grid, "shape": list(grid["shape"]), "offsets": [list(o) for o in grid["offsets"]]}
                       for grid in self.tiling],
            "history": self.history,
        }
        text = json.dumps(payload, indent=1)
        with atomic_write(path) as stream:
            stream.write(text.encode("utf-8"))
        return path


def scale_shapes(height: int, width: int, scales: int, factor: float = 2.0) -> list[tuple[int, int]]:
    """Image shapes of the coarse-to-fine schedule, coarsest first; each level divides the size by
    ``factor`` (2 halves it; crowsonkb's ladder uses √2).

    Levels whose short side would fall below 64 px are dropped (too small for VGG's deep layers).
    """
    shapes = []
    for level in reversed(range(scales)):
        factor_here = float(factor) ** -level
        h, w = max(1, round(height * factor_here)), max(1, round(width * factor_here))
        if level == 0 or min(h, w) >= 64:
            shapes.append((h, w))
    return shapes


#: iteration count used when ``steps=None``: the time budget ends the run long before this
UNLIMITED_STEPS = 10**8


def split_steps(steps: int | None, shapes: Sequence[tuple[int, int]]) -> list[int]:
    """Iterations per scale: the finest scale gets half of them, coarser scales share the rest.

    Coarse iterations cost a quarter of the next finer ones, so they are cheap ways to get the large
    structure right; the fine scale still needs enough iterations to restore detail. The counts always
    add up to ``steps``; a coarse scale left with none is skipped. ``steps=None`` (run until the time
    budget is spent) gives every scale :data:`UNLIMITED_STEPS`; the budget split decides.
    """
    if steps is None:
        return [UNLIMITED_STEPS] * len(shapes)
    if len(shapes) == 1:
        return [steps]
    fine = max(1, steps // 2)
    rest, coarse_count = steps - fine, len(shapes) - 1
    coarse = [rest // coarse_count + (1 if i >= coarse_count - rest % coarse_count else 0) for i in range(coarse_count)]
    return coarse + [fine]


def split_budget(budget: float | None, shapes: Sequence[tuple[int, int]]) -> list[float | None]:
    """Seconds per scale for a time budget: the finest scale gets at least 85 % of it.

    Coarse scales did not pay for themselves in the benchmarks, so they get a small share.
    """
    if budget is None:
        return [None] * len(shapes)
    if len(shapes) == 1:
        return [budget]
    coarse_total = 0.15 * budget
    pixels = [h * w for h, w in shapes[:-1]]
    coarse = [coarse_total * p / sum(pixels) for p in pixels]
    return coarse + [None]  # the finest scale gets whatever is left when it starts


def scale_deadlines(start: float, budget: float | None, shapes: Sequence[tuple[int, int]]) -> list[float | None]:
    """Absolute ``time.perf_counter()`` deadlines per scale for a budget counted from ``start``.

    The finest scale ends at ``start + budget`` (the one deadline of the run, the same with one scale or
    several); each coarser scale must end by the time its share of :func:`split_budget` is spent.
    """
    if budget is None:
        return [None] * len(shapes)
    deadlines: list[float | None] = []
    spent = start
    for share in split_budget(budget, shapes)[:-1]:
        spent += share
        deadlines.append(spent)
    return deadlines + [start + budget]


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def stylize(
    content: Any,
    style: Any,
    *,
    callback: Callable[[Iterate], Optional[bool]] | None = None,
    config: StyleConfig | None = None,
    mask: Any = None,
    resume: str | os.PathLike | RunState | None = None,
    save_state: str | os.PathLike | StateWriter | None = None,
    temporal: Any = None,
    **options: Any,
) -> Result:
    """Optimise an image that has the content of ``content`` and the style of ``style``.

    Before anything heavy, :func:`~nst_lib.memory.plan_run` estimates the run's peak memory: a run that
    does not fit in ``max_memory`` climbs a ladder of sizes and is refined in tiles
    (:mod:`nst_lib.tiling`), and one that cannot fit even so is refused with
    :class:`~nst_lib.errors.MemoryBudgetError`.

    Args:
        content: the content image: a path, bytes, PIL image or (H, W, 3) array in [0, 1].
        style: one style image, or a list of them (blended with ``style_blend`` weights).
        callback: called with an :class:`~nst_lib.optimize.Iterate` after every iteration; return
            ``True`` from it to stop (the best image so far is returned).
        config: a :class:`~nst_lib.config.StyleConfig`; keyword ``options`` override its fields.
        mask: optional spatial control: one mask (H, W image, white = styled) for one style, or for two
            styles (the second one fills the black part), or a list with one mask per style.
        resume: a state file written by ``save_state`` (or a :class:`~nst_lib.resume.RunState`): the run
            continues where it was, with its saved settings (``options`` may change only ``time_budget``,
            ``max_memory`` and ``steps``). L-BFGS-B restarts its history (SciPy cannot save it).
        save_state: write the run's state to this ``.npz`` file while it goes (at most every minute,
            after every tile, and at the end), so that ``resume`` can continue it after a kill; or a
            :class:`~nst_lib.resume.StateWriter` (the CLI's keeps going when a write fails).
        temporal: a :class:`~nst_lib.losses.TemporalTarget` (video, :mod:`nst_lib.video`): one more term in
            the objective, pulling the image towards the previous stylized frame warped onto this one where
            the flow is reliable (resized to every scale), and the run's start (``temporal.start``). Not with
            tiled runs.
        **options: any field of :class:`~nst_lib.config.StyleConfig` (size, steps, optimizer, …).

    Returns:
        A :class:`Result` with the image, the loss history, the settings used and the notes.

    Raises:
        InvalidSettingError, InvalidImageError, ImageNotFoundError, WeightsError: bad input, with a
        message that says what was received and what is allowed.
        MemoryBudgetError: the run cannot be done within ``max_memory``, even in tiles.
    """
    start = time.perf_counter()
    state = RunState.load(resume) if isinstance(resume, (str, os.PathLike)) else resume
    if state is not None:
        if config is not None:
            options = {**{f.name: getattr(config, f.name) for f in dataclasses.fields(StyleConfig)
                          if getattr(config, f.name) != getattr(StyleConfig(), f.name)}, **options}
        cfg = resumed_config(state, options)
        start -= state.elapsed  # elapsed times continue from where the saved run was
    else:
        cfg = _make_config(config, options)
    run = _prepare(content, style, cfg, mask)
    extractor, notes, content_full, styles_full = run.extractor, run.notes, run.content, run.styles
    blend, target_content, masks_full = run.blend, run.target_content, run.masks
    content_lw, style_lw = run.content_layer_weights, run.style_layer_weights
    height, width = content_full.shape[:2]
    style_colors = color.color_statistics(styles_full[0]) if cfg.init == "recolored" else None
    if state is not None:
        check_inputs(state, content_full, styles_full)
    plan = check_plan(plan_run(cfg, (height, width), style_shapes=[s.shape[:2] for s in styles_full]))
    if plan.mode == "tiled":
        notes.append(plan.message[0].upper() + plan.message[1:] + ".")
        if temporal is not None:
            raise InvalidSettingError("a temporal term (video) needs the frame whole, but this run is tiled; "
                                      "use a smaller size or a larger max_memory")
    start_image = None if cfg.init in INITS else load_image(cfg.init, cfg.size)
    if temporal is not None and temporal.start:  # video: the previous stylized frame warped onto this one
        start_image = np.asarray(temporal.image, np.float32)

    stages = _stages(plan, cfg, height, width)
    deadlines = _stage_deadlines(start if state is None else time.perf_counter(), cfg, stages, plan)
    rng = np.random.default_rng(cfg.seed)
    writer = save_state if isinstance(save_state, StateWriter) else StateWriter(save_state)
    fingerprints = {"content": fingerprint(content_full), "styles": [fingerprint(s) for s in styles_full]}
    if state is not None and cfg.optimizer == "lbfgs" and not state.finished:
        notes.append("resumed: L-BFGS-B restarts its curvature history from the saved image (SciPy cannot save it)")

    history: list[dict] = list(state.history) if state is not None else []
    tiling: list[dict] = []
    current: np.ndarray | None = None
    adam_state: dict | None = None
    reason, message, iterations = "steps", STOP_REASONS["steps"], 0
    first_stage = 0
    if state is not None:
        first_stage, iterations = state.stage, state.iterations
        current = state.image
        adam_state = {k: v for k, v in state.optimizer.items() if k != "iterate"} or None
        if state.finished:
            first_stage = len(stages)

    def snapshot(**where) -> RunState:
        return RunState(config=cfg.to_dict(), history=history, fingerprints=fingerprints,
                        elapsed=time.perf_counter() - start, **where)

    for index, (stage, deadline) in enumerate(zip(stages, deadlines)):
        if index < first_stage or stage.steps == 0:  # done before a resume; or a coarse scale with no steps
            continue
        resuming = state is not None and index == state.stage
        h, w = stage.shape
        content_s = resize_to(target_content, h, w)
        masks_s = None if masks_full is None else [m if m.shape == (h, w) else resize_to(m, h, w) for m in masks_full]
        if resuming:
            init = state.image if state.image.shape[:2] == (h, w) else resize_to(state.image, h, w)
        elif current is None and start_image is not None:
            init = resize_to(start_image, h, w)
        else:
            init = _initial_image(cfg.init, current, content_s, styles_full[0], style_colors, rng, (h, w))
        if stage.mode == "tiled":
            outcome = _refine_in_tiles(
                extractor, init, content_s, styles_full, blend, masks_s, stage, cfg, content_lw, style_lw,
                rng=rng, index=index, stages=len(stages), iterations=iterations, start=start, deadline=deadline,
                callback=callback, history=history, adam_state=adam_state, resume_state=state if resuming else None,
                writer=writer, snapshot=snapshot,
            )
        else:
            done_before = state.stage_iterations if resuming else 0
            if done_before >= stage.steps:  # killed after its last iteration, before the next stage began
                current = init
                continue
            objective = _build_objective(extractor, content_s, styles_full, blend, masks_s, (h, w), cfg, content_lw, style_lw,
                                         temporal)
            runner = run_lbfgs if cfg.optimizer == "lbfgs" else run_adam
            carried = adam_state if resuming else resize_adam_state(adam_state, (h, w))
            extra = {"corrections": cfg.lbfgs_corrections} if cfg.optimizer == "lbfgs" else dict(
                adam_settings(cfg), state=carried)
            offset = iterations - done_before if resuming else iterations
            if cfg.optimizer == "lbfgs" and objective.statistic.stochastic:
                # L-BFGS needs a fixed function: one draw of the random directions per block of iterations
                runner, value_and_grad = run_lbfgs_redrawing, _fixed_draws(objective)
            else:
                value_and_grad = make_value_and_grad(objective)
            outcome = runner(
                value_and_grad,
                init,
                steps=max(1, stage.steps - done_before),
                deadline=deadline,
                callback=_saving_callback(callback, writer, snapshot, index, offset),
                start=start,
                iteration_offset=iterations,
                scale=index,
                scales=len(stages),
                history=history,
                **extra,
            )
        iterations += outcome.iterations
        current = outcome.image
        adam_state = outcome.state  # Adam's moments go on to the next scale, resized (crowsonkb)
        if stage.mode == "tiled":
            tiling.append({"stage": index, "shape": stage.shape, "tile": stage.tile, "overlap": stage.overlap,
                           "offsets": [tuple(o) for o in outcome.position[2]]})
        reason, message = outcome.stop_reason, outcome.message
        last_stage = index == len(stages) - 1
        if writer:
            finished = last_stage and reason not in ("interrupted", "callback", "nonfinite", "time_budget")
            stopped_here = reason in ("interrupted", "callback", "nonfinite") or (reason == "time_budget" and last_stage)
            where = (dict(stage=index, stage_iterations=_stage_iterations_done(outcome, state, resuming))
                     if stopped_here else dict(stage=index + 1, stage_iterations=0))
            if stopped_here and stage.mode == "tiled":
                where = dict(stage=index, tile_pass=outcome.position[0], next_tile=outcome.position[1],
                             offsets=outcome.position[2])
            writer.maybe_save(lambda: snapshot(image=current, iterations=iterations, finished=finished,
                                               optimizer=dict(adam_state or {}), **where), force=True)
        if reason in ("interrupted", "callback", "nonfinite") or (reason == "time_budget" and last_stage):
            break
        if not last_stage and reason != "steps":  # a coarse scale's share ran out, or it stopped early: go on
            reason, message = "steps", STOP_REASONS["steps"]

    if current is None:  # resumed a finished run
        current = state.image
    if current.shape[:2] != (height, width):
        notes.append(f"the run stopped at {current.shape[1]}×{current.shape[0]} px; the image was enlarged "
                     f"to {width}×{height} px")
    image = current if current.shape[:2] == (height, width) else resize_to(current, height, width)
    if cfg.preserve_colors == "luminance":
        image = color.combine_luminance(image, content_full)
    return Result(
        image=image,
        history=history,
        config=cfg,
        stop_reason=reason,
        message=message,
        elapsed=time.perf_counter() - start,
        iterations=iterations,
        backbone=extractor.backbone,
        weights_source=extractor.weights_info.source,
        scale_shapes=[stage.shape for stage in stages],
        notes=notes,
        plan=plan,
        tiling=tiling,
        precision=run.precision,
    )


def _fixed_draws(objective) -> Callable[[int], Callable]:
    """draw number → the value-and-gradient function of ``objective`` with that one draw of random numbers."""
    return lambda draw: make_value_and_grad(objective, draw=draw)


def make_objective(content: Any, style: Any, *, config: StyleConfig | None = None, mask: Any = None,
                   temporal: Any = None, **options: Any):
    """The :class:`~nst_lib.losses.Objective` :func:`stylize` optimises for these inputs at the output size.

    The images, masks and settings are prepared exactly as :func:`stylize` prepares them (same sizes,
    colour handling, shared extractor, targets), for benchmarks and notebooks that drive an optimiser
    themselves: ``run_lbfgs(make_value_and_grad(objective), init, steps=…)``.
    """
    cfg = _make_config(config, options)
    run = _prepare(content, style, cfg, mask)
    h, w = run.content.shape[:2]
    return _build_objective(run.extractor, run.target_content, run.styles, run.blend, run.masks, (h, w), cfg,
                            run.content_layer_weights, run.style_layer_weights, temporal)


@dataclass
class _Prepared:
    """Everything a run needs before its scales: images at their sizes, extractor, weights, masks, notes."""

    content: np.ndarray  # at the output size
    target_content: np.ndarray  # the content the content loss compares with (grey in luminance mode)
    styles: list[np.ndarray]  # at size × style_scale, colour-matched if asked
    blend: tuple[float, ...]
    masks: list[np.ndarray] | None  # at the output size, one per style
    extractor: Any
    content_layer_weights: dict[str, float]
    style_layer_weights: dict[str, float]
    notes: list[str]
    precision: PrecisionChoice  # the precision the extractor computes in, and why


def _prepare(content: Any, style: Any, cfg: StyleConfig, mask: Any) -> _Prepared:
    styles_in = _as_list(style)
    if not styles_in:
        raise InvalidSettingError("at least one style image is needed")
    blend = normalize_weights("style_blend", cfg.style_blend, len(styles_in))
    notes: list[str] = []

    content_full = load_image(content, cfg.size)
    height, width = content_full.shape[:2]
    # each style is decoded straight to the largest size it is used at (the finest scale's); the colour
    # statistics below are computed on that copy, once
    style_side = round(cfg.size * cfg.style_scale)
    styles_full = [load_image(s, style_side, min_side=MIN_SOURCE_SIDE) for s in styles_in]
    if cfg.preserve_colors == "histogram":
        content_colors = color.color_statistics(content_full)
        styles_full = [color.match_color_statistics(s, color.color_statistics(s), content_colors) for s in styles_full]
    elif cfg.preserve_colors == "luminance":
        styles_full = [color.match_luminance(s, content_full) for s in styles_full]
    target_content = color.gray_to_rgb(color.luminance(content_full)) if cfg.preserve_colors == "luminance" else content_full
    masks_full = _load_masks(mask, len(styles_in), height, width, notes)

    # shared by runs asking for the same layers (pooling, rescaling, precision): its traced graph serves them all
    precision = resolve_precision(cfg.precision)
    extractor = configured_extractor(cfg.content_layers + cfg.style_layers, cfg, precision.used)
    if extractor.weights_info.notice:
        notes.insert(0, extractor.weights_info.notice)
    content_layers = to_keras_names(cfg.content_layers, extractor.backbone)
    style_layers = to_keras_names(cfg.style_layers, extractor.backbone)
    content_lw = dict(zip(content_layers, normalize_weights("content_layer_weights", cfg.content_layer_weights, len(content_layers)))) if content_layers else {}
    style_lw = dict(zip(style_layers, normalize_weights("style_layer_weights", cfg.style_layer_weights, len(style_layers)))) if style_layers else {}
    if masks_full is not None and cfg.style_weight > 0:
        strides = {info.keras_name: info.stride for info in layer_catalogue(extractor.backbone)}
        notes.extend(mask_notes(masks_full, style_layers, strides))
    return _Prepared(content_full, target_content, styles_full, blend, masks_full, extractor, content_lw, style_lw,
                     notes, precision)


# ------------------------------------------------------------------------------------ stages of a run
@dataclass(frozen=True)
class _Stage:
    """One stage of a run: a scale optimised whole, or a size of a tiled run's ladder refined in tiles."""

    shape: tuple[int, int]
    mode: str  # "whole" or "tiled"
    steps: int  # whole: iterations; tiled: iterations per tile and pass
    passes: int = 0
    tile: int = 0
    overlap: int = 0

    @property
    def cost(self) -> float:
        """Pixel-iterations, for sharing a time budget (steps=None stages count as NOMINAL_STEPS)."""
        pixels = self.shape[0] * self.shape[1]
        steps = NOMINAL_STEPS if self.steps >= UNLIMITED_STEPS else self.steps
        if self.mode == "whole":
            return float(steps * pixels)
        overlap_factor = (self.tile / max(1, self.tile - self.overlap)) ** 2 if max(self.shape) > self.tile else 1.0
        return float(self.passes * steps * pixels * overlap_factor)


def _stages(plan: RunPlan, cfg: StyleConfig, height: int, width: int) -> list[_Stage]:
    """The run's stages: its scales (coarse to fine) for a whole run; for a tiled run the scales of the
    ladder's first rung, then each larger rung (whole while it fits, then in tiles)."""
    if plan.mode == "whole":
        shapes = scale_shapes(height, width, cfg.scales, cfg.scale_factor)
        return [_Stage(shape, "whole", n) for shape, n in zip(shapes, split_steps(cfg.steps, shapes))]
    first, *rest = plan.rungs
    shapes = scale_shapes(*first.shape, cfg.scales, cfg.scale_factor)
    stages = [_Stage(shape, "whole", n)
              for shape, n in zip(shapes, split_steps(None if cfg.steps is None else first.iterations, shapes))]
    for rung in rest:
        if rung.mode == "whole":
            stages.append(_Stage(rung.shape, "whole", UNLIMITED_STEPS if cfg.steps is None else rung.iterations))
        else:
            stages.append(_Stage(rung.shape, "tiled", rung.iterations, rung.passes, rung.tile, rung.overlap))
    return stages


def _stage_deadlines(start: float, cfg: StyleConfig, stages: Sequence[_Stage], plan: RunPlan) -> list[float | None]:
    """Absolute deadlines per stage: a whole run's as :func:`scale_deadlines`; a tiled run shares its budget
    in proportion to each stage's planned work (the last stage ends at the one deadline of the run)."""
    if plan.mode == "whole" or cfg.time_budget is None:
        return scale_deadlines(start, cfg.time_budget, [stage.shape for stage in stages])
    costs = [stage.cost for stage in stages]
    total, spent, deadlines = sum(costs), 0.0, []
    for cost in costs[:-1]:
        spent += cost
        deadlines.append(start + cfg.time_budget * spent / total)
    return deadlines + [start + cfg.time_budget]


def _saving_callback(callback, writer: StateWriter, snapshot, stage: int, offset: int):
    """The user's callback, plus writing the run's state (at most every minute) for ``save_state``."""
    if not writer:
        return callback

    def wrapped(event: Iterate):
        stop = callback(event) if callback is not None else None

        def make() -> RunState:
            saved = dict(event.optimizer_state()) if event.optimizer_state is not None else {}
            image = saved.pop("iterate", None)
            return snapshot(image=event.image() if image is None else image, stage=stage,
                            stage_iterations=event.iteration - offset, iterations=event.iteration, optimizer=saved)

        writer.maybe_save(make)
        return stop

    return wrapped


def _stage_iterations_done(outcome, state: RunState | None, resuming: bool) -> int:
    return outcome.iterations + (state.stage_iterations if resuming and state is not None else 0)


@dataclass
class _TiledOutcome:
    """What a tiled stage returns (the fields :func:`stylize` reads from an OptimizeResult, and where it is)."""

    image: np.ndarray
    iterations: int
    stop_reason: str
    message: str
    state: dict | None
    position: tuple[int, int, list]  # (pass, next tile, grid offsets): where a resumed run goes on


#: stop reasons that end a whole run (a tile that ran out of its own steps or converged does not)
_ENDING = ("interrupted", "callback", "nonfinite", "time_budget")


def _refine_in_tiles(extractor, init, content, styles, blend, masks, stage: _Stage, cfg: StyleConfig,
                     content_lw, style_lw, *, rng, index, stages, iterations, start, deadline, callback, history,
                     adam_state, resume_state, writer, snapshot) -> _TiledOutcome:
    """Refine ``init`` (already at the stage's size) tile by tile (see :mod:`nst_lib.tiling`).

    The style targets are computed once for the stage (in tiles when the style image is too large for one
    forward pass), the content targets per tile from the content crop. Adam's moments are kept for the
    whole image, so every tile continues them; L-BFGS-B starts afresh on every tile. A moving average of
    the iterates is not used here (a tile's few iterations would be averaged with its start).
    """
    import tensorflow as tf

    h, w = stage.shape
    image = np.array(init, np.float32)
    targets_per_style = _style_targets(extractor, styles, (h, w), cfg, style_lw, stage.tile)
    use_adam = cfg.optimizer == "adam"
    carried = (resume_state.optimizer if resume_state is not None else resize_adam_state(adam_state, (h, w))) or {}
    moments = {
        "m": np.array(carried.get("m", np.zeros((h, w, 3))), np.float32),
        "v": np.array(carried.get("v", np.zeros((h, w, 3))), np.float32),
        "t": int(carried.get("t", 0)),
    } if use_adam else None
    runner = run_adam if use_adam else run_lbfgs
    # L-BFGS-B gets a few evaluations per iteration at most: a tile's short run must not spend itself on
    # the first iteration's line search
    extra = dict(adam_settings(cfg), average_decay=None) if use_adam else {
        "corrections": cfg.lbfgs_corrections, "max_evaluations": 2 * stage.steps + 4}
    status = {"iterations": iterations, "reason": "steps", "message": STOP_REASONS["steps"]}

    def optimise_tile(box, crop):
        rows, cols = box.slices
        content_features = extractor(content[np.newaxis, rows, cols])
        content_targets = {k: content_features[k] for k in content_lw}
        targets = [StyleTarget(layer_targets, weight=weight,
                               mask=None if masks is None else tf.constant(masks[i][rows, cols], tf.float32))
                   for i, (layer_targets, weight) in enumerate(zip(targets_per_style, blend))]
        objective = Objective(extractor, content_targets, targets, content_lw, style_lw, cfg.content_weight,
                              cfg.style_weight, cfg.tv_weight, style_loss=cfg.style_loss, seed=cfg.seed)
        tile_state = None
        if use_adam:  # every tile of a pass continues from the pass's step count (each pixel's own)
            tile_state = {"m": moments["m"][rows, cols], "v": moments["v"][rows, cols], "t": moments["t"]}

        def on_event(event: Iterate):
            def whole_image() -> np.ndarray:  # the picture as it would be if this tile stopped now
                weight = feather(box, (h, w), stage.overlap)[..., np.newaxis]
                current = image.copy()
                current[rows, cols] = crop + weight * (event.image() - crop)
                return current

            shown = dataclasses.replace(event, shape=(h, w), image=whole_image, optimizer_state=None)
            return callback(shown) if callback is not None else None

        outcome: OptimizeResult = runner(
            make_value_and_grad(objective), crop, steps=stage.steps, deadline=deadline,
            callback=on_event, start=start, iteration_offset=status["iterations"], scale=index, scales=stages,
            history=history, state=tile_state, **extra,
        ) if use_adam else runner(
            make_value_and_grad(objective), crop, steps=stage.steps, deadline=deadline,
            callback=on_event, start=start, iteration_offset=status["iterations"], scale=index, scales=stages,
            history=history, **extra,
        )
        status["iterations"] += outcome.iterations
        if outcome.stop_reason in _ENDING:
            status["reason"], status["message"] = outcome.stop_reason, outcome.message
        if use_adam and outcome.state is not None:
            weight = feather(box, (h, w), stage.overlap)[..., np.newaxis]
            for key in ("m", "v"):
                region = moments[key][rows, cols]
                moments[key][rows, cols] = region + weight * (outcome.state[key] - region)
        return outcome.image

    position = {"pass": 0, "tile": 0, "offsets": list(resume_state.offsets) if resume_state is not None else []}

    def on_tile(event, current) -> bool:
        position.update({"pass": event.pass_index, "tile": event.tile_index + 1})
        if moments is not None and event.tile_index == event.tiles - 1:
            moments["t"] += stage.steps  # a pass done: every pixel took about `steps` more Adam steps
        if len(position["offsets"]) <= event.pass_index:
            position["offsets"].append(event.offset)
        if writer:
            writer.maybe_save(lambda: snapshot(
                image=current, stage=index, tile_pass=event.pass_index, next_tile=event.tile_index + 1,
                offsets=list(position["offsets"]), iterations=status["iterations"],
                optimizer=dict(moments) if moments is not None else {}))
        return status["reason"] in _ENDING

    offsets = list(position["offsets"])
    image, _ = refine(
        image, optimise_tile, tile=stage.tile, overlap=stage.overlap, passes=stage.passes, rng=rng,
        on_tile=on_tile, rung=index,
        first_pass=resume_state.tile_pass if resume_state is not None else 0,
        first_tile=resume_state.next_tile if resume_state is not None else 0,
        offsets=offsets or None,
    )
    return _TiledOutcome(
        image=image, iterations=status["iterations"] - iterations, stop_reason=status["reason"],
        message=status["message"], state=dict(moments) if moments is not None else None,
        position=(position["pass"], position["tile"], position["offsets"]),
    )


def _style_targets(extractor, styles, shape, cfg: StyleConfig, style_lw, tile: int) -> list[dict]:
    """Each style image's targets for an output of ``shape``: from the style resized to the output's long
    side × ``style_scale`` (the size at which its brush strokes keep their size relative to the picture,
    as in an ordinary run). A style image larger than a tile is processed in tiles (Gram targets are sums
    over positions, so they come out the same); other statistics need it whole."""
    statistic = style_statistic(cfg.style_loss)
    long_side = max(MIN_SOURCE_SIDE, round(max(shape) * cfg.style_scale))
    out = []
    for style_img in styles:
        style_s = style_img if max(style_img.shape[:2]) == long_side else resize_long_side(style_img, long_side)
        if statistic.name == "gram" and style_s.shape[0] * style_s.shape[1] > tile * tile:
            grams = tiled_gram_targets(extractor, style_s, tuple(style_lw), tile)
            out.append({k: (grams[k],) for k in style_lw})
        else:
            features = extractor(style_s[np.newaxis])
            out.append({k: statistic.targets(features[k]) for k in style_lw})
    return out



def adam_settings(cfg: StyleConfig) -> dict[str, Any]:
    """The keyword arguments of :func:`~nst_lib.optimize.run_adam` that come from the settings."""
    return {
        "learning_rate": cfg.learning_rate,
        "beta_1": cfg.adam_beta_1,
        "beta_2": cfg.adam_beta_2,
        "epsilon": cfg.adam_epsilon,
        "learning_rate_end": cfg.learning_rate_end,
        "average_decay": cfg.average_decay,
    }


def resize_adam_state(state: dict | None, shape: tuple[int, int]) -> dict | None:
    """Adam's state carried to an image of another ``shape`` (crowsonkb's ``scale_adam``): the first moment
    resized bicubically, the second bilinearly and kept non-negative; the step count goes on. The moving
    average of the iterates starts afresh at each scale (the scale starts from the previous average)."""
    if not state:
        return None
    import tensorflow as tf

    out = {k: v for k, v in state.items() if k not in ("average", "average_weight")}
    for key, method in (("m", "bicubic"), ("v", "bilinear")):
        if key in state and tuple(state[key].shape[:2]) != tuple(shape):
            resized = tf.image.resize(state[key][np.newaxis], shape, method=method)[0].numpy()
            out[key] = np.maximum(resized, 0.0) if key == "v" else resized
    return out


def _make_config(config: StyleConfig | None, options: dict[str, Any]) -> StyleConfig:
    base = config or StyleConfig()
    names = {f.name for f in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise InvalidSettingError(f"unknown option(s) {', '.join(unknown)}; valid options are {', '.join(sorted(names))}")
    return base.replace(**options) if options else base  # StyleConfig turns lists and strings into tuples


class _Inverse:
    """The second style's mask when one mask is given for two styles: the part the first one leaves."""

    def __repr__(self) -> str:
        return "<the inverse of the first mask>"


_INVERSE = _Inverse()


def _masks_for(mask: Any, n_styles: int) -> list[Any] | None:
    if mask is None:
        return None
    masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
    if len(masks) == 1 and n_styles == 2:
        return [masks[0], _INVERSE]
    if len(masks) != n_styles:
        raise InvalidSettingError(
            f"got {len(masks)} mask(s) for {n_styles} style(s); give one mask per style, or one mask for one or two styles"
        )
    return masks


def _load_masks(mask: Any, n_styles: int, height: int, width: int, notes: list[str]) -> list[np.ndarray] | None:
    """The masks at the output resolution, one per style (a stretched mask adds a note)."""
    sources = _masks_for(mask, n_styles)
    if sources is None:
        return None
    loaded: list[np.ndarray] = []
    for source in sources:
        if source is _INVERSE:
            loaded.append(1.0 - loaded[0])
            continue
        region, note = read_mask(source, height, width)
        if note:
            notes.append(note)
        loaded.append(region)
    return loaded


#: a mask region smaller than this many feature positions at a style layer has (almost) no effect there
MIN_MASK_POSITIONS = 1.0


def mask_notes(masks: Sequence[np.ndarray], style_layers: Sequence[str], strides: dict[str, int]) -> list[str]:
    """Notes for masks that cannot do what they seem to: all black, or a region that vanishes at deep layers.

    A region of ``a`` white pixels covers about ``a / stride²`` positions of a layer whose feature map is
    ``stride`` times smaller than the image; under one position the guided statistics of that layer see
    (almost) nothing of it.
    """
    notes = []
    for number, region in enumerate(masks, 1):
        area = float(np.sum(region))
        if area < 0.5:
            notes.append(f"the mask of style {number} is all black: style {number} is applied nowhere")
            continue
        faint = [layer for layer in style_layers if area / strides[layer] ** 2 < MIN_MASK_POSITIONS]
        if faint:
            notes.append(
                f"the mask of style {number} covers {area:.0f} px, less than one feature position of "
                f"{', '.join(faint)}: style {number} has little effect at those layers (make the region larger "
                f"or the image larger)"
            )
    return notes


def _initial_image(init: str, previous, content, style, style_colors, rng, shape) -> np.ndarray:
    h, w = shape
    if previous is not None:  # a finer scale starts from the upsampled coarser result
        return resize_to(previous, h, w)
    if init == "recolored":  # the content with the style's colour mean and covariance (measured fastest)
        return color.match_color_statistics(content, color.color_statistics(content), style_colors)
    if init == "content":
        return content.copy()
    if init == "style":
        return resize_to(style, h, w)
    return rng.uniform(0.0, 1.0, size=(h, w, 3)).astype(np.float32)


def _build_objective(extractor, content, styles, blend, masks, shape, cfg, content_lw, style_lw, temporal=None):
    """The objective at one scale: content targets, one style target per style image (with its mask), and
    the video's temporal term (its warped frame and mask resized to the scale) when there is one."""
    import tensorflow as tf

    statistic = style_statistic(cfg.style_loss)
    h, w = shape
    content_feats = extractor(content[np.newaxis])
    content_targets = {k: content_feats[k] for k in content_lw}
    long_side = max(MIN_SOURCE_SIDE, round(max(h, w) * cfg.style_scale))
    targets = []
    for i, (style_img, weight) in enumerate(zip(styles, blend)):
        style_s = style_img if max(style_img.shape[:2]) == long_side else resize_long_side(style_img, long_side)
        feats = extractor(style_s[np.newaxis])
        layer_targets = {k: statistic.targets(feats[k]) for k in style_lw}
        region = None if masks is None else tf.constant(masks[i], tf.float32)
        targets.append(StyleTarget(layer_targets, weight=weight, mask=region))
    return Objective(
        extractor,
        content_targets,
        targets,
        content_lw,
        style_lw,
        cfg.content_weight,
        cfg.style_weight,
        cfg.tv_weight,
        style_loss=cfg.style_loss,
        seed=cfg.seed,
        temporal=None if temporal is None else _temporal_at(temporal, h, w),
    )


def _temporal_at(temporal, height: int, width: int):
    """The temporal target resized to one scale of the run (bilinear; the mask stays in [0, 1])."""
    if tuple(np.shape(temporal.mask)) == (height, width):
        return temporal
    image = resize_to(np.asarray(temporal.image, np.float32), height, width)
    mask = resize_to(np.repeat(np.asarray(temporal.mask, np.float32)[..., None], 3, axis=-1), height, width)[..., 0]
    return dataclasses.replace(temporal, image=image, mask=np.clip(mask, 0.0, 1.0))
