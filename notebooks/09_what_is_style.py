# %% [markdown]
# # What is style? Statistics beyond the Gram matrix
#
# Is the Gram matrix the right summary of a style? Three other statistics from later work answer differently, and experiments compare all four.
#
# **What you'll build:** textures synthesised from noise and style transfers with four style statistics, a fair comparison of them with a measure none of them optimised, and your own mean/std and sliced Wasserstein distances.

# %% [markdown]
# ## What you will learn
#
# - to see a style layer as a **cloud of points** — one point per position, one coordinate per channel —
#   and a style statistic as a summary of that cloud that forgets where each point came from;
# - four summaries and what each one sees: the **Gram matrix** (Gatys, Ecker & Bethge 2015), the
#   **mean and standard deviation** of each channel (what AdaIN transfers; Huang & Belongie 2017), the
#   **Wasserstein-2 distance between Gaussian fits** (mean and covariance; the default of Katherine
#   Crowson's `style-transfer-pytorch`), and the **sliced Wasserstein distance** between the whole
#   distributions (Heitz, Vanhoey, Chambon & Belcour, *A Sliced Wasserstein Loss for Neural Texture
#   Synthesis*, CVPR 2021);
# - texture synthesis from noise as the cleanest test of a statistic, then style transfer with each;
# - how to compare them fairly: with a measure that none of them optimised, and the cost of an iteration;
# - how to choose one: `nst.stylize(..., style_loss="sliced_wasserstein")`, or
#   `nst stylize … --style-loss sliced_wasserstein` on the command line; each has its own default weight.

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import color, data, statistics
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.config import DEFAULT_STYLE_WEIGHTS, GATYS_STYLE_LAYERS, STYLE_LOSSES
from nst_lib.course import viz
from nst_lib.losses import style_loss, style_statistic

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # the next cell prints which network runs
tf.get_logger().setLevel("ERROR")

TEXTURE_SIZE = nst.pick(128, 64)   # long side of the synthesised textures
TEXTURE_STEPS = nst.pick(80, 3)    # L-BFGS iterations per texture
TRANSFER_SIZE = nst.pick(256, 64)  # long side of the transfers
TRANSFER_STEPS = nst.pick(80, 3)   # L-BFGS iterations per transfer
#: layers the style losses never see (the fair measure of section 5 uses them)
HELD_OUT_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv2", "block4_conv2")
extractor = nst.FeatureExtractor(GATYS_STYLE_LAYERS + HELD_OUT_LAYERS + ("block5_conv2",))
print(extractor.weights_info.describe())
print("style statistics:", ", ".join(STYLE_LOSSES))


def distance(name, features, target, seed=0):
    """One layer's distance with statistic ``name`` (the library's own function)."""
    return float(style_statistic(name).distance(features, target, None, tf.constant([seed, 0], tf.int64)))


# %% [markdown]
# ## 1. A style layer is a cloud of points
#
# At one layer, VGG describes an image by `h·w` positions, each with a vector of `C` channel values.
# Forget the grid and you have a **cloud of `h·w` points in `C` dimensions**. A style statistic is a
# summary of that cloud, and the style loss a distance between the summary of the image being optimised
# and the summary of the style. Here are two of the 64 coordinates of `block1_conv1` for the `swirls`
# style and for a photo: each dot is one position.

# %%
style = data.style_image("swirls", size=TRANSFER_SIZE)
photo = data.content_image("grace_hopper", size=TRANSFER_SIZE)
style_feats = extractor(style[np.newaxis])
photo_feats = extractor(photo[np.newaxis])
layer = "block1_conv1"
pair = viz.select_channels(style_feats[layer], "most_active", n=2)
fig = plt.figure(figsize=(6, 4), layout="constrained")
ax = fig.subplots()
for name, feats in (("swirls (style)", style_feats), ("grace_hopper (photo)", photo_feats)):
    points = tf.reshape(feats[layer], (-1, feats[layer].shape[-1])).numpy()
    ax.scatter(points[:, pair[0]], points[:, pair[1]], s=2, alpha=0.3, label=name)
