"""Gram matrices, losses and the Objective against independent NumPy formulas; gradients against
central finite differences; the TensorFlow tutorial's objective reproduced exactly."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from nst_lib.errors import InvalidSettingError
from nst_lib.gram import gram_matrix
from nst_lib.losses import (
    Objective,
    StyleTarget,
    content_loss,
    resize_mask,
    style_loss,
    total_variation_loss,
)

RNG = np.random.default_rng(1234)


# ----------------------------------------------------------------------------------- NumPy references
def np_gram(features: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(H, W, C) → (C, C): Fᵀ F / (H·W), or the guided (m·F)ᵀ (m·F) / Σ m²."""
    h, w, c = features.shape
    flat = features.reshape(h * w, c).astype(np.float64)
    if mask is None:
        return flat.T @ flat / (h * w)
    m = mask.reshape(h * w, 1).astype(np.float64)
    return (m * flat).T @ (m * flat) / np.sum(m**2)


def np_block_mean(mask: np.ndarray, factor: int) -> np.ndarray:
    h, w = mask.shape
    return mask.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def np_tv(image: np.ndarray) -> float:
    x = image.astype(np.float64)
    return float(np.mean((x[:, 1:] - x[:, :-1]) ** 2) + np.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2))


# ------------------------------------------------------------------------------------------ Gram
def test_gram_matches_numpy_for_single_and_batched_features():
    feats = RNG.uniform(0, 3, size=(2, 5, 7, 4)).astype(np.float32)
    batched = gram_matrix(feats).numpy()
    assert batched.shape == (2, 4, 4)
    for b in range(2):
        np.testing.assert_allclose(batched[b], np_gram(feats[b]), rtol=1e-5)
    single = gram_matrix(feats[0]).numpy()
    assert single.shape == (4, 4)
    np.testing.assert_allclose(single, np_gram(feats[0]), rtol=1e-5)
    np.testing.assert_allclose(single, single.T, rtol=1e-6)  # symmetric


def test_gram_is_size_independent_for_a_tiled_texture():
    tile = RNG.uniform(0, 1, size=(4, 4, 3)).astype(np.float32)
    small, large = tile, np.tile(tile, (3, 5, 1))
    np.testing.assert_allclose(gram_matrix(small).numpy(), gram_matrix(large).numpy(), rtol=1e-5)


def test_guided_gram_matches_numpy_and_reduces_to_plain_gram_with_a_full_mask():
    feats = RNG.uniform(0, 2, size=(6, 8, 3)).astype(np.float32)
    mask = RNG.uniform(0, 1, size=(6, 8)).astype(np.float32)
    np.testing.assert_allclose(gram_matrix(feats, mask).numpy(), np_gram(feats, mask), rtol=1e-5)
    np.testing.assert_allclose(gram_matrix(feats, np.ones((6, 8), np.float32)).numpy(), np_gram(feats), rtol=1e-5)
    # a binary mask describes only its region: same as the Gram of the masked pixels alone
    binary = np.zeros((6, 8), np.float32)
    binary[:, :4] = 1
    np.testing.assert_allclose(gram_matrix(feats, binary).numpy(), np_gram(feats[:, :4]), rtol=1e-5)


# ----------------------------------------------------------------------------------------- losses
def test_content_loss_matches_numpy_with_layer_weights():
    f = {"a": RNG.normal(size=(1, 4, 4, 3)).astype(np.float32), "b": RNG.normal(size=(1, 2, 2, 5)).astype(np.float32)}
    p = {"a": RNG.normal(size=(1, 4, 4, 3)).astype(np.float32), "b": RNG.normal(size=(1, 2, 2, 5)).astype(np.float32)}
    weights = {"a": 0.25, "b": 0.75}
    loss, parts = content_loss(f, p, weights)
    expected = {k: weights[k] * np.mean((f[k].astype(np.float64) - p[k]) ** 2) for k in weights}
    assert set(parts) == {"a", "b"}
    for k in weights:
        np.testing.assert_allclose(float(parts[k]), expected[k], rtol=1e-5)
    np.testing.assert_allclose(float(loss), sum(expected.values()), rtol=1e-5)


