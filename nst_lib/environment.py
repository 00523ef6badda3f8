"""The environment variables the library reads, parsed in one place and read when used (a leaf module).

One spelling of "true" for every switch: ``1``, ``true``, ``yes`` or ``on`` (any case, spaces ignored);
anything else, or the variable unset, is false.

* ``NST_FAST``: tiny images and a few steps in notebooks and demos (tests and CI set it);
* ``NST_OFFLINE``: never try to download weights (the tests set it);
* ``NST_WEIGHTS``: the path of a VGG weights file, used for ``weights="imagenet"``;
* ``NST_SAVE_INTERVAL``: seconds between two writes of a run's state (``save_state``; default 60);
* ``NST_DOWNLOAD_RETRY``: seconds after which a failed weights download is tried again in the same
  process (default 600: a long-lived web server does not stay on the offline weights forever).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import InvalidSettingError

#: the values that switch a flag on
TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


def flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to one of :data:`TRUE_VALUES`."""
    return os.environ.get(name, "").strip().lower() in TRUE_VALUES


def fast_mode() -> bool:
    """``NST_FAST``: notebooks and demos use tiny images and a few steps."""
    return flag("NST_FAST")


def offline() -> bool:
    """``NST_OFFLINE``: weights are never downloaded."""
    return flag("NST_OFFLINE")


def weights_file() -> Path | None:
    """``NST_WEIGHTS``: an explicit weights file, or ``None``."""
    text = os.environ.get("NST_WEIGHTS", "").strip()
    return Path(text) if text else None


def seconds(name: str, default: float) -> float:
    """A duration in seconds from the environment variable ``name`` (``default`` when unset).

    Raises:
        InvalidSettingError: the value is not a number of seconds ≥ 0.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidSettingError(f"{name} must be a number of seconds >= 0, got {text!r}")
    return value


def save_interval() -> float:
    """``NST_SAVE_INTERVAL``: seconds between two writes of a run's state (default 60)."""
    return seconds("NST_SAVE_INTERVAL", 60.0)


def download_retry() -> float:
    """``NST_DOWNLOAD_RETRY``: seconds before a failed weights download is tried again (default 600)."""
    return seconds("NST_DOWNLOAD_RETRY", 600.0)
