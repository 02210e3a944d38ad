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


def tconv(**attrs):
    return ("conv_transpose", [3, 3, 4], {"out": 2, "kernel": 3, **attrs})


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
    "conv_transpose": [tconv(), tconv(stride=2, padding=1, output_padding=1), tconv(stride=[2, 3], kernel=[3, 2]),
                       tconv(dilation=2, padding=[1, 2]), tconv(stride=3, kernel=2, dilation=2, output_padding=[2, 1]),
                       ("conv_transpose", [4, 3, 4], {"out": 6, "kernel": 3, "groups": 2, "stride": 2, "padding": 1}),
                       ("conv_transpose", [4, 3, 3], {"out": 4, "kernel": 2, "groups": 4, "bias": False}),
                       tconv(activation="tanh", stride=2), tconv(activation="relu", padding=1)],
    "pad": [("pad", [2, 3, 4], {"padding": 1}), ("pad", [2, 3, 4], {"padding": [2, 0]}),
            ("pad", [2, 3, 4], {"padding": [0, 1, 2, 3]})],
    "upsample": [("upsample", [2, 3, 4], {"scale": 2}), ("upsample", [2, 3, 4], {"scale": [3, 2]}),
                 ("upsample", [2, 3, 4], {"size": [7, 5]}), ("upsample", [2, 5, 4], {"size": [3, 2]}),
                 ("upsample", [2, 3, 4], {"scale": 2, "mode": "bilinear"}),
                 ("upsample", [2, 3, 4], {"scale": [3, 2], "mode": "bilinear", "align_corners": True}),
                 ("upsample", [2, 3, 4], {"size": [7, 5], "mode": "bilinear"}),
                 ("upsample", [2, 5, 4], {"size": [3, 1], "mode": "bilinear", "align_corners": True}),
                 ("upsample", [2, 5, 4], {"size": [2, 3], "mode": "bilinear"})],
    "mul": [("mul", [3, 4, 4], {"inputs": 2}), ("mul", [3, 4, 4], {"inputs": ["identity", "global_avgpool"]}),
            ("mul", [3, 4, 4], {"inputs": ["global_avgpool", "identity", "identity"]})],
    "split": [("split", [5, 3, 3], {"sizes": [2, 3]}), ("split", [6, 2, 3], {"chunks": 3}),
              ("split", [4, 2, 2], {"chunks": 1})],
    "channel_shuffle": [("channel_shuffle", [6, 2, 3], {"groups": 2}), ("channel_shuffle", [6, 2, 3], {"groups": 3})],
    "lrn": [("lrn", [6, 2, 3], {"size": 3, "alpha": 0.5}), ("lrn", [6, 2, 3], {"size": 4, "alpha": 0.3, "k": 2.0}),
            ("lrn", [5, 2, 2], {"size": 5, "alpha": 1.0, "beta": 0.5, "k": 0.5}),
            ("lrn", [3, 2, 2], {"size": 1, "alpha": 0.2})],
    "squeeze_excitation": [("squeeze_excitation", [4, 3, 3], {"squeeze": 2}),
                           ("squeeze_excitation", [6, 2, 3], {"squeeze": 3, "activation": "hardswish",
                                                              "gate": "hardsigmoid"}),
                           ("squeeze_excitation", [3, 2, 2], {"squeeze": 4, "activation": "silu"})],
}


EXEMPT: dict[str, str] = {}
"""Built-in layer types `cnncalc grad` refuses on purpose, each with its reason (none today). A plug-in's layer type
(from another package) has no rule and is refused by name: the guard reads the built-in types only."""


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


def test_every_built_in_layer_type_has_a_rule_or_a_stated_exemption():
    """A new layer type in cnncalc/layers/ cannot silently miss `cnncalc grad`: it needs a rule or a reason here."""
    from cnncalc.layers import REGISTRY
    built_in = {name for name, cls in REGISTRY.items() if cls.__module__.startswith("cnncalc.layers.")}
    missing = built_in - set(RULES) - set(EXEMPT)
    assert not missing, f"no grad rule for {sorted(missing)}: add one to cnncalc/grad/rules.py or exempt it here"
    assert not set(EXEMPT) & set(RULES) and all(reason.strip() for reason in EXEMPT.values())
    assert set(RULES) <= set(REGISTRY)


