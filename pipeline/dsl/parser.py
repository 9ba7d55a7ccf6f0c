"""Parser of the `.bed` language.

Grammar::

    file       := ( meta | section )* EOF
    meta       := ("name" | "description") "=" STRING ";"
    section    := WORD "{" assignment* "}"
    assignment := WORD "=" value ";"
    value      := NUMBER [unit] | STRING | WORD | "[" [item ("," item)* [","]] "]"

Sections and keys are those of :class:`~pipeline.spec.BedSpec`. Each value is
converted to SI with its unit and checked for the field's type here (a
:class:`~pipeline.errors.BedSyntaxError` pointing at the token); ranges and the
rules between fields are checked by :meth:`BedSpec.from_dict`, whose
:class:`~pipeline.errors.BedValidationError` also points into the text.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import PurePath
from typing import Any

import param

from ..errors import BedSyntaxError, SourceLocation
from ..spec import METADATA, SECTION_CLASSES, BedSpec, unit_of
from ..spec.bedspec import suggest
from ..units import DIMENSION_NAMES, dimension_of, lookup, spellings_for
from .lexer import MAX_BED_BYTES, Kind, Source, Token, tokenize, too_long

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INTEGER = re.compile(r"[+-]?\d+\Z")
_KEYWORDS = {"true": True, "false": False}
#: Digits of the longest whole number read (the largest field bound has 10).
_MAX_DIGITS = 100


class _Parser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.data: dict[str, Any] = {}
        self.locations: dict[str, SourceLocation] = {}
        self.seen: dict[str, Token] = {}

    # -- token helpers --------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.EOF:
            self.index += 1
        return token

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.current
        if token.kind is not kind:
            if kind is Kind.SEMI:
                previous = self.tokens[self.index - 1]
                end = previous.column + len(previous.text)
                raise self.source.error(
                    f"expected ';' after {context} (found {token.describe()})", previous.line, end
                )
            raise self.error(f"expected {kind.value} {context}, found {token.describe()}", token)
        return self.advance()

    def error(self, message: str, token: Token) -> BedSyntaxError:
        return self.source.error_at(message, token)

    def name(self, context: str) -> Token:
        token = self.current
        if token.kind is not Kind.WORD or not _NAME.match(token.text):
            raise self.error(f"expected {context}, found {token.describe()}", token)
        return self.advance()

    def remember(self, path: str, token: Token) -> None:
        if path in self.seen:
            first = self.seen[path]
            what = "section" if "." not in path and path not in METADATA else "key"
            raise self.error(f"duplicate {what} '{path}' (first given at line {first.line})", token)
        self.seen[path] = token

    # -- grammar --------------------------------------------------------------------------
    def parse(self) -> tuple[dict[str, Any], dict[str, SourceLocation]]:
        while self.current.kind is not Kind.EOF:
            head = self.name("a section name (" + ", ".join(SECTION_CLASSES) + ")")
            if head.text in METADATA:
                self.meta(head)
            elif head.text in SECTION_CLASSES:
                self.section(head)
            else:
                options = [*SECTION_CLASSES, *METADATA]
                raise self.error(f"unknown section '{head.text}'{suggest(head.text, options)}", head)
        return self.data, self.locations

    def meta(self, head: Token) -> None:
        self.remember(head.text, head)
        self.expect(Kind.EQUALS, f"after '{head.text}'")
        token = self.current
        if token.kind is not Kind.STRING:
            raise self.error(f"'{head.text}' must be a string in quotes, found {token.describe()}", token)
        self.advance()
        self.data[head.text] = token.value
        self.locations[head.text] = self.location(token)
        self.expect(Kind.SEMI, f"the value of '{head.text}'")

    def section(self, head: Token) -> None:
        key = head.text
        self.remember(key, head)
        self.expect(Kind.LBRACE, f"after section name '{key}'")
        self.locations[key] = self.location(head)
        cls = SECTION_CLASSES[key]
        fields = cls.field_names()
        values: dict[str, Any] = self.data.setdefault(key, {})
        while self.current.kind is not Kind.RBRACE:
            if self.current.kind is Kind.EOF:
                raise self.error(f"section '{key}' opened at line {head.line} is not closed (missing '}}')", self.current)
            field_token = self.name(f"a key of section '{key}' or '}}'")
            field = field_token.text
            if field not in fields:
                raise self.error(f"unknown key '{field}' in section '{key}'{suggest(field, fields)}", field_token)
            path = f"{key}.{field}"
            self.remember(path, field_token)
            self.expect(Kind.EQUALS, f"after key '{field}'")
            value_token = self.current
            values[field] = self.value(path, cls.param[field])
            self.locations[path] = self.location(value_token)
            self.expect(Kind.SEMI, f"the value of '{path}'")
        self.advance()

    def location(self, token: Token) -> SourceLocation:
        return self.source.location(token.line, token.column, max(1, len(token.text)))

    # -- values ---------------------------------------------------------------------------
    def value(self, path: str, parameter: param.Parameter) -> Any:
        token = self.current
        if token.kind is Kind.WORD and token.text == "none" and parameter.allow_None:
            self.advance()
            return None
        if isinstance(parameter, param.Boolean):
            if token.kind is Kind.WORD and token.text in _KEYWORDS:
                self.advance()
                return _KEYWORDS[token.text]
            raise self.error(f"{path} expects true or false, found {token.describe()}", token)
        if isinstance(parameter, param.Number):
            return self.quantity(path, parameter)
        if isinstance(parameter, param.ListSelector):
            return self.list_value(path)
        if isinstance(parameter, param.Selector):
            if token.kind in (Kind.WORD, Kind.STRING):
                self.advance()
                return token.value
            raise self.error(f"{path} expects one of {', '.join(parameter.objects)}, found {token.describe()}", token)
        if token.kind is Kind.STRING:
            self.advance()
            return token.value
        raise self.error(f"{path} expects a string in quotes, found {token.describe()}", token)

    def quantity(self, path: str, parameter: param.Parameter) -> float | int:
        token = self.current
        if token.kind is not Kind.NUMBER:
            raise self.error(f"{path} expects a number, found {token.describe()}", token)
        self.advance()
        if isinstance(parameter, param.Integer) and _INTEGER.match(token.text):
            if len(token.text) > _MAX_DIGITS:  # int() refuses (ValueError) beyond sys.get_int_max_str_digits()
                raise self.error(f"number {token.short()} is out of range", token)
            number: float | int = int(token.text)
        else:
            number = float(token.text)
            if not math.isfinite(number):
                raise self.error(f"number {token.short()} is out of range", token)
        expected = unit_of(parameter)
        unit_token = self.current if self.current.kind is Kind.WORD else None
        if expected is None:
            if unit_token is not None:
                raise self.error(f"{path} is dimensionless; remove the unit '{unit_token.text}'", unit_token)
            return number
        dimension = dimension_of(expected)
        hint = f"a {DIMENSION_NAMES[dimension]}: {', '.join(spellings_for(dimension))}"
        if unit_token is None:
            raise self.error(f"{path} needs a unit ({hint})", self.current)
        self.advance()
        unit = lookup(unit_token.text)
        if unit is None:
            raise self.error(f"unknown unit '{unit_token.text}' for {path} (expected {hint})", unit_token)
        if unit.dimension != dimension:
            raise self.error(
                f"unit '{unit_token.text}' is a {DIMENSION_NAMES.get(unit.dimension, 'other quantity')}, "
                f"but {path} is {hint}",
                unit_token,
            )
        return unit.to_si(number)

    def list_value(self, path: str) -> list[str]:
        self.expect(Kind.LBRACKET, f"to start the list of {path}")
        items: list[str] = []
        while self.current.kind is not Kind.RBRACKET:
            token = self.current
            if token.kind not in (Kind.WORD, Kind.STRING):
                raise self.error(f"{path} expects a list of names, found {token.describe()}", token)
            items.append(token.value)
            self.advance()
            if self.current.kind is Kind.COMMA:
                self.advance()
            elif self.current.kind is not Kind.RBRACKET:
                raise self.error(f"expected ',' or ']' in the list of {path}, found {self.current.describe()}", self.current)
        self.advance()
        return items


def _parse(source: Source) -> BedSpec:
    data, locations = _Parser(source).parse()
    return BedSpec.from_dict(data, locations=locations)


def parse_bed(text: str, filename: str | None = None) -> BedSpec:
    """Parse a `.bed` text into a validated :class:`BedSpec`; ``filename`` names it in error messages.

    The text is always text, never a path (:func:`read_bed` reads a file). Raises
    :class:`~pipeline.errors.BedSyntaxError` for text that cannot be read (or is longer than
    :data:`~pipeline.dsl.lexer.MAX_BED_BYTES`) and :class:`~pipeline.errors.BedValidationError` for values
    that break a rule.
    """
    if isinstance(text, PurePath):
        raise TypeError(f"parse_bed takes the text of a .bed file, not the path {str(text)!r}: use read_bed(path)")
    if not isinstance(text, str):
        raise TypeError(f"parse_bed takes the text of a .bed file as a str, not {type(text).__name__} "
                        "(read_bed reads a file)")
    return _parse(Source(text, filename or "<bed>"))


def read_bed(path: str | os.PathLike[str]) -> BedSpec:
    """Read and parse the `.bed` file at ``path`` (errors name the file): as :func:`parse_bed`, and a
    :class:`~pipeline.errors.BedSyntaxError` for a file that is missing, unreadable, not UTF-8 text or longer
    than :data:`~pipeline.dsl.lexer.MAX_BED_BYTES`."""
    name = os.fspath(path)

    def failed(message: str) -> BedSyntaxError:
        return BedSyntaxError(message, SourceLocation(0, 0, "", name))

    try:
        with open(name, "rb") as handle:
            data = handle.read(MAX_BED_BYTES + 1)  # never more: a huge file (or /dev/zero) is not read whole
    except FileNotFoundError:
        raise failed("file not found") from None
    except IsADirectoryError:
        raise failed("is a folder, not a .bed file") from None
    except OSError as error:
        raise failed(f"cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BED_BYTES:
        raise too_long(name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise failed(f"file is not UTF-8 text ({exc.reason})") from None
    return _parse(Source(text, name))
