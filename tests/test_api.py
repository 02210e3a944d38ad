"""The public Python API (cnncalc/api.py): the documents are the command line's, errors carry positions, and the
README's examples run."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
HW5 = str(ROOT / "specs" / "hw5.yaml")
NAIVE = str(ROOT / "specs" / "inception_naive.yaml")
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")


def _cli_json(*args: str) -> tuple[str, dict]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return result.stdout, json.loads(result.stdout)


# What each command prints, and the same through the API.
CASES = {
    "cost": (["cost", HW5], lambda: cnncalc.read(HW5).cost()),
    "cost-fvcore": (["cost", RESNET50, "--convention", "fvcore"], lambda: cnncalc.read(RESNET50).cost("fvcore")),
    "cost-group": (["cost", RESNET50, "--group-by", "block"], lambda: cnncalc.read(RESNET50).cost(group_by="block")),
    "rf": (["rf", HW5], lambda: cnncalc.read(HW5).rf()),
    "rf-at": (["rf", HW5, "--at", "3,4", "--layer", "y2"], lambda: cnncalc.read(HW5).rf(layer="y2", at=(3, 4))),
    "validate": (["validate", HW5], lambda: cnncalc.read(HW5).validate()),
    "cost-sweep": (["cost", HW5, "--input", "32,40x48"], lambda: cnncalc.read(HW5).cost_sweep([32, (40, 48)])),
    "rf-sweep": (["rf", HW5, "--input", "16:64:16"], lambda: cnncalc.read(HW5).rf_sweep("16:64:16")),
    "compare": (["compare", HW5, NAIVE], lambda: cnncalc.compare([cnncalc.read(HW5), cnncalc.read(NAIVE)])),
}


@pytest.mark.parametrize("name", CASES)
def test_to_json_is_the_commands_document(name: str):
    args, api = CASES[name]
    text, doc = _cli_json(*args)
    report = api()
    assert report.to_json() == doc
    assert report.json_text() == text


def test_text_output_is_the_reports_renderables():
    from cnncalc.cli import _render
    result = CliRunner().invoke(app, ["rf", HW5, "--at", "0,0"])
    assert result.stdout == cnncalc.read(HW5).rf(at="0,0").format(_render)


def test_a_string_a_file_and_a_dict_give_the_same_document():
    text = Path(HW5).read_text()
    from_file = cnncalc.read(HW5).cost().to_json()
    assert cnncalc.parse(text, "hw5.yaml").cost().to_json() == from_file
    assert cnncalc.from_dict(yaml.safe_load(text)).cost().to_json() == from_file
    assert cnncalc.read(Path(HW5)).cost().to_json() == from_file


def test_rows_are_flat():
    rows = cnncalc.read(HW5).rf().rows()
    assert rows[0] == {"name": "conv1", "type": "conv", "output": "64x32x32", "global": False,
                       "rf.height.size": 3, "rf.height.jump": 1, "rf.height.padding": 1, "rf.height.aligned": True,
                       "rf.height.bounds": "i-1 .. i+1", "rf.width.size": 3, "rf.width.jump": 1,
                       "rf.width.padding": 1, "rf.width.aligned": True, "rf.width.bounds": "i-1 .. i+1"}
    sweep = cnncalc.read(HW5).cost_sweep([32, (40, 48)]).rows()
    assert [row["input"] for row in sweep] == ["3x32x32", "3x40x48"]
    # hw5: a 3x3 conv 3->64, then three 3x3 convs 64->64 (and two pools); weights and biases only
    params = (27 * 64 + 64) + 3 * (9 * 64 * 64 + 64)
    assert all(row["params"] == params for row in sweep)


def _error(action) -> str:
    with pytest.raises(cnncalc.SpecError) as caught:
        action()
    return caught.value.format()


def test_errors_carry_the_same_position_as_the_command_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 32, 32]\nlayers:\n  - {type: conv, out: 8, kernel: 3}\n  - rleu\n")
    message = _error(lambda: cnncalc.read(bad).cost())
    assert message.startswith(f"{bad}:4:5: error: unknown layer type 'rleu'")
    assert CliRunner().invoke(app, ["cost", str(bad)]).stderr == message + "\n"
    assert _error(lambda: cnncalc.parse(bad.read_text(), "net.yaml").rf()).startswith("net.yaml:4:5: error:")


def test_dict_errors_point_into_the_written_text():
    spec = {"input": [3, 32, 32], "layers": [{"type": "conv", "out": 8, "kernel": 3}, {"type": "rleu"}]}
    message = _error(lambda: cnncalc.from_dict(spec, "mine").cost())
    # written as: input: [3, 32, 32] / layers: / - {type: conv, out: 8, kernel: 3} / - {type: rleu}
    assert message.splitlines()[0] == "mine:4:10: error: unknown layer type 'rleu'; hint: did you mean 'relu'?"
    assert message.splitlines()[1].strip() == "- {type: rleu}"
    assert "a value YAML cannot write" in _error(lambda: cnncalc.from_dict({"input": [3, object()]}))


def test_errors_after_reading_name_the_file():
    """Errors with no place of their own are placed at FILE:1:1, by construction."""
    net = cnncalc.read(HW5)
    cases = {
        lambda: net.rf(layer="y2"): "--layer 'y2' picks the layer for --at, and there is no --at",
        lambda: net.rf(layer="nope", at=0): "no layer named 'nope'",
        lambda: net.rf(at="1_0"): "--at takes I or I,J",
        lambda: net.rf(at="\u0661"): "--at takes I or I,J",
        lambda: net.rf(at="0,0,0"): "--at takes I or I,J",
        lambda: net.rf(at=99): ("--at row 99 is outside layer 'y3'", "11:5"),  # the layer's own place
        lambda: net.cost_sweep("1_0"): "--input: '1_0' is not a size",
        lambda: net.cost_sweep("\u0661\u0662"): "is not a size",
        lambda: net.cost_sweep("9" * 5000): "--input: 9999999999...9999 (5000 digits) is too large; the most is 2**63-1",
        lambda: net.rf_sweep([(1, 2**63)]): "is too large; the most is 2**63-1",
        lambda: net.cost_sweep("1"): "input 3x1x1 is invalid",
        lambda: net.cost_sweep([]): "no input sizes to sweep",
        lambda: net.cost(convention="nope"): "unknown convention 'nope'",
        lambda: net.cost(group_by="layer"): "group_by is 'type' or 'block'",
    }
    for action, expected in cases.items():
        fragment, where = expected if isinstance(expected, tuple) else (expected, "1:1")
        message = _error(action)
        assert message.startswith(f"{HW5}:{where}: error: ") and fragment in message, message


def test_the_cli_reports_sweep_and_input_errors_with_the_file():
    # (one --input size is no sweep: it replaces the spec's input; a list or a range, even of one size, sweeps)
    for args in (["cost", HW5, "--input", "1_0"], ["cost", HW5, "--input", "2" * 40], ["rf", HW5, "--input", "1:1"],
                 ["cost", HW5, "--input", "32,64", "--group-by", "type"],
                 ["rf", HW5, "--input", "32,64", "--at", "0"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and result.stdout == "", args
        assert result.stderr.startswith(f"{HW5}:1:1: error: ") and result.stderr.count("\n") == 1, result.stderr


def test_a_number_too_long_to_print_is_a_spec_error(monkeypatch):
    """Python refuses to format ints of more than sys.get_int_max_str_digits() digits (a ValueError)."""
    sys = pytest.importorskip("sys")
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("Python < 3.11 prints any int")
    report = cnncalc.read(HW5).cost()
    huge = cnncalc.CostReport({**report.document, "totals": {**report.totals, "macs": 10 ** 5000}}, HW5)
    with pytest.raises(cnncalc.SpecError) as caught:
        huge.json_text()
    assert caught.value.format().startswith(f"{HW5}:1:1: error: the report holds a number of more than 4,300 digits")

    def broken(*_):
        raise ValueError("a bug, not a long number")
    with pytest.raises(ValueError, match="a bug"):  # any other ValueError stays what it is
        report.format(broken)


def test_limits():
    assert cnncalc.limits(10, 2_000).max_layers == 10
    with pytest.raises(cnncalc.SpecError, match="--max-layers must be at least 1"):
        cnncalc.limits(0)
    message = _error(lambda: cnncalc.parse("input: [3, 8, 8]\nlayers: [relu, relu]\n", "x.yaml",
                                            cnncalc.limits(max_layers=1)).cost())
    assert message.startswith("x.yaml:")
    assert _error(lambda: cnncalc.parse("x" * 50, "big.yaml", cnncalc.limits(max_bytes=10))).startswith(
        "big.yaml:1:1: error: the spec is more than the limit of 10 bytes")


def test_old_names_still_work():
    graph = cnncalc.load(Path(HW5).read_text(), "hw5.yaml")
    assert cnncalc.cost_report(graph) == cnncalc.read(HW5).cost().to_json()
    assert cnncalc.rf_report(graph, at=(0, 0)) == cnncalc.read(HW5).rf(at=0).to_json()


# ------------------------------------------------------------------------------------ the README's examples

def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


SKIP_MARK = "# needs pandas: not run by the tests"


def test_readme_python_examples_run(tmp_path: Path, monkeypatch):
    blocks = _readme_blocks()
    run = [block for block in blocks if not block.startswith(SKIP_MARK)]
    assert len(run) >= 1 and len(blocks) - len(run) <= 1
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in run:
        exec(compile(block, "README.md", "exec"), namespace)

    with open("widths.csv", newline="") as handle:
        widths = list(csv.DictReader(handle))
    assert [int(row["width"]) for row in widths] == [8, 16, 32, 64]
    for row in widths:  # conv 3->w 3x3, conv w->2w 3x3, linear 2w->10, each with a bias
        w = int(row["width"])
        assert int(row["params"]) == (27 * w + w) + (9 * w * 2 * w + 2 * w) + (2 * w * 10 + 10)
        assert int(row["macs"]) == 27 * w * 64 * 64 + 9 * w * 2 * w * 32 * 32 + 2 * w * 10

    with open("resnet50_sizes.csv", newline="") as handle:
        sizes = list(csv.DictReader(handle))
    assert [row["input"] for row in sizes] == ["3x160x160", "3x224x224", "3x224x320"]
    assert int(sizes[1]["macs"]) == 4_089_184_256  # torchvision's ResNet-50: 4.09 GMACs at 224
    assert int(sizes[1]["params"]) == 25_557_032  # torchvision's ResNet-50 parameter count


def test_readme_pandas_example_is_only_the_marked_block():
    skipped = [block for block in _readme_blocks() if block.startswith(SKIP_MARK)]
    assert all("pandas" in block for block in skipped)
    assert not any("pandas" in block for block in _readme_blocks() if not block.startswith(SKIP_MARK))
