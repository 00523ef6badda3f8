"""Output paths that are safe to write: checked before any work (docs/safety.md).

Every command that writes files (``nst stylize``, ``nst stylize --model``, ``nst train``, the notebooks'
helpers) checks its outputs here *before* the first image is decoded or the first step is taken:

* no two of its files are the same file — an output never lands on an input (the content photo, a style,
  the run state it resumes, the model it uses) nor on another output (``-o`` and ``--history``);
  "the same" means the same file on disk: resolved symbolic links, ``..`` and hard links included
  (:func:`same_file`);
* the output's folder exists, is a folder, and really takes a new file: a probe file with the temporary
  name the atomic writer will use is created and removed (so read-only mounts, ``/proc`` and names too
  long for the file system are caught up front, not after an hour of optimisation).

Writers put their bytes in ``.NAME.XXXXXXXX.tmp`` beside the target and rename it
(:func:`nst_lib.fileio.temporary_path`, used by :func:`nst_lib.fileio.atomic_write`), so a target name must leave
:data:`TEMPORARY_EXTRA` characters of room below the file system's name limit.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

from .errors import OutputError
from .fileio import temporary_path

__all__ = ["PathClashError", "TEMPORARY_EXTRA", "check_distinct", "check_new_files", "check_writable", "same_file",
           "temporary_path"]

#: characters a temporary name adds to the target's name: ``.`` + name + ``.`` + 8 hex digits + ``.tmp``
TEMPORARY_EXTRA = 14
#: the name limit assumed when the file system does not say (ext4, XFS, btrfs, APFS, NTFS: 255)
DEFAULT_NAME_MAX = 255


class PathClashError(OutputError):
    """Two of a command's files are the same file on disk (an output would overwrite an input or another output).

    Attributes:
        first, second: what the two files are (e.g. ``"-o"``, ``"--history"``, ``"the content image"``).
        path: the path as given for ``second``.
    """

    def __init__(self, message: str, first: str, second: str, path: str):
        super().__init__(message)
        self.first, self.second, self.path = first, second, path


def _resolved(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file: same inode (hard links, symlinks) or same resolved path."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except (OSError, ValueError):
        pass
    try:
        return _resolved(a) == _resolved(b)
    except (OSError, ValueError):
        return False


def check_distinct(outputs: Mapping[str, str | os.PathLike | None],
                   inputs: Mapping[str, str | os.PathLike | None] | None = None,
                   may_overwrite: Mapping[str, str] | None = None) -> None:
    """Refuse when an output is the same file as another output or as an input.

    Args:
        outputs: what each output is (``"-o"``, ``"--history"``…) → its path; ``None`` entries are skipped.
        inputs: what each input is (``"the content image"``, ``"--resume"``…) → its path; ``None`` skipped.
        may_overwrite: output → the one input it may legitimately replace (``{"--save-state": "--resume"}``:
            continuing a run and saving it to the same state file).

    Raises:
        PathClashError: one sentence naming both and the path.
    """
    given_outputs = [(name, path) for name, path in outputs.items() if path is not None]
    given_inputs = [(name, path) for name, path in (inputs or {}).items() if path is not None]
    allowed = may_overwrite or {}
    for i, (name, path) in enumerate(given_outputs):
        for other, other_path in given_outputs[i + 1:]:
            if same_file(path, other_path):
                raise PathClashError(
                    f"{name} and {other} are the same file {os.fspath(other_path)!r}; each needs a file of its "
                    "own (nothing was written)", name, other, os.fspath(other_path))
        for other, other_path in given_inputs:
            if allowed.get(name) == other:
                continue
            if same_file(path, other_path):
                raise PathClashError(
                    f"{name} {os.fspath(path)!r} is the same file as {other} {os.fspath(other_path)!r}; writing "
                    f"it would destroy {other}: choose another name for {name} (nothing was written)",
                    name, other, os.fspath(path))


def check_new_files(outputs: Iterable[str | os.PathLike], inputs: Iterable[tuple[str, str | os.PathLike]],
                    what: str = "-o") -> None:
    """Refuse when a file a command will write (one of many: a video's frames, a batch's results) already is
    one of its inputs: the same file on disk (a hard link, a symbolic link, or the same path through ``..``).

    Linear in the number of files (one ``stat`` each), for folders of thousands of frames; an output that does
    not exist yet cannot be an input (the inputs exist: they were checked before).

    Args:
        outputs: the files to be written.
        inputs: ``(what it is, path)`` of each input file (e.g. ``("the style image", "style.png")``).
        what: how the message names the outputs (``"-o"``).

    Raises:
        PathClashError: one sentence naming the output, the input and the path.
    """
    known: dict[tuple[int, int], tuple[str, str]] = {}
    for name, path in inputs:
        try:
            status = os.stat(path)
        except (OSError, ValueError):
            continue
        known.setdefault((status.st_dev, status.st_ino), (name, os.fspath(path)))
    for output in outputs:
        try:
            status = os.stat(output)
        except (OSError, ValueError):
            continue
        found = known.get((status.st_dev, status.st_ino))
        if found is not None:
            name, path = found
            raise PathClashError(
                f"{what} would write {os.fspath(output)!r}, which is the same file as {name} {path!r}; writing it "
                f"would destroy {name}: choose another {what} (nothing was written)", what, name, os.fspath(output))


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def check_writable(path: str | os.PathLike, what: str = "output") -> Path:
    """Check that a new file can be written at ``path`` the way the atomic writers write it.

    The folder must exist and be a folder, the name must leave room for the temporary name below the file
    system's name limit, and a probe file with such a name must be creatable (and is removed at once).

    Args:
        path: the file to be written (``~`` expanded).
        what: how the message names it (``"-o"``, ``"--history"``, ``"model"``…).

    Returns:
        The path as a ``Path``.

    Raises:
        OutputError: one sentence saying what is wrong.
    """
    target = Path(os.path.expanduser(os.fspath(path)))
    folder = target.parent
    if target.is_dir():
        raise OutputError(f"{what} {str(target)!r} is a folder; give a file name inside it")
    if not folder.exists():
        raise OutputError(f"{what}: folder {str(folder)!r} does not exist; create it first or choose another path")
    if not folder.is_dir():
        raise OutputError(f"{what}: {str(folder)!r} is not a folder, so {target.name!r} cannot be written inside it")
    limit = _name_max(folder)
    name_bytes = len(os.fsencode(target.name))
    if name_bytes + TEMPORARY_EXTRA > limit:
        raise OutputError(
            f"{what}: the file name is {name_bytes} bytes long; this folder allows {limit}, and writing safely "
            f"needs {TEMPORARY_EXTRA} more for a temporary name, so use at most {limit - TEMPORARY_EXTRA}")
    probe = temporary_path(target)
    try:
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise OutputError(f"{what}: cannot create a file in folder {str(folder)!r} ({exc.strerror or exc}); "
                          "choose another path") from None
    os.close(descriptor)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return target
