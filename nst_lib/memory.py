"""How much memory a style transfer needs, and how to do it within a budget (README, "High resolution and memory").

:func:`plan_run` estimates the peak resident memory of a run *before* it starts, from the output size,
the layers (how deep the network is cut), the optimiser and the style image size, and decides how the run
is done:

* ``"whole"``: the image fits, and is optimised in one piece as usual;
* ``"tiled"``: it does not, so the run climbs a ladder of sizes (:mod:`nst_lib.tiling`): whole at the
  largest size that fits, then upsampled and refined in overlapping tiles that do fit;
* ``fits=False``: not even the smallest tile fits, and :func:`~nst_lib.stylize` refuses the run up front
  with :class:`~nst_lib.errors.MemoryBudgetError` (one sentence), instead of being killed by the kernel
  halfway.

**The model.** Peak = a fixed base (Python, TensorFlow, the network's weights) + the larger of

* the optimisation: ``ACTIVATION_COPIES`` (Adam: ``ADAM_ACTIVATION_COPIES``) × the network's activations for the image being optimised
  (forward values kept for the backward pass, their gradients, convolution workspace; counted from the
  layer catalogue, so a shallower cut costs less) + the optimiser's state (L-BFGS-B's history of
  ``2·m`` float64 image-sized vectors and a few float64 copies; Adam's two moments), and
* the forward pass that computes a style image's targets (``FORWARD_COPIES`` × its activations),

plus the image-sized arrays a tiled run keeps for the whole output (the image, the content, the blending
weights and, for Adam, its moments). The coefficients were fitted to peak RSS measured by
``benchmarks/memory.py calibrate`` (data in ``benchmarks/results/memory_calibration.json``) and are checked
within ±25 % at 256–2048 px by ``benchmarks/memory.py check``.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from .config import StyleConfig
from .config import DEFAULT_LBFGS
from .errors import InvalidSettingError, MemoryBudgetError
from .images import ImageHeader
from .layers import layer_catalogue, to_keras_names
from .sizes import GIB, LBFGS_HISTORY_BYTES, MIB, format_bytes, lbfgs_corrections_for, parse_memory_size  # noqa: F401 - re-exported
from .precision import resolve_precision
from .tiling import tile_boxes
from .weights import planned_backbone



# -------------------------------------------------------------------------------- calibrated constants
#: Resident memory of a process that has imported TensorFlow, built the network and traced the graph,
#: before any image-sized work (fitted; benchmarks/results/memory_calibration.json).
BASE_BYTES = 700 * MIB
#: Bytes of the network's weights per parameter (float32, held by Keras and once more while loading).
WEIGHT_COPIES = 2.0
#: Peak bytes of one value-and-gradient evaluation, in float32 activation maps (fitted to L-BFGS-B runs:
#: SciPy's float64 round trips keep more alive around the evaluation than Adam's in-graph step does).
ACTIVATION_COPIES = 3.2
#: The same for Adam (fitted: 2.6–2.9 at 256–1024 px, memory_calibration.json).
ADAM_ACTIVATION_COPIES = 2.8
#: Peak bytes of a forward pass without gradient (a style or content image's targets), in activation maps.
FORWARD_COPIES = 1.6
#: float64 image-sized arrays L-BFGS-B holds besides its history (x, gradient, SciPy's work arrays).
LBFGS_COPIES = 8.0
#: float32 image-sized arrays the TensorFlow L-BFGS holds besides its history (x, g, d, trial, s, y, new g, best)
LBFGS_TF_COPIES = 8.0
#: bytes of one activation value in each compute precision (nst_lib.precision), as whole runs' plans count
#: them. bfloat16 is not half of float32: the features the losses read are float32 copies, and so are their
#: gradients. Whole runs of the TensorFlow L-BFGS (benchmarks/results/memory_precision_check.json) held
#: 0.70 (1024 px) and 0.65 (1536 px) of float32's evaluation memory in bfloat16; 2.6 bytes (0.65) keeps the
#: estimate above the measured peak at both sizes (+7 %, +21 %; float32 +14 %, +23 %)
ACTIVATION_BYTES = {"float32": 4, "bfloat16": 2.6}
#: Tiled stages count every precision like float32: in tiles, bfloat16 measured no saving (2048 px within 4G,
#: tiles of 800 px: 3.50 GiB in bfloat16, 3.48 in float32; docs/high_resolution.md).
TILED_PRECISION = "float32"
#: float32 image-sized arrays an Adam run holds (image, two moments, the previous image, the gradient).
ADAM_COPIES = 6.0
#: float32 image-sized arrays of the *output* a tiled run keeps (image, content, blend weights, best image…)
TILED_IMAGE_COPIES = 6.0
#: share of the available memory used when no budget is given
DEFAULT_SHARE = 0.8
#: share of the budget a plan fills with its estimate. At poster sizes the estimate is within a few per
#: cent of the peak, but below it as often as above (4096 px, 8 GiB budget: a 7.82 GiB estimate peaked
#: at 8.005 GiB, benchmarks/results/poster_4096.json), so plans keep 5 % of the budget in hand.
PLAN_HEADROOM = 0.95

#: tile sides tried, largest first (pixels); tiles below MIN_TILE would make the deep layers too small
MIN_TILE = 256
MAX_TILE = 1536
#: the whole-image stage of a tiled run is never smaller than this (long side)
MIN_WHOLE = 256
#: a tiled run's ladder starts at the output size halved until it is at most this (long side): the size
#: at which an ordinary run sets the composition and the brush strokes, with ``steps`` iterations
COMPOSITION_SIZE = 512
#: each later rung of the ladder gets this share of the time the composition took (its iterations fall
#: with its pixels: ``REFINE_SHARE · steps · (composition side / rung side)²``), at least MIN_RUNG_ITERATIONS
REFINE_SHARE = 0.5
MIN_RUNG_ITERATIONS = 3
#: iterations assumed for the schedule of a run with a time budget and no step limit
NOMINAL_STEPS = 300

def available_memory() -> int:
    """Bytes the kernel says a new allocation can get without swapping (MemAvailable)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil is a dependency; keep working without it
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def default_budget() -> int:
    """The budget when none is given: :data:`DEFAULT_SHARE` of the memory available right now."""
    return int(DEFAULT_SHARE * available_memory())


