"""Exceptions raised by bedflow.

Every error a user can cause derives from :class:`BedflowError`, so front ends
(CLI, dashboard, jobs) can show the message instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class BedflowError(Exception):
    """Base class of all errors bedflow reports to a user."""


class QueueError(BedflowError):
    """The job queue cannot be reached."""


@dataclass(frozen=True)
class SourceLocation:
    """A position in a `.bed` text: 1-based line and column, plus the line's text.

    Line 0 stands for the file as a whole (it could not be read).
    """

    line: int
    column: int
    text: str = ""
    filename: str = "<bed>"
    length: int = 1

    def caret(self) -> str:
        """The offending line with a caret under the position, like a compiler."""
        gutter = f"{self.line:>4} | "
        underline = "^" * max(1, self.length)
        return f"{gutter}{self.text}\n{' ' * (len(gutter) - 2)}| {' ' * (self.column - 1)}{underline}"

    def prefix(self) -> str:
        if self.line < 1:  # the whole file (missing, unreadable)
            return self.filename
        return f"{self.filename}:{self.line}:{self.column}"


class BedSyntaxError(BedflowError):
    """A `.bed` text that cannot be read: bad token, unknown key, bad unit, ...

    The message names the file, line and column and shows the line with a caret.
    """

    def __init__(self, message: str, location: SourceLocation) -> None:
        self.message = message
        self.location = location
        text = f"{location.prefix()}: error: {message}"
        super().__init__(f"{text}\n{location.caret()}" if location.line >= 1 else text)

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column


@dataclass(frozen=True)
class Problem:
    """One validation problem: the field path (``particles.diameter``) and what is wrong."""

    path: str
    message: str
    location: SourceLocation | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        if self.location is not None:
            return f"{self.location.prefix()}: {text}"
        return text


class BedValidationError(BedflowError):
    """A specification whose values break one or more rules; lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("BedValidationError needs at least one problem")
        self.problems = list(problems)
        count = len(self.problems)
        header = f"invalid bed specification ({count} problem{'s' if count > 1 else ''}):"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.problems]
