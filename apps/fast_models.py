"""Trained fast-transfer networks on the web page (no Streamlit import; tested in tests/test_app_features.py).

A network trained once for a style (``nst train STYLE -o MODEL.keras``, notebook 10) stylizes a photo in
one forward pass. The page offers the ``.keras`` files in the ``models/`` folder of the checkout (or the
folder named by ``NST_WEB_MODELS``) and ``.keras`` files a visitor uploads. Every file is opened with
:meth:`nst_lib.fast.FastModel.load`, which uses Keras' safe mode (no code from the file is executed: a model
with a ``Lambda`` layer is refused) and accepts only the library's own network. The run happens in a web
worker like an optimisation (``execute_fast_run``), with the model kept loaded there for the next run,
after the same memory admission (``fast_plan.py``: the network's pass at the requested size).
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from nst_lib.errors import InvalidSettingError
from nst_lib.fast_settings import ModelFileError

#: Environment variable naming the folder of trained models (default: ``models/`` of the checkout).
ENV_MODELS = "NST_WEB_MODELS"
#: Largest model upload; the library's networks are 2-7 MB.
MAX_MODEL_MB = 64
MAX_MODEL_BYTES = MAX_MODEL_MB * 1024 * 1024
REPO_MODELS = Path(__file__).resolve().parents[1] / "models"


def models_dir() -> Path:
    """Where the page looks for trained ``.keras`` models."""
    override = os.environ.get(ENV_MODELS, "").strip()
    return Path(override).expanduser() if override else REPO_MODELS


def list_models(folder: Path | None = None) -> dict[str, Path]:
    """``name → path`` of the ``.keras`` files in ``folder`` (default :func:`models_dir`), sorted by name."""
    folder = models_dir() if folder is None else folder
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.keras")) if p.is_file()}


def save_uploaded_model(data: bytes, name: str, folder: Path | None = None) -> Path:
    """Check an uploaded model's name, size and container, and store it for the workers to open.

    The file goes to a private temporary folder under a name made of its content's hash, so two
    sessions uploading the same file share it and different files never collide.

    Raises:
        ModelFileError: not a ``.keras`` file, too large, or not a zip container (``.keras`` files are).
    """
    if not name.lower().endswith(".keras"):
        raise ModelFileError(f"{name!r} is not a .keras model; train one with: nst train STYLE -o MODEL.keras")
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"{name!r} is {len(data) / 2**20:.0f} MB; models up to {MAX_MODEL_MB} MB are accepted")
    if not data.startswith(b"PK\x03\x04"):
        raise ModelFileError(f"{name!r} is not a Keras model file (a .keras file is a zip archive)")
    folder = _upload_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.keras"
    if not target.is_file():
        temporary = target.with_suffix(".partial")
        temporary.write_bytes(data)
        temporary.replace(target)
    return target


@functools.lru_cache(maxsize=1)
def _upload_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="nst-web-models-"))


@functools.lru_cache(maxsize=4)
def _load(path: str, modified: int):
    import numpy as np

    import nst_lib  # nst_lib.FastModel imports TensorFlow: only in the worker that runs the model

    model = nst_lib.FastModel.load(path)
    model.stylize(np.zeros((32, 32, 3), np.float32))  # traces the network once (any size reuses the trace)
    return model


def load_model(path: str | os.PathLike):
    """The model in ``path``, loaded once per worker (again when the file changes)."""
    target = Path(path)
    if not target.is_file():
        raise ModelFileError(f"model {target.name!r} is no longer there; pick it again")
    return _load(str(target), target.stat().st_mtime_ns)


def execute_fast_run(content: Any, model_path: str, model_label: str, size: int,
                     report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> dict[str, Any]:
    """Stylize ``content`` (an ``app_logic.InputImage``) with a trained network; the page's result view."""
    from nst_lib.config import MAX_SIZE, MIN_SIZE
    from nst_lib.images import image_to_png_bytes, to_uint8

    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise InvalidSettingError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px; got {size}")
    start = time.perf_counter()
    model = load_model(model_path)
    loaded = time.perf_counter() - start
    begin = time.perf_counter()
    image = model.stylize(content.source, size=int(size))
    elapsed = time.perf_counter() - begin
    height, width = image.shape[:2]
    file_name = f"{_slug(content.label)}_{_slug(model_label)}_fast.png"
    loading = f" (loading the model took {loaded:.1f} s first)" if loaded > 0.05 else ""
    return {
        "png": image_to_png_bytes(image),
        "image": to_uint8(image),
        "file_name": file_name,
        "summary": (f"Stylized in one pass by the fast network {model_label} in {elapsed:.2f} s{loading}, "
                    f"{width}×{height} px."),
        "seconds": elapsed,
        "chart": None,
        "chart_note": "",
        "cli": f"nst stylize {_quote(content.label)} --model {_quote(model_label + '.keras')} -o {file_name} --size {size}",
        "notes": list(model.notes),
    }


def _slug(text: str) -> str:
    stem = Path(text).stem if "." in text else text
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40] or "image"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
