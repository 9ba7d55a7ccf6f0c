"""Tokens of the `.bed` language.

Whitespace and comments (``// …`` to the end of the line, ``/* … */``) separate
tokens. A *word* is a name, a bare value (``sphere``, ``true``) or a unit
(``mm``, ``kg/m3``, ``Pa.s``); strings are JSON string literals; numbers take a
sign, decimals and an exponent.

Lexing takes time and memory linear in the text (no pattern backtracks per character), and a text is at most
:data:`MAX_BED_BYTES` long: the dashboard parses what a browser sends on every edit.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import NamedTuple

from ..errors import BedSyntaxError, SourceLocation

#: The longest `.bed` text (UTF-8 bytes) read from a file or an editor; a bed takes a few kB.
MAX_BED_BYTES = 1_000_000
#: Characters of a token quoted in an error message; a longer token is cut (``…``).
_QUOTED = 40


class Kind(Enum):
    WORD = "word"
    NUMBER = "number"
    STRING = "string"
    LBRACE = "'{'"
    RBRACE = "'}'"
    LBRACKET = "'['"
    RBRACKET = "']'"
    COMMA = "','"
    SEMI = "';'"
    EQUALS = "'='"
    EOF = "end of file"


class Token(NamedTuple):
    """One token with its 1-based position."""

    kind: Kind
    text: str
    line: int
    column: int

    @property
    def value(self) -> str:
        """The decoded text of a string token; the text itself otherwise."""
        return json.loads(self.text) if self.kind is Kind.STRING else self.text

    def short(self) -> str:
        """The text, cut to :data:`_QUOTED` characters for a message (a string may take a megabyte)."""
        return self.text if len(self.text) <= _QUOTED else self.text[:_QUOTED - 1] + "…"

    def describe(self) -> str:
        if self.kind is Kind.EOF:
            return "end of file"
        if self.kind in (Kind.WORD, Kind.NUMBER, Kind.STRING):
            return f"{self.kind.value} {self.short()!r}"
        return self.kind.value


_PUNCTUATION = {
    "{": Kind.LBRACE,
    "}": Kind.RBRACE,
    "[": Kind.LBRACKET,
    "]": Kind.RBRACKET,
    ",": Kind.COMMA,
    ";": Kind.SEMI,
    "=": Kind.EQUALS,
}

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\f\v\n]+)
    |(?P<line_comment>//[^\n]*)
    |(?P<block_comment>/\*.*?\*/)
    |(?P<punct>[{}\[\],;=])
    |(?P<string>"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+")  # possessive: no backtracking state kept per character
    |(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<word>[A-Za-z_µ][A-Za-z0-9_µ·./^*()\-]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_SIMPLE = {"number": Kind.NUMBER, "word": Kind.WORD}


def too_long(filename: str, size: int | None = None) -> BedSyntaxError:
    """The error of a text over :data:`MAX_BED_BYTES` (``size``: its bytes, ``None`` when not all were read)."""
    taken = f"this one takes {size:,}" if size is not None else "this one takes more"
    return BedSyntaxError(f"too long: a .bed text may take at most {MAX_BED_BYTES:,} bytes (UTF-8), {taken}",
                          SourceLocation(0, 0, "", filename))


def check_size(text: str, filename: str = "<bed>") -> None:
    """Raise :func:`too_long`'s error if ``text`` takes more than :data:`MAX_BED_BYTES` in UTF-8."""
    if len(text) * 4 <= MAX_BED_BYTES:
        return  # short enough whatever its characters (none takes more than 4 bytes)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BED_BYTES:
        raise too_long(filename, size)


class Source:
    """A `.bed` text with its name, for locating errors; :class:`BedSyntaxError` for a text over
    :data:`MAX_BED_BYTES`."""

    def __init__(self, text: str, filename: str = "<bed>") -> None:
        check_size(text, filename)
        self.text = text
        self.filename = filename
        self.lines = text.split("\n")

    def location(self, line: int, column: int, length: int = 1) -> SourceLocation:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return SourceLocation(line, column, text.expandtabs(1), self.filename, length)

    def error(self, message: str, line: int, column: int, length: int = 1) -> BedSyntaxError:
        return BedSyntaxError(message, self.location(line, column, length))

    def error_at(self, message: str, token: Token) -> BedSyntaxError:
        return self.error(message, token.line, token.column, max(1, len(token.text)))


def tokenize(source: Source) -> list[Token]:
    """Split a `.bed` text into tokens; raise :class:`BedSyntaxError` on a bad character."""
    text = source.text
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    match_token = _TOKEN.match
    while pos < len(text):
        column = pos - line_start + 1
        match = match_token(text, pos)
        if match is None:
            char = text[pos]
            if text.startswith("/*", pos):
                raise source.error("unterminated comment (missing '*/')", line, column, 2)
            if char == '"':
                raise source.error("unterminated string (missing closing '\"' on this line)", line, column)
            raise source.error(f"unexpected character {char!r}", line, column)
        kind, value = match.lastgroup, match.group()
        pos = match.end()
        if kind == "space" or kind == "block_comment":
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = pos - len(value) + value.rfind("\n") + 1
        elif kind == "punct":
            tokens.append(Token(_PUNCTUATION[value], value, line, column))
        elif kind == "string":
            try:
                json.loads(value)
            except json.JSONDecodeError:
                raise source.error("invalid escape sequence in string", line, column, len(value)) from None
            tokens.append(Token(Kind.STRING, value, line, column))
        elif kind in _SIMPLE:
            tokens.append(Token(_SIMPLE[kind], value, line, column))
    tokens.append(Token(Kind.EOF, "", line, pos - line_start + 1))
    return tokens
