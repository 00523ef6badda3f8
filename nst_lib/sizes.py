"""Memory sizes: reading ``8G``/``512M``, printing bytes, and the cap on L-BFGS-B's history. A leaf module
(the settings check ``max_memory`` with it; the memory plan and the optimiser use the cap).
"""
from __future__ import annotations

import math
import re
from typing import Any

from .errors import InvalidSettingError

GIB = 2**30
MIB = 2**20

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
#: the largest budget accepted (1 PiB): larger numbers are typing mistakes (and overflow)
MAX_MEMORY_SIZE = 2**50
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


# ----------------------------------------------------------------------------------------- sizes
def parse_memory_size(value: Any, name: str = "max_memory") -> int:
    """``"8G"``, ``"512M"``, ``"1.5GB"``, ``"8GiB"`` or a number of bytes → bytes (binary units: 1G = 2³⁰).

    Raises:
        InvalidSettingError: the text is not a size, the size is below 64 MB, or above 1 PiB (a typing
            mistake such as 400 nines, which would otherwise overflow).
    """
    if isinstance(value, bool):
        raise InvalidSettingError(f"{name} must be a size such as 8G or 512M, got {value!r}")
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy":
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise InvalidSettingError(f"{name} must be a size such as 8G or 512M, got {_shown(value)}") from None
    elif isinstance(value, str):
        match = _SIZE_PATTERN.match(value)
        if not match:
            raise InvalidSettingError(
                f"{name} must be a size such as 8G, 8GB, 512M or a number of bytes; got {_shown(value)}"
            )
        number = float(match.group(1)) * _UNITS[match.group(2).upper()]
    else:
        raise InvalidSettingError(f"{name} must be a size such as 8G or 512M, got {type(value).__name__}")
    if not math.isfinite(number) or number > MAX_MEMORY_SIZE:
        raise InvalidSettingError(f"{name} must be a size such as 8G or 512M, at most 1P; got {_shown(value)}")
    size = int(number)
    if size < 64 * MIB:
        raise InvalidSettingError(f"{name} must be at least 64M (no style transfer fits in less), got {value!r}")
    return size


def _shown(value: Any) -> str:
    """``value``'s repr, shortened when a mistyped number runs to hundreds of digits."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} characters)"


def format_bytes(n: float) -> str:
    """``1.5 GB`` / ``300 MB`` (binary units, as :func:`parse_memory_size` reads them)."""
    if n >= GIB:
        return f"{n / GIB:.1f} GB"
    return f"{n / MIB:.0f} MB"


#: most memory L-BFGS-B's history may take (2 · corrections · pixels · 3 float64 values): above it,
#: fewer corrections are kept. 50 corrections fit up to ~360×360 px; a 1024 px run keeps 9.
LBFGS_HISTORY_BYTES = 400 * 2**20


def lbfgs_corrections_for(corrections: int, n_values: int, limit: int | None = None) -> int:
    """``corrections``, lowered so that the history (2 · m · n float64) stays under ``limit`` bytes
    (default :data:`LBFGS_HISTORY_BYTES`)."""
    limit = LBFGS_HISTORY_BYTES if limit is None else limit
    return max(3, min(int(corrections), limit // (16 * max(1, int(n_values)))))
