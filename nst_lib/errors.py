"""Exceptions raised by nst_lib.

Every error says what was received and what is allowed. They subclass the built-in exception a
caller would expect (``ValueError``, ``FileNotFoundError``, ``OSError``) so generic handlers still work,
and all share :class:`NSTError` so the CLI, widgets and web page can turn any of them into one line.
"""
from __future__ import annotations


class NSTError(Exception):
    """Base class of every error raised on purpose by nst_lib.

    Besides its one-sentence message, an error may carry fields a front end can use without reading the
    message: ``subject``, what it is about as the message names it (``"the given image data (1,234
    bytes)"``, ``"'photo.png'"``, a setting's name), and ``reason``, a short code for why (``"not_found"``,
    ``"too_large"``, ``"corrupt"``, …). Both are ``None`` when the raiser did not say.
    """

    def __init__(self, *args: object, subject: str | None = None, reason: str | None = None):
        super().__init__(*args)
        self.subject = subject
        self.reason = reason

    def about(self, subject: str | None = None, reason: str | None = None) -> "NSTError":
        """Fill in the fields not given yet (the message is unchanged); returns the error itself."""
        self.subject = self.subject if self.subject is not None else subject
        self.reason = self.reason if self.reason is not None else reason
        return self


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
