"""Notebook 11's self-check (nst_lib.course.checks.nb11_gatys): the right answer passes, each named mistake gets
its own message, an empty body is called empty, and the solution is registered."""
from __future__ import annotations

import pytest

from nst_lib.course import checks
from nst_lib.course.solutions_gatys import rescale_weights
from nst_lib.normalized_vgg import rescale_weights as library_rescale_weights


def test_the_reference_and_the_library_pass(capsys):
    checks.check_rescale_weights(rescale_weights)
    checks.check_rescale_weights(library_rescale_weights)
    assert capsys.readouterr().out.count("✓") == 2


def own_means_only(kernels, biases, means):
    return [k / m for k, m in zip(kernels, means)], [b / m for b, m in zip(biases, means)]


def multiplied(kernels, biases, means):
    return [k * m for k, m in zip(kernels, means)], [b * m for b, m in zip(biases, means)]


def biases_left_alone(kernels, biases, means):
    return library_rescale_weights(kernels, biases, means)[0], list(biases)


def input_axis_with_a_mean_of_means(kernels, biases, means):
    out, previous = [], None
    for kernel, mean in zip(kernels, means):
        kernel = kernel / mean
        out.append(kernel if previous is None else kernel * previous.mean())
        previous = mean
    return out, [b / m for b, m in zip(biases, means)]


def kernels_only(kernels, biases, means):
    return library_rescale_weights(kernels, biases, means)[0]


def empty(kernels, biases, means):
    raise NotImplementedError


@pytest.mark.parametrize("fn, words", [
    (own_means_only, "multiply layer l's kernel by the means of layer l − 1"),
    (multiplied, "you multiplied by the means"),
    (biases_left_alone, "biases are not divided"),
    (input_axis_with_a_mean_of_means, "layer 2's features are not the original features divided"),
    (kernels_only, "return a pair (new_kernels, new_biases)"),
    (empty, "is still empty"),
])
def test_each_mistake_gets_its_message(fn, words):
    with pytest.raises(checks.ExerciseError, match=None) as caught:
        checks.check_rescale_weights(fn)
    assert str(caught.value).startswith("✗ ") and words in str(caught.value), str(caught.value)


def test_the_solution_is_shown_only_on_request(capsys):
    checks.solution("rescale_weights")
    shown = capsys.readouterr().out
    assert "def rescale_weights" in shown and "previous" in shown
    assert checks.EXERCISES["rescale_weights"].notebook == "11"
