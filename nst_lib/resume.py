"""Saving a run's state and continuing it later (README, "High resolution and memory").

``stylize(…, save_state="run.npz")`` (CLI: ``--save-state run.npz``) writes the run's state while it goes
— atomically, so a kill never leaves a broken file — and ``stylize(…, resume="run.npz")`` (``--resume``)
continues from it: a run killed after an hour of a poster loses at most the last minute.

A state file is a NumPy ``.npz`` archive holding:

* the settings (:class:`~nst_lib.config.StyleConfig` as JSON) and fingerprints of the content and style
  images, so a state is never continued with other images;
* where the run is: the stage (a scale, or a size of a tiled run's ladder), the iterations done in it,
  for tiled stages the pass, the next tile and the grid offsets already drawn; the global iteration count
  and the time spent so far;
* the image at that point (float32), the loss history, and the optimiser's state where it can be saved:
  Adam's two moments and step count, and the moving average of the iterates when one is kept.
  **L-BFGS is not continued exactly**: its curvature history is not saved (SciPy's L-BFGS-B keeps it
  inside its Fortran routine; the TensorFlow one's would be up to 400 MB), so a resumed L-BFGS run restarts
  its history from the saved image (the result's notes say so); the
  first iterations after a resume are as slow to converge as the first ones of any run.
"""
from __future__ import annotations

import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import environment
from .config import StyleConfig
from .errors import InvalidSettingError, OutputError
from .fileio import atomic_write
from .images import fingerprint  # noqa: F401 - re-exported (the fingerprints a state file holds)

FORMAT = "nst-run-state/1"
#: settings a resumed run may change: they do not change what the run computes
RESUMABLE_CHANGES = ("time_budget", "max_memory", "steps")


