"""Self-checks for the course exercises (used in notebooks 00–07).

Each ``check_*`` function calls a learner's function on small, known inputs and compares the answer
with ``nst_lib``'s own implementation. On success it prints one line starting with ``✓``; otherwise
it raises :class:`ExerciseError` (an ``AssertionError``) whose message says in plain words what is
wrong — the wrong shape, a forgotten division, a transposed matrix, a wrong sign — and how to fix it.

Typical use in a notebook::

    from nst_lib.course.checks import check_gram_matrix

    def my_gram(features):
        ...

    check_gram_matrix(my_gram)

The contracts checked here are those of :mod:`nst_lib.losses` and docs/architecture.md:

* image: float32 (H, W, 3) in [0, 1];
* preprocess: ``x`` in [0, 1] RGB → ``255·x`` in BGR order minus the Caffe means
  (:data:`nst_lib.backbone.CAFFE_MEANS_BGR`), as :meth:`nst_lib.FeatureExtractor.preprocess`;
* gram: ``Fᵀ F / (H·W)`` with F reshaped to (H·W, C); guided gram: ``(m·F)ᵀ (m·F) / Σ m²``;
* content loss: ``Σ_l c_l · mean((F_l − P_l)²)``; style loss: ``Σ_l w_l · mean((G_l − A_l)²)``;
* total variation: as :func:`nst_lib.losses.total_variation_loss`;
* Adam: the update written out in :func:`nst_lib.optimize.run_adam`'s docstring.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import inspect
import io
import textwrap
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "ExerciseError",
    "check_to_float_image",
    "check_preprocess",
    "check_deprocess",
    "check_feature_map_shape",
    "check_receptive_field",
    "check_gram_matrix",
    "check_guided_gram_matrix",
    "check_content_loss",
    "check_style_loss",
    "check_total_variation",
    "check_adam_step",
    "check_paper_to_ours",
    "check_feature_extractor",
    "check_train_step",
    "check_objective",
    "check_style_transfer",
    "vgg_network",
    "solution",
    "reference",
    "yours_or_reference",
    "EXERCISES",
]


class ExerciseError(AssertionError):
    """A learner's function does not (yet) do what the exercise asks; the message says why."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a long traceback through nst_lib: the message is what matters.
        return [f"\x1b[0;31mExerciseError\x1b[0m: {self}", "Fix your function, then run the check again."]


# ------------------------------------------------------------------------------- exercise registry
#: exercise name → (its check, the notebook that asks for it); the names are those of
#: :mod:`nst_lib.course.solutions` and of the functions the notebooks ask the learner to write.
EXERCISES: dict[str, tuple[Callable, str]] = {}
_CURRENT_EXERCISE: contextvars.ContextVar[str | None] = contextvars.ContextVar("exercise", default=None)


