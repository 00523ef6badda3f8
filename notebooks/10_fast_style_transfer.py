# %% [markdown]
# # Fast style transfer: train a network, then stylize in one pass
#
# Optimisation takes minutes per image; a network trained once for a style (Johnson, Alahi & Fei-Fei 2016) stylizes a photo in a fraction of a second, with the losses you built in notebooks 03 and 04.
#
# **What you'll build:** an image-transformation network assembled layer by layer, trained here on the perceptual loss, watched as it learns on photos it never saw, and compared honestly with `stylize` on time and losses.

# %% [markdown]
# ## What you will learn
#
# - why a **feed-forward network** can replace the optimisation loop for one style, and what it costs:
#   training once, a little quality, one network per style;
# - the pieces of the **image-transformation network** of Johnson et al.: reflection padding, strided
#   convolutions and residual blocks — with two later changes that most implementations make:
#   **instance normalisation** in place of their batch normalisation (Ulyanov, Vedaldi & Lempitsky 2016),
#   and **resize-then-convolve** upsampling in place of their transposed convolutions, which leaves no
#   checkerboard (Odena, Dumoulin & Olah 2016);
# - the **perceptual loss**: `stylize`'s objective, measured on the network's outputs for a batch of
#   photos, and why each image needs its own Gram matrices;
# - how to train, checkpoint, stop and resume it (`nst.train_fast`, `nst train`), and how to read the
#   training curve;
# - how the network compares with optimisation on **held-out photos**: seconds per image, and the style
#   and content losses reached;
# - what **arbitrary-style** methods (AdaIN, WCT) change, and why training their decoders is out of reach
#   on a 2-core CPU.

# %%
# %matplotlib inline
import json
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image as PNG
from IPython.display import display

import nst_lib as nst
from nst_lib import data, fast
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.course import viz
from nst_lib.course.widgets.fast import TrainingRun, curve_png, snapshots_png
from nst_lib.fast_data import HELD_OUT_PHOTOS, TRAINING_PHOTOS, EXTRA_TRAINING_PHOTOS, PhotoSampler, held_out_photo

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # the training run's notes say it
tf.get_logger().setLevel("ERROR")

SIZE = nst.pick(256, 64)  # long side of the held-out photos we stylize and compare
TRAIN = nst.pick(dict(size=128, steps=300, batch_size=2, style_size=256),  # the notebook's training run
                 dict(size=64, steps=20, batch_size=2, style_size=64))
SNAPSHOTS = nst.pick([1, 30, 100, 300], [1, 10, 20])  # steps at which we look at the held-out photos
OPT_STEPS = nst.pick(100, 3)  # L-BFGS iterations of the stylize runs we compare with
STYLE = data.style_image_path("swirls")
style = data.style_image("swirls", size=SIZE)
photos = [held_out_photo(name, SIZE) for name in HELD_OUT_PHOTOS]
viz.show_images([style, *photos], ["style: swirls", *(f"{n} (held out)" for n in HELD_OUT_PHOTOS)])

# %% [markdown]
# ## 1. From an optimisation per image to a network per style
#
# `stylize` starts every photo from scratch: hundreds of forward and backward passes through VGG, each
# moving the pixels a little. Johnson et al. (ECCV 2016) and Ulyanov et al. (ICML 2016) turned this
# around: **train a network `T` once** so that `T(photo)` has a low loss for *any* photo, then stylize
# with one forward pass of `T`. The loss is the same objective as `stylize`'s, computed by the same VGG;
# the only change is *what* is optimised: the weights of `T`, over many photos, instead of the pixels of
# one image.
#
# The price: a network per style (and per set of loss weights), a training run that costs far more than
# one `stylize` call, and some quality — a network that has to serve every photo matches each one less
# closely than an optimisation dedicated to it. Section 6 measures how much.
#
# ## 2. The network, layer by layer
#
# `nst_lib.fast` builds Johnson et al.'s network with two later changes, and at half their width.
# Johnson et al. (2016) normalised with **batch** normalisation and upsampled with **transposed**
# (fractionally strided) convolutions; instance normalisation came from Ulyanov et al. (2016, *Instance
# Normalization: The Missing Ingredient for Fast Stylization*) and resize-then-convolve from Odena et al.
# (2016, *Deconvolution and Checkerboard Artifacts*) — both are explained below. The width: 16 channels in
# the first layer instead of 32. A convolution's cost grows with the product of its input and output channels, so half
# the width is about a quarter of the weights and of the operations (the weights are counted below). Its
# pieces:
#
# **Reflection padding.** A 9×9 convolution needs 4 pixels beyond the border. Zeros there would make the
# network paint a dark frame; mirroring the image does not:

# %%
tiny = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
padded = fast.ReflectionPadding2D(1)(tiny)
print(tiny[0, ..., 0], "\n→ padded by 1, mirrored at the borders:\n", padded.numpy()[0, ..., 0])

# %% [markdown]
# **Instance normalisation.** After each convolution, every channel of every image is normalised by *its
# own* mean and standard deviation over the positions, then scaled and shifted by learned `γ` and `β`:
#
# $$y_{bijc} = \gamma_c \frac{x_{bijc} - \mu_{bc}}{\sqrt{\sigma^2_{bc} + \epsilon}} + \beta_c,\qquad
# \mu_{bc} = \frac{1}{HW}\sum_{ij} x_{bijc}.$$
#
# Batch normalisation — what Johnson et al. used — shares its statistics across the batch; instance
# normalisation removes each image's own contrast, which Ulyanov et al. found makes stylization much
# better. A consequence you can
# check: an untrained network gives the same output, to within a grey level, for a photo and for the
# photo with its contrast and brightness changed, because the first convolution is linear and the
# normalisation after it removes any scale and shift per channel.
#
# **Exercise 1 — build it yourself: instance normalisation (self-checked).** Write `instance_norm(x)` for a
# batch `(B, H, W, C)` following the formula above, without `γ` and `β` (that is, `γ = 1`, `β = 0`) and with
# `ε = 1e-5`. Use TensorFlow operations: it must work on any batch size and image size. Replace
# `raise NotImplementedError`, then run the check; it says what is wrong. (Solution, on purpose only:
# `checks.solution("instance_norm")`.)

# %%
from nst_lib.course import checks
from nst_lib.course.checks_fast import check_batch_style_loss, check_instance_norm

# %% tags=["exercise"]
def instance_norm(x):
    """(B, H, W, C) → each image's channels normalised by their own mean and variance over the positions."""
    raise NotImplementedError


# %% tags=["raises-exception"]
check_instance_norm(instance_norm)

# %% [markdown]
# The library's network, untrained, and a photo with its contrast changed:

# %%
network = fast.build_network(width=16, residual_blocks=5, seed=0)
photo = photos[0][np.newaxis]
changed = 0.5 * photo + 0.2  # lower contrast, brighter
difference = np.abs(network(photo).numpy() - network(changed).numpy()).max()
print(f"largest output difference between the photo and its contrast-changed copy: {difference:.2e} "
      f"({difference * 255:.2f} of one grey level out of 255)")
assert difference < 1 / 255  # not exactly 0: the ε under the square root

# %% [markdown]
# **Down, residual, up.** Two stride-2 convolutions take the image to a quarter of its size with 4×16 = 64
# channels; five **residual blocks** (`x + F(x)`, two 3×3 convolutions) do most of the work at that
# resolution, where each operation is 16 times cheaper than at full size; two upsampling steps bring it
# back.
#
# **Resize, then convolve.** The obvious way up, and Johnson et al.'s, is a transposed convolution with
# stride 2; but where its
# 3×3 kernel overlaps itself, some output pixels receive two contributions and others one: a
# **checkerboard** that training has to fight (Odena et al. 2016). Nearest-neighbour resizing followed by
# an ordinary convolution treats every output pixel alike. On a flat grey image with a kernel of ones:

# %%
flat = tf.ones((1, 8, 8, 1))
ones = tf.keras.initializers.Ones()
transposed = tf.keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", kernel_initializer=ones,
                                             use_bias=False)(flat)[0, 2:-2, 2:-2, 0].numpy()
resize_conv = tf.keras.layers.Conv2D(1, 3, padding="same", kernel_initializer=ones, use_bias=False)(
    tf.keras.layers.UpSampling2D(2)(flat))[0, 2:-2, 2:-2, 0].numpy()