# ------------------------------------------------------------------------ a fast network's pass
#: Peak memory of one forward pass of a fast-transfer network (:mod:`nst_lib.fast`) per output pixel at
#: width 16 (measured: +465 MB at 1024² px, +1.86 GB at 2048²); it grows about in proportion to the width.
FAST_INFERENCE_BYTES_PER_PIXEL = 465


def fast_inference_bytes(pixels: int, network_width: int = 16) -> int:
    """Peak memory of a fast network's forward pass over a ``pixels``-pixel image (without the base): a
    4096×4096 image at width 16 needs about 7.8 GB. :meth:`nst_lib.fast.FastModel.stylize` refuses a pass
    its budget cannot hold, and the web page's queue admits fast runs with it."""
    return int(FAST_INFERENCE_BYTES_PER_PIXEL * pixels * network_width / 16)


def check_fast_inference(shape: Sequence[int], network_width: int = 16) -> int:
    """Refuse a fast network's pass over an image of ``shape`` (height, width) that the memory available now
    cannot hold: :meth:`nst_lib.fast.FastModel.stylize` before each pass, and the command line from the
    inputs' headers before any work (docs/safety.md). Returns the bytes the pass needs.

    Raises:
        MemoryBudgetError: the message gives the image's size, the need and what is available.
    """
    height, width = int(shape[0]), int(shape[1])
    needed = fast_inference_bytes(height * width, network_width)
    budget = default_budget()  # (read at the call: a test gives it a small budget)
    if needed > budget:  # refused before it starts, not killed half-way
        raise MemoryBudgetError(
            f"stylizing a {width}×{height} px image with this network needs about {format_bytes(needed)}; "
            f"{format_bytes(budget)} is available for it; use a smaller size", reason="memory", received=needed,
            allowed=budget)
    return needed


