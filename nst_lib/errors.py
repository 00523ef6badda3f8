"""Exceptions raised by nst_lib.

Every error says what was received and what is allowed. They subclass the built-in exception a
caller would expect (``ValueError``, ``FileNotFoundError``, ``OSError``) so generic handlers still work,
and all share :class:`NSTError` so the CLI, widgets and web page can turn any of them into one line.

Errors carry fields, not only text: a front end that names an input its own way (the web page says
"the style image 'holiday.jpg'" where the library saw "the given image data (1,234 bytes)") builds its
sentence from the fields (:meth:`NSTError.sentence`, :meth:`NSTError.restated`); no code parses a message.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Iterator

__all__ = [
    "INPUT_ROLES",
    "ImageNotFoundError",
    "InvalidImageError",
    "InvalidSettingError",
    "MemoryBudgetError",
    "NSTError",
    "OutputError",
    "WeightsError",
    "input_role",
]

#: the inputs of a run an error may be about (:attr:`NSTError.role`)
INPUT_ROLES = ("content", "style", "mask")


class NSTError(Exception):
    """Base class of every error raised on purpose by nst_lib.

    Besides its one-sentence message, an error may carry fields a front end can use without reading the
    message (each ``None`` when the raiser did not say):

    * ``subject``: what it is about, as the message names it (``"the given image data (1,234 bytes)"``,
      ``"'photo.png'"``, a setting's name);
    * ``reason``: a short code for why (``"not_found"``, ``"too_large"``, ``"corrupt"``, …);
    * ``received`` and ``allowed``: what was received and what is allowed, as values (``(width, height)``
      and a pixel limit, a byte count, a file extension and the allowed ones, …);
    * ``problem``: the message without its subject (``"is empty (0 bytes); expected a PNG … image"``), so
      that ``f"{subject} {problem}"`` is the message and a front end can put its own subject in front;
    * ``role`` and ``number``: which input of a run it is about (one of :data:`INPUT_ROLES`; ``number``
      counts styles and masks from 1 when there are several).

    With ``subject`` and ``problem`` and no message, the message is ``f"{subject} {problem}"``.
    """

    def __init__(self, *args: object, subject: str | None = None, reason: str | None = None,
                 received: Any = None, allowed: Any = None, problem: str | None = None,
                 role: str | None = None, number: int | None = None):
        if not args and subject is not None and problem is not None:
            args = (f"{subject} {problem}",)
        super().__init__(*args)
        self.subject, self.reason, self.problem = subject, reason, problem
        self.received, self.allowed = received, allowed
        self.role, self.number = role, number

    def about(self, subject: str | None = None, reason: str | None = None, *, role: str | None = None,
              number: int | None = None) -> "NSTError":
        """Fill in the fields not given yet (the message is unchanged); returns the error itself."""
        self.subject = self.subject if self.subject is not None else subject
        self.reason = self.reason if self.reason is not None else reason
        self.role = self.role if self.role is not None else role
        self.number = self.number if self.number is not None else number
        return self

    def sentence(self, subject: str | None = None) -> str:
        """The message, or — given ``subject`` — the same sentence about ``subject``: built from
        ``problem`` when the raiser gave one, else ``"<subject> cannot be used: <message>"``."""
        message = " ".join(str(self).split()) or type(self).__name__
        if subject is None:
            return message
        if self.problem is not None:
            return f"{subject} {self.problem}"
        return f"{subject} cannot be used: {message}"

    def restated(self, subject: str) -> "NSTError":
        """A copy of this error (same class and fields) whose message is about ``subject``
        (:meth:`sentence`): for a front end that re-raises a library error under its own name for the input."""
        twin = copy.copy(self)
        twin.args = (self.sentence(subject),)
        twin.subject = subject
        twin.__cause__, twin.__context__, twin.__traceback__ = self.__cause__, self.__context__, None
        return twin

    def __reduce__(self):  # pickled between the web page's worker processes: keep the fields, whatever __init__ takes
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type, args: tuple, fields: dict) -> NSTError:
    try:
        error = cls.__new__(cls)
    except TypeError:  # MemoryError's own __new__ refuses subclasses whose first base is NSTError
        error = BaseException.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(fields)
    return error


@contextlib.contextmanager
def input_role(role: str, number: int | None = None) -> Iterator[None]:
    """Say which input of a run an :class:`NSTError` raised inside the block is about (fields ``role`` and
    ``number``, when not set yet): ``with input_role("style", 2): load_image(path)``."""
    try:
        yield
    except NSTError as error:
        error.about(role=role, number=number)
        raise


class InvalidImageError(NSTError, ValueError):
    """An input could not be read as an image, or it is too small, too large or of the wrong kind."""


class ImageNotFoundError(NSTError, FileNotFoundError):
    """An image path does not exist or is not a file."""


class InvalidSettingError(NSTError, ValueError):
    """A hyper-parameter or option is outside what is allowed."""


class WeightsError(NSTError, OSError):
    """Backbone weights are missing, truncated or of the wrong shape."""


class OutputError(NSTError, OSError):
    """An output file cannot be written where or how it was asked for."""


class MemoryBudgetError(NSTError, MemoryError):
    """A run cannot be done within the memory budget, even in tiles (refused before it starts)."""
