"""State saving as an observer of a run: :func:`~nst_lib.transfer.stylize` tells a :class:`Checkpointer`
where it is (after an iteration, a tile, a stage) and the checkpointer decides whether to write the
run's :class:`~nst_lib.resume.RunState` (at most every ``NST_SAVE_INTERVAL`` seconds, always at the end
of a stage). Without ``save_state`` it does nothing, and the run does not know the difference.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

import numpy as np

from .config import StyleConfig
from .optimize import Iterate
from .images import fingerprint
from .resume import RunState, StateWriter

#: stop reasons after which a run goes no further (the state says where it stopped, to continue there)
STOPPED_HERE = ("interrupted", "callback", "nonfinite")


class Checkpointer:
    """Writes the state of one run to ``path`` as the run goes (see the module docstring).

    Args:
        path: the ``.npz`` file of ``save_state`` (or a :class:`~nst_lib.resume.StateWriter` for it), or
            ``None`` (nothing is written).
        cfg: the run's settings.
        images: the content and the style images at their sizes (their fingerprints are saved, so a resume
            with other images is refused).
        history: the run's loss history (the list the optimisers append to; saved as it is then).
        start: the run's start (``time.perf_counter()``), for the elapsed time.
    """

    def __init__(self, path: str | os.PathLike | StateWriter | None, cfg: StyleConfig,
                 images: tuple[np.ndarray, list], history: list[dict], start: float):
        self.writer = path if isinstance(path, StateWriter) else StateWriter(path)
        self.cfg, self.history, self.start = cfg, history, start
        content, styles = images
        self.fingerprints = ({"content": fingerprint(content), "styles": [fingerprint(s) for s in styles]}
                             if self.writer else {})

    def __bool__(self) -> bool:
        return bool(self.writer)

    def snapshot(self, **where: Any) -> RunState:
        """The run's state now, at ``where`` (image, stage, iterations, …: fields of :class:`RunState`)."""
        return RunState(config=self.cfg.to_dict(), history=self.history, fingerprints=self.fingerprints,
                        elapsed=time.perf_counter() - self.start, **where)

    def observing(self, callback: Callable[[Iterate], Optional[bool]] | None, stage: int,
                  offset: int) -> Callable[[Iterate], Optional[bool]] | None:
        """The user's callback, followed by saving the state (at most every interval) after an iteration of
        a whole stage; ``offset`` is the global iteration count at which the stage began."""
        if not self.writer:
            return callback

        def observed(event: Iterate):
            stop = callback(event) if callback is not None else None

            def make() -> RunState:
                saved = dict(event.optimizer_state()) if event.optimizer_state is not None else {}
                image = saved.pop("iterate", None)
                return self.snapshot(image=event.image() if image is None else image, stage=stage,
                                     stage_iterations=event.iteration - offset, iterations=event.iteration,
                                     optimizer=saved)

            self.writer.maybe_save(make)
            return stop

        return observed

    def tile_done(self, image: np.ndarray, stage: int, position: dict, iterations: int, moments: dict | None) -> None:
        """After a tile: save (at most every interval) where the tiled stage is (pass, next tile, offsets)."""
        if self.writer:
            self.writer.maybe_save(lambda: self.snapshot(
                image=image, stage=stage, tile_pass=position["pass"], next_tile=position["tile"],
                offsets=list(position["offsets"]), iterations=iterations, optimizer=dict(moments or {})))

    def stage_done(self, image: np.ndarray, stage: int, outcome: Any, *, last: bool, iterations: int,
                   stage_iterations: int) -> None:
        """At the end of a stage (always written): the next stage to do, or this one if the run stopped in it
        (a whole stage with its iterations done; a tiled stage with its pass, tile and offsets)."""
        if not self.writer:
            return
        reason = outcome.stop_reason
        stopped_here = reason in STOPPED_HERE or (reason == "time_budget" and last)
        finished = last and not stopped_here and reason != "time_budget"
        where: dict[str, Any] = dict(stage=stage + 1, stage_iterations=0)
        if stopped_here:
            where = dict(stage=stage, stage_iterations=stage_iterations)
            if getattr(outcome, "position", None) is not None:
                tile_pass, next_tile, offsets = outcome.position
                where = dict(stage=stage, tile_pass=tile_pass, next_tile=next_tile, offsets=offsets)
        self.writer.maybe_save(lambda: self.snapshot(image=image, iterations=iterations, finished=finished,
                                                     optimizer=dict(outcome.state or {}), **where), force=True)
