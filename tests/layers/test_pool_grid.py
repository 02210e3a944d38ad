"""Output sizes of pools and convolutions at the edges, against PyTorch.

Two independent references: the sizes torch 2.13 measured over a grid (tests/data/torch_pool_grid.json, written by
scripts/measure_pool_grid.py), and a literal transcription of ATen's shape rules (tests/brute/torch_shapes.py) over a
wider grid. Every point is one axis (height); the width axis is trivial. A point's answer is the output size, or
"padding" (padding above half the kernel: refused, blaming `padding`) or "empty" (no window fits: refused, blaming
`kernel`). The sweep evaluates the same rules over numpy arrays of sizes; that path is checked too.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import cnncalc

from cnncalc.geometry import Padding
from cnncalc.layers import LayerError
from cnncalc.layers.conv import Conv
from cnncalc.layers.pool import AvgPool, MaxPool

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from brute import torch_shapes  # noqa: E402

GRID = json.loads((Path(__file__).parent.parent / "data" / "torch_pool_grid.json").read_text())


def layer(op: str, k: int, s: int, p: int, d: int, ceil: bool):
    padding = Padding(p, p, 0, 0)
    if op == "maxpool":
        return MaxPool(kernel=(k, 1), stride=(s, 1), padding=padding, ceil_mode=ceil, dilation=(d, 1))
    if op == "avgpool":
        assert d == 1
        return AvgPool(kernel=(k, 1), stride=(s, 1), padding=padding, ceil_mode=ceil)
    assert not ceil
    return Conv(out=1, kernel=(k, 1), stride=(s, 1), padding=padding, dilation=(d, 1))


def cnncalc_size(op: str, n, k: int, s: int, p: int, d: int, ceil: bool):
    try:
        return layer(op, k, s, p, d, ceil).output_shape([(1, n, 1)])[1]
    except LayerError as exc:
        return {"padding": "padding", "kernel": "empty"}[exc.attribute]


def literal(op: str, n: int, k: int, s: int, p: int, d: int, ceil: bool):
    return torch_shapes.conv(n, k, s, p, d) if op == "conv" else torch_shapes.pool(n, k, s, p, d, ceil)


def measured_points():
    for op, grid in GRID["grids"].items():
        points = itertools.product(GRID["sizes"], GRID["kernels"], GRID["strides"], GRID["paddings"],
                                   grid["dilations"], grid["ceil_modes"])
        for point, result in zip(points, grid["results"], strict=True):
            yield op, point, result


def test_the_measured_grid_is_whole_and_holds_only_known_answers():
    assert GRID["torch"].startswith("2.13.0")
    counts = {op: len(g["results"]) for op, g in GRID["grids"].items()}
    assert counts == {"maxpool": 9 * 5 * 3 * 4 * 3 * 2, "avgpool": 9 * 5 * 3 * 4 * 1 * 2, "conv": 9 * 5 * 3 * 4 * 3}
    assert {r for g in GRID["grids"].values() for r in g["results"] if isinstance(r, str)} == {"padding", "empty"}


@pytest.mark.parametrize("op", ["maxpool", "avgpool", "conv"])
def test_cnncalc_and_the_literal_rules_match_torch_measurements(op):
    wrong = []
    for name, (n, k, s, p, d, ceil), measured in measured_points():
        if name != op:
            continue
        ours = cnncalc_size(op, n, k, s, p, d, ceil)
        if not ours == measured == literal(op, n, k, s, p, d, ceil):
            wrong.append(((n, k, s, p, d, ceil), measured, ours, literal(op, n, k, s, p, d, ceil)))
    assert not wrong, f"{len(wrong)} points differ, e.g. (n, k, s, p, d, ceil), torch, cnncalc, literal: {wrong[:5]}"


WIDE = {"maxpool": ((1, 2, 3, 4), (False, True)), "avgpool": ((1,), (False, True)), "conv": ((1, 2, 3, 4), (False,))}


@pytest.mark.parametrize("op", sorted(WIDE))
def test_cnncalc_matches_the_literal_rules_on_a_wider_grid_and_over_arrays(op):
    dilations, ceils = WIDE[op]
    sizes = list(range(1, 25))
    wrong = []
    for k, s, p, d, ceil in itertools.product(range(1, 8), range(1, 5), range(0, 6), dilations, ceils):
        expected = [literal(op, n, k, s, p, d, ceil) for n in sizes]
        for n, want in zip(sizes, expected):
            if cnncalc_size(op, n, k, s, p, d, ceil) != want:
                wrong.append((n, k, s, p, d, ceil))
        # The sweep's path: all sizes at once, as an int64 array; an error if any size fails.
        if all(isinstance(e, int) for e in expected):
            got = cnncalc_size(op, np.array(sizes, dtype=np.int64), k, s, p, d, ceil)
            if list(got) != expected:
                wrong.append(("array", k, s, p, d, ceil))
        else:
            with pytest.raises(LayerError):
                layer(op, k, s, p, d, ceil).output_shape([(1, np.array(sizes, dtype=np.int64), 1)])
    assert not wrong, wrong[:5]


def test_edge_cases_named_in_the_issue():
    # torch gives 1x1 for a one-pixel input under maxpool kernel 2 with ceil_mode (measured: see the grid).
    assert cnncalc_size("maxpool", 1, 2, 2, 0, 1, True) == 1
    assert cnncalc_size("maxpool", 1, 2, 2, 0, 1, False) == "empty"
    assert cnncalc_size("maxpool", 8, 3, 2, 2, 1, False) == "padding"     # 2 > 3 // 2
    assert cnncalc_size("conv", 8, 3, 2, 5, 1, False) == (8 + 10 - 3) // 2 + 1  # convs take any padding


@pytest.mark.parametrize("size", [16, 24])
def test_googlenet_runs_where_torchvision_runs(size):
    """torchvision's GoogLeNet (ceil-mode max pools) accepts 16x16 and 24x24 inputs; its last pooled map is 1x1."""
    text = (Path(__file__).parent.parent.parent / "specs" / "zoo" / "googlenet.yaml").read_text()
    graph = cnncalc.load(text.replace("input: [3, 224, 224]", f"input: [3, {size}, {size}]"))
    assert graph.nodes[-1].output == (1000,)
    assert min(n.output[1] for n in graph.layers if len(n.output) == 3) == 1
