"""Writing files: one atomic writer for every file the project writes (images, histories, run states,
converted weights, trained models). A leaf module.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
import stat
from typing import BinaryIO, Callable, Iterable, Iterator

from .errors import OutputError

try:
    import fcntl
except ImportError:  # not POSIX: no lock can say a writer is gone, so no temporary is ever taken for stale
    fcntl = None  # type: ignore[assignment]


def temporary_path(target: str | os.PathLike, suffix: str = ".tmp") -> pathlib.Path:
    """The temporary file :func:`atomic_write` fills before renaming it onto ``target`` (same folder):
    ``.NAME.XXXXXXXX.tmp``, 14 characters longer than the target's name (``nst_lib.paths`` checks the room)."""
    target = pathlib.Path(target)
    return target.parent / f".{target.name}.{secrets.token_hex(4)}{suffix}"


#: what :func:`temporary_path` makes of a target's name (the 8 hex digits are random)
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.[A-Za-z0-9]+$")




def remove_temporaries(folder: str | os.PathLike, names: Iterable[str] | Callable[[str], bool]) -> int:
    """Remove the temporary files interrupted writes left in ``folder`` for the targets ``names`` (target
    names, or a test of a target name): ``.NAME.XXXXXXXX.tmp`` (a process killed with SIGKILL cannot clean up
    after itself). Returns how many were removed.

    Only names :func:`temporary_path` makes for those targets are touched, and only stale ones: the process
    writing a temporary holds an exclusive ``flock`` on it from before the file has that name (see
    :func:`_create_locked`) for as long as it exists, and the kernel releases that lock when the process ends,
    however it ends (SIGKILL included). So a temporary no process holds is stale at once — a run resumed a
    second after a kill cleans up too; a live writer's file, or one whose lock cannot be tested (a file system
    without locks), is left alone.
    """
    wanted = names if callable(names) else set(names).__contains__
    try:
        candidates = [p for p in pathlib.Path(folder).iterdir() if p.name.startswith(".")]
    except OSError:
        return 0
    removed = 0
    for path in candidates:
        match = _TEMPORARY.match(path.name)
        if match and wanted(match.group("name")) and _remove_if_stale(path):
            removed += 1
    return removed


def _remove_if_stale(path: pathlib.Path) -> bool:
    """Remove ``path`` if no process holds its lock (and it is still the file we locked)."""
    if fcntl is None:
        return False
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # gone (renamed onto its target, or removed), a link, or not ours to open
        return False
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            return False
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError while a live writer holds it
        if os.stat(path, follow_symlinks=False).st_ino != status.st_ino:  # renamed onto its target meanwhile
            return False
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(handle)


def _create_locked(temporary: pathlib.Path) -> int:
    """Create ``temporary`` already locked by this process, and return its descriptor.

    The file is created under a name :func:`remove_temporaries` never looks at (``.NAME.XXXXXXXX~tmp``, same
    length), locked, and only then renamed to ``temporary``: a file found under a temporary name with no lock
    on it has no live writer, with no instant between creation and lock to guess about.
    """
    claiming = temporary.with_name(temporary.name[::-1].replace(".", "~", 1)[::-1])
    handle = os.open(claiming, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        _lock(handle)
        os.rename(claiming, temporary)
    except BaseException:
        os.close(handle)
        with contextlib.suppress(OSError):
            os.unlink(claiming)
        raise
    return handle


def _lock(handle: int) -> None:
    """Hold ``handle``'s file for this process: :func:`remove_temporaries` leaves it alone while we live."""
    if fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a file system without locks: the cleaner cannot lock it either, so it keeps the file
            pass


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[pathlib.Path]:
    """A file written atomically by a writer that wants a path (Keras' ``model.save``):
    ``with atomic_file(path, ".keras") as temporary: save(temporary)``.

    The temporary file is created in ``path``'s folder (empty, with the permissions a plain ``open()`` would
    give it, so the process umask applies; ``suffix`` for writers that check the extension). When the block
    ends without an error it is flushed to disk with fsync and renamed onto ``path`` with ``os.replace``; on
    any failure, Ctrl-C included, it is removed and an existing file at ``path`` is left untouched: the file at
    ``path`` is either complete or not there. The temporary file is locked (``flock``) by this process for as
    long as it exists, so :func:`remove_temporaries` removes it only once this process has ended without
    finishing it (killed with SIGKILL, a power cut).

    Raises:
        OutputError: the folder cannot take the file, or writing failed (disk full, …); the message names
            the path and the reason.
    """
    target = pathlib.Path(path)
    folder = target.parent
    temporary = temporary_path(target, suffix)  # the name nst_lib.paths.check_writable probes before a run
    try:
        handle = _create_locked(temporary)  # locked until the file is renamed or removed (or the process ends)
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
    finally:
        os.close(handle)
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
