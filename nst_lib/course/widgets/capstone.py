"""Demo for notebook 08: your own style transfer, run from a widget without blocking the kernel.

The learner's ``make_objective(content, style)`` and ``make_train_step(loss_fn, optimizer)`` (or the
reference solutions built on the learner's pieces, :mod:`nst_lib.course.pieces`; the ``label`` says which)
do the work; :func:`run_your_transfer` is the loop around
them — Adam with the TensorFlow tutorial's settings, from the content image — with the bookkeeping a long
run needs: the best image so far, a progress event after every step, a stop flag and a guard against a
loss that becomes NaN. The widget runs it through :class:`~nst_lib.course.widgets.common.BackgroundRun`
(a daemon thread), so the kernel stays free, the preview and the loss curve update as it goes, and Stop
ends the run with the best image. Tests build the demo with ``background=False``.
"""
from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import ipywidgets as widgets
import numpy as np

from ...config import TF_TUTORIAL, pick
from ...optimize import Iterate
from .common import (BackgroundDemo, DemoJob, ImageSource, Run, example_options, figure_to_png, image_slot,
                     run_stop_buttons, show_png)

__all__ = ["CapstoneResult", "run_your_transfer", "loss_curve_png", "CapstoneDemo", "capstone_demo"]


@dataclass
class CapstoneResult:
    """The outcome of :func:`run_your_transfer`."""

    image: np.ndarray  # the best image seen (the one with the lowest loss), float32 (H, W, 3)
    best_loss: float
    losses: list[float] = field(default_factory=list)  # the loss before each step, as train_step returns it
    stop_reason: str = "steps"  # "steps", "callback" (Stop) or "nonfinite"
    elapsed: float = 0.0

    @property
    def iterations(self) -> int:
        return len(self.losses)


def run_your_transfer(make_objective: Callable, make_train_step: Callable, content: np.ndarray,
                      style: np.ndarray, steps: int,
                      callback: Callable[[Iterate], bool | None] | None = None) -> CapstoneResult:
    """Notebook 08's loop around the learner's functions, with a best image, progress events and Stop.

    Starts from ``content`` with ``keras.optimizers.Adam`` set as in :data:`nst_lib.TF_TUTORIAL`, calls
    ``train_step(image)`` ``steps`` times and sends an :class:`~nst_lib.optimize.Iterate` after each step;
    a callback returning ``True`` stops the run. The loss ``train_step`` returns belongs to the image
    *before* the step, so that image is the one kept as the best.

    Args:
        make_objective: ``make_objective(content, style) -> objective``, ``objective(image) -> (total, parts)``.
        make_train_step: ``make_train_step(loss_fn, optimizer) -> train_step``.
        content, style: float32 (H, W, 3) images in [0, 1].
        steps: the number of Adam steps.
        callback: called with an ``Iterate`` after every step (``losses`` holds ``total``).
    """
    import keras
    import tensorflow as tf

    started = time.perf_counter()
    objective = make_objective(content, style)
    image = tf.Variable(np.asarray(content, np.float32)[np.newaxis])
    optimizer = keras.optimizers.Adam(learning_rate=TF_TUTORIAL["learning_rate"], beta_1=TF_TUTORIAL["adam_beta_1"],
                                      epsilon=TF_TUTORIAL["adam_epsilon"])
    train_step = make_train_step(lambda x: objective(x)[0], optimizer)
    result = CapstoneResult(image=np.asarray(content, np.float32).copy(), best_loss=math.inf)
    for iteration in range(1, int(steps) + 1):
        before = image.numpy()[0]
        loss = float(train_step(image))
        result.losses.append(loss)
        if not math.isfinite(loss):
            result.stop_reason = "nonfinite"
            break
        if loss < result.best_loss:
            result.best_loss, result.image = loss, before
        if callback is not None:
            event = Iterate(iteration=iteration, losses={"total": loss}, elapsed=time.perf_counter() - started,
                            shape=tuple(content.shape[:2]), image=lambda: image.numpy()[0].copy())
            if callback(event):
                result.stop_reason = "callback"
                break
    result.elapsed = time.perf_counter() - started
    return result


