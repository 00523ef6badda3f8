"""Notebook 10's widgets: a training panel that runs in the background, and the fast-transfer demo.

* :class:`TrainingRun` trains a network with :func:`nst_lib.fast.train_fast` in a background thread, so the
  kernel stays free: its panel shows a progress bar, the loss curve and the network's output on held-out
  photos as training goes on; **Stop** ends training after the current step and keeps the network.
  :meth:`TrainingRun.result` waits for the end (interrupting the kernel while it waits stops training too).
* :func:`fast_demo`: pick or upload a photo, stylize it in one pass with a trained model, and blend the
  output with the photo with a slider (instant: the stylized image is computed once per photo and size).

Pure functions (:func:`blend`, :func:`render_fast`, :func:`curve_png`, :func:`snapshots_png`) do the work
and are tested on their own; the widgets only wire them.
"""
from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np

from ...fast_settings import TrainSettings
from ...fast import train_fast
from ...data import list_content_images
from ...fast_data import HELD_OUT_PHOTOS
from .studio import decode_upload
from ...data import content_image
from ...images import resize_long_side
from ...fast import FastModel, ModelFileError
from ...config import pick
from ...images import image_to_png_bytes, load_image
from .common import Demo, error_html, figure_to_png

__all__ = ["blend", "render_fast", "curve_png", "snapshots_png", "TrainingRun", "FastDemo", "fast_demo"]

#: The demo's output sizes (long side, px): 512 for readers, 64 in fast mode.
DEMO_SIZES_REAL = (256, 384, 512, 768)
DEMO_SIZES_FAST = (64, 96)


# ------------------------------------------------------------------------------------------ pure functions
def blend(stylized: np.ndarray, photo: np.ndarray, amount: float) -> np.ndarray:
    """``amount`` of the stylized image over the photo: 0 → the photo, 1 → the network's output."""
    if not 0.0 <= float(amount) <= 1.0:
        raise ValueError(f"the blend amount must be between 0 and 1, got {amount}")
    if stylized.shape != photo.shape:
        raise ValueError(f"the stylized image {stylized.shape} and the photo {photo.shape} must have the same shape")
    return (float(amount) * stylized + (1.0 - float(amount)) * photo).astype(np.float32)


def render_fast(model, photo: np.ndarray) -> tuple[np.ndarray, float]:
    """``model.stylize(photo)`` and the seconds it took (one forward pass)."""
    start = time.perf_counter()
    out = model.stylize(photo)
    return out, time.perf_counter() - start