ax.set_xlabel(f"channel {pair[0]}")
ax.set_ylabel(f"channel {pair[1]}")
ax.set_title(f"{layer}: one dot per position")
ax.legend(markerscale=5)
plt.show()

# %% [markdown]
# A summary of a cloud does not know which point came from which position. Shuffle the positions of the
# style's feature map — the *map* becomes noise, the *cloud* is the same — and every statistic gives the
# same distance to the style as the unshuffled map: zero, up to the rounding of 32-bit floats. The table
# gives each distance as a fraction of the photo's distance to the style. (The Wasserstein value can land a
# hair below zero: it is a difference of matrix traces that are each about 10⁵ times larger than the
# result. The sliced distance draws random directions; the same `seed` gives the same directions.)

# %%
F = style_feats[layer]
h, w, c = F.shape[1:]
order = np.random.default_rng(0).permutation(h * w)
shuffled = tf.reshape(tf.gather(tf.reshape(F, (h * w, c)), order), (1, h, w, c))
targets = {name: style_statistic(name).targets(F) for name in STYLE_LOSSES}
print(f"{'statistic':>20}  {'the photo':>10}  {'style itself / photo':>21}  {'style shuffled / photo':>23}")
for name in STYLE_LOSSES:
    same, moved, other = (distance(name, x, targets[name]) for x in (F, shuffled, photo_feats[layer]))
    print(f"{name:>20}  {other:10.4g}  {same / other:21.1e}  {moved / other:23.1e}")
    assert abs(same) < 1e-3 * other and abs(moved) < 1e-3 * other, name
viz.show_images([viz.normalize_map(F[0, :, :, pair[0]]), viz.normalize_map(shuffled[0, :, :, pair[0]])],
                [f"channel {pair[0]} of the style", "the same values, positions shuffled"], size=3)

# %% [markdown]
# ## 2. Four summaries of a cloud
#
# With `F` the image's cloud (`N` points, `C` channels), `F*` the style's, μ a mean, Σ a covariance and
# σ a per-channel standard deviation:
#
# | `style_loss=` | the style's summary | distance (one layer) |
# | --- | --- | --- |
# | `gram` | `G* = F*ᵀF*/N` | `mean((G − G*)²)` |
# | `mean_std` | μ*, σ* per channel | `(‖μ − μ*‖² + ‖σ − σ*‖²) / C` |
# | `wasserstein` | μ*, Σ* (and Σ*^½) | `(‖μ − μ*‖² + tr(Σ + Σ* − 2 (Σ*^½ Σ Σ*^½)^½)) / C` |
# | `sliced_wasserstein` | the cloud `F*` itself | mean over `K = C` random unit directions θ of `W₂²(θᵀF, θᵀF*)` |
#
# The **Wasserstein-2 distance** W₂ is the cost of moving one cloud onto the other (optimal transport);
# between two Gaussians it has the closed form in the third row. `mean_std` is exactly that formula for
# Gaussians whose channels are independent, so it is blind to how channels vary *together*.
# `sliced_wasserstein` makes no Gaussian assumption: it projects both clouds on random directions, and in
# one dimension optimal transport is just **sorting** — the i-th smallest value goes to the i-th smallest —
# so W₂² is the mean squared difference of the sorted projections. The directions are drawn again at every
# evaluation (from the run's `seed`, so runs are reproducible). The three new distances are divided by `C`
# so that they share one scale (for random unit directions, `E[(θᵀΔμ)²] = ‖Δμ‖²/C`), and all four are
# averages over positions, so a weight chosen at one image size works at another.
#
# The four losses have very different sizes, so each statistic has its own default `style_weight`,
# chosen so that at the start of a run its style term takes the same share of the objective as Gram's
# does at 1e-2 (`benchmarks/calibrate_statistics.py` measured this on 18 pairs at 128 and 256 px).
# Here is that share for our pair, computed now at the library's start image:

