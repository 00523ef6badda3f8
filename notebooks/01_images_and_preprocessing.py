# %% [markdown]
# # Images and preprocessing
#
# How a picture becomes the tensor VGG expects, and how to turn that tensor back into a picture.
#
# **What you'll build:** VGG preprocessing and its inverse, written yourself and checked against the library, and an inspector for any image's channels and statistics.

# %% [markdown]
# ## What you will learn
#
# - what the three axes of an image array mean, and why the library works with `float32` in `[0, 1]`;
# - how `nst.load_image` reads files, bytes and arrays of any kind into that one format;
# - how to resize without distortion (`resize_long_side`) and why size drives the cost of everything;
# - the "caffe" preprocessing VGG was trained with — scale to 0–255, RGB → BGR, subtract the ImageNet
#   mean colour — and why the library applies it *inside* the feature extractor;
# - what the preprocessing does to gradients on their way back to the image;
# - how to undo it, and how to get back to 8-bit pixels and files — and you write both directions yourself.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import backbone, data
from nst_lib.course import viz
from nst_lib.images import describe_image, image_to_png_bytes, resize_long_side, resize_to, to_uint8

CONTENT_NAME = "astronaut"  # the example photo of this notebook: every figure below follows it
SIZE = nst.pick(512, 64)  # long side used in this notebook

# %% [markdown]
# ## 1. An image is an array
#
# `data.content_image` loads one of the bundled photos. What comes back is a plain NumPy array.

# %%
image = data.content_image(CONTENT_NAME, size=SIZE)
print(type(image).__name__, image.shape, image.dtype, f"values from {image.min():.2f} to {image.max():.2f}")
print(describe_image(image))

# %% [markdown]
# The three axes are **rows** (top to bottom), **columns** (left to right) and **channels** (red, green,
# blue). `image[row, column]` is one pixel: three numbers. Zooming into a small patch makes the grid
# visible — each square below is one pixel, and its colour is the mix of its three values.

# %%
row, col = image.shape[0] // 4, image.shape[1] // 2
patch = image[row:row + 12, col:col + 12]
print("pixel", (row, col), "= (R, G, B)", np.round(image[row, col], 3))

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
axes[0].imshow(image)
axes[0].add_patch(plt.Rectangle((col, row), 12, 12, fill=False, color="yellow", linewidth=2))
axes[0].set_title("the image (patch in yellow)")
axes[1].imshow(patch, interpolation="nearest")
axes[1].set_title("the 12×12 patch, one square per pixel")
for ax in axes:
    ax.axis("off")

# %% [markdown]
# Each channel on its own is a grey picture: bright where that colour is strong. White areas are bright in
# all three channels and black ones dark in all three; a coloured area is bright in some and dark in the
# others (in the `astronaut` photo, the orange space suit is bright in red and much darker in blue).
# `render_channels` is the drawing function of this notebook's demo.

# %%
from nst_lib.course.widgets.images import render_channels

render_channels(image, CONTENT_NAME)

# %% [markdown]
# Why `float32` in `[0, 1]` rather than the file's 8-bit integers? Because we are going to *optimise*
# pixels with gradients: they must be able to take any value in between, and `[0, 1]` makes "clip to the
# valid range" one simple rule. `float32` is what TensorFlow computes in, at half the memory of `float64`.
#
# ## 2. Loading any image
#
# `nst.load_image(source, size=None)` accepts a path, the bytes of a file, a file object, a PIL image or
# a NumPy array, and always returns the same thing: `float32 (H, W, 3)` in `[0, 1]`. On the way it turns
# the photo upright according to its EXIF orientation tag, converts grey, palette and CMYK images to RGB,
# lays transparent pixels over white, and refuses files that are broken or absurdly large with a clear
# message. Here it reads an 8-bit array, and the bytes of a PNG file:

# %%
pixels = data.CONTENT_IMAGES["coffee"].loader()  # what scikit-image gives: uint8, 0–255
print("from the package:", pixels.dtype, pixels.shape, pixels.min(), "…", pixels.max())
coffee = nst.load_image(pixels)
print("after load_image:", describe_image(coffee))

