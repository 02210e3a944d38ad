"""`cnncalc import` and ONNX files as SPEC: round trips of every bundled spec, graphs written the way other
exporters write them, and hostile files.

Expected values come from outside the importer: the bundled specs themselves (spec -> ONNX -> spec must give their
counts and fields back), hand-written specs for hand-built ONNX graphs (built here with onnx.helper), and
torchvision's published parameter count of ResNet-50. The round trips export with initializers that carry their
dimensions and no data (the importer reads only dimensions; `test_resnet50_through_files` reads a full model)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.errors import SpecError

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install 'cnncalc[onnx]')")
from onnx import TensorProto, helper  # noqa: E402

from cnncalc.onnx import export as onnx_export  # noqa: E402
from cnncalc.onnx.read import read_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("**/*.yaml"))
CONVENTIONS = ("cnncalc", "torchvision", "fvcore", "ptflops")
CALL_KEYS = ("call", "pool_call", "activation_call")
"""How the PyTorch reference calls a layer: not in an ONNX graph, so only fvcore's and ptflops' counts change."""


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def dims_only(monkeypatch) -> None:
    """Exported initializers with their dimensions and no values (what the importer reads), so that VGG's 553 MB
    of zeros are neither made nor parsed."""
    def param(self, name, shape, positive=False):
        self.initializers.append(TensorProto(name=name, dims=list(shape), data_type=TensorProto.FLOAT))
        return name
    monkeypatch.setattr(onnx_export._Builder, "param", param)


@pytest.fixture(scope="module")
def round_trips():
    """Per bundled spec: (the network, its ONNX bytes, the spec read back, the text of that read of its export)."""
    patch = pytest.MonkeyPatch()
    dims_only(patch)
    cache: dict = {}

    def get(path: Path):
        if path not in cache:
            network = cnncalc.read(path)
            data = network.export_onnx()
            imported = read_onnx(data, f"{path.stem}.onnx")
            again = read_onnx(cnncalc.parse(imported.text).export_onnx(), f"{path.stem}.onnx")
            cache[path] = (network, imported, again)
        return cache[path]
    yield get
    patch.undo()


def without_calls(path: Path) -> cnncalc.Network:
    """The spec with every `call:` mark removed (each layer called as the tool's default)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in CALL_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return cnncalc.from_dict(strip(yaml.safe_load(path.read_text())), str(path))


def read_back_type(row: dict, input_row: dict | None) -> str:
    """The type an exported layer is read back as: adaptive pools are ONNX pools with one window size, so they read
    back as global pools (to 1x1), as max/avg pools, or (to their input's size) as themselves."""
    kind = row["type"]
    if kind.startswith("adaptive_"):
        plain = kind.removeprefix("adaptive_")
        if row["output"][1:] == [1, 1]:
            return f"global_{plain}"
        if input_row is not None and input_row["output"] == row["output"]:
            return kind
        return plain
    return kind


def flat(name: str) -> str:
    """A layer's name with its block path joined by `_`: the importer rebuilds blocks only where a pattern
    repeats, so `layer1/conv1` may come back as `layer1_conv1` (and nested blocks one level deep)."""
    return name.replace("/", "_")


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_spec_to_onnx_to_spec_keeps_every_count_and_field(path, round_trips):
    network, imported, again = round_trips(path)
    back = cnncalc.parse(imported.text, "back.yaml")
    plain = without_calls(path) if any(f"{k}:" in network.text for k in CALL_KEYS) else network
    for convention in CONVENTIONS:
        expected = (network if convention in ("cnncalc", "torchvision") else plain).cost(convention).to_json()
        got = back.cost(convention).to_json()
        assert got["totals"] == expected["totals"], convention
        rows = {r["name"]: r for r in expected["layers"]}
        assert len(got["layers"]) == len(expected["layers"])
        for want, have in zip(expected["layers"], got["layers"]):
            source = rows.get(want["inputs"][0]) if want["inputs"] else None
            assert flat(have["name"]) == flat(want["name"])
            assert [flat(i) for i in have["inputs"]] == [flat(i) for i in want["inputs"]]
            assert have["type"] == read_back_type(want, source)
            assert {k: v for k, v in have.items() if k not in ("name", "inputs", "type", "block")} == \
                   {k: v for k, v in want.items() if k not in ("name", "inputs", "type", "block")}, want["name"]
    fields = [[(flat(r["name"]), r.get("global"), r.get("rf"), r.get("local")) for r in n.rf().to_json()["layers"]]
              for n in (network, back)]
    assert fields[0] == fields[1]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_import_export_import_is_lossless(path, round_trips):
    _, imported, again = round_trips(path)
    assert again.text == imported.text


# ------------------------------------------------------------------ graphs as other exporters write them

def tensor(name: str, values, dtype=None):
    import numpy as np
    return onnx.numpy_helper.from_array(np.array(values, dtype=dtype or np.int64), name)


def model(nodes, shape=(1, 3, 8, 8), weights=(), constants=(), opset=17, producer="pytorch", input_name="x",
          outputs=None) -> bytes:
    """A serialised model of `nodes` reading one float input `x` of `shape`; `weights` (name -> dims) become
    initializers, `constants` initializers with values; the graph's outputs are the values no node reads."""
    import numpy as np
    read = {v for n in nodes for v in n.input}
    if outputs is None:
        outputs = [o for n in nodes for o in n.output if o and o not in read]
    inits = [onnx.numpy_helper.from_array(np.zeros(dims, np.float32), name) for name, dims in dict(weights).items()]
    inits += list(constants)
    graph = helper.make_graph(nodes, "main_graph", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT,
                                                                                  list(shape))],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer)
    return m.SerializeToString()


