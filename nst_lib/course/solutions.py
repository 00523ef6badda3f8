"""Reference solutions of the course's self-checked exercises (notebooks 00–08).

Nothing here is shown by default. A learner reveals one on purpose with
``checks.solution("gram_matrix")``, which prints the source of the function below of that name;
``checks.solution()`` lists them all. ``tests/test_checks.py`` runs every solution through its own check.

Each function is written the way the exercise asks, with plain NumPy, TensorFlow and Keras, so that its
source reads as a worked answer; the library's own implementations (:mod:`nst_lib.gram`,
:mod:`nst_lib.losses`, …) are what the checks compare against.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..color import rgb_to_yiq, yiq_to_rgb
from .network import vgg_network

# The constants the exercises give the learner (notebook 01: CAFFE_MEANS_BGR; notebook 08: TF_TUTORIAL).
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)  # = nst_lib.backbone.CAFFE_MEANS_BGR
CONTENT_LAYERS = ("block5_conv2",)  # nst.TF_TUTORIAL["content_layers"]
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_WEIGHT, STYLE_WEIGHT = 1e4, 1e-2  # nst.TF_TUTORIAL["content_weight"], ["style_weight"]
LEARNING_RATE, BETA_1, EPSILON = 0.02, 0.99, 0.1  # the tutorial's Adam (β₂ stays Keras' 0.999)


# ------------------------------------------------------------------------------------ notebook 00
def to_float_image(pixels):
    """uint8 (H, W, 3) → float32 (H, W, 3) in [0, 1]: 255 becomes exactly 1.0."""
    return pixels.astype(np.float32) / 255.0


# ------------------------------------------------------------------------------------ notebook 01
def preprocess(images):
    """(N, H, W, 3) RGB in [0, 1] → VGG's input: ×255, RGB → BGR, minus the ImageNet mean colour."""
    images = tf.convert_to_tensor(images, tf.float32)
    bgr = tf.reverse(images, axis=[-1]) * 255.0  # reverse the channel axis, scale to 0–255
    return bgr - tf.constant(CAFFE_MEANS_BGR, tf.float32)  # the means are already in B, G, R order


def deprocess(vgg_input):
    """VGG's input → displayable RGB in [0, 1]: the steps of preprocess undone in reverse order."""
    bgr = np.asarray(vgg_input, np.float32) + np.asarray(CAFFE_MEANS_BGR, np.float32)  # means back (still BGR)
    rgb = bgr[..., ::-1]  # BGR → RGB
    return np.clip(rgb / 255.0, 0.0, 1.0)  # 0–255 → [0, 1], and only valid values


# ------------------------------------------------------------------------------------ notebook 02
def feature_map_shape(layer, height, width):
    """(h, w, channels) of a VGG19 layer's output for a height × width input."""
    block = int(layer[len("block")])  # "block3_conv1" → 3
    channels = (64, 128, 256, 512, 512)[block - 1]
    for _ in range(block - 1):  # a layer of block b comes after b − 1 poolings
        height, width = height // 2, width // 2  # each 2×2 pooling halves, rounding down
    return height, width, channels


def receptive_field(layer, layer_names):
    """Side, in pixels, of the input window that one value of ``layer`` can see, in the network whose
    convolution layers are ``layer_names`` (in order; a 2×2 max-pooling sits wherever the block changes)."""
    rf, jump = 1, 1  # a single pixel; neighbouring values of the input are 1 pixel apart
    for index, name in enumerate(layer_names):
        rf += 2 * jump  # a 3×3 convolution reads one more neighbour on each side
        if name == layer:
            return rf
        following = layer_names[index + 1] if index + 1 < len(layer_names) else None
        if following is not None and following.split("_")[0] != name.split("_")[0]:  # a pooling in between
            rf += jump  # the 2×2 window reads one more neighbour…
            jump *= 2  # …and its stride 2 doubles the distance between neighbouring values
    raise ValueError(f"{layer!r} is not one of the layers given")


def make_extractor(layer_names):
    """A keras.Model from VGG's (preprocessed) input to the outputs of ``layer_names``, in that order."""
    vgg = vgg_network()  # in the notebook: the global `vgg`
    return keras.Model(vgg.input, [vgg.get_layer(name).output for name in layer_names])


# ------------------------------------------------------------------------------------ notebook 03
def gram_matrix(features):
    """(1, H, W, C) features → (1, C, C) Gram matrix Fᵀ F / (H·W)."""
    shape = tf.shape(features)
    flat = tf.reshape(features, (-1, shape[-1]))  # (H·W, C): one row per position
    positions = tf.cast(shape[1] * shape[2], features.dtype)
    return (tf.matmul(flat, flat, transpose_a=True) / positions)[tf.newaxis]  # Fᵀ F / (H·W)


# ------------------------------------------------------------------------------------ notebook 04
def content_loss(features, targets, layer_weights):
    """Σ_l c_l · mean((F_l − P_l)²); the arguments are dicts keyed by layer name."""
    return tf.add_n([weight * tf.reduce_mean(tf.square(features[layer] - targets[layer]))
                     for layer, weight in layer_weights.items()])


def style_loss(features, target_grams, layer_weights):
    """Σ_l w_l · mean((G_l − A_l)²) with G_l the Gram matrix of features[layer]."""
    terms = []
    for layer, weight in layer_weights.items():
        gram = gram_matrix(features[layer])  # (1, C, C)
        target = tf.reshape(target_grams[layer], tf.shape(gram))  # (C, C) or (1, C, C) → (1, C, C)
        terms.append(weight * tf.reduce_mean(tf.square(gram - target)))
    return tf.add_n(terms)


