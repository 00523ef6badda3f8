"""Demo for notebook 04: move per-layer weights and see every part of the loss change at once.

The expensive part, VGG features of the images, is computed once by :func:`compute_loss_features`;
each slider move only redoes the cheap arithmetic in :func:`compute_loss_parts`, which calls
:func:`nst_lib.content_loss`, :func:`nst_lib.style_loss` and :func:`nst_lib.total_variation_loss`
(no loss is re-implemented here). :func:`render_loss_parts` draws the result; :func:`loss_weights_demo`
only wires sliders to these functions.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...images import resize_to
from ...gram import gram_matrix
from ...losses import content_loss, style_loss, total_variation_loss
from ...config import GATYS_STYLE_LAYERS, normalize_weights
from .common import Demo, demo_size, feature_extractor, figure_to_png, image_slot, load_example, weights_note

__all__ = [
    "CANDIDATES",
    "CONTENT_LAYER_CHOICES",
    "LossFeatures",
    "candidate_images",
    "compute_loss_features",
    "compute_loss_parts",
    "render_loss_parts",
    "loss_parts_html",
    "loss_weights_demo",
]

#: The images whose losses the demo shows, by label.
CANDIDATES = ("content photo", "style image", "50/50 pixel mix", "white noise")
#: Content layers offered by the demo (Keras names; conv4_2 is the paper's, conv5_2 the library default).
CONTENT_LAYER_CHOICES = ("block4_conv2", "block5_conv2")


@dataclass
class LossFeatures:
    """Everything the losses need, computed once: targets and the candidates' feature maps.

    ``content_targets`` and ``candidate_features[name]`` map Keras layer names to (1, h, w, C) tensors;
    ``style_grams`` maps the style layers to (C, C) Gram matrices of the style image.
    """

    content_targets: dict
    style_grams: dict
    candidate_images: dict[str, np.ndarray]
    candidate_features: dict[str, dict]
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]


def candidate_images(content: np.ndarray, style: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The images to score (:data:`CANDIDATES`): the photo, the style image resized to the photo, a pixel
    mix of both, and uniform white noise, all of the photo's shape."""
    height, width = content.shape[:2]
    style_resized = resize_to(style, height, width)
    noise = np.random.default_rng(seed).uniform(0.0, 1.0, content.shape).astype(np.float32)
    return dict(zip(CANDIDATES, (content, style_resized, 0.5 * (content + style_resized), noise)))


def compute_loss_features(
    content: np.ndarray,
    style: np.ndarray,
    *,
    content_layers: Sequence[str] = CONTENT_LAYER_CHOICES,
    style_layers: Sequence[str] = GATYS_STYLE_LAYERS,
    extractor=None,
) -> LossFeatures:
    """Run VGG once on the content, the style and every candidate image (the slow part, about one
    forward pass per image)."""
    extractor = extractor or feature_extractor()
    content_layers = tuple(layer for layer in content_layers if layer in extractor.layers)
    style_layers = tuple(layer for layer in style_layers if layer in extractor.layers)
    candidates = candidate_images(content, style)
    content_feats = extractor(np.asarray(content, np.float32)[np.newaxis])
    # the style targets come from the style image as scored (resized to the photo's shape), so scoring
    # the style image itself gives a style loss of exactly zero
    style_feats = extractor(candidates["style image"][np.newaxis])
    return LossFeatures(
        content_targets={layer: content_feats[layer] for layer in content_layers},
        style_grams={layer: gram_matrix(style_feats[layer])[0] for layer in style_layers},
        candidate_images=candidates,
        candidate_features={name: extractor(image[np.newaxis]) for name, image in candidates.items()},
        content_layers=content_layers,
        style_layers=style_layers,
    )


