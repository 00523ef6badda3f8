# %% [markdown]
# # Beyond Gatys: colour, blends, scale, masks and resolution
#
# Five controls from the follow-up work that let you decide what the style may change, and where.
#
# **What you'll build:** colour-preserving transfers, a blend of two styles, brush strokes at three scales, two styles placed with a mask, and a coarse-to-fine high-resolution result, each checked against the library's own pieces.

# %% [markdown]
# ## What you will learn
#
# - how to keep the photo's colours: luminance-only transfer and colour-histogram matching
#   (`preserve_colors`, `nst_lib.color`; Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual
#   Factors in Neural Style Transfer*, CVPR 2017);
# - how several styles blend through their Gram matrices (`style_blend`);
# - how the size of the style image sets the size of the brush strokes (`style_scale`);
# - how a mask puts each style in its own region: **guided Gram matrices** (`mask=`);
# - how coarse-to-fine optimisation reaches high resolutions in reasonable time (`scales`).

# %% [markdown]
# The next cell loads the example pair, defines `transfer(...)` — one `nst.stylize` call with this
# notebook's settings — and runs it once without any control, as the baseline every section compares with.
#
# ⏱ Every `transfer(...)` call in this notebook, starting with the next cell, takes about **20 seconds** at
# the real settings (256 px, 60 L-BFGS iterations) on a 2-core CPU, and a few seconds in fast mode; the whole
# notebook about 6 minutes (`benchmarks/results/notebook_times.json`).

# %%
# %matplotlib inline
import warnings

import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import color, data
from nst_lib.course import checks, viz
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.config import GATYS_STYLE_LAYERS

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # the first run prints its network, in words
tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that

CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
SECOND_STYLE_NAME = "stained_glass"  # the second style of sections 2 and 4
SIZE = nst.pick(256, 64)  # long side of the results
STEPS = nst.pick(60, 3)   # L-BFGS iterations per run, from the recoloured photo, one scale
content, style = data.example_pair(CONTENT_NAME, STYLE_NAME, size=SIZE)
second_style = data.style_image(SECOND_STYLE_NAME, size=SIZE)


def transfer(styles=style, **settings):
    return nst.stylize(content, styles, size=SIZE, steps=STEPS, scales=1, **settings)


baseline = transfer()
print(f"the plain transfer: {baseline.iterations} L-BFGS iterations in {baseline.elapsed:.0f} s on "
      f"{baseline.backbone.upper()} (weights: {baseline.weights_source})")
viz.show_images([content, style, baseline.image], [CONTENT_NAME, STYLE_NAME, "plain transfer"])

# %% [markdown]
# ## 1. Keeping the photo's colours
#
# A style transfer copies the painting's palette along with its brush strokes: with `swirls`, the portrait
# above turns blue and yellow. Gatys et al. (2017) give two ways to keep the photo's colours; both are in
# `nst_lib.color`, and `stylize(..., preserve_colors=...)` applies them.
#
# **Histogram matching** (`"histogram"`) recolours the *style image* first, giving its pixels the mean and
# covariance of the photo's colours (an affine map `x' = Σc^½ Σs^-½ (x − μs) + μc`), then transfers as
# usual. **Luminance-only transfer** (`"luminance"`) works in the YIQ colour space: it transfers the style
# between the grey (Y) versions of the images and puts the photo's colour channels (I, Q) back at the end.
# Gatys et al. also give the painting's luminance the photo's mean and spread first, so that the two grey
# images are comparable.
#
# **Exercise 1 — build it yourself, before reading on: a colour-preserving transfer (self-checked).**
# Write `luminance_transfer(photo, painting, transfer)`: `transfer(content, style)` is any style transfer
# that takes and returns `(H, W, 3)` RGB images in `[0, 1]` (in this notebook, `nst.stylize` without colour
# control). Your function must run it **once, on grey images only** — grey RGB images have three equal
# channels — with the painting's luminance given the photo's mean and standard deviation, and return the
# result's luminance combined with the photo's own colours, as a valid RGB image. `color.rgb_to_yiq` and
# `color.yiq_to_rgb` convert between RGB and YIQ (channel 0 is Y). The check calls it with a stand-in
# `transfer` that records what it receives, so it runs in a second, and tells you which of the three parts
# is off. (Solution, on purpose only: `checks.solution("luminance_transfer")`.)

