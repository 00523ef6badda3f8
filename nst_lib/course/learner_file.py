"""``my_nst.py``: the learner's own functions, saved by the self-checks they pass (docs/course.md).

When an exercise's check passes on a function defined in a notebook cell, :func:`save_passing` writes the
function's source, as written in the cell, to ``my_nst.py`` in the folder the notebook runs in (the
kernel's working directory): created on the first save, one block per exercise, a block replaced when its
exercise passes again, written atomically. Later notebooks import the learner's pieces from there
(:mod:`nst_lib.course.pieces`), so nobody copies code by hand.

How a saved function keeps working outside its notebook: each block carries what the function needs from
the notebook's namespace, found from the names its code reads —

* modules become imports (``import tensorflow as tf``, ``import numpy as np``, ``import keras``,
  ``from nst_lib import data``);
* numbers, strings, booleans, ``None`` and tuples, lists and dicts of them, and small NumPy arrays, become
  assignments (``CAFFE_MEANS_BGR = np.array([...], dtype=np.float32)``);
* the course's VGG network (``vgg = checks.vgg_network()``) becomes ``vgg = vgg_network()``;
* a function or class of an installed module becomes an import of it (``from nst_lib.gram import …``);
* a helper function defined in a notebook cell is saved with its source, in the same block;
* another exercise's name (``gram_matrix`` inside ``style_loss``) is left to the file: it means that
  exercise's block, or the piece :mod:`nst_lib.course.pieces` puts in its place when there is none.

Anything else (a tensor, a model built in the notebook, …) cannot be written as code: the block then says
so in a comment and the save message names it. Only functions defined in a notebook cell (IPython) are
saved; functions from files (tests, the reference solutions) never are, so running the checks elsewhere
writes nothing.
"""
from __future__ import annotations

import ast
import dataclasses
import datetime as _datetime
import importlib.util
import inspect
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import OutputError
from ..fileio import atomic_write
from .network import vgg_network

__all__ = ["FILE_NAME", "CELL_FILENAME", "plain_function", "Saved", "learner_file", "defined_in_a_cell", "save_passing", "saved_names",
           "load_learner_module", "LearnerFileError"]

#: the learner's file, in the folder the notebooks run in
FILE_NAME = "my_nst.py"
#: each block starts with this line prefix, then the exercise's name
BLOCK_MARK = "# ━━ "
#: NumPy arrays up to this many values are written into the file; larger ones are not
LARGEST_ARRAY = 4096
#: filenames IPython gives the code of a cell (ipykernel: /tmp/ipykernel_<pid>/<hash>.py; terminal: <ipython-input-…>)
CELL_FILENAME = re.compile(r"ipykernel_\d+[/\\]\d+\.py$|^<ipython-input-")

_HEADER = '''"""my_nst.py — your own neural style transfer, written by you in the course's notebooks.

This file is yours: every function below is one you wrote in a notebook cell, saved here by its
self-check (nst_lib.course.checks) when it passed. One block per exercise; a block is replaced when
its exercise passes again. Each block starts with the imports and values its function uses from
the notebook. Notebook 08 and later notebooks import your pieces from this file.

Made by nst_lib.course.learner_file. Edit your functions in the notebooks and run their checks
again (an edit made here is replaced by the next passing check). Delete this file to start over.
"""
'''


class LearnerFileError(Exception):
    """``my_nst.py`` exists but cannot be imported; ``reason`` says why (the file's own error)."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path.name} cannot be imported: {reason}")


@dataclasses.dataclass
class Saved:
    """What :func:`save_passing` did: ``saved`` (bool), ``path``, and ``message`` (one line for the learner),
    ``unresolved`` (names the block could not carry)."""

    saved: bool
    path: Path
    message: str
    unresolved: list[str] = dataclasses.field(default_factory=list)


def learner_file(folder: str | Path | None = None) -> Path:
    """The path of ``my_nst.py`` in ``folder`` (default: the working directory, where the notebook runs)."""
    return Path.cwd() / FILE_NAME if folder is None else Path(folder) / FILE_NAME


# ------------------------------------------------------------------------------------ the source
def plain_function(fn: Any) -> types.FunctionType | None:
    """The Python function behind ``fn`` (a ``tf.function`` or a ``functools.wraps`` wrapper), or None."""
    for _ in range(5):
        if isinstance(fn, types.FunctionType):
            return fn
        fn = getattr(fn, "python_function", None) or getattr(fn, "__wrapped__", None)
        if fn is None:
            return None
    return None


def defined_in_a_cell(fn: Any) -> bool:
    """True when ``fn`` was defined in a notebook (IPython) cell: the functions the checks save."""
    plain = plain_function(fn)
    return plain is not None and bool(CELL_FILENAME.search(plain.__code__.co_filename))


def _source(fn: types.FunctionType) -> str:
    """The function's source as written (decorators included), dedented."""
    return textwrap.dedent(inspect.getsource(fn)).rstrip() + "\n"


