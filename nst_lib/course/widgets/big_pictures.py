"""Demo for notebook 12: a run's memory plan, for any size and budget, before anything runs.

Move the size and the budget: :func:`render_plan` (pure, tested) asks :func:`nst_lib.memory.plan_run` how the
run would be done — whole, or a ladder of sizes ending in tiles, or refused — and draws the last rung's tile
grid over the output. Nothing is optimised, so the answer is instant; ``nst stylize … --max-memory SIZE``
makes the same plan before it starts.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from ...config import OPTIMIZERS, StyleConfig
from ...memory import format_bytes, plan_run
from ...tiling import tile_boxes
from .common import Demo, figure_to_png, image_slot, show_png

__all__ = ["BUDGETS", "render_plan", "plan_demo"]

#: the budgets the demo offers
BUDGETS = ("1G", "2G", "4G", "8G", "16G", "24G")


def render_plan(size: int, budget: str, optimizer: str = "lbfgs", content_shape: tuple[int, int] = (600, 512),
                backbone: str = "vgg16", steps: int = 300) -> tuple[str, bytes]:
    """(an HTML summary, a PNG of the tile grid) of the plan for a run at ``size`` within ``budget``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    config = StyleConfig(size=int(size), steps=int(steps), optimizer=optimizer)
    plan = plan_run(config, content_shape, max_memory=budget, backbone=backbone)
    rows = [f"<b>{html.escape(plan.message[0].upper() + plan.message[1:])}.</b>",
            f"estimated peak {format_bytes(plan.estimated_peak_bytes)} of a {format_bytes(plan.budget_bytes)} budget "
            f"(in one piece the run would need {format_bytes(plan.whole_peak_bytes)})"]
    if plan.fits and plan.mode == "whole":
        rows.append(f"done in one piece: the whole {plan.output_shape[1]}×{plan.output_shape[0]} px image, "
                    f"{config.steps} iterations")
    for rung in plan.rungs:
        height, width = rung.shape
        if rung.mode == "whole":
            rows.append(f"rung {width}×{height} px: whole image, {rung.iterations} iterations")
        else:
            tiles = len(tile_boxes(rung.shape, rung.tile, rung.overlap))
            rows.append(f"rung {width}×{height} px: {tiles} tiles of {rung.tile} px (overlap {rung.overlap} px), "
                        f"{rung.passes} pass(es) of {rung.iterations} iterations per tile")
    height, width = plan.output_shape
    fig, ax = plt.subplots(figsize=(4, 4 * height / width))
    ax.add_patch(Rectangle((0, 0), width, height, facecolor="0.92", edgecolor="black"))
    tiled = [rung for rung in plan.rungs if rung.mode == "tiled"]
    if tiled:
        rung = tiled[-1]
        for box in tile_boxes(rung.shape, rung.tile, rung.overlap):
            ax.add_patch(Rectangle((box.left, box.top), box.width, box.height, fill=False,
                                   edgecolor=plt.cm.tab10(len(ax.patches) % 10), linewidth=1.5))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal")
    ax.set_title(f"{width}×{height} px: {'refused' if not plan.fits else plan.mode}", fontsize=9)
    png = figure_to_png(fig)
    plt.close(fig)
    return "<br>".join(rows), png


def plan_demo() -> Demo:
    """Sliders for the size, the budget and the optimiser; the plan and its tile grid update at once.

    Attributes: ``size_slider``, ``budget_picker``, ``optimizer_toggle``, ``summary`` (HTML), ``grid_view``.
    """
    size_slider = widgets.IntSlider(value=4096, min=256, max=4096, step=128, description="size (px)")
    budget_picker = widgets.Dropdown(options=list(BUDGETS), value="8G", description="--max-memory")
    optimizer_toggle = widgets.ToggleButtons(options=list(OPTIMIZERS), value="lbfgs", description="optimiser")
    summary = widgets.HTML("")
    grid_view = image_slot(320)
    demo = Demo("Big pictures in small memory: the plan", [[size_slider, budget_picker], [optimizer_toggle],
                                                         summary, grid_view])
    demo.size_slider, demo.budget_picker, demo.optimizer_toggle = size_slider, budget_picker, optimizer_toggle
    demo.summary, demo.grid_view = summary, grid_view

    def update(_: Any = None) -> None:
        def go() -> None:
            text, png = render_plan(size_slider.value, budget_picker.value, optimizer_toggle.value)
            summary.value = text
            show_png(grid_view, png)

        demo.run(go)

    for control in (size_slider, budget_picker, optimizer_toggle):
        control.observe(update, names="value")
    update()
    return demo

