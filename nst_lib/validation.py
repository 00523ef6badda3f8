"""What every settings class shares (a leaf module): the one-line doc of a settings field, and the check of
a whole-number setting with an error that says what was received and what is allowed.
"""
from __future__ import annotations

import numbers
from typing import Any

from .errors import InvalidSettingError


def doc(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata of a settings dataclass: ``doc`` is its one-line help (the CLI's ``--help`` text)."""
    return {"doc": text, **extra}


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int, or :class:`InvalidSettingError` naming the setting and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidSettingError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidSettingError(f"{name} must be {allowed}, got {value}")
    return value
