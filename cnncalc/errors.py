"""The one error type of cnncalc: a problem in a spec, with its source position and an optional hint."""

from __future__ import annotations

from dataclasses import dataclass


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
        """`FILE:LINE:COL: error: MESSAGE (hint)`, then the source line with a caret when known."""
        where = f"{self.position}: " if self.position else ""
        text = f"{where}error: {self.message}"
        if self.hint:
            text += f"; hint: {self.hint}"
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
