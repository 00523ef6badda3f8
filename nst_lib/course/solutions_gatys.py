"""Reference solution of notebook 11's exercise ("Gatys et al., faithfully").

Nothing here is shown by default: ``checks.solution("rescale_weights")`` prints it on purpose (the check
is :func:`nst_lib.course.checks.check_rescale_weights`). The library's own version is
:func:`nst_lib.normalized_vgg.rescale_weights`.
"""
from __future__ import annotations


def rescale_weights(kernels, biases, means):
    """Divide each filter by its mean activation; multiply the next layer's weights that read it by the same mean."""
    import numpy as np

    new_kernels, new_biases = [], []
    previous = None  # the first layer reads the image: nothing to undo
    for kernel, bias, mean in zip(kernels, biases, means):
        kernel = np.asarray(kernel, np.float64) / np.asarray(mean)[None, None, None, :]  # output channels (last axis)
        if previous is not None:
            kernel = kernel * np.asarray(previous)[None, None, :, None]  # input channels: undo the last layer's division
        new_kernels.append(kernel)
        new_biases.append(np.asarray(bias, np.float64) / np.asarray(mean))
        previous = mean
    return new_kernels, new_biases
