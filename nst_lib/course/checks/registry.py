"""The course's exercises, listed explicitly: name → check, notebook and reference solution.

Nothing registers itself on import: every exercise is a line of :data:`_CHECKS` below, so
``checks.solution(name)`` and ``checks.solution()`` know all of them (09 and 10 included) in a fresh kernel.
An exercise's name is the one its check was marked with (``@exercise("gram_matrix")``) and the name of
the function the learner writes; it is also the name of the reference solution in the notebook's solutions
module (:data:`SOLUTIONS_BY_NOTEBOOK`).

The checks the package exports (``checks.check_gram_matrix``) are those of :data:`EXERCISES`: the notebook
module's check, which also saves a passing function written in a notebook cell to ``my_nst.py``
(:mod:`nst_lib.course.learner_file`) and says so in one line.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import io
import textwrap
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from .. import solutions, solutions_big_pictures, solutions_fast, solutions_gatys, solutions_statistics, solutions_video
from ..learner_file import save_passing
from . import (nb00_setup, nb01_preprocessing, nb02_vgg, nb03_gram, nb04_losses, nb05_optimization, nb06_studio,
               nb07_beyond_gatys, nb08_capstone, nb09_statistics, nb10_fast, nb11_gatys, nb12_big_pictures, nb13_video)
from ._common import ExerciseError, ExerciseNotWritten

__all__ = ["Exercise", "EXERCISES", "EXERCISE_NAMES", "exercise_named", "solution", "reference", "yours_or_reference"]


@dataclass(frozen=True)
class Exercise:
    """One self-checked exercise: its ``name``, the ``notebook`` that asks for it, its ``check`` (which saves
    a passing cell function to ``my_nst.py``; ``check.__wrapped__`` only checks), and the module of
    :mod:`nst_lib.course` holding its reference solution (a function called ``name``)."""

    name: str
    notebook: str
    check: Callable
    solutions: ModuleType

    @property
    def reference(self) -> Callable:
        return getattr(self.solutions, self.name)


#: the module with the reference solutions of each notebook's exercises
SOLUTIONS_BY_NOTEBOOK: dict[str, ModuleType] = {**{f"{n:02d}": solutions for n in range(9)},
                                                "09": solutions_statistics, "10": solutions_fast,
                                                "11": solutions_gatys, "12": solutions_big_pictures, "13": solutions_video}

#: every check, notebook by notebook (a new exercise adds its check here)
_CHECKS: tuple[tuple[ModuleType, tuple[Callable, ...]], ...] = (
    (nb00_setup, (nb00_setup.check_to_float_image,)),
    (nb01_preprocessing, (nb01_preprocessing.check_preprocess, nb01_preprocessing.check_deprocess)),
    (nb02_vgg, (nb02_vgg.check_feature_map_shape, nb02_vgg.check_receptive_field, nb02_vgg.check_feature_extractor)),
    (nb03_gram, (nb03_gram.check_gram_matrix,)),
    (nb04_losses, (nb04_losses.check_content_loss, nb04_losses.check_style_loss, nb04_losses.check_total_variation)),
    (nb05_optimization, (nb05_optimization.check_adam_step, nb05_optimization.check_train_step)),
    (nb06_studio, (nb06_studio.check_paper_to_ours,)),
    (nb07_beyond_gatys, (nb07_beyond_gatys.check_luminance_transfer, nb07_beyond_gatys.check_guided_gram_matrix)),
    (nb08_capstone, (nb08_capstone.check_objective, nb08_capstone.check_style_transfer)),
    (nb09_statistics, (nb09_statistics.check_mean_std_distance, nb09_statistics.check_sliced_wasserstein_distance)),
    (nb10_fast, (nb10_fast.check_instance_norm, nb10_fast.check_batch_style_loss)),
    (nb11_gatys, (nb11_gatys.check_rescale_weights,)),
    (nb12_big_pictures, (nb12_big_pictures.check_activation_values,)),
    (nb13_video, (nb13_video.check_temporal_loss,)),
)

#: every exercise's name, in the order of the notebooks
EXERCISE_NAMES: tuple[str, ...] = tuple(check.exercise_name for _, module_checks in _CHECKS for check in module_checks)


def _saving(check: Callable, notebook: str) -> Callable:
    """``check``, then (when it passed) the learner's function saved to ``my_nst.py`` if it was written in a cell."""
    name = check.exercise_name

    @functools.wraps(check)
    def run(fn: Callable, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        result = check(fn, *args, **kwargs)
        saved = save_passing(name, fn, notebook=notebook, check=check.__name__, exercise_names=EXERCISE_NAMES)
        if saved is not None:
            print(saved.message)
        return result

    return run


#: exercise name → :class:`Exercise`, in the order of the notebooks
EXERCISES: dict[str, Exercise] = {
    check.exercise_name: Exercise(check.exercise_name, module.NOTEBOOK, _saving(check, module.NOTEBOOK),
                                  SOLUTIONS_BY_NOTEBOOK[module.NOTEBOOK])
    for module, module_checks in _CHECKS for check in module_checks
}


def exercise_named(name: str) -> Exercise:
    """The exercise called ``name``; an :class:`ExerciseError` listing the names if there is none."""
    if name not in EXERCISES:
        raise ExerciseError(f"there is no exercise called {name!r}; the exercises are: {', '.join(sorted(EXERCISES))}")
    return EXERCISES[name]


def solution(name: str | None = None) -> None:
    """Print the reference solution of exercise ``name`` (``checks.solution()`` lists them all, sorted).

    Solutions are never shown by default: try first, read the check's message, and reveal one on purpose.
    """
    if name is None:
        print("Reference solutions (checks.solution(name) shows one):")
        for item in sorted(EXERCISES.values(), key=lambda e: (e.notebook, e.name)):
            print(f"  notebook {item.notebook}: {item.name}")
        return
    item = exercise_named(name)
    print(f"# Reference solution of '{name}' (notebook {item.notebook}); the check is {item.check.__name__}.\n")
    print(textwrap.dedent(inspect.getsource(item.reference)))


def reference(name: str) -> Callable:
    """The reference solution of exercise ``name`` as a function (what :func:`solution` prints)."""
    return exercise_named(name).reference


def yours_or_reference(**functions: Callable) -> Callable | tuple[Callable, ...]:
    """For each ``name=function``, your function if it passes its check, else the reference solution.

    Prints one line per function saying which one the next cells will use, so a notebook that builds on
    earlier exercises (the capstone) runs top to bottom before every piece is written. Returns the
    functions in the order given (one function when one is given).
    """
    chosen = []
    for name, fn in functions.items():
        item = exercise_named(name)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                item.check(fn)
        except ExerciseError as err:
            reason = "still empty" if isinstance(err, ExerciseNotWritten) else err.reason
            print(f"✗ {name}: {reason}\n"
                  f"  → the next cells use the reference solution instead (checks.solution({name!r}) shows it)")
            chosen.append(item.reference)
        else:
            print(f"✓ {name}: yours passes its check, and the next cells use it")
            chosen.append(fn)
    return chosen[0] if len(chosen) == 1 else tuple(chosen)
