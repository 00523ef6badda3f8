# %% [markdown]
# # Gatys et al., faithfully: the paper's network, losses and α/β
#
# Run the recipe of Gatys, Ecker & Bethge (CVPR 2016) as they ran it — VGG rescaled so that every filter's mean activation is 1, average pooling, a white-noise start and L-BFGS — and redraw their Figures 4–6 in their own α/β units, next to the TensorFlow tutorial's recipe.
#
# **What you'll build:** the rescaled network (its weights written by you and checked), the exact conversion of the paper's α/β into our weights with no calibration constant, Figures 4, 5 and 6 in the paper's units, and a side-by-side run with the TensorFlow tutorial's recipe.

# %% [markdown]
# ## What you will learn
#
# - the four things the paper did that the TensorFlow tutorial (and this library's defaults) do not:
#   a **rescaled network**, **average pooling**, a **white-noise start** and **L-BFGS**;
# - why multiplying a filter by a positive number changes nothing but the scale of what it reports, and
#   how to rescale a whole network without changing what it computes;
# - how the paper's **α/β**, written for sums (`½Σ`, `1/(4N²M²)`), becomes our `content_weight /
#   style_weight`, written for means — exactly, once the network is the paper's;
# - where notebook 06's chosen-by-eye constant `RATIO_CALIBRATION` comes from, measured;
# - Gatys et al. 2016, **Figures 4, 5 and 6**, redrawn in the paper's own units, and the tutorial's recipe
#   on the same pair.
#
# Settings: `nst stylize … --pooling avg --rescale-network` (fields `pooling` and `rescale_network` of
# `nst.StyleConfig`); the defaults stay the Keras network as it was trained.

# %%
# %matplotlib inline
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import display

import nst_lib as nst
from nst_lib import data, normalized_vgg
from nst_lib.backbone import BackboneSubstitutionWarning, FeatureExtractor, layer_names, resolve_weights
from nst_lib.config import TF_TUTORIAL
from nst_lib.course import experiments, viz

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # said once, in words, just below
tf.get_logger().setLevel("ERROR")

CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
SIZE = nst.pick(192, 64)   # long side of every result
STEPS = nst.pick(100, 3)   # L-BFGS iterations per image (the paper ran until the picture stopped changing)
content, style = data.example_pair(CONTENT_NAME, STYLE_NAME, size=SIZE)
HEIGHT, WIDTH = content.shape[:2]
WEIGHTS = resolve_weights("vgg19", warn=False)
print(f"network: {WEIGHTS.describe()}")
viz.show_images([content, style], [f"content: {CONTENT_NAME} ({WIDTH}×{HEIGHT} px)", f"style: {STYLE_NAME}"])

# %% [markdown]
# ## 1. Two recipes
#
# The TensorFlow tutorial (and notebook 08) optimise with Adam from the photo, on the Keras VGG19 as it
# was trained. The paper's recipe differs in four places. Here are both, as the library's settings:

# %%
rows = [("network", "Keras VGG, as trained", "every filter rescaled to mean activation 1"),
        ("pooling", TF_TUTORIAL.get("pooling", "max"), experiments.GATYS_2016["pooling"]),
        ("content layer", ", ".join(TF_TUTORIAL["content_layers"]), ", ".join(experiments.GATYS_2016["content_layers"])),
        ("style layers", "block1_conv1 … block5_conv1", "conv1_1 … conv5_1 (the same five)"),
        ("start", TF_TUTORIAL["init"], "white " + experiments.GATYS_2016["init"]),
        ("optimiser", f"{TF_TUTORIAL['optimizer']} (learning rate {TF_TUTORIAL['learning_rate']})",
         experiments.GATYS_2016["optimizer"]),
        ("weights", f"content {TF_TUTORIAL['content_weight']:g}, style {TF_TUTORIAL['style_weight']:g}",
         "α/β (section 4)")]
print(f"{'':14}{'TensorFlow tutorial':32}Gatys et al. 2016")
for name, tutorial, paper in rows:
    print(f"{name:14}{tutorial:32}{paper}")