def curve_png(history: Sequence[dict], title: str = "training loss", *, content_weight: float | None = None,
              style_weight: float | None = None) -> bytes:
    """PNG of the total loss and its style and content terms against the step (faint: each step's value,
    bold: the mean of the last 10 steps). With the weights given, the terms are weighted (they add up to
    the total, without TV); otherwise they are the raw losses."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.0))
    ax = fig.add_subplot()
    if history:
        steps = np.array([h["step"] for h in history])
        weights = {"total": 1.0, "style": style_weight, "content": content_weight}
        for key, colour in (("total", "k"), ("style", "tab:blue"), ("content", "tab:orange")):
            values = np.array([h[key] for h in history], dtype=float)
            weight = weights[key]
            label = key if key == "total" else (f"{weight:g} × {key}" if weight is not None else f"{key} (unweighted)")
            values = values * (1.0 if weight is None else weight)
            window = min(10, len(values))
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(steps, values, colour, alpha=0.2, linewidth=0.8)
            ax.plot(steps[window - 1:], smooth, colour, label=label)
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return figure_to_png(fig)


def snapshots_png(snapshots: Sequence[tuple[int, Sequence[np.ndarray]]], photos: Sequence[np.ndarray]) -> bytes:
    """PNG grid: one row per held-out photo, the photo then the network's output at each snapshot step."""
    from matplotlib.figure import Figure

    columns = 1 + len(snapshots)
    fig = Figure(figsize=(1.9 * columns, 1.9 * max(1, len(photos))))
    axes = fig.subplots(max(1, len(photos)), columns, squeeze=False)
    for row, photo in enumerate(photos):
        axes[row][0].imshow(photo)
        axes[row][0].set_title("photo (held out)" if row == 0 else "", fontsize=8)
        for col, (step, outputs) in enumerate(snapshots, start=1):
            axes[row][col].imshow(np.clip(outputs[row], 0, 1))
            axes[row][col].set_title(f"step {step}" if row == 0 else "", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    return figure_to_png(fig)


# ------------------------------------------------------------------------------------------ training panel
@dataclass
class TrainingRun:
    """Train a fast-transfer network in a background thread, with a live panel (see the module docstring).

    Args:
        style: the style image (anything :func:`nst_lib.load_image` reads).
        photos: held-out photos to show the network's output on as training goes on.
        snapshot_steps: the steps at which to stylize ``photos`` (the last step is always added).
        background: run in a thread (``False``: :meth:`start` trains before returning, for tests).
        **options: passed to :func:`nst_lib.train_fast` (settings, ``output``, ``resume``, …).
    """

    style: Any
    photos: Sequence[np.ndarray] = ()
    snapshot_steps: Sequence[int] = ()
    background: bool = True
    options: dict = field(default_factory=dict)
    history: list = field(default_factory=list, init=False)
    snapshots: list = field(default_factory=list, init=False)
    model: Any = field(default=None, init=False)
    error: BaseException | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_draw = 0.0
        self.progress = widgets.IntProgress(min=0, max=1, description="step 0")
        self.label = widgets.HTML("")
        self.stop_button = widgets.Button(description="Stop", icon="stop", tooltip="end training after this step")
        self.stop_button.on_click(lambda _: self.stop())
        self.curve = widgets.Image(format="png")
        self.gallery = widgets.Image(format="png")
        self.panel = widgets.VBox([widgets.HBox([self.progress, self.stop_button, self.label]),
                                   widgets.HBox([self.curve]), self.gallery])

    def _on_step(self, event) -> bool:
        self.history.append({"step": event.step, **event.losses})
        steps = event.steps
        self.progress.max = steps if steps else max(1, round(event.time_budget or 1))
        self.progress.value = event.step if steps else min(self.progress.max, round(event.elapsed))
        self.progress.description = f"step {event.step}"
        self.label.value = html.escape(f"loss {event.losses['total']:.4g}   {event.elapsed:.0f} s")
        last = steps is not None and event.step >= steps
        if event.step in set(self.snapshot_steps) or last:
            self.snapshots.append((event.step, [event.stylize(p) for p in self.photos]))
            if self.photos:
                self.gallery.value = snapshots_png(self.snapshots, self.photos)
        if time.perf_counter() - self._last_draw > 2.0 or last:
            self._draw_curve()
        return self._stop.is_set()

    def _draw_curve(self) -> None:
        self._last_draw = time.perf_counter()
        base = self.options.get("settings") or TrainSettings()
        known = {k: v for k, v in self.options.items() if k in ("content_weight", "style_weight") and v is not None}
        weights = base.replace(**known) if known else base
        self.curve.value = curve_png(self.history, content_weight=weights.content_weight,
                                     style_weight=weights.style_weight)

    def _train(self) -> None:
        try:
            self.model = train_fast(self.style, callback=self._on_step, **self.options)
            if self.photos and self.model.steps and (not self.snapshots or self.snapshots[-1][0] != self.model.steps):
                self.snapshots.append((self.model.steps, [self.model.stylize(p) for p in self.photos]))
                self.gallery.value = snapshots_png(self.snapshots, self.photos)
            self._draw_curve()
            self.label.value = html.escape(f"{self.model.message}: {self.model.steps} steps, "
                                           f"{self.model.train_seconds:.0f} s of training")
        except Exception as exc:  # noqa: BLE001 - shown in the panel as one line, and re-raised by result()
            self.error = exc
            self.label.value = error_html(exc)
        finally:
            self.stop_button.disabled = True

    def start(self) -> "TrainingRun":
        """Start training (in the background unless ``background=False``); returns self."""
        if self._thread is not None:
            raise RuntimeError("this run has already been started; make a new TrainingRun")
        self._thread = threading.Thread(target=self._train, daemon=True, name="nst-train-fast")
        if self.background:
            self._thread.start()
        else:
            self._thread.run()
        return self

    def stop(self) -> None:
        """End training after the current step (the network trained so far is kept)."""
        self._stop.set()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def result(self):
        """Wait for training to end and return the :class:`~nst_lib.fast.FastModel`.

        Interrupting the kernel while waiting (■ in Jupyter) stops training after the current step.
        """
        if self._thread is None:
            raise RuntimeError("call start() first")
        try:
            while self._thread.is_alive():
                self._thread.join(0.2)
        except KeyboardInterrupt:
            self.stop()
            self._thread.join()
        if self.error is not None:
            raise self.error
        return self.model


# ------------------------------------------------------------------------------------------ demo
def _photo_options() -> list[tuple[str, str]]:
    names = list(HELD_OUT_PHOTOS) + [n for n in list_content_images() if n not in HELD_OUT_PHOTOS]
    return [(f"{n} ({'held out' if n in HELD_OUT_PHOTOS else 'seen in training'})", n) for n in names] + [
        ("uploaded photo", "upload")]


class FastDemo(Demo):
    """Stylize a photo in one pass with a trained model; a slider blends the output with the photo."""

    def __init__(self, model, photo: str = "grace_hopper"):
        self.model = model
        sizes = pick(DEMO_SIZES_REAL, DEMO_SIZES_FAST)
        self.photo_picker = widgets.Dropdown(options=_photo_options(), value=photo, description="photo")
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload")
        self.size_picker = widgets.Dropdown(options=list(sizes), value=sizes[min(2, len(sizes) - 1)],
                                            description="size")
        self.blend_slider = widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="style",
                                                continuous_update=True, readout_format=".2f")
        self.view = widgets.Image(format="png")
        self._uploaded: np.ndarray | None = None
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray, float]] = {}
        super().__init__(
            "Fast style transfer: one forward pass per photo",
            [[self.photo_picker, self.upload], [self.size_picker, self.blend_slider], self.view],
        )
        self.photo_picker.observe(lambda _: self.refresh(), "value")
        self.size_picker.observe(lambda _: self.refresh(), "value")
        self.blend_slider.observe(lambda _: self.refresh(), "value")
        self.upload.observe(self._on_upload, "value")
        self.refresh()

    def _on_upload(self, change) -> None:
        def read():
            decoded = decode_upload(change["new"])
            if decoded is not None:
                self._uploaded = decoded[0]
                self.photo_picker.value = "upload"
                self.refresh()

        self.run(read)

    def _stylized(self) -> tuple[np.ndarray, np.ndarray, float]:
        key = (self.photo_picker.value, self.size_picker.value, id(self._uploaded))
        if key not in self._cache:
            if self.photo_picker.value == "upload":
                if self._uploaded is None:
                    raise ValueError("upload a photo first (the Upload button), or pick one of the examples")
                photo = resize_long_side(self._uploaded, self.size_picker.value)
            else:
                photo = content_image(self.photo_picker.value, self.size_picker.value)
            stylized, seconds = render_fast(self.model, photo)
            self._cache = {key: (photo, stylized, seconds)}  # one entry: the blend slider reuses it
        return self._cache[key]

    def refresh(self) -> None:
        def draw():
            photo, stylized, seconds = self._stylized()
            self.view.value = image_to_png_bytes(blend(stylized, photo, self.blend_slider.value))
            h, w = photo.shape[:2]
            self.status.value = html.escape(
                f"{w}×{h} px stylized in {seconds:.2f} s (one forward pass; the model trained "
                f"{self.model.steps} steps). Slider: 0 = the photo, 1 = the network's output.")

        self.run(draw)


def fast_demo(model=None, photo: str = "grace_hopper") -> FastDemo:
    """The notebook 10 demo. ``model``: a :class:`~nst_lib.fast.FastModel` or a ``.keras`` path made by
    ``nst train`` (default: ``outputs/fast/swirls.keras`` from ``make fast-model``)."""
    if model is None:
        default = Path("outputs") / "fast" / "swirls.keras"
        candidates = [default, Path.cwd().parent / default, Path(__file__).resolve().parents[3] / default]
        model = next((p for p in candidates if p.is_file()), None)
        if model is None:
            raise ModelFileError(f"no model given, and {default} does not exist (in the working folder or the "
                                 "repository); train it with `make fast-model`, or pass one: fast_demo(model)")
    if isinstance(model, (str, Path)):
        model = FastModel.load(model)
    return FastDemo(model, photo)
