"""Free text people type (accounts, reasons, comments, names): checked and cleaned in one place.

:func:`clean` is what every caller's text goes through before it is stored: the API, the pages
and the command line all reach it through :func:`workflow.spec.inputs`. It refuses, as
``invalid_input`` naming the field, what no person means to type and what would mislead a reader:

- bytes that are not text (a lone surrogate: what Python makes of invalid UTF-8 on a command line);
- control characters other than tab and line breaks (NUL, escape sequences);
- the characters that reorder text on screen (the bidirectional overrides and isolates, U+202A–E,
  U+2066–9, and the direction marks), with which ``exe.txt`` reads as ``txt.exe``;
- text that shows nothing: only spaces and invisible characters (zero-width space, joiners, BOM);
- text longer than its limit (counted after cleaning).

Cleaning is light: surrounding whitespace is stripped, nothing inside is changed.

:func:`decode` reads the bytes of a text file the way offices save them.
"""
from __future__ import annotations

import unicodedata

from .effects import Refused

# characters that change the order in which text is displayed (Trojan Source, CVE-2021-42574)
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# characters that take no space on screen: text made only of these (and spaces) says nothing
INVISIBLE = frozenset("\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063"
                      "\u2064\u3164\ufeff\uffa0")
LINE_CONTROLS = frozenset("\t\n\r")


def problem(value: str) -> str | None:
    """What is wrong with ``value`` as typed text (before any length limit), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid text (bytes that are not UTF-8)"
    for ch in value:
        if ch in BIDI_CONTROLS:
            return f"must not contain direction-changing characters (U+{ord(ch):04X})"
        if ch not in LINE_CONTROLS and unicodedata.category(ch) == "Cc":
            return f"must not contain control characters (U+{ord(ch):04X})"
    if value.strip() and not any(ch not in INVISIBLE and not ch.isspace() for ch in value):
        return "shows no visible text"
    return None


def clean(value: str, field: str, max_length: int | None = None) -> str:
    """``value`` with surrounding whitespace stripped; :class:`Refused` ``invalid_input`` naming
    ``field`` if it is not text a person could have meant, or is longer than ``max_length``."""
    if not isinstance(value, str):
        raise Refused("invalid_input", f"{field}: must be text")
    wrong = problem(value)
    if wrong:
        raise Refused("invalid_input", f"{field}: {wrong}")
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise Refused("invalid_input", f"{field}: at most {max_length} characters")
    return value


def visible(value: str | None) -> bool:
    """True if ``value`` shows something on screen."""
    return bool(value) and any(ch not in INVISIBLE and not ch.isspace() for ch in value or "")


def decode(data: bytes) -> str:
    """The text of a file's bytes: UTF-16 with a byte-order mark, UTF-8 (with or without one), else
    GB18030 (what Chinese Windows saves); ``UnicodeDecodeError`` if it is none of them."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")