# %%
start = color.match_color_moments(photo, style)  # stylize's default start: the photo in the style's colours
start_feats = extractor(start[np.newaxis])
layer_weights = {name: 1 / len(GATYS_STYLE_LAYERS) for name in GATYS_STYLE_LAYERS}
content = float(tf.reduce_mean(tf.square(start_feats["block5_conv2"] - photo_feats["block5_conv2"])))
config = nst.StyleConfig()
print(f"{'statistic':>20}  {'default style_weight':>20}  {'style share of the start objective':>34}")
for name in STYLE_LOSSES:
    stat = style_statistic(name)
    style_targets = {k: stat.targets(style_feats[k]) for k in GATYS_STYLE_LAYERS}
    value = float(style_loss(start_feats, style_targets, layer_weights, statistic=name)[0])
    weight = nst.StyleConfig(style_loss=name).style_weight
    share = weight * value / (config.content_weight * content + weight * value)
    print(f"{name:>20}  {weight:20g}  {share:34.3f}")

# %% [markdown]
# ## 3. What each statistic sees
#
# Three pairs of two-channel clouds, built so that some statistics cannot tell the two apart:
#
# - **(a)** channel 2 a copy of channel 1, against channel 2 a *shuffled* copy: the same values in each
#   channel, so the same means and standard deviations, but correlated against uncorrelated;
# - **(b)** a cloud with mean (1, 0) and no spread along x, against a centred cloud with unit spread:
#   the Gram matrix is covariance **plus** mean·meanᵀ, and here both add up to the identity;
# - **(c)** the corners of a square against points on the axes: both have mean 0 and covariance I, so
#   every summary by mean and covariance is equal, but the shapes differ.
#
# With two channels, `K = C = 2` random directions would be a lottery, so the sliced distance uses 64
# here (VGG layers have C ≥ 64 channels, and as many directions).

# %%
rng = np.random.default_rng(1)
a = rng.normal(size=256)
r = np.sqrt(2.0)
clouds = {
    "(a) correlated vs shuffled": (np.stack([a, a], 1), np.stack([a, a[rng.permutation(256)]], 1)),
    "(b) Gram-equal": (np.array([[1, -1], [1, 1]] * 64, float), np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]] * 32, float)),
    "(c) same mean and covariance": (np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]] * 32, float),
                                     np.array([[-r, 0], [r, 0], [0, -r], [0, r]] * 32, float)),
}


def as_features(points):
    return tf.constant(points[np.newaxis, np.newaxis], tf.float32)  # (1, 1, N, 2): N positions, 2 channels


fig = plt.figure(figsize=(12, 3.6), layout="constrained")
print(f"{'pair':>30}  " + "  ".join(f"{name:>18}" for name in STYLE_LOSSES))
for ax, (title, (one, other)) in zip(fig.subplots(1, 3), clouds.items()):
    jitter = np.random.default_rng(2).normal(scale=0.03, size=(2,) + one.shape)  # only to see stacked points
    ax.scatter(*(one + jitter[0]).T, s=8, label="cloud 1")
    ax.scatter(*(other + jitter[1]).T, s=8, marker="x", label="cloud 2")
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")
    values = []
    for name in STYLE_LOSSES:
        target = style_statistic(name).targets(as_features(one))
        if name == "sliced_wasserstein":
            values.append(float(statistics.sliced_wasserstein_distance(as_features(other), target, seed=0,
                                                                       projections=64)))
        else:
            values.append(distance(name, as_features(other), target))
    print(f"{title:>30}  " + "  ".join(f"{v:18.3g}" for v in values))
fig.axes[0].legend()
plt.show()