print("transposed convolution, inside values:", np.unique(transposed), "→ a checkerboard")
print("resize then convolve,   inside values:", np.unique(resize_conv), "→ flat")
# each output divided by twice its own mean: a flat output is mid-grey (white would vanish into the page)
viz.show_images([transposed / (2 * transposed.mean()), resize_conv / (2 * resize_conv.mean())],
                ["transposed convolution", "resize, then convolve"], size=2.5)

# %% [markdown]
# **The whole network** ends with a 9×9 convolution to three channels and a sigmoid, so its output is an
# image in `[0, 1]` like `stylize`'s. Here it is, block by block, on a held-out photo (any size works: the
# network pads to a multiple of 4 and crops back):

# %%
x = photo
rows = []
for block in [*network.encoder, *network.residuals, *network.decoder]:
    x = block(x)
    rows.append((block.name, tuple(x.shape[1:]), block.count_params()))
x = network.to_rgb(network.to_rgb_pad(x))
rows.append(("to_rgb (9×9, sigmoid)", tuple(x.shape[1:]), network.to_rgb.count_params()))
print(f"{'block':<24}{'output (h, w, channels)':<26}{'weights':>8}")
for name, shape, count in rows:
    print(f"{name:<24}{str(shape):<26}{count:>8,}")
print(f"{'total':<50}{network.count_params():>8,}")
johnson_width = fast.build_network(width=32, residual_blocks=5, seed=0).count_params()
print(f"Johnson et al.'s width 32: {johnson_width:,} weights, {johnson_width / network.count_params():.1f}× ours")
odd = np.random.default_rng(0).random((1, 37, 53, 3), dtype=np.float32)
print("a 37×53 input gives", network(odd).shape[1:3], "— the same size")

# %% [markdown]
# ## 3. The perceptual loss
#
# Training shows the network random crops of photos (random scales and flips: `nst_lib.fast_data`), and
# measures each output with `stylize`'s objective: the content loss against the crop itself, the style
# loss against the style's Gram matrices. `nst_lib.fast.perceptual_losses` is nothing but
# `nst_lib.losses.content_loss`, `style_loss` and `total_variation_loss` applied to a batch — with one
# subtlety: **each image gets its own Gram matrices**, and the style losses are averaged. A single Gram
# matrix over the whole batch would let one image be all blue and another all yellow.
#
# **Exercise 2 — build it yourself: the style loss of a batch (self-checked).** Write
# `batch_style_loss(features, target_grams, layer_weights)`: `features` maps each style layer to a batch
# `(B, h, w, C)`, `target_grams` maps it to the style's `(C, C)` Gram matrix, and the result is the mean
# over the `B` images of `Σ_l w_l · mean((G_l − A_l)²)`, with `G_l` that image's own Gram matrix (notebook
# 03's definition). The check includes a batch in which one image is too blue and another too yellow.
# (Solution, on purpose only: `checks.solution("batch_style_loss")`.)

# %% tags=["exercise"]
def batch_style_loss(features, target_grams, layer_weights):
    """Mean over the batch of Σ_l w_l · mean((G_l − A_l)²), each image with its own Gram matrices."""
    raise NotImplementedError


# %% tags=["raises-exception"]
check_batch_style_loss(batch_style_loss)
#
# The photos: offline, the sample photos of installed packages. Two are **held out** — never used in
# training — so we can judge the network on photos it has not seen:

# %%
sampler = PhotoSampler(TRAIN["size"], seed=0)
print("held out (never trained on):", ", ".join(HELD_OUT_PHOTOS))
print("training photos:", ", ".join(sampler.names))
crops = sampler.batch(6)
viz.show_images(list(crops), [f"crop {i + 1}" for i in range(6)], ncols=6, size=1.6)

# %% [markdown]
# One deviation from `stylize`: the content layer. `stylize` starts from the photo itself (recoloured), so
# the deep `block5_conv2` only has to hold the layout; an untrained network starts from nothing, and with
# the content measured that deep it learns the texture long before the photo's shapes (in a 60-step trial
# the held-out faces were barely recognisable, against clearly visible with `block4_conv2`). Training
# therefore uses `block4_conv2`, Gatys et al.'s own content layer (`conv4_2`), with `content_weight = 1e3`
# (`nst.TrainSettings`); the comparison in section 6 runs `stylize` with exactly this objective.

