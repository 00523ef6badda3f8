"""Style statistics (nst_lib.statistics) against independent NumPy/SciPy formulas on small random
features; gradients against central finite differences in float64; zero distance to itself; invariance to
permuting positions; and constructed clouds that show what each statistic sees and what it ignores."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from nst_lib import statistics as st
from nst_lib.config import DEFAULT_STYLE_WEIGHTS, STYLE_LOSSES, StyleConfig
from nst_lib.errors import InvalidSettingError
from nst_lib.losses import style_statistic, style_statistic_names

RNG = np.random.default_rng(20211)
NAMES = ("gram", "mean_std", "wasserstein", "sliced_wasserstein")


def features(h=3, w=4, c=5, seed=0, dtype=np.float64):
    """Post-ReLU-like features: non-negative, a few exact zeros, channels correlated."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(c, c))
    x = rng.normal(size=(h * w, c)) @ mixing + rng.normal(size=c)
    return (np.maximum(x, 0.0).reshape(h, w, c) + 0.1 * rng.uniform(size=(h, w, c))).astype(dtype)


def as_batch(feats):
    feats = tf.constant(feats)
    return feats[tf.newaxis] if feats.shape.rank == 3 else feats


def distance(name, feats, target, mask=None, seed=(3, 4)):
    mask = None if mask is None else as_batch(mask) if np.ndim(mask) == 2 else tf.constant(mask)
    return float(style_statistic(name).distance(as_batch(feats), target, mask, tf.constant(seed, tf.int64)))


def target_of(name, feats):
    return style_statistic(name).targets(as_batch(feats))


# ------------------------------------------------------------------------------- NumPy references
def np_cloud(feats):
    return np.asarray(feats, np.float64).reshape(-1, np.shape(feats)[-1])


def np_weights(n, mask):
    if mask is None:
        return np.full(n, 1.0 / n)
    m = np.asarray(mask, np.float64).ravel()
    return m / m.sum()


def np_mean_std_distance(feats, style, mask=None):
    x, y = np_cloud(feats), np_cloud(style)
    p = np_weights(len(x), mask)
    mu, mu_s = np.average(x, axis=0, weights=p), y.mean(axis=0)
    sd = np.sqrt(np.average((x - mu) ** 2, axis=0, weights=p) + st.STD_EPSILON)
    sd_s = np.sqrt(y.var(axis=0) + st.STD_EPSILON)
    return np.mean((mu - mu_s) ** 2 + (sd - sd_s) ** 2)


def np_w2_distance(feats, style, mask=None):
    """Dowson–Landau with SciPy's sqrtm: ‖Δμ‖² + tr(Σ + Σ* − 2 (Σ*^½ Σ Σ*^½)^½), over C."""
    x, y = np_cloud(feats), np_cloud(style)
    p = np_weights(len(x), mask)
    mu, mu_s = p @ x, y.mean(axis=0)
    cov = (x - mu).T @ ((x - mu) * p[:, None])
    cov_s = np.cov(y, rowvar=False, bias=True)
    root = scipy.linalg.sqrtm(cov_s).real
    cross = np.trace(scipy.linalg.sqrtm(root @ cov @ root).real)
    return (np.sum((mu - mu_s) ** 2) + np.trace(cov) + np.trace(cov_s) - 2 * cross) / x.shape[1]


def np_sliced_distance(feats, style, directions, mask=None, style_weights=None):
    """1-D W₂² per direction with np.interp as the style's quantile function (linear between midpoints)."""
    x, y = np_cloud(feats) @ directions, np_cloud(style) @ directions
    p = np_weights(len(x), mask)
    q = np.full(len(y), 1.0 / len(y)) if style_weights is None else np.asarray(style_weights, np.float64)
    total = 0.0
    for k in range(directions.shape[1]):
        ox, oy = np.argsort(x[:, k], kind="stable"), np.argsort(y[:, k], kind="stable")
        px, qy = p[ox], q[oy]
        t = np.cumsum(px) - px / 2
        c = np.cumsum(qy) - qy / 2
        matched = np.interp(t, c, y[oy, k])
        total += np.sum(px * (x[ox, k] - matched) ** 2)
    return total / directions.shape[1]


