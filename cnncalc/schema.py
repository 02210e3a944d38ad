"""A JSON Schema (draft 2020-12) of the spec language, generated from the layer registry.

    spec_schema()   # the schema as a dict; the package also ships it as cnncalc/spec.schema.json (SCHEMA_PATH)

Every attribute of every layer type is in it with its type, default and description; the three entry forms, blocks,
`params:`, `when:` and expressions (any value may be a string starting with `$`: `$p` or `$(EXPR)`) too. What a
schema cannot say, cnncalc still checks: which names are blocks (the schema accepts any type name in a spec that
declares `blocks:`), references, shapes, a float with no fraction where an integer is needed (JSON Schema counts
3.0 as an integer), and anything an expression computes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

from .geometry import Padding
from .layers import REGISTRY, fields_of
from .layers.base import BOOL, FLOAT, INT, MAX_INT, NONNEG_PAIR, PADDING, PAIR, SIZES, Kind
from .spec import CALLS, COMMON_KEYS, NETWORK_INPUT, TOP_LEVEL_KEYS

SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")
"""The shipped copy of `spec_schema()` (scripts/update_schema.py writes it; a test checks it is current)."""

EXPRESSION = {"type": "string", "pattern": r"^\$",
              "description": "a parameter `$p` or an expression `$(EXPR)`, evaluated over the parameters in scope"}
_NAME_PATTERN = r"^[^$/.][^/.]*$"


def _value(schema: dict) -> dict:
    """A value that is `schema`, or an expression that computes one."""
    return {"anyOf": [schema, {"$ref": "#/$defs/expression"}]}


def _int(minimum: int) -> dict:
    return _value({"type": "integer", "minimum": minimum, "maximum": MAX_INT})


def _pair(minimum: int) -> dict:
    return {"anyOf": [{"type": "integer", "minimum": minimum, "maximum": MAX_INT},
                      {"type": "array", "items": _int(minimum), "minItems": 2, "maxItems": 2},
                      {"$ref": "#/$defs/expression"}]}


_KINDS: list[tuple[str, Kind, dict]] = [
    ("int", INT, _int(1)),
    ("pair", PAIR, _pair(1)),
    ("nonneg_pair", NONNEG_PAIR, _pair(0)),
    ("padding", PADDING, {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_INT},
                         {"type": "array", "items": _int(0), "minItems": 2, "maxItems": 2},
                         {"type": "array", "items": _int(0), "minItems": 4, "maxItems": 4},
                         {"enum": ["same", "half", "valid"]}, {"$ref": "#/$defs/expression"}]}),
    ("bool", BOOL, _value({"type": "boolean"})),
    ("float", FLOAT, _value({"type": "number"})),
    ("sizes", SIZES, {"anyOf": [{"type": "array", "items": _int(1), "minItems": 1}, {"$ref": "#/$defs/expression"}]}),
]


def kind_schema(kind: Kind) -> dict:
    """The JSON Schema of the values of one attribute kind (a reference into `$defs/kind` for the shared kinds); a
    kind without one is a programming error."""
    if kind.options:
        return _value({"enum": list(kind.options)})
    for name, known, _ in _KINDS:
        if kind is known:
            return {"$ref": f"#/$defs/kind/{name}"}
    raise KeyError(f"no JSON Schema for the attribute kind {kind.describe!r}: add it to cnncalc/schema.py")


def _json_default(value: Any) -> Any:
    if isinstance(value, Padding):
        if value.mode != "explicit":
            return value.mode
        sides = [value.top, value.bottom, value.left, value.right]
        return sides[0] if len(set(sides)) == 1 else sides
    if isinstance(value, tuple):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def _attribute(field: dataclasses.Field) -> dict:
    kind: Kind = field.metadata["kind"]
    schema = {"description": f"{field.metadata['doc']} ({kind.describe})", **kind_schema(kind)}
    if field.default is not dataclasses.MISSING and field.default is not None:
        schema["default"] = _json_default(field.default)
    elif field.default is None:
        schema["description"] += f"; default: {field.metadata['shown'] or 'not set'}"
    return schema


_REFERENCE = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}],
              "description": "an earlier layer's name (inside a block, `input` is the block's input)"}
_COMMON = {
    "name": {"anyOf": [{"type": "string", "pattern": _NAME_PATTERN, "not": {"const": NETWORK_INPUT}},
                       {"type": "integer"}, {"type": "boolean"}, {"$ref": "#/$defs/expression"}],
             "description": "unique name (default: the type and a running number); no `/` or `.`, not `input`"},
    "input": {**_REFERENCE, "description": "the layer it reads (default: the previous entry that exists)"},
    "inputs": {"type": "array", "items": _REFERENCE, "minItems": 1,
               "description": "the layers it reads (concat, add, mul)"},
    "repeat": {**_int(0), "description": "the entry N times in a chain, named NAME_1 .. NAME_N (N = 1 included); "
                                        "0 leaves it out"},
    "call": {**_value({"enum": list(CALLS)}), "description": "how the PyTorch reference calls the layer"},
    "when": {**_value({"type": "boolean"}), "description": "the entry exists only where this holds"},
}
assert set(_COMMON) == set(COMMON_KEYS) - {"type"}, "a common key without a schema"


def _layer(type_name: str, with_type: bool) -> dict:
    """The attributes of one layer type: `{type: T, ...}` (with_type) or the body of `{T: {...}}`."""
    cls = REGISTRY[type_name]
    properties: dict[str, Any] = {"type": {"description": cls.summary}} if with_type else {}
    properties.update({k: {"$ref": f"#/$defs/common/{k}"} for k in _COMMON if k != "call" or not cls.call_attributes})
    properties.update({f.name: _attribute(f) for f in fields_of(cls)})
    required = [f.name for f in fields_of(cls) if f.default is dataclasses.MISSING]
    # How many layers it reads: `inputs` bounded by the type's arity; a type of two or more inputs needs `inputs`.
    inputs: dict[str, Any] = {"$ref": "#/$defs/common/inputs"}
    if cls.max_inputs is not None:
        inputs["maxItems"] = cls.max_inputs
    if cls.min_inputs > 1:
        inputs["minItems"] = cls.min_inputs
        required.append("inputs")
    properties["inputs"] = inputs
    schema: dict[str, Any] = {"type": "object", "description": f"{type_name}: {cls.summary}",
                              "properties": properties, "additionalProperties": False,
                              "not": {"required": ["input", "inputs"]}}
    if required:
        schema["required"] = required
    return schema


def _entry(strict: bool) -> dict:
    """A layer entry: a bare type, `{type: T, ...}` or `{T: {...}}`. `strict`: no blocks exist, so every type is
    a layer type; otherwise a type that is not one is taken for a block, whose parameters the schema cannot know."""
    types = sorted(REGISTRY)
    by_type = [{"if": {"properties": {"type": {"const": t}}}, "then": {"$ref": f"#/$defs/layer/{t}"}}
               for t in types]
    type_key = _value({"enum": types}) if strict else {"anyOf": [{"type": "string"}, {"type": "integer"},
                                                                 {"type": "boolean"}]}
    one_key: dict[str, Any] = {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "properties": {t: {"anyOf": [{"type": "null"}, {"$ref": f"#/$defs/body/{t}"}]} for t in types},
        "additionalProperties": False if strict else {"type": ["object", "null"]}}
    bare = _value({"enum": types}) if strict else {"type": ["string", "integer", "boolean"]}
    return {"if": {"type": ["string", "integer", "boolean", "number", "null"]}, "then": bare,
            "else": {"type": "object",
                     "if": {"required": ["type"]},
                     "then": {"properties": {"type": type_key}, "allOf": by_type},
                     "else": one_key}}


def _params(block: bool) -> dict:
    name: dict[str, Any] = {"type": "string"}
    if block:
        name = {"type": "string", "not": {"enum": list(COMMON_KEYS)}}
    return {"type": "array", "uniqueItems": True,
            "description": "parameter names, or {name: default} (a default may be an expression over the parameters "
                           "before it)",
            "items": {"anyOf": [name, {"type": "object", "minProperties": 1, "maxProperties": 1,
                                       "propertyNames": name}]}}


def schema_text() -> str:
    """`spec_schema()` as the text `cnncalc schema` prints and SCHEMA_PATH holds: JSON, indented by one space."""
    import json
    return json.dumps(spec_schema(), indent=1) + "\n"


def spec_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a cnncalc spec."""
    dim = _int(1)
    block_name = {"pattern": _NAME_PATTERN, "not": {"enum": sorted(REGISTRY) + [NETWORK_INPUT]}}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cnncalc spec",
        "description": "A CNN as a list of layers (cnncalc: exact receptive fields, parameters and operation counts)",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}],
                     "description": "the network's name (default: the file's stem)"},
            "description": {"type": "string"},
            "params": {**_params(False), "description": "the spec's parameters, set with --set NAME=VALUE"},
            "input": {"description": "[C, H, W], [features] or {channels, height, width}",
                      "anyOf": [{"type": "array", "items": dim, "minItems": 3, "maxItems": 3},
                                {"type": "array", "items": dim, "minItems": 1, "maxItems": 1},
                                {"type": "object", "required": ["channels", "height", "width"],
                                 "additionalProperties": False,
                                 "properties": {"channels": dim, "height": dim, "width": dim}},
                                {"type": "object", "required": ["features"], "additionalProperties": False,
                                 "properties": {"features": dim}}]},
            "blocks": {"type": "object", "description": "reusable blocks: name -> {params, layers}",
                       "propertyNames": block_name,
                       "additionalProperties": {
                           "type": "object", "required": ["layers"], "additionalProperties": False,
                           "properties": {"description": {"type": "string"}, "params": _params(True),
                                          "layers": {"type": "array", "minItems": 1,
                                                     "items": {"$ref": "#/$defs/entry_with_blocks"}}}}},
            "layers": {"type": "array", "minItems": 1},
        },
        "if": {"required": ["blocks"]},
        "then": {"properties": {"layers": {"items": {"$ref": "#/$defs/entry_with_blocks"}}}},
        "else": {"properties": {"layers": {"items": {"$ref": "#/$defs/entry"}}}},
        "$defs": {
            "expression": EXPRESSION,
            "kind": {name: schema for name, _, schema in _KINDS},
            "common": _COMMON,
            "entry": _entry(strict=True),
            "entry_with_blocks": _entry(strict=False),
            "layer": {t: _layer(t, True) for t in sorted(REGISTRY)},
            "body": {t: _layer(t, False) for t in sorted(REGISTRY)},
        },
    }
    assert set(cast(dict, schema["properties"])) == set(TOP_LEVEL_KEYS), "a top-level key without a schema"
    return schema
