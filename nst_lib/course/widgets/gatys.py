"""Demo for notebook 11: Gatys et al.'s recipe with α/β on the paper's scale.

Pick a photo and a style (or upload them), set α/β, the pooling, the rescaled network and the start, and
press Run: :func:`nst_lib.stylize` runs L-BFGS in a background thread with a live preview; Stop keeps the
best image so far. :func:`gatys_settings` (pure, tested) turns the controls into ``stylize`` options: on the
rescaled network the paper's α/β becomes our weights exactly (:func:`nst_lib.course.experiments.paper_weights`);
on the Keras network there is no exact conversion, and the demo says that it uses notebook 06's
chosen-by-eye constant instead.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np

from ... import transfer
from ...config import INITS, POOLINGS, StyleConfig, pick
from ..experiments import GATYS_STYLE_LAYERS, RATIO_CALIBRATION, paper_ratio_to_weights, paper_weights
from .common import (BackgroundDemo, Demo, DemoJob, ImageSource, Run, example_options, figure_to_png, image_slot,
                     notes_html, run_stop_buttons, show_png)

__all__ = ["gatys_settings", "weights_sentence", "gatys_demo"]

#: the α/β slider's range, as powers of ten (the paper's Figure 4 spans 1e-5 … 1e-2)
EXPONENTS = (-6.0, -1.0)


def gatys_settings(*, alpha_over_beta: float, height: int, width: int, pooling: str = "avg",
                   rescale_network: bool = True, init: str = "noise", size: int = 192, steps: int = 100) -> dict[str, Any]:
    """``stylize`` options for the paper's recipe at ``alpha_over_beta`` (content at conv4_2, the five style
    layers, L-BFGS, one scale), validated by :class:`~nst_lib.config.StyleConfig`.

    ``height`` and ``width`` are the result's (the exact conversion counts conv4_2's positions).

    Raises:
        InvalidSettingError: a value is out of range (the message names it).
    """
    weights = (paper_weights(alpha_over_beta, height, width) if rescale_network
               else paper_ratio_to_weights(alpha_over_beta))
    settings = dict(size=int(size), steps=int(steps), optimizer="lbfgs", scales=1, tv_weight=0.0, init=init,
                    content_layers=("conv4_2",), style_layers=GATYS_STYLE_LAYERS, pooling=pooling,
                    rescale_network=bool(rescale_network), **weights)
    StyleConfig(**settings)
    return settings


def weights_sentence(settings: dict[str, Any], alpha_over_beta: float) -> str:
    """One line: what α/β became, and how (exactly, or through notebook 06's constant)."""
    ratio = settings["content_weight"] / settings["style_weight"]
    if settings["rescale_network"]:
        how = "exactly (2·N·M·α/β on the rescaled network)"
    else:
        how = f"through notebook 06's chosen-by-eye constant ({RATIO_CALIBRATION:g}·α/β): the Keras network has no exact conversion"
    return f"α/β = {alpha_over_beta:.3g} → content_weight / style_weight = {ratio:.4g}, {how}"


def _render(photo: np.ndarray, painting: np.ndarray, result: np.ndarray, title: str) -> bytes:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for ax, image, label in zip(axes, (photo, painting, result), ("content", "style", "result")):
        ax.imshow(np.clip(image, 0, 1))
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    png = figure_to_png(fig)
    plt.close(fig)
    return png


def gatys_demo(content: str = "grace_hopper", style: str = "swirls", *, background: bool = True) -> Demo:
    """The paper's recipe with its own α/β: pick the images, α/β, pooling, rescaled network and start; Run.

    Attributes: ``content_source``, ``style_source`` (:class:`ImageSource`), ``exponent_slider`` (log10 of
    α/β), ``pooling_toggle``, ``rescale_checkbox``, ``init_toggle``, ``size_slider``, ``steps_slider``,
    ``run_button``, ``stop_button``, ``progress``, ``result_view``, ``figure_view``, ``settings`` (the options
    of the last run), ``result``, ``status``, ``background_run``; ``wait(timeout)``.
    """
    status = widgets.HTML("")
    content_source = ImageSource("content", example_options(("content",)), f"content:{content}", status)
    style_source = ImageSource("style", example_options(("style",)), f"style:{style}", status)
    exponent_slider = widgets.FloatSlider(value=-3.0, min=EXPONENTS[0], max=EXPONENTS[1], step=0.5,
                                          description="log₁₀ α/β", readout_format=".1f")
    pooling_toggle = widgets.ToggleButtons(options=list(POOLINGS), value="avg", description="pooling")
    rescale_checkbox = widgets.Checkbox(value=True, description="rescaled network (the paper's)",
                                       style={"description_width": "initial"}, indent=False)
    init_toggle = widgets.ToggleButtons(options=[i for i in INITS if i != "recolored"], value="noise", description="start")
    size_slider = widgets.IntSlider(value=pick(192, 64), min=64, max=512, step=32, description="size (px)")
    steps_slider = widgets.IntSlider(value=pick(100, 3), min=1, max=500, description="steps")
    run_button, stop_button, progress = run_stop_buttons()
    result_view = image_slot(256, text="the result appears here")
    figure_view = image_slot()
    controls = dict(content_source=content_source, style_source=style_source, exponent_slider=exponent_slider,
                    pooling_toggle=pooling_toggle, rescale_checkbox=rescale_checkbox, init_toggle=init_toggle,
                    size_slider=size_slider, steps_slider=steps_slider, run_button=run_button, stop_button=stop_button,
                    progress=progress, result_view=result_view, figure_view=figure_view)
    demo = BackgroundDemo("Gatys et al., faithfully: α/β on the paper's scale",
                          [[content_source.picker, content_source.upload], [style_source.picker, style_source.upload],
                           [exponent_slider], [pooling_toggle], [rescale_checkbox], [init_toggle],
                           [size_slider, steps_slider], [run_button, stop_button, progress], figure_view, result_view],
                          status=status, controls=controls)
    demo.settings, demo.result = {}, None
    status.value = "Press <i>Run</i>. The first run with the rescaled network measures its means (or reads them from the cache)."

    def on_start(run: Run) -> None:
        status.value = f"Running {run.context['steps']} L-BFGS iterations at {run.context['size']} px…"

    def on_progress(run: Run, event, image: np.ndarray | None) -> None:
        status.value = (f"iteration {event.iteration}/{run.context['steps']}, total loss {event.losses['total']:.4g}, "
                        f"{event.elapsed:.0f} s")

    def on_result(run: Run, result) -> None:
        demo.result = result
        show_png(result_view, result.image)
        figure_view.value = _render(run.context["photo"], run.context["painting"], result.image, run.context["sentence"])
        ended = "Stopped" if run.stopped else "Done"
        status.value = (f"{ended}: {result.iterations} iterations in {result.elapsed:.1f} s. "
                        f"{html.escape(run.context['sentence'])}.{notes_html(result)}")

    def prepare() -> DemoJob:
        size = size_slider.value
        photo, painting = content_source.image(size), style_source.image(size)
        ratio = float(10.0 ** exponent_slider.value)
        settings = gatys_settings(alpha_over_beta=ratio, height=photo.shape[0], width=photo.shape[1],
                                  pooling=pooling_toggle.value, rescale_network=rescale_checkbox.value,
                                  init=init_toggle.value, size=size, steps=steps_slider.value)
        demo.settings = dict(settings)
        return DemoJob(lambda callback: transfer.stylize(photo, painting, callback=callback, **settings),
                       steps=settings["steps"], size=size, photo=photo, painting=painting,
                       sentence=weights_sentence(settings, ratio))

    demo.wire_run_stop(run_button, stop_button, prepare, progress=progress, preview_view=result_view,
                       on_start=on_start, on_progress=on_progress, on_result=on_result, background=background,
                       name="nst-gatys")
    return demo