png_bytes = image_to_png_bytes(coffee)
again = nst.load_image(png_bytes, size=128)
print("from PNG bytes, long side 128:", describe_image(again))

# %% [markdown]
# Bad input gives one sentence that says what was received and what is allowed, never a cryptic
# traceback from deep inside Pillow:

# %%
for bad in (b"this is not an image", np.zeros((4, 4, 3), np.uint8), "no/such/file.jpg"):
    try:
        nst.load_image(bad)
    except nst.NSTError as err:
        print(f"{type(err).__name__}: {err}")

# %% [markdown]
# ## 3. Resizing
#
# The cost of every VGG pass grows with the number of pixels: twice the side means four times the work.
# `resize_long_side(image, size)` keeps the aspect ratio; `resize_to(image, height, width)` forces an
# exact shape (and distorts if the ratio changes). Both use antialiased Lanczos resampling, so shrinking
# does not create jagged edges that VGG would see as texture.

# %%
portrait = data.content_image(CONTENT_NAME)  # at its own size
small = resize_long_side(portrait, nst.pick(128, 48))
tiny = resize_long_side(portrait, 32)
squashed = resize_to(portrait, 128, 256)
viz.show_images([portrait, small, tiny, squashed],
                [f"{im.shape[1]}×{im.shape[0]}" for im in (portrait, small, tiny)] + ["resize_to(128, 256)"])

# %%
base = np.prod(resize_long_side(portrait, 128).shape[:2])
for side in (128, 256, 512, 1024):
    h, w = resize_long_side(portrait, side).shape[:2]
    print(f"long side {side:4d}: {w}×{h} = {w * h:>9,} pixels, {w * h / base:5.1f}× the work of 128 px")

# %% [markdown]
# ## 4. VGG preprocessing, step by step
#
# VGG was trained in 2014 with the Caffe framework, on images prepared in a particular way. Its filters
# only make sense for inputs prepared the same way:
#
# 1. values on the **0–255** scale (not 0–1);
# 2. channels in **BGR** order (OpenCV's habit), not RGB;
# 3. the **mean ImageNet colour subtracted** from every pixel: 103.939 (B), 116.779 (G), 123.68 (R).
#
# **Exercise 1 — build it yourself, before reading on: preprocessing (self-checked).** Write
# `preprocess(images)` for a batch `(N, H, W, 3)` of `[0, 1]` RGB images, returning VGG's input: the three
# steps above, in that order. It receives a TensorFlow tensor, and later runs inside a compiled TensorFlow
# graph (notebook 05), so use operations that work on tensors — indexing, slicing and arithmetic work on
# them as on NumPy arrays. `MEANS_BGR` holds the means in B, G, R order. Replace
# `raise NotImplementedError` with your code and run the check; the code right after it does the same steps
# by hand, so compare only once your check passes. (Reference solution, on purpose only:
# `checks.solution("preprocess")`.)

# %%
from nst_lib.course import checks

MEANS_BGR = np.array(backbone.CAFFE_MEANS_BGR, np.float32)  # for your preprocess and deprocess

