"""The web page's form ↔ :class:`~nst_lib.config.StyleConfig` mapping (no Streamlit import; tested in
tests/test_app.py and tests/test_app_features.py).

Form defaults are read from ``StyleConfig`` (its field docs are the tooltips) with the page's own size,
steps and budget; :func:`make_config` turns the form's values back into a validated ``StyleConfig``;
links (``?content=coffee&style=swirls,cubist&size=512``) preselect settings through
:func:`parse_query_params`; :func:`cli_command` writes the ``nst stylize`` line that repeats a run.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from nst_lib.config import (BACKBONES, COLOR_MODES, DEFAULT_STYLE_WEIGHTS, INITS, MAX_SIZE, MIN_SIZE, OPTIMIZERS,
                            PRECISIONS, STYLE_LOSSES, StyleConfig, config_fields, fast_mode)
from nst_lib.errors import InvalidSettingError

from uploads import MAX_STYLES, InputImage

__all__ = [
    "FAST_DEFAULTS",
    "FORM_FIELDS",
    "MAX_WEB_SIZE",
    "QuerySettings",
    "WEB_DEFAULTS",
    "cli_command",
    "field_help",
    "form_defaults",
    "layer_label",
    "layer_options",
    "make_config",
    "parse_query_params",
    "style_weight_for",
]


#: The page's size range: the library's whole range. Large sizes take long on a CPU server; the page shows
#: each run's memory plan before Run (apps/run_plan.py) and refuses what cannot fit the server's budget.
MAX_WEB_SIZE = MAX_SIZE


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

