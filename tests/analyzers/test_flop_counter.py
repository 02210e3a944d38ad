"""cnncalc's training counts against PyTorch's FlopCounterMode (2 FLOPs per MAC), measured by
scripts/measure_flop_counter.py into tests/data/flop_counter.json (torch 2.13.0, CPU, train mode, batch 1).

The forward passes agree exactly, and so do the backward passes of networks without grouped convolutions. On a
grouped or depthwise convolution FlopCounterMode over-counts the weight gradient: it counts it as the convolution
of the input with the output gradient with batch and channels swapped, ignoring `groups`, so it reports `groups`
times the products there are (each of the C_out weights' kh*kw taps meets (C_in/groups) input channels, not C_in).
cnncalc counts what is computed; the test below shows the discrepancy equals exactly (groups - 1) times the weight
gradient's MACs of each grouped conv, twice (FLOPs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.api import parse

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "flop_counter.json").read_text())


@pytest.mark.parametrize("name", sorted(DATA["cases"]))
def test_forward_matches(name):
    case = DATA["cases"][name]
    assert 2 * parse(case["spec"]).cost(training=True).totals["macs"] == case["forward_flops"]


@pytest.mark.parametrize("name", sorted(DATA["cases"]))
def test_backward_matches_but_for_groups(name):
    case = DATA["cases"][name]
    network = parse(case["spec"])
    doc = network.cost(training=True).document
    graph = network.graph
    over = 0
    for row, node in zip(doc["layers"], graph.layers):
        groups = getattr(node.layer, "groups", 1)
        if node.type == "conv" and groups > 1:
            # the weight gradient's real products: one per (output element, tap), the forward's MACs; FlopCounterMode
            # counts groups times as many
            over += 2 * (groups - 1) * row["macs"]
    assert 2 * doc["totals"]["backward_macs"] + over == case["backward_flops"]
    if name == "plain":
        assert over == 0  # no grouped conv: the two agree exactly
    else:
        assert over > 0