def np_gram_distance(feats, style):
    x, y = np_cloud(feats), np_cloud(style)
    return np.mean((x.T @ x / len(x) - y.T @ y / len(y)) ** 2)


# ----------------------------------------------------------------------------- against NumPy
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_mean_std_matches_numpy(masked):
    x, y = features(4, 5, 6, seed=1), features(3, 3, 6, seed=2)
    mask = RNG.uniform(size=(4, 5)) if masked else None
    assert distance("mean_std", x, target_of("mean_std", y), mask) == pytest.approx(
        np_mean_std_distance(x, y, mask), rel=1e-9)


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_wasserstein_matches_numpy_and_scipy_sqrtm(masked):
    x, y = features(5, 6, 4, seed=3), features(4, 4, 4, seed=4)
    mask = RNG.uniform(size=(5, 6)) if masked else None
    assert distance("wasserstein", x, target_of("wasserstein", y), mask) == pytest.approx(
        np_w2_distance(x, y, mask), rel=1e-7)


def test_wasserstein_float32_matches_the_float64_reference():
    x, y = features(6, 6, 8, seed=5, dtype=np.float32), features(5, 7, 8, seed=6, dtype=np.float32)
    assert distance("wasserstein", x, target_of("wasserstein", y)) == pytest.approx(np_w2_distance(x, y), rel=1e-4)


@pytest.mark.parametrize("style_shape", [(3, 4), (5, 3), (2, 2)], ids=["same-size", "larger-style", "smaller-style"])
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_sliced_wasserstein_matches_numpy(style_shape, masked):
    x, y = features(3, 4, 5, seed=7), features(*style_shape, 5, seed=8)
    mask = RNG.uniform(size=(3, 4)) if masked else None
    directions = st.random_directions(5, 5, tf.constant((3, 4), tf.int64), tf.float64).numpy()
    np.testing.assert_allclose(np.linalg.norm(directions, axis=0), 1.0)
    got = distance("sliced_wasserstein", x, target_of("sliced_wasserstein", y), mask, seed=(3, 4))
    assert got == pytest.approx(np_sliced_distance(x, y, directions, mask), rel=1e-9)


def test_sliced_wasserstein_equal_sizes_is_plain_sorted_matching():
    x, y = features(3, 4, 5, seed=9), features(4, 3, 5, seed=10)
    directions = st.random_directions(5, 7, 11, tf.float64).numpy()
    px, py = np.sort(np_cloud(x) @ directions, axis=0), np.sort(np_cloud(y) @ directions, axis=0)
    got = st.sliced_wasserstein_distance(tf.constant(x), st.sliced_target(tf.constant(y)), seed=11, projections=7)
    assert float(got) == pytest.approx(np.mean((px - py) ** 2), rel=1e-9)


def test_gram_entry_matches_numpy():
    x, y = features(3, 4, 5, seed=12), features(2, 5, 5, seed=13)
    assert distance("gram", x, target_of("gram", y)) == pytest.approx(np_gram_distance(x, y), rel=1e-9)


def test_trace_sqrt_matches_scipy_and_its_gradient_is_half_the_inverse_root():
    a = RNG.normal(size=(6, 6))
    m = a @ a.T + 0.1 * np.eye(6)
    value, grad = _value_and_grad(st.trace_sqrt_psd, m)
    assert value == pytest.approx(np.trace(scipy.linalg.sqrtm(m).real), rel=1e-10)
    np.testing.assert_allclose(grad, 0.5 * np.linalg.inv(scipy.linalg.sqrtm(m).real), rtol=1e-8)