def total_variation(image):
    """mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) for a (1, H, W, 3) image."""
    down = image[:, 1:, :, :] - image[:, :-1, :, :]  # neighbours along the rows (axis 1)
    across = image[:, :, 1:, :] - image[:, :, :-1, :]  # neighbours along the columns (axis 2)
    return tf.reduce_mean(tf.square(down)) + tf.reduce_mean(tf.square(across))


# ------------------------------------------------------------------------------------ notebook 05
def adam_step(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon):
    """One Adam update of the pixels (Keras' form), then a clip to [0, 1]; t = 1 for the first step."""
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)  # the bias corrections
    new_image = np.clip(image - alpha * m / (np.sqrt(v) + epsilon), 0.0, 1.0)
    return new_image, m, v


def make_train_step(loss_fn, optimizer):
    """A compiled step(image) for a tf.Variable image: one optimizer step on the pixels, then a clip to
    [0, 1]; it returns the loss of the image *before* the step."""

    @tf.function
    def train_step(image):
        with tf.GradientTape() as tape:  # records the computation from the pixels to the loss
            loss = loss_fn(image)
        gradient = tape.gradient(loss, image)  # ∂loss/∂pixel, the shape of the image
        optimizer.apply_gradients([(gradient, image)])  # the optimizer changes the variable in place
        image.assign(tf.clip_by_value(image, 0.0, 1.0))  # keep every pixel valid
        return loss

    return train_step


# ------------------------------------------------------------------------------------ notebook 06
def paper_to_ours(alpha_over_beta, height, width):
    """content_weight / style_weight for the paper's α/β, from the normalisation alone (conv4_2)."""
    channels = 512  # N: conv4_2 has 512 channels
    positions = (height // 2 // 2 // 2) * (width // 2 // 2 // 2)  # M: after three 2×2 max-pools
    return 2 * channels * positions * alpha_over_beta


# ------------------------------------------------------------------------------------ notebook 07
def luminance_transfer(photo, painting, transfer):
    """Style on luminance only (Gatys et al. 2017): ``transfer`` runs on grey images, the photo's colours return."""
    photo_yiq = rgb_to_yiq(photo)  # Y: luminance; I, Q: colour
    photo_y, painting_y = photo_yiq[..., 0], rgb_to_yiq(painting)[..., 0]
    painting_y = (painting_y - painting_y.mean()) / max(float(painting_y.std()), 1e-6)  # the painting's pattern…
    painting_y = painting_y * photo_y.std() + photo_y.mean()  # …with the photo's brightness and contrast

    def grey(y):
        return np.repeat(np.clip(y, 0.0, 1.0)[..., np.newaxis], 3, axis=-1)  # three equal channels

    result = transfer(grey(photo_y), grey(painting_y))
    photo_yiq[..., 0] = rgb_to_yiq(result)[..., 0]  # the result's luminance, the photo's colours
    return yiq_to_rgb(photo_yiq)  # back to RGB, clipped to [0, 1]


def guided_gram_matrix(features, mask):
    """(1, h, w, C) features and an (h, w) mask → (C, C) guided Gram matrix (m·F)ᵀ (m·F) / Σ m²."""
    weighted = features[0] * mask[..., tf.newaxis]  # m·F, position by position
    flat = tf.reshape(weighted, (-1, tf.shape(features)[-1]))
    return tf.matmul(flat, flat, transpose_a=True) / tf.reduce_sum(tf.square(mask))


# ------------------------------------------------------------------------------------ notebook 08
def make_objective(content, style):
    """objective(image) → (total, parts) for the TensorFlow tutorial's objective, from your own pieces.

    ``content`` and ``style`` are float32 (H, W, 3) images in [0, 1]; ``image`` is (1, H, W, 3).
    ``parts`` holds the unweighted "content" and "style" losses and each style layer's part "style/<layer>".
    """
    layers = [*CONTENT_LAYERS, *STYLE_LAYERS]
    extractor = make_extractor(layers)  # notebook 02

    def features(image):
        return dict(zip(layers, extractor(preprocess(image))))  # notebook 01: preprocess inside

    content_targets = features(content[np.newaxis])
    style_features = features(style[np.newaxis])
    style_targets = {layer: gram_matrix(style_features[layer]) for layer in STYLE_LAYERS}  # notebook 03
    content_weights = {layer: 1 / len(CONTENT_LAYERS) for layer in CONTENT_LAYERS}
    style_weights = {layer: 1 / len(STYLE_LAYERS) for layer in STYLE_LAYERS}

    def objective(image):
        feats = features(image)
        content_term = content_loss(feats, content_targets, content_weights)  # notebook 04
        style_parts = {f"style/{layer}": style_loss({layer: feats[layer]}, {layer: style_targets[layer]},
                                                    {layer: style_weights[layer]})
                       for layer in STYLE_LAYERS}
        style_term = tf.add_n(list(style_parts.values()))
        total = CONTENT_WEIGHT * content_term + STYLE_WEIGHT * style_term
        return total, {"content": content_term, "style": style_term, **style_parts}

    return objective


def style_transfer(content, style, steps):
    """The whole method: start from the content image, take ``steps`` Adam steps on the pixels.

    Returns the final (H, W, 3) image and the list of losses, one per step (each the loss of the image
    *before* that step, as the train step returns it).
    """
    objective = make_objective(content, style)
    image = tf.Variable(content[np.newaxis].astype(np.float32))  # the pixels are what we train
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=BETA_1, epsilon=EPSILON)
    train_step = make_train_step(lambda x: objective(x)[0], optimizer)  # notebook 05
    losses = [float(train_step(image)) for _ in range(steps)]
    return image[0].numpy(), losses
