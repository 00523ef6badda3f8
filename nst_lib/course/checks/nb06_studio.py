"""Self-checks of notebook 06 ("Style transfer studio"): the paper's α/β in our units.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..experiments import normalisation_factor
from ._common import ExerciseError, exercise, _call, _close, _diagnose, _fail, _name, _ok, _scalar

NOTEBOOK = "06"

@exercise("paper_to_ours")
def check_paper_to_ours(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(alpha_over_beta, height, width)``: the paper's α/β as our ``content_weight / style_weight``
    from the normalisation alone, ``2 · N · M · α/β`` for ``conv4_2`` (N = 512 channels, M = the positions of
    its feature map, after three 2×2 max-pools that round down). See
    :func:`nst_lib.course.experiments.normalisation_factor`.
    """
    __tracebackhide__ = True
    for ratio, (height, width) in ((1e-3, (256, 256)), (1e-4, (384, 512)), (1e-2, (300, 257))):
        what = f"{_name(fn)}({ratio:g}, {height}, {width})"
        got = _scalar(_call(fn, ratio, height, width), what)
        expected = ratio * normalisation_factor(height, width, "conv4_2")
        positions = (height // 8) * (width // 8)
        message = _diagnose(got, expected, [
            ("you counted the pixels of the image; conv4_2 comes after three 2×2 max-pools, so its feature map "
             f"has (height // 8) · (width // 8) = {positions} positions", ratio * 2 * 512 * height * width),
            ("you divided the size by 8 without rounding down after each pool; use (height // 8) · (width // 8)",
             ratio * 2 * 512 * height * width / 64),
            ("half the answer: the paper's content loss has a ½ that ours does not, which puts a factor 2 into the "
             "conversion", expected / 2),
            ("you left out the channels: N = 512 for conv4_2", ratio * 2 * positions),
            ("you inverted the ratio: multiply by α/β, do not divide", 2 * 512 * positions / ratio),
        ])
        if message:
            raise _fail(f"for α/β = {ratio:g} at {width}×{height} px: {message}")
        if not _close(got, expected, rtol=1e-6, atol=0):
            raise _fail(f"{what} returned {got:.6g}; expected {expected:.6g} (conv4_2 has N = 512 channels and "
                        f"M = {positions} positions here). Write each of our two terms as a multiple of the paper's, "
                        "from the table, then solve for the ratio; the derivation under this check shows the steps")
    _ok(f"{_name(fn)} gives 2 · N · M · α/β with M the positions of conv4_2.")
