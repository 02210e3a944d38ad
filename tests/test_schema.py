"""The JSON Schema of the spec language (cnncalc/schema.py): valid, current, complete, and in agreement with cnncalc
on the bad-input catalogue wherever a schema can express the rule."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import jsonschema
import pytest
from hypothesis import given, settings

import cnncalc
from cnncalc.layers import REGISTRY, fields_of
from cnncalc.schema import SCHEMA_PATH, spec_schema
from cnncalc.source import Scalar, Seq, parse_yaml
from brute import specgen
from conftest import ROOT, SPECS
from test_bad_input import CASES

SCHEMA = spec_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def as_json(text: str):
    """The document as a YAML 1.2 tool (an editor's language server, check-jsonschema) reads it."""
    def convert(value):
        if type(value) is Scalar:
            return value.value
        if type(value) is Seq:
            return [convert(v) for v in value.items]
        return {k: convert(v) for k, v in value.items.items()}
    return convert(parse_yaml(text, "spec.yaml"))


def errors(text: str) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(as_json(text))]


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_shipped_copy_is_current():
    assert json.loads(SCHEMA_PATH.read_text()) == SCHEMA, "run python scripts/update_schema.py"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_schema.py"), "--check"], capture_output=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_every_bundled_spec_validates(path):
    assert errors(path.read_text()) == []


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_attribute_has_type_default_and_description(type_name):
    for form in ("layer", "body"):
        schema = SCHEMA["$defs"][form][type_name]
        properties = schema["properties"]
        for field in fields_of(REGISTRY[type_name]):
            prop = properties[field.name]
            assert field.metadata["doc"] in prop["description"]
            assert "anyOf" in prop or "$ref" in prop  # its type (a kind, or an expression)
            if field.default is dataclasses.MISSING:
                assert field.name in schema["required"]
            elif field.default is None:
                assert "default:" in prop["description"]
            else:
                assert "default" in prop


def test_defaults_are_what_cnncalc_uses():
    """Every schema default, written into a spec, gives the same layer as leaving the attribute out."""
    conv = SCHEMA["$defs"]["layer"]["conv"]["properties"]
    assert (conv["stride"]["default"], conv["padding"]["default"], conv["bias"]["default"]) == (1, 0, True)
    for type_name, cls in REGISTRY.items():
        required = {f.name: 1 for f in fields_of(cls) if f.default is dataclasses.MISSING}
        if type_name in ("upsample",):
            required["scale"] = 2
        defaults = {f.name: SCHEMA["$defs"]["layer"][type_name]["properties"][f.name]["default"]
                    for f in fields_of(cls) if "default" in SCHEMA["$defs"]["layer"][type_name]["properties"][f.name]}
        layer = {"type": type_name, **required}
        if type_name == "split":
            layer["chunks"] = 1
        inputs = {"inputs": ["input", "input"]} if cls.min_inputs > 1 else {}
        plain = cnncalc.load(json.dumps({"input": [2, 6, 6], "layers": [{**layer, **inputs}]}))
        explicit = cnncalc.load(json.dumps({"input": [2, 6, 6], "layers": [{**layer, **defaults, **inputs}]}))
        assert plain.layers[0].layer == explicit.layers[0].layer, type_name


