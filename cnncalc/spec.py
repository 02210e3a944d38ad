"""A spec file -> the flat list of layer entries it describes, blocks and repeats expanded, positions kept.

Reading checks the document's structure (keys, forms, block parameters, limits); what the entries mean (attributes,
shapes, references) is checked when the graph is built, with the positions kept here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import PurePath

from .errors import Position, SpecError
from .layers import REGISTRY
from .layers.base import read_int, read_name
from .source import Limits, Map, Scalar, Seq, Value, parse_yaml

COMMON_KEYS = ("name", "type", "input", "inputs", "repeat", "call")
CALLS = ("module", "functional", "operator", "method")
"""How PyTorch's reference implementation invokes a layer (`call:`). Only tool conventions that count by hooking
PyTorch read it (ptflops counts `nn.ReLU` twice and `F.relu` once; fvcore counts `x.mean()` as nothing)."""
TOP_LEVEL_KEYS = ("name", "description", "input", "blocks", "layers")
NETWORK_INPUT = "input"
MAX_BLOCK_NESTING = 32


@dataclass(frozen=True, slots=True)
class Entry:
    """One layer to build: its unique name, its type, the names it reads, its raw attributes and positions."""

    name: str
    type: str
    inputs: tuple[str, ...]
    """References as written, already prefixed with the block instance path (`i3a/b1`, `s.1`, `input`)."""
    input_pos: tuple[Position, ...]
    attrs: dict[str, Value]
    key_pos: dict[str, Position]
    pos: Position
    inputs_key: str | None
    """Which key gave the inputs: "input", "inputs", or None when it is the previous entry."""
    block: str
    """Path of the block instance the layer belongs to ("" at top level)."""
    call: str | None = None
    """`call:` as written (one of CALLS), or None for the layer type's usual form."""


@dataclass(frozen=True)
class Spec:
    """A parsed spec: its name, input shape and the expanded layer entries in file order."""

    name: str
    file: str
    input: tuple[int, ...]
    input_pos: Position
    entries: list[Entry]
    aliases: dict[str, str] = field(default_factory=dict)
    """Block instance or repeated entry name -> the name of the layer that is its output."""


@dataclass(frozen=True)
class Block:
    name: str
    params: dict[str, Value | None]
    """Parameter name -> default value (None: required)."""
    layers: Seq
    pos: Position


def read_spec(text: str, filename: str = "<string>", limits: Limits = Limits()) -> Spec:
    """Parse and expand a spec, or raise SpecError naming the file, line and column."""
    root = parse_yaml(text, filename, limits)
    if type(root) is Scalar and root.value is None and not root.quoted:  # `---` alone, or `~`
        raise SpecError("spec is empty", root.pos, hint="a spec is a mapping with `input:` and `layers:`")
    if type(root) is not Map:
        kind = "a list" if type(root) is Seq else "a single value"
        raise SpecError(f"a spec is a mapping with `input:` and `layers:`, this document is {kind}", root.pos)
    for key in root.items:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown(key, TOP_LEVEL_KEYS, root.key_pos[key], "top-level key")
    name = read_name(root.items["name"], "name") if "name" in root.items else PurePath(filename).stem
    if "input" not in root.items:
        raise SpecError("spec has no `input:` (the input shape)", root.pos, hint="add `input: [3, 224, 224]`")
    shape = _read_input(root.items["input"])
    if "layers" not in root.items:
        raise SpecError("spec has no `layers:`", root.pos)
    blocks = _read_blocks(root.items.get("blocks"))
    expander = _Expander(blocks, limits)
    layers = root.items["layers"]
    expander.expand(_layer_list(layers, "layers"), _Scope("", NETWORK_INPUT, {}, None), [])
    return Spec(name, filename, shape, root.items["input"].pos, expander.entries, expander.aliases)


def _unknown(key: str, known, pos: Position, what: str) -> SpecError:
    close = get_close_matches(key, list(known), 1)
    hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
    return SpecError(f"unknown {what} {key!r}", pos, hint)


