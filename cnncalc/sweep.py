"""Sweeps over input sizes: one row of costs, or of the last receptive field, per input size, in one pass.

    sizes = parse_sizes("224,320x480,32:1024:32")   # [(224, 224), (320, 480), (32, 32), ...]
    graph = load_for_sweep(text, "net.yaml", sizes)
    doc = cost_sweep(graph, sizes)                   # `cnncalc cost SPEC --input ... --json`
    doc = cost_sweep(graph, sizes, "fvcore")         # `... --convention fvcore`
    doc = rf_sweep(graph, sizes)                     # `cnncalc rf SPEC --input ... --json`

Instead of analysing the network once per size, the shape rules of the layers run once, with numpy arrays of
heights and widths (one element per size) in place of H and W (the `Dim` contract of `cnncalc.layers.base`);
channel counts stay ints. The counts are those of `cnncalc cost`, through the same pipeline (`analyzers.cost`: the
registered metrics, or a convention's, their column sums and extra totals); the receptive fields follow the
recurrences of `analyzers.rf`. The arithmetic is exact: int64 when a bound shows that no value can come near 2**63,
else arrays of Python ints (dtype object). A layer whose shape rule raises LayerError over the arrays (the network
is invalid at some sizes, or the rule cannot decide for all of them at once) is evaluated size by size; so is the
receptive field of a network with a layer whose rule is "indexed" (upsampling, transposed convolution, adaptive
pooling) or differs between the sizes. Any other error is a bug and surfaces. A size at which the network is
invalid (a map shrinks to nothing, inputs of a concat disagree) is left out of the rows and reported in one
diagnostic that names the first such size and its layer.

Documents (schema_version 1, like the other reports):

    cost: {"schema_version", "spec", "input": [C, H, W] (the spec's own), "convention",
           "columns": [every key of the cost document's `totals`], "sweep": [{"input": [C, H, W], "params",
           "buffers", "mults", "adds", "comparisons", "activations", "macs", "activation_elements",
           "peak_activation_elements", ...}, ...], "diagnostics": [...]}
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
import functools
import re
from typing import Any, Iterator, Sequence

from . import conventions
from .analyzers.base import Metric, Step
from .analyzers.cost import cost_metrics, measure, total_keys, totals
from .analyzers.rf import Lines, lower_bound, union_lines, upper_bound, window_lines
from .errors import SpecError
from .geometry import any_below, maximum, minimum
from .graph import Graph, Node, build_graph
from .layers import GLOBAL, LayerError
from .layers.base import MAX_INT, Dim
from .report.model import SCHEMA_VERSION, header  # noqa: F401  (sweep documents share the reports' version)
from .source import Limits
from .spec import read_spec

MAX_SIZES = 100_000
"""Most input sizes one sweep takes (`32:1024:32` is 32)."""

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
        if not single and _SINGLE.match(item):
            raise SpecError(f"{option}: {item.strip()!r}: a sweep varies H and W only; CxHxW is a single size",
                            hint="give the channels alone (--input CxHxW), or sweep N or HxW items")
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


_SINGLE = re.compile(r"\s*([0-9]+)\s*(?:[xX]\s*([0-9]+)\s*(?:[xX]\s*([0-9]+)\s*)?)?\Z", re.ASCII)


def is_sweep(text: str) -> bool:
    """Whether `--input TEXT` sweeps: a comma-separated list, or a START:STOP[:STEP] range (even one that holds a
    single size, `224:224`, a sweep of one row); else it is one size that replaces the spec's input."""
    return "," in text or ":" in text


def single_size(text: str, option: str = "--input") -> tuple[int, ...] | None:
    """The one input size `text` names, when it is a single item: N -> (N, N), HxW -> (H, W), CxHxW -> (C, H, W)
    (channels too); None when it is a sweep (`is_sweep`) or no size at all. SpecError for a size out of bounds."""
    single = None if is_sweep(text) else _SINGLE.match(text)
    if not single:
        return None
    numbers = [digits for digits in single.groups() if digits is not None]
    for digits in numbers:
        if len(digits.lstrip("0")) > 19 or int(digits) > MAX_INT:  # never int() of thousands of digits
            raise SpecError(f"{option}: {_clip(digits)} is too large; the most is 2**63-1 ({MAX_INT:,})")
    size = tuple(int(digits) for digits in numbers)
    if min(size) < 1:
        raise SpecError(f"{option}: {text.strip()!r}: sizes are at least 1")
    return size * 2 if len(size) == 1 else size


