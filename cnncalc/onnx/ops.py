"""`cnncalc import`: an ONNX model read back as a spec (the YAML a person would write), and ONNX files as SPEC.

What is read: the graph's one input (NCHW or (N, F); the batch dimension, fixed or symbolic, is taken as 1), its
nodes in topological order, the dimensions of the initializers (never their values, so weights stored as external
data are fine) and the values of small constants (Reshape shapes, Pad sizes, Resize scales, Clip bounds, Split
sizes, Slice bounds), which must be in the file itself. One handler per ONNX op type (`HANDLERS`) turns a node,
and the nodes it absorbs, into one spec entry; an op type without a handler, or a node whose form the spec cannot
say (a Clip other than (0, 6), a Slice that is not along channels), is refused by name, op type and index in the
graph's node list, or with `skip_unsupported` replaced by an identity (where its output has its input's shape)
and reported.

Folding: an activation after Conv, ConvTranspose, Gemm or MatMul(+Add) becomes the layer's `activation:`;
Mul(x, Sigmoid(x)) is silu, the erf form of Gelu is gelu, Clip(0, 6) is relu6, MatMul + Add of a bias is linear,
Flatten and the Reshape to (N, -1) are flatten, ReduceMean over H and W is a global average pool (`call: method`,
the trace of PyTorch's `x.mean((2, 3))`), GlobalAveragePool -> 1x1 Conv -> activation -> 1x1 Conv -> gate -> Mul
is squeeze_excitation, Reshape -> Transpose -> Reshape of the channel shuffle is channel_shuffle. A pattern the
graph repeats under several scopes (PyTorch's modules `layer1.1`, `layer1.2`) is a block, and a run of identical
layers or instances in a chain is one entry with `repeat:` (`_group_blocks`, `_collapse_repeats`).
A model written by `cnncalc export` (producer_name "cnncalc") is read by its own naming convention instead (see
cnncalc.onnx_export: the ONNX values of one layer are named `LAYER` or `LAYER/...`): a node is folded into a
layer only where the names say it belongs to it, and a run becomes `repeat: N` only where the copies are named
`NAME_1` .. `NAME_N`, so that spec -> ONNX -> spec gives back the layers the spec had.

Names: a layer is named after its node (PyTorch's scope names `/layer1/layer1.0/conv1/Conv` become
`layer1_0_conv1`), made valid for a spec (letters, digits, `_` and `-`; `input` is the network's) and unique.
`onnx` is imported here only, and only when an ONNX file is read (`pip install 'cnncalc[onnx]'`).
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Callable

from .errors import Position, SpecError
from .layers.elementwise import ACTIVATION_NAMES
from .source import Limits

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


@dataclass(frozen=True)
class Imported:
    """The spec read from an ONNX model: as plain data (what `cnncalc.from_dict` takes), as YAML text, and the
    nodes skipped (only with `skip_unsupported`)."""

    doc: dict
    text: str
    skipped: tuple[Skipped, ...] = ()


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise SpecError("reading an ONNX model needs the onnx package, which is not installed",
                        hint="pip install 'cnncalc[onnx]'") from None
    return onnx


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


def read_onnx(data: bytes, name: str, skip_unsupported: bool = False, limits: Limits = Limits()) -> Imported:
    """The spec of the ONNX model serialised in `data` (the file `name`); SpecError at FILE:1:1 for a file that is
    not ONNX, a graph that is not valid (a cycle, a value nothing produces), an unsupported node, and a graph of
    more than NODES_PER_LAYER * `limits.max_layers` nodes."""
    model = load_model(data, name)
    if len(model.graph.node) > NODES_PER_LAYER * limits.max_layers:
        raise SpecError(f"the ONNX graph has {len(model.graph.node):,} nodes, more than {NODES_PER_LAYER} per layer "
                        f"of the limit of {limits.max_layers:,} layers", Position(name, 1, 1),
                        hint="raise the limit with --max-layers")
    try:
        return _Reader(model, name, skip_unsupported, limits).read()
    except SpecError as exc:
        if exc.position is None:
            exc.position = Position(name, 1, 1)
        raise
    except RecursionError:
        raise SpecError("the ONNX graph nests too deeply", Position(name, 1, 1)) from None
    except (IndexError, KeyError) as exc:  # a node without an input or attribute its op needs (schemas checked)
        raise SpecError(f"the ONNX graph is damaged: a node lacks an input or attribute cnncalc reads "
                        f"({type(exc).__name__}: {exc})", Position(name, 1, 1), hint="check the model with "
                        "onnx.checker.check_model") from None


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

    def const(self, value: str) -> list:
        """The values of a small constant (a Constant node's output, read or not yet, an initializer, or a value
        computed from the channels of a layer output), flattened."""
        if _evaluated(self, value):
            if None in self.shapes[value]:
                raise _Unsupported(f"{value!r} is computed from the height or width of a layer output, which cnncalc "
                                   "does not read from the graph")
            return list(self.shapes[value])
        proto = self.constants.get(value)
        if proto is None:
            proto = self.initializers.get(value)
        if proto is None and value in self.producer:  # a Constant after the node that looks ahead to its reader
            node = self.nodes[self.producer[value]]
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                proto = next((a.t for a in node.attribute if a.name == "value"), None)
        if proto is None:
            raise _Unsupported(f"{value!r} is not a constant")
        if proto.data_location == self.onnx.TensorProto.EXTERNAL:
            raise _Unsupported(f"the constant {value!r} is stored as external data, which cnncalc does not read")
        if math.prod(proto.dims) > SMALL_CONSTANT:
            raise _Unsupported(f"the constant {value!r} has more than {SMALL_CONSTANT} elements")
        try:
            array = self.onnx.numpy_helper.to_array(proto)
        except Exception as exc:
            raise _Unsupported(f"the constant {value!r} cannot be read ({type(exc).__name__})") from None
        return array.reshape(-1).tolist()

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

    # --- the pass

    def read(self) -> Imported:
        self._order()
        self._input()
        self._check_arity()
        for pos, node in enumerate(self.nodes):  # constants first: a pattern may read one that comes later
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
                try:
                    _constant(self, pos)
                    self.done.add(pos)
                except _Unsupported:
                    pass
        for pos, node in enumerate(self.nodes):
            if pos in self.done:
                continue
            self.done.add(pos)
            handler = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            try:
                if _shape_arithmetic(self, pos):
                    continue
                if handler is None:
                    raise _Unsupported("cnncalc has no rule for this op type"
                                       + (f" of domain {node.domain!r}" if node.domain not in ("", "ai.onnx") else ""))
                handler(self, pos)
            except _Unsupported as exc:
                self._unsupported(pos, exc.reason)
        if not self.entries:
            raise SpecError("the ONNX graph has no layer cnncalc reads (only constants)")
        flat = _resolve_sizes(self.entries, self.input_shape, self.file, self.limits)
        blocks, entries = _group_blocks(self.entries, self.scopes, set(_layer_types()))
        blocks = {name: _collapse_repeats(body, self.by_names) for name, body in blocks.items()}
        entries = _collapse_repeats(entries, self.by_names, set(blocks))
        doc = {"name": self._spec_title(), "input": self.input_shape,
               **({"blocks": {name: {"layers": body} for name, body in blocks.items()}} if blocks else {}),
               "layers": entries}
        if blocks and not _same_graph(flat, doc, self.file, self.limits):  # never expected: a guard, not a path
            doc = {"name": doc["name"], "input": self.input_shape,
                   "layers": _collapse_repeats(self.entries, self.by_names)}
        if self.skipped:
            doc = {"name": doc["name"], "description": "partial: " + "; ".join(
                f"{s.op_type} node {s.node!r} read as an identity" for s in self.skipped), **doc}
        return Imported(doc, spec_text(doc, self._header()), tuple(self.skipped))

    def _check_arity(self) -> None:
        """Every node of a known op type has the inputs and required attributes its ONNX schema asks for (a
        hostile or damaged file may leave them out): else one error naming the node."""
        defs = self.onnx.defs
        for pos, node in enumerate(self.nodes):
            if node.domain not in ("", "ai.onnx") or node.op_type not in HANDLERS:
                continue
            try:
                schema = defs.get_schema(node.op_type, _opset(self), "")
            except Exception:  # no schema of this op at the model's opset
                raise SpecError(f"ONNX node {self.label(pos)}: ONNX has no {node.op_type} at opset {_opset(self)}",
                                hint="the file declares the wrong opset or is damaged") from None
            given = len(node.input)
            if not schema.min_input <= given <= schema.max_input or not node.output:
                raise SpecError(f"ONNX node {self.label(pos)} has {given} inputs and {len(node.output)} outputs; "
                                f"{node.op_type} takes {schema.min_input} to {schema.max_input} inputs",
                                hint="the file is damaged")
            names = {a.name for a in node.attribute}
            missing = [name for name, a in schema.attributes.items() if a.required and name not in names]
            if missing:
                raise SpecError(f"ONNX node {self.label(pos)} lacks the attribute {missing[0]!r} that "
                                f"{node.op_type} requires", hint="the file is damaged")

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


# ----------------------------------------------------------------------------------------------- handlers

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
            values = r.const(value)
        except _Unsupported:
            return (None, None)
        bounds.append(float(values[0]) if len(values) == 1 else None)
    return bounds[0], bounds[1]


def _scalar(r: _Reader, value: str) -> float | None:
    try:
        values = r.const(value)
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
    shape = _ints(r.const(node.input[1]), "the shape") if len(node.input) > 1 else []
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
        final = _ints(r.const(r.nodes[back].input[1]), "the shape")
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
        axes = r.const(node.input[1])
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
    values = [r.shapes[v] if _evaluated(r, v) else r.const(v) for v in inputs]
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
        axes = r.const(node.input[1])
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
        sizes = _ints(r.const(node.input[1]), "split")
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
        values = [r.const(v) if len(node.input) > k and node.input[k] else None for k, v in
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
    pads = _ints(a["pads"] if "pads" in a else r.const(node.input[1]), "pads")
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
        scales = a.get("scales") or r.const(inputs[1])
        sizes = None
    else:
        scales = r.const(inputs[2]) if inputs[2] and _has_values(r, inputs[2]) else None
        sizes = r.const(inputs[3]) if inputs[3] else None
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


# ------------------------------------------------------------------------------------------ repeats and YAML

_SAME_SIZE = "_output_size_is_input_size"
"""Marks an adaptive pool whose output size is its input's, known only once the shapes are."""


