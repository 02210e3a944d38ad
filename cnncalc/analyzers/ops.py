"""Operation counts of one inference on one image, by the layers' own rules (convention "cnncalc")."""

from __future__ import annotations

from ..graph import Node
from ..layers import Dim
from .base import Metric, Step


def _measure(node: Node) -> tuple[Dim, Dim, Dim, Dim, Dim]:
    ops = node.layer.ops(node.input_shapes, node.output)
    return ops.mults, ops.adds, ops.comparisons, ops.activations, ops.macs


_COLUMNS = ("mults", "adds", "comparisons", "activations", "macs")
_TITLES = ("mults", "adds", "comparisons", "activations", "MACs")


def _training(step: Step) -> Metric:
    """The forward pass of a training step: the layers' `training_ops` over the batch."""
    def measure(node: Node) -> tuple[Dim, Dim, Dim, Dim, Dim]:
        ops = node.layer.training_ops(node.input_shapes, node.output, step.batch)
        return ops.mults, ops.adds, ops.comparisons, ops.activations, ops.macs
    return Metric("ops", _COLUMNS, _TITLES, OPS.doc + "; in a training step, the forward pass in training mode over "
                  "the batch (batchnorm's batch statistics, dropout's mask)", measure)


OPS = Metric("ops", _COLUMNS, _TITLES,
             "mults, adds and comparisons of two values counted one each; activations: non-linear function "
             "evaluations; MACs: the mults of conv and linear layers", _measure, training=_training)
