"""Style statistics beyond the Gram matrix (taught in notebook 09, "What is style?").

A style layer's feature maps are a cloud of N points (one per position) in C dimensions (one per
channel). A *style statistic* summarises that cloud; the style loss is a distance between the summary
of the image being optimised and the summary of the style image (its *target*). Every statistic here
ignores where a feature sits in the image — permuting the positions changes nothing — and that is the
whole idea of "style" as a texture. What they keep differs:

======================  =============================================  ========================================
name                    target (of the style's features F*)            distance of the image's features F
======================  =============================================  ========================================
``gram``                G* = F*ᵀF*/N (:mod:`nst_lib.gram`)             mean((G − G*)²)           [Gatys 2015]
``mean_std``            per-channel mean μ* and standard deviation σ*  (‖μ − μ*‖² + ‖σ − σ*‖²) / C   [AdaIN]
``wasserstein``         mean μ*, covariance Σ*, and Σ*^½               W₂²(N(μ, Σ), N(μ*, Σ*)) / C  [crowsonkb]
``sliced_wasserstein``  the features themselves                        mean over K random unit directions θ
                                                                       of W₂²(θᵀF, θᵀF*)          [Heitz 2021]
======================  =============================================  ========================================

with W₂²(N(μ, Σ), N(μ*, Σ*)) = ‖μ − μ*‖² + tr(Σ + Σ* − 2 (Σ*^½ Σ Σ*^½)^½) (the Wasserstein-2 distance
between Gaussian fits) and W₂² in one dimension the mean squared difference of the sorted values.

**One scale for all three new statistics.** ``mean_std`` is exactly W₂²/C between the *diagonal*
Gaussians (channels treated as independent), ``wasserstein`` is W₂²/C between the full Gaussians, and for
random unit directions E_θ[(θᵀΔμ)²] = ‖Δμ‖²/C, so ``sliced_wasserstein`` is on the same per-channel
scale. All three are averages over positions, so they do not grow with the image size: one default
``style_weight`` per statistic works at any size (:data:`nst_lib.config.DEFAULT_STYLE_WEIGHTS`: the weight
at which the style term has the share of the initial objective that Gram's has at 1e-2; measured by
``benchmarks/calibrate_statistics.py``).

Importing this module registers the three statistics with :func:`nst_lib.losses.register_style_statistic`
under the names above, the values of ``StyleConfig.style_loss`` (``nst stylize --style-loss NAME``);
:mod:`nst_lib.losses` imports it, so they are registered wherever a loss is computed.

**Masks** (guided statistics, Gatys et al. 2017) work with every statistic: a mask ``m`` in [0, 1] at the
layer's resolution makes the positions a *weighted* cloud with weights p_i = m_i / Σ m — weighted mean,
standard deviation and covariance, and for the sliced distance a weighted sort (each sorted value is
matched with the style's quantile at the middle of its share of the cumulative weight). For a binary
mask this is the statistic of the masked region alone; the guided Gram matrix of :mod:`nst_lib.gram`
weights positions by m² instead (it masks the features, as in the paper), which agrees for binary masks.

**Several styles** blend as a *mixture* of their feature distributions (the ``*_blend`` functions): the
Gram matrix and the mean/second moment mix linearly, so the mixture's mean, standard deviation and
covariance are exact; the sliced target keeps every style's features with their mixture weights.

Every distance accepts ``seed`` (an int or an int tensor of shape (2,)); only ``sliced_wasserstein``
uses it, to draw its random directions. :func:`nst_lib.losses.style_loss` folds the layer's index into
the seed the optimiser passes (the run's seed and the evaluation number), so layers draw different
directions and every evaluation new ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .config import normalize_weights
from .style_registry import register_style_statistic

__all__ = [
    "RANDOM_STATISTICS",
    "mean_std_target",
    "mean_std_distance",
    "mean_std_blend",
    "gaussian_target",
    "wasserstein_distance",
    "gaussian_blend",
    "trace_sqrt_psd",
    "sliced_target",
    "sliced_wasserstein_distance",
    "sliced_blend",
    "random_directions",
]

#: added to variances before the square root: σ = √(var + STD_EPSILON). Post-ReLU channels are often
#: all zero (σ = 0), where √ has an infinite slope; VGG feature variances are 10⁰–10⁵, far above this.
STD_EPSILON = 1e-5

#: eigenvalues of Σ*^½ Σ Σ*^½ below this fraction of the largest get no gradient from √ (its slope is
#: infinite at 0; such directions carry no variance in one of the two clouds).
EIGEN_FLOOR = 1e-12


# --------------------------------------------------------------------------------- shared helpers
def _as_cloud(features) -> tf.Tensor:
    """(h, w, C) or (B, h, w, C) feature maps → (B, N, C) point clouds (N = h·w positions)."""
    features = tf.convert_to_tensor(features)
    if features.shape.rank == 3:
        features = features[tf.newaxis]
    if features.shape.rank != 4:
        raise ValueError(f"features must be (h, w, C) or (batch, h, w, C); got shape {features.shape}")
    shape = tf.shape(features)
    return tf.reshape(features, [shape[0], shape[1] * shape[2], shape[3]])


def _position_weights(mask, cloud: tf.Tensor) -> tf.Tensor | None:
    """A mask (h, w) or (B, h, w) at the layer's resolution → weights (B, N) summing to 1 (None = uniform)."""
    if mask is None:
        return None
    mask = tf.convert_to_tensor(mask, cloud.dtype)
    if mask.shape.rank == 2:
        mask = mask[tf.newaxis]
    flat = tf.reshape(mask, [tf.shape(mask)[0], -1])
    flat = tf.broadcast_to(flat, tf.shape(cloud)[:2])
    # an empty region (all zero) gives zero weights and so a zero-mass cloud: its statistics are 0
    return flat / tf.maximum(tf.reduce_sum(flat, axis=1, keepdims=True), 1e-8)