# %% [markdown]
# `block5_conv2` and `conv4_2` are Keras and Gatys names: the library accepts both. Offline, VGG16 stands
# in for VGG19 (printed above); it has `conv4_2` and all five style layers.
#
# ## 2. Average pooling
#
# Between its five blocks VGG halves the image with a 2×2 **max** pooling: each output keeps the
# strongest of four responses. Gatys et al.: "For image synthesis we found that replacing the maximum
# pooling operation by average pooling yields slightly more appealing results". Pooling has no weights,
# so the same trained filters serve both; only what reaches the next block changes — the average of four
# responses is never larger than their maximum. The library builds either network
# (`FeatureExtractor(..., pooling="avg")`, `stylize(..., pooling="avg")`):

# %%
by_pooling = {}
for pooling in ("max", "avg"):
    extractor = FeatureExtractor(layer_names(WEIGHTS.backbone), WEIGHTS.backbone, WEIGHTS, pooling=pooling)
    pools = [type(layer).__name__ for layer in extractor.model.layers if "pool" in layer.name]
    features = extractor(content[np.newaxis])
    by_pooling[pooling] = {layer: float(np.mean(value)) for layer, value in features.items()}
    print(f"{pooling}: {len(pools)} pooling layers, all {sorted(set(pools))[0]}")
first_block = [layer for layer in by_pooling["max"] if layer.startswith("block1")]
assert all(np.isclose(by_pooling["max"][k], by_pooling["avg"][k]) for k in first_block)  # before any pooling
fig, ax = plt.subplots(figsize=(8, 2.8))
positions = np.arange(len(by_pooling["max"]))
for offset, pooling in ((-0.2, "max"), (0.2, "avg")):
    ax.bar(positions + offset, list(by_pooling[pooling].values()), width=0.4, label=f"{pooling} pooling")
ax.set_xticks(positions, [k.replace("block", "b").replace("_conv", "c") for k in by_pooling["max"]], fontsize=8)
ax.set_yscale("log")
ax.set_ylabel("mean activation")
ax.set_title(f"{CONTENT_NAME} at {SIZE} px, {WEIGHTS.backbone}")
ax.legend()
plt.show()
print("mean activation, avg / max pooling, at the first layer of each block:",
      ", ".join(f"{k} {by_pooling['avg'][k] / by_pooling['max'][k]:.2f}" for k in by_pooling["max"] if k.endswith("conv1")))

# %% [markdown]
# The first block sees the image itself and is the same in both; from block 2 on, average pooling hands
# smaller numbers to the next block, and the difference compounds with depth. The activations also differ
# by orders of magnitude from layer to layer — which is what the next section is about.
#
# ## 3. The rescaled network
#
# Gatys et al.: "We normalized the network by scaling the weights such that the mean activation of each
# convolutional filter over images and positions is equal to one. Such re-scaling can be done for the VGG
# network without changing its output, because it contains only rectifying linear activation functions and
# no normalization or pooling over feature maps."
#
# Why it changes nothing: for a number `a > 0`, `ReLU(a·x) = a·ReLU(x)`, and both poolings commute with a
# positive factor per channel. So if filter `c` of a layer reports `a` times its old value, the next layer
# computes the same thing as before provided it reads channel `c` with weights divided by `a`.
#
# **Exercise 1 — rescale the weights yourself (self-checked), before reading how the library does it.** A
# chain of convolutions, each followed by a ReLU, is given as three lists, input to output: `kernels` (each
# of Keras' shape `(kh, kw, in_channels, out_channels)`), `biases` (each `(out_channels,)`) and `means`
# (each `(out_channels,)`: the mean activation `μ` of every filter of that layer). Write
# `rescale_weights(kernels, biases, means)` returning `(new_kernels, new_biases)` such that every layer of
# the new chain outputs the old layer's features divided, filter by filter, by their means — and nothing
# else changes. Think about which axis of a kernel belongs to this layer's filters and which to the layer
# before, and about the bias. The check runs your weights through a small chain and says what is wrong.
# (Reference solution, on purpose only: `checks.solution("rescale_weights")`.)

# %% tags=["exercise"]
from nst_lib.course import checks


