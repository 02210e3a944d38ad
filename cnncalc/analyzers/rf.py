"""Receptive fields (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019).

Along each axis, output index i of a layer depends on network-input positions u(i) = S*i - P through
v(i) = S*i - P + r - 1 (before clipping to the image), where the jump S, the effective padding P and the size r
follow from every layer on the way by the recurrences S' = S*s, P' = P + S*p, r' = r + S*(d*(k-1)) for a window of
kernel k, dilation d, stride s and leading padding p. Where paths meet (concat, add), the bounds are the exact union
over paths: per jump, the lowest lower line and the highest upper line. Paths are *aligned* when they share the jump
and the centre; where they do not, the bounds stay exact and a diagnostic names the layer. Layers after a global
pool, flatten or linear depend on the whole input (`global`).

`dependencies_at` answers for one output index exactly: unclipped bounds by propagating intervals backwards, and the
positions inside the image by propagating the set of real positions, so padding and dilation holes are exact (the
positions themselves are reported as runs, `rows_inside` and `cols_inside`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import SpecError, quote
from ..geometry import Window, maximum, minimum
from ..graph import Graph, Node
from ..layers.base import Dim

Lines = tuple[tuple[int, Dim, Dim], ...]
"""A field along one axis as lines (jump S, lower offset L, upper offset U), one per jump, sorted by jump: output i
depends on positions min(S*i + L) .. max(S*i + U). Jumps are ints; offsets are ints, or in a sweep over input sizes
numpy arrays with one offset per size (`same` padding depends on the size). The recurrences below work on both."""


def window_lines(lines: Lines, rule: Window) -> Lines:
    """The lines after a sliding window: S' = S*s, L' = L - S*before, U' = U + S*(span - 1 - before). The identity
    window returns `lines` itself."""
    s, before = rule.stride, rule.before
    reach = rule.span - 1 - before
    if s == 1 and type(before) is int and before == 0 and type(reach) is int and reach == 0:
        return lines
    return tuple((j * s, lo - j * before, hi + j * reach) for j, lo, hi in lines)


def union_lines(fields: list[Lines]) -> Lines:
    """Where paths meet: per jump, the lowest lower line and the highest upper line (the exact union)."""
    by_jump: dict[int, tuple[Dim, Dim]] = {}
    for lines in fields:
        for j, lo, hi in lines:
            if j in by_jump:
                old_lo, old_hi = by_jump[j]
                by_jump[j] = (minimum(lo, old_lo), maximum(hi, old_hi))
            else:
                by_jump[j] = (lo, hi)
    return tuple((j, lo, hi) for j, (lo, hi) in sorted(by_jump.items()))


def lower_bound(lines: Lines, i: Dim) -> Dim:
    """The first position output `i` depends on: min over the lines of S*i + L (`i` may be an array)."""
    result = None
    for j, lo, _ in lines:
        value = j * i + lo
        result = value if result is None else minimum(result, value)
    return result  # type: ignore[return-value]


def upper_bound(lines: Lines, i: Dim) -> Dim:
    """The last position output `i` depends on: max over the lines of S*i + U (`i` may be an array)."""
    result = None
    for j, _, hi in lines:
        value = j * i + hi
        result = value if result is None else maximum(result, value)
    return result  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class AxisField:
    """One axis of one layer's receptive field, in one of two exact forms.

    `lines` (every layer on the way is a sliding window): (jump S, lower offset L, upper offset U), one per jump,
    sorted by jump; output i depends on positions min(S*i + L) .. max(S*i + U). `table` (an upsampling, transposed
    conv or irregular adaptive pool on the way): the lower and upper bound of every output index, None where an
    index reads only padding; the jump is then fractional.
    """

    lines: tuple[tuple[int, int, int], ...] | None
    """`Lines` with int offsets."""
    aligned: bool
    table: tuple[tuple[int | None, ...], tuple[int | None, ...]] | None = None

    @property
    def single(self) -> bool:
        return self.lines is not None and len(self.lines) == 1

    def lower(self, i: int) -> int | None:
        if self.lines is None:
            return self.table[0][i]  # type: ignore[index]
        return lower_bound(self.lines, i)  # type: ignore[return-value]

    def upper(self, i: int) -> int | None:
        if self.lines is None:
            return self.table[1][i]  # type: ignore[index]
        return upper_bound(self.lines, i)  # type: ignore[return-value]

    def as_table(self, count: int) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
        if self.table is not None:
            return self.table
        return tuple(self.lower(i) for i in range(count)), tuple(self.upper(i) for i in range(count))  # type: ignore

    def size(self, count: int) -> int:
        """Largest number of positions one output index spans, over the `count` output indices."""
        if self.single:
            _, lo, hi = self.lines[0]  # type: ignore[index]
            return hi - lo + 1
        indices = (0, count - 1) if self.lines is not None else range(count)
        return max((self.upper(i) - self.lower(i) + 1  # type: ignore[operator]
                    for i in indices if self.lower(i) is not None), default=0)

    def bounds(self) -> str:
        """The bounds as the homework writes them: `4i-6 .. 4i+9`."""
        if self.lines is None:
            return "per index (not a sliding window)"
        lows = [_affine(s, lo) for s, lo, _ in self.lines]
        highs = [_affine(s, hi) for s, _, hi in self.lines]
        if self.single:
            return f"{lows[0]} .. {highs[0]}"
        return f"min({', '.join(lows)}) .. max({', '.join(highs)})"

    def jump(self, count: int) -> int | Fraction:
        if self.lines is not None:
            return max(s for s, _, _ in self.lines)
        valid = [i for i in range(count) if self.lower(i) is not None]
        if len(valid) < 2:
            return 1
        step = Fraction(self.lower(valid[-1]) - self.lower(valid[0]), valid[-1] - valid[0])  # type: ignore
        return step.numerator if step.denominator == 1 else step

    def to_json(self, count: int) -> dict:
        jump = self.jump(count)
        first = next((lo for lo in map(self.lower, range(count)) if lo is not None), 0)  # lower(0) for lines
        out: dict = {"size": self.size(count), "jump": jump if isinstance(jump, int) else str(jump),
                     "padding": -first, "aligned": self.aligned, "bounds": self.bounds()}
        if self.lines is not None and not self.single:
            out["lower"] = [[s, lo] for s, lo, _ in self.lines]
            out["upper"] = [[s, hi] for s, _, hi in self.lines]
        if self.lines is None:
            out["per_index"] = True
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
    local: list[tuple[AxisField, AxisField] | None] = field(default_factory=list)
    """Per node, the field of its spatial path, as if every per-channel gate on the way were a constant (a
    squeeze_excitation, a `mul` by a C x 1 x 1 map: `Layer.local_rf`): the very object in `fields` where no gate is
    on the way, a field where `fields` has None only because of a gate, None after a true global (global pool,
    flatten, linear)."""


def _extent(shape, axis: int) -> int:
    return shape[1 + axis] if len(shape) == 3 else 1


class _Budget:
    """Positions the analysis may still trace one by one (`Limits.max_traced`); spending past it is refused, naming
    the layer and the flag, before the work is done."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, amount: int, node: Node) -> None:
        if amount > self.left:
            raise SpecError(f"layer {quote(node.name)}: the receptive fields up to this layer need more than "
                            f"{self.limit:,} positions traced one by one ({node.type} is not a sliding window, or "
                            f"comes after one that is not)", node.entry.pos if node.entry else None,
                            hint="raise the limit with --max-traced; `cost` has no such limit")
        self.left -= amount


