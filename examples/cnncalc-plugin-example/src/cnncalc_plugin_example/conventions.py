"""FLOPs as twice the MACs of conv, transposed conv and linear layers (one multiply and one add per MAC, bias
not counted), the figure many papers print as "FLOPs"; every other layer counts 0.

An example of a convention plug-in: `cnncalc cost SPEC --convention twice_macs`."""

from __future__ import annotations

from cnncalc.plugins import REGISTRY, Convention, Rule, zero


def _twice_macs(node) -> int:
    return 2 * node.layer.ops(node.input_shapes, node.output).macs


_COUNTED = {"conv": Rule("2 per MAC: 2 * out elements * (C_in/groups)*kh*kw", _twice_macs),
            "conv_transpose": Rule("2 per MAC: 2 * in elements * (C_out/groups)*kh*kw", _twice_macs),
            "linear": Rule("2 per MAC: 2 * in features * out features", _twice_macs)}

TWICE_MACS = Convention(
    "twice_macs", "2 x the MACs of conv and linear layers (papers' \"FLOPs\")",
    {**{t: zero("not counted: only conv and linear") for t in (*REGISTRY, "instancenorm")}, **_COUNTED},
    statement=__doc__.strip())