# %% tags=["exercise"]
def preprocess(images):
    """(N, H, W, 3) RGB in [0, 1] → VGG's input (the three steps of section 4)."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_preprocess(preprocess)

# %% [markdown]
# Now by hand, on a batch of one image (networks work on batches: a leading axis of size 1) — compare it
# with yours.

# %%
x = image[np.newaxis]                      # (1, H, W, 3): a batch of one
x255 = x * 255.0                           # 1. scale to 0–255
bgr = x255[..., ::-1]                      # 2. reverse the channel axis: RGB → BGR
means = np.array(backbone.CAFFE_MEANS_BGR)  # (103.939, 116.779, 123.68) in B, G, R order
vgg_input = bgr - means                    # 3. subtract the mean colour (broadcast over all pixels)
print(x.shape, "→", vgg_input.shape, f"values from {vgg_input.min():.1f} to {vgg_input.max():.1f}")

# %% [markdown]
# The library's `FeatureExtractor.preprocess` does exactly this, and so does Keras' own
# `vgg19.preprocess_input` on 0–255 images. Preprocessing does not depend on the network's weights, so a
# weightless extractor (`weights=None`) is enough to compare:

# %%
extractor = nst.FeatureExtractor(["block1_conv1"], weights=None)
np.testing.assert_allclose(vgg_input, extractor.preprocess(x).numpy(), atol=1e-3)
np.testing.assert_allclose(vgg_input, keras.applications.vgg19.preprocess_input(x * 255.0), atol=1e-3)
print("✓ our steps = FeatureExtractor.preprocess = keras.applications.vgg19.preprocess_input")

# %% [markdown]
# What changed? The histograms show each channel's values before and after: stretched from `[0, 1]` to
# 0–255, each shifted by its own mean (so the possible range is `[-123.68, 151.06]`: 0 − 123.68 for red,
# 255 − 103.939 for blue), and in the opposite channel order. Shown naively as a picture (rescaled to
# `[0, 1]` and read as if it were RGB), the VGG input has its reds and blues swapped: in the `astronaut`
# photo, the orange suit turns blue.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for i, (name, colour) in enumerate(zip("RGB", ("red", "green", "blue"))):
    axes[0].hist(x[0, ..., i].ravel(), bins=50, color=colour, alpha=0.5, label=name)
    axes[1].hist(vgg_input[0, ..., 2 - i].ravel(), bins=50, color=colour, alpha=0.5, label=f"{name} (now channel {2 - i})")
axes[0].set_title("image values, [0, 1]")
axes[1].set_title("VGG input values")
for ax in axes[:2]:
    ax.legend(fontsize=8)
shown = (vgg_input[0] - vgg_input.min()) / (vgg_input.max() - vgg_input.min())
axes[2].imshow(shown)
axes[2].set_title("the VGG input drawn as if it were RGB")
axes[2].axis("off")
plt.show()

# %% [markdown]
# **Why inside the model?** Many tutorials preprocess once and then optimise the preprocessed tensor.
# `nst_lib` follows the TensorFlow tutorial instead: the variable being optimised stays a plain
# `[0, 1]` RGB image, and `FeatureExtractor` applies `preprocess` as its first operation. Then "keep the
# pixels valid" is a simple clip (or box bound) to `[0, 1]`, and the result never needs converting back.
#
# The preprocessing is a fixed affine map, `vgg_input = 255 · reverse_channels(image) − means`, so the
# gradients that reach the image (notebook 05) are those at the VGG input **multiplied by 255 and with the
# channels reversed** (the means are constants: they drop out). `tf.GradientTape` confirms it, for a loss
# that is any weighted sum of the VGG input:

# %%
x_tensor = tf.constant(x)
weights = tf.random.stateless_normal(x.shape, seed=(0, 1))  # ∂loss/∂vgg_input of this loss
with tf.GradientTape() as tape:
    tape.watch(x_tensor)
    loss = tf.reduce_sum(weights * extractor.preprocess(x_tensor))
grad_image = tape.gradient(loss, x_tensor)
np.testing.assert_allclose(grad_image.numpy(), 255.0 * weights.numpy()[..., ::-1], rtol=1e-5)
print("✓ ∂loss/∂image = 255 × ∂loss/∂vgg_input, with the channel axis reversed (BGR → RGB)")

# %% [markdown]
# ## 5. Going back: the inverse
#
# Sometimes you *do* hold an image in VGG's space (an older implementation, a debugging session) and
# want to look at it. The inverse undoes the steps **in reverse order**: add the means back, reverse
# BGR → RGB, divide by 255, and clip to `[0, 1]` — an optimised image can stray outside the range, and
# displaying or saving needs valid values.
#
# **Exercise 2 — build it yourself: the inverse (self-checked).** Write `deprocess(vgg_input)` that turns
# a `(1, H, W, 3)` tensor in VGG's space back into a displayable `[0, 1]` RGB image (returning shape
# `(H, W, 3)` is fine too). NumPy or TensorFlow both work (for NumPy, turn the tensor into an array
# first). The check also feeds it values an optimisation could produce, outside what `preprocess` can give.
# (Solution, on purpose only: `checks.solution("deprocess")`.)

# %% tags=["exercise"]
def deprocess(vgg_input):
    """VGG's input → RGB image in [0, 1] (section 5: the steps of section 4 undone)."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_deprocess(deprocess)

