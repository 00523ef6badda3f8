"""Demo for notebook 07: toggles for the perceptual controls that go beyond Gatys et al. 2016.

Colour preservation (``preserve_colors``), a second style blended in (``style_blend``), the style's
scale (``style_scale``), a spatial mask (``mask``: guided Gram matrices) and coarse-to-fine
optimisation (``scales``), on bundled or uploaded images, with a drawn or an uploaded mask. Pure
functions (:func:`make_mask`, :func:`uploaded_mask`, :func:`control_settings`, :func:`render_controlled`)
do the work; :func:`controls_demo` only wires toggles to them, and every run is one call of
:func:`nst_lib.stylize` in a background thread (Stop keeps the best image so far).
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...images import load_image, load_mask, resize_to
from ... import transfer
from ...config import COLOR_MODES, pick
from ...errors import InvalidSettingError
from ...images import preset_mask
from ..viz import show_images
from .common import (
    BackgroundDemo,
    Demo,
    DemoJob,
    ImageSource,
    Run,
    example_options,
    figure_to_png,
    image_slot,
    load_example,
    notes_html,
    run_stop_buttons,
    show_png,
)

__all__ = ["MASKS", "NO_STYLE", "make_mask", "uploaded_mask", "control_settings", "render_controlled",
           "controls_demo"]

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


def uploaded_mask(content: bytes, height: int, width: int) -> tuple[np.ndarray, str]:
    """An uploaded mask file as a (height, width) float32 mask in [0, 1], and a note if it was stretched.

    The mask is read at its own size with :func:`nst_lib.images.load_mask` (grey levels: white = the first
    style) and resized to the image; a different aspect ratio is stretched, and the note says so.

    Raises:
        InvalidImageError: the file is not an image.
    """
    source_height, source_width = load_image(content).shape[:2]
    mask = load_mask(content, source_height, source_width)
    note = ""
    if (source_height, source_width) != (height, width):
        if abs((source_width / source_height) / (width / height) - 1.0) > 0.02:
            note = (f"the mask ({source_width}×{source_height}) was stretched to the image ({width}×{height}); "
                    "draw it with the photo's proportions to avoid that")
        mask = resize_to(np.repeat(mask[..., np.newaxis], 3, axis=-1), height, width)[..., 0]
    return np.ascontiguousarray(np.clip(mask, 0.0, 1.0), dtype=np.float32), note


def _validate_mask(content: bytes) -> None:
    uploaded_mask(content, 16, 16)


def controls_demo(content: str = "grace_hopper", style: str = "swirls", second_style: str = "stained_glass", *,
                  background: bool = True) -> Demo:
    """Pick (or upload) the photo and the style; toggle colour preservation, a second style, style scale, a
    mask (a shape or an uploaded mask) and multi-scale; Run. The run goes on in a background thread with a
    progress bar; Stop keeps the best image so far.

    Attributes: ``content_source``, ``style_source`` (:class:`ImageSource`: ``.picker`` and ``.upload``),
    ``content_picker``, ``style_picker``, ``content_upload``, ``style_upload`` (their widgets),
    ``colors_toggle``, ``second_style_picker`` (a style name or ``"none"``), ``blend_slider``,
    ``style_scale_slider``, ``mask_source`` (shapes of :data:`MASKS` or an uploaded mask), ``mask_picker``,
    ``mask_upload``, ``scales_slider``, ``size_slider``, ``steps_slider``, ``run_button``, ``stop_button``
    (controls); ``progress``; ``result_view`` (PNG of the result at its own size), ``figure_view`` (PNG of
    inputs and result), ``settings`` (the stylize options of the last run), ``result``, ``status``,
    ``background_run``; ``wait(timeout)``.

    Args:
        background: run in a thread, so Stop works in Jupyter (tests may pass False to run synchronously).
    """
    style_names = [key.split(":", 1)[1] for _, key in example_options(("style",))]
    status = widgets.HTML("")
    content_source = ImageSource("content", example_options(("content",)), f"content:{content}", status)
    style_source = ImageSource("style", example_options(("style",)), f"style:{style}", status)
    mask_source = ImageSource("mask", [(m, m) for m in MASKS], "none", status, validate=_validate_mask,
                              upload_label="uploaded mask")
    colors_toggle = widgets.ToggleButtons(options=list(COLOR_MODES), value="none", description="colours")
    second_style_picker = widgets.Dropdown(options=[NO_STYLE, *style_names], value=NO_STYLE,
                                           description="2nd style")
    blend_slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="2nd share")
    style_scale_slider = widgets.FloatSlider(value=1.0, min=0.25, max=2.0, step=0.25, description="style scale")
    scales_slider = widgets.IntSlider(value=1, min=1, max=3, description="scales")
    size_slider = widgets.IntSlider(value=pick(256, 64), min=64, max=768, step=32, description="size (px)")
    steps_slider = widgets.IntSlider(value=pick(80, 3), min=1, max=500, description="steps")
    run_button, stop_button, progress = run_stop_buttons()
    result_view = image_slot(256, text="the result appears here")
    figure_view = image_slot()
    demo = BackgroundDemo("Beyond Gatys: colour, blends, scale, masks, multi-scale",
                          [[content_source.picker, content_source.upload], [style_source.picker, style_source.upload],
                           [colors_toggle], [second_style_picker, blend_slider], [style_scale_slider],
                           [mask_source.picker, mask_source.upload], [scales_slider, size_slider, steps_slider],
                           [run_button, stop_button, progress], figure_view, result_view], status=status,
                          controls=dict(content_source=content_source, style_source=style_source, mask_source=mask_source,
                                        content_picker=content_source.picker, style_picker=style_source.picker,
                                        content_upload=content_source.upload, style_upload=style_source.upload,
                                        mask_picker=mask_source.picker, mask_upload=mask_source.upload,
                                        colors_toggle=colors_toggle, second_style_picker=second_style_picker,
                                        blend_slider=blend_slider, style_scale_slider=style_scale_slider,
                                        scales_slider=scales_slider, size_slider=size_slider, steps_slider=steps_slider,
                                        run_button=run_button, stop_button=stop_button, progress=progress,
                                        result_view=result_view, figure_view=figure_view))
    demo.settings, demo.result = {}, None

    def sync(_: Any = None) -> None:
        blend_slider.disabled = second_style_picker.value == NO_STYLE
        if demo.error_shown or any(source.reported for source in (content_source, style_source, mask_source)):
            return  # keep an error or an upload's message until the next run
        status.value = _hint(mask_source.picker.value, second_style_picker.value != NO_STYLE)

    def on_start(run: Run) -> None:
        demo.error_shown = False
        for source in (content_source, style_source, mask_source):
            source.reported = False
        status.value = f"Running {run.context['steps']} steps at {run.context['size']} px…"

    def on_progress(run: Run, event, image: np.ndarray | None) -> None:
        height, width = event.shape
        status.value = (f"iteration {event.iteration}/{run.context['steps']} at {width}×{height} px (scale "
                        f"{event.scale + 1} of {event.scales}), total loss {event.losses['total']:.4g}, "
                        f"{event.elapsed:.0f} s")

    def on_result(run: Run, result) -> None:
        context = run.context
        demo.result = result
        show_png(result_view, result.image)
        figure_view.value = figure_to_png(render_controlled(context["photo"], context["styles"], context["mask"],
                                                            result.image, context["labels"]))
        shown = html.escape(", ".join(f"{k}={v}" for k, v in context["settings"].items()))
        notes = "".join(f" Note: {html.escape(n)}." for n in context["notes"]) + notes_html(result)
        if run.stopped:
            status.value = (f"Stopped after {result.iterations} iterations in {result.elapsed:.1f} s with {shown}; "
                            f"the best image so far is kept.{notes}")
        else:
            status.value = f"Done: {result.iterations} iterations in {result.elapsed:.1f} s with {shown}.{notes}"

    def prepare() -> DemoJob:
        size = size_slider.value
        two = second_style_picker.value != NO_STYLE
        mask_kind = MASKS[0] if mask_source.uploaded else mask_source.picker.value
        settings = control_settings(preserve_colors=colors_toggle.value, second_style=two,
                                    blend=blend_slider.value, style_scale=style_scale_slider.value,
                                    mask=mask_kind, scales=scales_slider.value)
        photo = content_source.image(size)
        styles = [style_source.image(size)]
        labels = [style_source.label]
        if two:
            styles.append(load_example(f"style:{second_style_picker.value}", size))
            labels.append(second_style_picker.value)
        notes: list[str] = []
        if mask_source.uploaded:
            mask, note = uploaded_mask(mask_source.uploaded_bytes(), *photo.shape[:2])
            notes += [note] if note else []
            settings["mask"] = f"uploaded {mask_source.file_name}"
        else:
            mask = make_mask(mask_kind, *photo.shape[:2])
        demo.settings = dict(settings)
        options = {k: v for k, v in settings.items() if k != "mask"}
        steps = steps_slider.value
        return DemoJob(lambda callback: transfer.stylize(photo, styles if two else styles[0], mask=mask, size=size,
                                                         steps=steps, callback=callback, **options),
                       steps=steps, size=size, settings=settings, photo=photo, styles=styles, labels=labels,
                       mask=mask, notes=notes)

    demo.wire_run_stop(run_button, stop_button, prepare, progress=progress, preview_view=result_view,
                       on_start=on_start, on_progress=on_progress, on_result=on_result, background=background,
                       name="nst-controls")

    second_style_picker.observe(sync, names="value")
    mask_source.observe(sync)
    sync()
    return demo


def _hint(mask: str, two_styles: bool) -> str:
    if mask == "none":
        return "Press <i>Run</i>."
    where = "the second style fills the black part" if two_styles else "the black part keeps the photo"
    return f"Press <i>Run</i>. Mask: the first style goes where the mask is white; {where}."