NOT_EXPRESSIBLE = {
    # How YAML numbers are read: JSON Schema's "integer" takes 1000.0 and 10.0 (1e3, 010 read by YAML 1.2).
    "exponent-for-int": "a whole float", "octal-looking-int": "a whole float", "exponent-in-input": "a whole float",
    "exponent-repeat": "a whole float", "float-that-is-whole": "a whole float",
    "nan-for-float": "NaN is a number to a JSON Schema validator",
    # References between entries: which names exist, earlier or later, what they output.
    "boolean-as-name": "reference", "undefined-input": "reference", "input-typo": "reference",
    "later-input": "reference", "own-input": "reference", "duplicate-layer-name": "names unique across entries",
    "split-without-chunk": "reference", "split-chunk-out-of-range": "reference",
    "reference-to-absent-entry": "reference and conditions",
    # Shapes, and rules that relate attributes to the input or to each other (checked by the layer's shape rule).
    "absurd-kernel": "shape", "concat-of-different-sizes": "shape", "add-of-different-shapes": "shape",
    "mul-of-different-shapes": "shape", "window-larger-than-input": "shape", "map-shrinks-to-zero": "shape",
    "groups-do-not-divide": "shape", "conv-after-flatten": "shape", "split-sizes-do-not-add-up": "shape",
    "output-above-int64": "shape", "upsample-without-size": "scale or size: the layer's shape rule",
    "output-padding-too-large": "relation of two attributes", "pad-same": "checked by the layer's shape rule",
    "pool-padding-above-half-kernel": "relation of two attributes",
    "avgpool-padding-above-half-kernel": "relation of two attributes",
    "block-given-two-inputs": "which names are blocks is the spec's own declaration",
    # Command-line limits.
    "absurd-repeat": "--max-layers", "block-over-layer-limit": "--max-layers",
    # Blocks: which names are blocks and what parameters each takes are the spec's own declarations.
    "unknown-block": "block names", "missing-block-parameter": "block parameters",
    "extra-block-parameter": "block parameters", "parameter-typo": "block parameters",
    "block-uses-itself": "block structure", "blocks-use-each-other": "block structure",
    "block-takes-no-parameters": "block parameters",
    # Parameters and expressions: what `$p` and `$(EXPR)` give is known only when they are evaluated.
    "dollar-names-no-parameter": "parameters", "dollar-in-block-without-parameters": "parameters",
    "dollar-outside-blocks": "parameters", "dollar-with-operator": "parameters",
    "expression-not-an-integer": "expressions", "expression-unknown-name": "expressions",
    "expression-attribute-access": "expressions", "expression-huge-power": "expressions",
    "expression-other-function": "expressions", "expression-syntax": "expressions",
    "expression-division-by-zero": "expressions", "every-entry-absent": "conditions",
    "zero-repeat-alone": "conditions (every entry left out)",
    "top-level-parameter-without-default": "--set", "top-level-parameter-typo": "parameters",
}


def _yaml_cases():
    """Catalogue cases that are YAML at all (the others no YAML tool reads, so any schema check refuses them)."""
    for case in CASES:
        if isinstance(case.text, bytes):
            continue
        try:
            as_json(case.text)
        except cnncalc.SpecError:
            continue
        yield case


@pytest.mark.parametrize("case", list(_yaml_cases()), ids=lambda c: c.id)
def test_schema_agrees_with_cnncalc_on_the_catalogue(case):
    """cnncalc refuses every case; the schema must too, unless the rule is one a schema cannot state (listed)."""
    refused = bool(errors(case.text))
    if case.id in NOT_EXPRESSIBLE:
        assert not refused, f"{case.id} is refused by the schema now: remove it from NOT_EXPRESSIBLE"
    else:
        assert refused, f"the schema accepts {case.id!r}, which cnncalc refuses"


def test_the_exceptions_are_cases():
    assert set(NOT_EXPRESSIBLE) <= {c.id for c in CASES}


@pytest.mark.parametrize("text, fragment", [
    ("input: [3, 8, 8]\nlayers: [{type: cnov}]\n", "'cnov' is not valid"),
    ("input: [3, 8, 8]\nlayers: [{type: conv, out: 4, kernal: 3}]\n", "'kernal' was unexpected"),
    ("input: [3, 8, 8]\nlayers: [{type: conv, out: '4', kernel: 3}]\n", "'4' is not valid"),
    ("input: [3, 8, 8]\nlayers: [{type: relu, input: input, inputs: [input]}]\n", "should not be valid"),
    ("input: [3, 8, 8]\nlayers: [{type: squeeze_excitation, squeeze: 2, call: module}]\n", "'call' was unexpected"),
])
def test_schema_refusals_name_the_rule(text, fragment):
    assert any(fragment in message for message in errors(text)), errors(text)


def test_expressions_and_blocks_validate():
    text = """
params: [{w: 16}]
input: [3, $(w * 2), 32]
blocks:
  b:
    params: [c, {s: 1}]
    layers:
      - {type: conv, out: $c, kernel: 3, stride: $s, padding: half, when: $(s == 1)}
      - {type: squeeze_excitation, squeeze: "$(divisible(c / 4, 8))", gate: hardsigmoid}
layers:
  - {type: b, c: 16}
  - b: {c: 8, s: 2}
  - $('relu' if w > 8 else 'tanh')
"""
    assert errors(text) == []
    cnncalc.load(text)


@settings(max_examples=40)
@given(specgen.specs(adaptive=True))
def test_generated_valid_specs_validate(spec):
    """Random specs cnncalc accepts (the brute-force generator's) are valid to the schema too."""
    text = specgen.to_yaml(spec)
    cnncalc.load(text, "gen.yaml")
    assert errors(text) == []