# %% [markdown]
# ## 6. Back to 8 bits, and to files
#
# `to_uint8` rounds to the nearest of the 256 levels; `nst.save_image(image, path)` writes PNG, JPEG,
# WebP, … by extension, atomically (a crash never leaves half a file behind). PNG is lossless: reading the
# file back gives the image to within half a level, 0.5/255.

# %%
print("to_uint8:", to_uint8(image).dtype, to_uint8(image)[row, col])
with tempfile.TemporaryDirectory() as folder:
    path = nst.save_image(image, Path(folder) / f"{CONTENT_NAME}.png")
    reloaded = nst.load_image(path)
    print(f"saved {path.name}: {path.stat().st_size / 1024:.0f} KiB; "
          f"largest difference after the round trip {np.abs(reloaded - image).max() * 255:.2f} / 255")

# %% [markdown]
# ## Further reading
#
# - K. Simonyan, A. Zisserman, *Very Deep Convolutional Networks for Large-Scale Image Recognition*, ICLR
#   2015 (arXiv:1409.1556, 2014) — VGG, and how its training images were prepared.
# - Y. Jia et al., *Caffe: Convolutional Architecture for Fast Feature Embedding*, ACM Multimedia 2014 — the
#   framework behind the "caffe" convention (BGR, 0–255, mean subtraction).
# - O. Russakovsky et al., *ImageNet Large Scale Visual Recognition Challenge*, International Journal of
#   Computer Vision, 2015 — the photos whose mean colour we subtract.

# %% [markdown]
# ## Summary
#
# - An image is `float32 (H, W, 3)` in `[0, 1]`: rows, columns, RGB channels. `nst.load_image` makes
#   that out of anything (paths, bytes, PIL, arrays), upright and validated.
# - Cost grows with the number of pixels; `resize_long_side` keeps proportions, `resize_to` forces a shape.
# - VGG expects "caffe" input: ×255, RGB → BGR, minus the ImageNet mean colour (`CAFFE_MEANS_BGR`).
#   `FeatureExtractor` does it itself, so the optimised image stays a plain `[0, 1]` picture; gradients
#   reach the image multiplied by 255 and with the channels reversed.
# - The inverse goes backwards: + means, BGR → RGB, ÷255, clip. `to_uint8` and `nst.save_image` get you
#   back to 8-bit pixels and files.

# %% [markdown]
# ## Exercises
#
# Exercises 1 and 2 — `preprocess` and `deprocess` — are in sections 4 and 5, before the code that answers
# them; if you skipped them, go back and write them now (notebook 08 uses both).
#
# **Exercise 3 — a wrong colour order, seen by VGG.** What would VGG see if you forgot to reverse the
# channels? Compute `block1_conv1` features of `image` and of `image[..., ::-1]` with a real extractor
# (`nst.FeatureExtractor(["block1_conv1"])`) and draw both with `viz.feature_map_grid(…, "first", 8)`.
# Which channels change most: the ones that look like edge detectors, or the ones that look like colour
# detectors? To put a number on it, compute for each channel the mean absolute difference of the two maps
# divided by the channel's mean activation.
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# first = nst.FeatureExtractor(["block1_conv1"])
# a = first(image[np.newaxis])["block1_conv1"].numpy()[0]
# b = first(image[np.newaxis, ..., ::-1].copy())["block1_conv1"].numpy()[0]
# change = np.abs(a - b).mean(axis=(0, 1)) / (np.abs(a).mean(axis=(0, 1)) + 1e-6)
# print(np.round(np.sort(change), 2))
# ```
#
# The changes span orders of magnitude. Channels whose filters weight the three colours alike — brightness
# edges, light against dark — change by a few per cent; channels that prefer one colour to another change
# by several times their usual activation (their filters' red and blue weights differ; on the bundled
# photos the change correlates with that difference). A network fed the wrong channel order still sees the
# edges, but its colour detectors report the wrong colours.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick a bundled image or upload your own, change its size, and watch the channels and the statistics of
# the preprocessed tensor: the shape follows the slider, and the means show the ImageNet mean colour
# being removed.

# %%
from nst_lib.course.widgets.images import images_demo

images_demo()