def _clip(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}...{text[-4:]} ({len(text)} digits)"


def load_for_sweep(text: str, filename: str, sizes: Sequence[tuple[int, int]],
                   limits: Limits = Limits(), overrides: dict[str, str] | None = None) -> Graph:
    """The graph of a spec, for its structure: built at the spec's own input size, or, when the network is invalid
    there, at the largest swept size (the sweep recomputes every shape anyway); `overrides` sets its parameters
    (`--set NAME=VALUE`)."""
    spec = read_spec(text, filename, limits, overrides)
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
            except LayerError:  # invalid at some sizes, or a rule that cannot decide for all of them at once
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


def _dtype(graph: Graph, sizes: Sequence[tuple[int, int]], metrics: Sequence[Metric]):
    """int64 when every value at the largest size stays far below 2**63, else object (Python ints).

    Every shape and count rule grows with the input size (floor/ceil of sums and products of sizes and constants;
    `Metric` asks it of a metric), so the values at (max H, max W) bound those of every swept size."""
    top = (max(h for h, _ in sizes), max(w for _, w in sizes))
    if top[0] * top[1] >= _INT64_VALUE:
        return object
    shapes = _scalar_pass(graph, top)
    if shapes is None:
        return object
    rows = []
    total = 0
    for node in graph.nodes[1:]:
        view = Node(node.index, node.name, node.layer, node.inputs,
                    tuple(shapes[i][k] for i, k in node.inputs), shapes[node.index], node.entry)
        rows.append(measure(metrics, view))
        values = [abs(int(v)) for v in (*(d for shape in view.outputs for d in shape), *rows[-1])]
        if any(v >= _INT64_VALUE for v in values):
            return object
        total += sum(values)
    if total >= _INT64_TOTAL or any(abs(int(v)) >= _INT64_TOTAL for v in totals(metrics, rows).values()):
        return object
    return "int64"


def _valid(graph: Graph, sizes: Sequence[tuple[int, int]], dtype) -> tuple[list[int], dict[int, tuple[str, str]]]:
    """The indices of the sizes at which the network is valid, and (layer, message) of the first failure at each
    of the others."""
    sweep = _Pass(graph, sizes, dtype)
    for _ in sweep.nodes():
        pass
    return sweep.alive.tolist(), sweep.failures


def _views(graph: Graph, sizes: Sequence[tuple[int, int]], dtype) -> Iterator[Node]:
    """Every layer with its shapes over `sizes` (sizes at which the network is valid): H and W are arrays."""
    sweep = _Pass(graph, sizes, dtype)
    for node, inputs, outputs, kept in sweep.nodes():
        if kept is not None:
            break
        yield Node(node.index, node.name, node.layer, node.inputs, inputs, outputs, node.entry)
    if sweep.failures:  # each size alone passed the same rules: a layer's rule disagrees with itself
        layer, message = next(iter(sweep.failures.values()))
        raise RuntimeError(f"layer {layer!r} fails over arrays of valid sizes ({message}): a bug in its rule")


# --------------------------------------------------------------------------------------------------- documents

def _size_text(channels: int, size: tuple[int, int]) -> str:
    return f"{channels}x{size[0]}x{size[1]}"


def _invalid_diagnostic(graph: Graph, sizes: Sequence[tuple[int, int]], failures: dict[int, tuple[str, str]]) -> dict:
    first = min(failures)
    layer, message = failures[first]
    channels = int(graph.input[0])
    others = len(failures) - 1
    more = f"; {others} other size{'s' if others > 1 else ''} invalid too" if others else ""
    return {"severity": "error" if len(failures) == len(sizes) else "warning", "code": "sweep-invalid-input",
            "message": f"input {_size_text(channels, sizes[first])} is invalid: {message}{more}; "
                       f"left out of the sweep",
            "layers": sorted({name for name, _ in failures.values()}),
            "inputs": [[channels, *sizes[i]] for i in sorted(failures)]}


def _as_int(value: Any, j: int) -> int:
    """The `j`-th size's value of an int or an array of sizes."""
    return int(value[j]) if getattr(value, "ndim", 0) else int(value)


