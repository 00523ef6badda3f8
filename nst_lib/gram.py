"""Gram matrices: the style statistics of Gatys et al. (taught in notebook 03)."""
from __future__ import annotations

import tensorflow as tf


def gram_matrix(features: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """Channel-by-channel correlations of feature maps, normalised by the number of positions.

    ``G = Fᵀ F / (H·W)`` with ``F`` the features reshaped to (H·W, C). The normalisation makes the
    statistics independent of image size, so loss weights carry over between sizes (docs/architecture.md).

    Args:
        features: (H, W, C) or (batch, H, W, C) feature maps.
        mask: optional guidance channel (H, W) or (batch, H, W) in [0, 1] at the feature resolution:
            a *guided* Gram matrix (Gatys et al. 2017) ``G = (m·F)ᵀ (m·F) / Σ m²`` describes only the
            masked region.

    Returns:
        (C, C) or (batch, C, C) Gram matrices.
    """
    features = tf.convert_to_tensor(features)
    squeeze = features.shape.rank == 3
    if squeeze:
        features = features[tf.newaxis]
    if mask is None:
        positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
        gram = tf.einsum("bhwc,bhwd->bcd", features, features) / positions
    else:
        mask = tf.convert_to_tensor(mask, features.dtype)
        if mask.shape.rank == 2:
            mask = mask[tf.newaxis]
        weighted = features * mask[..., tf.newaxis]
        energy = tf.reduce_sum(tf.square(mask), axis=[1, 2])
        gram = tf.einsum("bhwc,bhwd->bcd", weighted, weighted) / tf.maximum(energy, 1e-8)[:, None, None]
    return gram[0] if squeeze else gram
