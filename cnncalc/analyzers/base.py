"""The protocol every cost metric follows."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

from ..geometry import maximum
from ..graph import Node
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
