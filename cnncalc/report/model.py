"""The report documents: plain dicts of exact integers, versioned, the same for JSON and tables.

Key names are a contract for the tools that read `--json`; add keys freely, never rename or remove one without
raising SCHEMA_VERSION.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .. import conventions
from ..errors import SpecError, quote, suggest
from ..analyzers.base import Step
from ..analyzers.cost import columns as metric_columns, cost_metrics, measure, totals as tally
from ..analyzers.rf import dependencies_at, receptive_fields
from ..graph import Graph, Node
from ..spec import CALLS

SCHEMA_VERSION = 1


def header(graph: Graph) -> dict:
    """The keys every document of one spec starts with (the sweeps' too)."""
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


def _convention_diagnostics(graph: Graph, convention: str) -> list[dict]:
    """Why a tool's figure differs: layer types it has no rule for, counts as 0, or counts by how PyTorch calls
    them (one `convention-call-assumed` note for the layers without `call:` whose figure another form would change,
    naming those forms; where every form the tool knows counts alike, no note)."""
    preset = conventions.get(convention)
    if preset is None:
        return []
    diagnostics: list[dict[str, Any]] = []
    assumed_types: list[dict] = []
    by_type: dict[str, list[Node]] = {}
    for node in graph.layers:
        by_type.setdefault(node.type, []).append(node)
    for type_name, nodes in by_type.items():
        names = [n.name for n in nodes]
        rule = preset.rules.get(type_name)
        if rule is None:
            diagnostics.append({"severity": "error", "code": "convention-unsupported",
                                "message": f"{preset.name} has no known rule for {type_name}; counted as 0, so the "
                                           "total is a lower bound", "layers": names})
            continue
        if rule.depends_on_call is not None:
            unmarked = [n for n in nodes if rule.depends_on_call(n) and (n.entry is None or n.entry.call is None)]
            if rule.calls is None:  # a plug-in's rule that does not list its forms: every other form may differ
                changes = {n.name: [c for c in CALLS if c != "module"] for n in unmarked}
            else:
                changes = {n.name: _forms_that_change(rule, n) for n in unmarked}
            assumed = [name for name, forms in changes.items() if forms]
            if assumed:
                forms = [c for c in CALLS if any(c in changes[name] for name in assumed)]
                assumed_types.append({"type": type_name, "assumed": rule.calls[0] if rule.calls else "module",
                                      "changes_with": forms, "layers": assumed})
        if rule.doc.startswith(("0", "not counted")):
            diagnostics.append({"severity": "info", "code": "convention-not-counted",
                                "message": f"{preset.name} counts {type_name} as 0 ({rule.doc}): {_layers(names)}",
                                "layers": names})
    if assumed_types:
        parts = "; ".join(f"{t['type']} ({_layers(t['layers'])}) as {t['assumed']}, which "
                          + " or ".join(f"`call: {form}`" for form in t["changes_with"]) + " would count otherwise"
                          for t in assumed_types)
        layers = [name for t in assumed_types for name in t["layers"]]
        diagnostics.append({"severity": "info", "code": "convention-call-assumed",
                            "message": f"{preset.name} counts some layers by how PyTorch calls them; "
                                       f"{_layers(layers)} without `call:` are counted in their usual form: {parts} "
                                       "(see `cnncalc layers --convention " + preset.name + "`)",
                            "layers": layers, "types": assumed_types})
    return diagnostics


def _forms_that_change(rule: conventions.Rule, node: Node) -> list[str]:
    """The forms the rule knows whose count for `node` differs from that of its usual form."""
    entry = node.entry
    if entry is None or not rule.calls:
        return []
    usual = rule.count(node)
    return [form for form in rule.calls[1:] if rule.count(replace(node, entry=replace(entry, call=form))) != usual]


def _layers(names: list[str]) -> str:
    return f"{len(names)} layer{'s' if len(names) > 1 else ''}"


def training_key(step: Step) -> dict:
    """The document's `training` key: {"batch", "optimizer"} (only in a training step's documents)."""
    return {"batch": step.batch, "optimizer": step.optimizer}


def step_of(doc: dict) -> Step | None:
    """The training step a document counts (None: inference)."""
    training = doc.get("training")
    return None if training is None else Step(training["batch"], training["optimizer"])


def cost_report(graph: Graph, convention: str = conventions.DEFAULT, step: Step | None = None) -> dict:
    """The `cnncalc cost --json` document: per-layer counts, their totals and diagnostics (analyzers.cost); with a
    training `step`, its counts and the key `training`."""
    metrics = cost_metrics(convention, step and step.on(graph))
    columns = metric_columns(metrics)
    values = [measure(metrics, node) for node in graph.layers]
    rows = []
    for node, counts in zip(graph.layers, values):
        row: dict[str, Any] = {"name": node.name, "type": node.type, "inputs": _input_names(graph, node),
                               "output": _output(node)}
        if node.entry is not None and node.entry.block:
            row["block"] = node.entry.block
        row.update(zip(columns, counts))
        rows.append(row)
    training = {} if step is None else {"training": training_key(step)}
    return {**header(graph), "convention": convention, **training, "columns": columns, "layers": rows,
            "totals": tally(metrics, values), "diagnostics": _convention_diagnostics(graph, convention)}


def group_report(doc: dict, by: str) -> dict:
    """A cost document with its rows totalled by layer `type` or by top-level `block` instance: per group, the
    column sums and the extra totals of its layers, as in `totals`.

    A layer outside every block forms a group of its own name."""
    metrics = cost_metrics(doc["convention"], step_of(doc))
    columns = doc["columns"]
    if metric_columns(metrics) != columns:
        raise ValueError(f"the document's columns {columns} are not those of the {doc['convention']} convention")
    members: dict[str, list[tuple]] = {}
    for row in doc["layers"]:
        key = row["type"] if by == "type" else row.get("block") or row["name"]
        members.setdefault(key, []).append(tuple(row[c] for c in columns))
    groups = [{"group": key, "layers": len(rows), **tally(metrics, rows)} for key, rows in members.items()]
    return {**{k: v for k, v in doc.items() if k != "layers"}, "group_by": by, "groups": groups}


def compare_report(docs: list[dict]) -> dict:
    """Totals of several cost documents side by side, ratios to the first, and per-block totals: every key of
    `totals` (the column sums and the extra totals) that all documents have."""
    columns = [c for c in docs[0]["totals"] if all(c in d["totals"] for d in docs)]
    base = docs[0]["totals"]
    specs = []
    for d in docs:
        ratios = {c: (d["totals"][c] / base[c] if base[c] else None) for c in columns}
        specs.append({"spec": d["spec"], "input": d["input"], "totals": {c: d["totals"][c] for c in columns},
                      "ratio": ratios})
    blocks: dict[str, list] = {}
    for k, d in enumerate(docs):
        for group in group_report(d, "block")["groups"]:
            entry = blocks.setdefault(group["group"], [None] * len(docs))
            entry[k] = {c: group[c] for c in columns}
    training = {"training": docs[0]["training"]} if "training" in docs[0] else {}
    return {"schema_version": SCHEMA_VERSION, "convention": docs[0]["convention"], **training, "columns": columns,
            "specs": specs, "blocks": [{"block": name, "totals": values} for name, values in blocks.items()]}


def rf_report(graph: Graph, layer: str | None = None, at: tuple[int, int] | None = None) -> dict:
    """The `cnncalc rf --json` document: per-layer receptive fields, and the bounds of one index with `at`."""
    result = receptive_fields(graph)
    rows = []
    for node in graph.layers:
        row: dict[str, Any] = {"name": node.name, "type": node.type, "output": _output(node)}
        fields = result.fields[node.index]
        count_h = int(node.output[1]) if len(node.output) == 3 else 1
        count_w = int(node.output[2]) if len(node.output) == 3 else 1
        if fields is None:
            row["global"] = True
            local = result.local[node.index]
            if local is not None:  # global through a per-channel gate only: the field of the spatial path
                row["local"] = {"height": local[0].to_json(count_h), "width": local[1].to_json(count_w)}
        else:
            row["global"] = False
            row["rf"] = {"height": fields[0].to_json(count_h), "width": fields[1].to_json(count_w)}
        rows.append(row)
    doc = {**header(graph), "diagnostics": result.diagnostics, "layers": rows}
    if at is not None:
        target = _target(graph, layer)
        doc["at"] = dependencies_at(graph, target, at)
    return doc


def _target(graph: Graph, layer: str | None) -> Node:
    if layer is None:
        return graph.nodes[-1]
    try:
        return graph.find(layer)
    except KeyError:
        close = suggest(layer, [n.name for n in graph.layers])
        raise SpecError(f"no layer named {quote(layer)} in {graph.file}",
                        hint=f"did you mean {close!r}?" if close else "see `cnncalc validate`") from None