def check_local_workers(workers: int | None, per_worker: int) -> int:
    """Refuse ``workers`` local worker processes (``--workers N``) that together cannot fit in the memory
    available now, each needing ``per_worker`` bytes at its peak (its own TensorFlow included: a run's
    :attr:`RunPlan.estimated_peak_bytes`, or :data:`BASE_BYTES` and a network's pass). Returns the total.

    Raises:
        MemoryBudgetError: the message gives each worker's need, the total and what is available.
    """
    count = max(1, int(workers or 1))
    total, budget = count * per_worker, default_budget()
    if count > 1 and total > budget:
        raise MemoryBudgetError(
            f"--workers {count}: each worker needs about {format_bytes(per_worker)} at its peak (its own TensorFlow "
            f"included), {format_bytes(total)} together, more than the memory available now ({format_bytes(budget)}); "
            "use fewer --workers or a smaller --size, or --scheduler for a cluster", reason="memory", received=total,
            allowed=budget)
    return total


# --------------------------------------------------------------------------------- the network
def _catalogue(backbone: str):

    return layer_catalogue(backbone)


def activation_values_per_pixel(layers: Sequence[str], backbone: str = "vgg19") -> float:
    """float32 values the network's activations hold per input pixel, up to the deepest of ``layers``.

    Every convolution output up to the deepest layer (channels / stride²), the max-pool outputs between
    blocks and the input itself: VGG19 to ``block5_conv2`` holds ≈ 330 values per pixel.
    """

    names = to_keras_names(tuple(layers), backbone) if layers else ("block1_conv1",)
    infos = _catalogue(backbone)
    order = [i.keras_name for i in infos]
    deepest = max(order.index(n) for n in names)
    values = 3.0  # the input
    for index, info in enumerate(infos[: deepest + 1]):
        values += info.channels / info.stride**2
        next_stride = infos[index + 1].stride if index + 1 < len(infos) else info.stride
        if index < deepest and next_stride != info.stride:  # a max-pool output between two blocks
            values += info.channels / (2 * info.stride) ** 2
    return values


def weight_count(layers: Sequence[str], backbone: str = "vgg19") -> int:
    """Parameters of the network cut after the deepest of ``layers``."""

    names = to_keras_names(tuple(layers), backbone) if layers else ("block1_conv1",)
    infos = _catalogue(backbone)
    order = [i.keras_name for i in infos]
    deepest = max(order.index(n) for n in names)
    count, channels_in = 0, 3
    for info in infos[: deepest + 1]:
        count += 9 * channels_in * info.channels + info.channels
        channels_in = info.channels
    return count


# ----------------------------------------------------------------------------------- estimates
def optimizer_bytes(optimizer: str, pixels: int, corrections: int = 50) -> int:
    """Memory of the optimiser's state for an image of ``pixels`` pixels (3 values each)."""
    values = 3 * pixels
    optimizer = DEFAULT_LBFGS if optimizer == "lbfgs" else optimizer
    if optimizer == "lbfgs-scipy":
        history = 16 * lbfgs_corrections_for(corrections, values) * values
        return int(history + LBFGS_COPIES * 8 * values)
    if optimizer == "lbfgs-tf":  # float32 pairs, under twice SciPy's corrections cap (nst_lib.lbfgs_tf)
        history = 8 * lbfgs_corrections_for(corrections, values, 2 * LBFGS_HISTORY_BYTES) * values
        return int(history + LBFGS_TF_COPIES * 4 * values)
    return int(ADAM_COPIES * 4 * values)


