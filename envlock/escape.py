"""The one escaper for values envlock prints: names, versions, URLs, hints, environment names
and paths that come from a lockfile (which may arrive in a stranger's pull request) or from an
environment's files.

:func:`printable` replaces every character that a terminal, a CI log or a code review could
act on instead of showing, with a visible Python-style escape:

- C0 control characters, DEL and C1 control characters (ESC/CSI sequences, bells, backspace,
  the 8-bit CSI ``\\x9b``): ``\\x1b``; tab, line feed and carriage return as ``\\t``, ``\\n``
  and ``\\r``, so that no value can start a line of its own;
- the Unicode line and paragraph separators and the bidirectional controls (``U+202A`` to
  ``U+202E``, ``U+2066`` to ``U+2069``, ``U+200E``, ``U+200F``, ``U+061C``), which can
  reorder what is shown ("Trojan Source"): ``\\u202e``;
- lone surrogates (from file names that are not UTF-8), which cannot be written as UTF-8,
  and the non-characters ``U+FFFE`` and ``U+FFFF``: ``\\udc80``.

The result is one line, safe on a terminal and in XML 1.0. Backslashes are left as they are:
the output is for people, and a value that spells ``\\x1b`` itself reads the same as one that
held the character.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

# Patterns, not compiled objects: ``re`` compiles each on first use (and keeps it), and most
# runs never need to, because almost every value is printable ASCII.
_UNSAFE = (
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_SURROGATE = "[\ud800-\udfff]"
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str, keep: str = "") -> str:
    """``text`` with every unsafe character made visible (see the module). Characters in
    ``keep`` are left for the caller to escape its own way (GitHub's ``%0A``)."""
    if text.isascii() and text.isprintable():
        return text
    return re.sub(_UNSAFE, lambda m: m.group() if m.group() in keep else _visible(m.group()), text)


def well_formed(data: Any) -> Any:
    """``data`` (JSON-like: strings, lists, mappings) with each lone surrogate in a string
    written as visible text, so that its JSON holds no ``\\udc80`` escape that strict
    consumers reject. Nothing else changes: JSON escapes control characters itself."""
    if isinstance(data, str):
        return data if data.isascii() else re.sub(_SURROGATE, lambda m: _visible(m.group()), data)
    if isinstance(data, dict):
        return {well_formed(k): well_formed(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [well_formed(v) for v in data]
    return data
