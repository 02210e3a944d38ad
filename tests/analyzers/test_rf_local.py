"""The local receptive field through channel gates, against brute-force dependency propagation.

With every per-channel gate taken as a constant, a layer's local field must be the brute force's field
(tests/brute/rf.py, boolean dependency matrices; it shares no code with cnncalc) of the same network with the gate
branches cut off: a `squeeze_excitation` becomes an identity, a `mul` keeps only its map inputs (its C x 1 x 1
inputs, the gates, are dropped). A true global (global pool, flatten, linear) has no local field.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import cnncalc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from analyzers.test_rf_brute import flat_spec  # noqa: E402
from brute import geom  # noqa: E402
from brute import rf as brute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

GATED = """\
input: [3, 40, 36]
layers:
  - {name: c1, type: conv, out: 8, kernel: 3, padding: 1}
  - {name: se, type: squeeze_excitation, squeeze: 2}
  - {name: c2, type: conv, out: 8, kernel: 5, stride: 2, padding: 2, dilation: 1}
  - {name: pool, type: global_avgpool, input: c2}
  - {name: fc, type: conv, out: 8, kernel: 1}
  - {name: gate, type: sigmoid}
  - {name: m, type: mul, inputs: [c2, gate]}
  - {name: c3, type: conv, out: 8, kernel: 3, padding: 2, dilation: 2}
  - {name: skip, type: maxpool, kernel: 3, stride: 2, padding: 1, input: c1}
  - {name: sum, type: add, inputs: [c3, skip]}
  - {name: se2, type: squeeze_excitation, squeeze: 2}
  - {name: c4, type: conv, out: 4, kernel: [3, 1], stride: [1, 2], padding: [1, 0]}
  - {name: head, type: global_avgpool}
  - {name: flat, type: flatten}
  - {name: fc2, type: linear, out: 3}
"""


def gates_cut(spec: dict) -> dict:
    """The network with its gates as constants: squeeze_excitation -> identity, mul -> its map inputs only."""
    shape, _ = geom.shapes(spec)
    layers = []
    for entry in spec["layers"]:
        entry = dict(entry)
        if entry["type"] == "squeeze_excitation":
            entry = {"name": entry["name"], "type": "identity", "inputs": entry["inputs"]}
        elif entry["type"] == "mul":
            maps = [i for i in entry["inputs"] if shape[i] == shape[entry["name"]]]
            entry = {"name": entry["name"], "type": "identity" if len(maps) == 1 else "mul", "inputs": maps}
        layers.append(entry)
    return {"input": spec["input"], "layers": layers}


def check_local_fields(graph: cnncalc.Graph, names=None) -> int:
    spec = flat_spec(graph)
    cut = gates_cut(spec)
    checked = 0
    for row in cnncalc.rf_report(graph)["layers"]:
        if "local" not in row or names is not None and row["name"] not in names:
            continue
        assert row["global"] is True and "rf" not in row
        assert brute.is_global(spec, row["name"])  # the brute force agrees the layer is global with the gate
        for axis, key in ((0, "height"), (1, "width")):
            local = row["local"][key]
            assert (local["size"], local["jump"], local["padding"]) == \
                brute.layer_rf(cut, row["name"], axis, probe=range(-1, 3)), (row["name"], key)
        checked += 1
    return checked


def test_local_fields_of_a_gated_network_equal_the_brute_force_without_gates():
    graph = cnncalc.parse(GATED, "gated.yaml").graph
    assert check_local_fields(graph) == 7  # se, c2, m, c3, sum, se2, c4
    rows = {row["name"]: row for row in cnncalc.rf_report(graph)["layers"]}
    # by hand: c1 3 / 1 / 1; c2 (k5 s2 p2): 3 + 4 = 7, jump 2, padding 1 + 2 = 3; c3 (k3 d2 p2): 7 + 2*4 = 15,
    # padding 3 + 2*2 = 7; skip from c1 (k3 s2 p1): 5 / 2 / 2; their union at jump 2: -7 .. +7 (15 / 2 / 7)
    assert [rows["c3"]["local"]["height"][k] for k in ("size", "jump", "padding")] == [15, 2, 7]
    assert [rows["c4"]["local"]["width"][k] for k in ("size", "jump", "padding")] == [15, 4, 7]
    assert [rows["c4"]["local"]["height"][k] for k in ("size", "jump", "padding")] == [19, 2, 9]
    assert [r["name"] for r in rows.values() if "local" in r] == ["se", "c2", "m", "c3", "sum", "se2", "c4"]
    for name in ("pool", "fc", "gate", "head", "flat", "fc2"):  # a true global, and all after it: no local
        assert rows[name]["global"] is True and "local" not in rows[name], name
    assert rows["c1"]["global"] is False and "local" not in rows["c1"]


@pytest.mark.parametrize("name", ["efficientnet_b0", "mobilenet_v3_large"])
def test_zoo_last_gated_layer_against_the_brute_force(name):
    path = ROOT / "specs" / "zoo" / f"{name}.yaml"
    graph = cnncalc.load(path.read_text(), str(path))
    last = [row["name"] for row in cnncalc.rf_report(graph)["layers"] if "local" in row][-1]
    assert check_local_fields(graph, {last}) == 1


def test_the_table_marks_local_fields_and_explains_the_mark():
    table = cnncalc.parse(GATED, "gated.yaml").rf().renderables()[0]
    assert "* global only through a channel gate" in table.caption
    marked = [row[0] for row in table.rows if str(row[3]).endswith("*")]
    assert marked == ["se", "c2", "m", "c3", "sum", "se2", "c4"]
