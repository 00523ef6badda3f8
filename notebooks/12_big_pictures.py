# %% [markdown]
# # Big pictures in small memory
#
# Why a poster-sized style transfer needs tens of gigabytes, how the library estimates a run's memory before it starts, and how it fits a big picture into a small budget: a ladder of sizes, tiles that share one style target, seams measured, and a run that survives being killed.
#
# **What you'll build:** the count of what VGG keeps per pixel (written by you and checked), memory against size measured in this run next to the library's estimate, a run plan for a 4096 px poster, a tiled run with one global style target and its seams measured, and a run killed and resumed from its state file.

# %% [markdown]
# ## What you will learn
#
# - where a style transfer's memory goes: the **activations** kept for the backward pass, which grow with
#   the number of pixels, and the optimiser's state;
# - how `nst_lib.memory.plan_run` **estimates** a run's peak before it starts, and how well the estimate
#   matches a measured peak;
# - the **ladder of sizes**: compose the picture whole at a size that fits, then refine it larger in
#   **tiles**, each tile matched to **one style target computed for the whole picture**;
# - how to **measure seams** instead of looking for them;
# - `--max-memory`: runs that cannot fit are refused before they start, with one sentence;
# - `--save-state` / `--resume`: a run killed half-way goes on from where it was.

# %%
# %matplotlib inline
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.patches import Rectangle

import nst_lib as nst
from nst_lib import data, memory, tiling
from nst_lib.cli import main as nst_cli_main
from nst_lib.backbone import BackboneSubstitutionWarning, FeatureExtractor, layer_catalogue, resolve_weights
from nst_lib.precision import resolve_precision
from nst_lib.weights import planned_backbone
from nst_lib.course import viz
from nst_lib.course.memory_lab import measure_peak, stylize_command
from nst_lib.resume import RunState

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # said once, in words, just below
tf.get_logger().setLevel("ERROR")

CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
MEASURED_SIZES = nst.pick((128, 256, 512, 768), (64,))  # sizes whose peak memory this notebook measures
MEASURE_STEPS = nst.pick(5, 1)
WEIGHTS = resolve_weights("vgg19", warn=False)
BACKBONE = WEIGHTS.backbone
DEFAULT = nst.StyleConfig()
LAYERS = DEFAULT.content_layers + DEFAULT.style_layers
photo, painting = data.content_image(CONTENT_NAME), data.style_image(STYLE_NAME)
print(f"network: {WEIGHTS.describe()}")
print(f"this machine: {memory.format_bytes(memory.available_memory())} available now")

# %% [markdown]
# ## 1. What the network keeps per pixel
#
# To compute the gradient of the loss with respect to the pixels, the backward pass needs the values the
# forward pass computed — every feature map up to the deepest layer the losses read. Each feature map has
# its layer's channels at `1/stride²` of the image's positions (notebook 02). That is the number to know:
# **how many float32 values the forward pass keeps per input pixel**.
#
# **Exercise 1 — count them yourself (self-checked), before reading the library's count.** Write
# `activation_values(layers, catalogue)`: `layers` are Keras layer names, `catalogue` is
# `layer_catalogue(backbone)` (each entry has `keras_name`, `channels` and `stride`, input to output).
# Count the values per input pixel of everything the forward pass keeps: the input image itself, the output
# of every convolution up to the deepest of `layers`, and the output of every 2×2 pooling between two blocks
# you pass through. (Reference solution, on purpose only: `checks.solution("activation_values")`.)

# %% tags=["exercise"]
from nst_lib.course import checks