def _read_input(value: Value) -> tuple[int, ...]:
    if type(value) is Map:
        for key in value.items:
            if key not in ("channels", "height", "width", "features"):
                raise _unknown(key, ("channels", "height", "width"), value.key_pos[key], "input key")
        if "features" in value.items:
            return (read_int(value.items["features"], "features"),)
        missing = [k for k in ("channels", "height", "width") if k not in value.items]
        if missing:
            raise SpecError(f"`input` needs {', '.join(missing)}", value.pos)
        return tuple(read_int(value.items[k], k) for k in ("channels", "height", "width"))
    if type(value) is Seq and len(value.items) in (1, 3):
        return tuple(read_int(v, "input") for v in value.items)
    raise SpecError("`input` must be [C, H, W], [features] or {channels, height, width}", value.pos)


def _layer_list(value: Value, where: str) -> list[Value]:
    if type(value) is not Seq:
        raise SpecError(f"`{where}` must be a list of layers", value.pos)
    if not value.items:
        raise SpecError(f"`{where}` is empty", value.pos, hint="list at least one layer")
    return value.items


def _read_blocks(value: Value | None) -> dict[str, Block]:
    if value is None:
        return {}
    if type(value) is not Map:
        raise SpecError("`blocks` must map block names to {params: [...], layers: [...]}", value.pos)
    blocks = {}
    for name, body in value.items.items():
        pos = value.key_pos[name]
        _check_name(name, pos)
        if name in REGISTRY:
            raise SpecError(f"block name {name!r} is a layer type", pos, hint="rename the block")
        if type(body) is not Map:
            raise SpecError(f"block {name!r} must be a mapping with `layers:` (and `params:`)", body.pos)
        for key in body.items:
            if key not in ("params", "layers", "description"):
                raise _unknown(key, ("params", "layers"), body.key_pos[key], "block key")
        if "layers" not in body.items:
            raise SpecError(f"block {name!r} has no `layers:`", body.pos)
        _layer_list(body.items["layers"], f"{name}.layers")
        params: dict[str, Value | None] = {}
        declared = body.items.get("params")
        if declared is not None:
            if type(declared) is not Seq:
                raise SpecError("`params` must be a list of names (or {name: default})", declared.pos)
            for item in declared.items:
                if type(item) is Map and len(item.items) == 1:
                    (pname, default), = item.items.items()
                elif type(item) is Scalar:
                    pname, default = read_name(item, "params"), None
                else:
                    raise SpecError("a block parameter is a name or {name: default}", item.pos)
                if pname in params:
                    raise SpecError(f"block {name!r} declares parameter {pname!r} twice", item.pos)
                if pname in COMMON_KEYS:
                    raise SpecError(f"{pname!r} cannot be a block parameter: it is a common layer key", item.pos)
                params[pname] = default
        blocks[name] = Block(name, params, body.items["layers"], body.pos)  # type: ignore[arg-type]  # a Seq: checked
    return blocks


def _check_name(name: str, pos: Position) -> None:
    if not name or "/" in name or "." in name or name == NETWORK_INPUT or name.startswith("$"):
        raise SpecError(f"{name!r} cannot be a name: names are non-empty, not `input`, without `/` or `.`", pos)


@dataclass
class _Scope:
    prefix: str
    """`inst/` inside a block instance, "" at top level."""
    input_ref: str
    params: dict[str, Value]
    block: str | None
    counters: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)


