"""Example images that work without a network (used in notebooks 00, 01, 03 and 06).

Three sources, from most to least available:

* **Content photos** from packages that are installed anyway (Matplotlib and scikit-image), read at
  run time and never copied into this repository: :data:`CONTENT_IMAGES`, :func:`content_image`.
* **Style images** painted by code (``scripts/procedural.py``, run by ``scripts/make_style_images.py``)
  into the repository's ``images/styles/``; a built wheel carries the same files as package data
  (``nst_lib/styles/``, see ``pyproject.toml``), so a non-editable install finds them too:
  :data:`STYLE_IMAGES`, :func:`list_style_images`, :func:`style_image`.
* **Your photos**: image files you drop into ``images/yours/`` (git-ignored), picked by file name like the
  bundled ones (``example:NAME`` in the CLI, the notebooks' example pickers): :func:`your_images_dir`,
  :func:`list_your_images`, :func:`your_image`; :func:`example_image` looks a name up in all three.
* **Real paintings** (public-domain reproductions on Wikimedia Commons) for users with internet,
  downloaded once into the Keras cache: :data:`PAINTINGS`, :func:`download_painting`.

Every image comes back as the library's standard float32 (H, W, 3) array in [0, 1], made by
:func:`nst_lib.images.load_image` (imported inside the functions, so this module stays cheap).
"""
from __future__ import annotations

import os
import pathlib
import textwrap
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import InvalidImageError, InvalidSettingError, NSTError
from .images import load_image

__all__ = [
    "CONTENT_IMAGES",
    "PAINTINGS",
    "STYLE_IMAGES",
    "ExampleImage",
    "Painting",
    "content_image",
    "YOUR_IMAGES_ENV",
    "describe_examples",
    "download_painting",
    "example_image",
    "example_pair",
    "list_content_images",
    "list_paintings",
    "list_style_images",
    "list_your_images",
    "style_image",
    "style_image_path",
    "your_image",
    "your_images_dir",
]

#: The style images in ``images/styles/`` (512 × 512 px PNGs painted by ``scripts/procedural.py``
#: with seed 0): name → one-line description.
STYLE_IMAGES: dict[str, str] = {
    "swirls": "Van Gogh: thick, short impasto brush strokes swirling along a smooth flow field.",
    "stained_glass": "Stained glass: a Voronoi mosaic of saturated jewel colours held by dark lead lines.",
    "composition": "Kandinsky: a geometric abstract composition on a warm, mottled ground.",
    "woodcut_waves": "Hokusai woodcut: rows of curling waves cut with parallel lines, in a few flat inks.",
    "pointillism": "Seurat: a sunny park scene built only from small dots of pure, unmixed colour.",
    "cubist": "Analytic cubism: an image shattered into shaded, overlapping facets in earthy tones.",
}


class ExampleImage(NamedTuple):
    """A content photo that an installed package provides: ``(description, credit, loader)``."""

    description: str
    credit: str
    #: Returns something :func:`nst_lib.images.load_image` accepts (a path or a uint8 array).
    loader: Callable[[], Any]


def _grace_hopper() -> str:
    import matplotlib.cbook

    return str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    load.__name__ = f"skimage_data_{name}"
    return load


#: Content photos shipped inside installed packages (loaded offline, at run time).
CONTENT_IMAGES: dict[str, ExampleImage] = {
    "grace_hopper": ExampleImage(
        "Portrait of Rear Admiral Grace Hopper in uniform (600x512)",
        "U.S. Navy photograph, public domain; from Matplotlib's sample data (grace_hopper.jpg)",
        _grace_hopper,
    ),
    "astronaut": ExampleImage(
        "Astronaut Eileen Collins in front of the US flag (512x512)",
        "NASA, public domain; from scikit-image (skimage.data.astronaut)",
        _skimage("astronaut"),
    ),
    "coffee": ExampleImage(
        "A cup of coffee on a wooden table (400x600)",
        "Rachel Michetti, courtesy of Pikolo Espresso Bar, CC0; from scikit-image (skimage.data.coffee)",
        _skimage("coffee"),
    ),
    "chelsea": ExampleImage(
        "Chelsea the cat (300x451)",
        "Stefan van der Walt, CC0; from scikit-image (skimage.data.chelsea)",
        _skimage("chelsea"),
    ),
    "rocket": ExampleImage(
        "Launch of a SpaceX Falcon 9 carrying DSCOVR (427x640)",
        "SpaceX, public domain; from scikit-image (skimage.data.rocket)",
        _skimage("rocket"),
    ),
}


