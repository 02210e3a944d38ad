"""Receptive fields of real networks and of upsampling layers against brute-force dependency propagation
(tests/brute/rf.py: boolean dependency matrices propagated layer by layer with numpy, sharing no formula with
cnncalc)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.geometry import Padding

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from brute import rf as brute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def flat_spec(graph: cnncalc.Graph) -> dict:
    """The graph as a flat spec dict for the brute force: blocks expanded, every attribute explicit."""
    layers = []
    for node in graph.layers:
        entry = {"name": node.name, "type": node.type,
                 "inputs": [graph.nodes[i].name for i, _ in node.inputs]}
        for field in dataclasses.fields(node.layer):
            value = getattr(node.layer, field.name)
            if value is None:
                continue
            if isinstance(value, Padding):
                value = value.mode if value.mode != "explicit" else [value.top, value.bottom, value.left,
                                                                     value.right]
            entry[field.name] = list(value) if isinstance(value, tuple) else value
        layers.append(entry)
    return {"input": list(graph.input), "layers": layers}


def _zoo(name: str) -> cnncalc.Graph:
    path = ROOT / "specs" / "zoo" / f"{name}.yaml"
    return cnncalc.load(path.read_text(), str(path))


@pytest.mark.parametrize("name, layer", [("resnet50", "layer4_2/relu3"), ("resnet50", "layer2_3/add"),
                                         ("vgg16", "pool5"), ("slim_resnet_v1_50", "block3")])
def test_zoo_receptive_fields_against_dependency_propagation(name, layer):
    graph = _zoo(name)
    spec = flat_spec(graph)
    row = next(r for r in cnncalc.rf_report(graph)["layers"] if r["name"] == layer)
    for axis, key in ((0, "height"), (1, "width")):
        expected = brute.layer_rf(spec, layer, axis, probe=range(-1, 3))
        rf = row["rf"][key]
        assert (rf["size"], rf["jump"], rf["padding"]) == expected


def test_resnet50_layer4_clipped_bounds_against_dependency_propagation():
    graph = _zoo("resnet50")
    spec = flat_spec(graph)
    deps = brute.forward_deps(spec)
    layer = "layer4_2/relu3"
    for index in [(0, 0), (3, 6), (6, 6)]:
        at = cnncalc.rf_report(graph, layer=layer, at=index)["at"]
        rows, cols = brute.clipped_bounds_forward(deps, layer, *index)
        assert (at["rows_clipped"], at["cols_clipped"]) == (list(rows), list(cols))
    # published: 427 / 32 / 213, so output 0 reads -213 .. 213 and the image clips it to 0 .. 213
    assert cnncalc.rf_report(graph, layer=layer, at=(0, 0))["at"]["rows"] == [-213, 213]


@st.composite
def resampling_specs(draw):
    """A small encoder-decoder: convs and pools, an upsample or transposed conv, maybe a skip concat."""
    size = draw(st.integers(6, 14))
    layers = [{"name": "e1", "type": "conv", "out": 2, "kernel": draw(st.sampled_from([1, 3])),
               "padding": draw(st.integers(0, 1))}]
    layers.append({"name": "down", "type": "maxpool", "kernel": 2})
    kind = draw(st.sampled_from(["nearest", "bilinear", "transpose"]))
    if kind == "transpose":
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 3))
        layers.append({"name": "up", "type": "conv_transpose", "out": 2, "kernel": k, "stride": s,
                       "padding": draw(st.integers(0, (k - 1) // 2)),
                       "output_padding": draw(st.integers(0, max(s - 1, 0))),
                       "dilation": draw(st.integers(1, 2)) if s > 1 else 1})
    else:
        layers.append({"name": "up", "type": "upsample", "scale": draw(st.integers(2, 3)), "mode": kind})
    layers.append({"name": "d1", "type": "conv", "out": 2, "kernel": draw(st.sampled_from([1, 3])),
                   "padding": draw(st.integers(0, 1)), "dilation": draw(st.integers(1, 2))})
    return {"input": [1, size, size + draw(st.integers(0, 3))], "layers": layers}


@settings(max_examples=int(os.environ.get("CNNCALC_PROPERTY_EXAMPLES", 60)))
@given(resampling_specs(), st.data())
def test_resampling_layers_clipped_bounds_against_dependency_propagation(spec, data):
    try:
        graph = cnncalc.load(yaml.safe_dump(spec), "gen.yaml")
    except cnncalc.SpecError as exc:
        assert "larger than the padded input" in exc.message or "crops the whole output" in exc.message
        return  # a map shrank to nothing: the error path has its own tests
    deps = brute.forward_deps(spec)
    last = graph.layers[-1]
    assert [list(n.output[1:]) for n in graph.layers] == [_spatial(deps, n.name) for n in graph.layers]
    i = data.draw(st.integers(0, last.output[1] - 1))
    j = data.draw(st.integers(0, last.output[2] - 1))
    at = cnncalc.rf_report(graph, at=(i, j))["at"]
    rows, cols = brute.clipped_bounds_forward(deps, last.name, i, j)
    assert at["rows_clipped"] == (list(rows) if rows else None)
    assert at["cols_clipped"] == (list(cols) if cols else None)
    # the positions themselves, as runs [first, last]: the gaps are the holes of strides and dilations
    for key, dep in (("rows_inside", deps[last.name][0][i]), ("cols_inside", deps[last.name][1][j])):
        assert [p for first, end in at[key] for p in range(first, end + 1)] == np.nonzero(dep)[0].tolist()
        assert all(b[0] > a[1] + 1 for a, b in zip(at[key], at[key][1:]))  # runs are maximal
    # the per-index table of the last layer holds the same clipped bounds where it is inside the image
    table = cnncalc.rf_report(graph)["layers"][-1]["rf"]["height"]
    assert table["per_index"]


def _spatial(deps, name):
    rows, cols = deps[name]
    return [rows.shape[0], cols.shape[0]]
