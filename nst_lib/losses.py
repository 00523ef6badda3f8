"""Content, style and total-variation losses, and the weighted objective (taught in notebook 04).

Normalisation (DESIGN.md; size-independent, so weights don't change with image size):

* ``gram(F) = Fᵀ F / (H·W)``;
* style loss   = Σ_l w_l · mean((G_l − A_l)²), layer weights w_l summing to 1;
* content loss = Σ_l c_l · mean((F_l − P_l)²), layer weights c_l summing to 1;
* total variation = mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) on the [0, 1] image;
* total = content_weight · content + style_weight · style + tv_weight · tv.

With content ``block5_conv2``, the five Gatys style layers, content_weight 1e4, style_weight 1e-2 and no
TV, the total equals the objective of the TensorFlow tutorial (tests/test_losses.py checks this).
Every function returns the loss *and* its parts per layer, so notebooks and widgets can show them.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Mapping, Sequence

import tensorflow as tf

from .gram import gram_matrix


def content_loss(
    features: Mapping[str, tf.Tensor], targets: Mapping[str, tf.Tensor], layer_weights: Mapping[str, float]
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Σ_l c_l · mean((F_l − P_l)²). Returns (loss, {layer: weighted part})."""
    parts = {
        layer: weight * tf.reduce_mean(tf.square(features[layer] - targets[layer]))
        for layer, weight in layer_weights.items()
    }
    return tf.add_n(list(parts.values())), parts


