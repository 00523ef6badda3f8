"""Pure helpers of the web page ``apps/streamlit_app.py`` (no Streamlit import; tested in tests/test_app.py).

The page only wires widgets to these functions and to :func:`nst_lib.stylize`; it keeps no loss, no
loop and no image code of its own. What lives here:

* reading and validating uploads (type, size limit, the decompression-bomb guard of
  :func:`nst_lib.images.load_image`) into :class:`InputImage` objects, with one-sentence errors;
* the bundled examples of :mod:`nst_lib.data` as the same :class:`InputImage` objects;
* form defaults derived from :class:`~nst_lib.config.StyleConfig` (its field docs are the tooltips),
  and the way back from form values to a validated ``StyleConfig``;
* query parameters (``?demo=1&size=64&steps=5``) that preselect examples and settings and run once;
* progress text, the loss chart data, the PNG download and the equivalent ``nst`` command line;
* the server's settings for sharing it fairly (:class:`ServerSettings`, read from ``NST_WEB_*``
  environment variables), the memory admission check of a run (:func:`run_admission`, with
  :func:`nst_lib.memory.plan_run`), the queue's wording (:func:`queue_message`) and the job a queued
  run executes (:func:`style_transfer_job`); the queue itself is ``apps/run_queue.py``.

Nothing here keeps a session's data in module state: every function returns what the page stores in
that session's own ``st.session_state``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nst_lib.config import (BACKBONES, COLOR_MODES, DEFAULT_STYLE_WEIGHTS, INITS, MAX_SIZE, MIN_SIZE, OPTIMIZERS,
                            PRECISIONS, STYLE_LOSSES, StyleConfig, config_fields, fast_mode)
from nst_lib.errors import InvalidImageError, InvalidSettingError, NSTError
from nst_lib.images import MASK_PRESETS as LIBRARY_MASK_PRESETS
from nst_lib.images import (MAX_INPUT_PIXELS, MIN_SIDE, ImageHeader, image_to_png_bytes, load_image, read_image_header,
                            resize_long_side)

__all__ = [
    "InputImage",
    "MASK_CHOICES",
    "MAX_STYLES",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_PIXELS",
    "Progress",
    "QuerySettings",
    "RunRequest",
    "ServerSettings",
    "UPLOAD_EXTENSIONS",
    "WeightsSummary",
    "cli_command",
    "download_name",
    "error_sentence",
    "example_image",
    "field_help",
    "form_defaults",
    "format_progress",
    "layer_label",
    "layer_options",
    "loss_chart_data",
    "make_config",
    "parse_query_params",
    "png_bytes",
    "preset_mask",
    "preview_due",
    "preview_every",
    "queue_message",
    "read_upload",
    "result_view",
    "run_admission",
    "execute_run",
    "fast_transfer_job",
    "style_transfer_job",
    "style_weight_for",
    "summarize_weights",
]

#: Largest upload accepted, in bytes (a 12-megapixel phone JPEG is 3-6 MB).
MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
#: Largest upload accepted, in pixels, checked from the header before any pixel is decoded. Stricter than
#: the library's :data:`~nst_lib.images.MAX_INPUT_PIXELS` because a web server is shared: a 40-megapixel
#: image already needs ~0.5 GB as float32.
MAX_UPLOAD_PIXELS = min(40_000_000, MAX_INPUT_PIXELS)
#: File types the uploaders accept (what Pillow reads and people have).
UPLOAD_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
#: Long side of the input previews shown on the page.
PREVIEW_SIZE = 320
#: At most this many style images are blended (each adds a Gram target and a style forward pass).
MAX_STYLES = 3
#: The page's size range: the library's whole range. Large sizes take long on a CPU server; the page shows
#: each run's memory plan before Run (apps/run_plan.py) and refuses what cannot fit the server's budget.
MAX_WEB_SIZE = MAX_SIZE
#: Spatial-control choices: none, the library's preset regions (:data:`nst_lib.images.MASK_PRESETS`), or an
#: uploaded mask; see :func:`preset_mask`.
MASK_CHOICES = ("none", *LIBRARY_MASK_PRESETS, "upload")

#: Defaults of the page that differ from StyleConfig's, and why: the page runs on a (shared) CPU server,
#: so its first run should finish in a couple of minutes; the time budget keeps the best image so far.
WEB_DEFAULTS: dict[str, Any] = {"size": 256, "steps": 100, "time_budget": 180.0}
#: NST_FAST=1 (tests, CI): tiny images, a few steps, no budget.
FAST_DEFAULTS: dict[str, Any] = {"size": 64, "steps": 5, "time_budget": 0.0}
#: Settings the page exposes (every other StyleConfig field keeps its default).
FORM_FIELDS = (
    "size", "steps", "optimizer", "time_budget", "content_weight", "style_weight", "tv_weight",
    "content_layers", "style_layers", "style_layer_weights", "style_blend", "style_scale",
    "preserve_colors", "init", "seed", "scales", "learning_rate", "backbone", "style_loss", "precision",
)


# ------------------------------------------------------------------------------------------- images in
@dataclass
class InputImage:
    """An input of the page: what :func:`nst_lib.stylize` receives, and a preview to show.

    ``source`` is the uploaded file's bytes (stylize decodes them at the size it needs, with JPEG
    draft decoding) or an example's float32 array; ``preview`` is float32 (H, W, 3), long side
    :data:`PREVIEW_SIZE` at most.
    """

    label: str  # file name or example name, used for captions, the download name and the CLI line
    source: Any
    preview: np.ndarray
    caption: str = ""
    uploaded: bool = False
    shape: tuple[int, int] = (0, 0)  # (height, width) of the full image, for the memory plan of a run
    header: ImageHeader | None = None  # an upload's header: what decoding it costs at a run's size


def _extension(name: str) -> str:
    match = re.search(r"(\.[A-Za-z0-9]+)$", name.strip())
    return match.group(1).lower() if match else ""


def _size_text(n_bytes: int) -> str:
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    return f"{n_bytes / 1024 / 1024:.1f} MB" if n_bytes >= 1024 * 1024 else f"{n_bytes / 1024:.0f} KB"


def read_upload(
    name: str,
    data: bytes,
    *,
    role: str = "image",
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_UPLOAD_PIXELS,
    preview_size: int = PREVIEW_SIZE,
    reserve: Callable[[int, str], Any] | None = None,
) -> InputImage:
    """Validate an uploaded file and decode a preview of it.

    Checks, in order: the file type (by extension), that it is not empty, the byte limit, and then
    everything :func:`nst_lib.images.load_image` checks (that it decodes as an image, the pixel limit
    read from the header before decoding — the decompression-bomb guard — and the minimum side).

    Args:
        name: the uploaded file's name.
        data: its bytes.
        role: what the image is for ("content image", "style image", "mask"), used in messages.
        max_bytes: largest accepted file, in bytes.
        max_pixels: largest accepted width × height.
        preview_size: long side of the returned preview.
        reserve: ``reserve(bytes, what)``, a context manager that counts the decoding against the server's
            memory budget together with the runs (:meth:`run_queue.RunQueue.reserve_memory`), or None.
            The cost is read from the file's header before a pixel is decoded, and the file is decoded
            reduced to the preview's size (a 36-megapixel PNG never becomes 430 MB of floats here).

    Returns:
        An :class:`InputImage` whose ``source`` is ``data`` (so stylize decodes it at its own size).

    Raises:
        InvalidImageError: one sentence naming the file and what is allowed.
    """
    label = name or "the uploaded file"
    extension = _extension(label)
    if extension not in UPLOAD_EXTENSIONS:
        allowed = ", ".join(e.lstrip(".").upper() for e in UPLOAD_EXTENSIONS if e not in (".jpeg", ".tiff"))
        kind = f"a '{extension}' file" if extension else "a file without an extension"
        raise InvalidImageError(f"the {role} '{label}' is {kind}; upload a {allowed} image")
    data = bytes(data)
    if not data:
        raise InvalidImageError(f"the {role} '{label}' is empty (0 bytes); upload the image again")
    if len(data) > max_bytes:
        raise InvalidImageError(
            f"the {role} '{label}' is {_size_text(len(data))}, more than the limit of {_size_text(max_bytes)}; "
            "upload a smaller or more compressed image"
        )
    try:
        header = read_image_header(data, max_pixels=max_pixels)
        shape = header.upright_shape
        size = preview_size if max(shape) > preview_size and min(shape) >= MIN_SIDE else None
        with reserve(header.decode_bytes(size), f"decoding the {role} '{label}'") if reserve else contextlib.nullcontext():
            preview = _shrink(load_image(data, size, max_pixels=max_pixels), preview_size)
    except InvalidImageError as exc:
        raise InvalidImageError(_relabel(str(exc), data, f"the {role} '{label}'")) from None
    except NSTError as exc:
        if type(exc).__name__ == "RunRefusedError":  # the server's memory is busy: say so as it is
            raise
        raise InvalidImageError(_relabel(str(exc), data, f"the {role} '{label}'")) from None
    caption = f"{label} ({_size_text(len(data))})"
    return InputImage(label=label, source=data, preview=preview, caption=caption, uploaded=True, shape=shape,
                      header=header)


def _relabel(message: str, data: bytes, label: str) -> str:
    """Replace load_image's generic label for bytes with the file's name."""
    generic = f"the given image data ({len(data):,} bytes)"
    return message.replace(generic, label) if generic in message else f"{label} cannot be used: {message}"


def _shrink(image: np.ndarray, long_side: int) -> np.ndarray:
    return resize_long_side(image, long_side) if max(image.shape[:2]) > long_side else image


def example_image(kind: str, name: str, *, preview_size: int = PREVIEW_SIZE) -> InputImage:
    """A bundled example of :mod:`nst_lib.data` as an :class:`InputImage` (``kind``: content or style)."""
    from nst_lib import data

    if kind == "content":
        image = data.content_image(name)
        caption = data.CONTENT_IMAGES[name].description
    elif kind == "style":
        image = data.style_image(name)
        caption = f"{name.replace('_', ' ')} (procedural style image)"
    else:
        raise InvalidSettingError(f"example kind must be 'content' or 'style', got {kind!r}")
    return InputImage(label=name, source=image, preview=_shrink(image, preview_size), caption=caption,
                      shape=image.shape[:2])


def preset_mask(kind: str, height: int, width: int) -> np.ndarray | None:
    """A spatial-control mask (float32 (height, width) in [0, 1], white = first style) or ``None``.

    The shapes are :func:`nst_lib.images.preset_mask`'s (edges softened so the styles blend).
    """
    if kind in ("none", "upload"):
        return None
    if kind not in MASK_CHOICES:
        raise InvalidSettingError(f"mask must be one of {', '.join(MASK_CHOICES)}; got {kind!r}")
    from nst_lib.images import preset_mask as draw_preset

    return draw_preset(kind, height, width)


# ----------------------------------------------------------------------------------------------- form
def field_help(name: str) -> str:
    """The one-line doc of a StyleConfig field, used as the widget's tooltip."""
    for f in config_fields():
        if f.name == name:
            return str(f.metadata.get("doc", ""))
    raise InvalidSettingError(f"StyleConfig has no field {name!r}")