def node(op, inputs, outputs, name=None, **attrs):
    return helper.make_node(op, inputs, outputs, name=name if name is not None else outputs[0], **attrs)


def layers(data: bytes, **kwargs) -> list[dict]:
    return read_onnx(data, "m.onnx", **kwargs).doc["layers"]


def test_pytorch_scopes_fold_activations_and_repeat_a_chain():
    """Conv -> Relu four times, as torch.onnx names them: one conv entry with its relu, repeated 4 times (the
    first conv reads 3 channels, the others 8: a spec's conv takes its input channels from its input)."""
    nodes, weights, x = [], {}, "x"
    for k in range(4):
        conv = f"/features/features.{2 * k}/Conv"
        weights[f"features.{2 * k}.weight"] = (8, 3 if k == 0 else 8, 3, 3)
        weights[f"features.{2 * k}.bias"] = (8,)
        nodes.append(node("Conv", [x, f"features.{2 * k}.weight", f"features.{2 * k}.bias"], [conv + "_output_0"],
                          conv, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]))
        relu = f"/features/features.{2 * k + 1}/Relu"
        nodes.append(node("Relu", [conv + "_output_0"], [relu + "_output_0"], relu))
        x = relu + "_output_0"
    nodes.append(node("MaxPool", [x], ["/pool/MaxPool_output_0"], "/pool/MaxPool", kernel_shape=[2, 2],
                      strides=[2, 2]))
    assert layers(model(nodes, weights=weights)) == [
        {"name": "features_0", "type": "conv", "input": "input", "out": 8, "kernel": 3, "padding": 1,
         "activation": "relu", "repeat": 4},
        {"name": "pool", "type": "maxpool", "input": "features_0", "kernel": 2}]


def test_activation_forms():
    """Each after a pool (nothing to fold into): Mul(x, Sigmoid(x)), Clip(0, 6) with inputs and (opset 6) with
    attributes, the erf form of gelu as PyTorch writes it, Gelu (opset 20), and the one-op activations."""
    c = [tensor("zero", 0.0, "float32"), tensor("six", 6.0, "float32"), tensor("sqrt2", 1.4142135, "float32"),
         tensor("one", 1.0, "float32"), tensor("half", 0.5, "float32")]
    nodes = [node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2]),
             node("Sigmoid", ["p"], ["sig"]), node("Mul", ["p", "sig"], ["silu"]),
             node("Clip", ["silu", "zero", "six"], ["relu6"]),
             node("Div", ["relu6", "sqrt2"], ["d"]), node("Erf", ["d"], ["e"]), node("Add", ["e", "one"], ["a"]),
             node("Mul", ["relu6", "a"], ["m"]), node("Mul", ["m", "half"], ["gelu"]),
             node("LeakyRelu", ["gelu"], ["leaky"], alpha=0.2), node("HardSigmoid", ["leaky"], ["hsig"]),
             node("HardSwish", ["hsig"], ["hswish"]), node("Tanh", ["hswish"], ["tanh"]),
             node("Sigmoid", ["tanh"], ["sigmoid"]), node("Softmax", ["sigmoid"], ["softmax"], axis=1),
             node("Gelu", ["softmax"], ["gelu20"])]
    got = [(e["name"], e["type"], {k: v for k, v in e.items() if k not in ("name", "type", "input")})
           for e in layers(model(nodes, constants=c, opset=20))]
    assert got == [("p", "maxpool", {"kernel": 2, "stride": 1}),
                   ("silu", "silu", {}), ("relu6", "relu6", {}), ("gelu", "gelu", {}),
                   ("leaky", "leaky_relu", {"slope": 0.2}), ("hsig", "hardsigmoid", {}),
                   ("hswish", "hardswish", {}), ("tanh", "tanh", {}), ("sigmoid", "sigmoid", {}),
                   ("softmax", "softmax", {}), ("gelu20", "gelu", {})]
    old = [node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2]), node("Clip", ["p"], ["r6"], min=0.0, max=6.0)]
    assert [e["type"] for e in layers(model(old, opset=6))] == ["maxpool", "relu6"]