# ------------------------------------------------------------------------- mixtures of styles
def test_blends_are_the_statistics_of_the_mixture():
    """Two styles of equal size blended 50/50 = the statistics of their pooled features."""
    a, b = features(3, 4, 5, seed=14), features(3, 4, 5, seed=15)
    pooled = np.concatenate([a, b], axis=0)
    x = features(3, 3, 5, seed=16)
    for name in NAMES:
        stat = style_statistic(name)
        blended = stat.blend_targets([target_of(name, a), target_of(name, b)], [0.5, 0.5])
        assert distance(name, x, blended) == pytest.approx(distance(name, x, target_of(name, pooled)), rel=1e-7), name


def test_sliced_blend_with_unequal_weights_matches_numpy():
    a, b, x = features(3, 4, 5, seed=17), features(2, 3, 5, seed=18), features(3, 3, 5, seed=19)
    blended = st.sliced_blend([st.sliced_target(tf.constant(a)), st.sliced_target(tf.constant(b))], [3.0, 1.0])
    weights = np.concatenate([np.full(12, 0.75 / 12), np.full(6, 0.25 / 6)])
    directions = st.random_directions(5, 5, 21, tf.float64).numpy()
    got = float(st.sliced_wasserstein_distance(tf.constant(x), blended, seed=21))
    assert got == pytest.approx(np_sliced_distance(x, np.concatenate([np_cloud(a), np_cloud(b)]), directions,
                                                   style_weights=weights), rel=1e-9)