def form_defaults(fast: bool | None = None) -> dict[str, Any]:
    """Initial values of the page's settings, read from :class:`StyleConfig`.

    Tuples become lists, ``time_budget=None`` becomes ``0.0`` (0 = no limit in the form), per-layer
    style weights become one 1.0 per default style layer, and the page's own defaults
    (:data:`WEB_DEFAULTS`, or :data:`FAST_DEFAULTS` when ``NST_FAST=1``) replace size, steps and budget.
    """
    fast = fast_mode() if fast is None else fast
    defaults = StyleConfig()
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = getattr(defaults, name)
        values[name] = list(value) if isinstance(value, tuple) else value
    values["time_budget"] = float(values["time_budget"] or 0.0)
    values["style_layer_weights"] = [1.0] * len(defaults.style_layers)
    values["style_blend"] = []
    values.update(FAST_DEFAULTS if fast else WEB_DEFAULTS)
    return values


def style_weight_for(style_loss: str) -> float:
    """The default style weight of a style statistic (they differ by orders of magnitude: gram 1e-2,
    mean_std 1e3, …); the page moves the weight with the statistic so that each choice works at once."""
    if style_loss not in DEFAULT_STYLE_WEIGHTS:
        raise InvalidSettingError(f"style statistic must be one of {', '.join(STYLE_LOSSES)}; got {style_loss!r}")
    return DEFAULT_STYLE_WEIGHTS[style_loss]


