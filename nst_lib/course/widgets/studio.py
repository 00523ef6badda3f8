"""Demo for notebook 06: the style-transfer studio.

Upload a content photo and a style image (or pick bundled examples), set the weights and the size, press
Run and watch a live preview; Stop keeps the best image so far; Download saves the result as a PNG.

In a real Jupyter kernel a button click is only handled while the kernel is free, so the studio runs
:func:`nst_lib.stylize` in a background thread (:class:`~nst_lib.course.widgets.common.BackgroundRun`):
the Stop click then reaches the run's callback, which returns ``True`` and makes ``stylize`` return its
best image. Tests build the studio with ``background=False`` (or call :meth:`StudioDemo.wait`) to run
synchronously.

Pure functions (:func:`~nst_lib.course.widgets.common.decode_upload`, :func:`studio_settings`,
:func:`download_html`, :func:`decode_download`) do the work and are tested on their own.
"""
from __future__ import annotations

import base64
import html
import re
from typing import Any

import ipywidgets as widgets
import numpy as np

from ... import transfer
from ...config import StyleConfig, pick
from ...images import image_to_png_bytes, load_image
from .common import (
    UPLOADED,
    BackgroundDemo,
    DemoJob,
    ImageSource,
    Run,
    decode_upload,
    example_options,
    image_slot,
    notes_html,
    run_stop_buttons,
    show_png,
)

__all__ = [
    "UPLOADED",
    "decode_upload",
    "studio_settings",
    "download_html",
    "decode_download",
    "StudioDemo",
    "studio_demo",
]

def studio_settings(*, size: int, steps: int, content_weight: float, style_weight: float, tv_weight: float,
                    optimizer: str = "lbfgs", scales: int | None = None) -> dict[str, Any]:
    """Keyword arguments for :func:`nst_lib.stylize`, validated by :class:`nst_lib.StyleConfig`.

    ``scales=None`` keeps the library's default (``StyleConfig().scales``).

    Raises:
        InvalidSettingError: a value is out of range (the message names it).
    """
    settings = dict(size=int(size), steps=int(steps), content_weight=float(content_weight),
                    style_weight=float(style_weight), tv_weight=float(tv_weight), optimizer=optimizer,
                    scales=StyleConfig.scales if scales is None else int(scales))
    StyleConfig(**settings)  # validates, so the studio reports bad values before loading VGG
    return settings


def download_html(image: np.ndarray, filename: str = "stylized.png") -> str:
    """An HTML link that downloads ``image`` as a PNG (a ``data:`` URI: works in any browser, no server)."""
    png = image_to_png_bytes(image)
    payload = base64.b64encode(png).decode("ascii")
    height, width = image.shape[:2]
    name = html.escape(filename, quote=True)
    return (f"<a download='{name}' href='data:image/png;base64,{payload}' target='_blank'>"
            f"⬇ Download {name} ({width}×{height} px, {len(png) / 1024:.0f} KB)</a>")


def decode_download(link_html: str) -> np.ndarray:
    """The image inside a :func:`download_html` link (for tests and for checking a download)."""
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", link_html)
    if match is None:
        raise ValueError("no PNG data URI in this HTML")
    return load_image(base64.b64decode(match.group(1)))


