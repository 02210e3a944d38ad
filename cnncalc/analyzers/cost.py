"""The one cost pipeline: which metrics a convention uses, one row of values per layer, and the totals.

    metrics = cost_metrics("cnncalc")
    rows = [measure(metrics, node) for node in graph.layers]
    totals(metrics, rows)     # {column: sum, ..., extra total: value, ...}

`cnncalc cost`, `--group-by`, `compare`, the `--convention` presets and the sweeps over input sizes all count
through these functions. In a sweep the nodes carry numpy arrays of sizes (see `cnncalc.layers.base`), and the
values and totals are then arrays with one element per input size; everything here works on both.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterable, Iterator, Sequence

from .. import conventions
from ..errors import SpecError
from ..graph import Node
from ..layers.base import Dim
from . import METRICS
from .base import Metric, Step


def cost_metrics(convention: str = conventions.DEFAULT, step: Step | None = None) -> list[Metric]:
    """The registered metrics, in column order; under a tool's convention its figure replaces the `ops` metric (as
    the column `macs`), and every other metric stays. With a training `step` (cnncalc convention only; resolved
    with `Step.on(graph)` before measuring), each metric counts as its `training` says, and the training-only
    metrics join."""
    preset = conventions.get(convention)
    if step is not None:
        if preset is not None:
            raise SpecError(f"--training counts by the cnncalc convention; {preset.name} reports no backward pass",
                            hint="leave out --convention")
        chosen = [metric.training(step) if metric.training else metric for metric in METRICS.values()]
        return [metric for metric in chosen if metric is not None]
    if preset is None:
        return [metric for metric in METRICS.values() if not metric.training_only]

    def figure(node: Node) -> tuple[Dim]:
        count = preset.count(node)  # None: no rule for the layer type, a diagnostic says so
        return (0 if count is None else count,)

    tool = Metric(preset.name, ("macs",), (f"{preset.name} MACs",), preset.figure, figure)
    return [tool if metric.name == "ops" else metric for metric in METRICS.values() if not metric.training_only]


def columns(metrics: Sequence[Metric]) -> list[str]:
    """The per-layer columns of `metrics`, in order."""
    return [c for metric in metrics for c in metric.columns]


def total_keys(metrics: Sequence[Metric]) -> list[str]:
    """The keys of `totals`: every column, then every extra total."""
    return columns(metrics) + [extra.key for metric in metrics for extra in metric.extra_totals]


def measure(metrics: Sequence[Metric], node: Node) -> tuple[Dim, ...]:
    """One layer's row: the values of every metric, in column order."""
    values: tuple[Dim, ...] = ()
    for metric in metrics:
        values += metric.measure(node)
    return values


def totals(metrics: Sequence[Metric], rows: Iterable[Sequence[Dim]], batch: int = 1 << 16) -> dict[str, Dim]:
    """The sums of the columns of `rows` (each in `columns(metrics)` order), then every extra total.

    `rows` may be a generator: it is read `batch` rows at a time (a sweep, whose rows are arrays, passes 1)."""
    names = columns(metrics)
    extras = []
    start = 0
    for metric in metrics:
        for extra in metric.extra_totals:
            extras.append((extra, start + metric.columns.index(extra.column)))
        start += len(metric.columns)
    sums: list[Dim] = [0] * len(names)
    found: list[Dim | None] = [None] * len(extras)
    for chunk in _batches(rows, batch):
        by_column = list(zip(*chunk))
        for k, values in enumerate(by_column):
            sums[k] = sums[k] + sum(values)
        for e, (extra, k) in enumerate(extras):
            part = extra.reduce(by_column[k])
            previous = found[e]
            found[e] = part if previous is None else extra.reduce((previous, part))
    result = dict(zip(names, sums))
    result.update((extra.key, 0 if value is None else value) for (extra, _), value in zip(extras, found))
    return result


def _batches(rows: Iterable[Sequence[Dim]], size: int) -> Iterator[list[Sequence[Dim]]]:
    if isinstance(rows, list) and len(rows) <= size:
        if rows:
            yield rows
        return
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk
