# %% [markdown]
# # Gram matrices
#
# How the correlations between feature channels capture texture and style while forgetting the layout.
#
# **What you'll build:** the Gram matrix derived by hand, then written yourself and checked against the library, a style distance, and textures synthesised from noise by matching Gram matrices alone.

# %% [markdown]
# ## What you will learn
#
# - how to compute a Gram matrix — for all `C²` channel pairs at once, with one matrix product that you find
#   yourself before the derivation shows it;
# - what its entries measure — how strongly two channels fire *together*, averaged over all positions —
#   and why that forgets *where* things are;
# - why the library divides by `H·W`, and how to read Gram heat maps;
# - the style distance `mean((G − A)²)`, the building block of the style loss;
# - texture synthesis (Gatys, Ecker & Bethge, 2015): start from noise and match Gram matrices only.

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import data
from nst_lib.course import viz
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.config import GATYS_STYLE_LAYERS

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # the last line says it once, in words

STYLE_NAME = "stained_glass"  # the style image of this notebook: every figure below follows it
OTHER_STYLE, PHOTO = "swirls", "astronaut"  # what it is compared with in section 2
SIZE = nst.pick(256, 64)
extractor = nst.FeatureExtractor(GATYS_STYLE_LAYERS)  # conv1_1 … conv5_1, the style layers of the paper
print(extractor.weights_info.describe())

# %% [markdown]
# ## 1. Deriving the Gram matrix
#
# Take the feature maps of one layer for the style image: `h × w` positions, `C` channels. At every
# position there is a vector of `C` numbers saying which features are present there.

# %%
style = data.style_image(STYLE_NAME, size=SIZE)
feats = extractor(style[np.newaxis])["block1_conv1"]  # (1, h, w, C)
h, w, c = feats.shape[1:]
print(f"features: {tuple(feats.shape)} → {h}·{w} = {h * w} positions, each with {c} channel values")

# %% [markdown]
# The **Gram matrix** of the layer summarises these vectors in one `C × C` table: entry `(i, j)` is the
# **average, over all `H·W` positions, of the product of channel `i` and channel `j`** at that position.
#
# **Exercise 1 — build it yourself, before reading on: the Gram matrix (self-checked).** Write
# `gram_matrix(features)` for features of shape `(1, H, W, C)`, returning the `(1, C, C)` (or `(C, C)`)
# matrix just defined. A Python loop over `C²` pairs would be far too slow (`C` is up to 512): find the
# one matrix product that computes all the sums at once, and the shape the features need for it. Use
# TensorFlow operations: notebook 08 runs your function inside a compiled graph, and it must work for any
# `H`, `W` and `C`. Replace `raise NotImplementedError`, run the check, and only then read the derivation
# below. (Solution, on purpose only: `checks.solution("gram_matrix")`.)

# %%
from nst_lib.course import checks

