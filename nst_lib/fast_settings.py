"""The settings of a fast-transfer training run, and the model file that records them (notebook 10).

:class:`TrainSettings` plays for ``nst train`` and :func:`nst_lib.fast.train_fast` the part that
:class:`~nst_lib.config.StyleConfig` plays for ``stylize``: every field has a typed default and a one-line
doc, the CLI derives its flags from the fields, and the settings are stored in every saved model. The
fields shared with ``StyleConfig`` (loss weights, layers, backbone, seed, steps and time budget) are
validated by ``StyleConfig`` itself, so both commands accept and refuse the same values.

A model file is a ``.keras`` zip whose ``config.json`` holds the settings (:func:`check_model_file` reads
it without TensorFlow). This module imports no TensorFlow, so the CLI can refuse bad arguments at once.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config as _config
from .config import BACKBONES, GATYS_STYLE_LAYERS, STYLE_LOSSES, StyleConfig, config_fields
from .errors import InvalidSettingError, NSTError, OutputError
from .validation import check_int, doc

#: Written into every saved model; :func:`check_model_file` refuses files without it.
MODEL_FORMAT = "nst_lib.fast/1"


class ModelFileError(NSTError, ValueError):
    """A file is missing, is not a Keras model, or is a Keras model that is not a fast-transfer network."""


#: Fields of :class:`TrainSettings` that fix the network's architecture: a resumed run keeps the saved ones.
ARCHITECTURE_FIELDS = ("width", "residual_blocks")


@dataclass(frozen=True)
class TrainSettings:
    """All settings of one fast-transfer training run. Field metadata ``doc`` is the one-line help text."""

    size: int = field(default=128, metadata=doc("side of the square training crops in pixels"))
    steps: int | None = field(
        default=2000,
        metadata=doc(
            "training steps in total, counting those of a resumed run (None, or --time-budget without --steps: "
            "until the budget is spent)"
        ),
    )
    time_budget: float | None = field(
        default=None, metadata=doc("stop after this many seconds of this run (a checkpoint is written)")
    )
    batch_size: int = field(
        default=2,
        metadata=doc("crops per training step (Johnson et al. use 4; on 2 CPU cores 2 gives twice the steps per hour)"),
    )
    content_weight: float = field(default=1e3, metadata=doc("weight of the content loss"))
    style_weight: float | None = field(
        default=None,
        metadata=doc("weight of the style loss; default: stylize's default for the style_loss (gram: 1e-2)"),
    )
    tv_weight: float = field(default=0.0, metadata=doc("weight of the total-variation loss (as in stylize)"))
    content_layers: tuple[str, ...] = field(
        default=("block4_conv2",),
        metadata=doc(
            "content layer(s), Keras or Gatys names (stylize uses block5_conv2, but a network that starts from "
            "nothing, not from the photo, needs a shallower layer to keep the photo's shapes)"
        ),
    )
    style_layers: tuple[str, ...] = field(default=GATYS_STYLE_LAYERS, metadata=doc("style layers, Keras or Gatys names"))
    style_loss: str = field(
        default="gram", metadata=doc("style statistic (as stylize's --style-loss): " + ", ".join(STYLE_LOSSES))
    )
    style_size: int = field(
        default=256,
        metadata=doc(
            "long side the style image is resized to for its targets: the model paints strokes the size they "
            "have in a stylize run at this size"
        ),
    )
    learning_rate: float = field(default=1e-3, metadata=doc("Adam learning rate of the network's weights"))
    width: int = field(
        default=16, metadata=doc("channels of the first convolution (Johnson et al. use 32; 16 is 4x faster)")
    )
    residual_blocks: int = field(default=5, metadata=doc("residual blocks at the lowest resolution"))
    checkpoint_every: int = field(default=50, metadata=doc("write the model file every N steps (and at the end)"))
    seed: int = field(default=0, metadata=doc("random seed (weights, crops)"))
    backbone: str = field(default="vgg19", metadata=doc("loss network: vgg19 or vgg16"))
    weights: str = field(default="imagenet", metadata=doc("'imagenet' or a path to a Keras weights file"))
    precision: str = field(
        default="auto",
        metadata=doc("numbers the loss network (VGG) computes in: auto, float32 or bfloat16 (as in stylize; the "
                     "network being trained keeps float32 weights and arithmetic)"))

    def __post_init__(self) -> None:
        if self.style_weight is None:  # each style statistic has its own scale, hence its own default
            object.__setattr__(self, "style_weight", default_style_weight(self.style_loss))
        validate_settings(self)

    def replace(self, **changes: Any) -> "TrainSettings":
        """A copy with some fields changed (validated again). Changing ``style_loss`` without a ``style_weight``
        moves a weight that is still the old statistic's default to the new statistic's default."""
        new_loss = changes.get("style_loss", self.style_loss)
        if (new_loss != self.style_loss and "style_weight" not in changes
                and self.style_weight == default_style_weight(self.style_loss)):
            changes["style_weight"] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainSettings":
        """Settings from :meth:`to_dict` output; unknown keys (from a newer version) are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in known}
        return cls(**kwargs)

    def style_config(self) -> StyleConfig:
        """The :class:`~nst_lib.config.StyleConfig` with the same objective (used to compare with stylize)."""
        shared = {f.name for f in config_fields()} & {f.name for f in dataclasses.fields(self)}
        shared -= {"size", "steps", "time_budget"}
        return StyleConfig(**{name: getattr(self, name) for name in shared})


