"""Sweeps over input sizes (cnncalc.sweep, `--input`): every row must equal a separate single analysis of the spec
with that input size written into its YAML; invalid sizes are left out with one diagnostic."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

import cnncalc
from cnncalc.analyzers.rf import dependencies_at
from cnncalc.sweep import MAX_SIZES, cost_sweep, load_for_sweep, parse_sizes, rf_sweep

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "specs" / "zoo"

# Sizes with odd, tiny (invalid for most networks), non-square and large entries.
SIZES = "8,17,32,63,96x160,129,224,299x256,331"
SPECS = ["resnet18", "googlenet", "inception_v3", "squeezenet1_0", "efficientnet_b0", "alexnet"] + sorted(
    p.stem for p in ZOO.glob("slim_*.yaml"))


@lru_cache(maxsize=None)
def _text(name: str) -> str:
    return (ZOO / f"{name}.yaml").read_text()


def _at_size(name: str, channels: int, h: int, w: int) -> str:
    """The spec's YAML with its `input:` line rewritten: what a user would analyse for one size."""
    text, count = re.subn(r"(?m)^input: \[.*\]$", f"input: [{channels}, {h}, {w}]", _text(name))
    assert count == 1
    return text


def _single(name: str, channels: int, h: int, w: int):
    """(cost document, rf document) of one ordinary analysis, or the SpecError it raises."""
    try:
        graph = cnncalc.load(_at_size(name, channels, h, w), f"{name}.yaml")
    except cnncalc.SpecError as exc:
        return exc
    return cnncalc.cost_report(graph), cnncalc.rf_report(graph), graph


def _covers(axis: dict, count: int, extent: int, exact=None) -> tuple[bool, bool]:
    """(every output index, some output index) whose unclipped bounds contain 0 .. extent-1, index by index.
    `exact(i)`: the bounds of index i, for a field that is not a sliding window (no formula in the document)."""
    if "per_index" in axis:
        lower = lambda i: exact(i)[0]  # noqa: E731
        upper = lambda i: exact(i)[1]  # noqa: E731
    elif "lower" in axis:
        lower = lambda i: min(s * i + lo for s, lo in axis["lower"])  # noqa: E731
        upper = lambda i: max(s * i + hi for s, hi in axis["upper"])  # noqa: E731
    else:
        lower = lambda i: axis["jump"] * i - axis["padding"]  # noqa: E731
        upper = lambda i: lower(i) + axis["size"] - 1  # noqa: E731
    hits = [lower(i) <= 0 and upper(i) >= extent - 1 for i in range(count)]
    return bool(hits) and all(hits), any(hits)


@pytest.mark.parametrize("name", SPECS)
def test_every_row_equals_a_single_analysis(name):
    sizes = parse_sizes(SIZES)
    graph = load_for_sweep(_text(name), f"{name}.yaml", sizes)
    channels = graph.input[0]
    cost, rf = cost_sweep(graph, sizes), rf_sweep(graph, sizes)
    cost_rows = {tuple(row["input"]): row for row in cost["sweep"]}
    rf_rows = {tuple(row["input"]): row for row in rf["sweep"]}
    invalid = []
    for h, w in sizes:
        key = (channels, h, w)
        single = _single(name, channels, h, w)
        if isinstance(single, cnncalc.SpecError):
            assert key not in cost_rows and key not in rf_rows, f"{key} is invalid: {single.message}"
            invalid.append(list(key))
            continue
        cost_doc, rf_doc, single_graph = single
        row = cost_rows[key]
        for column in cost["columns"]:
            assert row[column] == cost_doc["totals"][column], (key, column)
        # The receptive field of the last spatial layer, and whether it covers the image.
        entry = next(r for r in rf_doc["layers"] if r["name"] == rf["layer"])
        got = rf_rows[key]
        assert got["output"] == entry["output"]
        covers, some = True, True
        for axis, key_name in ((0, "height"), (1, "width")):
            expected = entry["rf"][key_name]
            assert got["rf"][key_name] == {k: expected[k] for k in ("size", "jump", "padding")}, (key, key_name)
            node = single_graph.find(rf["layer"])
            exact = lambda i, a=axis: dependencies_at(single_graph, node, (i, 0) if a == 0 else (0, i))[  # noqa
                ("rows", "cols")[a]]
            every, any_ = _covers(expected, entry["output"][1 + axis], (h, w)[axis], exact)
            covers &= every
            some &= any_
        assert (got["covers"], got["covers_some"]) == (covers, some), key
    # The layer is the last one whose field is spatial.
    spatial = [r["name"] for r in rf_doc["layers"] if not r["global"]]
    assert rf["layer"] == spatial[-1]
    if invalid:
        (diagnostic,) = cost["diagnostics"]
        assert diagnostic["code"] == "sweep-invalid-input" and diagnostic["inputs"] == invalid
        first = _single(name, *invalid[0])
        assert "x".join(map(str, invalid[0])) in diagnostic["message"] and first.message in diagnostic["message"]
        assert rf["diagnostics"] == cost["diagnostics"]
    else:
        assert cost["diagnostics"] == [] == rf["diagnostics"]


