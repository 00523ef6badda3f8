"""Notebook 10's self-checks under their old name (the checks live in :mod:`nst_lib.course.checks.nb10_fast`)."""
from __future__ import annotations

from .checks import ExerciseError, check_batch_style_loss, check_instance_norm, registry
from .checks.nb10_fast import NOTEBOOK

__all__ = ["ExerciseError", "check_instance_norm", "check_batch_style_loss", "solution", "NOTEBOOK"]


def solution(name: str) -> None:
    """Print the reference solution of notebook 10's exercise ``name`` (``instance_norm``, ``batch_style_loss``).

    Never shown by default: try first, read the check's message, then reveal it on purpose.
    """
    names = [n for n, item in registry.EXERCISES.items() if item.notebook == NOTEBOOK]
    if name not in names:
        raise ExerciseError(f"there is no notebook {NOTEBOOK} exercise called {name!r}; they are: {', '.join(names)}")
    registry.solution(name)