# %% tags=["exercise"]
def luminance_transfer(photo, painting, transfer):
    """transfer() on grey images (the painting's luminance matched to the photo's), the photo's colours back."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_luminance_transfer(luminance_transfer)

# %% [markdown]
# The library's version: `color.match_luminance` makes the grey, matched painting, and
# `color.combine_luminance` puts the photo's I and Q back. Here is what each method does to the style
# image:

# %%
recoloured = color.match_color_histogram(style, content)
grey_style = color.match_luminance(style, content)
photo_mean = content.reshape(-1, 3).mean(axis=0)
np.testing.assert_allclose(recoloured.reshape(-1, 3).mean(axis=0), photo_mean, atol=0.05)
print("✓ the recoloured style has the photo's mean colour", np.round(photo_mean, 2))
viz.show_images([style, recoloured, grey_style],
                ["style", "histogram-matched to the photo", "luminance only (matched mean and spread)"])

# %% [markdown]
# Now both controls on the whole transfer, next to the plain result:
#
# ⏱ Two `transfer` calls: about 40 seconds at real settings on a 2-core CPU.

# %%
colour_runs = {mode: transfer(preserve_colors=mode) for mode in ("luminance", "histogram")}
runs = {"plain": baseline, **colour_runs}
viz.show_images([r.image for r in runs.values()],
                [f"{name}: colour distance {color.chroma_distance(r.image, content):.3f}" for name, r in runs.items()])

# %% [markdown]
# The colour distance is the mean difference of the I and Q channels from the photo's. Luminance-only
# transfer keeps the photo's colours up to clipping: it puts the photo's I and Q back exactly, but turning
# YIQ into RGB can leave the `[0, 1]` range (a bright new luminance with a saturated colour falls outside
# the RGB cube), and those values are clipped — which is why its colour distance above is small but not
# zero. Only the brightness pattern is painted, which suits portraits. Histogram matching keeps the photo's palette but lets the style move colours around, so it
# looks more painted, and a little less faithful.
#
# ## 2. Blending two styles
#
# Gram matrices are averages, so two styles can be averaged too: with blend weights `b₁ + b₂ = 1`, the
# style targets become `b₁·A₁ + b₂·A₂` at every layer. `nst.Objective` does this for style targets without
# masks; here is the check:

# %%
from nst_lib.losses import Objective, StyleTarget

extractor = nst.FeatureExtractor(GATYS_STYLE_LAYERS)
A1, A2 = ({layer: nst.gram_matrix(f)[0] for layer, f in extractor(image[np.newaxis]).items()}
          for image in (style, second_style))
blend = Objective(extractor, {}, [StyleTarget(A1, weight=0.3), StyleTarget(A2, weight=0.7)], {},
                  {layer: 0.2 for layer in GATYS_STYLE_LAYERS}, content_weight=0.0, style_weight=1.0, tv_weight=0.0)
np.testing.assert_allclose(blend.blended_grams["block3_conv1"], 0.3 * A1["block3_conv1"] + 0.7 * A2["block3_conv1"],
                           rtol=1e-5)
print("✓ the blended targets are 0.3·A₁ + 0.7·A₂")

# %% [markdown]
# Two blends, next to the plain transfer (100 % of the first style):
#
# ⏱ Two `transfer` calls: about 40 seconds at real settings on a 2-core CPU.

# %%
half_half = transfer([style, second_style], style_blend=(0.5, 0.5))
all_glass = transfer([style, second_style], style_blend=(0.0, 1.0))
viz.show_images([baseline.image, half_half.image, all_glass.image],
                [f"100 % {STYLE_NAME}", f"50 % {STYLE_NAME} + 50 % {SECOND_STYLE_NAME}", f"100 % {SECOND_STYLE_NAME}"])
sizes = {layer: float(np.linalg.norm(A2[layer]) / np.linalg.norm(A1[layer])) for layer in GATYS_STYLE_LAYERS}
print(f"‖A({SECOND_STYLE_NAME})‖ / ‖A({STYLE_NAME})‖ by layer:", ", ".join(f"{k} {v:.2f}" for k, v in sizes.items()))

# %% [markdown]
# The middle image is not the two results overlaid: it is one texture whose statistics lie between the
# two styles', so look for features of both mixed in the same strokes rather than side by side. A 50/50
# blend of the *targets* is not a 50/50 blend of the *look*: the style whose Gram matrices are larger (the
# printed ratios of their sizes, layer by layer, say which) pulls harder. Move the blend weights to
# compensate.
#
# ## 3. The size of the brush strokes
#
# The style loss knows nothing about scale: it matches the statistics of the style image *at the size it
# is given*. Enlarge the style image and each stroke covers more pixels, so VGG's filters see larger
# strokes, and the result gets larger strokes too. `style_scale` sets the style image's size relative to
# the output (by default the same long side):
#
# ⏱ Two `transfer` calls (the middle one is the baseline): about 45 seconds at real settings on a 2-core
# CPU.

# %%
scale_runs = {0.5: transfer(style_scale=0.5), 1.0: baseline, 2.0: transfer(style_scale=2.0)}
viz.show_images([r.image for r in scale_runs.values()], [f"style_scale = {s:g}" for s in scale_runs])

# %% [markdown]
# Large scales cost more: the style's Gram matrices are computed on a larger image (once per scale of the
# run), and details larger than VGG's deepest receptive fields cannot be captured at all.
#
# ## 4. Two styles, two regions: guided Gram matrices
#
# A mask says where a style applies. Gatys et al. (2017) weight the feature maps with the mask before the
# Gram matrix — each position's feature vector multiplied by the mask's value there — and normalise so that
# the result is the Gram matrix *of the masked region alone*.
#
# **Exercise 2 — build it yourself, before reading on: a guided Gram matrix (self-checked).** Write
# `guided_gram_matrix(features, mask)` for features `(1, h, w, C)` and a mask `(h, w)` with values in
# `[0, 1]`, returning the `(C, C)` matrix. Decide what to divide by from two requirements: with a mask of
# ones it must equal the plain Gram matrix (notebook 03), and with a 0/1 mask it must equal the plain Gram
# matrix of the selected positions only, however few there are. The check uses a soft mask: zero outside
# a region, between 0.3 and 1 inside.
# (Solution, on purpose only: `checks.solution("guided_gram_matrix")`.)

# %% tags=["exercise"]
def guided_gram_matrix(features, mask):
    """(1, h, w, C) features, (h, w) mask → (C, C): the Gram matrix of the masked region."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_guided_gram_matrix(guided_gram_matrix)

