"""The homework this project grew from (../shared/seed): every figure, derived by hand in the test."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc

SPECS = Path(__file__).resolve().parent.parent / "specs"


def _graph(name: str) -> cnncalc.Graph:
    path = SPECS / name
    return cnncalc.load(path.read_text(), str(path))


def _bounds(rf: dict, i: int) -> tuple[int, int]:
    lo = rf["jump"] * i - rf["padding"]
    return lo, lo + rf["size"] - 1


@pytest.mark.parametrize("layer, lower, upper, size", [
    ("y1", lambda i: i - 2, lambda i: i + 2, 5),
    ("y2", lambda i: 2 * i - 2, lambda i: 2 * i + 3, 6),
    ("y3", lambda i: 4 * i - 6, lambda i: 4 * i + 9, 16),
])
def test_problem4_receptive_fields(layer, lower, upper, size):
    doc = cnncalc.rf_report(_graph("hw5.yaml"))
    row = next(r for r in doc["layers"] if r["name"] == layer)
    for axis in ("height", "width"):
        rf = row["rf"][axis]
        assert rf["size"] == size and rf["aligned"]
        for i in range(6):
            assert _bounds(rf, i) == (lower(i), upper(i))


def test_problem4_y3_bounds_clip_negative_to_zero():
    # "treat negative bounds as 0": y3[1, 1] reads rows 4-6 .. 4+9 -> clipped to 0 .. 13.
    at = cnncalc.rf_report(_graph("hw5.yaml"), layer="y3", at=(1, 1))["at"]
    assert at["rows"] == [4 - 6, 4 + 9] and at["rows_clipped"] == [0, 13]
    assert at["cols"] == [-2, 13] and at["cols_clipped"] == [0, 13]


def test_problem4_recurrence_of_the_seed():
    # r0 = sum (k_i - 1) prod_{j<i} s_j + 1 over (k, s) = (3,1),(3,1),(2,2),(3,1),(3,1),(2,2)
    layers = [(3, 1, 1), (3, 1, 1), (2, 2, 0), (3, 1, 1), (3, 1, 1), (2, 2, 0)]
    r, jump, padding = 1, 1, 0
    for k, s, p in layers:
        r += (k - 1) * jump
        padding += p * jump
        jump *= s
    rf = cnncalc.rf_report(_graph("hw5.yaml"))["layers"][-1]["rf"]["height"]
    assert (rf["size"], rf["jump"], rf["padding"]) == (r, jump, padding) == (16, 4, 6)


def _conv(c_in: int, c_out: int, k: int, hw: int = 32 * 32) -> dict:
    """The homework's per-conv counts: C_in*k*k mults and adds per output element (bias included)."""
    return {"params": k * k * c_in * c_out + c_out, "mults": c_in * c_out * k * k * hw,
            "activations": c_out * hw}


NAIVE = [_conv(256, 128, 1), _conv(256, 192, 3), _conv(256, 96, 5)]
BOTTLENECK = [_conv(256, 128, 1), _conv(256, 64, 1), _conv(64, 192, 3), _conv(256, 64, 1), _conv(64, 96, 5),
              _conv(256, 64, 1)]


@pytest.mark.parametrize("spec, convs, params, ops, activations", [
    ("inception_naive.yaml", NAIVE, 1_089_952, 1_115_684_864, 425_984),
    ("inception_bottleneck.yaml", BOTTLENECK, 346_720, 354_418_688, 622_592),
])
def test_problem5_inception_costs(spec, convs, params, ops, activations):
    totals = cnncalc.cost_report(_graph(spec))["totals"]
    assert sum(c["params"] for c in convs) == params
    assert sum(c["mults"] for c in convs) == ops
    assert sum(c["activations"] for c in convs) == activations
    assert totals["params"] == params
    assert totals["mults"] == totals["adds"] == totals["macs"] == ops
    assert totals["activations"] == activations
    # the 3x3 max-pool branch: 8 comparisons per output element, 256 x 32 x 32 outputs
    assert totals["comparisons"] == 256 * 32 * 32 * 8


def test_problem5_seed_error_is_not_reproduced():
    # The seed wrote 696,736 for the naive module: a 3x3 kernel in the 96-channel branch.
    wrong = 1 * 256 * 128 + 128 + 9 * 256 * 192 + 192 + 9 * 256 * 96 + 96
    assert wrong == 696_736
    assert cnncalc.cost_report(_graph("inception_naive.yaml"))["totals"]["params"] == wrong + 16 * 256 * 96


def test_problem1_mlp_parameters():
    totals = cnncalc.cost_report(_graph("mlp.yaml"))["totals"]
    assert totals["params"] == (784 * 128 + 128) + (128 * 64 + 64) + (64 * 10 + 10)
    assert totals["activations"] == 128 + 64 + 10


def test_problem4_activation_memory():
    # outputs: 64x32x32 twice, 64x16x16, 64x16x16 twice, 64x8x8
    totals = cnncalc.cost_report(_graph("hw5.yaml"))["totals"]
    assert totals["activation_elements"] == 2 * 64 * 32 * 32 + 3 * 64 * 16 * 16 + 64 * 8 * 8
    assert totals["peak_activation_elements"] == 64 * 32 * 32
