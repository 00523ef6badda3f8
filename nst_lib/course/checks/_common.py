"""What every check shares: the error it raises, the call that reports a learner's crash, comparisons.

Private to :mod:`nst_lib.course.checks`; a notebook's check module imports what it needs from here.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import tensorflow as tf

from ...backbone import CAFFE_MEANS_BGR, FeatureExtractor
from ..learner_file import CELL_FILENAME, plain_function


class ExerciseError(AssertionError):
    """A learner's function does not (yet) do what the exercise asks.

    ``reason`` says why in plain words (without the leading ✗); ``exercise`` is the exercise's name when
    the error came from its check (``None`` otherwise). ``str(error)`` is what the learner reads: the
    reason after a ✗, plus where the solution is for an exercise. Front ends use the fields, never the text.
    """

    def __init__(self, reason: str, *, exercise: str | None = None):
        self.reason, self.exercise = reason, exercise
        super().__init__(f"✗ {reason}{self.hint}")

    @property
    def hint(self) -> str:
        return ""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a long traceback through nst_lib: the message is what matters.
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}", "Fix your function, then run the check again."]


class ExerciseNotWritten(ExerciseError):
    """The learner's function is still the starter: its own body raised ``NotImplementedError``.

    ``function`` is the name of the function whose body is still empty: the one being checked, or
    (``called_by``) a function of the learner's that it calls.
    """

    def __init__(self, function: str, *, exercise: str | None = None, called_by: str | None = None):
        self.function, self.called_by = function, called_by
        where = f"{called_by} calls {function}, which is still empty" if called_by else f"{function} is still empty"
        super().__init__(f"{where}: write its body in place of `raise NotImplementedError`, then run this check "
                         "again.", exercise=exercise)

    @property
    def hint(self) -> str:
        return f" Stuck? checks.solution({self.exercise!r}) shows a reference solution." if self.exercise else ""

    def _render_traceback_(self) -> list[str]:
        # the message already says what to do next; "Fix your function" would repeat it about empty code
        return super()._render_traceback_()[:1]


#: the exercise whose check is running (set by :func:`exercise`): errors raised meanwhile carry its name
_CURRENT_EXERCISE: contextvars.ContextVar[str | None] = contextvars.ContextVar("exercise", default=None)


def exercise(name: str) -> Callable[[Callable], Callable]:
    """Mark a check as the one of exercise ``name``: while it runs, its errors carry the name.

    Registers nothing: the registry (:mod:`nst_lib.course.checks.registry`) lists the checks explicitly
    and reads the name back from the ``exercise_name`` attribute this sets.
    """

    def mark(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(fn: Callable, *args: Any, **kwargs: Any) -> None:
            __tracebackhide__ = True
            token = _CURRENT_EXERCISE.set(name)
            try:
                return check(fn, *args, **kwargs)
            finally:
                _CURRENT_EXERCISE.reset(token)

        run.exercise_name = name
        return run

    return mark


# ------------------------------------------------------------------------------------------- helpers
def _ok(message: str) -> None:
    print(f"✓ {message}")


def _fail(message: str) -> ExerciseError:
    """The error a check raises: ``message`` says what is wrong (the ✗ and the exercise come with it)."""
    return ExerciseError(message, exercise=_CURRENT_EXERCISE.get())


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", "your function")


def _describe(value: Any) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "tf.Tensor" if type(value).__module__.startswith("tensorflow") else type(value).__name__
        return f"a {kind} of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return "a dict {" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _plain(fn: Any) -> Any:
    """The Python function behind a ``tf.function`` or a wrapper (or ``fn`` itself)."""
    return plain_function(fn) or fn


def _raising_frame(exc: BaseException):
    """The code object of the frame that raised ``exc`` (the innermost one)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code if tb is not None else None


def _learners_code(code, fn: Callable) -> bool:
    """True when ``code`` belongs to the learner: ``fn``'s own file or cell, or another notebook cell."""
    own = getattr(_plain(fn), "__code__", None)
    if own is None or code is None:
        return False
    return code.co_filename == own.co_filename or bool(CELL_FILENAME.search(code.co_filename))


#: the one sentence that tells a NumPy answer what to do instead
NUMPY_FIX = ("write it with TensorFlow operations (tf.reshape, tf.matmul, tf.reduce_mean, tf.square, … on the "
             "tensors it receives) instead of NumPy, so that it can run inside tf.function and under "
             "tf.GradientTape, as it does in notebook 08")


@contextlib.contextmanager
def _whole_tracebacks() -> Iterator[None]:
    """TensorFlow hides its own frames from tracebacks; while a check runs the learner's code they stay, so
    that a ``NotImplementedError`` raised by TensorFlow (NumPy on a symbolic tensor) is told apart from one
    the learner's starter body raised."""
    filtering = tf.debugging.is_traceback_filtering_enabled()
    tf.debugging.disable_traceback_filtering()
    try:
        yield
    finally:
        if filtering:
            tf.debugging.enable_traceback_filtering()


