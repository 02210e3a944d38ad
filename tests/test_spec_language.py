"""The spec language of issue 10: `$(EXPR)` values, `when:` conditions, top-level `params:` and `--set` overrides.

Expected shapes and counts are written as formulas of the values the expressions should produce."""

from __future__ import annotations

import textwrap

import pytest

import cnncalc
from cnncalc.spec import parse_set_options, read_spec


def load(text: str, overrides: dict[str, str] | None = None) -> cnncalc.Graph:
    return cnncalc.load(textwrap.dedent(text), "t.yaml", overrides=overrides)


def error(text: str, overrides: dict[str, str] | None = None) -> cnncalc.SpecError:
    with pytest.raises(cnncalc.SpecError) as info:
        load(text, overrides)
    return info.value


def shapes(graph: cnncalc.Graph) -> dict[str, tuple]:
    return {node.name: node.output for node in graph.layers}


# ------------------------------------------------------------------------------------------------ expressions

BLOCK = """
    input: [16, 8, 8]
    blocks:
      b:
        params: [w, {r: 0.25}]
        layers:
          - {name: c, type: conv, out: $(w * 2), kernel: 1, groups: "$(max(1, w // 12))"}
          - {name: s, type: conv, out: "$(divisible(w * r, 8))", kernel: 1}
    layers:
      - {type: b, name: x, w: 16}
      - {type: b, name: y, w: $(6 * 4)}
"""