# %% tags=["exercise"]
def gram_matrix(features):
    """(1, H, W, C) features → (1, C, C): entry (i, j) is the mean over positions of channel i × channel j."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_gram_matrix(gram_matrix)

# %% [markdown]
# **The derivation — compare it with yours.** **Step 1.** Forget the grid: stack the positions as rows of a matrix `F` of shape `(H·W, C)`. The
# channels stay the last axis, so a plain reshape keeps each row one position.

# %%
F = tf.reshape(feats, (h * w, c))
print("F:", tuple(F.shape))

# %% [markdown]
# **Step 2.** Multiply `F` by its own transpose: `Fᵀ F` is `C × C`, and entry `(i, j)` is
# `Σ_p F[p, i] · F[p, j]` — large when channels `i` and `j` are strong *at the same positions*.
# **Step 3.** Divide by the number of positions `H·W`, so that it is an average rather than a sum.

# %%
G_sum = tf.matmul(F, F, transpose_a=True)  # Fᵀ F: (C, C)
G = G_sum / (h * w)                          # average over positions
np.testing.assert_allclose(G.numpy(), nst.gram_matrix(feats)[0].numpy(), rtol=1e-5)
print("✓ our G equals nst.gram_matrix(feats); shape", tuple(G.shape))

# %% [markdown]
# The **diagonal** `G[i, i]` is the mean of channel `i`'s squared activation: how much of feature `i`
# the image contains. The **off-diagonal** `G[i, j]` is the average, over all positions, of the product of
# channel `i`'s and channel `j`'s activations: large when the two are strong *at the same places* (red
# glass with a dark border, say), small when one is silent wherever the other fires. It mixes how often
# they co-occur with how strongly they fire. `viz.gram_heatmap` draws the first 64 channels (on a log
# scale, because a few entries are much larger than the rest).

# %%
viz.gram_heatmap(G, title=f"{STYLE_NAME}, block1_conv1")

# %% [markdown]
# ## 2. A Gram matrix forgets where things are
#
# The sum over positions does not care about their order. Shuffle the rows of `F` — move every position
# somewhere else — and the Gram matrix is exactly the same:

# %%
shuffled = tf.gather(F, np.random.default_rng(0).permutation(h * w))
G_shuffled = tf.matmul(shuffled, shuffled, transpose_a=True) / (h * w)
np.testing.assert_allclose(G_shuffled.numpy(), G.numpy(), rtol=1e-4)  # equal up to float32 rounding
print(f"✓ same Gram matrix after moving all {h * w} positions around")


# %% [markdown]
# That is exactly what we want from a description of *style*: which textures and colours occur together,
# not where. Let us test it on pictures with the **style distance** — the style loss of one image with
# another's Gram matrices as targets, `Σ_l w_l · mean((G_l − A_l)²)` over the five style layers with
# equal weights. `nst.style_loss` takes feature maps, target Gram matrices and layer weights.

# %%
def grams(image):
    return {layer: nst.gram_matrix(f)[0] for layer, f in extractor(image[np.newaxis]).items()}


def style_distance(image, target_grams):
    weights = {layer: 1 / len(GATYS_STYLE_LAYERS) for layer in GATYS_STYLE_LAYERS}
    loss, _ = nst.style_loss(extractor(image[np.newaxis]), target_grams, weights)
    return float(loss)


def shuffle_tiles(image, tiles=4, seed=0):
    th, tw = image.shape[0] // tiles, image.shape[1] // tiles
    pieces = [image[r * th:(r + 1) * th, q * tw:(q + 1) * tw] for r in range(tiles) for q in range(tiles)]
    order = np.random.default_rng(seed).permutation(len(pieces))
    rows = [np.concatenate([pieces[k] for k in order[r * tiles:(r + 1) * tiles]], axis=1) for r in range(tiles)]
    return np.concatenate(rows, axis=0)


rearranged = {"tiles shuffled": shuffle_tiles(style), "mirrored": style[:, ::-1].copy()}
others = {OTHER_STYLE: data.style_image(OTHER_STYLE, size=SIZE), PHOTO: data.content_image(PHOTO, size=SIZE)}
candidates = {**rearranged, **others}
target = grams(style)
distances = {name: style_distance(image, target) for name, image in candidates.items()}
viz.show_images([style, *candidates.values()], [f"{STYLE_NAME} (target)", *candidates], ncols=5, size=2.4)

# %%
fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(list(distances), list(distances.values()), color="tab:purple")
ax.set_xscale("log")
ax.invert_yaxis()
ax.set_xlabel(f"style distance to {STYLE_NAME} (log scale)")
plt.show()
closest_other = min(distances[name] for name in others)
furthest_rearranged = max(distances[name] for name in rearranged)
assert furthest_rearranged * 5 < closest_other
print(f"✓ the rearranged copies are at least {closest_other / furthest_rearranged:.0f}× closer in style than "
      f"{OTHER_STYLE} or {PHOTO}")

# %% [markdown]
# The scrambled and mirrored versions are far closer to the original in style than a different
# style image or a photo, although their layout is very different (the line above says how much closer).
# They are not at exactly zero: the tile seams add new edges, and VGG's filters are not mirror-symmetric.
#
# ## 3. Why divide by `H·W`
#
# Without the division, the Gram matrix is a *sum* over positions, so it grows with the image: twice the
# side, four times the positions, about four times the entries. With the division it is an average, so
# the same texture gives values of *roughly* the same size at any resolution, and the loss weights carry
# over from 256 px to 1024 px. Roughly, not exactly: at half the size every detail (a glass pane, a
# stroke) is half as many pixels wide, and VGG's fixed-size filters see a finer texture. The cell compares
# the two sizes:

# %%
half = data.style_image(STYLE_NAME, size=SIZE // 2)
means = {}
for name, image in (("full", style), ("half", half)):
    f = extractor(image[np.newaxis])["block1_conv1"]
    positions = f.shape[1] * f.shape[2]
    g = nst.gram_matrix(f)[0]
    means[name] = (float(tf.reduce_mean(g)) * positions, float(tf.reduce_mean(g)))
    print(f"{name} size {image.shape[1]}×{image.shape[0]}: mean of Fᵀ F = {means[name][0]:10.4g},"
          f"  mean of Fᵀ F/(H·W) = {means[name][1]:.4g}")
print(f"full / half: {means['full'][0] / means['half'][0]:.2f} without the division, "
      f"{means['full'][1] / means['half'][1]:.2f} with it")

# %% [markdown]
# ## 4. Reading Gram heat maps
#
# Each image has its own pattern of bright and dark rows and columns. Compare the first-layer Gram
# matrices of three images: a dark row and column is a channel that hardly fires on that image (its
# filter's edge direction or colour is rare there), a bright cross is a feature the image is full of.
# You will not read a style off a heat map, but you can see that the fingerprints differ — and the style
# distance turns that difference into one number. (Each heat map has its own colour scale.)

# %%
fig = plt.figure(figsize=(13, 3.6), layout="constrained")
axes = fig.subplots(1, 3)
for ax, (name, image) in zip(axes, ((STYLE_NAME, style), (OTHER_STYLE, others[OTHER_STYLE]),
                                     (PHOTO, others[PHOTO]))):
    viz.gram_heatmap(grams(image)["block1_conv1"], title=name, max_channels=64, ax=ax)
plt.show()

# %% [markdown]
# ## 5. Texture synthesis from noise
#
# If Gram matrices capture a texture, then an image whose Gram matrices match the style's should *look
# like* that texture. Gatys, Ecker & Bethge tested this before style transfer (*Texture Synthesis Using
# Convolutional Neural Networks*, NeurIPS 2015): start from random noise and change the pixels until the
# Gram matrices match. That paper matched `conv1_1` and the pooling layers `pool1` … `pool4`; we match the
# five layers of the style-transfer paper, `conv1_1` … `conv5_1` (each `convN_1` reads the output of
# `pool(N−1)`, one convolution later). With `stylize` that is a content weight of 0 and no content layer
# at all (no layout to keep), and `init="noise"`.
#
# ⏱ At the real settings (256 px, 100 L-BFGS iterations) this cell takes about **40 seconds** on a 2-core
# CPU; in fast mode a few seconds.

# %%
TEXTURE_SIZE = nst.pick(256, 64)
TEXTURE_STEPS = nst.pick(100, 4)
texture = nst.stylize(style, style, content_weight=0.0, content_layers=(), init="noise",
                      size=TEXTURE_SIZE, steps=TEXTURE_STEPS, seed=0)
noise = np.random.default_rng(0).uniform(0, 1, texture.image.shape).astype(np.float32)
print(f"{texture.iterations} iterations in {texture.elapsed:.0f} s")
viz.show_images([noise, texture.image, style], ["noise (like the start)", "synthesised texture", STYLE_NAME])

# %%
first, last = texture.history[0]["style"], texture.history[-1]["style"]
print(f"style loss: {first:.3g} at the first iteration, {last:.3g} at the last ({first / last:.3g}× lower)")
viz.loss_curves(texture.history, parts=("style",), title="the style loss while the texture forms")

# %% [markdown]
# At the real settings (256 px, `stained_glass`), the texture has the glass colours, the dark lead lines
# and pane-sized cells, scattered in a new arrangement: layout is free because nothing asked for it.
# Which layers you match decides which scale of structure comes back. With only the two first layers
# (receptive fields of 3 and 10 px) the colours and the dark lines return, but, in our 256 px run, the
# cells became rounder blobs of random sizes: those layers see too little of the image to know how large
# a pane is or that its edges are straight.
#
# ⏱ Real settings: about **20 seconds** on a 2-core CPU (the network stops after `block2_conv1`, so each step
# is cheap).

# %%
shallow = nst.stylize(style, style, content_weight=0.0, content_layers=(), init="noise",
                      size=TEXTURE_SIZE, steps=TEXTURE_STEPS, seed=0, style_layers=("block1_conv1", "block2_conv1"))
viz.show_images([shallow.image, texture.image, style],
                ["matched: conv1_1, conv2_1", "matched: conv1_1 … conv5_1", STYLE_NAME])

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Texture Synthesis Using Convolutional Neural Networks*, NeurIPS
#   2015 — Gram matrices of VGG features as a texture model (section 5 of this notebook).
# - J. Portilla, E. P. Simoncelli, *A Parametric Texture Model Based on Joint Statistics of Complex Wavelet
#   Coefficients*, International Journal of Computer Vision, 2000 — the hand-made statistics it replaced.
# - Y. Li, N. Wang, J. Liu, X. Hou, *Demystifying Neural Style Transfer*, IJCAI 2017 — matching Gram
#   matrices is minimising a maximum mean discrepancy between the two images' feature distributions.

# %% [markdown]
# ## Summary
#
# - The Gram matrix of a layer is `G = Fᵀ F / (H·W)` with `F` the features reshaped to `(H·W, C)`;
#   `nst.gram_matrix` computes it (for a batch, `(N, C, C)`).
# - `G[i, j]` is the average product of channels `i` and `j` over all positions: large when both fire
#   strongly at the same places. Shuffling positions leaves it unchanged: it describes texture and colour,
#   not layout.
# - Dividing by `H·W` makes it roughly independent of the image size (exactly only if the texture looked
#   the same to VGG at every size).
# - The style distance `Σ_l w_l · mean((G_l − A_l)²)` (`nst.style_loss`) is small for the same texture
#   rearranged and large for a different style.
# - Matching Gram matrices alone, from noise, synthesises the texture (Gatys et al., NeurIPS 2015); shallow
#   layers give fine grain, deep layers larger structures.

# %% [markdown]
# ## Exercises
#
# Exercise 1, the Gram matrix, is in section 1, before its derivation; if you skipped it, go back and write
# it now (notebooks 04 and 08 use it).
#
# **Exercise 2 — what survives a flip?** Predict the style distance between `style` and its upside-down
# copy `style[::-1]` relative to the mirrored one in section 2, then compute it with `style_distance`.
# Would a rotation by 90° (`np.rot90(style)`) be closer or further? Why might VGG care?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# for name, image in (("mirrored", style[:, ::-1]), ("upside down", style[::-1]), ("rotated 90°", np.rot90(style))):
#     print(f"{name:12s} {style_distance(image.copy(), target):.3g}")
# ```
#
# With `stained_glass` at 256 px and the offline VGG16 weights we measured 1.03e9 (mirrored), 1.02e9
# (upside down) and 1.21e9 (rotated): all three far below the other style and the photo (about 2e10), and
# the rotation the furthest. A flip keeps every vertical edge vertical and every horizontal one horizontal
# (it only swaps the two diagonals, or light-above-dark for dark-above-light); a 90° rotation turns
# vertical edges into horizontal ones, and VGG detects the two orientations with different channels, so
# different entries of the Gram matrix fill up.
# </details>
#
# **Exercise 3 — deep layers only.** Synthesise a texture of `composition` matching only
# `("block4_conv1", "block5_conv1")`. What is kept, and what is lost compared with all five layers?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# painting = data.style_image("composition", size=TEXTURE_SIZE)
# settings = dict(content_weight=0.0, content_layers=(), init="noise", size=TEXTURE_SIZE, steps=TEXTURE_STEPS, seed=0)
# deep = nst.stylize(painting, painting, style_layers=("block4_conv1", "block5_conv1"), **settings)
# full = nst.stylize(painting, painting, **settings)
# viz.show_images([painting, deep.image, full.image], ["style", "deep layers only", "all five"])
# ```
#
# In our run (192 px, 60 iterations, VGG16) the deep layers alone brought back the painting's motifs —
# circles with rings, checkerboard patches, curved shapes — but not its surfaces: the smooth beige
# paper became a colourful high-frequency grain, because nothing constrains detail finer than those
# layers' large receptive fields or the exact colours. With all five layers the background is smooth
# and beige again.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick two images (or upload your own with **image A file** / **image B file**) and a layer: see both
# Gram matrices side by side and their style distance at that layer, with a table of the distance at all
# five style layers. Try the same image twice (distance 0), two style images, and a photo against a style.

# %%
from nst_lib.course.widgets.gram import gram_demo

gram_demo()
