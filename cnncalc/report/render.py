"""Plain-text tables that never cut a number, at any width, in time linear in the rows. No rich, no markup.

`render(items, width)` prints tables (`Table`), lines of text (`str`) and drawings (`Drawing`: pictures and plots
that lay themselves out for the width) for a terminal `width` columns wide:

1. A table whose columns all fit at their natural width prints as rich's `Table(box=box.SIMPLE_HEAD)` would print
   it (title and caption wrapped to the table and centred, a rule under the header, a blank line before the
   footer); tests/report/test_render.py checks the text against rich itself.
2. Otherwise names are shortened in the middle (`layer4_2/…/relu3`, both ends kept) and prose is wrapped, down to
   a comfortable width, and the columns of lowest `priority` are hidden until the table fits; a footnote names the
   hidden columns and how to see them (`--wide`, `--json`).
3. Otherwise the same with names down to a hard minimum.
4. Otherwise (a very narrow terminal) the table is stacked: one block of `header: value` lines per row.

Cells of kind FIXED (numbers, shapes, bounds) are never shortened, wrapped or cut; columns with priority REQUIRED
are never hidden. `width=None` (`--wide`) prints every column at its natural width, whatever the terminal. Lines
of text are word-wrapped; a word that is a figure (digits, with only `x` and `i` as letters) is never broken.
Every string passes through `cnncalc.text.printable`, so no control character reaches the terminal.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Iterable, Literal, Protocol, Sequence, Union

from ..text import cell_width, printable

FIXED, NAME, TEXT = "fixed", "name", "text"
"""Cell kinds: whole always; shortened in the middle; word-wrapped."""
REQUIRED = 100
"""The priority of a column that is never hidden."""
DEFAULT_PRIORITY = 35
"""The priority of a column no table names (a metric added later): hidden before the main counts."""
PIPE_WIDTH = 200
"""The width when stdout is not a terminal and COLUMNS is not set."""

_NAME_MIN = (20, 10)  # comfortable, hard
_TEXT_MIN = (24, 12)
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """One column: its heading, alignment, cell kind, priority (higher stays longer) and footer."""

    header: str
    justify: Literal["left", "right"] = "left"
    kind: str = FIXED
    priority: int = DEFAULT_PRIORITY
    footer: str = ""
    header_shrinks: bool = False
    """The heading is a name from a spec (compare's spec names): shortened in the middle like a name."""


@dataclass(frozen=True)
class Table:
    """Rows of plain strings (one per column); the title and caption are centred over the table."""

    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[str]]
    caption: str = ""
    show_footer: bool = False

    def __rich__(self):  # the same table for rich, strings as given (tests compare both renderings)
        from rich import box
        from rich.table import Table as RichTable
        table = RichTable(title=self.title or None, caption=self.caption or None, box=box.SIMPLE_HEAD,
                          show_footer=self.show_footer)
        for column in self.columns:
            table.add_column(column.header, justify=column.justify, footer=column.footer)
        for row in self.rows:
            table.add_row(*row)
        return table


class Drawing(Protocol):
    """A picture or a plot: its own lines for a terminal `width` columns wide (None: `--wide`, no limit), each at
    most `width` cells, made of printable characters."""

    def lines(self, width: int | None) -> list[str]: ...


Item = Union[Table, str, Drawing]


