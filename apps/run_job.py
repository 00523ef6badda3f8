"""The job a queued run executes in a web worker, and what the page shows of it (no Streamlit import;
tested in tests/test_app.py and tests/test_app_features.py).

:func:`execute_run` calls :func:`nst_lib.stylize` — the same call as the notebooks and the CLI — with a
callback that reports progress and about fifteen live previews, and stops when the page asks; or, with a
trained fast network, :func:`fast_models.execute_fast_run`. :func:`result_view` turns a result into what the
page stores: the PNG, its file name, a one-line summary, the loss chart and the equivalent command line.
The worker process is ``apps/run_worker.py``; the queue is ``apps/run_queue.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nst_lib.config import StyleConfig
from nst_lib.errors import NSTError
from nst_lib.images import image_to_png_bytes

from uploads import InputImage
from form import cli_command

__all__ = [
    "Progress",
    "download_name",
    "error_sentence",
    "execute_run",
    "fast_transfer_job",
    "format_progress",
    "loss_chart_data",
    "png_bytes",
    "preview_due",
    "preview_every",
    "result_view",
    "style_transfer_job",
]


@dataclass(frozen=True)
class Progress:
    """What the progress bar shows: ``fraction`` in [0, 1] and one line of text."""

    fraction: float
    text: str


def format_progress(event: Any, config: StyleConfig) -> Progress:
    """Progress bar value and text for an :class:`~nst_lib.optimize.Iterate` event.

    The fraction is iterations done over ``config.steps``, or time spent over ``config.time_budget`` when
    that is further along (a budget can end the run before the steps do). The loss parts are shown
    weighted, so they add up to the total shown.
    """
    iteration = int(event.iteration)
    fraction = min(1.0, iteration / max(1, config.steps)) if config.steps else 0.0
    if config.time_budget:
        fraction = max(fraction, min(1.0, float(event.elapsed) / config.time_budget))
    losses = event.losses
    weights = {"content": config.content_weight, "style": config.style_weight, "tv": config.tv_weight}
    parts = ", ".join(
        f"{name} {weight * losses[name]:.3g}" for name, weight in weights.items() if weight and losses.get(name)
    )
    where = ""
    scales = int(getattr(event, "scales", 1) or 1)
    height, width = getattr(event, "shape", (0, 0)) or (0, 0)
    if scales > 1:
        where = f" · scale {int(event.scale) + 1}/{scales}"
    if height and width:
        where += f" at {width}×{height} px"
    total = losses.get("total", float("nan"))
    of = f" of {config.steps}" if config.steps else ""
    text = f"Iteration {iteration}{of}{where} · loss {total:.4g}"
    if parts:
        text += f" = {parts.replace(', ', ' + ')}"
    text += f" · {float(event.elapsed):.1f} s"
    return Progress(fraction, text)


def preview_every(steps: int) -> int:
    """Update the live preview about 15 times per run, at most every 10 iterations, at least every one."""
    return max(1, min(10, round(steps / 15)))


def preview_due(iteration: int, steps: int, every: int | None = None) -> bool:
    """True on the first iteration, every ``every`` iterations, and on the last one."""
    every = preview_every(steps) if every is None else max(1, every)
    return iteration == 1 or iteration % every == 0 or iteration >= steps


def error_sentence(exc: BaseException) -> str:
    """One sentence for ``st.error``: an :class:`NSTError`'s own message, capitalised and ending in a full
    stop; anything else (a bug, out of memory) a generic sentence with its type, never a traceback."""
    if isinstance(exc, NSTError):
        text = exc.sentence()
    elif isinstance(exc, MemoryError):
        text = "the server ran out of memory; try a smaller size or fewer styles"
    else:
        detail = " ".join(str(exc).split())[:160]
        text = (
            f"style transfer failed unexpectedly ({type(exc).__name__}{': ' + detail if detail else ''}); "
            "try other settings, and if it keeps happening, report it with the settings you used"
        )
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def png_bytes(image: np.ndarray) -> bytes:
    """The result as PNG bytes for ``st.download_button`` (lossless, 8-bit RGB)."""
    return image_to_png_bytes(image)


def _slug(text: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", text.strip())
    return re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_")[:40] or "image"


def download_name(content_label: str, style_labels: Sequence[str]) -> str:
    """A safe file name such as ``grace_hopper-in-swirls+cubist.png``."""
    styles = "+".join(_slug(s) for s in style_labels) or "style"
    return f"{_slug(content_label)}-in-{styles}.png"


def loss_chart_data(history: Sequence[Mapping[str, Any]], config: StyleConfig) -> dict[str, list[float]]:
    """Columns for a line chart: the weighted content, style and TV terms per iteration (they sum to the total)."""
    columns: dict[str, list[float]] = {"iteration": [], "content": [], "style": []}
    with_tv = config.tv_weight > 0
    if with_tv:
        columns["tv"] = []
    for entry in history:
        columns["iteration"].append(int(entry["iteration"]))
        columns["content"].append(config.content_weight * float(entry.get("content", 0.0)))
        columns["style"].append(config.style_weight * float(entry.get("style", 0.0)))
        if with_tv:
            columns["tv"].append(config.tv_weight * float(entry.get("tv", 0.0)))
    return columns


def result_view(
    result: Any, content: InputImage, styles: Sequence[InputImage], mask_name: str | None
) -> dict[str, Any]:
    """Everything the page shows about a finished run (stored in the session's own state)."""
    from nst_lib.images import to_uint8

    labels = [s.label for s in styles]
    file_name = download_name(content.label, labels)
    height, width = result.image.shape[:2]
    return {
        "png": png_bytes(result.image),
        "image": to_uint8(result.image),
        "file_name": file_name,
        "summary": (f"{result.message[0].upper()}{result.message[1:]}: {result.iterations} iterations in "
                    f"{result.elapsed:.1f} s on {result.backbone.upper()}, {width}×{height} px."),
        "chart": loss_chart_data(result.history, result.config),
        "chart_note": "Weighted content and style terms; they add up to the loss that is minimised."
        + (" The jump is where the run moves from the coarse scale to the full size."
           if len(result.scale_shapes) > 1 else ""),
        "cli": cli_command(result.config, content, styles, file_name, mask=mask_name),
        "notes": list(result.notes),
    }


def execute_run(
    content: InputImage,
    styles: Sequence[InputImage],
    mask: Any,
    mask_name: str | None,
    config: StyleConfig,
    report: Callable[[str, Any], None],
    should_stop: Callable[[], bool],
    model: str | None = None,
    model_label: str | None = None,
) -> dict[str, Any]:
    """Run :func:`nst_lib.stylize` for the page and return :func:`result_view` of its result.

    With ``model`` (the path of a trained ``.keras`` network) the content is stylized by that network
    in one pass instead, at ``config.size``; ``styles`` and ``mask`` are then unused.

    Reports ``report("progress", Progress)`` after every iteration and ``report("preview", (uint8 image,
    iteration))`` about 15 times per run; stops (keeping the best image so far) once ``should_stop()``.
    Executed in a worker process (``apps/run_worker.py``).
    """
    import nst_lib
    from nst_lib.images import to_uint8

    if model is not None:  # a trained fast network: one forward pass (apps/fast_models.py)
        from fast_models import execute_fast_run

        return execute_fast_run(content, model, model_label or "model", config.size, report, should_stop)
    steps = config.steps or 1
    every = preview_every(steps)

    def on_iterate(event: Any) -> bool:
        report("progress", format_progress(event, config))
        if preview_due(event.iteration, steps, every):
            report("preview", (to_uint8(event.image()), int(event.iteration)))
        return should_stop()

    result = nst_lib.stylize(content.source, [s.source for s in styles], config=config, mask=mask,
                             callback=on_iterate)
    return result_view(result, content, styles, mask_name)


def style_transfer_job(
    content: InputImage, styles: Sequence[InputImage], mask: Any, mask_name: str | None, config: StyleConfig,
    pool: Any,
) -> Callable[[Any], dict[str, Any] | None]:
    """The job a queued run executes: :func:`execute_run` in a worker of ``pool`` (a ``run_worker.WorkerPool``),
    which copies the progress and previews onto the ticket and stops the run when the ticket is cancelled."""
    run = {"content": content, "styles": list(styles), "mask": mask, "mask_name": mask_name, "config": config}

    def job(ticket: Any) -> dict[str, Any] | None:
        return pool.run(ticket, run)

    return job


def fast_transfer_job(content: InputImage, model_path: str, model_label: str, size: int,
                      pool: Any) -> Callable[[Any], dict[str, Any] | None]:
    """The job of a run with a trained fast network (``execute_run`` with ``model``), through the same
    queue and workers as an optimisation."""
    run = {"content": content, "styles": [], "mask": None, "mask_name": None, "config": StyleConfig(size=size),
           "model": str(model_path), "model_label": model_label}

    def job(ticket: Any) -> dict[str, Any] | None:
        return pool.run(ticket, run)

    return job