def _weighted_mean(cloud: tf.Tensor, weights: tf.Tensor | None) -> tf.Tensor:
    """(B, N, C) → (B, C): Σ_i p_i F_i (p_i = 1/N without weights)."""
    if weights is None:
        return tf.reduce_mean(cloud, axis=1)
    return tf.einsum("bn,bnc->bc", weights, cloud)


def _target_cloud(features) -> tf.Tensor:
    """A style's features as one (N, C) cloud (a batch of style images is pooled into one cloud)."""
    cloud = _as_cloud(features)
    return tf.reshape(cloud, [-1, tf.shape(cloud)[-1]])


# ------------------------------------------------------------------------------------ mean / std
def _mean_std(cloud: tf.Tensor, weights: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
    mean = _weighted_mean(cloud, weights)
    centred = cloud - mean[:, tf.newaxis, :]  # centred before squaring: no E[F²] − μ² cancellation
    variance = _weighted_mean(tf.square(centred), weights)
    return mean, tf.sqrt(variance + STD_EPSILON)


def mean_std_target(features) -> tuple[tf.Tensor, tf.Tensor]:
    """``(μ*, σ*)``: per-channel mean and standard deviation of the style's features, each (C,).

    These are the statistics adaptive instance normalisation (AdaIN, Huang & Belongie 2017) transfers.
    σ = √(var + :data:`STD_EPSILON`).
    """
    mean, std = _mean_std(_target_cloud(features)[tf.newaxis], None)
    return mean[0], std[0]


def mean_std_distance(features, target: Sequence[tf.Tensor], mask=None, seed=None) -> tf.Tensor:
    """(‖μ − μ*‖² + ‖σ − σ*‖²) / C: W₂²/C between the diagonal Gaussian fits; averaged over a batch.

    Args:
        features: (h, w, C) or (B, h, w, C) feature maps of the image being optimised.
        target: ``(μ*, σ*)`` from :func:`mean_std_target` (or :func:`mean_std_blend`).
        mask: optional (h, w) or (B, h, w) weights in [0, 1] at this layer's resolution: weighted mean
            and standard deviation of the masked region.
        seed: unused (the distance is deterministic).
    """
    del seed
    cloud = _as_cloud(features)
    mean, std = _mean_std(cloud, _position_weights(mask, cloud))
    per_item = tf.reduce_mean(tf.square(mean - target[0]) + tf.square(std - target[1]), axis=-1)
    return tf.reduce_mean(per_item)


def mean_std_blend(targets: Sequence[Sequence[tf.Tensor]], weights: Sequence[float]) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and standard deviation of the mixture: μ = Σ b_i μ_i, σ² = Σ b_i (σ_i² + μ_i²) − μ²."""
    b = normalize_weights("style_blend", [float(w) for w in weights], len(targets))
    mean = tf.add_n([w * t[0] for w, t in zip(b, targets)])
    second = tf.add_n([w * (tf.square(t[1]) - STD_EPSILON + tf.square(t[0])) for w, t in zip(b, targets)])
    variance = tf.maximum(second - tf.square(mean), 0.0)
    return mean, tf.sqrt(variance + STD_EPSILON)


# ------------------------------------------------------------------------- Wasserstein-2 (Gaussian)
def _eigh64(matrix: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Eigen-decomposition of a symmetric matrix in float64 (VGG covariances span 10 orders of magnitude)."""
    matrix = tf.cast(matrix, tf.float64)
    return tf.linalg.eigh(0.5 * (matrix + tf.linalg.matrix_transpose(matrix)))


def _psd_sqrt(matrix: tf.Tensor) -> tf.Tensor:
    """The symmetric square root of a positive semi-definite matrix (negative round-off eigenvalues → 0)."""
    values, vectors = _eigh64(matrix)
    root = tf.sqrt(tf.maximum(values, 0.0))
    return tf.cast(tf.matmul(vectors * root[..., tf.newaxis, :], vectors, adjoint_b=True), matrix.dtype)


@tf.custom_gradient
def trace_sqrt_psd(matrix: tf.Tensor):
    """tr(M^½) of a symmetric positive semi-definite (C, C) or (B, C, C) matrix, with its gradient.

    tr(M^½) = Σ √λ_k over the eigenvalues of M, and d tr(M^½) = tr(½ M^{-½} dM), so the gradient is
    V diag(1 / (2√λ)) Vᵀ — one eigen-decomposition (float64) gives both. Eigenvalues below
    :data:`EIGEN_FLOOR` × the largest count as 0 (√ has an infinite slope there) and get no gradient.
    (crowsonkb/style-transfer-pytorch computes the square root by Newton–Schulz iterations instead;
    one eigen-decomposition is exact and, on a CPU at C ≤ 512, cheaper than its 12 iterations and their
    backward pass.)
    """
    values, vectors = _eigh64(matrix)
    floor = EIGEN_FLOOR * tf.reduce_max(tf.abs(values), axis=-1, keepdims=True)
    kept = values > floor
    value = tf.reduce_sum(tf.sqrt(tf.where(kept, values, 0.0)), axis=-1)

    def grad(upstream):
        slope = tf.where(kept, 0.5 / tf.sqrt(tf.where(kept, values, 1.0)), 0.0)
        upstream = tf.cast(upstream, tf.float64)[..., tf.newaxis, tf.newaxis]
        dmatrix = upstream * tf.matmul(vectors * slope[..., tf.newaxis, :], vectors, adjoint_b=True)
        return tf.cast(dmatrix, matrix.dtype)

    return tf.cast(value, matrix.dtype), grad


def _mean_cov(cloud: tf.Tensor, weights: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
    mean = _weighted_mean(cloud, weights)
    centred = cloud - mean[:, tf.newaxis, :]
    if weights is None:
        cov = tf.einsum("bnc,bnd->bcd", centred, centred) / tf.cast(tf.shape(cloud)[1], cloud.dtype)
    else:
        cov = tf.einsum("bnc,bnd->bcd", centred * weights[..., tf.newaxis], centred)
    return mean, cov


def gaussian_target(features) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(μ*, Σ*, Σ*^½)``: the Gaussian fit of the style's features (mean (C,), covariance and its
    symmetric square root (C, C)); the square root is computed once here, not at every evaluation."""
    mean, cov = _mean_cov(_target_cloud(features)[tf.newaxis], None)
    return mean[0], cov[0], _psd_sqrt(cov[0])


def wasserstein_distance(features, target: Sequence[tf.Tensor], mask=None, seed=None) -> tf.Tensor:
    """W₂²/C between the Gaussian fits of the image's and the style's features; averaged over a batch.

    W₂² = ‖μ − μ*‖² + tr Σ + tr Σ* − 2 tr((Σ*^½ Σ Σ*^½)^½)  (Dowson & Landau 1982), the squared
    Wasserstein-2 (optimal transport) distance between N(μ, Σ) and N(μ*, Σ*). Dividing by C, the number
    of channels, puts it on the same per-channel scale as :func:`mean_std_distance`.

    Args:
        features: (h, w, C) or (B, h, w, C) feature maps of the image being optimised.
        target: ``(μ*, Σ*, Σ*^½)`` from :func:`gaussian_target` (or :func:`gaussian_blend`).
        mask: optional (h, w) or (B, h, w) weights in [0, 1] at this layer's resolution: weighted mean
            and covariance of the masked region.
        seed: unused (the distance is deterministic).
    """
    del seed
    target_mean, target_cov, target_root = target
    cloud = _as_cloud(features)
    mean, cov = _mean_cov(cloud, _position_weights(mask, cloud))
    channels = tf.cast(tf.shape(cloud)[-1], cloud.dtype)
    mean_term = tf.reduce_sum(tf.square(mean - target_mean), axis=-1)
    cross = trace_sqrt_psd(tf.matmul(tf.matmul(target_root, cov), target_root))
    cov_term = tf.linalg.trace(cov) + tf.linalg.trace(target_cov) - 2.0 * cross
    return tf.reduce_mean(mean_term + cov_term) / channels


def gaussian_blend(
    targets: Sequence[Sequence[tf.Tensor]], weights: Sequence[float]
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The Gaussian fit of the mixture: mean Σ b_i μ_i and second moment Σ b_i (Σ_i + μ_i μ_iᵀ) mix linearly."""
    b = normalize_weights("style_blend", [float(w) for w in weights], len(targets))
    mean = tf.add_n([w * t[0] for w, t in zip(b, targets)])
    second = tf.add_n([w * (t[1] + t[0][:, tf.newaxis] * t[0][tf.newaxis, :]) for w, t in zip(b, targets)])
    cov = second - mean[:, tf.newaxis] * mean[tf.newaxis, :]
    return mean, cov, _psd_sqrt(cov)


# ------------------------------------------------------------------------------ sliced Wasserstein
def random_directions(channels: int, count: int, seed, dtype=tf.float32) -> tf.Tensor:
    """``count`` random unit vectors in ``channels`` dimensions as the columns of a (C, K) matrix.

    Drawn from a normal distribution and normalised (so uniform on the sphere) with TensorFlow's
    *stateless* generator: the same ``seed`` always gives the same directions, on any thread.
    """
    seed = _seed_pair(seed)
    directions = tf.random.stateless_normal([channels, count], seed=seed, dtype=dtype)
    return directions / tf.norm(directions, axis=0, keepdims=True)


def _seed_pair(seed) -> tf.Tensor:
    if seed is None:
        seed = 0
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64):
        raise ValueError(f"seed must be an integer or an integer tensor of shape (2,); got {seed.dtype.name}")
    seed = tf.cast(seed, tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.constant(0, tf.int64)])
    return seed


