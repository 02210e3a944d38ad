"""The `Dim` contract (cnncalc/layers/base.py): every registered layer type, and every cost metric under every
convention, gives over numpy arrays of sizes, element by element, exactly what it gives for each size alone.

A sweep over input sizes (`cnncalc.sweep`) runs the rules once with arrays in place of H and W; a rule that breaks
the contract would be wrong there (or fail), so each type runs here both ways, with int64 and with Python-int
(object) arrays. The expected values are the layer's own int results at each size: the formulas themselves are
checked in tests/layers/test_formulas.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnncalc
from cnncalc import conventions
from cnncalc.analyzers.cost import cost_metrics
from cnncalc.geometry import Window
from cnncalc.graph import Node
from cnncalc.layers import REGISTRY, LayerError, Ops
from conftest import spec_text

SIZES = [(8, 8), (9, 13), (16, 11), (23, 30)]
"""Odd, even, square and not: every sample below is valid at each."""
CHANNELS = 4

SAMPLES: dict[str, list[list[dict]]] = {
    "conv": [[{"type": "conv", "out": 6, "kernel": 3, "stride": 2, "padding": "same"}],
             [{"type": "conv", "out": 8, "kernel": [3, 2], "dilation": 2, "groups": 2, "padding": [1, 0, 2, 1],
               "bias": False, "activation": "relu"}]],
    "conv_transpose": [[{"type": "conv_transpose", "out": 3, "kernel": 3, "stride": 2, "padding": 1,
                         "output_padding": 1}]],
    "linear": [[{"type": "flatten"}, {"type": "linear", "out": 5}],
               [{"type": "global_avgpool"}, {"type": "linear", "out": 3, "bias": False}]],
    "maxpool": [[{"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}],
                [{"type": "maxpool", "kernel": 2, "padding": "same"}]],
    "avgpool": [[{"type": "avgpool", "kernel": [2, 3], "stride": 1}]],
    "adaptive_avgpool": [[{"type": "adaptive_avgpool", "output_size": [3, 2]}],
                         [{"type": "adaptive_avgpool", "output_size": 1}]],
    "adaptive_maxpool": [[{"type": "adaptive_maxpool", "output_size": 4}]],
    "global_avgpool": [[{"type": "global_avgpool"}]],
    "global_maxpool": [[{"type": "global_maxpool"}]],
    "batchnorm": [[{"type": "batchnorm"}]],
    "lrn": [[{"type": "lrn", "size": 3}]],
    "leaky_relu": [[{"type": "leaky_relu", "slope": 0.2}]],
    "dropout": [[{"type": "dropout"}]],
    "identity": [[{"type": "identity"}]],
    "flatten": [[{"type": "flatten"}]],
    "concat": [[{"name": "a", "type": "conv", "out": 2, "kernel": 1}, {"type": "concat", "inputs": ["input", "a"]}]],
    "add": [[{"name": "a", "type": "relu"}, {"type": "add", "inputs": ["input", "a", "a"]}]],
    "mul": [[{"name": "a", "type": "sigmoid"}, {"type": "mul", "inputs": ["input", "a"]}],
            [{"name": "g", "type": "global_avgpool"}, {"type": "mul", "inputs": ["g", "input"]}]],
    "split": [[{"type": "split", "sizes": [1, 3]}]],
    "channel_shuffle": [[{"type": "channel_shuffle", "groups": 2}]],
    "pad": [[{"type": "pad", "padding": [1, 2, 0, 3]}]],
    "squeeze_excitation": [[{"type": "squeeze_excitation", "squeeze": 2}],
                           [{"type": "squeeze_excitation", "squeeze": 3, "activation": "silu", "gate": "hardsigmoid",
                             "pool_call": "method", "activation_call": "functional"}]],
    "upsample": [[{"type": "upsample", "scale": [2, 3]}],
                 [{"type": "upsample", "size": [5, 7], "mode": "bilinear"}]],
    **{name: [[{"type": name}]] for name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish",
                                            "hardsigmoid", "softmax")},
}
"""Per layer type, specs (layer lists) whose last layer is of that type."""

CASES = [(name, k) for name in sorted(SAMPLES) for k in range(len(SAMPLES[name]))]


def test_every_layer_type_has_a_sample():
    missing = sorted(set(REGISTRY) - set(SAMPLES))
    assert not missing, f"no Dim sample for layer type(s) {missing}: add one to SAMPLES in tests/layers/test_dims.py"


def _nodes(layers: list[dict]) -> list[Node]:
    """The last layer's node at each size, from ordinary single analyses."""
    return [cnncalc.load(spec_text((CHANNELS, h, w), layers)).nodes[-1] for h, w in SIZES]


