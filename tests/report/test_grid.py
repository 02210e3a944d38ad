"""`cnncalc rf --at I,J --show`: the picture of the homework's fields, cell by cell, against brute-force dependency
propagation (tests/brute/rf.py, numpy, no cnncalc code); scaling to the width; the ASCII stand-ins; refusals.

The expected glyph of each cell is worked out here from the brute force's facts and the glyph list of the README
(most notable first): @ centre, ▓ a neighbour's field start inside the field, + one outside it, █ an image position
the output depends on, ▒ the field's bounds outside the image, · the rest of the image, blank padding.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.report.render import encodable
from cnncalc.text import cell_width

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from brute import rf as brute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HW5 = str(ROOT / "specs" / "hw5.yaml")
FILLS = "@▓█▒"  # glyphs that fill a two-character cell; the others stand in its first character


def show(*args: str, width: int = 80) -> list[str]:
    result = CliRunner(env={"COLUMNS": str(width)}).invoke(app, ["rf", *args, "--show"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(cell_width(line) <= width for line in lines), [line for line in lines if cell_width(line) > width]
    return lines


def body(lines: list[str]) -> tuple[list[str], list[str]]:
    """(row labels, cell text) of the picture's lines, which are `LABEL │CELLS`."""
    rows = [line.split(" │", 1) for line in lines if " │" in line]
    return [label.strip() for label, _ in rows], [cells for _, cells in rows]


