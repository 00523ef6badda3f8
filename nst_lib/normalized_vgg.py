"""VGG rescaled as Gatys et al. rescaled it: every filter's mean activation is 1 (taught in notebook 11).

Gatys, Ecker & Bethge (CVPR 2016) "normalized the network by scaling the weights such that the mean
activation of each convolutional filter over images and positions is equal to one". Because
``ReLU(a·x) = a·ReLU(x)`` for ``a > 0``, and max and average pooling commute with a positive factor per
channel, dividing filter ``c`` of layer ``l`` (its kernel and its bias) by its mean activation ``μ_lc`` and
multiplying the next layer's kernel entries that read channel ``c`` by ``μ_lc`` changes nothing but the
scale of each filter's output. So the rescaled network's features are the original network's features
divided, filter by filter, by ``μ`` (measured on the original network): that is how
:class:`~nst_lib.backbone.FeatureExtractor` applies a :class:`NetworkRescaling` (one division per output
layer). :func:`rescale_weights` builds the rescaled kernels themselves, so notebook 11 and the tests can
check that the two agree.

**Where the means come from.** The paper's were taken over ImageNet, which cannot be downloaded here.
Ours are taken over :func:`calibration_images`: the bundled content photos (:data:`nst_lib.data.CONTENT_IMAGES`),
each as a whole (short side 224 px, centre square) and as four 224 px crops of the photo enlarged twice
— 25 images of 224 × 224 px, ImageNet's training size. The means depend on the network's pooling (average
pooling hands smaller values to the next block than max pooling), so each pooling has its own, measured
with that pooling. A filter that never fires on these images (mean 0) keeps its scale (divisor 1).

Cost: one forward pass of the whole network over the 25 images per backbone, weights and pooling (VGG16:
15–35 s on the project's 2-core CPU, depending on its load), once per machine: the means are kept in
the Keras cache folder (:func:`cache_folder`), keyed by the weights file and the images.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from . import data
from .backbone import (FeatureExtractor, build_vgg, check_pooling, layer_catalogue, layer_names, resolve_weights,
                       shared_extractor)
from .errors import OutputError
from .images import atomic_write, load_image, resize_to
from .weights import WeightsInfo, keras_cache_dir

if TYPE_CHECKING:  # pragma: no cover
    from .config import StyleConfig

#: side of the calibration images (ImageNet's training crops are 224 px)
CALIBRATION_SIZE = 224
#: crops per photo, taken from the photo enlarged twice (its short side 2 × CALIBRATION_SIZE)
CALIBRATION_CROPS = 4
#: images per forward pass while measuring (bounds the memory of the calibration)
_BATCH = 5


def calibration_images(size: int = CALIBRATION_SIZE) -> tuple[list[np.ndarray], list[str]]:
    """The images the means are measured on, with one label each.

    Every bundled content photo, whole (short side ``size``, the centre square) and as
    :data:`CALIBRATION_CROPS` crops of ``size`` px from the photo at twice that (the four quarters of its
    centre square): float32 (size, size, 3) arrays in [0, 1]. Made once per process and size.
    """
    images, labels = _calibration(int(size))
    return list(images), list(labels)


@functools.lru_cache(maxsize=2)
def _calibration(size: int) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    images, labels = [], []
    for name in data.CONTENT_IMAGES:
        photo = load_image(data.CONTENT_IMAGES[name].loader())
        for zoom in (1, 2):
            h, w = photo.shape[:2]
            scale = zoom * size / min(h, w)
            scaled = resize_to(photo, max(zoom * size, round(h * scale)), max(zoom * size, round(w * scale)))
            top, left = (scaled.shape[0] - zoom * size) // 2, (scaled.shape[1] - zoom * size) // 2
            square = scaled[top:top + zoom * size, left:left + zoom * size]
            if zoom == 1:
                images.append(np.ascontiguousarray(square))
                labels.append(f"{name} (whole)")
                continue
            for row in range(2):
                for col in range(2):
                    images.append(np.ascontiguousarray(square[row * size:(row + 1) * size, col * size:(col + 1) * size]))
                    labels.append(f"{name} (crop {2 * row + col + 1} of {CALIBRATION_CROPS})")
    for image in images:
        image.flags.writeable = False  # shared by every caller
    return tuple(images), tuple(labels)


def filter_mean_activations(extractor: FeatureExtractor, images: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Each filter's mean activation over ``images`` and positions: Keras layer name → (channels,) float64.

    Images of one size weigh equally (each contributes its positions); the sum is kept in float64.
    """
    sums: dict[str, np.ndarray] = {}
    for first in range(0, len(images), _BATCH):
        batch = np.stack(images[first:first + _BATCH]).astype(np.float32)
        for layer, value in extractor(batch).items():
            value = np.asarray(value, np.float64)
            sums[layer] = sums.get(layer, 0.0) + value.sum(axis=(0, 1, 2))
    return {layer: total / _positions(extractor, layer, images) for layer, total in sums.items()}


