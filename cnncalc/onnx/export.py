"""`cnncalc export`: a spec as an ONNX graph (opset 17), batch 1, NCHW, with zero or random weights.

Conventions: the graph input is the network input as (1, C, H, W) (or (1, F)), float32; every layer's output is
the ONNX value named after the layer (chunk K of a split: `NAME.K`); helper values of a layer that takes several
ONNX ops are named `NAME/...`. The graph's outputs are the layers that no layer reads. Initializers are exactly
the layer parameters and buffers (batchnorm's running mean and variance), so their element count is cnncalc's
`params + buffers`; the other constants (Clip bounds, Reshape shapes, Pad sizes, Resize scales) are Constant
nodes. Padding (`same` included) is written out per side as cnncalc's geometry resolves it. One function per
layer type (`MAPPINGS`, each with the ONNX form it writes, in words, which `cnncalc layers --rule onnx` prints and
`cnncalc import` reads back); a type without one, or an adaptive pool whose windows differ in size, is refused by
name.
`onnx` is imported here only (`pip install 'cnncalc[onnx]'`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, cast

from ..errors import SpecError
from ..extras import require
from ..graph import Graph, Node
from ..layers.conv import Conv, ConvTranspose, Linear
from ..layers.elementwise import Dropout, LocalResponseNorm
from ..layers.merge import ChannelShuffle
from ..layers.pool import AvgPool, MaxPool, _AdaptivePool
from ..layers.resample import Pad, Upsample
from ..layers.squeeze_excitation import SqueezeExcitation

if TYPE_CHECKING:
    import numpy as np
    from onnx import ModelProto

OPSET = 17
"""The ONNX opset the exported graph declares (Gelu, opset 20, is written in its erf form)."""

WEIGHTS = ("zeros", "random")


def _onnx() -> Any:
    return require("onnx", "onnx", "cnncalc export")


@dataclass
class _Builder:
    """The nodes and initializers written so far, and how the weights are drawn."""

    onnx: Any
    weights: str
    rng: Any
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)

    def op(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output

    def const(self, name: str, values: Any, dtype: str = "int64") -> str:
        """A Constant node (not an initializer: it is no parameter)."""
        import numpy as np
        array = np.array(values, dtype=dtype)
        tensor = self.onnx.numpy_helper.from_array(array, name)
        self.nodes.append(self.onnx.helper.make_node("Constant", [], [name], name=name, value=tensor))
        return name

    def param(self, name: str, shape: tuple[int, ...], positive: bool = False) -> str:
        """An initializer of `shape`: zeros, or standard normal (uniform in [0.5, 1.5) where it must be positive,
        a variance), float32."""
        import numpy as np
        if self.weights == "zeros":
            array = np.zeros(shape, dtype=np.float32)
        elif positive:
            array = self.rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            array = self.rng.standard_normal(shape).astype(np.float32)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name


Writer = Callable[[_Builder, Node, list[str], str], list[str]]
"""(builder, node, its input value names, its output value name) -> the value names of its outputs."""


@dataclass(frozen=True)
class Mapping:
    """How one layer type exports: the function that writes its nodes, and the ONNX form it writes, in words."""

    write: Writer
    form: str
    """The ONNX ops (by their op type) and attributes the layer becomes."""

    def __call__(self, b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
        return self.write(b, node, x, out)


def _refuse(node: Node, message: str, hint: str | None = None) -> SpecError:
    return SpecError(f"cannot export layer {node.name!r} ({node.type}) to ONNX: {message}",
                     node.entry.pos if node.entry else None, hint)


def _activation(b: _Builder, name: str, x: str, out: str, slope: float = 0.01) -> str:
    """`name` applied to x, its result named `out`."""
    if name == "relu":
        return b.op("Relu", [x], out)
    if name == "relu6":
        return b.op("Clip", [x, b.const(f"{out}/min", 0.0, "float32"), b.const(f"{out}/max", 6.0, "float32")], out)
    if name == "leaky_relu":
        return b.op("LeakyRelu", [x], out, alpha=slope)
    if name == "sigmoid":
        return b.op("Sigmoid", [x], out)
    if name == "tanh":
        return b.op("Tanh", [x], out)
    if name == "gelu":  # x * 0.5 * (1 + erf(x / sqrt(2))), Gelu's definition (opset 20)
        scaled = b.op("Div", [x, b.const(f"{out}/sqrt2", math.sqrt(2.0), "float32")], f"{out}/scaled")
        one_plus = b.op("Add", [b.op("Erf", [scaled], f"{out}/erf"), b.const(f"{out}/one", 1.0, "float32")],
                        f"{out}/one_plus")
        half = b.op("Mul", [x, b.const(f"{out}/half", 0.5, "float32")], f"{out}/half_x")
        return b.op("Mul", [half, one_plus], out)
    if name == "silu":
        return b.op("Mul", [x, b.op("Sigmoid", [x], f"{out}/sigmoid")], out)
    if name == "hardswish":
        return b.op("HardSwish", [x], out)
    if name == "hardsigmoid":  # PyTorch's relu6(x + 3) / 6 (ONNX's default alpha is 0.2)
        return b.op("HardSigmoid", [x], out, alpha=1.0 / 6.0, beta=0.5)
    if name == "softmax":
        return b.op("Softmax", [x], out, axis=1)
    raise ValueError(name)


ACTIVATION_FORMS = {
    "relu": "Relu", "relu6": "Clip(0, 6)", "leaky_relu": "LeakyRelu (alpha = slope)", "sigmoid": "Sigmoid",
    "tanh": "Tanh", "gelu": "its erf form, Gelu's definition (Gelu itself is opset 20): Div by sqrt(2), Erf, Add 1, "
    "Mul by 0.5 x", "silu": "Mul(x, Sigmoid(x))", "hardswish": "HardSwish",
    "hardsigmoid": "HardSigmoid (alpha 1/6, beta 0.5: PyTorch's relu6(x + 3) / 6)", "softmax": "Softmax (axis 1)",
}
"""The ONNX form `_activation` writes for each activation, in words."""


def _with_activation(b: _Builder, activation: str, op: str, inputs: list[str], out: str, **attributes) -> list[str]:
    """`op` with the layer's own `activation:` after it: the op writes `out` itself when there is none, else a value
    `out/op` that the activation reads."""
    if activation == "none":
        return [b.op(op, inputs, out, **attributes)]
    raw = b.op(op, inputs, f"{out}/{op.lower()}", **attributes)
    return [_activation(b, activation, raw, out)]


def _pads(node: Node) -> list[int]:
    """ONNX pads [top, left, bottom, right] of a windowed layer, as cnncalc's geometry resolves them."""
    rows, cols = cast("Conv | MaxPool | AvgPool", node.layer).windows(node.input_shapes[0])
    return [int(rows.before), int(cols.before), int(rows.after), int(cols.after)]


