"""Fast (feed-forward) style transfer: an image-transformation network and its training loop (notebook 10).

Johnson, Alahi & Fei-Fei (ECCV 2016) train a convolutional network to do in one pass what ``stylize``
does by optimising pixels for minutes: map a photo to its stylized version. The network is trained, for
one style, on many photos with the *perceptual loss*, which is exactly the objective of ``stylize``: the
content, style and total-variation losses of :mod:`nst_lib.losses` measured by the same VGG extractor.

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

Deviations from Johnson et al.: half the width (16 instead of 32 channels in the first layer), content
and style layers and loss normalisation as in ``stylize`` (so the two are directly comparable), a sigmoid
instead of a scaled tanh, and the training photos of :mod:`nst_lib.fast_data` instead of MS-COCO.

The saved model is a normal ``.keras`` file: ``keras.models.load_model`` opens it once this module is
imported (its layers are registered under the ``nst_lib`` package), and its config holds the training
settings, the style's fingerprint, the step count and the loss history. The optimizer is saved with it,
so ``resume=`` continues a run where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import tempfile
import threading
import time
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import keras
import numpy as np
import tensorflow as tf

from .backbone import shared_extractor
from .config import normalize_weights
from .errors import InvalidSettingError, MemoryBudgetError, OutputError
from .fast_data import HELD_OUT_PHOTOS, PhotoSampler
from .fast_settings import (ARCHITECTURE_FIELDS, MODEL_FORMAT, ModelFileError, TrainSettings, check_model_file,
                            check_model_path)
from .images import load_image, resize_to
from .layers import to_keras_names
from .losses import Objective, StyleTarget, content_loss, style_loss, style_statistic, total_variation_loss
from .memory import default_budget, format_bytes

#: Peak memory of one forward pass per pixel at width 16 (measured: +465 MB at 1024² px, +1.86 GB at 2048²);
#: it grows about in proportion to the width. A 4096² image needs about 7.8 GB.
INFERENCE_BYTES_PER_PIXEL = 465

STOP_REASONS = {
    "steps": "finished the requested steps",
    "time_budget": "time budget spent",
    "interrupted": "interrupted",
    "callback": "stopped on request",
    "nonfinite": "the loss became NaN or infinite",
    "loaded": "loaded from a file",
}


# ------------------------------------------------------------------------------------------ layers
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


# ------------------------------------------------------------------------------------------ loss
def perceptual_losses(
    extractor,
    outputs: tf.Tensor,
    content_features: Mapping[str, tf.Tensor],
    style_targets: Mapping[str, Any],
    content_layer_weights: Mapping[str, float],
    style_layer_weights: Mapping[str, float],
    loss_weights: tuple[float, float, float],
    *,
    style_loss_name: str = "gram",
    seed: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    """The perceptual loss of a batch of network outputs: ``stylize``'s objective, averaged over the batch.

    The content loss compares each output with the photo it was made from; the style loss compares each
    output's statistics with the style's (per image, then averaged); TV smooths. The terms are the
    functions of :mod:`nst_lib.losses`, so the numbers mean the same as in a ``stylize`` history.

    Args:
        extractor: the :class:`~nst_lib.backbone.FeatureExtractor` (content and style layers).
        outputs: (B, H, W, 3) network outputs in [0, 1].
        content_features: layer → (B, h, w, C) features of the input photos at the content layers.
        style_targets: layer → the style's target at that layer: a tuple of tensors of the registered
            statistic (for Gram: ``(gram,)``; see :mod:`nst_lib.losses`).
        content_layer_weights, style_layer_weights: layer → weight (each set summing to 1).
        loss_weights: (content_weight, style_weight, tv_weight).
        style_loss_name: the registered style statistic (``TrainSettings.style_loss``).
        seed: int64 (2,) tensor for statistics that draw random numbers (each image gets its own stream).

    Returns:
        ``{"total", "content", "style", "tv", "content/<layer>", "style/<layer>"}`` as scalars.
    """
    content_weight, style_weight, tv_weight = loss_weights
    features = extractor(outputs)
    zero = tf.constant(0.0, tf.float32)
    out: dict[str, tf.Tensor] = {}
    content = zero
    if content_weight > 0 and content_layer_weights:
        content, per_layer = content_loss(features, content_features, content_layer_weights)
        out.update({f"content/{k}": v for k, v in per_layer.items()})
    style = zero
    if style_weight > 0 and style_layer_weights:
        batch = outputs.shape[0]
        seed = tf.zeros((2,), tf.int64) if seed is None else seed
        per_image = [  # each image its own statistics: one Gram matrix per image, not one for the batch
            style_loss({k: features[k][i:i + 1] for k in style_layer_weights}, style_targets, style_layer_weights,
                       statistic=style_loss_name, seed=tf.random.experimental.stateless_fold_in(seed, i))
            for i in range(batch)
        ]
        style = tf.add_n([loss for loss, _ in per_image]) / batch
        out.update({f"style/{k}": tf.add_n([parts[k] for _, parts in per_image]) / batch for k in style_layer_weights})
    tv = total_variation_loss(outputs) if tv_weight > 0 else zero
    out.update(content=content, style=style, tv=tv)
    out["total"] = content_weight * content + style_weight * style + tv_weight * tv
    return out


def style_fingerprint(style_image: np.ndarray) -> str:
    """SHA-256 of the style image as 8-bit pixels (a resumed run must train on the same style)."""
    pixels = np.round(np.clip(style_image, 0, 1) * 255).astype(np.uint8)
    digest = hashlib.sha256(str(pixels.shape).encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()


def style_targets_for(extractor, style_image: np.ndarray, style_layers, style_loss_name: str = "gram") -> dict[str, Any]:
    """The style's target at each style layer (a tuple of tensors of the registered statistic; for Gram
    ``(gram,)``), computed once per training run."""
    statistic = style_statistic(style_loss_name)
    features = extractor(style_image[np.newaxis])
    return {layer: tuple(statistic.targets(features[layer])) for layer in style_layers}


def evaluate_stylization(image: Any, content: Any, style: Any, settings: TrainSettings | None = None) -> dict[str, float]:
    """The losses of ``stylize``'s objective for ``image`` as a stylization of ``content`` with ``style``.

    This is how a network's output and a ``stylize`` result are compared on equal terms (notebook 10 and
    ``benchmarks/fast.py``): the objective (layers and weights) of ``settings``, through
    :class:`nst_lib.losses.Objective`, the class ``stylize`` optimises. The content is resized to the
    image; the style to ``settings.style_size`` (as in training; ``stylize`` at that size does the same).

    Returns:
        ``{"total", "content", "style", "tv", "content/<layer>", "style/<layer>"}`` as floats.
    """
    settings = settings or TrainSettings()
    picture = load_image(image)
    photo = load_image(content)
    if photo.shape[:2] != picture.shape[:2]:
        photo = resize_to(photo, *picture.shape[:2])
    style_image = load_image(style, settings.style_size)
    # the substitution notice is not repeated here: train_fast puts it on its notes
    extractor = shared_extractor(settings.content_layers + settings.style_layers, settings.backbone, settings.weights,
                                 warn=False)
    content_layers = to_keras_names(settings.content_layers, extractor.backbone)
    style_layers = to_keras_names(settings.style_layers, extractor.backbone)
    content_lw = dict(zip(content_layers, normalize_weights("content_layers", None, len(content_layers))))
    style_lw = dict(zip(style_layers, normalize_weights("style_layers", None, len(style_layers))))
    content_features = extractor(photo[np.newaxis])
    objective = Objective(
        extractor,
        {k: content_features[k] for k in content_layers},
        [StyleTarget(targets=style_targets_for(extractor, style_image, style_layers, settings.style_loss))],
        content_lw,
        style_lw,
        settings.content_weight,
        settings.style_weight,
        settings.tv_weight,
        style_loss=settings.style_loss,
        seed=settings.seed,
    )
    return {k: float(v) for k, v in objective.parts(tf.constant(picture[np.newaxis])).items()}


# ------------------------------------------------------------------------------------------ training
@dataclass
class TrainProgress:
    """A progress event of :func:`train_fast`, sent to the callback after every step."""

    step: int  # steps done so far, counting those of a resumed run
    steps: int | None  # the step count asked for (None: until the time budget is spent)
    losses: dict[str, float]  # total, content, style, tv of this step's batch (weighted total)
    elapsed: float  # seconds since this call started
    time_budget: float | None
    checkpoint: str | None = None  # the model file written after this step, if one was
    #: the network as it is now applied to an image (path, array, …) → float32 (H, W, 3)
    stylize: Callable[..., np.ndarray] = field(default=lambda image, size=None: np.zeros((0, 0, 3)), repr=False)


@dataclass
class FastModel:
    """A trained fast-transfer network: ``stylize(image)`` in one pass; ``save``/``load`` as ``.keras``.

    Attributes:
        network: the Keras :class:`StyleTransferNetwork` (its ``metadata`` holds the training record).
        stop_reason: why training stopped (see :data:`STOP_REASONS`), or ``"loaded"``.
        message: one sentence about it.
        notes: one-line notices (e.g. VGG16 replacing VGG19).
    """

    network: StyleTransferNetwork
    stop_reason: str = "loaded"
    message: str = STOP_REASONS["loaded"]
    notes: list[str] = field(default_factory=list)
    _infer: Any = field(default=None, repr=False)

    # -------------------------------------------------------------- what the file says
    @property
    def metadata(self) -> dict[str, Any]:
        return self.network.metadata

    @property
    def settings(self) -> TrainSettings:
        """The training settings (those of the latest run on this model)."""
        return TrainSettings.from_dict(self.metadata["settings"])

    @property
    def steps(self) -> int:
        """Training steps done in total."""
        return int(self.metadata.get("steps_done", 0))

    @property
    def train_seconds(self) -> float:
        """Seconds spent training, over all runs (resumed ones included)."""
        return float(self.metadata.get("train_seconds", 0.0))

    @property
    def history(self) -> list[dict[str, float]]:
        """One entry per step: step, seconds (of training so far), total, content, style, tv."""
        keys = ("step", "seconds", "total", "content", "style", "tv")
        return [dict(zip(keys, row)) for row in self.metadata.get("history", [])]

    # -------------------------------------------------------------- inference
    def stylize(self, image: Any, size: int | None = None) -> np.ndarray:
        """Stylize ``image`` (a path, bytes, PIL image or array) in one forward pass.

        Args:
            image: anything :func:`nst_lib.images.load_image` accepts.
            size: long side of the result; ``None`` keeps the image's size.

        Returns:
            float32 (H, W, 3) in [0, 1].
        """
        picture = load_image(image, size)
        h, w = picture.shape[:2]
        needed = INFERENCE_BYTES_PER_PIXEL * h * w * self.network.width / 16
        budget = default_budget()
        if needed > budget:  # refused before it starts, not killed half-way
            raise MemoryBudgetError(
                f"stylizing a {w}×{h} px image with this network needs about {format_bytes(needed)}; "
                f"{format_bytes(budget)} is available for it; use a smaller size"
            )
        if self._infer is None:
            network = self.network

            @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
            def infer(batch):
                return network(batch, training=False)

            self._infer = infer
        return self._infer(tf.constant(picture[np.newaxis]))[0].numpy()

    # -------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (with its optimizer state and metadata) atomically to a ``.keras`` file."""
        return _save_atomically(self.network, check_model_path(path))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FastModel":
        """Open a model written by :meth:`save` or ``nst train``.

        Raises:
            ModelFileError: the file is missing, is not a ``.keras`` model, or is another kind of model.
        """
        target = Path(path).expanduser()
        check_model_file(target)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras' notes about compiled metrics are not for users
                network = keras.models.load_model(target, compile=True)
        except Exception as exc:  # noqa: BLE001 - truncated zips, bad HDF5 and version skew all mean "unusable"
            raise ModelFileError(f"cannot load model {str(target)!r}: {' '.join(str(exc).split())[:300]}") from None
        if not isinstance(network, StyleTransferNetwork):
            raise ModelFileError(f"{str(target)!r} is not a fast-transfer model (it holds a {type(network).__name__})")
        return cls(network)