def test_style_loss_matches_numpy_with_and_without_a_mask():
    f = {"a": RNG.uniform(0, 2, size=(1, 8, 8, 3)).astype(np.float32), "b": RNG.uniform(0, 2, size=(1, 4, 4, 6)).astype(np.float32)}
    targets = {"a": RNG.uniform(0, 1, size=(3, 3)).astype(np.float32), "b": RNG.uniform(0, 1, size=(6, 6)).astype(np.float32)}
    weights = {"a": 0.6, "b": 0.4}
    loss, parts = style_loss(f, targets, weights)
    expected = {k: weights[k] * np.mean((np_gram(f[k][0]) - targets[k]) ** 2) for k in weights}
    for k in weights:
        np.testing.assert_allclose(float(parts[k]), expected[k], rtol=1e-5)
    np.testing.assert_allclose(float(loss), sum(expected.values()), rtol=1e-5)

    mask = RNG.uniform(0, 1, size=(16, 16)).astype(np.float32)  # image resolution: 2× and 4× the layers
    loss, parts = style_loss(f, targets, weights, mask=tf.constant(mask))
    expected = {
        "a": weights["a"] * np.mean((np_gram(f["a"][0], np_block_mean(mask, 2)) - targets["a"]) ** 2),
        "b": weights["b"] * np.mean((np_gram(f["b"][0], np_block_mean(mask, 4)) - targets["b"]) ** 2),
    }
    for k in weights:
        np.testing.assert_allclose(float(parts[k]), expected[k], rtol=1e-4)
    np.testing.assert_allclose(float(loss), sum(expected.values()), rtol=1e-4)


def test_resize_mask_is_an_area_average():
    mask = RNG.uniform(0, 1, size=(12, 8)).astype(np.float32)
    out = resize_mask(mask, (3, 2)).numpy()
    assert out.shape == (1, 3, 2)
    np.testing.assert_allclose(out[0], np_block_mean(mask, 4), rtol=1e-5)


