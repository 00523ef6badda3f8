"""Demo for notebook 03: compare the Gram matrices of two images at a layer, and their style distance.

Pure functions (:func:`gram_matrices`, :func:`style_distance`, :func:`render_gram_comparison`) do the
work; :func:`gram_demo` only wires widgets to them.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...config import GATYS_STYLE_LAYERS
from ..viz import gram_heatmap
from .common import (
    Demo,
    demo_size,
    example_options,
    feature_extractor,
    figure_to_png,
    load_example,
    stats_table_html,
    weights_note,
)
from .features import example_features

__all__ = ["gram_matrices", "style_distance", "render_gram_comparison", "gram_demo"]


def gram_matrices(features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gram matrices (:func:`nst_lib.gram_matrix`) of feature maps: ``{layer: (h, w, C)}`` → ``{layer: (C, C)}``."""
    from ...gram import gram_matrix

    return {layer: gram_matrix(value).numpy() for layer, value in features.items()}


def style_distance(features_a: np.ndarray, gram_b: np.ndarray) -> float:
    """mean((gram(F_a) − G_b)²): :func:`nst_lib.style_loss` at one layer with weight 1.

    Args:
        features_a: (h, w, C) feature maps of image A at one layer.
        gram_b: (C, C) Gram matrix of image B at the same layer.
    """
    import tensorflow as tf

    from ...losses import style_loss

    loss, _ = style_loss({"layer": tf.constant(features_a[np.newaxis])}, {"layer": tf.constant(gram_b)},
                         {"layer": 1.0})
    return float(loss)


@functools.lru_cache(maxsize=16)
def _example_grams(key: str, size: int) -> dict[str, np.ndarray]:
    return gram_matrices(example_features(key, size))


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
    """Pick two images and a layer; compare their Gram matrices and their style distance.

    Attributes: ``image_a_picker``, ``image_b_picker``, ``layer_picker`` (controls); ``comparison_view``
    (PNG), ``distance_view`` (HTML), ``distance`` (float, at the chosen layer), ``status``.
    """
    extractor = feature_extractor()
    options = example_options()

    def key_for(name: str) -> str:
        return next((key for _, key in options if key.endswith(f":{name}")), options[0][1])

    image_a_picker = widgets.Dropdown(options=options, value=key_for(image_a), description="image A")
    image_b_picker = widgets.Dropdown(options=options, value=key_for(image_b), description="image B")
    layer_picker = widgets.Dropdown(options=list(extractor.layers),
                                    value=layer if layer in extractor.layers else extractor.layers[0],
                                    description="layer")
    comparison_view = widgets.Image(format="png")
    distance_view = widgets.HTML()
    demo = Demo("Gram matrices and style distance",
                [[image_a_picker, image_b_picker, layer_picker], distance_view, comparison_view])
    demo.image_a_picker, demo.image_b_picker, demo.layer_picker = image_a_picker, image_b_picker, layer_picker
    demo.comparison_view, demo.distance_view = comparison_view, distance_view
    demo.distance = float("nan")

    def refresh(_: Any = None) -> None:
        def draw() -> None:
            size = demo_size()
            features_a = example_features(image_a_picker.value, size)
            grams_a = _example_grams(image_a_picker.value, size)
            grams_b = _example_grams(image_b_picker.value, size)
            layer_name = layer_picker.value
            demo.distance = style_distance(features_a[layer_name], grams_b[layer_name])
            labels = (image_a_picker.value.split(":")[1], image_b_picker.value.split(":")[1])
            comparison_view.value = figure_to_png(render_gram_comparison(
                load_example(image_a_picker.value, size), load_example(image_b_picker.value, size),
                grams_a[layer_name], grams_b[layer_name], layer_name, labels))
            rows = [(name, style_distance(features_a[name], grams_b[name])) for name in GATYS_STYLE_LAYERS
                    if name in grams_a]
            distance_view.value = (
                f"Style distance at <b>{layer_name}</b>: mean((G<sub>A</sub> − G<sub>B</sub>)²) = "
                f"<b>{demo.distance:.4g}</b>"
                + stats_table_html(("Gatys style layer", "mean((G_A − G_B)²)"), rows, "all five style layers")
            )
            demo.status.value = f"<small>{weights_note()}</small>"

        demo.run(draw)

    for control in (image_a_picker, image_b_picker, layer_picker):
        control.observe(refresh, names="value")
    refresh()
    return demo