def rescale_weights(kernels, biases, means):
    """(new_kernels, new_biases): every filter's output divided by its mean, the network otherwise unchanged."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_rescale_weights(rescale_weights)

# %% [markdown]
# ### How the library does it
#
# The means. The paper took them over ImageNet, which cannot be downloaded here; the library takes them
# over **calibration images** made from the bundled photos: each photo whole (its centre square, 224 px)
# and four 224 px crops of it enlarged twice. They depend on the pooling, so each pooling has its own.
# Measuring them is one forward pass over every calibration image:
#
# ⏱ Real settings: a forward pass (no gradient) over the 25 calibration images of 224 px here and another
# in the next cell, and the library's own measurement once per machine (then read from its cache) — each
# cell under 20 seconds on a 2-core CPU.

# %%
calibration, calibration_labels = normalized_vgg.calibration_images()
USED = nst.pick(len(calibration), 2)  # fast mode (CI): the first two, to keep the notebook quick
original = FeatureExtractor(layer_names(WEIGHTS.backbone), WEIGHTS.backbone, WEIGHTS, pooling="avg")
started = time.perf_counter()
means = normalized_vgg.filter_mean_activations(original, calibration[:USED])
print(f"mean activation of every filter over {USED} of the {len(calibration)} calibration images "
      f"({', '.join(sorted({label.split(' (')[0] for label in calibration_labels[:USED]}))}): "
      f"{time.perf_counter() - started:.1f} s")
library = normalized_vgg.network_rescaling(WEIGHTS.backbone, WEIGHTS, "avg")
print(f"the library's rescaling: {library.calibration}; filters that never fire: "
      f"{sum(library.dead_filters.values())}")
if USED == len(calibration):
    assert all(np.allclose(means[k], library.means[k], rtol=1e-4) for k in means)
    print("our means are the library's")

fig, ax = plt.subplots(figsize=(8, 2.8))
ax.boxplot([means[k][means[k] > 0] for k in means], whis=(0, 100))
ax.set_xticks(range(1, len(means) + 1), [k.replace("block", "b").replace("_conv", "c") for k in means], fontsize=8)
ax.set_yscale("log")
ax.set_ylabel("mean activation per filter")
ax.set_title("before rescaling (avg pooling): every filter of every layer")
plt.show()

# %% [markdown]
# Rescaling: divide every filter's output by its mean. (A filter that never fires on these images keeps its
# scale.) The extractor does exactly that when it is given the means; measured again on the same images,
# every filter's mean activation is now 1 (⏱ the second forward pass over the calibration images, under
# 20 seconds at real settings):

# %%
ours = normalized_vgg.NetworkRescaling(WEIGHTS, "avg", f"{USED} calibration images",
                                       {k: np.where(m > 0, m, 1.0).astype(np.float32) for k, m in means.items()},
                                       means)
rescaled = FeatureExtractor(layer_names(WEIGHTS.backbone), WEIGHTS.backbone, WEIGHTS, pooling="avg", rescaling=ours)
after = normalized_vgg.filter_mean_activations(rescaled, calibration[:USED])
live = {k: means[k] > 0 for k in means}
worst = max(float(np.max(np.abs(after[k][live[k]] - 1))) for k in after)
print(f"after rescaling, every live filter's mean activation is 1 to within {worst:.1e} "
      f"(min {min(float(after[k][live[k]].min()) for k in after):.6f}, "
      f"max {max(float(after[k][live[k]].max()) for k in after):.6f})")
assert worst < 1e-3

# %% [markdown]
# Dividing the outputs is the paper's rescaled *weights*, as your exercise says: build the network with the
# rescaled kernels and biases (yours if it passes its check, the reference otherwise) and compare every
# layer's features on the photo:

# %%
chosen = checks.yours_or_reference(rescale_weights=rescale_weights)
by_weights = normalized_vgg.rescaled_keras_model(ours, rescale=chosen)
names = layer_names(WEIGHTS.backbone)
from_weights = dict(zip(names, by_weights(rescaled.preprocess(content[np.newaxis]))))
from_division = rescaled(content[np.newaxis])
gap = max(float(np.max(np.abs(from_weights[k] - from_division[k])) / (np.max(np.abs(from_division[k])) + 1e-12))
          for k in names)
print(f"rescaled weights vs divided outputs, all {len(names)} layers: largest difference {gap:.1e} of the layer's "
      "largest value (float32 rounding)")
assert gap < 1e-3

# %% [markdown]
# ## 4. The paper's α/β, exactly
#
# The paper's losses are **sums**, with an unnormalised Gram matrix `G = F Fᵀ` (F: `N` filters × `M`
# positions of a layer):
#
# $$\mathcal{L}_\text{content} = \tfrac12 \sum_{ij} (F_{ij} - P_{ij})^2, \qquad
# E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{ij} (G^l_{ij} - A^l_{ij})^2, \qquad
# \mathcal{L}_\text{style} = \sum_l w_l E_l,$$
#
# $$\mathcal{L}_\text{total} = \alpha\, \mathcal{L}_\text{content} + \beta\, \mathcal{L}_\text{style}.$$
#
# Ours are **means**, with `G = Fᵀ F / M` (notebooks 03–04): `content = mean((F − P)²)` over the `N·M`
# entries, `style = Σ_l w_l · mean((G_l − A_l)²)` over the `N_l²` entries. Term by term:
#
# - `½ Σ (F − P)² = ½ · N · M · content`;
# - `Σ (G − A)² / (4 N² M²)` with the paper's `G = M · G_ours` is `¼ · mean((G_ours − A_ours)²)`: the
#   `M²` cancels, and `E_l = ¼ · (our layer term)`; with the same `w_l = 1/5`, `L_style = ¼ · style`.
#
# So `α·L_content + β·L_style = (β/4) · (2·N·M·(α/β) · content + style)`: **`content_weight / style_weight =
# 2·N·M·α/β`**, with `N` and `M` of the content layer, and nothing else — *if* the features are the
# paper's, i.e. on the rescaled network. (One more assumption, also the paper's: the style image has as
# many positions as the result; our means compare per-position averages, so the style image may differ.)
# `experiments.paper_weights(α/β, height, width)` returns these weights. Checked numerically, at a
# white-noise image, with the paper's sums written out in NumPy:

# %%
faithful = FeatureExtractor(("conv4_2", *experiments.GATYS_STYLE_LAYERS), WEIGHTS.backbone, WEIGHTS, pooling="avg",
                            rescaling=library)
noise = np.random.default_rng(0).uniform(0, 1, (1, HEIGHT, WIDTH, 3)).astype(np.float32)
x_feats, p_feats, a_feats = (faithful(image) for image in (noise, content[np.newaxis], style[np.newaxis]))
content_key, style_keys = faithful.layers[0], faithful.layers[1:]


def paper_losses(x, p, a):
    """The paper's L_content (½Σ) and L_style (Σ_l w_l/(4N²M²) Σ(G−A)², unnormalised Gram), in float64."""
    F, P = (np.asarray(v[content_key], np.float64)[0] for v in (x, p))
    l_content = 0.5 * np.sum((F - P) ** 2)
    l_style = 0.0
    for key in style_keys:
        fx, fa = (np.asarray(v[key], np.float64)[0] for v in (x, a))
        n, m_x, m_a = fx.shape[-1], fx.shape[0] * fx.shape[1], fa.shape[0] * fa.shape[1]
        g = fx.reshape(-1, n).T @ fx.reshape(-1, n)
        a_gram = fa.reshape(-1, n).T @ fa.reshape(-1, n) * (m_x / m_a)  # the style at the result's M
        l_style += (1 / len(style_keys)) * np.sum((g - a_gram) ** 2) / (4 * n**2 * m_x**2)
    return l_content, l_style


