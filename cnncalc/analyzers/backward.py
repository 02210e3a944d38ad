"""The backward pass of one training step (`cnncalc cost --training`), by each layer type's `backward` rule and the
backward convention of `cnncalc.layers.base`.

Per layer: `backward_mults`, `backward_adds`, `backward_activations` (derivative evaluations), `backward_macs` (the
mults of conv, conv_transpose and linear: gradient w.r.t. the input plus w.r.t. the weights) and `training_macs`
(the forward MACs of the step plus `backward_macs`). A layer's input gradient is computed only where that input
depends on a parameter (`Step.no_grad`); a layer output read by k > 1 layers sums their gradients, k-1 adds per
element, counted in that layer's row.
"""

from __future__ import annotations

from ..errors import SpecError
from ..graph import Node
from ..layers import Dim, numel
from .base import Metric, Step


def backward_counts(node: Node, step: Step) -> tuple[Dim, Dim, Dim, Dim, Dim]:
    """(backward_mults, backward_adds, backward_activations, backward_macs, training_macs) of `node` in `step`
    (resolved on the node's graph with `Step.on`)."""
    if step.no_grad is None or step.readers is None:
        raise RuntimeError("the training step is not resolved on the graph: call step.on(graph) first")
    layer = node.layer
    if not layer.states_backward():
        raise SpecError(f"--training: layer type {node.type!r} (layer {node.name!r}) states no backward rule",
                        hint="a layer type gives its backward pass as the method `backward` (see cnncalc.layers.base)")
    grads = tuple(i not in step.no_grad for i, _ in node.inputs)
    ops = layer.backward(node.input_shapes, node.output, grads, step.batch)
    adds = ops.adds
    if node.index not in step.no_grad:
        for k, shape in enumerate(node.outputs):
            readers = step.readers.get((node.index, k), 0)
            if readers > 1:
                adds = adds + (readers - 1) * step.batch * numel(shape)
    forward = layer.training_ops(node.input_shapes, node.output, step.batch).macs
    return ops.mults, adds, ops.activations, ops.macs, forward + ops.macs


_COLUMNS = ("backward_mults", "backward_adds", "backward_activations", "backward_macs", "training_macs")
_TITLES = ("bwd mults", "bwd adds", "bwd activations", "bwd MACs", "training MACs")
_DOC = ("backward_mults, backward_adds, backward_activations (derivative evaluations): the backward pass of one "
        "training step by the backward convention; backward_macs: the mults of conv, conv_transpose and linear in "
        "it (input and weight gradients); training_macs: forward MACs + backward_macs")


def _training(step: Step) -> Metric:
    return Metric("backward", _COLUMNS, _TITLES, _DOC, lambda node: backward_counts(node, step))


def _untrained(node: Node) -> tuple[Dim, ...]:
    raise RuntimeError("the backward metric counts only in a training step (cost_metrics(..., step))")


BACKWARD = Metric("backward", _COLUMNS, _TITLES, _DOC, _untrained, training=_training, training_only=True)
