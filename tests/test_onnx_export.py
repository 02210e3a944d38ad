"""`cnncalc export`: every bundled spec as ONNX, checked by ONNX's own checker and shape inference.

The expected shapes come from ONNX (onnx.shape_inference, independent of cnncalc's geometry); the expected
parameter counts from cnncalc's `params` + `buffers` and, for ResNet-50, torchvision's published num_params."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.errors import SpecError

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install 'cnncalc[onnx]')")
from onnx import numpy_helper  # noqa: E402

from cnncalc.onnx.export import OPSET, export  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("**/*.yaml"))

# Every layer type and option the bundled specs may miss: dilation, `same` padding, ceil_mode, asymmetric pads,
# both upsample modes, three-input add and mul, split by sizes, every activation, fused and alone.
EVERY_TYPE = """
name: every_type
input: [6, 15, 13]
layers:
  - {name: c1, type: conv, out: 8, kernel: 3, stride: 2, padding: same, dilation: 2, activation: relu6}
  - {name: c2, type: conv, out: 8, kernel: [3, 1], groups: 4, padding: [1, 0], bias: false, activation: gelu}
  - {name: lr, type: leaky_relu, slope: 0.2}
  - {name: th, type: tanh}
  - {name: hs, type: hardswish}
  - {name: si, type: silu}
  - {name: hg, type: hardsigmoid}
  - {name: sg, type: sigmoid}
  - {name: ap, type: avgpool, kernel: 3, stride: 2, padding: 1, ceil_mode: true}
  - {name: mp, type: maxpool, kernel: 2, stride: 1, dilation: 2, ceil_mode: true}
  - {name: pd, type: pad, padding: [1, 2, 0, 3]}
  - {name: ln, type: lrn, size: 3}
  - {name: bn, type: batchnorm}
  - {name: ct, type: conv_transpose, out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, activation: silu}
  - {name: sp, type: split, sizes: [1, 3]}
  - {name: up1, type: upsample, scale: [2, 3], input: sp.0}
  - {name: up2, type: upsample, size: [9, 20], mode: bilinear, align_corners: true, input: sp.1}
  - {name: up3, type: upsample, size: [9, 20], mode: bilinear, input: sp.1}
  - {name: cat, type: concat, inputs: [up2, up3, up2]}
  - {name: sum, type: add, inputs: [cat, cat, cat]}
  - {name: gm, type: global_maxpool}
  - {name: prod, type: mul, inputs: [sum, gm, sum]}
  - {name: sh, type: channel_shuffle, groups: 3}
  - {name: se, type: squeeze_excitation, squeeze: 2, activation: silu, gate: hardsigmoid}
  - {name: am, type: adaptive_maxpool, output_size: [3, 4]}
  - {name: aa, type: adaptive_avgpool, output_size: 1}
  - {name: dr, type: dropout, p: 0.2}
  - {name: id, type: identity}
  - {name: fl, type: flatten}
  - {name: fc, type: linear, out: 5, bias: false, activation: leaky_relu}
  - {name: sm, type: softmax}
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def check(graph: cnncalc.Graph) -> None:
    """ONNX accepts the model, infers every layer's shape as cnncalc does, and its initializers hold exactly
    cnncalc's params + buffers."""
    exported = export(graph)
    model = exported.model
    assert model.opset_import[0].version == OPSET
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert all(d.HasField("dim_value") for d in dims), value.name
        shapes[value.name] = tuple(d.dim_value for d in dims)
    for node in graph.nodes:
        names = exported.values[node.name]
        assert len(names) == len(node.outputs)
        for name, shape in zip(names, node.outputs):
            assert shapes[name] == (1, *shape), (node.name, node.type)
    totals = cnncalc.cost_report(graph)["totals"]
    assert sum(numpy_helper.to_array(t).size for t in model.graph.initializer) == totals["params"] + totals["buffers"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_bundled_spec_exports(path):
    check(cnncalc.load(path.read_text(), str(path)))


def test_every_layer_type_and_option():
    graph = cnncalc.load(EVERY_TYPE)
    from cnncalc.onnx.export import MAPPINGS
    from cnncalc.layers import REGISTRY
    assert set(MAPPINGS) == set(REGISTRY)  # every built-in type has a mapping
    check(graph)


def test_resnet50_weights_match_torchvision():
    """torchvision's ResNet-50 num_params, 25,557,032: the initializers less batchnorm's running statistics."""
    model = export(cnncalc.load((ROOT / "specs/zoo/resnet50.yaml").read_text())).model
    weights = sum(numpy_helper.to_array(t).size for t in model.graph.initializer if "running_" not in t.name)
    assert weights == 25_557_032


def test_cli_writes_the_model(tmp_path):
    out = tmp_path / "m.onnx"
    result = run("export", str(ROOT / "specs/mlp.yaml"), "-o", str(out))
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 784]
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == [1, 10]


