"""VGG backbones: the layer catalogue and the feature extractor (taught in notebook 02).

Contract (as in the TensorFlow tutorial): the extractor takes images in **[0, 1] RGB**, and does
``preprocess_input(255 * image)`` itself (RGB→BGR, subtract the Caffe ImageNet means), so the variable we
optimise stays a plain image. It returns the post-ReLU outputs of the requested Keras layers.

One network per backbone and weights is built and loaded once per process (each layer's weights the
first time an extractor needs it); every extractor's sub-model is cut from it. Where the weights come from
(explicit file, Keras cache, download, the offline VGG16) is :mod:`nst_lib.weights`; its public names are
importable from here too.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Sequence

from .errors import InvalidSettingError
from .precision import COMPUTE_PRECISIONS, layer_dtype
from .weights import (  # noqa: F401 - re-exported: notebooks import these from nst_lib.backbone
    CONVERTED_CACHE_NAME,
    WEIGHTS_FILES,
    BackboneSubstitutionWarning,
    WeightsInfo,
    keras_cache_dir,
    load_weights,
    resolve_weights,
    resolved_weights_description,
)

from .layers import (  # noqa: F401 - re-exported: notebooks read the catalogue from nst_lib.backbone
    BACKBONE_BLOCKS,
    LayerInfo,
    BLOCK_CHANNELS,
    check_backbone,
    layer_catalogue,
    layer_names,
    to_keras_name,
    to_keras_names,
)
# ------------------------------------------------------------------------------------------- models
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)


#: pooling between VGG's blocks: "max" (the trained network's) or "avg" (Gatys et al.: "slightly more
#: appealing results" for image synthesis; notebook 11)
POOLINGS = ("max", "avg")


def check_pooling(pooling: str) -> None:
    """Raise :class:`InvalidSettingError` unless ``pooling`` is one of :data:`POOLINGS`."""
    if pooling not in POOLINGS:
        raise InvalidSettingError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")


def build_vgg(backbone: str, pooling: str = "max", precision: str = "float32"):
    """An uninitialised VGG convolution stack, every layer (input: preprocessed BGR), with 2×2 max or
    average pooling between the blocks (the same weights serve both: pooling has none), computing in
    ``precision`` (bfloat16: float32 weights, bfloat16 arithmetic and activations; :mod:`nst_lib.precision`)."""
    import keras

    check_pooling(pooling)
    dtype = layer_dtype(precision)
    pool = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
    inputs = keras.Input(shape=(None, None, 3), name="bgr")
    x = inputs
    for b, n in enumerate(BACKBONE_BLOCKS[backbone]):
        for c in range(n):
            x = keras.layers.Conv2D(BLOCK_CHANNELS[b], 3, padding="same", activation="relu", name=f"block{b + 1}_conv{c + 1}",
                                    dtype=dtype)(x)
        if b < len(BACKBONE_BLOCKS[backbone]) - 1:
            x = pool(2, strides=2, name=f"block{b + 1}_pool", dtype=dtype)(x)
    return keras.Model(inputs, x, name=f"{backbone}_{pooling}pool" if pooling != "max" else backbone)


class FeatureExtractor:
    """Maps [0, 1] RGB images to post-ReLU VGG feature maps of the requested layers.

    Args:
        layers: layer names (Keras or Gatys); the network is cut after the deepest one.
        backbone: ``"vgg19"`` (default) or ``"vgg16"``.
        weights: ``"imagenet"``, ``None`` (random), a weights file path, or an already resolved
            :class:`WeightsInfo`.
        pooling: ``"max"`` (default, the trained network's) or ``"avg"`` (Gatys et al.'s choice for synthesis).
        rescaling: ``None``, or per-filter divisors of the layers' outputs, an object with a ``divisors``
            mapping (Keras layer name → one positive number per filter) and a hash: the rescaled network of
            :mod:`nst_lib.normalized_vgg`, where each filter's mean activation is 1.
        precision: ``"float32"`` or ``"bfloat16"`` (the network computes in bfloat16; its outputs are
            returned as float32, so everything after the extractor stays float32: :mod:`nst_lib.precision`).

    Calling it on a (batch, H, W, 3) tensor returns ``{keras_name: (batch, h, w, channels)}``. Every
    extractor of one backbone, weights and pooling shares one network, whose weights are loaded once per
    process (each layer the first time an extractor needs it); the extractor's sub-model is cut from it.
    """

    def __init__(self, layers: Sequence[str], backbone: str = "vgg19", weights: "str | None | WeightsInfo" = "imagenet",
                 *, pooling: str = "max", rescaling: Any = None, precision: str = "float32"):
        info = weights if isinstance(weights, WeightsInfo) else resolve_weights(backbone, weights)
        check_pooling(pooling)
        _check_compute_precision(precision)
        self.precision = precision
        self.weights_info = info
        self.backbone = info.backbone
        self.pooling = pooling
        self.rescaling = rescaling
        if not layers:
            raise InvalidSettingError("at least one layer is needed")
        self.layers = tuple(dict.fromkeys(to_keras_names(layers, self.backbone)))
        self.model = _submodel(info, self.layers, pooling, precision)
        self._divisors = None if rescaling is None else [rescaling.divisors[name] for name in self.layers]

    def preprocess(self, images):
        """[0, 1] RGB → Caffe BGR with ImageNet means removed (``vgg19.preprocess_input(255 * x)``)."""
        import tensorflow as tf

        bgr = tf.reverse(tf.convert_to_tensor(images, tf.float32), axis=[-1]) * 255.0
        return bgr - tf.constant(CAFFE_MEANS_BGR, tf.float32)

    def __call__(self, images) -> dict:
        import tensorflow as tf

        outputs = self.model(self.preprocess(images))
        if len(self.layers) == 1:
            outputs = [outputs]
        # a bfloat16 network's features become float32 here: Gram matrices and losses are float32 sums
        outputs = [tf.cast(output, tf.float32) for output in outputs]
        if self._divisors is not None:  # the rescaled network: each filter's output divided by its mean
            outputs = [output / divisor for output, divisor in zip(outputs, self._divisors)]
        return dict(zip(self.layers, outputs))


def _check_compute_precision(precision: str) -> None:
    if precision not in COMPUTE_PRECISIONS:
        raise InvalidSettingError(
            f"an extractor computes in {' or '.join(COMPUTE_PRECISIONS)}; got {precision!r} "
            "(resolve 'auto' first with nst_lib.precision.resolve_precision)")


#: extractors shared by stylize() runs asking for the same layers of the same network (least recently used
#: first): their traced value-and-gradient graphs live on them, so a later run reuses the graphs
_SHARED_EXTRACTORS: "OrderedDict[tuple, FeatureExtractor]" = OrderedDict()
_MAX_SHARED_EXTRACTORS = 8
_LOCK = threading.RLock()


def shared_extractor(layers: Sequence[str], backbone: str = "vgg19",
                     weights: "str | None | WeightsInfo" = "imagenet", *, warn: bool = True,
                     pooling: str = "max", rescaling: Any = None, precision: str = "float32") -> FeatureExtractor:
    """The process-wide extractor for these layers of this network (made on first use).

    :func:`~nst_lib.transfer.stylize` uses it, so the graph traced by one run serves the next ones. With
    ``warn=False`` a VGG16 substitution is not warned about; it is on ``extractor.weights_info.notice``.
    ``pooling``, ``rescaling`` and ``precision`` are those of :class:`FeatureExtractor`.
    """
    info = weights if isinstance(weights, WeightsInfo) else resolve_weights(backbone, weights, warn=warn)
    if not layers:
        raise InvalidSettingError("at least one layer is needed")
    check_pooling(pooling)
    _check_compute_precision(precision)
    key = (tuple(dict.fromkeys(to_keras_names(layers, info.backbone))), info, pooling, rescaling, precision)
    with _LOCK:
        extractor = _SHARED_EXTRACTORS.pop(key, None)
        if extractor is None:
            extractor = FeatureExtractor(key[0], info.backbone, info, pooling=pooling, rescaling=rescaling,
                                         precision=precision)
        _SHARED_EXTRACTORS[key] = extractor
        while len(_SHARED_EXTRACTORS) > _MAX_SHARED_EXTRACTORS:
            _SHARED_EXTRACTORS.popitem(last=False)
    return extractor


class _Network:
    """One VGG convolution stack per backbone, weights, pooling and precision, with the set of layers whose
    weights are loaded."""

    def __init__(self, info: WeightsInfo, pooling: str = "max", precision: str = "float32"):
        self.info = info
        self.model = build_vgg(info.backbone, pooling, precision)
        self.model.trainable = False
        self.loaded: set[str] = set()
        self.submodels: dict[tuple[str, ...], object] = {}


_NETWORKS: dict[tuple[WeightsInfo, str, str], _Network] = {}


def _network(info: WeightsInfo, layers: Sequence[str], pooling: str = "max", precision: str = "float32") -> _Network:
    """The shared network of ``info``, ``pooling`` and ``precision``, with weights loaded up to the deepest of ``layers``."""
    with _LOCK:
        network = _NETWORKS.get((info, pooling, precision))
        if network is None:
            network = _NETWORKS[(info, pooling, precision)] = _Network(info, pooling, precision)
        order = layer_names(info.backbone)
        needed = order[: max(order.index(n) for n in layers) + 1]
        missing = [n for n in needed if n not in network.loaded]
        if missing:
            load_weights(network.model, info, missing)
            network.loaded.update(missing)
        return network


def _submodel(info: WeightsInfo, layers: tuple[str, ...], pooling: str = "max", precision: str = "float32"):
    """The sub-model with one output per requested layer, cut from the shared network (and kept)."""
    import keras

    with _LOCK:
        network = _network(info, layers, pooling, precision)
        if layers not in network.submodels:
            full = network.model
            outputs = [full.get_layer(n).output for n in layers]
            network.submodels[layers] = keras.Model(full.input, outputs if len(outputs) > 1 else outputs[0])
        return network.submodels[layers]
