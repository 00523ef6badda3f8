"""Self-check for notebook 11's exercise ("Gatys et al., faithfully"): the rescaled network's weights,
written by the learner from an empty body.

``rescale_weights(kernels, biases, means)`` must return the kernels and biases of a chain of convolutions
(each followed by a ReLU) rescaled so that every filter's output is divided by its mean activation while
the network computes the same thing otherwise: layer ``l``'s kernel and bias divided by ``μ_l`` along the
output channels, and its kernel multiplied by ``μ_{l−1}`` along the input channels. The check runs the
learner's weights through a small chain and compares every layer's features with the original features
divided by the means (as :class:`nst_lib.backbone.FeatureExtractor` does with a
:class:`~nst_lib.normalized_vgg.NetworkRescaling`); a wrong answer raises
:class:`~nst_lib.course.checks.ExerciseError` whose message names the likely mistake.

The reference solution is in :mod:`nst_lib.course.solutions_gatys`; ``checks.solution("rescale_weights")``
reveals it on purpose (the registry, :mod:`nst_lib.course.checks.registry`, lists the exercise).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import tensorflow as tf

from ...normalized_vgg import rescale_weights as library_rescale_weights
from ._common import _call, _fail, _name, _ok, exercise

__all__ = ["check_rescale_weights"]

NOTEBOOK = "11"
_CHANNELS = (3, 4, 5, 2)  # image, then three small convolutions


def _chain(seed: int = 11):
    rng = np.random.default_rng(seed)
    kernels = [rng.normal(0, 0.6, (3, 3, a, b)) for a, b in zip(_CHANNELS[:-1], _CHANNELS[1:])]
    biases = [rng.normal(0.2, 0.3, b) for b in _CHANNELS[1:]]
    means = [rng.uniform(0.2, 30.0, b) for b in _CHANNELS[1:]]
    return kernels, biases, means


def _features(kernels, biases, image) -> list[np.ndarray]:
    """ReLU(conv(x) + b) layer after layer ('same' padding), every layer's output."""
    x, out = tf.constant(image, tf.float64), []
    for kernel, bias in zip(kernels, biases):
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(np.asarray(kernel, np.float64)), 1, "SAME")
                       + tf.constant(np.asarray(bias, np.float64)))
        out.append(x.numpy())
    return out


def _variants(kernels, biases, means):
    """Wrong answers a learner is likely to give, each with what to say about it."""
    own_only = ([k / m for k, m in zip(kernels, means)], [b / m for b, m in zip(biases, means)])
    multiplied = ([k * m for k, m in zip(kernels, means)], [b * m for b, m in zip(biases, means)])
    right_kernels, _ = library_rescale_weights(kernels, biases, means)
    return [
        ("each layer is divided by its own means, but the next layer still reads the divided channels as if "
         "they were the originals: multiply layer l's kernel by the means of layer l − 1 along its input "
         "channels (axis 2) to undo that division", own_only),
        ("you multiplied by the means; divide each filter (kernel and bias) by its mean, and multiply only the "
         "input-channel axis of the next layer's kernel", multiplied),
        ("the kernels are right but the biases are not divided by the means: ReLU(W·x + b) / μ = "
         "ReLU((W/μ)·x + b/μ), so the bias needs the same division", (right_kernels, [np.asarray(b) for b in biases])),
    ]


def _compare(got, expected) -> bool:
    kernels, biases = got
    return all(np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-4, atol=1e-6)
               for a, b in zip([*kernels, *biases], [*expected[0], *expected[1]]))


@exercise("rescale_weights")
def check_rescale_weights(fn: Callable) -> None:
    """Check ``fn(kernels, biases, means) -> (kernels, biases)`` on a chain of three small convolutions."""
    __tracebackhide__ = True
    kernels, biases, means = _chain()
    what = f"{_name(fn)}(kernels, biases, means) for a chain of {len(kernels)} convolutions"
    got = _call(fn, [k.copy() for k in kernels], [b.copy() for b in biases], [m.copy() for m in means])
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise _fail(f"{what} returned {type(got).__name__}; return a pair (new_kernels, new_biases), one list each")
    new_kernels, new_biases = (list(part) for part in got)
    if len(new_kernels) != len(kernels) or len(new_biases) != len(biases):
        raise _fail(f"{what} returned {len(new_kernels)} kernels and {len(new_biases)} biases; expected "
                    f"{len(kernels)} of each, one per layer")
    for index, (k, b) in enumerate(zip(new_kernels, new_biases)):
        if np.shape(k) != kernels[index].shape or np.shape(b) != biases[index].shape:
            raise _fail(f"layer {index + 1}: got a kernel of shape {np.shape(k)} and a bias of shape {np.shape(b)}; "
                        f"rescaling keeps the shapes {kernels[index].shape} and {biases[index].shape}")
    new_kernels = [np.asarray(k, np.float64) for k in new_kernels]
    new_biases = [np.asarray(b, np.float64) for b in new_biases]
    for message, variant in _variants(kernels, biases, means):
        if _compare((new_kernels, new_biases), variant):
            raise _fail(message)
    image = np.random.default_rng(12).uniform(-1, 1, (1, 6, 7, _CHANNELS[0]))
    original = _features(kernels, biases, image)
    rescaled = _features(new_kernels, new_biases, image)
    for index, (a, b, m) in enumerate(zip(original, rescaled, means)):
        expected = a / m
        if not np.allclose(b, expected, rtol=1e-4, atol=1e-8 * float(np.max(np.abs(expected)) + 1)):
            worst = float(np.max(np.abs(b - expected)))
            raise _fail(f"with your weights, layer {index + 1}'s features are not the original features divided by "
                        f"that layer's means (off by up to {worst:.3g}); each layer must give ReLU(conv(x) + b) / μ "
                        "for the original x of that layer")
    _ok(f"{_name(fn)} divides every filter's output by its mean and changes nothing else: all "
        f"{len(kernels)} layers of the test chain give the original features divided by their means.")
