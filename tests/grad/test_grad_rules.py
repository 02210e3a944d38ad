"""Every backward rule of cnncalc.grad against central finite differences of its own forward rule, in float64.

For each case, a one-layer spec fixes the layer and its input shapes; the loss is L = sum(r * y) for a fixed random
r, so dL/dy = r; the analytic dL/dx and dL/dparams of the rule are compared with (L(v + h) - L(v - h)) / 2h for every
element v of every input and parameter (h = 1e-6, the forward rule in float64: the difference is O(h^2) plus rounding
of about 1e-10 relative). Inputs are drawn away from the kinks of relu-like functions and without ties in max
pooling, where a finite difference would straddle a corner. A last test runs the engine over a small graph with
branches (add, concat: gradients summed over readers) and checks the parameter gradients of the whole loss the same
way.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc.grad.activations import ACTIVATIONS
from cnncalc.grad.engine import forward_backward, initialise
from cnncalc.grad.rules import RULES

H = 1e-6
KINKS = (0.0, -3.0, 3.0, 6.0)  # relu, relu6, leaky_relu, hardswish, hardsigmoid change slope here


def conv(**attrs):
    return ("conv", [3, 7, 6], {"out": 4, "kernel": 3, **attrs})


CASES: dict[str, list[tuple[str, list[int], dict]]] = {
    "conv": [conv(), conv(stride=2, padding=1), conv(padding="same", stride=2), conv(dilation=2, padding=[1, 2]),
             ("conv", [4, 6, 6], {"out": 6, "kernel": [3, 2], "groups": 2, "padding": 1}),
             ("conv", [4, 5, 5], {"out": 4, "kernel": 3, "groups": 4, "bias": False, "padding": [0, 1, 2, 0]}),
             conv(activation="tanh", padding=1), conv(activation="relu", stride=[1, 2])],
    "linear": [("linear", [5], {"out": 3}), ("linear", [2, 3, 3], {"out": 4, "bias": False}),
               ("linear", [6], {"out": 5, "activation": "sigmoid"})],
    "maxpool": [("maxpool", [2, 6, 6], {"kernel": 2}), ("maxpool", [2, 7, 7], {"kernel": 3, "stride": 2, "padding": 1}),
                ("maxpool", [2, 7, 6], {"kernel": 2, "ceil_mode": True}),
                ("maxpool", [2, 7, 7], {"kernel": 2, "dilation": 2, "stride": 1})],
    "avgpool": [("avgpool", [2, 6, 6], {"kernel": 2}), ("avgpool", [2, 7, 7], {"kernel": 3, "stride": 2, "padding": 1}),
                ("avgpool", [2, 7, 6], {"kernel": 3, "stride": 2, "ceil_mode": True, "padding": 1})],
    "global_avgpool": [("global_avgpool", [3, 4, 5], {})],
    "adaptive_avgpool": [("adaptive_avgpool", [2, 7, 5], {"output_size": [3, 2]}),
                         ("adaptive_avgpool", [2, 6, 6], {"output_size": 1})],
    "adaptive_maxpool": [("adaptive_maxpool", [2, 7, 5], {"output_size": [3, 2]}),
                         ("adaptive_maxpool", [2, 5, 6], {"output_size": [5, 4]})],
    "global_maxpool": [("global_maxpool", [3, 4, 5], {})],
    "batchnorm": [("batchnorm", [3, 4, 4], {}), ("batchnorm", [5], {})],
    "dropout": [("dropout", [3, 4, 4], {"p": 0.3})],
    "identity": [("identity", [3, 4, 4], {})],
    "flatten": [("flatten", [3, 4, 4], {})],
    "add": [("add", [3, 4, 4], {"inputs": 3})],
    "concat": [("concat", [3, 4, 4], {"inputs": 2})],
    **{name: [(name, [4, 3, 3], {})] for name in ACTIVATIONS},
    "leaky_relu": [("leaky_relu", [4, 3, 3], {"slope": 0.2})],
    "softmax": [("softmax", [4, 3, 3], {}), ("softmax", [6], {})],
}


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


def _layer(type_name: str, shape: list[int], attrs: dict):
    """The layer object and its input shapes, built by cnncalc's own spec reader from a one-layer spec."""
    attrs = dict(attrs)
    count = attrs.pop("inputs", 1)
    entries = [{"name": f"in{k}", "type": "identity", "input": "input"} for k in range(count)] if count > 1 else []
    layer = {"name": "x", "type": type_name, **attrs}
    if count > 1:
        layer["inputs"] = [f"in{k}" for k in range(count)]
    import yaml
    graph = cnncalc.load(yaml.safe_dump({"input": shape, "layers": entries + [layer]}), "case.yaml")
    node = graph.nodes[-1]
    return node.layer, node.input_shapes


