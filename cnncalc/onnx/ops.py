"""The handlers of `cnncalc import`: one per ONNX op type (`HANDLERS`), each reading a node, and the nodes it folds
in (an activation, a bias Add, the parts of gelu's erf form, squeeze-excitation, a channel shuffle), into one spec
entry through the `_Reader` of cnncalc.onnx.model; the integer arithmetic on shapes that exporters leave in the
graph (`_shape_arithmetic`) and the values of small constants (`_const`).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..layers.elementwise import ACTIVATION_NAMES
from .model import MAX_DIM, SMALL_CONSTANT, Handler, Tensor, _Activation, _Reader, _spec_name, _Unsupported

_SAME_SIZE = "_output_size_is_input_size"
"""Marks an adaptive pool whose output size is its input's, known only once the shapes are."""


def _pair(values: list[int]) -> int | list[int]:
    return values[0] if len(values) == 2 and values[0] == values[1] else list(values)


def _ints(values: Any, what: str) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if type(v) is not int or abs(v) > MAX_DIM:
            raise _Unsupported(f"{what} holds {v!r}, not an integer in range")
        out.append(v)
    return out


def _spatial(r: _Reader, pos: int, x: str) -> Tensor:
    t = r.tensor(x)
    if t.rank != 4:
        raise _Unsupported(f"it needs an (N, C, H, W) input, and {x!r} has rank {t.rank}")
    return t


def _window(r: _Reader, pos: int, kernel: list[int]) -> dict:
    """kernel, stride, dilation and padding of a Conv or pool, as spec attributes (stride not yet defaulted)."""
    a = r.attrs(pos)
    if len(kernel) != 2:
        raise _Unsupported(f"it is {len(kernel)}-D; cnncalc reads 2-D windows")
    auto_pad = a.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    stride = _ints(a.get("strides", [1, 1]), "strides")
    dilation = _ints(a.get("dilations", [1, 1]), "dilations")
    if len(stride) != 2 or len(dilation) != 2 or min(stride + dilation) < 1:
        raise _Unsupported("its strides or dilations are not two positive integers")
    if auto_pad == "SAME_UPPER":
        padding: Any = "same"
    elif auto_pad == "VALID":
        padding = 0
    elif auto_pad == "NOTSET":
        pads = _ints(a.get("pads", [0, 0, 0, 0]), "pads")
        if len(pads) != 4 or min(pads) < 0:
            raise _Unsupported(f"its pads {pads} are not four sizes of at least 0")
        top, left, bottom, right = pads
        padding = _pair([top, left]) if (top, left) == (bottom, right) else [top, bottom, left, right]
    else:
        raise _Unsupported(f"auto_pad {auto_pad} (the odd padding before the input) has no spec form")
    return {"kernel": _pair(kernel), "stride": _pair(stride), "padding": padding, "dilation": _pair(dilation)}


def _defaults(attrs: dict, **defaults: Any) -> dict:
    return {k: v for k, v in attrs.items() if k not in defaults or v != defaults[k]}


def _fold(r: _Reader, pos: int, raw: str) -> _Activation | None:
    """The activation that alone reads `raw` (the output of the weighted node at `pos`), to be the layer's own."""
    readers = r.consumers.get(raw, [])
    if raw in r.outputs or not readers or len(readers) > 2:
        return None
    match = _activation_at(r, min(readers), raw)
    if match is None or set(readers) - set(match.nodes) or not r.belongs(raw, match.output):
        return None
    if match.kind not in ACTIVATION_NAMES or match.attrs:  # a leaky_relu of another slope stays a layer
        return None
    return match


def _activation_at(r: _Reader, pos: int, x: str) -> _Activation | None:
    """The activation pattern that begins at node `pos`, which reads `x`; None if it is none."""
    node = r.nodes[pos]
    op = node.op_type
    if list(node.input[:1]) != [x]:
        if op == "Mul" and len(node.input) == 2 and node.input[1] == x:
            pass
        else:
            return None
    out = node.output[0] if node.output else ""
    a = r.attrs(pos)
    simple = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish", "Gelu": "gelu"}
    if op == "Sigmoid":
        readers = r.consumers.get(out, [])
        if len(readers) == 1 and out not in r.outputs:
            mul = r.nodes[readers[0]]
            if mul.op_type == "Mul" and sorted(mul.input) == sorted([x, out]) and r.belongs(out, mul.output[0]):
                return _Activation("silu", {}, (pos, readers[0]), mul.output[0])
        return _Activation("sigmoid", {}, (pos,), out)
    if op in simple:
        if op == "Gelu" and a.get("approximate", b"none") not in (b"none", "none"):
            return None
        return _Activation(simple[op], {}, (pos,), out)
    if op == "LeakyRelu":
        slope = _float32(a.get("alpha", 0.01))
        return _Activation("leaky_relu", {} if slope == 0.01 else {"slope": slope}, (pos,), out)
    if op == "HardSigmoid":
        return _Activation("hardsigmoid", {}, (pos,), out)
    if op == "Softmax":
        axis = a.get("axis", -1 if _opset(r) >= 13 else 1)
        rank = r.tensor(x).rank if r.is_tensor(x) else 4
        return _Activation("softmax", {}, (pos,), out) if axis in (1, 1 - rank) else None
    if op == "Clip":
        low, high = _clip_bounds(r, pos)
        if (low, high) == (0.0, 6.0):
            return _Activation("relu6", {}, (pos,), out)
        return None
    if op == "Div":
        return _gelu_erf(r, pos, x)
    return None


