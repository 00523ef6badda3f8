"""The inputs of a run (notebooks 06 and 07): the content at the output size, each style image at the size
it is used at (colour-matched if asked), the masks at the output size with their notes, the shared feature
extractor and the layer weights. :func:`~nst_lib.transfer.stylize` and
:func:`~nst_lib.transfer.make_objective` prepare their inputs here, the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import color
from .config import StyleConfig, normalize_weights
from .errors import InvalidSettingError, input_role
from .images import MIN_SOURCE_SIDE, load_image, read_mask, resize_to
from .layers import layer_catalogue
from .normalized_vgg import configured_extractor
from .objective import LayerWeights, layer_weights
from .precision import PrecisionChoice, resolve_precision


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@dataclass
class RunInputs:
    """Everything a run needs before its stages: images at their sizes, extractor, layer weights, masks, notes."""

    content: np.ndarray  # at the output size
    target_content: np.ndarray  # the content the content loss compares with (grey in luminance mode)
    styles: list[np.ndarray]  # at size × style_scale, colour-matched if asked
    blend: tuple[float, ...]
    masks: list[np.ndarray] | None  # at the output size, one per style
    extractor: Any
    weights: LayerWeights  # the content and style layers' weights, Keras names of the extractor's network
    notes: list[str]
    precision: PrecisionChoice  # the precision the extractor computes in, and why


def prepare_inputs(content: Any, style: Any, cfg: StyleConfig, mask: Any) -> RunInputs:
    """Load the content at the output size and each style at the largest size it is used at, match colours
    if asked, read the masks, take the shared extractor, and collect the notes for the user."""
    styles_in = _as_list(style)
    if not styles_in:
        raise InvalidSettingError("at least one style image is needed")
    blend = normalize_weights("style_blend", cfg.style_blend, len(styles_in))
    notes: list[str] = []

    with input_role("content"):  # an error names the input it is about (fields role and number)
        content_full = load_image(content, cfg.size)
    height, width = content_full.shape[:2]
    # each style is decoded straight to the largest size it is used at (the finest scale's); the colour
    # statistics below are computed on that copy, once
    style_side = round(cfg.size * cfg.style_scale)
    styles_full = []
    for number, source in enumerate(styles_in, 1):
        with input_role("style", number if len(styles_in) > 1 else None):
            styles_full.append(load_image(source, style_side, min_side=MIN_SOURCE_SIDE))
    if cfg.preserve_colors == "histogram":
        content_colors = color.color_statistics(content_full)
        styles_full = [color.match_color_statistics(s, color.color_statistics(s), content_colors) for s in styles_full]
    elif cfg.preserve_colors == "luminance":
        styles_full = [color.match_luminance(s, content_full) for s in styles_full]
    target_content = color.gray_to_rgb(color.luminance(content_full)) if cfg.preserve_colors == "luminance" else content_full
    masks_full = _load_masks(mask, len(styles_in), height, width, notes)

    # shared by runs asking for the same layers (pooling, rescaling, precision): its traced graph serves them all
    precision = resolve_precision(cfg.precision)
    extractor = run_extractor(cfg, precision.used)
    if extractor.weights_info.notice:
        notes.insert(0, extractor.weights_info.notice)
    weights = layer_weights(cfg, extractor.backbone)
    if masks_full is not None and cfg.style_weight > 0:
        strides = {info.keras_name: info.stride for info in layer_catalogue(extractor.backbone)}
        notes.extend(mask_notes(masks_full, tuple(weights.style), strides))
    return RunInputs(content_full, target_content, styles_full, blend, masks_full, extractor, weights, notes, precision)


def run_extractor(cfg: StyleConfig, precision: str) -> Any:
    """The shared extractor of a run's content and style layers, computing in ``precision``."""
    return configured_extractor(cfg.content_layers + cfg.style_layers, cfg, precision)


def masks_at(masks: list[np.ndarray] | None, shape: tuple[int, int]) -> list[np.ndarray] | None:
    """The run's masks at the size of one stage."""
    if masks is None:
        return None
    return [m if m.shape == tuple(shape) else resize_to(m, *shape) for m in masks]


class _Inverse:
    """The second style's mask when one mask is given for two styles: the part the first one leaves."""

    def __repr__(self) -> str:
        return "<the inverse of the first mask>"


_INVERSE = _Inverse()


def _masks_for(mask: Any, n_styles: int) -> list[Any] | None:
    if mask is None:
        return None
    masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
    if len(masks) == 1 and n_styles == 2:
        return [masks[0], _INVERSE]
    if len(masks) != n_styles:
        raise InvalidSettingError(
            f"got {len(masks)} mask(s) for {n_styles} style(s); give one mask per style, or one mask for one or two styles"
        )
    return masks


def _load_masks(mask: Any, n_styles: int, height: int, width: int, notes: list[str]) -> list[np.ndarray] | None:
    """The masks at the output resolution, one per style (a stretched mask adds a note)."""
    sources = _masks_for(mask, n_styles)
    if sources is None:
        return None
    loaded: list[np.ndarray] = []
    for number, source in enumerate(sources, 1):
        if source is _INVERSE:
            loaded.append(1.0 - loaded[0])
            continue
        with input_role("mask", number if len(sources) > 1 else None):
            region, note = read_mask(source, height, width)
        if note:
            notes.append(note)
        loaded.append(region)
    return loaded


#: a mask region smaller than this many feature positions at a style layer has (almost) no effect there
MIN_MASK_POSITIONS = 1.0


def mask_notes(masks: Sequence[np.ndarray], style_layers: Sequence[str], strides: dict[str, int]) -> list[str]:
    """Notes for masks that cannot do what they seem to: all black, or a region that vanishes at deep layers.

    A region of ``a`` white pixels covers about ``a / stride²`` positions of a layer whose feature map is
    ``stride`` times smaller than the image; under one position the guided statistics of that layer see
    (almost) nothing of it.
    """
    notes = []
    for number, region in enumerate(masks, 1):
        area = float(np.sum(region))
        if area < 0.5:
            notes.append(f"the mask of style {number} is all black: style {number} is applied nowhere")
            continue
        faint = [layer for layer in style_layers if area / strides[layer] ** 2 < MIN_MASK_POSITIONS]
        if faint:
            notes.append(
                f"the mask of style {number} covers {area:.0f} px, less than one feature position of "
                f"{', '.join(faint)}: style {number} has little effect at those layers (make the region larger "
                f"or the image larger)"
            )
    return notes
