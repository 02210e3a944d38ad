"""Guard tests: a metric and a layer type added through the public registration API show up in every output.

The fixture registers a throw-away metric `reads` (values read per layer, with the extra total `peak_reads`) and
a throw-away layer type `probe` (a 2 x 2 sum pool, stride 2, whose receptive field is a window) with
`cnncalc.analyzers.register_metric` and `cnncalc.layers.register`, and restores both registries afterwards. Each
test names the output and what it leaves out. Expected values are written here as formulas.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Sequence

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc import conventions
from cnncalc.analyzers import METRICS, ExtraTotal, Metric, peak, register_metric
from cnncalc.cli import app
from cnncalc.geometry import Window, any_below
from cnncalc.layers import REGISTRY, Layer, LayerError, Ops, Shape, numel, register
from cnncalc.layers.base import spatial


@dataclass(frozen=True, slots=True)
class Probe(Layer):
    type_name = "probe"
    rf = "window"
    summary = "2 x 2 sum pool, stride 2 (a throw-away type of tests/test_extensions.py)"
    counting = "3 adds per output element"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        if any_below(h, 2) or any_below(w, 2):
            raise LayerError("probe needs a map of at least 2 x 2")
        return (c, h // 2, w // 2)

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        return Ops(adds=3 * numel(output))

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[Window, Window]:
        return Window(2, 2, 1, 0, 0), Window(2, 2, 1, 0, 0)


READS = Metric("reads", ("reads",), ("reads",), "reads: values a layer reads (every input's elements)",
               lambda node: (sum(numel(shape) for shape in node.input_shapes),),
               extra_totals=(ExtraTotal("peak_reads", "most reads", "reads", peak),))

SPEC = """\
input: [3, 16, 20]
blocks:
  down:
    layers:
      - {name: conv, type: conv, out: 4, kernel: 3, padding: 1}
      - {name: probe, type: probe}
layers:
  - {type: down, name: b1}
  - {name: relu, type: relu}
  - {name: p2, type: probe}
  - {name: gap, type: global_avgpool}
