"""Sweeps over input sizes: one row of costs, or of the last receptive field, per input size, in one pass.

    sizes = parse_sizes("224,320x480,32:1024:32")   # [(224, 224), (320, 480), (32, 32), ...]
    graph = load_for_sweep(text, "net.yaml", sizes)
    doc = cost_sweep(graph, sizes)                   # `cnncalc cost SPEC --input ... --json`
    doc = rf_sweep(graph, sizes)                     # `cnncalc rf SPEC --input ... --json`

Instead of analysing the network once per size, the shape rules of the layers run once, with numpy arrays of
heights and widths (one element per size) in place of H and W; channel counts stay ints. The arithmetic is exact:
int64 when a bound shows that no value can come near 2**63, else arrays of Python ints (dtype object). A layer
whose rule the arrays cannot express (a check that depends on the size) is evaluated size by size, and so is the
receptive field of a network with a layer that is not a sliding window (upsampling, transposed convolution,
irregular adaptive pooling). A size at which the network is invalid (a map shrinks to nothing, inputs of a concat
disagree) is left out of the rows and reported in one diagnostic that names the first such size and its layer.

Documents (schema_version 1, like the other reports):

    cost: {"schema_version", "spec", "input": [C, H, W] (the spec's own), "convention": "cnncalc",
           "columns": [...], "sweep": [{"input": [C, H, W], "params", "buffers", "mults", "adds", "comparisons",
           "activations", "macs", "activation_elements", "peak_activation_elements"}, ...], "diagnostics": [...]}
    rf:   {"schema_version", "spec", "input", "layer": the last layer with a spatial receptive field,
           "sweep": [{"input": [C, H, W], "output": [C, H, W], "rf": {"height": {"size", "jump", "padding"},
           "width": {...}} or null (global at that size), "covers": bool, "covers_some": bool}, ...],
           "stops_covering_at": [C, H, W] or null, "diagnostics": [...]}

A row's counts are the `totals` of `cnncalc cost --json` at that size. Invalid sizes give one diagnostic
{"severity": "warning" (or "error" when no size is valid), "code": "sweep-invalid-input", "message" (the first
such size, its layer and the reason), "layers": [the failing layers], "inputs": [[C, H, W], ...]}.

`covers`: the receptive field of every output position of that layer contains the whole image (and the layer has
at least one position); `covers_some`: at least one position's does. Bounds are unclipped, padding and dilation
holes included, as in `cnncalc rf`. `stops_covering_at`: the first input, in sweep order, from which on no input
is covered any more (null when the last one is).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterator, Sequence

from .errors import SpecError
from .geometry import any_below
from .graph import Graph, Node, build_graph
from .layers import LayerError
from .layers.base import MAX_INT
from .source import Limits
from .spec import read_spec

SCHEMA_VERSION = 1
MAX_SIZES = 100_000
"""Most input sizes one sweep takes (`32:1024:32` is 32)."""
COST_COLUMNS = ("params", "buffers", "mults", "adds", "comparisons", "activations", "macs", "activation_elements",
                "peak_activation_elements")

_INT64_VALUE = 1 << 52
_INT64_TOTAL = 1 << 60
"""int64 is used when every value at the largest input stays below 2**52 (intermediate results of a layer's rule
are at most a small multiple of its values) and their sum below 2**60."""

_ITEM = re.compile(r"\s*([0-9]+)\s*(?:[xX]\s*([0-9]+)\s*)?\Z", re.ASCII)
_RANGE = re.compile(r"\s*([0-9]+)\s*:\s*([0-9]+)\s*(?::\s*([0-9]+)\s*)?\Z", re.ASCII)
"""ASCII digits only, as in a spec: Python's int() would also take `1_0` and other scripts' digits."""


# ------------------------------------------------------------------------------------------------------ the sizes

def parse_sizes(text: str, option: str = "--input") -> list[tuple[int, int]]:
    """(H, W) of every item of `224,320x480,32:1024:32`: N is N x N, HxW is H x W, START:STOP[:STEP] is every
    START + k*STEP up to STOP (STOP included when it is reached; STEP defaults to 1), square. Numbers are ASCII
    decimal digits up to the spec's own limit, 2**63-1."""
    sizes: list[tuple[int, int]] = []
    for item in text.split(","):
        for digits in re.findall(r"[0-9]+", item, re.ASCII):
            if len(digits.lstrip("0")) > 19 or int(digits) > MAX_INT:  # never int() of thousands of digits
                raise SpecError(f"{option}: {_clip(digits)} is too large; the most is 2**63-1 ({MAX_INT:,})")
        if not item.strip():
            raise SpecError(f"{option}: empty item in {text!r}", hint="write e.g. 224,320 or 32:1024:32 or 224x320")
        ranged = _RANGE.match(item)
        if ranged:
            start, stop, step = int(ranged[1]), int(ranged[2]), int(ranged[3] or 1)
            if step < 1 or start < 1 or stop < start:
                raise SpecError(f"{option}: {item.strip()!r} is not START:STOP:STEP with 1 <= START <= STOP and "
                                "STEP >= 1")
            if len(sizes) + (stop - start) // step + 1 > MAX_SIZES:
                raise SpecError(f"{option}: more than {MAX_SIZES:,} input sizes", hint="use a larger step")
            sizes += [(n, n) for n in range(start, stop + 1, step)]
            continue
        single = _ITEM.match(item)
        if not single:
            raise SpecError(f"{option}: {item.strip()!r} is not a size",
                            hint="write N (square), HxW, or START:STOP:STEP, separated by commas")
        h = int(single[1])
        w = int(single[2]) if single[2] is not None else h
        if h < 1 or w < 1:
            raise SpecError(f"{option}: {item.strip()!r}: sizes are at least 1")
        sizes.append((h, w))
        if len(sizes) > MAX_SIZES:
            raise SpecError(f"{option}: more than {MAX_SIZES:,} input sizes")
    return sizes