# %% [markdown]
# Read the zeros: `mean_std` misses (a), the Gram matrix misses (b), and only the sliced distance sees (c).
# Summaries by mean and covariance (`wasserstein`) see (a) and (b), because they keep the correlations and
# separate the mean from the spread. A texture's features are far from Gaussian (post-ReLU activations
# are zero at many positions and large at a few), so the question is how much of the picture lives in what
# the Gaussian summaries throw away. Experiments answer that.
#
# ## 4. Textures from noise
#
# Texture synthesis is the cleanest comparison (Gatys et al. 2015; Heitz et al. 2021): no content term,
# start from noise, and change the pixels until the statistics match at the five Gatys layers. Whatever
# the result shows is what the statistic keeps. Every bundled style, with each statistic:
#
# ⏱ At the real settings (128 px, 80 L-BFGS iterations, 24 runs) this cell takes **about 7 minutes**
# on a 2-core CPU; in fast mode well under a minute.

# %%
STYLES = nst.pick(data.list_style_images(), data.list_style_images()[:1])  # fast mode (CI): one style
textures = {}
for style_name in STYLES:
    style_image = data.style_image(style_name, size=TEXTURE_SIZE)
    for name in STYLE_LOSSES:
        textures[style_name, name] = nst.stylize(style_image, style_image, style_loss=name, content_weight=0.0,
                                                 content_layers=(), init="noise", size=TEXTURE_SIZE,
                                                 steps=TEXTURE_STEPS, seed=0)
rows = [[data.style_image(s, size=TEXTURE_SIZE)] + [textures[s, n].image for n in STYLE_LOSSES] for s in STYLES]
viz.image_table(rows, row_labels=STYLES, col_labels=["style", *STYLE_LOSSES], size=2.2)

# %% [markdown]
# Look along each row before reading on: which statistic keeps the style's colours in the right
# proportions, which keeps its large shapes, which leaves a haze of average colour?
#
# ## 5. A fair measure, and the cost of an iteration
#
# Each run above made its *own* loss small, so comparing the optimised losses would only say that every
# statistic is best at what it optimises. A fair judge is a measure none of them used: the **sliced
# Wasserstein distance at four layers that no loss saw** (`block1_conv2 … block4_conv2`), with **held-out
# directions** (seeds that no run drew). It is reported as the fraction of the noise start's distance
# that is left, so styles of different difficulty can share a table (smaller is better).
#
# Seconds per iteration are measured in the runs themselves: the median time between two iterations
# (the first one, which also builds the graph, is left out), and the ratio to Gram's.
#
# ⏱ Scoring every texture with every statistic at the four held-out layers: **about 40 seconds** at the
# real settings on a 2-core CPU; fast mode a few seconds.

# %%
HELD_OUT_SEEDS = (10**6, 10**6 + 1, 10**6 + 2, 10**6 + 3)
held_out_weights = {name: 1 / len(HELD_OUT_LAYERS) for name in HELD_OUT_LAYERS}


def held_out_targets(style_image, statistic="sliced_wasserstein"):
    """The style's targets at the held-out layers."""
    feats = extractor(style_image[np.newaxis])
    return {k: style_statistic(statistic).targets(feats[k]) for k in HELD_OUT_LAYERS}


def held_out_distance(image, targets, statistic="sliced_wasserstein"):
    """``statistic``'s distance at the held-out layers (sliced: averaged over the held-out seeds)."""
    feats = extractor(image[np.newaxis]) if isinstance(image, np.ndarray) else image  # an image, or its features
    seeds = HELD_OUT_SEEDS if statistic == "sliced_wasserstein" else HELD_OUT_SEEDS[:1]
    return float(np.mean([style_loss(feats, targets, held_out_weights, statistic=statistic,
                                     seed=tf.constant([s, 0], tf.int64))[0] for s in seeds]))


def seconds_per_iteration(result):
    times = [entry["elapsed"] for entry in result.history]
    return float(np.median(np.diff(times[1:]))) if len(times) > 2 else float("nan")


