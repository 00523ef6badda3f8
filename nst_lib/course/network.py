"""The pretrained network the course's learners build on (notebooks 02 and 08): VGG's convolution stack."""
from __future__ import annotations

import functools
import warnings

from ..backbone import BackboneSubstitutionWarning, FeatureExtractor, layer_names, resolve_weights

__all__ = ["vgg_network"]


@functools.lru_cache(maxsize=2)
def vgg_network(backbone: str = "vgg19"):
    """VGG's convolution stack with ImageNet weights, as a plain ``keras.Model`` (notebooks 02 and 08).

    Its input is an image *already preprocessed* for VGG (notebook 01: ×255, BGR, means removed); every
    convolution layer is reachable with ``vgg.get_layer("block3_conv1")``. The weights resolve as
    everywhere in the library (README, "Weights"): offline, VGG16 stands in for VGG19.
    """
    with warnings.catch_warnings():  # FeatureExtractor below says it once, if VGG16 stands in
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        network = resolve_weights(backbone).backbone
    return FeatureExtractor([layer_names(network)[-1]], backbone).model