def default_style_weight(style_loss: str) -> float:
    """``stylize``'s default style weight for a style statistic (1e-2 for Gram)."""
    defaults = getattr(_config, "DEFAULT_STYLE_WEIGHTS", {"gram": 1e-2})
    if style_loss not in defaults:
        raise InvalidSettingError(f"style_loss must be one of {', '.join(STYLE_LOSSES)}; got {style_loss!r}")
    return float(defaults[style_loss])


def train_fields() -> list[dataclasses.Field]:
    """The fields of :class:`TrainSettings` in declaration order (the CLI's flags)."""
    return list(dataclasses.fields(TrainSettings))


def validate_settings(settings: TrainSettings) -> None:
    """Raise :class:`InvalidSettingError` naming the first field that is out of range."""
    # the fields shared with stylize are checked by StyleConfig, so both commands agree
    shared = {f.name for f in config_fields()} & {f.name for f in dataclasses.fields(settings)}
    StyleConfig(**{name: getattr(settings, name) for name in shared if name != "size"})
    check_int("size", settings.size, 32, 1024)
    check_int("batch_size", settings.batch_size, 1, 64)
    check_int("style_size", settings.style_size, 32, 2048)
    lr = settings.learning_rate
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 1:
        raise InvalidSettingError(f"learning_rate must be a number in (0, 1], got {lr!r}")
    check_int("width", settings.width, 4, 128)
    check_int("residual_blocks", settings.residual_blocks, 0, 16)
    check_int("checkpoint_every", settings.checkpoint_every, 1)
    if settings.backbone not in BACKBONES:  # also checked by StyleConfig; kept for a clear order of errors
        raise InvalidSettingError(f"backbone must be one of {', '.join(BACKBONES)}; got {settings.backbone!r}")


# ------------------------------------------------------------------------------------------ model files
def check_model_path(path: str | os.PathLike) -> Path:
    """Check, before training, that a model can be written at ``path`` (a ``.keras`` file in a writable folder).

    Raises:
        OutputError: with one sentence saying what is wrong.
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise OutputError(f"the model path must be a file name ending in .keras; got {path!r}")
    target = Path(path).expanduser()
    if target.is_dir():
        raise OutputError(f"model path '{target}' is a directory; give a file name such as '{target / 'style.keras'}'")
    if target.suffix.lower() != ".keras":
        raise OutputError(f"model path '{target}' must end in .keras (the Keras model format); got '{target.suffix}'")
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"folder '{folder}' does not exist; create it first or choose another model path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"folder '{folder}' is not writable; choose another model path")
    return target


def check_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """Check that ``path`` is a fast-transfer model without loading it (no TensorFlow work); return its config.

    Raises:
        ModelFileError: missing file, not a ``.keras`` zip, another kind of Keras model, or a newer format.
    """
    target = Path(path).expanduser()
    if not target.exists():
        raise ModelFileError(f"model file {str(target)!r} does not exist; train one with: nst train STYLE -o {target.name}")
    if not target.is_file():
        raise ModelFileError(f"model path {str(target)!r} is not a file")
    if not zipfile.is_zipfile(target):
        raise ModelFileError(
            f"{str(target)!r} is not a Keras model file (.keras is a zip archive); train one with: nst train STYLE -o MODEL.keras"
        )
    try:
        with zipfile.ZipFile(target) as archive:
            config = json.loads(archive.read("config.json"))
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{str(target)!r} is not a Keras model file ({type(exc).__name__}: no readable config.json)") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{str(target)!r} is not a Keras model file (its config.json holds a {type(config).__name__})")
    registered = config.get("registered_name") or config.get("class_name")
    if registered != "nst_lib>StyleTransferNetwork":
        raise ModelFileError(
            f"{str(target)!r} is a Keras model of another kind ({config.get('class_name', 'unknown')}), not a "
            "fast-transfer model made by nst train"
        )
    _check_model_record(config, target)
    return config


def _check_model_record(config: dict[str, Any], target: Path) -> None:
    """The network's record (metadata, width, blocks, saved settings) has the types and ranges nst train writes.

    A crafted width of a million would otherwise fail only when TensorFlow runs out of memory.
    """
    inner = config.get("config", {})
    metadata = inner.get("metadata", {}) if isinstance(inner, dict) else None
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{str(target)!r} is not a usable fast-transfer model: its metadata is a "
                             f"{type(metadata).__name__ if isinstance(inner, dict) else type(inner).__name__}, not a record")
    if metadata.get("format") != MODEL_FORMAT:
        raise ModelFileError(
            f"{str(target)!r} has model format {metadata.get('format')!r}; this version of nst_lib reads {MODEL_FORMAT!r}"
        )
    try:
        check_int("width", inner.get("width", 16), 4, 128)
        check_int("residual_blocks", inner.get("residual_blocks", 5), 0, 16)
        check_int("steps_done", metadata.get("steps_done", 0), 0)
        settings = metadata.get("settings", {})
        if not isinstance(settings, dict):
            raise InvalidSettingError(f"its settings are a {type(settings).__name__}, not a record")
        if settings:
            TrainSettings.from_dict(settings)
    except (InvalidSettingError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{str(target)!r} is not a usable fast-transfer model: {exc}") from None
