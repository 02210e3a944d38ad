"""Activation memory: how many values each layer's output holds."""

from __future__ import annotations

from ..graph import Node
from ..layers import numel
from .base import ExtraTotal, Metric, peak


def _measure(node: Node) -> tuple[int]:
    return (sum(numel(shape) for shape in node.outputs),)


MEMORY = Metric("memory", ("activation_elements",), ("output elems",),
                "activation_elements: values in the layer's output (multiply by the bytes per value); "
                "peak_activation_elements: the largest single output", _measure,
                extra_totals=(ExtraTotal("peak_activation_elements", "largest output", "activation_elements", peak),))
