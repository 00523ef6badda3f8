"""Video style transfer without flicker (``nst video``; taught in notebook 13).

Stylizing every frame on its own makes a video flicker: each optimisation (or each pass of a fast network)
settles on its own brush strokes, and small changes between frames become large changes in the strokes.
Following Ruder, Dosovitskiy & Brox (2016), every frame after the first

1. **starts from the previous stylized frame warped onto it** along the optical flow of the input frames
   (:mod:`nst_lib.flow`), and
2. adds a **temporal loss** ``temporal_weight · mean(c · (x − ω)²)`` to the objective, with ω the warped
   frame and c = 0 at disocclusions and motion boundaries (:class:`~nst_lib.losses.TemporalTarget`, one more
   term through :func:`~nst_lib.transfer.stylize`: no second loop).

Later frames need fewer iterations than the first (``steps`` vs ``steps_first``): they start close to the
answer. They run at one scale: a warped start is already at full size, and a coarse scale would blur it.

With a trained fast network (``--model``) each frame is one forward pass, blended with the warped previous
*output* where the flow is reliable: ``out = (1 − b·c) · net(frame) + b·c · ω`` (``blend`` b). Network passes
are independent and may run on Dask workers (:mod:`nst_lib.batch`); the blend is sequential and cheap.

Optimisation-based video is sequential (each frame needs the previous one); a long clip can be cut into
chunks that overlap by one frame, each chunk started from the previous chunk's last stylized frame
(docs/video.md).

**State and resume.** With a state folder, every finished frame is saved there (``00000.npy``, float32,
atomically, after its output frame) with ``video.json`` (the settings and the input); a killed run continues
at the first unfinished frame. Ctrl-C stops after the current frame's iteration and keeps every finished frame.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from .config import StyleConfig
from .errors import InvalidSettingError, OutputError
from .fileio import atomic_write, remove_temporaries
from .fast import FastModel
from .flow import frame_motion, warp
from .frames import STATE_RECORD, FrameSource, frame_name, output_kind, state_frame_name, write_frame, write_video
from .losses import TemporalTarget
from .transfer import stylize

#: measured (benchmarks/results/video_pan_128.json, docs/video.md): on a 12-frame pan at 128 px, 1e9 cut the
#: flicker to 0.04× per-frame stylization's at the same style loss; 1e10 to 0.02× but at 1.5× the style loss
#: (the term is in [0, 1]² pixel units, against VGG feature losses weighted 1e4 and 1e-2)
DEFAULT_TEMPORAL_WEIGHT = 1e9
#: --model: the share of the warped previous output kept where the flow is reliable (measured on the pan with a
#: briefly trained network: 0.17× the flicker at 1.09× the style loss; docs/video.md)
DEFAULT_BLEND = 0.5


@dataclass(frozen=True)
class VideoSettings:
    """What video adds to the settings of one image (:class:`~nst_lib.config.StyleConfig`).

    Attributes:
        temporal_weight: weight of the temporal loss (0 = the warped start alone).
        steps_first: iterations for the first frame (``None``: the config's ``steps``).
        steps: iterations for every later frame (``None``: half of ``steps_first``).
        blend: with a fast network, the share of the warped previous output kept where the flow is reliable.
    """

    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    steps_first: Optional[int] = None
    steps: Optional[int] = None
    blend: float = DEFAULT_BLEND

    def __post_init__(self) -> None:
        if not (isinstance(self.temporal_weight, (int, float)) and self.temporal_weight >= 0):
            raise InvalidSettingError(f"temporal_weight must be a number >= 0, got {self.temporal_weight!r}")
        for name in ("steps_first", "steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidSettingError(f"{name} must be a whole number >= 1, got {value!r}")
        if not (isinstance(self.blend, (int, float)) and 0 <= self.blend < 1):
            raise InvalidSettingError(f"blend must be a number in [0, 1), got {self.blend!r}")

    def frame_steps(self, config: StyleConfig) -> tuple[int, int]:
        """(iterations of the first frame, of each later frame)."""
        first = self.steps_first if self.steps_first is not None else (config.steps or StyleConfig().steps)
        return first, self.steps if self.steps is not None else max(1, first // 2)


@dataclass
class FrameResult:
    """One finished frame."""

    index: int
    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    seconds: float
    iterations: int = 0
    reliable: float | None = None  # share of pixels the temporal term held (None: the first frame)
    losses: dict[str, float] = field(default_factory=dict)  # the run's last loss parts (optimisation)


def stylize_frames(frames: Iterable[tuple[int, np.ndarray]], style: Any, *, config: StyleConfig,
                   settings: VideoSettings = VideoSettings(), previous: tuple[np.ndarray, np.ndarray] | None = None,
                   temporal: bool = True, callback: Callable | None = None) -> Iterator[FrameResult]:
    """Stylize ``(index, frame)`` pairs in order by optimisation, each frame guided by the previous one.

    Args:
        frames: the input frames (float32, one size), with their indices.
        style: the style image(s), as for :func:`~nst_lib.transfer.stylize`.
        config: the settings of one image (``size`` should be the frames' long side).
        settings: temporal weight and iterations per frame.
        previous: (input frame, stylized frame) before the first of ``frames`` (a resumed run).
        temporal: ``False`` stylizes every frame on its own (the per-frame baseline), with ``steps_first``.
        callback: handed to :func:`~nst_lib.transfer.stylize` (one event per iteration).

    Yields:
        A :class:`FrameResult` per frame, as soon as it is done.

    Raises:
        KeyboardInterrupt: Ctrl-C during a frame (that frame is not yielded; those before it were).
    """
    first_steps, later_steps = settings.frame_steps(config)
    previous_input, previous_output = previous if previous is not None else (None, None)
    for index, frame in frames:
        start = time.perf_counter()
        if previous_output is None or not temporal:
            result, reliable = stylize(frame, style, config=config.replace(steps=first_steps), callback=callback), None
        else:
            motion = frame_motion(previous_input, frame)
            target = TemporalTarget(warp(previous_output, motion.backward), motion.mask, settings.temporal_weight)
            result = stylize(frame, style, config=config.replace(steps=later_steps, scales=1), temporal=target,
                             callback=callback)
            reliable = motion.reliable_fraction
        if result.stop_reason == "interrupted":
            raise KeyboardInterrupt
        losses = {k: float(v) for k, v in result.final_losses.items() if k in ("total", "content", "style", "temporal")}
        yield FrameResult(index, result.image, time.perf_counter() - start, result.iterations, reliable, losses)
        previous_input, previous_output = frame, result.image


def blend_with_previous(stylized: np.ndarray, warped_previous: np.ndarray, mask: np.ndarray, blend: float) -> np.ndarray:
    """``(1 − b·c) · stylized + b·c · warped_previous``: the fast network's output steadied where the flow
    is reliable (c = 1) and left alone where it is not (c = 0)."""
    keep = (float(blend) * np.asarray(mask, np.float32))[..., np.newaxis]
    return ((1.0 - keep) * stylized + keep * warped_previous).astype(np.float32)


def blend_frames(outputs: Iterable[tuple[int, np.ndarray, np.ndarray]], *, blend: float,
                 previous: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[FrameResult]:
    """Steady a fast network's per-frame outputs: ``(index, input frame, network output)`` in order →
    :class:`FrameResult` (each blended with the previous *result* warped onto it)."""
    previous_input, previous_output = previous if previous is not None else (None, None)
    for index, frame, output in outputs:
        start = time.perf_counter()
        reliable = None
        if previous_output is not None and blend > 0:
            motion = frame_motion(previous_input, frame)
            output = blend_with_previous(output, warp(previous_output, motion.backward), motion.mask, blend)
            reliable = motion.reliable_fraction
        yield FrameResult(index, output, time.perf_counter() - start, 0, reliable)
        previous_input, previous_output = frame, output


def network_outputs(model: Any, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(index, frame, model.stylize(frame))`` for each frame, here, one after the other."""
    for index, frame in frames:
        yield index, frame, model.stylize(frame)


# ------------------------------------------------------------------------------------------ whole videos
@dataclass(frozen=True)
class VideoJob:
    """A video to make: where the frames come from and go, which of them, and where the state lives."""

    source: FrameSource
    output: Path
    indices: range
    fps: float
    state_dir: Path | None = None
    description: dict = field(default_factory=dict)  # settings that must match on --resume (JSON-able)


def _state_frame(folder: Path, index: int) -> Path:
    return folder / state_frame_name(index)


def _save_array(path: Path, image: np.ndarray) -> None:
    with atomic_write(path) as stream:
        np.save(stream, np.asarray(image, np.float32))


def prepare_state(job: VideoJob, resume: bool) -> int:
    """Create (or, with ``resume``, check) the state folder; return how many frames are already done.

    Raises:
        InvalidSettingError: ``resume`` with a folder made for another input or other settings.
        OutputError: the folder cannot be created or written.
    """
    if job.state_dir is None:
        return 0
    record = {"version": 1, "input": str(job.source.path.resolve()), "frames": [job.indices.start, job.indices.stop],
              "size": [job.source.width, job.source.height], **job.description}
    path = job.state_dir / STATE_RECORD
    if resume and path.is_file():
        saved = json.loads(path.read_text())
        changed = sorted(k for k in set(saved) | set(record) if saved.get(k) != json.loads(json.dumps(record.get(k))))
        if changed:
            raise InvalidSettingError(f"the saved video in {str(job.state_dir)!r} was made with other "
                                      f"{', '.join(changed)}; resume with the same input and settings")
    elif not resume and path.is_file():
        raise OutputError(f"{str(job.state_dir)!r} already holds a saved video; continue it with --resume or "
                          "choose an empty folder")
    try:
        job.state_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as stream:
            stream.write(json.dumps(record, indent=1).encode())
    except OSError as exc:
        raise OutputError(f"cannot write the state folder {str(job.state_dir)!r}: {exc}") from None
    done = 0
    while done < len(job.indices) and _state_frame(job.state_dir, job.indices[done]).is_file():
        done += 1
    if resume:  # a killed run may have left a frame half-written under its temporary name: not in the result
        remove_temporaries(job.state_dir, (_state_frame(job.state_dir, i).name for i in job.indices))
        if output_kind(job.output) == "folder":
            if job.output.is_dir():
                remove_temporaries(job.output, (frame_name(i - job.indices.start) for i in job.indices))
            _restore_output_frames(job, done)
    return done


def _restore_output_frames(job: VideoJob, done: int) -> None:
    """Write the output frames of finished frames that are missing (from the state folder): a run of an older
    version saved its state frame before its output frame and may have been killed between the two."""
    for index in job.indices[:done]:
        if not (job.output / frame_name(index - job.indices.start)).is_file():
            write_frame(job.output, index - job.indices.start, np.load(_state_frame(job.state_dir, index)))


def resume_point(job: VideoJob, done: int, size: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(input frame, stylized frame) just before the first unfinished frame, or ``None`` at the start."""
    if done == 0 or job.state_dir is None:
        return None
    last = job.indices[done - 1]
    _, frame = next(iter(job.source.read(size, [last])))
    return frame, np.load(_state_frame(job.state_dir, last))


def finished_frames(job: VideoJob, results: Iterable[FrameResult], done: int) -> Iterator[FrameResult]:
    """Save each result (state folder, output folder) as it arrives, and pass it on."""
    folder = job.output if output_kind(job.output) == "folder" else None
    for result in results:  # the state frame last: it is what says "done" to a resumed run
        if folder is not None:
            write_frame(folder, result.index - job.indices.start, result.image)
        if job.state_dir is not None:
            _save_array(_state_frame(job.state_dir, result.index), result.image)
        yield result


def write_output(job: VideoJob, kept: Sequence[np.ndarray] | None, count: int) -> Path:
    """Write an ``.mp4``/``.gif`` of the first ``count`` frames (from ``kept``, or the state folder)."""
    if output_kind(job.output) == "folder":
        return job.output
    if kept is None or len(kept) < count:
        if job.state_dir is None:
            raise OutputError("the finished frames are not available (no state folder)")
        kept = (np.load(_state_frame(job.state_dir, index)) for index in job.indices[:count])
    return write_video(job.output, kept, job.fps)


def describe_settings(config: StyleConfig | None, settings: VideoSettings, styles: Sequence[str], model: str | None) -> dict:
    """The settings a resumed video must share with the saved one (JSON-able)."""
    return {"config": None if config is None else config.to_dict(), "video": asdict(settings),
            "styles": list(styles), "model": None if model is None else str(Path(model).resolve())}


def remove_state(job: VideoJob) -> None:
    """Delete the state folder's frames and record (after a complete video, when asked to)."""
    if job.state_dir is None:
        return
    for index in job.indices:
        _state_frame(job.state_dir, index).unlink(missing_ok=True)
    (job.state_dir / STATE_RECORD).unlink(missing_ok=True)
    try:
        os.rmdir(job.state_dir)
    except OSError:
        pass


def load_model(path: str | os.PathLike) -> FastModel:
    """A trained fast-transfer network (``nst train``) for ``--model``."""
    return FastModel.load(path)
