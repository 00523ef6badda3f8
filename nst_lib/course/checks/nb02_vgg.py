"""Self-checks of notebook 02 ("VGG19 feature maps"): shapes, receptive fields, the extractor.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable, Mapping

import keras
import numpy as np
import tensorflow as tf

from ...backbone import FeatureExtractor, layer_catalogue
from ._common import ExerciseError, exercise, _call, _close, _describe, _fail, _name, _ok, _tf, _to_array

NOTEBOOK = "02"

_SHAPE_LAYERS = ("block1_conv1", "block2_conv2", "block3_conv1", "block4_conv3", "block5_conv4")


@exercise("feature_map_shape")
def check_feature_map_shape(fn: Callable[[str, int, int], tuple]) -> None:
    """Check ``fn(layer, height, width) -> (h, w, channels)`` of a VGG19 layer's output (notebook 02).

    Compared with the shapes a real (weightless) VGG19 :class:`~nst_lib.FeatureExtractor` produces.
    """
    __tracebackhide__ = True
    height, width = 100, 75  # odd sizes: the pools must round down
    extractor = FeatureExtractor(list(_SHAPE_LAYERS), backbone="vgg19", weights=None)
    outputs = extractor(np.zeros((1, height, width, 3), np.float32))
    for layer in _SHAPE_LAYERS:
        expected = tuple(int(d) for d in outputs[layer].shape[1:])
        got = _call(fn, layer, height, width)
        what = f"{_name(fn)}({layer!r}, {height}, {width})"
        try:
            got = tuple(int(d) for d in got)
        except (TypeError, ValueError):
            raise _fail(f"{what} returned {got!r}; return a tuple (h, w, channels) of whole numbers") from None
        if len(got) != 3:
            raise _fail(f"{what} returned {got}; return three numbers (h, w, channels)")
        block = int(layer[5])
        if got[2] != expected[2]:
            raise _fail(
                f"{what} says {got[2]} channels; {layer} has {expected[2]}: 64 in block 1, doubling per "
                "block up to 512 (blocks 4 and 5)"
            )
        if got[:2] != expected[:2]:
            pooled = block - 1
            if got[:2] == (height // 2**block, width // 2**block):
                hint = f"a layer in block {block} comes after {pooled} pooling layer(s), not {block}"
            elif got[:2] == (-(-height // 2**pooled), -(-width // 2**pooled)):
                hint = "max-pooling drops an odd last row or column: round down (//), not up"
            elif got[:2] == (width // 2**pooled, height // 2**pooled):
                hint = "you swapped height and width"
            else:
                hint = f"each 2×2 pooling halves the size (rounding down); {layer} has been pooled {pooled} time(s)"
            raise _fail(f"{what} returned {got[:2]} for (h, w); expected {expected[:2]}: {hint}")
    _ok(f"{_name(fn)} gives the right (h, w, channels) for every block, including odd image sizes.")


@exercise("receptive_field")
def check_receptive_field(fn: Callable[[str, list], int]) -> None:
    """Check ``fn(layer, layer_names) -> receptive field in pixels`` for every layer of VGG19 and VGG16
    (notebook 02), where ``layer_names`` is the network's list of convolution layers in order.

    Compared with :func:`nst_lib.backbone.layer_catalogue`. The typical slips are recognised: counting the
    convolutions only, forgetting the pooling's own widening, or hard-coding VGG19's blocks.
    """
    __tracebackhide__ = True
    for network in ("vgg19", "vgg16"):
        catalogue = layer_catalogue(network)
        names = [info.keras_name for info in catalogue]
        slips = {"convolutions": _receptive_fields(catalogue, pooling=False, doubling=False),
                 "pool_width": _receptive_fields(catalogue, pooling=False, doubling=True),
                 "vgg19": {info.keras_name: info.receptive_field for info in layer_catalogue("vgg19")}}
        for position, info in enumerate(catalogue):
            what = f"{_name(fn)}({info.keras_name!r}, layer_names of {network.upper()})"
            got = _call(fn, info.keras_name, list(names))
            try:
                value = int(got)
            except (TypeError, ValueError):
                raise _fail(f"{what} returned {got!r}; return a whole number of pixels") from None
            if value == info.receptive_field:
                continue
            raise _fail(f"{what} returned {value} px; the receptive field of {info.keras_name} in {network.upper()} "
                        f"is {info.receptive_field} px: {_receptive_field_hint(value, info, slips, catalogue, position)}")
    _ok(f"{_name(fn)} gives the receptive field of every layer of VGG19 and VGG16, from the layer list alone.")


def _receptive_fields(catalogue, *, pooling: bool, doubling: bool) -> dict[str, int]:
    """Receptive fields with a pooling that adds its own step (``pooling``) and doubles it (``doubling``)."""
    fields, rf, jump = {}, 1, 1
    for _, infos in _by_block(catalogue):
        for info in infos:
            rf += 2 * jump
            fields[info.keras_name] = rf
        rf += jump if pooling else 0
        jump *= 2 if doubling else 1
    return fields


def _receptive_field_hint(value: int, info, slips: dict, catalogue, position: int) -> str:
    name = info.keras_name
    if value == slips["convolutions"][name]:
        return ("you counted every layer as if it read neighbouring pixels; after a pooling, neighbouring values "
                "of a map are farther apart in the input, so each later convolution widens the window more")
    if value == slips["pool_width"][name]:
        return "after each pooling the step is right, but the 2×2 pooling window itself also widens the view"
    if value == slips["vgg19"].get(name) and catalogue is not None and len(catalogue) != len(slips["vgg19"]):
        return ("that is VGG19's value: VGG16 has fewer convolutions in blocks 3–5, so use the layer list you are "
                "given rather than VGG19's blocks")
    right = [i.keras_name for i in catalogue[:position]]
    if right:
        return (f"your values were right up to {right[-1]} and go wrong at {name}; look at what happens between "
                "these two layers")
    return "the first convolution reads a 3×3 window of pixels"


def _by_block(catalogue):
    blocks: dict[int, list] = {}
    for info in catalogue:
        blocks.setdefault(int(info.keras_name[5]), []).append(info)
    return sorted(blocks.items())


# ---------------------------------------------------------------------- notebook 02: the extractor
_EXTRACTOR_LAYERS = ("block1_conv1", "block3_conv1", "block4_conv2")  # in VGG19 and in VGG16


def _test_image(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth colour image with some edges: VGG responds to it at every depth."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    waves = [0.5 + 0.5 * np.sin(2 * np.pi * (rng.uniform(1, 4) * x + rng.uniform(1, 4) * y) + rng.uniform(0, 6))
             for _ in range(3)]
    image = np.stack(waves, axis=-1)
    image[height // 3: height // 2, width // 4: width // 2] = rng.uniform(0, 1, 3)  # a flat patch with edges
    return image.astype(np.float32)


@exercise("make_extractor")
def check_feature_extractor(fn: Callable) -> None:
    """Check ``fn(layer_names) -> keras.Model`` from VGG's (preprocessed) input to those layers' outputs.

    Called with three layer names, the model must map a preprocessed batch to a list of three feature
    maps, in that order, equal to :class:`nst_lib.FeatureExtractor`'s (same weights; notebook 02).
    """
    __tracebackhide__ = True
    tf = _tf()
    layers = list(_EXTRACTOR_LAYERS)
    what = f"{_name(fn)}({layers})"
    model = _call(fn, list(layers))
    if model is None:
        raise _fail(f"{what} returned None; return the keras.Model you built")
    if not callable(model):
        raise _fail(f"{what} returned {_describe(model)}; return a keras.Model, which can be called on images")
    reference = FeatureExtractor(layers)
    image = _test_image(40, 48, seed=11)[np.newaxis]
    vgg_input = reference.preprocess(image)
    expected = {k: v.numpy().astype(np.float64) for k, v in reference(image).items()}
    out = _call(model, vgg_input, hint="The model takes the preprocessed image, vgg.input's format")
    model_what = f"the model's output for a preprocessed (1, 40, 48, 3) image"
    if isinstance(out, Mapping):
        raise _fail(f"{model_what} is a dict; build the model with a *list* of outputs, one per name, in the "
                    "order of layer_names")
    if not isinstance(out, (list, tuple)):
        raise _fail(f"{model_what} is one tensor of shape {tuple(getattr(out, 'shape', ()))}; the model needs one "
                    f"output per layer name ({len(layers)} here): pass a list of outputs to keras.Model")
    if len(out) != len(layers):
        raise _fail(f"{model_what} is a list of {len(out)} tensors for {len(layers)} layer names; one output per name")
    shapes = {k: v.shape for k, v in expected.items()}
    for index, (layer, value) in enumerate(zip(layers, out)):
        got = _to_array(value, f"output {index} of the model")
        if got.shape != shapes[layer]:
            other = [k for k, s in shapes.items() if s == got.shape and k != layer]
            if other:
                raise _fail(f"output {index} has the shape of {other[0]}, not of {layer}; the outputs must follow "
                            "the order of layer_names")
            if got.shape[1:3] == (shapes[layer][1] // 2, shapes[layer][2] // 2):
                raise _fail(f"output {index} ({layer}) is half the expected size {shapes[layer][1:3]}: did you take "
                            "the output of the pooling layer after it? Take the output of the convolution layer "
                            "of that name itself")
            raise _fail(f"output {index} ({layer}) has shape {got.shape}; expected {shapes[layer]}")
        if _close(got, expected[layer], rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(expected[layer]).max()))):
            continue
        for other, values in expected.items():
            if other != layer and values.shape == got.shape and _close(got, values, rtol=1e-3, atol=1e-2):
                raise _fail(f"output {index} holds the features of {other}, not {layer}; keep the order of layer_names")
        twice = reference.model(reference.preprocess(vgg_input))
        twice = twice if isinstance(twice, (list, tuple)) else [twice]
        if _close(got, np.asarray(twice[index], np.float64), rtol=1e-3, atol=1e-2):
            raise _fail("your model preprocesses its input again; its input is already preprocessed (vgg.input), "
                        "so connect vgg.input straight to the outputs")
        raise _fail(f"output {index} ({layer}) differs from nst.FeatureExtractor's features (largest difference "
                    f"{np.max(np.abs(got - expected[layer])):.3g}); build the model from the pretrained `vgg` of the "
                    "notebook, its own input and its own layers' outputs, rather than from a new network")
    _ok(f"{_name(fn)} builds a keras.Model whose outputs equal nst.FeatureExtractor's, layer by layer, in order.")
