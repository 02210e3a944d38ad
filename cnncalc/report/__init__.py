"""Reports: the versioned JSON documents (`model`), their JSON writer and their rich tables."""

from .model import SCHEMA_VERSION, compare_report, cost_report, group_report, rf_report

__all__ = ["SCHEMA_VERSION", "compare_report", "cost_report", "group_report", "rf_report"]