def _clip(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}...{text[-4:]} ({len(text)} digits)"


def load_for_sweep(text: str, filename: str, sizes: Sequence[tuple[int, int]],
                   limits: Limits = Limits()) -> Graph:
    """The graph of a spec, for its structure: built at the spec's own input size, or, when the network is invalid
    there, at the largest swept size (the sweep recomputes every shape anyway)."""
    spec = read_spec(text, filename, limits)
    if len(spec.input) != 3:
        raise SpecError("--input sweeps need a C x H x W input; this spec's input is a flat vector",
                        spec.input_pos)
    try:
        return build_graph(spec)
    except SpecError as error:
        if not sizes:
            raise
        h, w = max(sizes, key=lambda s: (s[0] * s[1], s))
        try:
            return build_graph(dataclasses.replace(spec, input=(spec.input[0], h, w)))
        except SpecError:
            raise error from None


# ---------------------------------------------------------------------------------------------- the shape pass

def _np():
    import numpy
    return numpy


def _take(value: Any, positions) -> Any:
    """`value` (ints, arrays of sizes, tuples and None nested) restricted to the sizes at `positions`."""
    if value is None or type(value) is int:
        return value
    if type(value) is tuple:
        return tuple(_take(v, positions) for v in value)
    return value[positions]


def _pick(shape: tuple, j: int) -> tuple:
    """The int shape of the `j`-th size."""
    return tuple(d if type(d) is int else int(d[j]) for d in shape)


def _assemble(per_size: list[tuple], dtype) -> tuple:
    """Per-size int shapes (tuples of tuples) back into one shape tuple with arrays where sizes differ."""
    np = _np()
    first = per_size[0]
    out = []
    for o, shape in enumerate(first):
        dims = []
        for d, value in enumerate(shape):
            column = [s[o][d] for s in per_size]
            dims.append(value if all(v == value for v in column) else np.array(column, dtype=dtype))
        out.append(tuple(dims))
    return tuple(out)


