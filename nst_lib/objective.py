"""Building the objective of a run: layer weights, style targets, content targets (notebooks 04 and 06).

One builder for :func:`~nst_lib.transfer.stylize` (each scale and each tile), :func:`~nst_lib.transfer.make_objective`
and fast transfer (:mod:`nst_lib.fast`), so the three optimise the same numbers: the layer names are
translated for the extractor's network, the layer weights normalised to sum to 1, and each style image's
targets computed with the registered statistic at the size it is used at.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from .config import normalize_weights
from .images import MIN_SOURCE_SIDE, resize_long_side
from .layers import to_keras_names
from .losses import Objective, StyleTarget, TemporalTarget, style_statistic


@dataclass(frozen=True)
class LayerWeights:
    """Keras layer → weight for the content and the style terms (each set summing to 1)."""

    content: dict[str, float]
    style: dict[str, float]


def layer_weights(settings: Any, backbone: str) -> LayerWeights:
    """The normalised layer weights of ``settings`` (a ``StyleConfig`` or ``TrainSettings``: its
    ``content_layers``, ``style_layers`` and, when it has them, ``content_layer_weights`` and
    ``style_layer_weights``) for the layer names of ``backbone`` (Gatys names are translated)."""
    out = {}
    for term in ("content", "style"):
        layers = to_keras_names(getattr(settings, f"{term}_layers"), backbone)
        given = getattr(settings, f"{term}_layer_weights", None)
        out[term] = dict(zip(layers, normalize_weights(f"{term}_layer_weights", given, len(layers)))) if layers else {}
    return LayerWeights(**out)


def style_targets(extractor, style_image: np.ndarray, style_layers: Sequence[str], statistic: str = "gram") -> dict:
    """Layer → the style's target (a tuple of tensors of the registered ``statistic``; for Gram ``(gram,)``)."""
    features = extractor(style_image[np.newaxis])
    summary = style_statistic(statistic)
    return {layer: tuple(summary.targets(features[layer])) for layer in style_layers}


def style_at(style_image: np.ndarray, shape: Sequence[int], style_scale: float) -> np.ndarray:
    """The style image at the size it is used for an output of ``shape``: long side = the output's long
    side × ``style_scale`` (its brush strokes keep their size relative to the picture)."""
    long_side = max(MIN_SOURCE_SIDE, round(max(shape) * style_scale))
    return style_image if max(style_image.shape[:2]) == long_side else resize_long_side(style_image, long_side)


def content_targets(extractor, content: np.ndarray, layers: Mapping[str, float]) -> dict:
    """Layer → the content's features (the content loss's targets)."""
    features = extractor(content[np.newaxis])
    return {layer: features[layer] for layer in layers}


def build_objective(extractor, content: np.ndarray, targets: Sequence[Mapping], cfg: Any, weights: LayerWeights, *,
                    blend: Sequence[float] = (1.0,), masks: Sequence[np.ndarray] | None = None,
                    temporal: TemporalTarget | None = None) -> Objective:
    """The :class:`~nst_lib.losses.Objective` for ``content`` (at the size being optimised) and one target
    dict per style image (:func:`style_targets`), each with its blend weight and optional mask, with the
    loss weights, statistic and seed of ``cfg`` (a ``StyleConfig`` or ``TrainSettings``)."""
    styles = [StyleTarget(layer_targets, weight=weight, mask=None if masks is None else tf.constant(masks[i], tf.float32))
              for i, (layer_targets, weight) in enumerate(zip(targets, blend))]
    return Objective(extractor, content_targets(extractor, content, weights.content), styles, weights.content,
                     weights.style, cfg.content_weight, cfg.style_weight, cfg.tv_weight, style_loss=cfg.style_loss,
                     seed=cfg.seed, temporal=temporal)
