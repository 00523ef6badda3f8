# %% [markdown]
# # The style-transfer studio
#
# Everything together in one call, `nst.stylize`: what its settings do, the paper's content/style trade-off in our units, and a studio for your own photos.
#
# **What you'll build:** a full style transfer with live progress, Gatys et al.'s Figure 4 (the content/style ratio) and Figure 5 (the content layer), and a studio widget with upload, live preview, Stop and Download.

# %% [markdown]
# ## What you will learn
#
# - what `nst.stylize` does, step by step, and what its `Result` contains;
# - how to watch a run and stop it early from a **callback**;
# - every setting of `nst.StyleConfig`, with its default;
# - how the paper's ratio **α/β** relates to our `content_weight / style_weight` — exactly for the
#   normalisation, approximately for the network — and Gatys et al. 2016, **Figure 4**;
# - why the content is matched at a deep layer (Gatys et al. 2016, **Figure 5**);
# - how to run long jobs from a widget in Jupyter so that a Stop button still works.
#
# Figure numbers are those of the CVPR 2016 paper (*Image Style Transfer Using Convolutional Neural
# Networks*); its Figure 4 is Figure 3 of the 2015 arXiv preprint (*A Neural Algorithm of Artistic Style*).

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import HTML

import nst_lib as nst
from nst_lib import data
from nst_lib.course import checks, experiments, viz
from nst_lib.backbone import BackboneSubstitutionWarning

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # the first run prints its network, in words
tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that

CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
SIZE = nst.pick(256, 64)   # long side of the result
STEPS = nst.pick(100, 4)   # L-BFGS iterations
content, style = data.example_pair(CONTENT_NAME, STYLE_NAME)  # full size: stylize resizes them

# %% [markdown]
# ## 1. One call
#
# `nst.stylize(content, style, **settings)` takes paths, bytes, PIL images or arrays, and returns a
# `Result`. The core never prints; it reports every iteration to an optional **callback** with an
# `Iterate` event (iteration, loss parts, elapsed seconds, current scale and shape, and `image()` on
# request). Printing is the callback's job:
#
# ⏱ Real settings (256 px, 100 L-BFGS iterations): about **40 seconds** on a 2-core CPU.

# %%
REPORT_EVERY = nst.pick(25, 1)


def report(event):
    if event.iteration % REPORT_EVERY == 0:
        height, width = event.shape
        print(f"iteration {event.iteration:4d}  scale {event.scale + 1}/{event.scales} ({width}×{height} px)"
              f"  total {event.losses['total']:.4g}  {event.elapsed:5.1f} s")


result = nst.stylize(content, style, size=SIZE, steps=STEPS, callback=report)
print(f"{result.message}: {result.iterations} iterations in {result.elapsed:.0f} s on {result.backbone.upper()}")
viz.show_images([data.content_image(CONTENT_NAME, SIZE), data.style_image(STYLE_NAME, SIZE), result.image],
                [CONTENT_NAME, STYLE_NAME, "result"])

# %% [markdown]
# Inside, `stylize`:
#
# 1. resolves the settings into a validated `StyleConfig` (bad values fail here, with a message that
#    names them);
# 2. loads the images (`nst.load_image`) and builds the VGG feature extractor once;
# 3. plans the **scales**: by default one; with `scales=2` it first works at half size, then at full
#    size (notebook 07);
# 4. at each scale: computes the targets (the photo's features, the Gram matrices of the style image
#    resized to the output), builds the `Objective` of notebook 04, picks the start (by default the photo
#    recoloured with the style's palette, notebook 05; at a finer scale the upsampled coarser result),
#    and runs `run_lbfgs` or `run_adam` (notebook 05);
# 5. applies colour preservation if asked (notebook 07) and returns a `Result` with the best image.
#
# The `Result` keeps the whole loss history (one entry per iteration, with every part), the settings
# and how the run ended. In the history, `content` and `style` are the losses *before* weighting, and
# `total = 1e4 · content + 1e-2 · style`: the weights decide how much likeness the optimiser may trade
# for style.

# %%
print("scales:", result.scale_shapes, "| stop reason:", result.stop_reason, "| weights:", result.weights_source)
viz.loss_curves(result.history, parts=("total", "content", "style"), title="loss parts of the run above")

# %% [markdown]
# A callback that returns `True` stops the run after the current iteration; `stylize` then returns the
# best image so far. This is how the Stop button of the studio below works. (`time_budget=` stops on a
# clock instead, and Ctrl-C — *Interrupt the kernel* — stops just as cleanly.)