def test_stops_covering_at():
    sizes = parse_sizes("32:1024:32")
    doc = rf_sweep(load_for_sweep(_text("resnet18"), "resnet18.yaml", sizes), sizes)
    flags = [row["covers"] for row in doc["sweep"]]
    first_off = next(i for i in range(len(flags)) if not any(flags[i:]))
    assert doc["stops_covering_at"] == doc["sweep"][first_off]["input"]
    assert flags[0] and not flags[-1]


def test_not_a_sliding_window_goes_size_by_size():
    """unet_small upsamples: its receptive fields are tables per index; the rows still equal single analyses, and
    sizes that do not halve evenly three times make its skip concats disagree."""
    text = (ROOT / "specs/zoo/unet_small.yaml").read_text()
    sizes = parse_sizes("16,24x32,36,18,40")
    graph = load_for_sweep(text, "unet_small.yaml", sizes)
    cost, rf = cost_sweep(graph, sizes), rf_sweep(graph, sizes)
    assert [row["input"] for row in cost["sweep"]] == [[1, 16, 16], [1, 24, 32], [1, 40, 40]]
    (diagnostic,) = cost["diagnostics"]
    assert diagnostic["inputs"] == [[1, 36, 36], [1, 18, 18]] and diagnostic["layers"] == ["cat2", "cat3"]
    assert "1x36x36" in diagnostic["message"] and "'cat3'" in diagnostic["message"]
    for row, rf_row in zip(cost["sweep"], rf["sweep"]):
        c, h, w = row["input"]
        single = cnncalc.load(re.sub(r"(?m)^input: \[.*\]$", f"input: [{c}, {h}, {w}]", text))
        totals = cnncalc.cost_report(single)["totals"]
        assert all(row[k] == totals[k] for k in cost["columns"])
        entry = next(r for r in cnncalc.rf_report(single)["layers"] if r["name"] == rf["layer"])
        assert rf_row["rf"] == {a: {k: entry["rf"][a][k] for k in ("size", "jump", "padding")}
                                for a in ("height", "width")}
        node = single.find(rf["layer"])
        rows = [dependencies_at(single, node, (i, 0))["rows"] for i in range(node.output[1])]
        cols = [dependencies_at(single, node, (0, j))["cols"] for j in range(node.output[2])]
        row_hits = [lo <= 0 and hi >= h - 1 for lo, hi in rows]
        col_hits = [lo <= 0 and hi >= w - 1 for lo, hi in cols]
        assert rf_row["covers"] == (all(row_hits) and all(col_hits))
        assert rf_row["covers_some"] == (any(row_hits) and any(col_hits))


def test_huge_sizes_stay_exact():
    """Past int64's comfort the sweep computes with Python ints: still equal to a single analysis."""
    big = 3 << 40
    sizes = [(224, 224), (big, big + 7)]
    graph = load_for_sweep(_text("resnet18"), "resnet18.yaml", sizes)
    row = cost_sweep(graph, sizes)["sweep"][1]
    totals = cnncalc.cost_report(cnncalc.load(_at_size("resnet18", 3, big, big + 7)))["totals"]
    assert row["macs"] == totals["macs"] > 2 ** 63 and row["peak_activation_elements"] == \
        totals["peak_activation_elements"]


