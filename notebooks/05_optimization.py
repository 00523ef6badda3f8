# %% [markdown]
# # Optimisation: painting with gradients
#
# The image itself is what we train: compute the gradient of the loss with respect to every pixel, then follow it with Adam or L-BFGS.
#
# **What you'll build:** a gradient image, one Adam step written out and checked against the library, your own training step with `tf.GradientTape`, Adam and L-BFGS runs compared by iteration and by seconds, and Gatys et al.'s Figure 6 on starting points.

# %% [markdown]
# ## What you will learn
#
# - how `tf.GradientTape` gives the gradient of the loss with respect to the **pixels**, and what that
#   gradient looks like;
# - one step of **Adam** written out, the same step with `keras.optimizers.Adam` on a `tf.Variable`, then
#   the library's loop `run_adam` watched one step at a time — and your own training step with
#   `tf.GradientTape` and `tf.function`;
# - **L-BFGS** (`run_lbfgs`): why it needs fewer iterations, and why an iteration costs more;
# - the effect of the **learning rate**, and of the **starting image** — the content, the style, or white
#   noise with different seeds (Gatys et al. 2016, Fig. 6);
# - how to compare optimisers fairly: loss curves **by iteration** and **by seconds**.

# %%
# %matplotlib inline
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import data
from nst_lib.course import experiments, viz
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.config import GATYS_STYLE_LAYERS
from nst_lib.losses import Objective, StyleTarget
from nst_lib.optimize import make_value_and_grad, run_adam, run_lbfgs

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # section 1 says which network runs, once
tf.get_logger().setLevel("ERROR")  # every stylize call compiles its own graph; skip TensorFlow's notes on that

CONTENT_NAME, STYLE_NAME = "grace_hopper", "swirls"  # the example pair of this notebook: change it here
SIZE = nst.pick(256, 64)   # long side of the images
STEPS = nst.pick(100, 4)   # iterations of the Adam and L-BFGS runs below
content, style = data.example_pair(CONTENT_NAME, STYLE_NAME, size=SIZE)

# %% [markdown]
# ## 1. The objective, as a function of the pixels
#
# We use the objective of notebook 04 with the library's defaults: content at `conv5_2`, the five Gatys
# style layers with equal weights, `content_weight = 1e4`, `style_weight = 1e-2`. Once the targets are
# computed, the objective is a function of one thing only: the image.

# %%
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

# %% [markdown]
# ## 2. Gradients with respect to pixels
#
# Training a network changes its weights; style transfer keeps VGG fixed and changes the *input*.
# `tf.GradientTape` records the computation from the pixels to the loss and gives back `∂loss/∂pixel`:
# an array of the same shape as the image, one number per pixel and colour channel.

# %%
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

# %% [markdown]
# To see it, map the signed gradient to colours (grey = 0; the colour shows which way each channel wants
# to move) and its size to brightness:

# %%
signed = 0.5 + 0.5 * grad / np.abs(grad).max()
size = np.abs(grad).sum(axis=-1)
viz.show_images([content, signed, size / size.max()],
                [f"the image (start: {CONTENT_NAME})", "gradient (grey = 0)", "|gradient| (white = large)"])

# %% [markdown]
# At the start the content loss is zero (the image *is* the photo), so the whole gradient comes from the
# style loss. It is largest on edges and textured areas (in `grace_hopper`: the flag, the cap, the
# medals), where VGG's style layers respond most strongly. A step *against* the gradient changes those
# pixels first.
#
# ## 3. One Adam step, written out
#
# Plain gradient descent, `x ← x − lr · g`, is hard to tune here: the gradient's size changes by orders
# of magnitude across pixels and over time. **Adam** keeps running averages of the gradient `m` and of
# its square `v`, and divides one by the root of the other. The library uses Keras' form of the update,
# then clips the pixels to `[0, 1]` (β₁ = 0.99 and ε = 0.1 are the TensorFlow tutorial's choices):
#
# ```
# m ← β₁·m + (1 − β₁)·g
# v ← β₂·v + (1 − β₂)·g²
# x ← clip(x − lr · √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε), 0, 1)        (t = 1, 2, …)
# ```
#
# **Exercise 1 — build it yourself, before reading on: the whole Adam update (self-checked).** Write
# `adam_step(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon)` that takes step `t` of this
# update (`t = 1` for the first step, with `m` and `v` all zeros) and returns `(new_image, new_m, new_v)`;
# NumPy arrays or tensors are fine. The check runs three steps on a small problem and compares every image
# and both moments with the library's `run_adam`; it recognises the usual slips (the bias correction, `t`
# off by one, ε in the wrong place, the clip). Then read on: the next cell takes one step by hand.
# (Solution, on purpose only: `checks.solution("adam_step")`.)

