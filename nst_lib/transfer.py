"""``stylize()``: the whole Gatys et al. pipeline in one call (taught in notebook 06).

Every front end (notebooks, widgets, the ``nst`` CLI, the web page) calls this function; none of them
re-implements a loss or a loop. It reads as the method: settings → inputs → plan → for each stage (a
scale, coarse to fine; or a rung of a tiled ladder): the targets, the objective, the optimiser, each finer
stage starting from the upsampled result of the coarser one. One deadline, counted from the call, bounds
every stage. Beside it, not inside it: the inputs (:mod:`nst_lib.inputs`), the schedule
(:mod:`nst_lib.schedule`), the objective (:mod:`nst_lib.objective`), the tiled stages
(:mod:`nst_lib.ladder`) and state saving, an observer (:mod:`nst_lib.checkpointer`).

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
from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

from . import color
from .checkpointer import STOPPED_HERE, Checkpointer
from .config import DEFAULT_LBFGS, INITS, StyleConfig
from .errors import InvalidSettingError
from .fileio import atomic_write
from .images import load_image, resize_to, save_image
from .inputs import RunInputs, mask_notes, masks_at, prepare_inputs, run_extractor  # noqa: F401 - mask_notes: public here too
from .ladder import StageRun, refine_tiled_stage
from .lbfgs_tf import lbfgs_runner
from .losses import Objective
from .memory import check_plan, plan_run
from .objective import build_objective, style_at, style_targets
from .optimize import (STOP_REASONS, UNLIMITED_STEPS, AdamSettings, Iterate, OptimizeResult,  # noqa: F401
                       RunContext, make_value_and_grad, run_adam, run_lbfgs, run_lbfgs_redrawing)
from .precision import PrecisionChoice
from .resume import RunState, StateWriter, check_inputs, resumed_config
from .schedule import (Stage, run_stages, scale_deadlines, scale_shapes, split_budget,  # noqa: F401 - public here too
                       split_steps, stage_deadlines)
from .tiling import TilePosition


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
            "plan": None if self.plan is None else self.plan.to_dict(),
            "precision": None if self.precision is None else self.precision.to_dict(),
            "tiling": [{**grid, "shape": list(grid["shape"]), "offsets": [list(o) for o in grid["offsets"]]}
                       for grid in self.tiling],
            "history": self.history,
        }
        text = json.dumps(payload, indent=1)
        with atomic_write(path) as stream:
            stream.write(text.encode("utf-8"))
        return path


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
            ``max_memory`` and ``steps``). L-BFGS restarts its history (it is not saved).
        save_state: write the run's state to this ``.npz`` file (or :class:`~nst_lib.resume.StateWriter`) as
            it goes (at most every minute, after every tile, at the end): ``resume`` continues it after a kill.
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
    state, cfg = _settings(config, options, resume)
    inputs = prepare_inputs(content, style, cfg, mask)
    if state is not None:
        start -= state.elapsed  # elapsed times continue from where the saved run was
        check_inputs(state, inputs.content, inputs.styles)
    plan, precise_extractor = _plan(cfg, inputs, temporal)
    stages = run_stages(plan, cfg, *inputs.content.shape[:2])
    deadlines = stage_deadlines(start if state is None else time.perf_counter(), cfg, stages, plan)
    run = _RunProgress.begin(state, len(stages), cfg, inputs)
    checkpointer = Checkpointer(save_state, cfg, (inputs.content, inputs.styles), run.history, start)
    starts = _Starts(cfg, inputs, temporal)
    for index, (stage, deadline) in enumerate(zip(stages, deadlines)):
        if index < run.first_stage or stage.steps == 0:  # done before a resume; or a coarse scale with no steps
            continue
        resumed = state if state is not None and index == state.stage else None
        context = RunContext(deadline, start, run.iterations, index, len(stages), run.history)
        stage_run = StageRun(cfg, inputs.extractor, inputs.weights, resize_to(inputs.target_content, *stage.shape),
                             inputs.styles, inputs.blend, masks_at(inputs.masks, stage.shape), stage, context,
                             callback, checkpointer, _temporal_at(temporal, *stage.shape), starts.rng, precise_extractor)
        init = starts.image(stage, run.current, stage_run.content, resumed)
        outcome = _optimise(stage_run, init, run.adam_state, resumed)
        if outcome is None:  # killed after its last iteration, before the next stage began
            run.current = init
            continue
        run.record(outcome, stage, index)
        last = index == len(stages) - 1
        checkpointer.stage_done(run.current, index, outcome, last=last, iterations=run.iterations,
                                stage_iterations=outcome.iterations + (resumed.stage_iterations if resumed else 0))
        if run.reason in STOPPED_HERE or (run.reason == "time_budget" and last):
            break
        if not last and run.reason != "steps":  # a coarse scale's share ran out, or it stopped early: go on
            run.reason, run.message = "steps", STOP_REASONS["steps"]
    return _result(run, cfg, inputs, plan, stages, start)


def _settings(config: StyleConfig | None, options: dict[str, Any], resume) -> tuple[RunState | None, StyleConfig]:
    """The run's settings, and the saved state when it resumes one (its settings, ``options`` may change
    only what :data:`~nst_lib.resume.RESUMABLE_CHANGES` allows)."""
    state = RunState.load(resume) if isinstance(resume, (str, os.PathLike)) else resume
    if state is None:
        return None, _make_config(config, options)
    if config is not None:
        defaults = StyleConfig()
        options = {**{f.name: getattr(config, f.name) for f in dataclasses.fields(StyleConfig)
                      if getattr(config, f.name) != getattr(defaults, f.name)}, **options}
    return state, resumed_config(state, options)


def _plan(cfg: StyleConfig, inputs: RunInputs, temporal: Any):
    """The memory plan (refused at once when the run cannot fit even in tiles; a tiled plan adds a note), and
    the float32 continuation it allows (:func:`_float32_continuation`)."""
    plan = check_plan(plan_run(cfg, inputs.content.shape[:2], style_shapes=[s.shape[:2] for s in inputs.styles],
                               backbone=inputs.extractor.backbone))  # the network built, maybe VGG16 for VGG19
    if plan.mode == "tiled":
        inputs.notes.append(plan.message[0].upper() + plan.message[1:] + ".")
        if temporal is not None:
            raise InvalidSettingError("a temporal term (video) needs the frame whole, but this run is tiled; "
                                      "use a smaller size or a larger max_memory")
    return plan, _float32_continuation(cfg, inputs, plan)


def _float32_continuation(cfg: StyleConfig, inputs: RunInputs, plan) -> Callable[[], Any] | None:
    """What a bfloat16 run goes on with when the TensorFlow L-BFGS stalls in bfloat16's noise
    (:mod:`nst_lib.lbfgs_tf`): a maker of the float32 extractor (built only if that happens). None for a
    float32 run, another optimiser, or a run that would not fit its memory budget whole in float32."""
    loop = DEFAULT_LBFGS if cfg.optimizer == "lbfgs" else cfg.optimizer
    if inputs.precision.used != "bfloat16" or loop != "lbfgs-tf":
        return None
    in_float32 = plan_run(cfg.replace(precision="float32"), inputs.content.shape[:2],
                          style_shapes=[s.shape[:2] for s in inputs.styles], backbone=inputs.extractor.backbone)
    if plan.mode != "whole" or in_float32.mode != "whole":
        return None
    return lambda: run_extractor(cfg, "float32")


@dataclass
class _RunProgress:
    """How far a run is: its history, iterations, current image, Adam's state, how it ends, the grids used."""

    history: list[dict]
    iterations: int = 0
    current: np.ndarray | None = None
    adam_state: dict | None = None
    first_stage: int = 0
    reason: str = "steps"
    message: str = STOP_REASONS["steps"]
    tiling: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the stages' notes (e.g. a switch to float32)

    @classmethod
    def begin(cls, state: RunState | None, stages: int, cfg: StyleConfig, inputs: RunInputs) -> "_RunProgress":
        if state is None:
            return cls(history=[])
        if cfg.optimizer != "adam" and not state.finished:
            inputs.notes.append("resumed: L-BFGS restarts its curvature history from the saved image "
                                "(the history is not saved)")
        return cls(history=list(state.history), iterations=state.iterations, current=state.image,
                   adam_state={k: v for k, v in state.optimizer.items() if k != "iterate"} or None,
                   first_stage=stages if state.finished else state.stage)

    def record(self, outcome, stage: Stage, index: int) -> None:
        self.iterations += outcome.iterations
        self.current = outcome.image
        self.adam_state = outcome.state  # Adam's moments go on to the next scale, resized (crowsonkb)
        if stage.mode == "tiled":
            self.tiling.append({"stage": index, "shape": stage.shape, "tile": stage.tile, "overlap": stage.overlap,
                                "offsets": [tuple(o) for o in outcome.position[2]]})
        self.reason, self.message = outcome.stop_reason, outcome.message
        self.notes.extend(getattr(outcome, "notes", ()))


