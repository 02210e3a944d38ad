"""The cost pipeline (cnncalc/analyzers/cost.py) and the metric registry: column sums and extra totals over ints and
over per-size arrays alike, read in batches or all at once; a convention replaces only the ops metric; and
register_metric refuses what would make a column ambiguous."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from cnncalc import conventions
from cnncalc.analyzers import METRICS, ExtraTotal, Metric, peak, register_metric
from cnncalc.analyzers.cost import columns, cost_metrics, total_keys, totals
from cnncalc.geometry import minimum

LOW = Metric("low", ("a", "b"), ("A", "B"), "test", lambda node: (0, 0),
             extra_totals=(ExtraTotal("most_b", "most b", "b", peak),
                           ExtraTotal("least_a", "least a", "a", lambda values: reduce(minimum, values))))
HIGH = Metric("high", ("c",), ("C",), "test", lambda node: (0,),
              extra_totals=(ExtraTotal("peak_c", "peak c", "c", peak),))
ROWS = [(3, 7, 1), (5, 2, 9), (1, 4, 4), (8, 8, 0)]


@pytest.mark.parametrize("batch", [1, 2, 3, 1 << 16])
def test_totals_of_ints(batch):
    got = totals([LOW, HIGH], iter(ROWS), batch=batch)
    assert got == {"a": 3 + 5 + 1 + 8, "b": 7 + 2 + 4 + 8, "c": 1 + 9 + 4 + 0, "most_b": 8, "least_a": 1, "peak_c": 9}
    assert list(got) == total_keys([LOW, HIGH]) == ["a", "b", "c", "most_b", "least_a", "peak_c"]
    assert all(type(v) is int for v in got.values())


@pytest.mark.parametrize("dtype", ["int64", object])
@pytest.mark.parametrize("batch", [1, 3, 1 << 16])
def test_totals_over_arrays_equal_each_size(dtype, batch):
    """Three input sizes: each row's values are ints where they do not depend on the size, arrays where they do."""
    sizes = [2, 10 ** 3, 7]
    def row(k: int):  # noqa: E306
        a = np.array([k * s for s in sizes], dtype=dtype)
        return (a, k + 1, np.array([(k - 2) ** 2 * s for s in sizes], dtype=dtype))
    rows = [row(k) for k in range(5)]
    got = totals([LOW, HIGH], (r for r in rows), batch=batch)
    for j, s in enumerate(sizes):
        alone = [(k * s, k + 1, (k - 2) ** 2 * s) for k in range(5)]
        expected = totals([LOW, HIGH], alone)
        assert {key: (v if type(v) is int else int(v[j])) for key, v in got.items()} == expected


def test_no_layers_gives_zeros():
    assert totals([LOW, HIGH], []) == dict.fromkeys(["a", "b", "c", "most_b", "least_a", "peak_c"], 0)


def test_peak():
    assert peak([4, 9, 2]) == 9
    mixed = peak([np.array([1, 50], dtype=object), 7, np.array([3, 2], dtype=object)])
    assert [int(v) for v in mixed] == [7, 50]
    big = 1 << 80
    assert int(peak([np.array([big, 1], dtype=object), np.array([2, big + 1], dtype=object)])[1]) == big + 1


@pytest.mark.parametrize("name", conventions.NAMES[1:])
def test_a_convention_replaces_only_the_ops_metric(name):
    metrics = cost_metrics(name)
    assert [m.name for m in metrics] == [name if m.name == "ops" else m.name for m in METRICS.values()
                                        if not m.training_only]
    assert columns(metrics) == [c for m in METRICS.values() if not m.training_only
                                for c in (("macs",) if m.name == "ops" else m.columns)]


def test_register_metric_refuses_ambiguous_keys():
    before = dict(METRICS)
    bad = [
        (Metric("params", ("x",), ("x",), "", LOW.measure), "registered twice"),
        (Metric("m", ("x", "y"), ("x",), "", LOW.measure), "2 columns but 1 titles"),
        (Metric("m", ("x",), ("x",), "", LOW.measure, (ExtraTotal("top", "t", "macs", peak),)),
         "reduces 'macs', which is not one of its columns"),
        (Metric("m", ("macs",), ("x",), "", LOW.measure), "the key 'macs' is taken"),
        (Metric("m", ("x",), ("x",), "", LOW.measure, (ExtraTotal("peak_activation_elements", "t", "x", peak),)),
         "the key 'peak_activation_elements' is taken"),
        (Metric("m", ("x",), ("x",), "", LOW.measure, (ExtraTotal("x", "t", "x", peak),)), "the key 'x' is taken"),
    ]
    for metric, message in bad:
        with pytest.raises(RuntimeError, match=message):
            register_metric(metric)
    assert METRICS == before
