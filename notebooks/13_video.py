# %% [markdown]
# # Video without flicker: optical flow, a warped start and a temporal loss
#
# Stylize the frames of a clip one by one and the result shimmers; carry each stylized frame along the motion to the next one, as Ruder, Dosovitskiy & Brox (2016) did, and it holds still.
#
# **What you'll build:** a flicker measure, the optical flow and its reliability mask seen on clips with known motion, the warped start, the temporal loss written by you, and a player that shows per-frame and steadied stylization side by side.

# %% [markdown]
# ## What you will learn
#
# - why stylizing **independent frames** flickers, and how to put a number on it: the mean squared change
#   between a stylized frame and the previous stylized frame carried along the motion;
# - what **optical flow** is (OpenCV's DIS), how to **warp** an image along it, and how the
#   **forward–backward check** finds the pixels where the flow cannot be trusted (disocclusions, motion
#   boundaries, pixels that left the frame);
# - the two ideas of Ruder et al.: start each frame from the **previous stylized frame warped** onto it,
#   and add a **temporal loss** on the reliable pixels — one more term of `stylize`'s objective;
# - what it costs (seconds per frame, style loss) and what `nst video` and `nst batch` do with it.

# %%
# %matplotlib inline
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_lib as nst
from nst_lib import data
from nst_lib.backbone import BackboneSubstitutionWarning
from nst_lib.clips import synthetic_clip
from nst_lib.course import checks, viz
from nst_lib.flow import flicker, flow_to_rgb, frame_motion, warp
from nst_lib.losses import TemporalTarget
from nst_lib.transfer import make_objective
from nst_lib.video import VideoSettings, blend_frames, stylize_frames

warnings.filterwarnings("ignore", category=BackboneSubstitutionWarning)  # offline, VGG16 stands in for VGG19
tf.get_logger().setLevel("ERROR")

SIZE = nst.pick(128, 64)  # frame width in pixels
FRAMES = nst.pick(12, 4)  # frames per clip
STEPS_FIRST, STEPS_LATER = nst.pick(40, 6), nst.pick(20, 3)  # L-BFGS iterations: the first frame, later ones
config = nst.StyleConfig(size=SIZE, steps=STEPS_FIRST)
style = data.style_image("swirls")
pan = synthetic_clip("pan", FRAMES, SIZE)
moving = synthetic_clip("object", FRAMES, SIZE)
NOTEBOOK_START = time.perf_counter()
viz.show_images([style, pan[0], pan[-1], moving[0], moving[-1]],
                ["style: swirls", "pan: first frame", "pan: last frame", "object: first", "object: last"])

# %% [markdown]
# ## 1. Why independent frames flicker
#
# The two clips are made by `nst_lib.clips` from a bundled photo: a camera **panning** sideways, and a
# **disc** cut from another photo gliding over a still background. Every frame is cut from the photo by one
# exact map, so the only change between frames is the motion.
#
# Stylize each frame on its own, with the same settings and the same start rule, and look at what happens
# to the brush strokes. `stylize_frames(..., temporal=False)` is exactly that: one `stylize` call per frame.
#
# ⏱ Real settings (12 frames at 128 px, 40 L-BFGS iterations each): **about a minute** on a 2-core CPU; fast
# mode a few seconds.

# %%
started = time.perf_counter()
per_frame = [r.image for r in stylize_frames(enumerate(pan), style, config=config, temporal=False)]
per_frame_seconds = (time.perf_counter() - started) / len(pan)
print(f"per-frame stylization: {per_frame_seconds:.1f} s per frame at {pan[0].shape[1]}×{pan[0].shape[0]} px")
viz.show_images(per_frame[:3], [f"frame {i}, on its own" for i in range(3)])

