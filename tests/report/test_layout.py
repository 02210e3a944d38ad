"""The report's own graph layout: boxes never overlap, every edge runs downwards from its source to its target, a
chain is one straight column, parallel branches sit side by side, and the work stays linear."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.report.layout import MAX_DETOUR, NODE_H, NODE_W, SLOT_GAP, layout

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_boxes_never_overlap_and_edges_run_down(spec):
    lg = cnncalc.read(spec).layer_graph()
    placed = layout(lg)
    boxes = sorted(placed.centres.values())
    by_row: dict[float, list[float]] = {}
    for x, y in boxes:
        by_row.setdefault(y, []).append(x)
        assert NODE_W / 2 <= x <= placed.width - NODE_W / 2 and NODE_H / 2 <= y <= placed.height - NODE_H / 2
    for xs in by_row.values():
        assert all(b - a >= NODE_W + SLOT_GAP - 1e-6 for a, b in zip(xs, xs[1:]))
    for edge, path in zip(lg.edges, placed.paths):
        assert path[0] == placed.centres[edge.source] and path[-1] == placed.centres[edge.target]
        assert all(a[1] < b[1] for a, b in zip(path, path[1:]))


def test_a_chain_is_one_straight_column():
    lg = cnncalc.read(ROOT / "specs" / "zoo" / "vgg16.yaml").layer_graph()
    placed = layout(lg)
    assert len({x for x, _ in placed.centres.values()}) == 1
    assert len({y for _, y in placed.centres.values()}) == len(lg.nodes)


def test_parallel_branches_share_a_rank_side_by_side():
    lg = cnncalc.read(ROOT / "specs" / "inception_naive.yaml").layer_graph()
    placed = layout(lg)
    rows = {name: placed.centres[n.id] for n in lg.nodes for name in [n.name.rsplit("/", 1)[-1]]}
    assert len({rows[b][1] for b in ("b1", "b3", "b5", "pool")}) == 1  # one rank
    assert rows["input"][1] < rows["b1"][1] < rows["out"][1]
    xs = sorted(rows[b][0] for b in ("b1", "b3", "b5", "pool"))
    assert min(xs) < rows["out"][0] < max(xs)  # the concat sits below the middle of its branches


def test_a_skip_connection_runs_beside_the_chain():
    # ResNet-18's first block: the identity path from the stem's pool to the add, beside conv1 .. bn2
    lg = cnncalc.read(ROOT / "specs" / "zoo" / "resnet18.yaml").layer_graph()
    placed = layout(lg)
    names = {n.id: n.name for n in lg.nodes}
    skip = next(path for edge, path in zip(lg.edges, placed.paths)
                if names[edge.source] == "maxpool" and names[edge.target] == "layer1_0/add")
    chain_x = placed.centres[next(i for i, name in names.items() if name == "layer1_0/conv2")][0]
    assert len(skip) > 2 and all(abs(x - chain_x) >= NODE_W / 2 for x, _ in skip[1:-1])


def test_virtual_points_stay_linear_in_the_layers():
    # every layer adds the network input: edges spanning 1 .. n ranks; at most MAX_DETOUR points each
    n = 400
    layers = [{"name": "c0", "type": "conv", "out": 4, "kernel": 1}]
    layers += [{"name": f"a{i}", "type": "add", "inputs": [f"c0" if i == 1 else f"a{i - 1}", "c0"]} for i in range(1, n)]
    lg = cnncalc.from_dict({"input": [4, 4, 4], "layers": layers}).layer_graph()
    placed = layout(lg)
    assert sum(len(path) - 2 for path in placed.paths) <= MAX_DETOUR * len(lg.edges)
    assert len({y for _, y in placed.centres.values()}) == n + 1