class _Pass:
    """The shapes of every node over all live sizes, in topological order; invalid sizes drop out as they fail.

    `alive` holds the indices (into the sweep) of the sizes still valid; a stored node output is refreshed to the
    live sizes when it is read after some were dropped. A node's output is freed after its last reader."""

    def __init__(self, graph: Graph, sizes: Sequence[tuple[int, int]], dtype) -> None:
        np = _np()
        self.graph = graph
        self.dtype = dtype
        self.alive = np.arange(len(sizes))
        self.generation = 0
        self.failures: dict[int, tuple[str, str]] = {}
        """Sweep index -> (layer name, message) of the first layer that fails at that size."""
        channels = graph.input[0]
        heights = np.array([h for h, _ in sizes], dtype=dtype)
        widths = np.array([w for _, w in sizes], dtype=dtype)
        self.store: dict[int, tuple[int, Any, Any]] = {0: (0, self.alive, (((channels, heights, widths),),))}
        self.last_use: dict[int, int] = {}
        for node in graph.nodes[1:]:
            for i, _ in node.inputs:
                self.last_use[i] = node.index

    def read(self, index: int) -> Any:
        generation, alive, payload = self.store[index]
        if generation != self.generation:
            positions = _np().searchsorted(alive, self.alive)
            payload = _take(payload, positions)
            self.store[index] = (self.generation, self.alive, payload)
        return payload

    def keep(self, index: int, payload: Any) -> None:
        self.store[index] = (self.generation, self.alive, payload)

    def release(self, node: Node) -> None:
        for i, _ in node.inputs:
            if self.last_use.get(i) == node.index:
                self.store.pop(i, None)

    def nodes(self) -> Iterator[tuple[Node, tuple, tuple, Any]]:
        """(node, input shapes, output shapes, positions kept) per node; `positions kept` is None unless sizes were
        dropped at this node (then every per-size array of the caller must be restricted to them)."""
        for node in self.graph.nodes[1:]:
            inputs = tuple(self.read(i)[0][k] for i, k in node.inputs)
            kept = None
            try:
                outputs = node.layer.output_shapes(inputs)
                if any(any_below(d, 1) for shape in outputs for d in shape):
                    raise LayerError("a map is empty at some size")
            except (ValueError, TypeError, ArithmeticError):  # LayerError, GeometryError, or arrays it cannot take
                outputs, kept, inputs = self._size_by_size(node, inputs)
                if outputs is None:
                    return
            self.keep(node.index, (outputs,))
            yield node, inputs, outputs, kept
            self.release(node)

    def _size_by_size(self, node: Node, inputs: tuple):
        """Evaluate `node` at each live size: record the sizes it fails at, drop them, and assemble the rest."""
        results, positions = [], []
        for j, index in enumerate(self.alive.tolist()):
            shapes = tuple(_pick(shape, j) for shape in inputs)
            try:
                outputs = node.layer.output_shapes(shapes)
                for shape in outputs:
                    if any(d < 1 for d in shape):
                        raise LayerError(f"output shape {'x'.join(map(str, shape))} is empty")
            except LayerError as exc:
                self.failures[index] = (node.name, f"layer {node.name!r}: {exc}")
                continue
            results.append(outputs)
            positions.append(j)
        if not results:
            self.alive = self.alive[:0]
            return None, None, None
        kept = None
        if len(positions) < len(self.alive):
            kept = _np().array(positions)
            self.alive = self.alive[kept]
            self.generation += 1
            inputs = _take(inputs, kept)
        return _assemble(results, self.dtype), kept, inputs


def _scalar_pass(graph: Graph, size: tuple[int, int]) -> list[tuple] | None:
    """Every node's output shapes at one size, or None when the network is invalid there."""
    shapes: list[tuple] = [((graph.input[0], size[0], size[1]),)]
    for node in graph.nodes[1:]:
        inputs = tuple(shapes[i][k] for i, k in node.inputs)
        try:
            outputs = node.layer.output_shapes(inputs)
        except LayerError:
            return None
        if any(d < 1 for shape in outputs for d in shape):
            return None
        shapes.append(outputs)
    return shapes


