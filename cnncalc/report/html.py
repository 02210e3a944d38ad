"""`cnncalc report`: one self-contained HTML page of a network (no network access, no external resource).

The page shows the cost report's totals, the layer graph (laid out here, cnncalc/report/layout.py, as inline SVG;
each node shaded by its share of a column chosen on the page, with its row as a tooltip), the layer table (sortable,
a bar in every figure), the receptive field's growth by depth and, for a sweep, the totals by input size; then the
convention and the cnncalc version. Every figure is the one of the JSON documents the page is made from: the cost
document is also embedded whole as a JSON data island (`<script type="application/json" id="cnncalc-data">`),
which the page's script reads for shading only.

Rendered with jinja2 (autoescaping on): `pip install 'cnncalc[report]'`. Nothing here is imported by the other
commands.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

from ..extras import require
from ..text import printable
from .graph import Cluster, LayerGraph
from .layout import NODE_H, NODE_W, Layout, layout

_HERE = Path(__file__).parent
DEFAULT_SHADE = "macs"


def require_jinja() -> Any:
    """The jinja2 module; SpecError saying what to install when it is missing."""
    return require("jinja2", "report", "cnncalc report")


def render_report(cost: dict, rf: dict, lg: LayerGraph, sweep: dict | None, version: str,
                  collapsed: LayerGraph | None = None) -> str:
    """The page for the cost document `cost`, the rf document `rf` of the same graph, its picture `lg`, the same
    with its blocks `collapsed` (a second view, when it has blocks) and, when given, the cost sweep document
    `sweep`."""
    jinja2 = require_jinja()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    columns = cost["columns"]
    shade = DEFAULT_SHADE if DEFAULT_SHADE in columns else columns[0]
    maxima = {c: max((row[c] for row in cost["layers"]), default=0) for c in columns}
    placed = layout(lg)
    convention = _convention_statement(cost["convention"], "training" in cost)
    context = {
        "doc": cost, "columns": columns, "shade": shade, "version": version,
        "name": printable(cost["spec"]), "input": "x".join(map(str, cost["input"])),
        "totals": [(key, value) for key, value in cost["totals"].items()],
        "rows": [_row(i, row, columns, maxima) for i, row in enumerate(cost["layers"])],
        "graph_svg": _graph_svg(lg, placed, shade),
        "blocks_svg": _graph_svg(collapsed, layout(collapsed), shade, "blocks") if collapsed and lg.clusters else None,
        "rf_svg": _rf_svg(rf, placed, lg),
        "sweep_svg": _sweep_svg(sweep, shade) if sweep else None,
        "convention": convention, "diagnostics": [printable(d["message"]) for d in cost.get("diagnostics", [])],
        "css": (_HERE / "templates" / "report.css").read_text("utf-8"),
        "js": (_HERE / "templates" / "report.js").read_text("utf-8"),
        "data": _data_island({"cost": cost, "sweep": sweep, "cnncalc": version,
                              "blocks": _block_rows(collapsed, columns) if collapsed else []}),
        "labels": LABELS,
    }
    return env.get_template("report.html.j2").render(context)


LABELS = {"params": "parameters", "buffers": "buffers", "mults": "multiplications", "adds": "additions",
          "comparisons": "comparisons", "activations": "activations", "macs": "MACs",
          "activation_elements": "output elements", "peak_activation_elements": "peak live elements",
          "backward_mults": "backward multiplications", "backward_adds": "backward additions",
          "backward_activations": "backward activations", "backward_macs": "backward MACs",
          "training_macs": "training MACs", "optimizer_state": "optimizer state",
          "optimizer_mults": "optimizer multiplications", "optimizer_adds": "optimizer additions",
          "optimizer_roots": "optimizer square roots"}
"""Headings of the cost columns (`--training`'s too); a column not named here (a plug-in's metric) is shown by its
key."""


def _convention_statement(convention: str, training: bool) -> str:
    """The counting convention; the backward pass's too for a training step."""
    from .table import convention_text
    text = convention_text(convention)
    return text if training else text.split("\n\nBackward convention", 1)[0]


