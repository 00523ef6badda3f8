"""Self-check for notebook 12's exercise ("Big pictures in small memory"): how many float32 values VGG's
forward pass holds per input pixel, written by the learner from an empty body.

``activation_values(layers, catalogue)`` gets Keras layer names and the layer catalogue
(:func:`nst_lib.backbone.layer_catalogue`: name, channels, stride of every convolution) and must count the
input, every convolution output up to the deepest of ``layers`` and the pooling outputs between blocks, as
:func:`nst_lib.memory.activation_values_per_pixel` does; a wrong answer raises
:class:`~nst_lib.course.checks.ExerciseError` naming the likely mistake (the input left out, the pooling
outputs left out, the stride not squared, only the named layers counted, the whole network counted).

The reference solution is in :mod:`nst_lib.course.solutions_big_pictures`; ``checks.solution("activation_values")``
reveals it on purpose.
"""
from __future__ import annotations

from typing import Callable

from ...backbone import layer_catalogue
from ...memory import activation_values_per_pixel
from ._common import _call, _close, _fail, _name, _ok, _scalar, exercise

__all__ = ["check_activation_values"]

NOTEBOOK = "12"

_CASES = (("vgg19", ("block5_conv2", "block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")),
          ("vgg16", ("block3_conv1",)),
          ("vgg19", ("block1_conv2",)))


def _variants(layers, catalogue) -> list[tuple[str, float]]:
    names = [info.keras_name for info in catalogue]
    deepest = max(names.index(layer) for layer in layers)
    kept = catalogue[: deepest + 1]
    convs = sum(info.channels / info.stride**2 for info in kept)
    pools = sum(info.channels / (2 * info.stride) ** 2 for i, info in enumerate(kept)
                if i < deepest and catalogue[i + 1].stride != info.stride)
    return [
        ("you left out the input image: it is kept for the backward pass too (3 values per pixel)", convs + pools),
        ("you left out the pooling outputs between the blocks: each is the last convolution of a block at half its "
         "side (channels / (2·stride)² per pixel)", 3 + convs),
        ("a feature map with stride s has 1/s² of the pixels' positions, not 1/s: square the stride",
         3 + sum(info.channels / info.stride for info in kept)
         + sum(info.channels / (2 * info.stride) for i, info in enumerate(kept)
               if i < deepest and catalogue[i + 1].stride != info.stride)),
        ("you counted only the named layers; the forward pass computes (and keeps) every layer up to the deepest",
         3 + sum(info.channels / info.stride**2 for info in catalogue if info.keras_name in layers)),
        ("you counted the whole network; it is cut after the deepest named layer",
         3 + sum(info.channels / info.stride**2 for info in catalogue)
         + sum(info.channels / (2 * info.stride) ** 2 for i, info in enumerate(catalogue[:-1])
               if catalogue[i + 1].stride != info.stride)),
    ]


@exercise("activation_values")
def check_activation_values(fn: Callable) -> None:
    """Check ``fn(layers, catalogue)`` against :func:`nst_lib.memory.activation_values_per_pixel`."""
    __tracebackhide__ = True
    for backbone, layers in _CASES:
        catalogue = layer_catalogue(backbone)
        what = f"{_name(fn)}({list(layers)}, layer_catalogue({backbone!r}))"
        got = _scalar(_call(fn, list(layers), catalogue), what)
        expected = activation_values_per_pixel(layers, backbone)
        if _close(got, expected, rtol=1e-9, atol=1e-9):
            continue
        for message, candidate in _variants(layers, catalogue):
            if _close(got, candidate, rtol=1e-9, atol=1e-9) and not _close(candidate, expected, rtol=1e-9, atol=1e-9):
                raise _fail(f"for {backbone} up to {layers[0] if len(layers) == 1 else 'its deepest named layer'}: {message}")
        raise _fail(f"{what} gave {got:.6g}; the forward pass holds {expected:.6g} values per pixel (the input, every "
                    "convolution up to the deepest named layer, and the pooling outputs between its blocks)")
    _ok(f"{_name(fn)} counts what the forward pass keeps: {activation_values_per_pixel(_CASES[0][1], 'vgg19'):.1f} "
        "values per pixel for VGG19 up to block5_conv2, as nst_lib.memory estimates it.")