# %%
stopped = nst.stylize(content, style, size=nst.pick(128, 64), steps=100, scales=1,
                      callback=lambda event: event.iteration >= 5)
print(f"stop_reason={stopped.stop_reason!r}, {stopped.iterations} iterations: {stopped.message}")

# %% [markdown]
# Every setting is a field of `nst.StyleConfig`, declared once with its default and a one-line
# description. `stylize` accepts them as keyword arguments, the `nst` command line derives its flags from
# them, and the widgets read their defaults from them:

# %%
from nst_lib.config import config_fields
from nst_lib.course.widgets.common import stats_table_html

rows = [(f.name, repr(f.default), f.metadata["doc"]) for f in config_fields()]
HTML(stats_table_html(("setting", "default", "what it does"), rows))

# %% [markdown]
# ## 2. α/β in our units (Gatys et al. 2016, Figure 4)
#
# The paper weighs its two losses as `α · L_content + β · L_style` and reports the ratio **α/β**
# (1e-3 or 1e-4 for most of its pictures). Our losses are normalised differently, so the same ratio does
# not mean the same thing. Compare the definitions, for a layer with `N` channels and `M = h·w`
# positions (`F` holds one row per position here, one column per channel; the paper writes it transposed):
#
# | | Gatys et al. | this library |
# | --- | --- | --- |
# | content | `L_c = ½ Σ (F − P)²` | `mean((F − P)²)` |
# | Gram | `G = F Fᵀ` (a sum over positions) | `G = Fᵀ F / M` |
# | style, per layer | `E_l = Σ (G − A)² / (4 N² M²)` | `mean((G − A)²)` |
#
# **Exercise 1 — build it yourself, before reading on: the exact part of the conversion (self-checked).**
# Write `paper_to_ours(alpha_over_beta, height, width)`: the ratio `content_weight / style_weight` that makes
# our objective `content_weight · content + style_weight · style` a constant multiple of the paper's
# `α · L_c + β · L_s`, for a `height × width` image with the content at `conv4_2` (512 channels, after three
# 2×2 max-poolings) and one style layer, from the definitions in the table alone. Write each of our terms as
# a multiple of the paper's (how many terms does a mean average? how does `G / M` change a squared
# difference of Gram matrices?), then solve for the ratio. The check tries three sizes and names the usual
# slips; the derivation follows it. (Solution, on purpose only: `checks.solution("paper_to_ours")`.)