def layer_options(backbone: str) -> list[str]:
    """Keras names of the convolution layers of ``backbone`` (the options of the layer pickers)."""
    from nst_lib.backbone import layer_names

    return layer_names(backbone)


def layer_label(keras_name: str, naming: str = "gatys") -> str:
    """How a layer is shown: ``block4_conv2`` → ``conv4_2`` with Gatys naming, unchanged with Keras naming.

    The Gatys names come from the library's layer catalogue (:func:`nst_lib.backbone.layer_catalogue`;
    VGG19's catalogue holds every VGG16 layer too).
    """
    return _gatys_names().get(keras_name, keras_name) if naming == "gatys" else keras_name


@functools.lru_cache(maxsize=1)
def _gatys_names() -> dict[str, str]:
    from nst_lib.backbone import layer_catalogue

    return {layer.keras_name: layer.gatys_name for layer in layer_catalogue("vgg19")}


def make_config(values: Mapping[str, Any], n_styles: int = 1) -> StyleConfig:
    """Turn the page's form values into a validated :class:`StyleConfig`.

    ``time_budget`` 0 means no limit; ``style_layer_weights`` are matched to ``style_layers`` by position
    and dropped when all equal (the default); ``style_blend`` is kept only for two or more styles.

    Raises:
        InvalidSettingError: a value is out of range (the message names the setting).
    """
    options = {k: values[k] for k in FORM_FIELDS if k in values}
    for key in ("content_layers", "style_layers"):
        if key in options:
            options[key] = tuple(options[key])
    budget = options.get("time_budget")
    options["time_budget"] = float(budget) if budget else None
    layer_weights = options.pop("style_layer_weights", None)
    if layer_weights is not None:
        layer_weights = tuple(float(w) for w in layer_weights)
        count = len(options.get("style_layers", StyleConfig().style_layers))
        if len(layer_weights) != count:
            raise InvalidSettingError(
                f"style layer weights need one value per style layer ({count}); got {len(layer_weights)}"
            )
        if len(set(layer_weights)) > 1:
            options["style_layer_weights"] = layer_weights
    blend = options.pop("style_blend", None)
    if n_styles > 1 and blend:
        blend = tuple(float(w) for w in blend)[:n_styles]
        if len(blend) != n_styles:
            raise InvalidSettingError(f"style blend needs one weight per style ({n_styles}); got {len(blend)}")
        options["style_blend"] = blend
    for key in ("size", "steps", "seed", "scales"):
        if key in options and isinstance(options[key], float) and options[key].is_integer():
            options[key] = int(options[key])
    return StyleConfig(**options)


