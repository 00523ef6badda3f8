"""Notebook 13's demo: two stylizations of one clip played side by side (per-frame vs steadied).

The pure part, :func:`side_by_side`, lays out frame ``i`` of every clip with its label and its flicker;
the widget only wires a ``Play`` control (it runs in the browser: the kernel stays free while the clip
plays), a frame slider and a speed control to it. Every frame's picture is made once, up front.
"""
from __future__ import annotations

import html
from typing import Sequence

import ipywidgets as widgets
import numpy as np

from ...images import image_to_png_bytes
from .common import Demo

#: grey gap between the clips, in pixels
GAP = 6


def side_by_side(clips: Sequence[Sequence[np.ndarray]], index: int) -> np.ndarray:
    """Frame ``index`` of every clip, left to right, with a grey gap (float32 (H, W, 3) in [0, 1])."""
    frames = [np.asarray(clip[index], np.float32) for clip in clips]
    height = max(f.shape[0] for f in frames)
    gap = np.full((height, GAP, 3), 0.5, np.float32)
    parts = []
    for number, frame in enumerate(frames):
        padded = np.full((height, frame.shape[1], 3), 0.5, np.float32)
        padded[: frame.shape[0]] = frame
        parts += [gap, padded] if number else [padded]
    return np.concatenate(parts, axis=1)


def frame_caption(labels: Sequence[str], flickers: Sequence[Sequence[float]] | None, index: int) -> str:
    """One line under the frames: each clip's label and its flicker at this frame (from frame 1 on)."""
    if flickers is None or index == 0:
        return " | ".join(labels) + f" — frame {index}"
    parts = [f"{label}: flicker {values[index - 1]:.5f}" for label, values in zip(labels, flickers)]
    return " | ".join(parts) + f" — frame {index} (flicker: mean squared change after following the motion)"


class VideoDemo(Demo):
    """Play several stylizations of one clip in step (``clips``: lists of frames of one length)."""

    def __init__(self, clips: Sequence[Sequence[np.ndarray]], labels: Sequence[str],
                 flickers: Sequence[Sequence[float]] | None = None, fps: float = 8.0):
        lengths = {len(clip) for clip in clips}
        if len(lengths) != 1 or not lengths.pop():
            raise ValueError(f"the clips must have the same, non-zero number of frames; got {[len(c) for c in clips]}")
        self.labels, self.flickers = list(labels), flickers
        self.pictures = [image_to_png_bytes(side_by_side(clips, i)) for i in range(len(clips[0]))]
        last = len(self.pictures) - 1
        self.play = widgets.Play(value=0, min=0, max=last, interval=round(1000 / fps), description="play")
        self.frame_slider = widgets.IntSlider(value=0, min=0, max=last, description="frame")
        self.speed = widgets.Dropdown(options=[("slow", 4.0), ("normal", 8.0), ("fast", 16.0)], value=8.0,
                                      description="speed")
        widgets.jslink((self.play, "value"), (self.frame_slider, "value"))  # in the browser, without the kernel
        self.view = widgets.Image(format="png", value=self.pictures[0])
        self.caption = widgets.HTML()
        super().__init__("The same clip, stylized two ways (left and right play in step)",
                         [[self.play, self.frame_slider, self.speed], self.view, self.caption])
        self.frame_slider.observe(lambda _: self.show(), "value")
        self.speed.observe(lambda change: setattr(self.play, "interval", round(1000 / change["new"])), "value")
        self.show()

    def show(self) -> None:
        index = self.frame_slider.value
        self.view.value = self.pictures[index]
        self.caption.value = html.escape(frame_caption(self.labels, self.flickers, index))


def video_demo(clips: Sequence[Sequence[np.ndarray]], labels: Sequence[str] = ("per frame", "steadied"),
               flickers: Sequence[Sequence[float]] | None = None, fps: float = 8.0) -> VideoDemo:
    """The notebook 13 demo: ``clips`` played side by side with a Play button (non-blocking)."""
    return VideoDemo(clips, labels, flickers, fps)