# %%
settings = nst.TrainSettings(**TRAIN)
print({k: v for k, v in settings.to_dict().items() if k in
       ("size", "steps", "batch_size", "content_layers", "style_layers", "content_weight", "style_weight",
        "tv_weight", "style_size", "learning_rate", "width")})

# %% [markdown]
# ## 4. Training it here
#
# `TrainingRun` calls `nst.train_fast` in a background thread, so the notebook stays responsive: the panel
# shows the step, the loss curve and the network's output on the held-out photos at the steps in
# `SNAPSHOTS`. **Stop** ends training after the current step and keeps the network. The next cell waits
# for the end (interrupting the kernel there stops training too).
#
# ⏱ The real settings (300 steps of 2 crops at 128 px) take **about 2 minutes** on a 2-core CPU (the wait in
# the cell after the panel). Fast mode runs 20 steps at 64 px. Your run's time is printed below.

# %%
run = TrainingRun(STYLE, photos=photos, snapshot_steps=SNAPSHOTS, options=dict(settings=settings))
run.start()
run.panel

# %%
model = run.result()
history = model.history
# the first step also traces the graph: time the others
seconds_per_step = (history[-1]["seconds"] - history[0]["seconds"]) / max(1, len(history) - 1)
print(f"{model.message}: {model.steps} steps in {model.train_seconds:.0f} s, {seconds_per_step:.2f} s a step "
      f"after the first (which also builds the graph: {history[0]['seconds']:.0f} s)")
for note in model.notes:
    print("note:", note)

# %% [markdown]
# ## 5. Watching it learn
#
# The loss of each step is measured on that step's random crops, so it is noisy (the faint lines); the
# smoothed curves show the trend. The style loss falls first — the network learns the palette and the
# texture — and the content loss follows as it learns to keep the photo's shapes. The held-out photos,
# which the network never saw, show the same story:

# %%
display(PNG(curve_png(model.history, f"training loss, {model.steps} steps", content_weight=settings.content_weight,
                      style_weight=settings.style_weight)))
display(PNG(snapshots_png(run.snapshots, photos)))

# %% [markdown]
# ## 6. Network against optimisation, honestly
#
# Same photos (held out), same style, same objective: the network's one pass against `stylize` with
# `OPT_STEPS` L-BFGS iterations (`settings.style_config()` is the `StyleConfig` with the training
# objective). `fast.evaluate_stylization` scores both images with `stylize`'s own `Objective`.
#
# ⏱ Real settings (2 held-out photos at 256 px, 100 L-BFGS iterations each): **about a minute** on a
# 2-core CPU; the network's own passes take a fraction of a second.

# %%
config = settings.style_config().replace(size=SIZE, steps=OPT_STEPS)
comparison = []
for name, photo_q in zip(HELD_OUT_PHOTOS, photos):
    start = time.perf_counter()
    ours = model.stylize(photo_q)
    ours_seconds = time.perf_counter() - start
    reference = nst.stylize(photo_q, STYLE, config=config)
    score = {k: fast.evaluate_stylization(image, photo_q, STYLE, settings.replace(style_size=SIZE))
             for k, image in (("network", ours), ("stylize", reference.image))}
    comparison.append((name, photo_q, ours, ours_seconds, reference, score))

print(f"{'photo':<14}{'method':<22}{'seconds':>9}{'style loss':>12}{'content loss':>14}")
for name, _, _, ours_seconds, reference, score in comparison:
    print(f"{name:<14}{'network (1 pass)':<22}{ours_seconds:>9.3f}{score['network']['style']:>12.4g}"
          f"{score['network']['content']:>14.4g}")
    print(f"{'':<14}{f'stylize ({reference.iterations} L-BFGS)':<22}{reference.elapsed:>9.1f}"
          f"{score['stylize']['style']:>12.4g}{score['stylize']['content']:>14.4g}")
    print(f"{'':<14}{'ratio network/stylize':<22}{ours_seconds / reference.elapsed:>9.2g}"
          f"{score['network']['style'] / score['stylize']['style']:>12.3g}"
          f"{score['network']['content'] / score['stylize']['content']:>14.3g}")
