"""How `cnncalc import` shapes the layers it read into a spec a person would write: the sizes only the graph's
shapes give (`_resolve_sizes`), blocks where the graph repeats a pattern under several scopes (`_group_blocks`),
runs of identical layers as `repeat: N` (`_collapse_repeats`), and the check that the shaped spec builds the graph
it was made from (`_same_graph`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import Position, SpecError
from ..source import Limits
from .ops import _SAME_SIZE, _pair
from .spec_text import spec_text


def _same_graph(flat: Any, doc: dict, file: str, limits: Limits) -> bool:
    """Whether the spec `doc` (with blocks and repeats) builds the same layers, in the same order, reading the
    same inputs with the same shapes, as the flat graph it was made from."""
    from ..graph import load
    try:
        graph = load(spec_text(doc), file, limits)
    except SpecError:
        return False
    return [(n.type, n.inputs, n.outputs) for n in graph.layers] == [(n.type, n.inputs, n.outputs)
                                                                      for n in flat.layers]


def _resolve_sizes(entries: list[dict], input_shape: list[int], file: str, limits: Limits) -> Any:
    """Check the entries as a spec (cnncalc's shapes; a model whose layers do not fit is refused here), give the
    adaptive pools marked `_SAME_SIZE` their output size, and return the graph of the entries."""
    from ..graph import load
    marked = [e for e in entries if e.pop(_SAME_SIZE, False)]
    for e in marked:
        e["output_size"] = 1  # a stand-in while the shapes are computed
    doc = {"name": "imported", "input": input_shape, "layers": entries}
    try:
        graph = load(spec_text(doc), file, limits)
    except SpecError as exc:
        raise SpecError(f"the model's layers do not fit together as cnncalc reads them: {exc.message}",
                        Position(file, 1, 1), hint="cnncalc import writes the spec it read; check the node it names "
                                                   "with `cnncalc import` and netron") from None
    for e in marked:
        _, h, w = graph.find(e["name"]).input_shapes[0]
        e["output_size"] = _pair([int(h), int(w)])
    return load(spec_text(doc), file, limits) if marked else graph


def _refs(entry: dict) -> list[str]:
    return list(entry["inputs"]) if "inputs" in entry else [entry["input"]]


def _base(ref: str) -> str:
    """The layer a reference reads (`S` of the split chunk `S.1`)."""
    head, dot, tail = ref.rpartition(".")
    return head if dot and tail.isdigit() else ref


def _with_refs(entry: dict, refs: list[str]) -> dict:
    key = "inputs" if "inputs" in entry else "input"
    return {k: (refs if key == "inputs" else refs[0]) if k == key else v for k, v in entry.items()}


def _group_blocks(entries: list[dict], scopes: dict[str, tuple[str, str, str]],
                  block_types: set[str]) -> tuple[dict[str, list[dict]], list[dict]]:
    """Where the graph repeats a pattern: runs of consecutive layers under one scope P (PyTorch's module
    `layer1.0`, cnncalc's block instance `layer1_0`) that read only each other and one value X from outside, and
    whose layers (types, attributes, how they read each other) are those of another such run, become instances
    `{name: P, type: BLOCK, input: X}` of one block; its layers are named by the rest of their scopes (`conv1`,
    or the op type), `P/conv1` in the expanded spec. A run whose pattern occurs once stays as it is. Returns
    (blocks, entries)."""
    runs: list[tuple[int, int, str]] = []
    k = 0
    while k < len(entries):
        scope = scopes.get(entries[k]["name"], ("", "", ""))[0]
        end = k + 1
        while end < len(entries) and scope and scopes.get(entries[end]["name"], ("", "", ""))[0] == scope:
            end += 1
        if end - k >= 2:
            runs.append((k, end, scope))
        k = end
    candidates = []
    for start, end, scope in runs:
        local = _localised(entries[start:end], scopes)
        if local is not None:
            candidates.append((start, end, scope, *local))
    counts: dict[str, int] = {}
    for *_, signature, _, _ in candidates:
        counts[signature] = counts.get(signature, 0) + 1
    layer_names = {e["name"] for e in entries}
    blocks: dict[str, list[dict]] = {}
    named: dict[str, str] = {}
    renamed: dict[str, str] = {}
    instances: dict[int, tuple[int, dict]] = {}
    for start, end, scope, signature, body, source in candidates:
        if counts[signature] < 2 or scope in layer_names - {e["name"] for e in entries[start:end]}:
            continue
        if signature not in named:
            stem = re.sub(r"_\d+$", "", scope) or "block"
            name, n = f"{stem}_block", 1
            while name in blocks or name in block_types:
                n += 1
                name = f"{stem}_block{n}"
            named[signature] = name
            blocks[name] = body
        for entry, inner in zip(entries[start:end], body):
            renamed[entry["name"]] = f"{scope}/{inner['name']}"
        renamed[entries[end - 1]["name"]] = scope  # the instance's name is its output
        instances[start] = (end, {"name": scope, "type": named[signature], "input": source})
    if not instances:
        return {}, entries
    out: list[dict] = []
    k = 0
    while k < len(entries):
        if k in instances:
            end, instance = instances[k]
            out.append(instance)
            k = end
        else:
            out.append(entries[k])
            k += 1

    def rename(ref: str) -> str:
        base = _base(ref)
        return renamed.get(base, base) + ref[len(base):]
    return blocks, [_with_refs(e, [rename(r) for r in _refs(e)]) for e in out]


def _localised(run: list[dict], scopes: dict[str, tuple[str, str, str]]) -> tuple[str, list[dict], str] | None:
    """(signature, the run as a block's layers, the one value it reads from outside), or None when the run reads
    more than one value from outside or its inner names clash."""
    inner: dict[str, str] = {}
    for entry in run:
        _, rest, op = scopes.get(entry["name"], ("", "", ""))
        name = rest or op or "layer"
        while name in inner.values() or name == "input":
            name += "_"
        inner[entry["name"]] = name
    sources = {r for e in run for r in _refs(e) if _base(r) not in inner}
    if len(sources) != 1:  # a block reads one value, its input (one chunk of a split, not two)
        return None
    [source] = sources
    body = []
    for entry in run:
        refs = ["input" if r == source else inner[_base(r)] + r[len(_base(r)):] for r in _refs(entry)]
        body.append({**_with_refs(entry, refs), "name": inner[entry["name"]]})
    return json.dumps(body, sort_keys=True), body, source


def _layer_types() -> list[str]:
    from ..layers import REGISTRY
    return list(REGISTRY)


def _collapse_repeats(entries: list[dict], by_names: bool, blocks: frozenset[str] | set[str] = frozenset()) \
        -> list[dict]:
    """Runs of identical entries in a chain (each reads the one before, and nothing else reads the ones before
    the last) as one entry with `repeat: N`, named NAME where the copies are NAME_1 .. NAME_N (cnncalc's own
    naming), else after the first copy (then renamed NAME_1 .. NAME_N, and readers of the last copy read NAME).
    In a model exported by cnncalc only runs named NAME_1 .. NAME_N are collapsed."""
    readers: dict[str, int] = {}
    for e in entries:
        for ref in e.get("inputs", [e.get("input")]):
            readers[ref] = readers.get(ref, 0) + 1
    names = {e["name"] for e in entries}
    out: list[dict] = []
    renamed: dict[str, str] = {}
    k = 0
    while k < len(entries):
        run = 1
        while k + run < len(entries) and _same_layer(entries[k + run - 1], entries[k + run]) \
                and readers.get(entries[k + run - 1]["name"], 0) == 1 and entries[k + run]["type"] != "split":
            run += 1
        base = _repeat_base([e["name"] for e in entries[k:k + run]])
        if base is not None and k > 0 and entries[k - 1]["name"] == f"{base}_0":
            base = None  # numbered from 0 (PyTorch's blocks.0, blocks.1, ...): the copies stay beside NAME_0
        if run >= 2 and not ((by_names or entries[k]["type"] in blocks) and base is None):
            first = entries[k]
            name = base or first["name"]
            copies = {f"{name}_{j}" for j in range(1, run + 1)}
            if base is not None or not (copies - {e["name"] for e in entries[k:k + run]}) & names and name:
                entry = {**first, "name": name, "repeat": run}
                renamed[entries[k + run - 1]["name"]] = name
                out.append(entry)
                k += run
                continue
        out.append(entries[k])
        k += 1
    if renamed:
        for e in out:
            if "input" in e:
                e["input"] = _renamed(e["input"], renamed)
            if "inputs" in e:
                e["inputs"] = [_renamed(v, renamed) for v in e["inputs"]]
    return out


def _renamed(ref: str, renamed: dict[str, str]) -> str:
    return renamed.get(ref, ref)


def _same_layer(before: dict, after: dict) -> bool:
    """Whether `after` is a copy of `before` that reads it."""
    if after.get("input") != before["name"]:
        return False
    strip = ("name", "input", "inputs")
    return {k: v for k, v in before.items() if k not in strip} == {k: v for k, v in after.items() if k not in strip} \
        and "inputs" not in before


def _repeat_base(names: list[str]) -> str | None:
    base = names[0].rsplit("_", 1)[0]
    if base and names == [f"{base}_{j}" for j in range(1, len(names) + 1)]:
        return base
    return None
