"""Formula tables: every layer type on a small input, expected values written as formulas from the convention."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.layers import REGISTRY
from conftest import spec_text

# (layer entry, input shape, expected output shape, expected counts written as formulas)
# Counts not named are expected to be 0.
CASES = [
    ({"type": "conv", "out": 8, "kernel": 3, "padding": 1}, (4, 10, 12), (8, 10, 12),
     dict(params=8 * 4 * 3 * 3 + 8, mults=8 * 10 * 12 * (4 * 3 * 3), adds=8 * 10 * 12 * (4 * 3 * 3),
          macs=8 * 10 * 12 * (4 * 3 * 3))),
    ({"type": "conv", "out": 6, "kernel": [3, 5], "stride": 2, "bias": False, "activation": "relu"}, (2, 11, 13),
     ((6, (11 - 3) // 2 + 1, (13 - 5) // 2 + 1)),
     dict(params=6 * 2 * 3 * 5, mults=6 * 5 * 5 * (2 * 15), adds=6 * 5 * 5 * (2 * 15 - 1), macs=6 * 5 * 5 * 30,
          activations=6 * 5 * 5)),
    ({"type": "conv", "out": 8, "kernel": 3, "groups": 4, "dilation": 2, "padding": [2, 1]}, (4, 9, 9),
     (8, 9 + 4 - 5 + 1, 9 + 2 - 5 + 1),
     dict(params=8 * (4 // 4) * 9 + 8, mults=8 * 9 * 7 * 9, adds=8 * 9 * 7 * 9, macs=8 * 9 * 7 * 9)),
    ({"type": "conv", "out": 3, "kernel": 3, "stride": 2, "padding": "same"}, (1, 7, 8), (3, 4, 4),
     dict(params=3 * 9 + 3, mults=3 * 16 * 9, adds=3 * 16 * 9, macs=3 * 16 * 9)),
    # `half`: dilation*(kernel-1)//2 on each side: 2*(3-1)//2 = 2 rows, (5-1)//2 = 2 cols; 8 + 4 - 5 + 1 = 8
    ({"type": "conv", "out": 2, "kernel": [3, 5], "dilation": [2, 1], "padding": "half"}, (1, 8, 7), (2, 8, 7),
     dict(params=2 * 15 + 2, mults=2 * 8 * 7 * 15, adds=2 * 8 * 7 * 15, macs=2 * 8 * 7 * 15)),
    # stride 2, even input: half pads 1 and 1 -> floor((8 + 2 - 3) / 2) + 1 = 4 (same: ceil(8/2) = 4 as well)
    ({"type": "maxpool", "kernel": 3, "stride": 2, "padding": "half"}, (1, 8, 8), (1, 4, 4),
     dict(comparisons=16 * 8)),
    ({"type": "conv", "out": 2, "kernel": 3, "padding": [0, 1, 2, 3]}, (1, 5, 5), (2, 5 + 1 - 2, 5 + 5 - 2),
     dict(params=2 * 9 + 2, mults=2 * 4 * 8 * 9, adds=2 * 4 * 8 * 9, macs=2 * 4 * 8 * 9)),
    ({"type": "conv_transpose", "out": 4, "kernel": 2, "stride": 2}, (3, 5, 6), (4, 10, 12),
     dict(params=3 * 4 * 4 + 4, mults=3 * 5 * 6 * 4 * 4, adds=3 * 5 * 6 * 4 * 4, macs=3 * 5 * 6 * 4 * 4)),
    ({"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1,
      "bias": False}, (2, 4, 4), (2, (4 - 1) * 2 - 2 + 3 + 1, (4 - 1) * 2 - 2 + 3 + 1),
     dict(params=2 * 2 * 9, mults=2 * 16 * 2 * 9, adds=2 * 16 * 2 * 9, macs=2 * 16 * 2 * 9)),
    ({"type": "linear", "out": 10}, (4, 3, 3), (10,),
     dict(params=36 * 10 + 10, mults=10 * 36, adds=10 * 36, macs=360)),
    ({"type": "linear", "out": 5, "bias": False, "activation": "sigmoid"}, (7,), (5,),
     dict(params=35, mults=35, adds=5 * 6, macs=35, activations=5)),
    ({"type": "maxpool", "kernel": 2}, (3, 8, 9), (3, 4, 4), dict(comparisons=3 * 4 * 4 * 3)),
    ({"type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True}, (1, 8, 8), (1, 4, 4),
     dict(comparisons=16 * 8)),
    ({"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 5, 5), (1, 3, 3),
     dict(comparisons=9 * 8)),
    ({"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1}, (2, 5, 5), (2, 5, 5),
     dict(adds=50 * 8, mults=50)),
    ({"type": "adaptive_avgpool", "output_size": 2}, (2, 4, 6), (2, 2, 2),
     dict(adds=2 * 4 * (2 * 3 - 1), mults=8)),
    # 5 rows into 3: windows [0,2), [1,4), [3,5) -> heights 2, 3, 2 (PyTorch's floor/ceil rule)
    ({"type": "adaptive_avgpool", "output_size": [3, 1]}, (1, 5, 2), (1, 3, 1),
     dict(adds=(2 * 2 - 1) + (3 * 2 - 1) + (2 * 2 - 1), mults=3)),
    ({"type": "adaptive_maxpool", "output_size": [3, 1]}, (1, 5, 2), (1, 3, 1),
     dict(comparisons=(2 * 2 - 1) + (3 * 2 - 1) + (2 * 2 - 1))),
    ({"type": "global_avgpool"}, (5, 3, 4), (5, 1, 1), dict(adds=5 * 11, mults=5)),
    ({"type": "global_maxpool"}, (5, 3, 4), (5, 1, 1), dict(comparisons=5 * 11)),
    ({"type": "batchnorm"}, (6, 2, 3), (6, 2, 3), dict(params=12, buffers=12, mults=36, adds=36)),
    ({"type": "lrn", "size": 5}, (8, 2, 2), (8, 2, 2), dict(mults=32 * 7, adds=32 * 5, activations=32)),
    ({"type": "flatten"}, (3, 4, 5), (60,), {}),
    ({"type": "dropout", "p": 0.2}, (3, 4, 5), (3, 4, 5), {}),
    ({"type": "identity"}, (3, 4, 5), (3, 4, 5), {}),
    ({"type": "channel_shuffle", "groups": 3}, (6, 4, 5), (6, 4, 5), {}),
    ({"type": "pad", "padding": [1, 2, 3, 4]}, (2, 4, 5), (2, 4 + 3, 5 + 7), {}),
    ({"type": "upsample", "scale": 2}, (2, 3, 4), (2, 6, 8), {}),
    # C=6, squeeze 2, 3x4 map: average (11 adds + 1 mult per channel), two 1x1 convs with bias, 2 + 6 activations,
    # the product (1 mult per element)
    ({"type": "squeeze_excitation", "squeeze": 2}, (6, 3, 4), (6, 3, 4),
     dict(params=6 * 2 + 2 + 2 * 6 + 6, mults=6 + 12 + 12 + 72, adds=6 * 11 + 12 + 12, activations=2 + 6,
          macs=2 * 6 * 2)),
    ({"type": "upsample", "size": [5, 7], "mode": "bilinear"}, (2, 3, 4), (2, 5, 7),
     dict(mults=4 * 2 * 35, adds=3 * 2 * 35)),
    ({"type": "leaky_relu", "slope": 0.1}, (2, 3, 3), (2, 3, 3), dict(activations=18)),
] + [({"type": name}, (2, 3, 5), (2, 3, 5), dict(activations=30))
     for name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid", "softmax")]

COUNTS = ("params", "buffers", "mults", "adds", "comparisons", "activations", "macs")


def _row(entry: dict, shape: tuple[int, ...]) -> dict:
    doc = cnncalc.cost_report(cnncalc.load(spec_text(shape, [{"name": "x", **entry}])))
    return doc["layers"][0]


@pytest.mark.parametrize("entry, shape, output, expected", CASES,
                         ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(CASES)])
def test_single_layer(entry, shape, output, expected):
    row = _row(entry, shape)
    assert tuple(row["output"]) == output
    assert {k: row[k] for k in COUNTS} == {k: expected.get(k, 0) for k in COUNTS}
    assert all(type(row[k]) is int for k in COUNTS)


# Layers with several inputs: (entries after the input, expected row of the last entry).
MERGES = [
    ([{"name": "a", "type": "conv", "out": 3, "kernel": 1}, {"name": "b", "type": "conv", "out": 5, "kernel": 1,
      "input": "input"}, {"name": "x", "type": "concat", "inputs": ["a", "b"]}], (8, 6, 7), {}),
    ([{"name": "a", "type": "identity"}, {"name": "b", "type": "identity", "input": "input"},
      {"name": "c", "type": "identity", "input": "input"}, {"name": "x", "type": "add", "inputs": ["a", "b", "c"]}],
     (4, 6, 7), dict(adds=2 * 4 * 6 * 7)),
    ([{"name": "g", "type": "global_avgpool"}, {"name": "x", "type": "mul", "inputs": ["input", "g"]}],
     (4, 6, 7), dict(mults=4 * 6 * 7)),
]


@pytest.mark.parametrize("entries, shape, expected", MERGES, ids=["concat", "add3", "mul-broadcast"])
def test_merge_layers(entries, shape, expected):
    doc = cnncalc.cost_report(cnncalc.load(spec_text(shape, entries)))
    row = doc["layers"][-1]
    assert {k: row[k] for k in COUNTS} == {k: expected.get(k, 0) for k in COUNTS}
    if row["type"] == "concat":
        assert row["output"] == [8, 6, 7]


def test_split_outputs_are_addressable():
    text = spec_text((6, 4, 4), [{"name": "s", "type": "split", "sizes": [2, 4]},
                                 {"name": "a", "type": "relu", "input": "s.1"},
                                 {"name": "x", "type": "concat", "inputs": ["s.0", "a"]}])
    doc = cnncalc.cost_report(cnncalc.load(text))
    rows = {r["name"]: r for r in doc["layers"]}
    assert rows["s"]["output"] == [[2, 4, 4], [4, 4, 4]]
    assert rows["a"]["output"] == [4, 4, 4] and rows["a"]["activations"] == 4 * 16
    assert rows["x"]["inputs"] == ["s.0", "a"] and rows["x"]["output"] == [6, 4, 4]


def test_split_that_ends_a_block_is_addressed_through_the_instance():
    """The hint for a block instance whose output is a split names `h.0 .. h.1`, and those names work."""
    head = ("input: [6, 4, 4]\nblocks:\n  halves:\n    layers:\n      - {type: split, sizes: [2, 4]}\n"
            "layers:\n  - {name: h, type: halves}\n")
    with pytest.raises(cnncalc.SpecError) as caught:
        cnncalc.load(head + "  - {name: a, type: relu, input: h}\n")
    assert caught.value.hint == "write h.0 .. h.1"
    doc = cnncalc.cost_report(cnncalc.load(head + "  - {name: a, type: relu, input: h.1}\n"
                                                  "  - {name: x, type: concat, inputs: [h.0, a]}\n"))
    rows = {r["name"]: r for r in doc["layers"]}
    assert rows["a"]["output"] == [4, 4, 4] and rows["x"]["output"] == [6, 4, 4]


def test_every_layer_type_has_a_formula_case():
    covered = {c[0]["type"] for c in CASES} | {e["type"] for m in MERGES for e in m[0]} | {"split"}
    assert covered == set(REGISTRY)


def test_huge_counts_stay_exact_python_ints():
    c = 10 ** 6
    row = _row({"type": "conv", "out": c, "kernel": 3, "padding": 1}, (c, 10 ** 5, 10 ** 5))
    assert row["mults"] == c * 10 ** 10 * c * 9
    assert row["params"] == c * c * 9 + c
