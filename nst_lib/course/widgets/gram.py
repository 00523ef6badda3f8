"""Demo for notebook 03: compare the Gram matrices of two images (bundled or uploaded) at a layer, and
their style distance.

Pure functions (:func:`gram_matrices`, :func:`style_distance`, :func:`render_gram_comparison`) do the
work; :func:`gram_demo` only wires widgets to them.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...gram import gram_matrix
from ...losses import style_loss
from ...config import GATYS_STYLE_LAYERS
from ..viz import gram_heatmap
from .common import (
    Demo,
    ImageSource,
    demo_size,
    example_options,
    feature_extractor,
    figure_to_png,
    image_slot,
    stats_table_html,
    weights_note,
)
from .features import example_features, source_features

__all__ = ["gram_matrices", "style_distance", "render_gram_comparison", "gram_demo"]


def gram_matrices(features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gram matrices (:func:`nst_lib.gram_matrix`) of feature maps: ``{layer: (h, w, C)}`` → ``{layer: (C, C)}``."""
    return {layer: gram_matrix(value).numpy() for layer, value in features.items()}


def style_distance(features_a: np.ndarray, gram_b: np.ndarray) -> float:
    """mean((gram(F_a) − G_b)²): :func:`nst_lib.style_loss` at one layer with weight 1.

    Args:
        features_a: (h, w, C) feature maps of image A at one layer.
        gram_b: (C, C) Gram matrix of image B at the same layer.
    """
    import tensorflow as tf


    loss, _ = style_loss({"layer": tf.constant(features_a[np.newaxis])}, {"layer": tf.constant(gram_b)},
                         {"layer": 1.0})
    return float(loss)


@functools.lru_cache(maxsize=16)
def _example_grams(key: str, size: int) -> dict[str, np.ndarray]:
    return gram_matrices(example_features(key, size))


def source_grams(source: ImageSource, size: int) -> dict[str, np.ndarray]:
    """Gram matrices of what an :class:`ImageSource` shows (cached for examples)."""
    if not source.uploaded:
        return _example_grams(source.picker.value, size)
    return gram_matrices(source_features(source, size))


def render_gram_comparison(image_a: np.ndarray, image_b: np.ndarray, gram_a: np.ndarray, gram_b: np.ndarray,
                           layer: str, labels: tuple[str, str] = ("A", "B"), max_channels: int = 64) -> Figure:
    """Both images and, under each, the heat map of its Gram matrix at ``layer``."""
    fig = Figure(figsize=(8.4, 7.0), layout="constrained")
    axes = fig.subplots(2, 2)
    for column, (image, gram, label) in enumerate(zip((image_a, image_b), (gram_a, gram_b), labels)):
        axes[0, column].imshow(np.clip(image, 0, 1))
        axes[0, column].set_title(label, fontsize=10)
        axes[0, column].axis("off")
        gram_heatmap(gram, title=f"Gram of {label} at {layer}", max_channels=max_channels, ax=axes[1, column])
    return fig


def gram_demo(image_a: str = "swirls", image_b: str = "stained_glass", layer: str = "block1_conv1") -> Demo:
    """Pick (or upload) two images and a layer; compare their Gram matrices and their style distance.

    Attributes: ``source_a``, ``source_b`` (:class:`ImageSource`), ``image_a_picker``, ``image_b_picker``,
    ``upload_a``, ``upload_b`` (their widgets), ``layer_picker`` (controls); ``comparison_view`` (PNG),
    ``distance_view`` (HTML), ``distance`` (float, at the chosen layer), ``status``.
    """
    extractor = feature_extractor()
    options = example_options()

    def key_for(name: str) -> str:
        return next((key for _, key in options if key.endswith(f":{name}")), options[0][1])

    status = widgets.HTML("")
    source_a = ImageSource("image A", options, key_for(image_a), status)
    source_b = ImageSource("image B", options, key_for(image_b), status)
    layer_picker = widgets.Dropdown(options=list(extractor.layers),
                                    value=layer if layer in extractor.layers else extractor.layers[0],
                                    description="layer")
    comparison_view = image_slot()
    distance_view = widgets.HTML()
    demo = Demo("Gram matrices and style distance",
                [[source_a.picker, source_a.upload], [source_b.picker, source_b.upload], [layer_picker],
                 distance_view, comparison_view], status=status)
    demo.source_a, demo.source_b = source_a, source_b
    demo.image_a_picker, demo.image_b_picker = source_a.picker, source_b.picker
    demo.upload_a, demo.upload_b = source_a.upload, source_b.upload
    demo.layer_picker = layer_picker
    demo.comparison_view, demo.distance_view = comparison_view, distance_view
    demo.distance = float("nan")

    def refresh(_: Any = None) -> None:
        def draw() -> None:
            size = demo_size()
            features_a = source_features(source_a, size)
            grams_a = source_grams(source_a, size)
            grams_b = source_grams(source_b, size)
            layer_name = layer_picker.value
            demo.distance = style_distance(features_a[layer_name], grams_b[layer_name])
            labels = (source_a.label, source_b.label)
            comparison_view.value = figure_to_png(render_gram_comparison(
                source_a.image(size), source_b.image(size), grams_a[layer_name], grams_b[layer_name], layer_name,
                labels))
            rows = [(name, style_distance(features_a[name], grams_b[name])) for name in GATYS_STYLE_LAYERS
                    if name in grams_a]
            distance_view.value = (
                f"Style distance at <b>{layer_name}</b>: mean((G<sub>A</sub> − G<sub>B</sub>)²) = "
                f"<b>{demo.distance:.4g}</b>"
                + stats_table_html(("Gatys style layer", "mean((G_A − G_B)²)"), rows, "all five style layers")
            )
            demo.status.value = f"<small>{weights_note()}</small>"

        demo.run(draw)

    source_a.observe(refresh)
    source_b.observe(refresh)
    layer_picker.observe(refresh, names="value")
    refresh()
    return demo