def _save_atomically(network: StyleTransferNetwork, target: Path) -> Path:
    """Save to a temporary file in the same folder, then rename: the target is complete or untouched."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".keras", dir=target.parent)
    os.close(handle)
    try:
        network.save(temporary)
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"could not write '{target}' ({exc.strerror or exc})") from exc
        raise
    return target


@contextmanager
def _graceful_interrupts() -> Iterator[threading.Event]:
    """In the main thread, the first Ctrl-C (SIGINT) sets the yielded event instead of raising, so the loop
    can finish its step and write a checkpoint; a second Ctrl-C raises KeyboardInterrupt as usual."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # pragma: no cover - signals unavailable (embedded interpreters)
        yield event
        return
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def _settings_for(settings: TrainSettings | None, options: dict[str, Any], previous: Optional[FastModel]) -> TrainSettings:
    names = {f for f in TrainSettings.__dataclass_fields__}
    unknown = sorted(set(options) - names)
    if unknown:
        raise InvalidSettingError(f"unknown option(s) {', '.join(unknown)}; valid options are {', '.join(sorted(names))}")
    for key in ("content_layers", "style_layers"):
        value = options.get(key)
        if isinstance(value, str):
            options[key] = tuple(v.strip() for v in value.split(",") if v.strip())
        elif isinstance(value, list):
            options[key] = tuple(value)
    base = settings or (previous.settings if previous is not None else TrainSettings())
    if previous is not None:
        saved = previous.settings
        for name in ARCHITECTURE_FIELDS:
            asked = options.get(name, getattr(base, name))
            if asked != getattr(saved, name):
                raise InvalidSettingError(
                    f"{name}={asked} differs from the resumed model's {name}={getattr(saved, name)}; "
                    "the architecture of a resumed model cannot change"
                )
    return base.replace(**options) if options else base


