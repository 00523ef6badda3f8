"""Demo for notebook 04: move the content/style ratio or a style layer's weight and *see* the picture change.

Every change starts a short, low-resolution :func:`nst_lib.stylize` run (128 px, single scale; 64 px and
a few steps in fast mode) in a background thread (:class:`~nst_lib.course.widgets.common.BackgroundRun`):
the picture updates while it optimises, a newer change cancels the older run, Stop keeps the best image,
and finished results are cached by their settings, so going back to a setting shows it at once.

Runs of one image shape reuse the value-and-gradient graph traced by the first run (the core keeps it),
so a slider move costs the optimisation, not a new trace; ``benchmarks/preview.py`` measures the time to
the first preview image.

Pure functions (:func:`preview_settings`, :func:`settings_key`, :func:`ratio_weights`) do the work and
are tested on their own; :func:`weights_preview_demo` only wires widgets to them.
"""
from __future__ import annotations

import html
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np

from ... import transfer
from ...config import GATYS_STYLE_LAYERS, StyleConfig, normalize_weights, pick
from ...images import image_to_png_bytes
from .common import (
    BackgroundDemo,
    BackgroundRun,
    Run,
    error_html,
    example_options,
    figure_to_png,
    image_slot,
    load_example,
    notes_html,
    show_png,
)
from .losses import render_loss_parts

__all__ = [
    "PREVIEW_SIZE_REAL",
    "PREVIEW_STEPS_REAL",
    "ratio_weights",
    "preview_settings",
    "settings_key",
    "CachedPreview",
    "WeightsPreviewDemo",
    "weights_preview_demo",
]

#: Long side of the preview runs (readers see 128 px; ``NST_FAST=1`` uses 64 px).
PREVIEW_SIZE_REAL = 128
#: L-BFGS iterations of one preview run (``NST_FAST=1`` uses 3).
PREVIEW_STEPS_REAL = 30
#: Finished previews kept (PNG bytes: a few tens of KB each).
CACHE_SIZE = 64
#: Display width of the loss chart, in pixels.
CHART_WIDTH = 360


def ratio_weights(ratio: float, style_weight: float = StyleConfig().style_weight) -> tuple[float, float]:
    """``(content_weight, style_weight)`` for a content/style ratio α/β, keeping the library's style weight.

    Only the ratio shapes the picture (L-BFGS is barely affected by scaling the whole objective), so the
    demo moves one number: ``content_weight = ratio · style_weight``.
    """
    if not ratio > 0:
        raise ValueError(f"the content/style ratio must be positive; got {ratio}")
    return float(ratio) * style_weight, style_weight


def preview_settings(*, ratio: float, style_layer_weights: Sequence[float], size: int, steps: int,
                     style_layers: Sequence[str] = GATYS_STYLE_LAYERS) -> dict[str, Any]:
    """Keyword arguments of :func:`nst_lib.stylize` for one preview, validated by :class:`nst_lib.StyleConfig`.

    Raises:
        InvalidSettingError: e.g. all style layer weights are zero (the message says so).
    """
    content_weight, style_weight = ratio_weights(ratio)
    settings = dict(size=int(size), steps=int(steps), scales=1, content_weight=content_weight,
                    style_weight=style_weight, style_layers=tuple(style_layers),
                    style_layer_weights=tuple(float(w) for w in style_layer_weights))
    config = StyleConfig(**settings)
    normalize_weights("style_layer_weights", config.style_layer_weights, len(config.style_layers))  # all zero?
    return settings


def settings_key(content: str, style: str, settings: dict[str, Any]) -> tuple:
    """A hashable cache key: the two images and the settings (floats rounded to 6 significant digits)."""

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, tuple):
            return tuple(rounded(v) for v in value)
        return value

    return (content, style, *sorted((k, rounded(v)) for k, v in settings.items()))


@dataclass
class CachedPreview:
    """A finished preview: what the demo shows for these settings."""

    image_png: bytes
    chart_png: bytes
    summary: str  # the status line
    image: np.ndarray