def initializers(path: Path) -> dict:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def test_random_weights_differ_from_zeros_and_follow_the_seed(tmp_path):
    spec = str(ROOT / "specs/zoo/resnet18.yaml")
    paths = {}
    for key, args in {"zeros": [], "a": ["--weights", "random", "--seed", "7"],
                      "b": ["--weights", "random", "--seed", "7"], "c": ["--weights", "random", "--seed", "8"]}.items():
        paths[key] = tmp_path / f"{key}.onnx"
        assert run("export", spec, "-o", str(paths[key]), *args).exit_code == 0
    zeros, a, b, c = (initializers(paths[k]) for k in ("zeros", "a", "b", "c"))
    assert all(not w.any() for w in zeros.values())
    assert all(w.any() for w in a.values())
    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    assert all((a[k] != c[k]).any() for k in a)
    assert all((w > 0).all() for k, w in a.items() if k.endswith("running_var"))  # variances stay positive


def test_uneven_adaptive_pool_is_refused(tmp_path):
    spec = tmp_path / "uneven.yaml"
    spec.write_text("input: [3, 7, 7]\nlayers:\n  - {name: pool, type: adaptive_avgpool, output_size: 3}\n")
    out = tmp_path / "m.onnx"
    result = run("export", str(spec), "-o", str(out))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{spec}:3:5: error: cannot export layer 'pool' (adaptive_avgpool)")
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_type_without_mapping_is_refused_by_name(monkeypatch):
    from cnncalc.onnx import export as onnx_export
    monkeypatch.delitem(onnx_export.MAPPINGS, "lrn")
    with pytest.raises(SpecError, match=r"layer 'ln' \(lrn\).*no ONNX mapping"):
        export(cnncalc.load(EVERY_TYPE))


def test_without_onnx_the_message_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    out = tmp_path / "m.onnx"
    result = run("export", str(ROOT / "specs/mlp.yaml"), "-o", str(out))
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    assert "pip install 'cnncalc[onnx]'" in result.stderr and "Traceback" not in result.stderr


SMALL_INPUT = 64
"""The side of the input the onnxruntime test uses where the spec allows it (its input is larger, and the graph
exports at that size): a 64x64 image runs in milliseconds where 224x224 takes a second."""