# %%
from nst_lib.course import checks

# %% tags=["exercise"]
def adam_step(image, grad, m, v, t, *, learning_rate, beta_1, beta_2, epsilon):
    """Step t (from 1) of the Adam update above; returns (new_image, new_m, new_v)."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_adam_step(adam_step)

# %% [markdown]
# One step by hand, from the photo, checked against `run_adam` — compare it with yours:

# %%
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

# %% [markdown]
# In the first step `m = (1 − β₁)·g` and `v = (1 − β₂)·g²`, and the bias corrections cancel the
# `(1 − β₁)`, so the step is
#
# `lr · √(1 − β₂)·g / (√(1 − β₂)·|g| + ε)`.
#
# Where `√(1 − β₂)·|g| ≫ ε` — that is, `|g| ≫ ε/√(1 − β₂)`, about 3.2 with ε = 0.1 (this is Keras' placement
# of ε, outside the bias correction) — the step is `lr` times the *sign* of the gradient: the pixel moves
# by the learning rate, 0.02 — five grey levels out of 255 — whatever the size of its gradient. Where the
# gradient is smaller, ε damps the step. How many values of this image are in the sign-like regime:

# %%
threshold = epsilon / np.sqrt(1 - beta_2)
moved = np.abs(one_step - content)[np.clip(content - step, 0, 1) == content - step]  # not clipped
print(f"|g| > 10·ε/√(1−β₂) = {10 * threshold:.3g} for {np.mean(np.abs(grad) > 10 * threshold):.0%} of the values; "
      f"median step {np.median(moved) / lr:.2f}·lr, 90th percentile {np.quantile(moved, 0.9) / lr:.2f}·lr")

# %% [markdown]
# For the values in that regime the step is within 10 % of `lr`. That is why, in the first steps, the
# learning rate is in *pixel units* and carries over between images; later, `m` and `v` average several
# gradients and the steps become smaller where the gradient's sign keeps changing.
#
# **The same step with Keras.** `keras.optimizers.Adam` implements exactly this update (with ε in the same
# place). It changes a `tf.Variable` — a tensor that can be updated in place — when you hand it pairs of
# (gradient, variable); the clip is ours to add:

# %%
pixels = tf.Variable(content[np.newaxis])
optimizer = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
optimizer.apply_gradients([(tf.constant(grad[np.newaxis]), pixels)])  # one step, in place
np.testing.assert_allclose(pixels.numpy()[0], content - step, atol=1e-4)  # before our clip
print("✓ keras.optimizers.Adam takes the same step (we clip afterwards)")

# %% [markdown]
# **Exercise 2 — build it yourself: a training step (self-checked).** Put section 2 and this cell together.
# Write `make_train_step(loss_fn, optimizer)`: it returns a function `train_step(image)` that, for a
# `tf.Variable` image `(1, H, W, 3)` and any Keras optimizer, takes **one** optimizer step that lowers
# `loss_fn(image)`, leaves every pixel in `[0, 1]`, and returns the loss of the image *before* the step.
# Compile `train_step` with `tf.function`, so TensorFlow builds a graph the first time it runs. The check
# runs three steps on a small problem with a Keras Adam and compares every image and loss with `run_adam`.
# This is the training step of the TensorFlow tutorial, and the heart of notebook 08. (Solution, on purpose
# only: `checks.solution("make_train_step")`.)

# %% tags=["exercise"]
def make_train_step(loss_fn, optimizer):
    """Return train_step(image): one optimizer step on a tf.Variable image, kept in [0, 1]; returns the loss."""
    raise NotImplementedError


# %% tags=["raises-exception"]
checks.check_train_step(make_train_step)

# %% [markdown]
# ## 4. The Adam loop, step by step
#
# `run_adam` repeats that step, keeps the best image seen, and sends an `Iterate` event to a callback
# after every step: the iteration, the loss parts, the elapsed time, and `image()` to fetch the current
# image only when you want it. Here the callback keeps a few snapshots.
#
# ⏱ Real settings (256 px, 100 steps): about **45 seconds** on a 2-core CPU.

# %%
SHOW_AT = sorted({1, max(1, STEPS // 10), max(1, STEPS // 3), STEPS})
snapshots = {}


def keep_snapshots(event):
    if event.iteration in SHOW_AT:
        snapshots[event.iteration] = event.image()


adam = run_adam(value_and_grad, content, steps=STEPS, callback=keep_snapshots)
print(f"Adam: {adam.iterations} steps, best total loss {adam.best_loss:.4g} ({adam.message})")
viz.show_images(list(snapshots.values()), [f"after step {i}" for i in snapshots], ncols=len(snapshots))

# %% [markdown]
# `nst.stylize(..., optimizer="adam", init="content")` builds this same objective and runs this same loop
# (`init="content"` because the library's default start is a recoloured photo, see section 8). A
# three-step check that our hand-built version and the library agree:

# %%
ours = run_adam(value_and_grad, content, steps=3)
library = nst.stylize(content, style, optimizer="adam", init="content", steps=3, scales=1, size=SIZE,
                      precision="float32")  # VGG in float32, as ours (precision="auto" may pick bfloat16)
np.testing.assert_allclose(ours.image, library.image, atol=2e-3)
print("✓ run_adam on our objective = nst.stylize(optimizer='adam', init='content')")

# %% [markdown]
# ## 5. L-BFGS
#
# **L-BFGS** (limited-memory Broyden–Fletcher–Goldfarb–Shanno) is what Gatys et al. used. From the last
# few gradients (10 here; `stylize` keeps 50) it estimates how the loss *curves*, which gives both a
# direction and a step size;
# a line search then tries points along that direction until the loss falls enough. The library calls
# SciPy's L-BFGS-B, whose **B** means *bounds*: pixels stay in `[0, 1]` exactly, with no clipping. There
# is no learning rate to tune. One iteration may evaluate the loss and gradient more than once.
#
# ⏱ Real settings (256 px, 100 iterations): about **50 seconds** on a 2-core CPU.

# %%
lbfgs = run_lbfgs(value_and_grad, content, steps=STEPS)
print(f"L-BFGS: {lbfgs.iterations} iterations with {lbfgs.evaluations} evaluations of the loss and gradient, "
      f"best total loss {lbfgs.best_loss:.4g}")
viz.show_images([adam.image, lbfgs.image], [f"Adam, {adam.iterations} steps", f"L-BFGS, {lbfgs.iterations} iterations"])

# %% [markdown]
# ## 6. Adam against L-BFGS, fairly
#
# Both runs started from the photo and optimised the same objective, so their loss curves can be compared
# directly. By iteration, L-BFGS is far ahead. But an iteration is not a unit of cost: compare by seconds
# too (the first Adam step also includes compiling its graph).

# %%
histories = {"Adam (lr 0.02)": adam.history, "L-BFGS": lbfgs.history}
viz.loss_curves(histories, title="total loss by iteration")

# %%
viz.loss_curves(histories, x="elapsed", title="total loss by seconds")

# %%
target_loss = adam.history[-1]["total"]
reached = next((h for h in lbfgs.history if h["total"] <= target_loss), None)
if reached is None:
    print(f"L-BFGS did not reach Adam's final loss {target_loss:.4g} within {lbfgs.iterations} iterations")
else:
    adam_seconds = adam.history[-1]["elapsed"]
    print(f"L-BFGS reached Adam's loss after {adam.iterations} steps ({target_loss:.4g}, {adam_seconds:.1f} s) in "
          f"{reached['iteration']} iterations and {reached['elapsed']:.1f} s")

# %% [markdown]
# The printed line compares the two runs: at the real settings L-BFGS reaches the loss of Adam's last step
# in a fraction of the iterations, and it stays ahead when measured in seconds — which is why `stylize`
# uses it by default. Adam's strengths are
# elsewhere: each step is cheap and predictable, it works with any differentiable pipeline, and it is
# what the TensorFlow tutorial uses (`nst.TF_TUTORIAL`).
#
# The lead does not last forever. In the project's benchmark (256 px, `benchmarks/README.md`) L-BFGS reaches
# the loss of Adam's 150th step in a quarter of Adam's time, but the loss of Adam's 1000th step only after
# about as many iterations as Adam, and a little later in seconds: near the end L-BFGS settles on one
# arrangement of the large texture elements, while Adam's momentum keeps moving them and finds a slightly
# lower loss. For the few-minute runs of this course, L-BFGS is the better choice.
#
# ## 7. The learning rate
#
# Adam's one important setting. Three runs at a smaller size (the effect is the same):
#
# ⏱ Real settings (128 px, 100 steps each): about **half a minute** on a 2-core CPU.

# %%
LR_SIZE = nst.pick(128, 64)
LR_STEPS = nst.pick(100, 3)
rates = (0.002, 0.02, 0.2)
lr_runs = {lr: nst.stylize(content, style, optimizer="adam", learning_rate=lr, size=LR_SIZE,
                           steps=LR_STEPS, scales=1) for lr in rates}
viz.show_images([r.image for r in lr_runs.values()], [f"learning rate {lr:g}" for lr in lr_runs])

# %%
viz.loss_curves({f"lr {lr:g}": r.history for lr, r in lr_runs.items()}, title="Adam with three learning rates")

# %%
for lr_value, run in lr_runs.items():
    totals = [h["total"] for h in run.history]
    rises = sum(later > earlier for earlier, later in zip(totals, totals[1:]))
    print(f"lr {lr_value:<5g}: loss {totals[0]:.3g} → {totals[-1]:.3g} (lowest {min(totals):.3g}); "
          f"it rose in {rises} of {len(totals) - 1} steps")

# %% [markdown]
# At 0.002 every pixel moves at most about half a grey level per step (0.002 × 255), so after 100 steps
# the image has only begun to leave the photo. At 0.2 the steps overshoot: the printed lines count the
# steps in which the loss *rose* instead of falling, and the image gets noisy. 0.02 (the tutorial's
# value) is a good compromise at this size; the final losses above say how the three compare.
#
# ## 8. Where to start (Gatys et al. 2016, Figure 6)
#
# The objective has many good solutions; the starting image decides which one the optimiser finds.
# `experiments.init_comparison` runs the same transfer from the photo, from the style image, and from white
# noise with different seeds, as in the paper; we add the library's default start, `init="recolored"`:
# the photo with the style's colour mean and covariance (`nst_lib.color.match_color_moments`).
#
# ⏱ Real settings (256 px, 80 L-BFGS iterations over 2 scales, 5 runs): about **1½ minutes** on a 2-core
# CPU.

# %%
INIT_STEPS = nst.pick(80, 3)
init_panel = experiments.init_comparison(content, style, seeds=(0, 1), starts=("content", "recolored", "style"),
                                         size=SIZE, steps=INIT_STEPS, scales=nst.pick(2, 1))
init_panel.figure(with_inputs=True)

# %%
viz.loss_curves({label: r.history for label, r in zip(init_panel.labels, init_panel.results)},
                title="the same objective from five starting images")

# %% [markdown]
# At the real settings (`docs/figures/init_comparison.png` is such a run, without the recoloured start),
# starting from the photo keeps the most of it (the optimiser only travels as far as the loss asks);
# starting from the style image leaves traces of the painting's layout; the noise starts give images that
# differ in their details but not in their overall look — Gatys et al. report the same. The library
# starts from the recoloured photo by default: it keeps the photo's layout, and its colours are already
# the style's, so the optimiser has less to change (the project's benchmarks measured it reaching a given
# loss fastest; compare the curves above).

# %% [markdown]
# ## Further reading
#
# - D. P. Kingma, J. Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015 — the update of section 3
#   (Keras places ε slightly differently, as its documentation says).
# - D. C. Liu, J. Nocedal, *On the Limited Memory BFGS Method for Large Scale Optimization*, Mathematical
#   Programming, 1989 — L-BFGS.
# - R. H. Byrd, P. Lu, J. Nocedal, C. Zhu, *A Limited Memory Algorithm for Bound Constrained Optimization*,
#   SIAM Journal on Scientific Computing, 1995 — L-BFGS-B, what SciPy runs.
# - L. A. Gatys, A. S. Ecker, M. Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR
#   2016 — Figure 6, the starting points of section 8.

# %% [markdown]
# ## Summary
#
# - Style transfer optimises the pixels: `tf.GradientTape` (or `make_value_and_grad`) gives
#   `∂loss/∂pixel`, largest where textures and edges are.
# - Adam divides a running mean of the gradient by the root of a running mean of its square; in the first
#   steps every pixel whose gradient is large (`√(1 − β₂)·|g| ≫ ε`) moves by about the learning rate,
#   which is therefore in pixel units. `keras.optimizers.Adam` takes the same step on a `tf.Variable`.
# - `run_adam` and `run_lbfgs` keep the best image, stop on a time budget or a NaN, and report every step
#   to a callback with an `Iterate` event.
# - L-BFGS-B needs no learning rate, keeps pixels in `[0, 1]` exactly, and beats Adam by iteration and by
#   seconds on this problem for the first few hundred iterations (its lead shrinks in very long runs);
#   compare optimisers by seconds, not only by iterations.
# - The start matters: from the content you keep the most of the photo; from noise, different seeds give
#   different details; the library's default, the photo recoloured in the style's palette, reached a given
#   loss fastest in the project's benchmarks.
# - A training step is the loss and its gradient under a `tf.GradientTape`, the optimizer's step and a
#   clip, compiled with `tf.function` (Exercise 2).

# %% [markdown]
# ## Exercises
#
# Exercises 1 and 2 — one Adam step written out, and a training step with `tf.GradientTape` — are in
# section 3, before the code that answers them; if you skipped them, go back and write them now (notebook 08
# runs your training step).
#
# **Exercise 3 — from noise with Adam.** Run `nst.stylize(content, style, optimizer="adam", init="noise",
# size=LR_SIZE, steps=LR_STEPS, scales=1)` with learning rates 0.02 and 0.05. Why does a noise start
# want a larger learning rate than a content start?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# noise_runs = {lr: nst.stylize(content, style, optimizer="adam", init="noise", learning_rate=lr,
#                               size=LR_SIZE, steps=LR_STEPS, scales=1) for lr in (0.02, 0.05)}
# viz.loss_curves({f"noise, lr {lr:g}": r.history for lr, r in noise_runs.items()})
# ```
#
# Adam moves each pixel by at most about the learning rate per step (section 3). From the photo, the
# pixels only have to travel a little — the layout is already right. From noise every pixel starts at a
# random value, often far from where it has to end, and at 0.02 per step (five grey levels) a pixel needs
# tens of steps to cross the range; 0.05 gets there in fewer steps. In our run (128 px, 100 steps, offline
# VGG16) the loss at 0.05 was below the one at 0.02 for most of the run and ended about a third lower
# (1.0e7 against 1.5e7); both images still carried the noise's grain after 100 steps.
# </details>
#
# **Exercise 4 — equal time, not equal steps.** Give both optimisers the same budget:
# `nst.stylize(content, style, size=SIZE, steps=10_000, time_budget=30, optimizer=...)`. Compare
# `result.iterations`, the final `result.history[-1]["total"]` and the pictures.
#
# <details><summary><b>What you should see</b></summary>
#
# Adam does more iterations in the 30 s (each is one evaluation of the loss and its gradient), L-BFGS
# fewer (its line search sometimes evaluates more than once; `stylize`'s L-BFGS is a float32 one written in
# TensorFlow, and SciPy's L-BFGS-B, `optimizer="lbfgs-scipy"`, adds bookkeeping on top: 0.77 s against
# 0.62 s per iteration at 256 px in `docs/speed.md`). Expect the final total to be lower for
# L-BFGS all the same in a budget this short — in that benchmark it reached the loss of Adam's 150th step
# in about a quarter of Adam's time; `benchmarks/README.md` also has the long runs in which the order
# changes.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Choose the optimiser, Adam's learning rate, the start and the number of steps, then press **Run**: the
# run goes on in the background (the notebook stays usable), the image and the loss curves redraw every
# few steps, and **Stop** ends it early, keeping the best image so far. Every run is added to the curves,
# so run Adam and L-BFGS one after the other and compare them by iteration and by seconds.

# %%
from nst_lib.course.widgets.optimization import optimization_demo

optimization_demo()
