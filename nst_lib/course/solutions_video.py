"""Reference solution of notebook 13's exercise ("Video without flicker").

Nothing here is shown by default: ``checks.solution("temporal_loss")`` prints it on purpose (the check is
:func:`nst_lib.course.checks.check_temporal_loss`). The library's own version is
:func:`nst_lib.losses.temporal_loss`.
"""
from __future__ import annotations


def temporal_loss(image, warped, mask):
    """mean(c · (x − ω)²) over pixels and channels (Ruder et al. 2016: (1/D) Σ c_k (x_k − ω_k)², D = H·W·3)."""
    import tensorflow as tf

    return tf.reduce_mean(mask[..., tf.newaxis] * tf.square(image - warped))