# %% tags=["exercise"]
def paper_to_ours(alpha_over_beta, height, width):
    """content_weight / style_weight equivalent to the paper's α/β, content at conv4_2 (normalisation only)."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_paper_to_ours(paper_to_ours)

# %% [markdown]
# **The derivation.** A mean over the `N·M` values of a feature map is the sum divided by `N·M`, and a mean
# over the `N²` entries of a Gram matrix is the sum divided by `N²`; our Gram matrix is the paper's divided
# by `M`, so a squared difference of ours is the paper's divided by `M²`:
#
# | | relation |
# | --- | --- |
# | content | ours = `2/(N·M) · L_c` |
# | Gram | ours = paper's `/ M` |
# | style, per layer | ours = `Σ (G − A)² / (N² M²)` = `4 · E_l` |
#
# So `α · L_c + β · L_s = (α·N·M/2) · content + (β/4) · style`: the paper's weights become
# `content_weight = α·N·M/2` and `style_weight = β/4`, and
#
# **content_weight / style_weight = 2 · N · M · α/β**, with N and M of the content layer.
#
# `experiments.normalisation_factor` computes `2·N·M`. It grows with the image, which means the paper's
# α/β implicitly depends on the image size, while our weights do not:

# %%
for side in (256, 512, 1024):
    factor = experiments.normalisation_factor(side, side, "conv4_2")
    print(f"{side:5d} px square: conv4_2 has M = {(side // 8) ** 2:6d} positions → 2·N·M = {factor:.3g}")

# %% [markdown]
# That settles the normalisation, but not the network. Gatys et al. rescaled VGG so that every filter's
# mean activation over ImageNet is 1; Keras' VGG is not rescaled, and its activations are much larger and
# differ from layer to layer. The content loss scales with the square of the activations and the style loss
# with their fourth power, so the missing rescaling changes the balance by orders of magnitude, differently
# at every layer. The mean activations, measured on the two images of this notebook:

# %%
probe = nst.FeatureExtractor(("conv4_2", *experiments.GATYS_STYLE_LAYERS))
small_content, small_style = data.example_pair(CONTENT_NAME, STYLE_NAME, size=SIZE)
means = {}
for image in (small_content, small_style):
    for layer, value in probe(image[np.newaxis]).items():
        means[layer] = means.get(layer, 0.0) + float(np.mean(value)) / 2
print(f"{CONTENT_NAME} and {STYLE_NAME} at {SIZE} px, {probe.backbone}: "
      + ", ".join(f"{layer} {value:.0f}" for layer, value in means.items()))
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.barh(list(means), list(means.values()), color="tab:green")
ax.invert_yaxis()
ax.set_xlabel("mean activation (the paper's network: 1)")
plt.show()

# %% [markdown]
# So there is no exact conversion. The library uses a rough one instead: with the content at `conv4_2` (as
# in the paper's Figure 4),
#
# **content_weight / style_weight = RATIO_CALIBRATION · α/β**, with `RATIO_CALIBRATION = 1e8`.
#
# This constant was **chosen by eye**, on one pair of images (`grace_hopper` and `swirls`) at one size
# (256 px): it is the power of ten for which the paper's four columns, 1e-5 to 1e-2, show the same
# progression from "the style everywhere" to "the photo, lightly painted". It is not derived, and other
# images or sizes may want another one — the normalisation part alone, `2·N·M` above, already changes with
# the size. Treat the paper's α/β as a label for a column, not as a setting. `experiments.paper_ratio_to_weights`
# keeps our default style weight and moves the content weight:

# %%
for ratio in experiments.PAPER_RATIOS:
    weights = experiments.paper_ratio_to_weights(ratio)
    assert np.isclose(weights["content_weight"] / weights["style_weight"], experiments.RATIO_CALIBRATION * ratio)
    print(f"α/β = {ratio:g}  →  content_weight = {weights['content_weight']:g}, style_weight = {weights['style_weight']:g}")

# %% [markdown]
# Now Figure 4: one row with the five style layers, the four ratios across, each run from white noise as
# in the paper. (`layer_sets=experiments.cumulative_layer_sets()` gives the paper's five rows; see the
# exercises.)
#
# ⏱ Real settings (256 px, 80 L-BFGS iterations over 2 scales, 4 runs): about **a minute** on a 2-core CPU.

# %%
GRID_STEPS = nst.pick(80, 3)
GRID_SCALES = nst.pick(2, 1)
grid = experiments.ratio_grid(content, style, size=SIZE, steps=GRID_STEPS, scales=GRID_SCALES)
grid.figure(with_inputs=True)

# %% [markdown]
# At the real settings (`docs/figures/ratio_grid.png` is that run: 256 px, `grace_hopper` and `swirls`), at
# α/β = 1e-5 the style fills the canvas and the portrait is barely there; at 1e-2 the photo is back,
# with the painting's texture over it. Where you want to be is a matter of taste — which is why the studio
# below has one slider per weight. (From noise, 80 iterations can leave a little grain; the paper ran
# much longer. Starting from the photo, or from the recoloured photo as `stylize` does by default,
# avoids that.)
#
# ## 3. Which layer holds the content? (Gatys et al. 2016, Figure 5)
#
# The same transfer, with the content matched at `conv2_2` or at `conv4_2`:
#
# ⏱ Real settings (2 runs): about **40 seconds** on a 2-core CPU.

# %%
layer_panel = experiments.content_layer_comparison(content, style, layers=("conv2_2", "conv4_2"), size=SIZE,
                                                   steps=GRID_STEPS, scales=GRID_SCALES)
layer_panel.figure(with_inputs=True)

# %% [markdown]
# At the real settings (`docs/figures/content_layers.png`), matched at `conv2_2` the content loss pins down
# nearly every pixel (notebook 04, Figure 1), so the style can only add texture on top of the photo. Matched at `conv4_2`, only the objects and their
# arrangement are fixed, and the style repaints their surfaces: the result looks *painted*, not filtered.
# The library's default, `conv5_2` (the TensorFlow tutorial's), goes one step further.
#
# ## 4. A widget that can be stopped
#
# In Jupyter a button's click is handled by the kernel — but a kernel busy running `stylize` handles
# nothing until it finishes. The studio therefore runs `stylize` in a **background thread**: the kernel
# stays free, the Stop click arrives, and the callback returns `True` at the next iteration. The live
# preview is the callback setting the `value` of an `ipywidgets.Image`; the download is a link with the
# PNG inside it. The tests build the studio with `background=False` to run it synchronously.

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR
#   2016 — Figure 4 (the α/β grid, Figure 3 of the 2015 arXiv preprint) and Figure 5 (the content layer).
# - Y. Jing, Y. Yang, Z. Feng, J. Ye, Y. Yu, M. Song, *Neural Style Transfer: A Review*, IEEE Transactions
#   on Visualization and Computer Graphics, 2020 — the settings other implementations chose.
# - J. Johnson, A. Alahi, L. Fei-Fei, *Perceptual Losses for Real-Time Style Transfer and
#   Super-Resolution*, ECCV 2016 — the same objective, trained into a network that stylises in one pass.

# %% [markdown]
# ## Summary
#
# - `nst.stylize(content, style, **settings)` runs the whole pipeline and returns a `Result`: the best
#   image, the loss history, the settings and why it stopped.
# - Progress goes to a callback with an `Iterate` event; returning `True` stops with the best image.
# - `nst.StyleConfig` declares every setting once; `stylize`, the CLI and the widgets share it.
# - The paper's `α/β` corresponds to `content_weight / style_weight = 2·N·M·α/β` for the normalisation
#   alone; because Keras' VGG is not rescaled like the paper's, the library uses `1e8 · α/β` at `conv4_2`,
#   a constant chosen by eye on one pair at 256 px. Small ratios give style, large ones content (Figure 4).
# - A deep content layer lets the style repaint the surfaces; a shallow one only adds texture (Figure 5).
# - Long runs in a widget go to a background thread so that Stop can be clicked.

# %% [markdown]
# ## Exercises
#
# Exercise 1, the exact part of the conversion from the paper's α/β to our weights, is in section 2,
# before its derivation.
#
# **Exercise 2 — the whole Figure 4.** Run
# `experiments.ratio_grid(content, style, layer_sets=experiments.cumulative_layer_sets(), size=SIZE,
# steps=GRID_STEPS, scales=GRID_SCALES)` and draw it with `.figure()`: five rows, from `conv1_1` alone to
# all five layers. How does the look change down a column? (⏱ five times the cell of section 2.)
#
# <details><summary><b>What you should see</b></summary>
#
# Down a column the texture grows in scale, as in notebook 04's style reconstructions: fine colour grain
# with `conv1_1` alone, the painting's strokes and swirls with all five layers. Across a row the photo
# comes back as α/β grows. One difference from the paper: the same ratio does not weigh the style equally
# in every row. With equal layer weights, the style loss of `conv1_1` alone is orders of magnitude smaller
# than that of all five layers (notebook 04, section 2), so expect the top rows to keep more of the photo
# at the same α/β than the paper's do.
# </details>
#
# **Exercise 3 — a third content layer.** Add `"conv5_2"` to the layers of section 3. Is it closer to
# `conv4_2` or to `conv2_2`?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# layer_panel = experiments.content_layer_comparison(content, style, layers=("conv2_2", "conv4_2", "conv5_2"),
#                                                    size=SIZE, steps=GRID_STEPS, scales=GRID_SCALES)
# layer_panel.figure(with_inputs=True)
# ```
#
# Closer to `conv4_2`, and looser still: notebook 04's reconstructions from `conv5_2` keep less of the photo
# than those from `conv4_2`, so the style repaints more of the surfaces while the arrangement of the
# objects stays.
# </details>
#
# **Exercise 4 — your own photo.** Upload a photo in the studio below, stylise it at 384 px, press Stop
# half-way, and download the result.
#
# <details><summary><b>What you should see</b></summary>
#
# The preview follows the run; after Stop, the status line says the run was stopped and that the best
# image so far is kept, and the download is that image as a PNG. Section 1's cell (100 L-BFGS iterations at
# 256 px) takes about 40 seconds on a 2-core CPU, and 384 px has 2¼ times the pixels, so half of 100 steps
# should take under a minute.
# </details>

# %% [markdown]
# ## Interactive demo: the studio
#
# Pick a bundled example or upload your own content and style images (**content file**, **style file**),
# choose the size, the number of steps and the three loss weights, and press **Run**. The preview updates
# every few iterations; **Stop** ends the run and keeps the best image so far; the **Download** link saves
# the result as a PNG. At 384 px and 100 steps expect roughly 1½ minutes on a 2-core CPU (2¼ times the pixels
# of section 1's cell, about 40 seconds at 256 px).

# %%
from nst_lib.course.widgets.studio import studio_demo

studio_demo()
