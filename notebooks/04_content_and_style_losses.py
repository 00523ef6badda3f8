# %% [markdown]
# # Content and style losses
#
# Turn "looks like this photo" and "painted like this picture" into numbers, and see what each layer of VGG remembers.
#
# **What you'll build:** the content, style and total-variation losses checked against the library, one weighted objective, and Gatys et al.'s Figure 1: images rebuilt from single layers and textures from growing layer sets.

# %% [markdown]
# ## What you will learn
#
# - the **content loss** `Σ_l c_l · mean((F_l − P_l)²)`: how far the feature maps of an image are from
#   those of the photo, at one or more layers;
# - the **style loss** `Σ_l w_l · mean((G_l − A_l)²)`: how far its Gram matrices are from the style
#   image's, with one weight per layer — and why equal weights do not mean equal contributions;
# - the **total variation** loss, a smoothness penalty on the pixels;
# - how `nst.Objective` adds them up with `content_weight`, `style_weight` and `tv_weight`;
# - what a single layer remembers of a photo, and what growing sets of layers remember of a style
#   (Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR 2016, Fig. 1).
#
# You need the feature maps of notebook 02 and the Gram matrices of notebook 03.

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import data
from nst_lib.course import experiments, viz
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.config import GATYS_STYLE_LAYERS

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # the network is said once, in words, below
tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that
CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
SIZE = nst.pick(256, 64)  # long side of the images in this notebook
content, style = data.example_pair(CONTENT_NAME, STYLE_NAME, size=SIZE)
extractor = nst.FeatureExtractor(("block4_conv2", "block5_conv2", *GATYS_STYLE_LAYERS))
print(extractor.weights_info.describe())
viz.show_images([content, style], [f"content: {CONTENT_NAME}", f"style: {STYLE_NAME}"])


# %% [markdown]
# ## 1. The content loss
#
# Call the photo `p` and the image we are judging `x`. At a layer `l`, VGG turns them into feature maps
# `P_l` and `F_l` of the same shape `(h, w, C)`. The content loss at that layer is the mean squared
# difference of the two:
#
# `L_content(x) = mean((F_l − P_l)²)`
#
# Gatys et al. write sums instead: `½ Σ (F − P)²` for the content and, per style layer,
# `Σ (G − A)² / (4 N² M²)` with `G = F Fᵀ` a sum over the `M = h·w` positions of `N` channels (section 2
# has our style loss; notebook 06's table converts the paper's weights into ours). We take means, so the
# numbers do not grow with the number of positions; that makes them only *roughly* independent of the
# image size, because VGG sees the same picture differently at another size (section 2 measures it).
#
# **Exercise 1 — build it yourself, before reading on: the content loss (self-checked).** Write
# `content_loss(features, targets, layer_weights)` for several layers at once: the arguments are
# dictionaries keyed by layer name — feature maps `(1, h, w, C)`, target maps of the same shape, and the
# weights `c_l` — and the result is one number, `Σ_l c_l · mean((F_l − P_l)²)` over the layers of
# `layer_weights`. It must work on TensorFlow tensors, inside a compiled graph, and a gradient must flow
# through it (notebook 05). Then read on: the code below does one layer. (Solution, on purpose only:
# `checks.solution("content_loss")`.)

# %%
from nst_lib.course import checks