def test_parse_sizes():
    assert parse_sizes("224,320,448,640") == [(224, 224), (320, 320), (448, 448), (640, 640)]
    assert parse_sizes("32:1024:32")[-1] == (1024, 1024) and len(parse_sizes("32:1024:32")) == 32
    assert parse_sizes("32:100:32") == [(32, 32), (64, 64), (96, 96)]
    assert parse_sizes("5:7") == [(5, 5), (6, 6), (7, 7)]
    assert parse_sizes(" 224x320 , 8X9") == [(224, 320), (8, 9)]
    for bad in ("", "224,", "0", "a", "10:5", "1:2:0", "3x", "-4", "2.5", f"1:{MAX_SIZES + 1}"):
        with pytest.raises(cnncalc.SpecError):
            parse_sizes(bad)


def test_command_line(tmp_path):
    from typer.testing import CliRunner

    from cnncalc.cli import app
    spec = str(ZOO / "alexnet.yaml")
    runner = CliRunner()
    result = runner.invoke(app, ["cost", spec, "--input", "16,224,224x300", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [row["input"] for row in doc["sweep"]] == [[3, 224, 224], [3, 224, 300]]
    assert doc["diagnostics"][0]["inputs"] == [[3, 16, 16]]
    table = runner.invoke(app, ["rf", spec, "--input", "64:256:64"])
    assert table.exit_code == 0 and "3x256x256" in table.stdout and "covers image" in table.stdout
    for args in (["cost", spec, "--input", "8"], ["cost", spec, "--input", "x"],
                 ["rf", spec, "--input", "224,256", "--at", "0,0"], ["cost", spec, "--input", "224:256", "--group-by", "type"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "error:" in result.stderr, args
    flat = tmp_path / "mlp.yaml"
    flat.write_text("input: [784]\nlayers:\n  - {type: linear, out: 10}\n")
    result = runner.invoke(app, ["cost", str(flat), "--input", "32"])
    assert result.exit_code == 2 and "C x H x W" in result.stderr


@pytest.fixture
def register_layer():
    """`cnncalc.layers.register` for a throw-away layer type; the registry is restored afterwards."""
    from cnncalc.layers import REGISTRY, register
    saved = dict(REGISTRY)
    yield register
    REGISTRY.clear()
    REGISTRY.update(saved)


def _halving(name: str, declared: bool):
    """A layer type halving H and W (rounding up) with `range`, which takes ints only: over a sweep's arrays it
    either says so with a LayerError (`declared`) or fails with Python's own TypeError (a bug)."""
    from dataclasses import dataclass

    from cnncalc.layers import Layer, LayerError

    @dataclass(frozen=True, slots=True)
    class Halve(Layer):
        type_name = name
        rf = "identity"

        def output_shape(self, inputs):
            c, h, w = inputs[0]
            if declared and not (type(h) is int and type(w) is int):
                raise LayerError("halve takes one size at a time")
            return (c, len(range(0, h, 2)), len(range(0, w, 2)))
    return Halve


def test_a_declared_layer_error_goes_size_by_size(register_layer):
    register_layer(_halving("halve_declared", True))
    sizes = [(8, 8), (9, 12), (1, 5)]
    graph = load_for_sweep("input: [2, 8, 8]\nlayers:\n  - {type: halve_declared}\n", "t.yaml", sizes)
    rows = cost_sweep(graph, sizes)["sweep"]
    assert [row["activation_elements"] for row in rows] == [2 * -(-h // 2) * -(-w // 2) for h, w in sizes]


def test_a_layer_bug_surfaces_in_a_sweep(register_layer):
    """No broad fallback: an error other than LayerError is a bug in the layer's rule, and it is raised."""
    register_layer(_halving("halve_buggy", False))
    sizes = [(8, 8), (9, 12)]
    graph = load_for_sweep("input: [2, 8, 8]\nlayers:\n  - {type: halve_buggy}\n", "t.yaml", sizes)
    with pytest.raises(TypeError):
        cost_sweep(graph, sizes)
    with pytest.raises(TypeError):
        rf_sweep(graph, sizes)
