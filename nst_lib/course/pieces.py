"""The learner's pieces, from ``my_nst.py``, each checked: yours where it passes, the reference otherwise.

:func:`my_pieces` imports ``my_nst.py`` (:mod:`nst_lib.course.learner_file`) and runs each named piece
through its exercise's check, in the order given, so that later pieces are checked on the earlier choices.
A piece that is missing, still empty or failing is replaced by the reference solution **built on the
learner's other pieces**: a copy of the reference function whose global names (``gram_matrix``,
``preprocess``, …) are the pieces chosen here, so a reference ``make_objective`` calls the learner's
``gram_matrix``. Likewise the learner's own functions from ``my_nst.py`` call the chosen pieces (the
module's names are rebound to them), never a hidden library version.

Every :class:`Piece` says whether it is ``yours`` and why not — as a :class:`Why` that code reads and a
``reason`` sentence the learner reads; :meth:`Pieces.tally` is the contract line ``K of N pieces are yours``
(notebook 08 ends with it), and :meth:`Pieces.label` names a result made from several pieces truthfully.
"""
from __future__ import annotations

import contextlib
import dataclasses
import enum
import io
import types
from pathlib import Path
from typing import Callable, Iterator

from . import solutions
from .checks import EXERCISES, ExerciseError, ExerciseNotWritten
from .learner_file import FILE_NAME, LearnerFileError, load_learner_module

__all__ = ["CAPSTONE_PIECES", "Piece", "Pieces", "Why", "my_pieces", "capstone_pieces"]

#: the pieces of notebook 08, in the order they build on each other
CAPSTONE_PIECES = ("preprocess", "make_extractor", "gram_matrix", "content_loss", "style_loss", "make_train_step",
                   "make_objective", "style_transfer")

YOURS, REFERENCE = "yours", "reference"


class Why(enum.Enum):
    """Why a candidate for a piece is not used: what :meth:`Pieces.tally` counts, whatever the words say."""

    NOT_WRITTEN = "not_written"  # no function of that name in my_nst.py (nor in the notebook)
    EMPTY = "empty"  # still the exercise's empty template
    FAILS = "fails"  # written, and its check found something wrong
    IS_REFERENCE = "is_reference"  # the reference solution itself, not the learner's

    @property
    def missing(self) -> bool:
        """Not written yet (the tally's "missing"), as opposed to written and failing its check."""
        return self is not Why.FAILS


@dataclasses.dataclass(frozen=True)
class Piece:
    """One piece: the ``function`` to use, whether it is ``yours``, where it came from (``origin``:
    ``"my_nst.py"``, ``"this notebook"`` or ``"reference"``) and, for a reference, why yours is not used:
    ``why``, one :class:`Why` per candidate looked at (in order: the notebook's, then my_nst.py's), and
    ``reason``, the sentence the learner reads (``"not in my_nst.py yet"``, ``"still empty"``, or what its
    check found)."""

    name: str
    function: Callable
    yours: bool
    origin: str
    reason: str = ""
    why: tuple[Why, ...] = ()

    @property
    def missing(self) -> bool:
        """A reference because yours is not written yet: the first candidate's verdict (the one ``reason``
        begins with) is not "fails its check"."""
        return not self.yours and (not self.why or self.why[0].missing)

    @property
    def failing(self) -> bool:
        """A reference because yours (the first candidate) fails its check."""
        return not self.yours and not self.missing

    @property
    def owner(self) -> str:
        return YOURS if self.yours else REFERENCE

    def line(self) -> str:
        """One line for the learner: ✓/✗, the name, who wrote it and where it came from."""
        if self.yours:
            return f"✓ {self.name}: yours (from {self.origin}), passes its check"
        return f"✗ {self.name}: reference, built on your other pieces — {self.reason}"


def _reference_on(name: str, namespace: dict) -> Callable:
    """The reference solution of ``name`` with ``namespace`` as its globals (the chosen pieces in it)."""
    original = EXERCISES[name].reference
    built = types.FunctionType(original.__code__, namespace, original.__name__, original.__defaults__,
                               original.__closure__)
    built.__kwdefaults__, built.__doc__ = original.__kwdefaults__, original.__doc__
    built.__qualname__, built.__module__ = original.__qualname__, original.__module__
    return built


def _is_the_reference(name: str, function: Callable) -> bool:
    """True for the reference solution itself or a copy of it (what :func:`_reference_on` builds)."""
    plain = getattr(function, "python_function", function)
    return getattr(plain, "__code__", None) is EXERCISES[name].reference.__code__


def _verdict(name: str, function: Callable) -> tuple[Why | None, str]:
    """(why it is not used — None when it passes —, the learner's sentence) of ``function`` against exercise
    ``name``'s check, quietly."""
    if _is_the_reference(name, function):
        return Why.IS_REFERENCE, "this is the reference solution, not yours"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            EXERCISES[name].check.__wrapped__(function)
    except ExerciseNotWritten:
        return Why.EMPTY, "still empty"
    except ExerciseError as err:
        return Why.FAILS, f"fails its check: {err.reason}"
    return None, ""


