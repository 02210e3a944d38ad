"""YAML text -> plain values that remember where they stand in the file.

PyYAML's `safe_load` forgets positions and follows YAML 1.1 (`on` is True, `010` is 8, `1e3` is a string). Here the
text is only *composed* into nodes (no Python object is ever constructed from a tag) and every scalar is resolved by
the YAML 1.2 core schema, so that the spec reader can reject a surprising value with its line and column. Duplicate
keys and alias bombs are refused, and so is every explicit tag that does not agree with the value as written (see
`_Builder.check_tag`): a tag never changes how a value is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union

import yaml

from .errors import Position, SpecError, quote

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_LEADING_ZERO_INT = re.compile(r"[-+]?0[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
YAML11_BOOLEANS = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"}


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar with its YAML 1.2 core value (`None`, bool, int, float or str) and its source text."""

    value: object
    text: str
    pos: Position
    quoted: bool = False
    """Read as a string whatever it looks like: written in quotes (or as a block scalar), or tagged `!!str` or `!`."""
    tag: str | None = None
    """The explicit YAML tag it was written with (`!!str`, `!!int`, ...), None for most values."""


@dataclass(frozen=True, slots=True)
class Seq:
    """A YAML sequence."""

    items: list["Value"]
    pos: Position


@dataclass(frozen=True, slots=True)
class Map:
    """A YAML mapping with string keys, in file order; `key_pos` holds where each key stands."""

    items: dict[str, "Value"]
    pos: Position
    key_pos: dict[str, Position] = field(default_factory=dict)


Value = Union[Scalar, Seq, Map]


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile input from eating the machine; each can be raised from the command line."""

    max_bytes: int = 10_000_000
    """Largest spec file read (`--max-bytes`)."""
    max_nodes: int = 5_000_000
    """Most YAML nodes visited, counting every use of an alias (`--max-bytes` raises it in proportion)."""
    max_layers: int = 100_000
    """Most layers after blocks and repeats are expanded (`--max-layers`)."""
    max_depth: int = 64
    """Deepest nesting of YAML collections."""
    max_traced: int = 2_000_000
    """Most positions the receptive-field analysis traces one by one (`--max-traced`): the outputs of layers that are
    not sliding windows (upsample, conv_transpose, irregular adaptive pooling) and every window read through them,
    one per jump kept where paths meet, and the positions `rf --at` visits."""
    max_jump_digits: int = 100
    """Most decimal digits of a receptive-field jump, the product of the strides on a path (`--max-jump-digits`)."""


def resolve_scalar(text: str) -> object:
    """The YAML 1.2 core-schema value of a plain scalar."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        # Beyond Python's int/str conversion limit (4300 digits) the text stays text; `read_int` says it is too large.
        return int(text) if len(text) <= 4000 else text
    if _FLOAT.match(text):
        return float(text)
    if text.lower() in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[text.lower()]
    return text