def receptive_fields(graph: Graph) -> RFResult:
    """The receptive field of every layer, in one pass in topological order: constant work per edge for sliding
    windows, work proportional to the map size for the layers that are not, within `graph.limits` (positions
    traced, digits of a jump). Beside it, the local field (see RFResult.local): the same object wherever no gate
    is on the way, so that it costs nothing more there."""
    budget = _Budget(graph.limits.max_traced)
    too_far = 10 ** graph.limits.max_jump_digits
    fields: list[tuple[AxisField, AxisField] | None] = [(INPUT_FIELD, INPUT_FIELD)]
    local: list[tuple[AxisField, AxisField] | None] = [fields[0]]
    diagnostics: list[dict] = []
    for node in graph.nodes[1:]:
        axes = _axes(node, budget)
        sources = [src for src in (fields[i] for i, _ in node.inputs) if src is not None]
        if axes is None or len(sources) < len(node.inputs):
            fields.append(None)
        else:
            fields.append(_propagate(graph, node, axes, sources, node.input_shapes, budget, too_far, diagnostics))
        gated = node.layer.local_rf(node.input_shapes, node.output)
        if gated is None and all(local[i] is fields[i] for i, _ in node.inputs):
            local.append(fields[-1])
            continue
        local_axes, kept = (axes, tuple(range(len(node.inputs)))) if gated is None else gated
        kept_sources = [src for src in (local[node.inputs[k][0]] for k in kept) if src is not None]
        if local_axes is None or len(kept_sources) < len(kept):
            local.append(None)
        else:
            local.append(_propagate(graph, node, local_axes, kept_sources, [node.input_shapes[k] for k in kept],
                                    budget, too_far, None))
    return RFResult(fields, diagnostics, local)