def _stack(values: list, dtype):
    """Per-size values (ints, tuples of them) into one value: an int where equal at every size, else an array."""
    first = values[0]
    if type(first) is tuple:
        return tuple(_stack([v[k] for v in values], dtype) for k in range(len(first)))
    if all(v == first for v in values):
        return first
    return np.array(values, dtype=dtype)


def _exact(value) -> bool:
    """An int, or an array of exact integers (int64, or Python ints in an object array)."""
    if type(value) is int:
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "i" or (value.dtype == object and all(type(v) is int for v in value))
    return False


def _at(value, j: int):
    """The `j`-th size's view of a result over arrays, in the plain form of a result over ints."""
    if value is None or type(value) in (int, bool, str):
        return value
    if isinstance(value, np.ndarray):
        assert _exact(value), f"not exact integers: {value!r} (dtype {value.dtype})"
        return int(value[j])
    if isinstance(value, tuple):
        return tuple(_at(v, j) for v in value)
    if isinstance(value, Ops):
        return tuple(_at(getattr(value, f), j) for f in ("mults", "adds", "comparisons", "activations", "macs"))
    if isinstance(value, Window):
        return (value.kernel, value.stride, value.dilation, _at(value.before, j), _at(value.after, j),
                value.ceil_mode)
    raise AssertionError(f"unexpected result type {type(value).__name__}: {value!r}")


def _plain(value):
    """A result over ints in the same plain form."""
    if isinstance(value, Ops):
        return (value.mults, value.adds, value.comparisons, value.activations, value.macs)
    if isinstance(value, Window):
        return (value.kernel, value.stride, value.dilation, value.before, value.after, value.ceil_mode)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


@pytest.mark.parametrize("dtype", ["int64", object])
@pytest.mark.parametrize("name,k", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_layer_rules_over_arrays_equal_each_size(name, k, dtype):
    nodes = _nodes(SAMPLES[name][k])
    layer = nodes[0].layer
    assert layer.type_name == name and all(n.layer == layer for n in nodes)
    inputs = _stack([n.input_shapes for n in nodes], dtype)
    outputs = layer.output_shapes(inputs)
    output = outputs[0]
    methods = {"output_shapes": (lambda ins, out: layer.output_shapes(ins)), "params": layer.params,
               "buffers": layer.buffers, "ops": layer.ops,
               "training_ops": (lambda ins, out: layer.training_ops(ins, out, 3)),
               "backward": (lambda ins, out: layer.backward(ins, out, (True,) * len(ins), 3)),
               "backward without input gradients": (lambda ins, out: layer.backward(ins, out, (False,) * len(ins), 2))}
    if layer.rf != "indexed":
        methods["rf_axes"] = layer.rf_axes
    else:  # int sizes only: over arrays, the declared LayerError that makes the sweep go size by size
        with pytest.raises(LayerError):
            layer.rf_axes(inputs, output)
    for method, call in methods.items():
        over_arrays = call(inputs, output)
        for j, node in enumerate(nodes):
            alone = call(node.input_shapes, node.output)
            assert _at(over_arrays, j) == _plain(alone), (f"{name}.{method} over arrays differs at size "
                                                          f"{SIZES[j]}: {over_arrays!r} vs {alone!r}")


@pytest.mark.parametrize("convention", conventions.NAMES)
@pytest.mark.parametrize("name,k", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_metrics_over_arrays_equal_each_size(name, k, convention):
    nodes = _nodes(SAMPLES[name][k])
    first = nodes[0]
    view = Node(first.index, first.name, first.layer, first.inputs, _stack([n.input_shapes for n in nodes], object),
                _stack([n.outputs for n in nodes], object), first.entry)
    for metric in cost_metrics(convention):
        over_arrays = metric.measure(view)
        for j, node in enumerate(nodes):
            assert _at(tuple(over_arrays), j) == tuple(metric.measure(node)), (
                f"metric {metric.name} ({convention}) on {name} over arrays differs at size {SIZES[j]}")