def test_linear_forms_flatten_and_mean():
    """Gemm (transB) with its relu, MatMul + Add of a bias, MatMul alone; Flatten, the Reshape to (1, -1) and the
    mean over H and W (PyTorch's `x.mean((2, 3))`, fvcore's `call: method`)."""
    shape = tensor("flat", [1, -1])
    nodes = [node("ReduceMean", ["x"], ["mean"], axes=[2, 3], keepdims=1),
             node("Reshape", ["mean", "flat"], ["r"]),
             node("Gemm", ["r", "w1", "b1"], ["g"], transB=1), node("Relu", ["g"], ["g_relu"]),
             node("MatMul", ["g_relu", "w2"], ["mm"]), node("Add", ["mm", "b2"], ["fc2"]),
             node("MatMul", ["fc2", "w3"], ["fc3"]),
             node("GlobalAveragePool", ["x"], ["gap"]), node("Flatten", ["gap"], ["fl"], axis=1),
             node("Gemm", ["fl", "w4"], ["fc4"])]
    weights = {"w1": (10, 3), "b1": (10,), "w2": (10, 7), "b2": (7,), "w3": (7, 5), "w4": (3, 2)}
    assert layers(model(nodes, weights=weights, constants=[shape], opset=13)) == [
        {"name": "mean", "type": "global_avgpool", "input": "input", "call": "method"},
        {"name": "r", "type": "flatten", "input": "mean"},
        {"name": "g", "type": "linear", "input": "r", "out": 10, "activation": "relu"},
        {"name": "mm", "type": "linear", "input": "g", "out": 7},
        {"name": "fc3", "type": "linear", "input": "mm", "out": 5, "bias": False},
        {"name": "gap", "type": "global_avgpool", "input": "input"},
        {"name": "fl", "type": "flatten", "input": "gap"},
        {"name": "fc4", "type": "linear", "input": "fl", "out": 2, "bias": False}]