for name, _, _, ours_seconds, reference, score in comparison:
    lower = "stylize" if score["stylize"]["style"] < score["network"]["style"] else "the network"
    print(f"{name}: the network took {ours_seconds / reference.elapsed:.2%} of stylize's time; "
          f"{lower} reached the lower style loss")
viz.show_images([im for _, p, o, _, r, _ in comparison for im in (p, o, r.image)],
                [t for n, *_ in comparison for t in (n, "network, one pass", f"stylize, {OPT_STEPS} L-BFGS")], ncols=3)

# %% [markdown]
# Where optimisation reaches the lower loss, it is because it serves one photo — and starts from it —
# while the network serves all photos with the same weights and starts from nothing. Training longer
# helps less than one might hope: a few hundred steps are a small fraction of the 40,000 steps of 4
# images that Johnson et al. trained for, yet in the project's benchmark below the held-out ratios barely
# moved between 30 and 60 minutes of training.
#
# The project's benchmark (`make fast-model`, i.e. `python benchmarks/fast.py train --time-budget 1800`
# then `python benchmarks/fast.py measure`) trains the same network for 30 minutes and measures it at the
# real sizes; a second run continued it for 30 more minutes, keeping a copy every 100 steps. Their
# results, as recorded in the repository (the README discusses them):

# %%
results = Path("../benchmarks/results/fast_512.json")
if results.exists():
    bench = json.loads(results.read_text())
    m, inf = bench["model"], bench["inference"]
    print(f"trained {m['steps']} steps in {m['train_seconds'] / 60:.0f} min on {bench['machine']['cpu']} "
          f"({bench['machine']['cores']} cores, mean load {bench['load_1min_mean']:.1f} while measuring)")
    print(f"inference at {inf['size'][1]}×{inf['size'][0]} px: {inf['median_seconds']:.2f} s (model loaded); "
          f"stylize to the same style loss: {bench['stylize_to_model_style']['seconds']:.0f} s "
          f"→ {bench['speedup']:.0f}× faster")
    for q in bench["quality"]:
        print(f"{q['photo']}: style loss {q['style_ratio']:.2f}× and content loss {q['content_ratio']:.2f}× "
              f"those of {q['stylize']['iterations']} L-BFGS iterations")
    curve = Path("../benchmarks/results/fast_curve.json")
    if curve.exists():
        print("held-out ratios (style, content) of the copies kept while training went on:")
        for row in json.loads(curve.read_text())["snapshots"]:
            ratios = ", ".join(f"{name} {p['style_ratio']:.2f}, {p['content_ratio']:.2f}" for name, p in row["photos"].items())
            print(f"  {row['steps']:>5} steps ({row['train_seconds'] / 60:.0f} min): {ratios}")
else:
    print("no benchmark results in this checkout; run: make fast-model")

# %% [markdown]
# ## 7. One network for every style: AdaIN and WCT
#
# Our network knows one style. **Arbitrary style transfer** removes that limit:
#
# - **AdaIN** (Huang & Belongie, ICCV 2017) encodes photo and style with VGG up to `relu4_1`, gives each
#   channel of the photo's features the **mean and standard deviation** of the style's —
#   `AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y)`, instance normalisation with the style's statistics as `γ`
#   and `β` — and decodes the result with a **decoder** network. The decoder is *not* trained to invert
#   VGG: its loss is a content loss between the VGG features of the decoded image and the AdaIN target
#   `t = AdaIN(x, y)` (at `relu4_1`), plus a style loss that matches the **means and standard
#   deviations** of the decoded image's VGG features to the style's (at `relu1_1 … relu4_1`).
# - **WCT** (Li et al., NeurIPS 2017) matches the full **covariance** of the features instead (whitening,
#   then colouring), at five VGG levels, with one decoder per level; it needs no training on styles at all:
#   its decoders are the ones trained to invert VGG, reconstructing images from their own VGG features.
#
# The feature-space step is one line; here it is at `block4_conv1`, checked. (One catch shows up: a channel
# that is zero everywhere in the photo — VGG's ReLUs make many — has no spread to rescale.)

