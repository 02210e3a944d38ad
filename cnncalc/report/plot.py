"""A terminal plot of a sweep over input sizes (`cnncalc cost --input ... --plot`, `cnncalc rf --input ... --plot`).

Every point comes from the sweep's `--json` document (cnncalc.sweep): one `*` per size, at

    column = round((x - x_min) / (x_max - x_min) * (columns - 1))      (0 when every x is the same)
    line   = round(y / y_max * (lines - 1)), counted up from the axis  (0 when every y is 0)

rounded half up, in exact integers. Both scales are linear and y starts at 0, so a count that grows with the pixels
(MACs grow with H x W: a parabola over a square side) reads as it grows; the axes are labelled with the exact least
and largest values, and the caption names the exact first and last points.

- cost: y is the MACs (`macs`, the convention's figure); x is the side N of square inputs, or the pixels H x W when
  some input is not square.
- rf: y is the size of the field of the sweep's layer along the height (along the width when only the width
  varies), x the input's extent along that axis; `·` draws the input's own extent (y = x) where it is within the
  plot, so a field that stops covering the image shows as `*` falling below `·`. Sizes where the layer is global
  are left out and counted in the caption.
"""

from __future__ import annotations

from dataclasses import dataclass

from .render import wrap

MARK, REFERENCE = "*", "·"
LINES = 16
"""Lines of the plot area."""
MAX_WIDTH = 100
"""The widest a plot gets (a pipe or a file is 200 columns; `--wide` has no limit)."""


def scaled(value: int, low: int, high: int, steps: int) -> int:
    """`value` in `low .. high` as a step of `0 .. steps`, rounded half up in exact integers (0 when high == low)."""
    if high == low:
        return 0
    return (2 * (value - low) * steps + (high - low)) // (2 * (high - low))


@dataclass(frozen=True)
class Points:
    """What a plot shows: its axes' titles, (x, y) per drawn size, and what was left out."""

    title: str
    x_title: str
    y_title: str
    points: list[tuple[int, int]]
    reference: bool
    """Draw y = x (rf: the input's extent)."""
    left_out: str = ""


def sweep_points(doc: dict) -> Points:
    """The points of a cost or rf sweep document."""
    rows = doc["sweep"]
    if "layer" not in doc:  # cost
        square = all(row["input"][1] == row["input"][2] for row in rows)
        x_of = (lambda r: r["input"][1]) if square else (lambda r: r["input"][1] * r["input"][2])  # noqa: E731
        return Points(f"MACs against the input size: {doc['spec']} ({doc['convention']} convention)",
                      "input N (NxN)" if square else "input pixels (HxW)", "MACs",
                      [(x_of(row), row["macs"]) for row in rows], False)
    axis = 1 if len({row["input"][1] for row in rows}) > 1 or len({row["input"][2] for row in rows}) == 1 else 2
    key, name = ("height", "rows") if axis == 1 else ("width", "columns")
    drawn = [row for row in rows if row["rf"] is not None]
    left = len(rows) - len(drawn)
    return Points(f"receptive field of {doc['layer']} against the input size: {doc['spec']}",
                  f"input {name}", f"field {key} ({name})",
                  [(row["input"][axis], row["rf"][key]["size"]) for row in drawn], True,
                  f"{left} size{'s' if left > 1 else ''} where {doc['layer']} is global (the whole input) left out"
                  if left else "")


@dataclass(frozen=True)
class SweepPlot:
    """The drawing of a sweep document (`cnncalc.sweep`): a render.Drawing."""

    document: dict

    def lines(self, width: int | None) -> list[str]:
        plot = sweep_points(self.document)
        width = min(width or MAX_WIDTH, MAX_WIDTH)
        out = wrap(plot.title, width)
        if not plot.points:
            return out + ["nothing to plot: " + plot.left_out]
        xs, ys = [x for x, _ in plot.points], [y for _, y in plot.points]
        x_low, x_high, y_high = min(xs), max(xs), max(ys)
        top, bottom = f"{y_high:,}", "0"
        margin = max(len(top), len(bottom))
        columns = max(width - margin - 2, 2)
        grid = [[" "] * columns for _ in range(LINES)]
        if plot.reference and x_high > x_low:
            for c in range(columns):  # y = x at the x of every column, where it is within the plot
                x2 = 2 * x_low * (columns - 1) + 2 * c * (x_high - x_low)  # twice x * (columns - 1), exact
                if x2 <= 2 * y_high * (columns - 1):
                    grid[LINES - 1 - _half_up(x2 * (LINES - 1), 2 * (columns - 1) * y_high)][c] = REFERENCE
        for x, y in plot.points:
            grid[LINES - 1 - scaled(y, 0, y_high, LINES - 1)][scaled(x, x_low, x_high, columns - 1)] = MARK
        for n, cells in enumerate(grid):
            label = top if n == 0 else bottom if n == LINES - 1 else ""
            out.append(f"{label:>{margin}} {'┤' if label else '│'}{''.join(cells)}".rstrip())
        out.append(" " * (margin + 1) + "└" + "─" * columns)
        low, high = f"{x_low:,}", f"{x_high:,}"
        axis = low + " " * max(columns - len(low) - len(high), 1) + high if x_high > x_low else low
        out.append(" " * (margin + 2) + axis)
        first, last = plot.points[0], plot.points[-1]
        caption = (f"{MARK} {plot.y_title} against {plot.x_title}, linear scales, y from 0: {first[1]:,} at "
                   f"{first[0]:,} .. {last[1]:,} at {last[0]:,} ({len(plot.points)} sizes; every figure: the table "
                   "without --plot, or --json)")
        if plot.reference:
            caption += f"; {REFERENCE} the input's own extent (y = x)"
        if plot.left_out:
            caption += f"; {plot.left_out}"
        return out + wrap(caption, width)


def _half_up(numerator: int, denominator: int) -> int:
    return 0 if denominator == 0 else (2 * numerator + denominator) // (2 * denominator)