class _Starts:
    """Where each stage starts: a saved run's image, the start image or the ``init`` of the settings for the
    first stage, the upsampled result of the stage before for the others."""

    def __init__(self, cfg: StyleConfig, inputs: RunInputs, temporal: Any):
        self.cfg, self.style = cfg, inputs.styles[0]
        self.style_colors = color.color_statistics(inputs.styles[0]) if cfg.init == "recolored" else None
        self.start_image = None if cfg.init in INITS else load_image(cfg.init, cfg.size)
        if temporal is not None and temporal.start:  # video: the previous stylized frame warped onto this one
            self.start_image = np.asarray(temporal.image, np.float32)
        self.rng = np.random.default_rng(cfg.seed)

    def image(self, stage: Stage, previous: np.ndarray | None, content: np.ndarray,
              resumed: RunState | None) -> np.ndarray:
        h, w = stage.shape
        if resumed is not None:
            return resumed.image if resumed.image.shape[:2] == (h, w) else resize_to(resumed.image, h, w)
        if previous is None and self.start_image is not None:
            return resize_to(self.start_image, h, w)
        return _initial_image(self.cfg.init, previous, content, self.style, self.style_colors, self.rng, (h, w))


def _optimise(run: StageRun, init: np.ndarray, adam_state: dict | None, resumed: RunState | None):
    """One stage optimised: whole (the optimiser of the settings on the stage's objective), or in tiles.
    Returns ``None`` for a resumed stage whose iterations were all done already."""
    carried = resumed.optimizer if resumed is not None else resize_adam_state(adam_state, run.stage.shape)
    if run.stage.mode == "tiled":
        at = None if resumed is None else TilePosition(resumed.tile_pass, resumed.next_tile, resumed.offsets)
        return refine_tiled_stage(run, init, carried, at)
    done_before = resumed.stage_iterations if resumed is not None else 0
    if done_before >= run.stage.steps:
        return None
    if resumed is not None:
        carried = {k: v for k, v in carried.items() if k != "iterate"} or None
    objective = _stage_objective(run)
    callback = run.checkpointer.observing(run.callback, run.context.scale, run.context.iteration_offset - done_before)
    steps = max(1, run.stage.steps - done_before)
    if run.cfg.optimizer == "adam":
        return run_adam(make_value_and_grad(objective), init, steps=steps, settings=AdamSettings.of_config(run.cfg),
                        state=carried, callback=callback, context=run.context)
    if objective.statistic.stochastic:  # L-BFGS needs a fixed function: one draw per block of iterations
        return run_lbfgs_redrawing(_fixed_draws(objective), init, steps=steps, callback=callback,
                                   context=run.context, corrections=run.cfg.lbfgs_corrections)
    precise = None if run.precise_extractor is None else lambda: make_value_and_grad(
        _stage_objective(dataclasses.replace(run, extractor=run.precise_extractor())))
    return lbfgs_runner(run.cfg.optimizer)(make_value_and_grad(objective, precise=precise), init, steps=steps,
                                           corrections=run.cfg.lbfgs_corrections, callback=callback, context=run.context)


