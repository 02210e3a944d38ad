"""Output formats: one registry, `FORMATS`, from which the command line's `--format` choice, its help text and the
README's list are made. Each format turns a finished report (`cnncalc.api.Report`) into text.

What a row is, in every format that has rows (csv, jsonl, markdown): `Report.rows()`, one flat dict per layer (cost,
rf, validate, grad, memory), per group (`cost --group-by`), per input size (sweeps) or per spec (compare); nested
keys joined by dots (`rf.height.size`, `totals.macs`), shapes written `3x224x224`. `rf --at` has one row per axis
(`rows`, `cols`) with the bounds of that one index. Every row starts with `spec`, the name of the spec it belongs
to (compare: each row's own). All rows share one header, the union of their keys in order; a key a row does not
have (a global layer's receptive field, the block of a top-level layer) is empty in CSV and null in JSON Lines.

Conventions of the machine formats (csv, jsonl): integers are exact, digits only (no separators, never floats);
floats (compare's ratios, grad's norms) are written as Python's `repr`, the shortest text that reads back to the
same float, as in the JSON document; fractions (a jump after an upsample) stay strings such as `56/15`; true and
false are spelt as in JSON. They hold the rows only: totals, per-block totals and the `at` of `rf --at` beside the
layers are in `--json`, and diagnostics (warnings) go to standard error (`Format.notes`). JSON Lines keeps every
string exact (JSON escapes control characters itself); CSV and Markdown show control characters as escapes
(`cnncalc.text.printable`), as the tables do, so that no output of a hostile spec can drive a terminal.

Markdown (GitHub-flavoured) is for people: a bold title, the rows as a table (numbers right-aligned), the totals as
a second table where the report has them (compare: the per-block totals, one row per block and spec), and the
diagnostics as a list. Every cell is escaped so that it renders
as the literal text: `|`, backticks, emphasis, links, HTML, emoji codes, math and mentions are inert.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from ..api import Report

Render = Callable[..., str]
"""The command line's table renderer: `render(*renderables) -> text` for a terminal or file width."""


@dataclass(frozen=True)
class Format:
    """One `--format` choice."""

    name: str
    help: str
    """What it writes, for `--help` and the README."""
    writer: Callable[[Report, Render], str]
    """The whole output of a report; its `render` is used by the table format only."""
    shows_diagnostics: bool = True
    """The output itself carries the report's diagnostics; else they are `notes` for standard error."""

    def write(self, report: Report, render: Render | None = None) -> str:
        """The whole output of `report` in this format; tables are drawn by `render` (default: every column, as
        `--wide` draws them)."""
        return self.writer(report, render or _wide)

    def notes(self, report: Report) -> list[str]:
        """Lines for standard error: the diagnostics, when this format has no place for them (control characters
        as escapes, as in the tables)."""
        from ..text import printable
        if self.shows_diagnostics:
            return []
        return [printable(f"{report.file}: {d['severity']}: {d['message']}") for d in report.diagnostics]


def _wide(*items: Any) -> str:
    from .render import render_at
    return render_at(items, None)


def rows(report: Report) -> list[dict]:
    """The rows every row format writes (see the module docstring), each starting with `spec`."""
    doc = report.document
    at = doc.get("at")
    if at is not None:
        return [{"spec": doc["spec"], "layer": at["layer"], "axis": axis, "index": index,
                 "lower": at[axis][0], "upper": at[axis][1],
                 "lower_clipped": None if at[axis + "_clipped"] is None else at[axis + "_clipped"][0],
                 "upper_clipped": None if at[axis + "_clipped"] is None else at[axis + "_clipped"][1]}
                for axis, index in zip(("rows", "cols"), at["index"])]
    if "spec" not in doc:  # compare: each row names its own spec
        return report.rows()
    return [{"spec": doc["spec"], **row} for row in report.rows()]


def header(table: list[dict]) -> list[str]:
    """The union of the rows' keys, each new key placed after the key that precedes it in its row."""
    keys: list[str] = []
    seen: set[str] = set()
    shapes: set[tuple[str, ...]] = set()
    for row in table:
        shape = tuple(row)
        if shape in shapes:  # most rows repeat the keys of an earlier one
            continue
        shapes.add(shape)
        at = 0
        for key in row:
            if key in seen:
                at = keys.index(key) + 1
            else:
                keys.insert(at, key)
                seen.add(key)
                at += 1
    return keys


