"""Demos for notebook 00 (pick a content/style pair, preview a tiny stylize) and notebook 01 (an image
as a tensor: size, channels and VGG preprocessing statistics).

Pure functions (``render_*``, :func:`preprocessed_statistics`, :func:`preview_stylize`) do the work;
:func:`tour_demo` and :func:`images_demo` only wire widgets to them.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...backbone import FeatureExtractor
from ... import transfer
from ...config import pick
from ...images import describe_image, load_image
from ..viz import show_images
from .common import (
    BackgroundDemo,
    Demo,
    DemoJob,
    Run,
    demo_size,
    error_html,
    example_options,
    figure_to_png,
    image_slot,
    load_example,
    notes_html,
    run_stop_buttons,
    show_png,
    stats_table_html,
)

__all__ = [
    "render_pair",
    "preview_stylize",
    "tour_demo",
    "render_channels",
    "preprocessed_statistics",
    "statistics_html",
    "images_demo",
]


# ------------------------------------------------------------------------------ notebook 00: tour
def render_pair(content: np.ndarray, style: np.ndarray, titles: tuple[str, str] = ("content", "style")) -> Figure:
    """The content and the style image side by side."""
    return show_images([content, style], list(titles), size=3.0)


def preview_stylize(content: np.ndarray, style: np.ndarray, *, size: int, steps: int,
                    callback: Callable | None = None):
    """A short single-scale :func:`nst_lib.stylize` run (L-BFGS, default weights) for a quick look."""
    return transfer.stylize(content, style, size=size, steps=steps, scales=1, callback=callback)


def tour_demo(content: str = "grace_hopper", style: str = "swirls", *, background: bool = True) -> Demo:
    """Pick a bundled content photo and style image, see them side by side, and preview a tiny stylize.

    The preview runs in a background thread with a progress bar (the kernel stays free); Stop keeps the
    best image so far.

    Attributes: ``content_picker``, ``style_picker``, ``steps_slider``, ``preview_button``, ``stop_button``
    (controls); ``progress``; ``pair_view`` and ``result_view`` (PNG images), ``status``, ``result``,
    ``background_run``; ``wait(timeout)``.

    Args:
        background: run the preview in a thread (tests may pass False to run it synchronously).
    """
    preview_size = pick(128, 64)
    content_picker = widgets.Dropdown(options=example_options(("content",)), value=f"content:{content}",
                                      description="content")
    style_picker = widgets.Dropdown(options=example_options(("style",)), value=f"style:{style}", description="style")
    steps_slider = widgets.IntSlider(value=pick(20, 3), min=1, max=100, description="steps",
                                     continuous_update=False)
    preview_button, stop_button, progress = run_stop_buttons("Preview", f"a short stylize at {preview_size} px")
    pair_view = image_slot()
    result_view = image_slot(256, text="press Preview")
    demo = BackgroundDemo("Pick a content photo and a style image",
                          [[content_picker, style_picker], [steps_slider, preview_button, stop_button, progress],
                           [pair_view, result_view]])
    demo.content_picker, demo.style_picker = content_picker, style_picker
    demo.steps_slider, demo.preview_button, demo.stop_button = steps_slider, preview_button, stop_button
    demo.progress = progress
    demo.pair_view, demo.result_view = pair_view, result_view
    demo.preview_size = preview_size
    demo.result = None

    def images() -> tuple[np.ndarray, np.ndarray]:
        return load_example(content_picker.value, demo_size()), load_example(style_picker.value, demo_size())

    def on_start(run: Run) -> None:
        demo.status.value = "Loading VGG and computing the targets…"

    def on_progress(run: Run, event, image: np.ndarray | None) -> None:
        demo.status.value = (f"iteration {event.iteration}/{run.context['steps']}, "
                             f"total loss {event.losses['total']:.3g}, {event.elapsed:.0f} s")

    def on_result(run: Run, result) -> None:
        demo.result = result
        show_png(result_view, result.image)
        height, width = result.image.shape[:2]
        done = "Stopped" if run.stopped else "Done"
        kept = "; the best image so far is kept" if run.stopped else f" ({result.message})"
        demo.status.value = (f"{done}: {width}×{height} px, {result.iterations} iterations in "
                             f"{result.elapsed:.1f} s with {result.backbone.upper()}{kept}.{notes_html(result)}")

    def prepare() -> DemoJob:
        c, s = images()
        steps = steps_slider.value
        return DemoJob(lambda callback: preview_stylize(c, s, size=preview_size, steps=steps, callback=callback),
                       steps=steps)

    runner = demo.wire_run_stop(preview_button, stop_button, prepare, progress=progress, preview_view=result_view,
                                on_start=on_start, on_progress=on_progress, on_result=on_result, restart=True,
                                background=background, name="nst-tour")

    def show_pair(_: Any = None) -> None:
        def draw() -> None:
            runner.cancel()  # a preview of the old pair must not land next to the new one
            c, s = images()
            names = (content_picker.value.split(":")[1], style_picker.value.split(":")[1])
            pair_view.value = figure_to_png(render_pair(c, s, names))
            show_png(result_view, None)
            preview_button.disabled, stop_button.disabled = False, True
            demo.result = None
            demo.status.value = f"Press <i>Preview</i> for {steps_slider.value} steps at {preview_size} px."

        demo.run(draw)

    content_picker.observe(show_pair, names="value")
    style_picker.observe(show_pair, names="value")
    show_pair()
    return demo


# ------------------------------------------------------------------------- notebook 01: images
def render_channels(image: np.ndarray, title: str | None = None) -> Figure:
    """The image and its red, green and blue channels, each as a grey picture of that channel's values."""
    image = np.asarray(image, np.float32)
    fig = Figure(figsize=(10.5, 3.0), layout="constrained")
    axes = fig.subplots(1, 4)
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title(title or "image", fontsize=10)
    for ax, channel, name in zip(axes[1:], range(3), ("red", "green", "blue")):
        shown = ax.imshow(image[..., channel], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name} channel [{channel}]", fontsize=10)
    fig.colorbar(shown, ax=list(axes[1:]), shrink=0.8, label="value")
    for ax in axes:
        ax.axis("off")
    return fig