def _propagate(graph: Graph, node: Node, axes, sources: list[tuple[AxisField, AxisField]], shapes,
               budget: _Budget, too_far: int, diagnostics: list[dict] | None) -> tuple[AxisField, AxisField]:
    """The field of `node` from the fields of its inputs `sources` (of shapes `shapes`) through its rules `axes`;
    a misalignment diagnostic is added to `diagnostics` when given."""
    result = []
    for axis, rule in enumerate(axes):
        count = _extent(node.output, axis)
        for src, shape in zip(sources, shapes):
            budget.spend(_trace_cost(src[axis], rule, _extent(shape, axis), count, budget.left), node)
        moved = [_through(src[axis], rule, _extent(shape, axis), count)
                 for src, shape in zip(sources, shapes)]
        if len(moved) > 1:
            budget.spend(count * len(moved) if any(m.lines is None for m in moved) else
                         sum(len(m.lines or ()) for m in moved), node)
        merged = moved[0] if len(moved) == 1 else _merge(moved, count)
        if merged.lines is not None and max(j for j, _, _ in merged.lines) >= too_far:
            raise SpecError(f"layer {quote(node.name)}: its receptive-field jump along the "
                            f"{('height', 'width')[axis]} has more than {graph.limits.max_jump_digits:,} digits "
                            f"(a jump is the product of the strides on the way)",
                            node.entry.pos if node.entry else None,
                            hint="raise the limit with --max-jump-digits; `cost` has no such limit")
        if diagnostics is not None and len(moved) > 1 and not merged.aligned and all(m.aligned for m in moved):
            diagnostics.append(_misaligned(graph, node, axis, moved))
        result.append(merged)
    return (result[0], result[1])


def _identity(rule) -> bool:
    return rule.affine and rule.stride == 1 and rule.before == 0 and rule.span == 1


def _trace_cost(field: AxisField, rule, size: int, count: int, left: int) -> int:
    """Positions `_through` traces one by one for `rule` over `field` (0 for sliding windows over lines); as soon as
    it is known to exceed `left`, a number above it."""
    if rule.affine and field.lines is not None:
        return 0
    if field.lines is not None or count > left or _identity(rule):
        # Over lines the two ends of each read suffice; an identity shares its input's table, but each layer's
        # report still summarises the table position by position.
        return count
    if rule.affine:
        return count * (1 + min(rule.kernel, size))
    total = count
    for i in range(count):
        total += len(_inside(rule.back(i), size))
        if total > left:
            break
    return total


