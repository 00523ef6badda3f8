"""ipywidgets demos, one module per notebook.

Habit: a widget holds no logic. Each demo has a pure ``render_*`` function that does the work and is
tested on its own, and a ``*_demo()`` builder that only wires controls to it. Tests drive the builders
headlessly (``slider.value = …``, ``button.click()``) and assert what they show.

Shared machinery lives in :mod:`~nst_lib.course.widgets.common`: every demo that optimises runs
``nst_lib.stylize`` through :class:`~nst_lib.course.widgets.common.BackgroundRun` (a daemon thread,
throttled previews, Stop keeps the best image, a newer start cancels the older run, errors as one line),
image views start with a placeholder (:func:`~nst_lib.course.widgets.common.image_slot`), and uploads go
through :class:`~nst_lib.course.widgets.common.ImageSource`, which checks them with ``nst_lib.load_image``.
"""
