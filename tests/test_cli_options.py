"""`--set NAME=VALUE`, a single `--input` size, `rf --at` output and `cnncalc schema`, as a user runs them.

Expected figures are written as formulas: a 3x3 conv with padding 1 from C to W channels over H x W has
W*C*9 + W parameters and W*C*9*H*W MACs; a 2x2 max pool of stride 2 maps output index i to rows 2i .. 2i+1 of
its input, so after the conv, to input rows 2i-1 .. 2i+2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.schema import SCHEMA_PATH

ROOT = Path(__file__).resolve().parent.parent
HW5 = str(ROOT / "specs" / "hw5.yaml")
SPEC = """\
params: [{res: 32}, {w: 8}]
input: [3, $res, $res]
layers:
  - {name: conv, type: conv, out: $w, kernel: 3, padding: 1}
  - {name: pool, type: maxpool, kernel: 2}
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture()
def spec(tmp_path: Path) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(SPEC)
    return str(path)


def conv_params(c: int, w: int) -> int:
    return w * c * 9 + w


def doc_of(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --------------------------------------------------------------------------------------------------- --set

@pytest.mark.parametrize("command", ["cost", "rf", "validate"])
def test_set_changes_a_parameter(spec, command):
    doc = doc_of(command, spec, "--set", "w=16", "--set", "res=20")
    assert doc["input"] == [3, 20, 20]
    assert doc["layers"][0]["output"] == [16, 20, 20]
    if command == "cost":
        assert doc["totals"]["params"] == conv_params(3, 16)
        assert doc["totals"]["macs"] == 16 * 27 * 20 * 20


def test_set_reaches_sweeps_and_compare(spec):
    sweep = doc_of("cost", spec, "--set", "w=4", "--input", "8,16", "--convention", "fvcore")
    assert [row["macs"] for row in sweep["sweep"]] == [4 * 27 * 8 * 8, 4 * 27 * 16 * 16]
    assert {row["params"] for row in sweep["sweep"]} == {conv_params(3, 4)}
    rf_sweep = doc_of("rf", spec, "--set", "w=4", "--input", "8:16:8")
    assert [row["output"] for row in rf_sweep["sweep"]] == [[4, 4, 4], [4, 8, 8]]
    both = doc_of("compare", spec, spec, "--set", "w=2")
    assert [row["totals"]["params"] for row in both["specs"]] == [conv_params(3, 2)] * 2


@pytest.mark.parametrize("args, fragment", [
    (["--set", "depth=3"], "--set depth: the spec has no parameter 'depth'"),
    (["--set", "w"], "expected NAME=VALUE"),
    (["--set", "w=1", "--set", "w=2"], "--set w given twice"),
])
def test_bad_set_is_one_placed_message(spec, args, fragment):
    result = run("cost", spec, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{spec}:1:1: error: ") and fragment in result.stderr


# ------------------------------------------------------------------------------------------ one --input size

@pytest.mark.parametrize("size, shape", [("40", [3, 40, 40]), ("24x40", [3, 24, 40]), ("5x24x40", [5, 24, 40])])
def test_one_input_size_replaces_the_spec_input(spec, size, shape):
    c, h, w = shape
    for convention in ("cnncalc", "fvcore", "ptflops", "torchvision"):
        doc = doc_of("cost", spec, "--input", size, "--convention", convention)
        assert doc["input"] == shape and "sweep" not in doc
        assert doc["totals"]["params"] == conv_params(c, 8)
    assert doc_of("cost", spec, "--input", size)["totals"]["macs"] == 8 * c * 9 * h * w
    grouped = doc_of("cost", spec, "--input", size, "--group-by", "type")
    assert {g["group"]: g["macs"] for g in grouped["groups"]}["conv"] == 8 * c * 9 * h * w
    assert doc_of("validate", spec, "--input", size)["layers"][1]["output"] == [8, h // 2, w // 2]
    rf = doc_of("rf", spec, "--input", size)
    assert rf["input"] == shape and rf["layers"][-1]["output"] == [8, h // 2, w // 2]


def test_one_input_size_equals_the_spec_edited(spec, tmp_path):
    """`--input 3x24x40` gives the document of the same spec with `input: [3, 24, 40]` written in it."""
    edited = tmp_path / "p.yaml"  # same file name: same spec name in the documents
    edited.write_text(SPEC.replace("input: [3, $res, $res]", "input: [3, 24, 40]"))
    for command in ("cost", "rf", "validate"):
        assert doc_of(command, spec, "--input", "3x24x40") == doc_of(command, str(edited))


def test_rf_at_takes_one_input_size(spec):
    doc = doc_of("rf", spec, "--input", "10", "--at", "4,0", "--layer", "pool")
    # pool output index 4 reads rows 8..9 of the conv output, which read input rows 7..10; the image ends at 9
    assert doc["at"]["rows"] == [7, 10] and doc["at"]["rows_clipped"] == [7, 9]
    assert doc["at"]["cols"] == [-1, 2] and doc["at"]["cols_clipped"] == [0, 2]


def test_compare_takes_one_input_size(spec):
    doc = doc_of("compare", spec, spec, "--input", "16")
    assert [row["totals"]["macs"] for row in doc["specs"]] == [8 * 27 * 16 * 16] * 2


def test_a_range_of_one_size_is_a_sweep_of_one_row(spec):
    doc = doc_of("cost", spec, "--input", "16:16")
    assert [row["input"] for row in doc["sweep"]] == [[3, 16, 16]]


@pytest.mark.parametrize("args, fragment", [
    (["validate", "--input", "16,32"], "validate takes one --input size"),
    (["cost", "--input", "3x16x16,32"], "a sweep varies H and W only; CxHxW is a single size"),
    (["cost", "--input", "0x4"], "sizes are at least 1"),
    (["cost", "--input", "1x2x3x4"], "is not a size"),
])
def test_bad_input_is_one_placed_message(spec, args, fragment):
    result = run(args[0], spec, *args[1:])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{spec}:1:1: error: ") and fragment in result.stderr


def test_one_input_size_on_a_flat_spec_is_refused(tmp_path):
    path = tmp_path / "flat.yaml"
    path.write_text("input: [10]\nlayers:\n  - {type: linear, out: 2}\n")
    result = run("cost", str(path), "--input", "4")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{path}:1:") and "flat vector" in result.stderr


def test_api_takes_params_and_input_size(spec):
    net = cnncalc.read(spec, params={"w": 16}, input_size=(5, 12, 12))
    assert net.cost().totals["params"] == conv_params(5, 16)
    assert net.cost().totals["macs"] == 16 * 5 * 9 * 12 * 12
    assert cnncalc.parse(SPEC, params=["w=2"], input_size="6x8").validate().to_json()["input"] == [3, 6, 8]
    with pytest.raises(cnncalc.SpecError, match="is a sweep"):
        cnncalc.parse(SPEC, input_size="8,16")


# ------------------------------------------------------------------------------------------- rf --at, schema

def test_rf_at_prints_only_the_bounds():
    result = run("rf", HW5, "--at", "0,0")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["y3[0, 0] depends on input rows -6 .. 9, cols -6 .. 9",
                                          "  inside the image: rows 0 .. 9, cols 0 .. 9"]
    doc = doc_of("rf", HW5, "--at", "0,0")
    assert "at" in doc and len(doc["layers"]) == 6


def test_schema_prints_the_shipped_schema():
    result = run("schema")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == SCHEMA_PATH.read_text()
    schema = json.loads(result.stdout)
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
