"""Reference solutions of notebook 10's exercises ("Fast style transfer").

Nothing here is shown by default: ``checks.solution("instance_norm")`` prints one on purpose once
:mod:`nst_lib.course.checks_fast` is imported (it registers the exercises). Written the way the exercises
ask, with plain TensorFlow; the library's own versions are :class:`nst_lib.fast.InstanceNormalization` and
:func:`nst_lib.fast.perceptual_losses`.
"""
from __future__ import annotations

EPSILON = 1e-5  # = nst_lib.fast.InstanceNormalization's default


def instance_norm(x, epsilon=EPSILON):
    """(B, H, W, C) → each channel of each image with mean 0 and variance 1 over its H·W positions."""
    import tensorflow as tf

    mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)  # (B, 1, 1, C): one mean per image and channel
    variance = tf.reduce_mean(tf.square(x - mean), axis=[1, 2], keepdims=True)
    return (x - mean) / tf.sqrt(variance + epsilon)


def batch_style_loss(features, target_grams, layer_weights):
    """The style loss of a batch: each image's own Gram matrices against the targets, averaged over the batch."""
    import tensorflow as tf

    batch = next(iter(features.values())).shape[0]
    total = 0.0
    for i in range(batch):
        for layer, weight in layer_weights.items():
            feats = features[layer][i]  # (h, w, C): one image
            h, w, c = feats.shape
            flat = tf.reshape(feats, (h * w, c))
            gram = tf.matmul(flat, flat, transpose_a=True) / (h * w)  # that image's Gram matrix
            total += weight * tf.reduce_mean(tf.square(gram - target_grams[layer]))
    return total / batch  # the mean over the images, not the sum
