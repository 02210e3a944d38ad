"""Analyzers: one module per metric, each a `Metric` in `METRICS` (cost columns) or the receptive-field analyzer.

A cost metric maps one graph node to a tuple of exact integers, one per column; `cost` runs every registered metric
over every node, so adding a metric is adding one module and one `register_metric` call (a plug-in calls it too).
"""

from __future__ import annotations

from .backward import BACKWARD
from .base import ExtraTotal, Metric, Step, peak
from .memory import MEMORY
from .ops import OPS
from .optimizer import OPTIMIZER
from .params import PARAMS

METRICS: dict[str, Metric] = {}
"""Metric name -> metric, in column order."""


def register_metric(metric: Metric) -> Metric:
    """Add a cost metric; its columns and extra totals must not clash with those of the registered ones, and each
    extra total reduces one of its own columns."""
    if metric.name in METRICS:
        raise RuntimeError(f"metric {metric.name!r} registered twice")
    if len(metric.titles) != len(metric.columns):
        raise RuntimeError(f"metric {metric.name!r}: {len(metric.columns)} columns but {len(metric.titles)} titles")
    for extra in metric.extra_totals:
        if extra.column not in metric.columns:
            raise RuntimeError(f"metric {metric.name!r}: extra total {extra.key!r} reduces {extra.column!r}, which "
                               f"is not one of its columns {metric.columns}")
    keys = [*metric.columns, *(extra.key for extra in metric.extra_totals)]
    taken = {k for m in METRICS.values() for k in (*m.columns, *(extra.key for extra in m.extra_totals))}
    clash = taken.intersection(keys) or {k for k in keys if keys.count(k) > 1}
    if clash:
        raise RuntimeError(f"metric {metric.name!r}: the key {sorted(clash)[0]!r} is taken (a column or an extra "
                           "total of another metric, or twice its own)")
    METRICS[metric.name] = metric
    return metric


for _metric in (PARAMS, OPS, MEMORY, BACKWARD, OPTIMIZER):
    register_metric(_metric)

__all__ = ["METRICS", "ExtraTotal", "Metric", "Step", "peak", "register_metric"]
