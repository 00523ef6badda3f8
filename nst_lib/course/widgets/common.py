"""Shared pieces of the course demos (notebooks 00–03): the demo container, example pickers, figures
shown as PNG images, friendly error lines and a cached VGG feature extractor.

Demos show figures as PNG bytes in an :class:`ipywidgets.Image` instead of printing into an
``Output`` widget: the same picture appears in JupyterLab, in VS Code and in a headless test, where
``demo.some_view.value`` can be decoded and measured.
"""
from __future__ import annotations

import functools
import html
import io
import warnings
from typing import Any, Callable, Iterable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ...config import pick
from ...errors import NSTError

__all__ = [
    "Demo",
    "example_options",
    "load_example",
    "figure_to_png",
    "png_size",
    "error_html",
    "stats_table_html",
    "feature_extractor",
    "weights_note",
    "demo_size",
]

#: Default long side of the images the demos work on (tiny in fast mode, so tests stay quick).
DEMO_SIZE_REAL = 256
DEMO_SIZE_FAST = 64


def demo_size() -> int:
    """The demos' working image size: 256 px, or 64 px with ``NST_FAST=1``."""
    return pick(DEMO_SIZE_REAL, DEMO_SIZE_FAST)


# ---------------------------------------------------------------------------------------- examples
def example_options(kinds: Sequence[str] = ("content", "style")) -> list[tuple[str, str]]:
    """Dropdown options ``(label, key)`` for the bundled examples; keys look like ``"content:astronaut"``."""
    from ... import data

    options: list[tuple[str, str]] = []
    if "content" in kinds:
        options += [(f"{name} (photo)", f"content:{name}") for name in data.list_content_images()]
    if "style" in kinds:
        options += [(f"{name} (style)", f"style:{name}") for name in data.list_style_images()]
    return options


@functools.lru_cache(maxsize=32)
def _load_example_cached(key: str, size: int | None) -> np.ndarray:
    from ... import data

    kind, _, name = key.partition(":")
    if kind == "content":
        image = data.content_image(name, size)
    elif kind == "style":
        image = data.style_image(name, size)
    else:
        raise ValueError(f"example keys look like 'content:NAME' or 'style:NAME'; got {key!r}")
    image.setflags(write=False)  # shared between demos through the cache: nobody may change it
    return image


def load_example(key: str, size: int | None = None) -> np.ndarray:
    """A bundled example image (key from :func:`example_options`), long side ``size`` (cached, read-only)."""
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


# -------------------------------------------------------------------------------------------- text
def error_html(exc: BaseException) -> str:
    """One friendly line for an error; nst_lib's own errors already say what was wrong."""
    if isinstance(exc, (NSTError, ValueError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
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
    The substitution notice is not repeated here: :func:`weights_note` says it in the demo.
    """
    from ...backbone import BackboneSubstitutionWarning, FeatureExtractor, layer_names, resolve_weights

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackboneSubstitutionWarning)
        backbone = resolve_weights("vgg19").backbone
        return FeatureExtractor(layer_names(backbone), backbone="vgg19")


def weights_note() -> str:
    """A short line saying which network the demo uses (VGG16 stands in for VGG19 offline)."""
    info = feature_extractor().weights_info
    return html.escape(info.describe())


# ------------------------------------------------------------------------------------------- demo
class Demo(widgets.VBox):
    """A demo: a title, rows of controls and views, and a status line.

    Controls and views are also attributes of the demo (``demo.size_slider``, ``demo.preview``), so a
    test can drive it headlessly: set ``.value`` or call ``.click()``, then read what it shows.
    """

    def __init__(self, title: str, rows: Sequence[Sequence[widgets.Widget] | widgets.Widget], **kwargs: Any):
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.status = widgets.HTML("")
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
            return None
