"""Every table of every bundled spec, at widths 40, 60, 80, 100 and 200 and with --wide: no line is longer than the
width, and every figure of the JSON document appears intact in the text, formatted as the table formats it
(`1,115,684,864`, `64x56x56`, `2i-3 .. 2i+3`), unless its column is named in the footnote of hidden columns.

The expected figures are formatted here from the JSON documents, not by the table code. Tables are rendered in
process (no console, no subprocess), so the whole file runs in a few seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from cnncalc.graph import load
from cnncalc.report import compare_report, cost_report, group_report, rf_report
from cnncalc.report.render import render_at
from cnncalc.report.table import (compare_tables, cost_table, graph_table, group_table, layers_table, rf_table,
                                  sweep_table)
from cnncalc.text import cell_width

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
WIDTHS = (40, 60, 80, 100, 200)
HIDDEN = re.compile(r"\d+ columns? hidden to fit \d+ columns: (.*?); --wide or --json shows every column")

# Headings, written here from the README's description of the tables.
TITLES = {"params": "params", "buffers": "buffers", "mults": "mults", "adds": "adds", "comparisons": "comparisons",
          "activations": "activations", "macs": "MACs", "activation_elements": "output elems",
          "peak_activation_elements": "largest output"}


def n(value: int) -> str:
    return f"{value:,}"


def shape(value: list) -> str:
    if value and isinstance(value[0], list):
        return ", ".join(shape(v) for v in value)
    return "x".join(map(str, value))


def pair(h: dict, w: dict, key: str) -> str:
    return str(h[key]) if h[key] == w[key] else f"{h[key]}x{w[key]}"


@lru_cache(maxsize=None)
def docs(path: Path) -> dict:
    graph = load(path.read_text(), path.name)
    cost = cost_report(graph)
    return {"cost": cost, "rf": rf_report(graph), "type": group_report(cost, "type"),
            "block": group_report(cost, "block")}


def cost_figures(doc: dict) -> list[tuple[str, str]]:
    out = []
    for row in doc["layers"]:
        out.append(("output", shape(row["output"])))
        out += [(TITLES.get(c, c), n(row[c])) for c in doc["columns"]]
    return out + [(TITLES.get(c, c), n(doc["totals"][c])) for c in doc["columns"]]


def group_figures(doc: dict) -> list[tuple[str, str]]:
    out = [("layers", n(g["layers"])) for g in doc["groups"]]
    for g in doc["groups"]:
        out += [(TITLES.get(c, c), n(g[c])) for c in doc["columns"]]
    return out + [(TITLES.get(c, c), n(doc["totals"][c])) for c in doc["columns"]]


def rf_figures(doc: dict) -> list[tuple[str, str]]:
    out = []
    for row in doc["layers"]:
        out.append(("output", shape(row["output"])))
        if row["global"]:
            continue
        h, w = row["rf"]["height"], row["rf"]["width"]
        out += [("rf", f"{h['size']}x{w['size']}"), ("jump", pair(h, w, "jump")),
                ("padding", pair(h, w, "padding")), ("rows", h["bounds"])]
        if w["bounds"] != h["bounds"]:
            out.append(("cols", w["bounds"]))
    return out


def compare_figures(doc: dict) -> list[tuple[str, str]]:
    names = [s["spec"] for s in doc["specs"]]
    out = []
    for s in doc["specs"]:
        out += [(s["spec"], n(s["totals"][c])) for c in doc["columns"]]
    for s in doc["specs"][1:]:
        out += [(f"{s['spec']} / {names[0]}", "-" if r is None else f"{r:.3f}") for r in s["ratio"].values()]
    for block in doc["blocks"]:
        for name, values in zip(names, block["totals"]):
            if values is not None:
                out += [(f"{name} params", n(values["params"])), (f"{name} MACs", n(values["macs"]))]
    return out


def hidden_columns(text: str) -> set[str]:
    """The headings the footnote names (it may be wrapped over several lines)."""
    return {h for m in HIDDEN.finditer(" ".join(text.split())) for h in m.group(1).split(", ")}


def check(text: str, width: int | None, figures: list[tuple[str, str]], names: list[str]) -> None:
    lines = text.splitlines()
    if width is not None:
        long = [line for line in lines if cell_width(line) > width]
        assert not long, f"{len(long)} lines longer than {width}: {long[0]!r}"
    hidden = hidden_columns(text)
    if width is None:
        assert not hidden
    tokens = Counter(text.split())
    wanted = Counter(t for column, figure in figures if column not in hidden for t in figure.split())
    missing = {t: k for t, k in wanted.items() if tokens[t] < k}
    assert not missing, f"figures missing at width {width} (hidden: {sorted(hidden)}): {list(missing)[:5]}"
    for name in names:  # whole, or shortened in the middle with both ends kept
        assert name in tokens or any("…" in t and name.startswith(t.split("…")[0]) and name.endswith(t.split("…")[1])
                                     for t in tokens), f"name {name!r} lost at width {width}"


def tables(path: Path):
    d = docs(path)
    names = [row["name"] for row in d["cost"]["layers"]]
    yield "cost", cost_table(d["cost"]), cost_figures(d["cost"]), names
    yield "rf", rf_table(d["rf"]), rf_figures(d["rf"]), names
    yield "group-by type", group_table(d["type"]), group_figures(d["type"]), []
    yield "group-by block", group_table(d["block"]), group_figures(d["block"]), []
    yield "validate", graph_table(d["cost"]), [("output", shape(r["output"])) for r in d["cost"]["layers"]], names
    other = SPECS[(SPECS.index(path) + 1) % len(SPECS)]
    compare = compare_report([d["cost"], docs(other)["cost"]])
    for table, part in zip(compare_tables(compare), ("totals", "blocks")):
        figures = [f for f in compare_figures(compare) if (f[0].endswith(("params", "MACs")) == (part == "blocks"))]
        yield f"compare {part}", table, figures, []


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_table_keeps_every_figure_at_every_width(path):
    for kind, table, figures, names in tables(path):
        for width in (*WIDTHS, None):
            try:
                check(render_at([table], width), width, figures, names)
            except AssertionError as exc:
                raise AssertionError(f"{kind} table of {path.name}: {exc}") from None


@pytest.mark.parametrize("convention", ["cnncalc", "torchvision", "fvcore", "ptflops"])
def test_layers_table_keeps_every_type_and_figure(convention):
    from cnncalc.layers import REGISTRY
    table = layers_table(convention)
    figures = [(c.header, t) for row in table.rows for c, cell in zip(table.columns, row) for t in cell.split()
               if any(ch.isdigit() for ch in t) and all(ch in "xi" for ch in t if ch.isalpha())]
    for width in (*WIDTHS, None):
        check(render_at([table], width), width, figures, sorted(REGISTRY))


SPATIAL = [p for p in SPECS if len(docs(p)["cost"]["input"]) == 3]  # a flat input ([F], the MLP) has no sizes


def test_every_spec_but_the_flat_one_sweeps():
    assert [p.stem for p in SPECS if p not in SPATIAL] == ["mlp", "mlp_relu", "mlp_sigmoid"]


@pytest.mark.parametrize("path", SPATIAL, ids=[p.stem for p in SPATIAL])
def test_sweep_tables_keep_every_figure(path):
    from cnncalc.sweep import cost_sweep, load_for_sweep, rf_sweep
    sizes = [(64, 64), (96, 80), (224, 224)]
    graph = load_for_sweep(path.read_text(), path.name, sizes)
    cost, rf = cost_sweep(graph, sizes), rf_sweep(graph, sizes)
    cost_figs = [f for row in cost["sweep"] for f in
                 [("input", shape(row["input"]))] + [(TITLES.get(c, c), n(row[c])) for c in cost["columns"]]]
    rf_figs = []
    for row in rf["sweep"]:
        rf_figs += [("input", shape(row["input"])), ("output", shape(row["output"]))]
        if row["rf"] is not None:
            h, w = row["rf"]["height"], row["rf"]["width"]
            rf_figs += [("rf", f"{h['size']}x{w['size']}"), ("jump", pair(h, w, "jump")),
                        ("padding", pair(h, w, "padding"))]
    assert cost["sweep"] and rf["sweep"]
    for table, figures in ((sweep_table(cost), cost_figs), (sweep_table(rf), rf_figs)):
        for width in (*WIDTHS, None):
            check(render_at([table], width), width, figures, [])


def test_narrow_widths_hide_the_minor_columns_first():
    """At 80 columns the cost table of inception_naive keeps layer, output, params and MACs and names what it hid."""
    text = render_at([cost_table(docs(ROOT / "specs" / "inception_naive.yaml")["cost"])], 80)
    hidden = hidden_columns(text)
    assert {"comparisons", "output elems"} <= hidden and not hidden & {"layer", "output", "params", "MACs"}
    assert "1,115,684,864" in text and not re.search(r"[0-9,]…", text)


def test_very_narrow_widths_stack_the_rows_without_hiding():
    text = render_at([cost_table(docs(ROOT / "specs" / "inception_naive.yaml")["cost"])], 40)
    assert "  params: 1,089,952" in text and "  MACs: 1,115,684,864" in text and not hidden_columns(text)