def _positions(extractor: FeatureExtractor, layer: str, images: Sequence[np.ndarray]) -> int:
    """Feature positions of ``layer`` summed over ``images`` (each 2×2 pooling halves the sides, rounding down)."""
    stride = next(info.stride for info in layer_catalogue(extractor.backbone) if info.keras_name == layer)
    total = 0
    for image in images:
        h, w = image.shape[:2]
        for _ in range(int(np.log2(stride))):
            h, w = h // 2, w // 2
        total += h * w
    return total


@dataclass(frozen=True)
class NetworkRescaling:
    """The per-filter divisors of a rescaled VGG (what :class:`~nst_lib.backbone.FeatureExtractor` divides by).

    Equal (and hashed) by what it was computed for, so extractors sharing it share their traced graphs.
    """

    weights: WeightsInfo
    pooling: str
    calibration: str  # one line: which images, how many, what size
    divisors: Mapping[str, np.ndarray] = field(compare=False, repr=False)  # Keras layer → (channels,) float32
    means: Mapping[str, np.ndarray] = field(compare=False, repr=False)  # the measured means (float64; 0 = dead)

    @property
    def dead_filters(self) -> dict[str, int]:
        """Filters that never fired on the calibration images (kept at divisor 1), per layer that has any."""
        return {layer: int(np.sum(m <= 0)) for layer, m in self.means.items() if np.any(m <= 0)}


_RESCALINGS: dict[tuple[WeightsInfo, str, str], NetworkRescaling] = {}
_LOCK = threading.Lock()
#: bump when the way the means are measured changes (old cache files are then ignored)
_CACHE_VERSION = 1


def cache_folder() -> Path:
    """Where measured means are kept between processes: ``<Keras cache>/nst_lib/filter_means``."""
    return keras_cache_dir() / "nst_lib" / "filter_means"


def network_rescaling(backbone: str = "vgg19", weights: "str | None | WeightsInfo" = "imagenet",
                      pooling: str = "max", *, warn: bool = True) -> NetworkRescaling:
    """The rescaling that gives every filter of this network (with this pooling) a mean activation of 1 on
    :func:`calibration_images`.

    Measured once per machine: the means are kept in :func:`cache_folder` under a name that depends on the
    weights file, the pooling and the calibration images themselves (so nothing stale is ever read), and
    in memory for the rest of the process. Random weights (``weights=None``) are
    measured once per process.
    """
    check_pooling(pooling)
    info = weights if isinstance(weights, WeightsInfo) else resolve_weights(backbone, weights, warn=warn)
    images, labels = calibration_images()
    key = _cache_key(info, pooling, images)
    with _LOCK:
        cached = _RESCALINGS.get((info, pooling, key))
        if cached is not None:
            return cached
        layers = layer_names(info.backbone)
        means = _read_cache(key, layers) if info.path else None
        if means is None:
            network = FeatureExtractor(layers, info.backbone, info, pooling=pooling)
            means = filter_mean_activations(network, images)
            if info.path:
                _write_cache(key, means)
        divisors = {layer: np.where(m > 0, m, 1.0).astype(np.float32) for layer, m in means.items()}
        h, w = images[0].shape[:2]
        whole = sum(label.endswith("(whole)") for label in labels)
        calibration = (f"{len(images)} images of {w}×{h} px: {whole} bundled photos whole and "
                       f"{len(images) - whole} crops of them")
        rescaling = NetworkRescaling(info, pooling, calibration, divisors, means)
        _RESCALINGS[(info, pooling, key)] = rescaling
        return rescaling