def _through(field: AxisField, rule, size: int, count: int) -> AxisField:
    if rule.affine and field.lines is not None:
        lines = window_lines(field.lines, rule)
        return field if lines is field.lines else AxisField(lines, field.aligned)  # type: ignore[arg-type]
    if _identity(rule):  # an activation after an upsample: the same table object, not a copy per layer
        return field
    new_lows: list[int | None] = []
    new_highs: list[int | None] = []
    if field.lines is not None:
        # Over sliding-window lines both bounds grow with the position (every jump is positive), and each read is
        # ascending: the bounds of a read are those of its first and last position inside the map.
        for i in range(count):
            xs = _inside(rule.back(i), size)
            new_lows.append(field.lower(xs[0]) if len(xs) else None)
            new_highs.append(field.upper(xs[-1]) if len(xs) else None)
        return AxisField(None, field.aligned, (tuple(new_lows), tuple(new_highs)))
    lows, highs = field.table  # type: ignore[misc]
    gaps = None in lows  # positions that read only padding (None) must be skipped, else slices suffice
    if rule.affine:
        stride, step, before, reach = rule.stride, rule.dilation, rule.before, rule.span
    for i in range(count):
        if rule.affine:  # a window, clipped to the map inline: C-speed slices, no call per index
            start = stride * i - before
            stop = max(min(start + reach, size), 0)  # never negative: a negative slice end counts from the end
            if start < 0:
                start += -(start // step) * step
            low, high = lows[start:stop:step], highs[start:stop:step]
        else:
            xs = _inside(rule.back(i), size)
            low, high = [lows[x] for x in xs], [highs[x] for x in xs]
        if gaps:
            low, high = [v for v in low if v is not None], [v for v in high if v is not None]
        new_lows.append(min(low) if low else None)
        new_highs.append(max(high) if high else None)
    return AxisField(None, field.aligned, (tuple(new_lows), tuple(new_highs)))


def _merge(fields: list[AxisField], count: int) -> AxisField:
    if any(f.lines is None for f in fields):
        tables = [f.as_table(count) for f in fields]
        lows = tuple(min((t[0][i] for t in tables if t[0][i] is not None), default=None)  # type: ignore[type-var]
                     for i in range(count))
        highs = tuple(max((t[1][i] for t in tables if t[1][i] is not None), default=None)  # type: ignore[type-var]
                      for i in range(count))
        centres = {tuple(None if lo is None else lo + hi for lo, hi in zip(*t)) for t in tables}  # type: ignore
        return AxisField(None, all(f.aligned for f in fields) and len(centres) == 1, (lows, highs))
    lines = union_lines([f.lines for f in fields])  # type: ignore[misc]
    first = fields[0].lines[0]  # type: ignore[index]
    aligned = all(f.aligned and f.single and f.lines[0][0] == first[0]  # type: ignore[index]
                  and f.lines[0][1] + f.lines[0][2] == first[1] + first[2] for f in fields)  # type: ignore
    return AxisField(lines, aligned)  # type: ignore[arg-type]


def _misaligned(graph: Graph, node: Node, axis: int, moved: list[AxisField]) -> dict:
    names = [graph.nodes[i].name for i, _ in node.inputs]
    parts = ", ".join(f"{name}: {m.bounds()}" for name, m in zip(names, moved))
    return {"severity": "warning", "code": "rf-misaligned",
            "message": f"{node.name}: paths meet with different jumps or centres along the "
                       f"{('height', 'width')[axis]} ({parts}); the bounds are the exact union",
            "layers": [node.name] + names}


def dependencies_at(graph: Graph, target: Node, index: tuple[int, int]) -> dict:
    """Exact input bounds of output `index` (row, col) of `target`: unclipped, and clipped to the image; at most
    `graph.limits.max_traced` positions are visited."""
    out: dict = {"layer": target.name, "index": list(index)}
    budget = _Budget(graph.limits.max_traced)
    for axis, key in ((0, "rows"), (1, "cols")):
        size = target.output[1 + axis] if len(target.output) == 3 else 1
        if not 0 <= index[axis] < size:
            raise SpecError(f"--at {key[:-1]} {index[axis]} is outside layer {target.name!r} (0 .. {size - 1})",
                            target.entry.pos if target.entry else None)
        out[key] = _interval(graph, target, axis, index[axis], budget)
        found = _positions(graph, target, axis, index[axis], budget.limit)
        out[key + "_clipped"] = [min(found), max(found)] if found else None
        out[key + "_inside"] = runs(found)
    return out


def runs(positions: set[int]) -> list[list[int]]:
    """`positions` as ascending runs [first, last] of consecutive positions: the gaps between runs are the holes
    strides and dilations leave."""
    out: list[list[int]] = []
    for p in sorted(positions):
        if out and out[-1][1] == p - 1:
            out[-1][1] = p
        else:
            out.append([p, p])
    return out


def _in_size(node: Node, k: int, axis: int) -> int:
    shape = node.input_shapes[k]
    return shape[1 + axis] if len(shape) == 3 else 1  # type: ignore[return-value]  # a graph's sizes are ints


def _interval(graph: Graph, target: Node, axis: int, x: int, budget: _Budget) -> list[int] | None:
    """Unclipped bounds: intervals propagated backwards, every position of a window counted (padding too)."""
    spans: dict[int, tuple[int, int]] = {target.index: (x, x)}
    for n in range(target.index, 0, -1):
        if n not in spans:
            continue
        node = graph.nodes[n]
        lo, hi = spans.pop(n)
        axes = _axes(node, budget)
        for k, (src, _) in enumerate(node.inputs):
            if axes is None:
                new = (0, _in_size(node, k, axis) - 1)
            elif axes[axis].affine:
                w = axes[axis]
                new = (w.back(lo)[0], w.back(hi)[-1])
            else:  # not monotone in general: look at every index (a map's size at most), each read ascending
                budget.spend(hi - lo + 1, node)
                reads = [r for r in (axes[axis].back(i) for i in range(lo, hi + 1)) if len(r)]
                if not reads:
                    continue
                new = (min(r[0] for r in reads), max(r[-1] for r in reads))
            old = spans.get(src)
            spans[src] = new if old is None else (min(old[0], new[0]), max(old[1], new[1]))
    return list(spans[0]) if 0 in spans else None


def _positions(graph: Graph, target: Node, axis: int, x: int, limit: int) -> set[int]:
    """The real input positions output `x` of `target` reads: sets of positions propagated backwards, so that
    padding and the holes of strides and dilations are exact."""
    reached: dict[int, set[int]] = {target.index: {x}}
    work = 0
    for n in range(target.index, 0, -1):
        if n not in reached:
            continue
        node = graph.nodes[n]
        xs = reached.pop(n)
        axes = _axes(node, _Budget(limit))
        for k, (src, _) in enumerate(node.inputs):
            size = _in_size(node, k, axis)
            work += size if axes is None else len(xs) * min(size, _reach(axes[axis]))
            if work > limit:
                raise SpecError(f"--at: tracing this index visits more than {limit:,} positions (at layer "
                                f"{quote(node.name)}); the unclipped bounds are in the receptive-field table",
                                node.entry.pos if node.entry else None,
                                hint="raise the limit with --max-traced, ask a smaller layer with --layer, or leave "
                                     "out --at")
            if axes is None:
                found = set(range(size)) if xs else set()
            else:
                w = axes[axis]
                found = {y for x_ in xs for y in _inside(w.back(x_), size)}
            reached.setdefault(src, set()).update(found)
    return reached.get(0, set())


def _reach(rule) -> int:
    """Most input positions one output index of `rule` reads."""
    return rule.kernel if rule.affine else max((len(r) for r in rule.reads), default=0)


def _inside(positions, size: int):
    """The positions within 0 .. size-1, without visiting the others (a window may have a million taps)."""
    if isinstance(positions, range):
        start, step = positions.start, positions.step
        first = max(0, (step - 1 - start) // step)  # ceil(-start / step) when the window starts in the padding
        last = (size - 1 - start) // step + 1 if start <= size - 1 else 0
        return positions[first:max(first, last)]
    return [y for y in positions if 0 <= y < size]


def _axes(node: Node, budget: _Budget):
    """The layer's per-axis rules; a layer that is not a sliding window lists the reads of every output position,
    which is charged to `budget` before they are built."""
    if getattr(node.layer, "indexed_rf", False) and len(node.output) == 3:
        budget.spend(int(node.output[1] + node.output[2]), node)  # rf runs at one input size: ints
    return node.layer.rf_axes(node.input_shapes, node.output)