def evaluation_bytes(pixels: int, layers: Sequence[str], backbone: str = "vgg19", optimizer: str = "lbfgs",
                     precision: str = "float32") -> int:
    """Peak memory of one value-and-gradient evaluation of a ``pixels``-pixel image (without the base), with
    the network computing in ``precision`` (float32 or bfloat16)."""
    copies = ADAM_ACTIVATION_COPIES if optimizer == "adam" else ACTIVATION_COPIES
    return int(copies * ACTIVATION_BYTES[precision] * activation_values_per_pixel(layers, backbone) * pixels)


def forward_bytes(pixels: int, layers: Sequence[str], backbone: str = "vgg19", precision: str = "float32") -> int:
    """Peak memory of one forward pass without gradient (targets of a style or content image)."""
    return int(FORWARD_COPIES * ACTIVATION_BYTES[precision] * activation_values_per_pixel(layers, backbone) * pixels)


def base_bytes(layers: Sequence[str], backbone: str = "vgg19") -> int:
    """The fixed part: the process with TensorFlow and the (cut) network loaded."""
    return int(BASE_BYTES + WEIGHT_COPIES * 4 * weight_count(layers, backbone))


def output_shape(content_shape: Sequence[int], size: int) -> tuple[int, int]:
    """(height, width) of the output: the content's aspect ratio with long side ``size``."""
    height, width = int(content_shape[0]), int(content_shape[1])
    if height <= 0 or width <= 0:
        raise InvalidSettingError(f"content_shape must be two positive sides, got {tuple(content_shape)}")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _style_pixels(style_shapes: Sequence[Sequence[int]] | None, long_side: int) -> int:
    """Pixels of the largest style image resized to ``long_side`` (square if the shapes are unknown)."""
    if not style_shapes:
        return long_side * long_side
    best = 0
    for shape in style_shapes:
        h, w = output_shape(shape, long_side)
        best = max(best, h * w)
    return best


# --------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Rung:
    """One size of a tiled run's ladder."""

    size: int  # long side, pixels
    shape: tuple[int, int]  # (height, width)
    mode: str  # "whole" or "tiled"
    tile: int = 0  # tile side in pixels (tiled rungs)
    overlap: int = 0  # pixels shared by neighbouring tiles (tiled rungs)
    iterations: int = 0  # whole rungs: iterations; tiled rungs: iterations per tile and pass
    passes: int = 0  # tiled rungs: how many times the tiles cover the image (grid moved between passes)

    @property
    def cost(self) -> float:
        """Work of this rung in pixel-iterations (a tiled rung's overlaps counted), for sharing a time budget."""
        pixels = self.shape[0] * self.shape[1]
        if self.mode == "whole":
            return float(self.iterations * pixels)
        step = max(1, self.tile - self.overlap)
        overlap_factor = (self.tile / step) ** 2 if max(self.shape) > self.tile else 1.0
        return float(self.passes * self.iterations * pixels * overlap_factor)


@dataclass(frozen=True)
class RunPlan:
    """How a run is done within a memory budget (see :func:`plan_run`)."""

    estimated_peak_bytes: int
    mode: str  # "whole" or "tiled"
    fits: bool
    message: str  # one sentence for people
    budget_bytes: int
    output_shape: tuple[int, int]
    whole_peak_bytes: int  # what the run would need in one piece
    rungs: tuple[Rung, ...] = ()  # tiled runs: the ladder, smallest first (whole runs: empty)
    tile: int = 0
    overlap: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_iterations(self) -> int | None:
        """Optimiser iterations of a tiled run, tiles counted one by one (the grid moves between passes, so
        this is counted on an unshifted grid; for progress bars). None for a whole run."""
        if not self.rungs:
            return None

        total = 0
        for rung in self.rungs:
            if rung.mode == "whole":
                total += rung.iterations
            else:
                tiles = len(tile_boxes(rung.shape, rung.tile, rung.overlap))
                total += rung.passes * tiles * rung.iterations
        return total

    @property
    def whole_size(self) -> int:
        """Long side of the whole-image stage (the output's for a whole run)."""
        return self.rungs[0].size if self.rungs else max(self.output_shape)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def estimate_whole(
    shape: tuple[int, int],
    *,
    layers: Sequence[str],
    backbone: str,
    optimizer: str,
    corrections: int = 50,
    style_pixels: int = 0,
    precision: str = "float32",
) -> int:
    """Peak bytes of an ordinary (untiled) run at ``shape``."""
    pixels = shape[0] * shape[1]
    optimisation = (evaluation_bytes(pixels, layers, backbone, optimizer, precision)
                    + optimizer_bytes(optimizer, pixels, corrections))
    targets = forward_bytes(max(style_pixels, pixels), layers, backbone, precision)
    return base_bytes(layers, backbone) + max(optimisation, targets)