def _away_from_kinks(x: np.ndarray) -> np.ndarray:
    for kink in KINKS:
        near = np.abs(x - kink) < 0.05
        x = np.where(near, kink + 0.05 * np.sign(x - kink + 1e-12), x)
    return x


def _numeric(f, v: np.ndarray) -> np.ndarray:
    out = np.zeros_like(v)
    for i in np.ndindex(v.shape):
        keep = v[i]
        v[i] = keep + H
        up = f()
        v[i] = keep - H
        down = f()
        v[i] = keep
        out[i] = (up - down) / (2 * H)
    return out


def _close(analytic: np.ndarray, numeric: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(numeric).max()))
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-6 * scale)


CASE_LIST = [(name, case) for name, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("name,case", CASE_LIST, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASE_LIST)])
def test_backward_matches_finite_differences(name, case):
    layer, shapes = _layer(*case)
    rule = RULES[layer.type_name]
    rng = np.random.default_rng(7)
    batch = 2
    xs = []
    for shape in shapes:
        size = batch * int(np.prod(shape))
        if name in ("maxpool", "global_maxpool", "adaptive_maxpool"):  # distinct values far apart: no ties
            x = rng.permutation(size).astype(float).reshape(batch, *shape) * 0.1
        else:
            x = _away_from_kinks(rng.standard_normal((batch, *shape)) * 2)
        xs.append(x)
    params = {k: rng.standard_normal(p.shape) for k, p in rule.parameters(layer, shapes).items()}

    def forward():
        return rule.forward(layer, xs, params, np.random.default_rng(3))  # the same dropout mask every time

    y, saved = forward()
    r = rng.standard_normal(y.shape)
    input_grads, param_grads = rule.backward(layer, saved, r, params)
    loss = lambda: float((forward()[0] * r).sum())  # noqa: E731
    assert len(input_grads) == len(xs)
    for x, dx in zip(xs, input_grads):
        _close(dx, _numeric(loss, x))
    assert set(param_grads) == set(params)
    for key, value in params.items():
        _close(param_grads[key], _numeric(loss, value))


def test_engine_sums_gradients_over_readers_and_matches_finite_differences():
    text = """input: [2, 5, 5]
layers:
  - {name: a, type: conv, out: 3, kernel: 3, padding: 1, activation: tanh}
  - {name: b, type: conv, out: 3, kernel: 1, input: input}
  - {name: s, type: add, inputs: [a, b]}
  - {name: bn, type: batchnorm}
  - {name: c, type: concat, inputs: [bn, a]}
  - {name: p, type: avgpool, kernel: 2}
  - {name: f, type: flatten}
  - {name: fc, type: linear, out: 3, activation: sigmoid}
"""
    graph = cnncalc.load(text, "branches.yaml")
    rng = np.random.default_rng(0)
    params, _ = initialise(graph, "xavier", rng)
    x = rng.standard_normal((3, 2, 5, 5))
    for loss_name in ("mse", "sum"):
        value, _, param_grads = forward_backward(graph, params, x, loss_name, np.random.default_rng(1))
        loss = lambda: forward_backward(graph, params, x, loss_name, np.random.default_rng(1))[0]  # noqa: E731
        for index, tensors in params.items():
            for key, tensor in tensors.items():
                _close(param_grads[index][key], _numeric(loss, tensor))