class Painting(NamedTuple):
    """A public-domain reproduction of a painting on Wikimedia Commons."""

    title: str
    artist: str
    year: str
    url: str
    fname: str


# These addresses are 1280-px thumbnails of well-known Wikimedia Commons files (the directory part is
# the MD5 of the file name, checked here), but they could NOT be fetched from the offline machine this
# was written on. If one moves, pass ``origin=`` to download_painting, or download the file in a
# browser and pass ``origin="file:///path/to/file.jpg"``.
_COMMONS = "https://upload.wikimedia.org/wikipedia/commons/thumb"

#: Real paintings for users with internet access (notebook 06); see :func:`download_painting`.
PAINTINGS: dict[str, Painting] = {
    "starry_night": Painting(
        "The Starry Night",
        "Vincent van Gogh",
        "1889",
        f"{_COMMONS}/e/ea/Van_Gogh_-_Starry_Night_-_Google_Art_Project.jpg/"
        "1280px-Van_Gogh_-_Starry_Night_-_Google_Art_Project.jpg",
        "starry_night.jpg",
    ),
    "great_wave": Painting(
        "The Great Wave off Kanagawa",
        "Katsushika Hokusai",
        "c. 1831",
        f"{_COMMONS}/0/0a/The_Great_Wave_off_Kanagawa.jpg/1280px-The_Great_Wave_off_Kanagawa.jpg",
        "great_wave.jpg",
    ),
    "composition_vii": Painting(
        "Composition VII",
        "Wassily Kandinsky",
        "1913",
        f"{_COMMONS}/b/b4/Vassily_Kandinsky%2C_1913_-_Composition_7.jpg/"
        "1280px-Vassily_Kandinsky%2C_1913_-_Composition_7.jpg",
        "composition_vii.jpg",
    ),
    "the_scream": Painting(
        "The Scream",
        "Edvard Munch",
        "1893",
        f"{_COMMONS}/c/c5/Edvard_Munch%2C_1893%2C_The_Scream%2C_oil%2C_tempera_and_pastel_on_cardboard%2C"
        "_91_x_73_cm%2C_National_Gallery_of_Norway.jpg/1280px-Edvard_Munch%2C_1893%2C_The_Scream%2C_oil%2C"
        "_tempera_and_pastel_on_cardboard%2C_91_x_73_cm%2C_National_Gallery_of_Norway.jpg",
        "the_scream.jpg",
    ),
}


def _check_name(kind: str, name: Any, valid: list[str]) -> str:
    if not isinstance(name, str) or name not in valid:
        raise InvalidSettingError(f"unknown {kind} {name!r}; choose one of: {', '.join(valid)}")
    return name


def list_content_images() -> list[str]:
    """Names of the content photos available offline (notebooks 00 and 01)."""
    return list(CONTENT_IMAGES)


def list_style_images() -> list[str]:
    """Names of the bundled style images (notebooks 00, 03 and 06)."""
    return list(STYLE_IMAGES)


def list_paintings() -> list[str]:
    """Names of the real paintings :func:`download_painting` can fetch (notebook 06)."""
    return list(PAINTINGS)


def content_image(name: str, size: int | None = None) -> np.ndarray:
    """Load a content photo from an installed package (notebooks 00 and 01).

    Args:
        name: one of :func:`list_content_images`, e.g. ``"grace_hopper"``.
        size: long side of the result in pixels; ``None`` keeps the photo's own size.

    Returns:
        float32 array (H, W, 3) in [0, 1].

    Raises:
        InvalidSettingError: unknown name, or ``size`` out of range.
    """
    _check_name("content image", name, list_content_images())
    return load_image(CONTENT_IMAGES[name].loader(), size=size)


#: The checkout this module runs from (an editable install): ``images/`` is beside ``nst_lib/``.
_CHECKOUT_IMAGES = Path(__file__).resolve().parents[1] / "images"