@dataclass
class RunState:
    """Everything needed to continue a run (see the module docstring)."""

    config: dict[str, Any]
    image: np.ndarray  # float32 (h, w, 3): the image at the current stage's size
    stage: int = 0  # index of the stage (scale, or rung of a tiled ladder) being worked on
    stage_iterations: int = 0  # iterations done in this stage (whole stages)
    tile_pass: int = 0  # tiled stages: the pass being done
    next_tile: int = 0  # tiled stages: the first tile of that pass not yet refined
    offsets: list[tuple[int, int]] = field(default_factory=list)  # tiled stages: grid offsets drawn
    iterations: int = 0  # global iteration count
    elapsed: float = 0.0  # seconds spent before this state was written
    history: list[dict] = field(default_factory=list)
    optimizer: dict[str, np.ndarray] = field(default_factory=dict)  # "m", "v", "t" (Adam), "average"
    fingerprints: dict[str, Any] = field(default_factory=dict)  # content and style images
    finished: bool = False  # the run ended normally (resuming it returns at once)

    # --------------------------------------------------------------------------------------- writing
    def save(self, path: str | os.PathLike) -> Path:
        """Write the state atomically (a temporary file in the same folder, then renamed)."""
        path = Path(path)
        meta = {
            "format": FORMAT,
            "config": self.config,
            "stage": self.stage,
            "stage_iterations": self.stage_iterations,
            "tile_pass": self.tile_pass,
            "next_tile": self.next_tile,
            "offsets": [list(map(int, o)) for o in self.offsets],
            "iterations": self.iterations,
            "elapsed": self.elapsed,
            "fingerprints": self.fingerprints,
            "finished": self.finished,
            "optimizer_keys": sorted(self.optimizer),
            "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        arrays = {f"optimizer_{k}": np.asarray(v) for k, v in self.optimizer.items()}
        with atomic_write(path) as handle:
            np.savez(
                handle,
                meta=np.array(json.dumps(meta)),
                history=np.array(json.dumps(self.history)),
                image=np.asarray(self.image, np.float32),
                **arrays,
            )
        return path

    # --------------------------------------------------------------------------------------- reading
    @classmethod
    def load(cls, path: str | os.PathLike) -> "RunState":
        """Read a state written by :meth:`save`, checking every array's declared shape before it is expanded.

        Raises:
            InvalidSettingError: the file is missing, a folder, not a state file, from another format
                version, or holds fields or arrays this version would not write.
        """
        path = Path(path)
        if path.is_dir():
            raise InvalidSettingError(f"resume: '{path}' is a folder, not a state file written by --save-state")
        if not path.is_file():
            raise InvalidSettingError(f"resume: state file '{path}' does not exist")
        try:
            _check_declared_arrays(path)
            with np.load(path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                history = json.loads(str(archive["history"]))
                image = np.array(archive["image"], np.float32)
                keys = meta.get("optimizer_keys", []) if isinstance(meta, dict) else []
                if not isinstance(keys, list) or not set(map(str, keys)) <= set(OPTIMIZER_KEYS):
                    raise ValueError(f"optimizer_keys {keys!r} are not among {', '.join(OPTIMIZER_KEYS)}")
                optimizer = {k: np.array(archive[f"optimizer_{k}"]) for k in keys}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise InvalidSettingError(f"resume: '{path}' is not a run state written by --save-state ({exc})") from exc
        if not isinstance(meta, dict):
            raise InvalidSettingError(f"resume: '{path}' is not a run state written by --save-state (its metadata "
                                      f"is a {type(meta).__name__}, not a record)")
        if meta.get("format") != FORMAT:
            raise InvalidSettingError(
                f"resume: '{path}' has format {meta.get('format')!r}; this version reads {FORMAT!r}"
            )
        if image.ndim != 3 or image.shape[2] != 3:
            raise InvalidSettingError(f"resume: the image in '{path}' has shape {image.shape}, not (H, W, 3)")
        return cls(image=image, history=history if isinstance(history, list) else [], optimizer=optimizer,
                   **_checked_fields(meta, path))


#: the optimiser arrays a state may hold (Adam's moments and step count, the moving average, the iterate)
OPTIMIZER_KEYS = ("m", "v", "t", "average", "iterate")
#: the largest array a state may declare: an image of MAX_SIZE² pixels, 3 channels
_MAX_ARRAY_VALUES = 4096 * 4096 * 3
#: the largest JSON text (metadata, loss history) a state may declare, in characters
_MAX_TEXT_CHARS = 64 * 2**20


def _check_declared_arrays(path: Path) -> None:
    """Read each member's ``.npy`` header (not its data) and refuse shapes a state never has.

    A small compressed file can declare gigabytes; this is checked before anything is decompressed.

    Raises:
        ValueError: a member declares too many values, or its size on expansion disagrees with its header.
    """
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(member)
            values = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if dtype.kind == "U":
                limit, what = _MAX_TEXT_CHARS, "characters"
                values *= dtype.itemsize // 4
            else:
                limit, what = _MAX_ARRAY_VALUES, "values"
            if dtype.hasobject or values > limit or len(shape) > 3:
                raise ValueError(f"{info.filename} declares shape {shape} of {dtype}: more than the {limit:,} "
                                 f"{what} a state holds")
            if info.file_size > values * max(dtype.itemsize, 1) + 4096:
                raise ValueError(f"{info.filename} expands to {info.file_size:,} bytes, more than its shape {shape} needs")


def _checked_fields(meta: dict, path: Path) -> dict[str, Any]:
    """The position fields of a state's metadata, each checked for its type and range."""
    def whole(name: str) -> int:
        value = meta.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidSettingError(f"resume: '{path}' is not a usable run state: {name} is {value!r}, not a "
                                      "whole number >= 0")
        return value

    config = meta.get("config")
    if not isinstance(config, dict):
        raise InvalidSettingError(f"resume: '{path}' is not a usable run state: it holds no settings (config)")
    offsets = meta.get("offsets", [])
    if not (isinstance(offsets, list) and all(isinstance(o, list) and len(o) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in o) for o in offsets)):
        raise InvalidSettingError(f"resume: '{path}' is not a usable run state: offsets must be pairs of whole numbers")
    elapsed = meta.get("elapsed", 0.0)
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or not 0 <= elapsed < 1e9:
        raise InvalidSettingError(f"resume: '{path}' is not a usable run state: elapsed is {elapsed!r}")
    fingerprints = meta.get("fingerprints", {})
    if not isinstance(fingerprints, dict):
        raise InvalidSettingError(f"resume: '{path}' is not a usable run state: fingerprints are not a record")
    return dict(config=config, stage=whole("stage"), stage_iterations=whole("stage_iterations"),
                tile_pass=whole("tile_pass"), next_tile=whole("next_tile"), offsets=[tuple(o) for o in offsets],
                iterations=whole("iterations"), elapsed=float(elapsed), fingerprints=fingerprints,
                finished=bool(meta.get("finished", False)))


def resumed_config(state: RunState, changes: dict[str, Any]):
    """The saved settings with ``changes`` applied (only :data:`RESUMABLE_CHANGES` may differ).

    Raises:
        InvalidSettingError: a setting that changes what the run computes differs from the saved one.
    """
    try:
        saved = StyleConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in state.config.items()
                               if k in StyleConfig.__dataclass_fields__})
    except (TypeError, ValueError) as exc:  # InvalidSettingError included: say where the settings came from
        raise InvalidSettingError(f"resume: the saved settings are not usable ({exc})") from None
    conflicts = []
    for name, value in changes.items():
        if name in RESUMABLE_CHANGES:
            continue
        theirs = getattr(saved, name)
        mine = tuple(value) if isinstance(value, list) else value
        if mine != theirs:
            conflicts.append(f"{name}={mine!r} (saved: {theirs!r})")
    if conflicts:
        raise InvalidSettingError(
            "resume: the run was saved with other settings: " + ", ".join(conflicts)
            + f"; drop them to continue it (only {', '.join(RESUMABLE_CHANGES)} may change)"
        )
    allowed = {k: v for k, v in changes.items() if k in RESUMABLE_CHANGES}
    return saved.replace(**allowed) if allowed else saved


