"""`call:` under the hook-based conventions: what each form counts, which forms are refused, and the one note.

Expected counts are ptflops 0.7.5's, read from its source (ptflops/pytorch_ops.py): MODULES_MAPPING hooks nn.ReLU
(1 per element) and nn.ReLU's forward calls F.relu, which FUNCTIONAL_MAPPING patches (1 more); F.sigmoid is in
neither; TENSOR_OPS_MAPPING patches only matmul, mm, bmm, addmm, baddbmm, mul and add (as torch.* and Tensor.*), so
`y.relu()` and `torch.relu(y)` count 0, `torch.add(a, b)` counts 1 per output element, `a + b` 0.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from conftest import spec_text

SHAPE = (2, 6, 6)
ELEMENTS = 4 * 6 * 6  # every layer below outputs 4 x 6 x 6
CONV = {"name": "c", "type": "conv", "out": 4, "kernel": 3, "padding": 1, "bias": False}
OTHER = {"name": "d", "type": "conv", "out": 4, "kernel": 1, "input": "input", "bias": False}


def report(layers: list, convention: str = "ptflops") -> dict:
    return cnncalc.cost_report(cnncalc.load(spec_text(SHAPE, layers)), convention)


def macs(layers: list, name: str, convention: str = "ptflops") -> int:
    return next(row["macs"] for row in report(layers, convention)["layers"] if row["name"] == name)


def notes(doc: dict) -> list[dict]:
    return [d for d in doc["diagnostics"] if d["code"] == "convention-call-assumed"]


@pytest.mark.parametrize("call, expected", [(None, 2 * ELEMENTS), ("module", 2 * ELEMENTS),
                                            ("functional", ELEMENTS), ("method", 0)])
def test_ptflops_relu_by_its_call(call, expected):
    relu = {"name": "r", "type": "relu"} | ({"call": call} if call else {})
    assert macs([CONV, relu], "r") == expected


def test_ptflops_fused_activation_called_as_a_method_counts_nothing():
    fused = CONV | {"activation": "relu"}
    conv_macs = ELEMENTS * 2 * 9
    assert macs([fused], "c") == conv_macs + 2 * ELEMENTS
    assert macs([fused | {"call": "method"}], "c") == conv_macs


@pytest.mark.parametrize("layer, call", [({"type": "relu"}, "operator"), ({"type": "add", "inputs": ["c", "d"]},
                                                                          "module"),
                                         ({"type": "mul", "inputs": ["c", "d"]}, "functional"),
                                         ({"type": "upsample", "scale": 2}, "method")])
def test_ptflops_refuses_a_form_it_cannot_see_at_its_position(tmp_path, layer, call):
    path = tmp_path / "net.yaml"
    path.write_text(spec_text(SHAPE, [CONV, OTHER, {"name": "x", **layer, "call": call}]))
    result = CliRunner().invoke(app, ["cost", str(path), "--convention", "ptflops"])
    assert result.exit_code == 2 and result.stdout == ""
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "call:" in text or "'call'" in text
                or '"call"' in text)
    assert result.stderr.startswith(f"{path}:{line}:") and f"`call: {call}`" in result.stderr
    assert "tells apart" in result.stderr
    # the default convention does not read `call:`, and fvcore counts these layer types alike in every form
    assert CliRunner().invoke(app, ["cost", str(path)]).exit_code == 0
    assert CliRunner().invoke(app, ["cost", str(path), "--convention", "fvcore"]).exit_code == 0


def test_fvcore_refuses_an_operator_global_pool_and_counts_a_method_relu_as_always():
    with pytest.raises(cnncalc.SpecError, match="fvcore has no rule for global_avgpool called as `call: operator`"):
        report([CONV, {"name": "g", "type": "global_avgpool", "call": "operator"}], "fvcore")
    assert macs([CONV, {"name": "r", "type": "relu", "call": "method"}], "r", "fvcore") == 0


def test_no_note_where_every_form_counts_alike():
    plain = [CONV, {"name": "s", "type": "sigmoid"}, {"name": "h", "type": "hardsigmoid"}]
    assert notes(report(plain)) == []  # ptflops counts sigmoid 0 as a module, F.sigmoid and x.sigmoid()
    assert notes(report([CONV])) == []  # no fused activation: the conv's call changes nothing
    assert notes(report([CONV, {"name": "r", "type": "relu"}], "torchvision")) == []
    marked = [CONV, {"name": "r", "type": "relu", "call": "functional"}]
    assert notes(report(marked)) == []


def test_one_note_names_every_layer_and_the_forms_that_change_the_count():
    layers = [CONV, {"name": "r1", "type": "relu"}, OTHER, {"name": "r2", "type": "relu", "input": "d"},
              {"name": "a", "type": "add", "inputs": ["r1", "r2"]}, {"name": "m", "type": "mul", "inputs": ["a", "c"]},
              {"name": "p", "type": "maxpool", "kernel": 2}, {"name": "s", "type": "sigmoid"}]
    doc = report(layers)
    [note] = notes(doc)
    assert note["layers"] == ["r1", "r2", "a", "m", "p"]
    assert {t["type"]: (t["assumed"], t["changes_with"], t["layers"]) for t in note["types"]} == {
        "relu": ("module", ["functional", "method"], ["r1", "r2"]),
        "add": ("operator", ["method"], ["a"]),
        "mul": ("operator", ["method"], ["m"]),
        "maxpool": ("module", ["functional", "method"], ["p"]),
    }
    assert "call: functional` or `call: method` would count otherwise" in note["message"]
    add_part = note["message"].split("add (1 layer)")[1].split(";")[0]
    assert "functional" not in add_part and "`call: method`" in add_part
    table = cnncalc.parse(spec_text(SHAPE, layers)).cost("ptflops").renderables()
    assert sum("by how PyTorch calls them" in str(item) for item in table) == 1