l_content, l_style = paper_losses(x_feats, p_feats, a_feats)
ours_content, _ = nst.losses.content_loss({content_key: x_feats[content_key]}, {content_key: p_feats[content_key]},
                                          {content_key: 1.0})
ours_style, _ = nst.losses.style_loss({k: x_feats[k] for k in style_keys},
                                      {k: nst.gram_matrix(a_feats[k]) for k in style_keys},
                                      {k: 1 / len(style_keys) for k in style_keys})
ALPHA_OVER_BETA, BETA = 1e-3, 1.0
w = experiments.paper_weights(ALPHA_OVER_BETA, HEIGHT, WIDTH)
paper_total = ALPHA_OVER_BETA * BETA * l_content + BETA * l_style
our_total = w["content_weight"] * float(ours_content) + w["style_weight"] * float(ours_style)
print(f"paper: L_content = {l_content:.6g}, L_style = {l_style:.6g}, α·L_content + β·L_style = {paper_total:.6g}")
print(f"ours:  content = {float(ours_content):.6g}, style = {float(ours_style):.6g}; with content_weight = "
      f"{w['content_weight']:.6g}, style_weight = {w['style_weight']:g}: (β/4) · total = {BETA / 4 * our_total:.6g}")
assert np.isclose(paper_total, BETA / 4 * our_total, rtol=1e-3)