def _clip_bounds(r: _Reader, pos: int) -> tuple[float | None, float | None]:
    node = r.nodes[pos]
    a = r.attrs(pos)
    if "min" in a or "max" in a:  # opset < 11
        return a.get("min"), a.get("max")
    bounds: list[float | None] = []
    for k in (1, 2):
        value = node.input[k] if len(node.input) > k else ""
        if not value:
            bounds.append(None)
            continue
        try:
            values = _const(r, value)
        except _Unsupported:
            return (None, None)
        bounds.append(float(values[0]) if len(values) == 1 else None)
    return bounds[0], bounds[1]


def _scalar(r: _Reader, value: str) -> float | None:
    try:
        values = _const(r, value)
    except _Unsupported:
        return None
    return float(values[0]) if len(values) == 1 else None


def _other(node: Any, value: str) -> str | None:
    """The other input of a binary node that reads `value`."""
    if len(node.input) != 2 or value not in node.input:
        return None
    return node.input[1] if node.input[0] == value else node.input[0]


def _single(r: _Reader, value: str, op_type: str) -> int | None:
    pos = r.only_consumer(value)
    return pos if pos is not None and r.nodes[pos].op_type == op_type else None


def _gelu_erf(r: _Reader, div: int, x: str) -> _Activation | None:
    """x * 0.5 * (1 + erf(x / sqrt 2)) as cnncalc exports it (Mul(Mul(x, 0.5), 1 + erf)) or as PyTorch does
    (Mul(Mul(x, 1 + erf), 0.5)), starting at the Div."""
    node = r.nodes[div]
    scale = _scalar(r, node.input[1]) if len(node.input) == 2 else None
    if scale is None or abs(scale - math.sqrt(2.0)) > 1e-4:
        return None
    erf = _single(r, node.output[0], "Erf")
    if erf is None:
        return None
    add = _single(r, r.nodes[erf].output[0], "Add")
    if add is None or _scalar(r, _other(r.nodes[add], r.nodes[erf].output[0]) or "") != 1.0:
        return None
    one_plus = r.nodes[add].output[0]
    last = _single(r, one_plus, "Mul")
    half = _other(r.nodes[last], one_plus) if last is not None else None
    if last is None or half is None:
        return None
    if half == x:  # PyTorch: (x * (1 + erf)) * 0.5
        end = _single(r, r.nodes[last].output[0], "Mul")
        if end is None or _scalar(r, _other(r.nodes[end], r.nodes[last].output[0]) or "") != 0.5:
            return None
        nodes = (div, erf, add, last, end)
        out = r.nodes[end].output[0]
    else:  # cnncalc: (x * 0.5) * (1 + erf)
        producer = next((p for p in r.consumers.get(x, []) if r.nodes[p].op_type == "Mul"
                         and half in r.nodes[p].output), None)
        if producer is None or _scalar(r, _other(r.nodes[producer], x) or "") != 0.5 \
                or r.only_consumer(half) != last:
            return None
        nodes = (div, erf, add, producer, last)
        out = r.nodes[last].output[0]
    if not all(r.belongs(r.nodes[p].output[0], out) for p in nodes if r.nodes[p].output[0] != out):
        return None
    return _Activation("gelu", {}, nodes, out)


def _finish(r: _Reader, pos: int, raw: str) -> tuple[str, str]:
    """(activation, output value) of a weighted node whose output is `raw`: a folded activation, or none."""
    match = _fold(r, pos, raw)
    if match is None:
        return "none", raw
    r.done.update(match.nodes)
    return match.kind, match.output


def _weighted_name(r: _Reader, pos: int, output: str) -> str:
    """A weighted layer's name: its node's, or in cnncalc's export (`NAME/conv` then the activation NAME) the
    activation's."""
    if r.by_names and output != r.nodes[pos].output[0]:
        return r.named(output)
    return r.layer_name(pos)


def _conv_node(r: _Reader, pos: int) -> tuple[Any, Any, list[int], dict, int, bool]:
    """(node, its input, its weight's dims, its attributes, group, whether it has a bias) of a Conv or
    ConvTranspose node."""
    node = r.nodes[pos]
    x = _spatial(r, pos, node.input[0])
    w = r.dims(node.input[1])
    a = r.attrs(pos)
    return node, x, w, a, a.get("group", 1), len(node.input) > 2 and bool(node.input[2])


