"""`--sort COLUMN` of `cnncalc cost`, `memory` and `grad`: the table's rows in the order this file sorts the JSON rows
(largest first, equal ones in file order, rows without a value last), a bar per row whose length is the value's share
of the largest (within half an eighth of a cell; grad keeps its log bars instead), unknown columns refused with the
list of the report's columns, and the JSON left in file order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.text import cell_width

ROOT = Path(__file__).resolve().parents[2]
RESNET18 = str(ROOT / "specs" / "zoo" / "resnet18.yaml")
HW5 = str(ROOT / "specs" / "hw5.yaml")
EIGHTHS = {"▏": 1, "▎": 2, "▍": 3, "▌": 4, "▋": 5, "▊": 6, "▉": 7}
CELLS = 10  # a full bar, as the README says


def invoke(*args: str, width: int = 80):
    return CliRunner(env={"COLUMNS": str(width)}).invoke(app, list(args), catch_exceptions=False)


def eighths(bar: str) -> int:
    return 8 * bar.count("█") + sum(EIGHTHS.get(ch, 0) for ch in bar)

def row_names(text: str, fmt: str, count: int) -> list[str]:
    """The `name` of every row that `--format fmt` printed, in order (Markdown: the first table, unescaped)."""
    if fmt == "csv":
        head, *body = text.splitlines()
        at = head.split(",").index("name")
        return [line.split(",")[at] for line in body]
    if fmt == "jsonl":
        return [json.loads(line)["name"] for line in text.splitlines()]
    cells = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    return [cell.replace("\\_", "_") for cell in cells[1:1 + count]]



def table_rows(text: str, names: set[str]) -> list[str]:
    """The body lines of a `--wide` table: those whose first word is a row's name."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] in names:
            rows.append(line)
    return rows


@pytest.mark.parametrize("column, group_by", [("macs", None), ("params", None), ("comparisons", None),
                                              ("adds", "type"), ("params", "block")])
def test_sorted_rows_and_bars(column, group_by):
    extra = ["--group-by", group_by] if group_by else []
    doc = json.loads(invoke("cost", RESNET18, "--json", *extra).stdout)
    key, name = ("groups", "group") if group_by else ("layers", "name")
    expected = sorted(doc[key], key=lambda row: -row[column])  # Python's sort is stable: ties in file order
    result = invoke("cost", RESNET18, "--sort", column, "--wide", *extra)
    assert result.exit_code == 0 and result.stderr == ""
    lines = table_rows(result.stdout, {row[name] for row in doc[key]})
    assert [line.split()[0] for line in lines] == [row[name] for row in expected]
    header = next(line for line in result.stdout.splitlines() if " bar" in line)
    check_bars(lines, expected, column, re.search(r"\S+ bar", header).start())
    assert "the largest first" in result.stdout and f"{expected[0][column]:,}" in result.stdout


def check_bars(lines: list[str], expected: list[dict], column: str, start: int) -> None:
    """Each line's bar (starting at `start`, the bar column being left-aligned under its heading) is its row's share
    of the largest `column`, within half an eighth of a cell; at least an eighth when positive, none for 0."""
    largest = expected[0][column]
    for line, row in zip(lines, expected):
        bar = "".join(ch for ch in line[start:start + CELLS + 2] if ch == "█" or ch in EIGHTHS)
        exact = row[column] / largest * CELLS * 8
        assert abs(eighths(bar) - exact) <= 0.5 or (row[column] > 0 and eighths(bar) == 1 and exact < 1), row
        assert (eighths(bar) == 0) == (row[column] == 0)


def test_json_keeps_file_order_and_rows_follow_the_sort():
    network = cnncalc.read(RESNET18)
    report = network.cost().sorted("macs")
    assert report.to_json() == network.cost().to_json()
    assert [row["macs"] for row in report.rows()] == sorted((row["macs"] for row in network.cost().rows()),
                                                            reverse=True)
    assert network.cost("cnncalc", "type").sorted("params").rows()[0]["group"] == "conv"


