"""Demo for notebook 07: toggles for the perceptual controls that go beyond Gatys et al. 2016.

Colour preservation (``preserve_colors``), a second style blended in (``style_blend``), the style's
scale (``style_scale``), a spatial mask (``mask``: guided Gram matrices) and coarse-to-fine
optimisation (``scales``). Pure functions (:func:`make_mask`, :func:`control_settings`,
:func:`render_controlled`) do the work; :func:`controls_demo` only wires toggles to them, and every run
is one call of :func:`nst_lib.stylize`.
"""
from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...config import COLOR_MODES, pick
from ...errors import InvalidSettingError
from ...images import image_to_png_bytes, preset_mask
from ..viz import show_images
from .common import Demo, example_options, figure_to_png, load_example

__all__ = ["MASKS", "NO_STYLE", "make_mask", "control_settings", "render_controlled", "controls_demo"]

#: Mask shapes offered by the demo (white = the first style, black = the second style or the plain photo).
MASKS = ("none", "left half", "right half", "centre disc", "top half")
#: The second-style picker's value for "no second style".
NO_STYLE = "none"


def make_mask(kind: str, height: int, width: int) -> np.ndarray | None:
    """A (height, width) float32 mask in [0, 1] of one of the :data:`MASKS` shapes (``None`` for "none"),
    drawn by :func:`nst_lib.images.preset_mask` (soft edges, so the two regions blend instead of meeting
    at a seam)."""
    if kind not in MASKS:
        raise InvalidSettingError(f"mask must be one of {', '.join(MASKS)}; got {kind!r}")
    return None if kind == "none" else preset_mask(kind, height, width)


def control_settings(*, preserve_colors: str = "none", second_style: bool = False, blend: float = 0.5,
                     style_scale: float = 1.0, mask: str = "none", scales: int = 1) -> dict[str, Any]:
    """The :func:`nst_lib.stylize` options of the demo's toggles (images and mask array not included).

    Args:
        preserve_colors: ``"none"``, ``"luminance"`` or ``"histogram"``.
        second_style: whether a second style image is used.
        blend: the second style's share of the blend (0 … 1); without a mask the Gram targets are mixed
            ``(1 − blend)·A₁ + blend·A₂``, with a mask each style gets its region and the blend weighs
            the two guided losses.
        style_scale: the style image's size relative to the output (>1: larger strokes).
        mask: one of :data:`MASKS`.
        scales: coarse-to-fine levels.
    """
    if preserve_colors not in COLOR_MODES:
        raise InvalidSettingError(f"preserve_colors must be one of {', '.join(COLOR_MODES)}; got {preserve_colors!r}")
    if mask not in MASKS:
        raise InvalidSettingError(f"mask must be one of {', '.join(MASKS)}; got {mask!r}")
    settings: dict[str, Any] = dict(preserve_colors=preserve_colors, style_scale=float(style_scale), scales=int(scales))
    if second_style:
        if not 0.0 <= blend <= 1.0:
            raise InvalidSettingError(f"blend must be between 0 and 1; got {blend}")
        settings["style_blend"] = (1.0 - float(blend), float(blend))
    return settings


def render_controlled(content: np.ndarray, styles: list[np.ndarray], mask: np.ndarray | None,
                      result: np.ndarray, style_labels: list[str] | None = None) -> Figure:
    """The inputs (content, style(s), mask) and the result side by side."""
    images = [content, *styles]
    titles = ["content", *(style_labels or [f"style {i + 1}" for i in range(len(styles))])]
    if mask is not None:
        framed = np.repeat(np.asarray(mask, np.float32)[..., None], 3, axis=-1)
        framed[[0, -1], :] = framed[:, [0, -1]] = 0.5  # a grey frame, so a white region stays visible
        images.append(framed)
        titles.append("mask (white: style 1)")
    images.append(result)
    titles.append("result")
    return show_images(images, titles, ncols=len(images), size=2.4)


