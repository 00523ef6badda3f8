"""Demo for notebook 02: pick or upload an image, choose a VGG layer and channels, and see the feature maps.

Pure functions (:func:`compute_features`, :func:`parse_channels`, :func:`render_feature_maps`,
:func:`layer_summary`) do the work; :func:`feature_maps_demo` only wires widgets to them.
"""
from __future__ import annotations

import functools
import html
from collections import OrderedDict
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ...backbone import layer_catalogue
from ..viz import feature_map_grid, select_channels
from .common import (
    Demo,
    ImageSource,
    demo_size,
    example_options,
    feature_extractor,
    figure_to_png,
    image_slot,
    load_example,
    weights_note,
)

__all__ = [
    "CHANNEL_MODES",
    "compute_features",
    "example_features",
    "source_features",
    "parse_channels",
    "render_feature_maps",
    "layer_summary",
    "feature_maps_demo",
]

#: Channel selection modes shown in the demo → the ``how`` argument of :func:`nst_lib.course.viz.select_channels`.
CHANNEL_MODES = {"most active": "most_active", "first": "first", "chosen": None}


def compute_features(image: np.ndarray) -> dict[str, np.ndarray]:
    """Feature maps of every layer of the backbone for one (H, W, 3) image: ``{layer: (h, w, C)}``."""
    outputs = feature_extractor()(np.asarray(image, np.float32)[np.newaxis])
    return {layer: value.numpy()[0] for layer, value in outputs.items()}


@functools.lru_cache(maxsize=8)
def example_features(key: str, size: int) -> dict[str, np.ndarray]:
    """:func:`compute_features` of a bundled example (key from ``example_options``), cached."""
    return compute_features(load_example(key, size))


_UPLOADED_FEATURES: "OrderedDict[tuple[str, int], dict[str, np.ndarray]]" = OrderedDict()


def source_features(source: ImageSource, size: int) -> dict[str, np.ndarray]:
    """:func:`compute_features` of what an :class:`ImageSource` shows: a cached example or the uploaded file
    (the last few uploads are cached too, so moving between layers is instant)."""
    if not source.uploaded:
        return example_features(source.picker.value, size)
    key = (source.value, size)
    if key not in _UPLOADED_FEATURES:
        _UPLOADED_FEATURES[key] = compute_features(source.image(size))
        while len(_UPLOADED_FEATURES) > 4:
            _UPLOADED_FEATURES.popitem(last=False)
    return _UPLOADED_FEATURES[key]


def parse_channels(text: str, channels: int) -> list[int]:
    """Channel indices from text like ``"0, 5, 12"`` or ``"3-6"``, each checked against ``channels``.

    Raises:
        ValueError: with a message naming the bad part and the valid range.
    """
    picked: list[int] = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                low, high = (int(p) for p in part.split("-", 1))
                picked.extend(range(low, high + 1))
            else:
                picked.append(int(part))
        except ValueError:
            raise ValueError(f"cannot read {part!r} as a channel number; write e.g. 0, 5, 12 or 3-6") from None
    if not picked:
        raise ValueError("no channels given; write e.g. 0, 5, 12 or 3-6")
    bad = [c for c in picked if not 0 <= c < channels]
    if bad:
        raise ValueError(f"channel(s) {bad} out of range; this layer has channels 0…{channels - 1}")
    return list(dict.fromkeys(picked))


def render_feature_maps(features: np.ndarray, layer: str, how: str | Sequence[int] = "most_active",
                        n: int = 16) -> Figure:
    """A grid of one layer's feature maps (:func:`nst_lib.course.viz.feature_map_grid`) titled with the layer."""
    return feature_map_grid(features, how, n, title=f"{layer}: {_label(how, n)}")


def _label(how: str | Sequence[int], n: int) -> str:
    if isinstance(how, str):
        return f"{n} {how.replace('_', ' ')} channels"
    return f"channels {', '.join(map(str, how))}"


def layer_summary(layer: str, features: np.ndarray, image_shape: Sequence[int]) -> str:
    """One line about a layer: Gatys name, channels, map size, stride and receptive field."""
    info = {i.keras_name: i for i in layer_catalogue("vgg19")}[layer]
    h, w, c = features.shape
    return (f"<b>{layer}</b> ({info.gatys_name}): {c} channels of {h}×{w} for a "
            f"{image_shape[0]}×{image_shape[1]} image; stride {info.stride}, receptive field "
            f"{info.receptive_field}×{info.receptive_field} px")


def feature_maps_demo(example: str = "astronaut", layer: str = "block3_conv1") -> Demo:
    """Pick or upload an image, a layer and channels (or the most active ones), and see the feature-map grid.

    Attributes: ``image_source`` (:class:`ImageSource`), ``image_picker`` and ``upload`` (its widgets),
    ``layer_picker``, ``mode_picker``, ``channels_text``, ``count_slider`` (controls); ``maps_view`` (PNG),
    ``info`` (HTML), ``channels_drawn`` (list), ``figure``, ``status``.
    """
    extractor = feature_extractor()
    options = example_options()
    value = next((key for _, key in options if key.endswith(f":{example}")), options[0][1])
    status = widgets.HTML("")
    image_source = ImageSource("image", options, value, status)
    catalogue = {i.keras_name: i for i in layer_catalogue("vgg19")}
    layer_options = [(f"{name} ({catalogue[name].gatys_name}, {catalogue[name].channels} ch)", name)
                     for name in extractor.layers]
    layer_picker = widgets.Dropdown(options=layer_options, value=layer if layer in extractor.layers
                                    else extractor.layers[0], description="layer")
    mode_picker = widgets.ToggleButtons(options=list(CHANNEL_MODES), value="most active", description="channels")
    channels_text = widgets.Text(value="0, 1, 2, 3", description="chosen", placeholder="e.g. 0, 5, 12 or 3-6",
                                 continuous_update=False)
    count_slider = widgets.IntSlider(value=16, min=1, max=32, description="how many", continuous_update=False)
    maps_view = image_slot()
    info = widgets.HTML()
    demo = Demo("Feature maps of a VGG layer",
                [[image_source.picker, image_source.upload, layer_picker], [mode_picker],
                 [count_slider, channels_text], info, maps_view], status=status)
    demo.image_source, demo.image_picker, demo.upload = image_source, image_source.picker, image_source.upload
    demo.layer_picker, demo.mode_picker = layer_picker, mode_picker
    demo.channels_text, demo.count_slider = channels_text, count_slider
    demo.maps_view, demo.info = maps_view, info
    demo.channels_drawn: list[int] = []
    demo.figure = None

    def refresh(_: Any = None) -> None:
        def draw() -> None:
            size = demo_size()
            features = source_features(image_source, size)[layer_picker.value]
            how = CHANNEL_MODES[mode_picker.value]
            if how is None:
                how = parse_channels(channels_text.value, features.shape[-1])
            demo.channels_drawn = select_channels(features, how, count_slider.value)
            demo.figure = render_feature_maps(features, layer_picker.value, how, count_slider.value)
            maps_view.value = figure_to_png(demo.figure)
            image_shape = image_source.image(size).shape
            info.value = (f"<i>{html.escape(image_source.label)}</i>: "
                          + layer_summary(layer_picker.value, features, image_shape))
            demo.status.value = f"<small>{weights_note()}</small>"

        demo.run(draw)

    image_source.observe(refresh)
    for control in (layer_picker, mode_picker, channels_text, count_slider):
        control.observe(refresh, names="value")
    refresh()
    return demo
