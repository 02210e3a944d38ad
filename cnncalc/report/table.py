"""Rich tables of the report documents. Imported only when a table is printed (rich is slow to import)."""

from __future__ import annotations

import dataclasses

from rich import box
from rich.console import Console
from rich.table import Table

from ..analyzers import METRICS
from ..layers import REGISTRY, fields_of
from ..layers.base import __doc__ as CONVENTION_DOC


def _shape(shape: list) -> str:
    if shape and isinstance(shape[0], list):
        return ", ".join(_shape(s) for s in shape)
    return "x".join(map(str, shape))


def _n(value: int) -> str:
    return f"{value:,}"


def _title(doc: dict, what: str) -> str:
    return f"{what}: {doc['spec']} (input {_shape(doc['input'])})"


def _titles() -> dict[str, str]:
    """Column and extra-total key -> table heading, from the metric registry as it is now (plug-ins register late)."""
    titles = {c: t for m in METRICS.values() for c, t in zip(m.columns, m.titles)}
    titles.update((e.key, e.title) for m in METRICS.values() for e in m.extra_totals)
    return titles


def _columns(doc: dict) -> list[tuple[str, str]]:
    convention = doc["convention"]
    titles = _titles()
    return [(c, f"{convention} MACs" if c == "macs" and convention != "cnncalc" else titles.get(c, c))
            for c in doc["columns"]]


def _extra_totals(doc: dict) -> str:
    """The totals beyond the column sums (the largest output, ...), as one line."""
    titles = _titles()
    return "; ".join(f"{titles.get(k, k)}: {_n(v)}" for k, v in doc["totals"].items() if k not in doc["columns"])


def cost_table(doc: dict) -> Table:
    table = Table(title=_title(doc, f"cost by the {doc['convention']} convention"), box=box.SIMPLE_HEAD,
                  show_footer=True)
    table.add_column("layer", footer="total")
    table.add_column("type")
    table.add_column("output")
    for column, title in _columns(doc):
        table.add_column(title, justify="right", footer=_n(doc["totals"][column]))
    for row in doc["layers"]:
        table.add_row(row["name"], row["type"], _shape(row["output"]), *(_n(row[c]) for c in doc["columns"]))
    table.caption = "; ".join(filter(None, [_extra_totals(doc), "convention: `cnncalc layers`"]))
    return table


def group_table(doc: dict) -> Table:
    table = Table(title=_title(doc, f"cost by {doc['group_by']}, {doc['convention']} convention"),
                  box=box.SIMPLE_HEAD, show_footer=True)
    table.add_column(doc["group_by"], footer="total")
    table.add_column("layers", justify="right", footer=_n(sum(g["layers"] for g in doc["groups"])))
    for column, title in _columns(doc):
        table.add_column(title, justify="right", footer=_n(doc["totals"][column]))
    for group in doc["groups"]:
        table.add_row(group["group"], _n(group["layers"]), *(_n(group[c]) for c in doc["columns"]))
    table.caption = _extra_totals(doc) or None
    return table


def compare_tables(doc: dict) -> list[Table]:
    names = [s["spec"] for s in doc["specs"]]
    totals = Table(title=f"compare ({doc['convention']} convention); ratio to {names[0]}", box=box.SIMPLE_HEAD)
    totals.add_column("")
    for name in names:
        totals.add_column(name, justify="right")
    for name in names[1:]:
        totals.add_column(f"{name} / {names[0]}", justify="right")
    for column in doc["columns"]:
        ratios = [s["ratio"][column] for s in doc["specs"][1:]]
        totals.add_row(_titles().get(column, column), *(_n(s["totals"][column]) for s in doc["specs"]),
                       *("-" if r is None else f"{r:.3f}" for r in ratios))
    blocks = Table(title="per block", box=box.SIMPLE_HEAD)
    blocks.add_column("block")
    key = "macs" if "macs" in doc["columns"] else doc["columns"][0]
    for name in names:
        blocks.add_column(f"{name} params", justify="right")
        blocks.add_column(f"{name} {_titles().get(key, key)}", justify="right")
    for block in doc["blocks"]:
        cells = []
        for values in block["totals"]:
            cells += ["-", "-"] if values is None else [_n(values["params"]), _n(values[key])]
        blocks.add_row(block["block"], *cells)
    return [totals, blocks]


def diagnostic_lines(doc: dict) -> list[str]:
    return [f"[{d['severity']}] {d['message']}" for d in doc.get("diagnostics", [])]