# %% [markdown]
# The same numbers, so the same optimum. For this photo at this size the factor is:

# %%
factor = experiments.normalisation_factor(HEIGHT, WIDTH, "conv4_2", WEIGHTS.backbone)
n, m = x_feats[content_key].shape[-1], x_feats[content_key].shape[1] * x_feats[content_key].shape[2]
print(f"conv4_2 at {WIDTH}×{HEIGHT} px: N = {n} filters, M = {m} positions → 2·N·M = {factor:.4g}")
for ratio in experiments.PAPER_RATIOS:
    print(f"α/β = {ratio:g}  →  content_weight = {experiments.paper_weights(ratio, HEIGHT, WIDTH)['content_weight']:.4g}, "
          "style_weight = 1")

# %% [markdown]
# ### Where `RATIO_CALIBRATION` came from
#
# Notebook 06 draws Figure 4 on the Keras network (max pooling, not rescaled), where no exact conversion
# exists, with `content_weight / style_weight = RATIO_CALIBRATION · α/β` and `RATIO_CALIBRATION = 1e8`
# chosen by eye. The derivation above explains part of it (`2·N·M`); the rest is the network's scale. The
# content term grows with the square of the activations and the style term with their fourth power, so on
# the unscaled network the same weights weigh the two terms differently. Measured at the paper's start (the
# noise image above), the ratio that gives the unscaled network the same balance between the two terms as
# α/β gives the paper's network is `2·N·M · (content_rescaled / content_keras) · (style_keras /
# style_rescaled)`:

# %%
keras_net = FeatureExtractor(("conv4_2", *experiments.GATYS_STYLE_LAYERS), WEIGHTS.backbone, WEIGHTS)  # max, as trained
k_x, k_p, k_a = (keras_net(image) for image in (noise, content[np.newaxis], style[np.newaxis]))
keras_content = float(nst.losses.content_loss({content_key: k_x[content_key]}, {content_key: k_p[content_key]},
                                              {content_key: 1.0})[0])
keras_style = float(nst.losses.style_loss({k: k_x[k] for k in style_keys}, {k: nst.gram_matrix(k_a[k]) for k in style_keys},
                                          {k: 1 / len(style_keys) for k in style_keys})[0])
content_scale = float(ours_content) / keras_content
style_scale = keras_style / float(ours_style)
equivalent = factor * content_scale * style_scale
print(f"content term: rescaled / Keras = {content_scale:.3g};  style term: Keras / rescaled = {style_scale:.3g}")
print(f"the calibration this pair, size and start ask for: {equivalent:.3g} = "
      f"{equivalent / experiments.RATIO_CALIBRATION:.2g} × notebook 06's {experiments.RATIO_CALIBRATION:g}")
at_256 = experiments.normalisation_factor(round(256 * HEIGHT / max(HEIGHT, WIDTH)), round(256 * WIDTH / max(HEIGHT, WIDTH)))
print(f"2·N·M grows with the positions: at 256 px, where notebook 06 chose its constant, it is {at_256:.3g}, and "
      f"the same two network factors would ask for {at_256 * content_scale * style_scale:.3g}")