def test_unknown_column_names_the_choices():
    result = invoke("cost", HW5, "--sort", "mac")
    doc = json.loads(invoke("cost", HW5, "--json").stdout)
    assert result.exit_code == 2 and result.stdout == ""
    assert "did you mean 'macs'?" in result.stderr and ", ".join(doc["columns"]) in result.stderr
    assert result.stderr.count("\n") == 1


def test_training_columns_sort_too():
    result = invoke("cost", HW5, "--training", "--sort", "backward_macs", "--wide")
    doc = json.loads(invoke("cost", HW5, "--training", "--json").stdout)
    order = [row["name"] for row in sorted(doc["layers"], key=lambda row: -row["backward_macs"])]
    assert [line.split()[0] for line in table_rows(result.stdout, set(order))] == order


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_sorted_table_fits_and_keeps_the_sorted_column(width):
    result = invoke("cost", RESNET18, "--sort", "comparisons", width=width)
    assert max(map(cell_width, result.stdout.splitlines())) <= width
    assert "1,605,632" in result.stdout  # the maxpool's comparisons, the largest, never hidden


@pytest.mark.parametrize("args, fragment", [
    (["cost", HW5, "--sort", "macs", "--json"], "--sort changes only the printed output"),
    (["cost", HW5, "--input", "32:64:32", "--sort", "macs"], "does not take --group-by or --sort"),
])
def test_sort_refusals(args, fragment):
    result = invoke(*args)
    assert result.exit_code == 2 and result.stdout == "" and fragment in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "markdown"])
def test_sort_orders_the_rows_of_every_row_format(fmt):
    """--sort reorders what csv, jsonl and markdown print (largest first, ties in file order); the JSON document
    alone keeps file order."""
    doc = json.loads(invoke("cost", RESNET18, "--json").stdout)
    expected = [row["name"] for row in sorted(doc["layers"], key=lambda row: -row["macs"])]
    text = invoke("cost", RESNET18, "--sort", "macs", "--format", fmt).stdout
    assert row_names(text, fmt, len(expected)) == expected


@pytest.mark.parametrize("args", [
    ["rf", HW5, "--at", "0,0", "--show", "--format", "csv"],
    ["cost", HW5, "--input", "32:64:32", "--plot", "--format", "jsonl"],
    ["rf", HW5, "--input", "32:64:32", "--plot", "--format", "markdown"],
])
def test_pictures_are_refused_in_row_formats(args):
    result = invoke(*args)
    assert result.exit_code == 2 and result.stdout == "" and "writes rows only" in result.stderr


# ------------------------------------------------------------------------------------- memory --sort, grad --sort

MEMORY_HEADINGS = {"parameter_bytes": "params", "output_bytes": "output", "live_bytes": "live (inference)",
                   "gradient_bytes": "grads", "optimizer_state_bytes": "opt state",
                   "saved_activation_bytes": "kept for backward"}  # the README's memory table


def largest_first(rows: list[dict], column: str) -> list[dict]:
    """`rows` by `column`, the largest first, equal ones in file order, those without a value (None) after them."""
    valued = [row for row in rows if row[column] is not None]
    return sorted(valued, key=lambda row: -row[column]) + [row for row in rows if row[column] is None]


@pytest.mark.parametrize("spec, column, extra", [
    (HW5, "parameter_bytes", []),  # y1, conv3 and conv4 hold the same weights: file order
    (RESNET18, "live_bytes", []), (RESNET18, "output_bytes", ["--batch", "8"]),
    (RESNET18, "saved_activation_bytes", ["--training"]),
    (RESNET18, "optimizer_state_bytes", ["--training", "--optimizer", "adam"]),
])
def test_memory_sorted_rows_and_bars(spec, column, extra):
    doc = json.loads(invoke("memory", spec, "--json", *extra).stdout)
    expected = largest_first(doc["layers"], column)
    result = invoke("memory", spec, "--sort", column, "--wide", *extra)
    assert result.exit_code == 0 and result.stderr == ""
    lines = table_rows(result.stdout, {row["name"] for row in doc["layers"]})
    assert [line.split()[0] for line in lines] == [row["name"] for row in expected]
    heading = f"{MEMORY_HEADINGS[column]} bar"
    header = next(line for line in result.stdout.splitlines() if heading in line)
    check_bars(lines, expected, column, header.index(heading))
    assert f"({expected[0][column]:,} B)" in result.stdout  # the largest, exact, in the caption