def sliced_target(features) -> tuple[tf.Tensor]:
    """``(F*,)``: the style's features as an (N*, C) cloud. The random directions change at every
    evaluation, so the whole cloud is the target (for a 512 px style about 130 MB over the five Gatys
    layers). :func:`sliced_blend` adds a (N*,) weight per point for a mixture of styles."""
    return (_target_cloud(features),)


def _quantile_lookup(sorted_values: np.ndarray, masses: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
    """The quantile functions of K empirical distributions at cumulative probabilities ``positions``.

    Row k of ``sorted_values`` (K, M) holds sorted values, each of mass 1/M (``masses`` None) or of the
    row's sorted ``masses`` (K, M) (summing to 1). The quantile function is linear between the values'
    cumulative-mass midpoints (j + ½)/M and constant beyond the first and the last. ``positions`` is
    (N,) (the same for every row) or (K, N); the result is (K, N).
    """
    count = sorted_values.shape[-1]
    if masses is None:  # midpoints (j + ½)/M: the fractional index is t·M − ½
        index = np.clip(positions * count - 0.5, 0.0, count - 1)
        low = np.floor(index).astype(np.int64)
        high = np.minimum(low + 1, count - 1)
        frac = (index - low).astype(sorted_values.dtype)
        if index.ndim == 1:
            below, above = sorted_values[:, low], sorted_values[:, high]
        else:
            below = np.take_along_axis(sorted_values, low, axis=-1)
            above = np.take_along_axis(sorted_values, high, axis=-1)
        return below + frac * (above - below)
    midpoints = np.cumsum(masses, axis=-1) - 0.5 * masses
    positions = np.broadcast_to(positions, (sorted_values.shape[0], positions.shape[-1]))
    return np.stack([np.interp(t, c, v) for t, c, v in zip(positions, midpoints, sorted_values)]).astype(
        sorted_values.dtype)


def _sliced_assignment(projected: np.ndarray, weights: np.ndarray, style: np.ndarray, style_masses: np.ndarray):
    """For every projected position, the style value it is transported to (1-D optimal transport = sorting).

    Args (NumPy, called through ``tf.numpy_function``; nothing here needs a gradient: the sorting
    permutation is piecewise constant):
        projected: (B, K, N) the image's projections.
        weights: (B, N) position weights summing to 1, or an empty array for uniform weights.
        style: (K, M) the style's projections.
        style_masses: (M,) the style points' mixture weights, or an empty array for uniform ones.

    Returns:
        (B, K, N): at each position, the style's quantile at that position's rank — its cumulative-weight
        midpoint (i + ½)/N without weights.
    """
    batch, rays, n = projected.shape
    if style_masses.size:
        order = np.argsort(style, axis=-1)
        sorted_style = np.take_along_axis(style, order, axis=-1)
        masses = style_masses.astype(np.float64)[order]
    else:
        sorted_style, masses = np.sort(style, axis=-1), None
    assigned = np.empty_like(projected)
    if not weights.size:
        if masses is None and style.shape[-1] == n:
            matched = sorted_style  # as many style points as positions: plain sorted matching
        else:
            matched = _quantile_lookup(sorted_style, masses, (np.arange(n) + 0.5) / n)
    for b in range(batch):
        order = np.argsort(projected[b], axis=-1)
        if weights.size:
            sorted_weights = weights[b].astype(np.float64)[order]
            midpoints = np.cumsum(sorted_weights, axis=-1) - 0.5 * sorted_weights
            matched = _quantile_lookup(sorted_style, masses, midpoints)
        np.put_along_axis(assigned[b], order, matched, axis=-1)
    return assigned


def sliced_wasserstein_distance(
    features, target: Sequence[tf.Tensor], mask=None, seed=None, projections: int | None = None
) -> tf.Tensor:
    """Mean over K random unit directions θ of the 1-D W₂² between θᵀF and θᵀF* (Heitz et al. 2021).

    Both clouds are projected on the directions. In one dimension optimal transport is sorting: the
    i-th smallest projection of the image is sent to the i-th smallest of the style, and W₂² is the mean
    squared distance between a position's projection and the value it is sent to. The sorting (NumPy's,
    ~40× faster than ``tf.sort`` on a CPU) only decides *where* each position goes; the gradient flows
    through the squared distance, as the permutation is piecewise constant.

    When the image has N positions and the style N* ≠ N (another size or aspect ratio), the style's sorted
    projections are *resampled*: its quantile function, linear between the midpoints (j + ½)/N* of its
    sorted values, is read at the image's midpoints (i + ½)/N. With N = N* this is exact sorted matching.

    Args:
        features: (h, w, C) or (B, h, w, C) feature maps of the image being optimised.
        target: ``(F*,)`` from :func:`sliced_target`, or ``(F*, p*)`` from :func:`sliced_blend`.
        mask: optional (h, w) or (B, h, w) weights in [0, 1] at this layer's resolution: the positions
            become a weighted cloud, sorted with their weights; each value is matched with the style's
            quantile at the middle of its share of the cumulative weight, and its squared difference
            counts with its weight (the 1-D W₂² between the weighted distribution and the style's).
        seed: int or int tensor of shape (2,) for the random directions (:func:`random_directions`).
        projections: number of directions K; default C (as Heitz et al.).
    """
    cloud = _as_cloud(features)
    channels = cloud.shape[-1]
    if channels is None:
        raise ValueError("sliced_wasserstein_distance needs the channel count to be known when tracing")
    count = channels if projections is None else int(projections)
    directions = random_directions(channels, count, seed, cloud.dtype)
    projected = tf.linalg.matrix_transpose(tf.matmul(cloud, directions))  # (B, K, N)
    style = tf.transpose(tf.matmul(target[0], directions))  # (K, N*)
    weights = _position_weights(mask, cloud)
    empty = tf.zeros([0], cloud.dtype)
    assigned = tf.numpy_function(
        _sliced_assignment,
        [tf.stop_gradient(projected), empty if weights is None else weights, style,
         tf.cast(target[1], cloud.dtype) if len(target) > 1 else empty],
        cloud.dtype,
        stateful=False,
    )
    assigned = tf.stop_gradient(tf.ensure_shape(assigned, projected.shape))
    squared = tf.square(projected - assigned)  # (B, K, N)
    if weights is None:
        per_direction = tf.reduce_mean(squared, axis=-1)
    else:
        per_direction = tf.reduce_sum(weights[:, tf.newaxis, :] * squared, axis=-1)
    return tf.reduce_mean(per_direction)


def sliced_blend(targets: Sequence[Sequence[tf.Tensor]], weights: Sequence[float]) -> tuple[tf.Tensor, tf.Tensor]:
    """The mixture of the styles' clouds: every point kept, style i's points sharing the weight b_i."""
    b = normalize_weights("style_blend", [float(w) for w in weights], len(targets))
    clouds, masses = [], []
    for w, t in zip(b, targets):
        cloud = t[0]
        own = t[1] if len(t) > 1 else tf.fill([tf.shape(cloud)[0]], 1.0 / tf.cast(tf.shape(cloud)[0], cloud.dtype))
        clouds.append(cloud)
        masses.append(w * own)
    return tf.concat(clouds, 0), tf.concat(masses, 0)


# -------------------------------------------------------------------------------------- registry
#: Statistics whose distance draws random numbers from its ``seed`` (registered as ``stochastic``).
RANDOM_STATISTICS = frozenset({"sliced_wasserstein"})

register_style_statistic(
    "mean_std", mean_std_target, mean_std_distance, blend=mean_std_blend,
    description="per-channel mean and standard deviation (AdaIN's statistics): (‖μ − μ*‖² + ‖σ − σ*‖²) / C",
)
register_style_statistic(
    "wasserstein", gaussian_target, wasserstein_distance, blend=gaussian_blend,
    description="Wasserstein-2 distance between Gaussian fits (mean and covariance), over C",
)
register_style_statistic(
    "sliced_wasserstein", sliced_target, sliced_wasserstein_distance, blend=sliced_blend, stochastic=True,
    description="sliced Wasserstein (Heitz et al. 2021): the whole feature distribution along random directions",
)
