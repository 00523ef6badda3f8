"""The figures of Gatys et al. (2016) as library functions (notebooks 04, 05 and 06; the README figures).

Each function runs :func:`nst_lib.stylize` a few times with different settings and returns a
:class:`Panel`: the result images, one label per image, the :class:`~nst_lib.transfer.Result` of every
run (loss histories, timings), and the inputs. ``panel.figure()`` draws it with
:func:`nst_lib.course.viz.image_table`. No function here defines a loss or an optimisation loop of its own.

| function                       | paper figure (Gatys, Ecker & Bethge, CVPR 2016; Fig. 4 is Fig. 3 of the 2015 arXiv preprint) |
| ------------------------------ | ----------------------------------------------------------------------- |
| :func:`content_reconstructions` | Fig. 1, top: the photo rebuilt from one layer's features, from noise    |
| :func:`style_reconstructions`   | Fig. 1, bottom: textures rebuilt from Gram matrices of growing layer sets |
| :func:`ratio_grid`              | Fig. 4: the content/style weight ratio α/β (columns) × style layers (rows) |
| :func:`content_layer_comparison` | Fig. 5: matching the content at a low or a high layer                   |
| :func:`init_comparison`         | Fig. 6: starting from the content, the style, or different white noise  |

Cost: each image is one optimisation, so a panel costs roughly ``len(images) × steps`` VGG forward and
backward passes; at 256 px one pass takes about 1 s on a 2-core CPU (shallow layers are cheaper).
``scripts/make_readme_figures.py`` runs them all at real settings.

**α/β in our terms.** The paper's losses are sums (``½ Σ (F − P)²`` and ``Σ (G − A)² / (4 N² M²)`` with
an unnormalised Gram matrix ``G = FᵀF``) on a VGG whose filters were rescaled to a mean activation of
one. Ours are means with ``G = FᵀF / M`` on the unscaled Keras VGG (docs/architecture.md). The normalisation
alone gives ``content_weight / style_weight = (α/β) · 2 · N · M`` (N channels and M positions of the
content layer); the rescaled network adds a factor that depends on the images and layers, so there is
no exact conversion. :func:`paper_ratio_to_weights` therefore uses one calibration constant,
:data:`RATIO_CALIBRATION`: **content_weight / style_weight = RATIO_CALIBRATION · α/β** with the content
layer conv4_2. It was chosen by eye, on one pair (the bundled grace_hopper and swirls) at one size
(256 px): the power of ten for which the paper's columns 1e-5 … 1e-2 show the same progression from "all
style" to "mostly content". It is a rough guide, not a conversion: other images and sizes may want
another constant (notebook 06 explains the parts that can be derived and shows the grid).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
from .viz import image_table, titled_image_rows
from ..errors import InvalidSettingError
from ..backbone import layer_catalogue, to_keras_name
from ..images import load_image
from .. import transfer

from ..errors import InvalidSettingError

#: Content layers of Gatys et al. 2016, Fig. 1 (top row a–e), in the paper's names.
GATYS_CONTENT_LAYERS: tuple[str, ...] = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
#: Style layers of Gatys et al. 2016 (conv1_1 … conv5_1), in the paper's names.
GATYS_STYLE_LAYERS: tuple[str, ...] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
#: The content/style ratios α/β of Gatys et al. 2016, Fig. 4 (columns).
PAPER_RATIOS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)
#: content_weight / style_weight = RATIO_CALIBRATION · α/β (content layer conv4_2); chosen by eye on one pair at
#: 256 px, see the module docstring.
RATIO_CALIBRATION: float = 1e8
#: The style weight the ratio functions keep fixed (the library default); the content weight carries α/β.
RATIO_STYLE_WEIGHT: float = 1e-2

Progress = Callable[[str, Any], Optional[bool]]


@dataclass
class Panel:
    """Images of one experiment, ready for :func:`nst_lib.course.viz.image_table`.

    ``images`` are in reading order (row by row); ``labels`` has one short label per image. A panel
    unpacks as ``images, labels = panel``.
    """

    images: list[np.ndarray]
    labels: list[str]
    results: list = field(default_factory=list)  # one nst_lib.Result per image
    ncols: int | None = None  # images per row in the figure (default: all in one row)
    row_labels: list[str] | None = None
    col_labels: list[str] | None = None
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. {"content": ..., "style": ...}
    title: str = ""

    def __iter__(self) -> Iterator[list]:
        yield self.images
        yield self.labels

    def __len__(self) -> int:
        return len(self.images)

    @property
    def elapsed(self) -> float:
        """Seconds spent in ``stylize`` for the whole panel."""
        return float(sum(r.elapsed for r in self.results))

    def rows(self) -> list[list[np.ndarray]]:
        """The images cut into rows of ``ncols``."""
        ncols = self.ncols or len(self.images)
        return [self.images[i : i + ncols] for i in range(0, len(self.images), ncols)]

    def figure(self, *, with_inputs: bool = False, size: float = 2.5):
        """Draw the panel: :func:`nst_lib.course.viz.image_table`, or with ``with_inputs`` the inputs in a first
        row above the results (:func:`nst_lib.course.viz.titled_image_rows`)."""
        rows = self.rows()
        col_labels = self.col_labels if self.col_labels is not None else (self.labels if len(rows) == 1 else None)
        if with_inputs and self.inputs:
            titles = [list(self.inputs)] + [list(col_labels or [])] + [[] for _ in rows[1:]]
            row_labels = ["inputs", *self.row_labels] if self.row_labels else None
            fig = titled_image_rows([list(self.inputs.values()), *rows], titles, row_labels=row_labels, size=size)
        else:
            fig = image_table(rows, row_labels=self.row_labels, col_labels=col_labels, size=size)
        if self.title:
            fig.suptitle(self.title)
        return fig


# ----------------------------------------------------------------------------------------- helpers
def cumulative_layer_sets(layers: Sequence[str] = GATYS_STYLE_LAYERS) -> list[tuple[str, ...]]:
    """``[(conv1_1,), (conv1_1, conv2_1), …]``: the growing style layer sets of Gatys Fig. 1 and 4."""
    layers = tuple(layers)
    return [layers[: i + 1] for i in range(len(layers))]


def layer_set_label(layers: Sequence[str]) -> str:
    """A short label for a layer set: ``conv1_1`` or ``conv1_1 … conv3_1``."""
    layers = list(layers)
    return layers[0] if len(layers) == 1 else f"{layers[0]} … {layers[-1]}"


def paper_ratio_to_weights(alpha_over_beta: float, *, style_weight: float = RATIO_STYLE_WEIGHT) -> dict[str, float]:
    """Our ``content_weight`` and ``style_weight`` for the paper's ratio α/β (content layer conv4_2).

    ``content_weight / style_weight = RATIO_CALIBRATION · α/β``; the style weight stays fixed, so only
    the content weight moves along a row of Gatys Fig. 4. See the module docstring for why the
    conversion needs a calibration constant.
    """
    if not alpha_over_beta > 0:
        raise InvalidSettingError(f"alpha_over_beta must be > 0, got {alpha_over_beta!r}")
    return {"content_weight": float(style_weight * RATIO_CALIBRATION * alpha_over_beta),
            "style_weight": float(style_weight)}


def normalisation_factor(height: int, width: int, layer: str = "conv4_2", backbone: str = "vgg19") -> float:
    """``2 · N · M`` of ``layer`` for an image of height × width: the part of the α/β conversion due to
    the paper's sums against our means (N channels, M = h·w positions of the layer's feature map)."""
    keras_name = to_keras_name(layer, backbone)
    info = next(i for i in layer_catalogue(backbone) if i.keras_name == keras_name)
    h, w = height, width
    for _ in range(int(np.log2(info.stride))):  # each 2×2 max-pool halves the size, rounding down
        h, w = h // 2, w // 2
    return float(2 * info.channels * h * w)


#: Gatys et al.'s own recipe (notebook 11): their network (VGG rescaled so every filter's mean activation is
#: 1, with average pooling), content at conv4_2, the five style layers, a white-noise start and L-BFGS. The
#: weights come from the paper's α/β through :func:`paper_weights`.
GATYS_2016: dict[str, Any] = dict(pooling="avg", rescale_network=True, content_layers=("conv4_2",),
                                  style_layers=GATYS_STYLE_LAYERS, init="noise", optimizer="lbfgs", scales=1,
                                  tv_weight=0.0)


def paper_weights(alpha_over_beta: float, height: int, width: int, content_layer: str = "conv4_2",
                  backbone: str = "vgg19") -> dict[str, float]:
    """Our ``content_weight`` and ``style_weight`` for the paper's α/β, exactly (no calibration constant).

    The paper's total ``α·½Σ(F−P)² + β·Σ_l w_l·Σ(G−A)²/(4N_l²M_l²)`` equals ``β/4 · (2·N·M·α/β · content +
    style)`` in our mean-based losses (N channels and M positions of the content layer): so
    ``content_weight = 2·N·M·α/β`` with ``style_weight = 1`` is the paper's objective divided by β/4, on
    the network it was defined on, the rescaled one (``rescale_network=True``; notebook 11).
    """
    if not alpha_over_beta > 0:
        raise InvalidSettingError(f"alpha_over_beta must be > 0, got {alpha_over_beta!r}")
    factor = normalisation_factor(height, width, content_layer, backbone)
    return {"content_weight": float(factor * alpha_over_beta), "style_weight": 1.0}


def _our_ratio(weights: dict) -> float:
    return weights["content_weight"] / weights["style_weight"]


def _format_ratio(value: float) -> str:
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) < 1e-9:
        return f"1e{int(round(exponent))}"
    return f"{value:.3g}"


def _run(content, style, progress: Progress | None, label: str, **options):
    """One ``stylize`` call; ``progress(label, event)`` sees its Iterate events."""
    callback = None if progress is None else (lambda event: progress(label, event))
    return transfer.stylize(content, style, callback=callback, **options)


def _load(image, size: int) -> np.ndarray:
    return load_image(image, size)


# ------------------------------------------------------------------------------------------ figures
def content_reconstructions(
    content,
    layers: Sequence[str] = GATYS_CONTENT_LAYERS,
    *,
    size: int = 256,
    steps: int = 200,
    seed: int = 0,
    optimizer: str = "lbfgs",
    progress: Progress | None = None,
    **options: Any,
) -> Panel:
    """Gatys 2016 Fig. 1 (top): rebuild the photo from white noise using the content loss of one layer.

    Shallow layers give an almost perfect copy; deep layers keep the objects and their arrangement but
    lose the exact pixel values. Each run uses ``content_weight=1``, ``style_weight=0`` and only that
    layer, so the network is cut right after it (deep layers cost more).

    Args:
        content: the photo (path, bytes, PIL image or array).
        layers: one reconstruction per layer (Gatys or Keras names).
        size: long side in pixels; steps: L-BFGS iterations per image; seed: the noise seed.
        optimizer: ``"lbfgs"`` (the paper's) or ``"adam"``.
        progress: optional ``progress(label, iterate)``; return True to stop the current image.
        **options: other :func:`~nst_lib.stylize` settings (``backbone``, ``scales``, ...).

    Returns:
        A :class:`Panel` with one image per layer, labelled by the layer name.
    """
    photo = _load(content, size)
    settings = dict(size=size, steps=steps, seed=seed, optimizer=optimizer, init="noise", scales=1,
                    content_weight=1.0, style_weight=0.0, tv_weight=0.0, style_layers=())
    settings.update(options)
    images, labels, results = [], [], []
    for layer in layers:
        result = _run(photo, photo, progress, layer, content_layers=(layer,), **settings)
        images.append(result.image)
        labels.append(layer)
        results.append(result)
    return Panel(images, labels, results, inputs={"content": photo},
                 title="Content reconstructions (Gatys et al. 2016, Fig. 1 top)")


def style_reconstructions(
    style,
    layer_sets: Sequence[Sequence[str]] | None = None,
    *,
    size: int = 256,
    steps: int = 200,
    seed: int = 0,
    optimizer: str = "lbfgs",
    progress: Progress | None = None,
    **options: Any,
) -> Panel:
    """Gatys 2016 Fig. 1 (bottom): synthesise a texture from white noise using the style loss only.

    With conv1_1 alone only colours and the finest grain survive; each added layer brings larger
    structures (brush strokes, shapes) while the arrangement of the style image is lost.

    Args:
        style: the style image.
        layer_sets: one texture per set; default :func:`cumulative_layer_sets` (conv1_1; +conv2_1; …).
        size: long side of the texture (and of the style image as the loss sees it).
        steps, seed, optimizer, progress, options: as in :func:`content_reconstructions`.

    Returns:
        A :class:`Panel` with one texture per layer set, labelled ``conv1_1``, ``+ conv2_1``, ….
    """
    painting = _load(style, size)
    sets = [tuple(s) for s in (layer_sets if layer_sets is not None else cumulative_layer_sets())]
    settings = dict(size=size, steps=steps, seed=seed, optimizer=optimizer, init="noise", scales=1,
                    content_weight=0.0, style_weight=1.0, tv_weight=0.0, content_layers=())
    settings.update(options)
    images, labels, results = [], [], []
    for i, layers in enumerate(sets):
        grows = i > 0 and layers[:-1] == sets[i - 1]
        label = f"+ {layers[-1]}" if grows else layer_set_label(layers)
        # the content image only fixes the output's shape (content_weight is 0)
        result = _run(painting, painting, progress, label, style_layers=layers, **settings)
        images.append(result.image)
        labels.append(label)
        results.append(result)
    return Panel(images, labels, results, inputs={"style": painting},
                 title="Style reconstructions (Gatys et al. 2016, Fig. 1 bottom)")


def ratio_grid(
    content,
    style,
    ratios: Sequence[float] = PAPER_RATIOS,
    *,
    layer_sets: Sequence[Sequence[str]] | None = None,
    content_layer: str = "conv4_2",
    size: int = 256,
    steps: int = 150,
    init: str = "noise",
    seed: int = 0,
    optimizer: str = "lbfgs",
    progress: Progress | None = None,
    weights_for: Callable[[float], dict] | None = None,
    **options: Any,
) -> Panel:
    """Gatys 2016 Fig. 4: the content/style trade-off α/β across columns, style layer sets down rows.

    The paper's ratios are turned into our weights by ``weights_for(ratio)``: by default
    :func:`paper_ratio_to_weights` (``content_weight / style_weight = RATIO_CALIBRATION · α/β``, for the
    Keras network); on the rescaled network pass ``lambda r: paper_weights(r, height, width)`` for the exact
    conversion (notebook 11). The column labels show both ratios.

    Args:
        content, style: the two images.
        ratios: the paper's α/β values, one column each (default 1e-5, 1e-4, 1e-3, 1e-2).
        layer_sets: style layers, one row each; default one row with all five Gatys layers (the paper's
            last row). Pass :func:`cumulative_layer_sets` ``()`` for the whole 5 × 4 figure.
        content_layer: the paper uses conv4_2.
        size, steps, init, seed, optimizer, progress, options: passed on to :func:`~nst_lib.stylize`.

    Returns:
        A :class:`Panel` with ``len(layer_sets) × len(ratios)`` images, row by row.
    """
    photo, painting = _load(content, size), _load(style, size)
    sets = [tuple(s) for s in (layer_sets if layer_sets is not None else [GATYS_STYLE_LAYERS])]
    settings = dict(size=size, steps=steps, seed=seed, optimizer=optimizer, init=init, scales=1,
                    tv_weight=0.0, content_layers=(content_layer,))
    settings.update(options)
    convert = weights_for or paper_ratio_to_weights
    col_labels = [f"α/β = {_format_ratio(r)}\n(ours {_format_ratio(_our_ratio(convert(r)))})" for r in ratios]
    images, labels, results = [], [], []
    for layers in sets:
        for ratio in ratios:
            label = f"α/β={_format_ratio(ratio)}, {layer_set_label(layers)}"
            result = _run(photo, painting, progress, label, style_layers=layers, **convert(ratio), **settings)
            images.append(result.image)
            labels.append(label)
            results.append(result)
    return Panel(images, labels, results, ncols=len(ratios), col_labels=col_labels,
                 row_labels=[layer_set_label(s) for s in sets] if len(sets) > 1 else None,
                 inputs={"content": photo, "style": painting},
                 title="Content/style ratio (Gatys et al. 2016, Fig. 4)")


def content_layer_comparison(
    content,
    style,
    layers: Sequence[str] = ("conv2_2", "conv4_2"),
    *,
    alpha_over_beta: float = 1e-3,
    size: int = 256,
    steps: int = 150,
    init: str = "noise",
    seed: int = 0,
    optimizer: str = "lbfgs",
    progress: Progress | None = None,
    weights_for: Callable[[float, str], dict] | None = None,
    **options: Any,
) -> Panel:
    """Gatys 2016 Fig. 5: the same transfer with the content matched at a low or at a high layer.

    At conv2_2 the content loss pins down the pixels, so the style only tints the photo; at conv4_2 it
    keeps the objects and lets the style repaint their surfaces.

    Args:
        layers: one transfer per content layer (the paper: conv2_2 and conv4_2).
        alpha_over_beta: the paper's ratio, turned into our weights by ``weights_for(ratio, layer)`` (default
            :func:`paper_ratio_to_weights`; the exact :func:`paper_weights` depends on the content layer).
        other arguments: as in :func:`ratio_grid`.

    Returns:
        A :class:`Panel` with one image per content layer.
    """
    photo, painting = _load(content, size), _load(style, size)
    convert = weights_for or (lambda ratio, layer: paper_ratio_to_weights(ratio))
    settings = dict(size=size, steps=steps, seed=seed, optimizer=optimizer, init=init, scales=1, tv_weight=0.0)
    settings.update(options)
    images, labels, results = [], [], []
    for layer in layers:
        label = f"content at {layer}"
        result = _run(photo, painting, progress, label, content_layers=(layer,),
                      **{**settings, **convert(alpha_over_beta, layer)})
        images.append(result.image)
        labels.append(label)
        results.append(result)
    return Panel(images, labels, results, inputs={"content": photo, "style": painting},
                 title="Choice of content layer (Gatys et al. 2016, Fig. 5)")


def init_comparison(
    content,
    style,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    starts: Sequence[str] = ("content", "style"),
    size: int = 256,
    steps: int = 150,
    optimizer: str = "lbfgs",
    progress: Progress | None = None,
    **options: Any,
) -> Panel:
    """Gatys 2016 Fig. 6: start from the content image, the style image, or white noise (several seeds).

    Every run optimises the same objective; the start decides which of its many good solutions is
    found. Content and style starts lean towards their image; noise starts differ in detail only.

    Args:
        seeds: one noise start per seed.
        starts: the image starts before the noise ones: ``"content"`` and ``"style"`` as in the paper, and
            ``"recolored"`` (the library's default: the photo in the style's colours) if you like.
        other arguments: as in :func:`ratio_grid`; ``options`` may set the weights and layers.

    Returns:
        A :class:`Panel` labelled ``from content``, ``from style``, ``noise seed 0``, ….
    """
    photo, painting = _load(content, size), _load(style, size)
    settings = dict(size=size, steps=steps, optimizer=optimizer, scales=1)
    settings.update(options)
    names = {"content": "from content", "style": "from style", "recolored": "from recoloured content"}
    runs = [(names.get(init, f"from {init}"), init, 0) for init in starts]
    runs += [(f"noise seed {seed}", "noise", int(seed)) for seed in seeds]
    images, labels, results = [], [], []
    for label, init, seed in runs:
        result = _run(photo, painting, progress, label, init=init, seed=seed, **settings)
        images.append(result.image)
        labels.append(label)
        results.append(result)
    return Panel(images, labels, results, inputs={"content": photo, "style": painting},
                 title="Initialisation (Gatys et al. 2016, Fig. 6)")