# ------------------------------------------------------------------------ finite differences
def _value_and_grad(fn, x):
    x = tf.Variable(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = fn(x)
    return float(value), tape.gradient(value, x).numpy()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_gradients_match_central_finite_differences(name, masked):
    stat = style_statistic(name)
    x, y = features(3, 4, 4, seed=22)[np.newaxis], features(4, 4, 4, seed=23)
    target = target_of(name, y)
    mask = tf.constant(RNG.uniform(0.2, 1.0, size=(1, 3, 4))) if masked else None
    seed = tf.constant((5, 6), tf.int64)

    def loss(v):
        return stat.distance(v, target, mask, seed)

    _, grad = _value_and_grad(loss, x)
    eps = 1e-6
    for index in [(0, 0, 0, 0), (0, 1, 2, 3), (0, 2, 3, 1), (0, 0, 3, 2), (0, 2, 1, 0)]:
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric = (float(loss(tf.constant(up))) - float(loss(tf.constant(down)))) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (name, index)


# --------------------------------------------------------------------------- basic properties
@pytest.mark.parametrize("name", NAMES)
def test_zero_distance_to_itself(name):
    x = features(4, 5, 6, seed=24, dtype=np.float32)
    value = distance(name, x, target_of(name, x))
    scale = distance(name, x, target_of(name, features(4, 5, 6, seed=25, dtype=np.float32)))
    assert abs(value) <= 1e-5 * scale, (name, value, scale)


@pytest.mark.parametrize("name", NAMES)
def test_invariant_to_permuting_positions(name):
    x, y = features(4, 5, 6, seed=26), features(3, 5, 6, seed=27)
    mask = RNG.uniform(size=(4, 5))
    order = RNG.permutation(20)
    shuffled = np_cloud(x)[order].reshape(4, 5, 6)
    shuffled_mask = mask.ravel()[order].reshape(4, 5)
    style_shuffled = np_cloud(y)[RNG.permutation(15)].reshape(3, 5, 6)
    for m, m_shuffled in ((None, None), (mask, shuffled_mask)):
        reference = distance(name, x, target_of(name, y), m)
        assert distance(name, shuffled, target_of(name, y), m_shuffled) == pytest.approx(reference, rel=1e-9)
        assert distance(name, x, target_of(name, style_shuffled), m) == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_size_independent_for_a_tiled_texture(name):
    """Repeating a texture (every position four times) leaves the statistics, so the distance, unchanged."""
    x, y = features(5, 6, 4, seed=28), features(6, 6, 4, seed=29)
    tiled = np.tile(x, (2, 2, 1))
    rel = 2e-2 if name == "sliced_wasserstein" else 1e-9  # resampling the style's quantiles to 4× the points
    assert distance(name, tiled, target_of(name, y)) == pytest.approx(distance(name, x, target_of(name, y)), rel=rel)


@pytest.mark.parametrize("name", NAMES)
def test_a_binary_mask_describes_only_its_region(name):
    x, y = features(4, 6, 5, seed=30), features(4, 4, 5, seed=31)
    mask = np.zeros((4, 6))
    mask[:, :3] = 1.0
    target = target_of(name, y)
    assert distance(name, x, target, mask) == pytest.approx(distance(name, x[:, :3], target), rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_mask_gives_a_finite_distance(name):
    x, y = features(3, 4, 5, seed=32, dtype=np.float32), features(3, 4, 5, seed=33, dtype=np.float32)
    assert np.isfinite(distance(name, x, target_of(name, y), np.zeros((3, 4), np.float32)))


def test_batches_average_the_distance_of_each_item():
    x = np.stack([features(3, 4, 5, seed=34), features(3, 4, 5, seed=35)])
    y = features(3, 4, 5, seed=36)
    for name in NAMES[1:]:  # (nst_lib.losses' Gram distance takes one image)
        target = target_of(name, y)
        each = [distance(name, x[i], target) for i in range(2)]
        assert distance(name, x, target) == pytest.approx(np.mean(each), rel=1e-9), name


def test_sliced_directions_are_reproducible_and_change_with_the_seed():
    x, y = features(4, 4, 6, seed=37), features(4, 4, 6, seed=38)
    target = target_of("sliced_wasserstein", y)
    first, again = (distance("sliced_wasserstein", x, target, seed=(1, 2)) for _ in range(2))
    other = distance("sliced_wasserstein", x, target, seed=(1, 3))
    assert first == again and first != other
    a = st.random_directions(6, 6, 7).numpy()
    np.testing.assert_array_equal(a, st.random_directions(6, 6, tf.constant(7)).numpy())


# ------------------------------------------------------------------- what each statistic sees
def _seen_by_each(cloud, style_cloud):
    """Every statistic's distance; the sliced one with 64 directions, so that in 2-D it sees every angle."""
    seen = {name: distance(name, cloud, target_of(name, style_cloud)) for name in NAMES}
    seen["sliced_wasserstein"] = float(st.sliced_wasserstein_distance(
        tf.constant(cloud), st.sliced_target(tf.constant(style_cloud)), seed=0, projections=64))
    return seen


def _cloud(points):
    points = np.asarray(points, np.float64)
    return points.reshape(1, len(points), points.shape[1])


def test_mean_std_ignores_channel_correlations_that_gram_and_wasserstein_see():
    """Channel 2 = channel 1 (perfectly correlated) vs channel 2 = channel 1 shuffled: the same values in
    each channel, so the same means and standard deviations, but different correlations."""
    a = RNG.normal(size=64)
    correlated = _cloud(np.stack([a, a], axis=1))
    independent = _cloud(np.stack([a, a[RNG.permutation(64)]], axis=1))
    seen = _seen_by_each(independent, correlated)
    assert abs(seen["mean_std"]) < 1e-12
    for name in ("gram", "wasserstein", "sliced_wasserstein"):
        assert seen[name] > 0.05, (name, seen[name])


def test_gram_confuses_mean_and_spread_that_the_others_separate():
    """Gram = covariance + mean·meanᵀ: a cloud with mean (1, 0) and no spread along x has the same Gram
    matrix as a centred cloud with unit variance in both channels."""
    shifted = _cloud([[1, -1], [1, 1]] * 8)  # mean (1, 0), covariance diag(0, 1)
    centred = _cloud([[-1, -1], [-1, 1], [1, -1], [1, 1]] * 4)  # mean 0, covariance I
    seen = _seen_by_each(shifted, centred)
    assert abs(seen["gram"]) < 1e-12
    for name in ("mean_std", "wasserstein", "sliced_wasserstein"):
        assert seen[name] > 0.1, (name, seen[name])


def test_only_sliced_wasserstein_sees_beyond_mean_and_covariance():
    """Corners of a square vs points on the axes: both have mean 0 and covariance I, so the Gram matrix,
    mean/std and the Gaussian fit all match; the distributions do not."""
    corners = _cloud([[-1, -1], [-1, 1], [1, -1], [1, 1]] * 4)
    r = np.sqrt(2.0)
    axes = _cloud([[-r, 0], [r, 0], [0, -r], [0, r]] * 4)
    seen = _seen_by_each(axes, corners)
    for name in ("gram", "mean_std", "wasserstein"):
        assert abs(seen[name]) < 1e-9, (name, seen[name])
    assert seen["sliced_wasserstein"] > 0.02


def test_mean_std_is_wasserstein_between_diagonal_gaussians():
    """Clouds whose covariance is diagonal (every sign combination of ±a, ±b around a mean): there the
    Gaussian fit has independent channels, and the two distances agree (up to σ's tiny ε)."""
    def grid(mean, a, b):
        return _cloud([[mean[0] + sa * a, mean[1] + sb * b] for sa in (-1, 1) for sb in (-1, 1)] * 3)

    x, y = grid((0.5, 2.0), 1.0, 3.0), grid((1.5, 0.0), 2.0, 0.5)
    w2 = distance("wasserstein", x, target_of("wasserstein", y))
    assert w2 == pytest.approx(((1.0 + 4.0) + (1.0 + 2.5**2)) / 2)  # (‖Δμ‖² + Σ (σ − σ*)²) / C
    assert distance("mean_std", x, target_of("mean_std", y)) == pytest.approx(w2, rel=1e-5)


# ----------------------------------------------------------------------------------- registry
def test_registry_config_and_defaults():
    assert STYLE_LOSSES == NAMES and set(NAMES) <= set(style_statistic_names())
    assert set(DEFAULT_STYLE_WEIGHTS) == set(NAMES)
    assert st.RANDOM_STATISTICS == {"sliced_wasserstein"}
    with pytest.raises(InvalidSettingError, match="unknown style loss 'histogram'; registered style losses are gram, "):
        style_statistic("histogram")
    with pytest.raises(InvalidSettingError, match="style_loss must be one of gram, mean_std, wasserstein, "
                                                  "sliced_wasserstein; got 'histogram'"):
        StyleConfig(style_loss="histogram")


def test_style_weight_defaults_follow_the_statistic():
    for name, weight in DEFAULT_STYLE_WEIGHTS.items():
        assert StyleConfig(style_loss=name).style_weight == weight
    assert StyleConfig().style_weight == 1e-2  # Gram, the TensorFlow tutorial's weight
    assert StyleConfig(style_loss="wasserstein", style_weight=5.0).style_weight == 5.0
    switched = StyleConfig().replace(style_loss="sliced_wasserstein")
    assert switched.style_weight == DEFAULT_STYLE_WEIGHTS["sliced_wasserstein"]
    assert switched.replace(style_loss="gram").style_weight == 1e-2
    by_hand = StyleConfig(style_weight=0.5).replace(style_loss="mean_std")
    assert by_hand.style_weight == 0.5  # set by hand: kept


# ------------------------------------------------------------------------- notebook 09's self-checks
def test_exercise_checks_accept_the_reference_solutions_and_name_typical_mistakes(capsys):
    from nst_lib.course import checks_statistics as cs
    from nst_lib.course import solutions_statistics as sol

    cs.check_mean_std_distance(sol.mean_std_distance)
    cs.check_sliced_wasserstein_distance(sol.sliced_wasserstein_distance)
    assert capsys.readouterr().out.count("✓") == 2

    def variances(f, s):
        def stats(x):
            points = tf.reshape(x, (-1, x.shape[-1]))
            return tf.reduce_mean(points, 0), tf.math.reduce_variance(points, 0)
        (m, v), (ms, vs) = stats(f), stats(s)
        return tf.reduce_mean(tf.square(m - ms) + tf.square(v - vs))

    def summed(f, s):
        return 4 * sol.mean_std_distance(f, s)

    def unsorted(f, s, d):
        c = f.shape[-1]
        return tf.reduce_mean(tf.square(tf.reshape(f, (-1, c)) @ d - tf.reshape(s, (-1, c)) @ d))

    def rows_sorted(f, s, d):
        c = f.shape[-1]
        return tf.reduce_mean(tf.square(tf.sort(tf.reshape(f, (-1, c)) @ d, axis=1)
                                        - tf.sort(tf.reshape(s, (-1, c)) @ d, axis=1)))

    def empty(*args):
        raise NotImplementedError

    for check, fn, words in [
        (cs.check_mean_std_distance, variances, "variances, not standard deviations"),
        (cs.check_mean_std_distance, summed, "divide by the number of channels"),
        (cs.check_mean_std_distance, empty, "NotImplementedError"),
        (cs.check_sliced_wasserstein_distance, unsorted, "did not sort"),
        (cs.check_sliced_wasserstein_distance, rows_sorted, "instead of along the positions"),
        (cs.check_sliced_wasserstein_distance, lambda f, s, d: None, "return"),
    ]:
        with pytest.raises(cs.ExerciseError) as err:
            check(fn)
        assert str(err.value).startswith("✗ ") and words in str(err.value), (fn, str(err.value))


# --------------------------------------------------------------------------------- notebook 09's demo
def test_demo_settings_and_errors():
    from nst_lib.course.widgets.statistics import statistics_settings

    texture = statistics_settings("wasserstein", ["block1_conv1"], kind="texture", size=64, steps=2)
    assert texture["content_weight"] == 0.0 and texture["init"] == "noise"
    assert texture["style_weight"] == DEFAULT_STYLE_WEIGHTS["wasserstein"]
    assert "content_weight" not in statistics_settings("gram", ["block1_conv1"], kind="transfer", size=64, steps=2)
    with pytest.raises(InvalidSettingError, match="style_layers is empty"):
        statistics_settings("gram", [], kind="texture", size=64, steps=2)
    with pytest.raises(InvalidSettingError, match="style_loss must be one of"):
        statistics_settings("histogram", ["block1_conv1"], kind="transfer", size=64, steps=2)


@pytest.mark.slow
def test_demo_runs_texture_and_transfer_and_stop_keeps_the_texture():
    from nst_lib.course.widgets.common import has_picture, png_size
    from nst_lib.course.widgets.statistics import statistics_demo, synthesise_and_transfer

    demo = statistics_demo("sliced_wasserstein", background=False)
    assert has_picture(demo.style_view) and not has_picture(demo.texture_view)
    demo.layer_boxes["block5_conv1"].value = False
    demo.run_button.click()  # runs in this thread (background=False)
    assert demo.pair.texture.iterations == demo.texture_steps and demo.pair.transfer.iterations == demo.transfer_steps
    assert demo.pair.texture.config.style_layers == GATYS[:4]
    assert has_picture(demo.texture_view) and has_picture(demo.transfer_view)
    assert max(png_size(demo.texture_view.value)) == demo.size
    assert "texture: 3 iterations" in demo.status.value and "transfer: 3 iterations" in demo.status.value
    assert not demo.run_button.disabled and demo.stop_button.disabled

    for box in demo.layer_boxes.values():
        box.value = False
    demo.run_button.click()
    assert "style_layers is empty" in demo.status.value

    style = np.full((64, 64, 3), 0.5, np.float32)
    style[::4] = 0.9
    pair = synthesise_and_transfer(style, style, "mean_std", ["block1_conv1"], size=64, texture_steps=5,
                                   transfer_steps=5, callback=lambda event: True)
    assert pair.stopped and pair.texture.stop_reason == "callback" and pair.transfer is None


GATYS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


# ------------------------------------------------------------------- random directions and the optimisers
def test_lbfgs_redrawing_runs_blocks_with_one_draw_each():
    from nst_lib.optimize import RunContext, run_lbfgs_redrawing

    draws, seen = [], []

    def value_and_grad_for(draw):
        draws.append(draw)
        centre = np.random.default_rng(draw).uniform(0.2, 0.8, size=(1, 4, 4, 3)).astype(np.float32)

        def value_and_grad(image):
            seen.append(draw)
            diff = tf.convert_to_tensor(image) - centre
            total = tf.reduce_sum(diff**2) + 0.1 * tf.reduce_sum(tf.cos(7.0 * tf.convert_to_tensor(image)))
            return {"total": total}, 2 * diff - 0.7 * tf.sin(7.0 * tf.convert_to_tensor(image))
        return value_and_grad

    events = []
    init = np.full((4, 4, 3), 0.5, np.float32)
    out = run_lbfgs_redrawing(value_and_grad_for, init, steps=7, block=3, callback=events.append,
                              context=RunContext(iteration_offset=100))
    assert draws[:3] == [100, 103, 106] and out.iterations == len(events) <= 7
    assert [e.iteration for e in events] == list(range(101, 101 + len(events)))
    assert out.evaluations == len(seen) and out.stop_reason in ("steps", "converged")


@pytest.mark.slow
def test_stylize_with_sliced_wasserstein_is_reproducible_with_both_optimisers():
    import nst_lib as nst

    content = np.linspace(0, 1, 64 * 64 * 3, dtype=np.float32).reshape(64, 64, 3)
    style = np.random.default_rng(0).uniform(size=(64, 64, 3)).astype(np.float32)
    settings = dict(size=64, steps=12, style_loss="sliced_wasserstein", style_layers=("block1_conv1", "block2_conv1"))
    first, again = (nst.stylize(content, style, **settings) for _ in range(2))
    other = nst.stylize(content, style, seed=1, **settings)
    assert first.iterations == 12 and [h["iteration"] for h in first.history] == list(range(1, 13))
    np.testing.assert_array_equal(first.image, again.image)
    assert np.abs(first.image - other.image).max() > 1e-3
    assert first.history[-1]["style"] < 0.5 * first.history[0]["style"]
    adam = nst.stylize(content, style, optimizer="adam", **settings)
    np.testing.assert_array_equal(adam.image, nst.stylize(content, style, optimizer="adam", **settings).image)
    assert adam.history[-1]["style"] < adam.history[0]["style"]


# ------------------------------------------------------------------------------------ the command line
@pytest.mark.slow
def test_cli_stylize_works_with_every_style_loss(tmp_path, capsys):
    import json

    from PIL import Image

    from nst_lib.cli import main

    for name in STYLE_LOSSES:
        out = tmp_path / f"{name}.png"
        code = main(["stylize", "example:grace_hopper", "example:swirls", "-o", str(out), "--size", "48",
                     "--steps", "2", "--style-loss", name, "--quiet", "--history", str(tmp_path / f"{name}.json")])
        assert code == 0, capsys.readouterr().err
        assert Image.open(out).size[0] == 48 or Image.open(out).size[1] == 48
        saved = json.loads((tmp_path / f"{name}.json").read_text())["config"]
        assert saved["style_loss"] == name and saved["style_weight"] == DEFAULT_STYLE_WEIGHTS[name]


def test_cli_refuses_an_unknown_style_loss_in_one_line(tmp_path, capsys):
    from nst_lib.cli import main

    out = tmp_path / "out.png"
    code = main(["stylize", "example:grace_hopper", "example:swirls", "-o", str(out), "--style-loss", "histogram"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and err.startswith("error: ") and "histogram" in err
    assert "gram" in err and "sliced_wasserstein" in err
    from nst_lib.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["stylize"].format_help()
    assert "--style-loss {gram,mean_std,wasserstein,sliced_wasserstein}" in sub
    assert "mean_std 1000" in " ".join(sub.split())