# %%
extractor = nst.FeatureExtractor(["block4_conv1"])
content_features = extractor(photos[0][np.newaxis])["block4_conv1"]
style_features = extractor(style[np.newaxis])["block4_conv1"]
mean_c, var_c = tf.nn.moments(content_features, axes=[1, 2], keepdims=True)
mean_s, var_s = tf.nn.moments(style_features, axes=[1, 2], keepdims=True)
adain = tf.sqrt(var_s + 1e-5) * (content_features - mean_c) / tf.sqrt(var_c + 1e-5) + mean_s
mean_a, var_a = tf.nn.moments(adain, axes=[1, 2], keepdims=True)
varies = (var_c > 1e-3).numpy().ravel()  # post-ReLU channels that are zero all over the photo cannot vary
print("largest difference of channel means from the style's:",
      f"{float(tf.reduce_max(tf.abs(mean_a - mean_s))):.2g} (style means up to {float(tf.reduce_max(mean_s)):.3g})")
std_gap = np.abs(np.sqrt(var_a.numpy()) - np.sqrt(var_s.numpy())).ravel()
print(f"largest difference of channel std from the style's, over the {varies.sum()} channels that vary in the "
      f"photo: {std_gap[varies].max():.2g}")
print(f"{(~varies).sum()} of {varies.size} channels are zero all over the photo: AdaIN can give them the style's "
      "mean, but no spread")

# %% [markdown]
# What turns these features back into an image is the expensive part. Huang & Belongie train their decoder
# (a mirror of VGG up to `relu4_1`) on MS-COCO photos and WikiArt paintings (about 80,000 of each, tens of
# gigabytes that this offline machine cannot download); their reference code runs 160,000 steps of 8
# crops at 256 px: 1.3 million crops. The decoder's size, counted from its layers, and the time at the
# speed we just measured, scaled to 256 px crops (4× the pixels of 128 px) and ignoring that the decoder
# is larger than our network:

# %%
decoder_channels = [(512, 256), (256, 256), (256, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64), (64, 3)]
decoder_weights = sum(9 * cin * cout + cout for cin, cout in decoder_channels)
print(f"AdaIN decoder: {decoder_weights:,} weights, {decoder_weights / network.count_params():.1f}× our network")
seconds_per_crop_128 = seconds_per_step / settings.batch_size * (128 / settings.size) ** 2
crops_needed = 160_000 * 8
days = crops_needed * seconds_per_crop_128 * 4 / 86_400
print(f"our training: {seconds_per_crop_128:.2f} s per 128 px crop (measured above, rescaled to 128 px)")
print(f"an AdaIN decoder: {crops_needed:,} crops of 256 px ≈ {days:,.0f} days on this machine, at the least")

# %% [markdown]
# That is why this course trains one network per style, which fits in half an hour, and leaves arbitrary
# styles to optimisation, which needs no training at all.
#
# ## Summary
#
# - A feed-forward network trained with the perceptual loss — `stylize`'s objective on its outputs —
#   stylizes a photo in one pass: `nst.train_fast(style) → FastModel`, `model.stylize(photo)`, or
#   `nst train STYLE -o MODEL.keras` and `nst stylize PHOTO --model MODEL.keras -o OUT`.
# - Its pieces: reflection padding (no dark borders), instance normalisation (each image's own contrast
#   removed; Ulyanov et al., where Johnson et al. used batch normalisation), residual blocks at a quarter
#   of the resolution, resize-then-convolve upsampling (no checkerboard; Odena et al., where Johnson et al.
#   used transposed convolutions), a sigmoid to `[0, 1]` (Johnson et al.: a scaled tanh).
# - In a batch, every image gets its own Gram matrices; the losses are averaged.
# - Training writes checkpoints atomically, stops cleanly on Ctrl-C or Stop, and resumes with its
#   optimizer state and step count (`resume=`, `--resume`).
# - On held-out photos the network needs a tiny fraction of optimisation's time per image but reaches
#   higher losses: in the project's benchmark about twice the style loss and 5–8 times the content loss of
#   100 L-BFGS iterations, after 30 minutes of training and still after 60.
# - Arbitrary-style methods (AdaIN, WCT) replace the per-style network by a statistic matched in VGG's
#   feature space and a decoder — whose training is far beyond a 2-core CPU.

