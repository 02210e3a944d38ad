"""Operation counts of one inference on one image, by the layers' own rules (convention "cnncalc")."""

from __future__ import annotations

from ..graph import Node
from ..layers import Dim
from .base import Metric


def _measure(node: Node) -> tuple[Dim, Dim, Dim, Dim, Dim]:
    ops = node.layer.ops(node.input_shapes, node.output)
    return ops.mults, ops.adds, ops.comparisons, ops.activations, ops.macs


OPS = Metric("ops", ("mults", "adds", "comparisons", "activations", "macs"),
             ("mults", "adds", "comparisons", "activations", "MACs"),
             "mults, adds and comparisons of two values counted one each; activations: non-linear function "
             "evaluations; MACs: the mults of conv and linear layers", _measure)