def _code_names(code: types.CodeType) -> set[str]:
    """Global (and attribute) names read by ``code`` and the code nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _global_names(fn: types.FunctionType, source: str) -> list[str]:
    """The notebook-level names the function reads: read as a plain name in its source and looked up as a
    global by its code (a local variable or an attribute of the same name does not count)."""
    in_source = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    decorators = {n.id for d in ast.parse(source).body[0].decorator_list for n in ast.walk(d) if isinstance(n, ast.Name)}
    wanted = (_code_names(fn.__code__) | decorators) & in_source
    return sorted(name for name in wanted if name in fn.__globals__)


# ------------------------------------------------------------------------------------ what it needs
def _literal(value: Any) -> str | None:
    """``value`` as Python source, when it is plain data (None otherwise)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        text = repr(value)
        return text if text not in ("nan", "inf", "-inf") else f"float({text!r})"
    if isinstance(value, (tuple, list)):
        items = [_literal(v) for v in value]
        if any(i is None for i in items):
            return None
        if isinstance(value, tuple):
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        pairs = [(_literal(k), _literal(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    if isinstance(value, np.generic):
        return _literal(value.item())
    return None


def _module_import(name: str, module: types.ModuleType) -> str:
    full = module.__name__
    if full == name:
        return f"import {full}"
    parent, _, last = full.rpartition(".")
    if parent and last == name:
        return f"from {parent} import {name}"
    return f"import {full} as {name}"


def _is_course_vgg(value: Any) -> bool:
    """True for the network ``checks.vgg_network()`` returned in the notebook (only if already built)."""
    if type(value).__name__ not in ("Functional", "Model"):
        return False
    info = vgg_network.cache_info()
    return bool(info.currsize) and value is vgg_network()


@dataclasses.dataclass
class _Needs:
    imports: list[str] = dataclasses.field(default_factory=list)
    values: list[str] = dataclasses.field(default_factory=list)
    helpers: list[str] = dataclasses.field(default_factory=list)
    unresolved: list[str] = dataclasses.field(default_factory=list)

    def add(self, kind: str, line: str) -> None:
        target = getattr(self, kind)
        if line not in target:
            target.append(line)


def _needs(fn: types.FunctionType, source: str, exercise_names: Iterable[str], needs: _Needs,
           seen: set[str]) -> None:
    """Collect what ``fn``'s block must define for it to run in ``my_nst.py`` (recursively for helpers)."""
    exercise_names = set(exercise_names)
    for name in _global_names(fn, source):
        if name in seen or name in exercise_names:
            continue
        seen.add(name)
        value = fn.__globals__[name]
        if isinstance(value, types.ModuleType):
            needs.add("imports", _module_import(name, value))
        elif _literal(value) is not None:
            needs.add("values", f"{name} = {_literal(value)}")
        elif isinstance(value, np.ndarray) and value.size <= LARGEST_ARRAY and value.dtype.kind in "biuf":
            needs.add("imports", "import numpy as np")
            needs.add("values", f"{name} = np.array({value.tolist()!r}, dtype=np.{value.dtype.name})")
        elif _is_course_vgg(value):
            needs.add("imports", "from nst_lib.course.network import vgg_network")
            needs.add("values", f"{name} = vgg_network()  # VGG's convolution stack, as in the notebook")
        elif defined_in_a_cell(value):
            helper = plain_function(value)
            helper_source = _source(helper)
            _needs(helper, helper_source, exercise_names, needs, seen)
            if helper.__name__ != name:
                helper_source += f"\n{name} = {helper.__name__}\n"
            needs.add("helpers", helper_source)
        elif _importable(value, name):
            needs.add("imports", _importable(value, name))
        else:
            needs.add("unresolved", name)


def _importable(value: Any, name: str) -> str | None:
    """``from module import qualname [as name]`` for a function or class of an installed module."""
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not module or not qualname or "<" in qualname or "." in qualname or module in ("__main__", "builtins"):
        return None
    if getattr(sys.modules.get(module), qualname, None) is not value:
        return None
    return f"from {module} import {qualname}" + ("" if qualname == name else f" as {name}")


# ------------------------------------------------------------------------------------ the blocks
def _block(name: str, fn: types.FunctionType, notebook: str, check: str, exercise_names: Iterable[str]
           ) -> tuple[str, list[str]]:
    source = _source(fn)
    needs = _Needs()
    _needs(fn, source, exercise_names, needs, seen={fn.__name__})
    stamp = _datetime.datetime.now(_datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"{BLOCK_MARK}{name} ━━ notebook {notebook} · passed {check} · {stamp}"]
    lines += needs.imports
    if needs.unresolved:
        lines.append(f"# not saved (not plain values): {', '.join(needs.unresolved)} — define them here to call {name}")
    lines += needs.values
    text = "\n".join(lines) + "\n"
    for helper in needs.helpers:
        text += "\n\n" + helper
    text += "\n\n" + source
    if fn.__name__ != name:  # the exercise's name is the contract, whatever the cell called the function
        text += f"\n{name} = {fn.__name__}\n"
    return text, needs.unresolved


def _read_blocks(path: Path) -> dict[str, str]:
    """The blocks of an existing ``my_nst.py``, by exercise name, in file order (the header is dropped)."""
    if not path.is_file():
        return {}
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith(BLOCK_MARK):
            current = [line]
            blocks[line[len(BLOCK_MARK):].split()[0]] = current
        elif current is not None:
            current.append(line)
    return {name: "".join(lines).strip() + "\n" for name, lines in blocks.items()}


def _notebook_of(block: str) -> str:
    found = re.search(r" notebook (\S+) ", block.splitlines()[0])
    return found.group(1) if found else "99"


def _write(path: Path, blocks: dict[str, str]) -> None:
    """The header, then the blocks in the order of the notebooks (then by name)."""
    names = sorted(blocks, key=lambda n: (_notebook_of(blocks[n]), n))
    text = _HEADER + "".join("\n\n" + blocks[n] for n in names)
    with atomic_write(path) as stream:
        stream.write(text.encode("utf-8"))


def saved_names(folder: str | Path | None = None) -> list[str]:
    """The exercises ``my_nst.py`` holds a block for (empty when there is no file)."""
    return list(_read_blocks(learner_file(folder)))


def save_passing(name: str, fn: Callable, *, notebook: str, check: str, exercise_names: Iterable[str] = (),
                 folder: str | Path | None = None) -> Saved | None:
    """Save ``fn``, which just passed exercise ``name``'s check, to ``my_nst.py`` (None: not a cell function).

    The block of ``name`` is replaced, the others kept. Names in ``exercise_names`` (the other exercises)
    are left for the file to resolve rather than copied into the block.
    Never raises for the learner's sake: a source that cannot be read or a file that cannot be written
    gives ``Saved(saved=False, message=…)``.
    """
    path = learner_file(folder)
    if not defined_in_a_cell(fn):
        return None
    plain = plain_function(fn)
    try:
        block, unresolved = _block(name, plain, notebook, check, exercise_names)
    except Exception:  # noqa: BLE001 - no source (a restarted kernel), a lambda, …: said, never raised
        return Saved(False, path, f"→ not saved to {FILE_NAME}: the source of {plain.__name__} cannot be read back from "
                                  "its cell (define it with `def` in a cell, run that cell, then the check again)")
    blocks = _read_blocks(path)
    blocks[name] = block
    try:
        _write(path, blocks)
    except (OutputError, OSError) as exc:
        return Saved(False, path, f"→ not saved to {FILE_NAME}: {exc}")
    message = f"→ saved to {FILE_NAME} as {name} (notebook 08 uses it from there)"
    if unresolved:
        message += f"; it uses {', '.join(unresolved)}, which cannot be saved as code: define them in the file"
    return Saved(True, path, message, unresolved)


def load_learner_module(folder: str | Path | None = None) -> types.ModuleType | None:
    """Import ``my_nst.py`` afresh (a new module object each call; None when there is no file).

    Raises:
        LearnerFileError: the file exists but importing it fails (its error, in one line).
    """
    path = learner_file(folder)
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("my_nst", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - whatever the learner's file raises, it is reported in one line
        raise LearnerFileError(path, f"{type(exc).__name__}: {exc}") from exc
    return module
