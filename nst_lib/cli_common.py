"""What the ``nst`` subcommands share: exit codes, the one-line usage error, argument types, example
images by name and output-path checks (front end; no TensorFlow).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable

from . import data, environment
from .config import INITS
from .fileio import remove_temporaries
from .images import MIN_SIDE, MIN_SOURCE_SIDE, load_image, read_image_header
from .memory import check_fast_inference, check_input_decoding, output_shape
from .paths import check_distinct, check_writable
from .startup import import_tensorflow_quietly
from .weights import keras_cache_dir

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A command-line argument is wrong (exit 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse would print the usage block)
        raise UsageError(message)


def float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def name_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def number(kind):
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def load_source(text: str, size: int | None = None, min_side: int = MIN_SIDE):
    """A path or ``example:NAME`` → float32 image (validated here, before TensorFlow is imported).

    A file is decoded at the size the run needs (long side ``size``; far larger files are reduced right
    after decoding, docs/safety.md); ``min_side`` as for :func:`~nst_lib.images.load_image`.
    """
    if text.startswith("example:"):
        name = text.split(":", 1)[1]
        if name in data.list_paintings():  # downloaded once into the Keras cache ('nst examples' lists them)
            return load_image(_painting_file(name), size)
        known = data.list_content_images() + data.list_style_images() + data.list_your_images()
        if name not in known:
            valid = ", ".join(known + data.list_paintings())
            raise UsageError(f"unknown example {name!r}; valid examples are {valid} "
                             "(or drop a photo into images/yours/ and use its file name)")
        return data.example_image(name, size)  # content photos, bundled styles, then images/yours/
    return load_image(text, size, min_side=min_side)


def input_file(text: str) -> str | None:
    """The file on disk behind an input argument: the path itself, or for ``example:NAME`` a photo of yours in
    ``images/yours/`` (so its header is read before decoding and no output may land on it, like any file
    given by path); ``None`` for the bundled examples."""
    if not text.startswith("example:"):
        return text
    found = data.example_file(text.split(":", 1)[1])
    return None if found is None else str(found)


def load_styles(texts: list[str], config) -> list:
    """The style images of ``nst video`` and ``nst batch`` at the size the run uses them (``size ×
    style_scale``): each file's header is read first and its decoding counted against ``config.max_memory``
    (refused up front when the budget cannot hold it), then it is decoded reduced (docs/safety.md)."""
    side = round(config.size * config.style_scale)
    headers = [(read_image_header(file), side) for text in texts if (file := input_file(text)) is not None]
    check_input_decoding(headers, config.max_memory)
    return [load_source(text, side if side >= MIN_SIDE else None, min_side=MIN_SOURCE_SIDE) for text in texts]


def check_network_pass(model_config: dict[str, Any], shapes: Iterable[tuple[int, int]], size: int | None) -> int:
    """``--model``: the network's pass over the largest of these images — (height, width) as their headers
    declare them, run at long side ``size`` (None: as they are) — must fit in the memory available now;
    checked before any work, as :meth:`~nst_lib.fast.FastModel.stylize` checks each pass when it runs
    (``model_config``: what :func:`~nst_lib.fast_settings.check_model_file` returned; docs/safety.md).
    Returns the bytes of that pass (0 without images)."""
    passes = [shape if size is None else output_shape(shape, size) for shape in shapes]
    if not passes:
        return 0
    return check_fast_inference(max(passes, key=lambda shape: shape[0] * shape[1]), int(model_config["config"]["width"]))


def _painting_file(name: str) -> str:
    """The cached file of a painting listed by ``nst examples``, downloaded first unless downloads are disabled."""
    cached = keras_cache_dir() / "nst_paintings" / data.PAINTINGS[name].fname
    if cached.is_file():
        return str(cached)
    if environment.offline():
        raise UsageError(f"example:{name} is a painting that is downloaded once into {cached.parent}, and downloads "
                         "are disabled (NST_OFFLINE=1); unset NST_OFFLINE, or use a bundled style "
                         f"({', '.join(data.list_style_images())})")
    import_tensorflow_quietly()  # the download goes through Keras
    return str(data.download_painting(name))


def input_files(args: argparse.Namespace) -> dict[str, str | None]:
    """What each input file of a command is → its path (``example:`` names and absent options left out)."""
    def given(text: str | None) -> str | None:
        return None if text is None else input_file(text)

    inputs: dict[str, str | None] = {}
    if getattr(args, "content", None) is not None:
        inputs["the content image"] = given(args.content)
    styles = list(getattr(args, "styles", None) or [])
    if getattr(args, "style", None) is not None:
        styles = [args.style]
    for position, style in enumerate(styles, 1):
        inputs["the style image" if len(styles) == 1 else f"style image {position}"] = given(style)
    for position, mask in enumerate(getattr(args, "mask", None) or [], 1):
        inputs[f"--mask {position}"] = mask
    init = getattr(args, "init", None)
    inputs["--init"] = init if init is not None and init not in INITS else None
    for flag in ("resume", "weights", "model", "images"):
        inputs["--" + flag] = getattr(args, flag, None)
    return inputs


def check_files(outputs: dict[str, str | None], inputs: dict[str, str | None],
                may_overwrite: dict[str, str] | None = None) -> None:
    """Each output can be written (folder, temporary name) and is no other output or input (nst_lib/paths.py)."""
    for flag, path in outputs.items():
        if path is not None:
            check_writable(path, flag)
    check_distinct(outputs, inputs, may_overwrite)


def check_output_path_json(path: str, flag: str = "--history", example: str = "history.json") -> Path:
    """The file's folder must exist and be writable, and the path must not be a folder."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{flag}: {str(target)!r} is a folder; give a file name such as {str(target / example)!r}")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{flag}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{flag}: folder {str(folder)!r} is not writable")
    return target


def remove_stale_temporaries(outputs: Iterable[str | os.PathLike | None], quiet: bool = False,
                             also_named: re.Pattern | None = None) -> int:
    """Before a command writes its outputs: remove the temporary files (``.NAME.XXXXXXXX.tmp``) that an
    interrupted run — killed with SIGKILL, so it could not clean up — left beside these very targets, and say
    so in a note. Only the library's temporary names for these targets, and only those no live process is
    writing (:func:`nst_lib.fileio.remove_temporaries`; docs/safety.md). ``also_named``: a pattern of more
    target names in the first output's folder (``--save-every``'s checkpoints). Returns how many were removed."""
    folders: dict[Path, set[str]] = {}
    for path in outputs:
        if path is not None:
            target = Path(path).expanduser()
            folders.setdefault(target.parent, set()).add(target.name)
    removed = 0
    for position, (folder, names) in enumerate(folders.items()):
        pattern = also_named if position == 0 else None
        removed += remove_temporaries(folder, lambda name: name in names or bool(pattern and pattern.match(name)))
    if removed and not quiet:
        targets = [str(folder / name) for folder, names in folders.items() for name in sorted(names)]
        where = f"beside {', '.join(targets)}" if len(targets) <= 4 else f"in {', '.join(map(str, folders))}"
        print(f"note: removed {removed} temporary file(s) that an interrupted run left {where}", file=sys.stderr)
    return removed
