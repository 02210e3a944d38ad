"""Homework 5, problem 2, as a property of the bundled specs: through ten sigmoid layers the first layer's weight
gradient is orders of magnitude below the last layer's; through the same widths with ReLU it is not.

Thresholds, derived loosely: backpropagating from fc10 to fc1 passes nine sigmoid derivatives, each at most 1/4,
and Xavier-initialised 256x256 matrices, whose gain on a random vector is about 1; so ||dL/dA_1|| / ||dL/dA_10|| is
of the order of (1/4)^9 ~ 4e-6 (the layer inputs, sigmoid outputs in (0, 1) against the N(0, 1) input, shift it
by a factor of a few). 1e-3 leaves two decades of room. With ReLU and He initialisation each layer keeps the
expected squared norm of the gradient (half the units pass it, the weights' variance 2/fan_in doubles it back), so
the ratio is of the order of 1, shrunk only by the wider spread of fc10's inputs; 1e-2 leaves more than a decade.
Every seed is checked, for both losses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(8)


def ratio(spec: str, seed: int, loss: str) -> float:
    layers = cnncalc.read(ROOT / "specs" / spec).grad(seed=seed, loss=loss).to_json()["layers"]
    assert [row["name"] for row in (layers[0], layers[-1])] == ["fc1", "fc10"]
    return layers[0]["weight_grad_norm"] / layers[-1]["weight_grad_norm"]


@pytest.mark.parametrize("loss", ["mse", "sum"])
def test_sigmoid_gradients_vanish_towards_the_input(loss):
    for seed in SEEDS:
        assert ratio("mlp_sigmoid.yaml", seed, loss) < 1e-3, seed


@pytest.mark.parametrize("loss", ["mse", "sum"])
def test_relu_gradients_do_not(loss):
    for seed in SEEDS:
        assert ratio("mlp_relu.yaml", seed, loss) > 1e-2, seed


def test_the_two_specs_differ_only_in_the_activation():
    sigmoid = (ROOT / "specs" / "mlp_sigmoid.yaml").read_text()
    relu = (ROOT / "specs" / "mlp_relu.yaml").read_text()
    body = lambda text: [line for line in text.splitlines() if not line.startswith(("#", "name:"))]  # noqa: E731
    assert [line.replace("sigmoid", "relu") for line in body(sigmoid)] == body(relu)
    assert sum("type: linear" in line for line in body(relu)) == 10
