"""Property tests: cnncalc against the independent brute-force references in
tests/brute/ (dependency propagation for receptive fields, literal window
sliding for shapes, counting loops for op and parameter counts).

Under CI the tests are derandomized with 60 examples per property; locally
random with 100; CNNCALC_PROPERTY_EXAMPLES=N overrides the number.
"""
import os
import sys

from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from brute import geom, ops, rf, specgen  # noqa: E402

import cnncalc  # noqa: E402

_CI = bool(os.environ.get("CI"))
# examples per property: 60 under CI (derandomized), 100 locally; override with
# CNNCALC_PROPERTY_EXAMPLES=N (e.g. 1500 for a stress run).  The profile
# (database, derandomize) comes from conftest.py; nothing global is changed here.
EXAMPLES = int(os.environ.get("CNNCALC_PROPERTY_EXAMPLES", 60 if _CI else 100))
prop = settings(max_examples=EXAMPLES, deadline=None, derandomize=_CI, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def _load(spec):
    note("spec:\n" + specgen.to_yaml(spec))
    return cnncalc.load(specgen.to_yaml(spec), filename="gen.yaml")


def _pair(b):
    return None if b is None else [b[0], b[1]]


def _by_name(doc):
    return {L["name"]: L for L in doc["layers"]}


def _spatial_layers(spec):
    deps = rf.forward_deps(spec)
    return [n for n, _, _ in geom.walk(spec) if deps[n][0] is not None]


@prop
@given(specgen.specs(), st.data())
def test_rf_at_bounds_match_dependency_propagation(spec, data):
    graph = _load(spec)
    shp, _ = geom.shapes(spec)
    names = _spatial_layers(spec)
    assume(names)
    # the last spatial layer always, plus up to two random ones
    picks = [names[-1]] + data.draw(st.lists(st.sampled_from(names), max_size=2), label="layers")
    for name in picks:
        _, h, w = shp[name]
        i = data.draw(st.integers(0, h - 1), label="i")
        j = data.draw(st.integers(0, w - 1), label="j")
        want = rf.rf_at(spec, name, i, j)
        at = cnncalc.rf_report(graph, layer=name, at=(i, j))["at"]
        assert at["layer"] == name
        assert list(at["index"]) == [i, j]
        got = {k: _pair(at[k]) for k in ("rows", "cols", "rows_clipped", "cols_clipped")}
        assert got == {k: _pair(v) for k, v in want.items()}, (name, i, j)


PROBE = range(-3, 6)


def _bounds_fn(mine):
    """u(i), v(i) as cnncalc's rf entry states them (single line or several lines)."""
    if "lower" in mine:
        return (lambda i: min(s * i + lo for s, lo in mine["lower"]),
                lambda i: max(s * i + hi for s, hi in mine["upper"]))
    return (lambda i: mine["jump"] * i - mine["padding"],
            lambda i: mine["jump"] * i - mine["padding"] + mine["size"] - 1)


@prop
@given(specgen.specs())
def test_layer_rf_matches_brute_force(spec):
    doc = cnncalc.rf_report(_load(spec))
    got = _by_name(doc)
    deps = rf.forward_deps(spec)
    shp, _ = geom.shapes(spec)
    for name, e, _ in geom.walk(spec):
        entry = got[name]
        if deps[name][0] is None:
            assert entry.get("global") is True or entry.get("rf", {}).get("global") is True, entry
            continue
        for ax, key in ((0, "height"), (1, "width")):
            mine = entry["rf"][key]
            brute = rf.layer_rf(spec, name, ax, PROBE)
            if brute is None:            # union of paths with different jumps: not affine
                assert mine["aligned"] is False, (name, key, mine)
            elif "lower" in mine:  # several lines whose union happens to be affine over this map's few indices:
                # the jump of a multi-line field is its largest line's (README); the bounds are checked below
                assert (mine["size"], mine["padding"]) == (brute[0], brute[2]), (name, key, mine)
            else:
                assert (mine["size"], mine["jump"], mine["padding"]) == brute, (name, key, mine)
            # the stated bounds, also for virtual indices outside the map
            lower, upper = _bounds_fn(mine)
            count = shp[name][1 + ax]
            spans = []
            for i in sorted(set(PROBE) | {count - 1}):
                b = rf.bounds(rf.backward_deps(spec, name, i, ax, clipped=False))
                assert (lower(i), upper(i)) == b, (name, key, i, mine)
                if 0 <= i < count:
                    spans.append(b[1] - b[0] + 1)
            assert mine["size"] == max(spans), (name, key, mine)
            assert mine["padding"] == -rf.bounds(rf.backward_deps(spec, name, 0, ax, False))[0]


@prop
@given(specgen.specs(adaptive=True))
def test_cost_shapes_match_sliding_windows(spec):
    doc = cnncalc.cost_report(_load(spec))
    shp, _ = geom.shapes(spec)
    assert list(doc["input"]) == list(shp["input"])
    got = _by_name(doc)
    for name, e, ins in geom.walk(spec):
        assert list(got[name]["output"]) == list(shp[name]), name
        assert list(got[name]["inputs"]) == ins, name


FIELDS = ("mults", "adds", "comparisons", "activations", "params")


@prop
@given(specgen.specs(small=True, max_layers=8, adaptive=True))
def test_cost_counts_match_counting_loops(spec):
    doc = cnncalc.cost_report(_load(spec))
    got = _by_name(doc)
    rep = ops.run(spec)
    totals = dict.fromkeys(FIELDS + ("macs", "buffers"), 0)
    entries = {n: e for n, e, _ in geom.walk(spec)}
    for r in rep:
        g = got[r["name"]]
        assert {f: g[f] for f in FIELDS} == {f: r[f] for f in FIELDS}, (r["name"], g, r)
        t = r["type"]
        macs = r["mults"] if t in ("conv", "linear") else 0
        assert g["macs"] == macs, r["name"]
        buffers = 2 * r["output"][0] if t == "batchnorm" else 0
        assert g["buffers"] == buffers, r["name"]
        for f in FIELDS:
            totals[f] += r[f]
        totals["macs"] += macs
        totals["buffers"] += buffers
        assert entries[r["name"]]["type"] == g["type"]
    assert {k: doc["totals"][k] for k in totals} == totals