@dataclass(frozen=True)
class WeightsSummary:
    """Which network ``weights="imagenet"`` resolves to on this server, and one line to show."""

    backbone: str  # the network really built (vgg16 when VGG19 weights are unavailable)
    description: str  # resolved_weights_description(): network, source, file, substitution
    error: str | None = None
    path: str | None = None
    notice: str | None = None  # the library's one-line notice when VGG16 replaces VGG19 (also on Result.notes)

    @property
    def short(self) -> str:
        """The description without the file path (the page shows the path on hover)."""
        return self.description.replace(f" ({self.path})", "") if self.path else self.description


def summarize_weights(backbone: str = "vgg19") -> WeightsSummary:
    """Resolve the weights once (no download with ``NST_OFFLINE=1``); errors become ``error``.

    Same text as :func:`nst_lib.backbone.resolved_weights_description`, plus the backbone actually used,
    so the layer pickers list the layers that really exist (VGG16 has no ``block5_conv4``). Resolved with
    ``warn=False``: the substitution notice is returned on ``notice`` (the page shows it in its "Feature
    network" line) rather than issued as a warning, which a page could only catch process-wide.
    """
    from nst_lib.weights import resolve_weights

    try:
        info = resolve_weights(backbone, warn=False)
    except NSTError as exc:
        return WeightsSummary(backbone, "no ImageNet weights available", error=str(exc))
    return WeightsSummary(info.backbone, info.describe(), path=info.path, notice=info.notice)