# %% [markdown]
# ## Exercises
#
# Exercises 1 and 2 — instance normalisation and the style loss of a batch — are in sections 2 and 3,
# before the code that relies on them.
#
# **Exercise 3 — more steps.** Continue the notebook's network for as many steps again:
# `more = nst.train_fast(STYLE, resume=model, steps=2 * model.steps)`. Plot `more.history` with
# `curve_png`, and stylize the held-out photos again. Which loss keeps falling? Does the picture change
# as much as the curve?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# more = nst.train_fast(STYLE, resume=model, steps=2 * model.steps, settings=settings)
# display(PNG(curve_png(more.history, f"{more.steps} steps", content_weight=settings.content_weight,
#                       style_weight=settings.style_weight)))
# viz.show_images([model.stylize(p) for p in photos] + [more.stylize(p) for p in photos],
#                 [f"{n}, {model.steps} steps" for n in HELD_OUT_PHOTOS] + [f"{n}, {more.steps} steps" for n in HELD_OUT_PHOTOS])
# ```
#
# The history continues where it stopped (same step numbers, same optimizer state). The smoothed curves
# keep falling, more slowly than in the first run, and the per-step noise of the random crops is now as
# large as the trend, so judge by the smoothed lines. Whether the pictures change as much is what the two
# rows answer; expect less than the curves suggest. The project's 30-minute model shows how slowly the
# held-out losses move late in training: between 707 and 1379 steps its held-out style and content ratios
# against `stylize` went up and down by 10–20 % without a steady trend (the table printed in section 6, from
# `benchmarks/results/fast_curve.json`).
# </details>
#
# **Exercise 4 — brush-stroke size.** The network paints strokes the size they have in the style image at
# `style_size` pixels. Train two short runs with `style_size=128` and `style_size=384` and compare them on
# the same photo: what happens to the strokes, and to the speed of training?
#
# <details><summary><b>What you should see</b></summary>
#
# ```python
# runs = {s: nst.train_fast(STYLE, settings=settings.replace(style_size=s)) for s in (128, 384)}
# viz.show_images([runs[s].stylize(photos[0]) for s in runs], [f"style_size {s}" for s in runs])
# print({s: round(r.train_seconds) for s, r in runs.items()})
# ```
#
# With `style_size=384` the swirls are three times as large relative to the network's 128 px crops as with
# 128, so the network paints fewer, larger swirls; with 128 the texture is fine-grained. The training speed
# hardly changes: the style image goes through VGG once, to compute its Gram matrices, and every training
# step then works on the crops only — compare the two printed times.
# </details>
#
# **Exercise 5 — your photos.** Put a few dozen of your own photos in a folder and train with
# `nst train example:swirls -o mine.keras --images FOLDER --time-budget 600`. Is the network better on
# photos like yours than the one trained on the bundled photos?
#
# <details><summary><b>What you should see</b></summary>
#
# Compare the two networks on photos *you did not train on*, with the same measure as section 6:
# `fast.evaluate_stylization(image, photo, STYLE, settings)` for each network's output, at the same size.
# Ten minutes is a few hundred steps, so both networks are young, and the difference is mostly in the content
# loss: a network that has seen faces keeps faces better, one that has seen landscapes keeps horizons. If
# your photos are close to each other (one room, one person), expect a network that does well on more of
# the same and worse elsewhere — a few dozen photos are few, which is why Johnson et al. trained on the
# 80,000 of MS-COCO.
# </details>

# %% [markdown]
# ## Interactive demo
#
# Pick a photo (the held-out ones were never seen in training) or upload your own, choose the size, and
# move the slider to blend the network's output with the photo. Each new photo or size costs one forward
# pass; the slider only mixes two images, so it answers at once. `fast_demo()` with no argument opens the
# 30-minute model made by `make fast-model`.

# %%
from nst_lib.course.widgets.fast import fast_demo

fast_demo(model)
