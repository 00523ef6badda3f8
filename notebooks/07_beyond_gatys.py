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

# %%
# %matplotlib inline
import warnings

import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import color, data
from nst_lib.course import viz
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.config import GATYS_STYLE_LAYERS

warnings.filterwarnings("once", category=BackboneSubstitutionWarning)  # say it once, not at every run
tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that

SIZE = nst.pick(256, 64)  # long side of the results
STEPS = nst.pick(60, 3)   # L-BFGS iterations per run, from the photo, one scale
content, style = data.example_pair("grace_hopper", "swirls", size=SIZE)
second_style = data.style_image("stained_glass", size=SIZE)


def transfer(styles=style, **settings):
    return nst.stylize(content, styles, size=SIZE, steps=STEPS, scales=1, **settings)


baseline = transfer()
viz.show_images([content, style, baseline.image], ["content", "style", "plain transfer"])

# %% [markdown]
# ⏱ Every `transfer(...)` call in this notebook takes **1–2 minutes** at the real settings (256 px, 60
# L-BFGS iterations) on a 2-core CPU, and a few seconds in fast mode; the whole notebook about 15 minutes.
#
# ## 1. Keeping the photo's colours
#
# A style transfer copies the painting's palette along with its brush strokes: the portrait above is now
# blue and yellow. Gatys et al. (2017) give two ways to keep the photo's colours; both are in
# `nst_lib.color`, and `stylize(..., preserve_colors=...)` applies them.
#
# **Histogram matching** (`"histogram"`) recolours the *style image* first, giving its pixels the mean and
# covariance of the photo's colours (an affine map `x' = Σc^½ Σs^-½ (x − μs) + μc`), then transfers as
# usual. **Luminance-only transfer** (`"luminance"`) works in the YIQ colour space: it transfers the style
# between the grey (Y) versions of the images and puts the photo's colour channels (I, Q) back at the end.
# Here is what each does to the style image:

# %%
recoloured = color.match_color_histogram(style, content)
grey_style = color.match_luminance(style, content)
photo_mean = content.reshape(-1, 3).mean(axis=0)
np.testing.assert_allclose(recoloured.reshape(-1, 3).mean(axis=0), photo_mean, atol=0.05)
print("✓ the recoloured style has the photo's mean colour", np.round(photo_mean, 2))
viz.show_images([style, recoloured, grey_style],
                ["style", "histogram-matched to the photo", "luminance only (matched mean and spread)"])

# %%
colour_runs = {mode: transfer(preserve_colors=mode) for mode in ("luminance", "histogram")}
runs = {"plain": baseline, **colour_runs}
viz.show_images([r.image for r in runs.values()],
                [f"{name}: colour distance {color.chroma_distance(r.image, content):.3f}" for name, r in runs.items()])

# %% [markdown]
# The colour distance is the mean difference of the I and Q channels from the photo's. Luminance-only
# transfer keeps the photo's colours exactly — only the brightness pattern is painted — which suits
# portraits. Histogram matching keeps the photo's palette but lets the style move colours around, so it
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

# %%
half_half = transfer([style, second_style], style_blend=(0.5, 0.5))
all_glass = transfer([style, second_style], style_blend=(0.0, 1.0))
viz.show_images([baseline.image, half_half.image, all_glass.image],
                ["100 % swirls", "50 % swirls + 50 % stained glass", "100 % stained glass"])

# %% [markdown]
# The middle image is not the two results overlaid: it is one texture whose statistics lie between the
# two styles', so look for features of both mixed in the same strokes rather than side by side. A 50/50
# blend of the *targets* is not a 50/50 blend of the *look*: the style whose Gram matrices are larger
# (here the saturated stained glass) pulls harder. Move the blend weights to compensate.
#
# ## 3. The size of the brush strokes
#
# The style loss knows nothing about scale: it matches the statistics of the style image *at the size it
# is given*. Enlarge the style image and each stroke covers more pixels, so VGG's filters see larger
# strokes, and the result gets larger strokes too. `style_scale` sets the style image's size relative to
# the output (by default the same long side):

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
# Gram matrix, and divide by the mask's energy instead of the number of positions:
#
# `G = (m·F)ᵀ (m·F) / Σ m²`
#
# This is the Gram matrix of the masked region alone. With a mask of ones it is the ordinary Gram matrix:

# %%
features = extractor(content[np.newaxis])["block2_conv1"]
ones = tf.ones(features.shape[1:3])
np.testing.assert_allclose(nst.gram_matrix(features, ones).numpy(), nst.gram_matrix(features).numpy(), rtol=1e-4)
print("✓ a guided Gram matrix with a mask of ones equals the plain Gram matrix")