def parse_yaml(text: str, filename: str, limits: Limits = Limits()) -> Value:
    """Read `text` into positioned values, or raise `SpecError` with the file, line and column.

    The tree is built from PyYAML's event stream with an explicit stack (no recursion, no `yaml.Node` objects), which
    is several times faster than `yaml.compose` and bounds nesting depth and alias expansion as it goes.
    """
    _check_flow_nesting(text, filename, limits)
    lines = _Lines(text)
    builder = _Builder(filename, lines, limits)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(filename, mark.line + 1, mark.column + 1) if mark else Position(filename, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        context = exc.context_mark
        if exc.problem and exc.context and context is not None and mark is not None and context.line != mark.line:
            problem += f" ({exc.context} that starts at line {context.line + 1}, column {context.column + 1})"
        source_line = _line(lines, pos.line)
        if "\t" in text and ("tab" in problem or "\t" in (source_line or "")):
            problem += " (YAML indentation must use spaces, not tabs)"
        raise SpecError(f"invalid YAML: {problem}", pos, source_line=source_line) from None
    except yaml.reader.ReaderError as exc:  # control characters
        pos = _offset_position(text, exc.position, filename)
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise SpecError(f"invalid YAML: character U+{char:04X} is not allowed ({exc.reason})", pos,
                        hint="a spec is plain text; remove the character", source_line=_line(lines, pos.line)) from None
    except UnicodeEncodeError as exc:  # a str holding unpaired surrogates (only through the Python API)
        pos = _offset_position(text, len(text[: exc.start].encode("utf-8", "surrogatepass")), filename)
        raise SpecError("invalid text: an unpaired surrogate character", pos) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {str(exc).splitlines()[0]}", Position(filename, 1, 1)) from None
    if builder.root is None:
        raise SpecError("spec is empty", Position(filename, 1, 1),
                        hint="a spec is a mapping with `input:` and `layers:`")
    return builder.root


def _offset_position(text: str, byte_offset: object, filename: str) -> Position:
    """The line and column (in characters) of a UTF-8 byte offset into `text`, as libyaml reports reader errors."""
    if not isinstance(byte_offset, int) or byte_offset < 0:
        return Position(filename, 1, 1)
    prefix = text.encode("utf-8", "surrogatepass")[:byte_offset].decode("utf-8", "ignore")
    lines = (prefix + "x").splitlines()
    return Position(filename, len(lines), len(lines[-1]))


class _Lines:
    """The lines of a spec, split only when an error needs one (a 10 MB spec would hold a million strings)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.split: list[str] | None = None

    def get(self, number: int) -> str | None:
        if self.split is None:
            self.split = self.text.splitlines()
        return self.split[number - 1] if 0 < number <= len(self.split) else None


def _line(lines: "_Lines | list[str]", number: int) -> str | None:
    if isinstance(lines, _Lines):
        return lines.get(number)
    return lines[number - 1] if 0 < number <= len(lines) else None


_DEPTH_HINT = "the limit is fixed; a spec needs about 6 levels (blocks > block > layers > layer > attribute)"
_BRACKETS = re.compile(r"[^\[\]{}]+")


def _check_flow_nesting(text: str, filename: str, limits: Limits) -> None:
    """Refuse deeply nested flow collections before libyaml, which slows down quadratically on them, sees them."""
    brackets = _BRACKETS.sub("", text)
    if len(brackets) // 2 <= limits.max_depth:
        return
    depth = 0
    for index, ch in enumerate(brackets):
        depth += 1 if ch in "[{" else -1
        if depth > limits.max_depth:
            # Find the line of the offending bracket for the message.
            seen = -1
            for offset, tch in enumerate(text):
                if tch in "[]{}":
                    seen += 1
                    if seen == index:
                        line = text.count("\n", 0, offset) + 1
                        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
                        raise SpecError(f"YAML nested deeper than {limits.max_depth} levels",
                                        Position(filename, line, column), hint=_DEPTH_HINT,
                                        source_line=_line(text.splitlines(), line))
        depth = max(depth, 0)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The fastest safe parser available; tags are never constructed, only read."""


_CORE = "tag:yaml.org,2002:"
_STRING_TAGS = {"!", _CORE + "str"}
"""Tags that make a scalar a string, as quotes do (`!` is YAML's non-specific tag: a string for a scalar)."""
_VALUE_TAGS = {_CORE + "null": type(None), _CORE + "bool": bool, _CORE + "int": int, _CORE + "float": float}
_KINDS = {type(None): "null", bool: "a boolean", int: "an integer", float: "a float", str: "a string"}


def short_tag(tag: str) -> str:
    """`!!int` for `tag:yaml.org,2002:int`, other tags as written."""
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


class _Builder:
    """Turns YAML events into `Scalar`/`Seq`/`Map` values with an explicit stack."""

    def __init__(self, filename: str, lines: _Lines, limits: Limits) -> None:
        self.filename = filename
        self.lines = lines
        self.limits = limits
        self.root: Value | None = None
        self.documents = 0
        # Each frame: [container, pending key or None, key position, anchor]
        self.stack: list[list] = []
        self.anchors: dict[str, tuple[Value, int]] = {}
        self.sizes: list[int] = []
        self.nodes = 0

    def pos(self, mark) -> Position:
        return Position(self.filename, mark.line + 1, mark.column + 1)

    def error(self, message: str, pos: Position, hint: str | None = None) -> SpecError:
        return SpecError(message, pos, hint, _line(self.lines, pos.line))

    def count(self, size: int, mark) -> None:
        self.nodes += size
        if self.nodes > self.limits.max_nodes:
            raise self.error(f"spec expands to more than {self.limits.max_nodes:,} YAML values (an alias bomb?)",
                             self.pos(mark), hint="raise the limit with --max-bytes")

    def feed(self, event: Any) -> None:  # a yaml.Event, told apart by its exact type (faster than isinstance)
        kind = type(event)
        if kind is yaml.ScalarEvent:
            pos = self.pos(event.start_mark)
            text = event.value
            quoted = bool(event.style) or event.tag in _STRING_TAGS  # plain scalars have no style ('' or None)
            value = text if quoted else resolve_scalar(text)
            if event.tag is not None:
                self.check_scalar_tag(event, value, pos)
            self.count(1, event.start_mark)
            self.add(Scalar(value, text, pos, quoted, None if event.tag is None else short_tag(event.tag)), event, 1)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            expected = _CORE + ("map" if kind is yaml.MappingStartEvent else "seq")
            if event.tag not in (None, "!", expected):
                self.refuse_tag(event, "a mapping" if kind is yaml.MappingStartEvent else "a list")
            if len(self.stack) >= self.limits.max_depth:
                raise self.error(f"YAML nested deeper than {self.limits.max_depth} levels",
                                 self.pos(event.start_mark), hint=_DEPTH_HINT)
            pos = self.pos(event.start_mark)
            container: Value = Map({}, pos, {}) if kind is yaml.MappingStartEvent else Seq([], pos)
            self.count(1, event.start_mark)
            self.stack.append([container, None, None, event.anchor, 1])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            container, _, _, anchor, size = self.stack.pop()
            if anchor is not None:
                self.anchors[anchor] = (container, size)
            self.add(container, event, size, register=False)
        elif kind is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                raise self.error(f"unknown alias *{event.anchor}", self.pos(event.start_mark))
            value, size = self.anchors[event.anchor]
            self.count(size, event.start_mark)
            self.add(value, event, size, register=False)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                raise self.error("spec holds several YAML documents; cnncalc reads one",
                                 self.pos(event.start_mark), hint="remove the `---` line")

    def check_scalar_tag(self, event, value: object, pos: Position) -> None:
        """The rule for explicit tags: a tag is accepted only where it agrees with how the value is read anyway
        (`!!str`/`!` make a string, as quotes do; `!!int 4`, `!!float 0.5`, `!!bool true`, `!!null ~` restate
        the value); a tag that would change the value (`!!float 4`, `!!null relu`, `!!int "4"`) or that names
        anything else (`!!python/...`, `!!binary`, `!foo`) is refused, naming the tag."""
        if event.tag in _STRING_TAGS:
            return
        wanted = _VALUE_TAGS.get(event.tag)
        if wanted is None:
            self.refuse_tag(event, "a single value")
        read = type(value)
        if read is str and not event.style and _INT.match(event.value):  # an integer too long to convert
            read = int
        if read is not wanted:
            kind = _KINDS[read] + (" (it is quoted)" if event.style else "")
            if not event.style and _LEADING_ZERO_INT.match(event.value):
                kind = "a number with a leading zero (YAML 1.1 would read it as octal)"
            raise self.error(f"YAML tag {quote(short_tag(event.tag))} contradicts the value {quote(event.value)}, "
                             f"which a spec reads as {kind}", pos,
                             hint="remove the tag: a tag never changes how a spec reads a value")

    def refuse_tag(self, event, what: str) -> None:
        tag = event.tag
        if tag in (_CORE + "map", _CORE + "seq", _CORE + "str", *_VALUE_TAGS):
            raise self.error(f"YAML tag {quote(short_tag(tag))} does not fit {what}", self.pos(event.start_mark),
                             hint="remove the tag")
        raise self.error(f"YAML tag {quote(short_tag(tag))} is not allowed in a spec", self.pos(event.start_mark),
                         hint="a spec uses no tags other than the core ones (!!str, !!int, ...) that restate a "
                              "value; cnncalc never constructs objects from a spec")

    def add(self, value: Value, event, size: int, register: bool = True) -> None:
        anchor = getattr(event, "anchor", None)
        if register and anchor is not None and not isinstance(event, yaml.AliasEvent):
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        frame[4] += size
        container = frame[0]
        if type(container) is Seq:
            container.items.append(value)
            return
        if frame[1] is None:  # this value is a key
            if type(value) is not Scalar:
                raise self.error("a mapping key must be a plain name", value.pos)
            key = value.text
            if key == "<<" and not value.quoted:
                raise self.error("YAML merge keys (`<<`) are not supported in a spec", value.pos,
                                 hint="write the keys out, or use a block")
            if key in container.items:
                first = container.key_pos[key]
                raise self.error(f"duplicate key {key!r} (first at line {first.line})", value.pos,
                                 hint="YAML would silently keep only the last one")
            frame[1] = key
            frame[2] = value.pos
            container.key_pos[key] = value.pos
            container.items[key] = None  # placeholder keeps file order and catches a duplicate of a pending key
            return
        container.items[frame[1]] = value
        frame[1] = None
