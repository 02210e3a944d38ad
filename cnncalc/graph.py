"""The layer graph: entries -> layers with resolved inputs and inferred shapes, in topological (file) order.

A layer can only read the network input or layers written before it, so file order is a topological order and
one pass resolves names and infers every shape. Node 0 is the network input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import Position, SpecError, quote, suggest
from .layers import REGISTRY, Layer, LayerError, Shape, build
from .layers.base import MAX_INT
from .source import Limits
from .spec import NETWORK_INPUT, Entry, Spec, read_spec


class InputLayer(Layer):
    """The network input (node 0); not a YAML type."""

    type_name = "input"
    rf = "identity"


@dataclass(frozen=True, slots=True)
class Node:
    """One layer in the graph: what it reads (node index, output index) and the shapes it sees and makes."""

    index: int
    name: str
    layer: Layer
    inputs: tuple[tuple[int, int], ...]
    input_shapes: tuple[Shape, ...]
    outputs: tuple[Shape, ...]
    entry: Entry | None

    @property
    def output(self) -> Shape:
        return self.outputs[0]

    @property
    def type(self) -> str:
        return self.layer.type_name


@dataclass(frozen=True)
class Graph:
    """A spec's layers in topological order; `nodes[0]` is the network input."""

    name: str
    file: str
    input: Shape
    nodes: list[Node]
    limits: Limits = Limits()
    """Bounds of the analyses (receptive-field positions traced, digits of a jump), from the spec's reading."""

    @property
    def layers(self) -> list[Node]:
        """Every node but the network input."""
        return self.nodes[1:]

    def find(self, name: str) -> Node:
        for node in self.nodes[1:]:
            if node.name == name:
                return node
        raise KeyError(name)


def load(text: str, filename: str = "<string>", limits: Limits = Limits(),
         overrides: dict[str, str] | None = None, input_size: tuple[int, ...] | None = None) -> Graph:
    """Parse a spec and build its graph, or raise SpecError with the file, line and column; `overrides` sets the
    spec's parameters (NAME -> value text, as `--set NAME=VALUE`), `input_size` its input ((H, W) or (C, H, W), as
    a single `--input` size; see `resized`)."""
    try:
        spec = read_spec(text, filename, limits, overrides)
        return build_graph(spec if input_size is None else resized(spec, input_size))
    except SpecError as exc:
        if exc.source_line is None and exc.position is not None and exc.position.file == filename:
            lines = text.splitlines()  # the line breaks PyYAML counts (\n, \r\n, \r, \x85, \u2028, \u2029)
            if 0 < exc.position.line <= len(lines):
                exc.source_line = lines[exc.position.line - 1]
        raise


def resized(spec: Spec, size: tuple[int, ...]) -> Spec:
    """The spec with its input replaced after expansion: (H, W) keeps the spec's channels, (C, H, W) sets them too.
    Only the input shape changes; a parameter the spec also uses elsewhere (`input: [3, $res, $res]`) keeps its
    value (`--set res=240` changes it everywhere). A flat input ([F]) has no size to replace: SpecError."""
    if len(spec.input) != 3:
        raise SpecError("--input needs a C x H x W input; this spec's input is a flat vector", spec.input_pos)
    channels = size[0] if len(size) == 3 else spec.input[0]
    return replace(spec, input=(channels, size[-2], size[-1]))


def build_graph(spec: Spec) -> Graph:
    nodes = [Node(0, NETWORK_INPUT, InputLayer(), (), (), (spec.input,), None)]
    index = {NETWORK_INPUT: 0}
    declared: dict[str, Position] = {}
    for entry in spec.entries:
        if entry.name in declared or entry.name in spec.aliases and spec.aliases[entry.name] != entry.name:
            first = declared.get(entry.name)
            where = f" (first at line {first.line})" if first else ""
            raise SpecError(f"duplicate layer name {quote(entry.name)}{where}", entry.key_pos.get("name", entry.pos))
        declared[entry.name] = entry.pos
    for entry in spec.entries:
        cls = REGISTRY[entry.type]
        layer = build(cls, entry.attrs, entry.key_pos, entry.pos)
        refs = tuple(_resolve(ref, pos, entry, index, nodes, declared, spec.aliases)
                     for ref, pos in zip(entry.inputs, entry.input_pos + (entry.pos,) * len(entry.inputs)))
        _check_arity(cls, entry, len(refs))
        shapes = tuple(nodes[i].outputs[k] for i, k in refs)
        try:
            outputs = layer.output_shapes(shapes)
        except LayerError as exc:
            pos = entry.key_pos.get(exc.attribute, entry.pos) if exc.attribute else entry.pos
            hint = exc.hint
            if hint is None and len(shapes) == 1:  # say what the layer sees: a map that shrank on the way, ...
                source = nodes[refs[0][0]].name
                hint = f"its input ({'the network input' if source == NETWORK_INPUT else repr(source)}) is " \
                       f"{'x'.join(map(str, shapes[0]))}"
            raise SpecError(f"layer {entry.name!r}: {exc}", pos, hint) from None
        for shape in outputs:
            if any(d < 1 for d in shape):
                raise SpecError(f"layer {entry.name!r}: output shape {'x'.join(map(str, shape))} is empty",
                                entry.pos)
            if any(d > MAX_INT for d in shape):
                raise SpecError(f"layer {entry.name!r}: output shape {'x'.join(map(str, shape))} is too large "
                                f"(a size above 2**63-1)", entry.pos)
        index[entry.name] = len(nodes)
        nodes.append(Node(len(nodes), entry.name, layer, refs, shapes, outputs, entry))
    return Graph(spec.name, spec.file, spec.input, nodes, spec.limits)


