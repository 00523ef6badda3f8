"""Self-checks of notebook 07 ("Beyond Gatys"): a colour-preserving transfer through luminance, and the guided
Gram matrix.

Each ``check_*`` calls the learner's function on small known inputs, prints one ``✓`` line when it is right
and raises :class:`~nst_lib.course.checks.ExerciseError` naming the mistake when it is not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...color import combine_luminance, luminance, rgb_to_yiq
from ...gram import gram_matrix
from ._common import ExerciseError, exercise, _call, _close, _diagnose, _fail, _features, _name, _ok, _tf, _to_array

NOTEBOOK = "07"

@exercise("guided_gram_matrix")
def check_guided_gram_matrix(fn: Callable) -> None:
    """Check ``fn(features, mask)``: a guided Gram matrix ``(m·F)ᵀ (m·F) / Σ m²`` (notebook 07).

    ``features`` is (1, h, w, C) and ``mask`` (h, w) in [0, 1] at the features' resolution; the result is
    (C, C) or (1, C, C). Compared with :func:`nst_lib.gram_matrix` called with a mask (Gatys et al. 2017).
    """
    __tracebackhide__ = True
    h, w, c = 6, 5, 4
    feats = _features((1, h, w, c), seed=8)
    mask = np.zeros((h, w), np.float32)
    mask[1:5, 1:4] = np.random.default_rng(9).uniform(0.3, 1.0, size=(4, 3))
    expected = gram_matrix(feats, mask).numpy().astype(np.float64)[0]
    what = f"{_name(fn)}(features of shape {feats.shape}, mask of shape {mask.shape})"
    got = _to_array(_call(fn, _tf().constant(feats), _tf().constant(mask)), what)
    if got.shape not in ((1, c, c), (c, c)):
        raise _fail(f"{what} returned shape {got.shape}; expected ({c}, {c}): one row and column per channel")
    got = got.reshape(c, c)
    flat = feats.reshape(h * w, c).astype(np.float64)
    m = mask.reshape(h * w, 1).astype(np.float64)
    weighted = flat * m
    energy, total = float(np.sum(m**2)), float(np.sum(m))
    message = _diagnose(got, expected, [
        (f"you divided by the number of positions h·w = {h * w}, so a small region gives a small matrix; the result "
         "must describe the masked region alone, whatever its size", weighted.T @ weighted / (h * w)),
        ("you divided by Σ m; but the features are multiplied by m twice (once on each side of the product), so a "
         "soft mask is counted squared", weighted.T @ weighted / total),
        ("you multiplied by the mask on one side only: weight both copies of F, (m·F)ᵀ (m·F)",
         weighted.T @ flat / energy),
        ("you ignored the mask: this is the ordinary Gram matrix of the whole image", flat.T @ flat / (h * w)),
        ("you forgot to divide by Σ m²", weighted.T @ weighted),
    ])
    if message:
        raise _fail(message)
    if not _close(got, expected, rtol=1e-4):
        raise _fail(f"{what} differs from nst.gram_matrix(features, mask) (largest difference "
                    f"{np.max(np.abs(got - expected)):.3g}); test it on a mask of ones, which must give the plain "
                    "Gram matrix of notebook 03")
    _ok(f"{_name(fn)} matches nst.gram_matrix(features, mask): (m·F)ᵀ (m·F) / Σ m².")


# ------------------------------------------------------------------------ colour through luminance
def _smooth_colour_image(height: int, width: int, seed: int) -> np.ndarray:
    """A colourful smooth image whose luminance stays well inside [0, 1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [0.5 + 0.3 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y) + rng.uniform(0, 6))
                for _ in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)


def _is_grey(image: np.ndarray) -> bool:
    return image.ndim == 3 and image.shape[-1] == 3 and bool(np.allclose(image, image[..., :1], atol=2e-3))