@pytest.mark.parametrize("column", ["weight_grad_norm", "output_grad_norm"])
def test_grad_sorts_its_rows_and_keeps_its_log_bars(column):
    doc = json.loads(invoke("grad", HW5, "--json").stdout)
    expected = largest_first(doc["layers"], column)
    assert any(row[column] is None for row in doc["layers"]) or column == "output_grad_norm"
    result = invoke("grad", HW5, "--sort", column, "--wide")
    assert result.exit_code == 0 and result.stderr == ""
    lines = table_rows(result.stdout, {row["name"] for row in doc["layers"]})
    assert [line.split()[0] for line in lines] == [row["name"] for row in expected]
    header = next(line for line in result.stdout.splitlines() if "log weight grad" in line)
    assert " bar" not in header  # no linear bar beside the log ones
    start = header.index("log weight grad" if column == "weight_grad_norm" else "log output grad")
    lengths = [eighths(line[start:start + 26]) for line in lines]
    assert lengths == sorted(lengths, reverse=True)  # a log bar grows with its norm: ordered rows, ordered bars
    assert "the largest first" in result.stdout


def test_grad_ties_keep_file_order():
    # hw5's maxpool y2 passes its input's gradient through unchanged: y1 and y2 have the same output norm
    doc = json.loads(invoke("grad", HW5, "--json").stdout)
    norms = [row["output_grad_norm"] for row in doc["layers"]]
    assert len(set(norms)) < len(norms)
    order = [row["name"] for row in cnncalc.read(HW5).grad().sorted("output_grad_norm").rows()]
    assert order == [row["name"] for row in largest_first(doc["layers"], "output_grad_norm")]


def test_memory_and_grad_json_keep_file_order_and_rows_follow_the_sort():
    network = cnncalc.read(HW5)
    memory = network.memory(training=True).sorted("saved_activation_bytes")
    assert memory.to_json() == network.memory(training=True).to_json()
    assert [row["saved_activation_bytes"] for row in memory.rows()] == sorted(
        (row["saved_activation_bytes"] for row in network.memory(training=True).rows()), reverse=True)
    grad = network.grad().sorted("weight_grad_norm")
    assert grad.to_json() == network.grad().to_json()
    assert [row["weight_grad_norm"] for row in grad.rows()][-2:] == [None, None]  # the two maxpools, last


@pytest.mark.parametrize("args, columns", [
    (["memory", HW5, "--sort", "live"], "parameter_bytes, output_bytes, live_bytes"),
    (["memory", HW5, "--training", "--sort", "gradient"],
     "parameter_bytes, output_bytes, live_bytes, gradient_bytes, optimizer_state_bytes, saved_activation_bytes"),
    (["grad", HW5, "--sort", "macs"], "weight_grad_norm, output_grad_norm"),
])
def test_memory_and_grad_unknown_column_names_the_choices(args, columns):
    result = invoke(*args)
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert f"the columns: {columns}" in result.stderr


def test_gradient_bytes_sort_only_in_training():
    result = invoke("memory", HW5, "--sort", "gradient_bytes")
    assert result.exit_code == 2 and "no column 'gradient_bytes'" in result.stderr


@pytest.mark.parametrize("command", ["memory", "grad"])
def test_memory_and_grad_refuse_sort_with_json(command):
    column = "live_bytes" if command == "memory" else "weight_grad_norm"
    for args in (["--json"], ["--format", "json"]):
        result = invoke(command, HW5, "--sort", column, *args)
        assert result.exit_code == 2 and result.stdout == ""
        assert "--sort changes only the printed output" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "markdown"])
@pytest.mark.parametrize("command, spec, column", [("memory", RESNET18, "live_bytes"),
                                                   ("grad", HW5, "weight_grad_norm")])
def test_memory_and_grad_sort_the_rows_of_every_row_format(fmt, command, spec, column):
    doc = json.loads(invoke(command, spec, "--json").stdout)
    expected = [row["name"] for row in largest_first(doc["layers"], column)]
    text = invoke(command, spec, "--sort", column, "--format", fmt).stdout
    assert row_names(text, fmt, len(expected)) == expected