# %% [markdown]
# The chosen-by-eye constant stood for two things: the network's missing rescaling (the two factors above,
# which pull in opposite directions by orders of magnitude) and `2·N·M`, which grows with the image size —
# so no single constant can be right at every size. With the rescaled network neither needs guessing; the
# figures below use `paper_weights` and nothing else.
#
# ## 5. Figure 4 — the content/style ratio, in the paper's units
#
# The paper's recipe, from white noise, with α/β from 1e-5 (all style) to 1e-2 (mostly content), all five
# style layers (the paper's last row):
#
# ⏱ Real settings: 4 runs of 100 L-BFGS iterations at 192 px — about **1½ minutes** on a 2-core CPU
# (`benchmarks/results/notebook_times.json`).

# %%
PAPER_NETWORK = dict(pooling="avg", rescale_network=True)  # the settings that make α/β the paper's
started = time.perf_counter()
grid = experiments.ratio_grid(content, style, size=SIZE, steps=STEPS, init="noise", optimizer="lbfgs",
                              weights_for=lambda ratio: experiments.paper_weights(ratio, HEIGHT, WIDTH), **PAPER_NETWORK)
print(f"4 runs in {time.perf_counter() - started:.0f} s; iterations: {[r.iterations for r in grid.results]}")
display(grid.figure(with_inputs=True))

# %% [markdown]
# Look along the row, with the paper's own α/β values rather than a calibrated stand-in: the smaller α/β,
# the more the portrait gives way to the painting's colours. Our row does not reach the paper's nearly pure
# textures at 1e-5, and several things differ from the paper's runs: they went on until the picture stopped
# changing, ours stop after `STEPS` L-BFGS iterations at `SIZE` px (the first cell), and from white noise
# the content's layout forms first; offline the network is VGG16, not VGG19; and its means come from the 25
# calibration images of section 3, not from ImageNet. The printed losses below say how the weights split
# the work in this run.
# The fine multicoloured speckle is not in the painting either: it appears in every run here that starts far
# from the photo (section 7 shows the same objective started from the photo without it), and the paper's
# objective has no smoothness term to remove it (notebook 04's total variation would; the paper did not
# use one). The losses at the end, in the paper's units (`L_content = ½·N·M·content` and `L_style =
# ¼·style`, from the run's history):

# %%
for ratio, result in zip(experiments.PAPER_RATIOS, grid.results):
    last = result.history[-1]
    print(f"α/β = {ratio:g}:  L_content = {0.5 * n * m * last['content']:.4g},  L_style = {0.25 * last['style']:.4g}")

# %% [markdown]
# Across the row `L_content` falls and `L_style` rises: the optimiser trades one for the other as α/β says.
#
# ## 6. Figure 5 — which layer holds the content
#
# The same transfer with the content matched at `conv2_2` or at `conv4_2`, both at α/β = 1e-3 (our choice,
# the middle of Figure 4). In the paper's units the conversion depends on the layer — `conv2_2` has 128
# filters and 16 times the positions of `conv4_2` — and `paper_weights` takes it:
#
# ⏱ Real settings: 2 runs of 100 iterations — about **50 seconds** on a 2-core CPU.

# %%
for layer in ("conv2_2", "conv4_2"):
    print(f"{layer}: content_weight = {experiments.paper_weights(1e-3, HEIGHT, WIDTH, layer)['content_weight']:.4g}")
layer_panel = experiments.content_layer_comparison(
    content, style, layers=("conv2_2", "conv4_2"), alpha_over_beta=1e-3, size=SIZE, steps=STEPS, init="noise",
    weights_for=lambda ratio, layer: experiments.paper_weights(ratio, HEIGHT, WIDTH, layer), **PAPER_NETWORK)
display(layer_panel.figure(with_inputs=True))

# %% [markdown]
# What to look for (notebook 04's reconstructions explain it): matched at `conv2_2`, the content loss pins
# down nearly every pixel, so the style can only add texture on top of the photo; matched at `conv4_2`, only
# the objects and their arrangement are fixed, and the style may repaint their surfaces.
#
# ## 7. Figure 6 — where the optimisation starts
#
# Same objective (α/β = 1e-3), different starts: the photo, the painting, and white noise with two seeds.
#
# ⏱ Real settings: 4 runs of 100 iterations — about **1½ minutes** on a 2-core CPU.

