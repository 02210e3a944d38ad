"""The one error type of cnncalc: a problem in a spec, with its source position and an optional hint."""

from __future__ import annotations

from dataclasses import dataclass

from .text import printable as visible  # one escaping rule for tables and messages alike

MESSAGE_LIMIT = 600
"""Most characters of a message (and, apart, of a hint) that reach the terminal; longer ones are cut in the middle."""


def excerpt(text: str, limit: int = 40) -> str:
    """`text` if it has at most `limit` characters, else its head and tail around `...` and its length."""
    if len(text) <= limit:
        return text
    tail = max(limit // 6, 1)
    head = max(limit - tail - 3, 1)
    return f"{text[:head]}...{text[-tail:]} ({len(text)} characters)"


def quote(text: str, limit: int = 60) -> str:
    """A string of the spec as a message quotes it: `repr` (so control characters are escaped), cut to an excerpt
    when longer than `limit` characters."""
    if len(text) <= limit:
        return repr(text)
    return repr(excerpt(text, limit).rsplit(" (", 1)[0]) + f" ({len(text)} characters)"


def suggest(word: str, known) -> str | None:
    """The known name closest to `word` (a likely typo), or None; a word far longer than any name gets none (and
    costs nothing: difflib is quadratic)."""
    if len(word) > 100:
        return None
    from difflib import get_close_matches
    close = get_close_matches(word, list(known), 1)
    return close[0] if close else None


def _bounded(text: str) -> str:
    """Visible and at most about MESSAGE_LIMIT characters: the one place every message and hint passes through."""
    text = visible(text)
    if len(text) > MESSAGE_LIMIT:
        cut = len(text) - MESSAGE_LIMIT
        text = f"{text[:MESSAGE_LIMIT * 5 // 6]} [... {cut} characters ...] {text[-(MESSAGE_LIMIT // 6):]}"
    return text


@dataclass(frozen=True, slots=True)
class Position:
    """Where a value stands in a spec file (1-based line and column, as editors show them)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(Exception):
    """A spec that cannot be analysed: the message names what is wrong; `position` says where."""

    def __init__(self, message: str, position: Position | None = None, hint: str | None = None,
                 source_line: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.hint = hint
        self.source_line = source_line

    def format(self) -> str:
        """`FILE:LINE:COL: error: MESSAGE; hint: HINT`, then the source line with a caret when known; control
        characters made visible, message and hint at most about MESSAGE_LIMIT characters each."""
        where = f"{self.position}: " if self.position else ""
        # Every string of the spec shown here is shown literally and bounded: names reach messages through
        # f-strings, so the whole message and hint are made visible and cut here, where no call site can forget.
        text = visible(where) + "error: " + _bounded(self.message)
        if self.hint:
            text += "; hint: " + _bounded(self.hint)
        if self.source_line is not None and self.position is not None:
            # Control characters (a terminal escape sequence in a hostile spec) are shown as `?`, one for one.
            line = "".join(ch if ch.isprintable() else " " if ch == "\t" else "?"
                           for ch in self.source_line.rstrip("\r\n"))
            caret = self.position.column - 1
            if len(line) > 120:  # a long line (a minified or hostile spec): 60 characters either side of the caret
                start = max(0, min(caret - 60, len(line) - 120))
                head, tail = ("..." if start else ""), ("..." if start + 120 < len(line) else "")
                line = head + line[start:start + 120] + tail
                caret += len(head) - start
            text += f"\n  {line}\n  {' ' * caret}^"
        return text
