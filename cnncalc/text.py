"""Text from a spec made safe to print, and measured in terminal cells.

A name in a spec is arbitrary text: it may hold an escape sequence (`ESC [2J` clears the screen, an OSC sequence
retitles the terminal), a bidirectional override or a line break. `printable` shows every such character as a
Python-style escape (`\\x1b`, `\\u202e`, `\\n`), so the terminal receives only printable characters; everything
else, markup-looking text (`[bold]`, `:cake:`) included, is left as it is, since nothing cnncalc prints is parsed as
markup. `cell_width` is the number of terminal columns a printable string takes (East Asian wide and full-width
characters take two, combining marks none).
"""

from __future__ import annotations

import unicodedata

_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    code = ord(ch)
    return _SHORT_ESCAPES.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                                      else f"\\U{code:08x}")


def printable(text: str) -> str:
    """`text` with every character that is not printable (control and format characters, line and paragraph
    separators, unassigned code points, spaces other than U+0020) written as its escape."""
    if text.isprintable():
        return text
    return "".join(map(_escape, text))


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """Terminal columns taken by a printable `text`."""
    if text.isascii():
        return len(text)
    return sum(map(_char_width, text))
