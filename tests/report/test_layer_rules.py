"""`cnncalc layers --rule forward|backward|memory|onnx`: every registered layer type with the rule each analyzer
uses, and the statement of each convention, both taken from where the code states them.

The expected cells are read here straight from those objects (each class's `counting`, `backward_counting` or the
docstring of its `backward`; SAVED, PYTORCH and VIEWS of cnncalc.analyzers.memory_bytes; the `form` of
cnncalc.onnx.export.MAPPINGS; the keys of cnncalc.grad.rules.RULES), not through the table code, and a few are
written by hand. The plug-in case (a type without these rules) is in tests/test_extensions.py.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnncalc.analyzers.memory_bytes import PYTORCH, SAVED, VIEWS
from cnncalc.cli import LayerRule, app
from cnncalc.grad.rules import RULES
from cnncalc.layers import REGISTRY
from cnncalc.layers.base import BACKWARD_LINE, Layer
from cnncalc.onnx.export import MAPPINGS
from cnncalc.report.table import LAYER_RULES
from cnncalc.text import cell_width

KINDS = ("forward", "backward", "memory", "onnx")


def run(*args: str, columns: int | None = None) -> str:
    result = CliRunner().invoke(app, ["layers", *args], env={"COLUMNS": str(columns)} if columns else None,
                                catch_exceptions=False)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    return result.stdout


def one_line(text: str) -> str:
    return " ".join(text.split())


def backward_doc(cls: type[Layer]) -> str:
    return one_line(cls.backward.__doc__ or "")


def expected(kind: str, name: str) -> list[str]:
    """The cells of `name`'s row under `--rule kind`, from the registries themselves."""
    cls = REGISTRY[name]
    if kind == "forward":
        return [cls.counting]
    if kind == "backward":
        return [cls.backward_counting or backward_doc(cls), "yes"]
    if kind == "memory":
        return [SAVED[name]] + ([f"--convention pytorch: {PYTORCH[name]}"] if name in PYTORCH else [])
    return [MAPPINGS[name].form]


def rows(text: str) -> dict[str, str]:
    """Type -> its row, from a --wide table (one line per row)."""
    return {line.split()[0]: line for line in text.splitlines() if line.startswith("  ") and line.split()
            and line.split()[0] in REGISTRY}


def test_the_choices_are_the_table_code_s():
    assert tuple(r.value for r in LayerRule) == LAYER_RULES == KINDS


def test_every_built_in_type_has_every_rule():
    """The guard: a layer type added without one of these texts fails here, naming it."""
    for name, cls in REGISTRY.items():
        assert cls.states_backward(), f"{name}: no `backward`"
        assert cls.backward_counting or len(backward_doc(cls)) <= BACKWARD_LINE, \
            f"{name}: its `backward` docstring is longer than {BACKWARD_LINE}: state the rule in `backward_counting`"
        assert backward_doc(cls), f"{name}: `backward` has no docstring deriving its rule"
        assert SAVED.get(name), f"{name}: not in memory_bytes.SAVED"
        assert MAPPINGS.get(name) and MAPPINGS[name].form, f"{name}: no ONNX form in cnncalc.onnx.export.MAPPINGS"
        assert name in RULES, f"{name}: no cnncalc grad rule"
    assert set(PYTORCH) <= set(SAVED) and VIEWS <= set(REGISTRY)


@pytest.mark.parametrize("kind", KINDS)
def test_each_rule_lists_every_type_with_its_rule(kind):
    table = rows(run("--rule", kind, "--wide"))
    assert set(table) == set(REGISTRY)
    for name in REGISTRY:
        for cell in expected(kind, name):
            assert cell in table[name], (name, cell, table[name])


def test_forward_is_the_default_and_unchanged():
    assert run() == run("--rule", "forward")


@pytest.mark.parametrize("kind,statement", [
    ("backward", "Backward convention \"cnncalc\""),
    ("memory", "The rules, stated once"),
    ("onnx", "Conventions: the graph input is the network input"),
])
def test_each_rule_states_its_convention_from_the_code(kind, statement):
    import cnncalc.analyzers.memory_bytes as memory
    import cnncalc.layers.base as base
    import cnncalc.onnx.export as export
    source = {"backward": base, "memory": memory, "onnx": export}[kind].__doc__ or ""
    text = one_line(run("--rule", kind, "--wide"))
    assert statement in text
    paragraph = one_line(source[source.index(statement):].split("\n\n")[0])
    assert paragraph in text


def test_spot_checks_written_by_hand():
    memory = rows(run("--rule", "memory", "--wide"))
    assert "its output" in memory["relu"] and "its input" in memory["gelu"]
    assert "int64" in memory["maxpool"] and "index" in memory["maxpool"]
    assert "view of its input" in memory["flatten"] and "view in inference" in memory["dropout"]
    assert "inplace: true" in memory["relu"] and "inplace" not in memory["conv"]
    assert "avg_pool2d_backward" in memory["avgpool"]  # --convention pytorch differs there
    backward = rows(run("--rule", "backward", "--wide"))
    assert "weight gradient" in backward["conv"] and "input gradient" in backward["conv"]
    assert "nothing to compute" in backward["concat"]
    onnx = rows(run("--rule", "onnx", "--wide"))
    assert "Gemm" in onnx["linear"] and "Erf" in onnx["gelu"] and "Clip(0, 6)" in onnx["relu6"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_rule_fits_80_columns_hiding_nothing(kind):
    text = run("--rule", kind, columns=80)
    assert max(cell_width(line) for line in text.splitlines()) <= 80
    assert "hidden" not in text
    assert all(f"  {name} " in text for name in REGISTRY)


def test_a_tool_convention_goes_with_the_forward_rule_only():
    result = CliRunner().invoke(app, ["layers", "--rule", "memory", "--convention", "fvcore"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--rule forward" in result.stderr


def test_json_has_every_type_with_every_rule():
    import json
    doc = json.loads(run("--json"))
    assert doc["schema_version"] == 1 and set(doc["conventions"]) == set(KINDS)
    assert [t["type"] for t in doc["types"]] == sorted(REGISTRY)
    for entry in doc["types"]:
        name, rules = entry["type"], entry["rules"]
        assert rules["forward"] == REGISTRY[name].counting
        assert [rules["backward"], "yes" if rules["grad"] else None] == expected("backward", name)
        assert rules["saves"] == SAVED[name] and rules["saves_pytorch"] == PYTORCH.get(name, SAVED[name])
        assert rules["onnx"] == MAPPINGS[name].form
    conv = next(t for t in doc["types"] if t["type"] == "conv")
    assert {a["name"]: a["default"] for a in conv["attributes"]}["kernel"] is None  # required
    assert {a["name"]: a["default"] for a in conv["attributes"]}["groups"] == "1"


def test_json_refuses_a_tool_convention():
    result = CliRunner().invoke(app, ["layers", "--json", "--convention", "fvcore"])
    assert result.exit_code == 2 and result.stdout == "" and "--json" in result.stderr
