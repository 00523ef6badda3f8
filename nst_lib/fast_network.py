"""The image-transformation network of fast style transfer, layer by layer (notebook 10).

The network (:class:`StyleTransferNetwork`, about 0.4 million weights at the default width 16, half of
Johnson et al.'s):

* a 9×9 convolution, then two stride-2 3×3 convolutions (the image at 1/4 resolution, 4·width channels);
* ``residual_blocks`` residual blocks (two 3×3 convolutions and a skip connection);
* two upsampling steps that *resize, then convolve* (nearest-neighbour ×2 and a 3×3 convolution) instead of
  transposed convolutions, which leave checkerboard artefacts (Odena, Dumoulin & Olah, Distill 2016);
* a 9×9 convolution to RGB and a sigmoid, so the output is an image in [0, 1] like ``stylize``'s.

Every convolution but the last is followed by *instance normalisation* (Ulyanov, Vedaldi & Lempitsky 2016:
each image's channels are normalised by their own mean and standard deviation, which makes the
stylization independent of the photo's contrast and matters a lot for quality) and a ReLU. Borders are
reflection-padded, so the image edges do not turn dark. Any image size works: the network pads the
input to a multiple of 4 and crops the output back.

The layers are registered with Keras under the ``nst_lib`` package, so ``keras.models.load_model`` opens a
saved model once this module is imported (:mod:`nst_lib.fast` imports it).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="nst_lib")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by ``padding`` pixels, mirroring the image (no dark borders)."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = lambda n: None if n is None else n + 2 * self.padding  # noqa: E731
        return (b, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="nst_lib")
class InstanceNormalization(keras.layers.Layer):
    """Normalises each channel of each image by its own mean and variance over height and width, then scales
    and shifts it with learned per-channel ``gamma`` and ``beta`` (Ulyanov et al. 2016).

    ``y = gamma · (x − mean_hw(x)) / sqrt(var_hw(x) + epsilon) + beta``. The same as
    ``keras.layers.GroupNormalization(groups=-1)``, written out because notebook 10 teaches it.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, inputs):
        mean, variance = tf.nn.moments(inputs, axes=[1, 2], keepdims=True)
        return (inputs - mean) * tf.math.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="nst_lib")
class ConvBlock(keras.layers.Layer):
    """Reflection padding, a convolution, instance normalisation and (optionally) a ReLU.

    With ``upsample=True`` the input is first enlarged ×2 by nearest-neighbour resizing: *resize, then
    convolve*, which leaves no checkerboard pattern (a transposed convolution with stride 2 does).
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, relu: bool = True,
                 upsample: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.relu, self.upsample = bool(relu), bool(upsample)
        self.resize = keras.layers.UpSampling2D(2, interpolation="nearest") if upsample else None
        self.pad = ReflectionPadding2D(self.kernel_size // 2)
        self.conv = keras.layers.Conv2D(self.filters, self.kernel_size, strides=self.strides, padding="valid")
        self.norm = InstanceNormalization()

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self.resize is not None:
            shape = self.resize.compute_output_shape(shape)
        self.conv.build(self.pad.compute_output_shape(shape))
        self.norm.build((*shape[:-1], self.filters))

    def call(self, inputs):
        x = self.resize(inputs) if self.resize is not None else inputs
        x = self.norm(self.conv(self.pad(x)))
        return tf.nn.relu(x) if self.relu else x

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "relu": self.relu, "upsample": self.upsample}


@keras.saving.register_keras_serializable(package="nst_lib")
class ResidualBlock(keras.layers.Layer):
    """``x + F(x)`` with F two 3×3 :class:`ConvBlock` (the second without ReLU), as in Johnson et al."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.first = ConvBlock(self.filters, 3)
        self.second = ConvBlock(self.filters, 3, relu=False)

    def build(self, input_shape):
        self.first.build(input_shape)
        self.second.build((*tuple(input_shape)[:-1], self.filters))

    def call(self, inputs):
        return inputs + self.second(self.first(inputs))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="nst_lib")
class StyleTransferNetwork(keras.Model):
    """The image-transformation network (see the module docstring): [0, 1] RGB in, [0, 1] RGB out.

    Args:
        width: channels of the first convolution; the downsampled ones have 2·width and 4·width.
        residual_blocks: residual blocks at 1/4 resolution.
        metadata: JSON-able dictionary saved with the model (training settings, style, history).
    """

    def __init__(self, width: int = 16, residual_blocks: int = 5, metadata: Mapping[str, Any] | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.width, self.residual_blocks = int(width), int(residual_blocks)
        # kept as JSON text: Keras would wrap a dict attribute in its own tracking type
        self._metadata_text = json.dumps(dict(metadata or {}))
        w = self.width
        self.encoder = [ConvBlock(w, 9, name="conv_in"), ConvBlock(2 * w, 3, strides=2, name="down_1"),
                        ConvBlock(4 * w, 3, strides=2, name="down_2")]
        self.residuals = [ResidualBlock(4 * w, name=f"residual_{i + 1}") for i in range(self.residual_blocks)]
        self.decoder = [ConvBlock(2 * w, 3, upsample=True, name="up_1"), ConvBlock(w, 3, upsample=True, name="up_2")]
        self.to_rgb_pad = ReflectionPadding2D(4, name="to_rgb_pad")
        self.to_rgb = keras.layers.Conv2D(3, 9, padding="valid", activation="sigmoid", name="to_rgb")

    def call(self, inputs, training=None):
        height, width = tf.shape(inputs)[1], tf.shape(inputs)[2]
        # two stride-2 steps: pad to a multiple of 4 (mirroring), crop the output back
        pad_h, pad_w = (-height) % 4, (-width) % 4
        x = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="REFLECT")
        for layer in self.encoder:
            x = layer(x)
        for layer in self.residuals:
            x = layer(x)
        for layer in self.decoder:
            x = layer(x)
        x = self.to_rgb(self.to_rgb_pad(x))
        return x[:, :height, :width, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the training record saved with the model (settings, style fingerprint, steps, history)."""
        return json.loads(self._metadata_text)

    def update_metadata(self, **values: Any) -> None:
        """Change some entries of the training record (values must be JSON-able)."""
        self._metadata_text = json.dumps({**self.metadata, **values})

    def get_config(self):
        return {**super().get_config(), "width": self.width, "residual_blocks": self.residual_blocks,
                "metadata": self.metadata}


def build_network(width: int = 16, residual_blocks: int = 5, seed: int | None = None,
                  metadata: Mapping[str, Any] | None = None) -> StyleTransferNetwork:
    """A built :class:`StyleTransferNetwork` with freshly initialised weights (reproducible with ``seed``)."""
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    network = StyleTransferNetwork(width, residual_blocks, metadata, name="style_transfer_network")
    network(np.zeros((1, 16, 16, 3), np.float32))  # builds every layer (channel counts become known)
    return network
