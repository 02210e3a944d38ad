"""`cnncalc cost --training`: the backward metric on the one pipeline (rows, totals, group-by, compare, sweeps,
JSON, tables) and its graph-wide rules (no gradient for the network input, gradients summed where an output has
several readers). Expected values are formulas written here."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dataclasses import dataclass

from cnncalc.analyzers import Step
from cnncalc.analyzers.backward import backward_counts
from cnncalc.api import parse
from cnncalc.cli import app
from cnncalc.errors import SpecError
from cnncalc.graph import Node
from cnncalc.layers import Layer

SPEC = """\
input: [2, 6, 6]
layers:
  - {name: pool, type: maxpool, kernel: 2}
  - {name: conv, type: conv, out: 4, kernel: 3, padding: 1}
  - {name: r, type: relu}
  - {name: a, type: add, inputs: [conv, r]}
  - {name: fc, type: linear, out: 3}
"""

CONV_TAPS = 4 * 3 * 3 * (2 * 3 * 3)  # output elements x fan-in


def expected(batch: int) -> dict:
    """pool reads the network input and conv reads pool, which depends on no parameter: neither computes an input
    gradient. conv's output is read by r and a: 36 adds sum the two gradients."""
    rows = {
        "pool": (0, 0, 0, 0),
        "conv": (CONV_TAPS, CONV_TAPS + 36 + 36, 0, CONV_TAPS),
        "r": (36, 0, 36, 0),
        "a": (0, 0, 0, 0),
        "fc": (2 * 3 * 36, 2 * 3 * 36 + 3, 0, 2 * 3 * 36),
    }
    return {name: tuple(batch * v for v in values) for name, values in rows.items()}


@pytest.mark.parametrize("batch", [1, 4])
def test_rows_follow_the_graph_rules(batch):
    doc = parse(SPEC).cost(training=True, batch=batch).document
    assert doc["training"] == {"batch": batch, "optimizer": None}
    want = expected(batch)
    for row in doc["layers"]:
        got = (row["backward_mults"], row["backward_adds"], row["backward_activations"], row["backward_macs"])
        assert got == want[row["name"]], row["name"]
    forward_macs = batch * (CONV_TAPS + 3 * 36)
    assert doc["totals"]["macs"] == forward_macs
    assert doc["totals"]["training_macs"] == forward_macs + sum(v[3] for v in want.values())
    assert doc["totals"]["params"] == (4 * 18 + 4) + (3 * 36 + 3)  # per model, whatever the batch
    assert doc["totals"]["activation_elements"] == batch * (18 + 36 * 3 + 3)


def test_plain_cost_has_no_training_columns():
    doc = parse(SPEC).cost().document
    assert "training" not in doc and not any(c.startswith(("backward", "optimizer", "training")) for c in
                                             doc["columns"])


def test_batchnorm_counts_batch_statistics_in_training():
    spec = "input: [3, 4, 4]\nlayers:\n  - {name: c, type: conv, out: 2, kernel: 1}\n  - {name: bn, type: batchnorm}\n"
    for batch in (1, 5):
        bn = parse(spec).cost(training=True, batch=batch).document["layers"][1]
        m = batch * 16
        assert (bn["mults"], bn["adds"], bn["activations"]) == (2 * (3 * m + 2), 2 * (4 * m + 1), 2)
        assert (bn["backward_mults"], bn["backward_adds"]) == (2 * (4 * m + 2), 2 * 4 * m)


def test_group_by_compare_and_sweep_agree_with_the_totals():
    network = parse(SPEC)
    totals = network.cost(training=True, batch=2, optimizer="adam").totals
    groups = network.cost(group_by="type", training=True, batch=2, optimizer="adam").document
    assert sum(g["backward_adds"] for g in groups["groups"]) == totals["backward_adds"]
    from cnncalc.api import compare
    both = compare([network, network], training=True, batch=2, optimizer="adam").document
    assert both["specs"][0]["totals"]["training_macs"] == totals["training_macs"]
    sweep = network.cost_sweep("6,12", training=True, batch=2, optimizer="adam").document
    assert {k: v for k, v in sweep["sweep"][0].items() if k != "input"} == totals
    bigger = parse(SPEC.replace("[2, 6, 6]", "[2, 12, 12]")).cost(training=True, batch=2, optimizer="adam").totals
    assert {k: v for k, v in sweep["sweep"][1].items() if k != "input"} == bigger


def test_cli_json_and_table():
    runner = CliRunner()
    result = runner.invoke(app, ["cost", "-", "--training", "--batch", "2", "--optimizer", "sgd", "--json"],
                           input=SPEC)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["totals"]["backward_macs"] == sum(v[3] for v in expected(2).values())
    table = runner.invoke(app, ["cost", "-", "--training", "--wide"], input=SPEC)
    assert table.exit_code == 0 and "training MACs" in table.stdout and "bwd MACs" in table.stdout


@pytest.mark.parametrize("args,words", [
    (["--training", "--convention", "fvcore"], "reports no backward pass"),
    (["--batch", "2"], "counts a training step"),
    (["--optimizer", "adam"], "counts a training step"),
    (["--training", "--batch", "0"], "at least 1"),
])
def test_refusals(args, words):
    result = CliRunner().invoke(app, ["cost", "-", *args], input=SPEC)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert words in result.stderr and "error:" in result.stderr


def test_a_layer_type_without_a_backward_rule_is_refused():
    @dataclass(frozen=True)
    class NoRule(Layer):
        type_name = "no_rule"
        rf = "identity"

    node = Node(1, "x", NoRule(), ((0, 0),), ((3, 4, 4),), ((3, 4, 4),), None)
    with pytest.raises(SpecError, match="states no backward rule"):
        backward_counts(node, Step(no_grad=frozenset({0}), readers={}))
