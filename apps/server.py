"""How the web page shares its server (no Streamlit import; tested in tests/test_app.py and
tests/test_app_safety.py).

:class:`ServerSettings` reads the ``NST_WEB_*`` environment variables (runs at once, memory budget,
waiting list, disconnect grace); :func:`run_admission` plans each run's memory with
:func:`nst_lib.memory.plan_run` against that budget for the queue (``apps/run_queue.py``), which refuses a
run that cannot fit with one sentence; :func:`queue_message` is what a waiting session reads;
:func:`exposure_warnings` say when the page is served beyond this machine; :func:`summarize_weights` says
which VGG weights the server uses.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from nst_lib.config import StyleConfig
from nst_lib.errors import InvalidSettingError, NSTError

from fast_plan import FastRunRequest, fast_admission

__all__ = [
    "ENV_DISCONNECT_GRACE",
    "ENV_MAX_MEMORY",
    "ENV_MAX_RUNS",
    "ENV_MAX_WAITING",
    "ENV_SERVED_BY",
    "LOOPBACK_ADDRESSES",
    "RunRequest",
    "SERVER_VARIABLES",
    "ServerSettings",
    "WeightsSummary",
    "exposure_warnings",
    "ordinal",
    "queue_message",
    "refusal_sentence",
    "run_admission",
    "summarize_weights",
]


@dataclass(frozen=True)
class WeightsSummary:
    """Which network ``weights="imagenet"`` resolves to on this server, and one line to show."""

    backbone: str  # the network really built (vgg16 when VGG19 weights are unavailable)
    description: str  # resolved_weights_description(): network, source, substitution; then the file, on a 2nd line
    error: NSTError | None = None  # why no weights could be resolved (shown with error_sentence)
    path: str | None = None
    notice: str | None = None  # the library's one-line notice when VGG16 replaces VGG19 (also on Result.notes)

    @property
    def short(self) -> str:
        """The description without the file path (its first line; the page shows the path on hover)."""
        return self.description.splitlines()[0]


def summarize_weights(backbone: str = "vgg19") -> WeightsSummary:
    """Resolve the weights once (no download with ``NST_OFFLINE=1``); errors become ``error``.

    Same text as :func:`nst_lib.backbone.resolved_weights_description`, plus the backbone actually used,
    so the layer pickers list the layers that really exist (VGG16 has no ``block5_conv4``). Resolved with
    ``warn=False``: the substitution notice is returned on ``notice`` (the page shows it in its "Feature
    network" line) rather than issued as a warning, which a page could only catch process-wide.
    """
    from nst_lib.weights import resolve_weights

    try:
        info = resolve_weights(backbone, warn=False)
    except NSTError as exc:
        return WeightsSummary(backbone, "no ImageNet weights available", error=exc)
    return WeightsSummary(info.backbone, info.describe(), path=info.path, notice=info.notice)


#: Environment variables that configure how the page shares its server (see the README, "Web page").
ENV_MAX_RUNS = "NST_WEB_MAX_RUNS"  # optimisations that run at once (default 1)


ENV_MAX_MEMORY = "NST_WEB_MAX_MEMORY"  # memory the running optimisations may use together, e.g. 6G


ENV_MAX_WAITING = "NST_WEB_MAX_WAITING"  # runs that may wait in the queue (default 10)


ENV_DISCONNECT_GRACE = "NST_WEB_DISCONNECT_GRACE"  # seconds a closed tab keeps its place (default 10)


SERVER_VARIABLES = (ENV_MAX_RUNS, ENV_MAX_MEMORY, ENV_MAX_WAITING, ENV_DISCONNECT_GRACE)


@dataclass(frozen=True)
class ServerSettings:
    """How the page shares one server among its sessions (read by :meth:`from_env`)."""

    max_running: int = 1
    memory_budget: int = 0  # bytes for the running optimisations together (their worker processes)
    max_waiting: int = 10
    disconnect_grace: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ServerSettings":
        """Read the ``NST_WEB_*`` variables; unset ones take their defaults (the memory budget's is the
        library's: :func:`nst_lib.memory.default_budget`, a share of the memory available now).

        Raises:
            InvalidSettingError: a variable's value is not allowed (the message names it).
        """
        environ = os.environ if environ is None else environ

        def number(name: str, kind: type, low: float, high: float, default: Any) -> Any:
            text = environ.get(name, "").strip()
            if not text:
                return default
            try:
                value = kind(text)
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                what = "a whole number" if kind is int else "a number"
                raise InvalidSettingError(f"{name} must be {what} from {low:g} to {high:g}; got {text!r}")
            return value

        from nst_lib.memory import default_budget, parse_memory_size

        memory_text = environ.get(ENV_MAX_MEMORY, "").strip()
        memory = parse_memory_size(memory_text, ENV_MAX_MEMORY) if memory_text else default_budget()
        return cls(
            max_running=number(ENV_MAX_RUNS, int, 1, 64, 1),
            memory_budget=memory,
            max_waiting=number(ENV_MAX_WAITING, int, 0, 1000, 10),
            disconnect_grace=number(ENV_DISCONNECT_GRACE, float, 0.0, 3600.0, 10.0),
        )

    def describe(self) -> str:
        """One sentence for the page, e.g. "This server runs one style transfer at a time, with 6.0 GB."""
        runs = ("one style transfer at a time" if self.max_running == 1
                else f"up to {self.max_running} style transfers at once")
        from nst_lib.memory import format_bytes

        return (f"This server runs {runs}, within {format_bytes(self.memory_budget)} of memory; "
                "later runs wait in a queue.")

    @property
    def memory_per_run(self) -> str:
        """The budget as a ``max_memory`` setting, so a run plans with the budget it was admitted with."""
        return f"{self.memory_budget // 2**20}M"


#: addresses that serve this machine only
LOOPBACK_ADDRESSES = ("localhost", "127.0.0.1", "::1")


#: set by apps/serve.py, the start script that forbids framing (make web)
ENV_SERVED_BY = "NST_WEB_SERVED_BY"


def exposure_warnings(address: str, environ: Mapping[str, str]) -> list[str]:
    """Sentences the page shows at its top when it is exposed more than ``make web`` exposes it.

    * served on a network address (``make web SHARE=1``, ``--server.address 0.0.0.0``): everyone who can
      reach this machine can upload images and start runs;
    * started without ``apps/serve.py`` (e.g. ``streamlit run apps/streamlit_app.py``): the page does not
      forbid other sites to show it in a frame.
    """
    warnings = []
    if address not in LOOPBACK_ADDRESSES:
        where = "every network interface" if address in ("", "0.0.0.0", "::") else f"the address {address}"
        warnings.append(
            f"This page is shared: it is served on {where}, so anyone who can reach this machine can upload "
            "images and start runs here (started with SHARE=1 or --server.address). Stop the server and start it "
            "with `make web` to keep it to this machine.")
    if not environ.get(ENV_SERVED_BY):
        warnings.append(
            "This page was started without apps/serve.py, so it does not forbid other sites to show it in a "
            "frame; start it with `make web` (streamlit run apps/serve.py).")
    return warnings


@dataclass(frozen=True)
class RunRequest:
    """What the queue's admission check needs to plan a run's memory."""

    config: StyleConfig
    content_shape: tuple[int, int]  # (height, width) of the content image as given (any size)
    style_shapes: tuple[tuple[int, int], ...] = ()  # (height, width) of each style image as given
    backbone: str | None = None  # the network really used (VGG16 when VGG19's weights are unavailable)
    decode_bytes: int = 0  # the costliest input's decoding in the worker (uploads; from their headers)


def run_admission(request: RunRequest | None, memory_budget: int | None):
    """The queue's admission check: :func:`nst_lib.memory.plan_run` against the server's budget.

    A :class:`fast_plan.FastRunRequest` (a trained fast network) is judged by :func:`fast_plan.fast_admission`.
    Otherwise returns a :class:`run_queue.Admission` whose cost is the plan's estimated peak (the whole worker
    process: TensorFlow, the network and the run; in tiles if the run is too large in one piece). A run
    that cannot fit even in tiles is refused with a sentence for the page (the plan's own message speaks
    to the command line's flags).
    """
    from nst_lib.memory import BASE_BYTES, format_bytes, plan_run
    from run_queue import Admission

    if request is None:
        return Admission(True)
    if isinstance(request, FastRunRequest):  # a trained network's one pass: its own estimate (fast_plan.py)
        return fast_admission(request, memory_budget)
    plan = plan_run(request.config, request.content_shape, max_memory=memory_budget,
                    style_shapes=request.style_shapes or None, backbone=request.backbone)
    if plan.fits:
        # the worker decodes the uploads (reduced to the run's size) with TensorFlow already loaded
        decoding = BASE_BYTES + request.decode_bytes if request.decode_bytes else 0
        return Admission(True, int(max(plan.estimated_peak_bytes, decoding)))
    return Admission(False, int(plan.estimated_peak_bytes), refusal_sentence(plan))


def refusal_sentence(plan: Any) -> str:
    """Why a run that cannot fit is refused, for the page (the plan's own message speaks to the CLI's flags)."""
    from nst_lib.memory import format_bytes

    height, width = plan.output_shape
    return (f"a {width}×{height} px run needs at least {format_bytes(plan.estimated_peak_bytes)} of memory, even "
            f"in tiles, and this server allows {format_bytes(plan.budget_bytes)}; choose a smaller size")


def ordinal(n: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_message(position: int, running: int, max_running: int, waited: float) -> str:
    """What a waiting session sees, e.g. "You are 2nd in the queue (waited 12 s): 1 run in progress, …"."""
    ahead = position - 1
    busy = f"{running} run{'s' if running != 1 else ''} in progress"
    waiting = f"{ahead} waiting ahead of you" if ahead else "you are next"
    limit = "one at a time" if max_running == 1 else f"{max_running} at a time"
    return (f"Waiting for your turn: you are {ordinal(position)} in the queue (waited {waited:.0f} s). "
            f"This server runs style transfers {limit}: {busy}, {waiting}.")

