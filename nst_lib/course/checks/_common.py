"""What every check shares: the error it raises, the call that reports a learner's crash, comparisons.

Private to :mod:`nst_lib.course.checks`; a notebook's check module imports what it needs from here.
"""
from __future__ import annotations

import contextvars
import functools
import inspect
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from ...backbone import CAFFE_MEANS_BGR, FeatureExtractor


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
    """The learner's function is still the starter: its body raised ``NotImplementedError``.

    ``function`` is the name of the function whose body is still empty.
    """

    def __init__(self, function: str, *, exercise: str | None = None):
        self.function = function
        super().__init__(f"{function} is still empty: write its body in place of `raise NotImplementedError`, "
                         "then run this check again.", exercise=exercise)

    @property
    def hint(self) -> str:
        return f" Stuck? checks.solution({self.exercise!r}) shows a reference solution." if self.exercise else ""


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
        raise ExerciseNotWritten(_name(fn), exercise=_CURRENT_EXERCISE.get()) from None
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