def _same_graph(flat: Any, doc: dict, file: str, limits: Limits) -> bool:
    """Whether the spec `doc` (with blocks and repeats) builds the same layers, in the same order, reading the
    same inputs with the same shapes, as the flat graph it was made from."""
    from .graph import load
    try:
        graph = load(spec_text(doc), file, limits)
    except SpecError:
        return False
    return [(n.type, n.inputs, n.outputs) for n in graph.layers] == [(n.type, n.inputs, n.outputs)
                                                                      for n in flat.layers]


def _resolve_sizes(entries: list[dict], input_shape: list[int], file: str, limits: Limits) -> Any:
    """Check the entries as a spec (cnncalc's shapes; a model whose layers do not fit is refused here), give the
    adaptive pools marked `_SAME_SIZE` their output size, and return the graph of the entries."""
    from .graph import load
    marked = [e for e in entries if e.pop(_SAME_SIZE, False)]
    for e in marked:
        e["output_size"] = 1  # a stand-in while the shapes are computed
    doc = {"name": "imported", "input": input_shape, "layers": entries}
    try:
        graph = load(spec_text(doc), file, limits)
    except SpecError as exc:
        raise SpecError(f"the model's layers do not fit together as cnncalc reads them: {exc.message}",
                        Position(file, 1, 1), hint="cnncalc import writes the spec it read; check the node it names "
                                                   "with `cnncalc import` and netron") from None
    for e in marked:
        _, h, w = graph.find(e["name"]).input_shapes[0]
        e["output_size"] = _pair([int(h), int(w)])
    return load(spec_text(doc), file, limits) if marked else graph


