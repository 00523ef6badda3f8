"""Demo for notebook 05: pick an optimiser, a learning rate, a start and a number of steps; press Run and
watch the image and the loss curves update while :func:`nst_lib.stylize` works in a background thread
(Stop keeps the best image so far).

Pure functions (:func:`run_settings`, :func:`run_label`, :func:`render_curves`) do the work;
:func:`optimization_demo` only wires widgets to them. Every run is kept, so the curves compare them.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ... import transfer
from ...config import INITS, OPTIMIZERS, pick
from ..viz import loss_curves
from .common import (
    BackgroundDemo,
    Demo,
    DemoJob,
    Run,
    example_options,
    figure_to_png,
    image_slot,
    load_example,
    notes_html,
    run_stop_buttons,
    show_png,
)

__all__ = ["run_settings", "run_label", "render_curves", "optimize_once", "optimization_demo"]


def run_settings(*, optimizer: str, learning_rate: float, steps: int, init: str, size: int) -> dict[str, Any]:
    """Keyword arguments for :func:`nst_lib.stylize` for one demo run (one scale, the library's weights)."""
    settings: dict[str, Any] = dict(optimizer=optimizer, steps=int(steps), init=init, size=int(size), scales=1)
    if optimizer == "adam":
        settings["learning_rate"] = float(learning_rate)
    return settings


def run_label(settings: Mapping[str, Any]) -> str:
    """A short legend entry such as ``adam lr=0.02, from noise`` or ``lbfgs, from content``."""
    lr = f" lr={settings['learning_rate']:g}" if settings["optimizer"] == "adam" else ""
    return f"{settings['optimizer']}{lr}, from {settings['init']}"


def render_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], x: str = "iteration") -> Figure:
    """Total loss of every run so far (:func:`nst_lib.course.viz.loss_curves`), by iteration or by seconds."""
    shown = {label: history for label, history in histories.items() if history}
    if not shown:
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.subplots()
        ax.text(0.5, 0.5, "press Run to draw loss curves", ha="center", va="center")
        ax.axis("off")
        return fig
    return loss_curves(shown, x=x, title="total loss" + (" against time" if x == "elapsed" else ""))


def optimize_once(content: np.ndarray, style: np.ndarray, settings: Mapping[str, Any],
                  callback: Callable | None = None):
    """One :func:`nst_lib.stylize` run with the demo's settings (``callback`` sees every Iterate)."""
    return transfer.stylize(content, style, callback=callback, **settings)