def _stage_objective(run: StageRun) -> Objective:
    """The objective of a whole stage: content targets at its size, each style at the size it is used at."""
    targets = [style_targets(run.extractor, style_at(s, run.stage.shape, run.cfg.style_scale), tuple(run.weights.style),
                             run.cfg.style_loss) for s in run.styles]
    return build_objective(run.extractor, run.content, targets, run.cfg, run.weights, blend=run.blend,
                           masks=run.masks, temporal=run.temporal)


def _result(run: _RunProgress, cfg: StyleConfig, inputs: RunInputs, plan, stages: list[Stage], start: float) -> Result:
    """The run's :class:`Result`: the image at the output size (luminance restored if asked) and its record."""
    height, width = inputs.content.shape[:2]
    current = run.current
    if current.shape[:2] != (height, width):
        inputs.notes.append(f"the run stopped at {current.shape[1]}×{current.shape[0]} px; the image was enlarged "
                            f"to {width}×{height} px")
        current = resize_to(current, height, width)
    if cfg.preserve_colors == "luminance":
        current = color.combine_luminance(current, inputs.content)
    return Result(image=current, history=run.history, config=cfg, stop_reason=run.reason, message=run.message,
                  elapsed=time.perf_counter() - start, iterations=run.iterations, backbone=inputs.extractor.backbone,
                  weights_source=inputs.extractor.weights_info.source, scale_shapes=[stage.shape for stage in stages],
                  notes=[*inputs.notes, *run.notes], plan=plan, tiling=run.tiling, precision=inputs.precision)