# %% tags=["exercise"]
def content_loss(features, targets, layer_weights):
    """Σ_l c_l · mean((F_l − P_l)²) over the layers of layer_weights."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_content_loss(content_loss)

# %% [markdown]
# One layer, written out and compared with the library:

# %%
def content_loss_one_layer(features, target):
    return tf.reduce_mean(tf.square(features - target))


rng = np.random.default_rng(0)
noisy = np.clip(content + rng.normal(0.0, 0.1, content.shape), 0, 1).astype(np.float32)
P = extractor(content[np.newaxis])  # the photo's features: the targets
F = extractor(noisy[np.newaxis])    # the image being judged: the photo with some noise

ours = content_loss_one_layer(F["block5_conv2"], P["block5_conv2"])
library, parts = nst.content_loss(F, P, {"block5_conv2": 1.0})
np.testing.assert_allclose(float(ours), float(library), rtol=1e-6)
print(f"✓ content loss at conv5_2 = {float(ours):.4g}, the same as nst.content_loss")

# %% [markdown]
# `nst.content_loss` takes a dictionary of **layer weights** `c_l` and returns the weighted sum *and*
# the weighted part of each layer, so you can see where the loss comes from. The library normalises the
# weights to sum to one (`stylize` does that for you; here we pass them already normalised).

# %%
loss, parts = nst.content_loss(F, P, {"block4_conv2": 0.5, "block5_conv2": 0.5})
print(f"total {float(loss):.4g} =", " + ".join(f"{float(v):.4g} ({k})" for k, v in parts.items()))

# %% [markdown]
# What does the content loss notice? Compare three changes to the photo — a little noise, a shift by a
# few pixels, and a completely different picture — at a middle and a deep layer. Each bar is the loss
# divided by the loss of the different picture at that layer, so 1.0 means "as different as another
# image".

# %%
candidates = {
    "photo + noise": noisy,
    f"photo shifted {SIZE // 32} px": np.roll(content, SIZE // 32, axis=1),
    "the style image": np.asarray(nst.images.resize_to(style, *content.shape[:2])),
}
layers = ("block4_conv2", "block5_conv2")
losses = {name: {layer: float(nst.content_loss(extractor(image[np.newaxis]), P, {layer: 1.0})[0])
                 for layer in layers} for name, image in candidates.items()}
fig, ax = plt.subplots(figsize=(7, 2.8))
for i, layer in enumerate(layers):
    values = [losses[name][layer] / losses["the style image"][layer] for name in candidates]
    ax.barh(np.arange(len(candidates)) + 0.4 * i, values, height=0.4, label=layer)
ax.set_yticks(np.arange(len(candidates)) + 0.2, list(candidates))
ax.invert_yaxis()
ax.set_xlabel("content loss / content loss of the style image")
ax.legend()
plt.show()
for name in list(candidates)[:2]:
    ratios = {layer: losses[name][layer] / losses["the style image"][layer] for layer in layers}
    print(f"{name}: {ratios['block4_conv2']:.2f} of a different picture's loss at conv4_2, "
          f"{ratios['block5_conv2']:.2f} at conv5_2")
    assert ratios["block5_conv2"] < ratios["block4_conv2"] < 1


# %% [markdown]
# Pixel noise and a small shift cost less than a different picture, and the deep layer `conv5_2` is
# the more forgiving (the assertion above checks both): its units see large windows (notebook 02), so it
# records *which objects are roughly where*, not exact pixels. That is why style transfer matches content at a deep layer: the style
# is free to repaint the surfaces as long as the objects stay in place.
#
# ## 2. The style loss, layer by layer
#
# The style of the painting `a` is described by its Gram matrices `A_l` (notebook 03). The style loss of
# `x` compares its Gram matrices `G_l` with them, at several layers, with a weight `w_l` per layer:
#
# `L_style(x) = Σ_l w_l · mean((G_l − A_l)²)`,  with `G = Fᵀ F / (H·W)`
#
# **Exercise 2 — build it yourself, before reading on: the style loss (self-checked).** Write
# `style_loss(features, target_grams, layer_weights)` = `Σ_l w_l · mean((G_l − A_l)²)`, where `G_l` is the
# Gram matrix of `features[layer]` (your own `gram_matrix` from notebook 03) and
# `A_l = target_grams[layer]` has shape `(C, C)`. Mind the shapes: what does your Gram matrix of
# `(1, h, w, C)` features return, and what happens when a `(1, C, C)` meets a `(C, C)`? (Solution, on
# purpose only: `checks.solution("style_loss")`.)
#
# Use `gram_matrix`: the next cell brings in yours from notebook 03, which its check saved to `my_nst.py`
# (or the reference solution, if yours is not there yet — the cell says which).

# %%
from nst_lib.course import pieces

mine = pieces.my_pieces("gram_matrix")  # your gram_matrix from my_nst.py, checked again
print(mine.report())
gram_matrix = mine.functions("gram_matrix")

# %% tags=["exercise"]
def style_loss(features, target_grams, layer_weights):
    """Σ_l w_l · mean((G_l − A_l)²) with G_l the Gram matrix of features[layer]."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_style_loss(style_loss)

# %% [markdown]
# One layer, by hand and by the library — compare it with yours:

# %%
def style_loss_one_layer(features, target_gram):
    return tf.reduce_mean(tf.square(nst.gram_matrix(features) - target_gram))


