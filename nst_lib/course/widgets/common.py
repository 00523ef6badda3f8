"""Shared pieces of the course demos (notebooks 00–08): the demo container, example pickers, uploads,
figures shown as PNG images, image slots with a neutral placeholder, friendly error lines, a cached VGG
feature extractor, and :class:`BackgroundRun`, which runs an optimisation in a thread.

Demos show figures as PNG bytes in an :class:`ipywidgets.Image` instead of printing into an
``Output`` widget: the same picture appears in JupyterLab, in VS Code and in a headless test, where
``demo.some_view.value`` can be decoded and measured. An ``Image`` whose value is empty bytes draws a
broken-image icon in the browser, so every image slot starts with :func:`placeholder_png` instead.

Long runs never block the kernel: a button click or a slider move is only handled while the kernel is
free, so :class:`BackgroundRun` calls :func:`nst_lib.stylize` in a daemon thread, forwards its progress to
the demo (with throttled preview images), turns Stop into the callback's ``True`` (``stylize`` then
returns its best image), lets a newer start cancel an older run, and shows an exception as one line.
"""
from __future__ import annotations

import functools
import html
import io
import threading
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ... import data
from ...backbone import FeatureExtractor, layer_names
from ...config import pick
from ...errors import InvalidImageError, NSTError
from ...images import image_to_png_bytes, load_image
from ...weights import resolve_weights

__all__ = [
    "BackgroundDemo",
    "DemoJob",
    "run_stop_buttons",
    "Demo",
    "BackgroundRun",
    "Run",
    "placeholder_png",
    "image_slot",
    "show_png",
    "decode_upload",
    "ImageSource",
    "UPLOADED",
    "example_options",
    "load_example",
    "figure_to_png",
    "png_size",
    "error_html",
    "stats_table_html",
    "feature_extractor",
    "weights_note",
    "notes_html",
    "demo_size",
    "has_picture",
    "upload_files",
]

#: Default long side of the images the demos work on (tiny in fast mode, so tests stay quick).
DEMO_SIZE_REAL = 256
DEMO_SIZE_FAST = 64


def demo_size() -> int:
    """The demos' working image size: 256 px, or 64 px with ``NST_FAST=1``."""
    return pick(DEMO_SIZE_REAL, DEMO_SIZE_FAST)


# ---------------------------------------------------------------------------------------- examples
def example_options(kinds: Sequence[str] = ("content", "style")) -> list[tuple[str, str]]:
    """Dropdown options ``(label, key)`` for the bundled examples and the photos in ``images/yours/``;
    keys look like ``"content:astronaut"`` or ``"yours:me"``."""
    options: list[tuple[str, str]] = []
    if "content" in kinds:
        options += [(f"{name} (photo)", f"content:{name}") for name in data.list_content_images()]
    if "style" in kinds:
        options += [(f"{name} (style)", f"style:{name}") for name in data.list_style_images()]
    # photos dropped into images/yours/ are offered wherever photos or styles are
    options += [(f"{name} (yours)", f"yours:{name}") for name in data.list_your_images()]
    return options


@functools.lru_cache(maxsize=32)
def _load_example_cached(key: str, size: int | None) -> np.ndarray:
    kind, _, name = key.partition(":")
    if kind == "content":
        image = data.content_image(name, size)
    elif kind == "style":
        image = data.style_image(name, size)
    elif kind == "yours":
        image = data.your_image(name, size)
    else:
        raise ValueError(f"example keys look like 'content:NAME', 'style:NAME' or 'yours:NAME'; got {key!r}")
    image.setflags(write=False)  # shared between demos through the cache: nobody may change it
    return image


def load_example(key: str, size: int | None = None) -> np.ndarray:
    """An example image (key from :func:`example_options`), long side ``size`` (cached, read-only).

    Your photos are read afresh each time: a file replaced under the same name must not show the old one."""
    if key.startswith("yours:"):
        return _load_example_cached.__wrapped__(key, size)
    return _load_example_cached(key, size)


