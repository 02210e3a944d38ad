"""The protocol every cost metric follows."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ..geometry import maximum
from ..graph import Graph, Node
from ..layers.base import Dim


def peak(values: Sequence[Dim]) -> Dim:
    """The largest value (0 for none); elementwise over per-size arrays (a sweep). Associative, as `ExtraTotal`
    asks."""
    if all(type(v) is int for v in values):
        return max(values, default=0)
    return functools.reduce(maximum, values)


@dataclass(frozen=True)
class ExtraTotal:
    """A total beyond the column sums: `reduce` applied to the values of one of the metric's columns over the
    layers, in layer order.

    `reduce` takes a non-empty sequence of values, each an int or, in a sweep, a numpy array with one value per input
    size (ints and arrays mixed), and returns one such value, elementwise over the sizes. It must be associative
    (max, min, a sum): a sweep applies it to the running result and the next layer's value. No layers: 0."""

    key: str
    """The JSON key in `totals` (and in a sweep row)."""
    title: str
    """How tables name it."""
    column: str
    """The metric's column it reduces."""
    reduce: Callable[[Sequence[Dim]], Dim]


@dataclass(frozen=True)
class Step:
    """One training step (`cnncalc cost --training`): the forward pass in training mode and the backward pass over
    `batch` images, and the update of `optimizer` (a key of `analyzers.optimizer.OPTIMIZERS`, or None).

    `on(graph)` adds what the backward pass needs to know of the whole graph: which layer outputs carry a gradient
    (those that depend on a parameter; the network input does not) and how many layers read each output."""

    batch: int = 1
    optimizer: str | None = None
    no_grad: frozenset[int] | None = None
    """Indices of the nodes whose output needs no gradient (node 0, the network input, and every node that depends
    on no parameter); None until `on(graph)`."""
    readers: Mapping[tuple[int, int], int] | None = None
    """(node index, output index) -> the number of layers that read it."""

    def on(self, graph: Graph) -> "Step":
        no_grad = {0}
        readers: dict[tuple[int, int], int] = {}
        for node in graph.layers:
            for ref in node.inputs:
                readers[ref] = readers.get(ref, 0) + 1
            upstream = any(i not in no_grad for i, _ in node.inputs)
            if not upstream and not node.layer.params(node.input_shapes, node.output):
                no_grad.add(node.index)
        return Step(self.batch, self.optimizer, frozenset(no_grad), readers)


@dataclass(frozen=True)
class Metric:
    """A per-layer measurement: `measure(node)` returns one exact integer per column.

    In a sweep over input sizes (`cnncalc.sweep`) the node's H and W are numpy arrays of sizes (see
    `cnncalc.layers.base`): `measure` must then return, elementwise, what it returns for each size alone (ints
    where a value does not depend on the size), and grow with the input size (a sweep computes in int64 only when
    the values at the largest size are far below 2**63)."""

    name: str
    columns: tuple[str, ...]
    """JSON keys of the values, in order."""
    titles: tuple[str, ...]
    """Table headings, in the same order."""
    doc: str
    """The convention the metric counts by."""
    measure: Callable[[Node], tuple[Dim, ...]]
    extra_totals: tuple[ExtraTotal, ...] = ()
    """Totals beyond the column sums (which every column gets), each from one column of this metric."""
    training: Callable[[Step], "Metric | None"] | None = None
    """How the metric counts one training step (`--training`): the metric with the same columns to measure it with
    (per-image counts over the step's batch), or None to leave the metric out. Not given: the metric counts the same
    in training (per-model values, such as parameters)."""
    training_only: bool = False
    """Counted only in a training step, as its `training` gives it; its own `measure` is never called."""
