"""The report documents: plain dicts of exact integers, versioned, the same for JSON and tables.

Key names are a contract for the tools that read `--json`; add keys freely, never rename or remove one without
raising SCHEMA_VERSION.
"""

from __future__ import annotations

from ..analyzers import METRICS
from ..analyzers.rf import dependencies_at, receptive_fields
from ..graph import Graph, Node

SCHEMA_VERSION = 1
CONVENTION = "cnncalc"


def _header(graph: Graph) -> dict:
    return {"schema_version": SCHEMA_VERSION, "spec": graph.name, "input": list(graph.input)}


def _output(node: Node) -> list:
    if len(node.outputs) == 1:
        return list(node.output)
    return [list(shape) for shape in node.outputs]


def _input_names(graph: Graph, node: Node) -> list[str]:
    names = []
    for i, k in node.inputs:
        source = graph.nodes[i]
        names.append(source.name if len(source.outputs) == 1 else f"{source.name}.{k}")
    return names


def cost_report(graph: Graph) -> dict:
    """The `cnncalc cost --json` document: per-layer counts, their totals and diagnostics."""
    columns = [c for metric in METRICS.values() for c in metric.columns]
    rows = []
    per_metric: dict[str, list[tuple[int, ...]]] = {name: [] for name in METRICS}
    for node in graph.layers:
        row = {"name": node.name, "type": node.type, "inputs": _input_names(graph, node), "output": _output(node)}
        if node.entry is not None and node.entry.block:
            row["block"] = node.entry.block
        for name, metric in METRICS.items():
            values = metric.measure(node)
            per_metric[name].append(values)
            row.update(zip(metric.columns, values))
        rows.append(row)
    totals = {c: sum(row[c] for row in rows) for c in columns}
    for name, metric in METRICS.items():
        if metric.extra_totals:
            totals.update(metric.extra_totals(per_metric[name]))
    return {**_header(graph), "convention": CONVENTION, "layers": rows, "totals": totals, "diagnostics": []}


def rf_report(graph: Graph, layer: str | None = None, at: tuple[int, int] | None = None) -> dict:
    """The `cnncalc rf --json` document: per-layer receptive fields, and the bounds of one index with `at`."""
    result = receptive_fields(graph)
    rows = []
    for node in graph.layers:
        row = {"name": node.name, "type": node.type, "output": _output(node)}
        fields = result.fields[node.index]
        if fields is None:
            row["global"] = True
        else:
            count_h = node.output[1] if len(node.output) == 3 else 1
            count_w = node.output[2] if len(node.output) == 3 else 1
            row["global"] = False
            row["rf"] = {"height": fields[0].to_json(count_h), "width": fields[1].to_json(count_w)}
        rows.append(row)
    doc = {**_header(graph), "diagnostics": result.diagnostics, "layers": rows}
    if at is not None:
        target = _target(graph, layer)
        doc["at"] = dependencies_at(graph, target, at)
    return doc


def _target(graph: Graph, layer: str | None) -> Node:
    from ..errors import SpecError
    if layer is None:
        return graph.nodes[-1]
    try:
        return graph.find(layer)
    except KeyError:
        from difflib import get_close_matches
        close = get_close_matches(layer, [n.name for n in graph.layers], 1)
        raise SpecError(f"no layer named {layer!r} in {graph.file}",
                        hint=f"did you mean {close[0]!r}?" if close else "see `cnncalc validate`") from None
