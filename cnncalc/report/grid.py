"""The picture of one output position's receptive field on the input grid (`cnncalc rf --at I,J --show`).

Everything drawn comes from the `cnncalc rf --json` document: its `at` (the unclipped bounds `rows` and `cols`, the
exact image positions `rows_inside` and `cols_inside` as runs) and the row of `at`'s layer (jump and offsets: where
the fields of the layer's other output positions start). Rows and columns are independent (every layer's
dependencies are separable), so what a position shows follows from one fact about its row and one about its column.

Glyphs, most notable first (ASCII stand-ins, where the terminal cannot print them, from render.encodable):

    @        the field's centre: the middle row(s) and column(s) of its unclipped bounds (two when its size is even)
    ▓ (*)    the first position (top-left corner) of the field of the output position or of one next to it (a row or
             column apart), inside this field
    +        the same outside this field: the stride grid, `jump` rows and columns apart
    █ (#)    a position of the image this output depends on
    ▒ (:)    a position within the field's bounds outside the image: the padding the field reads
    · (.)    a position of the image it does not depend on (the holes strides and dilations leave included)
    (blank)  padding outside the field

The picture spans the image and the field's bounds. A cell is one position, two characters wide (square) when that
fits the width, else one character; when even that does not fit, a cell stands for k x k positions (blocks aligned
at position 0, so no cell straddles the image's top or left border) and shows the most notable glyph of its
positions; the legend says which. Row numbers stand left of their line, column numbers over their cell: input
positions, 0-based, negative in the padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .render import wrap

CENTRE, ORIGIN_IN, ORIGIN, FIELD, PADDING, IMAGE, BLANK = "@", "▓", "+", "█", "▒", "·", " "
GLYPHS = (CENTRE, ORIGIN_IN, ORIGIN, FIELD, PADDING, IMAGE, BLANK)
"""Every glyph of a cell, most notable first: a scaled-down cell shows the first that any of its positions has."""
WIDE_WIDTH = 200
"""The width a picture assumes under `--wide` (no limit): one square cell per position up to 98 positions a side."""


@dataclass(frozen=True)
class AxisFacts:
    """Per drawn position of one axis (`first` .. `first + len(field) - 1`), what it is along that axis."""

    first: int
    field: tuple[bool, ...]
    """Within the field's unclipped bounds."""
    inside: tuple[bool, ...]
    """A position of the image the output depends on (exact)."""
    image: tuple[bool, ...]
    """Within the image."""
    outside: tuple[bool, ...]
    """Within the field's bounds and outside the image (the padding it reads)."""
    origin: tuple[bool, ...]
    """Where the field of an output position of the layer starts."""
    centre: tuple[bool, ...]

    def blocks(self, k: int) -> list[tuple[int, AxisFacts]]:
        """(first position, facts any of its positions has) per block of `k` positions, blocks aligned at 0."""
        last = self.first + len(self.field) - 1
        out = []
        for b in range(self.first // k, last // k + 1):
            part = slice(max(b * k, self.first) - self.first, min(b * k + k - 1, last) - self.first + 1)
            flags = [(any(facts[part]),) for facts in (self.field, self.inside, self.image, self.outside,
                                                       self.origin, self.centre)]
            out.append((b * k, AxisFacts(b * k, *flags)))
        return out


def axis_facts(size: int, bounds: list[int] | None, inside: list[list[int]], origins: Sequence[int]) -> AxisFacts:
    """The facts of one axis of an image `size` positions long, for a field with unclipped `bounds` [lo, hi] (None:
    no position), exact image positions `inside` (runs [first, last]) and field starts `origins`."""
    lo, hi = bounds if bounds is not None else (0, -1)
    first, last = min(0, lo), max(size - 1, hi)
    span = range(first, last + 1)
    read: set[int] = set()
    for a, b in inside:
        read.update(range(a, b + 1))
    starts = set(origins)
    middle = {(lo + hi) // 2, (lo + hi + 1) // 2} if bounds is not None else set()
    return AxisFacts(first, tuple(lo <= p <= hi for p in span), tuple(p in read for p in span),
                     tuple(0 <= p < size for p in span), tuple(lo <= p <= hi and not 0 <= p < size for p in span),
                     tuple(p in starts for p in span), tuple(p in middle for p in span))


def glyph(row: AxisFacts, col: AxisFacts, r: int, c: int) -> str:
    """The glyph of the cell at row fact `r` and column fact `c` (indices into the facts)."""
    if row.centre[r] and col.centre[c]:
        return CENTRE
    if row.origin[r] and col.origin[c]:
        return ORIGIN_IN if row.field[r] and col.field[c] else ORIGIN
    if row.inside[r] and col.inside[c]:
        return FIELD
    if row.outside[r] and col.field[c] or row.field[r] and col.outside[c]:
        return PADDING
    return IMAGE if row.image[r] and col.image[c] else BLANK


def origins(field: dict | None, index: int, count: int) -> list[int] | None:
    """Where the fields of output positions `index` - 1, `index` and `index` + 1 (those of the `count` there are)
    start along one axis, from that axis's `rf` entry of the document; None where the document gives no lines (a
    field per index, or a global layer)."""
    if field is None or field.get("per_index"):
        return None
    lines = field.get("lower") or [[field["jump"], -field["padding"]]]
    return [min(s * i + lo for s, lo in lines) for i in range(max(index - 1, 0), min(index + 2, count))]


@dataclass(frozen=True)
class FieldPicture:
    """The drawing of `document["at"]` (a `cnncalc rf --at` document): a render.Drawing."""

    document: dict

    def lines(self, width: int | None) -> list[str]:
        doc, at = self.document, self.document["at"]
        row = next(r for r in doc["layers"] if r["name"] == at["layer"])
        shape, image = row["output"], doc["input"]
        counts = (shape[1], shape[2]) if len(shape) == 3 else (1, 1)
        sizes = (image[1], image[2]) if len(image) == 3 else (1, 1)
        rf = None if row["global"] else row["rf"]
        starts = [origins(rf and rf[axis], index, count)
                  for axis, index, count in zip(("height", "width"), at["index"], counts)]
        facts = [axis_facts(size, at[key], at[key + "_inside"], found or ())
                 for size, key, found in zip(sizes, ("rows", "cols"), starts)]
        labels = [_labels(at[key], size) for key, size in zip(("rows", "cols"), sizes)]
        margin = max(len(text) for text in labels[0])
        cell, k = _scale(facts[1], margin, width)
        rows, cols = facts[0].blocks(k), facts[1].blocks(k)
        out = ["", " " * (margin + 2) + _ruler(labels[1], cols, k, cell)]
        row_labels: dict[int, str] = {}
        for text in labels[0]:  # most important first: a block keeps the first label that falls in it
            row_labels.setdefault(int(text) // k, text)
        for start, r in rows:
            line = "".join(_cell(glyph(r, c, 0, 0), cell) for _, c in cols)
            out.append(f"{row_labels.get(start // k, ''):>{margin}} │{line}".rstrip())
        return out + [line for text in _legend(doc, at, rf, k, width) for line in wrap(text, width)]


def _cell(mark: str, cell: int) -> str:
    """A glyph in `cell` characters: the areas (field, padding, grid inside the field, centre) fill the cell, the
    points (grid outside the field, image) stand in its first character."""
    return mark * cell if mark in (FIELD, PADDING, ORIGIN_IN, CENTRE) else mark.ljust(cell)


def _labels(bounds: list[int] | None, size: int) -> list[str]:
    """Positions numbered along an axis, most important first: the field's bounds, then the image's."""
    wanted = ([bounds[0], bounds[1]] if bounds is not None else []) + [0, size - 1]
    return [str(p) for p in dict.fromkeys(wanted)]


def _scale(cols: AxisFacts, margin: int, width: int | None) -> tuple[int, int]:
    """(characters per cell, positions per cell along each axis): one position in two characters, else in one,
    else k x k positions in two characters with the least k that fits `width`."""
    room = (width or WIDE_WIDTH) - margin - 2
    n = len(cols.field)
    if 2 * n <= room:
        return 2, 1
    if n <= room:
        return 1, 1
    k = max(2, -(-2 * n // max(room, 1)))
    while 2 * len(cols.blocks(k)) > room and k < 2 * n + 2:
        k += 1
    return 2, k


def _ruler(labels: list[str], cols: list[tuple[int, AxisFacts]], k: int, cell: int) -> str:
    """The column numbers, each over its cell (or ending over it at the right end), none touching another."""
    line = [" "] * (len(cols) * cell)
    first = cols[0][0] // k
    for text in labels:
        start = (int(text) // k - first) * cell
        if start + len(text) > len(line):
            start = start + cell - len(text)
        if start < 0 or any(ch != " " for ch in line[max(start - 1, 0):start + len(text) + 1]):
            continue
        line[start:start + len(text)] = text
    return "".join(line).rstrip()


def _legend(doc: dict, at: dict, rf: dict | None, k: int, width: int | None) -> list[str]:
    name = f"{at['layer']}[{at['index'][0]}, {at['index'][1]}]"
    out = [f"{FIELD} the image positions {name} depends on; {PADDING} its field in the padding; {IMAGE} the rest of "
           f"the image; {CENTRE} the field's centre"]
    if rf is None:
        out.append(f"no stride grid: {at['layer']} depends on the whole input")
    elif rf["height"].get("per_index") or rf["width"].get("per_index"):
        out.append(f"no stride grid: the field of {at['layer']} is given per index (not a sliding window)")
    else:
        jumps = (rf["height"]["jump"], rf["width"]["jump"])
        apart = f"the jump, {jumps[0]}, apart" if jumps[0] == jumps[1] else \
            f"the jumps, {jumps[0]} rows and {jumps[1]} columns, apart"
        uneven = " (unevenly: paths with different jumps meet)" if "lower" in rf["height"] or \
            "lower" in rf["width"] else ""
        out.append(f"{ORIGIN} where the fields of the outputs next to it (one row or column apart, and its own) "
                   f"start: their top-left corners, {apart}{uneven}; {ORIGIN_IN} the same inside this field")
    if k == 1:
        out.append("one cell: one input position; numbers: input rows and columns (0-based, negative in the padding)")
    else:
        out.append(f"one cell: {k}x{k} input positions (scaled down to fit {width or WIDE_WIDTH} columns), showing "
                   f"the first of {' '.join(GLYPHS[:-1])} that any of them shows; numbers: input rows and columns")
    return out
