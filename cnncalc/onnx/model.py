"""The ONNX model as `cnncalc import` reads it: loading and validating the protobuf (`load_model`), the limits on
what is read from a file (`NODES_PER_LAYER`, `SMALL_CONSTANT`, `MAX_DIM`), and `_Reader`, the state of one pass over
the graph (topological order, values read so far, naming, emitting spec entries, skipping a node). The pass itself
is cnncalc.onnx.read's; the handlers of the op types are cnncalc.onnx.ops's.
`onnx` is imported only when an ONNX file is read (`pip install 'cnncalc[onnx]'`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import Position, SpecError
from ..extras import require
from ..source import Limits

NODES_PER_LAYER = 10
"""Most ONNX nodes read per layer of `--max-layers` (a layer takes up to 7 nodes and their constants)."""

SMALL_CONSTANT = 4096
"""Most elements of a constant whose values are read (shapes, pads, scales, sizes, bounds)."""

MAX_DIM = (1 << 31) - 1
"""Largest dimension accepted from the graph, larger than any tensor a runtime allocates (a hostile file may claim
anything)."""

_NAME_CHAR = re.compile(r"[^A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class Skipped:
    """A node `skip_unsupported` replaced by an identity."""

    index: int
    node: str
    op_type: str
    reason: str
    layer: str

    def diagnostic(self) -> dict:
        return {"severity": "warning", "code": "onnx-node-skipped",
                "message": f"ONNX node {self.node!r} ({self.op_type}, index {self.index} in the graph) is not "
                           f"supported ({self.reason}); counted as an identity, so the totals are partial",
                "layers": [self.layer]}


def _onnx() -> Any:
    return require("onnx", "onnx", "reading an ONNX model")


def load_model(data: bytes, name: str) -> Any:
    """The ModelProto serialised in `data`; SpecError (at FILE:1:1) when it is not one."""
    onnx = _onnx()
    top = Position(name, 1, 1)
    try:
        model = onnx.ModelProto.FromString(data)
    except Exception as exc:  # google.protobuf's DecodeError, or a RuntimeError of the C++ parser
        raise SpecError(f"not an ONNX model: the file is not a valid ModelProto ({type(exc).__name__})", top,
                        hint="the file may be truncated or not ONNX; a YAML spec is UTF-8 text") from None
    if not model.HasField("graph") or not model.graph.node:
        raise SpecError("not an ONNX model: it holds no graph nodes", top,
                        hint="the file may be truncated or not ONNX; a YAML spec is UTF-8 text")
    return model


# ------------------------------------------------------------------------------------------------ the reader

@dataclass(frozen=True)
class Tensor:
    """A value of the network: `ref` is how the spec names it (a layer, `S.K` of a split, or `input`)."""

    ref: str
    rank: int
    channels: int | None


class _Unsupported(Exception):
    """A node the spec cannot express; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Activation:
    kind: str
    attrs: dict
    nodes: tuple[int, ...]
    output: str


Handler = Callable[["_Reader", int], None]