def activation_values(layers, catalogue):
    """float32 values VGG's forward pass keeps per input pixel, up to the deepest of ``layers``."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_activation_values(activation_values)

# %% [markdown]
# The library's count, layer by layer, for the default layers (content `block5_conv2`, the five style
# layers), and what it means in bytes:

# %%
catalogue = layer_catalogue(BACKBONE)
deepest = max(info.keras_name for info in catalogue if info.keras_name in LAYERS)
per_pixel = memory.activation_values_per_pixel(LAYERS, BACKBONE)
print(f"{BACKBONE} up to {deepest}: {per_pixel:.1f} float32 values per pixel (the image itself: 3)")
for info in catalogue:
    if info.keras_name > deepest:
        break
    print(f"  {info.keras_name:13} {info.channels:4d} channels at stride {info.stride:2d}: "
          f"{info.channels / info.stride**2:6.1f} values per pixel")
for side in (512, 1024, 2048, 4096):
    height, width = memory.output_shape(photo.shape[:2], side)
    pixels = height * width
    print(f"{side:5d} px long side: activations alone {memory.format_bytes(4 * per_pixel * pixels)}, "
          f"the whole run's estimate {memory.format_bytes(memory.plan_run(DEFAULT.replace(size=side), photo.shape[:2], '1T', backbone=BACKBONE).whole_peak_bytes)}")

# %% [markdown]
# The first block alone — 64 channels at full resolution, twice — holds 128 of those values per pixel: big
# pictures are expensive because of the *shallow* layers. The run's estimate adds a fixed part (Python,
# TensorFlow, the weights), a few copies of the activations (their gradients, the convolutions' working
# space: `memory.ACTIVATION_COPIES`), and L-BFGS's history (`2·m` image-sized vectors: float32 in the
# TensorFlow L-BFGS that `stylize` uses by default, float64 in SciPy's `lbfgs-scipy`).
#
# ## 2. Memory against size, measured
#
# A run's peak can only be measured in a process of its own (a process's peak never goes down). Each point
# below is one `nst stylize` in a child process; its peak resident memory comes from the kernel (`ru_maxrss`
# of `os.wait4`), and the estimate is `plan_run`'s for the same settings:
#
# ⏱ Real settings: four child processes (TensorFlow starts in each), 128–768 px, 5 L-BFGS iterations each —
# **about a minute** on a 2-core CPU.

# %%
measured = []
for size in MEASURED_SIZES:
    point = measure_peak(size, MEASURE_STEPS, content=CONTENT_NAME, style=STYLE_NAME)
    assert point["returncode"] == 0, point["stderr"]
    measured.append(point)
    error = point["estimate_bytes"] / point["peak_bytes"] - 1
    print(f"{size:4d} px ({point['shape'][1]}×{point['shape'][0]}): measured {memory.format_bytes(point['peak_bytes'])}, "
          f"estimated {memory.format_bytes(point['estimate_bytes'])} ({error:+.0%}), {point['seconds']:.0f} s")

sides = np.linspace(64, 1536, 40)
estimates = [memory.plan_run(DEFAULT.replace(size=int(s)), photo.shape[:2], "1T", backbone=BACKBONE).whole_peak_bytes
             for s in sides]
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.plot(sides, np.array(estimates) / 2**30, label="plan_run's estimate")
ax.plot([p["size"] for p in measured], [p["peak_bytes"] / 2**30 for p in measured], "o", label="measured here")
ax.set_xlabel("long side of the result (px)")
ax.set_ylabel("peak memory (GiB)")
ax.set_title(f"{CONTENT_NAME}, L-BFGS, {BACKBONE}, default layers")
ax.legend()
plt.show()

# %% [markdown]
# The curve is a parabola in the side (the memory grows with the pixels) on top of the fixed part. The
# constants were fitted to measurements at 256–1024 px (`benchmarks/memory.py calibrate`) and checked within
# ±25 % up to 2048 px (`docs/high_resolution.md`); the printed errors say how this machine, now, agrees.
#
# ## 3. A plan before the run
#
# `plan_run(config, content_shape, max_memory)` answers three ways: **whole** (it fits), **tiled** (a ladder
# of sizes ending in tiles that fit), or **refused** (not even the smallest tile fits). Here is a
# 4096 px poster within budgets from 2 to 16 GB:

# %%
poster = DEFAULT.replace(size=4096)
for budget in ("2G", "4G", "8G", "16G"):
    plan = memory.plan_run(poster, photo.shape[:2], budget, backbone=BACKBONE)
    print(f"--max-memory {budget:>3}: {plan.message}")

# %% [markdown]
# The ladder: the composition — where things go, the size of the brush strokes — is decided at about
# 512 px, where a whole-image run is cheap (`memory.COMPOSITION_SIZE`); each larger rung starts from the
# previous one enlarged and only refines it, so it needs few iterations. Only the rungs that do not fit whole
# are done in tiles. The 8 GB plan, drawn:

# %%
plan = memory.plan_run(poster, photo.shape[:2], "8G", backbone=BACKBONE)
fig, axes = plt.subplots(1, len(plan.rungs), figsize=(3 * len(plan.rungs), 3.2))
for ax, rung in zip(np.atleast_1d(axes), plan.rungs):
    height, width = rung.shape
    ax.add_patch(Rectangle((0, 0), width, height, facecolor="0.9", edgecolor="black"))
    if rung.mode == "tiled":
        for index, box in enumerate(tiling.tile_boxes(rung.shape, rung.tile, rung.overlap)):
            ax.add_patch(Rectangle((box.left, box.top), box.width, box.height, fill=False,
                                   edgecolor=plt.cm.tab10(index % 10), linewidth=1.2))
    ax.set_xlim(0, plan.output_shape[1])
    ax.set_ylim(plan.output_shape[0], 0)
    ax.set_aspect("equal")
    detail = f"{rung.iterations} it." if rung.mode == "whole" else f"tiles {rung.tile} px, {rung.iterations} it./tile"
    ax.set_title(f"{width}×{height}: {rung.mode}\n{detail}", fontsize=8)
    ax.axis("off")
plt.show()
print(f"estimated peak {memory.format_bytes(plan.estimated_peak_bytes)} of {memory.format_bytes(plan.budget_bytes)} "
      f"(the plan keeps {1 - memory.PLAN_HEADROOM:.0%} of the budget in hand)")

# %% [markdown]
# **Refused before it starts.** When even the smallest tile does not fit, `stylize` raises
# `MemoryBudgetError` and the CLI prints one `error:` line and exits with status 2 — before any
# optimisation starts, not as a crash an hour later:

# %%
with tempfile.TemporaryDirectory() as folder:
    command = stylize_command(CONTENT_NAME, STYLE_NAME, Path(folder) / "poster.png", 4096, 300, ["--max-memory", "1G"])
    started = time.perf_counter()
    refused = subprocess.run(command, capture_output=True, text=True)
    print(f"$ nst stylize example:{CONTENT_NAME} example:{STYLE_NAME} -o poster.png --size 4096 --max-memory 1G")
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    print("\n".join(errors))
    print(f"(exit status {refused.returncode}, {time.perf_counter() - started:.1f} s, "
          f"output written: {(Path(folder) / 'poster.png').exists()})")
assert refused.returncode == 2 and len(errors) == 1

# %% [markdown]
# ## 4. Tiles with one style target
#
# A tile is optimised like a small image, with its own content target (the content image's crop). Its
# *style* target is not the tile's own: a tile of sky would otherwise get the whole painting's strokes
# squeezed into it, and every tile a different texture. All tiles are matched to **one** set of Gram
# matrices, computed for the whole picture. When the style image itself is too large for one forward
# pass, its Gram matrices are computed in tiles too: a Gram matrix is a sum over positions divided by
# their number, so tiles that cut the feature maps at whole positions give it exactly — only the
# receptive field at the cuts needs a margin, which `tiling.tiled_gram_targets` adds.
#
# ⏱ Forward passes over a 768 px style image, whole and in tiles: under 20 seconds on a 2-core CPU at real
# settings.

# %%
style_big = data.style_image(STYLE_NAME, size=nst.pick(768, 320))
extractor = FeatureExtractor(DEFAULT.style_layers, BACKBONE, WEIGHTS)
whole = {k: nst.gram_matrix(v) for k, v in extractor(style_big[np.newaxis]).items()}
TILE = nst.pick(384, 160)
pieces = tiling.tiled_gram_targets(extractor, style_big, tuple(extractor.layers), TILE)
for layer in extractor.layers:
    gap = float(np.max(np.abs(np.asarray(pieces[layer]) - np.asarray(whole[layer]))) / np.max(np.abs(np.asarray(whole[layer]))))
    print(f"{layer}: Gram matrix from {TILE} px tiles vs whole image, largest difference {gap:.1e} of its largest entry")

# %% [markdown]
# Now a whole tiled run: the default settings at a size that does not fit the budget we give it, so
# `stylize` climbs the ladder and refines the last rung in tiles. The budget comes from the plan itself,
# not from a fixed number: how much a picture needs depends on the network the run will use (VGG16, when
# only the offline weights are here, needs less than VGG19), so a fixed "3 GB" tiles on one machine and not
# on another. We give the run
# the fixed part of its estimate (Python, TensorFlow, the weights) and only **half of the rest**. The plan
# printed before the run is the one `stylize` makes (`plan_run`'s default network is the one the run will
# use, `weights.planned_backbone`), and the cell checks that it was, and that the picture really was tiled.
#
# ⏱ Real settings (1024 px: 60 iterations whole at 512 px, then two passes of 9 tiles at 1024 px): **about
# 2½ minutes** on a 2-core CPU.

# %%
BIG = nst.pick(1024, 544)
SETTINGS = nst.pick(dict(steps=60), dict(steps=2, optimizer="adam"))
big = DEFAULT.replace(size=BIG, **SETTINGS)
whole_need = memory.plan_run(big, photo.shape[:2], "1T", style_shapes=[painting.shape[:2]]).whole_peak_bytes
fixed = memory.base_bytes(LAYERS, planned_backbone(big.backbone))
# the plan keeps 1 - PLAN_HEADROOM of a budget in hand: divide by it; then round to 100 MB
BUDGET = round((fixed + (whole_need - fixed) / 2) / memory.PLAN_HEADROOM / (100 * memory.MIB)) * 100 * memory.MIB
print(f"in one piece this run needs about {memory.format_bytes(whole_need)} on {planned_backbone(big.backbone)} "
      f"({resolve_precision(big.precision).used}), {memory.format_bytes(fixed)} of it fixed; "
      f"we give it the fixed part and half of the rest: {memory.format_bytes(BUDGET)}")
big_plan = memory.plan_run(big, photo.shape[:2], BUDGET, style_shapes=[painting.shape[:2]])
print(f"plan: {big_plan.message}")
started = time.perf_counter()
tiled = nst.stylize(photo, painting, size=BIG, max_memory=BUDGET, **SETTINGS)
print(f"{tiled.message}: {tiled.iterations} iterations in {time.perf_counter() - started:.0f} s; "
      f"stages {[f'{w}×{h}' for h, w in tiled.scale_shapes]}")
if tiled.plan != big_plan:
    raise RuntimeError(f"the run used another plan than the one printed above: {tiled.plan.message}")
if tiled.plan.mode != "tiled" or not tiled.tiling:
    raise RuntimeError(f"this run was NOT tiled ({tiled.plan.message}); the seams of section 5 can only be "
                       "measured on a tiled picture: give it a smaller budget")
grids = tiled.tiling[-1]
passes = tiling.pass_boxes(grids["shape"], grids["tile"], grids["overlap"], grids["offsets"])
print(f"the run used the plan printed above, and was tiled: at {grids['shape'][1]}×{grids['shape'][0]} px, "
      f"{len(passes)} pass(es) of {len(passes[0])} tiles of {grids['tile']} px")
fig, ax = plt.subplots(figsize=(6, 6 * tiled.image.shape[0] / tiled.image.shape[1]))
ax.imshow(tiled.image)
for index, box in enumerate(passes[0]):
    ax.add_patch(Rectangle((box.left, box.top), box.width, box.height, fill=False,
                           edgecolor=plt.cm.tab10(index % 10), linewidth=1))
ax.set_title(f"{tiled.image.shape[1]}×{tiled.image.shape[0]} px, tiles of {grids['tile']} px (overlap {grids['overlap']} px)")
ax.axis("off")
plt.show()

# %% [markdown]
# ## 5. Seams, measured
#
# A seam is a line where the picture changes more than it does around it. `tiling.border_energy_ratio`
# measures exactly that: the squared differences *across* the tiles' edges divided by those on the lines a
# few pixels away (1.0: an edge looks like its surroundings). The same measure on a grid of the same tile
# size shifted by half a tile — where no tile ever ended — says what "no seam" looks like in this picture:

# %%
boxes = tiling.pass_boxes(grids["shape"], grids["tile"], grids["overlap"], grids["offsets"])
at_edges = np.mean([tiling.border_energy_ratio(tiled.image, pass_boxes) for pass_boxes in boxes])
half = (grids["tile"] - grids["overlap"]) // 2
shifted = [(oy + half, ox + half) for oy, ox in grids["offsets"]]
control = np.mean([tiling.border_energy_ratio(tiled.image, pass_boxes)
                   for pass_boxes in tiling.pass_boxes(grids["shape"], grids["tile"], grids["overlap"], shifted)])
print(f"across the tiles' edges: {at_edges:.3f};  across a grid shifted by half a tile (no edges there): {control:.3f}")

# %% [markdown]
# Two things keep the seams away: neighbouring tiles **overlap** and are blended with a linear ramp
# (`tiling.feather`), and with several passes the grid **moves** between passes, so no edge stays in
# one place. Compare the two numbers above: an edge that shows would stand out against the control.
#
# ## 6. Killed, then resumed
#
# A long run can be killed — a laptop lid closed, a job's time limit, an out-of-memory killer somewhere
# else. With `--save-state RUN.npz` the run writes its state (the image, the optimiser's moments, where it
# was in the ladder, the loss history, fingerprints of the inputs) at most every minute, after every tile
# and at the end, always atomically; `--resume RUN.npz` goes on from there. Here a CLI run is killed with
# SIGKILL — nothing can catch that — once its state file has a few iterations in it (`NST_SAVE_INTERVAL=0`
# makes it save after every iteration, for this demonstration):
#
# ⏱ Real settings (256 px, 60 Adam steps, killed after 20): **about 25 seconds** on a 2-core CPU.

# %%
RESUME_SIZE, RESUME_STEPS, KILL_AFTER = nst.pick(256, 48), nst.pick(60, 12), nst.pick(20, 4)
folder = Path(tempfile.mkdtemp())
state_file, output = folder / "run.npz", folder / "result.png"
command = stylize_command(CONTENT_NAME, STYLE_NAME, output, RESUME_SIZE, RESUME_STEPS,
                          ["--optimizer", "adam", "--save-state", str(state_file)])
child = subprocess.Popen(command, env={**os.environ, "NST_SAVE_INTERVAL": "0", "TF_CPP_MIN_LOG_LEVEL": "3"},
                         stderr=subprocess.DEVNULL)
saved = 0
while child.poll() is None and saved < KILL_AFTER:
    time.sleep(0.2)
    if state_file.exists():
        try:
            saved = RunState.load(state_file).iterations
        except nst.InvalidSettingError:  # replaced while we read it: read again
            pass
child.send_signal(signal.SIGKILL)
child.wait()
killed = RunState.load(state_file)
print(f"killed (status {child.returncode}) after {killed.iterations} of {RESUME_STEPS} iterations; "
      f"result written: {output.exists()}; state file {state_file.stat().st_size / 1e6:.1f} MB")
history_file = folder / "history.json"
status = nst_cli_main(command[3:] + ["--resume", str(state_file), "--history", str(history_file)])  # `nst stylize … --resume`
iterations = [entry["iteration"] for entry in json.loads(history_file.read_text())["history"]]
print(f"resumed with `--resume`: exit status {status}; the history runs from iteration {iterations[0]} to "
      f"{iterations[-1]} without a gap: {iterations == list(range(iterations[0], iterations[-1] + 1))}")
viz.show_images([killed.image, nst.load_image(output)], [f"saved at iteration {killed.iterations}",
                                                         f"resumed, iteration {iterations[-1]}"])

# %% [markdown]
# The resumed run refuses other images (the state holds fingerprints of the content and the styles) and
# other settings than `--time-budget`, `--max-memory` and `--steps`; L-BFGS restarts its curvature history
# from the saved image (the history is not saved), Adam continues with its moments.
#
# ## Further reading
#
# - F. Luan, S. Paris, E. Shechtman, K. Bala, *Deep Photo Style Transfer*, CVPR 2017 — photorealistic
#   transfer: a locally affine colour constraint (the matting Laplacian) keeps a photo a photo.
# - M. Ruder, A. Dosovitskiy, T. Brox, *Artistic Style Transfer for Videos*, GCPR 2016 — a temporal loss
#   on pixels where optical flow is reliable; each frame starts from the previous one, warped.
# - C. Li, M. Wand, *Combining Markov Random Fields and Convolutional Neural Networks for Image Synthesis*,
#   CVPR 2016 — patches of feature maps matched to their nearest style patches instead of Gram matrices:
#   local structure is kept, at a higher cost.
# - P. Wang, Y. Li, N. Vasconcelos, *Rethinking and Improving the Robustness of Image Style Transfer*, CVPR
#   2021 — why VGG works and ResNet does not: ResNet's deeper features have a few huge, peaky activations
#   (low entropy) that the Gram matrix then copies; softening them (a softmax) makes other networks work.
#   R. Nakano, *Adversarially Robust Neural Style Transfer*, Distill 2019, found robustly trained ResNets
#   work too.
# - `docs/high_resolution.md` — the 4096 px poster run measured (time, peak, seams).

# %% [markdown]
# ## Summary
#
# - Memory grows with the pixels: the forward pass keeps hundreds of float32 values per input pixel
#   (most of them in the first blocks), the backward pass a few copies, L-BFGS its history.
# - `plan_run` estimates the peak before anything runs; a run that does not fit climbs a ladder of sizes
#   and refines the last rungs in tiles, and a run that cannot fit at all is refused with one sentence
#   (`--max-memory SIZE`).
# - Tiles share one style target, computed for the whole picture (in tiles if needed: Gram matrices add
#   up over positions); overlaps, feathering and moving grids keep the seams away, and
#   `border_energy_ratio` measures them.
# - `--save-state` / `--resume` survive a kill: the state file is replaced atomically, and a resumed run
#   checks that the images and settings are the same.

# %% [markdown]
# ## Exercises
#
# **Exercise 2 — Adam's memory.** Redraw section 2's curve for `optimizer="adam"` (`DEFAULT.replace(
# optimizer="adam", size=…)`). Where does the difference come from, and at which size does it matter?
#
# <details><summary><b>What you should see</b></summary>
#
# Adam's curve lies below L-BFGS's: Adam keeps two float32 moments per pixel value where L-BFGS-B keeps
# `2·m` float64 vectors of its history (about 39 at 512 px, capped to 400 MB); the activations dominate
# both from about 1000 px on, so the gap matters most at middle sizes.
# </details>
#
# **Exercise 3 — a budget's smallest poster.** In the demo below, find the smallest budget at which a
# 4096 px poster is planned at all, and the largest size a 4 GB budget does in one piece.
#
# <details><summary><b>What you should see</b></summary>
#
# The smallest tile (256 px) plus the image-sized arrays a tiled run keeps for the whole output set the
# floor: for this photo at 4096 px, with VGG16 (the offline network) and L-BFGS, 2 GB is refused and 2.5 GB
# is planned. With 4 GB the run is done whole up to about 900 px; above, the ladder appears.
# </details>

# %% [markdown]
# ## Interactive demo: the plan for any size and budget
#
# Move the size and the budget: the plan — whole, a ladder ending in tiles, or refused — and the tile grid
# of its last rung appear at once, before anything runs, exactly as `nst stylize … --max-memory SIZE` would
# plan it.

# %%
from nst_lib.course.widgets.big_pictures import plan_demo

plan_demo()