noise = np.random.default_rng(0).uniform(0, 1, textures[STYLES[0], "gram"].image.shape).astype(np.float32)
left = {}  # (style, statistic used by the run, statistic measuring) → fraction of the noise's distance left
noise_feats = extractor(noise[np.newaxis])
for style_name in STYLES:
    style_image = data.style_image(style_name, size=TEXTURE_SIZE)
    result_feats = {name: extractor(textures[style_name, name].image[np.newaxis]) for name in STYLE_LOSSES}
    for measure in STYLE_LOSSES:
        targets = held_out_targets(style_image, measure)
        at_noise = held_out_distance(noise_feats, targets, measure)
        for name in STYLE_LOSSES:
            left[style_name, name, measure] = held_out_distance(result_feats[name], targets, measure) / at_noise
cost = {name: np.median([seconds_per_iteration(textures[s, name]) for s in STYLES]) for name in STYLE_LOSSES}
print("Sliced Wasserstein distance left at the held-out layers (held-out directions), fraction of noise's:")
print(f"{'statistic':>20}  " + "  ".join(f"{s[:13]:>13}" for s in STYLES) + f"  {'mean':>6}  {'s/iteration':>11}  {'× gram':>6}")
for name in STYLE_LOSSES:
    values = [left[s, name, "sliced_wasserstein"] for s in STYLES]
    print(f"{name:>20}  " + "  ".join(f"{v:13.3f}" for v in values)
          + f"  {np.mean(values):6.3f}  {cost[name]:11.3f}  {cost[name] / cost['gram']:6.2f}")

# %%
fig = plt.figure(figsize=(12, 3.8), layout="constrained")
ax_left, ax_cost = fig.subplots(1, 2, width_ratios=[3, 1])
x = np.arange(len(STYLES))
for i, name in enumerate(STYLE_LOSSES):
    ax_left.bar(x + (i - 1.5) * 0.2, [left[s, name, "sliced_wasserstein"] for s in STYLES], width=0.2, label=name)
ax_left.set_xticks(x, STYLES, rotation=15)
ax_left.set_ylabel("held-out sliced W₂², fraction of noise's")
ax_left.set_title("textures: what is left of the distance to the style (lower is better)")
ax_left.legend()
ax_cost.bar(STYLE_LOSSES, [cost[n] for n in STYLE_LOSSES], color=[f"C{i}" for i in range(4)])
ax_cost.set_ylabel("seconds per iteration")
ax_cost.set_title(f"cost at {TEXTURE_SIZE} px")
ax_cost.tick_params(axis="x", rotation=30)
plt.show()

# %% [markdown]
# One held-out measure could still favour the statistic it resembles (sliced Wasserstein judged by a sliced
# Wasserstein distance). So here is every texture measured by **every** statistic at the held-out layers,
# averaged over the styles of section 4: rows are what a run optimised, columns what measures it.

# %%
print(f"averaged over {len(STYLES)} styles: {', '.join(STYLES)}")
corner = "optimised / measured"
print(f"{corner:>22}  " + "  ".join(f"{m:>18}" for m in STYLE_LOSSES))
for name in STYLE_LOSSES:
    print(f"{name:>22}  " + "  ".join(f"{np.mean([left[s, name, m] for s in STYLES]):18.3f}" for m in STYLE_LOSSES))
best = {m: min(STYLE_LOSSES, key=lambda n: np.mean([left[s, n, m] for s in STYLES])) for m in STYLE_LOSSES}
print("best by each measure:", ", ".join(f"{m}: {n}" for m, n in best.items()))

# %% [markdown]
# Read the table by columns: a column says which runs came closest to the style *by that measure* at
# layers none of them optimised. A statistic that wins in columns other than its own has captured more of
# the style than its own loss asked for.
#
# ## 6. Style transfer with each statistic
#
# Now with a photo: the same content term, the library's default start (the photo in the style's
# colours), each statistic at its default weight. Two pairs.
#
# ⏱ Real settings (256 px, 80 L-BFGS iterations, 8 runs): **about 5 minutes** on a 2-core CPU; fast mode a
# few seconds.