# %% [markdown]
# **The answer, and the library's check of it.** Both requirements hold when the weighted features are
# divided by the mask's energy instead of the number of positions:
#
# `G = (m·F)ᵀ (m·F) / Σ m²`
#
# With a 0/1 mask, `Σ m²` counts the selected positions. With a mask of ones it is the ordinary Gram matrix:

# %%
features = extractor(content[np.newaxis])["block2_conv1"]
ones = tf.ones(features.shape[1:3])
np.testing.assert_allclose(nst.gram_matrix(features, ones).numpy(), nst.gram_matrix(features).numpy(), rtol=1e-4)
print("✓ a guided Gram matrix with a mask of ones equals the plain Gram matrix")

# %% [markdown]
# `stylize(..., mask=m)` with two styles gives the first style the white part of the mask and the second
# the black part: each gets a guided style loss, with the mask area-averaged down to every layer's
# resolution. (With one style, the black part keeps only the content loss; Exercise 4 shows what that
# does.) The demo's masks come from `nst_lib.course.widgets.controls.make_mask`, with soft edges.
#
# ⏱ One `transfer` call with two guided styles: about 25 seconds at real settings on a 2-core CPU.

# %%
from nst_lib.course.widgets.controls import make_mask

mask = make_mask("centre disc", *content.shape[:2])
regions = transfer([style, second_style], mask=mask)
viz.show_images([mask, regions.image], [f"mask: white = {STYLE_NAME}, black = {SECOND_STYLE_NAME}", "guided transfer"])