@functools.lru_cache(maxsize=1)
def _preprocessor():
    return FeatureExtractor(["block1_conv1"], weights=None)  # only its preprocess() is used: no weights needed


def preprocessed_statistics(image: np.ndarray) -> dict[str, Any]:
    """Statistics of an image and of its VGG input (:meth:`nst_lib.FeatureExtractor.preprocess`).

    Returns:
        ``{"image_shape", "tensor_shape", "dtype", "image": {R, G, B: (min, max, mean)},
        "preprocessed": {B, G, R: (min, max, mean)}}`` — the VGG input is in BGR order.
    """
    image = np.asarray(image, np.float32)
    tensor = _preprocessor().preprocess(image[np.newaxis]).numpy()

    def describe(values: np.ndarray, names: str) -> dict[str, tuple[float, float, float]]:
        return {n: (float(values[..., i].min()), float(values[..., i].max()), float(values[..., i].mean()))
                for i, n in enumerate(names)}

    return {
        "image_shape": tuple(image.shape),
        "tensor_shape": tuple(tensor.shape),
        "dtype": str(tensor.dtype),
        "image": describe(image, "RGB"),
        "preprocessed": describe(tensor[0], "BGR"),
    }


def statistics_html(stats: dict[str, Any]) -> str:
    """The statistics of :func:`preprocessed_statistics` as two small tables."""
    image_rows = [(name, *values) for name, values in stats["image"].items()]
    vgg_rows = [(name, *values) for name, values in stats["preprocessed"].items()]
    return (
        stats_table_html(("channel", "min", "max", "mean"), image_rows,
                         f"image: shape {stats['image_shape']}, values in [0, 1]")
        + stats_table_html(("channel", "min", "max", "mean"), vgg_rows,
                           f"VGG input: shape {stats['tensor_shape']} {stats['dtype']}, BGR, ×255, means removed")
    )


def images_demo(example: str = "astronaut") -> Demo:
    """Pick (or upload) an image, change its size, see its channels and its preprocessed statistics.

    Attributes: ``source_picker``, ``upload``, ``size_slider`` (controls); ``channels_view`` (PNG),
    ``stats_view`` (HTML), ``image`` (the current float32 array), ``status``.
    """
    options = example_options()
    value = next((key for _, key in options if key.endswith(f":{example}")), options[0][1])
    source_picker = widgets.Dropdown(options=options, value=value, description="image")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload")
    size_slider = widgets.IntSlider(value=demo_size(), min=32, max=pick(1024, 256), step=16,
                                    description="long side", continuous_update=False)
    channels_view = image_slot()
    stats_view = widgets.HTML()
    demo = Demo("An image as a tensor", [[source_picker, upload, size_slider], channels_view, stats_view])
    demo.source_picker, demo.upload, demo.size_slider = source_picker, upload, size_slider
    demo.channels_view, demo.stats_view = channels_view, stats_view
    demo.image = None
    uploaded: dict[str, Any] = {}  # name and bytes of the last upload, while it is the chosen source

    def load() -> tuple[np.ndarray, str]:
        if uploaded:
            return load_image(uploaded["content"], size_slider.value), uploaded["name"]
        return load_example(source_picker.value, size_slider.value), source_picker.value.split(":")[1]

    def refresh(_: Any = None) -> None:
        def draw() -> None:
            image, name = load()
            demo.image = image
            channels_view.value = figure_to_png(render_channels(image, name))
            stats_view.value = statistics_html(preprocessed_statistics(image))
            demo.status.value = f"{name}: {describe_image(image)}"

        demo.run(draw)

    def on_pick(_: Any = None) -> None:
        uploaded.clear()
        refresh()

    def on_upload(change: dict) -> None:
        files = change["new"]
        if not files:
            return
        first = files[0]
        try:
            image = load_image(bytes(first["content"]), size_slider.value)  # validate before switching source
        except Exception as exc:  # noqa: BLE001 - any unreadable upload is reported in one line
            demo.status.value = error_html(exc)
            return
        del image
        uploaded.update(name=first.get("name", "upload"), content=bytes(first["content"]))
        refresh()

    source_picker.observe(on_pick, names="value")
    size_slider.observe(refresh, names="value")
    upload.observe(on_upload, names="value")
    refresh()
    return demo