# %%
PAIRS = [("grace_hopper", "swirls"), ("chelsea", "stained_glass")]
PAIRS = nst.pick(PAIRS, PAIRS[:1])  # fast mode (CI): the first pair only
transfers = {}
for content_name, style_name in PAIRS:
    content_image, style_image = data.example_pair(content_name, style_name, size=TRANSFER_SIZE)
    for name in STYLE_LOSSES:
        transfers[content_name, style_name, name] = nst.stylize(content_image, style_image, style_loss=name,
                                                                size=TRANSFER_SIZE, steps=TRANSFER_STEPS, seed=0)
rows = [[data.example_pair(c, s, size=TRANSFER_SIZE)[1]] + [transfers[c, s, n].image for n in STYLE_LOSSES]
        for c, s in PAIRS]
viz.image_table(rows, row_labels=[f"{c} + {s}" for c, s in PAIRS], col_labels=["style", *STYLE_LOSSES], size=2.6)

# %% [markdown]
# A transfer trades style against content, so the table gives both: the held-out sliced distance to the
# style (as a fraction of the start image's) and the content loss at `block5_conv2` (the same for every
# statistic, so directly comparable).
#
# ⏱ Scoring the transfers: **about half a minute** at the real settings on a 2-core CPU; fast mode
# a few seconds.

# %%
print(f"{'pair':>28}  {'statistic':>20}  {'held-out style left':>19}  {'content loss':>12}  {'s/iteration':>11}")
for content_name, style_name in PAIRS:
    content_image, style_image = data.example_pair(content_name, style_name, size=TRANSFER_SIZE)
    targets = held_out_targets(style_image)
    begin = held_out_distance(color.match_color_moments(content_image, style_image), targets)
    content_target = extractor(content_image[np.newaxis])["block5_conv2"]
    for name in STYLE_LOSSES:
        result = transfers[content_name, style_name, name]
        content_value = float(tf.reduce_mean(tf.square(extractor(result.image[np.newaxis])["block5_conv2"]
                                                       - content_target)))
        print(f"{content_name + ' + ' + style_name:>28}  {name:>20}  {held_out_distance(result.image, targets) / begin:19.3f}"
              f"  {content_value:12.4g}  {seconds_per_iteration(result):11.3f}")

# %% [markdown]
# ## 7. Random directions and L-BFGS
#
# L-BFGS assumes one fixed function: its line search compares values, and its memory compares gradients,
# of successive evaluations. The sliced loss changes whenever its directions do. So with L-BFGS the
# library keeps one draw of directions for a block of iterations (`nst_lib.optimize.SLICED_LBFGS_BLOCK`,
# printed below) and then starts a fresh L-BFGS with new directions; Adam, which takes one step per
# evaluation, gets new directions at every step, as in Heitz et al. `benchmarks/sliced_optimizers.py`
# compared new directions at every evaluation or every iteration (L-BFGS's line search then gives up
# within a few iterations), one draw for the whole run, blocks of 10, 30 and 60 iterations, and Adam, by the
# held-out measure after the same number of evaluations (`benchmarks/README.md` has the numbers). Here, the
# two optimisers with **the same time budget**, judged by the held-out measure.
#
# ⏱ Real settings: two runs of 40 s each, about **1½ minutes** with the set-up; fast mode a few seconds.

# %%
from nst_lib.optimize import SLICED_LBFGS_BLOCK

