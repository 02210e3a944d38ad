"""A layer type cannot be half-done: it states its receptive-field rule (checked when it is registered), and the
brute-force references in tests/brute/ know every registered type or name, with a reason, the check that stands in.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Sequence

import pytest

from cnncalc.geometry import Window
from cnncalc.layers import GLOBAL, REGISTRY, RF_RULES, Layer, Shape, register

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from brute import geom, ops, rf  # noqa: E402

BRUTE_RF = {**{t: {"window"} for t in geom.SPATIAL_WINDOW}, **{t: {"identity"} for t in geom.IDENTITY},
            **{t: {"global"} for t in geom.GLOBAL}, **{t: {"indexed"} for t in geom.ADAPTIVE | geom.RESAMPLE},
            **{t: {"identity", "window"} for t in geom.MERGE}}
"""Layer type -> the rules cnncalc may state for it, from the brute force's own classes (mul: the identity, or
global where an input is broadcast, hence a "window" rule of its own)."""

RF_EXEMPT = {
    "lrn": "a window across channels only, spatially the identity; shapes and counts by formula in "
           "tests/layers/test_formulas.py",
    "channel_shuffle": "moves channels only, spatially the identity; formula case in tests/layers/test_formulas.py",
    "split": "several outputs (S.0, S.1), which the brute-force spec walker does not address; spatially the "
             "identity; its outputs are checked in tests/layers/test_formulas.py",
}
OPS_EXEMPT = {
    "upsample": "receptive field in the brute force (RESAMPLE); counts (0 nearest, 4 mults + 3 adds per output "
                "element bilinear) by formula in tests/layers/test_formulas.py",
    "conv_transpose": "receptive field in the brute force (RESAMPLE); counts by formula in "
                      "tests/layers/test_formulas.py and against fvcore/ptflops on unet_small (tests/test_zoo.py)",
    "lrn": "counts by formula in tests/layers/test_formulas.py and against ptflops on alexnet and googlenet",
    "split": "counts nothing; see RF_EXEMPT",
    "channel_shuffle": "counts nothing; formula case in tests/layers/test_formulas.py",
}


def test_every_layer_type_states_a_known_rule():
    for name, cls in REGISTRY.items():
        assert cls.rf in RF_RULES, name


def test_the_brute_force_knows_every_layer_type_or_says_why_not():
    no_rf = sorted(set(REGISTRY) - set(BRUTE_RF) - set(RF_EXEMPT))
    no_ops = sorted(set(REGISTRY) - ops.COUNTED - set(OPS_EXEMPT))
    assert not no_rf, (f"layer type(s) {no_rf}: no receptive-field rule in tests/brute/rf.py (add the type to a class "
                       "in tests/brute/geom.py, or to RF_EXEMPT here with a reason)")
    assert not no_ops, (f"layer type(s) {no_ops}: no counting loop in tests/brute/ops.py (add one and the type to "
                        "ops.COUNTED, or to OPS_EXEMPT here with a reason)")
    stale = sorted((set(RF_EXEMPT) | set(OPS_EXEMPT)) - set(REGISTRY))
    assert not stale, f"exemptions for types that are not registered: {stale}"


def test_the_brute_force_classes_agree_with_the_stated_rules():
    wrong = {name: (cls.rf, sorted(BRUTE_RF[name])) for name, cls in REGISTRY.items()
             if name in BRUTE_RF and cls.rf not in BRUTE_RF[name]}
    assert not wrong, f"stated rule vs the brute force's class: {wrong}"


_ENTRY = {"conv": {"out": 1, "kernel": 1}, "linear": {"out": 1}, "maxpool": {"kernel": 1}, "avgpool": {"kernel": 1},
          "pad": {"padding": 1}, "adaptive_avgpool": {"output_size": 1}, "adaptive_maxpool": {"output_size": 1},
          "upsample": {"scale": 2}, "conv_transpose": {"out": 1, "kernel": 2, "stride": 2},
          "squeeze_excitation": {"squeeze": 1},
          **{t: {"inputs": ["input", "input"]} for t in geom.MERGE}}


@pytest.mark.parametrize("name", sorted(set(BRUTE_RF) | ops.COUNTED))
def test_the_brute_force_runs_each_type_it_claims(name):
    spec = {"input": [1, 2, 2], "layers": [{"name": "x", "type": name, **_ENTRY.get(name, {})}]}
    if name in BRUTE_RF:
        rf.forward_deps(spec)
    if name in ops.COUNTED:
        assert ops.run(spec)[-1]["type"] == name


# ------------------------------------------------------------------------------------- checked at registration

def _layer_class(rule: str | None, own_rf_axes: bool) -> type[Layer]:
    body: dict = {"type_name": "probe_unregistered", "__annotations__": {}}
    if rule is not None:
        body["rf"] = rule
    if own_rf_axes:
        def rf_axes(self, inputs: Sequence[Shape], output: Shape):
            return GLOBAL if len(output) == 1 else (Window(1, 1, 1, 0, 0), Window(1, 1, 1, 0, 0))
        body["rf_axes"] = rf_axes
    return dataclass(frozen=True)(type("Probe", (Layer,), body))


@pytest.mark.parametrize("rule,own,message", [
    (None, False, "must state its receptive-field rule"),
    (None, True, "must state its receptive-field rule"),
    ("sliding", True, "got 'sliding'"),
    ("window", False, "with rf = 'window' must override `rf_axes`"),
    ("indexed", False, "with rf = 'indexed' must override `rf_axes`"),
    ("identity", True, "with rf = 'identity' must not override `rf_axes`"),
    ("global", True, "with rf = 'global' must not override `rf_axes`"),
])
def test_register_refuses_a_layer_type_without_a_clear_rule(rule, own, message):
    cls = _layer_class(rule, own)
    with pytest.raises(TypeError, match=message) as caught:
        register(cls)
    assert "'probe_unregistered' (Probe)" in str(caught.value)
    assert "probe_unregistered" not in REGISTRY


@pytest.mark.parametrize("rule,own", [("identity", False), ("global", False), ("window", True)])
def test_register_takes_a_stated_rule(rule, own):
    cls = _layer_class(rule, own)
    try:
        assert register(cls) is cls and REGISTRY["probe_unregistered"] is cls
        expected = {"identity": (Window(1, 1, 1, 0, 0),) * 2, "global": GLOBAL, "window": (Window(1, 1, 1, 0, 0),) * 2}
        assert cls().rf_axes([(1, 2, 2)], (1, 2, 2)) == expected[rule]
    finally:
        REGISTRY.pop("probe_unregistered", None)
