"""`squeeze_excitation` against the six layers it stands for, under every convention, and by formula."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.conventions import NAMES
from cnncalc.sweep import cost_sweep, load_for_sweep
from conftest import spec_text

C, H, W, S = 16, 7, 9, 4
STEM = [{"name": "stem", "type": "conv", "out": C, "kernel": 3, "padding": 1}]


def six(activation="relu", gate="sigmoid", pool_call=None, activation_call=None) -> list[dict]:
    """torchvision's SqueezeExcitation written out, with the `call:` marks of the given forms."""
    pool = {"name": "se_pool", "type": "adaptive_avgpool", "output_size": 1}
    if pool_call == "method":  # x.mean((2, 3), keepdim=True): the global average
        pool = {"name": "se_pool", "type": "global_avgpool"}
    act = {"name": "se_act", "type": activation}
    if pool_call:
        pool["call"] = pool_call
    if activation_call:
        act["call"] = activation_call
    return [pool, {"name": "se_fc1", "type": "conv", "out": S, "kernel": 1}, act,
            {"name": "se_fc2", "type": "conv", "out": C, "kernel": 1}, {"name": "se_gate", "type": gate},
            {"name": "se_mul", "type": "mul", "inputs": ["stem", "se_gate"]}]


def one(**attrs) -> list[dict]:
    return [{"name": "se", "type": "squeeze_excitation", "squeeze": S, **attrs}]


VARIANTS = [
    ({}, {}),
    ({"activation": "silu", "gate": "hardsigmoid"}, {"activation": "silu", "gate": "hardsigmoid"}),
    ({"pool_call": "functional", "activation_call": "functional"},
     {"pool_call": "functional", "activation_call": "functional"}),
    ({"pool_call": "method", "activation": "gelu"}, {"pool_call": "method", "activation": "gelu"}),
]


def _totals(layers: list[dict], convention: str) -> dict:
    graph = cnncalc.load(spec_text((3, H, W), STEM + layers))
    return cnncalc.cost_report(graph, convention)["totals"]


@pytest.mark.parametrize("convention", NAMES)
@pytest.mark.parametrize("attrs, forms", VARIANTS)
def test_one_entry_counts_as_its_six_layers(convention, attrs, forms):
    expanded = _totals(six(**forms), convention)
    single = _totals(one(**attrs), convention)
    for key in ("params", "buffers", "mults", "adds", "comparisons", "activations", "macs"):
        if key in expanded:
            assert single[key] == expanded[key], key


def test_counts_by_formula():
    graph = cnncalc.load(spec_text((3, H, W), STEM + one()))
    row = cnncalc.cost_report(graph)["layers"][-1]
    assert row["params"] == C * S + S + S * C + C
    # average: H*W-1 adds per channel and 1 mult; convs: C*S and S*C mults, as many adds (bias); product: C*H*W
    assert row["mults"] == C + C * S + S * C + C * H * W
    assert row["adds"] == C * (H * W - 1) + C * S + S * C
    assert row["activations"] == S + C
    assert row["macs"] == 2 * C * S


def test_tool_figures_by_formula():
    def macs(convention, **attrs):
        graph = cnncalc.load(spec_text((3, H, W), STEM + one(**attrs)))
        return cnncalc.cost_report(graph, convention)["layers"][-1]["macs"]
    assert macs("torchvision") == 2 * C * S
    assert macs("fvcore") == 2 * C * S + C * H * W
    assert macs("fvcore", pool_call="method") == 2 * C * S
    # ptflops: nn.AdaptiveAvgPool2d hooked and patched (2 per input element), convs with bias, nn.ReLU twice
    assert macs("ptflops") == 2 * C * H * W + (C * S + S) + (S * C + C) + 2 * S
    assert macs("ptflops", activation="silu", pool_call="functional") == C * H * W + 2 * C * S + S + C + S


def test_receptive_field_is_global_like_the_six_layers():
    for layers in (six(), one()):
        doc = cnncalc.rf_report(cnncalc.load(spec_text((3, H, W), STEM + layers)))
        assert doc["layers"][-1]["global"] is True


def test_sweep_counts_as_the_six_layers():
    sizes = [(7, 9), (32, 32), (5, 64)]
    rows = []
    for layers in (six(), one()):
        text = spec_text((3, H, W), STEM + layers)
        rows.append([{k: v for k, v in row.items() if k not in ("activation_elements", "peak_activation_elements")}
                     for row in cost_sweep(load_for_sweep(text, "x.yaml", sizes), sizes)["sweep"]])
    assert rows[0] == rows[1]


def test_needs_a_feature_map():
    with pytest.raises(cnncalc.SpecError, match="squeeze_excitation needs a C x H x W input"):
        cnncalc.load(spec_text((8,), one()))


def test_call_is_refused_for_the_parts_have_their_own():
    with pytest.raises(cnncalc.SpecError, match="`call` does not say which part of squeeze_excitation") as info:
        cnncalc.load(spec_text((3, H, W), STEM + [{"type": "squeeze_excitation", "squeeze": 2, "call": "module"}]))
    assert info.value.hint == "use `pool_call` and `activation_call`"


@pytest.mark.parametrize("shape, squeeze", [((4, 3, 5), 2), ((6, 1, 1), 3), ((3, 4, 4), 5)])
def test_counts_against_the_brute_force(shape, squeeze):
    """tests/brute runs the six operations on counting numbers; no code shared with cnncalc."""
    from brute import ops

    spec = {"input": list(shape), "layers": [{"name": "se", "type": "squeeze_excitation", "squeeze": squeeze,
                                              "inputs": ["input"]}]}
    expected = ops.run(spec)[-1]
    row = cnncalc.cost_report(cnncalc.load(spec_text(shape, [{"name": "se", "type": "squeeze_excitation",
                                                                "squeeze": squeeze}])))["layers"][-1]
    assert {k: row[k] for k in ("mults", "adds", "comparisons", "activations", "params")} == \
        {k: expected[k] for k in ("mults", "adds", "comparisons", "activations", "params")}
    assert row["output"] == expected["output"]
