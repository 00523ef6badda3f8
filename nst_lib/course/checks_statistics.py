"""Notebook 09's self-checks under their old name (the checks live in :mod:`nst_lib.course.checks.nb09_statistics`)."""
from __future__ import annotations

from .checks import ExerciseError, check_mean_std_distance, check_sliced_wasserstein_distance
from .checks.nb09_statistics import NOTEBOOK

__all__ = ["ExerciseError", "check_mean_std_distance", "check_sliced_wasserstein_distance", "NOTEBOOK"]
