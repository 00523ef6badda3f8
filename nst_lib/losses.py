"""Content, style and total-variation losses, and the weighted objective (taught in notebook 04).

Normalisation (docs/architecture.md; size-independent, so weights don't change with image size):

* ``gram(F) = Fᵀ F / (H·W)``;
* style loss   = Σ_l w_l · d(S(F_l), A_l), layer weights w_l summing to 1; with the default statistic
  ``"gram"``, S is the Gram matrix and d(G, A) = mean((G − A)²);
* content loss = Σ_l c_l · mean((F_l − P_l)²), layer weights c_l summing to 1;
* total variation = mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) on the [0, 1] image;
* total = content_weight · content + style_weight · style + tv_weight · tv.

With content ``block5_conv2``, the five Gatys style layers, content_weight 1e4, style_weight 1e-2 and no
TV, the total equals the objective of the TensorFlow tutorial (tests/test_gram_losses.py checks this).
Every function returns the loss *and* its parts per layer, so notebooks and widgets can show them.

**Style statistics are pluggable.** The style target of one layer is a *tuple of tensors* (for Gram:
``(gram,)``). :func:`register_style_statistic` adds a statistic under a name (the value of
``StyleConfig.style_loss``) with two functions: one that turns a style image's features into the target
tuple, and one that measures how far an image's features are from a target. Nothing else changes.

**One traced graph per extractor.** :meth:`Objective.inputs` holds every number of an objective — targets,
masks, blend shares, layer and loss weights — as tensors, and :meth:`Objective.structure` the few Python
facts that shape the graph (layers, which terms are on, the statistic, how many masked styles). The
value-and-gradient function of :func:`traced_value_and_grad` takes both plus a ``seed`` as arguments, so
TensorFlow's own trace cache reuses one graph for every run with the same structure and shapes (no
retracing when a notebook, widget or the web page runs again with new images or weights), and concurrent
runs on several threads share nothing mutable.
"""
from __future__ import annotations

import threading
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import tensorflow as tf

from . import statistics  # noqa: F401 - registers the statistics beyond Gram (mean_std, wasserstein, sliced)
from .errors import InvalidSettingError
from .gram import gram_matrix
from .style_registry import (  # noqa: F401 - re-exported: nst_lib.losses.register_style_statistic is public
    StyleStatistic,
    StyleStatistics,
    register_style_statistic,
    style_statistic,
    gram_distance,
    gram_targets,
    style_statistic_names,
)

