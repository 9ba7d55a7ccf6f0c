"""User text (bed names, descriptions, anything read from a file or the database): the characters a name may
not hold, text made safe to print on a terminal, and names made into file names that fit the file system.

*Unsafe* characters are the control characters (C0, DEL and C1: ESC starts a terminal escape sequence, CR
rewrites a line), the bidirectional formatting characters (they reorder the text around them on screen: the
"Trojan Source" trick), the line and paragraph separators and lone surrogates (not text: they cannot be
written as UTF-8).
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional formatting characters (a regular expression's class): embeddings, overrides, isolates, marks.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: The longest file name (one path segment) common Linux file systems take, in bytes (``NAME_MAX``).
NAME_MAX_BYTES = 255
# Control characters (Unicode category Cc: C0, DEL, C1), bidi controls, line and paragraph separators,
# surrogates (category Cs); the second pattern leaves out newline and tab.
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


def _code(char: str) -> str:
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def check_text(value: str, *, max_length: int, multiline: bool = False) -> str:
    """``value`` if it is at most ``max_length`` characters without unsafe characters (newlines and tabs
    allowed when ``multiline``); :class:`ValueError` with a message for a user otherwise (no field path:
    the caller adds it)."""
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length:,} characters, got {len(value):,}")
    found = (_UNSAFE_IN_LINES if multiline else _UNSAFE).search(value)
    if found:
        char = found.group()
        name = unicodedata.name(char, "control character").lower()
        raise ValueError(f"must not contain {_code(char)} ({name}) at character {found.start() + 1}"
                         + ("" if multiline else "; a name is one line of printable text"))
    return value


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` for a terminal: every unsafe character written as its escape (``\\x1b``, ``\\u202e``), so no
    escape sequence reaches the terminal and no bidi character reorders the line; newlines and tabs are
    kept when ``multiline``."""
    return (_UNSAFE_IN_LINES if multiline else _UNSAFE).sub(lambda found: _code(found.group()), text)


def json_printable(text: str) -> str:
    """JSON text with every unsafe character in its strings (``json.dumps(..., ensure_ascii=False)`` escapes
    C0 but keeps DEL, C1, bidi controls and surrogates) written as its ``\\uXXXX`` escape: the same JSON
    value, safe to print."""
    return _UNSAFE_IN_LINES.sub(lambda found: f"\\u{ord(found.group()):04x}", text)  # JSON's own lines kept


def fit_bytes(text: str, limit: int) -> str:
    """The longest start of ``text`` whose UTF-8 encoding takes at most ``limit`` bytes (whole characters)."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")  # "ignore" drops the character cut in two


def file_name(name: str, suffix: str = "", fallback: str = "bed") -> str:
    """A file or folder name made from a user's ``name`` and ``suffix`` (e.g. ``"-<digest12>"``): letters and
    digits of any script kept, ``-`` and ``_`` too, anything else ``_``; cut to fit :data:`NAME_MAX_BYTES`
    with the suffix (bytes, not characters: a character may take 4)."""
    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in name) or fallback
    return fit_bytes(safe, NAME_MAX_BYTES - len(suffix.encode("utf-8"))) + suffix