def estimate_tiled(
    shape: tuple[int, int],
    tile: int,
    *,
    layers: Sequence[str],
    backbone: str,
    optimizer: str,
    corrections: int = 50,
    precision: str = "float32",
) -> int:
    """Peak bytes of refining an image of ``shape`` in tiles of side ``tile`` (targets computed in tiles too).
    ``precision`` is not used: tiles are counted like float32 (:data:`TILED_PRECISION`)."""
    tile_pixels = min(tile, shape[0]) * min(tile, shape[1])
    optimisation = (evaluation_bytes(tile_pixels, layers, backbone, optimizer, TILED_PRECISION)
                    + optimizer_bytes(optimizer, tile_pixels, corrections))
    image_arrays = TILED_IMAGE_COPIES * 12 * shape[0] * shape[1]
    if optimizer == "adam":
        image_arrays += 2 * 12 * shape[0] * shape[1]  # the moments are kept for the whole image
    return int(base_bytes(layers, backbone) + optimisation + image_arrays)


def plan_run(
    config: "StyleConfig",
    content_shape: Sequence[int],
    max_memory: Any = None,
    *,
    style_shapes: Sequence[Sequence[int]] | None = None,
    backbone: str | None = None,
) -> RunPlan:
    """Estimate a run's peak memory and decide how to do it within ``max_memory``.

    Args:
        config: the run's settings (size, layers, optimiser, style_scale, max_memory, …).
        content_shape: (height, width) of the content image (any size; the output keeps its aspect ratio
            with long side ``config.size``).
        max_memory: the budget: bytes or a size such as ``"8G"``; default ``config.max_memory``, else
            :func:`default_budget` (a share of the memory available now).
        style_shapes: (height, width) of the style images, if known (default: square).
        backbone: the network really used, if known; default: the one the run will use, found without
            TensorFlow (:func:`~nst_lib.weights.planned_backbone`: VGG16 when only the offline weights are here).

    Returns:
        A :class:`RunPlan`. ``fits`` is False when the run cannot be done even in the smallest tiles;
        ``message`` then says how much it needs.
    """
    if max_memory is None:
        max_memory = getattr(config, "max_memory", None)
    budget = default_budget() if max_memory is None else parse_memory_size(max_memory)
    usable = int(budget * PLAN_HEADROOM)  # what the estimate may reach (see PLAN_HEADROOM)
    source = "the memory budget" if max_memory is not None else "the memory available now"
    backbone = backbone or planned_backbone(config.backbone, getattr(config, "weights", "imagenet"))
    layers = tuple(config.content_layers) + tuple(config.style_layers)
    optimizer, corrections = config.optimizer, config.lbfgs_corrections
    shape = output_shape(content_shape, config.size)
    style_long = max(32, round(max(shape) * config.style_scale))
    # the precision the network will compute in (whole runs: ACTIVATION_BYTES; tiles: TILED_PRECISION)
    precision = resolve_precision(getattr(config, "precision", "float32")).used
    common = dict(layers=layers, backbone=backbone, optimizer=optimizer, corrections=corrections, precision=precision)
    whole_peak = estimate_whole(shape, style_pixels=_style_pixels(style_shapes, style_long), **common)
    h, w = shape
    if whole_peak <= usable:
        return RunPlan(
            whole_peak, "whole", True,
            f"a {w}×{h} px run needs about {format_bytes(whole_peak)}, within {source} "
            f"({format_bytes(budget)})",
            budget, shape, whole_peak,
        )

    tile = _largest_tile(shape, usable, common)
    smallest = estimate_tiled(shape, MIN_TILE, **common)
    if not tile:
        return RunPlan(
            smallest, "tiled", False,
            f"a {w}×{h} px run needs about {format_bytes(whole_peak)} in one piece and at least "
            f"{format_bytes(smallest)} even in tiles of {MIN_TILE} px, more than {source} "
            f"({format_bytes(budget)}); give a larger --max-memory or a smaller --size",
            budget, shape, whole_peak,
        )
    rungs = _ladder(shape, usable, tile, style_shapes, config.style_scale, common, config.steps)
    if rungs is None:
        need = estimate_whole(output_shape(shape, MIN_WHOLE), style_pixels=_style_pixels(style_shapes, MIN_WHOLE), **common)
        return RunPlan(
            max(need, smallest), "tiled", False,
            f"a {w}×{h} px run needs at least {format_bytes(need)} for its first {MIN_WHOLE} px stage, more than "
            f"{source} ({format_bytes(budget)}); give a larger --max-memory",
            budget, shape, whole_peak,
        )
    overlap = rungs[-1].overlap
    peak = max(
        estimate_tiled(r.shape, r.tile, **common) if r.mode == "tiled"
        else estimate_whole(r.shape, style_pixels=_style_pixels(style_shapes, round(r.size * config.style_scale)), **common)
        for r in rungs
    )
    ladder = " → ".join(f"{r.size} px{' in tiles' if r.mode == 'tiled' else ' whole'}" for r in rungs)
    return RunPlan(
        peak, "tiled", True,
        f"a {w}×{h} px run would need about {format_bytes(whole_peak)} in one piece, more than {source} "
        f"({format_bytes(budget)}); it is done as {ladder} (tiles of {tile} px, estimated peak "
        f"{format_bytes(peak)})",
        budget, shape, whole_peak, tuple(rungs), tile, overlap,
    )


