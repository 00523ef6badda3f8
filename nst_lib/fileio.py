"""Writing files: one atomic writer for every file the project writes (images, histories, run states,
converted weights, trained models). A leaf module.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
from typing import BinaryIO, Iterable, Iterator

from .errors import OutputError


def temporary_path(target: str | os.PathLike, suffix: str = ".tmp") -> pathlib.Path:
    """The temporary file :func:`atomic_write` fills before renaming it onto ``target`` (same folder):
    ``.NAME.XXXXXXXX.tmp``, 14 characters longer than the target's name (``nst_lib.paths`` checks the room)."""
    target = pathlib.Path(target)
    return target.parent / f".{target.name}.{secrets.token_hex(4)}{suffix}"


#: what :func:`temporary_path` makes of a target's name (the 8 hex digits are random)
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.[A-Za-z0-9]+$")


def remove_temporaries(folder: str | os.PathLike, names: Iterable[str]) -> int:
    """Remove the temporary files an interrupted :func:`atomic_file` left in ``folder`` for the targets
    ``names`` (a process killed with SIGKILL cannot clean up after itself): ``.NAME.XXXXXXXX.tmp``. Only
    names this module makes for those targets are touched. Returns how many were removed."""
    wanted, removed = set(names), 0
    try:
        candidates = [p for p in pathlib.Path(folder).iterdir() if p.name.startswith(".")]
    except OSError:
        return 0
    for path in candidates:
        match = _TEMPORARY.match(path.name)
        if match and match.group("name") in wanted and path.is_file():
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
    return removed


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[pathlib.Path]:
    """A file written atomically by a writer that wants a path (Keras' ``model.save``):
    ``with atomic_file(path, ".keras") as temporary: save(temporary)``.

    The temporary file is created in ``path``'s folder (empty, with the permissions a plain ``open()`` would
    give it, so the process umask applies; ``suffix`` for writers that check the extension). When the block
    ends without an error it is flushed to disk with fsync and renamed onto ``path`` with ``os.replace``; on
    any failure, Ctrl-C included, it is removed and an existing file at ``path`` is left untouched: the file at
    ``path`` is either complete or not there.

    Raises:
        OutputError: the folder cannot take the file, or writing failed (disk full, …); the message names
            the path and the reason.
    """
    target = pathlib.Path(path)
    folder = target.parent
    temporary = temporary_path(target, suffix)  # the name nst_lib.paths.check_writable probes before a run
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise OutputError(f"cannot create a file in folder '{folder}' ({exc.strerror or exc})", subject=f"folder '{folder}'",
                          reason="unwritable", received=exc.strerror or str(exc)) from exc
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(f"could not write '{target}' ({exc.strerror or exc})", subject=f"'{target}'",
                              reason="write_failed", received=exc.strerror or str(exc)) from exc
        raise
    _sync_folder(folder)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write a file atomically: ``with atomic_write(path) as stream: stream.write(...)`` (see
    :func:`atomic_file`: the file at ``path`` is either complete or not there). Used for images, histories,
    converted weights and run states.

    Raises:
        OutputError: the folder cannot take the file, or writing failed (disk full, …); the message names
            the path and the reason.
    """
    with atomic_file(path) as temporary:
        with open(temporary, "wb") as stream:
            yield stream
            stream.flush()


def _sync_folder(folder: pathlib.Path) -> None:
    """Make a rename in ``folder`` durable; best effort (not every system can fsync a folder)."""
    try:
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        pass