def facts(spec: dict, layer: str, index: tuple[int, int]) -> list[dict]:
    """Per axis, from the brute force: unclipped bounds, image positions read, neighbours' field starts, centre."""
    shapes, _ = brute.geom.shapes(spec)
    deps = brute.forward_deps(spec)
    out = []
    for axis in (0, 1):
        i = index[axis]
        field = brute.backward_deps(spec, layer, i, axis, clipped=False)
        count = shapes[layer][1 + axis]
        starts = {int(brute.backward_deps(spec, layer, n, axis, clipped=False).min())
                  for n in (i - 1, i, i + 1) if 0 <= n < count}
        lo, hi = int(field.min()), int(field.max())
        out.append({"lo": lo, "hi": hi, "size": shapes["input"][1 + axis], "starts": starts,
                    "read": set(np.nonzero(deps[layer][axis][i])[0].tolist()), "middle": {(lo + hi) // 2,
                                                                                            (lo + hi + 1) // 2}})
    return out


def expected(rows: dict, cols: dict, r_block: range, c_block: range) -> str:
    """The most notable glyph of the positions r_block x c_block."""
    def some(axis: dict, block: range, test) -> bool:
        return any(test(axis, p) for p in block)

    in_field = lambda a, p: a["lo"] <= p <= a["hi"]  # noqa: E731
    in_image = lambda a, p: 0 <= p < a["size"]  # noqa: E731
    if some(rows, r_block, lambda a, p: p in a["middle"]) and some(cols, c_block, lambda a, p: p in a["middle"]):
        return "@"
    start_in = lambda a, p: p in a["starts"] and in_field(a, p)  # noqa: E731
    if some(rows, r_block, start_in) and some(cols, c_block, start_in):
        return "▓"
    if some(rows, r_block, lambda a, p: p in a["starts"]) and some(cols, c_block, lambda a, p: p in a["starts"]):
        return "+"
    if some(rows, r_block, lambda a, p: p in a["read"]) and some(cols, c_block, lambda a, p: p in a["read"]):
        return "█"
    if any(in_field(rows, r) and in_field(cols, c) and not (in_image(rows, r) and in_image(cols, c))
           for r in r_block for c in c_block):
        return "▒"
    return "·" if some(rows, r_block, in_image) and some(cols, c_block, in_image) else " "


def check_cells(lines: list[str], spec: dict, layer: str, index: tuple[int, int], k: int, cell: int) -> int:
    """Compare every cell of the picture with the brute force's glyph; the number of cells compared."""
    rows, cols = facts(spec, layer, index)
    labels, texts = body(lines)
    r_first, r_last = min(0, rows["lo"]), max(rows["size"] - 1, rows["hi"])
    c_first, c_last = min(0, cols["lo"]), max(cols["size"] - 1, cols["hi"])
    blocks = lambda first, last: [range(max(b * k, first), min(b * k + k - 1, last) + 1)  # noqa: E731
                                  for b in range(first // k, last // k + 1)]
    row_blocks, col_blocks = blocks(r_first, r_last), blocks(c_first, c_last)
    assert len(texts) == len(row_blocks)
    compared = 0
    for text, r_block in zip(texts, row_blocks):
        text = text.ljust(len(col_blocks) * cell)
        assert cell_width(text) == len(col_blocks) * cell
        for n, c_block in enumerate(col_blocks):
            glyph = expected(rows, cols, r_block, c_block)
            want = glyph * cell if glyph in FILLS else glyph.ljust(cell)
            assert text[n * cell:(n + 1) * cell] == want, (layer, index, r_block, c_block)
            compared += 1
    # the field's first and last rows, and the image's, are numbered on their lines
    for position in (rows["lo"], rows["hi"], 0, rows["size"] - 1):
        line = next(n for n, block in enumerate(row_blocks) if position in block)
        assert labels[line] in {str(position), str(rows["lo"]), str(rows["hi"]), "0"}
    return compared


HW5_SPEC = yaml.safe_load(Path(HW5).read_text())


@pytest.mark.parametrize("layer, index, bounds", [
    ("y1", (0, 0), (-2, 2)), ("y1", (15, 20), (13, 17)),      # i-2 .. i+2
    ("y2", (0, 0), (-2, 3)), ("y2", (7, 3), (12, 17)),        # 2i-2 .. 2i+3
    ("y3", (0, 0), (-6, 9)), ("y3", (3, 5), (6, 21)), ("y3", (7, 7), (22, 37)),  # 4i-6 .. 4i+9
])
def test_homework_fields_cell_by_cell(layer, index, bounds):
    lines = show(HW5, "--layer", layer, "--at", f"{index[0]},{index[1]}")
    rows = facts(HW5_SPEC, layer, index)[0]
    assert (rows["lo"], rows["hi"]) == bounds  # the homework's figure, from the brute force too
    span = max(31, bounds[1]) - min(0, bounds[0]) + 1
    cell = 2 if 2 * span + len(str(bounds[0])) + 2 <= 80 else 1  # square cells when they fit 80 columns
    assert check_cells(lines, HW5_SPEC, layer, index, 1, cell) == span * span
    assert "one cell: one input position" in " ".join(lines)
    assert f"{layer}[{index[0]}, {index[1]}] depends on input rows {bounds[0]} .. {bounds[1]}" in lines[0]


def test_y3_corner_has_padding_centre_and_neighbours():
    """y3[0, 0]: rows and cols -6 .. 9, of which -6 .. -1 are padding; centre rows 1 and 2; the neighbours'
    fields start at -6 and -2 (jump 4)."""
    _, texts = body(show(HW5, "--at", "0,0"))
    grid = [[text.ljust(76)[2 * c] for c in range(38)] for text in texts]  # position p is cell p + 6
    assert grid[0][0] == "▓" and grid[0][4] == "▓" and grid[4][0] == "▓" and grid[4][4] == "▓"
    assert {grid[r][c] for r in (7, 8) for c in (7, 8)} == {"@"}
    assert grid[6][6] == "█" and grid[15][15] == "█" and grid[16][16] == "·" and grid[1][1] == "▒"
    assert grid[0][20] == " " and grid[20][0] == " "  # padding outside the field
    assert len(texts) == 38


def test_holes_of_a_dilation_show_as_holes():
    spec = {"input": [1, 20, 20], "layers": [
        {"name": "a", "type": "conv", "out": 1, "kernel": 3, "dilation": 3, "padding": 3},
        {"name": "b", "type": "conv", "out": 1, "kernel": 2, "stride": 2, "dilation": 4}]}
    path = ROOT / "tests" / "report" / "_dilated.yaml"
    try:
        path.write_text(yaml.safe_dump(spec))
        lines = show(str(path), "--at", "2,3")
    finally:
        path.unlink()
    rows = facts(spec, "b", (2, 3))[0]
    assert len(rows["read"]) < rows["hi"] - rows["lo"] + 1  # the brute force has holes here
    check_cells(lines, spec, "b", (2, 3), 1, 2)
    _, texts = body(lines)
    assert any("█· █" in text or "██· ██" in text for text in texts)


def test_a_wide_input_is_scaled_down_with_a_legend():
    """hw5 at 200x200 in 80 columns: k x k positions per square cell, the least k that fits; every cell against
    the brute force by the most-notable rule."""
    spec = {**HW5_SPEC, "input": [3, 200, 200]}
    lines = show(HW5, "--input", "200", "--at", "5,7")
    k = int(re.search(r"one cell: (\d+)x\1 input positions", " ".join(lines)).group(1))
    rows, cols = facts(spec, "y3", (5, 7))
    first, last = min(0, cols["lo"]), max(199, cols["hi"])
    margin = max(len(str(p)) for p in (rows["lo"], rows["hi"], 0, 199)) + 2
    assert 2 * (last // k - first // k + 1) + margin <= 80 < 2 * (last // (k - 1) - first // (k - 1) + 1) + margin
    check_cells(lines, spec, "y3", (5, 7), k, 2)


def test_resnet50_at_224_fits_80_columns():
    lines = show(str(ROOT / "specs" / "zoo" / "resnet50.yaml"), "--layer", "layer4_2/relu3", "--at", "3,3")
    assert max(map(cell_width, lines)) <= 80
    text = " ".join(lines)
    assert re.search(r"one cell: \d+x\d+ input positions \(scaled down to fit 80 columns\)", text)
    assert "the jump, 32, apart" in text


def test_ascii_stand_ins_keep_the_shape():
    lines = show(HW5, "--at", "0,0")
    text = "\n".join(lines)
    ascii_text = encodable(text, "ascii")
    assert ascii_text.isascii()
    assert [len(line) for line in ascii_text.splitlines()] == [cell_width(line) for line in lines]
    assert "::::" in ascii_text and "####" in ascii_text and "**" in ascii_text and "@@" in ascii_text


@pytest.mark.parametrize("args, fragment", [
    (["rf", HW5, "--show"], "add --at I,J (--at 4,4 is the centre of y3's 8x8 output)"),
    (["rf", HW5, "--at", "0,0", "--show", "--json"], "--show changes only the printed output"),
    (["rf", HW5, "--input", "32:64:32", "--show"], "does not take --layer, --at or --show"),
])
def test_show_refusals(args, fragment):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stdout == "" and fragment in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_json_holds_the_picture_numbers():
    """`at` has the exact image positions as runs (the gaps are the holes), checked against the brute force."""
    result = CliRunner().invoke(app, ["rf", HW5, "--layer", "y2", "--at", "7,3", "--json"])
    import json
    at = json.loads(result.stdout)["at"]
    rows, cols = facts(HW5_SPEC, "y2", (7, 3))
    assert at["rows_inside"] == [[min(rows["read"]), max(rows["read"])]]
    assert at["cols_inside"] == [[min(cols["read"]), max(cols["read"])]]


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None, reason="needs bash and head")
def test_picture_into_head_ends_quietly():
    command = f"{sys.executable} -m cnncalc rf {HW5} --at 0,0 --show"
    result = subprocess.run(["bash", "-c", f"{command} | head -3; echo \"status ${{PIPESTATUS[0]}}\" >&2"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stderr.splitlines() == [result.stderr.splitlines()[-1]]
    assert result.stderr.splitlines()[-1] in ("status 141", "status 0")
    assert result.stdout.count("\n") == 3 and result.stdout.startswith("y3[0, 0]")