def test_total_variation_matches_numpy():
    image = RNG.uniform(0, 1, size=(1, 9, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(float(total_variation_loss(tf.constant(image))), np_tv(image), rtol=1e-5)
    flat = np.full((1, 5, 5, 3), 0.3, np.float32)
    assert float(total_variation_loss(tf.constant(flat))) == 0.0


# ------------------------------------------------------------------------------ Objective (cheap)
class ToyExtractor:
    """Two "layers" from a fixed random 3×3 convolution + ReLU, the second at half resolution."""

    def __init__(self, seed: int = 0, dtype=tf.float32):
        rng = np.random.default_rng(seed)
        self.kernel = tf.constant(rng.normal(0, 0.5, size=(3, 3, 3, 4)), dtype)
        self.kernel2 = tf.constant(rng.normal(0, 0.5, size=(3, 3, 4, 5)), dtype)

    def __call__(self, image):
        a = tf.nn.relu(tf.nn.conv2d(image, self.kernel, 1, "SAME"))
        b = tf.nn.relu(tf.nn.conv2d(tf.nn.avg_pool2d(a, 2, 2, "VALID"), self.kernel2, 1, "SAME"))
        return {"a": a, "b": b}


def _grams(extractor, image):
    feats = extractor(tf.constant(image[np.newaxis]))
    return {k: gram_matrix(v)[0] for k, v in feats.items()}


def test_objective_blends_unmasked_style_targets_with_normalised_weights():
    ext = ToyExtractor()
    s1, s2, x = (RNG.uniform(0, 1, size=(8, 8, 3)).astype(np.float32) for _ in range(3))
    g1, g2 = _grams(ext, s1), _grams(ext, s2)
    lw = {"a": 0.5, "b": 0.5}
    obj = Objective(ext, {}, [StyleTarget(g1, 1.0), StyleTarget(g2, 3.0)], {}, lw, 0.0, 2.0, 0.0)
    parts = obj.parts(tf.constant(x[np.newaxis]))
    feats = {k: v.numpy()[0] for k, v in ext(tf.constant(x[np.newaxis])).items()}
    expected = sum(
        lw[k] * np.mean((np_gram(feats[k]) - (0.25 * g1[k].numpy() + 0.75 * g2[k].numpy())) ** 2) for k in lw
    )
    np.testing.assert_allclose(float(parts["style"]), expected, rtol=1e-4)
    np.testing.assert_allclose(float(parts["total"]), 2.0 * expected, rtol=1e-4)
    np.testing.assert_allclose(float(parts["style/a"] + parts["style/b"]), expected, rtol=1e-4)
    assert float(parts["content"]) == 0.0 and float(parts["tv"]) == 0.0
    assert not any(k.startswith("content/") for k in parts)


def test_objective_with_masks_sums_guided_losses_weighted_by_blend():
    ext = ToyExtractor()
    s1, s2, x = (RNG.uniform(0, 1, size=(8, 8, 3)).astype(np.float32) for _ in range(3))
    g1, g2 = _grams(ext, s1), _grams(ext, s2)
    mask = np.zeros((8, 8), np.float32)
    mask[:, :4] = 1.0
    lw = {"a": 0.3, "b": 0.7}
    targets = [StyleTarget(g1, 1.0, tf.constant(mask)), StyleTarget(g2, 1.0, tf.constant(1.0 - mask))]
    obj = Objective(ext, {}, targets, {}, lw, 0.0, 1.0, 0.0)
    parts = obj.parts(tf.constant(x[np.newaxis]))
    feats = {k: v.numpy()[0] for k, v in ext(tf.constant(x[np.newaxis])).items()}
    factor = {"a": 1, "b": 2}

    def guided(grams, m):
        return sum(
            lw[k] * np.mean((np_gram(feats[k], np_block_mean(m, factor[k])) - grams[k].numpy()) ** 2) for k in lw
        )

    expected = 0.5 * guided(g1, mask) + 0.5 * guided(g2, 1.0 - mask)
    np.testing.assert_allclose(float(parts["style"]), expected, rtol=1e-4)

    # one unmasked target + one masked: shares 1/4 and 3/4 of the style term
    mixed = Objective(ext, {}, [StyleTarget(g1, 1.0), StyleTarget(g2, 3.0, tf.constant(mask))], {}, lw, 0.0, 1.0, 0.0)
    plain = sum(lw[k] * np.mean((np_gram(feats[k]) - g1[k].numpy()) ** 2) for k in lw)
    np.testing.assert_allclose(float(mixed.parts(tf.constant(x[np.newaxis]))["style"]), 0.25 * plain + 0.75 * guided(g2, mask), rtol=1e-4)


def test_objective_total_is_the_weighted_sum_of_its_parts():
    ext = ToyExtractor()
    c, s, x = (RNG.uniform(0, 1, size=(8, 8, 3)).astype(np.float32) for _ in range(3))
    content_targets = ext(tf.constant(c[np.newaxis]))
    obj = Objective(ext, content_targets, [StyleTarget(_grams(ext, s))], {"a": 1.0, "b": 1.0}, {"a": 0.5, "b": 0.5}, 3.0, 5.0, 7.0)
    parts = {k: float(v) for k, v in obj.parts(tf.constant(x[np.newaxis])).items()}
    np.testing.assert_allclose(parts["total"], 3 * parts["content"] + 5 * parts["style"] + 7 * parts["tv"], rtol=1e-5)
    np.testing.assert_allclose(parts["tv"], np_tv(x[np.newaxis]), rtol=1e-5)
    np.testing.assert_allclose(parts["content"], parts["content/a"] + parts["content/b"], rtol=1e-5)
    assert {"content/a", "content/b", "style/a", "style/b"} <= set(parts)


def test_objective_numbers_are_tensors_and_its_structure_is_what_shapes_the_graph():
    ext = ToyExtractor()
    c, s1, s2 = (RNG.uniform(0, 1, size=(8, 8, 3)).astype(np.float32) for _ in range(3))
    content_targets = ext(tf.constant(c[np.newaxis]))

    def objective(style, content_weight=1.0, tv_weight=0.0):
        return Objective(ext, content_targets, [StyleTarget(_grams(ext, style))], {"a": 1.0}, {"a": 0.5, "b": 0.5},
                         content_weight, 5.0, tv_weight)

    base = objective(s1)
    assert base.structure == objective(s2, content_weight=7.0).structure  # new numbers, same graph
    assert base.structure != objective(s1, tv_weight=1.0).structure  # a term switched on
    leaves = tf.nest.flatten(base.inputs)
    assert leaves and all(isinstance(leaf, tf.Tensor) for leaf in leaves)
    assert hash(base.structure) == hash(objective(s2).structure)


def test_a_new_style_statistic_is_one_registration():
    """Registering a target function and a distance makes a statistic usable by the Objective."""
    from nst_lib import losses, style_registry

    def channel_means(features):
        return (tf.reduce_mean(features, axis=[0, 1, 2]),)

    def mean_distance(features, target, mask, seed):
        assert seed.shape == (2,) and seed.dtype == tf.int64
        return tf.reduce_mean(tf.square(tf.reduce_mean(features, axis=[0, 1, 2]) - target[0]))

    losses.register_style_statistic("test_means", channel_means, mean_distance)
    try:
        ext = ToyExtractor()
        s1, s2, x = (RNG.uniform(0, 1, size=(8, 8, 3)).astype(np.float32) for _ in range(3))
        stat = losses.style_statistic("test_means")
        t1, t2 = ({k: stat.targets(v) for k, v in ext(tf.constant(s[np.newaxis])).items()} for s in (s1, s2))
        obj = Objective(ext, {}, [StyleTarget(t1, 1.0), StyleTarget(t2, 3.0)], {}, {"a": 0.5, "b": 0.5},
                        0.0, 1.0, 0.0, style_loss="test_means")
        feats = {k: v.numpy()[0] for k, v in ext(tf.constant(x[np.newaxis])).items()}
        blended = {k: 0.25 * t1[k][0].numpy() + 0.75 * t2[k][0].numpy() for k in feats}  # the default blend
        expected = sum(0.5 * np.mean((feats[k].mean(axis=(0, 1)) - blended[k]) ** 2) for k in feats)
        np.testing.assert_allclose(float(obj.parts(tf.constant(x[np.newaxis]))["style"]), expected, rtol=1e-5)
        assert "test_means" in losses.style_statistic_names()
    finally:
        style_registry._STATISTICS.pop("test_means")
    with pytest.raises(InvalidSettingError, match="unknown style loss 'test_means'; registered style losses are gram"):
        losses.style_statistic("test_means")


# ------------------------------------------------------------------------------------- gradients
def test_loss_gradients_match_central_finite_differences_in_float64():
    """content + style + TV through a smooth float64 feature map: autodiff vs central differences."""
    rng = np.random.default_rng(7)
    kernel = tf.constant(rng.normal(0, 0.5, size=(3, 3, 3, 4)))

    def feats(image):
        return {"a": tf.nn.softplus(tf.nn.conv2d(image, kernel, 1, "SAME"))}

    content = tf.constant(rng.uniform(0, 1, size=(1, 6, 5, 3)))
    style_grams = {"a": gram_matrix(feats(tf.constant(rng.uniform(0, 1, size=(1, 6, 5, 3))))["a"])[0]}
    content_targets = feats(content)

    def total(image):
        f = feats(image)
        c, _ = content_loss(f, content_targets, {"a": 1.0})
        s, _ = style_loss(f, style_grams, {"a": 1.0})
        return 2.0 * c + 3.0 * s + 0.5 * total_variation_loss(image)

    x = tf.constant(rng.uniform(0.2, 0.8, size=(1, 6, 5, 3)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = total(x)
    grad = tape.gradient(value, x).numpy()
    eps = 1e-5
    flat = x.numpy().ravel()
    for index in rng.choice(flat.size, size=12, replace=False):
        step = np.zeros_like(flat)
        step[index] = eps
        plus = float(total(tf.constant((flat + step).reshape(x.shape))))
        minus = float(total(tf.constant((flat - step).reshape(x.shape))))
        numeric = (plus - minus) / (2 * eps)
        assert numeric == pytest.approx(grad.ravel()[index], rel=1e-6, abs=1e-9)


def test_objective_gradient_matches_finite_differences_on_a_random_vgg():
    """The real Objective (random VGG19 weights, float32, guided style + TV) through make_value_and_grad."""
    import keras

    from nst_lib.backbone import FeatureExtractor
    from nst_lib.optimize import make_value_and_grad

    keras.utils.set_random_seed(0)
    content_layers, style_layers = ["conv2_1"], ["conv1_1", "conv2_1", "conv3_1"]
    ext = FeatureExtractor(content_layers + style_layers, weights=None)
    rng = np.random.default_rng(0)
    h = 16
    content, style = (rng.uniform(0, 1, (1, h, h, 3)).astype(np.float32) for _ in range(2))
    content_feats, style_feats = ext(content), ext(style)
    mask = np.zeros((h, h), np.float32)
    mask[:, : h // 2] = 1.0
    targets = [StyleTarget({k: gram_matrix(style_feats[k])[0] for k in ext.layers[1:]}, 1.0, tf.constant(mask))]
    obj = Objective(
        ext,
        {"block2_conv1": content_feats["block2_conv1"]},
        targets + [StyleTarget({k: gram_matrix(content_feats[k])[0] for k in ext.layers[1:]}, 1.0)],
        {"block2_conv1": 1.0},
        {k: 1 / 3 for k in ext.layers[1:]},
        1.0,
        1e-3,
        10.0,
    )
    x = rng.uniform(0.2, 0.8, (1, h, h, 3)).astype(np.float32)
    parts, grad = make_value_and_grad(obj)(tf.constant(x))
    grad = grad.numpy()
    norm = float(np.linalg.norm(grad))
    assert norm > 0 and np.all(np.isfinite(grad))

    def f(z):
        return float(obj.parts(tf.constant(z))["total"])

    np.testing.assert_allclose(float(parts["total"]), f(x), rtol=1e-5)
    eps = 1e-3
    # along the gradient the signal is largest (float32 and ReLU kinks make single pixels noisy)
    directions = [grad / norm] + [d / np.linalg.norm(d) for d in rng.standard_normal((3, *x.shape)).astype(np.float32)]
    for d in directions:
        numeric = (f(x + eps * d) - f(x - eps * d)) / (2 * eps)
        analytic = float(np.sum(grad * d))
        assert abs(numeric - analytic) <= 2e-2 * norm, (numeric, analytic, norm)


# ---------------------------------------------------------------------- the TensorFlow tutorial
def test_tutorial_settings_reproduce_the_tensorflow_tutorial_objective():
    """Content block5_conv2, style conv1_1…conv5_1, weights 1e4 / 1e-2, no TV: our Objective total equals
    the tutorial's formula computed with NumPy on features of an independently built Keras VGG19 (same
    random weights, ``vgg19.preprocess_input(255 * x)`` as in the tutorial)."""
    import keras

    from nst_lib.backbone import FeatureExtractor
    from nst_lib.config import TF_TUTORIAL

    keras.utils.set_random_seed(3)
    content_layers, style_layers = list(TF_TUTORIAL["content_layers"]), list(TF_TUTORIAL["style_layers"])
    ext = FeatureExtractor(content_layers + style_layers, weights=None)

    reference = keras.applications.VGG19(include_top=False, weights=None)
    for layer in ext.model.layers:
        if layer.get_weights():
            reference.get_layer(layer.name).set_weights(layer.get_weights())
    tutorial_model = keras.Model(reference.input, [reference.get_layer(n).output for n in style_layers + content_layers])

    def tutorial_features(image):  # the tutorial's StyleContentModel.call, in NumPy where it can be
        outputs = tutorial_model(keras.applications.vgg19.preprocess_input(image * 255.0))
        outputs = [np.asarray(o, np.float64)[0] for o in outputs]
        style_out, content_out = outputs[: len(style_layers)], outputs[len(style_layers) :]
        grams = [np.einsum("ijc,ijd->cd", f, f) / (f.shape[0] * f.shape[1]) for f in style_out]
        return grams, content_out

    rng = np.random.default_rng(5)
    size = 48
    content, style, x = (rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32) for _ in range(3))
    style_targets, _ = tutorial_features(style)
    _, content_targets = tutorial_features(content)
    grams, content_out = tutorial_features(x)
    style_weight, content_weight = TF_TUTORIAL["style_weight"], TF_TUTORIAL["content_weight"]
    expected_style = sum(np.mean((g - a) ** 2) for g, a in zip(grams, style_targets)) * style_weight / len(style_layers)
    expected_content = (
        sum(np.mean((f - p) ** 2) for f, p in zip(content_out, content_targets)) * content_weight / len(content_layers)
    )
    expected = expected_style + expected_content

    ours = ext(content)
    style_feats = ext(style)
    obj = Objective(
        ext,
        {k: ours[k] for k in ext.layers[:1]},
        [StyleTarget({k: gram_matrix(style_feats[k])[0] for k in style_layers})],
        {content_layers[0]: 1.0},
        {k: 1 / len(style_layers) for k in style_layers},
        content_weight,
        style_weight,
        TF_TUTORIAL["tv_weight"],
    )
    parts = obj.parts(tf.constant(x))
    assert expected_style > 0 and expected_content > 0
    np.testing.assert_allclose(float(parts["total"]), expected, rtol=1e-4)
    np.testing.assert_allclose(style_weight * float(parts["style"]), expected_style, rtol=1e-4)
    np.testing.assert_allclose(content_weight * float(parts["content"]), expected_content, rtol=1e-4)