def _not_implemented(exc: NotImplementedError, fn: Callable, shown: str) -> ExerciseError:
    """"Still empty" when the learner's own body raised; otherwise what TensorFlow meant (NumPy on a
    symbolic tensor raises NotImplementedError too)."""
    code = _raising_frame(exc)
    own = getattr(_plain(fn), "__code__", None)
    name = _name(fn)
    # a function the learner compiled with @tf.function runs as AutoGraph's converted copy, tf__<name>
    if code is not None and (code is own or (own is not None and code.co_name == f"tf__{own.co_name}")):
        return ExerciseNotWritten(name, exercise=_CURRENT_EXERCISE.get())
    if code is not None and _learners_code(code, fn) and code.co_name not in ("<lambda>", "<module>"):
        return ExerciseNotWritten(code.co_name, exercise=_CURRENT_EXERCISE.get(), called_by=name)
    return _fail(f"{name}({shown}) raised NotImplementedError from TensorFlow, not from your code: a NumPy "
                 f"function met a symbolic tensor inside a graph; {NUMPY_FIX}")


def _last_line(exc: BaseException) -> str:
    """The last line of an exception's text (TensorFlow puts "in user code: File …" lines before it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + " …"


def _shown(args: Sequence, kwargs: Mapping) -> str:
    return ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])


def _call(fn: Callable, *args: Any, hint: str = "", **kwargs: Any) -> Any:
    """Call the learner's function, turning a crash into a readable ExerciseError (plus ``hint``)."""
    __tracebackhide__ = True
    if not callable(fn):
        raise _fail(f"expected a function, got {_describe(fn)}; pass the function itself, without calling it")
    try:
        with _whole_tracebacks():
            return fn(*args, **kwargs)
    except ExerciseError:
        raise
    except NotImplementedError as exc:
        raise _not_implemented(exc, fn, _shown(args, kwargs)) from None
    except Exception as exc:  # noqa: BLE001 - any crash in learner code is reported, not re-raised
        text = " ".join(str(exc).split())
        text = text if len(text) <= 240 else text[:240] + " …"
        raise _fail(f"{_name(fn)}({_shown(args, kwargs)}) raised {type(exc).__name__}: {text}"
                    + (f". {hint}" if hint else "")) from exc


def _is_tensorflow(value: Any) -> bool:
    return isinstance(value, (tf.Tensor, tf.Variable))


def _check_tensorflow(fn: Callable, args: Sequence, result: Any, what: str, *, loss: bool = False) -> None:
    """A function that later runs in a graph (notebook 08's train step): its result must be a TensorFlow
    tensor, it must also run inside ``tf.function``, and a gradient must flow from its result back to its
    tensor inputs under ``tf.GradientTape``. ``result`` is what the eager call returned."""
    __tracebackhide__ = True
    value = result[0] if loss and isinstance(result, tuple) else result
    if not _is_tensorflow(value):
        kind = "a NumPy array" if isinstance(value, np.ndarray) else f"a {type(value).__name__}"
        raise _fail(f"{what} returns the right values, but as {kind}, not a TensorFlow tensor: {NUMPY_FIX}")
    @tf.function
    def in_a_graph(*inputs):
        return fn(*inputs)

    try:
        in_a_graph(*args)
    except NotImplementedError:  # the eager call worked, so this is TensorFlow's, not an empty body
        raise _fail(f"{what} works on eager tensors but not inside tf.function, where a NumPy function met a "
                    f"symbolic tensor: {NUMPY_FIX}") from None
    except Exception as exc:  # noqa: BLE001 - the learner's code, traced: reported in one line
        text = _last_line(exc)
        text = text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
        raise _fail(f"{what} works on eager tensors but fails inside tf.function ({text}); in a graph a tensor has "
                    "no value yet, so no .numpy() and no NumPy function may touch it — use TensorFlow operations "
                    "throughout") from exc
    # the optimiser differentiates with respect to the first argument (the image, or its features)
    sources = [v for v in tf.nest.flatten(args[0]) if _is_tensorflow(v) and v.dtype.is_floating]
    with tf.GradientTape() as tape:
        tape.watch(sources)
        out = fn(*args)
        out = out[0] if loss and isinstance(out, tuple) else out
        total = tf.reduce_sum(out)
    gradients = tape.gradient(total, sources)
    if any(g is None for g in gradients):
        raise _fail(f"{what} gives the right values, but no gradient flows from its result back to its input under "
                    "tf.GradientTape, so the optimiser could not use it: keep every step a TensorFlow operation on "
                    "the input tensor (no .numpy(), np.*, tf.constant(…) of a result, or tf.stop_gradient)")


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
    return tf




@functools.lru_cache(maxsize=1)
def _preprocessor():
    """A weightless FeatureExtractor: only its ``preprocess`` (nst_lib's own) is used."""
    return FeatureExtractor(["block1_conv1"], weights=None)


def _reference_preprocess(images: np.ndarray) -> np.ndarray:
    return _preprocessor().preprocess(images).numpy().astype(np.float64)


def _means() -> np.ndarray:
    return np.asarray(CAFFE_MEANS_BGR, np.float64)



def _features(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """ReLU-like features: non-negative, with some exact zeros."""
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(0.3, 1.0, size=shape), 0.0).astype(np.float32)