class StudioDemo(BackgroundDemo):
    """The studio widget. Controls and views are attributes (see :func:`studio_demo`)."""

    def __init__(self, content: str = "grace_hopper", style: str = "swirls", *, background: bool = True):
        self.background = background
        status = widgets.HTML("")
        self.content_source = ImageSource("content", example_options(("content",)), f"content:{content}", status)
        self.style_source = ImageSource("style", example_options(("style",)), f"style:{style}", status)
        self.content_picker, self.content_upload = self.content_source.picker, self.content_source.upload
        self.style_picker, self.style_upload = self.style_source.picker, self.style_source.upload
        defaults = StyleConfig()
        wide = {"description_width": "110px"}
        self.size_slider = widgets.IntSlider(value=pick(384, 64), min=64, max=1024, step=32,
                                             description="size (px)", style=wide)
        self.steps_slider = widgets.IntSlider(value=pick(100, 4), min=1, max=1000, description="steps", style=wide)
        self.content_weight_slider = widgets.FloatLogSlider(value=defaults.content_weight, base=10, min=0, max=8,
                                                            description="content_weight", style=wide)
        self.style_weight_slider = widgets.FloatLogSlider(value=defaults.style_weight, base=10, min=-6, max=2,
                                                          description="style_weight", style=wide)
        self.tv_weight_slider = widgets.SelectionSlider(options=[0.0, 1e2, 1e4, 1e6, 1e8], value=defaults.tv_weight,
                                                        description="tv_weight", style=wide)
        self.preview_every_slider = widgets.IntSlider(value=pick(10, 1), min=1, max=100, description="preview every",
                                                      style=wide)
        self.run_button, self.stop_button, self.progress = run_stop_buttons()
        self.inputs_view = widgets.HBox([image_slot(160, text="content"), image_slot(160, text="style")])
        self.preview = image_slot(384, text="the result appears here")
        self.download = widgets.HTML()
        super().__init__("Style-transfer studio", [
            [self.content_picker, self.content_upload], [self.style_picker, self.style_upload], self.inputs_view,
            [self.size_slider, self.steps_slider], [self.content_weight_slider, self.style_weight_slider],
            [self.tv_weight_slider, self.preview_every_slider], [self.run_button, self.stop_button, self.progress],
            self.preview, self.download], status=status)
        self.result = None  # the last nst_lib.Result
        self.wire_run_stop(self.run_button, self.stop_button, self._job, progress=self.progress,
                           preview_view=self.preview, on_start=self._on_start, on_progress=self._on_progress,
                           on_result=self._on_result, preview_interval=0.0, background=background, name="nst-studio")
        self.content_source.observe(self._show_inputs)
        self.style_source.observe(self._show_inputs)
        self._show_inputs()
        self.status.value = "Pick or upload two images, then press <i>Run</i>."

    # ------------------------------------------------------------------------------------- inputs
    def images(self) -> tuple[np.ndarray, np.ndarray]:
        """The current (content, style) pair at the chosen size: bundled examples or the uploaded files."""
        size = self.size_slider.value
        return self.content_source.image(size), self.style_source.image(size)

    def _show_inputs(self, _: Any = None) -> None:
        def draw() -> None:
            for view, source in zip(self.inputs_view.children, (self.content_source, self.style_source)):
                show_png(view, source.image(160))

        self.run(draw)

    # ---------------------------------------------------------------------------------------- run
    @property
    def previews(self) -> int:
        """Live preview images drawn during the last run."""
        run = self.background_run.current
        return 0 if run is None else run.previews

    def start(self) -> Run | None:
        """Start a run (in a background thread unless ``background=False``); ignored while one runs."""
        return self.start_job()

    def _job(self) -> DemoJob:
        """The run of the current settings (bad settings or a missing upload raise: one line, no run)."""
        settings = studio_settings(size=self.size_slider.value, steps=self.steps_slider.value,
                                   content_weight=self.content_weight_slider.value,
                                   style_weight=self.style_weight_slider.value,
                                   tv_weight=float(self.tv_weight_slider.value))
        content, style = self.images()

        def job(callback):
            return transfer.stylize(content, style, callback=callback, **settings)

        return DemoJob(job, preview_every=self.preview_every_slider.value, steps=settings["steps"])

    def _on_start(self, run: Run) -> None:
        self.download.value = ""
        self.status.value = "Loading VGG and computing the style targets…"

    def _on_progress(self, run: Run, event, image: np.ndarray | None) -> None:
        steps = run.context["steps"]
        height, width = event.shape
        self.status.value = (f"iteration {event.iteration}/{steps} at {width}×{height} px (scale "
                             f"{event.scale + 1} of {event.scales}), total loss {event.losses['total']:.4g}, "
                             f"{event.elapsed:.0f} s")

    def _on_result(self, run: Run, result) -> None:
        self.result = result
        show_png(self.preview, result.image)
        self.download.value = download_html(result.image)
        height, width = result.image.shape[:2]
        kept = "the best image so far is kept" if result.stop_reason == "callback" else "best image shown"
        self.status.value = (f"{html.escape(result.message.capitalize())} after {result.iterations} iterations in "
                             f"{result.elapsed:.1f} s ({width}×{height} px, {result.backbone.upper()}); {kept}."
                             + notes_html(result))


def studio_demo(content: str = "grace_hopper", style: str = "swirls", *, background: bool = True) -> StudioDemo:
    """Build the studio.

    Attributes: ``content_picker``, ``style_picker`` (examples or ``"upload"``), ``content_upload``,
    ``style_upload`` (FileUpload), ``size_slider``, ``steps_slider``, ``content_weight_slider``,
    ``style_weight_slider``, ``tv_weight_slider``, ``preview_every_slider``, ``run_button``,
    ``stop_button`` (controls); ``inputs_view``, ``preview`` (PNG of the live or final image),
    ``download`` (HTML link), ``progress``, ``status``; ``result`` (the last :class:`nst_lib.Result`).
    Methods ``start()``, ``stop()``, ``wait(timeout)``; property ``running``.

    Args:
        background: run ``stylize`` in a thread so that Stop works in Jupyter (tests pass False).
    """
    return StudioDemo(content, style, background=background)