def style_image_path(name: str) -> Path:
    """The PNG of style image ``name``: package data in an installed wheel, ``images/styles/`` in a checkout."""
    import importlib.resources

    _check_name("style image", name, list_style_images())
    packaged = Path(str(importlib.resources.files("nst_lib") / "styles" / f"{name}.png"))
    return packaged if packaged.is_file() else _CHECKOUT_IMAGES / "styles" / f"{name}.png"


#: Environment variable naming a folder to use instead of ``images/yours/``.
YOUR_IMAGES_ENV = "NST_YOUR_IMAGES"
#: File types :func:`list_your_images` picks up (what :func:`nst_lib.images.load_image` reads).
_YOUR_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def your_images_dir() -> Path | None:
    """The folder of your own photos: ``$NST_YOUR_IMAGES``, else the first ``images/yours/`` found in the
    current folder or one of its parents (notebooks run in ``notebooks/``), else the checkout's; ``None``
    when there is none."""
    override = os.environ.get(YOUR_IMAGES_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "images" / "yours").is_dir():
            return folder / "images" / "yours"
    checkout = _CHECKOUT_IMAGES / "yours"
    return checkout if checkout.is_dir() else None


def _your_files() -> dict[str, Path]:
    folder = your_images_dir()
    if folder is None or not folder.is_dir():
        return {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _YOUR_SUFFIXES)
    found: dict[str, Path] = {}
    for path in files:
        found.setdefault(path.stem, path)  # me.jpg and me.png: the first in name order
    return found


def list_your_images() -> list[str]:
    """Names (file names without extension) of the photos in :func:`your_images_dir`, sorted."""
    return list(_your_files())


def example_file(name: str) -> Path | None:
    """The file ``example:NAME`` reads when it is one of your photos in ``images/yours/`` (a file of any size,
    so the command line reads its header before decoding it, like any other input's); ``None`` for the
    bundled examples and the paintings (they come first: a photo of yours named like one is not what
    ``example:NAME`` reads)."""
    if name in CONTENT_IMAGES or name in STYLE_IMAGES or name in PAINTINGS:
        return None
    return _your_files().get(name)


def your_image(name: str, size: int | None = None) -> np.ndarray:
    """Load a photo you dropped into ``images/yours/`` by its name (``me`` for ``me.jpg``).

    Raises:
        InvalidSettingError: no photo of that name (the message says where it looked).
        InvalidImageError: the file is not a readable image.
    """
    files = _your_files()
    if name not in files:
        where = your_images_dir() or "images/yours/ (no such folder here)"
        names = ", ".join(files) or "none yet"
        raise InvalidSettingError(f"no photo named {name!r} in {where}; yours: {names}")
    return load_image(files[name], size=size)


def example_image(name: str, size: int | None = None) -> np.ndarray:
    """Any example by name: a content photo, a bundled style, or one of your photos (in that order).

    This is what ``example:NAME`` means on the command line.

    Raises:
        InvalidSettingError: the name is none of them (the message lists every valid name).
    """
    if name in CONTENT_IMAGES:
        return content_image(name, size)
    if name in STYLE_IMAGES:
        return style_image(name, size)
    if name in _your_files():
        return your_image(name, size)
    valid = list_content_images() + list_style_images() + list_your_images()
    raise InvalidSettingError(f"unknown example {name!r}; valid examples are {', '.join(valid)} "
                              f"(or drop a photo into images/yours/ and use its file name)")


def style_image(name: str, size: int | None = None) -> np.ndarray:
    """Load a bundled style image (notebooks 00, 03 and 06).

    Reads ``images/styles/<name>.png`` (``nst_lib/styles/`` in an installed wheel).

    Args:
        name: one of :func:`list_style_images`, e.g. ``"swirls"``.
        size: long side of the result in pixels; ``None`` keeps 512.

    Returns:
        float32 array (H, W, 3) in [0, 1].

    Raises:
        InvalidSettingError: unknown name, or ``size`` out of range.
    """
    return load_image(style_image_path(name), size=size)