class _Expander:
    def __init__(self, blocks: dict[str, Block], limits: Limits) -> None:
        self.blocks = blocks
        self.limits = limits
        self.entries: list[Entry] = []
        self.aliases: dict[str, str] = {}
        self.sizes: dict[str, int] = {}

    def expand(self, items: list[Value], scope: _Scope, active: list[str]) -> str:
        """Append the entries of `items` in `scope`; return the name of the last layer (the scope's output)."""
        if len(self.entries) + len(items) > self.limits.max_layers:  # before the work on a huge list
            raise SpecError(f"spec expands to more than {self.limits.max_layers:,} layers",
                            items[self.limits.max_layers - len(self.entries)].pos,
                            hint="raise the limit with --max-layers")
        forms = [self.normalise(item, scope) for item in items]
        scope.taken = {scope.prefix + read_name(f[1]["name"], "name") for f in forms if "name" in f[1]}
        previous = scope.input_ref
        for type_name, attrs, key_pos, pos, type_pos in forms:
            previous = self.expand_one(type_name, attrs, key_pos, pos, type_pos, scope, active, previous)
        return previous

    def normalise(self, item: Value, scope: _Scope) -> tuple[str, dict[str, Value], dict[str, Position],
                                                             Position, Position]:
        """(type, attributes, key positions, entry position, type position) of one of the three entry forms."""
        if type(item) is Scalar:
            return read_name(item, "type"), {}, {}, item.pos, item.pos
        if type(item) is not Map:
            raise SpecError("a layer entry is a type name, {type: T, ...} or {T: {...}}", item.pos)
        if "type" in item.items:
            attrs = dict(item.items)
            type_value = attrs.pop("type")
            return read_name(type_value, "type"), attrs, item.key_pos, item.pos, type_value.pos
        if len(item.items) == 1:
            (type_name, body), = item.items.items()
            type_pos = item.key_pos[type_name]
            if type(body) is Map:
                return type_name, dict(body.items), body.key_pos, item.pos, type_pos
            if type(body) is Scalar and body.value is None:
                return type_name, {}, {}, item.pos, type_pos
            if type_name not in COMMON_KEYS:
                raise SpecError(f"the attributes of {type_name!r} must be a mapping", body.pos,
                                hint=f"write `- {type_name}: {{...}}` or `- {{type: {type_name}, ...}}`")
        raise SpecError("layer entry has no `type`", item.pos,
                        hint="write `- {type: conv, ...}`, `- conv: {...}` or just `- relu`")

    def substitute(self, value: Value, scope: _Scope) -> Value:
        if type(value) is Scalar:
            if type(value.value) is str and not value.quoted and value.text.startswith("$"):
                pname = value.text[1:]
                if pname not in scope.params:
                    known = list(scope.params)
                    raise _unknown(pname, known, value.pos, "block parameter") if known else SpecError(
                        f"{value.text} names no parameter" + (" (this block declares none)" if scope.block else
                                                              " (parameters exist only inside blocks)"), value.pos)
                return scope.params[pname]
            return value
        if type(value) is Seq:
            items = [self.substitute(v, scope) for v in value.items]
            return value if all(a is b for a, b in zip(items, value.items)) else Seq(items, value.pos)
        mapped = {k: self.substitute(v, scope) for k, v in value.items.items()}  # type: ignore[union-attr]  # a Map
        if all(mapped[k] is v for k, v in value.items.items()):  # type: ignore[union-attr]
            return value
        return Map(mapped, value.pos, value.key_pos)  # type: ignore[union-attr]

    def auto_name(self, type_name: str, scope: _Scope) -> str:
        while True:
            n = scope.counters.get(type_name, 0) + 1
            scope.counters[type_name] = n
            name = f"{type_name}{n}"
            if scope.prefix + name not in scope.taken:
                return name

    def expand_one(self, type_name: str, attrs: dict[str, Value], key_pos: dict[str, Position], pos: Position,
                   type_pos: Position, scope: _Scope, active: list[str], previous: str) -> str:
        # Always: outside a block (or in one without parameters) a `$name` is refused here, not read as text.
        attrs = {k: self.substitute(v, scope) for k, v in attrs.items()}
        is_block = type_name in self.blocks
        if not is_block and type_name not in REGISTRY:
            raise _unknown(type_name, sorted(REGISTRY) + sorted(self.blocks), type_pos, "layer type")
        name = None
        if "name" in attrs:
            name = read_name(attrs.pop("name"), "name")
            _check_name(name, key_pos.get("name", pos))
        copies = read_int(attrs.pop("repeat"), "repeat") if "repeat" in attrs else 1
        call = None
        if "call" in attrs:
            call_value = attrs.pop("call")
            call = read_name(call_value, "call")
            if call not in CALLS or is_block:
                raise SpecError(f"`call` must be one of {', '.join(CALLS)} on a layer, got {call!r}"
                                if not is_block else "`call` describes one layer, not a block", call_value.pos)
        inputs_key = None
        if "input" in attrs and "inputs" in attrs:
            raise SpecError("give either `input` or `inputs`, not both", key_pos.get("inputs", pos))
        if "input" in attrs:
            inputs_key = "input"
            refs = [attrs.pop("input")]
        elif "inputs" in attrs:
            inputs_key = "inputs"
            value = attrs.pop("inputs")
            if type(value) is not Seq or not value.items:
                raise SpecError("`inputs` must be a list of layer names", value.pos)
            refs = value.items
        else:
            refs = []
        inputs = tuple(self.resolve(read_name(r, inputs_key or "input"), scope) for r in refs) or (previous,)
        input_pos = tuple(r.pos for r in refs) or (pos,)
        if copies > 1 and len(inputs) > 1:
            raise SpecError("`repeat` chains one-input layers and blocks; this entry has several inputs",
                            key_pos.get("repeat", pos))
        size = self.block_size(type_name, active, type_pos) if is_block else 1
        if len(self.entries) + copies * size > self.limits.max_layers:
            raise SpecError(f"spec expands to more than {self.limits.max_layers:,} layers",
                            key_pos.get("repeat", pos), hint="raise the limit with --max-layers")
        base = name
        for copy in range(1, copies + 1):
            if base is None:
                local = self.auto_name(type_name, scope)
            else:
                local = f"{base}_{copy}" if copies > 1 else base
            full = scope.prefix + local
            if is_block:
                output = self.instantiate(self.blocks[type_name], full, attrs, key_pos, pos, inputs[0], scope,
                                          active)
                self.aliases[full] = output
                inputs = (output,)
            else:
                self.entries.append(Entry(full, type_name, inputs, input_pos, attrs, key_pos, pos, inputs_key,
                                          scope.block or "", call))
                inputs = (full,)
            input_pos = (pos,)
            inputs_key = None
        if copies > 1 and base is not None:
            self.aliases[scope.prefix + base] = inputs[0]
        return inputs[0]

    def resolve(self, ref: str, scope: _Scope) -> str:
        return scope.input_ref if ref == NETWORK_INPUT else scope.prefix + ref

    def instantiate(self, block: Block, full: str, attrs: dict[str, Value], key_pos: dict[str, Position],
                    pos: Position, input_ref: str, outer: _Scope, active: list[str]) -> str:
        params: dict[str, Value] = {}
        for key, value in attrs.items():
            if key not in block.params:
                close = get_close_matches(key, list(block.params), 1)
                hint = (f"did you mean {close[0]!r}?" if close else "its parameters: " + ", ".join(block.params)) \
                    if block.params else None
                raise SpecError(f"block {block.name!r} has no parameter {key!r}" if block.params else
                                f"block {block.name!r} takes no parameters, got {key!r}", key_pos.get(key, pos), hint)
            params[key] = value
        for pname, default in block.params.items():
            if pname not in params:
                if default is None:
                    raise SpecError(f"block {block.name!r} needs the parameter `{pname}`", pos)
                params[pname] = default
        scope = _Scope(full + "/", input_ref, params, outer.block or full)
        return self.expand(block.layers.items, scope, active + [block.name])

    def block_size(self, name: str, active: list[str], pos: Position) -> int:
        """Layers one instance of block `name` expands to (upper bound with default repeats), checking cycles."""
        if name in active:
            chain = " -> ".join(active[active.index(name):] + [name])
            raise SpecError(f"block {name!r} uses itself ({chain})", pos)
        if len(active) >= MAX_BLOCK_NESTING:
            raise SpecError(f"blocks nested deeper than {MAX_BLOCK_NESTING} levels ({' -> '.join(active[:3])} -> ..."
                            f" -> {name})", pos, hint="the limit is fixed; flatten some of the blocks")
        if name in self.sizes:
            return self.sizes[name]
        total = 0
        for item in self.blocks[name].layers.items:
            type_name = None
            repeat: Value | None = None
            if type(item) is Scalar:
                type_name = item.text
            elif type(item) is Map:
                if "type" in item.items and type(item.items["type"]) is Scalar:
                    type_name = item.items["type"].text
                    repeat = item.items.get("repeat")
                elif len(item.items) == 1:
                    (type_name, body), = item.items.items()
                    repeat = body.items.get("repeat") if type(body) is Map else None
            copies = repeat.value if type(repeat) is Scalar and type(repeat.value) is int and repeat.value > 0 else 1
            # The position of the use inside this block: a cycle is shown where it closes.
            inner = self.block_size(type_name, active + [name], item.pos) if type_name in self.blocks else 1
            total += copies * inner
            if total > self.limits.max_layers:
                break
        self.sizes[name] = total
        return total
