"""The one error type of cnncalc: a problem in a spec, with its source position and an optional hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
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
            line = self.source_line.rstrip("\n").replace("\t", " ")
            text += f"\n  {line}\n  {' ' * (self.position.column - 1)}^"
        return text