def _cache_key(info: WeightsInfo, pooling: str, images: Sequence[np.ndarray]) -> str:
    """A digest of everything the means depend on: the weights file (path, size, time), pooling, images."""
    digest = hashlib.sha256(f"{_CACHE_VERSION}|{info.backbone}|{info.source}|{info.path}|{pooling}".encode())
    if info.path and os.path.exists(info.path):
        stat = os.stat(info.path)
        digest.update(f"|{stat.st_size}|{stat.st_mtime_ns}".encode())
    for image in images:
        digest.update(np.ascontiguousarray(image, np.float32).tobytes())
    return f"{info.backbone}_{pooling}_{digest.hexdigest()[:20]}"


def _read_cache(key: str, layers: Sequence[str]) -> dict[str, np.ndarray] | None:
    path = cache_folder() / f"{key}.npz"
    try:
        with np.load(path) as stored:
            means = {layer: np.asarray(stored[layer], np.float64) for layer in layers}
    except (OSError, KeyError, ValueError):
        return None  # not measured yet, or unreadable: measure again
    return means


def _write_cache(key: str, means: Mapping[str, np.ndarray]) -> None:
    """Keep the means for the next process; a folder that cannot take them only costs a new measurement."""
    buffer = io.BytesIO()
    np.savez(buffer, **{layer: np.asarray(m, np.float64) for layer, m in means.items()})
    try:
        cache_folder().mkdir(parents=True, exist_ok=True)
        with atomic_write(cache_folder() / f"{key}.npz") as stream:
            stream.write(buffer.getvalue())
    except (OSError, OutputError):
        pass


def rescale_weights(kernels: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                    means: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The rescaled network's weights: layer ``l``'s filters divided by their means ``μ_l`` (kernel and bias),
    and its kernel entries that read channel ``c`` of the layer before multiplied by ``μ_{l−1,c}`` (which
    undoes the previous layer's division). The first layer reads the image (nothing to undo).

    Args:
        kernels: one (kh, kw, in_channels, out_channels) array per convolution, input to output.
        biases: one (out_channels,) array per convolution.
        means: one (out_channels,) array of positive divisors per convolution (dead filters: 1).
    """
    new_kernels, new_biases = [], []
    previous = None
    for kernel, bias, mean in zip(kernels, biases, means):
        mean = np.asarray(mean, np.float64)
        scaled = np.asarray(kernel, np.float64) / mean[np.newaxis, np.newaxis, np.newaxis, :]
        if previous is not None:
            scaled = scaled * previous[np.newaxis, np.newaxis, :, np.newaxis]
        new_kernels.append(scaled.astype(np.float32))
        new_biases.append((np.asarray(bias, np.float64) / mean).astype(np.float32))
        previous = mean
    return new_kernels, new_biases


def rescaled_keras_model(rescaling: NetworkRescaling, rescale: Callable = rescale_weights):
    """The rescaled network built the paper's way, with rescaled kernels and biases (``rescale(kernels, biases,
    divisors)``, default :func:`rescale_weights`): a Keras model from preprocessed BGR to every convolution's
    output, to compare with the extractor that divides the outputs (notebook 11, the tests)."""
    import keras  # lazy: imports TensorFlow

    info = rescaling.weights
    names = layer_names(info.backbone)
    original = FeatureExtractor(names, info.backbone, info, pooling=rescaling.pooling).model
    kernels, biases = zip(*(original.get_layer(name).get_weights() for name in names))
    new_kernels, new_biases = rescale(list(kernels), list(biases), [rescaling.divisors[name] for name in names])
    model = build_vgg(info.backbone, rescaling.pooling)
    for name, kernel, bias in zip(names, new_kernels, new_biases):
        model.get_layer(name).set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
    return keras.Model(model.input, [model.get_layer(name).output for name in names])


def configured_extractor(layers: Sequence[str], cfg: "StyleConfig", precision: str = "float32") -> FeatureExtractor:
    """The shared extractor a :class:`~nst_lib.config.StyleConfig` asks for: its backbone and weights, its
    ``pooling``, and the rescaled network when ``rescale_network`` is set (what :func:`~nst_lib.stylize` uses),
    computing in ``precision`` (float32 or bfloat16: ``cfg.precision`` resolved by
    :func:`nst_lib.precision.resolve_precision`)."""
    info = resolve_weights(cfg.backbone, cfg.weights, warn=False)
    rescaling = network_rescaling(info.backbone, info, cfg.pooling) if cfg.rescale_network else None
    return shared_extractor(layers, info.backbone, info, warn=False, pooling=cfg.pooling, rescaling=rescaling,
                            precision=precision)