def _exercise(name: str, notebook: str) -> Callable[[Callable], Callable]:
    """Register a check as the one of exercise ``name``; while it runs, messages can name the exercise."""

    def register(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(fn: Callable, *args: Any, **kwargs: Any) -> None:
            __tracebackhide__ = True
            token = _CURRENT_EXERCISE.set(name)
            try:
                return check(fn, *args, **kwargs)
            finally:
                _CURRENT_EXERCISE.reset(token)

        EXERCISES[name] = (run, notebook)
        return run

    return register


#: exercise name → the module of :mod:`nst_lib.course` that holds its reference solution, for exercises
#: registered by another notebook's checks module (the others are in :mod:`nst_lib.course.solutions`).
_SOLUTION_MODULES: dict[str, str] = {}


def register_exercises(notebook: str, checks_by_name: dict[str, Callable], solutions_module: str) -> None:
    """Add another notebook's exercises to the registry, so :func:`solution` and :func:`reference` find
    them: ``checks_by_name`` maps each exercise to its check, ``solutions_module`` names the module of
    :mod:`nst_lib.course` with the reference solutions (e.g. ``"solutions_fast"``)."""
    for name, check in checks_by_name.items():
        EXERCISES[name] = (check, notebook)
        _SOLUTION_MODULES[name] = solutions_module


def _solution_hint() -> str:
    name = _CURRENT_EXERCISE.get()
    return f" Stuck? checks.solution({name!r}) shows a reference solution." if name else ""


# ------------------------------------------------------------------------------------------- helpers
def _ok(message: str) -> None:
    print(f"✓ {message}")


def _fail(message: str) -> ExerciseError:
    return ExerciseError(f"✗ {message}")


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", "your function")


def _describe(value: Any) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "tf.Tensor" if type(value).__module__.startswith("tensorflow") else type(value).__name__
        return f"a {kind} of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return "a dict {" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _call(fn: Callable, *args: Any, hint: str = "", **kwargs: Any) -> Any:
    """Call the learner's function, turning a crash into a readable ExerciseError (plus ``hint``)."""
    __tracebackhide__ = True
    if not callable(fn):
        raise _fail(f"expected a function, got {_describe(fn)}; pass the function itself, without calling it")
    try:
        return fn(*args, **kwargs)
    except ExerciseError:
        raise
    except NotImplementedError:
        raise _fail(f"{_name(fn)} is still empty: write its body in place of `raise NotImplementedError`, "
                    f"then run this check again.{_solution_hint()}") from None
    except Exception as exc:  # noqa: BLE001 - any crash in learner code is reported, not re-raised
        shown = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        text = " ".join(str(exc).split())
        text = text if len(text) <= 240 else text[:240] + " …"
        raise _fail(f"{_name(fn)}({shown}) raised {type(exc).__name__}: {text}" + (f". {hint}" if hint else "")) from exc


def _to_array(value: Any, what: str, *, allow_tuple: bool = False) -> np.ndarray:
    """The learner's result as a float64 NumPy array (a (loss, parts) tuple gives its first item)."""
    if value is None:
        raise _fail(f"{what} returned None; did you forget the `return` statement?")
    if allow_tuple and isinstance(value, tuple) and len(value) == 2:
        value = value[0]
    if isinstance(value, Mapping):
        raise _fail(f"{what} returned a dict; it should return the tensor itself")
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _fail(f"{what} returned {_describe(value)}, which is not a number or an array ({exc})") from None
    if not np.all(np.isfinite(array)):
        raise _fail(f"{what} returned NaN or infinite values; look for a division by zero or a log of 0")
    return array


def _scalar(value: Any, what: str) -> float:
    array = _to_array(value, what, allow_tuple=True)
    if array.size != 1:
        raise _fail(
            f"{what} returned an array of shape {array.shape}; a loss is a single number — "
            "reduce it with tf.reduce_mean / tf.reduce_sum as the formula says"
        )
    return float(array.reshape(()))


def _close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _diagnose(got: Any, expected: Any, mistakes: Sequence[tuple[str, Any]], rtol: float = 1e-4) -> str | None:
    """The message of the first typical mistake whose result equals ``got`` (None: no known mistake)."""
    for message, candidate in mistakes:
        if candidate is not None and _close(got, candidate, rtol=rtol) and not _close(candidate, expected, rtol=rtol):
            return message
    return None


def _ratio_message(got: float, expected: float, what: str) -> str:
    ratio = got / expected if expected else float("inf")
    return (
        f"{what} gave {got:.6g} but the answer is {expected:.6g} "
        f"(yours is {ratio:.4g} times too {'large' if abs(ratio) > 1 else 'small'})"
    )


def _positional_arity(fn: Callable) -> int | None:
    """Number of parameters that can be passed positionally (None when unknown, e.g. builtins)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in kinds)


def _tf():
    import tensorflow as tf

    return tf


@functools.lru_cache(maxsize=2)
def vgg_network(backbone: str = "vgg19"):
    """VGG's convolution stack with ImageNet weights, as a plain ``keras.Model`` (notebooks 02 and 08).

    Its input is an image *already preprocessed* for VGG (notebook 01: ×255, BGR, means removed); every
    convolution layer is reachable with ``vgg.get_layer("block3_conv1")``. The weights resolve as
    everywhere in the library (README, "Weights"): offline, VGG16 stands in for VGG19.
    """
    import warnings

    from ..backbone import BackboneSubstitutionWarning, FeatureExtractor, layer_names, resolve_weights

    with warnings.catch_warnings():  # FeatureExtractor below says it once, if VGG16 stands in
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        network = resolve_weights(backbone).backbone
    return FeatureExtractor([layer_names(network)[-1]], backbone).model


@functools.lru_cache(maxsize=1)
def _preprocessor():
    """A weightless FeatureExtractor: only its ``preprocess`` (nst_lib's own) is used."""
    from ..backbone import FeatureExtractor

    return FeatureExtractor(["block1_conv1"], weights=None)


def _reference_preprocess(images: np.ndarray) -> np.ndarray:
    return _preprocessor().preprocess(images).numpy().astype(np.float64)


def _means() -> np.ndarray:
    from ..backbone import CAFFE_MEANS_BGR

    return np.asarray(CAFFE_MEANS_BGR, np.float64)


# ------------------------------------------------------------------------------- notebook 00: images
@_exercise("to_float_image", "00")
def check_to_float_image(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``fn(uint8 (H, W, 3) array) -> float32 (H, W, 3) array in [0, 1]`` (notebook 00).

    Compared with :func:`nst_lib.load_image`, which turns 8-bit pixels into the library's image contract.
    """
    __tracebackhide__ = True
    from ..images import load_image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(32, 40, 3), dtype=np.uint8)
    pixels[0, 0] = (0, 128, 255)
    original = pixels.copy()
    expected = load_image(pixels)
    got = _call(fn, pixels)
    what = f"{_name(fn)}(a uint8 array of shape {pixels.shape})"
    if not np.array_equal(pixels, original):
        raise _fail(f"{what} changed its input array; build a new array instead (e.g. pixels.astype(...) / 255)")
    if got is None:
        raise _fail(f"{what} returned None; did you forget the `return` statement?")
    if not isinstance(got, np.ndarray):
        raise _fail(f"{what} returned {_describe(got)}; return a NumPy array")
    if got.shape != expected.shape:
        raise _fail(f"{what} returned shape {got.shape}; the image keeps its shape (H, W, 3) = {expected.shape}")
    if got.dtype.kind in "iub":
        raise _fail(
            f"{what} returned integers ({got.dtype}); convert to floating point first: pixels.astype(np.float32)"
        )
    values = got.astype(np.float64)
    if values.max() > 100:
        raise _fail(f"{what} returned values up to {values.max():g}; divide by 255 so white becomes 1.0")
    if values.max() > 1 + 1e-6 or values.min() < 0:
        raise _fail(f"{what} returned values from {values.min():g} to {values.max():g}; they must stay in [0, 1]: "
                    "pixel / 255")
    message = _diagnose(values, expected, [
        ("you divided by 256; divide by 255 instead, so that the brightest value 255 becomes exactly 1.0",
         pixels.astype(np.float64) / 256),
        ("the channels come out in reverse order (BGR); keep them as they are (RGB)",
         pixels[..., ::-1].astype(np.float64) / 255),
    ])
    if message:
        raise _fail(message)
    if not _close(values, expected, rtol=1e-6, atol=1e-6):
        raise _fail(
            f"{what} gave {values[0, 0].round(4).tolist()} for the pixel (0, 128, 255); "
            f"expected {expected[0, 0].round(4).tolist()}: each value should be pixel / 255"
        )
    if got.dtype != np.float32:
        raise _fail(
            f"the values are right but the dtype is {got.dtype}; the library's images are float32 "
            "(add .astype(np.float32)): half the memory, and what TensorFlow expects"
        )
    _ok(f"{_name(fn)} turns 8-bit pixels into float32 values in [0, 1], exactly like nst.load_image.")


# ------------------------------------------------------------------------ notebook 01: preprocessing
def _preprocess_input() -> np.ndarray:
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, size=(1, 3, 4, 3))
    x[0, 0, 0] = (0.9, 0.5, 0.1)  # a pixel with clearly different R, G, B, quoted in messages
    return x.astype(np.float32)


@_exercise("preprocess", "01")
def check_preprocess(fn: Callable) -> None:
    """Check ``fn(images)``: (batch, H, W, 3) RGB in [0, 1] → VGG input (BGR, ×255, means removed).

    Compared with :meth:`nst_lib.FeatureExtractor.preprocess` (notebook 01).
    """
    __tracebackhide__ = True
    x = _preprocess_input()
    original = x.copy()
    expected = _reference_preprocess(x)
    raw = _call(fn, _tf().constant(x))
    what = f"{_name(fn)}(images)"
    got = _to_array(raw, what)
    if got.shape != expected.shape:
        hint = " (keep the batch axis: don't squeeze it away)" if got.shape == expected.shape[1:] else ""
        raise _fail(f"{what} returned shape {got.shape} for input shape {x.shape}; expected {expected.shape}{hint}")
    if not np.array_equal(x, original):
        raise _fail(f"{what} changed its input in place; compute a new tensor instead")
    means = _means()
    rgb255, bgr255, bgr = x * 255.0, x[..., ::-1] * 255.0, x[..., ::-1].astype(np.float64)
    message = _diagnose(got, expected, [
        ("you forgot to reverse the channel order: VGG was trained on BGR images, so flip the last axis "
         "(x[..., ::-1] or tf.reverse(x, axis=[-1])) before subtracting the means", rgb255 - means),
        ("you subtracted the means in RGB order; CAFFE_MEANS_BGR is already in B, G, R order, so flip the "
         "channels first and then subtract the means as they are", bgr255 - means[::-1]),
        ("you forgot to multiply by 255: the means are in the 0–255 scale, so scale the [0, 1] image first",
         bgr - means),
        ("you subtracted the means before multiplying by 255; scale first (×255), then subtract", (bgr - means) * 255),
        ("you forgot to subtract the ImageNet means (CAFFE_MEANS_BGR)", bgr255),
        ("wrong sign: subtract the means, don't add them", bgr255 + means),
        ("you scaled the image to [−1, 1] (the 'tf' mode of preprocess_input); VGG uses the 'caffe' mode: "
         "×255, BGR, minus the means", x * 2.0 - 1.0),
    ])
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-5, atol=1e-3):
        raise _fail(
            f"for the RGB pixel (0.9, 0.5, 0.1) {what} gave {got[0, 0, 0].round(3).tolist()}; expected "
            f"{expected[0, 0, 0].round(3).tolist()} = (255·0.1 − 103.939, 255·0.5 − 116.779, 255·0.9 − 123.68)"
        )
    _ok(f"{_name(fn)} matches FeatureExtractor.preprocess: ×255, RGB → BGR, ImageNet means subtracted.")


@_exercise("deprocess", "01")
def check_deprocess(fn: Callable) -> None:
    """Check ``fn(vgg_input)``: the inverse of preprocessing, back to a displayable image (notebook 01).

    ``fn`` takes a (1, H, W, 3) tensor in VGG's input space and returns the RGB image in [0, 1],
    clipped, with shape (1, H, W, 3) or (H, W, 3). Checked by a round trip through
    :meth:`nst_lib.FeatureExtractor.preprocess` and on values outside the displayable range.
    """
    __tracebackhide__ = True
    x = _preprocess_input()
    y = _reference_preprocess(x)
    what = f"{_name(fn)}(vgg_input)"
    got = _to_array(_call(fn, _tf().constant(y, dtype="float32")), what)
    if got.shape not in (x.shape, x.shape[1:]):
        raise _fail(f"{what} returned shape {got.shape} for input {y.shape}; expected {x.shape} or {x.shape[1:]}")
    got = got.reshape(x.shape)
    means = _means()
    mistakes = [
        ("the channels are still in BGR order; flip the last axis back to RGB", x[..., ::-1]),
        ("you flipped the channels before adding the means, so each channel got another channel's mean; "
         "add CAFFE_MEANS_BGR while the tensor is still BGR, then flip", (y[..., ::-1] + means) / 255.0),
        ("you forgot to add the means back (preprocessing subtracted them)", y[..., ::-1] / 255.0),
        ("wrong sign: add the means back, don't subtract them again", (y - means)[..., ::-1] / 255.0),
        ("you forgot to divide by 255, so the values are on the 0–255 scale", (y + means)[..., ::-1]),
    ]
    # the learner may or may not clip already: compare with both versions of each mistake
    mistakes += [(message, np.clip(candidate, 0.0, 1.0)) for message, candidate in mistakes]
    message = _diagnose(got, x, mistakes, rtol=1e-3)
    if message:
        raise _fail(message)
    if not _close(got, x, rtol=1e-4, atol=1e-4):
        raise _fail(
            f"{what} does not undo preprocessing: the RGB pixel (0.9, 0.5, 0.1) came back as "
            f"{got[0, 0, 0].round(3).tolist()}. Undo the steps in reverse order: add the means, flip BGR → RGB, ÷255"
        )
    outside = np.array([[[[-80.0, 200.0, 10.0], [300.0, -150.0, 0.0]]]])  # not reachable from a [0, 1] image
    clipped = _to_array(_call(fn, _tf().constant(outside, dtype="float32")), what)
    if clipped.min() < -1e-6 or clipped.max() > 1 + 1e-6:
        raise _fail(
            f"{what} returned values in [{clipped.min():.3g}, {clipped.max():.3g}] for an optimised image; "
            "clip the result to [0, 1] (np.clip / tf.clip_by_value) so it can be displayed and saved"
        )
    _ok(f"{_name(fn)} undoes FeatureExtractor.preprocess (means back, BGR → RGB, ÷255) and clips to [0, 1].")


# --------------------------------------------------------------------------------- notebook 02: VGG
_SHAPE_LAYERS = ("block1_conv1", "block2_conv2", "block3_conv1", "block4_conv3", "block5_conv4")


@_exercise("feature_map_shape", "02")
def check_feature_map_shape(fn: Callable[[str, int, int], tuple]) -> None:
    """Check ``fn(layer, height, width) -> (h, w, channels)`` of a VGG19 layer's output (notebook 02).

    Compared with the shapes a real (weightless) VGG19 :class:`~nst_lib.FeatureExtractor` produces.
    """
    __tracebackhide__ = True
    from ..backbone import FeatureExtractor

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


@_exercise("receptive_field", "02")
def check_receptive_field(fn: Callable[[str], int]) -> None:
    """Check ``fn(layer) -> receptive field in pixels`` for every VGG19 layer (notebook 02).

    Compared with :func:`nst_lib.backbone.layer_catalogue`: a 3×3 convolution widens the window by one
    step on each side; a 2×2 pooling with stride 2 widens it by one step and doubles the step.
    """
    __tracebackhide__ = True
    from ..backbone import layer_catalogue

    catalogue = layer_catalogue("vgg19")
    convs_only = {info.keras_name: 1 + 2 * (k + 1) for k, info in enumerate(catalogue)}
    no_pool_width, rf, jump = {}, 1, 1
    for _, infos in _by_block(catalogue):
        for info in infos:
            rf += 2 * jump
            no_pool_width[info.keras_name] = rf
        jump *= 2  # the step doubles, but the pooling's own +1 step is forgotten
    for info in catalogue:
        got = _call(fn, info.keras_name)
        what = f"{_name(fn)}({info.keras_name!r})"
        try:
            value = int(got)
        except (TypeError, ValueError):
            raise _fail(f"{what} returned {got!r}; return a whole number of pixels") from None
        if value == info.receptive_field:
            continue
        if value == convs_only[info.keras_name]:
            hint = ("you only counted the 3×3 convolutions; every 2×2 pooling also doubles the distance "
                    "between neighbouring units (the 'jump'), so later convolutions widen the window faster")
        elif value == no_pool_width[info.keras_name]:
            hint = "you doubled the step at each pooling but forgot that the 2×2 pooling window itself adds one step"
        else:
            hint = "start at 1 pixel; each 3×3 convolution adds 2·jump; each pooling adds jump, then doubles it"
        raise _fail(f"{what} returned {value} px; the receptive field of {info.keras_name} is "
                    f"{info.receptive_field} px: {hint}")
    _ok(f"{_name(fn)} gives the receptive field of all {len(catalogue)} VGG19 layers "
        f"(from 3 px at block1_conv1 to {catalogue[-1].receptive_field} px at block5_conv4).")


def _by_block(catalogue):
    blocks: dict[int, list] = {}
    for info in catalogue:
        blocks.setdefault(int(info.keras_name[5]), []).append(info)
    return sorted(blocks.items())


# ------------------------------------------------------------------------------ notebook 03: Gram
def _features(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """ReLU-like features: non-negative, with some exact zeros."""
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(0.3, 1.0, size=shape), 0.0).astype(np.float32)


@_exercise("gram_matrix", "03")
def check_gram_matrix(fn: Callable) -> None:
    """Check ``fn(features)``: (1, H, W, C) → Gram matrix (1, C, C) (or (C, C)) = Fᵀ F / (H·W).

    Compared with :func:`nst_lib.gram_matrix` (notebook 03).
    """
    __tracebackhide__ = True
    from ..gram import gram_matrix

    h, w, c = 3, 4, 5
    feats = _features((1, h, w, c), seed=3)
    expected = gram_matrix(feats).numpy().astype(np.float64)[0]
    what = f"{_name(fn)}(features of shape {feats.shape})"
    got = _to_array(_call(fn, _tf().constant(feats)), what)
    if got.shape == (1, h * w, h * w) or got.shape == (h * w, h * w):
        raise _fail(
            f"{what} returned shape {got.shape}: positions × positions. You computed F Fᵀ; the Gram "
            f"matrix is Fᵀ F, channels × channels ({c} × {c}), with F of shape (H·W, C) = ({h * w}, {c})"
        )
    if got.shape not in ((1, c, c), (c, c)):
        raise _fail(f"{what} returned shape {got.shape}; expected (1, {c}, {c}): one row and column per channel")
    got = got.reshape(c, c)
    flat = feats.reshape(h * w, c).astype(np.float64)
    scrambled = feats.reshape(c, h * w).astype(np.float64)  # reshaping straight to (C, H·W) mixes the axes
    message = _diagnose(got, expected, [
        (f"you forgot to divide by the number of positions H·W = {h * w}; the contract is Fᵀ F / (H·W), "
         "which makes the statistics independent of the image size", flat.T @ flat),
        (f"you divided by H·W·C = {h * w * c}; divide by H·W = {h * w} only (the number of positions)",
         flat.T @ flat / (h * w * c)),
        ("you divided by H·W twice", flat.T @ flat / (h * w) ** 2),
        ("you reshaped the features straight to (C, H·W), which mixes channels and positions; reshape to "
         "(H·W, C) — channels stay the last axis — and transpose that (or use tf.einsum)",
         scrambled @ scrambled.T / (h * w)),
        ("you subtracted the mean of each channel: that is a covariance matrix, not the Gram matrix of "
         "Gatys et al., which uses the raw features", np.cov(flat.T, bias=True)),
    ])
    if message:
        raise _fail(message)
    if not _close(got, got.T, rtol=1e-5):
        raise _fail(f"{what} is not symmetric; a Gram matrix is, because G[i, j] and G[j, i] multiply the same two channels")
    if not _close(got, expected, rtol=1e-4):
        ratio = got / np.where(expected == 0, np.nan, expected)
        factor = np.nanmedian(ratio)
        if np.nanmax(np.abs(ratio - factor)) < 1e-3 * max(1.0, abs(factor)):
            raise _fail(f"{what} is off by a constant factor: every entry is {factor:.4g} times the right one")
        raise _fail(
            f"{what} gave G[0, 1] = {got[0, 1]:.4g}; expected {expected[0, 1]:.4g} "
            f"= Σ over positions of F[p, 0]·F[p, 1], divided by H·W = {h * w}"
        )
    _ok(f"{_name(fn)} matches nst.gram_matrix: shape (C, C), Fᵀ F divided by H·W.")


@_exercise("guided_gram_matrix", "07")
def check_guided_gram_matrix(fn: Callable) -> None:
    """Check ``fn(features, mask)``: a guided Gram matrix ``(m·F)ᵀ (m·F) / Σ m²`` (notebook 07).

    ``features`` is (1, h, w, C) and ``mask`` (h, w) in [0, 1] at the features' resolution; the result is
    (C, C) or (1, C, C). Compared with :func:`nst_lib.gram_matrix` called with a mask (Gatys et al. 2017).
    """
    __tracebackhide__ = True
    from ..gram import gram_matrix

    h, w, c = 6, 5, 4
    feats = _features((1, h, w, c), seed=8)
    mask = np.zeros((h, w), np.float32)
    mask[1:5, 1:4] = np.random.default_rng(9).uniform(0.3, 1.0, size=(4, 3))
    expected = gram_matrix(feats, mask).numpy().astype(np.float64)[0]
    what = f"{_name(fn)}(features of shape {feats.shape}, mask of shape {mask.shape})"
    got = _to_array(_call(fn, _tf().constant(feats), _tf().constant(mask)), what)
    if got.shape not in ((1, c, c), (c, c)):
        raise _fail(f"{what} returned shape {got.shape}; expected ({c}, {c}): one row and column per channel")
    got = got.reshape(c, c)
    flat = feats.reshape(h * w, c).astype(np.float64)
    m = mask.reshape(h * w, 1).astype(np.float64)
    weighted = flat * m
    energy, total = float(np.sum(m**2)), float(np.sum(m))
    message = _diagnose(got, expected, [
        (f"you divided by the number of positions h·w = {h * w}; divide by the mask's energy Σ m² = {energy:.4g}, "
         "so the result describes the masked region alone, whatever its size", weighted.T @ weighted / (h * w)),
        ("you divided by Σ m; the features are multiplied by m twice (once on each side), so divide by Σ m²",
         weighted.T @ weighted / total),
        ("you multiplied by the mask on one side only: weight both copies of F, (m·F)ᵀ (m·F)",
         weighted.T @ flat / energy),
        ("you ignored the mask: this is the ordinary Gram matrix of the whole image", flat.T @ flat / (h * w)),
        ("you forgot to divide by Σ m²", weighted.T @ weighted),
    ])
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-4):
        raise _fail(f"{what} differs from nst.gram_matrix(features, mask); multiply the features by the mask "
                    "(m[..., None] · F), reshape to (h·w, C), then compute (mF)ᵀ (mF) / Σ m²")
    _ok(f"{_name(fn)} matches nst.gram_matrix(features, mask): (m·F)ᵀ (m·F) / Σ m².")


# ---------------------------------------------------------------------------- notebook 04: losses
_LAYER_SHAPES = {"block1_conv1": (1, 6, 4, 3), "block2_conv1": (1, 3, 2, 5)}
_LAYER_WEIGHTS = {"block1_conv1": 0.25, "block2_conv1": 0.75}


def _layer_pair(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    feats = {k: _features(s, seed + i) for i, (k, s) in enumerate(_LAYER_SHAPES.items())}
    targets = {k: _features(s, seed + 10 + i) for i, (k, s) in enumerate(_LAYER_SHAPES.items())}
    return feats, targets


def _as_tf(mapping: Mapping[str, np.ndarray]) -> dict:
    tf = _tf()
    return {k: tf.constant(v) for k, v in mapping.items()}


@_exercise("content_loss", "04")
def check_content_loss(fn: Callable) -> None:
    """Check a content loss against :func:`nst_lib.content_loss` (notebook 04).

    Two forms are accepted, recognised by the number of parameters:

    * ``fn(features, target)`` for one layer: ``mean((F − P)²)`` of two (1, h, w, C) tensors;
    * ``fn(features, targets, layer_weights)`` for several layers (dicts keyed by layer name):
      ``Σ_l c_l · mean((F_l − P_l)²)``. Returning ``(loss, parts)`` like nst_lib is fine.
    """
    __tracebackhide__ = True
    from ..losses import content_loss

    tf = _tf()
    feats, targets = _layer_pair(seed=20)
    if _positional_arity(fn) == 2:
        layer = "block1_conv1"
        f, p = feats[layer].astype(np.float64), targets[layer].astype(np.float64)
        expected = float(content_loss({layer: tf.constant(feats[layer])}, {layer: tf.constant(targets[layer])},
                                      {layer: 1.0})[0])
        what = f"{_name(fn)}(features, target)"
        got = _scalar(_call(fn, tf.constant(feats[layer]), tf.constant(targets[layer])), what)
        diff = f - p
        message = _diagnose(got, expected, [
            (f"you summed the squared differences; take their mean (divide by the {diff.size} elements), so the "
             "loss does not grow with the image size", np.sum(diff**2)),
            ("you multiplied by ½ (as in the 2015 paper); this course's contract is the plain mean",
             0.5 * np.mean(diff**2)),
            ("you forgot to square the differences (positive and negative ones cancel out)", np.mean(diff)),
            ("wrong sign: the differences go the other way round, and they were not squared", np.mean(-diff)),
            ("you took absolute values instead of squares", np.mean(np.abs(diff))),
            ("you took the square root (that is the RMS error); the loss is the mean of the squares itself",
             np.sqrt(np.mean(diff**2))),
        ])
        if message:
            raise _fail(message)
        if not np.isclose(got, expected, rtol=1e-4):
            raise _fail(_ratio_message(got, expected, what) + "; the loss is mean((F − P)²)")
        _ok(f"{_name(fn)} matches nst.content_loss for one layer: mean((F − P)²).")
        return

    expected = float(content_loss(_as_tf(feats), _as_tf(targets), _LAYER_WEIGHTS)[0])
    what = f"{_name(fn)}(features, targets, layer_weights)"
    got = _scalar(_call(fn, _as_tf(feats), _as_tf(targets), dict(_LAYER_WEIGHTS)), what)
    per_layer = {k: np.mean((feats[k].astype(np.float64) - targets[k]) ** 2) for k in feats}
    sums = {k: np.sum((feats[k].astype(np.float64) - targets[k]) ** 2) for k in feats}
    pooled = np.concatenate([(feats[k].astype(np.float64) - targets[k]).ravel() for k in feats])
    message = _diagnose(got, expected, [
        ("you ignored layer_weights: multiply each layer's mean squared error by its weight c_l",
         sum(per_layer.values())),
        ("you averaged the layers equally; weight each layer by layer_weights[layer] instead",
         np.mean(list(per_layer.values()))),
        ("you summed the squared differences in each layer; take their mean, so layers of different sizes "
         "count equally", sum(_LAYER_WEIGHTS[k] * sums[k] for k in feats)),
        ("you pooled all layers into one mean; compute one mean per layer, then the weighted sum",
         np.mean(pooled**2)),
        ("you multiplied by ½; this course's contract is the plain mean", 0.5 * expected),
        ("only the first layer was counted; loop over every layer in layer_weights",
         _LAYER_WEIGHTS["block1_conv1"] * per_layer["block1_conv1"]),
    ])
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4):
        raise _fail(_ratio_message(got, expected, what) + "; the loss is Σ_l c_l · mean((F_l − P_l)²)")
    _ok(f"{_name(fn)} matches nst.content_loss: Σ_l c_l · mean((F_l − P_l)²) over {len(feats)} layers.")


@_exercise("style_loss", "04")
def check_style_loss(fn: Callable) -> None:
    """Check a style loss against :func:`nst_lib.style_loss` (notebook 04).

    Two forms are accepted, recognised by the number of parameters:

    * ``fn(features, target_gram)`` for one layer: ``mean((gram(F) − A)²)`` with F (1, h, w, C) and A (C, C);
    * ``fn(features, target_grams, layer_weights)`` for several layers (dicts keyed by layer name):
      ``Σ_l w_l · mean((G_l − A_l)²)``. Returning ``(loss, parts)`` like nst_lib is fine.
    """
    __tracebackhide__ = True
    from ..gram import gram_matrix
    from ..losses import style_loss

    tf = _tf()
    feats, other = _layer_pair(seed=40)
    grams = {k: gram_matrix(v).numpy()[0].astype(np.float64) for k, v in feats.items()}
    targets = {k: gram_matrix(v).numpy()[0].astype(np.float64) for k, v in other.items()}

    def unnormalised(k):
        f = feats[k].reshape(-1, feats[k].shape[-1]).astype(np.float64)
        return f.T @ f

    if _positional_arity(fn) == 2:
        layer = "block2_conv1"
        _, h, w, c = feats[layer].shape
        expected = float(style_loss({layer: tf.constant(feats[layer])}, {layer: tf.constant(targets[layer], "float32")},
                                    {layer: 1.0})[0])
        what = f"{_name(fn)}(features, target_gram)"
        got = _scalar(_call(fn, tf.constant(feats[layer]), tf.constant(targets[layer], "float32"),
                            hint="Compute the Gram matrix of the features first, then compare it with the target"),
                      what)
        diff = grams[layer] - targets[layer]
        m, n = h * w, c
        message = _diagnose(got, expected, [
            (f"you summed over the C × C = {c * c} entries; take the mean, so layers with more channels "
             "don't dominate", np.sum(diff**2)),
            ("your Gram matrix is not divided by H·W; use nst.gram_matrix (or your checked gram function)",
             np.mean((unnormalised(layer) - targets[layer]) ** 2)),
            ("you used the 2015 paper's 1/(4N²M²) normalisation; this course uses Gram = FᵀF/(H·W) and a "
             "plain mean over the matrix", np.sum((unnormalised(layer) - targets[layer] * m) ** 2) / (4 * n**2 * m**2)),
            ("you forgot to square the differences", np.mean(diff)),
            ("you took absolute values instead of squares", np.mean(np.abs(diff))),
            ("you multiplied by ½; this course's contract is the plain mean", 0.5 * np.mean(diff**2)),
            ("you took the square root of the mean (an RMS distance); the loss is the mean of the squares",
             np.sqrt(np.mean(diff**2))),
        ])
        if message:
            raise _fail(message)
        if not np.isclose(got, expected, rtol=1e-4):
            raise _fail(_ratio_message(got, expected, what) + "; the loss is mean((gram(F) − A)²), "
                        "with gram(F) = FᵀF/(H·W) of the features and A the target Gram matrix")
        _ok(f"{_name(fn)} matches nst.style_loss for one layer: mean((gram(F) − A)²).")
        return

    expected = float(style_loss(_as_tf(feats), {k: tf.constant(v, "float32") for k, v in targets.items()},
                                _LAYER_WEIGHTS)[0])
    what = f"{_name(fn)}(features, target_grams, layer_weights)"
    got = _scalar(_call(fn, _as_tf(feats), {k: tf.constant(v, "float32") for k, v in targets.items()},
                        dict(_LAYER_WEIGHTS),
                        hint="Compute the Gram matrix of each layer's features, then compare it with that layer's target"),
                  what)
    per_layer = {k: np.mean((grams[k] - targets[k]) ** 2) for k in feats}
    message = _diagnose(got, expected, [
        ("you ignored layer_weights: multiply each layer's term by its weight w_l", sum(per_layer.values())),
        ("you averaged the layers equally; weight each layer by layer_weights[layer] instead",
         np.mean(list(per_layer.values()))),
        ("you summed over the entries of each Gram matrix; take the mean",
         sum(_LAYER_WEIGHTS[k] * np.sum((grams[k] - targets[k]) ** 2) for k in feats)),
        ("your Gram matrices are not divided by H·W; use nst.gram_matrix",
         sum(_LAYER_WEIGHTS[k] * np.mean((unnormalised(k) - targets[k]) ** 2) for k in feats)),
        ("only the first layer was counted; loop over every layer in layer_weights",
         _LAYER_WEIGHTS["block1_conv1"] * per_layer["block1_conv1"]),
        ("you multiplied by ½; this course's contract is the plain mean", 0.5 * expected),
    ])
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4):
        raise _fail(_ratio_message(got, expected, what) + "; the loss is Σ_l w_l · mean((G_l − A_l)²)")
    _ok(f"{_name(fn)} matches nst.style_loss: Σ_l w_l · mean((G_l − A_l)²) over {len(feats)} layers.")


@_exercise("total_variation", "04")
def check_total_variation(fn: Callable) -> None:
    """Check ``fn(image)`` for a (1, H, W, 3) image against :func:`nst_lib.total_variation_loss`.

    mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) (notebook 04).
    """
    __tracebackhide__ = True
    from ..losses import total_variation_loss

    tf = _tf()
    rng = np.random.default_rng(5)
    image = rng.uniform(0.0, 1.0, size=(1, 5, 7, 3)).astype(np.float32)
    expected = float(total_variation_loss(tf.constant(image)))
    what = f"{_name(fn)}(image of shape {image.shape})"
    got = _scalar(_call(fn, tf.constant(image)), what)
    x = image.astype(np.float64)
    dy, dx = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]
    dc = x[..., 1:] - x[..., :-1]
    message = _diagnose(got, expected, [
        ("you summed the squared differences; take the mean of each direction, so the loss does not depend "
         "on the image size", np.sum(dy**2) + np.sum(dx**2)),
        ("you used tf.image.total_variation (a sum of absolute differences); this course's TV is the mean of "
         "squared differences", np.sum(np.abs(dy)) + np.sum(np.abs(dx))),
        ("you took absolute differences; square them instead", np.mean(np.abs(dy)) + np.mean(np.abs(dx))),
        ("you only counted vertical differences (between rows); add the horizontal ones (between columns)",
         np.mean(dy**2)),
        ("you only counted horizontal differences (between columns); add the vertical ones (between rows)",
         np.mean(dx**2)),
        ("you averaged the two directions; add them instead", (np.mean(dy**2) + np.mean(dx**2)) / 2),
        ("you took differences along the channel axis; neighbouring pixels are along axes 1 (rows) and 2 (columns)",
         np.mean(dc**2)),
        ("you pooled both directions into one mean; take one mean per direction and add them",
         np.mean(np.concatenate([dy.ravel(), dx.ravel()]) ** 2)),
    ])
    if message:
        raise _fail(message)
    if not np.isclose(got, expected, rtol=1e-4):
        raise _fail(_ratio_message(got, expected, what)
                    + "; TV = mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²)")
    _ok(f"{_name(fn)} matches nst.total_variation_loss: mean squared differences down and across, added.")


# ------------------------------------------------------------------------------- notebook 05: Adam
_ADAM = dict(learning_rate=0.05, beta_1=0.9, beta_2=0.999, epsilon=0.1)
_ADAM_STEPS = 3


def _adam_problem() -> tuple[np.ndarray, np.ndarray]:
    """A (2, 3, 3) quadratic problem x ↦ Σ (x − target)², with pixels near 0 and 1 so clipping matters."""
    rng = np.random.default_rng(7)
    init = rng.uniform(0.0, 1.0, size=(2, 3, 3)).astype(np.float32)
    init[0, 0] = (0.01, 0.99, 0.5)
    target = rng.uniform(-0.5, 1.5, size=(2, 3, 3)).astype(np.float32)
    target[0, 0] = (-2.0, 3.0, 0.5)
    return init, target


@functools.lru_cache(maxsize=1)
def _adam_reference() -> tuple[np.ndarray, ...]:
    """The images after each of the first steps of nst_lib's own :func:`~nst_lib.optimize.run_adam`."""
    from ..optimize import run_adam

    tf = _tf()
    init, target = _adam_problem()
    target_t = tf.constant(target[np.newaxis])

    def value_and_grad(image):
        diff = image - target_t
        return {"total": tf.reduce_sum(tf.square(diff))}, 2.0 * diff

    images: list[np.ndarray] = []
    run_adam(value_and_grad, init, steps=_ADAM_STEPS, callback=lambda event: images.append(event.image()),
             **_ADAM)
    return tuple(images)


def _adam_variant(t_offset: int = 0, bias_correction: bool = True, clip: bool = True, sign: float = 1.0,
                  eps_inside: bool = False, paper_eps: bool = False, v_beta: str = "beta_2"):
    """Trajectories of typical wrong Adam steps, for diagnosis."""
    init, target = _adam_problem()
    lr, b1, b2, eps = (_ADAM[k] for k in ("learning_rate", "beta_1", "beta_2", "epsilon"))
    bv = b1 if v_beta == "beta_1" else b2
    x = init.astype(np.float64)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = []
    with np.errstate(all="ignore"):
        for t in range(1, _ADAM_STEPS + 1):
            g = 2.0 * (x - target)
            m = b1 * m + (1 - b1) * g
            v = bv * v + (1 - bv) * g**2
            tt = t + t_offset
            if paper_eps:
                step = lr * (m / (1 - b1**tt)) / (np.sqrt(v / (1 - b2**tt)) + eps)
            else:
                alpha = lr * np.sqrt(1 - b2**tt) / (1 - b1**tt) if bias_correction else lr
                step = alpha * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
            x = x - sign * step
            if clip:
                x = np.clip(x, 0.0, 1.0)
            out.append(x.copy())
    return out


@_exercise("adam_step", "05")
def check_adam_step(fn: Callable) -> None:
    """Check one Adam update on the pixels against :func:`nst_lib.optimize.run_adam` (notebook 05).

    ``fn(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon) -> (image, m, v)`` with
    ``t`` = 1 for the first step: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    image ← clip(image − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε), 0, 1). Arrays or tensors are fine.
    The check runs three steps on a small problem and compares every image with nst_lib's run.
    """
    __tracebackhide__ = True
    reference = _adam_reference()
    init, target = _adam_problem()
    x = init.astype(np.float32)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    what = f"{_name(fn)}(image, grad, m, v, t, **hyper_parameters)"
    for t in range(1, _ADAM_STEPS + 1):
        grad = (2.0 * (x - target)).astype(np.float32)
        result = _call(fn, x.copy(), grad, m.copy(), v.copy(), t, **_ADAM)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise _fail(f"{what} returned {_describe(result)}; return three things: (new_image, new_m, new_v)")
        new_x, new_m, new_v = (_to_array(r, what) for r in result)
        if new_x.shape != x.shape:
            raise _fail(f"{what} returned an image of shape {new_x.shape}; expected {x.shape} like the input")
        expected_m = _ADAM["beta_1"] * m + (1 - _ADAM["beta_1"]) * grad
        if t == 1 and _close(new_x, x):
            raise _fail(f"{what} returned the image unchanged; subtract the update from it")
        if not _close(new_m, expected_m, rtol=1e-4, atol=1e-6):
            if _close(new_m, m):
                raise _fail(f"{what} returned m unchanged; return the updated first moment m")
            raise _fail(f"the first moment m is wrong at step {t}: m ← β₁·m + (1 − β₁)·g (β₁ = beta_1 = {_ADAM['beta_1']})")
        expected_v = _ADAM["beta_2"] * v + (1 - _ADAM["beta_2"]) * grad.astype(np.float64) ** 2
        if not _close(new_v, expected_v, rtol=1e-4, atol=1e-7):
            if _close(new_v, _ADAM["beta_1"] * v + (1 - _ADAM["beta_1"]) * grad.astype(np.float64) ** 2):
                raise _fail("v used beta_1; the second moment uses β₂: v ← β₂·v + (1 − β₂)·g²")
            if _close(new_v, _ADAM["beta_2"] * v + (1 - _ADAM["beta_2"]) * grad):
                raise _fail("the second moment averages the *squared* gradient: v ← β₂·v + (1 − β₂)·g²")
            raise _fail(f"the second moment v is wrong at step {t}: v ← β₂·v + (1 − β₂)·g² (β₂ = beta_2 = {_ADAM['beta_2']})")
        if not _close(new_x, reference[t - 1], rtol=1e-4, atol=2e-6):
            variants = [
                ("you left out the bias correction √(1−β₂ᵗ)/(1−β₁ᵗ); without it the first steps are far too "
                 "small, because m and v start at zero", dict(bias_correction=False)),
                ("t must count from 1 for the first step (β₁ᵗ with t = 0 divides by zero); it looks like "
                 "yours is off by one", dict(t_offset=1)),
                ("wrong sign: step *against* the gradient (image − update)", dict(sign=-1.0)),
                ("you forgot to clip the image to [0, 1] after the step", dict(clip=False)),
                ("ε belongs outside the square root: m / (√v + ε), not m / √(v + ε)", dict(eps_inside=True)),
                ("you used the paper's m̂ / (√v̂ + ε), which rescales ε by the bias correction; nst_lib (like "
                 "Keras) uses lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε) — with ε = 0.1 the difference is visible",
                 dict(paper_eps=True)),
            ]
            for message, kwargs in variants:
                if _close(new_x, _adam_variant(**kwargs)[t - 1], rtol=1e-4, atol=2e-6):
                    raise _fail(message)
            raise _fail(
                f"the image after step {t} differs from nst_lib's run_adam (largest difference "
                f"{np.max(np.abs(new_x - reference[t - 1])):.3g}); the update is "
                "image ← clip(image − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε), 0, 1)"
            )
        x, m, v = new_x.astype(np.float32), new_m.astype(np.float32), new_v.astype(np.float32)
    _ok(f"{_name(fn)} reproduces {_ADAM_STEPS} steps of nst_lib's run_adam: moments, bias correction, "
        "ε and clipping are right.")


# ----------------------------------------------------------------- notebook 06: the paper's α/β
@_exercise("paper_to_ours", "06")
def check_paper_to_ours(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(alpha_over_beta, height, width)``: the paper's α/β as our ``content_weight / style_weight``
    from the normalisation alone, ``2 · N · M · α/β`` for ``conv4_2`` (N = 512 channels, M = the positions of
    its feature map, after three 2×2 max-pools that round down). See
    :func:`nst_lib.course.experiments.normalisation_factor`.
    """
    __tracebackhide__ = True
    from .experiments import normalisation_factor

    for ratio, (height, width) in ((1e-3, (256, 256)), (1e-4, (384, 512)), (1e-2, (300, 257))):
        what = f"{_name(fn)}({ratio:g}, {height}, {width})"
        got = _scalar(_call(fn, ratio, height, width), what)
        expected = ratio * normalisation_factor(height, width, "conv4_2")
        positions = (height // 8) * (width // 8)
        message = _diagnose(got, expected, [
            ("you counted the pixels of the image; conv4_2 comes after three 2×2 max-pools, so its feature map "
             f"has (height // 8) · (width // 8) = {positions} positions", ratio * 2 * 512 * height * width),
            ("you divided the size by 8 without rounding down after each pool; use (height // 8) · (width // 8)",
             ratio * 2 * 512 * height * width / 64),
            ("half the answer: the paper's content loss has a ½ that ours does not, which puts a factor 2 into the "
             "conversion", expected / 2),
            ("you left out the channels: N = 512 for conv4_2", ratio * 2 * positions),
            ("you inverted the ratio: multiply by α/β, do not divide", 2 * 512 * positions / ratio),
        ])
        if message:
            raise _fail(f"for α/β = {ratio:g} at {width}×{height} px: {message}")
        if not _close(got, expected, rtol=1e-6, atol=0):
            raise _fail(f"{what} returned {got:.6g}; the answer is {expected:.6g} = 2 · 512 · M · α/β with "
                        f"M = {positions} positions of conv4_2")
    _ok(f"{_name(fn)} gives 2 · N · M · α/β with M the positions of conv4_2.")


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


@_exercise("make_extractor", "02")
def check_feature_extractor(fn: Callable) -> None:
    """Check ``fn(layer_names) -> keras.Model`` from VGG's (preprocessed) input to those layers' outputs.

    Called with three layer names, the model must map a preprocessed batch to a list of three feature
    maps, in that order, equal to :class:`nst_lib.FeatureExtractor`'s (same weights; notebook 02).
    """
    __tracebackhide__ = True
    from ..backbone import FeatureExtractor

    tf = _tf()
    layers = list(_EXTRACTOR_LAYERS)
    what = f"{_name(fn)}({layers})"
    model = _call(fn, list(layers))
    if model is None:
        raise _fail(f"{what} returned None; return the model: keras.Model(vgg.input, [outputs …])")
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
                    "order of layer_names: keras.Model(vgg.input, [vgg.get_layer(name).output for name in layer_names])")
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
                            "the output of the pooling layer after it? Use vgg.get_layer(name).output for the "
                            "convolution itself")
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
                    f"{np.max(np.abs(got - expected[layer])):.3g}); build the model on the pretrained `vgg` of the "
                    "notebook: keras.Model(vgg.input, [vgg.get_layer(name).output for name in layer_names])")
    _ok(f"{_name(fn)} builds a keras.Model whose outputs equal nst.FeatureExtractor's, layer by layer, in order.")


# ------------------------------------------------------------------- notebook 05: the train step
@_exercise("make_train_step", "05")
def check_train_step(fn: Callable) -> None:
    """Check ``fn(loss_fn, optimizer) -> train_step``: one ``tf.GradientTape`` step on a ``tf.Variable`` image.

    ``train_step(image)`` computes ``loss_fn(image)`` under a tape, applies the gradient with the Keras
    ``optimizer``, clips the image to [0, 1] and returns the loss of the image *before* the step. Three
    steps on a small problem are compared with nst_lib's :func:`~nst_lib.optimize.run_adam` (notebook 05).
    """
    __tracebackhide__ = True
    import keras

    tf = _tf()
    reference = _adam_reference()
    init, target = _adam_problem()
    target_t = tf.constant(target[np.newaxis])

    def loss_fn(image):
        return tf.reduce_sum(tf.square(image - target_t))

    optimizer = keras.optimizers.Adam(**_ADAM)
    what = f"{_name(fn)}(loss_fn, optimizer)"
    step = _call(fn, loss_fn, optimizer)
    if step is None:
        raise _fail(f"{what} returned None; define the step function inside it and return it")
    if not callable(step):
        raise _fail(f"{what} returned {_describe(step)}; return the step function itself")
    image = tf.Variable(init[np.newaxis])
    before = init.astype(np.float64)
    for t in range(1, _ADAM_STEPS + 1):
        step_what = f"train_step(image) at step {t}"
        loss = _call(step, image, hint="Compute the loss inside `with tf.GradientTape() as tape:`, then "
                                       "tape.gradient(loss, image) and optimizer.apply_gradients([(gradient, image)])")
        if loss is None:
            raise _fail(f"{step_what} returned None; return the loss (the one computed inside the tape)")
        loss = _scalar(loss, step_what)
        now = image.numpy()[0].astype(np.float64)
        if _close(now, before, rtol=0, atol=1e-9):
            raise _fail(f"{step_what} did not change the image: optimizer.apply_gradients([(gradient, image)]) "
                        "updates the tf.Variable in place (if tape.gradient gave None, compute the loss inside "
                        "the `with tf.GradientTape() as tape:` block)")
        if not _close(now, reference[t - 1], rtol=1e-4, atol=2e-6):
            if _close(now, _adam_variant(clip=False)[t - 1], rtol=1e-4, atol=2e-6):
                raise _fail("the pixels left [0, 1]: after the optimizer's step, clip the image back: "
                            "image.assign(tf.clip_by_value(image, 0.0, 1.0))")
            if _close(now, _adam_variant(sign=-1.0)[t - 1], rtol=1e-4, atol=2e-6):
                raise _fail("the image moved uphill: give apply_gradients the gradient itself (the optimizer "
                            "subtracts it), not its negative")
            raise _fail(f"the image after step {t} differs from nst_lib's run_adam with the same optimizer settings "
                        f"(largest difference {np.max(np.abs(now - reference[t - 1])):.3g}); take one optimizer "
                        "step with the tape's gradient, then clip to [0, 1], and nothing else")
        expected_loss = float(np.sum((before - target) ** 2))
        if not np.isclose(loss, expected_loss, rtol=1e-4):
            if np.isclose(loss, float(np.sum((now - target) ** 2)), rtol=1e-4):
                raise _fail(f"{step_what} returned the loss *after* the step; return the loss computed inside the "
                            "tape, the loss of the image the gradient belongs to")
            raise _fail(_ratio_message(loss, expected_loss, step_what) + "; return loss_fn(image) as computed "
                        "inside the tape")
        before = now
    compiled = hasattr(step, "get_concrete_function")
    _ok(f"{_name(fn)} takes {_ADAM_STEPS} steps exactly like nst_lib's run_adam: gradient from the tape, Adam, clip, "
        "loss before the step." + ("" if compiled else " (Tip: wrap the step in @tf.function to compile it.)"))


# --------------------------------------------------------------- notebook 08: your own transfer
#: the capstone's self-checks run at this size (long side, px) and for this many Adam steps
CAPSTONE_SIZE = 64
CAPSTONE_STEPS = 10
#: relative tolerances of the loss at step 0 and of the losses of the following steps. Two correct float32
#: implementations differ by rounding only, but Adam amplifies it: benchmarks/capstone_drift.py measured
#: (64 px, 10 steps, 2 cores) at most 1.5e-7 at step 0 and, over the 10 steps, 2.7e-4 between the reference
#: solution (keras.optimizers.Adam) and nst.stylize (its own Adam with float64 constants; Keras computes
#: 1 − β₂ in float32, 1.3e-5 off, which alone changes the step sizes by about 1e-5), and 3.8e-4 for a
#: variant computing the Gram matrices and losses in float64. The drift grows with the number of steps
#: (1.1e-3 within 30), so the check stops at 10. 1e-5 at step 0 is 66× the measured drift; 2e-3 afterwards
#: is 5× the larger measurement, and still catches β₁ = 0.9 instead of 0.99 (7e-3 by step 3) and any wrong
#: learning rate. A wrong ε (Keras' 1e-7 instead of 0.1) moves these losses by at most 1.2e-4: inside the
#: drift, so no loss comparison can see it.
CAPSTONE_RTOL_STEP0 = 1e-5
CAPSTONE_RTOL = 2e-3


@functools.lru_cache(maxsize=2)
def _capstone_problem(size: int = CAPSTONE_SIZE):
    """The capstone check's images (long side ``size``) and an independent float64 reference of the
    tutorial's objective on nst_lib's features (also used by ``benchmarks/capstone_drift.py``)."""
    from .. import data
    from ..backbone import FeatureExtractor
    from ..config import TF_TUTORIAL

    content, style = data.example_pair("grace_hopper", "swirls", size=size)
    content_layers = tuple(TF_TUTORIAL["content_layers"])
    style_layers = tuple(TF_TUTORIAL["style_layers"])
    extractor = FeatureExtractor((*content_layers, *style_layers))

    def features(image):
        return {k: v.numpy()[0].astype(np.float64) for k, v in extractor(image[np.newaxis]).items()}

    def gram(f):
        flat = f.reshape(-1, f.shape[-1])
        return flat.T @ flat / flat.shape[0]

    content_f, style_f = features(content), features(style)
    targets = ({k: content_f[k] for k in content_layers}, {k: gram(style_f[k]) for k in style_layers})
    noisy = np.clip(0.6 * content + 0.4 * np.random.default_rng(3).uniform(0, 1, content.shape), 0, 1).astype(np.float32)

    def parts(image):
        """Every term of the objective at ``image``, and what typical mistakes would give instead."""
        feats = features(image)
        out: dict[str, Any] = {"mistakes": {}}
        n_content, n_style = len(content_layers), len(style_layers)
        for k in content_layers:
            diff2 = (feats[k] - targets[0][k]) ** 2
            out[f"content/{k}"] = np.mean(diff2) / n_content
            out["mistakes"][f"content/{k}"] = [
                (f"you summed the squared differences over the {diff2.size} values of the feature map instead of "
                 "taking their mean", np.sum(diff2) / n_content),
                ("you multiplied by ½ (the paper's content loss); this course's is the plain mean",
                 0.5 * np.mean(diff2) / n_content),
            ]
        for k in style_layers:
            f, flat_s = feats[k].reshape(-1, feats[k].shape[-1]), style_f[k].reshape(-1, style_f[k].shape[-1])
            g, a = gram(feats[k]), targets[1][k]
            out[f"style/{k}"] = np.mean((g - a) ** 2) / n_style
            out["mistakes"][f"style/{k}"] = [
                (f"did you forget to divide the Gram matrix by H·W? (here H·W = {f.shape[0]} for your image and "
                 f"{flat_s.shape[0]} for the style image)", np.mean((f.T @ f - flat_s.T @ flat_s) ** 2) / n_style),
                (f"did you divide the Gram matrix by H·W·C instead of H·W (C = {f.shape[1]} channels)?",
                 np.mean((g - a) ** 2) / f.shape[1] ** 2 / n_style),
                (f"did you sum over the {g.size} entries of the Gram matrices instead of taking their mean?",
                 np.sum((g - a) ** 2) / n_style),
                ("you left out the layer weight: each style layer's part is w_l · mean((G − A)²) with "
                 f"w_l = 1/{n_style}", np.mean((g - a) ** 2)),
                ("you multiplied by ½; this course's style loss is the plain mean", 0.5 * np.mean((g - a) ** 2) / n_style),
            ]
        out["content"] = sum(out[f"content/{k}"] for k in content_layers)
        out["style"] = sum(out[f"style/{k}"] for k in style_layers)
        out["total"] = TF_TUTORIAL["content_weight"] * out["content"] + TF_TUTORIAL["style_weight"] * out["style"]
        return out

    shapes = {k: v.shape for k, v in content_f.items()}
    return dict(content=content, style=style, noisy=noisy, parts=parts, shapes=shapes,
                content_layers=content_layers, style_layers=style_layers, settings=dict(TF_TUTORIAL))


def _part_message(key: str, got: float, expected: Mapping) -> str:
    """One line about a wrong part: its value, the right one, and the typical mistake that explains it."""
    ratio = got / expected[key] if expected[key] else float("inf")
    line = f"{key.split('/')[-1]}: {got:.4g} instead of {expected[key]:.4g} ({ratio:.4g}×)"
    for message, value in expected["mistakes"].get(key, []):
        if np.isclose(got, value, rtol=1e-3):
            return f"{line} — {message}"
    return line


def _compare_objective(got_total: float, got_parts: Mapping, expected: Mapping, problem: dict, where: str,
                       rtol: float) -> str | None:
    """Which term, and which layer, differs from the reference (None: the total agrees)."""
    if np.isclose(got_total, expected["total"], rtol=rtol, atol=0):
        return None
    lines = [f"at {where} your objective gives {got_total:.6g}, the library's {expected['total']:.6g} "
             f"(yours is {got_total / expected['total']:.4g}×)"]
    for term in ("content", "style"):
        if term not in got_parts:
            lines.append(f"parts has no '{term}' entry, so the check cannot say which term differs")
            continue
        value = _scalar(got_parts[term], f"parts['{term}']")
        if np.isclose(value, expected[term], rtol=rtol, atol=0):
            continue
        layers = problem["content_layers"] if term == "content" else problem["style_layers"]
        keys = [f"{term}/{layer}" for layer in layers]
        if term == "content" and len(layers) == 1 and keys[0] not in got_parts:
            got_parts = {**got_parts, keys[0]: value}  # one content layer: the term is its only part
        wrong = [_part_message(key, _scalar(got_parts[key], f"parts['{key}']"), expected) for key in keys
                 if key in got_parts and not np.isclose(_scalar(got_parts[key], key), expected[key], rtol=rtol, atol=0)]
        missing = [key for key in keys if key not in got_parts]
        line = f"your {term} term is {value:.4g} instead of {expected[term]:.4g}"
        if wrong:
            line += "; by layer: " + "; ".join(wrong)
        elif missing:
            line += f" (add the parts {', '.join(repr(k) for k in missing)} to see which layer differs)"
        lines.append(line)
    if len(lines) == 1 and all(t in got_parts for t in ("content", "style")):
        s = problem["settings"]
        lines.append(f"both terms are right, so their weights are not: total = {s['content_weight']:g} · content + "
                     f"{s['style_weight']:g} · style")
    return "; ".join(lines)


def _objective_values(objective: Callable, image: np.ndarray, what: str) -> tuple[float, dict]:
    tf = _tf()
    out = _call(objective, tf.constant(image[np.newaxis]))
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping)):
        raise _fail(f"{what} returned {_describe(out)}; return (total, parts) with parts a dict holding at least "
                    "'content' and 'style' (and 'style/<layer>' for each style layer)")
    return _scalar(out[0], what), dict(out[1])


@_exercise("make_objective", "08")
def check_objective(fn: Callable) -> None:
    """Check ``fn(content, style) -> objective`` with ``objective(image) -> (total, parts)``: the TensorFlow
    tutorial's objective (:data:`nst_lib.TF_TUTORIAL`) at the content image (step 0) and at a noisy image,
    term by term and layer by layer, against an independent float64 computation on nst_lib's features.
    """
    __tracebackhide__ = True
    problem = _capstone_problem()
    objective = _call(fn, problem["content"], problem["style"])
    what = f"{_name(fn)}(content, style)"
    if objective is None:
        raise _fail(f"{what} returned None; define objective(image) inside it and return it")
    if not callable(objective):
        raise _fail(f"{what} returned {_describe(objective)}; return the objective function itself")
    for where, image in (("the content image (step 0)", problem["content"]), ("a noisy copy of it", problem["noisy"])):
        total, parts = _objective_values(objective, image, f"objective(image) at {where}")
        message = _compare_objective(total, parts, problem["parts"](image), problem, where, CAPSTONE_RTOL_STEP0)
        if message:
            raise _fail(message)
    _ok(f"{_name(fn)} gives the tutorial's objective: content and style terms, every style layer and the weights agree.")


@functools.lru_cache(maxsize=1)
def _capstone_library_losses(steps: int) -> tuple[float, ...]:
    """The loss of the content image and after each of ``steps`` Adam steps of ``nst.stylize`` (tutorial recipe).

    ``stylize``'s history holds the loss *after* each step; the loss of the start (step 0) is the tutorial's
    objective at the content image, computed independently by :func:`_capstone_problem`.
    """
    from ..transfer import stylize

    problem = _capstone_problem()
    result = stylize(problem["content"], problem["style"], **problem["settings"], size=CAPSTONE_SIZE, steps=steps)
    start = float(problem["parts"](problem["content"])["total"])
    return (start, *(float(h["total"]) for h in result.history))


def _adam_setting_hint(got: np.ndarray, steps: int) -> str:
    """Name a mis-set Adam hyper-parameter, by re-running nst.stylize with the usual wrong values."""
    from ..transfer import stylize

    problem = _capstone_problem()
    s = problem["settings"]
    variants = [
        ("you used Keras' default learning rate 0.001; the tutorial's is learning_rate=0.02", dict(learning_rate=0.001)),
        ("you used Keras' default β₁ = 0.9; the tutorial's is beta_1=0.99", dict(adam_beta_1=0.9)),
        ("you used Keras' default Adam; the tutorial's is Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1)",
         dict(learning_rate=0.001, adam_beta_1=0.9, adam_epsilon=1e-7)),
    ]
    for message, change in variants:
        result = stylize(problem["content"], problem["style"], **{**s, **change}, size=CAPSTONE_SIZE, steps=steps - 1)
        after = np.array([h["total"] for h in result.history])  # the losses after steps 1 … steps − 1
        if after.shape == got[1:].shape and np.allclose(got[1:], after, rtol=CAPSTONE_RTOL):
            return message
    return ""


@_exercise("style_transfer", "08")
def check_style_transfer(fn: Callable, make_objective: Callable | None = None) -> None:
    """Check ``fn(content, style, steps) -> (image, losses)`` against ``nst.stylize(**nst.TF_TUTORIAL)``.

    Both start from the content image and take :data:`CAPSTONE_STEPS` Adam steps at :data:`CAPSTONE_SIZE` px;
    ``losses[k]`` must be the loss before step k+1, as the train step returns it: the loss of the content
    image for k = 0 (compared with the tutorial's objective computed independently from nst_lib's features),
    then the loss after step k (compared with ``stylize``'s history, which records the loss after each step). Step 0 must agree to :data:`CAPSTONE_RTOL_STEP0` and every
    later step to :data:`CAPSTONE_RTOL` (float32 drift, measured in ``benchmarks/capstone_drift.py``). When
    they differ, the message says where: the objective (by term and layer, if ``make_objective`` is given),
    the loss bookkeeping, or the Adam settings.
    """
    __tracebackhide__ = True
    problem = _capstone_problem()
    steps = CAPSTONE_STEPS
    what = f"{_name(fn)}(content, style, steps={steps})"
    out = _call(fn, problem["content"], problem["style"], steps)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise _fail(f"{what} returned {_describe(out)}; return two things: (image, losses)")
    image, losses = out
    image = _to_array(image, f"the image {what} returned")
    if image.shape not in (problem["content"].shape, (1, *problem["content"].shape)):
        raise _fail(f"{what} returned an image of shape {image.shape}; expected {problem['content'].shape} "
                    "(the content image's shape)")
    if image.min() < -1e-6 or image.max() > 1 + 1e-6:
        raise _fail(f"the image has values in [{image.min():.3g}, {image.max():.3g}]; clip it to [0, 1] after each step")
    try:
        got = np.array([float(np.asarray(v)) for v in losses], np.float64)
    except (TypeError, ValueError):
        raise _fail(f"losses should be a list of numbers, one per step; got {_describe(losses)}") from None
    if got.shape != (steps,):
        raise _fail(f"{what} returned {got.size} losses for {steps} steps; keep one per step (the value train_step returns)")
    reference = np.array(_capstone_library_losses(steps))  # the losses at steps 0 … steps
    expected = reference[:steps]
    relative = np.abs(got - expected) / np.abs(expected)
    if relative[0] <= CAPSTONE_RTOL_STEP0 and np.all(relative <= CAPSTONE_RTOL):
        _ok(f"{_name(fn)} matches nst.stylize with the tutorial's recipe: the same loss at step 0 (relative difference "
            f"{relative[0]:.1e}) and after each of the next {steps - 1} Adam steps (largest {relative[1:].max():.1e}; "
            f"tolerance {CAPSTONE_RTOL:g}, float32 drift).")
        return
    if np.allclose(got, reference[1:], rtol=CAPSTONE_RTOL, atol=0):
        raise _fail("each of your losses belongs to the image *after* its step (yours are nst.stylize's shifted by one); "
                    "record the loss train_step returns, computed inside the tape before the update")
    if relative[0] > CAPSTONE_RTOL_STEP0:
        if make_objective is not None:
            check_objective(make_objective)  # raises, naming the term and the layer that differ
            raise _fail(f"your objective is right, but your first loss {got[0]:.6g} is not the loss of the content "
                        f"image ({expected[0]:.6g}): start from tf.Variable(content[np.newaxis]) and record what "
                        "train_step returns")
        raise _fail(f"the loss at step 0 (the content image) is {got[0]:.6g}; nst.stylize has {expected[0]:.6g}: your "
                    "objective differs. Run check_style_transfer(style_transfer, make_objective) to see which term "
                    "and which layer")
    first = int(np.argmax(relative > CAPSTONE_RTOL))
    hint = _adam_setting_hint(got, steps) or (
        "the objective is right at step 0, so look at the loop: one keras.optimizers.Adam(learning_rate=0.02, "
        "beta_1=0.99, epsilon=0.1) created before the loop, the gradient of the total loss, a clip to [0, 1] after "
        "each step")
    raise _fail(f"your losses leave nst.stylize's at step {first}: {got[first]:.6g} instead of {expected[first]:.6g} "
                f"(relative difference {relative[first]:.2g}, tolerance {CAPSTONE_RTOL:g}); {hint}")


# ------------------------------------------------------------------------------------- solutions
def _lookup(name: str) -> tuple[Callable, str]:
    if name not in EXERCISES:
        raise _fail(f"there is no exercise called {name!r}; the exercises are: {', '.join(EXERCISES)}")
    return EXERCISES[name]


def solution(name: str | None = None) -> None:
    """Print the reference solution of exercise ``name`` (``checks.solution()`` lists the names).

    Solutions are never shown by default: try first, read the check's message, and reveal one on purpose.
    """
    if name is None:
        print("Reference solutions (checks.solution(name) shows one):")
        for key, (_, notebook) in EXERCISES.items():
            print(f"  notebook {notebook}: {key}")
        return
    _, notebook = _lookup(name)
    print(f"# Reference solution of '{name}' (notebook {notebook}); the check is {EXERCISES[name][0].__name__}.\n")
    print(textwrap.dedent(inspect.getsource(reference(name))))


def reference(name: str) -> Callable:
    """The reference solution of exercise ``name`` as a function (what :func:`solution` prints)."""
    _lookup(name)
    module = importlib.import_module(f"{__package__}.{_SOLUTION_MODULES.get(name, 'solutions')}")
    return getattr(module, name)


def yours_or_reference(**functions: Callable) -> Callable | tuple[Callable, ...]:
    """For each ``name=function``, your function if it passes its check, else the reference solution.

    Prints one line per function saying which one the next cells will use, so a notebook that builds on
    earlier exercises (the capstone) runs top to bottom before every piece is written. Returns the
    functions in the order given (one function when one is given).
    """
    chosen = []
    for name, fn in functions.items():
        check, _ = _lookup(name)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(fn)
        except ExerciseError as err:
            reason = str(err).removeprefix("✗ ").split(" Stuck? ")[0]
            if "is still empty" in reason:
                reason = "still empty"
            print(f"✗ {name}: {reason}\n"
                  f"  → the next cells use the reference solution instead (checks.solution({name!r}) shows it)")
            chosen.append(reference(name))
        else:
            print(f"✓ {name}: yours passes its check, and the next cells use it")
            chosen.append(fn)
    return chosen[0] if len(chosen) == 1 else tuple(chosen)
