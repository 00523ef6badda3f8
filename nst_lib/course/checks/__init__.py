"""Self-checks for the course exercises, one module per notebook, and the registry that lists them.

A ``check_*`` function calls a learner's function on small, known inputs and compares the answer with
``nst_lib``'s own implementation. On success it prints one line starting with ``✓``; otherwise it raises
:class:`ExerciseError` (an ``AssertionError``) whose ``reason`` says in plain words what is wrong — the
wrong shape, a forgotten division, a transposed matrix, a wrong sign — and how to fix it; an empty starter
raises its subclass :class:`ExerciseNotWritten`. Front ends read those fields, never the message text.

Typical use in a notebook::

    from nst_lib.course import checks

    def gram_matrix(features):
        ...

    checks.check_gram_matrix(gram_matrix)

Where things are
----------------
* ``nbNN_<topic>.py`` — the checks of notebook NN (``nb03_gram.py``: ``check_gram_matrix``), each marked
  with ``@exercise("<name>")``, where ``<name>`` is the function the learner writes;
* ``_common.py`` — :class:`ExerciseError`, :func:`exercise`, and the helpers every check uses (``_call``
  reports a crash of the learner's code, ``_diagnose`` matches typical mistakes, …);
* ``registry.py`` — the explicit list of exercises (:data:`EXERCISES`), :func:`solution`, :func:`reference`
  and :func:`yours_or_reference`. Nothing registers itself on import.

Adding a check
--------------
1. Write ``check_<what>(fn)`` in the module of its notebook (create ``nbNN_<topic>.py`` for a new notebook,
   with ``NOTEBOOK = "NN"``), decorated with ``@exercise("<name>")``.
2. Put the reference solution, a function called ``<name>``, in the notebook's solutions module
   (:mod:`nst_lib.course.solutions` for 00–08, ``solutions_statistics`` for 09, ``solutions_fast`` for 10, ``solutions_gatys`` for 11,
   ``solutions_big_pictures`` for 12, ``solutions_video`` for 13;
   a new notebook adds its module to ``registry.SOLUTIONS_BY_NOTEBOOK``).
3. Add the check to ``registry._CHECKS`` and to the names and ``__all__`` below, and give it a test in
   ``tests/test_checks.py`` with the wrong variants its messages name (``test_every_solution_passes_its_own_check``
   picks the solution up by itself).

Exercise cells in the notebooks (a convention the tests rely on)
----------------------------------------------------------------
* The code cell in which the learner writes an exercise's function carries the cell tag ``exercise``;
  it defines the function under its exercise name (``def gram_matrix(features): ...``), with a starter
  body ``raise NotImplementedError`` (never ``...`` or ``pass``), so the check can say "still empty".
* The cell that runs its check calls ``checks.check_<what>(<name>)`` and carries the tag
  ``raises-exception`` when the shipped starter fails it (it does, for an empty body).
A test fills every ``exercise`` cell of notebooks 01–05 with the reference solutions of the exercise
functions it defines, runs the notebook, and checks what the passing checks saved.
"""
from __future__ import annotations

from ..network import vgg_network
from ._common import ExerciseError, ExerciseNotWritten, exercise
from .nb08_capstone import CAPSTONE_RTOL, CAPSTONE_RTOL_STEP0, CAPSTONE_SIZE, CAPSTONE_STEPS
from .registry import EXERCISE_NAMES, EXERCISES, Exercise, exercise_named, reference, solution, yours_or_reference

# The checks a notebook calls: each checks, then saves a passing cell function to my_nst.py (registry).
check_to_float_image = EXERCISES["to_float_image"].check
check_preprocess = EXERCISES["preprocess"].check
check_deprocess = EXERCISES["deprocess"].check
check_feature_map_shape = EXERCISES["feature_map_shape"].check
check_receptive_field = EXERCISES["receptive_field"].check
check_feature_extractor = EXERCISES["make_extractor"].check
check_gram_matrix = EXERCISES["gram_matrix"].check
check_content_loss = EXERCISES["content_loss"].check
check_style_loss = EXERCISES["style_loss"].check
check_total_variation = EXERCISES["total_variation"].check
check_adam_step = EXERCISES["adam_step"].check
check_train_step = EXERCISES["make_train_step"].check
check_paper_to_ours = EXERCISES["paper_to_ours"].check
check_guided_gram_matrix = EXERCISES["guided_gram_matrix"].check
check_luminance_transfer = EXERCISES["luminance_transfer"].check
check_objective = EXERCISES["make_objective"].check
check_style_transfer = EXERCISES["style_transfer"].check
check_mean_std_distance = EXERCISES["mean_std_distance"].check
check_sliced_wasserstein_distance = EXERCISES["sliced_wasserstein_distance"].check
check_instance_norm = EXERCISES["instance_norm"].check
check_batch_style_loss = EXERCISES["batch_style_loss"].check
check_rescale_weights = EXERCISES["rescale_weights"].check
check_activation_values = EXERCISES["activation_values"].check
check_temporal_loss = EXERCISES["temporal_loss"].check

__all__ = [
    "ExerciseError",
    "ExerciseNotWritten",
    "exercise",
    "check_to_float_image",
    "check_preprocess",
    "check_deprocess",
    "check_feature_map_shape",
    "check_receptive_field",
    "check_feature_extractor",
    "check_gram_matrix",
    "check_content_loss",
    "check_style_loss",
    "check_total_variation",
    "check_adam_step",
    "check_train_step",
    "check_paper_to_ours",
    "check_guided_gram_matrix",
    "check_luminance_transfer",
    "check_objective",
    "check_style_transfer",
    "check_mean_std_distance",
    "check_sliced_wasserstein_distance",
    "check_instance_norm",
    "check_batch_style_loss",
    "check_rescale_weights",
    "check_activation_values",
    "check_temporal_loss",
    "CAPSTONE_SIZE",
    "CAPSTONE_STEPS",
    "CAPSTONE_RTOL",
    "CAPSTONE_RTOL_STEP0",
    "vgg_network",
    "Exercise",
    "EXERCISES",
    "EXERCISE_NAMES",
    "exercise_named",
    "solution",
    "reference",
    "yours_or_reference",
]