# %% [markdown]
# `stylize(..., mask=m)` with two styles gives the first style the white part of the mask and the second
# the black part: each gets a guided style loss, with the mask area-averaged down to every layer's
# resolution. (With one style, the black part keeps only the content loss and stays a photo.) The demo's
# masks come from `nst_lib.course.widgets.controls.make_mask`, with soft edges:

# %%
from nst_lib.course.widgets.controls import make_mask

mask = make_mask("centre disc", *content.shape[:2])
regions = transfer([style, second_style], mask=mask)
viz.show_images([mask, regions.image], ["mask: white = swirls, black = stained glass", "guided transfer"])

# %% [markdown]
# ## 5. High resolution, coarse to fine
#
# An iteration at 512 px costs four times one at 256 px, and large structures need many iterations to
# form, because every pixel only moves a little per step. `scales` (default 1) runs the optimisation on a
# pyramid: first at a fraction of the size, where the layout forms cheaply, then each finer scale starts
# from the upsampled result and only adds detail. The schedule halves the size per level and skips levels
# whose short side would fall below 64 px; the finest scale gets half the iterations:

# %%
from nst_lib.transfer import scale_shapes, split_steps

HR_SIZE = nst.pick(512, 160)
photo = data.content_image("grace_hopper")  # the full 600×512 photo; stylize resizes it
height, width = nst.load_image(photo, HR_SIZE).shape[:2]
shapes = scale_shapes(height, width, 3)
print("scales:", shapes, "| iterations per scale for 300 in total:", split_steps(300, shapes))

# %% [markdown]
# Give one scale and three scales the same time budget and compare:
#
# ⏱ Real settings (512 px, 90 s each): about **3–4 minutes**.

# %%
BUDGET = nst.pick(90, 10)  # seconds per run
hr_runs = {n: nst.stylize(photo, data.style_image("swirls"), size=HR_SIZE, scales=n, steps=10_000,
                          time_budget=BUDGET) for n in (1, 3)}
for n, r in hr_runs.items():
    per_scale = [sum(1 for h in r.history if h["scale"] == s) for s in range(len(r.scale_shapes))]
    print(f"scales={n}: {r.iterations} iterations ({per_scale} per scale) in {r.elapsed:.0f} s")
crop = (slice(height // 4, height // 4 + height // 3), slice(width // 3, width // 3 + width // 3))
viz.show_images([hr_runs[1].image, hr_runs[3].image, hr_runs[1].image[crop], hr_runs[3].image[crop]],
                ["1 scale", "3 scales", "1 scale (detail)", "3 scales (detail)"], ncols=4)

# %% [markdown]
# In the same time, the single-scale run has only managed a few expensive iterations at 512 px: it is
# still the photo with a fine texture on top. The multi-scale run did most of its iterations at 128 and
# 256 px, where each costs a sixteenth or a quarter as much and where strokes as large as the style's can
# form, then refined the result at 512 px: it is stylised all over, with larger strokes. Coarse to fine is
# the usual way to reach 1024 px and more on a CPU when large strokes matter; for the lowest loss at a
# given size, the project's benchmarks found a single scale fastest, which is why `scales=1` is the
# default.
#
# ## Summary
#
# - `preserve_colors="luminance"` transfers style on the grey image and restores the photo's colours
#   exactly; `"histogram"` recolours the style image to the photo's colour mean and covariance first.
# - Several styles blend through their Gram targets, `Σ b_i A_i` (`style_blend`, weights normalised).
# - `style_scale` resizes the style image relative to the output: larger means larger strokes.
# - A mask gives each style its own region through guided Gram matrices `(m·F)ᵀ(m·F)/Σm²` (`mask=`).
# - `scales` optimises coarse to fine, which forms large structures cheaply and makes high resolutions
#   practical.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 — a guided Gram matrix (self-checked).** Write `my_guided_gram(features, mask)` for
# features of shape `(1, h, w, C)` and a mask of shape `(h, w)`, returning the `(C, C)` matrix
# `(m·F)ᵀ (m·F) / Σ m²`. The starter divides by the wrong number.

# %%
from nst_lib.course.checks import check_guided_gram_matrix


def my_guided_gram(features, mask):
    weighted = features[0] * mask[..., tf.newaxis]
    flat = tf.reshape(weighted, (-1, features.shape[-1]))
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.size(mask), tf.float32)


# %% tags=["raises-exception"]
check_guided_gram_matrix(my_guided_gram)

# %% [markdown]
# **Exercise 2 — colour and content.** Run `transfer(preserve_colors="luminance")` with the `coffee` photo
# and the `stained_glass` style. When would you choose histogram matching instead?
#
# **Exercise 3 — one style, one region.** Use `make_mask("left half", ...)` with *one* style: what happens
# to the right half, and why? Then give the mask soft edges of different widths and look at the seam.

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