# ------------------------------------------------------------------------------------------ query string
@dataclass
class QuerySettings:
    """What a shared link asks for: ``?demo=1&content=coffee&style=swirls,cubist&size=64&steps=5``.

    ``values`` holds form overrides; ``run`` is true for ``demo=1`` or ``run=1`` (run once on load);
    ``problems`` lists ignored parameters, one sentence each, to show as a warning.
    """

    run: bool = False
    content: str | None = None
    styles: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


_INT_PARAMS = {"size": (MIN_SIZE, MAX_WEB_SIZE), "steps": (1, 5000), "seed": (0, 2**31 - 1), "scales": (1, 6)}
_FLOAT_PARAMS = {
    "time_budget": (0.0, 86400.0), "content_weight": (0.0, 1e12), "style_weight": (0.0, 1e12),
    "tv_weight": (0.0, 1e12), "style_scale": (0.05, 8.0), "learning_rate": (1e-6, 10.0),
}
_CHOICE_PARAMS = {"optimizer": OPTIMIZERS, "preserve_colors": COLOR_MODES, "init": INITS, "backbone": BACKBONES,
                  "style_loss": STYLE_LOSSES, "precision": PRECISIONS}
_TRUE = {"1", "true", "yes", "on"}


def _last(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def parse_query_params(
    params: Mapping[str, Any], content_names: Sequence[str], style_names: Sequence[str]
) -> QuerySettings:
    """Read a page's query parameters; bad values are ignored and reported in ``problems``.

    ``demo=1`` picks the first bundled content and style (unless ``content``/``style`` say otherwise)
    and runs once; ``run=1`` runs once with whatever is preselected. ``style`` may be repeated or
    comma-separated (at most :data:`MAX_STYLES`). Numbers and choices use StyleConfig's names.
    """
    query = QuerySettings()
    demo = _last(params.get("demo", "")).strip().lower() in _TRUE
    query.run = demo or _last(params.get("run", "")).strip().lower() in _TRUE
    if demo:
        query.content, query.styles = content_names[0], [style_names[0]]
    if "content" in params:
        name = _last(params["content"]).strip()
        if name in content_names:
            query.content = name
        else:
            query.problems.append(f"content={name!r} ignored: choose one of {', '.join(content_names)}")
    if "style" in params:
        raw = params["style"]
        names = [n.strip() for item in (raw if isinstance(raw, (list, tuple)) else [raw]) for n in str(item).split(",")]
        names = [n for n in names if n]
        unknown = [n for n in names if n not in style_names]
        if unknown:
            query.problems.append(f"style={','.join(unknown)} ignored: choose from {', '.join(style_names)}")
        known = list(dict.fromkeys(n for n in names if n in style_names))
        if len(known) > MAX_STYLES:
            query.problems.append(f"only the first {MAX_STYLES} styles are used")
        if known:
            query.styles = known[:MAX_STYLES]
    for key, (low, high) in _INT_PARAMS.items():
        if key in params:
            text = _last(params[key]).strip()
            try:
                number = int(text)
            except ValueError:
                number = None
            if number is None or not low <= number <= high:
                query.problems.append(f"{key}={text!r} ignored: expected a whole number from {low} to {high}")
            else:
                query.values[key] = number
    for key, (low, high) in _FLOAT_PARAMS.items():
        if key in params:
            text = _last(params[key]).strip()
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not (math.isfinite(number) and low <= number <= high):
                query.problems.append(f"{key}={text!r} ignored: expected a number from {low:g} to {high:g}")
            else:
                query.values[key] = number
    for key, choices in _CHOICE_PARAMS.items():
        if key in params:
            text = _last(params[key]).strip().lower()
            if text in choices:
                query.values[key] = text
            else:
                query.problems.append(f"{key}={text!r} ignored: choose one of {', '.join(choices)}")
    return query


# ------------------------------------------------------------------------------------------ progress
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
        text = " ".join(str(exc).split()) or type(exc).__name__
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


# ------------------------------------------------------------------------------------------- results
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


def cli_command(
    config: StyleConfig,
    content: InputImage,
    styles: Sequence[InputImage],
    output: str,
    mask: str | None = None,
) -> str:
    """The ``nst stylize`` command that repeats this run (only settings that differ from the defaults).

    Bundled examples become ``example:NAME``; uploads keep their file name; ``mask`` is the mask file's
    name, if any (``--mask``).
    """
    def image_arg(item: InputImage) -> str:
        return item.label if item.uploaded else f"example:{item.label}"

    words = ["nst", "stylize", image_arg(content), *[image_arg(s) for s in styles], "-o", output]
    if mask:
        words += ["--mask", mask]
    defaults = StyleConfig()
    for f in dataclasses.fields(StyleConfig):
        value = getattr(config, f.name)
        if value == getattr(defaults, f.name) or value is None:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):  # BooleanOptionalAction flags: --rescale-network / --no-rescale-network
            words.append(flag if value else "--no-" + flag[2:])
            continue
        if isinstance(value, tuple):
            value = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, float):
            value = f"{value:g}"
        words += [flag, str(value)]
    return " ".join(shlex.quote(w) for w in words)