def optimization_demo(content: str = "grace_hopper", style: str = "swirls", *, background: bool = True) -> Demo:
    """Choose optimiser, learning rate, start and steps; Run; the image and the curves update live.

    The run goes on in a background thread (the kernel stays free); **Stop** ends it and keeps the best
    image so far.

    Attributes: ``content_picker``, ``style_picker``, ``optimizer_picker``, ``learning_rate_slider``,
    ``init_picker``, ``steps_slider``, ``size_slider``, ``preview_every_slider``, ``x_axis_picker``,
    ``run_button``, ``stop_button``, ``clear_button`` (controls); ``progress``; ``image_view`` (PNG of the
    current image, at its own size), ``curves_view`` (PNG of the loss curves), ``histories`` (label →
    history of every run), ``result`` (the last :class:`nst_lib.Result`), ``previews`` (how many live
    updates the last run drew), ``status``, ``background_run`` (:class:`BackgroundRun`); ``wait(timeout)``.

    Args:
        background: run in a thread, so Stop works in Jupyter (tests may pass False to run synchronously).
    """
    content_picker = widgets.Dropdown(options=example_options(("content",)), value=f"content:{content}",
                                      description="content")
    style_picker = widgets.Dropdown(options=example_options(("style",)), value=f"style:{style}",
                                    description="style")
    optimizer_picker = widgets.ToggleButtons(options=list(OPTIMIZERS), value="adam", description="optimiser")
    learning_rate_slider = widgets.FloatLogSlider(value=0.02, base=10, min=-3, max=0, step=0.1,
                                                  description="Adam lr", readout_format=".3f")
    init_picker = widgets.ToggleButtons(options=list(INITS), value="content", description="start")
    steps_slider = widgets.IntSlider(value=pick(60, 3), min=1, max=300, description="steps")
    size_slider = widgets.IntSlider(value=pick(128, 64), min=64, max=512, step=32, description="size (px)")
    preview_every_slider = widgets.IntSlider(value=pick(5, 1), min=1, max=50, description="redraw every")
    x_axis_picker = widgets.ToggleButtons(options=[("by iteration", "iteration"), ("by seconds", "elapsed")],
                                          value="iteration", description="x axis")
    run_button, stop_button, progress = run_stop_buttons()
    clear_button = widgets.Button(description="Clear curves", icon="trash")
    image_view = image_slot(256, text="the image appears here")
    curves_view = image_slot()
    demo = BackgroundDemo("Optimisers, live",
                          [[content_picker, style_picker], [optimizer_picker, learning_rate_slider],
                           [init_picker, steps_slider], [size_slider, preview_every_slider],
                           [run_button, stop_button, clear_button, x_axis_picker], progress, [image_view, curves_view]],
                          controls=dict(content_picker=content_picker, style_picker=style_picker,
                                        optimizer_picker=optimizer_picker, learning_rate_slider=learning_rate_slider,
                                        init_picker=init_picker, steps_slider=steps_slider, size_slider=size_slider,
                                        preview_every_slider=preview_every_slider, x_axis_picker=x_axis_picker,
                                        run_button=run_button, stop_button=stop_button, clear_button=clear_button,
                                        progress=progress, image_view=image_view, curves_view=curves_view))
    demo.histories = {}
    demo.result = None
    demo.previews = 0

    def draw_curves(_: Any = None) -> None:
        curves_view.value = figure_to_png(render_curves(demo.histories, x_axis_picker.value))

    def sync_learning_rate(_: Any = None) -> None:
        learning_rate_slider.disabled = optimizer_picker.value != "adam"  # L-BFGS chooses its own steps

    def on_start(run: Run) -> None:
        demo.previews = 0
        demo.status.value = "Loading VGG and computing the targets…"

    def on_progress(run: Run, event, image: np.ndarray | None) -> None:
        settings, label, history = run.context["settings"], run.context["label"], run.context["history"]
        history.append({"iteration": event.iteration, "elapsed": event.elapsed, **event.losses})
        if image is not None:
            draw_curves()
            demo.previews += 1
        demo.status.value = (f"{label}: iteration {event.iteration}/{settings['steps']}, total loss "
                             f"{event.losses['total']:.4g}, {event.elapsed:.1f} s")

    def on_result(run: Run, result) -> None:
        label, history = run.context["label"], run.context["history"]
        demo.result = result
        show_png(image_view, result.image)
        draw_curves()
        best = f", best total loss {min(h['total'] for h in history):.4g}" if history else ""
        if run.stopped:
            demo.status.value = (f"{label}: stopped after {result.iterations} iterations in {result.elapsed:.1f} s"
                                 f"{best}; the best image so far is kept.{notes_html(result)}")
        else:
            demo.status.value = (f"{label}: {result.iterations} iterations in {result.elapsed:.1f} s{best} "
                                 f"({result.message}); the image shown is the best one seen.{notes_html(result)}")

    def prepare() -> DemoJob:
        settings = run_settings(optimizer=optimizer_picker.value, learning_rate=learning_rate_slider.value,
                                steps=steps_slider.value, init=init_picker.value, size=size_slider.value)
        label = run_label(settings)
        if label in demo.histories:  # the same settings again: keep both curves apart
            label = f"{label} (#{sum(k.startswith(label) for k in demo.histories) + 1})"
        history: list = []
        demo.histories[label] = history
        c = load_example(content_picker.value, settings["size"])
        s = load_example(style_picker.value, settings["size"])
        return DemoJob(lambda callback: optimize_once(c, s, settings, callback),
                       preview_every=preview_every_slider.value, steps=settings["steps"], settings=settings,
                       label=label, history=history)

    demo.wire_run_stop(run_button, stop_button, prepare, progress=progress, preview_view=image_view,
                       on_start=on_start, on_progress=on_progress, on_result=on_result, preview_interval=0.0,
                       background=background, name="nst-optimisers")

    def clear(_: Any = None) -> None:
        demo.histories.clear()
        draw_curves()

    optimizer_picker.observe(sync_learning_rate, names="value")
    x_axis_picker.observe(draw_curves, names="value")
    clear_button.on_click(clear)
    sync_learning_rate()
    draw_curves()
    demo.status.value = "Choose the settings and press <i>Run</i>; every run is added to the curves."
    return demo
