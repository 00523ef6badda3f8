"""The content photos a fast-transfer network trains on, and random crops of them (taught in notebook 10).

Offline, the network trains on the sample photos of installed packages. Two of them are **held out**
and never used in training, so that the notebook, the benchmarks and the README judge the network on
photos it has not seen:

* held out: ``grace_hopper`` (Matplotlib) and ``chelsea`` (scikit-image; ``skimage.data.cat`` is the same
  photo, so it is excluded too);
* training: ``astronaut``, ``coffee`` and ``rocket`` from :data:`nst_lib.data.CONTENT_IMAGES`, plus the
  greyscale scikit-image photos ``camera``, ``clock``, ``coins``, ``moon``, ``brick``, ``grass`` and
  ``gravel`` (turned into grey RGB: more shapes and textures to learn from).

With ``images=FOLDER`` (``nst train --images DIR``) the network trains on every image in that folder
instead. Each training sample is a random square crop of a photo rescaled by a random factor (its short
side between one and two crop sides), flipped left-right half of the time: ten photos give a large
variety of crops.

This module imports no TensorFlow.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import data
from .errors import ImageNotFoundError, InvalidImageError, InvalidSettingError
from .images import load_image, resize_to

#: Photos never used in training (names in :data:`nst_lib.data.CONTENT_IMAGES`).
HELD_OUT_PHOTOS: tuple[str, ...] = ("grace_hopper", "chelsea")
#: Photos of :data:`nst_lib.data.CONTENT_IMAGES` used in training.
TRAINING_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "rocket")
#: Greyscale ``skimage.data`` photos also used in training (``cat`` is ``chelsea``: never used).
EXTRA_TRAINING_PHOTOS: tuple[str, ...] = ("camera", "clock", "coins", "moon", "brick", "grass", "gravel")

#: File name endings read from an ``--images`` folder.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
#: Memory for decoded photos (each kept with its short side at most 2.5 crop sides); older ones are dropped.
_CACHE_BYTES = 256 * 2**20


def held_out_photo(name: str, size: int | None = None) -> np.ndarray:
    """A held-out photo (never used in training) as float32 (H, W, 3) in [0, 1], long side ``size``."""
    if name not in HELD_OUT_PHOTOS:
        raise InvalidSettingError(f"unknown held-out photo {name!r}; choose one of: {', '.join(HELD_OUT_PHOTOS)}")
    return data.content_image(name, size)


def _training_loaders() -> list[tuple[str, Callable[[], Any]]]:
    loaders = [(name, data.CONTENT_IMAGES[name].loader) for name in TRAINING_PHOTOS]

    def skimage_photo(name: str) -> Callable[[], np.ndarray]:
        def load() -> np.ndarray:
            import skimage.data

            return getattr(skimage.data, name)()

        return load

    return loaders + [(f"skimage:{name}", skimage_photo(name)) for name in EXTRA_TRAINING_PHOTOS]


def list_image_folder(folder: str | os.PathLike) -> list[Path]:
    """Every image file in ``folder`` (not recursive), checked to open as an image, sorted by name.

    Only the file headers are read here (fast even for thousands of files); a file that cannot be decoded
    later is reported then.

    Raises:
        ImageNotFoundError: the folder does not exist or is not a folder.
        InvalidImageError: it holds no image files, or one of them is not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(folder).expanduser()
    if not path.exists():
        raise ImageNotFoundError(f"image folder {str(path)!r} does not exist")
    if not path.is_dir():
        raise ImageNotFoundError(f"{str(path)!r} is not a folder; --images needs a folder of training photos")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InvalidImageError(
            f"image folder {str(path)!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}); put training photos in it"
        )
    for file in files:
        try:
            with Image.open(file) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError) as exc:
            raise InvalidImageError(
                f"{str(file)!r} in the image folder is not a readable image ({type(exc).__name__}); remove it"
            ) from None
        if min(width, height) < 8:
            raise InvalidImageError(f"{str(file)!r} is {width}x{height} px; training photos need both sides >= 8 px")
    return files


class PhotoSampler:
    """Random training crops: ``sampler.batch(n)`` → float32 (n, size, size, 3) in [0, 1].

    Args:
        size: side of the square crops.
        images: a folder of photos, or ``None`` for the offline training photos (module docstring).
        seed: seeds the random crops, scales and flips (the same seed gives the same batches).
    """

    def __init__(self, size: int, images: str | os.PathLike | None = None, seed: int = 0):
        self.size = int(size)
        self.rng = np.random.default_rng(seed)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        if images is None:
            self.sources: Sequence[Any] = [loader for _, loader in _training_loaders()]
            self.names = [name for name, _ in _training_loaders()]
        else:
            self.sources = list_image_folder(images)
            self.names = [p.name for p in self.sources]

    def __len__(self) -> int:
        return len(self.sources)

    def _photo(self, index: int) -> np.ndarray:
        """The photo at ``index``, decoded once, its short side at most 2.5 crop sides (cached)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        source = self.sources[index]
        try:
            photo = load_image(source() if callable(source) else source)
        except (InvalidImageError, ImageNotFoundError) as exc:
            raise InvalidImageError(f"training photo {self.names[index]}: {exc}") from None
        short = min(photo.shape[:2])
        limit = round(2.5 * self.size)
        if short > limit:
            scale = limit / short
            photo = resize_to(photo, max(1, round(photo.shape[0] * scale)), max(1, round(photo.shape[1] * scale)))
        self._cache[index] = photo
        while len(self._cache) > 1 and sum(p.nbytes for p in self._cache.values()) > _CACHE_BYTES:
            self._cache.popitem(last=False)
        return photo

    def crop(self) -> np.ndarray:
        """One random crop: a random photo, rescaled so its short side is 1–2 crop sides, flipped or not."""
        photo = self._photo(int(self.rng.integers(len(self.sources))))
        height, width = photo.shape[:2]
        short_side = self.size * float(np.exp(self.rng.uniform(0.0, np.log(2.0))))
        scale = short_side / min(height, width)
        new_h, new_w = max(self.size, round(height * scale)), max(self.size, round(width * scale))
        scaled = resize_to(photo, new_h, new_w)
        top = int(self.rng.integers(new_h - self.size + 1))
        left = int(self.rng.integers(new_w - self.size + 1))
        crop = scaled[top:top + self.size, left:left + self.size]
        if self.rng.random() < 0.5:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop, dtype=np.float32)

    def batch(self, count: int) -> np.ndarray:
        """``count`` random crops stacked: float32 (count, size, size, 3)."""
        return np.stack([self.crop() for _ in range(count)])
