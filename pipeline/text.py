"""User text (bed names, descriptions, anything read from a file or the database): the characters a name may
not hold, text made safe to print on a terminal, and names made into file names that fit the file system.

*Unsafe* characters are the control characters (C0, DEL and C1: ESC starts a terminal escape sequence, CR
rewrites a line), the bidirectional formatting characters (they reorder the text around them on screen: the
"Trojan Source" trick), the line and paragraph separators and lone surrogates (not text: they cannot be
written as UTF-8).
"""

from __future__ import annotations

import unicodedata

#: Bidirectional formatting characters: embeddings, overrides, isolates and the invisible direction marks.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: The longest file name (one path segment) common Linux file systems take, in bytes (``NAME_MAX``).
NAME_MAX_BYTES = 255
_SEPARATORS = frozenset("\u2028\u2029")


def is_unsafe(char: str) -> bool:
    """Whether ``char`` is a control, bidi formatting, line/paragraph separator or surrogate character."""
    return char in BIDI_CONTROLS or char in _SEPARATORS or unicodedata.category(char) in ("Cc", "Cs")


def _code(char: str) -> str:
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def check_text(value: str, *, max_length: int, multiline: bool = False) -> str:
    """``value`` if it is at most ``max_length`` characters without unsafe characters (newlines and tabs
    allowed when ``multiline``); :class:`ValueError` with a message for a user otherwise (no field path:
    the caller adds it)."""
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length:,} characters, got {len(value):,}")
    allowed = "\n\t" if multiline else ""
    for index, char in enumerate(value):
        if is_unsafe(char) and char not in allowed:
            name = unicodedata.name(char, "control character")
            raise ValueError(f"must not contain {_code(char)} ({name.lower()}) at character {index + 1}"
                             + ("" if multiline else "; a name is one line of printable text"))
    return value


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` for a terminal: every unsafe character written as its escape (``\\x1b``, ``\\u202e``), so no
    escape sequence reaches the terminal and no bidi character reorders the line; newlines (and tabs) are
    kept when ``multiline``."""
    kept = "\n\t" if multiline else ""
    if text.isprintable() and not any(char in BIDI_CONTROLS for char in text):
        return text  # the common case, without a loop in Python
    return "".join(_code(char) if is_unsafe(char) and char not in kept else char for char in text)


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
