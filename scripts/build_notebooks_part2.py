"""Write notebooks 04–07 of the course from the cell texts below (outputs stripped).

Usage (from the repository root)::

    python scripts/build_notebooks_part2.py          # rewrite notebooks/04_… to notebooks/07_…
    python scripts/build_notebooks_part2.py --check  # exit 1 if a notebook differs from this script

Same conventions and helpers as ``scripts/build_notebooks_part1.py`` (title, one-line summary and
"What you'll build" first; "What you will learn", sections, Summary, Exercises with self-checks, and the
interactive demo last; sizes and step counts through ``nst.pick(real, fast)``).

The ⏱ timings quoted in the notebooks are for a 2-core CPU with the offline VGG16: the figure cells from
the CPU seconds in ``docs/figures/FIGURES.md`` (same settings, see :data:`TIMINGS`), the others from the
cost of one VGG forward and backward pass (about 1 s at 256 px, 0.25 s at 128 px) times the passes a cell
makes.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the part-1 builder sits next to this script

from build_notebooks_part1 import check_cell, code, md, write_notebooks  # noqa: E402

# ================================================================================================ 04
NB04 = [
    md("""
    # Content and style losses

    Turn "looks like this photo" and "painted like this picture" into numbers, and see what each layer of VGG remembers.

    **What you'll build:** the content, style and total-variation losses checked against the library, one weighted objective, and Gatys et al.'s Figure 1: images rebuilt from single layers and textures from growing layer sets.
    """),
    md("""
    ## What you will learn

    - the **content loss** `Σ_l c_l · mean((F_l − P_l)²)`: how far the feature maps of an image are from
      those of the photo, at one or more layers;
    - the **style loss** `Σ_l w_l · mean((G_l − A_l)²)`: how far its Gram matrices are from the style
      image's, with one weight per layer — and why equal weights do not mean equal contributions;
    - the **total variation** loss, a smoothness penalty on the pixels;
    - how `nst.Objective` adds them up with `content_weight`, `style_weight` and `tv_weight`;
    - what a single layer remembers of a photo, and what growing sets of layers remember of a style
      (Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR 2016, Fig. 1).

    You need the feature maps of notebook 02 and the Gram matrices of notebook 03.
    """),
    code("""
    %matplotlib inline
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np
    import tensorflow as tf

    import nst_lib as nst
    from nst_lib import data, experiments, viz
    from nst_lib.backbone import BackboneSubstitutionWarning
    from nst_lib.config import GATYS_STYLE_LAYERS

    warnings.filterwarnings("once", category=BackboneSubstitutionWarning)  # say it once, not at every run
    tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that
    SIZE = nst.pick(256, 64)  # long side of the images in this notebook
    content, style = data.example_pair("grace_hopper", "swirls", size=SIZE)
    extractor = nst.FeatureExtractor(("block4_conv2", "block5_conv2", *GATYS_STYLE_LAYERS))
    print(extractor.weights_info.describe())
    viz.show_images([content, style], ["content: grace_hopper", "style: swirls"])
    """),
    md("""
    ## 1. The content loss

    Call the photo `p` and the image we are judging `x`. At a layer `l`, VGG turns them into feature maps
    `P_l` and `F_l` of the same shape `(h, w, C)`. The content loss at that layer is the mean squared
    difference of the two:

    `L_content(x) = mean((F_l − P_l)²)`

    Gatys et al. write `½ Σ (F − P)²`, a sum. We take the mean, so the number does not grow with the image
    or the layer size and the same weights work at 256 px and at 1024 px. Written out for one layer, and
    compared with the library:
    """),
    code("""
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
    """),
    md("""
    `nst.content_loss` takes a dictionary of **layer weights** `c_l` and returns the weighted sum *and*
    the weighted part of each layer, so you can see where the loss comes from. The library normalises the
    weights to sum to one (`stylize` does that for you; here we pass them already normalised).
    """),
    code("""
    loss, parts = nst.content_loss(F, P, {"block4_conv2": 0.5, "block5_conv2": 0.5})
    print(f"total {float(loss):.4g} =", " + ".join(f"{float(v):.4g} ({k})" for k, v in parts.items()))
    """),
    md("""
    What does the content loss notice? Compare three changes to the photo — a little noise, a shift by a
    few pixels, and a completely different picture — at a middle and a deep layer. Each bar is the loss
    divided by the loss of the different picture at that layer, so 1.0 means "as different as another
    image".
    """),
    code("""
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
    """),
    md("""
    Pixel noise and a small shift cost far less than a different picture, and the deep layer `conv5_2` is
    the more forgiving: its units see large windows (notebook 02), so it records *which objects are
    roughly where*, not exact pixels. That is why style transfer matches content at a deep layer: the style
    is free to repaint the surfaces as long as the objects stay in place.

    ## 2. The style loss, layer by layer

    The style of the painting `a` is described by its Gram matrices `A_l` (notebook 03). The style loss of
    `x` compares its Gram matrices `G_l` with them, at several layers, with a weight `w_l` per layer:

    `L_style(x) = Σ_l w_l · mean((G_l − A_l)²)`,  with `G = Fᵀ F / (H·W)`

    One layer, by hand and by the library:
    """),
    code("""
    def style_loss_one_layer(features, target_gram):
        return tf.reduce_mean(tf.square(nst.gram_matrix(features) - target_gram))


    S = extractor(style[np.newaxis])
    A = {layer: nst.gram_matrix(S[layer])[0] for layer in GATYS_STYLE_LAYERS}  # the style's Gram matrices

    ours = style_loss_one_layer(F["block1_conv1"], A["block1_conv1"])
    library, _ = nst.style_loss(F, A, {"block1_conv1": 1.0})
    np.testing.assert_allclose(float(ours), float(library), rtol=1e-5)
    print(f"✓ style loss at conv1_1 = {float(ours):.4g}, the same as nst.style_loss")
    """),
    md("""
    Gatys et al. use the five layers `conv1_1 … conv5_1` with equal weights `w_l = 1/5`. Here is what each
    of them adds to the style loss of our noisy photo:
    """),
    code("""
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
    """),
    md("""
    Equal weights are far from equal contributions: the middle layers outweigh `conv1_1` and `conv5_1` by
    three to four orders of magnitude. The reason is the size of the activations. Keras' VGG is not rescaled,
    and its middle layers fire hundreds of times more strongly than the first; a Gram matrix is a product of
    two activations and the loss squares it again, so the loss grows with the fourth power of the activation
    scale. (Gatys et al. rescaled their network so every filter has mean activation 1, which makes their
    equal weights closer to equal contributions.)

    If you want every layer to count equally *for this image*, divide each weight by that layer's part and
    normalise — the per-layer weights are exactly the knob for that:
    """),
    code("""
    inverse = {layer: 1.0 / float(parts[layer]) for layer in GATYS_STYLE_LAYERS}
    balanced = {layer: value / sum(inverse.values()) for layer, value in inverse.items()}
    loss, balanced_parts = nst.style_loss(F, A, balanced)
    layer_bars(balanced_parts, f"balanced weights: every layer adds {float(loss) / 5:.3g}", log=False)
    print({layer.replace("block", "b"): f"{w:.2g}" for layer, w in balanced.items()})
    """),
    md("""
    `nst.stylize(..., style_layer_weights=...)` takes such weights (one per style layer, in the order of
    `style_layers`). Balanced weights hand most of the weight to `conv1_1` and `conv5_1`, the layers that
    equal weights almost ignore; Exercise 4 shows what that does to a transfer, and the demo at the end lets
    you move every weight yourself.

    ## 3. Total variation

    Optimised images tend to collect high-frequency noise. The **total-variation** (TV) loss penalises
    differences between neighbouring pixels, down and across:

    `L_tv(x) = mean((x[i+1, j] − x[i, j])²) + mean((x[i, j+1] − x[i, j])²)`

    It looks at pixels only, not at VGG features. A smooth photo has a small TV, noise a large one:
    """),
    code("""
    smooth_to_rough = {"photo": content, "photo + noise": noisy,
                       "white noise": rng.uniform(0, 1, content.shape).astype(np.float32)}
    tv = {name: float(nst.total_variation_loss(tf.constant(image[np.newaxis]))) for name, image in smooth_to_rough.items()}
    viz.show_images(list(smooth_to_rough.values()), [f"{name}: TV = {value:.3g}" for name, value in tv.items()])
    """),
    md("""
    The original paper has no TV term; most implementations add a small one (`tv_weight`). The library's
    default is `tv_weight=0`, like the TensorFlow tutorial. You will write this loss yourself in Exercise 3.

    ## 4. One objective

    `nst.Objective` adds the three parts with their weights:

    `total = content_weight · L_content + style_weight · L_style + tv_weight · L_tv`

    With the content at `conv5_2`, the five Gatys style layers, `content_weight = 1e4`, `style_weight = 1e-2`
    and no TV, this is exactly the objective of the TensorFlow tutorial; these are the library's defaults.
    `stylize` builds this object for you; here we build it by hand and check its arithmetic.
    """),
    code("""
    from nst_lib.losses import Objective, StyleTarget

    objective = Objective(extractor, {"block5_conv2": P["block5_conv2"]}, [StyleTarget(grams=A)],
                          content_layer_weights={"block5_conv2": 1.0}, style_layer_weights=equal,
                          content_weight=1e4, style_weight=1e-2, tv_weight=0.0)
    all_parts = objective.parts(tf.constant(noisy[np.newaxis]))
    expected = 1e4 * float(content_loss_one_layer(F["block5_conv2"], P["block5_conv2"])) \\
        + 1e-2 * float(nst.style_loss(F, A, equal)[0])
    np.testing.assert_allclose(float(all_parts["total"]), expected, rtol=1e-4)
    print("✓ total = 1e4 · content + 1e-2 · style; parts:", ", ".join(sorted(all_parts)))
    """),
    md("""
    The widget module of this notebook has a small drawing function for these parts: each bar is what one
    layer adds to the total, *after* multiplying by its loss weight.
    """),
    code("""
    from nst_lib.widgets.losses import render_loss_parts

    render_loss_parts({k: float(v) for k, v in all_parts.items()}, content_weight=1e4, style_weight=1e-2,
                      tv_weight=0.0, image=noisy, title="photo + noise")
    """),
    md("""
    ## 5. What each layer remembers (Gatys et al. 2016, Figure 1)

    A loss is a question: "how different are these features?" Ask it with a single content layer, start
    from white noise, and change the pixels until the answer is as small as possible: the image you get is
    everything that layer remembers about the photo. `experiments.content_reconstructions` does this for
    `conv1_2 … conv5_2`; each image is one `nst.stylize` call with `content_weight=1`, `style_weight=0` and
    `init="noise"`.

    ⏱ At the real settings (256 px, 100 L-BFGS iterations over 2 scales) this cell takes about
    **{content_minutes}** on a 2-core CPU; in fast mode a few seconds.
    """),
    code("""
    RECON_STEPS = nst.pick(100, 3)  # L-BFGS iterations per image
    RECON_SCALES = nst.pick(2, 1)   # coarse-to-fine: 128 px first, then 256 px (notebook 07)
    content_panel = experiments.content_reconstructions(content, size=SIZE, steps=RECON_STEPS, scales=RECON_SCALES)
    print(f"{len(content_panel)} reconstructions in {content_panel.elapsed:.0f} s")
    content_panel.figure(with_inputs=True)
    """),
    md("""
    From the lower layers the photo comes back almost exactly. From `conv4_2` and `conv5_2` the objects and
    their arrangement survive — face, cap, uniform — but the exact pixels, colours and fine detail are
    free: the deep layers keep the *content* and let go of the *appearance*. That freedom is what the style
    loss will fill. The loss curves show how hard each question is to answer:
    """),
    code("""
    viz.loss_curves({label: r.history for label, r in zip(content_panel.labels, content_panel.results)},
                    parts=("content",), title="content loss of each reconstruction")
    """),
    md("""
    The style side of Figure 1 asks the style loss alone, with growing sets of layers: `conv1_1`, then
    `conv1_1 + conv2_1`, and so on up to all five. `experiments.style_reconstructions` runs
    `nst.stylize` with `content_weight=0` and no content layer, from noise.

    ⏱ Real settings: about **{style_minutes}**.
    """),
    code("""
    style_panel = experiments.style_reconstructions(style, size=SIZE, steps=RECON_STEPS, scales=RECON_SCALES)
    print(f"{len(style_panel)} textures in {style_panel.elapsed:.0f} s")
    style_panel.figure(with_inputs=True)
    """),
    md("""
    With `conv1_1` alone only the colours and the finest grain come back. Each added layer brings larger
    structures: short strokes, then swirls and halos. The arrangement of the painting never comes back —
    Gram matrices do not store it (notebook 03). Put the two rows together and you have style transfer:
    the layout of a deep content layer, the textures of all the style layers.

    ## Summary

    - Content loss: `Σ_l c_l · mean((F_l − P_l)²)` (`nst.content_loss`); deep layers keep the objects and
      their arrangement but not the exact pixels, which is why the content is matched at `conv4_2`/`conv5_2`.
    - Style loss: `Σ_l w_l · mean((G_l − A_l)²)` (`nst.style_loss`); with Keras' VGG, equal weights give
      very unequal contributions — the per-layer weights `style_layer_weights` rebalance them.
    - Total variation: mean squared differences of neighbouring pixels (`nst.total_variation_loss`).
    - `nst.Objective`: `content_weight · content + style_weight · style + tv_weight · tv`, with every
      part reported by layer; the defaults reproduce the TensorFlow tutorial.
    - Means instead of sums make the losses independent of the image size.
    - Figure 1 of Gatys et al.: single content layers rebuild the photo more loosely the deeper they are;
      growing style layer sets rebuild the texture at growing scales.
    """),
    md("""
    ## Exercises

    **Exercise 1 — content loss over several layers (self-checked).** Write
    `my_content_loss(features, targets, layer_weights)`: the arguments are dictionaries keyed by layer
    name, and the result is `Σ_l c_l · mean((F_l − P_l)²)` (returning `(loss, parts)` like the library is
    fine). The starter forgets something.
    """),
    code("""
    from nst_lib.checks import check_content_loss, check_style_loss, check_total_variation


    def my_content_loss(features, targets, layer_weights):
        total = 0.0
        for layer in layer_weights:
            total += tf.reduce_mean(tf.square(features[layer] - targets[layer]))
        return total
    """),
    check_cell("""
    check_content_loss(my_content_loss)
    """),
    md("""
    **Exercise 2 — style loss over several layers (self-checked).** Write
    `my_style_loss(features, target_grams, layer_weights)` = `Σ_l w_l · mean((G_l − A_l)²)`, computing the
    Gram matrices `G_l` of `features` yourself (notebook 03). The starter's Gram matrix is not quite right.
    """),
    code("""
    def my_style_loss(features, target_grams, layer_weights):
        total = 0.0
        for layer, weight in layer_weights.items():
            f = features[layer]
            gram = tf.einsum("bhwc,bhwd->cd", f, f)
            total += weight * tf.reduce_mean(tf.square(gram - target_grams[layer]))
        return total
    """),
    check_cell("""
    check_style_loss(my_style_loss)
    """),
    md("""
    **Exercise 3 — total variation (self-checked).** Write `my_total_variation(image)` for a
    `(1, H, W, 3)` image, following the formula of section 3. The starter uses TensorFlow's built-in
    `tf.image.total_variation`, which measures something else.
    """),
    code("""
    def my_total_variation(image):
        return tf.reduce_sum(tf.image.total_variation(image))
    """),
    check_cell("""
    check_total_variation(my_total_variation)
    """),
    md("""
    **Exercise 4 — balanced style weights.** Stylise the photo twice with
    `nst.stylize(content, style, size=SIZE, steps=nst.pick(100, 3))`, once with the default equal weights
    and once with `style_layer_weights=tuple(balanced.values())` from section 2. Which details change?
    Then try weights that favour only the deepest layer, e.g. `(0, 0, 0, 0, 1)`.

    **Exercise 5 — another photo.** Run `experiments.content_reconstructions` on
    `data.content_image("coffee", size=SIZE)`. At which layer do the cup's edges become blurry? Does the
    answer depend on the photo?
    """),
    md("""
    ## Interactive demo

    Move the per-layer weights and the three loss weights and watch every part of the loss change. The
    VGG features of the images are computed once when the demo starts; a slider move only redoes the cheap
    arithmetic of `nst.content_loss`, `nst.style_loss` and `nst.total_variation_loss`. Score different
    images with the first menu: the photo has zero content loss, the style image zero style loss, and the
    white noise a huge TV.
    """),
    code("""
    from nst_lib.widgets.losses import loss_weights_demo

    loss_weights_demo()
    """),
]

# ================================================================================================ 05
NB05 = [
    md("""
    # Optimisation: painting with gradients

    The image itself is what we train: compute the gradient of the loss with respect to every pixel, then follow it with Adam or L-BFGS.

    **What you'll build:** a gradient image, one Adam step written out and checked against the library, Adam and L-BFGS runs compared by iteration and by seconds, and Gatys et al.'s Figure 6 on starting points.
    """),
    md("""
    ## What you will learn

    - how `tf.GradientTape` gives the gradient of the loss with respect to the **pixels**, and what that
      gradient looks like;
    - one step of **Adam** written out, then the library's loop `run_adam` watched one step at a time;
    - **L-BFGS** (`run_lbfgs`): why it needs fewer iterations, and why an iteration costs more;
    - the effect of the **learning rate**, and of the **starting image** — the content, the style, or white
      noise with different seeds (Gatys et al. 2016, Fig. 6);
    - how to compare optimisers fairly: loss curves **by iteration** and **by seconds**.
    """),
    code("""
    %matplotlib inline
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np
    import tensorflow as tf

    import nst_lib as nst
    from nst_lib import data, experiments, viz
    from nst_lib.backbone import BackboneSubstitutionWarning
    from nst_lib.config import GATYS_STYLE_LAYERS
    from nst_lib.losses import Objective, StyleTarget
    from nst_lib.optimize import make_value_and_grad, run_adam, run_lbfgs

    warnings.filterwarnings("once", category=BackboneSubstitutionWarning)  # say it once, not at every run
    tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that

    SIZE = nst.pick(256, 64)   # long side of the images
    STEPS = nst.pick(100, 4)   # iterations of the Adam and L-BFGS runs below
    content, style = data.example_pair("grace_hopper", "swirls", size=SIZE)
    """),
    md("""
    ## 1. The objective, as a function of the pixels

    We use the objective of notebook 04 with the library's defaults: content at `conv5_2`, the five Gatys
    style layers with equal weights, `content_weight = 1e4`, `style_weight = 1e-2`. Once the targets are
    computed, the objective is a function of one thing only: the image.
    """),
    code("""
    extractor = nst.FeatureExtractor(("block5_conv2", *GATYS_STYLE_LAYERS))
    style_features = extractor(style[np.newaxis])
    objective = Objective(
        extractor,
        content_targets={"block5_conv2": extractor(content[np.newaxis])["block5_conv2"]},
        style_targets=[StyleTarget(grams={l: nst.gram_matrix(style_features[l])[0] for l in GATYS_STYLE_LAYERS})],
        content_layer_weights={"block5_conv2": 1.0},
        style_layer_weights={l: 1 / len(GATYS_STYLE_LAYERS) for l in GATYS_STYLE_LAYERS},
        content_weight=1e4, style_weight=1e-2, tv_weight=0.0,
    )
    print(extractor.weights_info.describe())
    """),
    md("""
    ## 2. Gradients with respect to pixels

    Training a network changes its weights; style transfer keeps VGG fixed and changes the *input*.
    `tf.GradientTape` records the computation from the pixels to the loss and gives back `∂loss/∂pixel`:
    an array of the same shape as the image, one number per pixel and colour channel.
    """),
    code("""
    image = tf.constant(content[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(image)  # pixels are not variables, so ask the tape to watch them
        total = objective.parts(image)["total"]
    grad = tape.gradient(total, image)[0].numpy()

    value_and_grad = make_value_and_grad(objective)  # the library's compiled version of the same thing
    _, library_grad = value_and_grad(image)
    np.testing.assert_allclose(grad, library_grad[0].numpy(), rtol=1e-3, atol=1e-3 * np.abs(grad).max())
    print(f"✓ same gradient as nst_lib.optimize.make_value_and_grad; shape {grad.shape}, "
          f"largest |∂loss/∂pixel| = {np.abs(grad).max():.3g}")
    """),
    md("""
    To see it, map the signed gradient to colours (grey = 0; the colour shows which way each channel wants
    to move) and its size to brightness:
    """),
    code("""
    signed = 0.5 + 0.5 * grad / np.abs(grad).max()
    size = np.abs(grad).sum(axis=-1)
    viz.show_images([content, signed, size / size.max()],
                    ["the image (start: the photo)", "gradient (grey = 0)", "|gradient| (white = large)"])
    """),
    md("""
    At the start the content loss is zero (the image *is* the photo), so the whole gradient comes from the
    style loss. It is largest on edges and textured areas (the flag, the cap, the medals), where VGG's
    style layers respond most strongly. A step *against* the gradient changes those pixels first.

    ## 3. One Adam step, written out

    Plain gradient descent, `x ← x − lr · g`, is hard to tune here: the gradient's size changes by orders
    of magnitude across pixels and over time. **Adam** keeps running averages of the gradient `m` and of
    its square `v`, and divides one by the root of the other. The library uses Keras' form of the update,
    then clips the pixels to `[0, 1]` (β₁ = 0.99 and ε = 0.1 are the TensorFlow tutorial's choices):

    ```
    m ← β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    x ← clip(x − lr · √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε), 0, 1)        (t = 1, 2, …)
    ```
    """),
    code("""
    lr, beta_1, beta_2, epsilon = 0.02, 0.99, 0.999, 0.1
    m, v, t = np.zeros_like(grad), np.zeros_like(grad), 1
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    step = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    one_step = np.clip(content - step, 0.0, 1.0)

    after = []  # run_adam reports every step to a callback; event.image() is the image after the step
    run_adam(value_and_grad, content, steps=1, learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
             callback=lambda event: after.append(event.image()))
    np.testing.assert_allclose(one_step, after[0], atol=1e-4)  # float64 here, float32 in TensorFlow
    print(f"✓ our step equals run_adam's; pixels moved by {np.abs(one_step - content).mean():.4f} on average, "
          f"at most {np.abs(one_step - content).max():.4f}")
    """),
    md("""
    In the first step the bias corrections cancel the small start of `m` and `v`, and `m/√v` is just the
    sign of the gradient wherever it is much larger than ε: almost every pixel moves by about the learning
    rate, 0.02 — five grey levels out of 255 — whatever the size of its gradient. That is why the learning
    rate is in *pixel units* here and carries over between images.

    ## 4. The Adam loop, step by step

    `run_adam` repeats that step, keeps the best image seen, and sends an `Iterate` event to a callback
    after every step: the iteration, the loss parts, the elapsed time, and `image()` to fetch the current
    image only when you want it. Here the callback keeps a few snapshots.

    ⏱ Real settings (256 px, 100 steps): about **2 minutes**.
    """),
    code("""
    SHOW_AT = sorted({1, max(1, STEPS // 10), max(1, STEPS // 3), STEPS})
    snapshots = {}


    def keep_snapshots(event):
        if event.iteration in SHOW_AT:
            snapshots[event.iteration] = event.image()


    adam = run_adam(value_and_grad, content, steps=STEPS, callback=keep_snapshots)
    print(f"Adam: {adam.iterations} steps, best total loss {adam.best_loss:.4g} ({adam.message})")
    viz.show_images(list(snapshots.values()), [f"after step {i}" for i in snapshots], ncols=len(snapshots))
    """),
    md("""
    `nst.stylize(..., optimizer="adam", init="content")` builds this same objective and runs this same loop
    (`init="content"` because the library's default start is a recoloured photo, see section 8). A
    three-step check that our hand-built version and the library agree:
    """),
    code("""
    ours = run_adam(value_and_grad, content, steps=3)
    library = nst.stylize(content, style, optimizer="adam", init="content", steps=3, scales=1, size=SIZE)
    np.testing.assert_allclose(ours.image, library.image, atol=2e-3)
    print("✓ run_adam on our objective = nst.stylize(optimizer='adam', init='content')")
    """),
    md("""
    ## 5. L-BFGS

    **L-BFGS** (limited-memory Broyden–Fletcher–Goldfarb–Shanno) is what Gatys et al. used. From the last
    few gradients (10 here; `stylize` keeps 50) it estimates how the loss *curves*, which gives both a
    direction and a step size;
    a line search then tries points along that direction until the loss falls enough. The library calls
    SciPy's L-BFGS-B, whose **B** means *bounds*: pixels stay in `[0, 1]` exactly, with no clipping. There
    is no learning rate to tune. One iteration may evaluate the loss and gradient more than once.

    ⏱ Real settings (256 px, 100 iterations): about **2–3 minutes**.
    """),
    code("""
    lbfgs = run_lbfgs(value_and_grad, content, steps=STEPS)
    print(f"L-BFGS: {lbfgs.iterations} iterations with {lbfgs.evaluations} evaluations of the loss and gradient, "
          f"best total loss {lbfgs.best_loss:.4g}")
    viz.show_images([adam.image, lbfgs.image], [f"Adam, {adam.iterations} steps", f"L-BFGS, {lbfgs.iterations} iterations"])
    """),
    md("""
    ## 6. Adam against L-BFGS, fairly

    Both runs started from the photo and optimised the same objective, so their loss curves can be compared
    directly. By iteration, L-BFGS is far ahead. But an iteration is not a unit of cost: compare by seconds
    too (the first Adam step also includes compiling its graph).
    """),
    code("""
    histories = {"Adam (lr 0.02)": adam.history, "L-BFGS": lbfgs.history}
    viz.loss_curves(histories, title="total loss by iteration")
    """),
    code("""
    viz.loss_curves(histories, x="elapsed", title="total loss by seconds")
    """),
    md("""
    L-BFGS reaches in about 30 iterations the loss that Adam reaches after 100 steps, and it stays ahead
    when measured in seconds — which is why `stylize` uses it by default. Adam's strengths are
    elsewhere: each step is cheap and predictable, it works with any differentiable pipeline, and it is
    what the TensorFlow tutorial uses (`nst.TF_TUTORIAL`).

    The lead does not last forever. In the project's benchmark (256 px, `benchmarks/README.md`) L-BFGS reaches
    the loss of Adam's 150th step in a quarter of Adam's time, but the loss of Adam's 1000th step only after
    about as many iterations as Adam, and a little later in seconds: near the end L-BFGS settles on one
    arrangement of the large texture elements, while Adam's momentum keeps moving them and finds a slightly
    lower loss. For the few-minute runs of this course, L-BFGS is the better choice.

    ## 7. The learning rate

    Adam's one important setting. Three runs at a smaller size (the effect is the same):

    ⏱ Real settings (128 px, 100 steps each): about **1–2 minutes**.
    """),
    code("""
    LR_SIZE = nst.pick(128, 64)
    LR_STEPS = nst.pick(100, 3)
    rates = (0.002, 0.02, 0.2)
    lr_runs = {lr: nst.stylize(content, style, optimizer="adam", learning_rate=lr, size=LR_SIZE,
                               steps=LR_STEPS, scales=1) for lr in rates}
    viz.show_images([r.image for r in lr_runs.values()], [f"learning rate {lr:g}" for lr in lr_runs])
    """),
    code("""
    viz.loss_curves({f"lr {lr:g}": r.history for lr, r in lr_runs.items()}, title="Adam with three learning rates")
    """),
    md("""
    At 0.002 every pixel moves about half a grey level per step: after 100 steps the image has only begun
    to leave the photo. At 0.2 the steps overshoot: the loss even rises during the first steps, then falls
    more slowly than at 0.02, and the image gets noisy and pale. 0.02 (the tutorial's value) is a good
    compromise at this size.

    ## 8. Where to start (Gatys et al. 2016, Figure 6)

    The objective has many good solutions; the starting image decides which one the optimiser finds.
    `experiments.init_comparison` runs the same transfer from the photo, from the style image, and from white
    noise with different seeds, as in the paper; we add the library's default start, `init="recolored"`:
    the photo with the style's colour mean and covariance (`nst_lib.color.match_color_histogram`).

    ⏱ Real settings (256 px, 80 L-BFGS iterations over 2 scales, 5 runs): about **{init_minutes}**.
    """),
    code("""
    INIT_STEPS = nst.pick(80, 3)
    init_panel = experiments.init_comparison(content, style, seeds=(0, 1), starts=("content", "recolored", "style"),
                                             size=SIZE, steps=INIT_STEPS, scales=nst.pick(2, 1))
    init_panel.figure(with_inputs=True)
    """),
    code("""
    viz.loss_curves({label: r.history for label, r in zip(init_panel.labels, init_panel.results)},
                    title="the same objective from five starting images")
    """),
    md("""
    Starting from the photo keeps the most of it (the optimiser only travels as far as the loss asks);
    starting from the style image leaves traces of the painting's layout; the noise starts give images that
    differ in their details but not in their overall look — Gatys et al. report the same. The library
    starts from the recoloured photo by default: it keeps the photo's layout, and its colours are already
    the style's, so the optimiser has less to change (the project's benchmarks measured it reaching a given
    loss fastest; compare the curves above).

    ## Summary

    - Style transfer optimises the pixels: `tf.GradientTape` (or `make_value_and_grad`) gives
      `∂loss/∂pixel`, largest where textures and edges are.
    - Adam divides a running mean of the gradient by the root of a running mean of its square; in the first
      steps every pixel moves by about the learning rate, which is therefore in pixel units.
    - `run_adam` and `run_lbfgs` keep the best image, stop on a time budget or a NaN, and report every step
      to a callback with an `Iterate` event.
    - L-BFGS-B needs no learning rate, keeps pixels in `[0, 1]` exactly, and beats Adam by iteration and by
      seconds on this problem for the first few hundred iterations (its lead shrinks in very long runs);
      compare optimisers by seconds, not only by iterations.
    - The start matters: from the content you keep the most of the photo; from noise, different seeds give
      different details; the library's default, the photo recoloured in the style's palette, gets there
      fastest.
    """),
    md("""
    ## Exercises

    **Exercise 1 — one Adam step (self-checked).** Write
    `my_adam_step(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon)` returning
    `(new_image, new_m, new_v)`, with `t = 1` for the first step, following the update of section 3. The
    starter forgets one part of the update.
    """),
    code("""
    from nst_lib.checks import check_adam_step


    def my_adam_step(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon):
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        new_image = np.clip(image - learning_rate * m / (np.sqrt(v) + epsilon), 0.0, 1.0)
        return new_image, m, v
    """),
    check_cell("""
    check_adam_step(my_adam_step)
    """),
    md("""
    **Exercise 2 — from noise with Adam.** Run `nst.stylize(content, style, optimizer="adam", init="noise",
    size=LR_SIZE, steps=LR_STEPS, scales=1)` with learning rates 0.02 and 0.05. Why does a noise start
    want a larger learning rate than a content start?

    **Exercise 3 — equal time, not equal steps.** Give both optimisers the same budget:
    `nst.stylize(content, style, size=SIZE, steps=10_000, time_budget=30, optimizer=...)`. Compare
    `result.iterations`, the final `result.history[-1]["total"]` and the pictures.
    """),
    md("""
    ## Interactive demo

    Choose the optimiser, Adam's learning rate, the start and the number of steps, then press **Run**: the
    image and the loss curves redraw every few steps. Every run is added to the curves, so run Adam and
    L-BFGS one after the other and compare them by iteration and by seconds.
    """),
    code("""
    from nst_lib.widgets.optimization import optimization_demo

    optimization_demo()
    """),
]

# ================================================================================================ 06
NB06 = [
    md("""
    # The style-transfer studio

    Everything together in one call, `nst.stylize`: what its settings do, the paper's content/style trade-off in our units, and a studio for your own photos.

    **What you'll build:** a full style transfer with live progress, Gatys et al.'s Figure 3 (the content/style ratio) and Figure 5 (the content layer), and a studio widget with upload, live preview, Stop and Download.
    """),
    md("""
    ## What you will learn

    - what `nst.stylize` does, step by step, and what its `Result` contains;
    - how to watch a run and stop it early from a **callback**;
    - every setting of `nst.StyleConfig`, with its default;
    - how the paper's ratio **α/β** relates to our `content_weight / style_weight` — exactly for the
      normalisation, approximately for the network — and Gatys et al. 2016, **Figure 3**;
    - why the content is matched at a deep layer (Gatys et al. 2016, **Figure 5**);
    - how to run long jobs from a widget in Jupyter so that a Stop button still works.
    """),
    code("""
    %matplotlib inline
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np
    import tensorflow as tf
    from IPython.display import HTML

    import nst_lib as nst
    from nst_lib import data, experiments, viz
    from nst_lib.backbone import BackboneSubstitutionWarning

    warnings.filterwarnings("once", category=BackboneSubstitutionWarning)  # say it once, not at every run
    tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that

    SIZE = nst.pick(256, 64)   # long side of the result
    STEPS = nst.pick(100, 4)   # L-BFGS iterations
    content, style = data.example_pair("grace_hopper", "swirls")  # full size: stylize resizes them
    """),
    md("""
    ## 1. One call

    `nst.stylize(content, style, **settings)` takes paths, bytes, PIL images or arrays, and returns a
    `Result`. The core never prints; it reports every iteration to an optional **callback** with an
    `Iterate` event (iteration, loss parts, elapsed seconds, current scale and shape, and `image()` on
    request). Printing is the callback's job:

    ⏱ Real settings (256 px, 100 L-BFGS iterations): about **2 minutes** on a 2-core CPU.
    """),
    code("""
    REPORT_EVERY = nst.pick(25, 1)


    def report(event):
        if event.iteration % REPORT_EVERY == 0:
            height, width = event.shape
            print(f"iteration {event.iteration:4d}  scale {event.scale + 1}/{event.scales} ({width}×{height} px)"
                  f"  total {event.losses['total']:.4g}  {event.elapsed:5.1f} s")


    result = nst.stylize(content, style, size=SIZE, steps=STEPS, callback=report)
    print(f"{result.message}: {result.iterations} iterations in {result.elapsed:.0f} s on {result.backbone.upper()}")
    viz.show_images([data.content_image("grace_hopper", SIZE), data.style_image("swirls", SIZE), result.image],
                    ["content", "style", "result"])
    """),
    md("""
    Inside, `stylize`:

    1. resolves the settings into a validated `StyleConfig` (bad values fail here, with a message that
       names them);
    2. loads the images (`nst.load_image`) and builds the VGG feature extractor once;
    3. plans the **scales**: by default one; with `scales=2` it first works at half size, then at full
       size (notebook 07);
    4. at each scale: computes the targets (the photo's features, the Gram matrices of the style image
       resized to the output), builds the `Objective` of notebook 04, picks the start (by default the photo
       recoloured with the style's palette, notebook 05; at a finer scale the upsampled coarser result),
       and runs `run_lbfgs` or `run_adam` (notebook 05);
    5. applies colour preservation if asked (notebook 07) and returns a `Result` with the best image.

    The `Result` keeps the whole loss history (one entry per iteration, with every part), the settings
    and how the run ended. In the history, `content` and `style` are the losses *before* weighting, and
    `total = 1e4 · content + 1e-2 · style`: the weights decide how much likeness the optimiser may trade
    for style.
    """),
    code("""
    print("scales:", result.scale_shapes, "| stop reason:", result.stop_reason, "| weights:", result.weights_source)
    viz.loss_curves(result.history, parts=("total", "content", "style"), title="loss parts of the run above")
    """),
    md("""
    A callback that returns `True` stops the run after the current iteration; `stylize` then returns the
    best image so far. This is how the Stop button of the studio below works. (`time_budget=` stops on a
    clock instead, and Ctrl-C — *Interrupt the kernel* — stops just as cleanly.)
    """),
    code("""
    stopped = nst.stylize(content, style, size=nst.pick(128, 64), steps=100, scales=1,
                          callback=lambda event: event.iteration >= 5)
    print(f"stop_reason={stopped.stop_reason!r}, {stopped.iterations} iterations: {stopped.message}")
    """),
    md("""
    Every setting is a field of `nst.StyleConfig`, declared once with its default and a one-line
    description. `stylize` accepts them as keyword arguments, the `nst` command line derives its flags from
    them, and the widgets read their defaults from them:
    """),
    code("""
    from nst_lib.config import config_fields
    from nst_lib.widgets.common import stats_table_html

    rows = [(f.name, repr(f.default), f.metadata["doc"]) for f in config_fields()]
    HTML(stats_table_html(("setting", "default", "what it does"), rows))
    """),
    md("""
    ## 2. α/β in our units (Gatys et al. 2016, Figure 3)

    The paper weighs its two losses as `α · L_content + β · L_style` and reports the ratio **α/β**
    (1e-3 or 1e-4 for most of its pictures). Our losses are normalised differently, so the same ratio does
    not mean the same thing. Compare the definitions, for a layer with `N` channels and `M = h·w`
    positions:

    | | Gatys et al. | this library | relation |
    | --- | --- | --- | --- |
    | content | `L_c = ½ Σ (F − P)²` | `mean((F − P)²)` | ours = `2/(N·M) · L_c` |
    | Gram | `G = F Fᵀ` | `G = Fᵀ F / M` | ours = paper's `/ M` |
    | style, per layer | `E_l = Σ (G − A)² / (4 N² M²)` | `mean((G − A)²)` | ours = `4 · E_l` |

    So `α · L_c + β · L_s = (α·N·M/2) · content + (β/4) · style`: the paper's weights become
    `content_weight = α·N·M/2` and `style_weight = β/4`, and

    **content_weight / style_weight = 2 · N · M · α/β**, with N and M of the content layer.

    `experiments.normalisation_factor` computes `2·N·M`. It grows with the image, which means the paper's
    α/β implicitly depends on the image size, while our weights do not:
    """),
    code("""
    for side in (256, 512, 1024):
        factor = experiments.normalisation_factor(side, side, "conv4_2")
        print(f"{side:5d} px square: conv4_2 has M = {(side // 8) ** 2:6d} positions → 2·N·M = {factor:.3g}")
    """),
    md("""
    That settles the normalisation, but not the network. Gatys et al. rescaled VGG so that every filter's
    mean activation over ImageNet is 1; Keras' VGG is not rescaled, and its activations are much larger and
    differ from layer to layer. The content loss scales with the square of the activations and the style loss
    with their fourth power, so the missing rescaling changes the balance by orders of magnitude, differently
    at every layer:
    """),
    code("""
    probe = nst.FeatureExtractor(("conv4_2", *experiments.GATYS_STYLE_LAYERS))
    small_content, small_style = data.example_pair("grace_hopper", "swirls", size=SIZE)
    means = {}
    for image in (small_content, small_style):
        for layer, value in probe(image[np.newaxis]).items():
            means[layer] = means.get(layer, 0.0) + float(np.mean(value)) / 2
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.barh(list(means), list(means.values()), color="tab:green")
    ax.invert_yaxis()
    ax.set_xlabel("mean activation (the paper's network: 1)")
    plt.show()
    """),
    md("""
    So there is no exact conversion, and the library uses a measured one: with the content at `conv4_2` (as
    in the paper's Figure 3),

    **content_weight / style_weight = RATIO_CALIBRATION · α/β**, with `RATIO_CALIBRATION = 1e8`,

    chosen so that the paper's four columns, 1e-5 to 1e-2, show the same progression from "the style
    everywhere" to "the photo, lightly painted". `experiments.paper_ratio_to_weights` keeps our default
    style weight and moves the content weight:
    """),
    code("""
    for ratio in experiments.PAPER_RATIOS:
        weights = experiments.paper_ratio_to_weights(ratio)
        assert np.isclose(weights["content_weight"] / weights["style_weight"], experiments.RATIO_CALIBRATION * ratio)
        print(f"α/β = {ratio:g}  →  content_weight = {weights['content_weight']:g}, style_weight = {weights['style_weight']:g}")
    """),
    md("""
    Now Figure 3: one row with the five style layers, the four ratios across, each run from white noise as
    in the paper. (`layer_sets=experiments.cumulative_layer_sets()` gives the paper's five rows; see the
    exercises.)

    ⏱ Real settings (256 px, 80 L-BFGS iterations over 2 scales, 4 runs): about **{ratio_minutes}**.
    """),
    code("""
    GRID_STEPS = nst.pick(80, 3)
    GRID_SCALES = nst.pick(2, 1)
    grid = experiments.ratio_grid(content, style, size=SIZE, steps=GRID_STEPS, scales=GRID_SCALES)
    grid.figure(with_inputs=True)
    """),
    md("""
    At α/β = 1e-5 the style fills the canvas and the portrait is barely there; at 1e-2 the photo is back,
    with the painting's texture over it. Where you want to be is a matter of taste — which is why the studio
    below has one slider per weight. (From noise, 80 iterations can leave a little grain; the paper ran
    much longer. Starting from the photo, or from the recoloured photo as `stylize` does by default,
    avoids that.)

    ## 3. Which layer holds the content? (Gatys et al. 2016, Figure 5)

    The same transfer, with the content matched at `conv2_2` or at `conv4_2`:

    ⏱ Real settings (2 runs): about **{layers_minutes}**.
    """),
    code("""
    layer_panel = experiments.content_layer_comparison(content, style, layers=("conv2_2", "conv4_2"), size=SIZE,
                                                       steps=GRID_STEPS, scales=GRID_SCALES)
    layer_panel.figure(with_inputs=True)
    """),
    md("""
    Matched at `conv2_2`, the content loss pins down nearly every pixel (notebook 04, Figure 1), so the
    style can only add texture on top of the photo. Matched at `conv4_2`, only the objects and their
    arrangement are fixed, and the style repaints their surfaces: the result looks *painted*, not filtered.
    The library's default, `conv5_2` (the TensorFlow tutorial's), goes one step further.

    ## 4. A widget that can be stopped

    In Jupyter a button's click is handled by the kernel — but a kernel busy running `stylize` handles
    nothing until it finishes. The studio therefore runs `stylize` in a **background thread**: the kernel
    stays free, the Stop click arrives, and the callback returns `True` at the next iteration. The live
    preview is the callback setting the `value` of an `ipywidgets.Image`; the download is a link with the
    PNG inside it. The tests build the studio with `background=False` to run it synchronously.

    ## Summary

    - `nst.stylize(content, style, **settings)` runs the whole pipeline and returns a `Result`: the best
      image, the loss history, the settings and why it stopped.
    - Progress goes to a callback with an `Iterate` event; returning `True` stops with the best image.
    - `nst.StyleConfig` declares every setting once; `stylize`, the CLI and the widgets share it.
    - The paper's `α/β` corresponds to `content_weight / style_weight = 2·N·M·α/β` for the normalisation
      alone; because Keras' VGG is not rescaled like the paper's, the library calibrates the ratio as
      `1e8 · α/β` at `conv4_2`. Small ratios give style, large ones content (Figure 3).
    - A deep content layer lets the style repaint the surfaces; a shallow one only adds texture (Figure 5).
    - Long runs in a widget go to a background thread so that Stop can be clicked.
    """),
    md("""
    ## Exercises

    **Exercise 1 — the exact part of the conversion (self-checked).** Write
    `paper_to_ours(alpha_over_beta, height, width)` returning `content_weight / style_weight` for the content
    layer `conv4_2` (512 channels), from the normalisation alone: `2 · N · M · α/β`, where `M` counts the
    positions of the `conv4_2` feature map for a `height × width` image. The starter counts the wrong
    positions.
    """),
    code("""
    from nst_lib.checks import check_paper_to_ours


    def paper_to_ours(alpha_over_beta, height, width):
        channels = 512
        positions = height * width
        return 2 * channels * positions * alpha_over_beta
    """),
    check_cell("""
    check_paper_to_ours(paper_to_ours)
    """),
    md("""
    **Exercise 2 — the whole Figure 3.** Run
    `experiments.ratio_grid(content, style, layer_sets=experiments.cumulative_layer_sets(), size=SIZE,
    steps=GRID_STEPS, scales=GRID_SCALES)` and draw it with `.figure()`: five rows, from `conv1_1` alone to
    all five layers. How does the look change down a column? (⏱ five times the cell of section 2.)

    **Exercise 3 — a third content layer.** Add `"conv5_2"` to the layers of section 3. Is it closer to
    `conv4_2` or to `conv2_2`?

    **Exercise 4 — your own photo.** Upload a photo in the studio below, stylise it at 384 px, press Stop
    half-way, and download the result.
    """),
    md("""
    ## Interactive demo: the studio

    Pick a bundled example or upload your own content and style images (**content file**, **style file**),
    choose the size, the number of steps and the three loss weights, and press **Run**. The preview updates
    every few iterations; **Stop** ends the run and keeps the best image so far; the **Download** link saves
    the result as a PNG. At 384 px and 100 steps a run takes about 4 minutes on a 2-core CPU.
    """),
    code("""
    from nst_lib.widgets.studio import studio_demo

    studio_demo()
    """),
]

# ================================================================================================ 07
NB07 = [
    md("""
    # Beyond Gatys: colour, blends, scale, masks and resolution

    Five controls from the follow-up work that let you decide what the style may change, and where.

    **What you'll build:** colour-preserving transfers, a blend of two styles, brush strokes at three scales, two styles placed with a mask, and a coarse-to-fine high-resolution result, each checked against the library's own pieces.
    """),
    md("""
    ## What you will learn

    - how to keep the photo's colours: luminance-only transfer and colour-histogram matching
      (`preserve_colors`, `nst_lib.color`; Gatys, Ecker, Bethge, Hertzmann & Shechtman, *Controlling Perceptual
      Factors in Neural Style Transfer*, CVPR 2017);
    - how several styles blend through their Gram matrices (`style_blend`);
    - how the size of the style image sets the size of the brush strokes (`style_scale`);
    - how a mask puts each style in its own region: **guided Gram matrices** (`mask=`);
    - how coarse-to-fine optimisation reaches high resolutions in reasonable time (`scales`).
    """),
    code("""
    %matplotlib inline
    import warnings

    import numpy as np
    import tensorflow as tf

    import nst_lib as nst
    from nst_lib import color, data, viz
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
    """),
    md("""
    ⏱ Every `transfer(...)` call in this notebook takes **1–2 minutes** at the real settings (256 px, 60
    L-BFGS iterations) on a 2-core CPU, and a few seconds in fast mode; the whole notebook about 15 minutes.

    ## 1. Keeping the photo's colours

    A style transfer copies the painting's palette along with its brush strokes: the portrait above is now
    blue and yellow. Gatys et al. (2017) give two ways to keep the photo's colours; both are in
    `nst_lib.color`, and `stylize(..., preserve_colors=...)` applies them.

    **Histogram matching** (`"histogram"`) recolours the *style image* first, giving its pixels the mean and
    covariance of the photo's colours (an affine map `x' = Σc^½ Σs^-½ (x − μs) + μc`), then transfers as
    usual. **Luminance-only transfer** (`"luminance"`) works in the YIQ colour space: it transfers the style
    between the grey (Y) versions of the images and puts the photo's colour channels (I, Q) back at the end.
    Here is what each does to the style image:
    """),
    code("""
    recoloured = color.match_color_histogram(style, content)
    grey_style = color.match_luminance(style, content)
    photo_mean = content.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(recoloured.reshape(-1, 3).mean(axis=0), photo_mean, atol=0.05)
    print("✓ the recoloured style has the photo's mean colour", np.round(photo_mean, 2))
    viz.show_images([style, recoloured, grey_style],
                    ["style", "histogram-matched to the photo", "luminance only (matched mean and spread)"])
    """),
    code("""
    colour_runs = {mode: transfer(preserve_colors=mode) for mode in ("luminance", "histogram")}
    runs = {"plain": baseline, **colour_runs}
    viz.show_images([r.image for r in runs.values()],
                    [f"{name}: colour distance {color.chroma_distance(r.image, content):.3f}" for name, r in runs.items()])
    """),
    md("""
    The colour distance is the mean difference of the I and Q channels from the photo's. Luminance-only
    transfer keeps the photo's colours exactly — only the brightness pattern is painted — which suits
    portraits. Histogram matching keeps the photo's palette but lets the style move colours around, so it
    looks more painted, and a little less faithful.

    ## 2. Blending two styles

    Gram matrices are averages, so two styles can be averaged too: with blend weights `b₁ + b₂ = 1`, the
    style targets become `b₁·A₁ + b₂·A₂` at every layer. `nst.Objective` does this for style targets without
    masks; here is the check:
    """),
    code("""
    from nst_lib.losses import Objective, StyleTarget

    extractor = nst.FeatureExtractor(GATYS_STYLE_LAYERS)
    A1, A2 = ({layer: nst.gram_matrix(f)[0] for layer, f in extractor(image[np.newaxis]).items()}
              for image in (style, second_style))
    blend = Objective(extractor, {}, [StyleTarget(A1, weight=0.3), StyleTarget(A2, weight=0.7)], {},
                      {layer: 0.2 for layer in GATYS_STYLE_LAYERS}, content_weight=0.0, style_weight=1.0, tv_weight=0.0)
    np.testing.assert_allclose(blend.blended_grams["block3_conv1"], 0.3 * A1["block3_conv1"] + 0.7 * A2["block3_conv1"],
                               rtol=1e-5)
    print("✓ the blended targets are 0.3·A₁ + 0.7·A₂")
    """),
    code("""
    half_half = transfer([style, second_style], style_blend=(0.5, 0.5))
    all_glass = transfer([style, second_style], style_blend=(0.0, 1.0))
    viz.show_images([baseline.image, half_half.image, all_glass.image],
                    ["100 % swirls", "50 % swirls + 50 % stained glass", "100 % stained glass"])
    """),
    md("""
    The middle image is not the two results overlaid: it is one texture whose statistics lie between the
    two styles', so look for features of both mixed in the same strokes rather than side by side. A 50/50
    blend of the *targets* is not a 50/50 blend of the *look*: the style whose Gram matrices are larger
    (here the saturated stained glass) pulls harder. Move the blend weights to compensate.

    ## 3. The size of the brush strokes

    The style loss knows nothing about scale: it matches the statistics of the style image *at the size it
    is given*. Enlarge the style image and each stroke covers more pixels, so VGG's filters see larger
    strokes, and the result gets larger strokes too. `style_scale` sets the style image's size relative to
    the output (by default the same long side):
    """),
    code("""
    scale_runs = {0.5: transfer(style_scale=0.5), 1.0: baseline, 2.0: transfer(style_scale=2.0)}
    viz.show_images([r.image for r in scale_runs.values()], [f"style_scale = {s:g}" for s in scale_runs])
    """),
    md("""
    Large scales cost more: the style's Gram matrices are computed on a larger image (once per scale of the
    run), and details larger than VGG's deepest receptive fields cannot be captured at all.

    ## 4. Two styles, two regions: guided Gram matrices

    A mask says where a style applies. Gatys et al. (2017) weight the feature maps with the mask before the
    Gram matrix, and divide by the mask's energy instead of the number of positions:

    `G = (m·F)ᵀ (m·F) / Σ m²`

    This is the Gram matrix of the masked region alone. With a mask of ones it is the ordinary Gram matrix:
    """),
    code("""
    features = extractor(content[np.newaxis])["block2_conv1"]
    ones = tf.ones(features.shape[1:3])
    np.testing.assert_allclose(nst.gram_matrix(features, ones).numpy(), nst.gram_matrix(features).numpy(), rtol=1e-4)
    print("✓ a guided Gram matrix with a mask of ones equals the plain Gram matrix")
    """),
    md("""
    `stylize(..., mask=m)` with two styles gives the first style the white part of the mask and the second
    the black part: each gets a guided style loss, with the mask area-averaged down to every layer's
    resolution. (With one style, the black part keeps only the content loss and stays a photo.) The demo's
    masks come from `nst_lib.widgets.controls.make_mask`, with soft edges:
    """),
    code("""
    from nst_lib.widgets.controls import make_mask

    mask = make_mask("centre disc", *content.shape[:2])
    regions = transfer([style, second_style], mask=mask)
    viz.show_images([mask, regions.image], ["mask: white = swirls, black = stained glass", "guided transfer"])
    """),
    md("""
    ## 5. High resolution, coarse to fine

    An iteration at 512 px costs four times one at 256 px, and large structures need many iterations to
    form, because every pixel only moves a little per step. `scales` (default 1) runs the optimisation on a
    pyramid: first at a fraction of the size, where the layout forms cheaply, then each finer scale starts
    from the upsampled result and only adds detail. The schedule halves the size per level and skips levels
    whose short side would fall below 64 px; the finest scale gets half the iterations:
    """),
    code("""
    from nst_lib.transfer import scale_shapes, split_steps

    HR_SIZE = nst.pick(512, 160)
    photo = data.content_image("grace_hopper")  # the full 600×512 photo; stylize resizes it
    height, width = nst.load_image(photo, HR_SIZE).shape[:2]
    shapes = scale_shapes(height, width, 3)
    print("scales:", shapes, "| iterations per scale for 300 in total:", split_steps(300, shapes))
    """),
    md("""
    Give one scale and three scales the same time budget and compare:

    ⏱ Real settings (512 px, 90 s each): about **3–4 minutes**.
    """),
    code("""
    BUDGET = nst.pick(90, 10)  # seconds per run
    hr_runs = {n: nst.stylize(photo, data.style_image("swirls"), size=HR_SIZE, scales=n, steps=10_000,
                              time_budget=BUDGET) for n in (1, 3)}
    for n, r in hr_runs.items():
        per_scale = [sum(1 for h in r.history if h["scale"] == s) for s in range(len(r.scale_shapes))]
        print(f"scales={n}: {r.iterations} iterations ({per_scale} per scale) in {r.elapsed:.0f} s")
    crop = (slice(height // 4, height // 4 + height // 3), slice(width // 3, width // 3 + width // 3))
    viz.show_images([hr_runs[1].image, hr_runs[3].image, hr_runs[1].image[crop], hr_runs[3].image[crop]],
                    ["1 scale", "3 scales", "1 scale (detail)", "3 scales (detail)"], ncols=4)
    """),
    md("""
    In the same time, the single-scale run has only managed a few expensive iterations at 512 px: it is
    still the photo with a fine texture on top. The multi-scale run did most of its iterations at 128 and
    256 px, where each costs a sixteenth or a quarter as much and where strokes as large as the style's can
    form, then refined the result at 512 px: it is stylised all over, with larger strokes. Coarse to fine is
    the usual way to reach 1024 px and more on a CPU when large strokes matter; for the lowest loss at a
    given size, the project's benchmarks found a single scale fastest, which is why `scales=1` is the
    default.

    ## Summary

    - `preserve_colors="luminance"` transfers style on the grey image and restores the photo's colours
      exactly; `"histogram"` recolours the style image to the photo's colour mean and covariance first.
    - Several styles blend through their Gram targets, `Σ b_i A_i` (`style_blend`, weights normalised).
    - `style_scale` resizes the style image relative to the output: larger means larger strokes.
    - A mask gives each style its own region through guided Gram matrices `(m·F)ᵀ(m·F)/Σm²` (`mask=`).
    - `scales` optimises coarse to fine, which forms large structures cheaply and makes high resolutions
      practical.
    """),
    md("""
    ## Exercises

    **Exercise 1 — a guided Gram matrix (self-checked).** Write `my_guided_gram(features, mask)` for
    features of shape `(1, h, w, C)` and a mask of shape `(h, w)`, returning the `(C, C)` matrix
    `(m·F)ᵀ (m·F) / Σ m²`. The starter divides by the wrong number.
    """),
    code("""
    from nst_lib.checks import check_guided_gram_matrix


    def my_guided_gram(features, mask):
        weighted = features[0] * mask[..., tf.newaxis]
        flat = tf.reshape(weighted, (-1, features.shape[-1]))
        return tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.size(mask), tf.float32)
    """),
    check_cell("""
    check_guided_gram_matrix(my_guided_gram)
    """),
    md("""
    **Exercise 2 — colour and content.** Run `transfer(preserve_colors="luminance")` with the `coffee` photo
    and the `stained_glass` style. When would you choose histogram matching instead?

    **Exercise 3 — one style, one region.** Use `make_mask("left half", ...)` with *one* style: what happens
    to the right half, and why? Then give the mask soft edges of different widths and look at the seam.
    """),
    md("""
    ## Interactive demo

    Toggle each control and press **Run**: colour preservation, a second style with its share of the blend,
    the style scale, a mask (the first style goes where the mask is white) and the number of scales. At the
    real settings (256 px, 80 steps) a run takes about a minute.
    """),
    code("""
    from nst_lib.widgets.controls import controls_demo

    controls_demo()
    """),
]

NOTEBOOKS_PART2 = {
    "04_content_and_style_losses.ipynb": NB04,
    "05_optimization.ipynb": NB05,
    "06_style_transfer_studio.ipynb": NB06,
    "07_beyond_gatys.ipynb": NB07,
}

#: Times of the heavy cells that call nst_lib.experiments at the real settings, from the CPU seconds that
#: ``scripts/make_readme_figures.py`` records in docs/figures/FIGURES.md (same settings): an idle 2-core CPU
#: takes between CPU seconds ÷ 2 (both cores busy) and CPU seconds (one core busy).
TIMINGS = {
    "content_minutes": "3–5 minutes",
    "style_minutes": "3–6 minutes",
    "init_minutes": "3–5 minutes",
    "ratio_minutes": "3–5 minutes",
    "layers_minutes": "1½–3 minutes",
}


def _fill_timings(cells: list) -> list:
    for cell in cells:
        for key, value in TIMINGS.items():
            cell.source = cell.source.replace("{" + key + "}", value)
    return cells


def main(argv: list[str] | None = None) -> int:
    notebooks = {name: _fill_timings(cells) for name, cells in NOTEBOOKS_PART2.items()}
    return write_notebooks(notebooks, "build_notebooks_part2.py", __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