# ------------------------------------------------------------------------------- sharing the server
#: Environment variables that configure how the page shares its server (see the README, "Web page").
ENV_MAX_RUNS = "NST_WEB_MAX_RUNS"  # optimisations that run at once (default 1)
ENV_MAX_MEMORY = "NST_WEB_MAX_MEMORY"  # memory the running optimisations may use together, e.g. 6G
ENV_MAX_WAITING = "NST_WEB_MAX_WAITING"  # runs that may wait in the queue (default 10)
ENV_DISCONNECT_GRACE = "NST_WEB_DISCONNECT_GRACE"  # seconds a closed tab keeps its place (default 10)
SERVER_VARIABLES = (ENV_MAX_RUNS, ENV_MAX_MEMORY, ENV_MAX_WAITING, ENV_DISCONNECT_GRACE)
@dataclass(frozen=True)
class ServerSettings:
    """How the page shares one server among its sessions (read by :meth:`from_env`)."""

    max_running: int = 1
    memory_budget: int = 0  # bytes for the running optimisations together (their worker processes)
    max_waiting: int = 10
    disconnect_grace: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ServerSettings":
        """Read the ``NST_WEB_*`` variables; unset ones take their defaults (the memory budget's is the
        library's: :func:`nst_lib.memory.default_budget`, a share of the memory available now).

        Raises:
            InvalidSettingError: a variable's value is not allowed (the message names it).
        """
        environ = os.environ if environ is None else environ

        def number(name: str, kind: type, low: float, high: float, default: Any) -> Any:
            text = environ.get(name, "").strip()
            if not text:
                return default
            try:
                value = kind(text)
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                what = "a whole number" if kind is int else "a number"
                raise InvalidSettingError(f"{name} must be {what} from {low:g} to {high:g}; got {text!r}")
            return value

        from nst_lib.memory import default_budget, parse_memory_size

        memory_text = environ.get(ENV_MAX_MEMORY, "").strip()
        memory = parse_memory_size(memory_text, ENV_MAX_MEMORY) if memory_text else default_budget()
        return cls(
            max_running=number(ENV_MAX_RUNS, int, 1, 64, 1),
            memory_budget=memory,
            max_waiting=number(ENV_MAX_WAITING, int, 0, 1000, 10),
            disconnect_grace=number(ENV_DISCONNECT_GRACE, float, 0.0, 3600.0, 10.0),
        )

    def describe(self) -> str:
        """One sentence for the page, e.g. "This server runs one style transfer at a time, with 6.0 GB."""
        runs = ("one style transfer at a time" if self.max_running == 1
                else f"up to {self.max_running} style transfers at once")
        from nst_lib.memory import format_bytes

        return (f"This server runs {runs}, within {format_bytes(self.memory_budget)} of memory; "
                "later runs wait in a queue.")

    @property
    def memory_per_run(self) -> str:
        """The budget as a ``max_memory`` setting, so a run plans with the budget it was admitted with."""
        return f"{self.memory_budget // 2**20}M"


