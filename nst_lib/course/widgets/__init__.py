"""ipywidgets demos, one module per notebook.

Habit: a widget holds no logic. Each demo has a pure ``render_*`` function that does the work and is
tested on its own, and a ``*_demo()`` builder that only wires controls to it. Tests drive the builders
headlessly (``slider.value = …``, ``button.click()``) and assert what they show.
"""
