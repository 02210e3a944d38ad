"""`cnncalc cost --input ... --plot` and `cnncalc rf --input ... --plot`: every point of the sweep's JSON is a `*`
where this file's own arithmetic puts it (within half a cell), nothing else is marked, the axes carry the exact
extremes, and the plot fits 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.text import cell_width

ROOT = Path(__file__).resolve().parents[2]
HW5 = str(ROOT / "specs" / "hw5.yaml")
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")


def invoke(*args: str, width: int = 80):
    return CliRunner(env={"COLUMNS": str(width)}).invoke(app, list(args), catch_exceptions=False)


def parse(lines: list[str]) -> tuple[list[str], list[str], str]:
    """(y labels, plot lines without their margin, x label line) of a plot: the lines up to the `└───` axis."""
    axis = next(n for n, line in enumerate(lines) if "└" in line)
    margin = lines[axis].index("└")
    plot = [line for line in lines[:axis] if len(line) > margin and line[margin] in "┤│"]
    return ([line[:margin].strip() for line in plot], [line[margin + 1:] for line in plot], lines[axis + 1])


def check_points(lines: list[str], points: list[tuple[int, int]], width: int) -> None:
    labels, plot, x_axis = parse(lines)
    axis_line = next(line for line in lines if "└" in line)
    columns = len(axis_line) - axis_line.index("└") - 1
    assert max(map(cell_width, lines)) <= width
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert labels[0] == f"{max(ys):,}" and labels[-1] == "0"
    assert x_axis.split() == [f"{min(xs):,}", f"{max(xs):,}"]
    marks = {(len(plot) - 1 - r, c) for r, line in enumerate(plot) for c, ch in enumerate(line) if ch == "*"}
    found = set()
    for x, y in points:
        want_col = (x - min(xs)) / (max(xs) - min(xs)) * (columns - 1)
        want_line = y / max(ys) * (len(plot) - 1)
        near = {(r, c) for r, c in marks if abs(c - want_col) <= 0.5 + 1e-9 and abs(r - want_line) <= 0.5 + 1e-9}
        assert near, (x, y, want_col, want_line)
        found |= near
    assert found == marks  # no mark that is not a point


@pytest.mark.parametrize("width", [80, 60, 200])
def test_cost_plot_points_are_the_sweeps_macs(width):
    doc = json.loads(invoke("cost", HW5, "--input", "32:1024:32", "--json").stdout)
    result = invoke("cost", HW5, "--input", "32:1024:32", "--plot", width=width)
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    check_points(lines, [(row["input"][1], row["macs"]) for row in doc["sweep"]], width)
    caption = " ".join(lines)
    first, last = doc["sweep"][0], doc["sweep"][-1]
    assert f"{first['macs']:,} at 32" in caption and f"{last['macs']:,} at 1,024" in caption


def test_cost_plot_of_non_square_inputs_uses_pixels():
    doc = json.loads(invoke("cost", HW5, "--input", "32x64,64,64x128", "--json").stdout)
    lines = invoke("cost", HW5, "--input", "32x64,64,64x128", "--plot").stdout.splitlines()
    check_points(lines, [(row["input"][1] * row["input"][2], row["macs"]) for row in doc["sweep"]], 80)
    assert "input pixels (HxW)" in " ".join(lines)


def test_rf_plot_points_are_the_sweeps_field_sizes():
    doc = json.loads(invoke("rf", RESNET50, "--input", "32:1024:32", "--json").stdout)
    lines = invoke("rf", RESNET50, "--input", "32:1024:32", "--plot").stdout.splitlines()
    points = [(row["input"][1], row["rf"]["height"]["size"]) for row in doc["sweep"] if row["rf"] is not None]
    check_points(lines, points, 80)
    _, plot, _ = parse(lines)
    # the input's own extent, y = x, is dotted where it is below the field's size: at 32, about a fifteenth up
    assert "·" in plot[-1 - round(32 / 427 * 15)][:3]


@pytest.mark.parametrize("args, fragment", [
    (["cost", HW5, "--plot"], "--plot draws a sweep"),
    (["rf", HW5, "--input", "64", "--plot"], "--plot draws a sweep"),
    (["cost", HW5, "--input", "32:64:32", "--plot", "--json"], "--plot changes only the printed output"),
])
def test_plot_refusals(args, fragment):
    result = invoke(*args)
    assert result.exit_code == 2 and result.stdout == "" and fragment in result.stderr