def style_loss(
    features: Mapping[str, tf.Tensor],
    target_grams: Mapping[str, tf.Tensor],
    layer_weights: Mapping[str, float],
    mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Σ_l w_l · mean((G_l − A_l)²) with G_l the (optionally mask-guided) Gram of the features.

    Args:
        features: layer → (1, h, w, C) feature maps of the image being optimised.
        target_grams: layer → (C, C) target Gram matrices (of the style image, or a blend).
        layer_weights: layer → weight w_l (the losses' normalisation expects them to sum to 1).
        mask: optional (H, W) guidance in [0, 1] at image resolution; it is area-resized to each layer.
    """
    parts = {}
    for layer, weight in layer_weights.items():
        feats = features[layer]
        layer_mask = None if mask is None else resize_mask(mask, tf.shape(feats)[1:3])
        gram = gram_matrix(feats, layer_mask)[0]
        parts[layer] = weight * tf.reduce_mean(tf.square(gram - target_grams[layer]))
    return tf.add_n(list(parts.values())), parts


def resize_mask(mask: tf.Tensor, size) -> tf.Tensor:
    """Area-average a (H, W) mask to ``size`` = (h, w), returning (1, h, w)."""
    mask = tf.convert_to_tensor(mask, tf.float32)
    return tf.image.resize(mask[tf.newaxis, :, :, tf.newaxis], size, method="area")[..., 0]


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) of a (1, H, W, 3) [0, 1] image."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_mean(tf.square(dy)) + tf.reduce_mean(tf.square(dx))


@dataclass(frozen=True)
class StyleTarget:
    """Gram targets of one style image, with its blend weight and optional region mask."""

    grams: Mapping[str, tf.Tensor]
    weight: float = 1.0
    mask: tf.Tensor | None = None  # (H, W) in [0, 1] at the output resolution; None = everywhere


class Objective:
    """The weighted NST objective for one content image and one or more style targets.

    Style targets without masks are blended into one set of Gram targets (Σ_i b_i A_i, blend weights
    summing to 1); targets with masks each get their own guided style loss, weighted by b_i.

    Call :meth:`parts` with a (1, H, W, 3) [0, 1] image to get a dict with ``total``, ``content``,
    ``style``, ``tv`` and the per-layer parts ``content/<layer>`` and ``style/<layer>``.
    """

    def __init__(
        self,
        extractor,
        content_targets: Mapping[str, tf.Tensor],
        style_targets: Sequence[StyleTarget],
        content_layer_weights: Mapping[str, float],
        style_layer_weights: Mapping[str, float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
    ):
        self.extractor = extractor
        self.content_targets = dict(content_targets)
        self.content_layer_weights = dict(content_layer_weights)
        self.style_layer_weights = dict(style_layer_weights)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self._weights: tf.Variable | None = None  # set by to_variables()
        total_weight = sum(t.weight for t in style_targets) or 1.0
        unmasked = [t for t in style_targets if t.mask is None]
        self.masked_targets = [(t, t.weight / total_weight) for t in style_targets if t.mask is not None]
        self.blended_grams = None  # Σ_i b_i A_i over the unmasked targets, b_i summing to 1
        self.unmasked_share = sum(t.weight for t in unmasked) / total_weight
        if unmasked and self.unmasked_share > 0:
            unmasked_weight = sum(t.weight for t in unmasked)
            self.blended_grams = {
                layer: tf.add_n([(t.weight / unmasked_weight) * t.grams[layer] for t in unmasked])
                for layer in self.style_layer_weights
            }

    def parts(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        """Every loss term for ``image`` (see the class docstring)."""
        features = self.extractor(image)
        zero = tf.constant(0.0, tf.float32)
        out: dict[str, tf.Tensor] = {}
        content = zero
        if self.content_weight > 0 and self.content_layer_weights:
            content, per_layer = content_loss(features, self.content_targets, self.content_layer_weights)
            out.update({f"content/{k}": v for k, v in per_layer.items()})
        style = zero
        if self.style_weight > 0 and self.style_layer_weights:
            style_parts: dict[str, tf.Tensor] = {}
            terms = [(self.blended_grams, None, self.unmasked_share)] if self.blended_grams is not None else []
            terms += [(t.grams, t.mask, share) for t, share in self.masked_targets]
            for grams, mask, share in terms:
                loss, per_layer = style_loss(features, grams, self.style_layer_weights, mask)
                style += share * loss
                for k, v in per_layer.items():
                    style_parts[k] = style_parts.get(k, zero) + share * v
            out.update({f"style/{k}": v for k, v in style_parts.items()})
        tv = total_variation_loss(image) if self.tv_weight > 0 else zero
        out["content"] = content
        out["style"] = style
        out["tv"] = tv
        if self._weights is not None:  # a reusable copy: the weights are variables, not graph constants
            weights = [self._weights[i] for i in range(3)]
        else:
            weights = [self.content_weight, self.style_weight, self.tv_weight]
        out["total"] = weights[0] * content + weights[1] * style + weights[2] * tv
        return out

    # ------------------------------------------------------------- one traced graph for many runs
    def signature(self, image_shape: tuple[int, int]) -> tuple:
        """Everything a traced graph of :meth:`parts` depends on apart from the values of the targets and the
        three loss weights: extractor, layers and layer weights, which terms are on, blend shares, shapes.
        Objectives with equal signatures can share one graph (see :meth:`to_variables`)."""

        def shapes(mapping):
            return tuple((k, tuple(v.shape)) for k, v in sorted(mapping.items()))

        return (
            self.extractor.graph_key,
            tuple(image_shape),
            tuple(sorted(self.content_layer_weights.items())),
            tuple(sorted(self.style_layer_weights.items())),
            (self.content_weight > 0, self.style_weight > 0, self.tv_weight > 0),
            shapes(self.content_targets),
            None if self.blended_grams is None else (shapes(self.blended_grams), self.unmasked_share),
            tuple((shapes(t.grams), tuple(t.mask.shape), share) for t, share in self.masked_targets),
        )

    def to_variables(self) -> "Objective":
        """A copy whose targets and loss weights live in ``tf.Variable``s: a graph traced for it serves any
        objective with the same :meth:`signature` after :meth:`assign` (no retracing between runs)."""

        def var(t):
            return tf.Variable(t, trainable=False, dtype=tf.float32)

        new = copy.copy(self)
        new.content_targets = {k: var(v) for k, v in self.content_targets.items()}
        if self.blended_grams is not None:
            new.blended_grams = {k: var(v) for k, v in self.blended_grams.items()}
        new.masked_targets = [
            (StyleTarget({k: var(v) for k, v in t.grams.items()}, t.weight, var(t.mask)), share)
            for t, share in self.masked_targets
        ]
        new._weights = var([self.content_weight, self.style_weight, self.tv_weight])
        return new

    def assign(self, other: "Objective") -> None:
        """Load ``other``'s targets and weights into this copy made by :meth:`to_variables`."""
        if self._weights is None:
            raise ValueError("assign() needs an objective made by to_variables()")
        for mine, theirs in ((self.content_targets, other.content_targets),
                             (self.blended_grams or {}, other.blended_grams or {})):
            for k, v in mine.items():
                v.assign(theirs[k])
        for (mine_t, _), (their_t, _) in zip(self.masked_targets, other.masked_targets):
            for k, v in mine_t.grams.items():
                v.assign(their_t.grams[k])
            mine_t.mask.assign(their_t.mask)
        self.content_weight, self.style_weight, self.tv_weight = other.content_weight, other.style_weight, other.tv_weight
        self._weights.assign([other.content_weight, other.style_weight, other.tv_weight])
