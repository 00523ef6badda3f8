"""Writing files: one atomic writer for every file the project writes (images, histories, run states,
converted weights, trained models). A leaf module.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import secrets
from typing import BinaryIO, Iterator

from .errors import OutputError


def temporary_path(target: str | os.PathLike) -> pathlib.Path:
    """The temporary file :func:`atomic_write` fills before renaming it onto ``target`` (same folder):
    ``.NAME.XXXXXXXX.tmp``, 14 characters longer than the target's name (``nst_lib.paths`` checks the room)."""
    target = pathlib.Path(target)
    return target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write a file atomically: ``with atomic_write(path) as stream: stream.write(...)``.

    The bytes go to a temporary file in the same folder (created with the permissions a plain ``open()``
    would give it, so the process umask applies), which is flushed to disk with fsync and renamed onto
    ``path`` with ``os.replace`` when the block ends without an error. On any failure, Ctrl-C included, the
    temporary file is removed and an existing file at ``path`` is left untouched: the file at ``path`` is
    either complete or not there. Used for images, histories, converted weights and run states.

    Raises:
        OutputError: the folder cannot take the file, or writing failed (disk full, …); the message names
            the path and the reason.
    """
    target = pathlib.Path(path)
    folder = target.parent
    temporary = temporary_path(target)  # the name nst_lib.paths.check_writable probes before a run
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot create a file in folder '{folder}' ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(f"could not write '{target}' ({exc.strerror or exc})") from exc
        raise
    try:  # make the rename itself durable; best effort (not every system can fsync a folder)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        pass
