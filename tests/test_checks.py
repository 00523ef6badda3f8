"""nst_lib.course.checks: each check accepts nst_lib's own implementation and explains typical mistakes."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import nst_lib as nst  # noqa: E402
from nst_lib.course import checks  # noqa: E402
from nst_lib.backbone import CAFFE_MEANS_BGR, FeatureExtractor, layer_catalogue  # noqa: E402
from nst_lib.course.checks import ExerciseError  # noqa: E402

MEANS = tf.constant(CAFFE_MEANS_BGR, tf.float32)


def _rejects(check, fn, *fragments: str) -> str:
    with pytest.raises(ExerciseError) as info:
        check(fn)
    message = str(info.value)
    assert message.startswith("✗ ")
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def _passes(check, fn, capsys, *fragments: str) -> None:
    check(fn)
    out = capsys.readouterr().out
    assert out.startswith("✓ "), out
    for fragment in fragments:
        assert fragment in out


def test_exercise_error_is_an_assertion_error_with_a_short_notebook_traceback():
    err = ExerciseError("✗ something")
    assert isinstance(err, AssertionError)
    assert err._render_traceback_()[0].endswith("✗ something")
    assert err._render_traceback_()[1:] == ["Fix your function, then run the check again."]


def test_an_empty_exercise_is_told_what_to_do_once():
    """Its message already says "write its body …, then run this check again": no second, generic line."""
    from nst_lib.course.checks import ExerciseNotWritten

    lines = ExerciseNotWritten("preprocess", exercise="preprocess")._render_traceback_()
    assert len(lines) == 1 and "run this check again" in lines[0] and "checks.solution('preprocess')" in lines[0]


# ------------------------------------------------------------------------------------- images
def test_check_to_float_image(capsys):
    _passes(checks.check_to_float_image, lambda a: a.astype(np.float32) / 255, capsys, "float32")
    _passes(checks.check_to_float_image, nst.load_image, capsys)
    _rejects(checks.check_to_float_image, lambda a: a.astype(np.float32), "divide by 255")
    _rejects(checks.check_to_float_image, lambda a: a / 255, "float64", "float32")
    _rejects(checks.check_to_float_image, lambda a: a.astype(np.float32) / 256, "256")
    _rejects(checks.check_to_float_image, lambda a: a, "integers")
    _rejects(checks.check_to_float_image, lambda a: None, "return")

    def in_place(a):
        a //= 2
        return a.astype(np.float32) / 255

    _rejects(checks.check_to_float_image, in_place, "changed its input")


# ------------------------------------------------------------------------------ preprocessing
def test_check_preprocess_accepts_nst_lib_and_explains_mistakes(capsys):
    extractor = FeatureExtractor(["block1_conv1"], weights=None)
    _passes(checks.check_preprocess, extractor.preprocess, capsys, "FeatureExtractor.preprocess")
    _passes(checks.check_preprocess, lambda x: tf.reverse(x, [-1]) * 255 - MEANS, capsys)
    _rejects(checks.check_preprocess, lambda x: x * 255 - MEANS, "reverse the channel order")
    _rejects(checks.check_preprocess, lambda x: tf.reverse(x, [-1]) * 255 - MEANS[::-1], "rgb order")
    _rejects(checks.check_preprocess, lambda x: tf.reverse(x, [-1]) - MEANS, "multiply by 255")
    _rejects(checks.check_preprocess, lambda x: tf.reverse(x, [-1]) * 255, "subtract the imagenet means")
    _rejects(checks.check_preprocess, lambda x: tf.reverse(x, [-1]) * 255 + MEANS, "wrong sign")
    _rejects(checks.check_preprocess, lambda x: (tf.reverse(x, [-1]) - MEANS) * 255, "before multiplying")
    _rejects(checks.check_preprocess, lambda x: (tf.reverse(x, [-1]) * 255 - MEANS)[0], "batch axis")
    _rejects(checks.check_preprocess, lambda x: tf.reverse(x, [-1]) * 250 - MEANS, "(0.9, 0.5, 0.1)")
    _rejects(checks.check_preprocess, lambda x: 1 / 0, "ZeroDivisionError")


def test_check_deprocess_accepts_the_inverse_and_explains_mistakes(capsys):
    def good(y):
        return np.clip(tf.reverse(y + MEANS, [-1]).numpy() / 255, 0, 1)

    _passes(checks.check_deprocess, good, capsys, "clips")
    _passes(checks.check_deprocess, lambda y: good(y)[0], capsys)  # dropping the batch axis is fine
    _rejects(checks.check_deprocess, lambda y: tf.reverse(y + MEANS, [-1]) / 255, "clip")
    _rejects(checks.check_deprocess, lambda y: np.clip((y + MEANS) / 255, 0, 1), "bgr order")
    _rejects(checks.check_deprocess, lambda y: np.clip((tf.reverse(y, [-1]) + MEANS) / 255, 0, 1),
             "before adding the means")
    _rejects(checks.check_deprocess, lambda y: np.clip(tf.reverse(y, [-1]) / 255, 0, 1), "add the means back")
    _rejects(checks.check_deprocess, lambda y: np.clip(tf.reverse(y + MEANS, [-1]), 0, 1), "divide by 255")
    _rejects(checks.check_deprocess, lambda y: np.clip(tf.reverse(y + MEANS, [-1]) / 250, 0, 1), "does not undo")
    _rejects(checks.check_deprocess, lambda y: tf.reverse(y + MEANS, [-1]), "divide by 255")


# ------------------------------------------------------------------------------------ VGG shapes
def _shape_from_catalogue(layer, height, width):
    info = {i.keras_name: i for i in layer_catalogue("vgg19")}[layer]
    return height // info.stride, width // info.stride, info.channels


def test_check_feature_map_shape(capsys):
    _passes(checks.check_feature_map_shape, _shape_from_catalogue, capsys)
    stride = {i.keras_name: i.stride for i in layer_catalogue("vgg19")}
    _rejects(checks.check_feature_map_shape, lambda l, h, w: (h // stride[l], w // stride[l], 3), "channels")
    _rejects(checks.check_feature_map_shape,
             lambda l, h, w: (-(-h // stride[l]), -(-w // stride[l]), _shape_from_catalogue(l, h, w)[2]), "round down")
    _rejects(checks.check_feature_map_shape,
             lambda l, h, w: (h // (2 * stride[l]), w // (2 * stride[l]), _shape_from_catalogue(l, h, w)[2]),
             "pooling layer")
    _rejects(checks.check_feature_map_shape, lambda l, h, w: _shape_from_catalogue(l, w, h), "swapped")
    _rejects(checks.check_feature_map_shape, lambda l, h, w: (h, w), "three numbers")


def test_check_receptive_field_of_either_network_from_its_layer_list(capsys):
    fields = {net: {i.keras_name: i.receptive_field for i in layer_catalogue(net)} for net in ("vgg16", "vgg19")}

    def from_catalogue(layer, names):
        return fields["vgg19" if "block5_conv4" in names else "vgg16"][layer]

    def walk(layer, names, pooling_widens=True, pooling_doubles=True):
        rf, jump = 1, 1
        for k, name in enumerate(names):
            rf += 2 * jump
            if name == layer:
                return rf
            if k + 1 < len(names) and names[k + 1][5] != name[5]:
                rf += jump if pooling_widens else 0
                jump *= 2 if pooling_doubles else 1

    _passes(checks.check_receptive_field, from_catalogue, capsys, "VGG19 and VGG16")
    _passes(checks.check_receptive_field, walk, capsys)
    _rejects(checks.check_receptive_field, lambda layer, names: 1 + 2 * (names.index(layer) + 1),
             "block2_conv1", "farther apart")
    _rejects(checks.check_receptive_field, lambda layer, names: walk(layer, names, pooling_widens=False),
             "pooling window itself")
    _rejects(checks.check_receptive_field, lambda layer, names: fields["vgg19"][layer], "VGG16", "VGG19's value")
    _rejects(checks.check_receptive_field, lambda layer, names: 3, "right up to block1_conv1")
    _rejects(checks.check_receptive_field, lambda layer, names: "big", "whole number")
    message = _rejects(checks.check_receptive_field, lambda layer, names: 7, "block1_conv1", "3 px")
    assert "jump" not in message and "2·" not in message  # the message names the mistake, not the code


# ------------------------------------------------------------------------------------------ Gram
def _gram(features):
    shape = tf.shape(features)
    flat = tf.reshape(features, (-1, shape[-1]))
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(shape[1] * shape[2], tf.float32)


def test_check_gram_matrix_accepts_nst_lib_and_explains_mistakes(capsys):
    _passes(checks.check_gram_matrix, nst.gram_matrix, capsys, "nst.gram_matrix")
    _passes(checks.check_gram_matrix, _gram, capsys)  # (C, C) for a batch of one is fine

    def unnormalised(f):
        flat = tf.reshape(f, (-1, f.shape[-1]))
        return tf.matmul(flat, flat, transpose_a=True)

    def outer(f):
        flat = tf.reshape(f, (-1, f.shape[-1]))
        return tf.matmul(flat, flat, transpose_b=True)

    def scrambled(f):
        flat = tf.reshape(f, (f.shape[-1], -1))
        return tf.matmul(flat, flat, transpose_b=True) / 12

    _rejects(checks.check_gram_matrix, unnormalised, "forgot to divide", "H·W = 12")
    _rejects(checks.check_gram_matrix, lambda f: _gram(f) / 5, "H·W·C")
    _rejects(checks.check_gram_matrix, outer, "F Fᵀ", "positions × positions")
    _rejects(checks.check_gram_matrix, scrambled, "(H·W, C)")
    _rejects(checks.check_gram_matrix, lambda f: _gram(f) * 3, "constant factor", "3")
    _rejects(checks.check_gram_matrix, lambda f: tf.reduce_sum(f), "shape")
    _rejects(checks.check_gram_matrix, lambda f: _gram(f) + tf.linalg.band_part(tf.ones((5, 5)), 0, -1),
             "symmetric")


def test_check_guided_gram_matrix(capsys):
    _passes(checks.check_guided_gram_matrix, nst.gram_matrix, capsys, "Σ m²")

    def guided(features, mask, divide_by=None, one_side=False):
        weighted = features[0] * mask[..., tf.newaxis]
        flat = tf.reshape(weighted, (-1, features.shape[-1]))
        other = tf.reshape(features[0], (-1, features.shape[-1])) if one_side else flat
        energy = tf.reduce_sum(tf.square(mask)) if divide_by is None else divide_by(mask)
        return tf.matmul(flat, other, transpose_a=True) / energy

    _passes(checks.check_guided_gram_matrix, guided, capsys)
    _rejects(checks.check_guided_gram_matrix, lambda f, m: guided(f, m, lambda m: tf.cast(tf.size(m), tf.float32)),
             "h·w = 30")
    _rejects(checks.check_guided_gram_matrix, lambda f, m: guided(f, m, tf.reduce_sum), "divided by Σ m", "squared")
    _rejects(checks.check_guided_gram_matrix, lambda f, m: 2.0 * guided(f, m), "mask of ones")
    _rejects(checks.check_guided_gram_matrix, lambda f, m: guided(f, m, one_side=True), "one side")
    _rejects(checks.check_guided_gram_matrix, lambda f, m: nst.gram_matrix(f), "ignored the mask")


def test_check_luminance_transfer_names_each_part_that_is_off(capsys):
    from nst_lib import color

    def library(photo, painting, transfer):  # what stylize(preserve_colors="luminance") does around its run
        return color.combine_luminance(transfer(color.gray_to_rgb(color.luminance(photo)),
                                                color.match_luminance(painting, photo)), photo)

    def grey_inputs(photo, painting, transfer):
        return transfer(color.gray_to_rgb(color.luminance(photo)), color.match_luminance(painting, photo))

    _passes(checks.check_luminance_transfer, library, capsys, "photo's colours")
    _rejects(checks.check_luminance_transfer, lambda p, s, t: (library(p, s, t), library(p, s, t))[1],
             "called transfer 2 times")
    _rejects(checks.check_luminance_transfer, lambda p, s, t: p, "never called transfer")
    _rejects(checks.check_luminance_transfer, lambda p, s, t: color.combine_luminance(t(p, s), p),
             "coloured content image")
    _rejects(checks.check_luminance_transfer,
             lambda p, s, t: color.combine_luminance(t(color.gray_to_rgb(color.luminance(p)),
                                                       color.gray_to_rgb(color.luminance(s))), p),
             "own brightness and contrast")
    _rejects(checks.check_luminance_transfer,
             lambda p, s, t: color.combine_luminance(t(color.match_luminance(s, p), color.gray_to_rgb(color.luminance(p))), p),
             "photo first")
    _rejects(checks.check_luminance_transfer, grey_inputs, "returned the transfer's result as it is")
    _rejects(checks.check_luminance_transfer, lambda p, s, t: color.gray_to_rgb(color.luminance(grey_inputs(p, s, t))),
             "returned a grey image")
    _rejects(checks.check_luminance_transfer, lambda p, s, t: (_ for _ in ()).throw(NotImplementedError), "still empty")


# -------------------------------------------------------------------------------------- losses
def test_check_content_loss_single_and_multi_layer(capsys):
    _passes(checks.check_content_loss, nst.content_loss, capsys, "2 layers")  # returns (loss, parts)
    _passes(checks.check_content_loss, lambda f, p: tf.reduce_mean(tf.square(f - p)), capsys, "one layer")
    _rejects(checks.check_content_loss, lambda f, p: tf.reduce_sum(tf.square(f - p)), "mean")
    _rejects(checks.check_content_loss, lambda f, p: 0.5 * tf.reduce_mean(tf.square(f - p)), "½")
    _rejects(checks.check_content_loss, lambda f, p: tf.reduce_mean(f - p), "square")
    _rejects(checks.check_content_loss, lambda f, p: tf.reduce_mean(tf.abs(f - p)), "absolute")
    _rejects(checks.check_content_loss, lambda f, p: tf.square(f - p), "single number")

    def no_weights(features, targets, layer_weights):
        return tf.add_n([tf.reduce_mean(tf.square(features[k] - targets[k])) for k in layer_weights])

    def summed(features, targets, layer_weights):
        return tf.add_n([w * tf.reduce_sum(tf.square(features[k] - targets[k])) for k, w in layer_weights.items()])

    _rejects(checks.check_content_loss, no_weights, "layer_weights")
    _rejects(checks.check_content_loss, summed, "mean")


def test_check_style_loss_single_and_multi_layer(capsys):
    _passes(checks.check_style_loss, nst.style_loss, capsys, "2 layers")
    _passes(checks.check_style_loss, lambda f, a: tf.reduce_mean(tf.square(nst.gram_matrix(f) - a)), capsys)

    def unnormalised(f):
        flat = tf.reshape(f, (-1, f.shape[-1]))
        return tf.matmul(flat, flat, transpose_a=True)

    _rejects(checks.check_style_loss, lambda f, a: tf.reduce_sum(tf.square(nst.gram_matrix(f) - a)), "mean")
    _rejects(checks.check_style_loss, lambda f, a: tf.reduce_mean(tf.square(unnormalised(f) - a)), "H·W")
    _rejects(checks.check_style_loss, lambda f, a: tf.reduce_mean(nst.gram_matrix(f) - a), "square")

    def no_weights(features, grams, layer_weights):
        return tf.add_n([tf.reduce_mean(tf.square(nst.gram_matrix(features[k])[0] - grams[k]))
                         for k in layer_weights])

    _rejects(checks.check_style_loss, no_weights, "layer_weights")


def test_check_total_variation(capsys):
    _passes(checks.check_total_variation, nst.total_variation_loss, capsys)

    def sq(dy, dx, reduce=tf.reduce_mean):
        return reduce(tf.square(dy)) + reduce(tf.square(dx))

    def diffs(x):
        return x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]

    _rejects(checks.check_total_variation, lambda x: sq(*diffs(x), reduce=tf.reduce_sum), "summed")
    _rejects(checks.check_total_variation, lambda x: tf.reduce_sum(tf.image.total_variation(x)), "tf.image")
    _rejects(checks.check_total_variation, lambda x: tf.reduce_mean(tf.square(diffs(x)[0])), "vertical")
    _rejects(checks.check_total_variation, lambda x: tf.reduce_mean(tf.square(diffs(x)[1])), "horizontal")
    _rejects(checks.check_total_variation, lambda x: sq(*diffs(x)) / 2, "averaged")
    _rejects(checks.check_total_variation, lambda x: tf.reduce_mean(tf.square(x[..., 1:] - x[..., :-1])), "channel")


# ---------------------------------------------------------------------------------------- Adam
def _adam(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon, bias=True, clip=True, eps_inside=False):
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) if bias else learning_rate
    denominator = np.sqrt(v + epsilon) if eps_inside else np.sqrt(v) + epsilon
    image = image - alpha * m / denominator
    return (np.clip(image, 0, 1) if clip else image), m, v


def test_check_adam_step(capsys):
    _passes(checks.check_adam_step, _adam, capsys, "run_adam")

    def with_tensors(image, grad, m, v, t, **hp):
        return tuple(tf.constant(a) for a in _adam(image, grad, m, v, t, **hp))

    _passes(checks.check_adam_step, with_tensors, capsys)
    _rejects(checks.check_adam_step, lambda *a, **hp: _adam(*a, **hp, bias=False), "bias correction")
    _rejects(checks.check_adam_step, lambda *a, **hp: _adam(*a, **hp, clip=False), "clip")
    _rejects(checks.check_adam_step, lambda *a, **hp: _adam(*a, **hp, eps_inside=True), "outside the square root")

    def stale_m(image, grad, m, v, t, **hp):
        new, _, v2 = _adam(image, grad, m, v, t, **hp)
        return new, m, v2

    _rejects(checks.check_adam_step, stale_m, "m unchanged")

    def wrong_m(image, grad, m, v, t, **hp):
        new, _, v2 = _adam(image, grad, m, v, t, **hp)
        return new, hp["beta_1"] * m + grad, v2

    _rejects(checks.check_adam_step, wrong_m, "first moment")

    def uphill(image, grad, m, v, t, **hp):
        _, m2, v2 = _adam(image, grad, m, v, t, **hp)
        alpha = hp["learning_rate"] * np.sqrt(1 - hp["beta_2"] ** t) / (1 - hp["beta_1"] ** t)
        return np.clip(image + alpha * m2 / (np.sqrt(v2) + hp["epsilon"]), 0, 1), m2, v2

    _rejects(checks.check_adam_step, uphill, "wrong sign")

    def paper(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon):
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        return np.clip(image - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), 0, 1), m, v

    _rejects(checks.check_adam_step, paper, "paper")
    _rejects(checks.check_adam_step, lambda image, grad, m, v, t, **hp: image - grad, "three things")

    def wrong_v(image, grad, m, v, t, **hp):
        new, m2, _ = _adam(image, grad, m, v, t, **hp)
        return new, m2, hp["beta_1"] * v + (1 - hp["beta_1"]) * grad**2

    _rejects(checks.check_adam_step, wrong_v, "β₂")


# ------------------------------------------------------------------------------ the paper's α/β
def test_check_paper_to_ours(capsys):
    from nst_lib.course.experiments import normalisation_factor

    _passes(checks.check_paper_to_ours, lambda r, h, w: r * normalisation_factor(h, w, "conv4_2"), capsys, "conv4_2")
    _passes(checks.check_paper_to_ours, lambda r, h, w: 2 * 512 * (h // 8) * (w // 8) * r, capsys)
    _rejects(checks.check_paper_to_ours, lambda r, h, w: 2 * 512 * h * w * r, "max-pools")
    _rejects(checks.check_paper_to_ours, lambda r, h, w: 2 * 512 * (h / 8) * (w / 8) * r, "rounding down")
    _rejects(checks.check_paper_to_ours, lambda r, h, w: 512 * (h // 8) * (w // 8) * r, "½")
    _rejects(checks.check_paper_to_ours, lambda r, h, w: 2 * (h // 8) * (w // 8) * r, "channels")
    _rejects(checks.check_paper_to_ours, lambda r, h, w: 2 * 512 * (h // 8) * (w // 8) / r, "inverted")
    _rejects(checks.check_paper_to_ours, lambda r, h, w: 3 * 512 * (h // 8) * (w // 8) * r, "M = 1024 positions",
             "solve for the ratio")
    _rejects(checks.check_paper_to_ours, lambda r, h, w: "big", "number")


# ------------------------------------------------------------------------- solutions and empty bodies
@pytest.mark.parametrize("name", [n for n in checks.EXERCISES if n not in ("make_objective", "style_transfer")])
def test_every_solution_passes_its_own_check(name, capsys):
    checks.EXERCISES[name].check(checks.reference(name))
    assert capsys.readouterr().out.startswith("✓ ")


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_the_capstone_solutions_pass_their_checks(capsys):
    checks.check_objective(checks.reference("make_objective"))
    checks.check_style_transfer(checks.reference("style_transfer"), checks.reference("make_objective"))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(line.startswith("✓ ") for line in out), out


def test_an_empty_body_says_so_and_where_the_solution_is():
    def gram_matrix(features):
        raise NotImplementedError

    message = _rejects(checks.check_gram_matrix, gram_matrix, "still empty", "checks.solution('gram_matrix')")
    assert "Traceback" not in message


def test_solution_prints_the_reference_on_request_only(capsys):
    checks.solution("gram_matrix")
    out = capsys.readouterr().out
    assert "def gram_matrix(features):" in out and "notebook 03" in out
    checks.solution()
    listing = capsys.readouterr().out
    assert all(name in listing for name in checks.EXERCISES)
    with pytest.raises(ExerciseError, match="no exercise called 'gramm'"):
        checks.solution("gramm")


def test_later_notebooks_exercises_are_in_the_registry_with_their_own_solutions(capsys):
    from nst_lib.course import checks_fast, checks_statistics, solutions, solutions_fast, solutions_statistics

    for name, module, notebook in (("instance_norm", solutions_fast, "10"),
                                   ("batch_style_loss", solutions_fast, "10"),
                                   ("mean_std_distance", solutions_statistics, "09"),
                                   ("sliced_wasserstein_distance", solutions_statistics, "09")):
        assert checks.EXERCISES[name].notebook == notebook
        assert checks.reference(name) is getattr(module, name)
        assert not hasattr(solutions, name)  # found through the registry, not copied into solutions
        checks.solution(name)
        out = capsys.readouterr().out
        assert f"def {name}(" in out and f"notebook {notebook}" in out
    checks_fast.solution("instance_norm")
    assert "def instance_norm(" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="no notebook 10 exercise called 'gram_matrix'"):
        checks_fast.solution("gram_matrix")
    assert checks_statistics.NOTEBOOK == "09"


def test_the_registry_is_explicit_and_complete():
    """Every check the package exports is an exercise whose name is its solution's, and nothing else."""
    exported = {getattr(checks, n) for n in checks.__all__ if n.startswith("check_")}
    assert exported == {item.check for item in checks.EXERCISES.values()}
    for name, item in checks.EXERCISES.items():
        assert item.name == name == item.check.exercise_name and item.reference.__name__ == name
        assert item.check.__module__.split(".")[-1].startswith(f"nb{item.notebook}_")  # in its notebook's module


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_solution_works_in_a_fresh_interpreter_for_every_notebook():
    """No import side effects: the registry is whole as soon as nst_lib.course.checks is imported."""
    import subprocess
    import sys

    code = ("from nst_lib.course import checks\n"
            "checks.solution('mean_std_distance'); checks.solution('instance_norm'); checks.solution()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "def mean_std_distance(" in run.stdout and "def instance_norm(" in run.stdout
    listing = [line.split(": ") for line in run.stdout.splitlines() if line.startswith("  notebook ")]
    keys = [(notebook.split()[-1], name) for notebook, name in listing]
    assert keys == sorted(keys) and {name for _, name in keys} == set(checks.EXERCISES)
    assert {"09", "10"} <= {notebook for notebook, _ in keys}


def test_yours_or_reference_keeps_what_passes_and_replaces_what_does_not(capsys):
    def gram_matrix(features):
        raise NotImplementedError

    chosen = checks.yours_or_reference(gram_matrix=gram_matrix, total_variation=nst.total_variation_loss)
    out = capsys.readouterr().out
    assert chosen[0] is checks.reference("gram_matrix") and chosen[1] is nst.total_variation_loss
    assert "✗ gram_matrix: still empty" in out and "checks.solution('gram_matrix')" in out
    assert "✓ total_variation: yours" in out


# ---------------------------------------------------------------------------------- the extractor
def test_check_feature_extractor_explains_mistakes():
    import keras

    vgg = checks.vgg_network()

    def model_of(outputs):
        return lambda names: keras.Model(vgg.input, outputs(names))

    _rejects(checks.check_feature_extractor, lambda names: None, "returned None")
    _rejects(checks.check_feature_extractor, model_of(lambda names: vgg.get_layer(names[0]).output), "one tensor")
    _rejects(checks.check_feature_extractor,
             model_of(lambda names: {n: vgg.get_layer(n).output for n in names}), "dict")
    _rejects(checks.check_feature_extractor,
             model_of(lambda names: [vgg.get_layer(n).output for n in reversed(names)]), "order")
    _rejects(checks.check_feature_extractor, model_of(lambda names: [vgg.get_layer(n).output for n in names[:2]]),
             "2 tensors for 3")


# --------------------------------------------------------------------------------- the train step
def _train_step_factory(clip=True, sign=1.0, loss_after=False, apply=True):
    def make_train_step(loss_fn, optimizer):
        @tf.function
        def train_step(image):
            with tf.GradientTape() as tape:
                loss = loss_fn(image)
            gradient = tape.gradient(loss, image)
            if apply:
                optimizer.apply_gradients([(sign * gradient, image)])
            if clip:
                image.assign(tf.clip_by_value(image, 0.0, 1.0))
            return loss_fn(image) if loss_after else loss

        return train_step

    return make_train_step


def test_check_train_step_explains_mistakes(capsys):
    _passes(checks.check_train_step, _train_step_factory(), capsys, "run_adam")
    _rejects(checks.check_train_step, _train_step_factory(clip=False), "clip")
    _rejects(checks.check_train_step, _train_step_factory(sign=-1.0), "uphill")
    _rejects(checks.check_train_step, _train_step_factory(loss_after=True), "after")
    _rejects(checks.check_train_step, _train_step_factory(apply=False), "did not change the image")
    _rejects(checks.check_train_step, lambda loss_fn, optimizer: None, "return it")


# ----------------------------------------------------------------------------------- the capstone
def test_check_objective_names_the_term_and_the_layer(monkeypatch):
    from nst_lib.course import solutions

    def unnormalised(features):
        flat = tf.reshape(features, (-1, tf.shape(features)[-1]))
        return tf.matmul(flat, flat, transpose_a=True)[tf.newaxis]

    monkeypatch.setattr(solutions, "gram_matrix", unnormalised)
    _rejects(checks.check_objective, solutions.make_objective, "style term", "block1_conv1",
             "forget to divide the Gram matrix by H·W")
    monkeypatch.undo()
    monkeypatch.setattr(solutions, "content_loss", lambda f, t, w: tf.add_n(
        [tf.reduce_sum(tf.square(f[k] - t[k])) for k in w]))
    _rejects(checks.check_objective, solutions.make_objective, "noisy", "content term", "summed the squared")
    monkeypatch.undo()
    monkeypatch.setattr(solutions, "STYLE_WEIGHT", 1e-3)
    _rejects(checks.check_objective, solutions.make_objective, "weights are not", "0.01 · style")
    monkeypatch.undo()
    _rejects(checks.check_objective, lambda content, style: (lambda image: 1.0), "(total, parts)")


@pytest.mark.slow  # an integration test (a real run, a subprocess or a fresh interpreter): make test, not make test-fast
def test_check_style_transfer_finds_bookkeeping_and_adam_mistakes(monkeypatch):
    from nst_lib.course import solutions

    def losses_after_the_step(content, style, steps):
        image, losses = solutions.style_transfer(content, style, steps + 1)
        return image, losses[1:]

    _rejects(checks.check_style_transfer, losses_after_the_step, "after* its step")
    monkeypatch.setattr(solutions, "BETA_1", 0.9)
    _rejects(checks.check_style_transfer, solutions.style_transfer, "leave nst.stylize's", "β₁ = 0.9;", "0.99 (BETA_1)")
    _rejects(checks.check_style_transfer, lambda content, style, steps: (content, [1.0] * (steps - 1)), "9 losses")


# ----------------------------------------------------- checks that know TensorFlow and the paper (issue 19 §2)
def _numpy_gram(features):
    flat = np.asarray(features).reshape(-1, np.shape(features)[-1])
    return (flat.T @ flat / flat.shape[0])[np.newaxis]


def test_numpy_answers_are_told_to_use_tensorflow():
    """Right values from NumPy fail: in notebook 08 they run inside tf.function and under a tape."""
    numpy_preprocess = lambda x: np.asarray(x)[..., ::-1] * 255.0 - np.asarray(CAFFE_MEANS_BGR)  # noqa: E731
    message = _rejects(checks.check_preprocess, numpy_preprocess, "NumPy array", "TensorFlow", "tf.function")
    assert message.count(". ") <= 1  # one sentence (plus the ✗), naming the fix
    _rejects(checks.check_gram_matrix, _numpy_gram, "NumPy array", "TensorFlow operations")
    _rejects(checks.check_content_loss,
             lambda f, p: float(np.mean((np.asarray(f) - np.asarray(p)) ** 2)), "float", "TensorFlow")
    _rejects(checks.check_total_variation,
             lambda x: np.mean(np.diff(x, axis=1) ** 2) + np.mean(np.diff(x, axis=2) ** 2), "TensorFlow")


def test_a_function_that_breaks_in_a_graph_or_loses_the_gradient_is_named():
    def numpy_inside(features):  # eager tensors convert to NumPy; symbolic ones inside tf.function do not
        flat = tf.reshape(features, (-1, tf.shape(features)[-1]))
        gram = tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.shape(flat)[0], tf.float32)
        return tf.constant(np.asarray(gram))

    _rejects(checks.check_gram_matrix, numpy_inside, "NumPy", "TensorFlow")
    no_gradient = lambda f: tf.stop_gradient(_gram(f))  # noqa: E731
    _rejects(checks.check_gram_matrix, no_gradient, "no gradient flows", "tf.GradientTape")

    def numpy_method(features):
        scale = features.numpy().max() * 0 + 1  # .numpy() exists on eager tensors only
        return _gram(features) * scale

    _rejects(checks.check_gram_matrix, numpy_method, "fails inside tf.function", "numpy")


def test_still_empty_only_for_the_learners_own_body():
    def gram_matrix(features):
        raise NotImplementedError

    message = _rejects(checks.check_gram_matrix, gram_matrix, "gram_matrix is still empty")
    assert "checks.solution('gram_matrix')" in message

    def style_loss(features, target_grams, layer_weights):  # written, but it calls an empty helper
        return tf.add_n([w * tf.reduce_mean(tf.square(gram_matrix(features[k]) - target_grams[k]))
                         for k, w in layer_weights.items()])

    with pytest.raises(checks.ExerciseNotWritten) as info:
        checks.check_style_loss(style_loss)
    assert info.value.function == "gram_matrix" and info.value.called_by == "style_loss"
    assert "style_loss calls gram_matrix, which is still empty" in str(info.value)

    def library_raises(features):  # NotImplementedError from inside NumPy/TensorFlow is not "empty"
        return tf.constant(np.asarray(tf.function(lambda f: np.asarray(f))(features)))

    message = _rejects(checks.check_gram_matrix, library_raises, "NumPy", "TensorFlow")
    assert "still empty" not in message


def test_gatys_content_loss_is_recognised_and_named():
    half_sum = lambda f, p: 0.5 * tf.reduce_sum(tf.square(f - p))  # noqa: E731
    _rejects(checks.check_content_loss, half_sum, "Gatys et al.'s content loss ½ Σ (F − P)²", "mean((F − P)²)")

    def half_sum_layers(features, targets, layer_weights):
        return tf.add_n([w * 0.5 * tf.reduce_sum(tf.square(features[k] - targets[k]))
                         for k, w in layer_weights.items()])

    _rejects(checks.check_content_loss, half_sum_layers, "½ Σ (F − P)²")


def test_gatys_style_loss_is_recognised_and_named():
    def unnormalised(f):
        flat = tf.reshape(f, (-1, tf.shape(f)[-1]))
        return tf.matmul(flat, flat, transpose_a=True)

    def paper(gram_of_features, target_scale):
        def loss(f, a):
            n = tf.cast(tf.shape(f)[-1], tf.float32)
            m = tf.cast(tf.shape(f)[1] * tf.shape(f)[2], tf.float32)
            return tf.reduce_sum(tf.square(gram_of_features(f) - a * target_scale(m))) / (4 * n**2 * m**2)
        return loss

    for variant in (paper(unnormalised, lambda m: m),  # the paper's own, unnormalised on both sides
                    paper(lambda f: nst.gram_matrix(f)[0], lambda m: 1.0),  # ours, with the paper's factor
                    paper(unnormalised, lambda m: 1.0)):  # a mix of the two
        _rejects(checks.check_style_loss, variant, "1/(4N²M²)", "Gatys")

    def paper_layers(features, target_grams, layer_weights):
        return tf.add_n([w * paper(unnormalised, lambda m: m)(features[k], target_grams[k])
                         for k, w in layer_weights.items()])

    _rejects(checks.check_style_loss, paper_layers, "1/(4N²M²)")


def test_a_gram_matrix_divided_by_the_channels_is_named():
    by_channels = lambda f: _gram(f) * tf.cast(tf.shape(f)[1] * tf.shape(f)[2], tf.float32) / 5.0  # noqa: E731
    _rejects(checks.check_gram_matrix, by_channels, "number of channels C = 5", "H·W")


def test_a_new_optimizer_on_every_call_is_named():
    import keras

    def fresh_each_step(compiled):
        def make_train_step(loss_fn, optimizer):
            def train_step(image):
                adam = keras.optimizers.Adam(learning_rate=0.05, beta_1=0.9, beta_2=0.999, epsilon=0.1)
                with tf.GradientTape() as tape:
                    loss = loss_fn(image)
                adam.apply_gradients([(tape.gradient(loss, image), image)])
                image.assign(tf.clip_by_value(image, 0.0, 1.0))
                return loss

            return tf.function(train_step) if compiled else train_step

        return make_train_step

    _rejects(checks.check_train_step, fresh_each_step(compiled=False), "a new optimizer is made on every call")
    _rejects(checks.check_train_step, fresh_each_step(compiled=True), "a new optimizer is made on every call")


def test_a_new_optimizer_for_every_step_of_the_capstone_loop_is_named():
    import keras

    from nst_lib.course import solutions

    def style_transfer(content, style, steps):
        objective = solutions.make_objective(content, style)
        image = tf.Variable(content[np.newaxis])
        losses = []
        for _ in range(steps):
            optimizer = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1)  # every step: wrong
            with tf.GradientTape() as tape:
                loss = objective(image)[0]
            optimizer.apply_gradients([(tape.gradient(loss, image), image)])
            image.assign(tf.clip_by_value(image, 0.0, 1.0))
            losses.append(float(loss))
        return image[0].numpy(), losses

    _rejects(checks.check_style_transfer, style_transfer, "a new optimizer is made for every step")


def test_the_objective_must_run_in_a_graph_with_a_gradient(monkeypatch):
    from nst_lib.course import solutions

    def detached(content, style):
        objective = solutions.make_objective(content, style)
        return lambda image: tuple(tf.nest.map_structure(tf.stop_gradient, objective(image)))

    _rejects(checks.check_objective, detached, "no gradient flows")


def test_numpy_answers_in_notebooks_09_and_10_are_told_to_use_tensorflow():
    from nst_lib.course import solutions_fast, solutions_statistics

    def numpy_instance_norm(x):
        x = np.asarray(x)
        mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5)

    _rejects(checks.check_instance_norm, numpy_instance_norm, "NumPy array", "TensorFlow operations")
    _rejects(checks.check_mean_std_distance,
             lambda f, s: solutions_statistics.mean_std_distance(f, s).numpy(), "TensorFlow operations")
    _rejects(checks.check_batch_style_loss,
             lambda f, t, w: float(solutions_fast.batch_style_loss(f, t, w)), "TensorFlow operations")