def rf_table(doc: dict) -> Table:
    table = Table(title=_title(doc, "receptive fields"), box=box.SIMPLE_HEAD)
    for name, justify in (("layer", "left"), ("type", "left"), ("output", "left"), ("rf", "right"),
                          ("jump", "right"), ("padding", "right"), ("rows", "left"), ("cols", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in doc["layers"]:
        if row["global"]:
            table.add_row(row["name"], row["type"], _shape(row["output"]), "global", "", "", "whole input", "")
            continue
        h, w = row["rf"]["height"], row["rf"]["width"]
        pair = lambda key: str(h[key]) if h[key] == w[key] else f"{h[key]}x{w[key]}"  # noqa: E731
        mark = "" if h["aligned"] and w["aligned"] else " (misaligned)"
        table.add_row(row["name"], row["type"], _shape(row["output"]),
                      f"{h['size']}x{w['size']}", pair("jump"), pair("padding"), h["bounds"] + mark,
                      w["bounds"] if w["bounds"] != h["bounds"] else "same")
    table.caption = "output index i depends on input rows/cols in the bounds shown (0-based, before clipping)"
    return table


def at_lines(doc: dict) -> list[str]:
    at = doc["at"]
    clipped = lambda key: "none (all padding)" if at[key] is None else f"{at[key][0]} .. {at[key][1]}"  # noqa
    return [f"{at['layer']}[{at['index'][0]}, {at['index'][1]}] depends on input rows {at['rows'][0]} .. "
            f"{at['rows'][1]}, cols {at['cols'][0]} .. {at['cols'][1]}",
            f"  inside the image: rows {clipped('rows_clipped')}, cols {clipped('cols_clipped')}"]


def layers_table(convention: str = "cnncalc") -> Table:
    from .. import conventions
    preset = conventions.get(convention)
    title = "layer types and how cnncalc counts them" if preset is None else \
        f"layer types and how {preset.name} counts them ({preset.figure})"
    table = Table(title=title, box=box.SIMPLE_HEAD, show_lines=False)
    table.add_column("type")
    table.add_column("attributes (default)")
    table.add_column("counting rule")
    for name, cls in sorted(REGISTRY.items()):
        attrs = []
        for f in fields_of(cls):
            default = "" if f.default is dataclasses.MISSING else f" = {f.metadata['shown'] or _default(f.default)}"
            attrs.append(f"{f.name}{default}")
        rule = cls.counting if preset is None else (
            preset.rules[name].doc if name in preset.rules else "unsupported: reported as a diagnostic")
        table.add_row(name, ", ".join(attrs) or "-", rule)
    return table


def _default(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    if hasattr(value, "describe"):
        return value.describe()  # type: ignore[union-attr]
    if value is None:
        return "optional"
    return str(value).lower() if isinstance(value, bool) else str(value)


def convention_text(convention: str = "cnncalc") -> str:
    """The convention's statement: the docstring of the layer base module, or of the tool's preset module."""
    if convention != "cnncalc":
        import importlib
        return (importlib.import_module(f"cnncalc.conventions.{convention}").__doc__ or "").strip()
    text = CONVENTION_DOC or ""
    return text[text.index("Counting convention"):].strip()


def metrics_text(convention: str = "cnncalc") -> str:
    """What each column of `cnncalc cost` counts under `convention`, from the metric registry."""
    from ..analyzers.cost import cost_metrics
    lines = [f"- {', '.join([*m.columns, *(e.key for e in m.extra_totals)])}\n  {m.doc}"
             for m in cost_metrics(convention)]
    return "\nColumns of `cnncalc cost` (JSON keys; the extra totals after the column sums):\n" + "\n".join(lines)


def graph_table(doc: dict) -> Table:
    table = Table(title=f"{doc['spec']}: {len(doc['layers'])} layers, input {_shape(doc['input'])}",
                  box=box.SIMPLE_HEAD)
    for name in ("layer", "type", "inputs", "output"):
        table.add_column(name)
    for row in doc["layers"]:
        table.add_row(row["name"], row["type"], ", ".join(row["inputs"]), _shape(row["output"]))
    return table


def console(file=None) -> Console:
    """A console that keeps tables readable when stdout is a pipe (rich would squeeze them to 80 columns)."""
    import sys
    stream = file or sys.stdout
    width = None if stream.isatty() else 200
    return Console(file=stream, width=width, highlight=False, markup=False)  # names and messages are literal text