def check_inputs(state: RunState, content: np.ndarray, styles: list[np.ndarray]) -> None:
    """Refuse to continue a state with other content or style images than it was saved with."""
    expected = state.fingerprints
    if not expected:
        return
    if expected.get("content") != fingerprint(content):
        raise InvalidSettingError("resume: the content image differs from the one the run was saved with")
    if list(expected.get("styles", [])) != [fingerprint(s) for s in styles]:
        raise InvalidSettingError("resume: the style image(s) differ from the one(s) the run was saved with")


class StateWriter:
    """Writes the run's state to ``path`` at most every ``interval`` seconds (and when forced): by default
    ``NST_SAVE_INTERVAL`` (60 s; read when the writer is made, e.g. 0 in tests); the end of a stage, an
    interruption and the end of the run always write it.

    With ``keep_going=True`` (the CLI) a failed write (disk full, folder removed…) does not stop the run:
    it is kept in :attr:`failure` (the last one; a later successful write clears it), so the caller writes
    the image first and reports the state failure after it — a lost state must never cost the image.
    """

    def __init__(self, path: str | os.PathLike | None, interval: float | None = None, *, keep_going: bool = False):
        self.path = None if path is None else Path(path)
        self.interval = environment.save_interval() if interval is None and path is not None else (interval or 0.0)
        self.keep_going = keep_going
        self.failure: OutputError | None = None
        self._last = time.monotonic()

    def __bool__(self) -> bool:
        return self.path is not None

    def maybe_save(self, make_state, force: bool = False) -> bool:
        """Call ``make_state()`` and write it when the interval has passed (or ``force``)."""
        if self.path is None:
            return False
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return False
        try:
            make_state().save(self.path)
        except OutputError as exc:
            if not self.keep_going:
                raise
            self.failure = exc
            self._last = time.monotonic()
            return False
        self.failure = None
        self._last = time.monotonic()
        return True