def loss_curve_png(losses: list[float], width: float = 4.0, label: str | None = None) -> bytes:
    """The loss per step on a log scale, as PNG bytes (pure; the demo shows it next to the preview).
    ``label`` says whose objective it is (``"yours"``, ``"reference"``, …), in the title."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 2.6), layout="constrained")
    ax = fig.subplots()
    values = [v for v in losses if math.isfinite(v) and v > 0]
    ax.semilogy(np.arange(len(values)), values, color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("total loss")
    ax.set_title(f"objective: {label}" if label else "objective")
    return figure_to_png(fig)


class CapstoneDemo(BackgroundDemo):
    """The capstone widget. Controls and views are attributes (see :func:`capstone_demo`)."""

    def __init__(self, make_objective: Callable, make_train_step: Callable, content: str = "grace_hopper",
                 style: str = "swirls", *, background: bool = True, label: str | None = None):
        self.make_objective, self.make_train_step = make_objective, make_train_step
        self.label = label  # whose functions these are ("yours", "reference", …); None: not said
        status = widgets.HTML("")
        self.content_source = ImageSource("content", example_options(("content",)), f"content:{content}", status)
        self.style_source = ImageSource("style", example_options(("style",)), f"style:{style}", status)
        wide = {"description_width": "110px"}
        self.size_slider = widgets.IntSlider(value=pick(256, 64), min=64, max=512, step=32, description="size (px)",
                                             style=wide)
        self.steps_slider = widgets.IntSlider(value=pick(150, 4), min=1, max=1000, description="steps", style=wide)
        self.run_button, self.stop_button, self.progress = run_stop_buttons()
        self.stop_button.tooltip = "stop after this step and keep the best image so far"
        self.preview = image_slot(320, text="the result appears here")
        self.curve = image_slot()
        super().__init__(f"Style transfer: {label}" if label else "Style transfer", [
            [self.content_source.picker, self.content_source.upload],
            [self.style_source.picker, self.style_source.upload],
            [self.size_slider, self.steps_slider], [self.run_button, self.stop_button, self.progress],
            [self.preview, self.curve]], status=status)
        self.result: CapstoneResult | None = None
        self._losses: list[float] = []
        self.wire_run_stop(self.run_button, self.stop_button, self._job, progress=self.progress,
                           preview_view=self.preview, on_start=self._on_start, on_progress=self._on_progress,
                           on_result=self._on_result, preview_interval=0.5, background=background, name="nst-capstone")
        whose = f" ({html.escape(label)})" if label else ""
        self.status.value = (f"Press <i>Run</i>: make_objective and make_train_step{whose} run in the background, "
                             "and <i>Stop</i> keeps the best image so far.")

    def start(self) -> Run | None:
        """Start a run (in a background thread unless ``background=False``); ignored while one runs."""
        return self.start_job()

    def _job(self) -> DemoJob:
        """The run of the current choices (a missing upload raises: one line, no run)."""
        size, steps = int(self.size_slider.value), int(self.steps_slider.value)
        content, style = self.content_source.image(size), self.style_source.image(size)

        def job(callback):
            return run_your_transfer(self.make_objective, self.make_train_step, content, style, steps, callback)

        return DemoJob(job, steps=steps)

    def _on_start(self, run: Run) -> None:
        self._losses = []
        self.status.value = "Building the objective (targets from the two images) and compiling the train step…"

    def _on_progress(self, run: Run, event: Iterate, image: np.ndarray | None) -> None:
        self._losses.append(event.losses["total"])
        if image is not None:  # throttled by BackgroundRun: the first step, then at most every 0.5 s
            show_png(self.curve, loss_curve_png(self._losses, label=self.label))
        self.status.value = (f"step {event.iteration}/{run.context['steps']}, loss {event.losses['total']:.4g}, "
                             f"{event.elapsed:.0f} s")

    def _on_result(self, run: Run, result: CapstoneResult) -> None:
        self.result = result
        show_png(self.preview, result.image)
        if result.losses:
            show_png(self.curve, loss_curve_png(result.losses, label=self.label))
        how = {"steps": "finished", "callback": "stopped; the best image so far is kept",
               "nonfinite": "the loss became NaN or infinite; the best finite image is kept"}[result.stop_reason]
        self.status.value = (f"{html.escape(how.capitalize())}: {result.iterations} steps in {result.elapsed:.1f} s, "
                             f"best loss {result.best_loss:.4g}.")


def capstone_demo(make_objective: Callable, make_train_step: Callable, content: str = "grace_hopper",
                  style: str = "swirls", *, background: bool = True, label: str | None = None) -> CapstoneDemo:
    """Build notebook 08's demo around the learner's ``make_objective`` and ``make_train_step``.

    Attributes: ``content_source`` and ``style_source`` (example pickers with uploads), ``size_slider``,
    ``steps_slider``, ``run_button``, ``stop_button`` (controls); ``preview`` (the live, then the best
    image), ``curve`` (the loss per step), ``progress``, ``status``; ``result`` (the last
    :class:`CapstoneResult`). Methods ``start()``, ``stop()``, ``wait(timeout)``; property ``running``.

    Args:
        background: run in a thread so that the kernel stays free and Stop works (tests pass False).
        label: whose functions these are, shown in the title, the status and the loss curve's title
            (notebook 08 passes ``Pieces.label``: ``"yours"``, ``"reference"`` or how many are yours).
    """
    return CapstoneDemo(make_objective, make_train_step, content, style, background=background, label=label)