class Pieces:
    """The chosen pieces, by name (``pieces["gram_matrix"]`` is a :class:`Piece`); see :func:`my_pieces`."""

    def __init__(self, module: types.ModuleType | None, note: str = ""):
        self.module = module  # my_nst.py, imported afresh (None: no file, or it did not import)
        self.note = note  # one line about the file itself (missing, or why it did not import)
        self.namespace = dict(vars(solutions))  # the references' globals, overlaid with the chosen pieces
        self.pieces: dict[str, Piece] = {}

    # ---------------------------------------------------------------- choosing
    def choose(self, name: str, candidates: list[tuple[str, Callable]]) -> Piece:
        """The first candidate ``(origin, function)`` that passes ``name``'s check, else the reference built
        on the pieces chosen so far; remembered, and bound in the references' and ``my_nst``'s globals."""
        reasons, whys = [], []
        for origin, function in candidates:
            why, reason = _verdict(name, function)
            if why is None:
                return self._keep(Piece(name, function, True, origin))
            whys.append(why)
            reasons.append(reason if len(candidates) == 1 else f"{reason} (from {origin})")
        if not candidates:
            whys.append(Why.NOT_WRITTEN)
            reasons.append(f"not in {FILE_NAME} yet")
        return self._keep(Piece(name, _reference_on(name, self.namespace), False, REFERENCE, "; ".join(reasons),
                                tuple(whys)))

    def _keep(self, piece: Piece) -> Piece:
        self.pieces[piece.name] = piece
        self.namespace[piece.name] = piece.function
        if self.module is not None:
            setattr(self.module, piece.name, piece.function)  # your other functions call the chosen piece
        return piece

    def from_file(self, name: str) -> list[tuple[str, Callable]]:
        function = getattr(self.module, name, None) if self.module is not None else None
        return [(FILE_NAME, function)] if callable(function) else []

    def adopt(self, **functions: Callable) -> Callable | tuple[Callable, ...]:
        """For pieces the learner writes in this notebook: the notebook's function if it passes, else the one
        in ``my_nst.py`` if that passes, else the reference built on the other pieces. Prints one line per
        piece and returns the functions to use, in the order given."""
        chosen = []
        for name, function in functions.items():
            piece = self.choose(name, [("this notebook", function), *self.from_file(name)])
            print(piece.line())
            chosen.append(piece.function)
        return chosen[0] if len(chosen) == 1 else tuple(chosen)

    # ---------------------------------------------------------------- reading
    def __getitem__(self, name: str) -> Piece:
        return self.pieces[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.pieces)

    def __len__(self) -> int:
        return len(self.pieces)

    def functions(self, *names: str) -> Callable | tuple[Callable, ...]:
        """The functions to use for ``names`` (one function for one name)."""
        found = tuple(self.pieces[name].function for name in names)
        return found[0] if len(found) == 1 else found

    def owner(self, name: str) -> str:
        """``"yours"`` or ``"reference"``."""
        return self.pieces[name].owner

    def label(self, *names: str, exclude: tuple[str, ...] | str = ()) -> str:
        """Who made a result that uses the pieces ``names`` (default: every chosen piece but ``exclude``):
        ``"yours"`` when every one is yours, ``"reference"`` when none is, else e.g.
        ``"yours + reference (6 of 8 pieces yours)"``."""
        exclude = (exclude,) if isinstance(exclude, str) else exclude
        names = names or tuple(name for name in self.pieces if name not in exclude)
        mine = sum(self.pieces[name].yours for name in names)
        if mine == len(names):
            return YOURS
        if mine == 0:
            return REFERENCE
        return f"yours + reference ({mine} of {len(names)} pieces yours)"

    def tally(self) -> str:
        """The contract line: ``K of N pieces are yours`` and, when K < N, which ones are missing or failing."""
        mine = [p for p in self.pieces.values() if p.yours]
        line = f"{len(mine)} of {len(self.pieces)} pieces are yours"
        missing = [p.name for p in self.pieces.values() if p.missing]
        failing = [p.name for p in self.pieces.values() if p.failing]
        if missing:
            line += f"; missing: {', '.join(missing)}"
        if failing:
            line += f"; failing its check: {', '.join(failing)}"
        return line + "."

    def report(self) -> str:
        """One line per piece, the note about the file first when there is one."""
        return "\n".join(([self.note] if self.note else []) + [p.line() for p in self.pieces.values()])


def my_pieces(*names: str, folder: str | Path | None = None) -> Pieces:
    """Import ``my_nst.py`` (from ``folder``, default the working directory) and choose each piece of
    ``names`` in order: yours from the file if it passes its check, else the reference built on your
    other pieces. Prints nothing; :meth:`Pieces.report` says what was chosen and why."""
    try:
        module = load_learner_module(folder)
        note = "" if module is not None else (f"There is no {FILE_NAME} here yet: the checks of notebooks 01–05 "
                                               "save each function of yours that passes into it.")
    except LearnerFileError as err:
        module, note = None, f"✗ {FILE_NAME} cannot be imported, so none of its pieces is used: {err.reason}"
    pieces = Pieces(module, note)
    for name in names:
        pieces.choose(name, pieces.from_file(name))
    return pieces


def capstone_pieces(folder: str | Path | None = None) -> Pieces:
    """Notebook 08's first six pieces (:data:`CAPSTONE_PIECES` without the two it asks for), from ``my_nst.py``;
    the notebook adds ``make_objective`` and ``style_transfer`` with :meth:`Pieces.adopt`."""
    return my_pieces(*CAPSTONE_PIECES[:-2], folder=folder)
