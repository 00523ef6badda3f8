"""The VGG layer catalogue, without TensorFlow: layer names, Gatys ↔ Keras names, channels, strides and
receptive fields (taught in notebook 02).

A leaf module: the settings, the weights files, the memory plan, the tiles and the command line read the
catalogue without importing TensorFlow; :mod:`nst_lib.backbone` builds the networks from it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .errors import InvalidSettingError

# ------------------------------------------------------------------------------------------ catalogue
#: convolutions per block of each backbone
BACKBONE_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
#: output channels of the convolutions of each block
BLOCK_CHANNELS = (64, 128, 256, 512, 512)


def layer_names(backbone: str = "vgg19") -> list[str]:
    """Keras names of the convolution layers of ``backbone``, input to output."""
    check_backbone(backbone)
    return [f"block{b + 1}_conv{c + 1}" for b, n in enumerate(BACKBONE_BLOCKS[backbone]) for c in range(n)]


@dataclass(frozen=True)
class LayerInfo:
    """One convolution layer of a VGG network (for tables in notebook 02)."""

    keras_name: str
    gatys_name: str
    channels: int
    stride: int  # total down-sampling factor of the layer's output relative to the input
    receptive_field: int  # side of the input window that influences one output unit, in pixels


def layer_catalogue(backbone: str = "vgg19") -> list[LayerInfo]:
    """Every convolution layer with its Gatys name, channels, stride and receptive field."""
    check_backbone(backbone)
    infos: list[LayerInfo] = []
    rf, jump = 1, 1
    for b, n in enumerate(BACKBONE_BLOCKS[backbone]):
        for c in range(n):
            rf += 2 * jump  # a 3×3 convolution widens the window by one unit on each side
            infos.append(LayerInfo(f"block{b + 1}_conv{c + 1}", f"conv{b + 1}_{c + 1}", BLOCK_CHANNELS[b], jump, rf))
        rf += jump  # 2×2 max-pool with stride 2
        jump *= 2
    return infos


_GATYS = re.compile(r"^(?:conv|relu)([1-5])_([1-4])$")
_KERAS = re.compile(r"^block([1-5])_conv([1-4])$")


def to_keras_name(name: str, backbone: str = "vgg19") -> str:
    """Translate ``conv4_2`` / ``relu4_2`` / ``block4_conv2`` to the Keras name, checking it exists.

    Raises:
        InvalidSettingError: the name is not a convolution layer of ``backbone`` (the message lists them).
    """
    check_backbone(backbone)
    text = str(name).strip()
    match = _GATYS.match(text.lower()) or _KERAS.match(text.lower())
    valid = layer_names(backbone)
    keras_name = f"block{match.group(1)}_conv{match.group(2)}" if match else None
    if keras_name not in valid:
        gatys = ", ".join(info.gatys_name for info in layer_catalogue(backbone))
        raise InvalidSettingError(
            f"unknown {backbone} layer {name!r}; valid names are {', '.join(valid)} (or Gatys names {gatys})"
        )
    return keras_name


def to_keras_names(names: Iterable[str] | str, backbone: str = "vgg19") -> tuple[str, ...]:
    """Translate a list of names (or one comma-separated string) to Keras names."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    return tuple(to_keras_name(n, backbone) for n in names)


def check_backbone(backbone: str) -> None:
    if backbone not in BACKBONE_BLOCKS:
        raise InvalidSettingError(f"backbone must be one of {', '.join(BACKBONE_BLOCKS)}; got {backbone!r}")