S = extractor(style[np.newaxis])
A = {layer: nst.gram_matrix(S[layer])[0] for layer in GATYS_STYLE_LAYERS}  # the style's Gram matrices

ours = style_loss_one_layer(F["block1_conv1"], A["block1_conv1"])
library, _ = nst.style_loss(F, A, {"block1_conv1": 1.0})
np.testing.assert_allclose(float(ours), float(library), rtol=1e-5)
print(f"✓ style loss at conv1_1 = {float(ours):.4g}, the same as nst.style_loss")


# %% [markdown]
# Gatys et al. use the five layers `conv1_1 … conv5_1` with equal weights `w_l = 1/5`. Here is what each
# of them adds to the style loss of our noisy photo:

# %%
def layer_bars(parts, title, log=True):
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.barh(list(parts), [float(v) for v in parts.values()], color="tab:orange")
    if log:
        ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_title(title)
    plt.show()


equal = {layer: 1 / len(GATYS_STYLE_LAYERS) for layer in GATYS_STYLE_LAYERS}
loss, parts = nst.style_loss(F, A, equal)
layer_bars(parts, f"equal weights: style loss {float(loss):.3g}, parts by layer (log scale)")

# %% [markdown]
# Equal weights are far from equal contributions. The reason is the size of the activations: Keras' VGG is
# not rescaled, and its layers fire with very different strengths. The mean activation of each style
# layer, measured on the image being judged (the photo with noise):

# %%
mean_activation = {layer: float(tf.reduce_mean(F[layer])) for layer in GATYS_STYLE_LAYERS}
print(f"{CONTENT_NAME} + noise, {content.shape[1]}×{content.shape[0]} px, {extractor.backbone}:")
for layer, value in mean_activation.items():
    print(f"  {layer}: mean activation {value:7.1f} ({value / mean_activation['block1_conv1']:4.1f}× block1_conv1)"
          f"   style part {float(parts[layer]):.3g}")
largest = max(GATYS_STYLE_LAYERS, key=lambda layer: float(parts[layer]))
print(f"the largest part, {largest}, is {float(parts[largest]) / float(parts['block1_conv1']):.3g}× the part of "
      f"block1_conv1 and {float(parts[largest]) / float(parts['block5_conv1']):.3g}× that of block5_conv1")

# %% [markdown]
# A Gram matrix is a product of two activations and the loss squares it again, so the loss grows roughly
# with the fourth power of the activation scale: middle layers that fire several times more strongly
# than the first (the printed ratios) contribute orders of magnitude more. (Gatys et al. rescaled their
# network so every filter has mean activation 1 over ImageNet, which makes their equal weights closer to
# equal contributions.)
#
# If you want every layer to count equally *for this image*, divide each weight by that layer's part and
# normalise — the per-layer weights are exactly the knob for that:

# %%
inverse = {layer: 1.0 / float(parts[layer]) for layer in GATYS_STYLE_LAYERS}
balanced = {layer: value / sum(inverse.values()) for layer, value in inverse.items()}
loss, balanced_parts = nst.style_loss(F, A, balanced)
layer_bars(balanced_parts, f"balanced weights: every layer adds {float(loss) / 5:.3g}", log=False)
print({layer.replace("block", "b"): f"{w:.2g}" for layer, w in balanced.items()})

# %% [markdown]
# `nst.stylize(..., style_layer_weights=...)` takes such weights (one per style layer, in the order of
# `style_layers`). Balanced weights hand most of the weight to `conv1_1` and `conv5_1`, the layers that
# equal weights almost ignore; Exercise 4 shows what that does to a transfer, and the demo at the end lets
# you move every weight yourself.
#
# **How size-independent are the means?** Dividing by the number of positions removes the *count*, but
# not what VGG sees: at twice the size, every brush stroke covers four times the pixels, so each filter
# finds other patterns at other strengths. The same style image at two sizes, the mean of its Gram matrix
# at each style layer:

# %%
SMALL, LARGE = nst.pick((128, 256), (32, 64))
gram_means = {}
for side in (SMALL, LARGE):
    features_at_side = extractor(data.style_image(STYLE_NAME, size=side)[np.newaxis])
    gram_means[side] = {layer: float(tf.reduce_mean(nst.gram_matrix(features_at_side[layer])))
                        for layer in GATYS_STYLE_LAYERS}