def test_merges_splits_and_resampling():
    """Concat, Add and Mul of layer outputs; Split by sizes (an input, opset 13) and Slices along the channels
    (one split, its gaps included); Pad; Resize by scales and by sizes; Upsample (opset 9); Dropout, Identity, LRN,
    BatchNormalization, ConvTranspose, MaxPool with ceil_mode and dilation, AveragePool with pads."""
    import numpy as np
    c = [tensor("sizes", [1, 2]), tensor("s0", [0]), tensor("e0", [1]), tensor("s1", [2]), tensor("e1", [3]),
         tensor("axis1", [1]), tensor("pads", [0, 0, 1, 2, 0, 0, 0, 3]),
         tensor("scales", [1.0, 1.0, 2.0, 2.0], np.float32), tensor("rsizes", [1, 3, 5, 6])]
    nodes = [node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1),
             node("Slice", ["x", "s0", "e0", "axis1"], ["first"]), node("Slice", ["x", "s1", "e1", "axis1"], ["third"]),
             node("Concat", ["a", "first", "third"], ["cat"], axis=1), node("Add", ["cat", "x"], ["sum"]),
             node("Mul", ["sum", "cat"], ["prod"]),
             node("Pad", ["prod", "pads"], ["pad"], mode="constant"),
             node("Resize", ["pad", "", "scales"], ["up"], mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor"),
             node("Resize", ["up", "", "", "rsizes"], ["down"], mode="linear",
                  coordinate_transformation_mode="align_corners"),
             node("Dropout", ["down"], ["drop"]), node("Identity", ["drop"], ["same"]),
             node("LRN", ["same"], ["lrn"], size=3, alpha=2e-4), node("BatchNormalization",
                                                                       ["lrn", "g", "bb", "m", "v"], ["bn"]),
             node("ConvTranspose", ["bn", "wt"], ["ct"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                  output_padding=[1, 1]),
             node("MaxPool", ["ct"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2], ceil_mode=1),
             node("AveragePool", ["mp"], ["ap"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])]
    weights = {"g": (3,), "bb": (3,), "m": (3,), "v": (3,), "wt": (3, 4, 3, 3)}
    assert layers(model(nodes, weights=weights, constants=c, opset=13)) == [
        {"name": "split", "type": "split", "input": "input", "sizes": [1, 2]},
        {"name": "first", "type": "split", "input": "input", "chunks": 3},
        {"name": "cat", "type": "concat", "inputs": ["split.0", "first.0", "first.2"]},
        {"name": "sum", "type": "add", "inputs": ["cat", "input"]},
        {"name": "prod", "type": "mul", "inputs": ["sum", "cat"]},
        {"name": "pad", "type": "pad", "input": "prod", "padding": [1, 0, 2, 3]},
        {"name": "up", "type": "upsample", "input": "pad", "scale": 2},
        {"name": "down", "type": "upsample", "input": "up", "size": [5, 6], "mode": "bilinear", "align_corners": True},
        {"name": "drop", "type": "dropout", "input": "down"},
        {"name": "same", "type": "identity", "input": "drop"},
        {"name": "lrn", "type": "lrn", "input": "same", "size": 3, "alpha": 2e-4},
        {"name": "bn", "type": "batchnorm", "input": "lrn"},
        {"name": "ct", "type": "conv_transpose", "input": "bn", "out": 4, "kernel": 3, "stride": 2, "padding": 1,
         "output_padding": 1, "bias": False},
        {"name": "mp", "type": "maxpool", "input": "ct", "kernel": 3, "stride": 2, "dilation": 2, "ceil_mode": True},
        {"name": "ap", "type": "avgpool", "input": "mp", "kernel": 3, "stride": 1, "padding": 1}]
    old = [node("Upsample", ["x", "scales"], ["up"], mode="nearest")]
    assert layers(model(old, constants=c[7:8], opset=9)) == [
        {"name": "up", "type": "upsample", "input": "input", "scale": 2}]


def test_squeeze_excitation_and_channel_shuffle():
    """torchvision's SqueezeExcitation as traced (GlobalAveragePool, Conv 1x1, Relu, Conv 1x1, HardSigmoid, Mul)
    is one layer; Reshape (1, g, C/g, H, W), Transpose, Reshape back is a channel_shuffle."""
    c = [tensor("grouped", [1, 2, 4, 8, 8]), tensor("back", [1, 8, 8, 8])]
    nodes = [node("Conv", ["x", "w"], ["conv"], kernel_shape=[1, 1]),
             node("GlobalAveragePool", ["conv"], ["/se/avgpool/GlobalAveragePool_output_0"],
                  "/se/avgpool/GlobalAveragePool"),
             node("Conv", ["/se/avgpool/GlobalAveragePool_output_0", "fc1.w", "fc1.b"], ["f1"], "/se/fc1/Conv",
                  kernel_shape=[1, 1]),
             node("Relu", ["f1"], ["a1"], "/se/activation/Relu"),
             node("Conv", ["a1", "fc2.w", "fc2.b"], ["f2"], "/se/fc2/Conv", kernel_shape=[1, 1]),
             node("HardSigmoid", ["f2"], ["gate"], "/se/scale_activation/HardSigmoid", alpha=1 / 6),
             node("Mul", ["gate", "conv"], ["se"], "/se/Mul"),
             node("Reshape", ["se", "grouped"], ["g"]), node("Transpose", ["g"], ["t"], perm=[0, 2, 1, 3, 4]),
             node("Reshape", ["t", "back"], ["shuffled"])]
    weights = {"w": (8, 3, 1, 1), "fc1.w": (2, 8, 1, 1), "fc1.b": (2,), "fc2.w": (8, 2, 1, 1), "fc2.b": (8,)}
    assert layers(model(nodes, weights=weights, constants=c)) == [
        {"name": "conv", "type": "conv", "input": "input", "out": 8, "kernel": 1, "bias": False},
        {"name": "se", "type": "squeeze_excitation", "input": "conv", "squeeze": 2, "gate": "hardsigmoid"},
        {"name": "g", "type": "channel_shuffle", "input": "se", "groups": 2}]


# ------------------------------------------------------------------------------- the command line, files

def test_resnet50_through_files(tmp_path):
    """A full export (weights included, 102 MB) read by `cnncalc cost` directly: torchvision's published parameter
    count, 25,557,032, and the MACs of the spec it came from; `cnncalc import` writes the spec it reads."""
    spec = ROOT / "specs/zoo/resnet50.yaml"
    model = tmp_path / "resnet50.onnx"
    assert run("export", str(spec), "-o", str(model)).exit_code == 0
    got = run("cost", str(model), "--json")
    assert got.exit_code == 0 and got.stderr == ""
    import json
    totals = json.loads(got.stdout)["totals"]
    assert totals["params"] == 25_557_032
    assert totals["macs"] == cnncalc.read(spec).cost().totals["macs"]
    out = tmp_path / "r50.yaml"
    result = run("import", str(model), "-o", str(out))
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    assert cnncalc.read(out).cost().totals == totals
    assert run("rf", str(model), "--json").exit_code == 0


def test_the_content_decides_not_the_name(tmp_path):
    """An ONNX model named .yaml is read as a model; a YAML spec named .onnx as a spec; stdin takes either."""
    data = model([node("Relu", ["x"], ["y"])])
    disguised = tmp_path / "model.yaml"
    disguised.write_bytes(data)
    assert cnncalc.read(disguised).cost().totals["activations"] == 3 * 8 * 8
    spec = tmp_path / "spec.onnx"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - relu\n")
    assert cnncalc.read(spec).cost().totals["activations"] == 3 * 8 * 8
    result = subprocess.run([sys.executable, "-m", "cnncalc", "cost", "-", "--json"], input=data,
                            capture_output=True, cwd=ROOT)
    assert result.returncode == 0 and b'"activations": 192' in result.stdout


def test_a_yaml_spec_imports_neither_onnx_nor_protobuf():
    code = ("import sys\nsys.argv = ['cnncalc', 'cost', 'specs/zoo/resnet50.yaml', '--json']\n"
            "from cnncalc.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'google')), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stderr.strip() == "[]"


def test_without_onnx_the_message_says_how_to_install(monkeypatch, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(model([node("Relu", ["x"], ["y"])]))
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    for args in (["cost", str(path)], ["import", str(path)]):
        result = run(*args)
        assert result.exit_code == 2 and result.stdout == ""
        assert "pip install 'cnncalc[onnx]'" in result.stderr and "Traceback" not in result.stderr


def test_import_refuses_a_yaml_spec():
    result = run("import", str(ROOT / "specs/mlp.yaml"))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{ROOT / 'specs/mlp.yaml'}:1:1: error: not an ONNX model")


def test_set_on_a_model_says_a_model_has_no_parameters(tmp_path):
    """`--set` names a parameter of a YAML spec's `params:`: on a model it is one error at the file's first line
    that says how to get a spec to declare it in, not a caret under a line of the imported YAML."""
    path = tmp_path / "m.onnx"
    path.write_bytes(model([node("Relu", ["x"], ["y"])]))
    result = run("cost", str(path), "--set", "width=2")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{path}:1:1: error: --set sets a parameter declared in a YAML spec's")
    assert f"cnncalc import {path} -o SPEC.yaml" in result.stderr and len(result.stderr.splitlines()) == 1


def hostile() -> dict[str, tuple[bytes, str]]:
    """name -> (file content, what the one-line error must say)."""
    import numpy as np
    ok = model([node("Relu", ["x"], ["y"])])
    ext = TensorProto(name="shape", dims=[2], data_type=TensorProto.INT64, data_location=TensorProto.EXTERNAL)
    ext.external_data.add(key="location", value="../../../etc/passwd")
    symbolic = helper.make_model(helper.make_graph(
        [node("Relu", ["x"], ["y"])], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])).SerializeToString()
    two = helper.make_model(helper.make_graph(
        [node("Add", ["x", "z"], ["y"])], "g", [helper.make_tensor_value_info(v, TensorProto.FLOAT, [1, 3, 8, 8])
                                                 for v in "xz"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])).SerializeToString()
    return {
        "random bytes": (np.random.default_rng(0).bytes(4000), "not an ONNX model"),
        "truncated": (ok[: len(ok) // 2], "not an ONNX model"),
        "huge channels": (model([node("Relu", ["x"], ["y"])], shape=(1, 10 ** 12, 224, 224)),
                          "dimension 1 of the graph input 'x' is 1000000000000, out of range"),
        "huge weight": (model([node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], constants=[
            TensorProto(name="w", dims=[10 ** 12, 3, 1, 1], data_type=TensorProto.FLOAT)]),
            "initializer 'w' has a dimension out of range"),
        "cycle": (model([node("Add", ["x", "b"], ["a"], name="first"), node("Relu", ["a"], ["b"])], outputs=["b"]),
                  "the ONNX graph has a cycle through node 'first' (Add, index 0 in the graph)"),
        "never produced": (model([node("Add", ["x", "ghost"], ["y"], name="add")]),
                           "node 'add' (Add, index 0 in the graph) reads 'ghost', which no node"),
        "missing initializer": (model([node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[1, 1])]),
                                "node 'conv' (Conv, index 0 in the graph) reads 'w', which no node"),
        "external constant": (model([node("Reshape", ["x", "shape"], ["y"], name="flat")], constants=[ext]),
                              "'flat' (Reshape, index 0 in the graph) is not supported: the constant 'shape' is "
                              "stored as external data"),
        "unsupported op": (model([node("Relu", ["x"], ["a"]), node("Cos", ["a"], ["b"], name="cosine"),
                                  node("Relu", ["b"], ["y"])]),
                           "ONNX node 'cosine' (Cos, index 1 in the graph) is not supported"),
        "required attribute missing": (model([node("LRN", ["x"], ["y"], name="lrn")]),
                                       "ONNX node 'lrn' (LRN, index 0 in the graph) lacks the attribute 'size' that "
                                       "LRN requires"),
        "too few inputs": (model([node("Conv", ["x"], ["y"], name="conv", kernel_shape=[1, 1])]),
                           "ONNX node 'conv' (Conv, index 0 in the graph) has 1 inputs and 1 outputs; Conv takes "
                           "2 to 3 inputs"),
        "symbolic height": (symbolic, "dimension 2 of the graph input 'x' is symbolic ('H')"),
        "three dimensions": (model([node("Relu", ["x"], ["y"])], shape=(1, 3, 8)),
                             "the graph input 'x' has 3 dimensions"),
        "two inputs": (two, "the ONNX graph has 2 inputs"),
        "no graph": (helper.make_model(helper.make_graph([], "g", [], [])).SerializeToString(),
                     "not an ONNX model: it holds no graph nodes"),
        "layers that do not fit": (model([node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[1, 1])],
                                         weights={"w": (4, 5, 1, 1)}),
                                   "'conv' (Conv, index 0 in the graph) is not supported: its weight [4, 5, 1, 1] "
                                   "does not fit an input of 3 channels"),
    }


HOSTILE_NAMES = ["a\nb", "\x1b[31mred", "q\"uo'te", "pi|pe", "<script>alert(1)</script>", "]]>x", "rtl\u202eevil",
                 "L" * 10_000, "</script><b>", "--", "-->", "`tick`", "&amp;", "emoji\U0001f600", "x: y", "#c", "true",
                 "null", "1e3"]
SKIPPED_NAME = "</script><script>alert(1)</script>|*_[x]\n\x1b[2J\U0001f600\u202e]]>" + "Z" * 10_000


def hostile_names() -> bytes:
    """A chain of 1x1 convolutions named by HOSTILE_NAMES (4 and 5 channels in turn, so that no two are alike and
    none repeat), the graph and its input named hostilely too, then a Cos (unsupported) named SKIPPED_NAME."""
    nodes, weights, value = [], {}, "in</script>\n"
    for i, name in enumerate(HOSTILE_NAMES):
        weights[f"{name}.w"] = (4 + i % 2, 3 if i == 0 else 4 + (i - 1) % 2, 1, 1)
        nodes.append(node("Conv", [value, f"{name}.w"], [f"{name}/out"], name=name))
        value = f"{name}/out"
    nodes.append(node("Cos", [value], ["cos"], name=SKIPPED_NAME))
    data = model(nodes, weights=weights, input_name="in</script>\n")
    parsed = onnx.load_from_string(data)
    parsed.graph.name = "g<script>\n|x"
    return parsed.SerializeToString()


def test_hostile_names_import_to_yaml_that_reads_back_as_the_same_network(tmp_path):
    """Every name becomes a plain spec name, and the description (which quotes the skipped node's name: a
    10,000-character one with control characters, an emoji above the BMP and an RTL override) is YAML that reads
    back exactly: JSON's surrogate-pair escapes are no YAML, so the spec once failed to read back."""
    path = tmp_path / "m.onnx"
    path.write_bytes(hostile_names())
    imported = cnncalc.import_onnx(path, skip_unsupported=True)
    assert yaml.safe_load(imported.text)["description"] == imported.doc["description"]
    assert repr(SKIPPED_NAME) in imported.doc["description"]
    assert all(" " <= c <= "~" for line in imported.text.splitlines() for c in line)  # the text is printable ASCII
    names = [row["name"] for row in cnncalc.parse(imported.text, "m.yaml").cost().rows()]
    assert len(names) == len(HOSTILE_NAMES) + 1 and all(re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in names)
    direct = cnncalc.read(path, skip_unsupported=True)
    assert cnncalc.parse(imported.text, "m.yaml").cost().rows() == direct.cost().rows()


def test_hostile_names_are_safe_in_every_output(tmp_path):
    """The skipped node's name, in the warning, reaches every output: no raw control character on a terminal or
    in CSV, Markdown that shows it as text, Graphviz that draws it, and a report page whose only scripts are its
    own (the data island escapes `</script>`)."""
    import shutil
    path = tmp_path / "m.onnx"
    path.write_bytes(hostile_names())
    for args in (["cost"], ["cost", "--format", "csv"], ["cost", "--format", "markdown"], ["cost", "--format", "jsonl"],
                 ["rf"], ["validate"], ["graph"], ["graph", "--format", "dot"]):
        result = run(*args, str(path), "--skip-unsupported")
        assert result.exit_code == 0, (args, result.stderr)
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u202e]", result.stdout + result.stderr), args
    markdown = run("cost", str(path), "--skip-unsupported", "--format", "markdown").stdout
    assert "\\</script\\>\\<script\\>alert(1)\\</script\\>\\|\\*\\_\\[x\\]" in markdown
    if shutil.which("dot"):
        dot = run("graph", str(path), "--skip-unsupported", "--format", "dot").stdout
        drawn = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60)
        assert drawn.returncode == 0 and drawn.stderr == b"", drawn.stderr
    pytest.importorskip("jinja2", reason="the report extra is not installed (pip install 'cnncalc[report]')")
    page = tmp_path / "m.html"
    assert run("report", str(path), "--skip-unsupported", "-o", str(page)).exit_code == 0
    html = page.read_text()
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="cnncalc-data">', "<script>"]
    assert html.count("</script>") == 2 and "alert(1)</script>" not in html