#: addresses that serve this machine only
LOOPBACK_ADDRESSES = ("localhost", "127.0.0.1", "::1")
#: set by apps/serve.py, the start script that forbids framing (make web)
ENV_SERVED_BY = "NST_WEB_SERVED_BY"


def exposure_warnings(address: str, environ: Mapping[str, str]) -> list[str]:
    """Sentences the page shows at its top when it is exposed more than ``make web`` exposes it.

    * served on a network address (``make web SHARE=1``, ``--server.address 0.0.0.0``): everyone who can
      reach this machine can upload images and start runs;
    * started without ``apps/serve.py`` (e.g. ``streamlit run apps/streamlit_app.py``): the page does not
      forbid other sites to show it in a frame.
    """
    warnings = []
    if address not in LOOPBACK_ADDRESSES:
        where = "every network interface" if address in ("", "0.0.0.0", "::") else f"the address {address}"
        warnings.append(
            f"This page is shared: it is served on {where}, so anyone who can reach this machine can upload "
            "images and start runs here (started with SHARE=1 or --server.address). Stop the server and start it "
            "with `make web` to keep it to this machine.")
    if not environ.get(ENV_SERVED_BY):
        warnings.append(
            "This page was started without apps/serve.py, so it does not forbid other sites to show it in a "
            "frame; start it with `make web` (streamlit run apps/serve.py).")
    return warnings


@dataclass(frozen=True)
class RunRequest:
    """What the queue's admission check needs to plan a run's memory."""

    config: StyleConfig
    content_shape: tuple[int, int]  # (height, width) of the content image as given (any size)
    style_shapes: tuple[tuple[int, int], ...] = ()  # (height, width) of each style image as given
    backbone: str | None = None  # the network really used (VGG16 when VGG19's weights are unavailable)
    decode_bytes: int = 0  # the costliest input's decoding in the worker (uploads; from their headers)


def run_admission(request: RunRequest | None, memory_budget: int | None):
    """The queue's admission check: :func:`nst_lib.memory.plan_run` against the server's budget.

    Returns a :class:`run_queue.Admission` whose cost is the plan's estimated peak (the whole worker
    process: TensorFlow, the network and the run; in tiles if the run is too large in one piece). A run
    that cannot fit even in tiles is refused with a sentence for the page (the plan's own message speaks
    to the command line's flags).
    """
    from nst_lib.memory import BASE_BYTES, format_bytes, plan_run
    from run_queue import Admission

    if request is None:
        return Admission(True)
    plan = plan_run(request.config, request.content_shape, max_memory=memory_budget,
                    style_shapes=request.style_shapes or None, backbone=request.backbone)
    if plan.fits:
        # the worker decodes the uploads (reduced to the run's size) with TensorFlow already loaded
        decoding = BASE_BYTES + request.decode_bytes if request.decode_bytes else 0
        return Admission(True, int(max(plan.estimated_peak_bytes, decoding)))
    height, width = plan.output_shape
    return Admission(False, int(plan.estimated_peak_bytes), (
        f"a {width}×{height} px run needs at least {format_bytes(plan.estimated_peak_bytes)} of memory, even "
        f"in tiles, and this server allows {format_bytes(plan.budget_bytes)}; choose a smaller size"))


def ordinal(n: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_message(position: int, running: int, max_running: int, waited: float) -> str:
    """What a waiting session sees, e.g. "You are 2nd in the queue (waited 12 s): 1 run in progress, …"."""
    ahead = position - 1
    busy = f"{running} run{'s' if running != 1 else ''} in progress"
    waiting = f"{ahead} waiting ahead of you" if ahead else "you are next"
    limit = "one at a time" if max_running == 1 else f"{max_running} at a time"
    return (f"Waiting for your turn: you are {ordinal(position)} in the queue (waited {waited:.0f} s). "
            f"This server runs style transfers {limit}: {busy}, {waiting}.")


# ------------------------------------------------------------------------------------------ running
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