change = {layer: gram_means[LARGE][layer] / gram_means[SMALL][layer] for layer in GATYS_STYLE_LAYERS}
print(f"{STYLE_NAME}, mean Gram entry at {LARGE} px ÷ at {SMALL} px ({extractor.backbone}):")
print("  " + ", ".join(f"{layer} {value:.2f}×" for layer, value in change.items()))
print(f"  from {min(change.values()):.2f}× to {max(change.values()):.2f}× (a sum over positions would "
      f"change by about {(LARGE / SMALL) ** 2:.0f}×)")

# %% [markdown]
# The Gram matrices themselves change by tens of per cent between the two sizes (up or down, depending on
# the image and the layer), so a style loss — their squared difference — can change by more; but not by the
# factor the number of positions would bring. That is why the same weights give similar, not identical,
# balances at 256 px and 1024 px, and why notebook 07 matches the style image's size to the output's.
#
# ## 3. Total variation
#
# Optimised images tend to collect high-frequency noise. The **total-variation** (TV) loss penalises
# differences between neighbouring pixels, down and across:
#
# `L_tv(x) = mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²)`
#
# It looks at pixels only, not at VGG features.
#
# **Exercise 3 — build it yourself: total variation (self-checked).** Write `total_variation(image)` for a
# `(1, H, W, 3)` image, following the formula above (TensorFlow's built-in `tf.image.total_variation`
# measures something else: a sum of absolute differences). Like the two losses, it must work on tensors in
# a compiled graph. (Solution, on purpose only: `checks.solution("total_variation")`.)