print(f"with L-BFGS: new directions every {SLICED_LBFGS_BLOCK} iterations; with Adam: at every step")
BUDGET = nst.pick(40.0, 2.0)  # seconds per run
style_image = data.style_image("swirls", size=TEXTURE_SIZE)
targets = held_out_targets(style_image)
for optimizer in ("lbfgs", "adam"):
    run = nst.stylize(style_image, style_image, style_loss="sliced_wasserstein", content_weight=0.0,
                      content_layers=(), init="noise", size=TEXTURE_SIZE, steps=None, time_budget=BUDGET,
                      optimizer=optimizer, seed=0)
    fraction = held_out_distance(run.image, targets) / held_out_distance(noise, targets)
    print(f"{optimizer:>6}: {run.iterations:4d} iterations in {run.elapsed:5.1f} s, held-out distance left {fraction:.3f}")

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Texture Synthesis Using Convolutional Neural Networks*, NeurIPS
#   2015 — Gram matrices of VGG features as a texture model; section 4's synthesis from noise.
# - Y. Li, N. Wang, J. Liu, X. Hou, *Demystifying Neural Style Transfer*, IJCAI 2017 — matching Gram
#   matrices is minimising a maximum mean discrepancy with a second-order polynomial kernel; matching
#   channel means and standard deviations (batch-normalisation statistics) works as well.
# - X. Huang, S. Belongie, *Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization*,
#   ICCV 2017 — `mean_std` as the statistic a network transfers in one pass (notebook 10 comes back to it).
# - E. Risser, P. Wilmot, C. Barnes, *Stable and Controllable Neural Texture Synthesis and Style Transfer
#   Using Histogram Losses*, arXiv:1701.08893, 2017 — where Gram matching is unstable, and per-channel
#   histogram matching as a remedy.
# - Y. Mroueh, *Wasserstein Style Transfer*, AISTATS 2020, and crowsonkb/style-transfer-pytorch — the
#   closed-form Wasserstein-2 distance between Gaussian fits (`wasserstein`).
# - E. Heitz, K. Vanhoey, T. Chambon, L. Belcour, *A Sliced Wasserstein Loss for Neural Texture
#   Synthesis*, CVPR 2021 — `sliced_wasserstein`, with random directions redrawn at each step.
# - N. Kolkin, J. Salavon, G. Shakhnarovich, *Style Transfer by Relaxed Optimal Transport and
#   Self-Similarity*, CVPR 2019 — optimal transport between feature sets for style transfer.

# %% [markdown]
# ## Summary
#
# - A style layer is a cloud of points; a style statistic summarises it and forgets the layout (shuffling
#   positions changes nothing).
# - `gram` keeps second moments, mixing the mean with the spread; `mean_std` keeps each channel's mean and
#   spread but not how channels vary together; `wasserstein` keeps mean and covariance, as a Gaussian;
#   `sliced_wasserstein` keeps the whole distribution, one random direction at a time.
# - Texture synthesis from noise shows what each keeps; a fair comparison needs a measure none of them
#   optimised (here: held-out layers and held-out random directions), and the cost of an iteration.
# - In the library: `nst.stylize(..., style_loss=NAME)` and `nst stylize … --style-loss NAME`; each
#   statistic has its own default `style_weight` (`nst_lib.config.DEFAULT_STYLE_WEIGHTS`); masks and
#   style blends work with all four.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 — mean and standard deviation matching (self-checked).** Write
# `mean_std_distance(features, style_features)` for two `(1, h, w, C)` feature maps (of different sizes):
# the per-channel means μ and standard deviations σ over the positions (σ = √(variance + 1e-5)), then
# `(‖μ − μ*‖² + ‖σ − σ*‖²) / C`. Replace `raise NotImplementedError` with your code, then run the check.
# (Reference solution, on purpose only: `checks.solution("mean_std_distance")`.)

# %%
import nst_lib.course.checks as checks
from nst_lib.course.checks_statistics import check_mean_std_distance, check_sliced_wasserstein_distance

# %% tags=["exercise"]
def mean_std_distance(features, style_features):
    """(‖μ − μ*‖² + ‖σ − σ*‖²) / C with per-channel means and standard deviations over the positions."""
    raise NotImplementedError


# %% tags=["raises-exception"]
check_mean_std_distance(mean_std_distance)

# %% [markdown]
# **Exercise 2 — the sliced Wasserstein distance (self-checked).** Write
# `sliced_wasserstein_distance(features, style_features, directions)` for two `(1, h, w, C)` feature maps
# with as many positions and `directions` of shape `(C, K)` (unit columns): the mean, over the `K`
# directions, of the squared Wasserstein-2 distance between the two clouds projected on that direction —
# section 2 says how one dimension makes that easy. Use TensorFlow operations (the library runs it inside a
# compiled graph). (Reference solution, on purpose only: `checks.solution("sliced_wasserstein_distance")`.)