def _refs(entry: dict) -> list[str]:
    return list(entry["inputs"]) if "inputs" in entry else [entry["input"]]


def _base(ref: str) -> str:
    """The layer a reference reads (`S` of the split chunk `S.1`)."""
    head, dot, tail = ref.rpartition(".")
    return head if dot and tail.isdigit() else ref


def _with_refs(entry: dict, refs: list[str]) -> dict:
    key = "inputs" if "inputs" in entry else "input"
    return {k: (refs if key == "inputs" else refs[0]) if k == key else v for k, v in entry.items()}


def _group_blocks(entries: list[dict], scopes: dict[str, tuple[str, str, str]],
                  block_types: set[str]) -> tuple[dict[str, list[dict]], list[dict]]:
    """Where the graph repeats a pattern: runs of consecutive layers under one scope P (PyTorch's module
    `layer1.0`, cnncalc's block instance `layer1_0`) that read only each other and one value X from outside, and
    whose layers (types, attributes, how they read each other) are those of another such run, become instances
    `{name: P, type: BLOCK, input: X}` of one block; its layers are named by the rest of their scopes (`conv1`,
    or the op type), `P/conv1` in the expanded spec. A run whose pattern occurs once stays as it is. Returns
    (blocks, entries)."""
    runs: list[tuple[int, int, str]] = []
    k = 0
    while k < len(entries):
        scope = scopes.get(entries[k]["name"], ("", "", ""))[0]
        end = k + 1
        while end < len(entries) and scope and scopes.get(entries[end]["name"], ("", "", ""))[0] == scope:
            end += 1
        if end - k >= 2:
            runs.append((k, end, scope))
        k = end
    candidates = []
    for start, end, scope in runs:
        local = _localised(entries[start:end], scopes)
        if local is not None:
            candidates.append((start, end, scope, *local))
    counts: dict[str, int] = {}
    for *_, signature, _, _ in candidates:
        counts[signature] = counts.get(signature, 0) + 1
    layer_names = {e["name"] for e in entries}
    blocks: dict[str, list[dict]] = {}
    named: dict[str, str] = {}
    renamed: dict[str, str] = {}
    instances: dict[int, tuple[int, dict]] = {}
    for start, end, scope, signature, body, source in candidates:
        if counts[signature] < 2 or scope in layer_names - {e["name"] for e in entries[start:end]}:
            continue
        if signature not in named:
            stem = re.sub(r"_\d+$", "", scope) or "block"
            name, n = f"{stem}_block", 1
            while name in blocks or name in block_types:
                n += 1
                name = f"{stem}_block{n}"
            named[signature] = name
            blocks[name] = body
        for entry, inner in zip(entries[start:end], body):
            renamed[entry["name"]] = f"{scope}/{inner['name']}"
        renamed[entries[end - 1]["name"]] = scope  # the instance's name is its output
        instances[start] = (end, {"name": scope, "type": named[signature], "input": source})
    if not instances:
        return {}, entries
    out: list[dict] = []
    k = 0
    while k < len(entries):
        if k in instances:
            end, instance = instances[k]
            out.append(instance)
            k = end
        else:
            out.append(entries[k])
            k += 1

    def rename(ref: str) -> str:
        base = _base(ref)
        return renamed.get(base, base) + ref[len(base):]
    return blocks, [_with_refs(e, [rename(r) for r in _refs(e)]) for e in out]