# %%
start_panel = experiments.init_comparison(content, style, seeds=(1, 2), size=SIZE, steps=STEPS,
                                          content_layers=("conv4_2",),
                                          **experiments.paper_weights(1e-3, HEIGHT, WIDTH), **PAPER_NETWORK)
display(start_panel.figure(with_inputs=True))
totals = {label: result.history[-1]["total"] for label, result in zip(start_panel.labels, start_panel.results)}
for label, result in zip(start_panel.labels, start_panel.results):
    print(f"{label:>16}: total loss {totals[label]:.4g} after {result.iterations} iterations")
noise_totals = [totals[label] for label in start_panel.labels if label.startswith("noise")]
others = [total for label, total in totals.items() if label != "from content"]
print(f"the photo start ends {min(others) / totals['from content']:.1f}× lower than the best other start; the two "
      f"noise starts differ by {abs(noise_totals[0] - noise_totals[1]) / min(noise_totals):.1%}")

# %% [markdown]
# Every start optimises the same objective; the start decides which of its many good images is found —
# and, in a fixed number of iterations, how far down the objective gets (the totals above). The paper, whose
# runs went on until the picture stopped changing, found that a photo or painting start biases the result
# only *somewhat* towards that image's layout, and that only a noise start can give as many different
# results as there are seeds. After `STEPS` iterations the photo start is still far ahead — the lowest
# total, and a picture that is still mostly the photo — so this row shows how much a start is worth in a
# short run more than the paper's converged bias; the two noise starts end close to each other and differ
# in detail (the last printed line).
#
# ## 8. Side by side with the TensorFlow tutorial's recipe
#
# The tutorial's recipe (Keras VGG with max pooling, content at `block5_conv2`, Adam from the photo,
# weights 1e4 and 1e-2) for as many steps, next to the paper's at α/β = 1e-3 from section 5. Both pictures
# are then measured with *both* objectives — a recipe is only judged fairly by a measure it did not choose.
#
# ⏱ Real settings: 100 Adam steps at 192 px — about **20 seconds** on a 2-core CPU.

# %%
tutorial = nst.stylize(content, style, size=SIZE, steps=STEPS, **TF_TUTORIAL)
paper_result = grid.results[experiments.PAPER_RATIOS.index(1e-3)]
display(viz.show_images([content, tutorial.image, paper_result.image],
                        ["content", f"TF tutorial: Adam, {tutorial.iterations} steps, {tutorial.elapsed:.0f} s",
                         f"Gatys et al.: L-BFGS, {paper_result.iterations} it., {paper_result.elapsed:.0f} s"]))


def paper_objective(image):
    x = faithful(image[np.newaxis])
    l_c, l_s = paper_losses(x, p_feats, a_feats)
    return 1e-3 * l_c + l_s


tutorial_net = FeatureExtractor(("block5_conv2", *experiments.GATYS_STYLE_LAYERS), WEIGHTS.backbone, WEIGHTS)
t_p, t_a = tutorial_net(content[np.newaxis]), tutorial_net(style[np.newaxis])
t_keys = tutorial_net.layers


def tutorial_total(image):
    x = tutorial_net(image[np.newaxis])
    c = nst.losses.content_loss({t_keys[0]: x[t_keys[0]]}, {t_keys[0]: t_p[t_keys[0]]}, {t_keys[0]: 1.0})[0]
    s = nst.losses.style_loss({k: x[k] for k in t_keys[1:]}, {k: nst.gram_matrix(t_a[k]) for k in t_keys[1:]},
                              {k: 1 / len(t_keys[1:]) for k in t_keys[1:]})[0]
    return TF_TUTORIAL["content_weight"] * float(c) + TF_TUTORIAL["style_weight"] * float(s)


scores = {name: (paper_objective(image), tutorial_total(image))
          for name, image in (("TF tutorial's result", tutorial.image), ("Gatys et al.'s result", paper_result.image))}
