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
cnncalc.onnx.export: the ONNX values of one layer are named `LAYER` or `LAYER/...`): a node is folded into a
layer only where the names say it belongs to it, and a run becomes `repeat: N` only where the copies are named
`NAME_1` .. `NAME_N`, so that spec -> ONNX -> spec gives back the layers the spec had.

Names: a layer is named after its node (PyTorch's scope names `/layer1/layer1.0/conv1/Conv` become
`layer1_0_conv1`), made valid for a spec (letters, digits, `_` and `-`; `input` is the network's) and unique.
`onnx` is imported (by cnncalc.onnx.model) only when an ONNX file is read (`pip install 'cnncalc[onnx]'`). What is
where: cnncalc.onnx's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Position, SpecError
from ..source import Limits
from .model import NODES_PER_LAYER, Skipped, _Reader, _Unsupported, load_model
from .ops import HANDLERS, _constant, _opset, _shape_arithmetic
from .shaping import _collapse_repeats, _group_blocks, _layer_types, _resolve_sizes, _same_graph
from .spec_text import spec_text


@dataclass(frozen=True)
class Imported:
    """The spec read from an ONNX model: as plain data (what `cnncalc.from_dict` takes), as YAML text, and the
    nodes skipped (only with `skip_unsupported`)."""

    doc: dict
    text: str
    skipped: tuple[Skipped, ...] = ()


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
        return _read(_Reader(model, name, skip_unsupported, limits))
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


def _read(r: _Reader) -> Imported:
    """The pass: the nodes in topological order, each through its op type's handler, then the entries shaped
    into blocks and repeats and written as YAML."""
    r._order()
    r._input()
    _check_arity(r)
    for pos, node in enumerate(r.nodes):  # constants first: a pattern may read one that comes later
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
            try:
                _constant(r, pos)
                r.done.add(pos)
            except _Unsupported:
                pass
    for pos, node in enumerate(r.nodes):
        if pos in r.done:
            continue
        r.done.add(pos)
        handler = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        try:
            if _shape_arithmetic(r, pos):
                continue
            if handler is None:
                raise _Unsupported("cnncalc has no rule for this op type"
                                   + (f" of domain {node.domain!r}" if node.domain not in ("", "ai.onnx") else ""))
            handler(r, pos)
        except _Unsupported as exc:
            r._unsupported(pos, exc.reason)
    if not r.entries:
        raise SpecError("the ONNX graph has no layer cnncalc reads (only constants)")
    flat = _resolve_sizes(r.entries, r.input_shape, r.file, r.limits)
    blocks, entries = _group_blocks(r.entries, r.scopes, set(_layer_types()))
    blocks = {name: _collapse_repeats(body, r.by_names) for name, body in blocks.items()}
    entries = _collapse_repeats(entries, r.by_names, set(blocks))
    doc = {"name": r._spec_title(), "input": r.input_shape,
           **({"blocks": {name: {"layers": body} for name, body in blocks.items()}} if blocks else {}),
           "layers": entries}
    if blocks and not _same_graph(flat, doc, r.file, r.limits):  # never expected: a guard, not a path
        doc = {"name": doc["name"], "input": r.input_shape,
               "layers": _collapse_repeats(r.entries, r.by_names)}
    if r.skipped:
        doc = {"name": doc["name"], "description": "partial: " + "; ".join(
            f"{s.op_type} node {s.node!r} read as an identity" for s in r.skipped), **doc}
    return Imported(doc, spec_text(doc, r._header()), tuple(r.skipped))


def _check_arity(r: _Reader) -> None:
    """Every node of a known op type has the inputs and required attributes its ONNX schema asks for (a
    hostile or damaged file may leave them out): else one error naming the node."""
    defs = r.onnx.defs
    for pos, node in enumerate(r.nodes):
        if node.domain not in ("", "ai.onnx") or node.op_type not in HANDLERS:
            continue
        try:
            schema = defs.get_schema(node.op_type, _opset(r), "")
        except Exception:  # no schema of this op at the model's opset
            raise SpecError(f"ONNX node {r.label(pos)}: ONNX has no {node.op_type} at opset {_opset(r)}",
                            hint="the file declares the wrong opset or is damaged") from None
        given = len(node.input)
        if not schema.min_input <= given <= schema.max_input or not node.output:
            raise SpecError(f"ONNX node {r.label(pos)} has {given} inputs and {len(node.output)} outputs; "
                            f"{node.op_type} takes {schema.min_input} to {schema.max_input} inputs",
                            hint="the file is damaged")
        names = {a.name for a in node.attribute}
        missing = [name for name, a in schema.attributes.items() if a.required and name not in names]
        if missing:
            raise SpecError(f"ONNX node {r.label(pos)} lacks the attribute {missing[0]!r} that "
                            f"{node.op_type} requires", hint="the file is damaged")
