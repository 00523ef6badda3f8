"""Figures: image grids, feature-map grids, Gram heat maps and loss curves (used in every notebook).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot's global state, so
widgets can redraw without leaking figures and notebooks show it by leaving it as the cell's last
expression. Pure helpers (:func:`select_channels`, :func:`normalize_map`) are tested on their own.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _as_numpy(x) -> np.ndarray:
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or min(n, 4)
    return int(np.ceil(n / ncols)), ncols


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    size: float = 3.0,
) -> Figure:
    """Images side by side (or in rows of ``ncols``) with optional titles."""
    images = [np.clip(_as_numpy(im).squeeze(), 0, 1) for im in images]
    rows, cols = _grid(len(images), ncols)
    fig = Figure(figsize=(size * cols, size * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray" if images[i].ndim == 2 else None, vmin=0, vmax=1)
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=10)
    return fig


def image_table(
    rows: Sequence[Sequence[np.ndarray]],
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    size: float = 2.5,
) -> Figure:
    """A table of images, e.g. Gatys Fig. 1 (layers × reconstructions) or Fig. 4 (ratio grid; CVPR 2016 numbering)."""
    titles = [list(col_labels)] if col_labels is not None else []
    return _image_rows(rows, titles, row_labels, size, height_factor=1.0)


def titled_image_rows(
    rows: Sequence[Sequence[np.ndarray]],
    titles: Sequence[Sequence[str]],
    *,
    row_labels: Sequence[str] | None = None,
    size: float = 2.5,
) -> Figure:
    """Rows of images of different lengths, each image with its own title (e.g. the inputs above a
    row of results, as in the figures of ``nst_lib.course.experiments``)."""
    return _image_rows(rows, titles, row_labels, size, height_factor=1.08)


def _image_rows(rows, titles, row_labels, size: float, height_factor: float) -> Figure:
    nrows, ncols = len(rows), max(len(r) for r in rows)
    fig = Figure(figsize=(size * ncols, size * nrows * height_factor), layout="constrained")
    axes = np.array(fig.subplots(nrows, ncols, squeeze=False))
    for r in range(nrows):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(rows[r]):
                ax.imshow(np.clip(_as_numpy(rows[r][c]).squeeze(), 0, 1))
            if r < len(titles) and c < len(titles[r]) and titles[r][c]:
                ax.set_title(titles[r][c], fontsize=10)
            if row_labels is not None and c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=10)
    return fig


def select_channels(features, how: str | Sequence[int] = "most_active", n: int = 16) -> list[int]:
    """Which channels of (h, w, C) or (1, h, w, C) feature maps to draw.

    Args:
        how: ``"most_active"`` (largest mean activation), ``"first"``, or an explicit list of indices.
        n: how many channels for the named strategies.
    """
    feats = _as_numpy(features)
    feats = feats[0] if feats.ndim == 4 else feats
    channels = feats.shape[-1]
    if not isinstance(how, str):
        picked = [int(c) for c in how]
        bad = [c for c in picked if not 0 <= c < channels]
        if bad:
            raise ValueError(f"channel(s) {bad} out of range; this layer has channels 0…{channels - 1}")
        return picked
    n = max(1, min(n, channels))
    if how == "first":
        return list(range(n))
    if how == "most_active":
        return [int(c) for c in np.argsort(-feats.mean(axis=(0, 1)))[:n]]
    raise ValueError(f"how must be 'most_active', 'first' or a list of channel indices; got {how!r}")


def normalize_map(feature_map: np.ndarray) -> np.ndarray:
    """Scale one feature map to [0, 1] for display (a constant map becomes all zeros)."""
    fmap = np.asarray(feature_map, np.float32)
    low, high = float(fmap.min()), float(fmap.max())
    return np.zeros_like(fmap) if high - low < 1e-12 else (fmap - low) / (high - low)


def feature_map_grid(
    features,
    channels: str | Sequence[int] = "most_active",
    n: int = 16,
    *,
    title: str | None = None,
    ncols: int | None = None,
    cmap: str = "viridis",
    size: float = 1.8,
) -> Figure:
    """Draw feature maps of one layer as a grid of small images (each scaled to its own range)."""
    feats = _as_numpy(features)
    feats = feats[0] if feats.ndim == 4 else feats
    picked = select_channels(feats, channels, n)
    rows, cols = _grid(len(picked), ncols or min(len(picked), 8))
    fig = Figure(figsize=(size * cols, size * rows + (0.4 if title else 0)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(picked):
            ax.imshow(normalize_map(feats[..., picked[i]]), cmap=cmap, vmin=0, vmax=1)
            ax.set_title(f"#{picked[i]}", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def gram_heatmap(gram, *, title: str | None = None, max_channels: int = 64, ax=None) -> Figure:
    """A Gram matrix (C, C) as a heat map (the first ``max_channels`` channels, log-scaled)."""
    g = _as_numpy(gram)
    g = g[0] if g.ndim == 3 else g
    g = g[:max_channels, :max_channels]
    fig = ax.figure if ax is not None else Figure(figsize=(4.2, 3.6), layout="constrained")
    ax = ax or fig.subplots()
    shown = ax.imshow(np.log10(np.maximum(g, 0) + 1.0), cmap="magma")
    fig.colorbar(shown, ax=ax, label="log10(1 + G)")
    ax.set_xlabel("channel")
    ax.set_ylabel("channel")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def loss_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]] | Sequence[Mapping[str, float]],
    *,
    parts: Sequence[str] = ("total",),
    x: str = "iteration",
    log: bool = True,
    title: str | None = None,
) -> Figure:
    """Loss against iterations (or ``x="elapsed"`` seconds) for one run or several labelled runs."""
    if not isinstance(histories, Mapping):
        histories = {"": histories}
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    for label, history in histories.items():
        for part in parts:
            xs = [h[x] for h in history if part in h]
            ys = [h[part] for h in history if part in h]
            name = " ".join(p for p in (label, part if len(parts) > 1 or not label else "") if p)
            ax.plot(xs, ys, label=name or part)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("seconds" if x == "elapsed" else x)
    if x == "iteration":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "iteration 1.25" ticks on short runs
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def figure_to_array(fig: Figure) -> np.ndarray:
    """Render a figure to an (H, W, 3) uint8 array (for tests and the web page)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
