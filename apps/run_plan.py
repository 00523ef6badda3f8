"""The memory plan of a run, shown on the page before Run (no Streamlit import; tested in tests/test_app_features.py).

:func:`nst_lib.memory.plan_run` decides how a run fits the server's memory budget: in one piece, or as a
coarse-to-fine ladder whose large sizes are optimised in tiles; when even the smallest tiles cannot fit,
the run is refused. The page shows that decision while the settings are being chosen — a 4096 px request
shows its plan, or its refusal, before anything runs — and the queue's admission check
(:func:`app_logic.run_admission`) applies the same plan when Run is pressed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from nst_lib.config import StyleConfig
from nst_lib.memory import plan_run
from nst_lib.sizes import format_bytes

from server import refusal_sentence


@dataclass(frozen=True)
class PlanView:
    """What the page shows about a run's memory before it runs."""

    fits: bool
    mode: str  # "whole" or "tiled"
    estimated_peak: str  # e.g. "1.4 GiB"
    budget: str  # the server's budget, e.g. "6.0 GiB"
    text: str  # one paragraph for the page


def plan_view(config: StyleConfig, content_shape: Sequence[int], budget_bytes: int,
              style_shapes: Sequence[Sequence[int]] = (), backbone: str | None = None) -> PlanView:
    """The plan of a run with these settings and images against the server's budget, in words.

    Args:
        config: the run's settings (the form's values).
        content_shape: (height, width) of the content image as given.
        budget_bytes: the memory one run may use on this server (``ServerSettings.memory_budget``).
        style_shapes: (height, width) of each style image.
        backbone: the network really used (VGG16 when VGG19's weights are unavailable).
    """
    plan = plan_run(config, tuple(content_shape)[:2], max_memory=budget_bytes,
                    style_shapes=[tuple(s)[:2] for s in style_shapes] or None, backbone=backbone)
    height, width = plan.output_shape
    peak, budget = format_bytes(plan.estimated_peak_bytes), format_bytes(plan.budget_bytes)
    if not plan.fits:  # the queue's own refusal, shown before Run
        sentence = refusal_sentence(plan)
        text = f"{sentence[0].upper()}{sentence[1:]}."
    elif plan.mode == "whole":
        text = (f"**Memory plan:** {width}×{height} px in one piece, estimated peak {peak} of the {budget} this "
                "server allows per run.")
    else:
        ladder = " → ".join(f"{r.size} px {'in tiles' if r.mode == 'tiled' else 'whole'}" for r in plan.rungs)
        text = (f"**Memory plan:** {width}×{height} px does not fit in one piece "
                f"({format_bytes(plan.whole_peak_bytes)} needed, {budget} allowed per run), so it runs coarse to "
                f"fine as {ladder}, in tiles of {plan.tile} px; estimated peak {peak}.")
    return PlanView(plan.fits, plan.mode, peak, budget, text)
