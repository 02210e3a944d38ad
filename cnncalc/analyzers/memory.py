"""Activation memory: how many values each layer's output holds."""

from __future__ import annotations

from ..graph import Node
from ..layers import Dim, numel
from .base import ExtraTotal, Metric, peak


def _measure(node: Node) -> tuple[Dim]:
    total: Dim = 0
    for shape in node.outputs:
        total = total + numel(shape)
    return (total,)


MEMORY = Metric("memory", ("activation_elements",), ("output elems",),
                "activation_elements: values in the layer's output (multiply by the bytes per value); "
                "peak_activation_elements: the largest single output", _measure,
                extra_totals=(ExtraTotal("peak_activation_elements", "largest output", "activation_elements", peak),))