def controls_demo(content: str = "grace_hopper", style: str = "swirls", second_style: str = "stained_glass") -> Demo:
    """Toggles for colour preservation, a second style, style scale, a mask and multi-scale; Run.

    Attributes: ``colors_toggle``, ``second_style_picker`` (a style name or ``"none"``), ``blend_slider``,
    ``style_scale_slider``, ``mask_picker``, ``scales_slider``, ``size_slider``, ``steps_slider``,
    ``run_button`` (controls); ``result_view`` (PNG of the result at its own size), ``figure_view``
    (PNG of inputs and result), ``settings`` (the stylize options of the last run), ``result``, ``status``.
    """
    style_names = [key.split(":", 1)[1] for _, key in example_options(("style",))]
    colors_toggle = widgets.ToggleButtons(options=list(COLOR_MODES), value="none", description="colours")
    second_style_picker = widgets.Dropdown(options=[NO_STYLE, *style_names], value=NO_STYLE,
                                           description="2nd style")
    blend_slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="2nd share")
    style_scale_slider = widgets.FloatSlider(value=1.0, min=0.25, max=2.0, step=0.25, description="style scale")
    mask_picker = widgets.Dropdown(options=list(MASKS), value="none", description="mask")
    scales_slider = widgets.IntSlider(value=1, min=1, max=3, description="scales")
    size_slider = widgets.IntSlider(value=pick(256, 64), min=64, max=768, step=32, description="size (px)")
    steps_slider = widgets.IntSlider(value=pick(80, 3), min=1, max=500, description="steps")
    run_button = widgets.Button(description="Run", icon="play", button_style="primary")
    result_view = widgets.Image(format="png", layout=widgets.Layout(width="256px"))
    figure_view = widgets.Image(format="png")
    demo = Demo("Beyond Gatys: colour, blends, scale, masks, multi-scale",
                [[colors_toggle], [second_style_picker, blend_slider], [style_scale_slider, mask_picker],
                 [scales_slider, size_slider, steps_slider], [run_button], figure_view, result_view])
    for name, control in dict(colors_toggle=colors_toggle, second_style_picker=second_style_picker,
                              blend_slider=blend_slider, style_scale_slider=style_scale_slider,
                              mask_picker=mask_picker, scales_slider=scales_slider, size_slider=size_slider,
                              steps_slider=steps_slider, run_button=run_button, result_view=result_view,
                              figure_view=figure_view).items():
        setattr(demo, name, control)
    demo.settings, demo.result = {}, None

    def sync(_: Any = None) -> None:
        blend_slider.disabled = second_style_picker.value == NO_STYLE
        mask = mask_picker.value
        two = second_style_picker.value != NO_STYLE
        where = ("the second style fills the black part" if two else "the black part keeps the photo")
        demo.status.value = ("Press <i>Run</i>." if mask == "none" else
                             f"Press <i>Run</i>. Mask: the first style goes where the mask is white; {where}.")

    def run(_: Any = None) -> None:
        def go() -> None:
            from ...transfer import stylize

            size = size_slider.value
            two = second_style_picker.value != NO_STYLE
            settings = control_settings(preserve_colors=colors_toggle.value, second_style=two,
                                        blend=blend_slider.value, style_scale=style_scale_slider.value,
                                        mask=mask_picker.value, scales=scales_slider.value)
            photo = load_example(f"content:{content}", size)
            styles = [load_example(f"style:{style}", size)]
            labels = [style]
            if two:
                styles.append(load_example(f"style:{second_style_picker.value}", size))
                labels.append(second_style_picker.value)
            mask = make_mask(mask_picker.value, *photo.shape[:2])
            demo.settings = dict(settings)
            demo.status.value = f"Running {steps_slider.value} steps at {size} px…"
            run_button.disabled = True
            started = time.perf_counter()
            try:
                result = stylize(photo, styles if two else styles[0], mask=mask, size=size,
                                 steps=steps_slider.value, **settings)
            finally:
                run_button.disabled = False
            demo.result = result
            result_view.value = image_to_png_bytes(result.image)
            figure_view.value = figure_to_png(render_controlled(photo, styles, mask, result.image, labels))
            shown = ", ".join(f"{k}={v}" for k, v in settings.items())
            demo.status.value = f"Done in {time.perf_counter() - started:.1f} s with {shown}."

        demo.run(go)

    second_style_picker.observe(sync, names="value")
    mask_picker.observe(sync, names="value")
    run_button.on_click(run)
    sync()
    return demo
