"""The schedule of a run: its stages (scales coarse to fine; a tiled run's ladder of sizes), the
iterations of each, and the one deadline shared out between them (notebook 07, "coarse to fine").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .config import StyleConfig
from .memory import NOMINAL_STEPS, RunPlan
from .optimize import UNLIMITED_STEPS


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




@dataclass(frozen=True)
class Stage:
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


def run_stages(plan: RunPlan, cfg: StyleConfig, height: int, width: int) -> list[Stage]:
    """The run's stages: its scales (coarse to fine) for a whole run; for a tiled run the scales of the
    ladder's first rung, then each larger rung (whole while it fits, then in tiles)."""
    if plan.mode == "whole":
        shapes = scale_shapes(height, width, cfg.scales, cfg.scale_factor)
        return [Stage(shape, "whole", n) for shape, n in zip(shapes, split_steps(cfg.steps, shapes))]
    first, *rest = plan.rungs
    shapes = scale_shapes(*first.shape, cfg.scales, cfg.scale_factor)
    stages = [Stage(shape, "whole", n)
              for shape, n in zip(shapes, split_steps(None if cfg.steps is None else first.iterations, shapes))]
    for rung in rest:
        if rung.mode == "whole":
            stages.append(Stage(rung.shape, "whole", UNLIMITED_STEPS if cfg.steps is None else rung.iterations))
        else:
            stages.append(Stage(rung.shape, "tiled", rung.iterations, rung.passes, rung.tile, rung.overlap))
    return stages


def stage_deadlines(start: float, cfg: StyleConfig, stages: Sequence[Stage], plan: RunPlan) -> list[float | None]:
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
