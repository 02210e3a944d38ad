"""Analyzers: one module per metric, each a `Metric` in `METRICS` (cost columns) or the receptive-field analyzer.

A cost metric maps one graph node to a tuple of exact integers, one per column; `cost` runs every registered metric
over every node, so adding a metric is adding one module and one line here.
"""

from __future__ import annotations

from .base import Metric
from .memory import MEMORY
from .ops import OPS
from .params import PARAMS

METRICS: dict[str, Metric] = {m.name: m for m in (PARAMS, OPS, MEMORY)}

__all__ = ["METRICS", "Metric"]