# ------------------------------------------------------------------------------------------- losses
def content_loss(
    features: Mapping[str, tf.Tensor], targets: Mapping[str, tf.Tensor], layer_weights: Mapping[str, Any]
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Σ_l c_l · mean((F_l − P_l)²). Returns (loss, {layer: weighted part})."""
    parts = {
        layer: weight * tf.reduce_mean(tf.square(features[layer] - targets[layer]))
        for layer, weight in layer_weights.items()
    }
    return tf.add_n(list(parts.values())), parts


def style_loss(
    features: Mapping[str, tf.Tensor],
    targets: Mapping[str, Any],
    layer_weights: Mapping[str, Any],
    mask: tf.Tensor | None = None,
    *,
    statistic: str = "gram",
    seed: tf.Tensor | None = None,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Σ_l w_l · d(features_l, target_l): with the default ``"gram"``, Σ_l w_l · mean((G_l − A_l)²).

    Args:
        features: layer → (1, h, w, C) feature maps of the image being optimised.
        targets: layer → target of that layer: a tuple of tensors (see :class:`StyleStatistic`), or for
            Gram simply the (C, C) target Gram matrix (of the style image, or a blend).
        layer_weights: layer → weight w_l (the losses' normalisation expects them to sum to 1).
        mask: optional (H, W) guidance in [0, 1] at image resolution; it is area-resized to each layer.
        statistic: the registered style statistic (``StyleConfig.style_loss``).
        seed: int64 (2,) tensor for statistics that draw random numbers; default (0, 0).
    """
    stat = style_statistic(statistic)
    seed = tf.zeros((2,), tf.int64) if seed is None else seed
    parts = {}
    for index, (layer, weight) in enumerate(layer_weights.items()):
        feats = features[layer]
        target = targets[layer]
        target = tuple(target) if isinstance(target, (tuple, list)) else (target,)
        layer_mask = None if mask is None else resize_mask(mask, tf.shape(feats)[1:3])
        # each layer draws its own random numbers (two layers with as many channels must not share them)
        layer_seed = tf.cast(tf.random.experimental.stateless_fold_in(seed, index), tf.int64)  # the contract: int64
        parts[layer] = weight * stat.distance(feats, target, layer_mask, layer_seed)
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


# ----------------------------------------------------------------------------------------- objective
@dataclass(frozen=True)
class StyleTarget:
    """The style targets of one style image, with its blend weight and optional region mask.

    ``targets`` maps each style layer to its statistics: a tuple of tensors, or (for Gram) one tensor,
    which becomes a 1-tuple. ``StyleTarget(grams=...)`` is accepted as the older spelling.
    """

    targets: Mapping[str, Any] | None = None
    weight: float = 1.0
    mask: tf.Tensor | None = None  # (H, W) in [0, 1] at the output resolution; None = everywhere
    grams: InitVar[Mapping[str, Any] | None] = None

    def __post_init__(self, grams):
        targets = grams if self.targets is None else self.targets
        if targets is None:
            raise InvalidSettingError("StyleTarget needs targets: {layer: statistics}")
        as_tuples = {k: tuple(v) if isinstance(v, (tuple, list)) else (v,) for k, v in targets.items()}
        object.__setattr__(self, "targets", as_tuples)


class ObjectiveStructure(NamedTuple):
    """What shapes the graph of an objective (hashable; every number lives in :meth:`Objective.inputs`)."""

    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    terms: tuple[bool, bool, bool]  # content, style, tv switched on (weight > 0)
    style_loss: str
    blended: bool  # an unmasked (blended) style term exists
    masked: int  # number of masked style terms
    temporal: bool = False  # a temporal term (video: Ruder et al. 2016) is on


@dataclass(frozen=True)
class TemporalTarget:
    """The temporal term of one video frame (Ruder, Dosovitskiy & Brox 2016; taught in notebook 13).

    ``image`` is the previous *stylized* frame warped onto this frame by the optical flow (H, W, 3 in
    [0, 1]); ``mask`` (H, W) in [0, 1] says where that warp can be trusted (0 at occlusions and motion
    boundaries, 1 elsewhere); ``weight`` multiplies the term in the total. :func:`~nst_lib.transfer.stylize`
    resizes both to each scale of its run and, with ``start=True``, starts the run from ``image`` (the
    warped start; ``weight=0`` gives the warped start alone).
    """

    image: Any
    mask: Any
    weight: float
    start: bool = True


def temporal_loss(image: tf.Tensor, warped: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """mean(c · (x − ω)²) over pixels and channels: Ruder et al.'s (1/D) Σ c_k (x_k − ω_k)², D = H·W·3.

    Args:
        image: (1, H, W, 3) the frame being optimised, in [0, 1].
        warped: (1, H, W, 3) the previous stylized frame warped onto this one.
        mask: (1, H, W) per-pixel weights c in [0, 1] (0 where the warp is not to be trusted).
    """
    return tf.reduce_mean(mask[..., tf.newaxis] * tf.square(image - warped))


def _scalar(value) -> tf.Tensor:
    return tf.constant(float(value), tf.float32)


@dataclass(eq=False, repr=False)
class Objective:
    """The weighted NST objective for one content image and one or more style targets.

    Style targets without masks are blended into one set of targets (Σ_i b_i A_i for Gram, blend weights
    summing to 1); targets with masks each get their own guided style loss, weighted by b_i.

    Call :meth:`parts` with a (1, H, W, 3) [0, 1] image to get a dict with ``total``, ``content``,
    ``style``, ``tv`` and the per-layer parts ``content/<layer>`` and ``style/<layer>``.

    Args:
        extractor: a :class:`~nst_lib.backbone.FeatureExtractor` (or any callable image → {layer: features}).
        content_targets: layer → content features P_l.
        style_targets: one :class:`StyleTarget` per style image.
        content_layer_weights, style_layer_weights: layer → weight (each set summing to 1).
        content_weight, style_weight, tv_weight: the weights of the three terms.
        style_loss: the registered style statistic (default ``"gram"``).
        seed: the run's seed, handed to statistics that draw random numbers.
        temporal: an optional :class:`TemporalTarget` (video): adds ``weight · temporal_loss`` to the total
            and a ``temporal`` part.
    """

    extractor: Any
    content_targets: Mapping[str, tf.Tensor]
    style_targets: Sequence[StyleTarget]
    content_layer_weights: Mapping[str, float]
    style_layer_weights: Mapping[str, float]
    content_weight: float
    style_weight: float
    tv_weight: float
    style_loss: str = field(default="gram", kw_only=True)
    seed: int = field(default=0, kw_only=True)
    temporal: TemporalTarget | None = field(default=None, kw_only=True)

    def __post_init__(self):
        self.statistic = style_statistic(self.style_loss)
        self.seed = int(self.seed)
        self.content_weight = float(self.content_weight)
        self.style_weight = float(self.style_weight)
        self.tv_weight = float(self.tv_weight)
        content_layer_weights, style_layer_weights = self.content_layer_weights, self.style_layer_weights
        content_targets, style_targets, temporal = self.content_targets, self.style_targets, self.temporal
        content_on = self.content_weight > 0 and bool(content_layer_weights)
        style_on = self.style_weight > 0 and bool(style_layer_weights) and bool(style_targets)
        content_layers = tuple(content_layer_weights) if content_on else ()
        style_layers = tuple(style_layer_weights) if style_on else ()

        total_weight = sum(float(t.weight) for t in style_targets) or 1.0
        unmasked = [t for t in style_targets if t.mask is None]
        unmasked_weight = sum(float(t.weight) for t in unmasked)
        masked = [t for t in style_targets if t.mask is not None]
        blended = bool(style_layers) and bool(unmasked) and unmasked_weight > 0

        inputs: dict[str, Any] = {
            "loss_weights": tf.constant([self.content_weight, self.style_weight, self.tv_weight], tf.float32),
            "content_targets": {k: tf.convert_to_tensor(content_targets[k], tf.float32) for k in content_layers},
            "content_layer_weights": {k: _scalar(content_layer_weights[k]) for k in content_layers},
            "style_layer_weights": {k: _scalar(style_layer_weights[k]) for k in style_layers},
            "blended": {},
            "blended_share": _scalar(unmasked_weight / total_weight),
            "masked": [],
        }
        if blended:
            blend_weights = [float(t.weight) / unmasked_weight for t in unmasked]
            inputs["blended"] = {
                layer: self.statistic.blend_targets([t.targets[layer] for t in unmasked], blend_weights)
                for layer in style_layers
            }
        if style_layers:
            inputs["masked"] = [
                {
                    "targets": {layer: t.targets[layer] for layer in style_layers},
                    "mask": tf.convert_to_tensor(t.mask, tf.float32),
                    "share": _scalar(float(t.weight) / total_weight),
                }
                for t in masked
            ]
        inputs["temporal"] = {} if temporal is None else _temporal_inputs(temporal)
        self.inputs = inputs
        self.structure = ObjectiveStructure(
            content_layers,
            style_layers,
            (content_on, bool(style_layers), self.tv_weight > 0),
            self.statistic.name,
            blended,
            len(inputs["masked"]),
            temporal is not None,
        )

    @property
    def blended_targets(self) -> dict[str, StyleStatistics]:
        """layer → the blended target of the unmasked styles (a tuple; empty without unmasked styles)."""
        return dict(self.inputs["blended"])

    @property
    def blended_grams(self) -> dict[str, tf.Tensor] | None:
        """layer → blended Gram target Σ_i b_i A_i (Gram statistic only; ``None`` without unmasked styles)."""
        if self.statistic.name != "gram" or not self.inputs["blended"]:
            return None
        return {k: v[0] for k, v in self.inputs["blended"].items()}

    def parts(self, image: tf.Tensor, seed: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """Every loss term for ``image`` (see the class docstring); runs eagerly (or inside a trace)."""
        if seed is None:
            seed = tf.constant([self.seed, 0], tf.int64)
        return objective_parts(self.extractor, self.structure, self.inputs, tf.convert_to_tensor(image), seed)


def _temporal_inputs(temporal: TemporalTarget) -> dict[str, tf.Tensor]:
    warped = tf.convert_to_tensor(temporal.image, tf.float32)
    mask = tf.convert_to_tensor(temporal.mask, tf.float32)
    if warped.shape.rank != 3 or warped.shape[-1] != 3 or mask.shape.rank != 2 or warped.shape[:2] != mask.shape:
        raise InvalidSettingError(f"a temporal target needs an (H, W, 3) image and an (H, W) mask of the same H, W; "
                                  f"got {tuple(warped.shape)} and {tuple(mask.shape)}")
    return {"warped": warped[tf.newaxis], "mask": mask[tf.newaxis], "weight": _scalar(temporal.weight)}


def objective_parts(extractor, structure: ObjectiveStructure, inputs: Mapping[str, Any], image: tf.Tensor,
                    seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """The loss terms of ``image`` for an objective given as ``structure`` (Python) and ``inputs`` (tensors).

    This is the body of the traced graph; :meth:`Objective.parts` calls it eagerly.
    """
    content_on, style_on, tv_on = structure.terms
    layers = set(structure.content_layers) | set(structure.style_layers)
    features = extractor(image) if layers else {}
    zero = tf.constant(0.0, tf.float32)
    out: dict[str, tf.Tensor] = {}
    content = zero
    if content_on:
        content, per_layer = content_loss(features, inputs["content_targets"], inputs["content_layer_weights"])
        out.update({f"content/{k}": v for k, v in per_layer.items()})
    style = zero
    if style_on:
        terms = [(inputs["blended"], None, inputs["blended_share"])] if structure.blended else []
        terms += [(m["targets"], m["mask"], m["share"]) for m in inputs["masked"]]
        style_parts: dict[str, tf.Tensor] = {}
        for index, (targets, mask, share) in enumerate(terms):
            # each masked style draws its own random numbers (statistics that use them)
            term_seed = seed if index == 0 else tf.cast(tf.random.experimental.stateless_fold_in(seed, index), tf.int64)
            loss, per_layer = style_loss(features, targets, inputs["style_layer_weights"], mask,
                                         statistic=structure.style_loss, seed=term_seed)
            style += share * loss
            for k, v in per_layer.items():
                style_parts[k] = style_parts.get(k, zero) + share * v
        out.update({f"style/{k}": v for k, v in style_parts.items()})
    tv = total_variation_loss(image) if tv_on else zero
    weights = inputs["loss_weights"]
    out["content"] = content
    out["style"] = style
    out["tv"] = tv
    out["total"] = weights[0] * content + weights[1] * style + weights[2] * tv
    if structure.temporal:
        temporal = inputs["temporal"]
        out["temporal"] = temporal_loss(image, temporal["warped"], temporal["mask"])
        out["total"] += temporal["weight"] * out["temporal"]
    return out


# ------------------------------------------------------------------------------ the traced function
_TRACED_ATTRIBUTE = "_nst_value_and_grad"
_TRACED_LOCK = threading.Lock()


def traced_value_and_grad(extractor, jit_compile: bool = False):
    """The one ``tf.function`` of ``extractor``: ``(image, inputs, seed, structure) → (parts, d total/d image)``.

    It lives on the extractor object (an extractor without attributes gets a fresh one each call), so every
    objective built on the same extractor shares its trace cache: a second run with the same structure
    and shapes does not retrace (``.experimental_get_tracing_count()`` counts traces).
    """
    with _TRACED_LOCK:
        functions = getattr(extractor, _TRACED_ATTRIBUTE, None)
        if functions is None:
            functions = {}
            try:
                setattr(extractor, _TRACED_ATTRIBUTE, functions)
            except AttributeError:  # pragma: no cover - an extractor with __slots__
                pass
        if jit_compile not in functions:
            functions[jit_compile] = _make_traced(extractor, jit_compile)
        return functions[jit_compile]


def _make_traced(extractor, jit_compile: bool):
    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def value_and_grad(image, inputs, seed, structure):
        with tf.GradientTape() as tape:
            tape.watch(image)
            parts = objective_parts(extractor, ObjectiveStructure(*structure), inputs, image, seed)
        return parts, tape.gradient(parts["total"], image)

    return value_and_grad