def _largest_tile(shape: Sequence[int], usable: int, common: dict) -> int:
    """The largest tile side (a multiple of 32 from MAX_TILE down to MIN_TILE) whose run fits in ``usable``
    bytes; 0 when none does."""
    for side in range(MAX_TILE, MIN_TILE - 1, -32):
        if estimate_tiled(shape, side, **common) <= usable:
            return side
    return 0


def tile_overlap(tile: int) -> int:
    """Pixels shared by neighbouring tiles: an eighth of the tile, at least 32, a multiple of 16."""
    return max(32, (tile // 8) // 16 * 16)


def _ladder(shape, budget, tile, style_shapes, style_scale, common, steps) -> list[Rung] | None:
    """The sizes of a tiled run, smallest first: the output's size halved until it is at most
    :data:`COMPOSITION_SIZE` (less if even that does not fit), then doubled back up to the output. Every
    rung that fits in one piece is optimised whole — so the whole stage is the largest rung that fits —
    and the rest in tiles. The first rung gets ``steps`` iterations; each later one
    ``REFINE_SHARE · steps · (first side / its side)²`` (4096 px from 512 px with 300 steps: 300, 38, 10, 3),
    split over two passes on differently offset grids when there are at least 8."""
    long_side = max(shape)
    sizes = [long_side]
    while sizes[-1] > COMPOSITION_SIZE and sizes[-1] // 2 >= MIN_WHOLE:
        sizes.append(sizes[-1] // 2)
    sizes.reverse()

    def fits_whole(size: int) -> bool:
        style_pixels = _style_pixels(style_shapes, round(size * style_scale))
        return estimate_whole(output_shape(shape, size), style_pixels=style_pixels, **common) <= budget

    while not fits_whole(sizes[0]):  # the composition itself must fit: shrink it (not below MIN_WHOLE)
        smaller = (sizes[0] * 3 // 4) // 32 * 32
        if smaller < MIN_WHOLE:
            return None
        sizes[0] = smaller
    steps = NOMINAL_STEPS if steps is None else int(steps)
    rungs = [Rung(sizes[0], output_shape(shape, sizes[0]), "whole", iterations=steps)]
    tiled = False
    for size in sizes[1:]:
        rung_shape = output_shape(shape, size)
        work = max(MIN_RUNG_ITERATIONS, math.ceil(REFINE_SHARE * steps * (sizes[0] / size) ** 2))
        tiled = tiled or not fits_whole(size)
        if not tiled:
            rungs.append(Rung(size, rung_shape, "whole", iterations=work))
            continue
        rung_tile = min(tile, max(rung_shape))
        passes = 2 if work >= 8 else 1
        rungs.append(Rung(size, rung_shape, "tiled", rung_tile, tile_overlap(rung_tile),
                          iterations=math.ceil(work / passes), passes=passes))
    return rungs


def check_plan(plan: RunPlan) -> RunPlan:
    """Raise :class:`MemoryBudgetError` with the plan's message when it does not fit; else return it."""
    if not plan.fits:
        raise MemoryBudgetError(plan.message, reason="memory", received=plan.estimated_peak_bytes,
                                allowed=plan.budget_bytes)
    return plan


# ------------------------------------------------------------------------------------------ the inputs
#: what the process holds before TensorFlow is imported, while inputs are decoded (interpreter, NumPy,
#: Pillow, SciPy, scikit-image: about 60 MB measured, rounded up)
INPUT_BASE_BYTES = 150 * MIB


class InputMemoryError(MemoryBudgetError):
    """Decoding an input, even reduced to the size the run needs, would not fit in the memory budget.

    Attributes:
        label: the input as messages name it; needed: estimated peak bytes (the program's own included);
        budget: the budget in bytes.
    """

    def __init__(self, message: str, label: str, needed: int, budget: int):
        super().__init__(message, subject=label, reason="memory", received=needed, allowed=budget)
        self.label, self.needed, self.budget = label, needed, budget


def check_input_decoding(inputs: Sequence[tuple[ImageHeader, int | None]], max_memory: Any = None) -> int:
    """Refuse, from the files' headers alone, inputs whose decoding the memory budget cannot hold.

    Inputs are decoded one after another, before TensorFlow is imported, each shrunk to the size the run
    needs right after decoding (:meth:`~nst_lib.images.ImageHeader.decode_bytes`), so the peak is the
    program's own memory plus the costliest input.

    Args:
        inputs: each input's header and the long side the run needs it at (None: full size).
        max_memory: the budget (bytes or ``"1G"``); default: a share of the memory available now.

    Returns:
        The estimated peak in bytes.

    Raises:
        InputMemoryError: the costliest input does not fit; the message names it, its size and the budget.
    """
    budget = default_budget() if max_memory is None else parse_memory_size(max_memory)
    if not inputs:
        return INPUT_BASE_BYTES
    header, size = max(inputs, key=lambda item: item[0].decode_bytes(item[1]))
    needed = INPUT_BASE_BYTES + header.decode_bytes(size)
    if needed > budget * PLAN_HEADROOM:
        source = "the memory budget" if max_memory is not None else "the memory available now"
        raise InputMemoryError(
            f"decoding {header.label} ({header.width}×{header.height} px, mode {header.mode}) needs about "
            f"{format_bytes(needed)} even reduced to the size the run needs, more than {source} "
            f"({format_bytes(budget)}); give a larger --max-memory or a smaller image", header.label, needed, budget)
    return needed
