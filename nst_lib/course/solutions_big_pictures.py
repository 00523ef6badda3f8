"""Reference solution of notebook 12's exercise ("Big pictures in small memory").

Nothing here is shown by default: ``checks.solution("activation_values")`` prints it on purpose (the check
is :func:`nst_lib.course.checks.check_activation_values`). The library's own version is
:func:`nst_lib.memory.activation_values_per_pixel`.
"""
from __future__ import annotations


def activation_values(layers, catalogue):
    """float32 values VGG's forward pass holds per input pixel, up to the deepest of ``layers``."""
    names = [info.keras_name for info in catalogue]
    deepest = max(names.index(layer) for layer in layers)
    values = 3.0  # the input image: three values per pixel
    for index, info in enumerate(catalogue[: deepest + 1]):
        values += info.channels / info.stride**2  # a convolution's output: channels at 1/stride² of the pixels
        last_of_block = index + 1 < len(catalogue) and catalogue[index + 1].stride != info.stride
        if index < deepest and last_of_block:  # the pooling output between two blocks: half the side again
            values += info.channels / (2 * info.stride) ** 2
    return values
