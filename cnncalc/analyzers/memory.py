"""Activation memory: how many values each layer's output holds."""

from __future__ import annotations

from ..graph import Node
from ..layers import Dim, numel
from .base import ExtraTotal, Metric, Step, peak


def _measure(node: Node) -> tuple[Dim]:
    total: Dim = 0
    for shape in node.outputs:
        total = total + numel(shape)
    return (total,)


_PEAK = (ExtraTotal("peak_activation_elements", "largest output", "activation_elements", peak),)
_DOC = ("activation_elements: values in the layer's output (multiply by the bytes per value); "
        "peak_activation_elements: the largest single output")


def _training(step: Step) -> Metric:
    """Over a batch: the batch times the values of one image."""
    return Metric("memory", ("activation_elements",), ("output elems",), _DOC + " (over the batch in training)",
                  lambda node: (_measure(node)[0] * step.batch,), extra_totals=_PEAK)


MEMORY = Metric("memory", ("activation_elements",), ("output elems",), _DOC, _measure, extra_totals=_PEAK,
                training=_training)