def example_pair(content: str = "grace_hopper", style: str = "swirls",
                 size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A ``(content, style)`` pair of float32 images ready for ``stylize`` (notebooks 00 and 06).

    Args:
        content: a name from :func:`list_content_images`.
        style: a name from :func:`list_style_images`.
        size: long side of both images; ``None`` keeps their own sizes.
    """
    return content_image(content, size=size), style_image(style, size=size)


#: the widest line of :func:`describe_examples`: a notebook's output area at 1280 px, file browser open, shows
#: 108 characters (measured in Chromium), and JupyterLab breaks a longer line anywhere, even inside a word
EXAMPLES_TABLE_WIDTH = 104


def describe_examples() -> str:
    """Every example image with its credit, grouped by kind, in lines of at most
    :data:`EXAMPLES_TABLE_WIDTH` characters, wrapped between words (printed in notebook 00 and by ``nst examples``)."""
    sections = [
        ("Content photos (each with its credit / licence)",
         [(name, item.description, item.credit) for name, item in CONTENT_IMAGES.items()]),
        ("Style images, painted by code in scripts/procedural.py (project licence)",
         [(name, summary, "") for name, summary in STYLE_IMAGES.items()]),
        (f"Your photos (in {your_images_dir()})", [(name, path.name, "") for name, path in _your_files().items()]),
        ("Paintings, downloaded on first use when online (public domain; Wikimedia Commons)",
         [(name, f"{painting.title}, {painting.artist}, {painting.year}", "") for name, painting in PAINTINGS.items()]),
    ]
    lines: list[str] = []
    for title, rows in sections:
        if not rows:
            continue
        lines += [""] if lines else []
        lines.append(title)
        name_width = max(len(name) for name, _, _ in rows)
        indent = " " * (2 + name_width + 2)
        for name, description, credit in rows:
            first = f"  {name.ljust(name_width)}  "
            for text in (description, credit):
                if text:
                    lines += textwrap.wrap(text, EXAMPLES_TABLE_WIDTH, initial_indent=first, subsequent_indent=indent,
                                           break_long_words=False, break_on_hyphens=False)
                    first = indent
    return "\n".join(lines)


def _fetch_failure(exc: BaseException, url: str) -> str:
    """Keras wraps fetch errors as ``URL fetch failure on <url>: <code> -- <reason>``; keep the reason."""
    reason = str(exc) or type(exc).__name__
    prefix = f"URL fetch failure on {url}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


def download_painting(name: str, *, origin: str | None = None,
                      cache_dir: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Download a public-domain painting once and return its path in the Keras cache (notebook 06).

    The file goes to ``<cache_dir>/nst_paintings/<fname>`` (by default ``~/.keras`` or ``$KERAS_HOME``);
    a later call returns the cached file without a network. Every call checks that the file opens as an
    image; a corrupt file is deleted, so the next call downloads it again.

    Args:
        name: one of :func:`list_paintings`, e.g. ``"starry_night"``.
        origin: URL to download from instead of :data:`PAINTINGS` (``file://`` works too, e.g. for a
            file you saved with a browser).
        cache_dir: Keras cache root to use instead of the default.

    Returns:
        Path of the downloaded image; load it with ``nst_lib.load_image(path, size=...)``.

    Raises:
        InvalidSettingError: unknown name.
        NSTError: the download failed (no internet, moved file, server refused).
        InvalidImageError: the downloaded file is not a readable image (it has been deleted).
    """
    _check_name("painting", name, list_paintings())
    painting = PAINTINGS[name]
    url = origin if origin is not None else painting.url
    import keras  # slow (imports the backend), so only here

    if cache_dir is not None:
        # get_file silently switches to /tmp/.keras when cache_dir is not an existing writable folder.
        Path(cache_dir).expanduser().mkdir(parents=True, exist_ok=True)
    try:
        path = pathlib.Path(keras.utils.get_file(
            painting.fname,
            origin=url,
            cache_subdir="nst_paintings",
            cache_dir=None if cache_dir is None else os.fspath(cache_dir),
        ))
    except Exception as exc:  # noqa: BLE001 - Keras raises bare Exception for fetch failures
        raise NSTError(
            f"could not download {name} from {url}: {_fetch_failure(exc, url)}; check your internet "
            f"connection, or use a bundled style ({', '.join(list_style_images())})"
        ) from exc

    try:
        load_image(path)
    except NSTError as exc:
        path.unlink(missing_ok=True)
        raise InvalidImageError(
            f"downloaded {name} from {url}, but the file is not a readable image ({exc}); it was deleted "
            f"from {path.parent}, so the next call downloads it again"
        ) from exc
    return path