# %% [markdown]
# Side by side the frames look alike; the trouble is in *time*. To see it, we need to compare each stylized
# frame with the previous one **after following the motion**: if the camera moved 3 px to the right, the
# previous frame must be moved too before we subtract. That is what optical flow gives.
#
# ## 2. Optical flow, warping, and where the flow can be trusted
#
# `optical_flow(source, target)` (OpenCV's DIS, Kroeger et al. 2016) returns, for every pixel of `source`,
# the (dx, dy) in pixels to where it went in `target`. For frame *i* we use the **backward** flow, from
# frame *i* to frame *i − 1*: then `warp(previous, backward)` samples the previous frame at p + flow(p) and
# lines it up with frame *i*.
#
# Not every pixel of frame *i* was visible in frame *i − 1*. Ruder et al. compare the backward flow ŵ with
# the forward flow w (from *i − 1* to *i*): following ŵ back and then w forward must return to the start.
# Where it does not (|w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5), the pixel was **disoccluded**; where the flow
# changes abruptly it is a **motion boundary**; and where ŵ points outside the frame there is nothing to
# follow. `frame_motion` returns both flows and the resulting mask (1 = reliable).

# %%
motion = frame_motion(moving[1], moving[2])
error_before = np.abs(moving[2] - moving[1]).mean(axis=-1)
error_after = np.abs(moving[2] - warp(moving[1], motion.backward)).mean(axis=-1)
viz.show_images([moving[2], flow_to_rgb(motion.backward), motion.mask, error_before, error_after],
                ["object clip, frame 2", "backward flow (hue = direction)", "reliable (white)",
                 "|frame 2 − frame 1|", "|frame 2 − warped frame 1|"])
print(f"mean absolute change: {error_before.mean():.4f} before warping, {error_after.mean():.4f} after; "
      f"the mask keeps {motion.reliable_fraction:.1%} of the pixels")

# %% [markdown]
# The flow is only non-zero on the disc (the background is still), the mask is black along the disc's
# trailing edge, where background that was hidden in frame 1 appears, and after warping almost nothing is
# left of the change: the flow explains it.
#
# Now the flicker measure, `flicker(previous_stylized, stylized, motion)`: the mean squared difference
# between a stylized frame and the previous stylized frame warped onto it, over the reliable pixels, with
# the motion measured on the **input** frames (so any two stylizations of one clip are measured alike).

# %%
pan_motions = [frame_motion(a, b) for a, b in zip(pan, pan[1:])]


def flickers(frames):
    """Flicker of each frame after the first (the pan clip's motion)."""
    return [flicker(p, c, m) for p, c, m in zip(frames, frames[1:], pan_motions)]


def style_losses(frames):
    """The style loss of each stylized frame (stylize's objective, unweighted part), against its input."""
    return [float(make_objective(f, style, config=config).parts(x[np.newaxis])["style"]) for f, x in zip(pan, frames)]


print("flicker of the input frames themselves:  ", np.round(flickers(pan), 5))
print("flicker of per-frame stylization:         ", np.round(flickers(per_frame), 5))

# %% [markdown]
# The input frames follow their own motion almost exactly (interpolation leaves a little), while the
# per-frame stylization changes much more between frames: that extra change is the flicker you would see.
#
# ## 3. The warped start
#
# Ruder et al.'s first idea: start the optimisation of frame *i* not from the frame itself but from the
# **previous stylized frame warped onto it**. The strokes that already exist are carried along; the
# optimiser only has to repair what moved in from outside and the disoccluded parts. In `nst_lib` this is a
# `TemporalTarget(warped, mask, weight)` handed to `stylize`: it starts the run from `warped`, and with
# `weight=0` it adds no loss, so this cell shows the warped start alone.
#
# ⏱ Real settings (11 frames, 20 iterations each): **about half a minute** on a 2-core CPU; fast mode a few
# seconds.

# %%
warped_start = [per_frame[0]]
for i in range(1, len(pan)):
    carried = warp(warped_start[-1], pan_motions[i - 1].backward)
    result = nst.stylize(pan[i], style, config=config.replace(steps=STEPS_LATER),
                         temporal=TemporalTarget(carried, pan_motions[i - 1].mask, weight=0.0))
    warped_start.append(result.image)