# %% [markdown]
# ## 5. High resolution, coarse to fine
#
# An iteration at 512 px costs four times one at 256 px, and large structures need many iterations to
# form, because every pixel only moves a little per step. `scales` (default 1) runs the optimisation on a
# pyramid: first at a fraction of the size, where the layout forms cheaply, then each finer scale starts
# from the upsampled result and only adds detail. The schedule halves the size per level and skips levels
# whose short side would fall below 64 px. With a number of steps, the finest scale gets half the
# iterations. With a **time budget**, the time is what is shared out: the coarser scales get 15 % of the
# budget together (in proportion to their pixels), and the finest scale gets the rest — at least 85 %, more
# if a coarse scale finishes its iterations early. (The project's benchmarks found that coarse scales do
# not pay for themselves when the goal is the lowest loss, hence the small share.)

# %%
from nst_lib.transfer import scale_shapes, split_budget, split_steps

HR_SIZE = nst.pick(512, 160)
photo = data.content_image(CONTENT_NAME)  # the full-size photo; stylize resizes it
height, width = nst.load_image(photo, HR_SIZE).shape[:2]
shapes = scale_shapes(height, width, 3)
print("scales:", shapes)
print("iterations per scale for steps=300:", split_steps(300, shapes))
shares = split_budget(90, shapes)
print("seconds per scale for time_budget=90:", [f"{s:.1f}" for s in shares[:-1]], f"+ the rest ({90 - sum(shares[:-1]):.1f} s "
      "or more) for the finest")

# %% [markdown]
# Give one scale and three scales the same time budget and compare:
#
# ⏱ Real settings (512 px, 90 s each): about **3 minutes** on a 2-core CPU.

# %%
BUDGET = nst.pick(90, 5)  # seconds per run
hr_runs = {n: nst.stylize(photo, data.style_image(STYLE_NAME), size=HR_SIZE, scales=n, steps=10_000,
                          time_budget=BUDGET) for n in (1, 3)}
for n, r in hr_runs.items():
    per_scale = [sum(1 for h in r.history if h["scale"] == s) for s in range(len(r.scale_shapes))]
    last_seconds = [max((h["elapsed"] for h in r.history if h["scale"] == s), default=0.0)
                    for s in range(len(r.scale_shapes))]
    finest_share = (last_seconds[-1] - (last_seconds[-2] if n > 1 else 0.0)) / r.elapsed
    print(f"scales={n}: {r.iterations} iterations ({per_scale} per scale, scales {r.scale_shapes}) in "
          f"{r.elapsed:.0f} s; the finest scale had {finest_share:.0%} of the time")