print(f"{'':26}{'paper objective (α/β 1e-3)':>28}{'tutorial objective':>22}")
for name, (by_paper, by_tutorial) in scores.items():
    print(f"{name:26}{by_paper:>28.4g}{by_tutorial:>22.4g}")
for column, objective in enumerate(("the paper's objective", "the tutorial's objective")):
    print(f"lower by {objective}: {min(scores, key=lambda name: scores[name][column])}")

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR
#   2016 — section 2 (the rescaled network, average pooling), equations 1–7 (the losses), Figures 4–6.
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Texture Synthesis Using Convolutional Neural Networks*, NIPS 2015
#   — where the rescaled network and the `1/(4N²M²)` normalisation first appear.
# - K. Simonyan, A. Zisserman, *Very Deep Convolutional Networks for Large-Scale Image Recognition*, ICLR
#   2015 — the network, with max pooling.
# - TensorFlow tutorial *Neural style transfer* — the recipe of section 8 (`nst_lib.config.TF_TUTORIAL`).

# %% [markdown]
# ## Summary
#
# - The paper's network is VGG with every filter rescaled to a mean activation of 1 and average pooling;
#   because ReLU and pooling commute with positive factors, rescaling a filter and undoing it in the next
#   layer changes only the scale of each feature map. In the library: `pooling="avg"`,
#   `rescale_network=True` (`--pooling avg --rescale-network`), with the means measured on the bundled
#   photos and crops.
# - The paper's losses are sums and ours are means; on the rescaled network `content_weight / style_weight
#   = 2·N·M·α/β` exactly (`experiments.paper_weights`), checked above to the last digit.
# - Notebook 06's `RATIO_CALIBRATION` stood for that factor and for the missing rescaling, whose size was
#   measured here; with the paper's network no constant is needed.
# - Figures 4–6 in the paper's units: α/β trades content for style; a deep content layer lets the style
#   repaint; the start decides which of many good images is found.

# %% [markdown]
# ## Exercises
#
# **Exercise 2 — max pooling on the rescaled network.** Redraw Figure 4 with `pooling="max"` and
# `rescale_network=True` (the rescaling is then measured with max pooling). Do the same α/β values give the
# same progression?
#
# <details><summary><b>What to look for</b></summary>
#
# With every filter rescaled to mean 1 on its own network, both poolings feed the losses numbers of the same
# size, so the same α/β should give a similar balance between photo and painting; compare the printed
# `L_content` and `L_style` of the two rows to check. What the paper judged is the texture: max pooling
# passes on the strongest response of every 2×2 window, average pooling their mean — look for the
# difference in the fine grain of the strokes.
# </details>
#
# **Exercise 3 — α/β on the unscaled network.** Run section 5's cell again without `**PAPER_NETWORK` (the
# Keras network, max pooling) but still with `paper_weights`. Which column does the 1e-3 image now look
# like, and why?
#
# <details><summary><b>What you should see</b></summary>
#
# Expect style everywhere: section 4 measured that, against the rescaled network, the Keras network
# multiplies the style term by `style_scale` and the content term by only `1 / content_scale` (both
# printed there), so each column moves towards style by their product `content_scale · style_scale`: α/β
# then acts like an α/β that many times smaller on the paper's network. Multiplying the content weights by
# that product restores the progression; it is what `RATIO_CALIBRATION` approximated, together with `2·N·M`.
# </details>
#
# **Exercise 4 — your own images.** In the demo below, pick another pair and find the α/β at which the photo
# just stays recognisable. Is it the same for every pair?

# %% [markdown]
# ## Interactive demo: the paper's recipe
#
# Pick a photo and a style, set α/β on the paper's scale, choose the pooling, the rescaled network and the
# start, and press **Run**: the preview follows the L-BFGS run; **Stop** keeps the best image so far. The
# status line shows the weights α/β became. At 192 px, section 5's 4 runs of 100 L-BFGS iterations take about
# 1½ minutes on a 2-core CPU, so one run of 100 iterations takes under half a minute.

# %%
from nst_lib.course.widgets.gatys import gatys_demo

gatys_demo()
