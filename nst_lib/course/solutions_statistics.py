"""Reference solutions of notebook 09's exercises ("What is style?").

Nothing here is shown by default: ``checks.solution("mean_std_distance")`` prints one on purpose (the
exercises are registered by :mod:`nst_lib.course.checks_statistics`). Written the way the exercises ask,
with plain TensorFlow; the library's own versions are in :mod:`nst_lib.statistics`.
"""
from __future__ import annotations

STD_EPSILON = 1e-5  # = nst_lib.statistics.STD_EPSILON: σ = √(variance + ε), as the exercise says


def mean_std_distance(features, style_features):
    """(‖μ − μ*‖² + ‖σ − σ*‖²) / C between the per-channel means and standard deviations."""
    import tensorflow as tf

    def mean_and_std(feats):
        channels = feats.shape[-1]
        points = tf.reshape(feats, (-1, channels))  # (N, C): one row per position
        mean = tf.reduce_mean(points, axis=0)  # average over positions, one value per channel
        variance = tf.reduce_mean(tf.square(points - mean), axis=0)
        return mean, tf.sqrt(variance + STD_EPSILON)

    mean, std = mean_and_std(features)
    style_mean, style_std = mean_and_std(style_features)
    return tf.reduce_mean(tf.square(mean - style_mean) + tf.square(std - style_std))  # Σ over C, then / C


def sliced_wasserstein_distance(features, style_features, directions):
    """Mean over directions of the mean squared difference between the sorted projections."""
    import tensorflow as tf

    channels = features.shape[-1]
    points = tf.reshape(features, (-1, channels))  # (N, C)
    style_points = tf.reshape(style_features, (-1, channels))  # (N, C): as many positions
    projected = tf.sort(points @ directions, axis=0)  # (N, K): each column sorted over the positions
    style_projected = tf.sort(style_points @ directions, axis=0)
    return tf.reduce_mean(tf.square(projected - style_projected))  # mean over positions and directions