def _data_island(data: dict) -> str:
    """JSON safe inside <script>: `<`, `>` and `&` as \\u escapes, so no text can close the element."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _row(index: int, row: dict, columns: list[str], maxima: dict) -> dict:
    output = row["output"]
    shape = "x".join(map(str, output)) if output and type(output[0]) is int else \
        ", ".join("x".join(map(str, s)) for s in output)
    cells = [(c, row[c], f"{row[c]:,}", _percent(row[c], maxima[c])) for c in columns]
    return {"i": index, "name": printable(row["name"]), "type": printable(row["type"]), "output": shape,
            "size": math.prod(output) if output and type(output[0]) is int else 0, "cells": cells}


def _percent(value: int, top: int) -> str:
    return f"{100 * value / top:.1f}" if top else "0"


def _short(text: str, limit: int) -> str:
    """`text` shortened in the middle to `limit` characters."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def _block_rows(collapsed: LayerGraph, columns: list[str]) -> list[dict]:
    """Per node of the collapsed view that stands for a block, its summed figures as text (exact, with commas)."""
    return [{"name": n.name, "layers": n.layers, "output": n.output, **{c: f"{n.row[c]:,}" for c in columns}}
            for n in collapsed.nodes if n.type == "block"]


def _graph_svg(lg: LayerGraph, placed: Layout, shade: str, view: str = "layers") -> str:
    """The graph as inline SVG: clusters, edges (with their shape labels), then the nodes. A layer's node carries
    `data-row` (its row in the cost document), a collapsed block's `data-block` (its entry of the data island's
    `blocks`)."""
    rows = [n.row.get(shade, 0) for n in lg.nodes if n.type != "input"]
    top = max(rows, default=0)
    hidden = "" if view == "layers" else " hidden"
    parts = [f'<svg class="graph" data-view="{view}"{hidden} width="{placed.width:.0f}" '
             f'height="{placed.height:.0f}" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}" role="img" '
             f'aria-label="layer graph">',
             f'<defs><marker id="arrow-{view}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="arrowhead"/></marker></defs>']
    row_of: dict[str, str] = {}
    blocks = 0
    for node in lg.nodes:
        if node.type == "block":
            row_of[node.id] = f' data-block="{blocks}"'
            blocks += 1
        elif node.type != "input":
            row_of[node.id] = f' data-row="{int(node.id[1:]) - 1}"'  # node n<k> is the layer of row k - 1
    parts.extend(_cluster_boxes(lg, placed))
    labelled: set[tuple[str, str]] = set()  # a tensor read by several layers is labelled once
    for edge, path in zip(lg.edges, placed.paths):
        (x0, y0), (x1, y1) = path[0], path[-1]
        points = [(x0, y0 + NODE_H / 2)] + path[1:-1] + [(x1, y1 - NODE_H / 2 - 2)]
        d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            mid = (ay + by) / 2
            d += f" C{ax:.1f},{mid:.1f} {bx:.1f},{mid:.1f} {bx:.1f},{by:.1f}"
        parts.append(f'<path class="edge" d="{d}" marker-end="url(#arrow-{view})"/>')
        if edge.label and (edge.source, edge.label) not in labelled:
            labelled.add((edge.source, edge.label))
            parts.append(f'<text class="shape" x="{x0 + 6:.1f}" y="{y0 + NODE_H / 2 + 14:.1f}">'
                         f'{escape(edge.label.replace("x", "×"))}</text>')
    for node in lg.nodes:
        x, y = placed.centres[node.id]
        local = node.name[len(node.block) + 1:] if node.block else node.name
        kind = "input" if node.type == "input" else "layer" if node.type != "block" else "block"
        data = row_of.get(node.id, "")
        share = node.row.get(shade, 0) / top if kind != "input" and top else 0
        parts.append(
            f'<g class="node {kind}" data-id="{node.id}"{data} transform="translate({x - NODE_W / 2:.1f},'
            f'{y - NODE_H / 2:.1f})"><title>{escape(printable(node.name))}</title>'
            f'<rect class="box" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<rect class="heat" width="{NODE_W}" height="{NODE_H}" rx="6" style="fill-opacity:{0.9 * share:.3f}"/>'
            f'<text class="nm" x="9" y="16">{escape(_short(printable(local), 24))}</text>'
            f'<text class="sub" x="9" y="31">{escape(_short(_kind(node) + " · " + node.output.replace("x", "×"), 30))}'
            f'</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _kind(node) -> str:
    return f"{node.layers} layers" if node.type == "block" else printable(node.type)


def _cluster_boxes(lg: LayerGraph, placed: Layout) -> list[str]:
    boxes: list[str] = []

    def extent(cluster: Cluster, depth: int) -> tuple[float, float, float, float] | None:
        spans = [(placed.centres[nid][0] - NODE_W / 2, placed.centres[nid][1] - NODE_H / 2,
                  placed.centres[nid][0] + NODE_W / 2, placed.centres[nid][1] + NODE_H / 2) for nid in cluster.nodes]
        inner = [extent(child, depth + 1) for child in cluster.children]
        spans += [s for s in inner if s is not None]
        if not spans:
            return None
        pad = 8
        box = (min(s[0] for s in spans) - pad, min(s[1] for s in spans) - pad - 8,
               max(s[2] for s in spans) + pad, max(s[3] for s in spans) + pad - 2)
        boxes.append(f'<g class="cluster" data-depth="{depth}"><rect x="{box[0]:.1f}" y="{box[1]:.1f}" '
                     f'width="{box[2] - box[0]:.1f}" height="{box[3] - box[1]:.1f}" rx="9"/>'
                     f'<text x="{box[2] - 8:.1f}" y="{box[1] + 11:.1f}">{escape(_short(printable(cluster.label), 28))}'
                     f'</text></g>')
        return box

    for cluster in lg.clusters:
        extent(cluster, 0)
    boxes.reverse()  # outer boxes first, under the inner ones
    return boxes


# ------------------------------------------------------------------------------------------------- charts

_CHART_W, _CHART_H = 640, 260
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 58, 30, 14, 38


def _rf_svg(rf: dict, placed: Layout, lg: LayerGraph) -> str | None:
    """Receptive field size and jump (height axis) of the layer with the largest field at every depth, on a log2
    scale."""
    ids = [n.id for n in lg.nodes]
    best: dict[int, tuple[float, float, str]] = {}
    shown: dict[int, tuple[object, object]] = {}  # as the rf document writes them: a mean jump may be "56/15"
    for nid, row in zip(ids[1:], rf["layers"]):
        if row.get("global") or "rf" not in row:
            continue
        depth = placed.ranks[nid]
        height = row["rf"]["height"]
        size, jump = _log2(height["size"]), _log2(height["jump"])
        if depth not in best or size > best[depth][0]:
            best[depth] = (size, jump, row["name"])
            shown[depth] = (height["size"], height["jump"])
    if not best:
        return None
    depths = sorted(best)
    y_max = max(1, math.ceil(max(max(size, jump) for size, jump, _ in best.values())))
    y_min = min(0, math.floor(min(min(size, jump) for size, jump, _ in best.values())))  # a jump below 1: upsampling
    x_max = max(depths[-1], 1)
    sx = lambda d: _PAD_L + (_CHART_W - _PAD_L - _PAD_R) * d / x_max  # noqa: E731
    sy = lambda e: _CHART_H - _PAD_B - (_CHART_H - _PAD_T - _PAD_B) * (e - y_min) / (y_max - y_min)  # noqa: E731
    parts = [_chart_open("receptive field by depth")]
    step = max(1, math.ceil((y_max - y_min) / 6))
    for e in range(y_min, y_max + 1, step):
        parts.append(_hgrid(sy(e), f"{2 ** e:,}" if e >= 0 else f"1/{2 ** -e:,}"))
    parts.extend(_xticks([(d, str(d)) for d in _nice_ticks(x_max)], sx))
    for key, index, label in (("size", 0, "size"), ("jump", 1, "jump")):
        points = [(sx(d), sy(best[d][index])) for d in depths]
        parts.append(f'<polyline class="series {key}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        for d, (x, y) in zip(depths, points):
            parts.append(f'<circle class="dot {key}" cx="{x:.1f}" cy="{y:.1f}" r="2.6"><title>depth {d}: '
                         f'{escape(printable(best[d][2]))}, {label} {_text(shown[d][index])}</title></circle>')
    parts.append(_axis_labels("depth (longest path from the input)", "pixels (log scale)"))
    parts.append(_legend([("size", "receptive field size"), ("jump", "jump (stride product)")]))
    parts.append("</svg>")
    return "".join(parts)


def _log2(figure: int | str) -> float:
    """log2 of a receptive-field figure: an int of any size, or a fraction string ("56/15", a mean jump)."""
    from fractions import Fraction
    value = Fraction(figure)
    return math.log2(value.numerator) - math.log2(value.denominator)


def _text(figure: object) -> str:
    return f"{figure:,}" if type(figure) is int else escape(str(figure))


def _sweep_svg(sweep: dict, column: str) -> str:
    """`column` of the sweep's totals against the input size, and MACs too when the column is another."""
    rows = sweep["sweep"]
    labels = ["x".join(map(str, row["input"][-2:])) for row in rows]
    top = max(row[column] for row in rows) or 1
    n = len(rows)
    sx = lambda i: _PAD_L + (_CHART_W - _PAD_L - _PAD_R) * (i / (n - 1) if n > 1 else 0.5)  # noqa: E731
    sy = lambda v: _CHART_H - _PAD_B - (_CHART_H - _PAD_T - _PAD_B) * v / top  # noqa: E731
    parts = [_chart_open(f"{LABELS.get(column, column)} by input size")]
    for v in _nice_ticks(top):
        parts.append(_hgrid(sy(v), _compact(v)))
    every = max(1, math.ceil(n / 8))
    parts.extend(_xticks([(i, labels[i]) for i in range(0, n, every)], sx))
    points = [(sx(i), sy(row[column])) for i, row in enumerate(rows)]
    parts.append(f'<polyline class="series size" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
    for (x, y), label, row in zip(points, labels, rows):
        parts.append(f'<circle class="dot size" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{label}: '
                     f'{row[column]:,} {escape(LABELS.get(column, column))}</title></circle>')
    parts.append(_axis_labels("input size (H×W)", LABELS.get(column, column)))
    parts.append("</svg>")
    return "".join(parts)


def _chart_open(label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {_CHART_W} {_CHART_H}" '
            f'role="img" aria-label="{escape(label)}">')


def _hgrid(y: float, label: str) -> str:
    return (f'<line class="grid" x1="{_PAD_L}" x2="{_CHART_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_PAD_L - 6}" y="{y + 3.5:.1f}" text-anchor="end">{label}</text>')


def _xticks(ticks: list[tuple[float, str]], sx) -> list[str]:
    return [f'<text class="tick" x="{sx(v):.1f}" y="{_CHART_H - _PAD_B + 15}" text-anchor="middle">'
            f'{escape(label)}</text>' for v, label in ticks]


def _axis_labels(x_label: str, y_label: str) -> str:
    return (f'<text class="axis" x="{(_CHART_W + _PAD_L) / 2:.0f}" y="{_CHART_H - 4}" text-anchor="middle">'
            f'{escape(x_label)}</text><text class="axis" transform="translate(12,{(_CHART_H - _PAD_B) / 2:.0f}) '
            f'rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')


def _legend(items: list[tuple[str, str]]) -> str:
    out = []
    for k, (key, label) in enumerate(items):
        x = _PAD_L + 12 + 190 * k
        out.append(f'<line class="series {key}" x1="{x}" x2="{x + 18}" y1="{_PAD_T + 6}" y2="{_PAD_T + 6}"/>'
                   f'<text class="legend" x="{x + 24}" y="{_PAD_T + 10}">{escape(label)}</text>')
    return "".join(out)


def _nice_ticks(top: float) -> list[int]:
    """0 and round multiples up to `top` (about five)."""
    if top <= 0:
        return [0]
    raw = top / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return list(range(0, int(top) + 1, max(1, int(step))))


def _compact(v: int) -> str:
    for size, suffix in ((10 ** 12, "T"), (10 ** 9, "G"), (10 ** 6, "M"), (10 ** 3, "k")):
        if abs(v) >= size:
            return f"{v / size:.3g}{suffix}"
    return str(v)
