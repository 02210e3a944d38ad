"""`cnncalc cost --sort COLUMN`: the table's rows in the order this file sorts the JSON rows (largest first, equal
ones in file order), a bar per row whose length is the count's share of the largest (within half an eighth of a
cell), unknown columns refused with the list of the report's columns, and the JSON left in file order."""

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
    largest = expected[0][column]
    header = next(line for line in result.stdout.splitlines() if " bar" in line)
    start = re.search(r"\S+ bar", header).start()  # the bar column is left-aligned under its heading
    for line, row in zip(lines, expected):
        bar = "".join(ch for ch in line[start:start + CELLS + 2] if ch == "█" or ch in EIGHTHS)
        exact = row[column] / largest * CELLS * 8
        assert abs(eighths(bar) - exact) <= 0.5 or (row[column] > 0 and eighths(bar) == 1 and exact < 1), row
        assert (eighths(bar) == 0) == (row[column] == 0)
    assert "the largest first" in result.stdout and f"{largest:,}" in result.stdout


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
    if fmt == "csv":
        names = [line.split(",")[1] for line in text.splitlines()[1:]]
    elif fmt == "jsonl":
        names = [json.loads(line)["name"] for line in text.splitlines()]
    else:
        cells = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
        names = [cell.replace("\\_", "_") for cell in cells[1:1 + len(expected)]]
    assert names == expected


@pytest.mark.parametrize("args", [
    ["rf", HW5, "--at", "0,0", "--show", "--format", "csv"],
    ["cost", HW5, "--input", "32:64:32", "--plot", "--format", "jsonl"],
    ["rf", HW5, "--input", "32:64:32", "--plot", "--format", "markdown"],
])
def test_pictures_are_refused_in_row_formats(args):
    result = invoke(*args)
    assert result.exit_code == 2 and result.stdout == "" and "writes rows only" in result.stderr