# ----------------------------------------------------------------------------------------- figures
def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a Matplotlib figure to PNG bytes (for an ``ipywidgets.Image``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes, e.g. of ``demo.result_view.value`` (used by the tests)."""
    with Image.open(io.BytesIO(png)) as image:
        return image.size


# ------------------------------------------------------------------------------------- image slots
@functools.lru_cache(maxsize=32)
def placeholder_png(width: int = 1, height: int = 1, text: str = "") -> bytes:
    """A neutral placeholder for an image slot that has no picture yet.

    ``placeholder_png()`` is one transparent pixel (the slot shows nothing); with a size it is a light grey
    box with a thin border and an optional grey caption (e.g. "the result appears here").
    """
    from PIL import ImageDraw

    if width <= 1 and height <= 1:
        image = Image.new("RGBA", (1, 1), (255, 255, 255, 0))
    else:
        image = Image.new("RGB", (int(width), int(height)), (243, 243, 243))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width - 1, height - 1), outline=(205, 205, 205))
        if text:
            left, top, right, bottom = draw.textbbox((0, 0), text)
            draw.text(((width - (right - left)) / 2, (height - (bottom - top)) / 2), text, fill=(140, 140, 140))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_slot(width: int | None = None, height: int | None = None, text: str = "") -> widgets.Image:
    """An ``ipywidgets.Image`` for PNG bytes that starts with a placeholder, never with empty bytes.

    Args:
        width: display width in pixels; with it the slot shows a grey box of ``width × (height or width)``
            until a picture arrives, without it the slot shows nothing (one transparent pixel).
        text: the grey box's caption.
    """
    placeholder = placeholder_png(width or 1, (height or width or 1), text if width else "")
    layout = widgets.Layout(width=f"{width}px") if width else widgets.Layout()
    view = widgets.Image(value=placeholder, format="png", layout=layout)
    view.placeholder = placeholder  # show_png(view, None) goes back to it
    return view


def show_png(view: widgets.Image, image: np.ndarray | bytes | None) -> None:
    """Show an (H, W, 3) [0, 1] image or PNG bytes in ``view``; ``None`` puts the placeholder back."""
    if image is None or (isinstance(image, (bytes, bytearray)) and not image):
        view.value = getattr(view, "placeholder", None) or placeholder_png()
    elif isinstance(image, (bytes, bytearray)):
        view.value = bytes(image)
    else:
        view.value = image_to_png_bytes(image)


def has_picture(view: widgets.Image) -> bool:
    """True when ``view`` shows a picture rather than its placeholder."""
    return bool(view.value) and view.value != getattr(view, "placeholder", placeholder_png())


# ----------------------------------------------------------------------------------------- uploads
def upload_files(value: Any) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of every file in a ``FileUpload`` value (ipywidgets 8: a tuple of dicts; 7: a dict)."""
    if not value:
        return []
    files = value if isinstance(value, (tuple, list)) else list(value.values())
    return [(str(f.get("name", "upload")), bytes(f["content"])) for f in files]


def decode_upload(value: Any, size: int | None = None) -> tuple[np.ndarray, str] | None:
    """The first file of a ``FileUpload`` value as ``(image, file name)``, or ``None`` if it is empty.

    The bytes go through :func:`nst_lib.load_image` (long side ``size`` if given), which refuses a
    non-image with a one-line message; here that message names the file (built from the error's fields,
    :meth:`~nst_lib.errors.NSTError.restated`).

    Raises:
        InvalidImageError: the file is not an image nst_lib can read (the message says why).
    """
    files = upload_files(value)
    if not files:
        return None
    name, content = files[0]
    try:
        return load_image(content, size), name
    except InvalidImageError as exc:
        raise exc.restated(f"'{name}'") from None


#: The picker value meaning "use the uploaded file".
UPLOADED = "upload"


class ImageSource:
    """A picker of bundled examples (or other choices) with an "uploaded file" entry and a FileUpload.

    An upload is checked at once (by ``validate``, default :func:`nst_lib.load_image`): a bad file gives
    one line in ``status`` and changes nothing; a good one selects "uploaded file", which calls the
    observers like any other choice. Observers registered with :meth:`observe` are called on every change.

    Args:
        description: the picker's label, e.g. ``"content"``; the upload button says ``"<description> file"``.
        options: ``(label, value)`` pairs of the other choices (e.g. from :func:`example_options`).
        value: the initial choice.
        status: the demo's status line (for upload errors and "uploaded …" notes).
        validate: called with the file's bytes; raises for a file the demo cannot use.
    """

    def __init__(self, description: str, options: Sequence[tuple[str, str]], value: str, status: widgets.HTML,
                 *, validate: Callable[[bytes], Any] | None = None, upload_label: str = "uploaded file"):
        self.description = description
        self.picker = widgets.Dropdown(options=[*options, (upload_label, UPLOADED)], value=value,
                                       description=description)
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description=f"{description} file")
        self.status = status
        self.validate = validate or _validate_image
        self.file_name: str | None = None
        self.content: bytes | None = None
        self.digest: str | None = None
        self._images: dict[int | None, np.ndarray] = {}
        self._observers: list[Callable[[Any], None]] = []
        #: True once this source wrote to the status line (an upload's message or refusal); the demo clears it
        #: when a run starts, and keeps the message until then
        self.reported = False
        self.upload.observe(self._on_upload, names="value")
        self.picker.observe(self._changed, names="value")

    def observe(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(change)`` whenever the choice or the uploaded file changes."""
        self._observers.append(callback)

    def _changed(self, change: Any = None) -> None:
        for callback in self._observers:
            callback(change)

    def _on_upload(self, change: Mapping[str, Any]) -> None:
        files = upload_files(change["new"])
        if not files:
            return
        name, content = files[0]
        try:
            self.validate(content)
        except Exception as exc:  # noqa: BLE001 - any unusable file is one line; the old choice stays
            self.status.value = error_html(exc, about=name)
            self.reported = True
            return
        import hashlib

        self.file_name, self.content = name, content
        self.digest = hashlib.sha1(content).hexdigest()[:12]
        self._images.clear()
        self.status.value = f"Uploaded {html.escape(name)} as the {html.escape(self.description)}."
        self.reported = True
        if self.picker.value == UPLOADED:
            self._changed()  # a new file under the same choice
        else:
            self.picker.value = UPLOADED

    @property
    def uploaded(self) -> bool:
        """True when the uploaded file is the current choice."""
        return self.picker.value == UPLOADED

    @property
    def value(self) -> str:
        """The current choice: an option's value, or ``"upload:<digest>"`` for the uploaded file."""
        return f"{UPLOADED}:{self.digest}" if self.uploaded else self.picker.value

    @property
    def label(self) -> str:
        """A short name: the example's name or the uploaded file's name."""
        if self.uploaded:
            return self.file_name or "no file yet"
        return str(self.picker.value).split(":", 1)[-1]

    def uploaded_bytes(self) -> bytes:
        """The uploaded file's bytes.

        Raises:
            ValueError: nothing was uploaded yet (the message says which button to use).
        """
        if self.content is None:
            raise ValueError(f"no {self.description} file uploaded yet; use the '{self.upload.description}' "
                             "button or pick another entry")
        return self.content

    def image(self, size: int | None = None) -> np.ndarray:
        """The chosen image (long side ``size``): a bundled example (``kind:name`` values) or the upload."""
        if not self.uploaded:
            return load_example(self.picker.value, size)
        if size not in self._images:
            self._images[size] = load_image(self.uploaded_bytes(), size)
            self._images[size].setflags(write=False)
        return self._images[size]


def _validate_image(content: bytes) -> None:
    load_image(content)


# -------------------------------------------------------------------------------------------- text
def error_html(exc: BaseException, about: str | None = None) -> str:
    """One friendly line for an error; nst_lib's own errors already say what was wrong. ``about`` (e.g. an
    uploaded file's name) names what the error is about: an :class:`NSTError`'s sentence is built from its
    fields with ``'about'`` as the subject (:meth:`~nst_lib.errors.NSTError.sentence`; the library saw only
    bytes), anything else gets ``about:`` in front."""
    if isinstance(exc, NSTError):
        text = exc.sentence(None if about is None else f"'{about}'")
    else:
        text = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        text = text if about is None else f"{about}: {text}"
    return f"<span style='color:#b00020'>⚠ {html.escape(text)}</span>"


def stats_table_html(header: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """A small HTML table (numbers formatted to 4 significant digits)."""

    def cell(value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.4g}"
        return html.escape(str(value))

    head = "".join(f"<th style='padding:0 8px'>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:0 8px;text-align:right'>{cell(v)}</td>" for v in row) + "</tr>"
        for row in rows
    )
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tr>{head}</tr>{body}</table>"


# -------------------------------------------------------------------------------------- backbone
@functools.lru_cache(maxsize=1)
def feature_extractor():
    """One extractor for every convolution layer of the backbone that ``weights='imagenet'`` resolves to.

    Offline without VGG19 weights this is the ImageNet VGG16 (13 layers); with VGG19 weights, all 16.
    The weights are resolved once; nst_lib gives its substitution notice once per process, and
    :func:`weights_note` says which network is used in every demo's status line.
    """
    info = resolve_weights("vgg19")
    return FeatureExtractor(layer_names(info.backbone), backbone="vgg19", weights=info)


def notes_html(result: Any) -> str:
    """The run's one-line notices (:attr:`nst_lib.Result.notes`, e.g. a mask with no effect) as " Note: …."
    sentences, leaving out the VGG16-for-VGG19 notice, which every demo's status already names."""
    try:
        weights_notice = resolve_weights(result.config.backbone, result.config.weights, warn=False).notice
    except Exception:  # noqa: BLE001 - only used to leave one note out
        weights_notice = None
    notes = [note for note in getattr(result, "notes", []) or [] if note != weights_notice]
    return "".join(f" Note: {html.escape(note.rstrip('.'))}." for note in notes)


def weights_note() -> str:
    """A short line saying which network the demo uses (VGG16 stands in for VGG19 offline)."""
    info = feature_extractor().weights_info
    return html.escape(info.summary())


# ------------------------------------------------------------------------------------------- demo
class Demo(widgets.VBox):
    """A demo: a title, rows of controls and views, and a status line (made here, or passed in when
    controls built before the demo, such as an :class:`ImageSource`, report to it).

    Controls and views are also attributes of the demo (``demo.size_slider``, ``demo.preview``), so a
    test can drive it headlessly: set ``.value`` or call ``.click()``, then read what it shows.
    """

    def __init__(self, title: str, rows: Sequence[Sequence[widgets.Widget] | widgets.Widget],
                 status: widgets.HTML | None = None, *, controls: Mapping[str, Any] | None = None, **kwargs: Any):
        for name, control in (controls or {}).items():  # demo.size_slider, demo.preview, …
            setattr(self, name, control)
        self.error_shown = False  # True once run() showed an error in the status line
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.status = status if status is not None else widgets.HTML("")
        children: list[widgets.Widget] = [self.title]
        for row in rows:
            children.append(widgets.HBox(list(row)) if isinstance(row, (list, tuple)) else row)
        children.append(self.status)
        super().__init__(children=children, **kwargs)

    def run(self, action: Callable[[], Any]) -> Any:
        """Run ``action``; show an error as one line in the status instead of a traceback."""
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - a demo shows every failure as one line, never a traceback
            self.status.value = error_html(exc)
            self.error_shown = True
            return None


def run_stop_buttons(run_label: str = "Run", run_tooltip: str = "") -> tuple[widgets.Button, widgets.Button,
                                                                              widgets.IntProgress]:
    """The Run and Stop buttons and the progress bar of a background demo, as every demo shows them (Stop
    disabled until a run starts; :meth:`BackgroundDemo.wire_run_stop` wires them)."""
    run_button = widgets.Button(description=run_label, icon="play", button_style="primary", tooltip=run_tooltip)
    stop_button = widgets.Button(description="Stop", icon="stop", button_style="warning", disabled=True,
                                 tooltip="stop now and keep the best image so far")
    progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
    return run_button, stop_button, progress


class DemoJob:
    """What a Run click starts (:meth:`BackgroundDemo.wire_run_stop`): ``job(callback) -> result``, the run's
    context (``steps`` for the progress bar, and whatever the demo's handlers read back from ``run.context``)
    and how often a preview may be drawn (every ``preview_every`` iterations at most)."""

    def __init__(self, job: Callable[[Callable[[Any], bool]], Any], *, preview_every: int = 1, **context: Any):
        self.job, self.preview_every, self.context = job, preview_every, context


class BackgroundDemo(Demo):
    """A :class:`Demo` whose runs happen in ``self.background_run`` (a :class:`BackgroundRun` the demo makes,
    a subclass in its ``__init__`` or a demo function right after building it): the kernel stays free,
    ``stop`` keeps the best image so far, ``wait`` is for tests and scripts. Every demo that runs in the
    background is one of these; :meth:`wire_run_stop` gives it the Run/Stop buttons every such demo has."""

    background_run: "BackgroundRun"

    def wire_run_stop(self, run_button: widgets.Button, stop_button: widgets.Button,
                      prepare: Callable[[], DemoJob | None], *, progress: widgets.IntProgress | None = None,
                      preview_view: widgets.Image | None = None, on_start: Callable[[Run], None] | None = None,
                      on_progress: ProgressHandler | None = None, on_result: Callable[[Run, Any], None] | None = None,
                      restart: bool = False, **run_options: Any) -> "BackgroundRun":
        """Wire Run, Stop, the progress bar and the live preview to a new ``self.background_run``.

        The part every background demo shares, written once: a Run click calls ``prepare()`` (reading the
        controls; an error becomes the status line) and starts the :class:`DemoJob` it returns (while a run is
        in progress a click does nothing, unless ``restart``: then the new run replaces it); during a run Run
        is disabled and Stop enabled, the progress bar counts ``run.context["steps"]`` and each preview image
        is shown in ``preview_view``; Stop ends the run after its iteration, keeping the best image so far.
        ``on_start``, ``on_progress`` and ``on_result`` add what the demo itself shows (called after the
        shared part); ``run_options`` go to :class:`BackgroundRun` (``background``, ``name``,
        ``preview_interval``).

        Returns:
            The :class:`BackgroundRun`, also ``self.background_run``; :meth:`start_job` does what Run does.
        """
        def started(run: Run) -> None:
            run_button.disabled, stop_button.disabled = True, False
            if progress is not None:
                progress.max, progress.value = run.context["steps"], 0
            if on_start is not None:
                on_start(run)

        def progressed(run: Run, event: Any, image: np.ndarray | None) -> None:
            if progress is not None:
                progress.value = min(event.iteration, run.context["steps"])
            if image is not None and preview_view is not None:
                show_png(preview_view, image)
            if on_progress is not None:
                on_progress(run, event, image)

        def ended(run: Run) -> None:
            run_button.disabled, stop_button.disabled = False, True

        runner = BackgroundRun(self.status, on_start=started, on_progress=progressed, on_result=on_result,
                               on_end=ended, **run_options)
        self.background_run = runner
        self._prepare_job, self._restart = prepare, restart
        run_button.on_click(lambda _: self.start_job())
        stop_button.on_click(lambda _: runner.stop())
        return runner

    def start_job(self) -> "Run | None":
        """What Run does (after :meth:`wire_run_stop`): read the controls and start the run; returns its
        :class:`Run`, or ``None`` when a run is in progress (and ``restart`` is off) or the controls gave an
        error (shown as one line in the status)."""
        if self.background_run.running and not self._restart:
            return None
        job = self.run(self._prepare_job)
        if job is None:
            return None
        return self.background_run.start(job.job, preview_every=job.preview_every, **job.context)

    @property
    def running(self) -> bool:
        """True while a run is in progress."""
        return self.background_run.running

    def stop(self) -> None:
        """Ask the run to stop after the current iteration; it keeps the best image so far."""
        self.background_run.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run to finish; True if none is running any more."""
        return self.background_run.wait(timeout)


# ------------------------------------------------------------------------------- background runs
class Run:
    """One job started by :class:`BackgroundRun`: its flags, timings and outcome (read by demos and tests).

    Attributes:
        context: the keyword arguments given to :meth:`BackgroundRun.start` (e.g. the settings, a cache key).
        stop_requested: set by Stop; the job's callback then returns ``True`` and the core keeps its best image.
        cancelled: set when a newer start replaced this run; its results are not shown.
        requested: ``time.perf_counter()`` when :meth:`BackgroundRun.start` was called (the slider moved).
        started: ``time.perf_counter()`` when the job itself began (after any older run let go).
        first_preview_seconds: seconds from ``requested`` to the first preview image (``None`` before it):
            what the learner waits for after a change.
        previews: preview images the demo has drawn (counted after its handler returned).
        iterations: progress events seen.
        result: what the job returned (``None`` while running, after an error or when cancelled first).
        error: the exception the job raised, if any.
        done: set when the job has ended, however it ended.
    """

    def __init__(self, number: int, context: Mapping[str, Any]):
        self.number = number
        self.context = dict(context)
        self.stop_requested = threading.Event()
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.requested = time.perf_counter()
        self.started: float | None = None
        self.first_preview_seconds: float | None = None
        self.previews = 0
        self.iterations = 0
        self.result: Any = None
        self.error: BaseException | None = None
        self._last_preview = -float("inf")

    @property
    def should_stop(self) -> bool:
        """True once Stop was pressed or a newer run replaced this one."""
        return self.stop_requested.is_set() or self.cancelled.is_set()

    @property
    def stopped(self) -> bool:
        """True if the run ended because Stop was pressed (its result is the best image so far)."""
        return self.stop_requested.is_set() and not self.cancelled.is_set()


ProgressHandler = Callable[[Run, Any, "np.ndarray | None"], None]


class BackgroundRun:
    """Runs one optimisation at a time for a demo, in a daemon thread, and reports to the demo.

    A *job* is a function ``job(callback) -> result`` that calls :func:`nst_lib.stylize` (or anything that
    calls ``callback(event)`` with an :class:`nst_lib.optimize.Iterate` after every iteration and stops
    when it returns ``True``). The handlers below are called from the run's thread, only while that run
    is the current one (a cancelled run never touches the demo again), one at a time:

    * ``on_start(run)``: the job is about to start (disable Run, enable Stop, say "loading VGG…");
    * ``on_progress(run, event, image)``: after every iteration; ``image`` is the current (H, W, 3) image
      when a preview is due (the first iteration, then at most every ``preview_interval`` seconds and
      every ``preview_every`` iterations), else ``None``;
    * ``on_result(run, result)``: the job returned (``run.stopped`` says whether Stop ended it);
    * ``on_error(run, exc)``: the job raised; by default one friendly line in ``status``;
    * ``on_end(run)``: always last (re-enable Run, disable Stop).

    Stop sets a flag that the callback returns, so the core ends the run and keeps the best image. A newer
    :meth:`start` cancels the older run; the new thread first waits for the old one to let go (one
    iteration at most), so two runs never compete for the two cores or for one traced graph.

    Args:
        status: the demo's status line (errors and "stopping…" go there).
        preview_interval: least number of seconds between two preview images (PNG encoding and sending
            an image costs time; the first preview is never delayed).
        background: ``False`` runs the job in the caller's thread (for tests that want to wait for it).
    """

    def __init__(
        self,
        status: widgets.HTML | None = None,
        *,
        on_start: Callable[[Run], None] | None = None,
        on_progress: ProgressHandler | None = None,
        on_result: Callable[[Run, Any], None] | None = None,
        on_error: Callable[[Run, BaseException], None] | None = None,
        on_end: Callable[[Run], None] | None = None,
        preview_interval: float = 0.5,
        background: bool = True,
        name: str = "nst-demo",
    ):
        self.status = status
        self.on_start, self.on_progress, self.on_result = on_start, on_progress, on_result
        self.on_error, self.on_end = on_error, on_end
        self.preview_interval = float(preview_interval)
        self.background = background
        self.name = name
        self.current: Run | None = None
        self.runs_started = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------------------ control
    def start(self, job: Callable[[Callable[[Any], bool]], Any], *, preview_every: int = 1, **context: Any) -> Run:
        """Start ``job`` (cancelling the run in progress, if any) and return its :class:`Run`."""
        with self._lock:
            previous = self.current
            if previous is not None:
                previous.cancelled.set()
            self.runs_started += 1
            run = Run(self.runs_started, context)
            self.current = run
        if self.background:
            run.thread = threading.Thread(target=self._execute, args=(run, previous, job, max(1, int(preview_every))),
                                          name=f"{self.name}-{run.number}", daemon=True)
            run.thread.start()
        else:
            self._execute(run, previous, job, max(1, int(preview_every)))
        return run

    def stop(self) -> bool:
        """Ask the current run to stop after this iteration (it keeps its best image); False if none runs."""
        run = self.current
        if run is None or run.done.is_set():
            return False
        run.stop_requested.set()
        if self.status is not None:
            self.status.value = "Stopping after this iteration; the best image so far will be kept…"
        return True

    def cancel(self) -> None:
        """Cancel the current run without showing anything more from it (e.g. when its settings change)."""
        with self._lock:
            if self.current is not None:
                self.current.cancelled.set()

    @property
    def running(self) -> bool:
        """True while the current run has not ended."""
        run = self.current
        return run is not None and not run.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run to end; True if it has (or if there is none)."""
        run = self.current
        return True if run is None else run.done.wait(timeout)

    # ---------------------------------------------------------------------------------- internals
    def _is_current(self, run: Run) -> bool:
        return self.current is run and not run.cancelled.is_set()

    def _report(self, run: Run, handler: Callable | None, *args: Any) -> None:
        """Call a handler while ``run`` is current; a failing handler becomes the status line."""
        if handler is None:
            return
        with self._lock:
            if not self._is_current(run):
                return
            try:
                handler(run, *args)
            except Exception as exc:  # noqa: BLE001 - drawing must not kill the run's thread silently
                if self.status is not None:
                    self.status.value = error_html(exc)

    def _callback(self, run: Run, preview_every: int) -> Callable[[Any], bool]:
        def callback(event: Any) -> bool:
            if run.should_stop:
                return True
            run.iterations += 1
            image = None
            now = time.perf_counter()
            due = run.previews == 0 or (now - run._last_preview >= self.preview_interval
                                        and event.iteration % preview_every == 0)
            if due and self.on_progress is not None:
                image = event.image()
                run._last_preview = now
            self._report(run, self.on_progress, event, image)
            if image is not None:  # counted once the demo has drawn it: whoever waits for a preview sees it
                run.previews += 1
                if run.first_preview_seconds is None:
                    run.first_preview_seconds = time.perf_counter() - run.requested
            return run.should_stop

        return callback

    def _execute(self, run: Run, previous: Run | None, job: Callable, preview_every: int) -> None:
        try:
            older = previous.thread if previous is not None else None
            if older is not None and older is not threading.current_thread():
                older.join()  # it stops at its next iteration: it was cancelled above
            if run.cancelled.is_set():  # an even newer start came while we waited
                return
            run.started = time.perf_counter()
            self._report(run, self.on_start)
            try:
                run.result = job(self._callback(run, preview_every))
            except Exception as exc:  # noqa: BLE001 - a background thread has nobody else to report to
                run.error = exc
                self._report(run, self.on_error or self._show_error, exc)
            else:
                self._report(run, self.on_result, run.result)
            finally:
                self._report(run, self.on_end)
        finally:
            run.done.set()

    def _show_error(self, run: Run, exc: BaseException) -> None:
        if self.status is not None:
            self.status.value = error_html(exc)
