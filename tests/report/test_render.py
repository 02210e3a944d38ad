"""The plain-text renderer: the same text as rich where it claims to be, and its rules where it departs from rich.

Claim (cnncalc/report/render.py): a table whose columns all fit at their natural width prints exactly as rich's
`Table(box=box.SIMPLE_HEAD)` prints on a console of that width. Checked on every table of every bundled spec (the
first 40 rows, so that rich's slow per-cell layout keeps the file fast), at widths 60, 100 and 200.
"""

from __future__ import annotations

import io
from pathlib import Path

from cnncalc.report.render import (DEFAULT_PRIORITY, NAME, PIPE_WIDTH, REQUIRED, TEXT, Column, Table, output_width,
                                   render_at, shorten, wrap)

from test_tables import SPECS, tables  # noqa: E402 (tests/report is on sys.path, as for every test directory)

ROOT = Path(__file__).resolve().parents[2]


def rich_text(table: Table, width: int) -> str:
    from rich.console import Console
    out = io.StringIO()
    Console(file=out, width=width, markup=False, emoji=False, highlight=False, color_system=None).print(table)
    return out.getvalue()


def natural_width(table: Table) -> int:
    """Written from rich's SIMPLE_HEAD layout: one cell of padding either side, one space between columns and
    one at each edge."""
    widths = [max(len(column.header), len(column.footer), *(len(row[k]) for row in table.rows))
              for k, column in enumerate(table.columns)]
    return sum(widths) + 3 * len(widths) + 1


def test_plain_tables_equal_rich_on_every_bundled_spec():
    compared = 0
    for path in SPECS:
        for _, table, _, _ in tables(path):
            head = Table(table.title, table.columns, table.rows[:40], table.caption, table.show_footer)
            for width in (60, 100, 200):
                if natural_width(head) > width:
                    continue  # rich would wrap or cut cells here: not claimed
                assert render_at([head], width) == rich_text(head, width), (path.name, table.title, width)
                compared += 1
    assert compared > 150  # the claim was exercised on most tables, not vacuously


def test_a_whole_large_table_equals_rich():
    _, table, _, _ = next(tables(ROOT / "specs" / "zoo" / "resnet50.yaml"))
    assert len(table.rows) > 150 and natural_width(table) <= 200
    assert render_at([table], 200) == rich_text(table, 200)


def table(*columns: Column, rows=(), footer=False) -> Table:
    return Table("t", columns, rows, show_footer=footer)


def test_columns_are_hidden_lowest_priority_first_and_named():
    t = table(Column("name", kind=NAME, priority=REQUIRED), Column("a", "right", priority=10),
              Column("b", "right", priority=90), Column("new metric", "right"),  # no priority given
              rows=[("x", "1,000,000,000", "2,000,000,000", "3,000,000,000")])
    text = render_at([t], 36)  # name and b take 4 + 13 + 7 columns of padding and edges; a third column is 16 more
    assert "2,000,000,000" in text and "1,000,000,000" not in text and "3,000,000,000" not in text
    assert "2 columns hidden to fit 36 columns: a, new metric" in " ".join(text.split())
    assert DEFAULT_PRIORITY < REQUIRED


def test_required_columns_that_do_not_fit_stack_the_rows():
    t = table(Column("layer", kind=NAME, priority=REQUIRED, footer="total"),
              Column("params", "right", priority=REQUIRED, footer="3,000,000,000,000"),
              rows=[("conv", "1,000,000,000,000"), ("fc", "2,000,000,000,000")], footer=True)
    lines = render_at([t], 20).splitlines()
    assert lines[2:] == ["conv", "  params:", "    1,000,000,000,000", "fc", "  params:", "    2,000,000,000,000",
                         "total", "  params:", "    3,000,000,000,000"]


def test_names_are_shortened_in_the_middle_keeping_both_ends():
    assert shorten("layer4_2/branch2/relu3", 16) == "layer4_2/…/relu3"
    assert shorten("abcdefghijklmnopqrstuvwxyz", 9) == "abcd…wxyz"
    assert shorten("short", 9) == "short"
    cut = shorten("conv12345678", 8)
    assert len(cut) == 8 and not cut.split("…")[0][-1:].isdigit(), cut  # never reads as a cut number


def test_wrapping_never_breaks_a_figure():
    assert wrap("rows 1,115,684,864 and 64x112x112", 8) == ["rows", "1,115,684,864", "and", "64x112x112"]
    assert wrap("  inside the image: rows 0 .. 9", 18) == ["  inside the", "image: rows 0 .. 9"]


def test_prose_columns_wrap_and_numbers_stay_whole():
    t = table(Column("type", kind=NAME, priority=REQUIRED), Column("rule", kind=TEXT, priority=REQUIRED),
              rows=[("conv", "multiplications: k*k*c_in*c_out*h*w with 1,234,567,890 of them in the worst case")])
    text = render_at([t], 50)
    assert "1,234,567,890" in text and max(map(len, text.splitlines())) <= 50


def test_wide_prints_every_column_whatever_the_width():
    t = table(*(Column(f"c{k}", "right") for k in range(30)), rows=[tuple(f"{k:,}" for k in range(30))])
    text = render_at([t], None)
    assert "hidden" not in text and all(f"c{k}" in text for k in range(30))


class _Stream:
    def __init__(self, tty: bool, fail: bool = False) -> None:
        self.tty, self.fail = tty, fail

    def isatty(self) -> bool:
        if self.fail:
            raise ValueError("I/O operation on closed file")
        return self.tty

    def fileno(self) -> int:
        raise OSError("no terminal")


def test_output_width_policy(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    assert output_width(_Stream(tty=False)) == PIPE_WIDTH == 200
    assert output_width(_Stream(tty=True)) == 80  # a terminal whose size cannot be read
    assert output_width(_Stream(tty=False, fail=True)) == 200
    monkeypatch.setenv("COLUMNS", "57")
    assert output_width(_Stream(tty=False)) == 57 and output_width(_Stream(tty=True)) == 57
    monkeypatch.setenv("COLUMNS", "wide")
    assert output_width(_Stream(tty=False)) == 200


def test_output_width_reads_the_terminal_size_whatever_term_says(monkeypatch):
    import fcntl
    import os
    import struct
    import termios
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 133, 0, 0))
        with os.fdopen(follower, "w", closefd=False) as stream:
            assert output_width(stream) == 133
    finally:
        os.close(leader)
        os.close(follower)


def test_prose_is_reflowed_and_list_items_hang_under_their_text():
    """A docstring's hard line breaks give way to the terminal's width: one line per paragraph and list item,
    wrapped with the item's later lines under its text (the convention text of `cnncalc layers`)."""
    from cnncalc.report.render import render_at
    from cnncalc.report.table import reflow
    text = "Heading:\n\n- one two three\n  four five six seven\n- eight\nnine ten\n\nlast paragraph\ncontinued"
    assert reflow(text) == ("Heading:\n\n- one two three four five six seven\n- eight nine ten\n\n"
                            "last paragraph continued")
    lines = render_at([reflow(text)], 16).splitlines()
    assert lines[2:5] == ["- one two three", "  four five six", "  seven"]
    assert all(len(line) <= 16 for line in lines)