def output_width(stream) -> int:
    """COLUMNS when set to a positive number; else the terminal's width if `stream` is a terminal (80 if unknown,
    whatever TERM says); else PIPE_WIDTH."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        tty = stream.isatty()
    except (ValueError, AttributeError):  # a closed or unusual stream
        tty = False
    if not tty:
        return PIPE_WIDTH
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80


def render(items: Iterable[Item], width: int | None = None, wide: bool = False) -> str:
    """The text of `items`, one after the other, for a terminal `width` columns wide (default: `output_width` of
    stdout); `wide`: no limit, every column in full."""
    if not wide and width is None:
        width = output_width(sys.stdout)
    return encodable(render_at(items, None if wide else max(width or 1, 1)), getattr(sys.stdout, "encoding", None))


def encodable(text: str, encoding: str | None) -> str:
    """`text` as it can be written in `encoding` (stdout's; an ASCII terminal, PYTHONIOENCODING=ascii): the rule
    and the ellipsis become `-` and `~`, a bar's blocks `#`, `=` and `-` (the same width), any other character its
    backslash escape. A drawing's characters have ASCII stand-ins of the same width too (`_BAR_FALLBACK`)."""
    try:
        text.encode(encoding or "utf-8")
        return text
    except (UnicodeEncodeError, LookupError):
        encoding = encoding if encoding and _known(encoding) else "ascii"
        text = text.replace("─", "-").replace(_ELLIPSIS, "~").translate(_BAR_FALLBACK)
        return text.encode(encoding, "backslashreplace").decode(encoding)


_BAR_FALLBACK = str.maketrans("█▉▊▋▌▍▎▏▒▓·│┤┼└", "#====---:*.|+++")
"""The block characters of a bar (`cnncalc grad`, `cost --sort`), a field's picture and a plot's axes in ASCII, one
cell for one: a bar keeps its length, a picture its shape."""


def _known(encoding: str) -> bool:
    import codecs
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def render_at(items: Iterable[Item], width: int | None) -> str:
    """The text of `items` at `width` columns, or with no limit (None)."""
    out: list[str] = []
    for item in items:
        if isinstance(item, Table):
            out.extend(_table_lines(item, width))
        elif isinstance(item, str):
            for line in printable_lines(item):
                out.extend(wrap_hanging(line, width) if width else [line])
        else:
            out.extend(map(printable, item.lines(width)))
    return "".join(line + "\n" for line in out)


_HANGING = re.compile(r" *(?:- )?")


def wrap_hanging(line: str, width: int) -> list[str]:
    """`wrap`, with the lines after the first indented under the text of a list item (`- ...`) or of an indented
    line, so that wrapped prose stays readable."""
    hang = _HANGING.match(line).end()  # type: ignore[union-attr]  # matches the empty string at least
    if not hang or hang * 2 >= width or cell_width(line) <= width:
        return wrap(line, width)
    body = wrap(line[hang:], width - hang)
    return [line[:hang] + body[0]] + [" " * hang + rest for rest in body[1:]]


def printable_lines(text: str) -> list[str]:
    """`text` split at its line breaks, each line made printable."""
    return [printable(line) for line in text.split("\n")]


# ------------------------------------------------------------------------------------------------------- words

_WORD = re.compile(r"\s*\S+\s*")


def is_figure(word: str) -> bool:
    """A number, shape or bound (`1,115,684,864`, `64x56x56`, `4i-6`): never broken or shortened."""
    return any(c.isdigit() for c in word) and all(c in "xi" for c in word if c.isalpha())


def shorten(name: str, width: int) -> str:
    """`name` in at most `width` cells: both ends kept, the middle replaced by `…`; whole path components
    (`layer4_2/…/relu3`) where they fit."""
    if cell_width(name) <= width:
        return name
    if width < 3:
        return name[:max(width, 0)]
    parts = name.split("/")
    if len(parts) >= 3:
        head, tail = parts[0], parts[-1]
        if cell_width(head) + cell_width(tail) + 3 <= width:
            for part in reversed(parts[1:-1]):  # more of the end while it fits (some part is left out)
                longer = part + "/" + tail
                if cell_width(head) + cell_width(longer) + 3 > width:
                    break
                tail = longer
            return f"{head}/{_ELLIPSIS}/{tail}"
    head_len = width // 2
    while head_len > 1 and (name[head_len - 1].isdigit() or name[head_len - 1] == ","):
        head_len -= 1  # a shortened name never reads as a cut number (`conv1…` would)
    head = _take_cells(name, head_len)
    tail = _take_cells(name[::-1], width - 1 - cell_width(head))[::-1]
    return head + _ELLIPSIS + tail


def _take_cells(text: str, width: int) -> str:
    if text.isascii():
        return text[:width]
    used, out = 0, []
    for ch in text:
        w = cell_width(ch)
        if used + w > width:
            break
        used += w
        out.append(ch)
    return "".join(out)


def wrap(text: str, width: int | None) -> list[str]:
    """Greedy word wrap as rich does it (`rich._wrap.divide_line`), lines stripped at the right; a word longer
    than `width` stays whole if it is a figure, else it is shortened in the middle."""
    if not width or cell_width(text) <= width:
        return [text.rstrip()]
    lines: list[str] = []
    line = ""
    used = 0
    for match in _WORD.finditer(text):
        word = match.group(0)
        bare = cell_width(word.rstrip())
        if used + bare <= width:
            line += word
            used += cell_width(word)
            continue
        if line:
            lines.append(line.rstrip())
        if bare > width and not is_figure(word.strip()):
            lead = len(word) - len(word.lstrip())
            word = word[:lead] + shorten(word.strip(), max(width - lead, 1)) + " "
        line, used = word, cell_width(word)
    lines.append(line.rstrip())
    return lines


def _longest_figure(text: str) -> int:
    return max((cell_width(w) for w in text.split() if is_figure(w)), default=0)


# ------------------------------------------------------------------------------------------------------ layout

def _table_width(widths: Sequence[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1


def _natural(column: Column, cells: Sequence[str]) -> int:
    joined = "".join(cells)
    best = max(map(len, cells), default=0) if joined.isascii() else max(map(cell_width, cells), default=0)
    return max(best, cell_width(column.header), cell_width(column.footer))


def _minimum(column: Column, cells: Sequence[str], natural: int, level: int) -> int:
    header = min(cell_width(column.header), _NAME_MIN[level]) if column.header_shrinks else cell_width(column.header)
    if column.kind == NAME:
        body = min(natural, _NAME_MIN[level])
    elif column.kind == TEXT:
        body = min(natural, max(_TEXT_MIN[level], max((_longest_figure(c) for c in cells), default=0)))
    else:
        body = max(max(map(cell_width, cells), default=0) if not "".join(cells).isascii()
                   else max(map(len, cells), default=0), cell_width(column.footer))
    return max(body, header, 1)


def _plan(table: Table, cells: list[list[str]], width: int | None) -> tuple[list[int], list[int]] | None:
    """(visible column indices, their widths), or None when the table must be stacked."""
    natural = [_natural(c, col) for c, col in zip(table.columns, cells)]
    everything = list(range(len(table.columns)))
    if width is None or _table_width(natural) <= width:
        return everything, natural
    for level in (0, 1):
        minimum = [_minimum(c, col, n, level) for c, col, n in zip(table.columns, cells, natural)]
        visible = list(everything)
        droppable = sorted((i for i in everything if table.columns[i].priority < REQUIRED),
                           key=lambda i: (table.columns[i].priority, -i))
        dropped = []
        while _table_width([minimum[i] for i in visible]) > width and droppable:
            dropped.append(droppable.pop(0))
            visible.remove(dropped[-1])
        if _table_width([minimum[i] for i in visible]) <= width:
            for i in reversed(dropped):  # a narrower column of lower priority may still fit in the room left
                if _table_width([minimum[k] for k in visible] + [minimum[i]]) <= width:
                    visible = sorted(visible + [i])
            return visible, _share(table.columns, visible, minimum, natural, width)
    return None


def _share(columns: Sequence[Column], visible: list[int], minimum: list[int], natural: list[int],
           width: int) -> list[int]:
    """Widths of the visible columns: the minimum, then the room left to names (left to right) up to their
    natural width, then to prose in proportion to what each still lacks."""
    widths = {i: minimum[i] for i in visible}
    spare = width - _table_width(list(widths.values()))
    for i in visible:
        if columns[i].kind != TEXT:
            grow = min(spare, natural[i] - widths[i])
            widths[i] += grow
            spare -= grow
    lacking = {i: natural[i] - widths[i] for i in visible if columns[i].kind == TEXT and natural[i] > widths[i]}
    total = sum(lacking.values())
    if total and spare:
        given = {i: min(lack, spare * lack // total) for i, lack in lacking.items()}
        for i, extra in given.items():
            widths[i] += extra
        spare -= sum(given.values())
        for i in lacking:  # the rounding remainder, left to right
            grow = min(spare, natural[i] - widths[i])
            widths[i] += grow
            spare -= grow
    return [widths[i] for i in visible]


def _fit(column: Column, cell: str, width: int) -> list[str]:
    if column.kind == NAME:
        return [shorten(cell, width)]
    if column.kind == TEXT:
        return wrap(cell, width)
    return [cell]


def _pad(text: str, width: int, justify: str) -> str:
    gap = width - cell_width(text)
    if gap <= 0:
        return text
    return " " * gap + text if justify == "right" else text + " " * gap


def _centred(text: str, width: int | None, table_width: int) -> list[str]:
    """Title and caption lines: wrapped to the table and centred over it, as rich does."""
    if not text:
        return []
    longest = max((cell_width(w) for w in text.split()), default=0)
    span = table_width if longest <= table_width else max(table_width, min(longest, width or longest))
    out = []
    for line in wrap(text, span):
        gap = span - cell_width(line)
        out.append(" " * (gap // 2) + line + " " * (gap - gap // 2))
    return out


def _table_lines(table: Table, width: int | None) -> list[str]:
    columns = table.columns
    rows = table.rows
    cells = [[printable(c) for c in col] if not "".join(col).isprintable() else list(col)
             for col in (zip(*rows) if rows else [() for _ in columns])]
    safe = Table(printable(table.title), tuple(
        Column(printable(c.header), c.justify, c.kind, c.priority, printable(c.footer), c.header_shrinks)
        for c in columns), rows, printable(table.caption), table.show_footer)
    plan = _plan(safe, cells, width)
    if plan is None:
        return _stacked(safe, cells, width or 1)
    visible, widths = plan
    hidden = [safe.columns[i].header for i in range(len(columns)) if i not in visible]
    table_width = _table_width(widths)
    lines = _centred(safe.title, width, table_width)
    lines.append(" " * table_width)
    shown = [safe.columns[i] for i in visible]
    lines.append(" " + " ".join(" " + _pad(shorten(c.header, w), w, c.justify) + " " for c, w in zip(shown, widths))
                 + " ")
    lines.append(" " + "─" * (table_width - 2) + " ")
    lines.extend(_body(shown, [cells[i] for i in visible], widths))
    if safe.show_footer:
        lines.append(" " * table_width)
        lines.append(" " + " ".join(" " + _pad(c.footer, w, c.justify) + " " for c, w in zip(shown, widths)) + " ")
    lines.append(" " * table_width)
    lines.extend(_centred(safe.caption, width, table_width))
    if hidden:
        lines.extend(wrap(f"{len(hidden)} column{'s' if len(hidden) > 1 else ''} hidden to fit {width} columns: "
                          f"{', '.join(hidden)}; --wide or --json shows every column", width))
    return lines


def _body(columns: list[Column], cells: list[list[str]], widths: list[int]) -> list[str]:
    """The row lines, column by column: plain columns padded with one C-level call per cell."""
    padded = []
    multi = False
    for column, col, w in zip(columns, cells, widths):
        if column.kind == FIXED or all(cell_width(c) <= w for c in col):
            if "".join(col).isascii():
                pad = str.rjust if column.justify == "right" else str.ljust
                padded.append([" " + pad(c, w) + " " for c in col])
            else:
                padded.append([" " + _pad(c, w, column.justify) + " " for c in col])
            continue
        fitted = [_fit(column, c, w) for c in col]
        multi = multi or any(len(f) > 1 for f in fitted)
        padded.append(["\n".join(" " + _pad(line, w, column.justify) + " " for line in f) for f in fitted])
    if not multi:
        return [" " + " ".join(parts) + " " for parts in zip(*padded)]
    lines = []
    for parts in zip(*padded):
        split = [p.split("\n") for p in parts]
        height = max(map(len, split))
        for k in range(height):
            lines.append(" " + " ".join(s[k] if k < len(s) else " " * (w + 2) for s, w in zip(split, widths)) + " ")
    return lines


def _stacked(table: Table, cells: list[list[str]], width: int) -> list[str]:
    """One block per row: the first cell as a heading, then `header: value` for every other non-empty cell."""
    lines = wrap(table.title, width)
    lines.append("")
    first, rest = table.columns[0], list(range(1, len(table.columns)))

    def block(heading: str, values: list[tuple[Column, str]]) -> None:
        lines.extend(_fit(first, heading, width) if first.kind != FIXED else [heading])
        for column, value in values:
            if not value:
                continue
            key = "  " + shorten(column.header, max(width - 3, 1)) + ":"
            body = _fit(column, value, max(width - 4, 1))
            if len(body) == 1 and cell_width(key) + 1 + cell_width(body[0]) <= width:
                lines.append(f"{key} {body[0]}")
            else:
                lines.append(key)
                lines.extend("    " + line for line in body)

    for r in range(len(table.rows)):
        block(cells[0][r], [(table.columns[i], cells[i][r]) for i in rest])
    if table.show_footer:
        block(first.footer, [(table.columns[i], table.columns[i].footer) for i in rest])
    if table.caption:
        lines.append("")
        lines.extend(wrap(table.caption, width))
    return lines