# %% tags=["exercise"]
def total_variation(image):
    """mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²) for a (1, H, W, 3) image."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_total_variation(total_variation)

# %% [markdown]
# A smooth photo has a small TV, noise a large one:

# %%
smooth_to_rough = {"photo": content, "photo + noise": noisy,
                   "white noise": rng.uniform(0, 1, content.shape).astype(np.float32)}
tv = {name: float(nst.total_variation_loss(tf.constant(image[np.newaxis]))) for name, image in smooth_to_rough.items()}
viz.show_images(list(smooth_to_rough.values()), [f"{name}: TV = {value:.3g}" for name, value in tv.items()])

# %% [markdown]
# The original paper has no TV term; most implementations add a small one (`tv_weight`). The library's
# default is `tv_weight=0`, like the *first* optimisation loop of the TensorFlow tutorial. The tutorial's
# final loop adds one: `total_variation_weight = 30` times `tf.image.total_variation(image)`, a *sum of
# absolute* differences of neighbouring pixels, not our mean of squared ones, so the library does not
# reproduce that loop (a small `tv_weight` plays the same role).
#
# ## 4. One objective
#
# `nst.Objective` adds the three parts with their weights:
#
# `total = content_weight · L_content + style_weight · L_style + tv_weight · L_tv`
#
# With the content at `conv5_2`, the five Gatys style layers, `content_weight = 1e4`, `style_weight = 1e-2`
# and no TV, this is exactly the objective of the TensorFlow tutorial's first loop (`nst.TF_TUTORIAL`);
# these are the library's defaults.
# `stylize` builds this object for you; here we build it by hand and check its arithmetic.

# %%
from nst_lib.losses import Objective, StyleTarget

objective = Objective(extractor, {"block5_conv2": P["block5_conv2"]}, [StyleTarget(grams=A)],
                      content_layer_weights={"block5_conv2": 1.0}, style_layer_weights=equal,
                      content_weight=1e4, style_weight=1e-2, tv_weight=0.0)
all_parts = objective.parts(tf.constant(noisy[np.newaxis]))
expected = 1e4 * float(content_loss_one_layer(F["block5_conv2"], P["block5_conv2"])) \
    + 1e-2 * float(nst.style_loss(F, A, equal)[0])
np.testing.assert_allclose(float(all_parts["total"]), expected, rtol=1e-4)
print("✓ total = 1e4 · content + 1e-2 · style; parts:", ", ".join(sorted(all_parts)))

# %% [markdown]
# The widget module of this notebook has a small drawing function for these parts: each bar is what one
# layer adds to the total, *after* multiplying by its loss weight.

# %%
from nst_lib.course.widgets.losses import render_loss_parts

render_loss_parts({k: float(v) for k, v in all_parts.items()}, content_weight=1e4, style_weight=1e-2,
                  tv_weight=0.0, image=noisy, title=f"{CONTENT_NAME} + noise")

# %% [markdown]
# ## 5. What each layer remembers (Gatys et al. 2016, Figure 1)
#
# A loss is a question: "how different are these features?" Ask it with a single content layer, start
# from white noise, and change the pixels until the answer is as small as possible: the image you get is
# everything that layer remembers about the photo. `experiments.content_reconstructions` does this for
# `conv1_2 … conv5_2`; each image is one `nst.stylize` call with `content_weight=1`, `style_weight=0` and
# `init="noise"`.
#
# ⏱ At the real settings (256 px, 100 L-BFGS iterations over 2 scales) this cell takes about
# **a minute** on a 2-core CPU; in fast mode a few seconds.

# %%
RECON_STEPS = nst.pick(100, 3)  # L-BFGS iterations per image
RECON_SCALES = nst.pick(2, 1)   # coarse-to-fine: 128 px first, then 256 px (notebook 07)
content_panel = experiments.content_reconstructions(content, size=SIZE, steps=RECON_STEPS, scales=RECON_SCALES)
print(f"{len(content_panel)} reconstructions in {content_panel.elapsed:.0f} s")
content_panel.figure(with_inputs=True)

# %% [markdown]
# At the real settings (256 px, `grace_hopper`; `docs/figures/content_reconstructions.png` is that run),
# the photo comes back almost exactly from the lower layers. From `conv4_2` and `conv5_2` the objects and
# their arrangement survive — face, cap, uniform — but the exact pixels, colours and fine detail are
# free: the deep layers keep the *content* and let go of the *appearance*. That freedom is what the style
# loss will fill. The loss curves show how hard each question is to answer:

# %%
viz.loss_curves({label: r.history for label, r in zip(content_panel.labels, content_panel.results)},
                parts=("content",), title="content loss of each reconstruction")

# %% [markdown]
# The style side of Figure 1 asks the style loss alone, with growing sets of layers: `conv1_1`, then
# `conv1_1 + conv2_1`, and so on up to all five. `experiments.style_reconstructions` runs
# `nst.stylize` with `content_weight=0` and no content layer, from noise.
#
# ⏱ Real settings: about **1½ minutes** on a 2-core CPU.

# %%
style_panel = experiments.style_reconstructions(style, size=SIZE, steps=RECON_STEPS, scales=RECON_SCALES)
print(f"{len(style_panel)} textures in {style_panel.elapsed:.0f} s")
style_panel.figure(with_inputs=True)

# %% [markdown]
# At the real settings (256 px, `swirls`; `docs/figures/style_reconstructions.png`), `conv1_1` alone
# brings back only the colours and the finest grain. Each added layer brings larger structures: short
# strokes, then swirls and halos. The arrangement of the painting never comes back —
# Gram matrices do not store it (notebook 03). Put the two rows together and you have style transfer:
# the layout of a deep content layer, the textures of all the style layers.

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR
#   2016 — the content and style losses, and Figure 1 (section 5 of this notebook).
# - A. Mahendran, A. Vedaldi, *Understanding Deep Image Representations by Inverting Them*, CVPR 2015 —
#   images rebuilt from a layer's features, with a total-variation prior.
# - J. Johnson, A. Alahi, L. Fei-Fei, *Perceptual Losses for Real-Time Style Transfer and
#   Super-Resolution*, ECCV 2016 — the same losses, used to train a network instead of optimising pixels.

# %% [markdown]
# ## Summary
#
# - Content loss: `Σ_l c_l · mean((F_l − P_l)²)` (`nst.content_loss`); deep layers keep the objects and
#   their arrangement but not the exact pixels, which is why the content is matched at `conv4_2`/`conv5_2`.
# - Style loss: `Σ_l w_l · mean((G_l − A_l)²)` (`nst.style_loss`); with Keras' VGG, equal weights give
#   very unequal contributions (the middle layers fire several times more strongly than the first, and the
#   loss grows roughly with the fourth power of that) — the per-layer weights `style_layer_weights`
#   rebalance them.
# - Total variation: mean squared differences of neighbouring pixels (`nst.total_variation_loss`).
# - `nst.Objective`: `content_weight · content + style_weight · style + tv_weight · tv`, with every
#   part reported by layer; the defaults reproduce the objective of the TensorFlow tutorial's first loop
#   (its final loop adds a TV term of its own).
# - Means instead of sums keep the losses from growing with the number of positions, which makes them
#   *roughly* independent of the image size — not exactly: the Gram matrices of the same style at 128 and
#   256 px differ by tens of per cent (section 2 printed this run's ratios). The paper's sums, `½ Σ` and
#   `1/(4N²M²) Σ`, convert to our means with notebook 06's table.
# - Figure 1 of Gatys et al.: single content layers rebuild the photo more loosely the deeper they are;
#   growing style layer sets rebuild the texture at growing scales.

# %% [markdown]
# ## Exercises
#
# Exercises 1–3 — the content loss, the style loss and total variation — are in sections 1–3, before the
# code that answers them; if you skipped them, go back and write them now (notebook 08 puts them to work in
# your own style transfer).
#
# **Exercise 4 — balanced style weights.** Stylise the photo twice with
# `nst.stylize(content, style, size=SIZE, steps=nst.pick(100, 3))`, once with the default equal weights
# and once with `style_layer_weights=tuple(balanced.values())` from section 2. Which details change?
# Then try weights that favour only the deepest layer, e.g. `(0, 0, 0, 0, 1)`.
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# runs = {name: nst.stylize(content, style, size=SIZE, steps=nst.pick(100, 3), style_layer_weights=weights)
#         for name, weights in (("equal", None), ("balanced", tuple(balanced.values())),
#                               ("block5_conv1 only", (0, 0, 0, 0, 1)))}
# viz.show_images([r.image for r in runs.values()], list(runs))
# ```
#
# In our run (160 px, 60 L-BFGS iterations, offline VGG16) the equal-weight result was painted all
# over with swirls, while the balanced and the `(0, 0, 0, 0, 1)` results stayed close to the start — the
# photo recoloured in the style's palette (the default `init="recolored"`) — with only faint texture. The
# reason is in section 2: with balanced weights every layer adds the same small amount, of the order of
# what `conv1_1` added before, so the style loss as a whole is orders of magnitude smaller and, at the same
# `style_weight`, the content term wins. Raise `style_weight` (by the factor the two style losses differ) to compare the *looks* fairly.
# </details>
#
# **Exercise 5 — another photo.** Run `experiments.content_reconstructions` on
# `data.content_image("coffee", size=SIZE)`. At which layer do the cup's edges become blurry? Does the
# answer depend on the photo?
#
# <details><summary><b>What you should see</b></summary>
#
# In our run (160 px, 60 L-BFGS iterations per image, offline VGG16): near-perfect copies from `conv1_2`
# and `conv2_2`, a grainier copy with paler colours from `conv3_2`; from `conv4_2` the cup, the saucer and
# the spoon keep their outlines but their colours give way to a coloured grain, and from `conv5_2` only a
# faint outline of the cup survives the noise. The same progression as the portrait: depth decides most.
# The size of a detail relative to the receptive fields decides the rest — the cup's large round rim
# outlives the fine grain of the wooden table.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Move the per-layer weights and the three loss weights and watch every part of the loss change. The
# VGG features of the images are computed once when the demo starts; a slider move only redoes the cheap
# arithmetic of `nst.content_loss`, `nst.style_loss` and `nst.total_variation_loss`. Score different
# images with the first menu: the photo has zero content loss, the style image zero style loss, and the
# white noise a huge TV.

# %%
from nst_lib.course.widgets.losses import loss_weights_demo

loss_weights_demo()

# %% [markdown]
# ## Interactive demo: weights → picture
#
# Now see what the weights *do*. The top slider is the content/style ratio α/β = `content_weight /
# style_weight` (log scale; the library's default is 10⁶); the five sliders below are the style layer
# weights w_l. Each change starts a short stylization of the photo at low resolution in the background:
# the picture appears after the first iteration and sharpens as it runs, a newer change cancels the
# older run, **Stop** keeps the best image so far, and every finished setting is cached, so going back
# to it is instant. Under the picture, the loss bars of the final image show which layers still
# disagree with the style. Try α/β = 10³ and 10⁸; then put all the weight on `block1_conv1`, then on
# `block5_conv1`.

# %%
from nst_lib.course.widgets.weights_preview import weights_preview_demo

weights_preview_demo()