def _text(value: Any) -> str:
    """A cell as text: exact ints, shortest-repr floats, JSON's true/false, None as empty."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is float:
        return float.__repr__(value)
    return str(value)


def _json(report: Report, render: Render) -> str:
    return report.json_text()


def _jsonl(report: Report, render: Render) -> str:
    import json
    table = rows(report)
    keys = header(table)
    with _placed(report):
        return "".join(json.dumps({key: row.get(key) for key in keys}, separators=(",", ":")) + "\n"
                       for row in table)


def _csv(report: Report, render: Render) -> str:
    import csv
    import io
    from ..text import printable
    table = rows(report)
    keys = header(table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([printable(key) for key in keys])
    with _placed(report):
        for row in table:
            writer.writerow([printable(_text(row.get(key))) for key in keys])
    return out.getvalue()


_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>|~$")
_MARKDOWN_BEFORE_WORD = frozenset(":@#&")  # an emoji code, a mention, an issue reference, an entity


def markdown_escape(text: str) -> str:
    """`text` as the literal content of a GitHub Markdown table cell: control characters as escapes (`printable`),
    then a backslash before every character Markdown could read as syntax (`|`, backticks, emphasis, links, HTML,
    strikethrough, math) and before `:`, `@`, `#` and `&` where a letter, digit or `#` follows (an emoji code, a
    mention, an issue reference, an entity)."""
    from ..text import printable
    text = printable(text)
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL or ch in _MARKDOWN_BEFORE_WORD and i + 1 < len(text) and (
        text[i + 1].isalnum() or text[i + 1] in "_#") else ch for i, ch in enumerate(text))


def _markdown_table(table: list[dict]) -> list[str]:
    keys = header(table)
    numeric = [all(type(row.get(key)) in (int, float) for row in table if row.get(key) is not None)
               for key in keys]
    lines = ["| " + " | ".join(markdown_escape(key) for key in keys) + " |",
             "|" + "|".join("---:" if right else "---" for right in numeric) + "|"]
    for row in table:
        lines.append("| " + " | ".join(markdown_escape(_text(row.get(key))) for key in keys) + " |")
    return lines


def _markdown(report: Report, render: Render) -> str:
    from .table import Table
    from ..api import _flat
    doc = report.document
    first = next(iter(report.renderables()), None)  # a table's title names its spec; rf --at prints a sentence
    title = first.title if isinstance(first, Table) else f"{doc['spec']}: {first}" if first else None
    blocks = [[f"**{markdown_escape(title.strip())}**"]] if title else []
    with _placed(report):
        table = [{k: v for k, v in row.items() if k != "spec" or "spec" not in doc} for row in rows(report)]
        blocks.append(_markdown_table(table) if table else ["(no rows)"])
        if isinstance(doc.get("totals"), dict):
            blocks += [["**totals**"], _markdown_table([_flat(doc["totals"])])]
        if doc.get("blocks"):  # compare: one row per block and spec that has it
            blocks += [["**per block**"], _markdown_table([
                {"block": block["block"], "spec": spec["spec"], **_flat(totals)}
                for block in doc["blocks"] for spec, totals in zip(doc["specs"], block["totals"]) if totals])]
    if report.diagnostics:
        blocks.append([f"- {markdown_escape(d['severity'])}: {markdown_escape(d['message'])}"
                       for d in report.diagnostics])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def _placed(report: Report):
    """Errors of writing placed in the spec, as `Report.format` places them (a too long int, out of memory)."""
    from ..api import _placed as placed
    return placed(report.file, report.document)


FORMATS: Mapping[str, Format] = MappingProxyType({f.name: f for f in (
    Format("table", "tables fitted to the terminal (default)", lambda report, render: report.format(render)),
    Format("json", "one JSON document, as --json", _json),
    Format("jsonl", "one JSON object per row, each naming its spec", _jsonl, shows_diagnostics=False),
    Format("csv", "a header line, then one line per row", _csv, shows_diagnostics=False),
    Format("markdown", "GitHub Markdown: the rows, then the totals", _markdown),
)})
"""Every output format by name; the first is the default."""
