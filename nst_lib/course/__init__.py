"""The course layer: exercise self-checks and solutions, paper-figure experiments, plots and widgets.

Everything here is a front end of the core (``nst_lib``): it calls ``stylize()``, the losses and the
feature extractor, and re-implements none of them. Notebooks import it as
``from nst_lib.course import checks, viz, widgets``.
"""
from __future__ import annotations

import importlib
from typing import Any

_MODULES = {"checks", "experiments", "learner_file", "pieces", "viz", "widgets"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nst_lib.course' has no attribute {name!r}")