class _Reader:
    """One pass over the graph in topological order; `entries` collects the spec's layers."""

    def __init__(self, model: Any, name: str, skip_unsupported: bool, limits: Limits) -> None:
        self.onnx = _onnx()
        self.limits = limits
        self.model = model
        self.file = name
        self.skip_unsupported = skip_unsupported
        self.by_names = model.producer_name == "cnncalc"
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.constants: dict[str, Any] = {}
        self.shapes: dict[str, list] = {}
        """Integers computed from the shapes of layer outputs (`_shape_arithmetic`); None where a height or width
        enters, which the reader does not track."""
        self.values: dict[str, Tensor] = {}
        self.entries: list[dict] = []
        self.used_names: set[str] = set()
        self.done: set[int] = set()
        self.skipped: list[Skipped] = []
        self.outputs = {v.name for v in self.graph.output}
        self.scopes: dict[str, tuple[str, str, str]] = {}
        """Layer name -> (its first scope, the rest as one name, its op type): what groups layers into blocks."""
        self._inferred: dict[str, list[int]] | None = None

    # --- graph structure

    def _order(self) -> None:
        """Nodes in topological order (`self.nodes`, their original index in `self.index`), who reads each value."""
        nodes = list(self.graph.node)
        producer: dict[str, int] = {}
        for k, node in enumerate(nodes):
            for out in node.output:
                if not out:
                    continue
                if out in producer or out in self.initializers:
                    raise SpecError(f"ONNX value {out!r} is produced twice (node {self._label(k, node)})")
                producer[out] = k
        known = set(self.initializers) | {v.name for v in self.graph.input}
        pending = [0] * len(nodes)
        readers: dict[int, list[int]] = {k: [] for k in range(len(nodes))}
        for k, node in enumerate(nodes):
            for value in set(node.input):
                if not value or value in known and value not in producer:
                    continue
                if value not in producer:
                    raise SpecError(f"node {self._label(k, node)} reads {value!r}, which no node, graph input or "
                                    "initializer provides", hint="the model is incomplete (a missing initializer?)")
                pending[k] += 1
                readers[producer[value]].append(k)
        ready = [k for k in range(len(nodes)) if pending[k] == 0]
        order: list[int] = []
        import heapq
        heapq.heapify(ready)
        while ready:  # Kahn's algorithm, the smallest index first: a sorted graph keeps its order
            k = heapq.heappop(ready)
            order.append(k)
            for j in readers[k]:
                pending[j] -= 1
                if pending[j] == 0:
                    heapq.heappush(ready, j)
        if len(order) < len(nodes):
            k = min(set(range(len(nodes))) - set(order))
            raise SpecError(f"the ONNX graph has a cycle through node {self._label(k, nodes[k])}",
                            hint="an ONNX graph is acyclic; the file is damaged")
        self.nodes = [nodes[k] for k in order]
        self.index = order
        position = {k: pos for pos, k in enumerate(order)}
        self.producer = {out: position[k] for out, k in producer.items()}
        self.consumers: dict[str, list[int]] = {}
        for pos, node in enumerate(self.nodes):
            for value in node.input:
                if value:
                    self.consumers.setdefault(value, []).append(pos)

    def _label(self, k: int, node: Any) -> str:
        return f"{node.name or '(unnamed)'!r} ({node.op_type}, index {k} in the graph)"

    def label(self, pos: int) -> str:
        return self._label(self.index[pos], self.nodes[pos])

    # --- values

    def attrs(self, pos: int) -> dict:
        helper = self.onnx.helper
        return {a.name: helper.get_attribute_value(a) for a in self.nodes[pos].attribute}

    def tensor(self, value: str) -> Tensor:
        if value in self.values:
            return self.values[value]
        raise _Unsupported(f"its input {value!r} is a constant or a value cnncalc did not read as a layer output")

    def is_tensor(self, value: str) -> bool:
        return value in self.values

    def dims(self, value: str) -> list[int]:
        """Dimensions of an initializer (its values are never read)."""
        proto = self.initializers.get(value) or self.constants.get(value)
        if proto is None:
            raise _Unsupported(f"its weight {value!r} is not an initializer")
        dims = list(proto.dims)
        if any(d < 0 or d > MAX_DIM for d in dims):
            raise SpecError(f"initializer {value!r} has a dimension out of range ({dims})")
        return dims

    def consumers_of(self, value: str) -> list[int]:
        return [pos for pos in self.consumers.get(value, []) if pos not in self.done]

    def only_consumer(self, value: str) -> int | None:
        readers = self.consumers.get(value, [])
        if len(readers) == 1 and value not in self.outputs:
            return readers[0]
        return None

    # --- naming

    def layer_name(self, pos: int, op_type: str | None = None) -> str:
        """The node's name as a spec name: PyTorch's scope without the op type (`/layer1/layer1.0/conv1/Conv` ->
        `layer1_0_conv1`), with it where the scope alone is taken (`/stage2/stage2.1/Concat` after another node of
        that scope -> `stage2_1_Concat`), then numbered. In cnncalc's own export the name is the layer's."""
        node = self.nodes[pos]
        op = op_type or node.op_type
        raw = node.name or (node.output[0] if node.output else "")
        stripped = "" if self.by_names else op
        name = _spec_name(raw, stripped) or f"{op.lower()}{self.index[pos]}"
        if name in self.used_names and not self.by_names:
            name, stripped = _spec_name(raw, "") or name, ""
        return self.unique(name, _scopes(raw, stripped), op)

    def named(self, raw: str) -> str:
        """A unique spec name from the ONNX value name `raw` of cnncalc's own export (a layer's name)."""
        return self.unique(_spec_name(raw, ""), _scopes(raw, ""), "")

    def unique(self, name: str, scopes: list[str] | None = None, op: str = "") -> str:
        """`name`, numbered if it is taken; `scopes` (its parts, for blocks) are recorded under the name given."""
        candidate, k = name, 1
        while candidate in self.used_names:
            k += 1
            candidate = f"{name}_{k}"
        self.used_names.add(candidate)
        if scopes and _NAME_CHAR.sub("_", "_".join(scopes)) in (name, name[:-1]):
            parts = [_NAME_CHAR.sub("_", p) for p in scopes]
            self.scopes[candidate] = (parts[0], "_".join(parts[1:]) + candidate[len(name):], op.lower())
        return candidate

    def belongs(self, inner: str, outer: str) -> bool:
        """Whether value `inner` may be folded into the layer whose output is `outer`: in cnncalc's own export
        only where its name says so (`outer/...`), in any other model always."""
        return not self.by_names or inner.startswith(outer + "/")

    # --- emitting

    def emit(self, pos: int, type_name: str, inputs: list[str], outputs: list[str], rank: int,
             channels: int | None, attrs: dict | None = None, name: str | None = None,
             extra: dict | None = None) -> str:
        """A spec entry of `type_name` reading the values `inputs`, its output bound to `outputs[0]`."""
        refs = [self.tensor(v).ref for v in inputs]
        name = name or self.layer_name(pos)
        entry: dict[str, Any] = {"name": name, "type": type_name}
        if type_name in ("concat", "add", "mul"):
            entry["inputs"] = refs
        else:
            entry["input"] = refs[0]
        entry.update(attrs or {})
        entry.update(extra or {})
        self.entries.append(entry)
        for out in outputs:
            self.values[out] = Tensor(name, rank, channels)
        return name

    def _unsupported(self, pos: int, reason: str) -> None:
        node = self.nodes[pos]
        if not self.skip_unsupported:
            raise SpecError(f"ONNX node {self.label(pos)} is not supported: {reason}",
                            hint="--skip-unsupported (on every command that reads a spec) reads it as an identity "
                                 "and marks the totals partial")
        sources = [v for v in node.input if v and self.is_tensor(v)]
        outs = [v for v in node.output if v]
        if len(sources) < 1 or not outs:
            raise SpecError(f"ONNX node {self.label(pos)} is not supported ({reason}), and it cannot be skipped: "
                            "it reads no layer output")
        shapes = self.inferred_shapes()
        before, after = shapes.get(sources[0]), [shapes.get(v) for v in outs]
        if len(outs) > 1 or before is not None and after[0] is not None and before != after[0]:
            shown = ", ".join("x".join(map(str, s)) if s else "?" for s in after)
            kept = "x".join(map(str, before)) if before else "?"
            raise SpecError(f"ONNX node {self.label(pos)} is not supported ({reason}), and it cannot be skipped: an "
                            f"identity keeps the shape {kept}, and it gives {shown}")
        source = self.tensor(sources[0])
        name = self.emit(pos, "identity", [sources[0]], outs, source.rank, source.channels)
        known = before is not None and after[0] is not None
        self.skipped.append(Skipped(self.index[pos], node.name or outs[0], node.op_type,
                                    reason + ("" if known else "; ONNX's shape inference does not say its output "
                                              "shape, taken as its input's"), name))

    def inferred_shapes(self) -> dict[str, list[int]]:
        """The static shapes ONNX's own shape inference gives the graph's values (computed once, on a copy without
        the weights' values: their dimensions are enough); {} when it fails. Only a skipped node needs them."""
        if self._inferred is None:
            onnx = self.onnx
            light = onnx.ModelProto()
            light.ir_version = self.model.ir_version
            light.opset_import.extend(self.model.opset_import)
            graph = light.graph
            for part in ("node", "input", "output", "value_info"):
                getattr(graph, part).extend(getattr(self.graph, part))
            for tensor in self.graph.initializer:
                small = math.prod(tensor.dims) <= SMALL_CONSTANT and tensor.data_location != onnx.TensorProto.EXTERNAL
                graph.initializer.append(tensor if small else onnx.TensorProto(
                    name=tensor.name, dims=tensor.dims, data_type=tensor.data_type))
            try:
                inferred = onnx.shape_inference.infer_shapes(light, strict_mode=False).graph
            except Exception:  # a graph ONNX cannot type: no shapes, and a skipped node is taken on trust
                self._inferred = {}
                return self._inferred
            shapes: dict[str, list[int]] = {}
            for value in (*inferred.input, *inferred.value_info, *inferred.output):
                dims = value.type.tensor_type.shape.dim
                if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape") and \
                        all(d.HasField("dim_value") for d in dims[1:]):
                    shapes[value.name] = [int(d.dim_value) for d in dims[1:]]
            self._inferred = shapes
        return self._inferred

    def _input(self) -> None:
        inputs = [v for v in self.graph.input if v.name not in self.initializers]
        if len(inputs) != 1:
            raise SpecError(f"the ONNX graph has {len(inputs)} inputs (besides initializers); cnncalc reads a network "
                            "of one input")
        value = inputs[0]
        if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
            raise SpecError(f"the graph input {value.name!r} has no tensor shape",
                            hint="export the model with a fixed input size")
        dims = value.type.tensor_type.shape.dim
        if len(dims) not in (2, 4):
            raise SpecError(f"the graph input {value.name!r} has {len(dims)} dimensions; cnncalc reads (N, C, H, W) "
                            "or (N, F)")
        shape = []
        for k, dim in enumerate(dims[1:], 1):
            if not dim.HasField("dim_value"):
                raise SpecError(f"dimension {k} of the graph input {value.name!r} is symbolic "
                                f"({dim.dim_param or 'unnamed'!r}); only the batch dimension may be",
                                hint="export the model with a fixed input size")
            if not 1 <= dim.dim_value <= MAX_DIM:
                raise SpecError(f"dimension {k} of the graph input {value.name!r} is {dim.dim_value}, out of range")
            shape.append(int(dim.dim_value))
        self.input_shape = shape
        self.values[value.name] = Tensor("input", len(dims), shape[0])

    def _spec_title(self) -> str:
        from pathlib import PurePath
        title = self.graph.name if self.graph.name not in ("", "main_graph", "torch_jit", "torch-jit-export") \
            else PurePath(self.file).stem
        return _spec_name(title, "") or "imported"

    def _header(self) -> str:
        producer = " ".join(p for p in (self.model.producer_name, self.model.producer_version) if p) or "unknown"
        opset = next((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), None)
        return f"# read from an ONNX model by `cnncalc import` (producer: {producer}; opset {opset})"


def _spec_name(raw: str, op_type: str) -> str:
    """A valid spec name from an ONNX node or value name (PyTorch's scopes `/a/a.0/conv/Conv` -> `a_0_conv`)."""
    name = _NAME_CHAR.sub("_", "_".join(_scopes(raw, op_type)))
    return name + "_" if name == "input" else name


def _scopes(raw: str, op_type: str) -> list[str]:
    """The parts of an ONNX name split at `/`, without the op type PyTorch puts last and without the scopes that
    the next part repeats (`/a/a.0/conv/Conv` -> `a.0`, `conv`)."""
    parts = [p for p in raw.split("/") if p]
    if len(parts) > 1 and op_type and re.fullmatch(re.escape(op_type) + r"(_\d+)?", parts[-1]):
        parts.pop()
    return [p for k, p in enumerate(parts) if k + 1 == len(parts) or not parts[k + 1].startswith(p + ".")]
