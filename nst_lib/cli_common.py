"""What the ``nst`` subcommands share: exit codes, the one-line usage error, argument types, example
images by name and output-path checks (front end; no TensorFlow).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from . import data
from .images import load_image

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


def load_source(text: str, size: int | None = None):
    """A path or ``example:NAME`` → float32 image (validated here, before TensorFlow is imported)."""
    if text.startswith("example:"):
        name = text.split(":", 1)[1]
        if name in data.list_content_images():
            return data.content_image(name, size)
        if name in data.list_style_images():
            return data.style_image(name, size)
        valid = ", ".join(data.list_content_images() + data.list_style_images())
        raise UsageError(f"unknown example {name!r}; valid examples are {valid}")
    return load_image(text, size)


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
