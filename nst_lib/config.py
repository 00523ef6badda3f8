"""Every hyper-parameter of a style transfer, declared once (taught in notebook 06).

:class:`StyleConfig` is the single source of truth: ``stylize()`` takes its fields as keyword
arguments, the ``nst`` CLI derives its flags and help from the field metadata, and the widgets and
the web page read the defaults from here. ``NST_FAST=1`` switches notebooks and demos to tiny images
and a few steps (see :func:`fast_mode` and :func:`pick`).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from . import environment
from .errors import InvalidSettingError
from .sizes import parse_memory_size
from .validation import check_int, doc

#: The style layers of Gatys et al. (conv1_1 ... conv5_1), in Keras names.
GATYS_STYLE_LAYERS: tuple[str, ...] = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)

#: ``lbfgs`` is the faster L-BFGS of the two (DEFAULT_LBFGS: the TensorFlow one, faster to the same objective
#: and below the tutorial recipe's peak memory in one measured run each: docs/precision.md);
#: ``lbfgs-scipy`` SciPy's L-BFGS-B (float64), ``lbfgs-tf`` the float32 TensorFlow one (nst_lib.lbfgs_tf)
OPTIMIZERS = ("lbfgs", "adam", "lbfgs-scipy", "lbfgs-tf")
DEFAULT_LBFGS = "lbfgs-tf"
INITS = ("recolored", "content", "noise", "style")
COLOR_MODES = ("none", "luminance", "histogram")
BACKBONES = ("vgg19", "vgg16")
#: pooling between VGG's blocks (= nst_lib.backbone.POOLINGS): the trained network's max, or Gatys et al.'s avg
POOLINGS = ("max", "avg")
#: ``precision``: auto decides per machine (nst_lib.precision); the networks compute in float32 or bfloat16
PRECISIONS = ("auto", "float32", "bfloat16")
#: Style statistics ``StyleConfig.style_loss`` accepts. Each is registered in :mod:`nst_lib.losses` (Gram) or
#: :mod:`nst_lib.statistics` with :func:`nst_lib.losses.register_style_statistic`; add its name here too.
STYLE_LOSSES = ("gram", "mean_std", "wasserstein", "sliced_wasserstein")
#: The default ``style_weight`` of each style statistic: the weight at which its style term has the share of
#: the initial objective that Gram's has at 1e-2 (``benchmarks/calibrate_statistics.py``, README).
DEFAULT_STYLE_WEIGHTS = {"gram": 1e-2, "mean_std": 1e3, "wasserstein": 8e2, "sliced_wasserstein": 2e3}

#: Largest long side accepted for an output (a 4096 px VGG pass needs well over 8 GB).
MAX_SIZE = 4096
MIN_SIZE = 32


@dataclass(frozen=True)
class StyleConfig:
    """All settings of one style transfer. Field metadata ``doc`` is the one-line help text."""

    size: int = field(default=512, metadata=doc("long side of the output in pixels", flag="--size"))
    steps: int | None = field(
        default=300,
        metadata=doc(
            "optimiser iterations in total, spread over the scales (L-BFGS: iterations; Adam: steps); "
            "None = no limit, run until time_budget is spent"
        ),
    )
    optimizer: str = field(default="lbfgs", metadata=doc(
        "lbfgs (L-BFGS; Gatys et al. used it), adam (the TensorFlow tutorial's choice), or an L-BFGS by name: "
        "lbfgs-scipy (SciPy's L-BFGS-B) or lbfgs-tf (float32, in TensorFlow)"))
    time_budget: float | None = field(
        default=None,
        metadata=doc(
            "stop after this many seconds and keep the best image so far; with steps=None (the CLI's "
            "choice when only a budget is given) the run uses the whole budget"
        ),
    )
    content_weight: float = field(default=1e4, metadata=doc("weight of the content loss"))
    style_weight: float | None = field(
        default=None,  # None → the style statistic's default (set in __post_init__: always a number afterwards)
        metadata=doc(
            "weight of the style loss; default per style_loss: "
            + ", ".join(f"{name} {weight:g}" for name, weight in DEFAULT_STYLE_WEIGHTS.items())
        ),
    )
    tv_weight: float = field(default=0.0, metadata=doc("weight of the total-variation (smoothness) loss"))
    content_layers: tuple[str, ...] = field(
        default=("block5_conv2",), metadata=doc("content layer(s), Keras (block5_conv2) or Gatys (conv5_2) names")
    )
    style_layers: tuple[str, ...] = field(
        default=GATYS_STYLE_LAYERS, metadata=doc("style layers, Keras or Gatys names")
    )
    style_loss: str = field(
        default="gram", metadata=doc("style statistic compared between image and style: " + ", ".join(STYLE_LOSSES))
    )
    style_layer_weights: tuple[float, ...] | None = field(
        default=None, metadata=doc("one weight per style layer (normalised to sum 1); default equal")
    )
    content_layer_weights: tuple[float, ...] | None = field(
        default=None, metadata=doc("one weight per content layer (normalised to sum 1); default equal")
    )
    style_blend: tuple[float, ...] | None = field(
        default=None, metadata=doc("one weight per style image (normalised to sum 1); default equal")
    )
    style_scale: float = field(
        default=1.0, metadata=doc("style image size relative to the output: >1 larger brush strokes, <1 finer")
    )
    preserve_colors: str = field(default="none", metadata=doc(
        "none, luminance (style on luminance only) or histogram (the style recoloured to the content's colour mean and "
        "covariance, Gatys et al. 2017's 'histogram matching')"))
    init: str = field(
        default="recolored",
        metadata=doc(
            "start image: recolored (the content in the style's colours; fastest, see benchmarks/README.md), "
            "content, noise, style, or the path of an image file (e.g. an earlier result; stretched to the "
            "content's shape)"
        ),
    )
    seed: int = field(default=0, metadata=doc("random seed (noise init, reproducible runs)"))
    scales: int = field(
        default=1,
        metadata=doc(
            "coarse-to-fine levels: 1 = single scale (fastest to a given loss, measured); each extra level halves the size"
        ),
    )
    learning_rate: float = field(default=0.02, metadata=doc("Adam learning rate (pixel units, image in [0,1])"))
    adam_beta_1: float = field(default=0.99, metadata=doc("Adam beta_1 (the TensorFlow tutorial uses 0.99)"))
    adam_epsilon: float = field(default=0.1, metadata=doc("Adam epsilon (the TensorFlow tutorial uses 0.1)"))
    adam_beta_2: float = field(default=0.999, metadata=doc("Adam beta_2 (Keras and the tutorial: 0.999)"))
    learning_rate_end: float | None = field(
        default=None,
        metadata=doc("Adam: the learning rate falls along a half cosine to this value by the last step; None = constant"),
    )
    average_decay: float | None = field(
        default=None,
        metadata=doc(
            "Adam: return the exponential moving average of the iterates with this decay (e.g. 0.99), as "
            "crowsonkb's style-transfer-pytorch does; None = the best iterate"
        ),
    )
    scale_factor: float = field(
        default=2.0,
        metadata=doc("size ratio between consecutive scales when scales > 1 (2 = halve; 1.414 = crowsonkb's √2 ladder)"),
    )
    lbfgs_corrections: int = field(
        default=50,
        metadata=doc(
            "L-BFGS memory: stored corrections (each costs two image-sized float64 arrays; capped so they "
            "take at most 400 MB: about 39 at 512 px, 9 at 1024 px)"
        ),
    )
    backbone: str = field(default="vgg19", metadata=doc("feature network: vgg19 or vgg16"))
    weights: str = field(
        default="imagenet", metadata=doc("'imagenet' (resolved as in the README) or a path to a Keras weights file")
    )

    precision: str = field(
        default="auto",
        metadata=doc(
            "numbers VGG computes in: " + ", ".join(PRECISIONS) + "; auto = bfloat16 where the processor has it "
            "natively and a once-per-machine measurement shows it faster, else float32 (losses, optimiser and "
            "image stay float32; docs/precision.md)"
        ),
    )

    max_memory: str | None = field(
        default=None,
        metadata=doc(
            "memory budget such as 8G or 512M; a run that needs more is done in tiles, or refused if even "
            "tiles do not fit (default: 0.8 × the memory available when the run starts)"
        ),
    )
    # Gatys et al.'s own network (notebook 11); the defaults keep the Keras VGG as it was trained
    pooling: str = field(
        default="max",
        metadata=doc("pooling between VGG's blocks: max (the trained network's) or avg (Gatys et al.'s choice for synthesis)"),
    )
    rescale_network: bool = field(
        default=False,
        metadata=doc(
            "VGG rescaled so that every filter's mean activation is 1, as in Gatys et al. (means measured on the "
            "bundled photos and crops, with this pooling; the paper's α/β then convert exactly, see notebook 11)"
        ),
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # frozen: normalise through object.__setattr__
            object.__setattr__(self, f.name, _normalise(f.name, getattr(self, f.name)))
        if self.style_weight is None and isinstance(self.style_loss, str) and self.style_loss in DEFAULT_STYLE_WEIGHTS:
            # the weights of different statistics differ by 10⁵: each has its own default
            object.__setattr__(self, "style_weight", DEFAULT_STYLE_WEIGHTS[self.style_loss])
        validate_config(self)

    def replace(self, **changes: Any) -> "StyleConfig":
        """Return a copy with some fields changed (validated again).

        Changing ``style_loss`` without giving ``style_weight`` moves a weight that is still the old
        statistic's default to the new statistic's default (a Gram weight means nothing to another
        statistic); a weight set by hand is kept.
        """
        new_loss = changes.get("style_loss", self.style_loss)
        if (new_loss != self.style_loss and "style_weight" not in changes
                and self.style_weight == DEFAULT_STYLE_WEIGHTS.get(self.style_loss)):
            changes["style_weight"] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary of the settings (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


#: The objective of the TensorFlow tutorial "Neural style transfer" in its first optimisation loop (no TV
#: term), with its Adam recipe. The tutorial's final loop adds ``total_variation_weight = 30`` times
#: ``tf.image.total_variation`` (a sum of absolute differences), which this library's squared-mean TV does not
#: reproduce.
TF_TUTORIAL = dict(
    content_layers=("block5_conv2",),
    style_layers=GATYS_STYLE_LAYERS,
    content_weight=1e4,
    style_weight=1e-2,
    tv_weight=0.0,
    optimizer="adam",
    learning_rate=0.02,
    adam_beta_1=0.99,
    adam_epsilon=0.1,
    scales=1,
    init="content",
)


_TUPLE_FIELDS = ("content_layers", "style_layers", "style_layer_weights", "content_layer_weights", "style_blend")
_INT_FIELDS = ("size", "steps", "seed", "scales", "lbfgs_corrections")


def _normalise(name: str, value: Any) -> Any:
    """NumPy integers and floats become Python ones; lists (or a comma-separated string) become tuples.

    The config stays hashable and JSON-friendly whatever a notebook, a widget or a NumPy computation
    handed in; anything else is left for :func:`validate_config` to refuse with a message.
    """
    if name in _TUPLE_FIELDS:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        elif isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, numbers.Number)):
            value = tuple(value.tolist() if hasattr(value, "tolist") else value)
        if isinstance(value, tuple):
            value = tuple(_plain_number(v) for v in value)
        return value
    if name in _INT_FIELDS:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        return value
    return _plain_number(value)


def _plain_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def config_fields() -> list[dataclasses.Field]:
    """The fields of :class:`StyleConfig`, in declaration order (used by the CLI and the widgets)."""
    return list(dataclasses.fields(StyleConfig))


def _check_number(name: str, value: Any, *, minimum: float | None = None, exclusive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidSettingError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidSettingError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (value < minimum or (exclusive and value == minimum)):
        relation = ">" if exclusive else ">="
        raise InvalidSettingError(f"{name} must be {relation} {minimum}, got {value!r}")


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidSettingError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def normalize_weights(name: str, weights: Sequence[float] | None, count: int) -> tuple[float, ...]:
    """Validate per-item weights (non-negative, finite, not all zero) and scale them to sum to 1.

    Args:
        name: what the weights are for, used in error messages.
        weights: one weight per item, or ``None`` for equal weights.
        count: the number of items.
    """
    if weights is None:
        return tuple([1.0 / count] * count)
    weights = tuple(weights)
    if len(weights) != count:
        raise InvalidSettingError(f"{name} needs {count} value(s), one per item; got {len(weights)}: {weights}")
    for w in weights:
        _check_number(name, w, minimum=0.0)
    total = float(sum(weights))
    if total <= 0:
        raise InvalidSettingError(f"{name} must not be all zero; got {weights}")
    return tuple(float(w) / total for w in weights)


def validate_config(cfg: StyleConfig) -> None:
    """Raise :class:`InvalidSettingError` naming the first field that is out of range."""
    check_int("size", cfg.size, minimum=MIN_SIZE, maximum=MAX_SIZE)
    if cfg.steps is None:
        if cfg.time_budget is None:
            raise InvalidSettingError("steps=None (no iteration limit) needs a time_budget; give one of them")
    else:
        check_int("steps", cfg.steps, minimum=1)
    _check_choice("optimizer", cfg.optimizer, OPTIMIZERS)
    if cfg.time_budget is not None:
        _check_number("time_budget", cfg.time_budget, minimum=0.0, exclusive=True)
    _check_choice("style_loss", cfg.style_loss, STYLE_LOSSES)  # before the weights: it sets style_weight's default
    for name in ("content_weight", "style_weight", "tv_weight"):
        _check_number(name, getattr(cfg, name), minimum=0.0)
    if cfg.content_weight == 0 and cfg.style_weight == 0 and cfg.tv_weight == 0:
        raise InvalidSettingError("content_weight, style_weight and tv_weight are all zero: nothing to optimise")
    if not cfg.style_layers and cfg.style_weight > 0:
        raise InvalidSettingError("style_layers is empty but style_weight > 0; name at least one style layer")
    if not cfg.content_layers and cfg.content_weight > 0:
        raise InvalidSettingError("content_layers is empty but content_weight > 0; name at least one content layer")
    if cfg.style_layer_weights is not None:
        normalize_weights("style_layer_weights", cfg.style_layer_weights, len(cfg.style_layers))
    if cfg.content_layer_weights is not None:
        normalize_weights("content_layer_weights", cfg.content_layer_weights, len(cfg.content_layers))
    if cfg.style_blend is not None:
        normalize_weights("style_blend", cfg.style_blend, len(cfg.style_blend))
    _check_number("style_scale", cfg.style_scale, minimum=0.0, exclusive=True)
    if not 0.05 <= cfg.style_scale <= 8:
        raise InvalidSettingError(f"style_scale must be between 0.05 and 8, got {cfg.style_scale}")
    if cfg.size * cfg.style_scale > MAX_SIZE:
        raise InvalidSettingError(
            f"size × style_scale must be at most {MAX_SIZE} px (the style image is used at that size); got "
            f"{cfg.size} × {cfg.style_scale:g} = {round(cfg.size * cfg.style_scale)} px"
        )
    _check_choice("preserve_colors", cfg.preserve_colors, COLOR_MODES)
    if cfg.init not in INITS:
        if not isinstance(cfg.init, str) or not os.path.isfile(cfg.init):
            raise InvalidSettingError(
                f"init must be one of {', '.join(INITS)} or the path of an image file; got {cfg.init!r}"
                + (" (no such file)" if isinstance(cfg.init, str) else "")
            )
    check_int("seed", cfg.seed, minimum=0)
    check_int("scales", cfg.scales, minimum=1, maximum=6)
    _check_number("learning_rate", cfg.learning_rate, minimum=0.0, exclusive=True)
    _check_number("adam_beta_1", cfg.adam_beta_1, minimum=0.0)
    if cfg.adam_beta_1 >= 1:
        raise InvalidSettingError(f"adam_beta_1 must be below 1, got {cfg.adam_beta_1}")
    _check_number("adam_epsilon", cfg.adam_epsilon, minimum=0.0, exclusive=True)
    _check_number("adam_beta_2", cfg.adam_beta_2, minimum=0.0)
    if cfg.adam_beta_2 >= 1:
        raise InvalidSettingError(f"adam_beta_2 must be below 1, got {cfg.adam_beta_2}")
    if cfg.learning_rate_end is not None:
        _check_number("learning_rate_end", cfg.learning_rate_end, minimum=0.0, exclusive=True)
    if cfg.average_decay is not None:
        _check_number("average_decay", cfg.average_decay, minimum=0.0, exclusive=True)
        if cfg.average_decay >= 1:
            raise InvalidSettingError(f"average_decay must be below 1, got {cfg.average_decay}")
    _check_number("scale_factor", cfg.scale_factor, minimum=1.1)
    if cfg.scale_factor > 4:
        raise InvalidSettingError(f"scale_factor must be between 1.1 and 4, got {cfg.scale_factor}")
    check_int("lbfgs_corrections", cfg.lbfgs_corrections, minimum=1, maximum=100)
    _check_choice("backbone", cfg.backbone, BACKBONES)
    _check_choice("pooling", cfg.pooling, POOLINGS)
    if not isinstance(cfg.rescale_network, bool):
        raise InvalidSettingError(f"rescale_network must be True or False, got {cfg.rescale_network!r}")
    _check_choice("precision", cfg.precision, PRECISIONS)
    if cfg.max_memory is not None:
        parse_memory_size(cfg.max_memory)
    if not isinstance(cfg.weights, str) or not cfg.weights:
        raise InvalidSettingError(f"weights must be 'imagenet' or a file path, got {cfg.weights!r}")


# ---------------------------------------------------------------------------------------------- fast mode
def fast_mode() -> bool:
    """True when ``NST_FAST`` is set to a true value (tests and CI set ``NST_FAST=1``; see
    :mod:`nst_lib.environment` for the spellings of true)."""
    return environment.fast_mode()


def pick(real: Any, fast: Any) -> Any:
    """Return ``fast`` in fast mode, else ``real``: notebooks show real settings, CI runs tiny ones."""
    return fast if fast_mode() else real