def _dtype(graph: Graph, sizes: Sequence[tuple[int, int]]):
    """int64 when every value at the largest size stays far below 2**63, else object (Python ints).

    Every shape and count rule of cnncalc grows with the input size (floor/ceil of sums and products of sizes and
    constants), so the values at (max H, max W) bound those of every swept size."""
    from .analyzers import METRICS
    top = (max(h for h, _ in sizes), max(w for _, w in sizes))
    if top[0] * top[1] >= _INT64_VALUE:
        return object
    shapes = _scalar_pass(graph, top)
    if shapes is None:
        return object
    total = 0
    for node in graph.nodes[1:]:
        view = Node(node.index, node.name, node.layer, node.inputs,
                    tuple(shapes[i][k] for i, k in node.inputs), shapes[node.index], node.entry)
        values = [d for shape in view.outputs for d in shape] + [v for m in METRICS.values() for v in m.measure(view)]
        if any(abs(v) >= _INT64_VALUE for v in values):
            return object
        total += sum(abs(v) for v in values)
    return "int64" if total < _INT64_TOTAL else object


# --------------------------------------------------------------------------------------------------- documents

def _header(graph: Graph) -> dict:
    return {"schema_version": SCHEMA_VERSION, "spec": graph.name, "input": list(graph.input)}


def _size_text(channels: int, size: tuple[int, int]) -> str:
    return f"{channels}x{size[0]}x{size[1]}"


def _invalid_diagnostic(graph: Graph, sizes: Sequence[tuple[int, int]], failures: dict[int, tuple[str, str]]) -> dict:
    first = min(failures)
    layer, message = failures[first]
    channels = graph.input[0]
    others = len(failures) - 1
    more = f"; {others} other size{'s' if others > 1 else ''} invalid too" if others else ""
    return {"severity": "error" if len(failures) == len(sizes) else "warning", "code": "sweep-invalid-input",
            "message": f"input {_size_text(channels, sizes[first])} is invalid: {message}{more}; "
                       f"left out of the sweep",
            "layers": sorted({name for name, _ in failures.values()}),
            "inputs": [[channels, *sizes[i]] for i in sorted(failures)]}


def _as_int(value: Any, j: int) -> int:
    return value if type(value) is int else int(value[j])


def _measure(metric: Any, view: Node, count: int, dtype) -> tuple:
    """`metric.measure(view)` over the arrays of sizes, or size by size for a rule the arrays cannot take."""
    try:
        return metric.measure(view)
    except (ValueError, TypeError, ArithmeticError):
        pass
    np = _np()
    per_size = []
    for j in range(count):
        inputs = tuple(_pick(shape, j) for shape in view.input_shapes)
        outputs = tuple(_pick(shape, j) for shape in view.outputs)
        per_size.append(metric.measure(Node(view.index, view.name, view.layer, view.inputs, inputs, outputs,
                                            view.entry)))
    return tuple(np.array([values[c] for values in per_size], dtype=dtype) for c in range(len(per_size[0])))


def cost_sweep(graph: Graph, sizes: Sequence[tuple[int, int]]) -> dict:
    """Totals (parameters, operations, activation memory) of the network at every input size: the cost document's
    `totals`, one row per valid size, by the cnncalc convention."""
    from .analyzers import METRICS
    np = _np()
    if not sizes:
        raise SpecError("no input sizes to sweep")
    dtype = _dtype(graph, sizes)
    sweep = _Pass(graph, sizes, dtype)
    metrics = list(METRICS.values())
    columns = [c for m in metrics for c in m.columns]
    totals: dict[str, Any] = {c: 0 for c in columns}
    peak: Any = 0
    for node, inputs, outputs, kept in sweep.nodes():
        if kept is not None:
            totals = {c: _take(v, kept) for c, v in totals.items()}
            peak = _take(peak, kept)
        view = Node(node.index, node.name, node.layer, node.inputs, inputs, outputs, node.entry)
        for metric in metrics:
            for column, value in zip(metric.columns, _measure(metric, view, len(sweep.alive), dtype)):
                totals[column] = totals[column] + value
                if column == "activation_elements":
                    peak = np.maximum(peak, value) if type(value) is not int or type(peak) is not int \
                        else max(peak, value)
    channels = graph.input[0]
    rows = []
    for j, index in enumerate(sweep.alive.tolist()):
        row: dict[str, Any] = {"input": [channels, *sizes[index]]}
        row.update((c, _as_int(totals[c], j)) for c in columns)
        row["peak_activation_elements"] = _as_int(peak, j)
        rows.append(row)
    diagnostics = [_invalid_diagnostic(graph, sizes, sweep.failures)] if sweep.failures else []
    return {**_header(graph), "convention": "cnncalc", "columns": columns + ["peak_activation_elements"],
            "sweep": rows, "diagnostics": diagnostics}