def compute_loss_parts(
    features: LossFeatures,
    candidate: str,
    *,
    content_layer_weights: Mapping[str, float],
    style_layer_weights: Mapping[str, float],
    content_weight: float,
    style_weight: float,
    tv_weight: float,
) -> dict[str, float]:
    """Every loss term of one candidate, the way :class:`nst_lib.losses.Objective` names them.

    Layer weights are normalised to sum to one (as ``stylize`` does); a layer with weight 0 is left out.

    Returns:
        ``{"content/<layer>": c_l·mean((F−P)²), "style/<layer>": w_l·mean((G−A)²), "content", "style",
        "tv", "total"}`` as floats, with ``total = content_weight·content + style_weight·style +
        tv_weight·tv``.

    Raises:
        InvalidSettingError: all content (or all style) layer weights are zero.
    """
    import tensorflow as tf


    feats = features.candidate_features[candidate]
    content_lw = _normalised("content_layer_weights", content_layer_weights)
    style_lw = _normalised("style_layer_weights", style_layer_weights)
    content, content_parts = content_loss(feats, features.content_targets, content_lw)
    style, style_parts = style_loss(feats, features.style_grams, style_lw)
    tv = total_variation_loss(tf.constant(features.candidate_images[candidate][np.newaxis]))
    parts = {f"content/{k}": float(v) for k, v in content_parts.items()}
    parts.update({f"style/{k}": float(v) for k, v in style_parts.items()})
    parts.update(content=float(content), style=float(style), tv=float(tv))
    parts["total"] = content_weight * parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"]
    return parts