def cost_sweep(graph: Graph, sizes: Sequence[tuple[int, int]], convention: str = conventions.DEFAULT,
               step: Step | None = None) -> dict:
    """The cost document's `totals` (every column sum and extra total, by `convention`, of a training `step` when
    given) at every input size, one row per valid size: the pipeline of `cnncalc cost` run once over arrays of
    sizes."""
    if not sizes:
        raise SpecError("no input sizes to sweep")
    metrics = cost_metrics(convention, step and step.on(graph))
    dtype = _dtype(graph, sizes, metrics)
    alive, failures = _valid(graph, sizes, dtype)
    keys = total_keys(metrics)
    rows = []
    if alive:
        views = _views(graph, [sizes[i] for i in alive], dtype)
        counts = totals(metrics, (measure(metrics, view) for view in views), batch=1)
        channels = graph.input[0]
        for j, index in enumerate(alive):
            row: dict[str, Any] = {"input": [channels, *sizes[index]]}
            row.update((key, _as_int(counts[key], j)) for key in keys)
            rows.append(row)
    diagnostics = [_invalid_diagnostic(graph, sizes, failures)] if failures else []
    training = {} if step is None else {"training": {"batch": step.batch, "optimizer": step.optimizer}}
    return {**header(graph), "convention": convention, **training, "columns": keys, "sweep": rows,
            "diagnostics": diagnostics}


# ------------------------------------------------------------------------------------------ receptive fields