def _check_arity(cls: type[Layer], entry: Entry, count: int) -> None:
    pos = entry.key_pos.get(entry.inputs_key, entry.pos) if entry.inputs_key else entry.pos
    if count < cls.min_inputs:
        raise SpecError(f"{cls.type_name} {entry.name!r} needs at least {cls.min_inputs} inputs, got {count}", pos,
                        hint="list them with `inputs: [a, b]`")
    if cls.max_inputs is not None and count > cls.max_inputs:
        raise SpecError(f"{cls.type_name} {entry.name!r} reads one input, got {count}", pos,
                        hint="use `input: NAME`; `inputs:` is for concat, add and mul")


def _resolve(ref: str, pos: Position, entry: Entry, index: dict[str, int], nodes: list[Node],
             declared: dict[str, Position], aliases: dict[str, str]) -> tuple[int, int]:
    name = aliases.get(ref, ref)
    if name in index:
        node = nodes[index[name]]
        if len(node.outputs) > 1:
            raise SpecError(f"{node.type} {ref!r} has {len(node.outputs)} outputs; name one", pos,
                            hint=f"write {ref}.0 .. {ref}.{len(node.outputs) - 1}")
        return index[name], 0
    base, dot, chunk = name.rpartition(".")
    base = aliases.get(base, base)  # `inst.0`: output 0 of the split that ends block instance `inst`
    if dot and base in index and chunk.isascii() and chunk.isdigit():  # not `s.²`: str.isdigit takes it
        node = nodes[index[base]]
        k = int(chunk) if len(chunk) <= 18 else len(node.outputs)  # a number of thousands of digits: too large
        if k >= len(node.outputs):
            shown = chunk if len(chunk) <= 24 else f"{chunk[:10]}... ({len(chunk)} digits)"
            raise SpecError(f"{node.type} {base!r} has outputs 0 .. {len(node.outputs) - 1}, not {shown}", pos)
        return index[base], k
    if dot and base in index:  # `s.x`, `s.`, `s.²`
        node = nodes[index[base]]
        raise SpecError(f"{node.type} {base!r} has no output {quote(chunk)}", pos,
                        hint=f"write {base}.0 .. {base}.{len(node.outputs) - 1}" if len(node.outputs) > 1 else
                        f"write {base}")
    shown = _local(ref, entry)
    if name == entry.name:
        raise SpecError(f"layer {quote(shown)} reads itself", pos, hint="name an earlier layer")
    if name in declared or (dot and base in declared):
        line = declared.get(name) or declared[base]
        raise SpecError(f"layer {quote(shown)} is defined later (line {line.line}); a layer reads only earlier "
                        f"layers", pos)
    prefix = entry.name[: entry.name.rfind("/") + 1]
    candidates = [n[len(prefix):] for n in index if n.startswith(prefix) and "/" not in n[len(prefix):]]
    close = suggest(shown, candidates + [NETWORK_INPUT])
    raise SpecError(f"unknown layer {quote(shown)}", pos, hint=f"did you mean {close!r}?" if close else
                    "name `input` or a layer written before this one")


def _local(ref: str, entry: Entry) -> str:
    """The reference as written inside its block (without the instance prefix)."""
    prefix = entry.name[: entry.name.rfind("/") + 1]
    return ref[len(prefix):] if prefix and ref.startswith(prefix) else ref
