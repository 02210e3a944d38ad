"""Analyzers: one module per metric, each a `Metric` in `METRICS` (cost columns) or the receptive-field analyzer.

A cost metric maps one graph node to a tuple of exact integers, one per column; `cost` runs every registered metric
over every node, so adding a metric is adding one module and one `register_metric` call (a plug-in calls it too).
"""

from __future__ import annotations

from .base import Metric
from .memory import MEMORY
from .ops import OPS
from .params import PARAMS

METRICS: dict[str, Metric] = {}
"""Metric name -> metric, in column order."""


def register_metric(metric: Metric) -> Metric:
    """Add a cost metric; its columns (and extra totals) must not clash with those of the registered ones."""
    if metric.name in METRICS:
        raise RuntimeError(f"metric {metric.name!r} registered twice")
    taken = {c for m in METRICS.values() for c in m.columns}
    clash = taken.intersection(metric.columns)
    if clash:
        raise RuntimeError(f"metric {metric.name!r}: column {sorted(clash)[0]!r} belongs to another metric")
    METRICS[metric.name] = metric
    return metric


for _metric in (PARAMS, OPS, MEMORY):
    register_metric(_metric)

__all__ = ["METRICS", "Metric", "register_metric"]