def _runnable(graph: cnncalc.Graph):
    """The exported model with every layer's value as a graph output, its large weights drawn at run time by
    ConstantOfShape (zeros of the initializer's shape: serialising and loading 500 MB of VGG zeros takes seconds),
    and the expected (1, *shape) of each output, from cnncalc's graph."""
    import numpy as np
    exported = export(graph)
    model = exported.model
    expected = {}
    for node in graph.layers:
        expected.update({name: (1, *shape) for name, shape in zip(exported.values[node.name], node.outputs)})
    present = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in expected if name not in present)
    large = [t for t in model.graph.initializer if np.prod(t.dims) > 4096]
    drawn = []
    for tensor in large:
        shape = onnx.helper.make_tensor(f"{tensor.name}/shape", onnx.TensorProto.INT64, [len(tensor.dims)],
                                        list(tensor.dims))
        drawn += [onnx.helper.make_node("Constant", [], [f"{tensor.name}/shape"], value=shape),
                  onnx.helper.make_node("ConstantOfShape", [f"{tensor.name}/shape"], [tensor.name])]
    kept = [t for t in model.graph.initializer if np.prod(t.dims) <= 4096]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    nodes = [*drawn, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model, expected


def _small(path: Path) -> cnncalc.Graph:
    """The spec at SMALL_INPUT where its input is a larger image and the graph exports at that size, else as
    written (an adaptive pool whose windows would differ, a linear layer fixed to the flattened size)."""
    graph = cnncalc.read(path).graph
    if len(graph.input) == 3 and min(graph.input[1:]) > SMALL_INPUT:
        try:
            smaller = cnncalc.read(path, input_size=SMALL_INPUT).graph
            export(smaller)
            return smaller
        except SpecError:
            pass
    return graph


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_bundled_spec_runs_in_onnxruntime(path):
    """Issue 12 §2: the exported model runs, and every layer's output has the shape cnncalc predicts, at run
    time (onnxruntime's, not ONNX's static shape inference of `check`)."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (optional)")
    import numpy as np
    graph = _small(path)
    model, expected = _runnable(graph)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # starts faster; same shapes
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    results = session.run(None, {"input": np.zeros((1, *graph.input), dtype=np.float32)})
    got = {o.name: r.shape for o, r in zip(session.get_outputs(), results)}
    assert got == expected


def test_every_layer_type_runs_in_onnxruntime():
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (optional)")
    import numpy as np
    graph = cnncalc.load(EVERY_TYPE)
    model, expected = _runnable(graph)
    session = ort.InferenceSession(model.SerializeToString())
    results = session.run(None, {"input": np.zeros((1, *graph.input), dtype=np.float32)})
    assert {o.name: r.shape for o, r in zip(session.get_outputs(), results)} == expected


def test_values_in_onnxruntime_follow_pytorch_formulas():
    """Where ONNX's defaults differ from PyTorch's (HardSigmoid's alpha, Resize's coordinates) or an op is a
    composition (gelu, channel_shuffle): the exported ops against numpy written from PyTorch's definitions."""
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (optional)")
    import math

    import numpy as np
    graph = cnncalc.load("""
input: [2, 3, 4]
layers:
  - {name: up, type: upsample, scale: [2, 3]}
  - {name: hs, type: hardsigmoid, input: input}
  - {name: ge, type: gelu, input: input}
  - {name: cat, type: concat, inputs: [input, hs]}
  - {name: sh, type: channel_shuffle, groups: 2}
""")
    model = export(graph).model
    model.graph.output.append(onnx.helper.make_tensor_value_info("hs", onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString())
    x = 4 * np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": x})))
    assert np.array_equal(got["up"], x.repeat(2, axis=2).repeat(3, axis=3))
    assert np.allclose(got["hs"], np.clip(x + 3, 0, 6) / 6)
    assert np.allclose(got["ge"], np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x), atol=1e-5)
    joined = np.concatenate([x, got["hs"]], axis=1)  # channels 0, 2, 1, 3: the two groups interleaved
    assert np.array_equal(got["sh"], joined[:, [0, 2, 1, 3]])


FORMS_TOO = """
name: forms_too
input: [4, 8, 8]
layers:
  - {name: c, type: conv, out: 4, kernel: 1, activation: tanh}
  - {name: r, type: relu}
  - {name: a2, type: adaptive_avgpool, output_size: 2, input: r}
  - {name: gm, type: adaptive_maxpool, output_size: 1, input: r}
  - {name: gap, type: global_avgpool, input: r}
  - {name: s, type: softmax, input: gap}
"""


@pytest.mark.parametrize("text", [EVERY_TYPE, FORMS_TOO], ids=["every_type", "forms_too"])
def test_each_form_names_the_ops_its_layer_exports(text):
    """`MAPPINGS[type].form` (what `cnncalc layers --rule onnx` prints) names every ONNX op type the export writes
    for a layer of that type, or the activation's form (ACTIVATION_FORMS) where the layer has an activation."""
    from cnncalc.onnx.export import ACTIVATION_FORMS, MAPPINGS
    graph = cnncalc.load(text)
    layers = {node.name: node for node in graph.layers}
    seen = set()
    for op in export(graph).model.graph.node:
        if op.op_type == "Constant":
            continue
        node = layers[op.name.split("/")[0]]
        seen.add(node.type)
        forms = [MAPPINGS[node.type].form] + [ACTIVATION_FORMS[getattr(node.layer, key)] for key in
                                              ("activation", "gate") if getattr(node.layer, key, "none") != "none"]
        assert any(op.op_type in re.findall(r"[A-Za-z]+", form) for form in forms), (node.type, op.op_type, forms)
    assert seen == {node.type for node in graph.layers}
