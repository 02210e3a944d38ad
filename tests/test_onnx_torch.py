"""ONNX files written by PyTorch's own exporter and by tf2onnx, read by cnncalc, against what torch and Keras
measured (issue 12).

tests/data/onnx/*.onnx and the expected figures in tests/data/onnx/torch_figures.json were made by
scripts/export_torch_onnx.py (torch 2.14.1, torchvision 0.29.1): small torchvision models exported in eval mode at
batch 1 by `torch.onnx.export` (TorchScript exporter, opset 17, batchnorm after a conv folded into it; two also by
the dynamo exporter; one untrained, whose equal folded biases the exporter stores once). Every expected value
comes from that JSON, measured with torch on the module (never from cnncalc): the parameters and buffers of the
module with its batchnorms fused (torch.fx), FlopCounterMode's FLOPs / 2 as MACs, the output shape, and the last
feature map and its stride seen by forward hooks. The full-size ResNet-50 and MobileNet-V2 files are not committed
(100 MB); their torch figures (torch_full_figures.json) are checked against the zoo's specs here, which ties the
README's table to torch. keras_tiny*.onnx and keras_figures.json were made by scripts/export_keras_onnx.py
(tensorflow-cpu 2.21, tf2onnx 1.17), its figures read from Keras' own layer shapes and count_params()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app

pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install 'cnncalc[onnx]')")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "onnx"
TORCH = json.loads((DATA / "torch_figures.json").read_text())["networks"]
KERAS = json.loads((DATA / "keras_figures.json").read_text())["networks"]
FULL = json.loads((DATA / "torch_full_figures.json").read_text())
NETWORKS = {**TORCH, **KERAS}
FILES = [(file, name) for name, network in NETWORKS.items() for file in network["exports"]]


def test_every_committed_file_has_figures() -> None:
    assert sorted(path.name for path in DATA.glob("*.onnx")) == sorted(file for file, _ in FILES)


@pytest.mark.parametrize(("file", "name"), FILES, ids=[file for file, _ in FILES])
def test_imported_costs_are_the_measured(file: str, name: str) -> None:
    measured = NETWORKS[name]
    doc = cnncalc.read(DATA / file).cost().to_json()
    assert doc["input"] == measured["input"]
    totals = doc["totals"]
    assert (totals["params"], totals["buffers"], totals["macs"]) == (measured["params"], measured["buffers"],
                                                                     measured["macs"])
    read = {ref.rsplit(".", 1)[0] if ref.rsplit(".", 1)[-1].isdigit() else ref  # chunk K of a split: NAME.K
            for layer in doc["layers"] for ref in layer["inputs"]}
    assert [layer["output"] for layer in doc["layers"] if layer["name"] not in read] == [measured["output_shape"][1:]]
    assert not doc["diagnostics"]


@pytest.mark.parametrize(("file", "name"), FILES, ids=[file for file, _ in FILES])
def test_receptive_field_jump_is_the_feature_stride(file: str, name: str) -> None:
    """The last map larger than 1x1 is the one torch (or Keras) saw, and its field's jump is the input side over the map's side (behind
    squeeze-and-excitation gates the field is global, and its `local` part, the gates taken as constants, has it)."""
    measured = NETWORKS[name]
    layers = cnncalc.read(DATA / file).rf().to_json()["layers"]
    last = [layer for layer in layers if len(layer["output"]) == 3 and layer["output"][1:] != [1, 1]][-1]
    assert last["output"] == measured["last_map"]
    field = last["rf"] if "rf" in last else last["local"]
    for axis in ("height", "width"):
        assert field[axis]["jump"] == measured["feature_stride"]
        assert field[axis]["size"] > measured["feature_stride"]


def test_folding_is_the_whole_difference_from_the_module() -> None:
    """The exported graph has the module's parameters less one of batchnorm's two per channel where it follows a
    conv (its weight and bias become the conv's bias), and none of those batchnorms' running statistics."""
    for network in TORCH.values():
        folded_channels = network["module_buffers"] // 2 - network["buffers"] // 2
        assert network["params"] == network["module_params"] - folded_channels
        trained = [e for e in network["exports"].values() if e["trained"] and e["exporter"] == "torchscript"]
        assert [e["initializer_elements"] for e in trained] == [network["params"] + network["buffers"]]


def test_untrained_export_stores_fewer_weights_than_it_has() -> None:
    """An untrained model's folded biases are all 0: the exporter stores one tensor per shape and renames it with
    Identity nodes. cnncalc counts the graph's convolutions, each with its own bias, as torch counts the module."""
    network = TORCH["mobilenet_v3_small_w025"]
    untrained = network["exports"]["mobilenet_v3_small_w025.untrained.onnx"]
    assert untrained["ops"]["Identity"] > 0
    assert untrained["initializer_elements"] < network["params"]
    params = cnncalc.read(DATA / "mobilenet_v3_small_w025.untrained.onnx").cost().totals["params"]
    assert params == network["params"]


def test_cli_cost_and_import() -> None:
    torch = TORCH["resnet_tiny"]
    runner = CliRunner()
    result = runner.invoke(app, ["cost", str(DATA / "resnet_tiny.onnx"), "--json"])
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    assert (totals["params"], totals["macs"]) == (torch["params"], torch["macs"])
    result = runner.invoke(app, ["import", str(DATA / "resnet_tiny.onnx")])
    assert result.exit_code == 0, result.stderr
    spec = cnncalc.parse(result.stdout, "resnet_tiny.yaml").cost().totals
    assert (spec["params"], spec["macs"]) == (torch["params"], torch["macs"])


@pytest.mark.parametrize("name", sorted(FULL["networks"]))
def test_full_size_exports_are_the_zoo_spec_with_batchnorm_folded(name: str) -> None:
    """torch's figures of the full-size exported graph (the README's table) are the zoo spec's with every
    batchnorm folded into the conv before it: params less C per batchnorm, no buffers, the same MACs."""
    torch = FULL["networks"][name]
    doc = cnncalc.read(ROOT / "specs" / "zoo" / f"{name}.yaml").cost().to_json()
    batchnorms = [layer for layer in doc["layers"] if layer["type"] == "batchnorm"]
    assert doc["totals"]["params"] == torch["module_params"]
    assert doc["totals"]["buffers"] == torch["module_buffers"] == sum(layer["buffers"] for layer in batchnorms)
    assert torch["params"] == doc["totals"]["params"] - sum(layer["params"] // 2 for layer in batchnorms)
    assert torch["buffers"] == 0
    assert torch["macs"] == doc["totals"]["macs"]
    for export in torch["exports"].values():
        assert export["onnx_output_shape"] == torch["output_shape"]


# ------------------------------------------------------------- where the exporters' forms stop being readable

def _graph(nodes: list, shape: list[int], constants: dict[str, list[int]]) -> bytes:
    """A serialised model of `nodes` reading one float input `x` of `shape`, int64 `constants` as initializers."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    read = {v for n in nodes for v in n.input}
    outputs = [o for n in nodes for o in n.output if o not in read]
    inits = [numpy_helper.from_array(np.array(v, np.int64), name) for name, v in constants.items()]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _refusal(data: bytes) -> str:
    from cnncalc.errors import SpecError
    from cnncalc.onnx.read import read_onnx
    with pytest.raises(SpecError) as caught:
        read_onnx(data, "m.onnx")
    return caught.value.format()


def test_shape_arithmetic_on_the_channels_is_read_on_the_height_refused() -> None:
    """Slice bounds computed from Shape(x)[1] (the channels) are known; from Shape(x)[2] (the height, which the
    reader does not track) the Slice is refused, by name."""
    from onnx import helper
    from cnncalc.onnx.read import read_onnx

    def chunks(axis_of_shape: int) -> bytes:
        return _graph([helper.make_node("Shape", ["x"], ["s"], name="shape"),
                       helper.make_node("Gather", ["s", "k"], ["c"], name="gather", axis=0),
                       helper.make_node("Div", ["c", "two"], ["half"], name="div"),
                       helper.make_node("Slice", ["x", "zero", "half", "one"], ["a"], name="first"),
                       helper.make_node("Slice", ["x", "half", "c", "one"], ["b"], name="second"),
                       helper.make_node("Add", ["a", "b"], ["y"], name="sum")],
                      [1, 6, 6, 6], {"k": [axis_of_shape], "two": [2], "zero": [0], "one": [1]})

    layers = read_onnx(chunks(1), "m.onnx").doc["layers"]
    assert [(layer["type"], layer.get("chunks")) for layer in layers] == [("split", 2), ("add", None)]
    message = _refusal(chunks(2))
    assert "'first' (Slice, index 3 in the graph) is not supported" in message
    assert "height or width" in message


def test_only_the_layout_transpose_of_the_input_is_read() -> None:
    """tf2onnx's Transpose (0, 3, 1, 2) of an NHWC input (N, H, W, C) = (1, 5, 7, 3) makes the input (3, 5, 7);
    a Transpose anywhere else is refused by name."""
    from onnx import helper
    from cnncalc.onnx.read import read_onnx
    nhwc = _graph([helper.make_node("Transpose", ["x"], ["t"], name="layout", perm=[0, 3, 1, 2]),
                   helper.make_node("Relu", ["t"], ["y"], name="relu")], [1, 5, 7, 3], {})
    doc = read_onnx(nhwc, "m.onnx").doc
    assert (doc["input"], [layer["type"] for layer in doc["layers"]]) == ([3, 5, 7], ["relu"])
    inner = _graph([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                    helper.make_node("Transpose", ["r"], ["y"], name="swap", perm=[0, 3, 1, 2])], [1, 5, 7, 3], {})
    assert "'swap' (Transpose, index 1 in the graph) is not supported" in _refusal(inner)


README_ROWS = {"params": "params", "buffers": "buffers", "mults": "mults", "adds": "adds",
               "comparisons": "comparisons", "activations": "activations", "MACs": "macs",
               "activation elements": "activation_elements"}


@pytest.mark.parametrize(("name", "title"), [("resnet50", "ResNet-50"), ("mobilenet_v2", "MobileNet-V2")])
def test_readme_table_is_the_zoo_spec_folded_and_torchs(name: str, title: str) -> None:
    """The README's table of the full-size exports: the spec column is cnncalc's on the zoo spec, the ONNX column
    is torch's parameters and MACs, and the zoo's figures less what folding removes: batchnorm's buffers, one of its
    two parameters per channel, its mult per element; its add per element becomes the conv's bias add."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index(f"| {title} | `specs/zoo/{name}.yaml` | `{name}.onnx` |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[README_ROWS[cells[0]]] = [int(cell.replace(",", "")) for cell in cells[1:4]]
    doc = cnncalc.read(ROOT / "specs" / "zoo" / f"{name}.yaml").cost().to_json()
    batchnorms = [layer for layer in doc["layers"] if layer["type"] == "batchnorm"]
    folded = {key: sum(layer[key] for layer in batchnorms) for key in ("params", "buffers", "mults", "adds")}
    elements = sum(layer["activation_elements"] for layer in batchnorms)
    torch = FULL["networks"][name]
    assert {"params", "buffers", "mults", "adds", "macs"} <= set(rows)
    for key, (spec, exported, difference) in rows.items():
        assert spec == doc["totals"][key] and exported - spec == difference, key
    assert rows["params"][1] == torch["params"] == rows["params"][0] - folded["params"] // 2
    assert rows["buffers"][1] == torch["buffers"] == rows["buffers"][0] - folded["buffers"]
    assert rows["macs"][1] == torch["macs"] == rows["macs"][0]
    assert rows["mults"][1] == rows["mults"][0] - folded["mults"]
    assert rows["adds"][1] == rows["adds"][0] - folded["adds"] + elements
