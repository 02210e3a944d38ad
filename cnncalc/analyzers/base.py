"""The protocol every cost metric follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..graph import Node


@dataclass(frozen=True)
class Metric:
    """A per-layer measurement: `measure(node)` returns one exact integer per column."""

    name: str
    columns: tuple[str, ...]
    """JSON keys of the values, in order."""
    titles: tuple[str, ...]
    """Table headings, in the same order."""
    doc: str
    """The convention the metric counts by."""
    measure: Callable[[Node], tuple[int, ...]]
    extra_totals: Callable[[list[tuple[int, ...]]], dict[str, int]] | None = None
    """Totals beyond the column sums (which every column gets), from the rows of this metric."""