crop = (slice(height // 4, height // 4 + height // 3), slice(width // 3, width // 3 + width // 3))
viz.show_images([hr_runs[1].image, hr_runs[3].image, hr_runs[1].image[crop], hr_runs[3].image[crop]],
                ["1 scale", "3 scales", "1 scale (detail)", "3 scales (detail)"], ncols=4)

# %% [markdown]
# Read the printed lines first. Either way the finest scale has most of the time: the schedule gives it at
# least 85 % of the budget with three scales, and the printed share, counted from the last iteration of
# the coarse scales to the last of the finest, comes out close to that. What the coarse scales add are cheap iterations: one at 128 px costs about a sixteenth of one at
# 512 px, one at 256 px a quarter, so their 15 % can hold more iterations than the same time at 512 px, and
# strokes as large as the style's form there first; the finest scale then starts from an image that is
# already stylised and refines it. Where the coarse scales did run (non-zero counts), look for larger,
# more even strokes across the whole image in the 3-scale result. On a busy machine, or with a budget so
# short that tracing each scale's graph (a few seconds) eats its share, the coarse scales get no iteration
# at all — the counts say 0 — and the two results look alike. Coarse to fine is the usual way to reach
# 1024 px and more on a CPU when large strokes matter; for the lowest loss at a given size, the project's
# benchmarks found a single scale fastest, which is why `scales=1` is the default.

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, A. Hertzmann, E. Shechtman, *Controlling Perceptual Factors in
#   Neural Style Transfer*, CVPR 2017 — colour preservation, guided Gram matrices, scale and coarse-to-fine
#   (sections 1 and 3–5).
# - V. Dumoulin, J. Shlens, M. Kudlur, *A Learned Representation for Artistic Style*, ICLR 2017 — blending
#   styles inside one network (section 2's idea, learned).
# - X. Huang, S. Belongie, *Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization*,
#   ICCV 2017 — style as channel means and standard deviations, with content–style and style–style blends.

# %% [markdown]
# ## Summary
#
# - `preserve_colors="luminance"` transfers style on the grey image and restores the photo's colours
#   (exactly, up to the clipping back into RGB); `"histogram"` recolours the style image to the photo's
#   colour mean and covariance first.
# - Several styles blend through their Gram targets, `Σ b_i A_i` (`style_blend`, weights normalised).
# - `style_scale` resizes the style image relative to the output: larger means larger strokes.
# - A mask gives each style its own region through guided Gram matrices `(m·F)ᵀ(m·F)/Σm²` (`mask=`).
# - `scales` optimises coarse to fine, which forms large structures cheaply and makes high resolutions
#   practical; with a time budget the finest scale gets at least 85 % of the time.

# %% [markdown]
# ## Exercises
#
# Exercises 1 and 2 — a colour-preserving transfer through luminance, and a guided Gram matrix — are in
# sections 1 and 4, before the code that answers them.
#
# **Exercise 3 — colour and content.** Run `transfer(preserve_colors="luminance")` with the `coffee` photo
# and the `stained_glass` style. When would you choose histogram matching instead?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# coffee = data.content_image("coffee", size=SIZE)
# glass = data.style_image("stained_glass", size=SIZE)
# runs = {mode: nst.stylize(coffee, glass, size=SIZE, steps=STEPS, scales=1, preserve_colors=mode)
#         for mode in ("none", "luminance", "histogram")}
# viz.show_images([r.image for r in runs.values()],
#                 [f"{m}: {color.chroma_distance(r.image, coffee):.3f}" for m, r in runs.items()])
# ```
#
# With `"luminance"` the cup keeps its own reds and browns and only the pattern of light and dark takes the
# glass's lead lines and panes; its colour distance is the smallest of the three (in our run at 128 px and
# 40 iterations: 0.003, against 0.055 for `"histogram"` and 0.134 without colour control). Histogram matching lets
# the style move the photo's colours around (a pane of the cup's red next to one of the table's brown):
# choose it when the style's colours *are* the point — many small patches of different colour — and
# you only want them in the photo's palette; choose luminance when the photo's colours must stay where
# they are, as for faces and products.
# </details>
#
# **Exercise 4 — one style, one region.** Use `make_mask("left half", ...)` with *one* style: what happens
# to the right half, and why? Then give the mask soft edges of different widths and look at the seam.
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# from scipy.ndimage import gaussian_filter
#
# hard = (np.arange(content.shape[1]) < content.shape[1] / 2).astype(np.float32) * np.ones(content.shape[:2], np.float32)
# masks = {"preset": make_mask("left half", *content.shape[:2]), "hard": hard,
#          "soft (σ = 8 px)": gaussian_filter(hard, 8)}
# results = {name: transfer(mask=m) for name, m in masks.items()}
# viz.show_images([r.image for r in results.values()], list(results))
# ```
#
# With one style the right half has no style term at all, only the content loss at `block5_conv2`. It
# keeps the layout and the palette of the start — the photo *recoloured in the style's colours*, because
# the default start is `init="recolored"` (pass `init="content"` to keep the photo's own colours) — but
# not its exact pixels: the deep content layer lets them drift (notebook 04, Figure 1), and in our run
# (128 px, 40 iterations) the right half picked up blotchy, pane-like artefacts instead of the style's
# swirls. The seam is where the swirls stop; a wider soft edge makes them fade out more gradually (at
# 128 px the difference between the three masks is subtle; look at the middle column of pixels).
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick the photo and the style, or upload your own (**content file**, **style file**); toggle each control
# and press **Run**: colour preservation, a second style with its share of the blend, the style scale, a
# mask (the first style goes where the mask is white: pick a shape or upload a black-and-white image with
# **mask file**) and the number of scales. The run goes on in the background with a progress bar;
# **Stop** ends it and keeps the best image so far.

# %%
from nst_lib.course.widgets.controls import controls_demo

controls_demo()