print("flicker, warped start alone:", np.round(flickers(warped_start), 5))
viz.show_images([warp(per_frame[0], pan_motions[0].backward), warped_start[1], per_frame[1]],
                ["frame 0's result warped to frame 1", "frame 1 from that start", "frame 1 on its own"])

# %% [markdown]
# ## 4. The temporal loss — your turn
#
# The warped start is only a start: every iteration may wander away from it. Ruder et al.'s second idea is
# a **loss** that keeps each reliable pixel close to the warped previous frame ω:
#
# $$L_{temporal}(x, \omega, c) = \frac{1}{D} \sum_{k} c_k \, (x_k - \omega_k)^2, \qquad D = H \cdot W \cdot 3$$
#
# with c the mask (1 = reliable, 0 = occluded or a motion boundary). It is added to the objective with a
# weight: total = content_weight · content + style_weight · style + temporal_weight · temporal.
#
# **Exercise 1 — the temporal loss (self-checked).** Write `temporal_loss(image, warped, mask)` for
# `image` and `warped` of shape (1, H, W, 3) and `mask` of shape (1, H, W). The check compares it with
# `nst_lib.losses.temporal_loss` and says what is wrong; `checks.solution("temporal_loss")` reveals one
# answer when you want it.

# %% tags=["exercise"]
def temporal_loss(image, warped, mask):
    raise NotImplementedError  # mean over pixels and channels of mask · (image − warped)²


# %% tags=["raises-exception"]
checks.check_temporal_loss(temporal_loss)

# %% [markdown]
# Whichever version passes — yours or the reference (`checks.yours_or_reference` picks it) — measures the
# same number as the library's term on a real frame: the previous stylized frame warped onto frame 1 and
# frame 1 as stylized on its own.

# %%
my_temporal_loss = checks.yours_or_reference(temporal_loss=temporal_loss)
carried = warp(per_frame[0], pan_motions[0].backward)
args = (tf.constant(per_frame[1][np.newaxis]), tf.constant(carried[np.newaxis]),
        tf.constant(pan_motions[0].mask[np.newaxis]))
print(f"the temporal loss the next line uses: {float(my_temporal_loss(*args)):.6f}   library: "
      f"{float(nst.losses.temporal_loss(*args)):.6f}")

# %% [markdown]
# ## 5. Both ideas together
#
# `stylize_frames` runs the whole method: the first frame as usual (`STEPS_FIRST` iterations), every later
# frame from the warped previous result with the temporal term (`STEPS_LATER` iterations, weight
# `VideoSettings().temporal_weight`, measured in docs/video.md). It is one `stylize` call per frame: the
# term lives in the objective, not in a second loop.
#
# ⏱ Real settings (40 iterations for the first frame, 20 for each of the 11 others): **about 45 seconds** on
# a 2-core CPU; fast mode a few seconds.

# %%
settings = VideoSettings(steps_first=STEPS_FIRST, steps=STEPS_LATER)
started = time.perf_counter()
steadied = [r.image for r in stylize_frames(enumerate(pan), style, config=config, settings=settings)]
steadied_seconds = (time.perf_counter() - started) / len(pan)
table = {"per frame": per_frame, "warped start": warped_start, "warped start + temporal loss": steadied}
measured = {name: (np.mean(flickers(frames)), np.mean(style_losses(frames))) for name, frames in table.items()}
print(f"{'method':<30} {'mean flicker':>12} {'mean style loss':>16}")
for name, (mean_flicker, mean_style) in measured.items():
    print(f"{name:<30} {mean_flicker:>12.5f} {mean_style:>16.4g}")
base_flicker, base_style = measured["per frame"]
ours_flicker, ours_style = measured["warped start + temporal loss"]
print(f"\nflicker {ours_flicker / base_flicker:.2f}× per-frame's, style loss {ours_style / base_style:.2f}× per-frame's; "
      f"{steadied_seconds:.1f} s per frame against {per_frame_seconds:.1f} s")