class WeightsPreviewDemo(BackgroundDemo):
    """The weights → image demo; controls and views are attributes (see :func:`weights_preview_demo`)."""

    def __init__(self, content: str = "grace_hopper", style: str = "swirls", *, size: int | None = None,
                 steps: int | None = None, background: bool = True, start: bool = True):
        self.size = int(size or pick(PREVIEW_SIZE_REAL, 64))
        self.steps = int(steps or pick(PREVIEW_STEPS_REAL, 3))
        self.content_picker = widgets.Dropdown(options=example_options(("content",)), value=f"content:{content}",
                                               description="content")
        self.style_picker = widgets.Dropdown(options=example_options(("style",)), value=f"style:{style}",
                                             description="style")
        defaults = StyleConfig()
        self.ratio_slider = widgets.FloatLogSlider(
            value=defaults.content_weight / defaults.style_weight, base=10, min=2, max=10, step=0.5,
            description="α/β", readout_format=".0e", continuous_update=False,
            tooltip="content_weight / style_weight: larger keeps more of the photo",
            style={"description_width": "40px"}, layout=widgets.Layout(width="420px"))
        self.style_sliders = {
            layer: widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.1, description=layer,
                                       continuous_update=False, readout_format=".1f",
                                       style={"description_width": "100px"})
            for layer in GATYS_STYLE_LAYERS
        }
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="warning", disabled=True,
                                          tooltip="stop now and keep the best image so far")
        self.progress = widgets.IntProgress(value=0, min=0, max=self.steps, description="progress")
        display = max(256, self.size)
        self.image_view = image_slot(display, text="the picture appears here")
        self.chart_view = image_slot(CHART_WIDTH, round(CHART_WIDTH * 272 / 448), text="loss per layer of the result")
        controls = widgets.VBox([widgets.HTML("<b>style layer weights w<sub>l</sub></b> (normalised to sum 1)"),
                                 *self.style_sliders.values()], layout=widgets.Layout(min_width="340px"))
        super().__init__("Weights → picture: move a slider, watch the stylization change", [
            [self.content_picker, self.style_picker], self.ratio_slider, [controls, self.image_view, self.chart_view],
            [self.stop_button, self.progress]])
        self.cache: OrderedDict[tuple, CachedPreview] = OrderedDict()
        self.result = None  # the last finished nst_lib.Result
        self.shown_from_cache = False  # whether the picture shown came from the cache
        self.background_run = BackgroundRun(self.status, on_start=self._on_start, on_progress=self._on_progress,
                                            on_result=self._on_result, on_end=self._on_end,
                                            background=background, name="nst-weights-preview")
        for control in (self.content_picker, self.style_picker, self.ratio_slider, *self.style_sliders.values()):
            control.observe(self.refresh, names="value")
        self.stop_button.on_click(lambda _: self.background_run.stop())
        if start:
            self.refresh()
        else:
            self.status.value = "Move a slider to start a preview."

    # ------------------------------------------------------------------------------------ settings
    def settings(self) -> dict[str, Any]:
        """The :func:`nst_lib.stylize` keyword arguments of the current slider positions."""
        return preview_settings(ratio=self.ratio_slider.value,
                                style_layer_weights=[s.value for s in self.style_sliders.values()],
                                size=self.size, steps=self.steps)

    def key(self) -> tuple:
        """The cache key of the current settings."""
        return settings_key(self.content_picker.value, self.style_picker.value, self.settings())

    # ---------------------------------------------------------------------------------------- run
    def refresh(self, _: Any = None) -> Run | None:
        """Show the cached picture of the current settings, or start a preview run (cancelling any older one)."""
        try:
            settings = self.settings()
        except Exception as exc:  # noqa: BLE001 - e.g. all layer weights zero: one line, no run
            self.background_run.cancel()
            self.stop_button.disabled = True
            self.status.value = error_html(exc)
            return None
        key = settings_key(self.content_picker.value, self.style_picker.value, settings)
        cached = self.cache.get(key)
        if cached is not None:
            self.background_run.cancel()  # an older run must not overwrite what is shown now
            self.stop_button.disabled = True
            self.cache.move_to_end(key)
            show_png(self.image_view, cached.image_png)
            show_png(self.chart_view, cached.chart_png or None)
            self.progress.value = self.progress.max
            self.shown_from_cache = True
            self.status.value = f"{cached.summary} <i>(from the cache: these settings ran before)</i>"
            return None
        content = load_example(self.content_picker.value, self.size)
        style = load_example(self.style_picker.value, self.size)

        def job(callback):
            return transfer.stylize(content, style, callback=callback, **settings)

        return self.background_run.start(job, key=key, settings=settings)

    def _on_start(self, run: Run) -> None:
        self.stop_button.disabled = False
        show_png(self.chart_view, None)  # the chart of the previous settings would mislead
        self.progress.max, self.progress.value = self.steps, 0
        settings = run.context["settings"]
        content_weight, style_weight = settings["content_weight"], settings["style_weight"]
        self.status.value = (f"Optimising at {self.size} px with content_weight {content_weight:.3g}, "
                             f"style_weight {style_weight:.3g}…")

    def _on_progress(self, run: Run, event, image: np.ndarray | None) -> None:
        self.progress.value = min(event.iteration, self.steps)
        if image is not None:
            show_png(self.image_view, image)
            self.shown_from_cache = False
        self.status.value = (f"iteration {event.iteration}/{self.steps}, total loss {event.losses['total']:.4g}, "
                             f"{event.elapsed:.1f} s (first picture {run.first_preview_seconds:.1f} s after the "
                             "change)")

    def _on_result(self, run: Run, result) -> None:
        settings = run.context["settings"]
        self.result = result
        parts = dict(result.history[-1]) if result.history else {}
        chart = b""
        if parts:
            chart = figure_to_png(render_loss_parts(parts, content_weight=settings["content_weight"],
                                                    style_weight=settings["style_weight"], tv_weight=0.0))
        image_png = image_to_png_bytes(result.image)
        show_png(self.image_view, image_png)
        show_png(self.chart_view, chart or None)
        self.shown_from_cache = False
        first = ("" if run.first_preview_seconds is None
                 else f"; first picture {run.first_preview_seconds:.1f} s after the change")
        how = (f"{result.iterations} iterations in {result.elapsed:.1f} s ({result.backbone.upper()}, "
               f"{self.size} px){first}")
        if run.stopped:
            self.status.value = f"Stopped after {how}; the best image so far is kept (not cached).{notes_html(result)}"
            return
        summary = f"{html.escape(result.message.capitalize())}: {how}.{notes_html(result)}"
        self.status.value = summary
        self.cache[run.context["key"]] = CachedPreview(image_png, chart, summary, result.image)
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    def _on_end(self, run: Run) -> None:
        self.stop_button.disabled = True


def weights_preview_demo(content: str = "grace_hopper", style: str = "swirls", *, background: bool = True,
                         start: bool = True) -> WeightsPreviewDemo:
    """A content/style ratio slider (log scale) and the five style layer weights; each change restyles.

    Attributes: ``content_picker``, ``style_picker``, ``ratio_slider`` (α/β = content_weight/style_weight),
    ``style_sliders`` (dict layer → slider), ``stop_button`` (controls); ``image_view`` (PNG of the live or
    final picture), ``chart_view`` (PNG: each layer's weighted loss for the final picture), ``progress``,
    ``status``; ``cache`` (settings key → :class:`CachedPreview`), ``result`` (the last
    :class:`nst_lib.Result`), ``background_run`` (its ``current`` :class:`Run` has the timings).

    Args:
        background: run in a thread, so the kernel stays free for the next slider move (tests pass False).
        start: start the first preview right away.
    """
    return WeightsPreviewDemo(content, style, background=background, start=start)