def _localised(run: list[dict], scopes: dict[str, tuple[str, str, str]]) -> tuple[str, list[dict], str] | None:
    """(signature, the run as a block's layers, the one value it reads from outside), or None when the run reads
    more than one value from outside or its inner names clash."""
    inner: dict[str, str] = {}
    for entry in run:
        _, rest, op = scopes.get(entry["name"], ("", "", ""))
        name = rest or op or "layer"
        while name in inner.values() or name == "input":
            name += "_"
        inner[entry["name"]] = name
    sources = {r for e in run for r in _refs(e) if _base(r) not in inner}
    if len(sources) != 1:  # a block reads one value, its input (one chunk of a split, not two)
        return None
    [source] = sources
    body = []
    for entry in run:
        refs = ["input" if r == source else inner[_base(r)] + r[len(_base(r)):] for r in _refs(entry)]
        body.append({**_with_refs(entry, refs), "name": inner[entry["name"]]})
    return json.dumps(body, sort_keys=True), body, source


def _layer_types() -> list[str]:
    from .layers import REGISTRY
    return list(REGISTRY)


def _collapse_repeats(entries: list[dict], by_names: bool, blocks: frozenset[str] | set[str] = frozenset()) \
        -> list[dict]:
    """Runs of identical entries in a chain (each reads the one before, and nothing else reads the ones before
    the last) as one entry with `repeat: N`, named NAME where the copies are NAME_1 .. NAME_N (cnncalc's own
    naming), else after the first copy (then renamed NAME_1 .. NAME_N, and readers of the last copy read NAME).
    In a model exported by cnncalc only runs named NAME_1 .. NAME_N are collapsed."""
    readers: dict[str, int] = {}
    for e in entries:
        for ref in e.get("inputs", [e.get("input")]):
            readers[ref] = readers.get(ref, 0) + 1
    names = {e["name"] for e in entries}
    out: list[dict] = []
    renamed: dict[str, str] = {}
    k = 0
    while k < len(entries):
        run = 1
        while k + run < len(entries) and _same_layer(entries[k + run - 1], entries[k + run]) \
                and readers.get(entries[k + run - 1]["name"], 0) == 1 and entries[k + run]["type"] != "split":
            run += 1
        base = _repeat_base([e["name"] for e in entries[k:k + run]])
        if base is not None and k > 0 and entries[k - 1]["name"] == f"{base}_0":
            base = None  # numbered from 0 (PyTorch's blocks.0, blocks.1, ...): the copies stay beside NAME_0
        if run >= 2 and not ((by_names or entries[k]["type"] in blocks) and base is None):
            first = entries[k]
            name = base or first["name"]
            copies = {f"{name}_{j}" for j in range(1, run + 1)}
            if base is not None or not (copies - {e["name"] for e in entries[k:k + run]}) & names and name:
                entry = {**first, "name": name, "repeat": run}
                renamed[entries[k + run - 1]["name"]] = name
                out.append(entry)
                k += run
                continue
        out.append(entries[k])
        k += 1
    if renamed:
        for e in out:
            if "input" in e:
                e["input"] = _renamed(e["input"], renamed)
            if "inputs" in e:
                e["inputs"] = [_renamed(v, renamed) for v in e["inputs"]]
    return out


