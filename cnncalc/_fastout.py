"""Faster output of the two things the command line prints: JSON documents and rich tables. Same text, less time.

`dumps(doc)` is `json.dumps(doc, indent=2)` character for character. With `indent`, the json module cannot use its C
encoder and walks the document with nested Python generators, one chunk per value; for a 100,000-layer network that
took longer than the analysis. Here each container is one `str.join`, the leaves go through the same C escaping and
number formatting, and anything unusual (a non-string key, a value of another type) falls back to `json.dumps`.

`compact(table, console)`: rich lays out and renders every cell on its own, about a millisecond per row of a cost
table, which made the table output of a 200-layer network several times slower than the whole analysis. A table
whose cells are plain one-line strings, with no row lines, row styles, vertical padding or highlighting, renders to
exactly the same text when each column holds a single cell with its rows joined by newlines, as long as no cell has
to wrap; that is checked by measuring the joined table at an unlimited width. Any other table is returned unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from json.encoder import encode_basestring_ascii as _quote
from typing import Any


class _Unusual(Exception):
    """A value `dumps` leaves to the json module."""


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _leaf(value: Any) -> str | None:
    """The JSON text of a str, int, bool, None or float; None for a container."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float:
        return _float(value)
    return None


def _encode(value: Any, indent: str) -> str:
    text = _leaf(value)
    if text is not None:
        return text
    kind = type(value)
    inner = indent + "  "
    if kind is dict:
        if not value:
            return "{}"
        parts: list[str] = []
        append = parts.append
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            kind = type(item)  # the common leaves inline: one call less per value
            if kind is str:
                append(_quote(key) + ": " + _quote(item))
            elif kind is int:
                append(_quote(key) + ": " + int.__repr__(item))
            else:
                append(_quote(key) + ": " + _encode(item, inner))
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        if all(type(item) is int for item in value):
            parts = list(map(int.__repr__, value))
        else:
            parts = [_encode(item, inner) for item in value]
        return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "]"
    raise _Unusual


def dumps(doc: Any) -> str:
    """`json.dumps(doc, indent=2)`, faster for the plain documents cnncalc writes."""
    try:
        return _encode(doc, "")
    except (_Unusual, RecursionError):
        return json.dumps(doc, indent=2)

_UNSAFE = ("\n", "[", ":")  # line breaks; markup and emoji codes, which could pair across joined rows


def compact(table: Any, console: Any) -> Any:
    """`table` with its rows joined per column when that renders identically on `console`, else `table`."""
    try:
        from rich.measure import Measurement
        from rich.table import Row, Table
    except ImportError:  # pragma: no cover
        return table
    if type(table) is not Table or table.row_count < 2:
        return table
    try:
        padding = table.padding
        if (table.show_lines or table.row_styles or padding[0] or padding[2]
                or any(row.style is not None or row.end_section for row in table.rows)):
            return table
        columns = []
        for column in table.columns:
            cells = column._cells
            if (column.highlight or column.no_wrap or len(cells) != table.row_count
                    or any(type(cell) is not str or any(c in cell for c in _UNSAFE) for cell in cells)):
                return table
            columns.append(dataclasses.replace(column, _cells=["\n".join(cells)]))  # type: ignore[arg-type]  # str
        joined = Table.__new__(Table)
        joined.__dict__.update(table.__dict__)
        joined.columns = columns
        joined.rows = [Row()]
        natural = Measurement.get(console, console.options.update_width(1 << 20), joined).maximum
        if natural > console.options.max_width:
            return table  # rich would wrap cells; joined rows would wrap differently
        return joined
    except Exception:  # pragma: no cover - a rich version with other internals: print as given
        return table