def _normalised(name: str, weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to one (validated by nst_lib's own rule); layers with weight 0 are dropped."""
    normalised = normalize_weights(name, list(weights.values()), len(weights))
    return {layer: w for layer, w in zip(weights, normalised) if w > 0}


def _contributions(parts: Mapping[str, float], content_weight: float, style_weight: float,
                   tv_weight: float) -> list[tuple[str, float]]:
    """(label, weighted contribution to the total) for every per-layer part and TV."""
    rows = [(k, content_weight * v) for k, v in parts.items() if k.startswith("content/")]
    rows += [(k, style_weight * v) for k, v in parts.items() if k.startswith("style/")]
    rows.append(("tv", tv_weight * parts["tv"]))
    return rows


def render_loss_parts(parts: Mapping[str, float], *, content_weight: float, style_weight: float,
                      tv_weight: float, image: np.ndarray | None = None, title: str = "") -> Figure:
    """Horizontal bars: what each layer (and TV) adds to the total loss, on a log scale.

    Content bars are blue, style bars orange, TV grey; the image being scored is drawn on the left.
    """
    rows = _contributions(parts, content_weight, style_weight, tv_weight)
    fig = Figure(figsize=(8.4 if image is not None else 5.6, 3.4), layout="constrained")
    if image is not None:
        ax_image, ax = fig.subplots(1, 2, width_ratios=[1, 1.8])
        ax_image.imshow(np.clip(image, 0, 1))
        ax_image.axis("off")
        ax_image.set_title(title, fontsize=10)
    else:
        ax = fig.subplots()
    labels = [label for label, _ in rows]
    values = [max(value, 0.0) for _, value in rows]
    colours = ["tab:blue" if k.startswith("content/") else "tab:orange" if k.startswith("style/") else "tab:gray"
               for k in labels]
    positive = [v for v in values if v > 0]
    floor = min(positive) / 10 if positive else 1e-3
    ax.barh(range(len(rows)), [max(v, floor) for v in values], color=colours, left=0)
    for i, value in enumerate(values):
        if value <= 0:  # a zero part (weight 0, or the image equals the target) has no bar on a log axis
            ax.text(floor, i, "  0", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(left=floor)
    ax.set_xscale("log")
    ax.set_xlabel("weighted contribution to the total loss")
    ax.set_title(f"total = {parts['total']:.4g}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def loss_parts_html(parts: Mapping[str, float], *, content_weight: float, style_weight: float,
                    tv_weight: float) -> str:
    """A small table of the weighted contributions and their share of the total."""
    rows = _contributions(parts, content_weight, style_weight, tv_weight)
    total = parts["total"] or 1.0
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td style='text-align:right'>{value:.4g}</td>"
        f"<td style='text-align:right'>{100 * value / total:.1f} %</td></tr>"
        for label, value in rows
    )
    return (
        "<table><tr><th>part</th><th>weight × loss</th><th>share</th></tr>"
        f"{body}<tr><td><b>total</b></td><td style='text-align:right'><b>{parts['total']:.4g}</b></td>"
        "<td></td></tr></table>"
    )


def loss_weights_demo(content: str = "grace_hopper", style: str = "swirls", size: int | None = None) -> Demo:
    """Sliders for the per-layer weights and the three loss weights; the loss parts update live.

    Attributes: ``candidate_picker`` (which image is scored), ``style_sliders`` and
    ``content_sliders`` (dicts layer → slider), ``content_weight_slider``, ``style_weight_slider``,
    ``tv_weight_slider`` (controls); ``chart_view`` (PNG), ``table_view`` (HTML), ``parts`` (the
    latest dict of :func:`compute_loss_parts`), ``features`` (the cached :class:`LossFeatures`).
    """
    size = size or demo_size()
    features = compute_loss_features(load_example(f"content:{content}", size), load_example(f"style:{style}", size))

    candidate_picker = widgets.Dropdown(options=list(CANDIDATES), value=CANDIDATES[2], description="score")
    slider = dict(min=0.0, max=1.0, step=0.05, continuous_update=False, readout_format=".2f",
                  style={"description_width": "90px"})
    style_sliders = {layer: widgets.FloatSlider(value=0.2, description=layer, **slider)
                     for layer in features.style_layers}
    content_sliders = {layer: widgets.FloatSlider(value=1.0 if layer == "block5_conv2" else 0.0,
                                                  description=layer, **slider)
                       for layer in features.content_layers}
    log = dict(continuous_update=False, style={"description_width": "110px"})
    content_weight_slider = widgets.FloatLogSlider(value=1e4, base=10, min=0, max=8, description="content_weight",
                                                   **log)
    style_weight_slider = widgets.FloatLogSlider(value=1e-2, base=10, min=-6, max=2, description="style_weight",
                                                 **log)
    tv_weight_slider = widgets.SelectionSlider(options=[0.0, 1e2, 1e4, 1e6, 1e8], value=0.0,
                                               description="tv_weight", **log)
    chart_view = image_slot()
    table_view = widgets.HTML()
    style_box = widgets.VBox([widgets.HTML("<b>style layer weights w<sub>l</sub></b>"), *style_sliders.values()])
    content_box = widgets.VBox([widgets.HTML("<b>content layer weights c<sub>l</sub></b>"), *content_sliders.values(),
                                widgets.HTML("<b>loss weights</b>"), content_weight_slider, style_weight_slider,
                                tv_weight_slider])
    demo = Demo("Loss parts, live: move a weight, watch every term",
                [[candidate_picker], [style_box, content_box], [chart_view, table_view]])
    demo.candidate_picker = candidate_picker
    demo.style_sliders, demo.content_sliders = style_sliders, content_sliders
    demo.content_weight_slider, demo.style_weight_slider = content_weight_slider, style_weight_slider
    demo.tv_weight_slider = tv_weight_slider
    demo.chart_view, demo.table_view = chart_view, table_view
    demo.features = features
    demo.parts = {}

    def refresh(_: Any = None) -> None:
        def draw() -> None:
            weights = dict(content_weight=content_weight_slider.value, style_weight=style_weight_slider.value,
                           tv_weight=float(tv_weight_slider.value))
            parts = compute_loss_parts(
                features, candidate_picker.value,
                content_layer_weights={k: s.value for k, s in content_sliders.items()},
                style_layer_weights={k: s.value for k, s in style_sliders.items()},
                **weights,
            )
            demo.parts = parts
            chart_view.value = figure_to_png(render_loss_parts(
                parts, image=features.candidate_images[candidate_picker.value], title=candidate_picker.value,
                **weights))
            table_view.value = loss_parts_html(parts, **weights)
            demo.status.value = (f"<small>Features computed once at {size} px; sliders only redo the loss "
                                 f"arithmetic. {weights_note()}</small>")

        demo.run(draw)

    for control in (candidate_picker, content_weight_slider, style_weight_slider, tv_weight_slider,
                    *style_sliders.values(), *content_sliders.values()):
        control.observe(refresh, names="value")
    refresh()
    return demo