def _axis_summary(lines: Lines, count: Dim, extent: Dim) -> dict:
    """size, jump, padding, covers (all positions) and covers_some, per size (arrays or ints)."""
    np = _np()
    last = count - 1
    if len(lines) == 1:
        _, lo, hi = lines[0]
        size = hi - lo + 1
    else:
        size = maximum(upper_bound(lines, 0) - lower_bound(lines, 0),
                       upper_bound(lines, last) - lower_bound(lines, last)) + 1
    padding = -lower_bound(lines, 0)
    covers = (lower_bound(lines, last) <= 0) & (upper_bound(lines, 0) >= extent - 1)
    # A = max_j floor(-lo / j): positions 0..A reach row 0 or above;
    # B = min_j ceil((extent - 1 - hi) / j): positions B.. reach the last row or below
    below = functools.reduce(maximum, [(-lo) // j for j, lo, _ in lines])
    above = functools.reduce(minimum, [-((hi - (extent - 1)) // j) for j, _, hi in lines])
    first = maximum(above, 0)
    some = (below >= 0) & (first <= last) & (first <= minimum(below, last))
    return {"size": size, "jump": max(j for j, _, _ in lines), "padding": padding,
            "covers": np.asarray(covers), "covers_some": np.asarray(some)}


def _flag(value: Any, j: int) -> bool:
    """The `j`-th size's value of a boolean array that is per size, or one value for all."""
    return bool(value.reshape(-1)[j if value.size > 1 else 0])


def _last_spatial(graph: Graph) -> int:
    """Index of the last node whose receptive field is spatial (not global), structurally: 0 when there is none."""
    from .analyzers.rf import receptive_fields
    fields = receptive_fields(graph).fields
    return max((n.index for n in graph.layers if fields[n.index] is not None), default=0)


def _rf_size_by_size(graph: Graph, target: int, sizes: Sequence[tuple[int, int]]) -> list[dict]:
    """The row values at each (valid) size from a scalar graph: exact for any layer."""
    from .analyzers.rf import receptive_fields
    out: list[dict] = []
    for size in sizes:
        shapes = _scalar_pass(graph, size)
        if shapes is None:
            raise RuntimeError(f"input {size} passed the sweep's shape rules and fails alone: a bug in a layer's rule")
        nodes = [Node(n.index, n.name, n.layer, n.inputs, tuple(shapes[i][k] for i, k in n.inputs) if n.index else (),
                      shapes[n.index], n.entry) for n in graph.nodes]
        scalar = Graph(graph.name, graph.file, (graph.input[0], *size), nodes)
        field = receptive_fields(scalar).fields[target]
        output = shapes[target][0]
        if field is None:  # every position depends on the whole input at this size (a 1 x 1 map broadcast)
            out.append({"output": list(output), "rf": None, "covers": True, "covers_some": True})
            continue
        axes = {}
        covers = some = True
        for axis, key in ((0, "height"), (1, "width")):
            count = output[1 + axis]
            extent = size[axis]
            info = field[axis].to_json(count)
            axes[key] = {k: info[k] for k in ("size", "jump", "padding")}
            lows, highs = field[axis].as_table(count)
            hits = [lo is not None and hi is not None and lo <= 0 and hi >= extent - 1 for lo, hi in zip(lows, highs)]
            covers &= bool(hits) and all(hits)
            some &= any(hits)
        out.append({"output": list(output), "rf": axes, "covers": covers, "covers_some": some})
    return out


def _rf_vectorized(graph: Graph, target: int, sizes: Sequence[tuple[int, int]], dtype) -> list[dict] | None:
    """The rows over arrays of sizes, when every layer up to `target` is a sliding window (or global) at every size
    alike; None otherwise (an "indexed" layer, or a rule that raises LayerError over the arrays)."""
    np = _np()
    last_use: dict[int, int] = {}
    for node in graph.nodes[1:target + 1]:
        for i, _ in node.inputs:
            last_use[i] = node.index
    fields: dict[int, tuple[Lines, Lines] | None] = {0: (((1, 0, 0),), ((1, 0, 0),))}
    for view in _views(graph, sizes, dtype):
        if view.layer.indexed_rf:  # its rf_axes takes int sizes only
            return None
        try:
            axes = view.layer.rf_axes(view.input_shapes, view.output)
        except LayerError:  # the rule differs between the sizes (mul broadcasting at some of them)
            return None
        sources = [fields[i] for i, _ in view.inputs]
        if axes is GLOBAL or any(src is None for src in sources):
            fields[view.index] = None
        elif not (axes[0].affine and axes[1].affine):
            return None
        else:
            fields[view.index] = tuple(union_lines([window_lines(src[axis], axes[axis])  # type: ignore
                                                    for src in sources]) for axis in (0, 1))  # type: ignore
        for i, _ in view.inputs:
            if last_use.get(i) == view.index:
                fields.pop(i, None)
        if view.index == target:
            break
    field, final = fields[target], view.output
    if field is None:  # global at every size: the scalar path says so per size
        return None
    extents = [np.array([size[axis] for size in sizes], dtype=dtype) for axis in (0, 1)]
    summaries = [_axis_summary(field[axis], final[1 + axis], extents[axis]) for axis in (0, 1)]
    rows = []
    for j in range(len(sizes)):
        axes_json = {key: {k: _as_int(summaries[a][k], j) for k in ("size", "jump", "padding")}
                     for a, key in ((0, "height"), (1, "width"))}
        rows.append({"output": [_as_int(d, j) for d in final], "rf": axes_json,
                     "covers": all(_flag(s["covers"], j) for s in summaries),
                     "covers_some": all(_flag(s["covers_some"], j) for s in summaries)})
    return rows


def rf_sweep(graph: Graph, sizes: Sequence[tuple[int, int]]) -> dict:
    """The receptive field of the last spatial layer at every input size, and whether it covers the whole image."""
    if not sizes:
        raise SpecError("no input sizes to sweep")
    target = _last_spatial(graph)
    channels = graph.input[0]
    doc: dict[str, Any] = {**header(graph), "layer": graph.nodes[target].name if target else None}
    if target == 0:
        doc.update(sweep=[], stops_covering_at=None, diagnostics=[{
            "severity": "error", "code": "sweep-no-spatial-layer", "layers": [],
            "message": "no layer has a spatial receptive field (every layer depends on the whole input)"}])
        return doc
    dtype = _dtype(graph, sizes, cost_metrics())
    alive, failures = _valid(graph, sizes, dtype)
    valid = [sizes[i] for i in alive]
    found = (_rf_vectorized(graph, target, valid, dtype) or _rf_size_by_size(graph, target, valid)) if valid else []
    rows = [{"input": [channels, *size], **row} for size, row in zip(valid, found)]
    stop = None
    for row in reversed(rows):
        if row["covers"]:
            break
        stop = row["input"]
    diagnostics = [_invalid_diagnostic(graph, sizes, failures)] if failures else []
    doc.update(sweep=rows, stops_covering_at=stop, diagnostics=diagnostics)
    return doc
