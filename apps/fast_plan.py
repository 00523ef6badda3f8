"""The memory of a run with a trained fast network, for the queue's admission and the page (no Streamlit, no
TensorFlow; tested in tests/test_app_fast_admission.py).

A fast network stylizes in one forward pass, but that pass still holds the network's activations for the
whole picture (:func:`nst_lib.memory.fast_inference_bytes`: about 465 MB per megapixel at width 16), in a
worker process that has TensorFlow loaded. So a fast run goes through the same memory admission as an
optimisation (:func:`server.run_admission` hands a :class:`FastRunRequest` to :func:`fast_admission`): it
is refused with one sentence when the server's budget cannot hold it, and waits while the runs in progress
leave too little of the budget. The page shows the same estimate before Run (:func:`fast_plan_view`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nst_lib.fast_settings import check_model_file
from nst_lib.memory import BASE_BYTES, PLAN_HEADROOM, WEIGHT_COPIES, fast_inference_bytes, output_shape
from nst_lib.sizes import format_bytes

from run_queue import Admission

__all__ = ["FastPlanView", "FastRunRequest", "fast_admission", "fast_plan_view", "fast_request", "fast_run_bytes"]


@dataclass(frozen=True)
class FastRunRequest:
    """What the admission of a fast run needs: the picture's size, the network and the upload."""

    content_shape: tuple[int, int]  # (height, width) of the content image as given
    size: int  # long side of the result
    network_width: int = 16  # the network's base channel count (its activations grow with it)
    model_bytes: int = 0  # size of the .keras file (its weights and Adam's moments)
    decode_bytes: int = 0  # decoding the content upload in the worker at ``size`` (from its header)

    @property
    def output_shape(self) -> tuple[int, int]:
        """(height, width) of the result."""
        return output_shape(self.content_shape, self.size)


def fast_request(content: Any, model_path: str | Path, size: int) -> FastRunRequest:
    """The request of stylizing ``content`` (an ``uploads.InputImage``) with the model in ``model_path``.

    The network's width is read from the file's ``config.json`` without TensorFlow.

    Raises:
        ModelFileError: the file is missing or is not a fast-transfer model.
    """
    record = check_model_file(model_path)
    width = int(record.get("config", {}).get("width", 16))
    header = getattr(content, "header", None)
    return FastRunRequest(tuple(content.shape)[:2], int(size), width, Path(model_path).stat().st_size,
                          header.decode_bytes(int(size)) if header is not None else 0)


def fast_run_bytes(request: FastRunRequest) -> int:
    """Estimated peak of the worker doing the run: TensorFlow's process, the model (loaded: about twice its
    file), the decoded upload and the forward pass at the result's size."""
    height, width = request.output_shape
    return int(BASE_BYTES + WEIGHT_COPIES * request.model_bytes + request.decode_bytes
               + fast_inference_bytes(height * width, request.network_width))


def fast_admission(request: FastRunRequest, memory_budget: int | None) -> Admission:
    """The queue's admission of a fast run: its estimated peak against the server's budget (with the same
    headroom as :func:`nst_lib.memory.plan_run`); refused with a sentence for the page when it cannot fit."""
    cost = fast_run_bytes(request)
    if memory_budget is None or cost <= memory_budget * PLAN_HEADROOM:
        return Admission(True, cost)
    height, width = request.output_shape
    return Admission(False, cost, (
        f"a {width}×{height} px run with the fast network needs about {format_bytes(cost)} of memory, and this "
        f"server allows {format_bytes(memory_budget)}; choose a smaller size"))


@dataclass(frozen=True)
class FastPlanView:
    """What the page shows about a fast run's memory before it runs."""

    fits: bool
    estimated_peak: str  # e.g. "1.1 GB"
    text: str  # one sentence for the page


def fast_plan_view(request: FastRunRequest, budget_bytes: int) -> FastPlanView:
    """The fast run's estimate in words, as the queue will judge it when Run is pressed."""
    admission = fast_admission(request, budget_bytes)
    peak = format_bytes(admission.cost_bytes)
    if not admission.fits:
        return FastPlanView(False, peak, f"{admission.message[0].upper()}{admission.message[1:]}.")
    height, width = request.output_shape
    return FastPlanView(True, peak, (
        f"**Memory plan:** {width}×{height} px in one pass of the fast network, estimated peak {peak} of the "
        f"{format_bytes(budget_bytes)} this server allows per run."))
