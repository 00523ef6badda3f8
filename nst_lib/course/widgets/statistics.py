"""Demo for notebook 09 ("What is style?"): pick a style statistic, a style image and the style layers; see
the texture that statistic synthesises from noise next to the style transfer it makes, side by side.

Run starts one background job (:class:`~nst_lib.course.widgets.common.BackgroundRun`): first the texture
(``content_weight=0``, noise start), then the transfer onto the chosen photo, both with
:func:`nst_lib.stylize` and the statistic's default ``style_weight``. The pictures update while they
optimise; Stop ends the current phase with its best image and skips what is left; a new Run cancels the
old one.

Pure functions (:func:`statistics_settings`, :func:`synthesise_and_transfer`, :func:`pair_summary`) do the
work and are tested on their own; :func:`statistics_demo` only wires widgets to them.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np

from ... import transfer
from ...config import DEFAULT_STYLE_WEIGHTS, GATYS_STYLE_LAYERS, STYLE_LOSSES, StyleConfig, pick
from .common import (BackgroundDemo, DemoJob, Run, example_options, image_slot, load_example, run_stop_buttons,
                     show_png)

__all__ = [
    "STATISTIC_LABELS",
    "statistics_settings",
    "PairResult",
    "synthesise_and_transfer",
    "pair_summary",
    "StatisticsDemo",
    "statistics_demo",
]

#: Menu labels of the style statistics (``StyleConfig.style_loss`` values).
STATISTIC_LABELS = {
    "gram": "Gram matrix (Gatys et al.)",
    "mean_std": "mean and std per channel (AdaIN)",
    "wasserstein": "Wasserstein-2, Gaussian fit",
    "sliced_wasserstein": "sliced Wasserstein (Heitz et al.)",
}
#: Long side of the demo's pictures (64 px with ``NST_FAST=1``).
SIZE_REAL = 128
#: L-BFGS iterations of each phase (3 with ``NST_FAST=1``): a texture from noise needs more than a transfer.
TEXTURE_STEPS_REAL, TRANSFER_STEPS_REAL = 100, 60


def statistics_settings(statistic: str, layers: Sequence[str], *, kind: str, size: int, steps: int) -> dict[str, Any]:
    """Keyword arguments of :func:`nst_lib.stylize` for one phase, validated by :class:`nst_lib.StyleConfig`.

    Args:
        statistic: a ``StyleConfig.style_loss`` name.
        layers: the style layers (at least one).
        kind: ``"texture"`` (no content term, noise start: the statistic alone makes the picture) or
            ``"transfer"`` (the library's defaults: content term, recoloured start).
        size, steps: long side in pixels and L-BFGS iterations.

    Raises:
        InvalidSettingError: an unknown statistic, no layer, … (one line saying what is allowed).
        ValueError: an unknown ``kind``.
    """
    if kind not in ("texture", "transfer"):
        raise ValueError(f"kind must be 'texture' or 'transfer'; got {kind!r}")
    settings: dict[str, Any] = dict(style_loss=statistic, style_layers=tuple(layers), size=int(size),
                                    steps=int(steps), scales=1)
    if kind == "texture":
        settings.update(content_weight=0.0, content_layers=(), init="noise")
    config = StyleConfig(**settings)  # validates: unknown statistic, no layers, …
    settings["style_weight"] = config.style_weight  # the statistic's default, shown in the status line
    return settings


@dataclass
class PairResult:
    """The two results of one demo run (``None`` for a phase that did not run)."""

    texture: Any = None  # nst_lib.Result
    transfer: Any = None
    stopped: bool = False


def synthesise_and_transfer(content: np.ndarray, style: np.ndarray, statistic: str, layers: Sequence[str], *,
                            size: int, texture_steps: int, transfer_steps: int,
                            callback: Callable[[Any], bool] | None = None,
                            on_phase: Callable[[str], None] | None = None) -> PairResult:
    """A texture from noise, then a transfer onto ``content``, both with ``statistic`` at ``layers``.

    ``callback`` receives every iteration's event (return ``True`` to stop: the phase keeps its best image
    and the transfer is skipped if the texture was stopped); ``on_phase("texture" | "transfer")`` is
    called before each phase.
    """
    out = PairResult()
    for kind, steps in (("texture", texture_steps), ("transfer", transfer_steps)):
        settings = statistics_settings(statistic, layers, kind=kind, size=size, steps=steps)
        if on_phase is not None:
            on_phase(kind)
        source = style if kind == "texture" else content  # a texture's "content" only sets its shape
        result = transfer.stylize(source, style, callback=callback, **settings)
        setattr(out, kind, result)
        if result.stop_reason == "callback":
            out.stopped = True
            break
    return out


def _seconds_per_iteration(result) -> float | None:
    """Median time between successive iterations (the first one also traces the graph, so it is left out)."""
    times = [entry["elapsed"] for entry in result.history]
    if len(times) < 3:
        return None
    return float(np.median(np.diff(times[1:])))


def pair_summary(pair: PairResult, statistic: str) -> str:
    """One status line (HTML): what ran, how many iterations, seconds per iteration, the final style loss."""
    pieces = []
    for kind in ("texture", "transfer"):
        result = getattr(pair, kind)
        if result is None:
            pieces.append(f"{kind}: skipped")
            continue
        per = _seconds_per_iteration(result)
        timing = f", {per:.2f} s/iteration" if per is not None else ""
        style_loss = result.history[-1]["style"] if result.history else float("nan")
        pieces.append(f"{kind}: {result.iterations} iterations{timing}, style loss {style_loss:.4g}")
    note = " Stopped: the best images so far are shown." if pair.stopped else ""
    return html.escape(f"{STATISTIC_LABELS.get(statistic, statistic)} — " + "; ".join(pieces) + ".") + note


class StatisticsDemo(BackgroundDemo):
    """The statistic → texture and transfer demo; controls and views are attributes (see :func:`statistics_demo`)."""

    def __init__(self, statistic: str = "sliced_wasserstein", style: str = "swirls", content: str = "grace_hopper", *,
                 size: int | None = None, texture_steps: int | None = None, transfer_steps: int | None = None,
                 background: bool = True):
        self.size = int(size or pick(SIZE_REAL, 64))
        self.texture_steps = int(texture_steps or pick(TEXTURE_STEPS_REAL, 3))
        self.transfer_steps = int(transfer_steps or pick(TRANSFER_STEPS_REAL, 3))
        self.statistic_picker = widgets.Dropdown(
            options=[(STATISTIC_LABELS[name], name) for name in STYLE_LOSSES], value=statistic,
            description="statistic", style={"description_width": "70px"}, layout=widgets.Layout(width="360px"))
        self.style_picker = widgets.Dropdown(options=example_options(("style",)), value=f"style:{style}",
                                             description="style", style={"description_width": "70px"})
        self.content_picker = widgets.Dropdown(options=example_options(("content",)), value=f"content:{content}",
                                               description="photo", style={"description_width": "70px"})
        self.layer_boxes = {layer: widgets.Checkbox(value=True, description=layer, indent=False,
                                                    layout=widgets.Layout(width="120px"))
                            for layer in GATYS_STYLE_LAYERS}
        self.run_button, self.stop_button, self.progress = run_stop_buttons(
            "Run", "synthesise the texture, then the transfer")
        self.stop_button.tooltip = "stop now and keep the best images so far"
        self.progress.max = self.texture_steps + self.transfer_steps  # two phases: counted here, not per run
        display = max(256, self.size)
        self.style_view = image_slot(display // 2, text="style")
        self.texture_view = image_slot(display, text="texture from noise")
        self.transfer_view = image_slot(display, text="transfer")
        self.weight_note = widgets.HTML("")
        layers_row = widgets.HBox([widgets.HTML("<b>style layers</b>&nbsp;"), *self.layer_boxes.values()])
        captions = widgets.HBox([widgets.HTML(f"<div style='width:{display // 2}px'>style</div>"),
                                 widgets.HTML(f"<div style='width:{display}px'>texture (statistic alone, from noise)</div>"),
                                 widgets.HTML(f"<div style='width:{display}px'>transfer onto the photo</div>")])
        super().__init__("What is style? One statistic: its texture and its transfer", [
            [self.statistic_picker, self.style_picker, self.content_picker], layers_row,
            [self.run_button, self.stop_button, self.progress], self.weight_note, captions,
            [self.style_view, self.texture_view, self.transfer_view]])
        self.pair: PairResult | None = None  # the last finished run
        # restart: Run cancels an older run (the choices changed); the progress bar spans both phases (on_progress)
        self.wire_run_stop(self.run_button, self.stop_button, self._job, on_start=self._on_start,
                           on_progress=self._on_progress, on_result=self._on_result, restart=True,
                           background=background, name="nst-statistics")
        for control in (self.statistic_picker, self.style_picker):
            control.observe(self._show_choice, names="value")
        self._show_choice()
        self.status.value = "Pick a statistic, a style and layers, then press Run."

    def layers(self) -> tuple[str, ...]:
        """The ticked style layers."""
        return tuple(layer for layer, box in self.layer_boxes.items() if box.value)

    def _show_choice(self, _: Any = None) -> None:
        show_png(self.style_view, load_example(self.style_picker.value, self.size))
        name = self.statistic_picker.value
        self.weight_note.value = (f"style_weight {DEFAULT_STYLE_WEIGHTS[name]:g} (this statistic's default); "
                                  f"{self.size} px, {self.texture_steps} + {self.transfer_steps} L-BFGS iterations")

    # ---------------------------------------------------------------------------------------- run
    def start(self) -> Run | None:
        """Start the texture and transfer runs of the current choices (cancelling any older run)."""
        return self.start_job()

    def _job(self) -> DemoJob:
        """The texture and transfer runs of the current choices (no layer ticked raises: one line, no run)."""
        statistic, layers = self.statistic_picker.value, self.layers()
        statistics_settings(statistic, layers, kind="texture", size=self.size, steps=self.texture_steps)
        content = load_example(self.content_picker.value, self.size)
        style = load_example(self.style_picker.value, self.size)
        phase = {"name": "texture", "offset": 0}
        show_png(self.texture_view, None)
        show_png(self.transfer_view, None)

        def on_phase(kind: str) -> None:
            phase["offset"] = 0 if kind == "texture" else self.texture_steps
            phase["name"] = kind

        def job(callback):
            return synthesise_and_transfer(content, style, statistic, layers, size=self.size,
                                           texture_steps=self.texture_steps, transfer_steps=self.transfer_steps,
                                           callback=callback, on_phase=on_phase)

        return DemoJob(job, statistic=statistic, phase=phase)

    def _on_start(self, run: Run) -> None:
        self.progress.value = 0
        self.status.value = f"Synthesising the texture with {STATISTIC_LABELS[run.context['statistic']]}…"

    def _on_progress(self, run: Run, event, image: np.ndarray | None) -> None:
        phase = run.context["phase"]
        steps = self.texture_steps if phase["name"] == "texture" else self.transfer_steps
        self.progress.value = min(phase["offset"] + event.iteration, self.progress.max)
        if image is not None:
            show_png(self.texture_view if phase["name"] == "texture" else self.transfer_view, image)
        self.status.value = (f"{phase['name']}: iteration {event.iteration}/{steps}, style loss "
                             f"{event.losses['style']:.4g}, {event.elapsed:.1f} s")

    def _on_result(self, run: Run, pair: PairResult) -> None:
        self.pair = pair
        for kind, view in (("texture", self.texture_view), ("transfer", self.transfer_view)):
            result = getattr(pair, kind)
            show_png(view, None if result is None else result.image)
        self.status.value = pair_summary(pair, run.context["statistic"])


def statistics_demo(statistic: str = "sliced_wasserstein", style: str = "swirls", content: str = "grace_hopper", *,
                    background: bool = True) -> StatisticsDemo:
    """Pick a style statistic, a style and the style layers; Run shows its texture and its transfer.

    Attributes: ``statistic_picker``, ``style_picker``, ``content_picker``, ``layer_boxes`` (dict layer →
    checkbox), ``run_button``, ``stop_button`` (controls); ``style_view``, ``texture_view``,
    ``transfer_view`` (PNG image slots), ``progress``, ``status``, ``weight_note``; ``pair`` (the last
    :class:`PairResult`), ``background_run``.

    Args:
        background: run in a thread, so the kernel stays free (tests pass False to wait for the run).
    """
    return StatisticsDemo(statistic, style, content, background=background)