# ------------------------------------------------------------------------------------------ receptive fields

class _NotAffine(Exception):
    """A layer on the way is not a sliding window at some size: receptive fields go size by size."""


def _lo(a: Any, b: Any) -> Any:
    return min(a, b) if type(a) is int and type(b) is int else _np().minimum(a, b)


def _hi(a: Any, b: Any) -> Any:
    return max(a, b) if type(a) is int and type(b) is int else _np().maximum(a, b)


def _through(lines: tuple, rule: Any) -> tuple:
    """The lines (jump, lower offset, upper offset) of a field after a sliding window (see analyzers.rf)."""
    if not getattr(rule, "affine", False):
        raise _NotAffine
    s, before = rule.stride, rule.before
    reach = rule.span - 1 - before
    if s == 1 and type(before) is int and before == 0 and type(reach) is int and reach == 0:
        return lines
    return tuple((j * s, lo - j * before, hi + j * reach) for j, lo, hi in lines)


def _merge(fields: list[tuple]) -> tuple:
    by_jump: dict[int, tuple[Any, Any]] = {}
    for lines in fields:
        for j, lo, hi in lines:
            if j in by_jump:
                old_lo, old_hi = by_jump[j]
                by_jump[j] = (_lo(lo, old_lo), _hi(hi, old_hi))
            else:
                by_jump[j] = (lo, hi)
    return tuple((j, lo, hi) for j, (lo, hi) in sorted(by_jump.items()))


def _at(lines: tuple, i: Any, upper: bool) -> Any:
    """lower(i) = min over lines of j*i + lo, or upper(i) = max of j*i + hi; `i` may be an array."""
    result = None
    for j, lo, hi in lines:
        value = j * i + (hi if upper else lo)
        result = value if result is None else (_hi(result, value) if upper else _lo(result, value))
    return result