def _conv(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(Conv, node.layer)
    c_in = int(node.input_shapes[0][0])
    w = b.param(f"{node.name}.weight", (layer.out, c_in // layer.groups, *layer.kernel))
    inputs = [x[0], w] + ([b.param(f"{node.name}.bias", (layer.out,))] if layer.bias else [])
    return _with_activation(b, layer.activation, "Conv", inputs, out, kernel_shape=list(layer.kernel),
                            strides=list(layer.stride), dilations=list(layer.dilation), pads=_pads(node),
                            group=layer.groups)


def _conv_transpose(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(ConvTranspose, node.layer)
    c_in = int(node.input_shapes[0][0])
    w = b.param(f"{node.name}.weight", (c_in, layer.out // layer.groups, *layer.kernel))
    inputs = [x[0], w] + ([b.param(f"{node.name}.bias", (layer.out,))] if layer.bias else [])
    (ph, pw) = layer.padding
    return _with_activation(b, layer.activation, "ConvTranspose", inputs, out, kernel_shape=list(layer.kernel),
                            strides=list(layer.stride), dilations=list(layer.dilation), pads=[ph, pw, ph, pw],
                            output_padding=list(layer.output_padding), group=layer.groups)


def _linear(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(Linear, node.layer)
    shape = node.input_shapes[0]
    features = int(math.prod(shape))
    flat = x[0] if len(shape) == 1 else b.op("Flatten", [x[0]], f"{out}/flatten", axis=1)
    w = b.param(f"{node.name}.weight", (layer.out, features))
    inputs = [flat, w] + ([b.param(f"{node.name}.bias", (layer.out,))] if layer.bias else [])
    return _with_activation(b, layer.activation, "Gemm", inputs, out, transB=1)


def _maxpool(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(MaxPool, node.layer)
    return [b.op("MaxPool", x, out, kernel_shape=list(layer.kernel), strides=list(layer.stride or layer.kernel),
                 pads=_pads(node), dilations=list(layer.dilation), ceil_mode=int(layer.ceil_mode))]


def _avgpool(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(AvgPool, node.layer)  # cnncalc (and PyTorch's default) divide by the whole window, padding included
    return [b.op("AveragePool", x, out, kernel_shape=list(layer.kernel), strides=list(layer.stride or layer.kernel),
                 pads=_pads(node), ceil_mode=int(layer.ceil_mode), count_include_pad=1)]


def _adaptive(op_type: str) -> Writer:
    def mapping(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
        _, h, w = node.input_shapes[0]
        oh, ow = cast(_AdaptivePool, node.layer).output_size
        if (oh, ow) == (1, 1):  # as PyTorch exports AdaptiveAvgPool2d(1): its global pool
            return [b.op(f"Global{op_type}", x, out)]
        if h % oh or w % ow:
            raise _refuse(node, f"its windows differ in size ({h}x{w} to {oh}x{ow}); ONNX pools only by one "
                                f"window", hint="use an input size that the output size divides")
        kernel = [h // oh, w // ow]
        return [b.op(op_type, x, out, kernel_shape=kernel, strides=kernel)]
    return mapping


def _global(op_type: str) -> Writer:
    return lambda b, node, x, out: [b.op(op_type, x, out)]


def _batchnorm(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    c = int(node.input_shapes[0][0])
    stats = [b.param(f"{node.name}.weight", (c,)), b.param(f"{node.name}.bias", (c,)),
             b.param(f"{node.name}.running_mean", (c,)), b.param(f"{node.name}.running_var", (c,), positive=True)]
    return [b.op("BatchNormalization", x + stats, out, epsilon=1e-5)]


def _lrn(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(LocalResponseNorm, node.layer)
    return [b.op("LRN", x, out, size=layer.size, alpha=layer.alpha, beta=layer.beta, bias=layer.k)]


def _plain_activation(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    return [_activation(b, node.type, x[0], out, getattr(node.layer, "slope", 0.01))]


def _flatten(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    return [b.op("Flatten", x, out, axis=1)]


def _dropout(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    return [b.op("Dropout", [x[0], b.const(f"{out}/ratio", cast(Dropout, node.layer).p, "float32")], out)]


def _identity(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    return [b.op("Identity", x, out)]


def _concat(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    return [b.op("Concat", x, out, axis=1)]


def _binary(op_type: str) -> Writer:
    def mapping(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
        value = x[0]
        for k, other in enumerate(x[1:], 1):  # inputs beyond two: a chain, one op per extra input
            value = b.op(op_type, [value, other], out if k == len(x) - 1 else f"{out}/{k}")
        return [value]
    return mapping


def _split(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    names = [f"{node.name}.{k}" for k in range(len(node.outputs))]
    sizes = b.const(f"{out}/sizes", [int(s[0]) for s in node.outputs])
    b.nodes.append(b.onnx.helper.make_node("Split", [x[0], sizes], names, name=out, axis=1))
    return names


def _channel_shuffle(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    c, h, w = (int(d) for d in node.input_shapes[0])
    g = cast(ChannelShuffle, node.layer).groups
    grouped = b.op("Reshape", [x[0], b.const(f"{out}/grouped_shape", [1, g, c // g, h, w])], f"{out}/grouped")
    swapped = b.op("Transpose", [grouped], f"{out}/transposed", perm=[0, 2, 1, 3, 4])
    return [b.op("Reshape", [swapped, b.const(f"{out}/shape", [1, c, h, w])], out)]


def _pad(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    (t, bottom), (left, r) = cast(Pad, node.layer).sides(node.input_shapes[0])
    pads = b.const(f"{out}/pads", [0, 0, int(t), int(left), 0, 0, int(bottom), int(r)])
    return [b.op("Pad", [x[0], pads], out, mode="constant")]


def _upsample(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    layer = cast(Upsample, node.layer)
    if layer.mode == "nearest":  # PyTorch: src = floor(dst * in / out)
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners" if layer.align_corners
                     else "pytorch_half_pixel")
    if layer.size is not None:
        c = int(node.input_shapes[0][0])
        inputs = [x[0], "", "", b.const(f"{out}/sizes", [1, c, *layer.size])]
    else:
        inputs = [x[0], "", b.const(f"{out}/scales", [1.0, 1.0, *map(float, layer.scale or ())], "float32")]
    return [b.op("Resize", inputs, out, **attrs)]


def _squeeze_excitation(b: _Builder, node: Node, x: list[str], out: str) -> list[str]:
    """Its six ops: GlobalAveragePool, Conv 1x1 C->S, activation, Conv 1x1 S->C, gate, Mul with the input."""
    layer = cast(SqueezeExcitation, node.layer)
    c, s = int(node.input_shapes[0][0]), layer.squeeze
    pooled = b.op("GlobalAveragePool", x, f"{out}/avgpool")
    fc1 = b.op("Conv", [pooled, b.param(f"{node.name}.fc1.weight", (s, c, 1, 1)),
                        b.param(f"{node.name}.fc1.bias", (s,))], f"{out}/fc1", kernel_shape=[1, 1])
    act = _activation(b, layer.activation, fc1, f"{out}/activation")
    fc2 = b.op("Conv", [act, b.param(f"{node.name}.fc2.weight", (c, s, 1, 1)),
                        b.param(f"{node.name}.fc2.bias", (c,))], f"{out}/fc2", kernel_shape=[1, 1])
    gate = _activation(b, layer.gate, fc2, f"{out}/gate")
    return [b.op("Mul", [x[0], gate], out)]


_THEN_ACTIVATION = "; with `activation:`, the activation's form after it"
_ADAPTIVE = ("to 1x1: Global{0} (as PyTorch exports it); else {0} with kernel = stride = input / output size; "
             "refused when the output size does not divide the input (the windows differ in size)")

MAPPINGS: dict[str, Mapping] = {
    "conv": Mapping(_conv, "Conv (group, dilations, strides; pads per side as cnncalc resolves them, `same` and "
                           "`half` included)" + _THEN_ACTIVATION),
    "conv_transpose": Mapping(_conv_transpose, "ConvTranspose (pads, output_padding, group, dilations)"
                              + _THEN_ACTIVATION),
    "linear": Mapping(_linear, "Gemm (transB 1), after a Flatten (axis 1) when its input is a map" + _THEN_ACTIVATION),
    "maxpool": Mapping(_maxpool, "MaxPool (dilations, ceil_mode, pads per side)"),
    "avgpool": Mapping(_avgpool, "AveragePool (ceil_mode, count_include_pad 1, pads per side)"),
    "adaptive_avgpool": Mapping(_adaptive("AveragePool"), _ADAPTIVE.format("AveragePool")),
    "adaptive_maxpool": Mapping(_adaptive("MaxPool"), _ADAPTIVE.format("MaxPool")),
    "global_avgpool": Mapping(_global("GlobalAveragePool"), "GlobalAveragePool"),
    "global_maxpool": Mapping(_global("GlobalMaxPool"), "GlobalMaxPool"),
    "batchnorm": Mapping(_batchnorm, "BatchNormalization (epsilon 1e-5; running mean and variance as initializers)"),
    "lrn": Mapping(_lrn, "LRN (size, alpha, beta, bias = k)"),
    **{name: Mapping(_plain_activation, form) for name, form in ACTIVATION_FORMS.items()},
    "flatten": Mapping(_flatten, "Flatten (axis 1)"),
    "dropout": Mapping(_dropout, "Dropout (ratio p; the identity at inference)"),
    "identity": Mapping(_identity, "Identity"), "concat": Mapping(_concat, "Concat (axis 1)"),
    "add": Mapping(_binary("Add"), "Add (inputs beyond two: a chain of Adds)"),
    "mul": Mapping(_binary("Mul"), "Mul (inputs beyond two: a chain of Muls; a C x 1 x 1 input broadcast)"),
    "split": Mapping(_split, "Split (axis 1; chunk K is the value NAME.K)"),
    "channel_shuffle": Mapping(_channel_shuffle, "Reshape (1, g, C/g, H, W), Transpose (0, 2, 1, 3, 4), Reshape "
                                                 "(1, C, H, W)"),
    "pad": Mapping(_pad, "Pad (constant zeros)"),
    "upsample": Mapping(_upsample, "Resize: nearest with asymmetric coordinates and floor (PyTorch's rule), bilinear "
                                   "as linear with align_corners or pytorch_half_pixel; `scale` as scales, `size` as "
                                   "sizes"),
    "squeeze_excitation": Mapping(_squeeze_excitation, "GlobalAveragePool, Conv 1x1, the activation's form, Conv 1x1, "
                                                       "the gate's form, Mul with the input"),
}
"""The ONNX mapping of every layer type that exports."""


@dataclass(frozen=True)
class Exported:
    """The ONNX model and, per layer name, the ONNX value names of its outputs."""

    model: "ModelProto"
    values: dict[str, tuple[str, ...]]


def _dims(shape: tuple) -> list[int]:
    return [1, *(int(d) for d in shape)]


def export(graph: Graph, weights: str = "zeros", seed: int = 0) -> Exported:
    """`graph` as an ONNX model (opset `OPSET`, batch 1); SpecError for a layer type without a mapping, for an
    unknown `weights` (zeros or random), and when onnx is not installed."""
    if weights not in WEIGHTS:
        raise SpecError(f"--weights is zeros or random, got {weights!r}")
    for node in graph.layers:  # refuse before any work
        if node.type not in MAPPINGS:
            raise _refuse(node, "no ONNX mapping for this layer type",
                          hint="export supports " + ", ".join(sorted(MAPPINGS)))
    onnx = _onnx()
    import numpy as np
    b = _Builder(onnx, weights, np.random.default_rng(seed))
    first = graph.nodes[0]
    values: dict[str, tuple[str, ...]] = {first.name: (first.name,)}
    by_index: dict[int, tuple[str, ...]] = {0: (first.name,)}
    read: set[int] = set()
    for node in graph.layers:
        inputs = [by_index[i][k] for i, k in node.inputs]
        read.update(i for i, _ in node.inputs)
        names = tuple(MAPPINGS[node.type](b, node, inputs, node.name))
        by_index[node.index] = values[node.name] = names
    float32 = onnx.TensorProto.FLOAT
    graph_input = onnx.helper.make_tensor_value_info(first.name, float32, _dims(graph.input))
    outputs = [onnx.helper.make_tensor_value_info(name, float32, _dims(shape))
               for node in graph.layers if node.index not in read
               for name, shape in zip(by_index[node.index], node.outputs)]
    body = onnx.helper.make_graph(b.nodes, graph.name or "cnncalc", [graph_input], outputs, b.initializers)
    model = onnx.helper.make_model(body, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="cnncalc")
    model.ir_version = 8  # opset 17's IR version: readable by onnxruntime releases since 1.13
    return Exported(model, values)


def export_bytes(graph: Graph, weights: str = "zeros", seed: int = 0) -> bytes:
    """The serialized ONNX model of `export`."""
    return export(graph, weights, seed).model.SerializeToString()
