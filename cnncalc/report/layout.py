"""A layered drawing of a layer graph, in pure Python (no Graphviz needed): positions for nodes and edge paths.

A Sugiyama-style layout cut to what CNNs need (chains with short parallel branches and skip connections):

1. rank: the longest path from the input (file order is a topological order, so one pass);
2. an edge that spans several ranks (up to MAX_DETOUR) gets a virtual point on every rank it crosses, so that a
   skip connection runs beside the chain instead of through its nodes;
3. order within a rank: first appearance, then a few sweeps down and up by the mean position of the neighbours
   (the barycenter heuristic);
4. x: each rank's slots are pulled towards their neighbours' mean x, the order kept and a minimum gap between
   slots, by weighted isotonic regression (pool adjacent violators); a slot follows its real neighbours rather than
   the virtual ones, and real nodes weigh far more than virtual points, so the chain stays straight and the
   detours move aside.

Time is linear in the nodes plus the virtual points, times the fixed number of sweeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import LayerGraph

NODE_W, NODE_H = 176, 40
"""A node's box, in SVG units."""
RANK_GAP = 26
"""Vertical space between ranks."""
SLOT_GAP = 28
"""Horizontal space between neighbouring boxes."""
VIRTUAL_W = 14
"""The width a virtual point (an edge crossing a rank) takes."""
_SWEEPS = 6
MAX_DETOUR = 64
"""An edge spanning more ranks is drawn straight, without virtual points: the layout stays linear in the layers
(at most this many points per edge) whatever the spec."""


@dataclass(frozen=True)
class Layout:
    """Centres of the nodes (by id), the polyline of every edge (in LayerGraph.edges order), and the extent."""

    centres: dict[str, tuple[float, float]]
    ranks: dict[str, int]
    paths: list[list[tuple[float, float]]]
    width: float
    height: float


def layout(lg: LayerGraph) -> Layout:
    ids = [n.id for n in lg.nodes]
    position = {nid: i for i, nid in enumerate(ids)}
    preds: list[list[int]] = [[] for _ in ids]
    for e in lg.edges:
        preds[position[e.target]].append(position[e.source])
    rank = [0] * len(ids)
    for v in range(len(ids)):  # nodes are in topological order
        if preds[v]:
            rank[v] = max(rank[u] for u in preds[v]) + 1
    # slots: real nodes 0..n-1, then virtual points; chains of slots per edge
    slot_rank = list(rank)
    slot_real = [True] * len(ids)
    up: list[list[int]] = [[] for _ in ids]
    down: list[list[int]] = [[] for _ in ids]
    chains = []
    for e in lg.edges:
        s, t = position[e.source], position[e.target]
        chain = [s]
        for r in range(rank[s] + 1, rank[t] if rank[t] - rank[s] <= MAX_DETOUR else rank[s] + 1):
            slot_rank.append(r)
            slot_real.append(False)
            up.append([])
            down.append([])
            chain.append(len(slot_rank) - 1)
        chain.append(t)
        for a, b in zip(chain, chain[1:]):
            down[a].append(b)
            up[b].append(a)
        chains.append(chain)
    levels: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for slot, r in enumerate(slot_rank):
        levels[r].append(slot)
    order = [0.0] * len(slot_rank)
    for level in levels:
        for i, slot in enumerate(level):
            order[slot] = i
    for sweep in range(_SWEEPS):
        neighbours = up if sweep % 2 == 0 else down
        for level in (levels if sweep % 2 == 0 else reversed(levels)):
            keyed = []
            for slot in level:
                near = neighbours[slot]
                keyed.append((sum(order[n] for n in near) / len(near) if near else order[slot], order[slot], slot))
            keyed.sort()
            level[:] = [slot for _, _, slot in keyed]
            for i, slot in enumerate(level):
                order[slot] = i
    width_of = [float(NODE_W if real else VIRTUAL_W) for real in slot_real]
    x = [0.0] * len(slot_rank)
    for level in levels:
        at = 0.0
        for slot in level:
            x[slot] = at + width_of[slot] / 2
            at += width_of[slot] + SLOT_GAP
    for sweep in range(2 * _SWEEPS):
        neighbours = up if sweep % 2 == 0 else down
        for level in (levels if sweep % 2 == 0 else reversed(levels)):
            wanted = []
            for slot in level:
                near = neighbours[slot] or (up[slot] + down[slot])
                near = [n for n in near if slot_real[n]] or near  # a chain follows its layers, not a detour
                wanted.append(sum(x[n] for n in near) / len(near) if near else x[slot])
            _place(level, wanted, width_of, [50.0 if slot_real[s] else 1.0 for s in level], x)
    left = min(x[s] - width_of[s] / 2 for s in range(len(x)))
    margin = 12.0
    x = [v - left + margin for v in x]
    y = [margin + r * (NODE_H + RANK_GAP) + NODE_H / 2 for r in slot_rank]
    width = max(x[s] + width_of[s] / 2 for s in range(len(x))) + margin
    height = margin * 2 + len(levels) * (NODE_H + RANK_GAP) - RANK_GAP
    centres = {nid: (x[i], y[i]) for i, nid in enumerate(ids)}
    paths = [[(x[s], y[s]) for s in chain] for chain in chains]
    return Layout(centres, {nid: rank[i] for i, nid in enumerate(ids)}, paths, width, height)


def _place(level: list[int], wanted: list[float], width_of: list[float], weight: list[float],
           x: list[float]) -> None:
    """x of the slots of one rank, in their order, at least their half-widths plus SLOT_GAP apart, as close to
    `wanted` as possible (weighted least squares): isotonic regression of wanted - offset, by pooling adjacent
    violators."""
    offsets = []
    at = 0.0
    for i, slot in enumerate(level):
        if i:
            at += (width_of[level[i - 1]] + width_of[slot]) / 2 + SLOT_GAP
        offsets.append(at)
    blocks: list[list[float]] = []  # [weighted mean, total weight, count]
    for target, off, w in zip(wanted, offsets, weight):
        blocks.append([target - off, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    i = 0
    for mean, _, count in blocks:
        for _ in range(int(count)):
            x[level[i]] = mean + offsets[i]
            i += 1
