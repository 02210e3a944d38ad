"""A spec file -> the flat list of layer entries it describes, blocks and repeats expanded, positions kept.

Reading checks the document's structure (keys, forms, block parameters, limits), substitutes parameters (`$p`: the
spec's `params:`, set by `overrides`, and a block's), evaluates expressions (`$(EXPR)`, cnncalc/expr.py) and leaves
out the entries whose `when:` is false; what the entries mean (attributes, shapes, references) is checked when the
graph is built, with the positions kept here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from .errors import Position, SpecError, quote, suggest
from .layers import REGISTRY
from .layers.base import read_bool, read_int, read_name
from .source import Limits, Map, Scalar, Seq, Value, parse_yaml

if TYPE_CHECKING:
    from .expr import Expression

COMMON_KEYS = ("name", "type", "input", "inputs", "repeat", "call", "when")
CALLS = ("module", "functional", "operator", "method")
"""How PyTorch's reference implementation invokes a layer (`call:`). Only tool conventions that count by hooking
PyTorch read it (ptflops counts `nn.ReLU` twice and `F.relu` once; fvcore counts `x.mean()` as nothing)."""
TOP_LEVEL_KEYS = ("name", "description", "params", "input", "blocks", "layers")
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
    limits: Limits = Limits()
    """The limits it was read under; the analyses honour them too."""


@dataclass(frozen=True)
class Block:
    name: str
    params: dict[str, Value | None]
    """Parameter name -> default value (None: required)."""
    layers: Seq
    pos: Position


def read_spec(text: str, filename: str = "<string>", limits: Limits = Limits(),
              overrides: dict[str, str] | None = None) -> Spec:
    """Parse and expand a spec, or raise SpecError naming the file, line and column.

    `overrides` maps a top-level parameter's name to the text of its value (`--set NAME=VALUE`), read as YAML."""
    root = parse_yaml(text, filename, limits)
    if type(root) is Scalar and root.value is None and not root.quoted:  # `---` alone, or `~`
        raise SpecError("spec is empty", root.pos, hint="a spec is a mapping with `input:` and `layers:`")
    if type(root) is not Map:
        kind = "a list" if type(root) is Seq else "a single value"
        raise SpecError(f"a spec is a mapping with `input:` and `layers:`, this document is {kind}", root.pos)
    for key in root.items:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown(key, TOP_LEVEL_KEYS, root.key_pos[key], "top-level key")
    declared = _read_params(root.items.get("params"), None)
    expander = _Expander({}, limits)
    top = _Scope("", NETWORK_INPUT, expander.bind_top_level(declared, root, overrides or {}), None)
    expander.globals = top.params
    name = read_name(expander.substitute(root.items["name"], top), "name") if "name" in root.items \
        else PurePath(filename).stem
    if "input" not in root.items:
        raise SpecError("spec has no `input:` (the input shape)", root.pos, hint="add `input: [3, 224, 224]`")
    shape = _read_input(expander.substitute(root.items["input"], top))
    if "layers" not in root.items:
        raise SpecError("spec has no `layers:`", root.pos)
    expander.blocks = _read_blocks(root.items.get("blocks"))
    layers = root.items["layers"]
    expander.expand(_layer_list(layers, "layers"), top, [])
    if not expander.entries:
        raise SpecError("no layer exists for these parameters: every entry is left out (`when:` false or "
                        "`repeat: 0`)", layers.pos)
    return Spec(name, filename, shape, root.items["input"].pos, expander.entries, expander.aliases, limits)


def parse_set_options(values: list[str]) -> dict[str, str]:
    """`--set NAME=VALUE` options -> {NAME: VALUE text}; a malformed or repeated NAME is a SpecError."""
    overrides: dict[str, str] = {}
    for item in values:
        pname, equals, text = item.partition("=")
        pname = pname.strip()
        if not equals or not pname:
            raise SpecError(f"--set {item!r}: expected NAME=VALUE", hint="e.g. --set res=240")
        if not pname.isidentifier():
            raise SpecError(f"--set {item!r}: {pname!r} is not a parameter name",
                            hint="a name of letters, digits and _, as declared in `params:`")
        if not text.strip():
            raise SpecError(f"--set {item!r}: no value after `=`", hint=f"e.g. --set {pname}=1")
        if pname in overrides:
            raise SpecError(f"--set {pname} given twice ({overrides[pname]!r} and {text!r})")
        overrides[pname] = text
    return overrides


def _unknown(key: str, known, pos: Position, what: str) -> SpecError:
    close = suggest(key, known)
    hint = f"did you mean {close!r}?" if close else "known: " + ", ".join(known)
    return SpecError(f"unknown {what} {quote(key)}", pos, hint)


def _plugin_layer(type_name: str, pos: Position) -> bool:
    """Whether an installed plug-in provides the layer type `type_name` (loaded now, on its first use)."""
    from .plugins import load_plugin
    try:
        return load_plugin("layers", type_name)
    except SpecError as exc:  # a broken plug-in: its own message, at the spec's `type`
        raise SpecError(exc.message, pos, exc.hint) from None


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
        params = {pname: default for pname, (default, _) in _read_params(body.items.get("params"), name).items()}
        blocks[name] = Block(name, params, body.items["layers"], body.pos)  # type: ignore[arg-type]  # a Seq: checked
    return blocks


def _read_params(declared: Value | None, block: str | None) -> dict[str, tuple[Value | None, Position]]:
    """`params: [a, {b: default}]` of a block (named `block`) or of the spec (None): name -> (default or None,
    where it is declared)."""
    params: dict[str, tuple[Value | None, Position]] = {}
    if declared is None:
        return params
    if type(declared) is not Seq:
        raise SpecError("`params` must be a list of names (or {name: default})", declared.pos)
    for item in declared.items:
        if type(item) is Map and len(item.items) == 1:
            (pname, default), = item.items.items()
        elif type(item) is Scalar:
            pname, default = read_name(item, "params"), None
        else:
            raise SpecError(f"a {'block ' if block else ''}parameter is a name or {{name: default}}", item.pos)
        if pname in params:
            raise SpecError(f"block {block!r} declares parameter {pname!r} twice" if block else
                            f"the spec declares parameter {pname!r} twice", item.pos)
        if block and pname in COMMON_KEYS:
            raise SpecError(f"{pname!r} cannot be a block parameter: it is a common layer key", item.pos)
        params[pname] = (default, item.pos)
    return params


def _check_name(name: str, pos: Position) -> None:
    if not name or "/" in name or "." in name or name == NETWORK_INPUT or name.startswith("$"):
        raise SpecError(f"{quote(name)} cannot be a name: names are non-empty, not `input`, without `/` or `.`", pos)


@dataclass
class _Scope:
    prefix: str
    """`inst/` inside a block instance, "" at top level."""
    input_ref: str
    params: dict[str, Value]
    """Every parameter in scope: the spec's `params:`, then (inside a block) the block's, which hide them."""
    block: str | None
    counters: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    values: dict[str, object] | None = None
    """`params` as the values expressions compute with (made when the first expression needs them)."""

    def expression_values(self) -> dict[str, object]:
        if self.values is None:
            self.values = {k: v.value if type(v) is Scalar else v for k, v in self.params.items()}
        return self.values


_SET = "--set"
"""The file name of the positions of `--set` values."""


@dataclass(slots=True)  # not frozen: made once per entry per instance, and a frozen __init__ costs
class _Form:
    """One layer entry, read in its scope: its type, substituted attributes and positions, and whether it exists."""

    type_name: str
    attrs: dict[str, Value]
    key_pos: dict[str, Position]
    pos: Position
    type_pos: Position
    when: Value | None
    """The entry's `when:` as written (None: always)."""
    exists: bool