@exercise("luminance_transfer")
def check_luminance_transfer(fn: Callable) -> None:
    """Check ``fn(photo, painting, transfer) -> image``: a colour-preserving transfer through luminance
    (notebook 07; Gatys et al. 2017, as ``nst.stylize(..., preserve_colors="luminance")``).

    ``transfer`` is replaced by a stand-in that records its inputs and returns a coloured pattern. It must be
    called once, on grey RGB images: the photo's luminance, and the painting's luminance with the photo's
    mean and standard deviation; the result must be the stand-in's luminance with the photo's I and Q
    (:func:`nst_lib.color.combine_luminance`).
    """
    __tracebackhide__ = True
    photo, painting = _smooth_colour_image(12, 10, seed=3), _smooth_colour_image(16, 14, seed=4)
    painting = (0.25 + 0.5 * painting ** 2).astype(np.float32)  # another mean and spread than the photo's
    calls: list[tuple[np.ndarray, np.ndarray]] = []
    pattern = _smooth_colour_image(12, 10, seed=5)

    def transfer(content, style):
        calls.append((np.array(content, np.float64), np.array(style, np.float64)))
        if len(calls) == 1:  # say what is wrong with the inputs before anything else can crash on them
            _check_transfer_inputs(*calls[0], photo, painting)
        return np.clip(0.6 * pattern + 0.4 * np.asarray(content, np.float32), 0.0, 1.0).astype(np.float32)

    what = f"{_name(fn)}(photo, painting, transfer)"
    got = _call(fn, photo.copy(), painting.copy(), transfer)
    if not calls:
        raise _fail(f"{what} never called transfer(content, style); the style transfer itself is its job")
    if len(calls) > 1:
        raise _fail(f"{what} called transfer {len(calls)} times; once is enough (it is the expensive part)")
    content, style = calls[0]
    result = _to_array(got, what)
    if result.shape != photo.shape:
        raise _fail(f"{what} returned shape {result.shape}; the result has the photo's shape {photo.shape}")
    expected = combine_luminance(transfer(content, style), photo).astype(np.float64)
    calls.pop()
    if _close(result, expected, rtol=0, atol=3e-3):
        _ok(f"{_name(fn)} transfers on grey images with matched luminance and gives the result the photo's colours.")
        return
    stand_in = transfer(content, style)
    if _close(result, stand_in, rtol=0, atol=3e-3):
        raise _fail(f"{what} returned the transfer's result as it is; keep only its luminance and give it the "
                    "photo's colours (I and Q)")
    if _is_grey(result):
        raise _fail(f"{what} returned a grey image; the photo's colour channels (I and Q) go back in at the end")
    if result.min() < -1e-6 or result.max() > 1 + 1e-6:
        raise _fail(f"{what} returned values from {result.min():.3g} to {result.max():.3g}; a bright luminance "
                    "with a saturated colour leaves the RGB cube, so keep the image valid")
    if _close(result, combine_luminance(stand_in, painting[:12, :10]), rtol=0, atol=3e-3):
        raise _fail(f"{what} put the painting's colours back; the colours to keep are the photo's")
    raise _fail(f"{what}: the result's luminance should be the transfer's and its I and Q the photo's; largest "
                f"difference {np.max(np.abs(result - expected)):.3g}")


def _check_transfer_inputs(content: np.ndarray, style: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> None:
    __tracebackhide__ = True
    for name, image, source in (("content", content, photo), ("style", style, painting)):
        if image.ndim != 3 or image.shape[-1] != 3:
            raise _fail(f"transfer received a {name} image of shape {image.shape}; it takes (H, W, 3) RGB images, "
                        "so give it the grey image as three equal channels")
        if image.shape[:2] != source.shape[:2]:
            other = "painting" if source is photo else "photo"
            raise _fail(f"transfer received a {name} image of size {image.shape[:2]}, the {other}'s size; "
                        "call transfer(content, style) with the photo first")
        if not _is_grey(image):
            raise _fail(f"transfer received a coloured {name} image; transfer on grey images only — the colours "
                        "come back from the photo at the end")
    y_photo, y_painting = luminance(photo).astype(np.float64), luminance(painting).astype(np.float64)
    if not _close(content[..., 0], y_photo, rtol=0, atol=2e-3):
        raise _fail("the grey content image is not the photo's luminance (the Y of YIQ)")
    got_y = style[..., 0]
    if _close(got_y, y_painting, rtol=0, atol=2e-3):
        raise _fail("the grey painting still has its own brightness and contrast; give its luminance the photo's "
                    "mean and standard deviation first, so the two grey images are comparable")
    if abs(got_y.mean() - y_photo.mean()) > 2e-3:
        raise _fail(f"the grey painting's mean luminance is {got_y.mean():.3f}; it should be the photo's, "
                    f"{y_photo.mean():.3f}")
    if abs(got_y.std() - y_photo.std()) > 2e-3:
        raise _fail(f"the grey painting's luminance has standard deviation {got_y.std():.3f}; it should be the "
                    f"photo's, {y_photo.std():.3f} (the mean is right)")
    if abs(np.corrcoef(got_y.ravel(), y_painting.ravel())[0, 1] - 1) > 1e-3:
        raise _fail("the grey painting is not the painting's luminance rescaled: keep its pattern, change only "
                    "its mean and spread")