def _renamed(ref: str, renamed: dict[str, str]) -> str:
    return renamed.get(ref, ref)


def _same_layer(before: dict, after: dict) -> bool:
    """Whether `after` is a copy of `before` that reads it."""
    if after.get("input") != before["name"]:
        return False
    strip = ("name", "input", "inputs")
    return {k: v for k, v in before.items() if k not in strip} == {k: v for k, v in after.items() if k not in strip} \
        and "inputs" not in before


def _repeat_base(names: list[str]) -> str | None:
    base = names[0].rsplit("_", 1)[0]
    if base and names == [f"{base}_{j}" for j in range(1, len(names) + 1)]:
        return base
    return None


_KEY_ORDER = ("name", "type", "input", "inputs")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def spec_text(doc: dict, header: str = "") -> str:
    """`doc` (name, description, input, layers) as YAML text: one line per layer, a flow mapping with its keys in
    a fixed order (name, type, input, the layer's attributes, repeat); the input read from the entry before is
    left out (it is the default)."""
    lines = [header] if header else []
    lines.append(f"name: {_scalar_text(doc['name'])}")
    if "description" in doc:
        lines.append(f"description: {_scalar_text(doc['description'])}")
    lines.append(f"input: {_value_text(doc['input'])}")
    if doc.get("blocks"):
        lines.append("blocks:")
        for name, block in doc["blocks"].items():
            lines += [f"  {_scalar_text(name)}:", "    layers:", *_entry_lines(block["layers"], "      ")]
    lines.append("layers:")
    lines += _entry_lines(doc["layers"], "  ")
    return "\n".join(lines) + "\n"


def _entry_lines(entries: list[dict], indent: str) -> list[str]:
    lines, previous = [], "input"
    for entry in entries:
        shown = {k: v for k, v in entry.items() if not (k == "input" and v == previous)}
        keys = [k for k in _KEY_ORDER if k in shown] + [k for k in shown if k not in _KEY_ORDER]
        lines.append(indent + "- {" + ", ".join(f"{k}: {_value_text(shown[k])}" for k in keys) + "}")
        previous = entry["name"]
    return lines


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if re.fullmatch(r"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?", text) else json.dumps(text)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return _scalar_text(str(value))


def _scalar_text(text: str) -> str:
    """A string as a YAML scalar: plain where YAML (1.1 and 1.2) reads it back as this string, else quoted."""
    from .source import YAML11_BOOLEANS, resolve_scalar
    if _PLAIN.match(text) and resolve_scalar(text) == text and text not in YAML11_BOOLEANS \
            and text.lower() not in ("null", "true", "false") or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*\.[0-9]+",
                                                                               text):
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar in printable ASCII: `"` and `\\` escaped, every other character
    outside space .. `~` as `\\uXXXX`, or `\\UXXXXXXXX` above the BMP (JSON's surrogate pairs are no YAML)."""
    return '"' + "".join(c if " " <= c <= "~" and c not in '"\\' else "\\" + c if c in '"\\' else
                         f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in text) + '"'