def train_fast(
    style: Any,
    *,
    images: str | os.PathLike | None = None,
    output: str | os.PathLike | None = None,
    resume: str | os.PathLike | FastModel | None = None,
    callback: Callable[[TrainProgress], Optional[bool]] | None = None,
    settings: TrainSettings | None = None,
    **options: Any,
) -> FastModel:
    """Train a fast-transfer network for ``style`` with the perceptual loss (notebook 10).

    Each step stylizes a batch of random crops of the training photos (:mod:`nst_lib.fast_data`), measures
    the perceptual loss (:func:`perceptual_losses`) and takes an Adam step on the network's weights.

    Args:
        style: the style image: a path, bytes, PIL image or (H, W, 3) array in [0, 1].
        images: a folder of training photos; default the offline photos (two are held out, see
            :data:`nst_lib.fast_data.HELD_OUT_PHOTOS`).
        output: a ``.keras`` file written every ``checkpoint_every`` steps, at the end and on Ctrl-C
            (atomically: an earlier checkpoint stays intact until the new one is complete).
        resume: a model file (or :class:`FastModel`, which is then trained in place) to continue: its weights,
            optimizer state, step count and history are kept; its settings are the defaults for this run,
            ``options`` override them (not the architecture). ``steps`` counts the steps of both runs.
        callback: called with a :class:`TrainProgress` after every step; return ``True`` to stop.
        settings: a :class:`~nst_lib.fast_settings.TrainSettings`; keyword ``options`` override its fields.
        **options: any field of :class:`~nst_lib.fast_settings.TrainSettings` (size, steps, batch_size, …).

    Returns:
        The trained :class:`FastModel`. Ctrl-C (or a KeyboardInterrupt raised by the callback) stops after
        the current step and returns it with ``stop_reason == "interrupted"``, the checkpoint written.

    Raises:
        InvalidSettingError, InvalidImageError, ImageNotFoundError, WeightsError, OutputError,
        ModelFileError: bad input, before any training.
    """
    start = time.perf_counter()
    previous = None
    if resume is not None:
        previous = resume if isinstance(resume, FastModel) else FastModel.load(resume)
    settings = _settings_for(settings, dict(options), previous)
    target = check_model_path(output) if output is not None else None
    style_image = load_image(style, settings.style_size)
    fingerprint = style_fingerprint(style_image)
    if previous is not None and previous.metadata.get("style_sha256") != fingerprint:
        raise InvalidSettingError(
            "the style image differs from the one the resumed model was trained on; give the same style image "
            "(at the same style_size) or start a new run without resume"
        )
    steps_done = previous.steps if previous is not None else 0
    sampler = PhotoSampler(settings.size, images, seed=settings.seed * 1_000_003 + steps_done)

    extractor = shared_extractor(settings.content_layers + settings.style_layers, settings.backbone, settings.weights,
                                 warn=False)
    notes = [extractor.weights_info.notice] if extractor.weights_info.notice else []
    content_layers = to_keras_names(settings.content_layers, extractor.backbone)
    style_layers = to_keras_names(settings.style_layers, extractor.backbone)
    content_lw = dict(zip(content_layers, normalize_weights("content_layers", None, len(content_layers)))) if content_layers else {}
    style_lw = dict(zip(style_layers, normalize_weights("style_layers", None, len(style_layers)))) if style_layers else {}
    targets = style_targets_for(extractor, style_image, style_layers, settings.style_loss) if style_layers else {}
    loss_weights = (settings.content_weight, settings.style_weight, settings.tv_weight)

    if previous is not None:
        network = previous.network
        optimizer = network.optimizer
        optimizer.learning_rate.assign(settings.learning_rate)
        history = [list(row) for row in previous.metadata.get("history", [])]
        seconds_before = previous.train_seconds
    else:
        network = build_network(settings.width, settings.residual_blocks, seed=settings.seed)
        optimizer = keras.optimizers.Adam(settings.learning_rate)
        network.compile(optimizer=optimizer)  # so that model.save() stores the optimizer state too
        history, seconds_before = [], 0.0
    optimizer.build(network.trainable_variables)
    network.update_metadata(
        format=MODEL_FORMAT,
        settings=settings.to_dict(),
        style_sha256=fingerprint,
        style_shape=list(style_image.shape[:2]),
        backbone=extractor.backbone,
        weights_source=extractor.weights_info.source,
        training_photos=str(Path(images).expanduser().resolve()) if images is not None else sampler.names,
        held_out_photos=[] if images is not None else list(HELD_OUT_PHOTOS),
    )
    variables = network.trainable_variables

    @tf.function(reduce_retracing=True)
    def train_step(photos, seed):
        content_features = extractor(photos)
        content_features = {k: content_features[k] for k in content_lw}
        with tf.GradientTape() as tape:
            outputs = network(photos, training=True)
            parts = perceptual_losses(extractor, outputs, content_features, targets, content_lw, style_lw, loss_weights,
                                      style_loss_name=settings.style_loss, seed=seed)
        gradients = tape.gradient(parts["total"], variables)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in gradients] + [tf.math.is_finite(parts["total"])])
        if finite:  # a NaN step leaves the weights and the optimizer as they were
            optimizer.apply_gradients(zip(gradients, variables))
        return parts, finite

    model = FastModel(network, notes=notes)
    run_seconds = 0.0  # time spent in steps in this call

    def record(reason: str) -> None:
        network.update_metadata(
            steps_done=int(optimizer.iterations.numpy()),
            train_seconds=seconds_before + run_seconds,
            history=history,
            stop_reason=reason,
        )

    def checkpoint(reason: str) -> str | None:
        record(reason)
        if target is None:
            return None
        _save_atomically(network, target)
        return str(target)

    reason = "steps"
    last_step_seconds = 0.0
    step = int(optimizer.iterations.numpy())
    with _graceful_interrupts() as interrupted:
        try:
            while True:
                if settings.steps is not None and step >= settings.steps:
                    break
                elapsed = time.perf_counter() - start
                if settings.time_budget is not None and elapsed + 0.5 * last_step_seconds >= settings.time_budget:
                    reason = "time_budget"
                    break
                if interrupted.is_set():
                    reason = "interrupted"
                    break
                step_start = time.perf_counter()
                photos = tf.constant(sampler.batch(settings.batch_size))
                parts, finite = train_step(photos, tf.constant([settings.seed, step], tf.int64))
                values = {k: float(v) for k, v in parts.items() if "/" not in k}
                last_step_seconds = time.perf_counter() - step_start
                run_seconds += last_step_seconds
                if not bool(finite):
                    reason = "nonfinite"
                    break
                step = int(optimizer.iterations.numpy())
                history.append([step, round(seconds_before + run_seconds, 3),
                                *(float(f"{values[k]:.6g}") for k in ("total", "content", "style", "tv"))])
                written = None
                if step % settings.checkpoint_every == 0:
                    written = checkpoint("checkpoint")
                if callback is not None:
                    event = TrainProgress(step, settings.steps, values, time.perf_counter() - start,
                                          settings.time_budget, written, model.stylize)
                    if callback(event):
                        reason = "callback"
                        break
        except KeyboardInterrupt:  # raised by a callback, or a second Ctrl-C, or outside the main thread
            reason = "interrupted"
        if step > (previous.steps if previous is not None else 0) or target is not None:
            try:
                checkpoint(reason)
            except KeyboardInterrupt:  # Ctrl-C while saving: the previous checkpoint is intact
                reason = "interrupted"
        else:
            record(reason)
    model.stop_reason = reason
    model.message = STOP_REASONS[reason]
    if reason == "nonfinite":
        model.message = (f"the loss became NaN or infinite at step {step + 1}; lower the learning rate or the loss "
                         "weights (the weights of the last good step were kept)")
    return model