def _axis_summary(lines: tuple, count: Any, extent: Any) -> dict:
    """size, jump, padding, covers (all positions) and covers_some, per size (arrays or ints)."""
    np = _np()
    last = count - 1
    if len(lines) == 1:
        _, lo, hi = lines[0]
        size = hi - lo + 1
    else:
        size = _hi(_at(lines, 0, True) - _at(lines, 0, False), _at(lines, last, True) - _at(lines, last, False)) + 1
    padding = -_at(lines, 0, False)
    covers = (_at(lines, last, False) <= 0) & (_at(lines, 0, True) >= extent - 1)
    below = None  # A = max_j floor(-lo / j): positions 0..A reach row 0 or above
    above = None  # B = min_j ceil((extent - 1 - hi) / j): positions B.. reach the last row or below
    for j, lo, hi in lines:
        a = (-lo) // j
        b = -((hi - (extent - 1)) // j)
        below = a if below is None else _hi(below, a)
        above = b if above is None else _lo(above, b)
    first = _hi(above, 0)
    some = (below >= 0) & (first <= last) & (first <= _lo(below, last))
    return {"size": size, "jump": max(j for j, _, _ in lines), "padding": padding,
            "covers": np.asarray(covers), "covers_some": np.asarray(some)}


def _last_spatial(graph: Graph) -> int:
    """Index of the last node whose receptive field is spatial (not global), structurally: 0 when there is none."""
    from .analyzers.rf import receptive_fields
    fields = receptive_fields(graph).fields
    return max((n.index for n in graph.layers if fields[n.index] is not None), default=0)


def _rf_size_by_size(graph: Graph, target: int, sizes: Sequence[tuple[int, int]], alive: list[int]) -> list[dict]:
    """The row values at each size from a scalar graph: exact for any layer."""
    from .analyzers.rf import receptive_fields
    out = []
    for index in alive:
        shapes = _scalar_pass(graph, sizes[index])
        nodes = [Node(n.index, n.name, n.layer, n.inputs, tuple(shapes[i][k] for i, k in n.inputs) if n.index else (),
                      shapes[n.index], n.entry) for n in graph.nodes]
        scalar = Graph(graph.name, graph.file, (graph.input[0], *sizes[index]), nodes)
        field = receptive_fields(scalar).fields[target]
        output = shapes[target][0]
        if field is None:  # every position depends on the whole input at this size (a 1 x 1 map broadcast)
            out.append({"output": list(output), "rf": None, "covers": True, "covers_some": True})
            continue
        axes = {}
        covers = some = True
        for axis, key in ((0, "height"), (1, "width")):
            count = output[1 + axis]
            extent = sizes[index][axis]
            info = field[axis].to_json(count)
            axes[key] = {k: info[k] for k in ("size", "jump", "padding")}
            lows, highs = field[axis].as_table(count)
            hits = [lo is not None and lo <= 0 and hi >= extent - 1 for lo, hi in zip(lows, highs)]
            covers &= bool(hits) and all(hits)
            some &= any(hits)
        out.append({"output": list(output), "rf": axes, "covers": covers, "covers_some": some})
    return out


def rf_sweep(graph: Graph, sizes: Sequence[tuple[int, int]]) -> dict:
    """The receptive field of the last spatial layer at every input size, and whether it covers the whole image."""
    if not sizes:
        raise SpecError("no input sizes to sweep")
    target = _last_spatial(graph)
    channels = graph.input[0]
    doc: dict[str, Any] = {**_header(graph), "layer": graph.nodes[target].name if target else None}
    if target == 0:
        doc.update(sweep=[], stops_covering_at=None, diagnostics=[{
            "severity": "error", "code": "sweep-no-spatial-layer", "layers": [],
            "message": "no layer has a spatial receptive field (every layer depends on the whole input)"}])
        return doc
    sweep = _Pass(graph, sizes, _dtype(graph, sizes))
    fields: dict[int, Any] = {0: (((1, 0, 0),), ((1, 0, 0),))}
    affine = True
    final = None
    for node, inputs, outputs, kept in sweep.nodes():
        if kept is not None:
            fields = {i: _take(f, kept) for i, f in fields.items()}
            final = _take(final, kept)
        if affine and node.index <= target:
            try:
                axes = node.layer.rf_axes(inputs, outputs[0])
                sources = [fields[i] for i, _ in node.inputs]
                if axes is None or any(src is None for src in sources):
                    fields[node.index] = None
                else:
                    fields[node.index] = tuple(
                        _merge([_through(src[axis], axes[axis]) for src in sources]) for axis in (0, 1))
            except (_NotAffine, ValueError, TypeError):
                affine = False
            for i, _ in node.inputs:
                if sweep.last_use.get(i) == node.index and i != target:
                    fields.pop(i, None)
        if node.index == target:
            final = outputs[0]
    alive = sweep.alive.tolist()
    rows = []
    if alive and affine:
        field = fields[target]
        np = _np()
        extents = [np.array([sizes[i][axis] for i in alive], dtype=sweep.dtype) for axis in (0, 1)]
        summaries = [_axis_summary(field[axis], final[1 + axis], extents[axis]) for axis in (0, 1)]
        for j, index in enumerate(alive):
            axes = {key: {k: _as_int(summaries[a][k], j) for k in ("size", "jump", "padding")}
                    for a, key in ((0, "height"), (1, "width"))}
            covers = all(bool(s["covers"].reshape(-1)[j if s["covers"].size > 1 else 0]) for s in summaries)
            some = all(bool(s["covers_some"].reshape(-1)[j if s["covers_some"].size > 1 else 0]) for s in summaries)
            rows.append({"output": [_as_int(d, j) for d in final], "rf": axes, "covers": covers,
                         "covers_some": some})
    elif alive:
        rows = _rf_size_by_size(graph, target, sizes, alive)
    for row, index in zip(rows, alive):
        row["input"] = [channels, *sizes[index]]
    rows = [{"input": row.pop("input"), **row} for row in rows]
    stop = None
    for row in reversed(rows):
        if row["covers"]:
            break
        stop = row["input"]
    diagnostics = [_invalid_diagnostic(graph, sizes, sweep.failures)] if sweep.failures else []
    doc.update(sweep=rows, stops_covering_at=stop, diagnostics=diagnostics)
    return doc
