"""Receptive fields (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019).

Along each axis, output index i of a layer depends on network-input positions u(i) = S*i - P through
v(i) = S*i - P + r - 1 (before clipping to the image), where the jump S, the effective padding P and the size r
follow from every layer on the way by the recurrences S' = S*s, P' = P + S*p, r' = r + S*(d*(k-1)) for a window of
kernel k, dilation d, stride s and leading padding p. Where paths meet (concat, add), the bounds are the exact union
over paths: per jump, the lowest lower line and the highest upper line. Paths are *aligned* when they share the jump
and the centre; where they do not, the bounds stay exact and a diagnostic names the layer. Layers after a global
pool, flatten or linear depend on the whole input (`global`).

`dependencies_at` answers for one output index exactly: unclipped bounds by propagating intervals backwards, and the
positions inside the image by propagating the set of real positions, so padding and dilation holes are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError
from ..graph import Graph, Node


@dataclass(frozen=True, slots=True)
class AxisField:
    """One axis of one layer's receptive field: `lines` holds (jump S, lower offset L, upper offset U), one per jump,
    sorted by jump, so that output i depends on positions min(S*i + L) .. max(S*i + U)."""

    lines: tuple[tuple[int, int, int], ...]
    aligned: bool

    @property
    def single(self) -> bool:
        return len(self.lines) == 1

    def lower(self, i: int) -> int:
        return min(s * i + lo for s, lo, _ in self.lines)

    def upper(self, i: int) -> int:
        return max(s * i + hi for s, _, hi in self.lines)

    def size(self, count: int) -> int:
        """Largest number of positions one output index spans, over the `count` output indices."""
        if self.single:
            _, lo, hi = self.lines[0]
            return hi - lo + 1
        return max(self.upper(i) - self.lower(i) + 1 for i in (0, count - 1))

    def bounds(self) -> str:
        """The bounds as the homework writes them: `4i-6 .. 4i+9`."""
        lows = [_affine(s, lo) for s, lo, _ in self.lines]
        highs = [_affine(s, hi) for s, _, hi in self.lines]
        if self.single:
            return f"{lows[0]} .. {highs[0]}"
        return f"min({', '.join(lows)}) .. max({', '.join(highs)})"

    def to_json(self, count: int) -> dict:
        jump = max(s for s, _, _ in self.lines)
        out = {"size": self.size(count), "jump": jump, "padding": -self.lower(0) if not self.single
               else -self.lines[0][1], "aligned": self.aligned, "bounds": self.bounds()}
        if not self.single:
            out["lower"] = [[s, lo] for s, lo, _ in self.lines]
            out["upper"] = [[s, hi] for s, _, hi in self.lines]
        return out


def _affine(slope: int, offset: int) -> str:
    head = "i" if slope == 1 else f"{slope}i"
    return head if offset == 0 else f"{head}{offset:+d}"


INPUT_FIELD = AxisField(((1, 0, 0),), True)


@dataclass(frozen=True)
class RFResult:
    """Per node (index as in the graph), its (rows, cols) fields, or None where it depends on the whole input."""

    fields: list[tuple[AxisField, AxisField] | None]
    diagnostics: list[dict]


def receptive_fields(graph: Graph) -> RFResult:
    """The receptive field of every layer; one pass in topological order, constant work per edge and jump."""
    fields: list[tuple[AxisField, AxisField] | None] = [(INPUT_FIELD, INPUT_FIELD)]
    diagnostics: list[dict] = []
    for node in graph.nodes[1:]:
        axes = node.layer.rf_axes(node.input_shapes, node.output)
        sources = [fields[i] for i, _ in node.inputs]
        if axes is None or any(src is None for src in sources):
            fields.append(None)
            continue
        result = []
        for axis, window in enumerate(axes):
            moved = [_through(src[axis], window) for src in sources]  # type: ignore[index]
            merged = moved[0] if len(moved) == 1 else _merge(moved)
            if len(moved) > 1 and not merged.aligned and all(m.aligned for m in moved):
                diagnostics.append(_misaligned(graph, node, axis, moved))
            result.append(merged)
        fields.append((result[0], result[1]))
    return RFResult(fields, diagnostics)


def _through(field: AxisField, window) -> AxisField:
    s, before, reach = window.stride, window.before, window.span - 1 - window.before
    if s == 1 and before == 0 and reach == 0:
        return field
    return AxisField(tuple((j * s, lo - j * before, hi + j * reach) for j, lo, hi in field.lines), field.aligned)


def _merge(fields: list[AxisField]) -> AxisField:
    by_jump: dict[int, tuple[int, int]] = {}
    for f in fields:
        for j, lo, hi in f.lines:
            if j in by_jump:
                old_lo, old_hi = by_jump[j]
                by_jump[j] = (min(lo, old_lo), max(hi, old_hi))
            else:
                by_jump[j] = (lo, hi)
    first = fields[0].lines[0]
    aligned = all(f.aligned and f.single and f.lines[0][0] == first[0]
                  and f.lines[0][1] + f.lines[0][2] == first[1] + first[2] for f in fields)
    return AxisField(tuple((j, lo, hi) for j, (lo, hi) in sorted(by_jump.items())), aligned)


def _misaligned(graph: Graph, node: Node, axis: int, moved: list[AxisField]) -> dict:
    names = [graph.nodes[i].name for i, _ in node.inputs]
    parts = ", ".join(f"{name}: {m.bounds()}" for name, m in zip(names, moved))
    return {"severity": "warning", "code": "rf-misaligned",
            "message": f"{node.name}: paths meet with different {'jumps' if len({m.lines[0][0] for m in moved}) > 1 else 'centres'} along the "
                       f"{('height', 'width')[axis]} ({parts}); bounds are the exact union",
            "layers": [node.name] + names}


def dependencies_at(graph: Graph, target: Node, index: tuple[int, int]) -> dict:
    """Exact input bounds of output `index` (row, col) of `target`: unclipped, and clipped to the image."""
    out: dict = {"layer": target.name, "index": list(index)}
    for axis, key in ((0, "rows"), (1, "cols")):
        size = target.output[1 + axis] if len(target.output) == 3 else 1
        if not 0 <= index[axis] < size:
            raise SpecError(f"--at {key[:-1]} {index[axis]} is outside layer {target.name!r} (0 .. {size - 1})")
        out[key] = _interval(graph, target, axis, index[axis])
        found = _positions(graph, target, axis, index[axis])
        out[key + "_clipped"] = [min(found), max(found)] if found else None
    return out


def _in_size(node: Node, k: int, axis: int) -> int:
    shape = node.input_shapes[k]
    return shape[1 + axis] if len(shape) == 3 else 1


def _interval(graph: Graph, target: Node, axis: int, x: int) -> list[int]:
    spans: dict[int, tuple[int, int]] = {target.index: (x, x)}
    for n in range(target.index, 0, -1):
        if n not in spans:
            continue
        node = graph.nodes[n]
        lo, hi = spans.pop(n)
        axes = node.layer.rf_axes(node.input_shapes, node.output)
        for k, (src, _) in enumerate(node.inputs):
            if axes is None:
                new = (0, _in_size(node, k, axis) - 1)
            else:
                w = axes[axis]
                new = (w.back(lo)[0], w.back(hi)[-1])
            old = spans.get(src)
            spans[src] = new if old is None else (min(old[0], new[0]), max(old[1], new[1]))
    return list(spans[0])


def _positions(graph: Graph, target: Node, axis: int, x: int) -> set[int]:
    reached: dict[int, set[int]] = {target.index: {x}}
    for n in range(target.index, 0, -1):
        if n not in reached:
            continue
        node = graph.nodes[n]
        xs = reached.pop(n)
        axes = node.layer.rf_axes(node.input_shapes, node.output)
        for k, (src, _) in enumerate(node.inputs):
            size = _in_size(node, k, axis)
            if axes is None:
                found = set(range(size)) if xs else set()
            else:
                w = axes[axis]
                found = {y for x_ in xs for y in w.back(x_) if 0 <= y < size}
            reached.setdefault(src, set()).update(found)
    return reached.get(0, set())