# %%
fig, ax = plt.subplots(figsize=(7, 3))
for name, frames in table.items():
    ax.plot(range(1, len(pan)), flickers(frames), marker="o", label=name)
ax.set_xlabel("frame")
ax.set_ylabel("flicker (mean squared change)")
ax.set_yscale("log")
ax.legend()
plt.show()

# %% [markdown]
# Read the table from the run above: the warped start and the temporal loss lower the flicker, and the
# style loss column shows what the steadier frames cost in style. Later frames also need fewer iterations
# than the first, since they start close to a good answer.
#
# ## 6. A trained network: blend with the warped previous output
#
# A fast network (notebook 10) has no optimisation to add a loss to. `nst video --model` instead blends each
# output with the warped previous *result* where the flow is reliable: `(1 − b·c) · net(frame) + b·c · ω`.
# The per-frame results above stand in for a network's outputs here, to show what the blend does. Read both
# numbers it prints: averaging strokes that do not line up blurs them, so the blend buys steadiness with some
# of the style; a network's outputs differ less from frame to frame than independent optimisations do, and
# lose less (docs/video.md measures it).

# %%
blended = [r.image for r in blend_frames(zip(range(len(pan)), pan, per_frame), blend=0.5)]
print(f"per-frame flicker {np.mean(flickers(per_frame)):.5f} → blended {np.mean(flickers(blended)):.5f} "
      f"(blend 0.5); style loss {np.mean(style_losses(per_frame)):.4g} → {np.mean(style_losses(blended)):.4g}")

# %% [markdown]
# ## 7. From the command line, and many machines
#
# ```
# nst video clip.mp4 example:swirls -o styled.mp4 --size 256 --steps-first 300 --steps 150
# nst video frames/ example:swirls -o out/ --save-state state/      # later: --resume state/
# nst video clip.mp4 --model swirls.keras -o styled.gif --blend 0.5 --workers 2
# nst batch photos/ example:swirls -o styled/ --workers 2            # or --scheduler tcp://HOST:8786
# ```
#
# Optimisation-based video is **sequential**: each frame starts from the previous one. A fast network's
# passes are independent, so `--model` can spread them over Dask workers, as `nst batch` does with photos
# (docs/video.md explains `dask scheduler` / `dask worker` on other machines).

# %%
print(f"this notebook's runs took {time.perf_counter() - NOTEBOOK_START:.0f} s at {SIZE} px, {len(pan)} frames")

# %% [markdown]
# ## Summary
#
# - Independent frames flicker: each optimisation settles on its own strokes. The flicker measure follows
#   the motion of the *input* frames and averages the squared change over the reliable pixels.
# - Optical flow (DIS) lines frames up; the forward–backward check and the flow's gradient mark the pixels
#   it cannot explain.
# - Ruder et al.: start from the warped previous stylized frame, and add a temporal loss on the reliable
#   pixels — in `nst_lib`, a `TemporalTarget` handed to `stylize`.
# - A fast network is steadied by blending with its warped previous output.
#
# ## Exercises
#
# **Exercise 2 — the weight.** Run section 5 with `VideoSettings(temporal_weight=...)` ten times smaller and
# ten times larger. What happens to the flicker and to the style loss? Where would you set it?
#
# **Exercise 3 — the zoom and the rotation.** `synthetic_clip("zoom", ...)` and `synthetic_clip("rotate",
# ...)` move every pixel differently. Show their flow with `flow_to_rgb`, and measure the flicker of
# per-frame and steadied stylization on them.
#
# **Exercise 4 — the mask matters.** Replace the mask by ones everywhere (`np.ones_like(motion.mask)`) in the
# object clip. Where does the stylized disc leave a trail, and why?
#
# ## Interactive demo
#
# Press play: the per-frame stylization (left) and the steadied one (right) play in step, with each frame's
# flicker under them. The Play button runs in the browser, so the kernel stays free.

# %%
from nst_lib.course.widgets.video import video_demo

video_demo([per_frame, steadied], ["per frame", "warped start + temporal loss"],
           flickers=[flickers(per_frame), flickers(steadied)])