def test_expressions_in_a_block():
    got = shapes(load(BLOCK))
    assert got["x/c"] == (16 * 2, 8, 8) and got["x/s"] == (8, 8, 8)
    assert got["y/c"] == (24 * 2, 8, 8) and got["y/s"] == (8, 8, 8)  # divisible(6.0, 8) = 8
    groups = {n.name: n.layer.groups for n in load(BLOCK).layers}
    assert groups["x/c"] == max(1, 16 // 12) and groups["y/c"] == 24 // 12


def test_quoted_and_plain_expressions_are_both_evaluated():
    graph = load("""
        input: [4, 8, 8]
        params: [{w: 6}]
        layers:
          - {type: conv, out: $(w + 1), kernel: 1}
          - {type: conv, out: "$(w + 2)", kernel: 1}
          - {type: conv, out: '$(w + 3)', kernel: 1}
          - conv:
              out: $(w + 4)
              kernel: 1
    """)
    assert [n.output[0] for n in graph.layers] == [7, 8, 9, 10]


def test_every_value_may_be_computed():
    graph = load("""
        name: "$('net' + str_)"
        params: [{res: 32}, {str_: '_a'}, {act: relu}, {deep: true}, {n: 2}]
        input: [3, $res, $(res // 2)]
        layers:
          - {type: "$('conv' if deep else 'relu')", name: $('first' + str_), out: 4, kernel: 3, padding: half}
          - {type: $act, repeat: $(n + 1)}
          - {name: other, type: conv, out: 4, kernel: 1, input: "$('input' if n > 5 else 'first_a')"}
          - {type: add, inputs: [$('relu' + '3'), other]}
    """)
    assert graph.name == "net_a" and graph.input == (3, 32, 16)
    assert [n.name for n in graph.layers] == ["first_a", "relu1", "relu2", "relu3", "other", "add1"]
    assert graph.find("other").inputs[0][0] == graph.find("first_a").index
    assert shapes(graph)["add1"] == (4, 32, 16)


def test_a_whole_float_is_an_int_and_a_fraction_is_refused():
    ok = load("input: [3, 8, 8]\nparams: [{w: 24}]\nlayers: [{type: conv, out: $(w / 2), kernel: 1}]\n")
    assert ok.layers[0].output[0] == 12
    bad = error("input: [3, 8, 8]\nparams: [{w: 32}]\nlayers: [{type: conv, out: $(w / 3), kernel: 1}]\n")
    assert "`out` must be an integer, got 10.666666666666666" in bad.message
    assert (bad.position.line, bad.position.column) == (3, 28)


def test_a_float_attribute_takes_a_float_result():
    graph = load("input: [3, 8, 8]\nparams: [{p: 0.5}]\nlayers: [{type: dropout, p: $(p / 2)}]\n")
    assert graph.layers[0].layer.p == 0.25


def test_a_string_result_is_a_string_not_a_number():
    bad = error("input: [3, 8, 8]\nlayers: [{type: conv, out: $('4'), kernel: 1}]\n")
    assert "got the string '4'" in bad.message


def test_plain_parameter_form_stays():
    graph = load("""
        input: [3, 8, 8]
        blocks:
          b: {params: [k], layers: [{type: conv, out: 4, kernel: $k}]}
        layers: [{type: b, k: [3, 1]}]
    """)
    assert graph.layers[0].layer.kernel == (3, 1)
    assert graph.layers[0].output == (4, 6, 8)


def test_expression_errors_point_into_the_expression():
    bad = error("input: [3, 8, 8]\nparams: [{w: 4}]\nlayers: [{type: conv, out: $(w * q), kernel: 1}]\n")
    assert (bad.position.line, bad.position.column) == (3, 28 + 2 + 4)
    assert "unknown parameter 'q'" in bad.message
    quoted = error("input: [3, 8, 8]\nparams: [{w: 4}]\nlayers: [{type: conv, out: \"$(w * q)\", kernel: 1}]\n")
    assert (quoted.position.line, quoted.position.column) == (3, 28)
    assert "(character 5 of the expression)" in quoted.message


def test_a_list_parameter_cannot_enter_arithmetic():
    bad = error("""
        input: [3, 8, 8]
        blocks:
          b: {params: [k], layers: [{type: conv, out: 4, kernel: $(k + 1)}]}
        layers: [{type: b, k: [3, 1]}]
    """)
    assert "parameter 'k' holds a list or mapping" in bad.message


def test_block_defaults_may_use_earlier_parameters_and_the_spec_s():
    graph = load("""
        input: [3, 8, 8]
        params: [{width: 2}]
        blocks:
          b:
            params: [out, {mid: $(out // 4 * width)}]
            layers: [{name: m, type: conv, out: $mid, kernel: 1}, {name: o, type: conv, out: $out, kernel: 1}]
        layers: [{type: b, name: x, out: 16}, {type: b, name: y, out: 16, mid: 3}]
    """)
    got = shapes(graph)
    assert got["x/m"][0] == 16 // 4 * 2 and got["y/m"][0] == 3


def test_a_block_parameter_hides_the_spec_s():
    graph = load("""
        input: [3, 8, 8]
        params: [{c: 5}]
        blocks:
          b: {params: [c], layers: [{name: k, type: conv, out: $c, kernel: 1}]}
        layers: [{type: b, name: x, c: 7}, {name: top, type: conv, out: $c, kernel: 1}]
    """)
    assert shapes(graph)["x/k"][0] == 7 and shapes(graph)["top"][0] == 5


# ------------------------------------------------------------------------------------------------------ when

INVERTED_RESIDUAL = """
    input: [16, 8, 8]
    blocks:
      ir:
        params: [inp, out, {expand: 1}, {stride: 1}]
        layers:
          - {name: expand, type: conv, out: $(inp * expand), kernel: 1, bias: false, when: $(expand != 1)}
          - {name: dw, type: conv, out: $(inp * expand), kernel: 3, stride: $stride, padding: half,
             groups: $(inp * expand), bias: false}
          - {name: project, type: conv, out: $out, kernel: 1, bias: false}
          - {name: add, type: add, inputs: [input, project], when: $(stride == 1 and inp == out)}
    layers:
      - {type: ir, name: a, inp: 16, out: 16}
      - {type: ir, name: b, inp: 16, out: 24, expand: 6, stride: 2}
"""


def test_when_drops_entries_and_rewires_the_chain():
    graph = load(INVERTED_RESIDUAL)
    assert [n.name for n in graph.layers] == ["a/dw", "a/project", "a/add", "b/expand", "b/dw", "b/project"]
    assert graph.find("a/dw").inputs[0][0] == 0  # the first entry that exists reads the block's input
    assert graph.find("b/expand").inputs[0][0] == graph.find("a/add").index  # a's output: its last entry, `add`
    params = {n.name: cnncalc.cost_report(graph)["layers"][i]["params"] for i, n in enumerate(graph.layers)}
    assert params["a/dw"] == 16 * 9 and params["b/expand"] == 16 * 96 and params["b/dw"] == 96 * 9
    assert shapes(graph)["b/project"] == (24, 4, 4)


def test_block_output_is_its_last_existing_entry():
    graph = load("""
        input: [3, 8, 8]
        blocks:
          b: {params: [tail], layers: [{name: x, type: conv, out: 4, kernel: 1}, {name: t, type: relu, when: $tail}]}
        layers: [{type: b, name: p, tail: false}, {name: after, type: relu, input: p}]
    """)
    assert graph.find("after").inputs[0][0] == graph.find("p/x").index


def test_a_block_with_no_existing_entry_passes_its_input_on():
    graph = load("""
        input: [3, 8, 8]
        blocks:
          b: {params: [on], layers: [{type: relu, when: $on}]}
        layers: [{name: c, type: conv, out: 4, kernel: 1}, {type: b, name: p, on: false}, {type: tanh, input: p}]
    """)
    assert [n.name for n in graph.layers] == ["c", "tanh1"]
    assert graph.find("tanh1").inputs[0][0] == graph.find("c").index


def test_reference_to_an_absent_entry_names_the_condition():
    text = INVERTED_RESIDUAL.replace("inputs: [input, project]", "inputs: [expand, project]")
    bad = error(text)
    assert "layer 'expand' does not exist for these parameters: its `when: $(expand != 1)` (line 7) is false" \
        in bad.message
    assert bad.position.line == 11


def test_absent_block_instance_and_outer_reference():
    bad = error("""
        input: [3, 8, 8]
        blocks:
          b: {layers: [{name: r, type: relu}]}
        layers: [{type: b, name: p, when: false}, {type: relu, input: p}]
    """)
    assert "layer 'p' does not exist" in bad.message
    bad = error("""
        input: [3, 8, 8]
        blocks:
          b: {layers: [{name: r, type: relu, when: false}, tanh]}
        layers: [{type: b, name: p}, {type: relu, input: p/r}]
    """)
    assert "layer 'p/r' does not exist" in bad.message


def test_alternatives_under_opposite_conditions_share_a_name():
    text = """
        input: [8, 8, 8]
        blocks:
          b:
            params: [stride]
            layers:
              - {name: body, type: conv, out: 8, kernel: 3, stride: $stride, padding: 1}
              - {name: short, type: identity, input: input, when: $(stride == 1)}
              - {name: short, type: conv, out: 8, kernel: 1, stride: $stride, input: input, when: $(stride != 1)}
              - {name: add, type: add, inputs: [body, short]}
        layers: [{type: b, name: s1, stride: 1}, {type: b, name: s2, stride: 2}]
    """
    graph = load(text)
    assert graph.find("s1/short").type == "identity" and graph.find("s2/short").type == "conv"
    assert shapes(graph)["s2/add"] == (8, 4, 4)


def test_absent_entries_take_no_automatic_name():
    graph = load("input: [3, 8, 8]\nlayers: [relu, {type: relu, when: false}, relu]\n")
    assert [n.name for n in graph.layers] == ["relu1", "relu2"]


def test_when_at_the_top_level_with_a_parameter():
    text = "input: [3, 8, 8]\nparams: [{head: true}]\nlayers: [relu, {type: linear, out: 10, when: $head}]\n"
    assert [n.type for n in load(text).layers] == ["relu", "linear"]
    assert [n.type for n in load(text, {"head": "false"}).layers] == ["relu"]


# ------------------------------------------------------------------------------------------ params and --set

PARAMETRIC = """
    params: [{res: 32}, {width: 1.0}, act]
    input: [3, $res, $res]
    layers:
      - {name: c, type: conv, out: "$(divisible(32 * width, 8))", kernel: 3, stride: 2, padding: half}
      - {name: a, type: $act}
"""


def test_overrides_set_the_spec_s_parameters():
    graph = load(PARAMETRIC, {"act": "relu"})
    assert graph.input == (3, 32, 32) and shapes(graph)["c"] == (32, 16, 16)
    graph = load(PARAMETRIC, {"res": "240", "width": "0.5", "act": "silu"})
    assert graph.input == (3, 240, 240) and shapes(graph)["c"] == (16, 120, 120) and graph.find("a").type == "silu"


def test_override_errors():
    assert "parameter 'act' has no default" in error(PARAMETRIC).message
    bad = error(PARAMETRIC, {"act": "relu", "rez": "3"})
    assert "--set rez: the spec has no parameter 'rez'" in bad.message and bad.hint == "did you mean 'res'?"
    assert bad.position.line == 2  # the `params:` key
    bad = error("input: [3, 8, 8]\nlayers: [relu]\n", {"res": "3"})
    assert "declare it in the spec" in bad.hint
    bad = error(PARAMETRIC, {"act": "relu", "res": "abc"})  # shown where the value is used
    assert "`input` must be an integer, got 'abc'" in bad.message and (bad.position.line, bad.position.column) == (3, 12)
    bad = error(PARAMETRIC, {"act": "relu", "res": "[1, 2"})
    assert bad.position.file == "--set res" and "invalid YAML" in bad.message


def test_override_values_are_read_as_yaml():
    text = "params: [{k: 3}]\ninput: [3, 8, 8]\nlayers: [{type: conv, out: 4, kernel: $k}]\n"
    assert load(text, {"k": "[3, 1]"}).layers[0].layer.kernel == (3, 1)
    assert "got the string '5'" in error(text, {"k": "'5'"}).message


def test_read_spec_takes_overrides():
    spec = read_spec("params: [{n: 2}]\ninput: [3, 8, 8]\nlayers: [{type: relu, name: r, repeat: $n}]\n", "s.yaml",
                     overrides={"n": "4"})
    assert [e.name for e in spec.entries] == ["r_1", "r_2", "r_3", "r_4"]


def test_parse_set_options():
    assert parse_set_options(["res=240", "act= relu ", "expr=$(1+1)", "s=a=b"]) == {
        "res": "240", "act": " relu ", "expr": "$(1+1)", "s": "a=b"}
    for bad, fragment in [(["res"], "expected NAME=VALUE"), (["=3"], "expected NAME=VALUE"),
                          (["a b=3"], "is not a parameter name"), (["res="], "no value"),
                          (["res=1", "res=2"], "given twice")]:
        with pytest.raises(cnncalc.SpecError, match=fragment):
            parse_set_options(bad)


def test_dollar_expression_hint_for_the_old_form():
    bad = error("input: [3, 8, 8]\nparams: [{w: 16}]\nlayers: [{type: conv, out: 4, kernel: 1, groups: $w // 8}]\n")
    assert bad.hint == "write an expression as $(w // 8)"


def test_readme_spec_examples_load_and_validate():
    """Every YAML spec in the README's "The spec" section loads, at its defaults and with a parameter set."""
    import re

    import jsonschema

    from cnncalc.schema import spec_schema
    from conftest import ROOT
    from test_schema import as_json

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The spec\n"):readme.index("## How it counts\n")]
    specs = [block for block in re.findall(r"```yaml\n(.*?)```", section, re.S) if "layers:" in block]
    assert len(specs) >= 2
    validator = jsonschema.Draft202012Validator(spec_schema())
    for text in specs:
        cnncalc.load(text, "readme.yaml")
        assert list(validator.iter_errors(as_json(text))) == []
    mobilenet = cnncalc.load(specs[1], "readme.yaml", overrides={"res": "240", "width": "0.75"})
    assert mobilenet.input == (3, 240, 240) and mobilenet.find("stem").output == (16, 120, 120)  # divisible(12, 8)
    assert [n.name for n in mobilenet.layers if n.name.startswith("b1/")][:2] == ["b1/dw", "b1/dw_bn"]
    assert mobilenet.find("b1/se").layer.squeeze == 8 and mobilenet.find("b2/expand").output[0] == 72
    assert "b2/add" not in {n.name for n in mobilenet.layers} and mobilenet.find("b3/add").output == (24, 60, 60)


@pytest.mark.parametrize("value, fragment", [
    ("$(10 ** 9)", "more than 100,000 layers"),
    ('"$(' + "1 + " * 400 + '1)"', "characters long"),
    ('"$(' + "(" * 60 + "1" + ")" * 60 + ')"', "nested deeper than 40"),
    ("$(2 ** 64)", "`repeat` is too large"),
    ('"$(\'x\' + \'y\' * 3)"', "needs a number, got a string"),
])
def test_hostile_expressions_in_a_spec(value, fragment):
    bad = error(f"input: [3, 8, 8]\nlayers:\n  - {{type: relu, repeat: {value}}}\n")
    assert fragment in bad.message and bad.position.line == 3
    assert len(bad.message) < 300


def test_a_computed_name_is_checked_like_a_written_one():
    assert "cannot be a name" in error("input: [3, 8, 8]\nlayers: [{type: relu, name: \"$('a/' + 'b')\"}]\n").message


def test_an_override_may_be_an_expression_over_the_parameters_before_it():
    text = "params: [{base: 200}, {res: 224}]\ninput: [3, $res, $res]\nlayers: [relu]\n"
    assert load(text, {"res": "$(base + 40)"}).input == (3, 240, 240)


def test_repeat_names_every_copy_and_zero_leaves_the_entry_out():
    """`repeat: N` names its copies NAME_1 .. NAME_N for every N >= 1 (so a stage of depth 1 keeps torchvision's
    `layer_1` style names), `NAME` means the last copy, and `repeat: 0` is an entry that is not there."""
    import cnncalc
    text = ("input: [3, 8, 8]\nlayers:\n"
            "  - {name: a, type: relu, repeat: 1}\n"
            "  - {name: b, type: conv, out: 4, kernel: 1, repeat: 0}\n"
            "  - {name: c, type: conv, out: 5, kernel: 1, input: a}\n"
            "  - {name: d, type: relu, repeat: 2}\n")
    rows = cnncalc.cost_report(cnncalc.load(text, "r.yaml"))["layers"]
    assert [(r["name"], r["inputs"]) for r in rows] == [
        ("a_1", ["input"]), ("c", ["a_1"]), ("d_1", ["c"]), ("d_2", ["d_1"])]