def _conv(r: _Reader, pos: int) -> None:
    node, x, w, a, group, bias = _conv_node(r, pos)
    if len(w) != 4 or group < 1 or x.channels is None or w[1] * group != x.channels:
        raise _Unsupported(f"its weight {w} does not fit an input of {x.channels} channels in {group} groups")
    geometry = _window(r, pos, list(a.get("kernel_shape", w[2:])))
    activation, out = _finish(r, pos, node.output[0])
    attrs = {"out": w[0], **_defaults(geometry, stride=1, padding=0, dilation=1), "groups": group, "bias": bias,
             "activation": activation}
    attrs = _defaults(attrs, groups=1, bias=True, activation="none")
    r.emit(pos, "conv", [node.input[0]], [out], 4, w[0], attrs, name=_weighted_name(r, pos, out))


def _conv_transpose(r: _Reader, pos: int) -> None:
    node, x, w, a, group, bias = _conv_node(r, pos)
    if len(w) != 4 or group < 1 or w[0] != x.channels:
        raise _Unsupported(f"its weight {w} does not fit an input of {x.channels} channels")
    if "output_shape" in a or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise _Unsupported("output_shape and auto_pad have no spec form; write pads")
    geometry = _window(r, pos, list(a.get("kernel_shape", w[2:])))
    padding = geometry["padding"]
    if not isinstance(padding, int) and len(padding) == 4:
        raise _Unsupported("its pads differ between the two sides of an axis")
    out_pad = _ints(a.get("output_padding", [0, 0]), "output_padding")
    activation, out = _finish(r, pos, node.output[0])
    attrs = {"out": w[1] * group, "kernel": geometry["kernel"], "stride": geometry["stride"], "padding": padding,
             "output_padding": _pair(out_pad), "dilation": geometry["dilation"], "groups": group, "bias": bias,
             "activation": activation}
    attrs = _defaults(attrs, stride=1, padding=0, output_padding=0, dilation=1, groups=1, bias=True,
                      activation="none")
    r.emit(pos, "conv_transpose", [node.input[0]], [out], 4, w[1] * group, attrs, name=_weighted_name(r, pos, out))