"""
OTHER = SPEC.replace("out: 4", "out: 6")
SIZES = [(16, 20), (24, 24), (9, 30), (1, 8)]
"""For the sweeps; the last is too small for a probe (left out with a diagnostic)."""


@pytest.fixture
def extended():
    saved_layers, saved_metrics = dict(REGISTRY), dict(METRICS)
    try:
        register(Probe)
        register_metric(READS)
        yield
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved_layers)
        METRICS.clear()
        METRICS.update(saved_metrics)


@pytest.fixture
def specs(tmp_path):
    paths = []
    for name, text in (("net.yaml", SPEC), ("wider.yaml", OTHER)):
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    return paths


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"cnncalc {' '.join(args)}: {result.stderr or result.output}"
    return result.stdout


def _absent(where: str, have, *wanted: str) -> None:
    missing = [w for w in wanted if w not in have]
    assert not missing, f"{where} leaves out {missing}"


def _at_size(text: str, h: int, w: int) -> str:
    return re.sub(r"(?m)^input: \[.*\]$", f"input: [3, {h}, {w}]", text)


def _expected_reads(doc: dict) -> dict[str, int]:
    """reads of each layer: the elements of its inputs, from the shapes the document gives."""
    shapes = {"input": doc["input"], **{row["name"]: row["output"] for row in doc["layers"]}}
    product = lambda shape: eval("*".join(map(str, shape)))  # noqa: E731
    return {row["name"]: sum(product(shapes[i]) for i in row["inputs"]) for row in doc["layers"]}


def test_cost_json(extended, specs):
    doc = json.loads(_run("cost", specs[0], "--json"))
    _absent("cost --json `columns`", doc["columns"], "reads")
    _absent("cost --json `totals`", doc["totals"], "reads", "peak_reads")
    _absent("cost --json layer types", [row["type"] for row in doc["layers"]], "probe")
    reads = _expected_reads(doc)
    for row in doc["layers"]:
        _absent(f"cost --json row {row['name']}", row, "reads")
        assert row["reads"] == reads[row["name"]], row["name"]
    assert doc["totals"]["reads"] == sum(reads.values())
    assert doc["totals"]["peak_reads"] == max(reads.values())
    probe = next(row for row in doc["layers"] if row["name"] == "p2")
    assert probe["output"] == [4, 16 // 2 // 2, 20 // 2 // 2]
    assert probe["adds"] == 3 * 4 * 4 * 5


def test_cost_table(extended, specs):
    text = _run("cost", specs[0])
    _absent("cost table", text, "reads", "probe", "p2", "most reads")
    doc = json.loads(_run("cost", specs[0], "--json"))
    assert f"most reads: {doc['totals']['peak_reads']:,}" in text


@pytest.mark.parametrize("convention", conventions.NAMES)
def test_every_convention(extended, specs, convention):
    plain = json.loads(_run("cost", specs[0], "--json"))
    doc = json.loads(_run("cost", specs[0], "--json", "--convention", convention))
    _absent(f"cost --convention {convention} `columns`", doc["columns"], "reads", "params", "macs")
    _absent(f"cost --convention {convention} `totals`", doc["totals"], "reads", "peak_reads")
    assert all(doc["totals"][k] == plain["totals"][k] for k in ("reads", "peak_reads", "params"))
    _absent(f"cost --convention {convention} layer types", [row["type"] for row in doc["layers"]], "probe")
    if convention != conventions.DEFAULT:  # no rule for the new type: named in a diagnostic, never silently 0
        unsupported = [d for d in doc["diagnostics"] if d["code"] == "convention-unsupported"]
        _absent(f"cost --convention {convention} diagnostics", [n for d in unsupported for n in d["layers"]],
                "b1/probe", "p2")
    text = _run("cost", specs[0], "--convention", convention)
    _absent(f"cost --convention {convention} table", text, "reads", "most reads", "probe")


@pytest.mark.parametrize("by", ["type", "block"])
def test_group_by(extended, specs, by):
    doc = json.loads(_run("cost", specs[0], "--json", "--group-by", by))
    reads = _expected_reads(json.loads(_run("cost", specs[0], "--json")))
    _absent(f"--group-by {by} `totals`", doc["totals"], "reads", "peak_reads")
    for group in doc["groups"]:
        _absent(f"--group-by {by} group {group['group']}", group, "reads", "peak_reads")
    groups = {g["group"]: g for g in doc["groups"]}
    if by == "type":
        _absent("--group-by type groups", groups, "probe")
        members = [reads["b1/probe"], reads["p2"]]
        assert groups["probe"]["reads"] == sum(members) and groups["probe"]["peak_reads"] == max(members)
    else:
        members = [reads["b1/conv"], reads["b1/probe"]]
        assert groups["b1"]["reads"] == sum(members) and groups["b1"]["peak_reads"] == max(members)
    text = _run("cost", specs[0], "--group-by", by)
    _absent(f"--group-by {by} table", text, "reads", "most reads")


def test_compare(extended, specs):
    doc = json.loads(_run("compare", *specs, "--json"))
    _absent("compare --json `columns`", doc["columns"], "reads", "peak_reads")
    singles = [json.loads(_run("cost", path, "--json")) for path in specs]
    for spec, single in zip(doc["specs"], singles):
        _absent(f"compare --json totals of {spec['spec']}", spec["totals"], "reads", "peak_reads")
        assert spec["totals"]["reads"] == single["totals"]["reads"]
        assert spec["totals"]["peak_reads"] == single["totals"]["peak_reads"]
    assert doc["specs"][1]["ratio"]["reads"] == singles[1]["totals"]["reads"] / singles[0]["totals"]["reads"]
    _absent("compare --json blocks", doc["blocks"][0]["totals"][0], "reads")
    text = _run("compare", *specs)
    _absent("compare table", text, "reads", "most reads")


@pytest.mark.parametrize("convention", conventions.NAMES)
def test_cost_sweep(extended, specs, convention):
    sizes = ",".join(f"{h}x{w}" for h, w in SIZES)
    doc = json.loads(_run("cost", specs[0], "--input", sizes, "--json", "--convention", convention))
    _absent(f"cost --input --convention {convention} `columns`", doc["columns"], "reads", "peak_reads")
    assert [row["input"] for row in doc["sweep"]] == [[3, h, w] for h, w in SIZES[:-1]]
    assert doc["diagnostics"][0]["inputs"] == [[3, *SIZES[-1]]] and "'b1/probe'" in doc["diagnostics"][0]["message"]
    for row, (h, w) in zip(doc["sweep"], SIZES):
        single = cnncalc.cost_report(cnncalc.load(_at_size(SPEC, h, w)), convention)["totals"]
        _absent(f"cost --input row {h}x{w}", row, *single)
        assert {k: row[k] for k in single} == single, (h, w)


def test_rf_and_rf_sweep(extended, specs):
    doc = json.loads(_run("rf", specs[0], "--json"))
    fields = {row["name"]: row for row in doc["layers"]}
    _absent("rf --json layers", fields, "b1/probe", "p2")
    # conv 3x3 pad 1: size 3, jump 1, padding 1; a 2x2 window of stride 2 after it: size 3 + 1 = 4, jump 2, padding 1
    assert {k: fields["b1/probe"]["rf"]["height"][k] for k in ("size", "jump", "padding")} == \
        {"size": 4, "jump": 2, "padding": 1}
    sweep = json.loads(_run("rf", specs[0], "--input", ",".join(f"{h}x{w}" for h, w in SIZES), "--json"))
    assert sweep["layer"] == "p2"
    for row, (h, w) in zip(sweep["sweep"], SIZES):
        single = next(r for r in cnncalc.rf_report(cnncalc.load(_at_size(SPEC, h, w)))["layers"] if r["name"] == "p2")
        assert row["output"] == single["output"]
        assert row["rf"] == {a: {k: single["rf"][a][k] for k in ("size", "jump", "padding")}
                             for a in ("height", "width")}


@pytest.mark.parametrize("convention", conventions.NAMES)
def test_sweep_table(extended, specs, convention):
    """The sweep table takes its columns from the document, under every convention."""
    result = CliRunner().invoke(app, ["cost", specs[0], "--input", "16x20,24", "--convention", convention])
    assert result.exit_code == 0, f"cost --input --convention {convention} (table) fails: {result.exception!r}"
    _absent(f"cost --input --convention {convention} table", result.stdout, "reads", "most reads")


def test_layers_command(extended):
    text = _run("layers")
    _absent("cnncalc layers", text, "probe", "3 adds per output element", "reads", "peak_reads")
    for convention in conventions.NAMES[1:]:
        text = _run("layers", "--convention", convention)
        _absent(f"cnncalc layers --convention {convention}", text, "probe", "reads", "peak_reads")
        line = next(line for line in text.splitlines() if line.strip().startswith("probe "))
        assert "unsupported" in line, line


@pytest.mark.parametrize("rule,cells", [
    ("backward", ["— not supported by cnncalc cost --training", "— not supported by cnncalc grad"]),
    ("memory", ["—", "— not supported by cnncalc memory"]),
    ("onnx", ["— not supported by cnncalc export"]),
])
def test_layers_command_rules(extended, rule, cells):
    """A plug-in's type appears under every --rule; the rules it does not state show "—" and which command lacks
    them (a type without `backward`, a SAVED entry, an ONNX mapping or a grad rule)."""
    text = _run("layers", "--rule", rule, "--wide")
    row = next(line for line in text.splitlines() if line.strip().startswith("probe "))
    assert row.split()[0] == "probe"
    rest = row[row.index("probe") + len("probe"):]
    assert [cell.strip() for cell in re.split(r"\s{2,}", rest.strip())] == cells


def test_layers_json(extended):
    """The plug-in's type in `cnncalc layers --json`, with None for every rule it does not state."""
    probe = next(t for t in json.loads(_run("layers", "--json"))["types"] if t["type"] == "probe")
    assert probe["rules"] == {"forward": "3 adds per output element", "backward": None, "grad": False,
                              "storage": None, "saves": None, "saves_pytorch": None, "onnx": None}


def test_registries_are_restored():
    assert "probe" not in REGISTRY and "reads" not in METRICS
