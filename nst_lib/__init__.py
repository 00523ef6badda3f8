"""nst_lib: neural style transfer (Gatys et al.) as a small, tested library and a notebook course.

``import nst_lib as nst`` is cheap: TensorFlow is imported only when a function that needs it is used,
so the ``nst`` command line answers bad arguments at once.

Main entry points (each module's docstring names the notebook that teaches it):

* :func:`stylize` — the whole pipeline (notebook 06);
* :class:`StyleConfig` — every hyper-parameter, declared once;
* :func:`load_image`, :func:`save_image` — images in and out (notebook 01);
* :class:`FeatureExtractor` — VGG feature maps, :func:`resolve_weights` — where the weights come from
  (notebook 02);
* :func:`gram_matrix` and the losses (notebooks 03 and 04); the optimisers (notebook 05);
* :func:`train_fast` and :class:`FastModel` — fast (feed-forward) style transfer (notebook 10).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "StyleConfig": "config",
    "TF_TUTORIAL": "config",
    "fast_mode": "config",
    "pick": "config",
    "NSTError": "errors",
    "InvalidImageError": "errors",
    "ImageNotFoundError": "errors",
    "InvalidSettingError": "errors",
    "WeightsError": "errors",
    "OutputError": "errors",
    "load_image": "images",
    "save_image": "images",
    "resize_long_side": "images",
    "load_mask": "images",
    "atomic_write": "images",
    "FeatureExtractor": "backbone",
    "layer_catalogue": "backbone",
    "shared_extractor": "backbone",
    "resolve_weights": "weights",
    "WeightsInfo": "weights",
    "gram_matrix": "gram",
    "content_loss": "losses",
    "style_loss": "losses",
    "total_variation_loss": "losses",
    "Objective": "losses",
    "StyleTarget": "losses",
    "register_style_statistic": "losses",
    "Iterate": "optimize",
    "run_adam": "optimize",
    "run_lbfgs": "optimize",
    "stylize": "transfer",
    "Result": "transfer",
    "train_fast": "fast",
    "FastModel": "fast",
    "TrainSettings": "fast_settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in {"config", "errors", "images", "backbone", "weights", "gram", "statistics", "losses", "optimize",
                "transfer", "color", "data", "cli", "course", "fast", "fast_settings", "fast_data", "precision"}:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nst_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