def _gemm(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    a = r.attrs(pos)
    if a.get("transA", 0):
        raise _Unsupported("transA = 1 has no spec form")
    x = r.tensor(node.input[0])
    if x.rank != 2:
        raise _Unsupported(f"its input has rank {x.rank}; Gemm multiplies (N, F) matrices")
    w = r.dims(node.input[1])
    if len(w) != 2:
        raise _Unsupported(f"its weight {w} is not a matrix")
    out_features = w[0] if a.get("transB", 0) else w[1]
    bias = len(node.input) > 2 and bool(node.input[2])
    activation, out = _finish(r, pos, node.output[0])
    attrs = _defaults({"out": out_features, "bias": bias, "activation": activation}, bias=True, activation="none")
    r.emit(pos, "linear", [node.input[0]], [out], 2, out_features, attrs, name=_weighted_name(r, pos, out))


def _matmul(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    if x.rank != 2 or node.input[1] not in r.initializers:
        raise _Unsupported("only MatMul of an (N, F) input by a weight matrix (an initializer) is linear")
    w = r.dims(node.input[1])
    if len(w) != 2:
        raise _Unsupported(f"its weight {w} is not a matrix")
    raw = node.output[0]
    add = _single(r, raw, "Add")
    bias = False
    if add is not None:
        other = _other(r.nodes[add], raw)
        if other is not None and other in r.initializers and r.dims(other) in ([w[1]], [1, w[1]]) \
                and r.belongs(raw, r.nodes[add].output[0]):
            r.done.add(add)
            raw, bias = r.nodes[add].output[0], True
    activation, out = _finish(r, pos, raw)
    attrs = _defaults({"out": w[1], "bias": bias, "activation": activation}, bias=True, activation="none")
    r.emit(pos, "linear", [node.input[0]], [out], 2, w[1], attrs, name=_weighted_name(r, pos, out))


def _pool(type_name: str) -> Handler:
    def handler(r: _Reader, pos: int) -> None:
        node = r.nodes[pos]
        x = _spatial(r, pos, node.input[0])
        if len(node.output) > 1 and node.output[1]:
            raise _Unsupported("its second output (the indices of the maxima) has no spec form")
        a = r.attrs(pos)
        kernel = _ints(a.get("kernel_shape", []), "kernel_shape")
        geometry = _window(r, pos, kernel)
        if type_name == "avgpool":
            geometry.pop("dilation")
        attrs = {**geometry, "ceil_mode": bool(a.get("ceil_mode", 0))}
        if attrs["stride"] == attrs["kernel"]:
            attrs.pop("stride")
        kind = type_name
        if attrs == {"kernel": 1, "ceil_mode": False, "padding": 0, **({"dilation": 1} if "dilation" in attrs else {})}:
            attrs = {_SAME_SIZE: True}  # a 1x1 window moving by 1: the trace of an adaptive pool to its input's size
            kind = "adaptive_" + type_name
        r.emit(pos, kind, [node.input[0]], [node.output[0]], 4, x.channels,
               _defaults(attrs, padding=0, dilation=1, ceil_mode=False))
    return handler


def _global(type_name: str) -> Handler:
    def handler(r: _Reader, pos: int) -> None:
        node = r.nodes[pos]
        x = _spatial(r, pos, node.input[0])
        if type_name == "global_avgpool" and _squeeze_excitation(r, pos, x):
            return
        r.emit(pos, type_name, [node.input[0]], [node.output[0]], 4, x.channels)
    return handler


def _squeeze_excitation(r: _Reader, pos: int, x: Tensor) -> bool:
    """GlobalAveragePool -> Conv 1x1 (bias) -> activation -> Conv 1x1 (bias) -> gate -> Mul with the input: one
    squeeze_excitation layer (as cnncalc exports it, and as PyTorch traces torchvision's SqueezeExcitation)."""
    node = r.nodes[pos]
    source = node.input[0]
    fc1 = _single(r, node.output[0], "Conv")
    if fc1 is None:
        return False
    chain = [pos, fc1]
    w1 = r.dims(r.nodes[fc1].input[1])
    act1 = _activation_after(r, r.nodes[fc1].output[0])
    if act1 is None or len(w1) != 4 or w1[2:] != [1, 1] or len(r.nodes[fc1].input) < 3:
        return False
    chain += act1.nodes
    fc2 = _single(r, act1.output, "Conv")
    if fc2 is None:
        return False
    w2 = r.dims(r.nodes[fc2].input[1])
    if w2 != [x.channels, w1[0], 1, 1] or len(r.nodes[fc2].input) < 3 or w1[1] != x.channels:
        return False
    chain.append(fc2)
    gate = _activation_after(r, r.nodes[fc2].output[0])
    if gate is None or gate.kind not in ("sigmoid", "hardsigmoid"):
        return False
    chain += gate.nodes
    mul = _single(r, gate.output, "Mul")
    if mul is None or _other(r.nodes[mul], gate.output) != source:
        return False
    chain.append(mul)
    out = r.nodes[mul].output[0]
    if not all(r.belongs(v, out) for p in chain[:-1] for v in r.nodes[p].output if v):
        return False
    if any(a.get("group", 1) != 1 or a.get("pads", [0] * 4) != [0] * 4 or a.get("strides", [1, 1]) != [1, 1]
           for a in (r.attrs(fc1), r.attrs(fc2))) or act1.kind not in ACTIVATION_NAMES or act1.attrs:
        return False
    r.done.update(chain)
    attrs = _defaults({"squeeze": w1[0], "activation": act1.kind, "gate": gate.kind}, activation="relu",
                      gate="sigmoid")
    # named by its product, the node at the module's own scope in PyTorch's export (`/features.1/block.1/Mul`)
    name = r.named(out) if r.by_names else r.layer_name(mul)
    r.emit(pos, "squeeze_excitation", [source], [out], 4, x.channels, attrs, name=name)
    return True


def _activation_after(r: _Reader, value: str) -> _Activation | None:
    readers = r.consumers.get(value, [])
    if value in r.outputs or not readers or len(readers) > 2:
        return None
    match = _activation_at(r, min(readers), value)
    if match is None or set(readers) - set(match.nodes):
        return None
    return match


def _activation(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = node.input[0] if node.input else ""
    match = _activation_at(r, pos, x) if r.is_tensor(x) else None
    if match is None:
        raise _Unsupported(_why_not_activation(r, pos))
    t = r.tensor(x)
    r.done.update(match.nodes)
    last = match.nodes[-1]  # the node that writes the activation's output names it
    name = r.named(match.output) if r.by_names else r.layer_name(last)
    r.emit(pos, match.kind, [x], [match.output], t.rank, t.channels, match.attrs, name=name)


def _why_not_activation(r: _Reader, pos: int) -> str:
    op = r.nodes[pos].op_type
    if op == "Clip":
        low, high = _clip_bounds(r, pos)
        return f"Clip({low}, {high}) is no spec layer; only Clip(0, 6) is relu6"
    if op == "Softmax":
        return "only a softmax over the channels is a spec layer"
    if op == "Div":
        return "only the x / sqrt(2) of the erf form of gelu is read"
    if op == "Gelu":
        return "only the exact (erf) Gelu is a spec layer"
    return "its input is not a layer output"


def _batchnorm(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    if r.attrs(pos).get("training_mode", 0) or len([v for v in node.output if v]) > 1:
        raise _Unsupported("batchnorm in training mode (with running-statistics outputs) has no spec form")
    r.emit(pos, "batchnorm", [node.input[0]], [node.output[0]], x.rank, x.channels)


def _lrn(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = _spatial(r, pos, node.input[0])
    a = r.attrs(pos)
    attrs = {"size": a["size"], "alpha": _float32(a.get("alpha", 1e-4)), "beta": _float32(a.get("beta", 0.75)),
             "k": _float32(a.get("bias", 1.0))}
    r.emit(pos, "lrn", [node.input[0]], [node.output[0]], 4, x.channels, _defaults(attrs, alpha=1e-4, beta=0.75,
                                                                                     k=1.0))


def _flatten(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    axis = r.attrs(pos).get("axis", 1)
    if axis not in (1, 1 - x.rank):
        raise _Unsupported(f"it flattens from axis {axis}; a spec's flatten keeps the batch axis alone")
    _to_flat(r, pos, node.input[0], node.output[0], x)


def _to_flat(r: _Reader, pos: int, source: str, out: str, x: Tensor) -> None:
    reader = r.only_consumer(out)
    if x.rank == 2:
        r.values[out] = x  # already flat: nothing to do
        return
    if r.by_names and reader is not None and r.nodes[reader].op_type == "Gemm" \
            and out.startswith(r.nodes[reader].output[0] + "/"):
        r.values[out] = Tensor(x.ref, 2, None)  # cnncalc's linear flattens its input itself
        return
    r.emit(pos, "flatten", [source], [out], 2, None)


def _reshape(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    shape = _ints(_const(r, node.input[1]), "the shape") if len(node.input) > 1 else []
    if len(shape) == 2 and shape[0] in (0, 1, -1) and (shape[1] == -1 or shape[0] == -1 or x.rank == 2 or (
            x.channels and shape[1] > 0 and shape[1] % x.channels == 0)):  # (1, C*H*W): the dynamo exporter's
        _to_flat(r, pos, node.input[0], node.output[0], x)
        return
    if len(shape) == 5 and x.rank == 4 and _channel_shuffle(r, pos, x, shape):
        return
    raise _Unsupported(f"only the Reshape to (N, -1) (a flatten) and the channel shuffle are read, not {shape}")


def _channel_shuffle(r: _Reader, pos: int, x: Tensor, shape: list[int]) -> bool:
    node = r.nodes[pos]
    groups = shape[1]
    transpose = _single(r, node.output[0], "Transpose")
    if transpose is None or r.attrs(transpose).get("perm") != [0, 2, 1, 3, 4]:
        return False
    back = _single(r, r.nodes[transpose].output[0], "Reshape")
    if back is None or x.channels is None or groups < 1 or x.channels % groups or shape[2] not in (
            x.channels // groups, -1):
        return False
    try:
        final = _ints(_const(r, r.nodes[back].input[1]), "the shape")
    except _Unsupported:
        return False
    if len(final) != 4 or final[1] not in (x.channels, -1):
        return False
    out = r.nodes[back].output[0]
    if not all(r.belongs(v, out) for p in (pos, transpose) for v in r.nodes[p].output):
        return False
    r.done.update((transpose, back))
    name = r.unique(_spec_name(out, "")) if r.by_names else r.layer_name(pos)
    r.emit(pos, "channel_shuffle", [node.input[0]], [out], 4, x.channels, {"groups": groups}, name=name)
    return True


def _transpose(r: _Reader, pos: int) -> None:
    """The Transpose (0, 3, 1, 2) of an NHWC graph input (tf2onnx's, without --inputs-as-nchw) is the layout
    change to NCHW: the spec's input is the transposed (C, H, W) and the Transpose's output is `input`."""
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    perm = r.attrs(pos).get("perm")
    if x.ref != "input" or x.rank != 4 or perm != [0, 3, 1, 2] or r.consumers.get(node.input[0]) != [pos]:
        raise _Unsupported(f"only the Transpose (0, 3, 1, 2) of an NHWC network input, read by nothing else, is "
                           f"read (as the layout change to NCHW), not perm {perm}")
    height, width, channels = r.input_shape
    r.input_shape = [channels, height, width]
    r.values[node.output[0]] = Tensor("input", 4, channels)


def _squeeze(r: _Reader, pos: int) -> None:
    """Squeeze of the 1x1 spatial axes of an (N, C, 1, 1) value (Keras' GlobalAveragePooling2D through tf2onnx):
    a flatten. The axes must be given: without them every axis of size 1 goes, the batch's too."""
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    axes = r.attrs(pos).get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _const(r, node.input[1])
    if x.rank != 4 or axes is None or sorted(a % 4 for a in _ints(axes, "axes")) != [2, 3]:
        raise _Unsupported(f"only the Squeeze of axes 2 and 3 of an (N, C, 1, 1) value is read (as a flatten), "
                           f"not axes {axes}")
    _to_flat(r, pos, node.input[0], node.output[0], x)


SHAPE_OPS = frozenset({"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Identity", "Add", "Sub", "Mul",
                       "Div"})
"""Op types of the integer computations on shapes that PyTorch's TorchScript exporter writes for `x.size()`."""


def _shape_arithmetic(r: _Reader, pos: int) -> bool:
    """Evaluate a node that computes integers from the shape of a layer output (Shape, then Gather, Unsqueeze,
    Concat, Cast, Add, Sub, Mul, Div on the result and constants: `x.chunk(2, 1)` is Slices whose bounds are
    Shape -> Gather(1) -> Add(1) -> Div(2) -> Mul(k)) into `r.shapes`; such a node is no layer. The batch is 1 and
    the channels are known; a height or width is None. False for any other node, which its handler reads."""
    node = r.nodes[pos]
    if node.domain not in ("", "ai.onnx") or node.op_type not in SHAPE_OPS:
        return False
    if node.op_type == "Shape":
        x = r.tensor(node.input[0])
        attrs = r.attrs(pos)
        dims = [1, x.channels] + [None] * (x.rank - 2)
        r.shapes[node.output[0]] = dims[attrs.get("start", 0):attrs.get("end", x.rank)]
        return True
    inputs = [v for v in node.input if v]
    if not inputs or any(r.is_tensor(v) for v in inputs) or not any(_evaluated(r, v) for v in inputs):
        return False
    values = [r.shapes[v] if _evaluated(r, v) else _const(r, v) for v in inputs]
    op = node.op_type
    if op == "Gather":
        data, indices = values
        if r.attrs(pos).get("axis", 0) != 0 or any(type(i) is not int or not -len(data) <= i < len(data)
                                                   for i in indices):
            raise _Unsupported(f"it gathers {indices} from a shape of {len(data)} dimensions")
        out = [data[i] for i in indices]
    elif op == "Concat":
        out = [v for value in values for v in value]
    elif op in ("Unsqueeze", "Squeeze", "Cast", "Identity"):
        out = list(values[0])
    else:
        left, right = values
        if len(left) != len(right) and 1 not in (len(left), len(right)):
            raise _Unsupported(f"it combines shapes of {len(left)} and {len(right)} values")
        n = max(len(left), len(right))
        left, right = (v * n if len(v) == 1 else v for v in (left, right))
        out = [None if x is None or y is None else _integer_op(op, x, y) for x, y in zip(left, right)]
    r.shapes[node.output[0]] = out
    return True


def _evaluated(r: _Reader, value: str) -> bool:
    """Whether `value` is in `r.shapes`, evaluating the node that computes it first if the pass has not reached it
    (a Slice reads its sibling Slices' bounds ahead)."""
    if value in r.shapes:
        return True
    pos = r.producer.get(value)
    if pos is None or pos in r.done or not _shape_arithmetic(r, pos):
        return False
    r.done.add(pos)
    return True


def _integer_op(op: str, x: Any, y: Any) -> Any:
    if op == "Add":
        return x + y
    if op == "Sub":
        return x - y
    if op == "Mul":
        return x * y
    if y == 0:
        raise _Unsupported("it divides by 0")
    if isinstance(x, int) and isinstance(y, int):
        return abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)  # ONNX's integer Div truncates
    return x / y


def _reduce_mean(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = _spatial(r, pos, node.input[0])
    a = r.attrs(pos)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _const(r, node.input[1])
    if axes is None or sorted(v % 4 for v in _ints(axes, "axes")) != [2, 3]:
        raise _Unsupported(f"only the mean over H and W (axes 2, 3) is a global average pool, not axes {axes}")
    keep = a.get("keepdims", 1)
    r.emit(pos, "global_avgpool", [node.input[0]], [node.output[0]], 4 if keep else 2, x.channels,
           extra={"call": "method"})


def _concat(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    xs = [r.tensor(v) for v in node.input]
    if len(xs) == 1:  # torch.cat([x]) (DenseNet's first dense layer) is a Concat of one input: x itself
        r.values[node.output[0]] = xs[0]
        return
    rank = xs[0].rank
    if r.attrs(pos).get("axis") not in (1, 1 - rank) or any(t.rank != rank for t in xs):
        raise _Unsupported("only a concatenation along the channels is a spec layer")
    channels = None if any(t.channels is None for t in xs) else sum(t.channels for t in xs)  # type: ignore[misc]
    r.emit(pos, "concat", list(node.input), [node.output[0]], rank, channels)


def _binary(type_name: str) -> Handler:
    def handler(r: _Reader, pos: int) -> None:
        node = r.nodes[pos]
        if len(node.input) != 2 or not all(r.is_tensor(v) for v in node.input):
            raise _Unsupported(f"only the {type_name} of two layer outputs is a spec layer (not of a constant)")
        inputs = list(node.input)
        out = node.output[0]
        while r.by_names:  # cnncalc's chain of one op per extra input, its values named OUT/K
            reader = r.only_consumer(out)
            nxt = r.nodes[reader] if reader is not None else None
            if nxt is None or nxt.op_type != node.op_type or len(nxt.input) != 2 or nxt.input[0] != out \
                    or not r.is_tensor(nxt.input[1]) or not out.startswith(nxt.output[0] + "/"):
                break
            r.done.add(reader)  # type: ignore[arg-type]
            inputs.append(nxt.input[1])
            out = nxt.output[0]
        first = r.tensor(inputs[0])
        big = max((r.tensor(v) for v in inputs), key=lambda t: t.rank)
        name = r.named(out) if r.by_names else r.layer_name(pos)
        r.emit(pos, type_name, inputs, [out], big.rank, first.channels, name=name)
    return handler


def _mul(r: _Reader, pos: int) -> None:
    _binary("mul")(r, pos)


def _split(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    a = r.attrs(pos)
    if a.get("axis", 0) not in (1, 1 - x.rank):
        raise _Unsupported("only a split along the channels is a spec layer")
    outs = list(node.output)
    if len(node.input) > 1 and node.input[1]:
        sizes = _ints(_const(r, node.input[1]), "split")
    elif "split" in a:
        sizes = _ints(a["split"], "split")
    else:
        sizes = []
    attrs = {"sizes": sizes} if sizes else {"chunks": len(outs)}
    if sizes and len(set(sizes)) == 1 and x.channels == sum(sizes):
        attrs = {"chunks": len(sizes)}
    name = _split_name(r, pos, outs)
    r.emit(pos, "split", [node.input[0]], [], x.rank, None, attrs, name=name)
    for k, out in enumerate(outs):
        size = sizes[k] if sizes else (x.channels // len(outs) if x.channels else None)
        r.values[out] = Tensor(f"{name}.{k}", x.rank, size)


def _split_name(r: _Reader, pos: int, outs: list[str]) -> str:
    node = r.nodes[pos]
    if r.by_names and all(o == f"{outs[0][:-2]}.{k}" for k, o in enumerate(outs)) and outs[0].endswith(".0"):
        return r.named(outs[0][:-2])
    return r.layer_name(pos)


def _slice(r: _Reader, pos: int) -> None:
    """Slices of one value along the channels: one split whose chunks are the slices (and the gaps between)."""
    node = r.nodes[pos]
    source = node.input[0]
    x = r.tensor(source)
    if x.channels is None:
        raise _Unsupported("the channels of its input are not known")
    siblings = [p for p in r.consumers.get(source, [])
                if r.nodes[p].op_type == "Slice" and (p == pos or p not in r.done)]
    ranges = {}
    for p in siblings:
        ranges[p] = _channel_range(r, p, x)
    bounds = sorted({0, x.channels, *(b for rg in ranges.values() for b in rg)})
    for p, (start, stop) in ranges.items():
        if any(start < b < stop for b in bounds):
            raise _Unsupported("slices of one value that overlap have no spec form")
    sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    name = r.layer_name(pos)
    attrs = {"chunks": len(sizes)} if len(set(sizes)) == 1 else {"sizes": sizes}
    r.emit(pos, "split", [source], [], x.rank, None, attrs, name=name)
    for p, (start, stop) in ranges.items():
        r.done.add(p)
        r.values[r.nodes[p].output[0]] = Tensor(f"{name}.{bounds.index(start)}", x.rank, stop - start)


def _channel_range(r: _Reader, pos: int, x: Tensor) -> tuple[int, int]:
    node = r.nodes[pos]
    a = r.attrs(pos)
    if "starts" in a:  # opset < 10
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes", list(range(len(a["starts"])))), [1]
    else:
        values = [_const(r, v) if len(node.input) > k and node.input[k] else None for k, v in
                  enumerate(list(node.input) + [""] * 5) if 1 <= k <= 4]
        starts, ends = values[0], values[1]
        axes = values[2] if values[2] is not None else list(range(len(starts or [])))
        steps = values[3] or [1]
    # INT64_MAX and INT64_MIN say "to the end" and "from the start": any bound past the channels says the same
    starts, ends = ([max(-MAX_DIM, min(MAX_DIM, int(v))) for v in values or []] for values in (starts, ends))
    starts, ends, axes, steps = (_ints(v or [], "the slice") for v in (starts, ends, axes, steps))
    if [a % x.rank for a in axes] != [1] or set(steps) - {1}:
        raise _Unsupported("only a slice along the channels with step 1 is read")
    c = x.channels or 0
    start, stop = (min(max(v + c if v < 0 else v, 0), c) for v in (starts[0], ends[0]))
    if stop <= start:
        raise _Unsupported("the slice is empty")
    return start, stop


def _pad(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = _spatial(r, pos, node.input[0])
    a = r.attrs(pos)
    mode = a.get("mode", b"constant")
    if mode not in (b"constant", "constant"):
        raise _Unsupported(f"{mode!r} padding is not zero padding")
    pads = _ints(a["pads"] if "pads" in a else _const(r, node.input[1]), "pads")
    if len(node.input) > 2 and node.input[2] and _scalar(r, node.input[2]) != 0.0:
        raise _Unsupported("only padding with zeros is a spec layer")
    if len(pads) != 8 or pads[:2] != [0, 0] or pads[4:6] != [0, 0] or min(pads) < 0:
        raise _Unsupported(f"only padding of H and W by sizes of at least 0 is read, not {pads}")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    padding = _pair([top, left]) if (top, left) == (bottom, right) else [top, bottom, left, right]
    r.emit(pos, "pad", [node.input[0]], [node.output[0]], 4, x.channels, {"padding": padding})


def _resize(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = _spatial(r, pos, node.input[0])
    a = r.attrs(pos)
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    transform = a.get("coordinate_transformation_mode", b"half_pixel")
    transform = transform.decode() if isinstance(transform, bytes) else transform
    attrs: dict[str, Any] = {}
    inputs = list(node.input) + [""] * 4
    if node.op_type == "Upsample":
        scales = a.get("scales") or _const(r, inputs[1])
        sizes = None
    else:
        scales = _const(r, inputs[2]) if inputs[2] and _has_values(r, inputs[2]) else None
        sizes = _const(r, inputs[3]) if inputs[3] else None
    if sizes:
        size = _ints(sizes, "sizes")
        if len(size) != 4 or size[:2] != [1, x.channels]:
            raise _Unsupported(f"only a resize of H and W is read, not to {size}")
        attrs["size"] = _pair(size[2:])
    elif scales:
        if len(scales) != 4 or list(scales[:2]) != [1.0, 1.0] or not all(float(s).is_integer() and s >= 1
                                                                         for s in scales[2:]):
            raise _Unsupported(f"only integer scales of H and W are read, not {list(scales)}")
        attrs["scale"] = _pair([int(s) for s in scales[2:]])
    else:
        raise _Unsupported("it has neither scales nor sizes")
    if mode == "nearest":
        pass
    elif mode in ("linear", "bilinear"):
        attrs["mode"] = "bilinear"
        if transform == "align_corners":
            attrs["align_corners"] = True
    else:
        raise _Unsupported(f"{mode} interpolation is not a spec layer (nearest or bilinear)")
    r.emit(pos, "upsample", [node.input[0]], [node.output[0]], 4, x.channels, attrs)


def _has_values(r: _Reader, value: str) -> bool:
    proto = r.constants.get(value) or r.initializers.get(value)
    return proto is not None and math.prod(proto.dims) > 0


def _dropout(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    x = r.tensor(node.input[0])
    if len(node.output) > 1 and node.output[1] and node.output[1] in r.consumers:
        raise _Unsupported("its mask output has no spec form")
    a = r.attrs(pos)
    p = a.get("ratio")
    if p is None and len(node.input) > 1 and node.input[1]:
        p = _scalar(r, node.input[1])
    attrs = _defaults({"p": _float32(0.5 if p is None else p)}, p=0.5)
    r.emit(pos, "dropout", [node.input[0]], [node.output[0]], x.rank, x.channels, attrs)


def _identity(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    if not r.is_tensor(node.input[0]):  # an Identity on a constant or weight (PyTorch shares weights this way)
        source = r.constants.get(node.input[0]) or r.initializers.get(node.input[0])
        if source is None:
            raise _Unsupported("it copies neither a layer output nor a constant")
        r.constants[node.output[0]] = source
        return
    x = r.tensor(node.input[0])
    r.emit(pos, "identity", [node.input[0]], [node.output[0]], x.rank, x.channels)


def _constant(r: _Reader, pos: int) -> None:
    node = r.nodes[pos]
    a = r.attrs(pos)
    if "value" not in a:
        raise _Unsupported("only a Constant with a tensor `value` is read")
    r.constants[node.output[0]] = node.attribute[[x.name for x in node.attribute].index("value")].t


def _opset(r: _Reader) -> int:
    return next((o.version for o in r.model.opset_import if o.domain in ("", "ai.onnx")), 1)


def _float32(value: float) -> float:
    """The shortest decimal that is the same float32 (ONNX stores attributes as float32: 0.0001 reads back as
    9.999999747378752e-05)."""
    value = float(value)
    try:
        target = struct.pack("<f", value)
    except OverflowError:
        return value
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == target:
            return short
    return value


HANDLERS: dict[str, Handler] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "MaxPool": _pool("maxpool"), "AveragePool": _pool("avgpool"),
    "GlobalAveragePool": _global("global_avgpool"), "GlobalMaxPool": _global("global_maxpool"),
    "ReduceMean": _reduce_mean, "BatchNormalization": _batchnorm, "LRN": _lrn,
    **{op: _activation for op in ("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "HardSwish", "HardSigmoid",
                                  "Softmax", "Clip", "Div")},
    "Flatten": _flatten, "Reshape": _reshape, "Concat": _concat, "Add": _binary("add"), "Mul": _mul,
    "Split": _split, "Slice": _slice, "Pad": _pad, "Resize": _resize, "Upsample": _resize,
    "Dropout": _dropout, "Identity": _identity, "Constant": _constant, "Transpose": _transpose,
    "Squeeze": _squeeze,
}
"""One handler per ONNX op type: it reads the node (and the nodes it folds in) into one spec entry. `Div` is read
only as the start of gelu's erf form, `Mul` of a Sigmoid and its input is silu (read from the Sigmoid)."""


def _const(r: _Reader, value: str) -> list:
    """The values of a small constant (a Constant node's output, read or not yet, an initializer, or a value
    computed from the channels of a layer output), flattened."""
    if _evaluated(r, value):
        if None in r.shapes[value]:
            raise _Unsupported(f"{value!r} is computed from the height or width of a layer output, which cnncalc "
                               "does not read from the graph")
        return list(r.shapes[value])
    proto = r.constants.get(value)
    if proto is None:
        proto = r.initializers.get(value)
    if proto is None and value in r.producer:  # a Constant after the node that looks ahead to its reader
        node = r.nodes[r.producer[value]]
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            proto = next((a.t for a in node.attribute if a.name == "value"), None)
    if proto is None:
        raise _Unsupported(f"{value!r} is not a constant")
    if proto.data_location == r.onnx.TensorProto.EXTERNAL:
        raise _Unsupported(f"the constant {value!r} is stored as external data, which cnncalc does not read")
    if math.prod(proto.dims) > SMALL_CONSTANT:
        raise _Unsupported(f"the constant {value!r} has more than {SMALL_CONSTANT} elements")
    try:
        array = r.onnx.numpy_helper.to_array(proto)
    except Exception as exc:
        raise _Unsupported(f"the constant {value!r} cannot be read ({type(exc).__name__})") from None
    return array.reshape(-1).tolist()