class _Expander:
    def __init__(self, blocks: dict[str, Block], limits: Limits) -> None:
        self.blocks = blocks
        self.limits = limits
        self.entries: list[Entry] = []
        self.aliases: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.globals: dict[str, Value] = {}
        """The spec's own parameters (`params:` at the top), seen in every block unless a block parameter hides
        them."""
        self.absent: dict[str, Value] = {}
        """Full name of an entry whose `when:` is false -> that `when:` value, as written."""
        self.parsed: dict[str, "Expression"] = {}
        """Expression text -> its parsed form (a block's expressions are parsed once, whatever its instances)."""

    def bind_top_level(self, declared: dict[str, tuple[Value | None, Position]], root: Map,
                       overrides: dict[str, str]) -> dict[str, Value]:
        """The spec's parameters: `--set` values, else the defaults (which may use the parameters before them)."""
        for pname in overrides:
            if pname not in declared:
                close = suggest(pname, declared)
                hint = f"did you mean {close!r}?" if close else (
                    "its parameters: " + ", ".join(declared) if declared else
                    f"declare it in the spec: `params: [{{{pname}: DEFAULT}}]`")
                where = root.key_pos.get("params", root.pos)
                raise SpecError(f"--set {pname}: the spec has no parameter {pname!r}", where, hint)
        params: dict[str, Value] = {}
        for pname, (default, pos) in declared.items():
            if pname in overrides:
                value = parse_yaml(overrides[pname], f"{_SET} {pname}", self.limits)
            elif default is None:
                raise SpecError(f"the spec's parameter {pname!r} has no default and no value", pos,
                                hint=f"give one with --set {pname}=VALUE, or declare {{{pname}: DEFAULT}}")
            else:
                value = default
            params[pname] = self.substitute(value, _Scope("", NETWORK_INPUT, dict(params), None))
        return params

    def expand(self, items: list[Value], scope: _Scope, active: list[str]) -> str:
        """Append the entries of `items` in `scope`; return the name of the last layer that exists (the scope's
        output; its input when no entry exists)."""
        if len(self.entries) + len(items) > self.limits.max_layers:  # before the work on a huge list
            raise SpecError(f"spec expands to more than {self.limits.max_layers:,} layers",
                            items[self.limits.max_layers - len(self.entries)].pos,
                            hint="raise the limit with --max-layers")
        forms = [self.read_form(item, scope) for item in items]
        named = [(scope.prefix + read_name(f.attrs["name"], "name"), f) for f in forms if "name" in f.attrs]
        scope.taken = {full for full, _ in named}
        if any(not f.exists for f in forms):
            present = {full for full, f in named if f.exists}
            for full, form in named:
                if not form.exists and full not in present:  # two entries of one name under opposite conditions
                    self.absent[full] = form.when  # type: ignore[assignment]
        previous = scope.input_ref
        for f in forms:
            if f.exists:
                previous = self.expand_one(f.type_name, f.attrs, f.key_pos, f.pos, f.type_pos, scope, active,
                                           previous)
        return previous

    def read_form(self, item: Value, scope: _Scope) -> _Form:
        """An entry in its scope: every value substituted (`$p`, `$(...)`), `when:` decided."""
        if type(item) is Scalar:  # a bare type may be computed: `- $(act)`
            item = self.substitute(item, scope)
        type_name, attrs, key_pos, pos, type_pos = self.normalise(item, scope)
        when = attrs.get("when")
        attrs = {k: self.substitute(v, scope) for k, v in attrs.items()}
        exists = read_bool(attrs.pop("when"), "when") if "when" in attrs else True
        return _Form(type_name, attrs, key_pos, pos, type_pos, when, exists)

    def normalise(self, item: Value, scope: _Scope) -> tuple[str, dict[str, Value], dict[str, Position],
                                                             Position, Position]:
        """(type, attributes, key positions, entry position, type position) of one of the three entry forms."""
        if type(item) is Scalar:
            return read_name(item, "type"), {}, {}, item.pos, item.pos
        if type(item) is not Map:
            raise SpecError("a layer entry is a type name, {type: T, ...} or {T: {...}}", item.pos)
        if "type" in item.items:
            attrs = dict(item.items)
            type_value = self.substitute(attrs.pop("type"), scope)
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
        """`value` with every `$p` replaced by the parameter's value and every `$(EXPR)` by its result."""
        if type(value) is Scalar:
            if type(value.value) is str and value.text.startswith("$"):
                if value.text.startswith("$("):
                    return self.evaluate(value, scope)
                if not value.quoted:
                    return self.parameter(value, scope)
            return value
        if type(value) is Seq:
            items = [self.substitute(v, scope) for v in value.items]
            return value if all(a is b for a, b in zip(items, value.items)) else Seq(items, value.pos)
        mapped = {k: self.substitute(v, scope) for k, v in value.items.items()}  # type: ignore[union-attr]  # a Map
        if all(mapped[k] is v for k, v in value.items.items()):  # type: ignore[union-attr]
            return value
        return Map(mapped, value.pos, value.key_pos)  # type: ignore[union-attr]

    def parameter(self, value: Scalar, scope: _Scope) -> Value:
        """The value of `$p`."""
        pname = value.text[1:]
        if pname not in scope.params:
            if not pname.isidentifier():
                raise SpecError(f"{_short(value.text)!r} is not a parameter name", value.pos,
                                hint=f"write an expression as $({_short(pname)})")
            known = list(scope.params)
            what = "block parameter" if scope.block else "parameter"
            raise _unknown(pname, known, value.pos, what) if known else SpecError(
                f"{value.text} names no parameter" + (" (this block declares none)" if scope.block else
                                                      " (this spec declares no `params:`)"), value.pos)
        found = scope.params[pname]
        if type(found) is Scalar and found.pos.file.startswith(_SET):  # a `--set` value: shown where it is used
            return dataclasses.replace(found, pos=value.pos)
        return found

    def evaluate(self, value: Scalar, scope: _Scope) -> Scalar:
        """The result of `$(EXPR)`, as the scalar a YAML reader would give for it (a whole float is an int)."""
        from .expr import ExprError, parse  # on the first expression: a spec without one never imports `ast`
        text = value.text
        if not text.endswith(")"):
            raise SpecError(f"unclosed expression {_short(text)!r}: write `$(...)` around the whole value",
                            value.pos, hint="inside [...] or {...}, quote an expression that holds a comma: "
                                            "\"$(max(8, w // 4))\"")
        inner = text[2:-1]
        try:
            expression = self.parsed.get(inner)
            if expression is None:
                expression = self.parsed[inner] = parse(inner)
            result = expression.evaluate(scope.expression_values())
        except ExprError as exc:
            pos = value.pos
            where = ""
            if value.quoted or "\n" in text:
                where = f" (character {exc.offset + 1} of the expression)"
            else:  # a plain scalar on one line: the column of the fault itself
                pos = dataclasses.replace(pos, column=pos.column + 2 + exc.offset)
            raise SpecError(f"in {_short(text)}: {exc.message}{where}", pos, exc.hint) from None
        return _result_scalar(result, value.pos)

    def auto_name(self, type_name: str, scope: _Scope) -> str:
        while True:
            n = scope.counters.get(type_name, 0) + 1
            scope.counters[type_name] = n
            name = f"{type_name}{n}"
            if scope.prefix + name not in scope.taken:
                return name

    def expand_one(self, type_name: str, attrs: dict[str, Value], key_pos: dict[str, Position], pos: Position,
                   type_pos: Position, scope: _Scope, active: list[str], previous: str) -> str:
        is_block = type_name in self.blocks
        if not is_block and type_name not in REGISTRY and not _plugin_layer(type_name, type_pos):
            raise _unknown(type_name, sorted(REGISTRY) + sorted(self.blocks), type_pos, "layer type")
        name = None
        if "name" in attrs:
            name = read_name(attrs.pop("name"), "name")
            _check_name(name, key_pos.get("name", pos))
        repeated = "repeat" in attrs  # then the copies are named NAME_1 .. NAME_N, N = 1 included
        copies = read_int(attrs.pop("repeat"), "repeat", minimum=0) if repeated else 1
        call = None
        if "call" in attrs:
            call_value = attrs.pop("call")
            call = read_name(call_value, "call")
            if call not in CALLS or is_block:
                raise SpecError(f"`call` must be one of {', '.join(CALLS)} on a layer, got {call!r}"
                                if not is_block else "`call` describes one layer, not a block", call_value.pos)
            parts = REGISTRY[type_name].call_attributes
            if parts:
                raise SpecError(f"`call` does not say which part of {type_name} it describes", call_value.pos,
                                hint="use " + " and ".join(f"`{p}`" for p in parts))
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
        for ref, ref_value in zip(inputs, refs):
            self.check_exists(ref, ref_value, scope)
        if is_block and len(inputs) > 1:
            raise SpecError(f"block {quote(type_name)} reads one input, got {len(inputs)}", key_pos.get("inputs", pos),
                            hint="inside a block, `input` is its one input; merge several with concat or add first")
        if repeated and copies != 1 and len(inputs) > 1:
            raise SpecError("`repeat` chains one-input layers and blocks; this entry has several inputs",
                            key_pos.get("repeat", pos))
        if copies == 0:  # no copy: the chain goes on from the entry's input, as past an entry whose `when:` is false
            return inputs[0]
        size = self.block_size(type_name, active, type_pos) if is_block else 1
        if len(self.entries) + copies * size > self.limits.max_layers:
            raise SpecError(f"spec expands to more than {self.limits.max_layers:,} layers",
                            key_pos.get("repeat", pos), hint="raise the limit with --max-layers")
        base = name
        for copy in range(1, copies + 1):
            if base is None:
                local = self.auto_name(type_name, scope)
            else:
                local = f"{base}_{copy}" if repeated else base
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
        if repeated and base is not None:
            self.aliases[scope.prefix + base] = inputs[0]
        return inputs[0]

    def resolve(self, ref: str, scope: _Scope) -> str:
        return scope.input_ref if ref == NETWORK_INPUT else scope.prefix + ref

    def check_exists(self, ref: str, written: Value, scope: _Scope) -> None:
        """Refuse a reference to an entry whose `when:` is false, naming the condition."""
        name = ref if ref in self.absent else ref.rpartition(".")[0]
        when = self.absent.get(name)
        if when is None:
            return
        shown = name[len(scope.prefix):] if name.startswith(scope.prefix) else name
        condition = when.text if type(when) is Scalar else "..."
        raise SpecError(f"layer {shown!r} does not exist for these parameters: its `when: {_short(condition)}` "
                        f"(line {when.pos.line}) is false", written.pos,
                        hint="give this entry the same `when:`, or choose its input with $(A if COND else B)")

    def instantiate(self, block: Block, full: str, attrs: dict[str, Value], key_pos: dict[str, Position],
                    pos: Position, input_ref: str, outer: _Scope, active: list[str]) -> str:
        params: dict[str, Value] = {}
        for key, value in attrs.items():
            if key not in block.params:
                close = suggest(key, block.params)
                hint = (f"did you mean {close!r}?" if close else "its parameters: " + ", ".join(block.params)) \
                    if block.params else None
                raise SpecError(f"block {block.name!r} has no parameter {quote(key)}" if block.params else
                                f"block {block.name!r} takes no parameters, got {quote(key)}", key_pos.get(key, pos),
                                hint)
            params[key] = value
        for pname, default in block.params.items():
            if pname not in params:
                if default is None:
                    raise SpecError(f"block {block.name!r} needs the parameter `{pname}`", pos)
                # A default may use the spec's parameters and the block's parameters given or defaulted before it.
                params[pname] = self.substitute(default, _Scope(full + "/", input_ref, {**self.globals, **params},
                                                                outer.block or full))
        scope = _Scope(full + "/", input_ref, {**self.globals, **params}, outer.block or full)
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


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:45]}...{text[-10:]}"


def _result_scalar(result: object, pos: Position) -> Scalar:
    """The scalar of an expression's result: an int, float, bool or None reads as a plain YAML scalar would, a
    string as a quoted one (so that `$('3')` is the string '3', not the number). A float with no fraction is an
    int: `$(w / 2)` is 12 for w = 24, while `$(w / 5)` = 4.8 stays a float, refused where an integer is needed."""
    if type(result) is float and result.is_integer():
        result = int(result)
    if type(result) is bool:
        return Scalar(result, "true" if result else "false", pos)
    if type(result) is str:
        return Scalar(result, result, pos, quoted=True)
    if result is None:
        return Scalar(None, "null", pos)
    return Scalar(result, repr(result), pos)