def _fixed_draws(objective) -> Callable[[int], Callable]:
    """draw number → the value-and-gradient function of ``objective`` with that one draw of random numbers."""
    return lambda draw: make_value_and_grad(objective, draw=draw)


def make_objective(content: Any, style: Any, *, config: StyleConfig | None = None, mask: Any = None,
                   temporal: Any = None, **options: Any) -> Objective:
    """The :class:`~nst_lib.losses.Objective` :func:`stylize` optimises for these inputs at the output size.

    The images, masks and settings are prepared exactly as :func:`stylize` prepares them (same sizes,
    colour handling, shared extractor, targets), for benchmarks and notebooks that drive an optimiser
    themselves: ``run_lbfgs(make_value_and_grad(objective), init, steps=…)``.
    """
    cfg = _make_config(config, options)
    inputs = prepare_inputs(content, style, cfg, mask)
    shape = inputs.content.shape[:2]
    stage_run = StageRun(cfg, inputs.extractor, inputs.weights, inputs.target_content, inputs.styles, inputs.blend,
                         inputs.masks, Stage(shape, "whole", 0), RunContext(), temporal=_temporal_at(temporal, *shape))
    return _stage_objective(stage_run)


def adam_settings(cfg: StyleConfig) -> dict[str, Any]:
    """The keyword arguments of :func:`~nst_lib.optimize.run_adam` that come from the settings."""
    return dataclasses.asdict(AdamSettings.of_config(cfg))


def resize_adam_state(state: dict | None, shape: tuple[int, int]) -> dict | None:
    """Adam's state carried to an image of another ``shape`` (crowsonkb's ``scale_adam``): the first moment
    resized bicubically, the second bilinearly and kept non-negative; the step count goes on. The moving
    average of the iterates starts afresh at each scale (the scale starts from the previous average)."""
    if not state:
        return None
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


def _temporal_at(temporal, height: int, width: int):
    """The temporal target resized to one scale of the run (bilinear; the mask stays in [0, 1])."""
    if temporal is None:
        return None
    if tuple(np.shape(temporal.mask)) == (height, width):
        return temporal
    image = resize_to(np.asarray(temporal.image, np.float32), height, width)
    mask = resize_to(np.repeat(np.asarray(temporal.mask, np.float32)[..., None], 3, axis=-1), height, width)[..., 0]
    return dataclasses.replace(temporal, image=image, mask=np.clip(mask, 0.0, 1.0))