@pytest.mark.parametrize("case", list(hostile()))
def test_a_hostile_file_is_one_clear_error(case, tmp_path):
    data, message = hostile()[case]
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    for command in ("cost", "rf", "import"):
        result = run(command, str(path))
        assert result.exit_code == 2 and result.stdout == "", (command, result.stdout)
        assert result.stderr.startswith(f"{path}:1:1: error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_model_over_the_byte_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(model([node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], weights={"w": (16, 3, 3, 3)}))
    assert 1000 < path.stat().st_size < 2000  # 1,728 bytes of weights
    assert run("cost", str(path), "--max-bytes", "20").exit_code == 0  # a model may be 100 times --max-bytes
    result = run("cost", str(path), "--max-bytes", "10")
    assert result.exit_code == 2 and "more than the limit of 1,000 for an ONNX model" in result.stderr


def test_a_symbolic_batch_is_one_image_and_external_weights_are_not_read(tmp_path):
    """Only the dimensions of a weight are read, so weights kept in an external file (never opened) are fine."""
    weight = TensorProto(name="w", dims=[4, 3, 1, 1], data_type=TensorProto.FLOAT,
                         data_location=TensorProto.EXTERNAL)
    weight.external_data.add(key="location", value="no-such-file.bin")
    graph = helper.make_graph([node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    totals = cnncalc.read(path).cost().totals
    assert totals["params"] == 4 * 3 and totals["macs"] == 4 * 3 * 8 * 8


def test_skip_unsupported_counts_an_identity_and_says_so(tmp_path):
    import json
    path = tmp_path / "m.onnx"
    path.write_bytes(hostile()["unsupported op"][0])
    for command in ("cost", "rf"):
        result = run(command, str(path), "--skip-unsupported", "--json")
        assert result.exit_code == 0
        doc = json.loads(result.stdout)
        assert doc["partial"] is True
        [diagnostic] = [d for d in doc["diagnostics"] if d["code"] == "onnx-node-skipped"]
        assert "'cosine' (Cos, index 1 in the graph)" in diagnostic["message"] and diagnostic["layers"] == ["cosine"]
    assert json.loads(run("cost", str(path), "--skip-unsupported", "--json").stdout)["totals"]["activations"] == \
        2 * 3 * 8 * 8  # the two relus; the cosine is not counted
    result = run("import", str(path), "--skip-unsupported")
    assert result.exit_code == 0 and "{name: cosine, type: identity}" in result.stdout
    assert result.stderr.startswith(f"{path}:1:1: warning: ONNX node 'cosine' (Cos, index 1 in the graph)")
    assert "partial" not in json.loads(run("cost", str(ROOT / "specs/mlp.yaml"), "--json").stdout)


@pytest.mark.parametrize("args", [("cost", "--input", "8,16"), ("rf", "--input", "8,16"), ("validate",),
                                  ("memory",), ("grad", "--batch", "2"), ("compare", "{mlp}")],
                         ids=lambda a: " ".join(a[:2]))
def test_every_report_of_a_skipped_node_is_partial_in_every_format(args, tmp_path):
    """--skip-unsupported on every command that reads a spec: each report (sweeps and compare included) is marked
    partial with the node's warning, which the table and Markdown show and CSV and JSON Lines leave to stderr."""
    import json
    path = tmp_path / "m.onnx"
    path.write_bytes(hostile()["unsupported op"][0])
    command, *more = [a.format(mlp=ROOT / "specs/mlp.yaml") for a in args]
    warning = "ONNX node 'cosine' (Cos, index 1 in the graph) is not supported"
    doc = json.loads(run(command, str(path), *more, "--skip-unsupported", "--json").stdout)
    assert doc["partial"] is True and any(warning in d["message"] for d in doc["diagnostics"])
    for fmt, out, err in (("table", 1, 0), ("markdown", 1, 0), ("csv", 0, 1), ("jsonl", 0, 1)):
        result = run(command, str(path), *more, "--skip-unsupported", "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert (result.stdout.count(warning), result.stderr.count(warning)) == (out, err), fmt
    result = run(command, str(path), *more, "--format", "csv")
    assert result.exit_code == 2 and result.stdout == "" and "--skip-unsupported" in result.stderr


@pytest.mark.parametrize("command", ["graph", "report", "export"])
def test_commands_without_a_report_write_the_skipped_nodes_to_stderr(command, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(hostile()["unsupported op"][0])
    out = ["-o", str(tmp_path / "out")] if command != "graph" else []
    result = run(command, str(path), *out, "--skip-unsupported")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"{path}: warning: ONNX node 'cosine' (Cos, index 1 in the graph) is not supported " \
        "(cnncalc has no rule for this op type); counted as an identity, so the totals are partial\n"
    assert run(command, str(path), *out).exit_code == 2


def test_the_spec_text_is_yaml_that_reads_back_as_the_doc():
    """Names YAML would read as something else are quoted; the text and the plain data are the same spec."""
    nodes = [node("Relu", ["x"], ["a"], name="true"), node("Sigmoid", ["a"], ["b"], name="1e3"),
             node("Tanh", ["b"], ["c"], name="on"), node("Relu", ["c"], ["d"], name="/model/act: #1/Relu"),
             node("Sigmoid", ["d"], ["e"], name="input")]
    imported = read_onnx(model(nodes), "m.onnx")
    assert [e["name"] for e in imported.doc["layers"]] == ["true", "1e3", "on", "model_act_1", "input_"]
    assert cnncalc.parse(imported.text).cost().to_json()["layers"] == \
        cnncalc.from_dict(imported.doc).cost().to_json()["layers"]
    assert [row["name"] for row in cnncalc.parse(imported.text).cost().to_json()["layers"]] == \
        ["true", "1e3", "on", "model_act_1", "input_"]


def test_a_skipped_node_must_keep_its_input_shape(tmp_path):
    """A skipped node is an identity only where ONNX's shape inference says its output has its input's shape; a
    node whose shape ONNX cannot tell (a custom domain) is taken as keeping it, and the diagnostic says so."""
    square = model([node("Transpose", ["x"], ["a"], name="swap", perm=[0, 1, 3, 2]), node("Relu", ["a"], ["y"])])
    [skipped] = read_onnx(square, "m.onnx", skip_unsupported=True).skipped
    assert (skipped.node, skipped.op_type, skipped.index) == ("swap", "Transpose", 0)
    tall = model([node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[1, 1]),
                  node("Transpose", ["p"], ["a"], name="swap", perm=[0, 2, 1, 3]), node("Relu", ["a"], ["y"])])
    with pytest.raises(SpecError, match=r"'swap' \(Transpose, index 1 in the graph\).*cannot be skipped: an identity "
                                        r"keeps the shape 3x7x7, and it gives 7x3x7"):
        read_onnx(tall, "m.onnx", skip_unsupported=True)
    custom = model([helper.make_node("Warp", ["x"], ["a"], name="warp", domain="com.example"),
                    node("Relu", ["a"], ["y"])])
    [skipped] = read_onnx(custom, "m.onnx", skip_unsupported=True).skipped
    assert "does not say its output shape" in skipped.diagnostic()["message"]
    with pytest.raises(SpecError, match=r"'warp' \(Warp, index 0 in the graph\) is not supported: .* of domain "
                                        r"'com.example'"):
        read_onnx(custom, "m.onnx")


def test_a_repeated_pattern_becomes_a_block():
    """Three residual blocks as PyTorch names them (`/blocks/blocks.K/conv1/Conv`, the add at the block's own
    scope): one block, three instances; a stem that occurs once stays a layer."""
    nodes = [node("Conv", ["x", "stem.w"], ["s"], "/stem/Conv", kernel_shape=[1, 1])]
    x = "s"
    for k in range(3):
        scope = f"/blocks/blocks.{k}"
        nodes += [node("Conv", [x, f"c1.{k}"], [f"a{k}"], f"{scope}/conv1/Conv", kernel_shape=[3, 3],
                       pads=[1, 1, 1, 1]),
                  node("Relu", [f"a{k}"], [f"r{k}"], f"{scope}/relu/Relu"),
                  node("Conv", [f"r{k}", f"c2.{k}"], [f"b{k}"], f"{scope}/conv2/Conv", kernel_shape=[3, 3],
                       pads=[1, 1, 1, 1]),
                  node("Add", [x, f"b{k}"], [f"y{k}"], f"{scope}/Add")]
        x = f"y{k}"
    weights = {"stem.w": (8, 3, 1, 1), **{f"c{j}.{k}": (8, 8, 3, 3) for j in (1, 2) for k in range(3)}}
    imported = read_onnx(model(nodes, weights=weights), "m.onnx")
    assert imported.doc["blocks"] == {"blocks_block": {"layers": [
        {"name": "conv1", "type": "conv", "input": "input", "out": 8, "kernel": 3, "padding": 1, "bias": False,
         "activation": "relu"},
        {"name": "conv2", "type": "conv", "input": "conv1", "out": 8, "kernel": 3, "padding": 1, "bias": False},
        {"name": "add", "type": "add", "inputs": ["input", "conv2"]}]}}
    assert imported.doc["layers"] == [
        {"name": "stem", "type": "conv", "input": "input", "out": 8, "kernel": 1, "bias": False},
        {"name": "blocks_0", "type": "blocks_block", "input": "stem"},
        {"name": "blocks_1", "type": "blocks_block", "input": "blocks_0"},
        {"name": "blocks_2", "type": "blocks_block", "input": "blocks_1"}]
    cost = cnncalc.parse(imported.text).cost().to_json()
    assert cost["totals"]["macs"] == 8 * 3 * 8 * 8 + 3 * 2 * (8 * 8 * 9) * 8 * 8
    assert [row["name"] for row in cost["layers"]][1:4] == ["blocks_0/conv1", "blocks_0/conv2", "blocks_0/add"]


def test_blocks_that_would_not_rebuild_the_graph_are_left_flat(monkeypatch):
    """The blocks are checked against the flat layers they stand for; where the check fails the spec stays flat
    (a guard: forced here)."""
    from cnncalc.onnx import read as onnx_read
    path = ROOT / "specs/zoo/resnet18.yaml"
    data = cnncalc.read(path).export_onnx()
    assert "blocks" in read_onnx(data, "r.onnx").doc
    monkeypatch.setattr(onnx_read, "_same_graph", lambda *args: False)
    flat_doc = read_onnx(data, "r.onnx").doc
    assert "blocks" not in flat_doc
    assert cnncalc.from_dict(flat_doc).cost().totals == cnncalc.read(path).cost().totals


def test_damaged_graphs_are_read_or_refused_never_a_traceback():
    """300 seeded mutations of a model of every layer type (inputs, attributes and op types removed, changed or
    swapped): each is read, or refused with one SpecError."""
    import random

    from test_onnx_export import EVERY_TYPE
    base = onnx.ModelProto.FromString(cnncalc.parse(EVERY_TYPE).export_onnx())
    ops = ["Conv", "Relu", "Add", "Mul", "Gemm", "MatMul", "Split", "Slice", "Pad", "Resize", "Concat", "Reshape",
           "MaxPool", "Clip", "Sigmoid", "Div", "Flatten", "ReduceMean", "LRN", "ConvTranspose", "Upsample", "Erf"]
    rng = random.Random(0)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        m = onnx.ModelProto()
        m.CopyFrom(base)
        nodes = m.graph.node
        values = [v for n in nodes for v in n.output] + ["", "input"]
        for _ in range(rng.randint(1, 3)):
            n = nodes[rng.randrange(len(nodes))]
            kind = rng.randrange(5)
            if kind == 0 and n.input:
                del n.input[rng.randrange(len(n.input))]
            elif kind == 1:
                n.op_type = rng.choice(ops)
            elif kind == 2 and n.attribute:
                del n.attribute[rng.randrange(len(n.attribute))]
            elif kind == 3 and n.attribute:
                a = n.attribute[rng.randrange(len(n.attribute))]
                if a.ints:
                    a.ints[rng.randrange(len(a.ints))] = rng.choice([-5, 0, 2 ** 40])
                elif a.type == a.INT:
                    a.i = rng.choice([-5, 0, 2 ** 40])
            elif kind == 4 and n.input:
                n.input[rng.randrange(len(n.input))] = rng.choice(values)
        try:
            read_onnx(m.SerializeToString(), "m.onnx", skip_unsupported=rng.random() < 0.5)
            outcomes["read"] += 1
        except SpecError:
            outcomes["refused"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0


def test_the_python_entry_points_agree_with_the_command(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(model([node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]), node("Relu", ["c"], ["y"])],
                           weights={"w": (4, 3, 3, 3)}))
    imported = cnncalc.import_onnx(path)
    assert run("import", str(path)).stdout == imported.text
    as_read = yaml.safe_load(imported.text)  # a YAML 1.1 reader reads the same spec (inputs left out: the default)
    assert cnncalc.from_dict(as_read).cost().to_json()["layers"] == cnncalc.from_dict(imported.doc).cost().to_json()[
        "layers"]
    assert cnncalc.read(path).cost().totals == cnncalc.from_dict(imported.doc).cost().totals
    assert cnncalc.read(path).cost().totals["macs"] == 4 * 6 * 6 * 3 * 3 * 3