# %% tags=["exercise"]
def sliced_wasserstein_distance(features, style_features, directions):
    """Mean over the K directions of the mean squared difference between the sorted projections."""
    raise NotImplementedError


# %% tags=["raises-exception"]
check_sliced_wasserstein_distance(sliced_wasserstein_distance)

# %% [markdown]
# **Exercise 3 — few directions.** With your function from exercise 2 and the corner and axis clouds of
# section 3 (c), compute the distance with `K = 1, 2, 4, 64` directions
# (`statistics.random_directions(2, K, seed)`) for ten seeds each. How does the spread over seeds change
# with `K`? Why do the library's runs get away with `K = C` directions per layer and evaluation?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# one, other = clouds["(c) same mean and covariance"]
# for K in (1, 2, 4, 64):
#     values = [float(sliced_wasserstein_distance(as_features(other), as_features(one),
#                                                 statistics.random_directions(2, K, seed))) for seed in range(10)]
#     print(f"K = {K:2d}: from {min(values):.3f} to {max(values):.3f}, standard deviation {np.std(values):.3f}")
# ```
#
# With the reference solution: with one direction the distance ranges from almost 0 (a direction along
# which the square's corners and the axis points project alike) to about 0.44; with 64 directions every
# seed gives about 0.19 (0.17–0.21, standard deviation 0.01 against 0.12 for `K = 1`). The spread shrinks
# as `K` grows (for many directions roughly as `1/√K`): each direction is one random sample of the same
# average. The library's runs get away
# with `K = C` because `C` is 64–512 at the style layers, not 2, and five layers add their estimates; the
# directions are drawn again at every evaluation, so the optimisation averages over many draws — a
# stochastic gradient, like a mini-batch; and what it needs is a useful gradient, not an exact distance.
# </details>
#
# **Exercise 4 — layers.** In the demo below, synthesise the `stained_glass` texture with only
# `block1_conv1` and `block2_conv1`, then with all five layers, for `mean_std` and for
# `sliced_wasserstein`. Which statistic needs the deep layers more to get the panes' size right?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# glass = data.style_image("stained_glass", size=TEXTURE_SIZE)
# shallow = ("block1_conv1", "block2_conv1")
# runs = {(name, len(layers)): nst.stylize(glass, glass, style_loss=name, content_weight=0.0, content_layers=(),
#                                          style_layers=layers, init="noise", size=TEXTURE_SIZE,
#                                          steps=TEXTURE_STEPS, seed=0)
#         for name in ("mean_std", "sliced_wasserstein") for layers in (shallow, GATYS_STYLE_LAYERS)}
# viz.show_images([glass] + [r.image for r in runs.values()], ["style"] + [f"{n}, {k} layers" for n, k in runs])
# ```
#
# With the two shallow layers (receptive fields of 3 and 10 px, far smaller than a pane) neither
# statistic can know how large a pane is. In our run (128 px, 80 L-BFGS iterations, seed 0, offline VGG16)
# `mean_std` gave scattered blobs of colour with few closed lead lines, while `sliced_wasserstein` already
# drew small closed cells: it matches the whole distribution of each projection, which keeps more of the
# local structure. With all five layers both made panes enclosed by dark lines, `sliced_wasserstein`'s
# closer to the style's sizes. So `mean_std` needs the deep layers more: it gains the most from them, and
# its shallow-layer texture is the furthest from glass.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick a statistic, a style, a photo and the style layers, then press **Run**: the texture the statistic
# synthesises from noise appears on the left, the transfer onto the photo on the right, both updating as
# they optimise. **Stop** keeps the best images so far. At the real settings (128 px, 100 + 60
# iterations) a run takes one to two minutes.

# %%
from nst_lib.course.widgets.statistics import statistics_demo

statistics_demo()