def _layer(type_name: str, shape: list[int], attrs: dict):
    """The layer object, its input shapes and its output shapes, built by cnncalc's own spec reader from a one-layer
    spec."""
    attrs = dict(attrs)
    feeders = attrs.pop("inputs", 1)  # a number of identity layers, or the types of the layers, reading the input
    feeders = ["identity"] * feeders if type(feeders) is int else feeders
    count = len(feeders)
    entries = [{"name": f"in{k}", "type": t, "input": "input"} for k, t in enumerate(feeders)] if count > 1 else []
    layer = {"name": "x", "type": type_name, **attrs}
    if count > 1:
        layer["inputs"] = [f"in{k}" for k in range(count)]
    import yaml
    graph = cnncalc.load(yaml.safe_dump({"input": shape, "layers": entries + [layer]}), "case.yaml")
    node = graph.nodes[-1]
    return node.layer, node.input_shapes, node.outputs


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
    layer, shapes, outputs = _layer(*case)
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
    ys = y if rule.many else (y,)  # split: one output per chunk, each with its own r
    assert len(ys) == len(outputs)
    rs = tuple(rng.standard_normal(out.shape) for out in ys)
    assert [out.shape[1:] for out in ys] == [tuple(shape) for shape in outputs]  # the shapes the graph infers
    input_grads, param_grads = rule.backward(layer, saved, rs if rule.many else rs[0], params)
    loss = lambda: sum(float((out * r).sum())  # noqa: E731
                       for out, r in zip(forward()[0] if rule.many else (forward()[0],), rs))
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


def test_engine_over_the_new_layers_and_split_outputs_matches_finite_differences():
    """Split's chunks read by name (`s.0`, `s.1`; `s.2` unread, so its gradient is zero), a mul gate, squeeze-
    excitation, conv_transpose, upsample, pad, channel_shuffle and lrn in one graph: every parameter gradient of the
    whole loss against finite differences, and the gradient reaching each chunk against the loss's own change."""
    text = """input: [6, 4, 4]
layers:
  - {name: s, type: split, sizes: [2, 2, 2]}
  - {name: a, type: conv, out: 2, kernel: 3, padding: 1, input: s.0, activation: tanh}
  - {name: g, type: global_avgpool, input: s.1}
  - {name: m, type: mul, inputs: [a, g]}
  - {name: c, type: concat, inputs: [m, s.1]}
  - {name: sh, type: channel_shuffle, groups: 2}
  - {name: se, type: squeeze_excitation, squeeze: 2, activation: hardswish, gate: hardsigmoid}
  - {name: t, type: conv_transpose, out: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - {name: n, type: lrn, size: 3, alpha: 0.5}
  - {name: u, type: upsample, size: [5, 7], mode: bilinear}
  - {name: p, type: pad, padding: [1, 0, 0, 2]}
  - {name: f, type: flatten}
  - {name: fc, type: linear, out: 3, activation: sigmoid}
"""
    graph = cnncalc.load(text, "new_layers.yaml")
    rng = np.random.default_rng(0)
    params, _ = initialise(graph, "xavier", rng)
    x = rng.standard_normal((2, 6, 4, 4))
    split = graph.find("s").index
    for loss_name in ("mse", "sum"):
        value, grads, param_grads = forward_backward(graph, params, x, loss_name, np.random.default_rng(1))
        loss = lambda: forward_backward(graph, params, x, loss_name, np.random.default_rng(1))[0]  # noqa: E731
        assert {"fc1.weight", "fc2.weight", "fc1.bias", "fc2.bias"} == set(params[graph.find("se").index])
        for index, tensors in params.items():
            for key, tensor in tensors.items():
                _close(param_grads[index][key], _numeric(loss, tensor))
        _close(np.concatenate(grads[split], axis=1), _numeric(loss, x))  # split's chunks join back into dL/dx
        assert len(grads[split]) == 3 and not grads[split][2].any()
