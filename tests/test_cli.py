"""The command line as a user runs it: exit codes, stdout JSON, stderr messages, documentation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.conventions import NAMES, get
from cnncalc.layers import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
HW5 = str(ROOT / "specs" / "hw5.yaml")
NAIVE = str(ROOT / "specs" / "inception_naive.yaml")
BOTTLENECK = str(ROOT / "specs" / "inception_bottleneck.yaml")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"cnncalc {cnncalc.__version__}"


def test_cost_json_is_one_document_on_stdout():
    result = run("cost", NAIVE, "--json")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["convention"] == "cnncalc" and doc["input"] == [256, 32, 32]
    for key in ("params", "buffers", "mults", "adds", "comparisons", "activations", "macs"):
        assert doc["totals"][key] == sum(row[key] for row in doc["layers"])
    assert {"name", "type", "inputs", "output"} <= set(doc["layers"][0])


def test_cost_table_shows_exact_numbers_with_separators():
    result = run("cost", NAIVE)
    assert result.exit_code == 0
    assert "1,115,684,864" in result.stdout and "1,089,952" in result.stdout and "inception-naive" in result.stdout


def test_rf_table_writes_bounds_like_the_homework():
    result = run("rf", HW5)
    assert result.exit_code == 0
    assert "4i-6 .. 4i+9" in result.stdout and "2i-2 .. 2i+3" in result.stdout


def test_rf_at_json():
    doc = json.loads(run("rf", HW5, "--json", "--layer", "y2", "--at", "3,0").stdout)
    assert doc["at"] == {"layer": "y2", "index": [3, 0], "rows": [2 * 3 - 2, 2 * 3 + 3], "cols": [-2, 3],
                         "rows_clipped": [4, 9], "cols_clipped": [0, 3]}


@pytest.mark.parametrize("args, fragment", [
    (["rf", HW5, "--at", "x"], "--at takes I or I,J"),
    (["rf", HW5, "--at", "99"], "outside layer 'y3'"),
    (["rf", HW5, "--layer", "yy3", "--at", "0"], "did you mean 'y3'"),
    (["cost", "no/such/file.yaml"], "no such file"),
    (["cost", str(ROOT / "specs")], "is a directory"),
    (["compare", NAIVE], "at least two specs"),
])
def test_usage_errors_are_one_line_on_stderr(args, fragment):
    result = run(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_spec_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernal: 3}\n")
    result = run("cost", str(path), "--json")
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:3:26: error: unknown attribute 'kernal'") and "did you mean 'kernel'" in first


def test_spec_from_stdin():
    result = run("cost", "-", "--json", input=Path(HW5).read_text())
    assert result.exit_code == 0 and json.loads(result.stdout)["spec"] == "hw5"


def test_output_file(tmp_path):
    out = tmp_path / "cost.json"
    result = run("cost", HW5, "--json", "--output", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["spec"] == "hw5"
    assert [p.name for p in tmp_path.iterdir()] == ["cost.json"]


def test_validate_prints_shapes():
    result = run("validate", HW5)
    assert result.exit_code == 0 and "64x8x8" in result.stdout and "OK: 6 layers" in result.stdout


def test_compare_ratios():
    doc = json.loads(run("compare", NAIVE, BOTTLENECK, "--json").stdout)
    naive, bottleneck = doc["specs"]
    assert bottleneck["ratio"]["params"] == 346_720 / 1_089_952
    assert doc["blocks"][0]["block"] == "inception"
    assert [b["params"] for b in doc["blocks"][0]["totals"]] == [1_089_952, 346_720]
    assert "0.318" in run("compare", NAIVE, BOTTLENECK).stdout


@pytest.mark.parametrize("by", ["type", "block"])
def test_group_by_sums_to_the_totals(by):
    doc = json.loads(run("cost", str(ROOT / "specs" / "zoo" / "resnet18.yaml"), "--json", "--group-by", by).stdout)
    for key in ("params", "macs", "adds"):
        assert sum(g[key] for g in doc["groups"]) == doc["totals"][key]
    names = [g["group"] for g in doc["groups"]]
    assert ("conv" in names) if by == "type" else ("layer1_0" in names)


def test_layers_lists_every_type_and_the_convention():
    out = run("layers").stdout
    assert "Counting convention" in out
    for name in REGISTRY:
        assert f"\n  {name} " in out


@pytest.mark.parametrize("name", NAMES[1:])
def test_every_convention_has_a_rule_for_every_layer_type(name):
    assert set(get(name).rules) == set(REGISTRY)
    out = run("layers", "--convention", name).stdout
    assert name in out and "unsupported" not in out


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert set(commands) == {"rf", "cost", "compare", "validate", "layers", "schema", "grad", "memory",
                             "export", "import"}
    for command in commands:
        assert f"cnncalc {command}" in readme


def test_readme_generated_sections_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "cnncalc", "cost", HW5, "--json"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0 and json.loads(result.stdout)["totals"]["params"] == 112_576
