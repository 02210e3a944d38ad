"""The tables of the report documents, as `render.Table`s (plain text, no rich): which columns, in which order,
and which give way first on a narrow terminal (`priority`; see cnncalc.report.render for the layout rules)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ..analyzers import METRICS
from ..layers import REGISTRY, Layer, fields_of
from ..layers.base import __doc__ as CONVENTION_DOC
from .render import DEFAULT_PRIORITY, NAME, REQUIRED, TEXT, Column, Table


def _shape(shape: list) -> str:
    if shape and isinstance(shape[0], list):
        return ", ".join(_shape(s) for s in shape)
    return "x".join(map(str, shape))


def _n(value: int) -> str:
    return f"{value:,}"


def _title(doc: dict, what: str) -> str:
    return f"{what}: {doc['spec']} (input {_shape(doc['input'])})"


def _titles() -> dict[str, str]:
    """Column and extra-total key -> table heading, from the metric registry as it is now (plug-ins register late)."""
    titles = {c: t for m in METRICS.values() for c, t in zip(m.columns, m.titles)}
    titles.update((e.key, e.title) for m in METRICS.values() for e in m.extra_totals)
    return titles


PRIORITY = {"params": REQUIRED, "macs": REQUIRED, "mults": 60, "adds": 55, "activations": 45,
            "activation_elements": 40, "peak_activation_elements": 40, "comparisons": 30, "buffers": 20,
            "training_macs": REQUIRED, "backward_macs": 65, "backward_mults": 50, "backward_adds": 48,
            "backward_activations": 42, "optimizer_state": 62, "optimizer_mults": 38, "optimizer_adds": 37,
            "optimizer_roots": 25}
"""Which count columns give way first on a narrow terminal (lowest first); a column not named here (a metric
added later) gets DEFAULT_PRIORITY."""


def _title_of(column: str, titles: dict[str, str] | None = None) -> str:
    return (titles or _titles()).get(column, column.replace("_", " "))


def _columns(doc: dict) -> list[tuple[str, str]]:
    convention = doc["convention"]
    titles = _titles()
    return [(c, f"{convention} MACs" if c == "macs" and convention != "cnncalc" else _title_of(c, titles))
            for c in doc["columns"]]


def _extra_totals(doc: dict) -> str:
    """The totals beyond the column sums (the largest output, ...), as one line."""
    titles = _titles()
    return "; ".join(f"{_title_of(k, titles)}: {_n(v)}" for k, v in doc["totals"].items() if k not in doc["columns"])


def _count(column: str, title: str, footer: str = "") -> Column:
    return Column(title, "right", priority=PRIORITY.get(column, DEFAULT_PRIORITY), footer=footer)


def cost_table(doc: dict, sort: str | None = None) -> Table:
    """Per layer, in file order, or with `sort` (a key of `doc["columns"]`) most first, with a bar of that count."""
    columns = _columns(doc)
    caption = "; ".join(filter(None, [_extra_totals(doc), "convention: `cnncalc layers`"]))
    rows = doc["layers"] if sort is None else sorted_rows(doc["layers"], sort)
    table = Table(_title(doc, f"cost by the {doc['convention']} convention"), (
        Column("layer", kind=NAME, priority=REQUIRED, footer="total"), Column("type", kind=NAME, priority=70),
        Column("output", priority=REQUIRED),
        *(_count(c, title, _n(doc["totals"][c])) for c, title in columns)),
        [(row["name"], row["type"], _shape(row["output"]), *(_n(row[c]) for c, _ in columns))
         for row in rows], caption=caption, show_footer=True)
    return table if sort is None else _with_bar(table, rows, sort, 3 + doc["columns"].index(sort) + 1)


def group_table(doc: dict, sort: str | None = None) -> Table:
    """Per group, in order of first appearance, or with `sort` most first, with a bar (as `cost_table`)."""
    columns = _columns(doc)
    rows = doc["groups"] if sort is None else sorted_rows(doc["groups"], sort)
    table = Table(_title(doc, f"cost by {doc['group_by']}, {doc['convention']} convention"), (
        Column(doc["group_by"], kind=NAME, priority=REQUIRED, footer="total"),
        Column("layers", "right", priority=70, footer=_n(sum(g["layers"] for g in doc["groups"]))),
        *(_count(c, title, _n(doc["totals"][c])) for c, title in columns)),
        [(group["group"], _n(group["layers"]), *(_n(group[c]) for c, _ in columns)) for group in rows],
        caption=_extra_totals(doc), show_footer=True)
    return table if sort is None else _with_bar(table, rows, sort, 2 + doc["columns"].index(sort) + 1)


SORT_BAR_CELLS = 10
"""Width of a full bar of `--sort`, in terminal cells (each split in eighths): the row with the largest value."""
SORT_BAR_PRIORITY = 62
"""The bar of `--sort` gives way on a narrow terminal after the minor counts and the mults and adds (which restate
the MACs for most layers), before the layer type, params and MACs; the sorted column is never hidden."""


def sorted_rows(rows: list[dict], column: str) -> list[dict]:
    """`rows` by `column`, the largest first; rows with equal values keep their order (file order for layers), and
    rows without one (None: a layer without a weight in `cnncalc grad`) come last, in file order. The one ordering
    of every `--sort` (tables and `Report.rows()`)."""
    return sorted(rows, key=lambda row: (row[column] is None, -(row[column] or 0)))


def _sorted_caption(table: Table, title: str, bar: str = "") -> Table:
    """`table`'s caption led by what `--sort` did, by the column headed `title` (and what its bar shows)."""
    caption = f"sorted by {title}, the largest first (equal ones in file order){bar}; " + table.caption
    return dataclasses.replace(table, caption=caption.rstrip("; "))


def _with_bar(table: Table, rows: list[dict], column: str, at: int, shown: Callable[[int], str] = _n) -> Table:
    """`table`, whose `rows` are sorted by `column`, with a bar column right after that column (the first `at`
    cells of a row end with it): each row's value as a share of the largest, linear, the largest written by `shown`;
    the sorted column is never hidden. Every `--sort` table but grad's draws its bar here."""
    title = table.columns[at - 1].header
    largest = max((row[column] for row in rows), default=0)
    bars = [linear_bar(row[column], largest, SORT_BAR_CELLS) for row in rows]
    columns = (*table.columns[:at - 1], dataclasses.replace(table.columns[at - 1], priority=REQUIRED),
               Column(f"{title} bar", priority=SORT_BAR_PRIORITY), *table.columns[at:])
    barred = dataclasses.replace(table, columns=columns,
                                 rows=[(*cells[:at], bar, *cells[at:]) for cells, bar in zip(table.rows, bars)])
    return _sorted_caption(barred, title, f"; bar: {title} as a share of the largest, {shown(largest)}")


def compare_tables(doc: dict) -> list[Table]:
    names = [s["spec"] for s in doc["specs"]]
    totals = Table(f"compare ({doc['convention']} convention); ratio to {names[0]}", (
        Column("", kind=NAME, priority=REQUIRED),
        *(Column(name, "right", priority=REQUIRED, header_shrinks=True) for name in names),
        *(Column(f"{name} / {names[0]}", "right", priority=50, header_shrinks=True) for name in names[1:])),
        [(_title_of(column), *(_n(s["totals"][column]) for s in doc["specs"]),
          *("-" if r is None else f"{r:.3f}" for r in (s["ratio"][column] for s in doc["specs"][1:])))
         for column in doc["columns"]])
    key = "macs" if "macs" in doc["columns"] else doc["columns"][0]
    headers = []
    for name in names:
        headers += [Column(f"{name} params", "right", priority=REQUIRED, header_shrinks=True),
                    Column(f"{name} {_title_of(key)}", "right", priority=REQUIRED, header_shrinks=True)]
    rows = []
    for block in doc["blocks"]:
        cells = [block["block"]]
        for values in block["totals"]:
            cells += ["-", "-"] if values is None else [_n(values["params"]), _n(values[key])]
        rows.append(cells)
    return [totals, Table("per block", (Column("block", kind=NAME, priority=REQUIRED), *headers), rows)]


def diagnostic_lines(doc: dict) -> list[str]:
    return [f"[{d['severity']}] {d['message']}" for d in doc.get("diagnostics", [])]


def _pair(h: dict, w: dict, key: str) -> str:
    return str(h[key]) if h[key] == w[key] else f"{h[key]}x{w[key]}"


_RF_COLUMNS = (Column("layer", kind=NAME, priority=REQUIRED), Column("type", kind=NAME, priority=50),
               Column("output", priority=80), Column("rf", "right", priority=REQUIRED),
               Column("jump", "right", priority=70), Column("padding", "right", priority=65),
               Column("rows", priority=75), Column("cols", priority=60))


def rf_table(doc: dict) -> Table:
    rows = []
    gated = False
    for row in doc["layers"]:
        if row["global"] and "local" not in row:
            rows.append((row["name"], row["type"], _shape(row["output"]), "global", "", "", "whole input", ""))
            continue
        h, w = (row["local"] if row["global"] else row["rf"])["height"], (row["local"] if row["global"] else
                                                                         row["rf"])["width"]
        gate = "*" if row["global"] else ""
        gated = gated or row["global"]
        mark = "" if h["aligned"] and w["aligned"] else " (misaligned)"
        rows.append((row["name"], row["type"], _shape(row["output"]), f"{h['size']}x{w['size']}{gate}",
                     _pair(h, w, "jump"), _pair(h, w, "padding"), h["bounds"] + mark,
                     w["bounds"] if w["bounds"] != h["bounds"] else "same"))
    caption = "output index i depends on input rows/cols in the bounds shown (0-based, before clipping)"
    if gated:
        caption += ("; * global only through a channel gate (squeeze-excitation, mul by C x 1 x 1): the field of "
                    "the spatial path, the gate as a constant")
    return Table(_title(doc, "receptive fields"), _RF_COLUMNS, rows, caption=caption)


def at_lines(doc: dict) -> list[str]:
    at = doc["at"]
    clipped = lambda key: "none (all padding)" if at[key] is None else f"{at[key][0]} .. {at[key][1]}"  # noqa
    return [f"{at['layer']}[{at['index'][0]}, {at['index'][1]}] depends on input rows {at['rows'][0]} .. "
            f"{at['rows'][1]}, cols {at['cols'][0]} .. {at['cols'][1]}",
            f"  inside the image: rows {clipped('rows_clipped')}, cols {clipped('cols_clipped')}"]


def layers_table(convention: str = "cnncalc") -> Table:
    from .. import conventions
    preset = conventions.get(convention)
    title = "layer types and how cnncalc counts them" if preset is None else \
        f"layer types and how {preset.name} counts them ({preset.figure})"
    rows = []
    for name, cls in sorted(REGISTRY.items()):
        attrs = []
        for f in fields_of(cls):
            default = "" if f.default is dataclasses.MISSING else f" = {f.metadata['shown'] or _default(f.default)}"
            attrs.append(f"{f.name}{default}")
        rule = cls.counting if preset is None else (
            preset.rules[name].doc if name in preset.rules else "unsupported: reported as a diagnostic")
        rows.append((name, ", ".join(attrs) or "-", rule))
    return Table(title, (Column("type", kind=NAME, priority=REQUIRED),
                         Column("attributes (default)", kind=TEXT, priority=REQUIRED),
                         Column("counting rule", kind=TEXT, priority=REQUIRED)), rows)


def _default(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    if hasattr(value, "describe"):
        return value.describe()  # type: ignore[union-attr]
    if value is None:
        return "optional"
    return str(value).lower() if isinstance(value, bool) else str(value)


def convention_text(convention: str = "cnncalc") -> str:
    """The convention's statement: the docstring of the layer base module, or the preset's own `statement`."""
    if convention != "cnncalc":
        from .. import conventions
        preset = conventions.get(convention)
        return preset.statement.strip() if preset is not None else ""
    text = CONVENTION_DOC or ""
    return text[text.index("Counting convention"):].strip()


def reflow(text: str) -> str:
    """Prose written with hard line breaks (a docstring) as one line per paragraph and per list item (`- `), for
    the renderer to wrap at the terminal's width; a blank line still separates paragraphs."""
    out: list[str] = []
    joining = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            out.append("")
            joining = False
        elif joining and not stripped.startswith("- ") and not out[-1].endswith(":"):
            out[-1] += " " + stripped
        else:
            out.append(line.rstrip())
            joining = True
    return "\n".join(out)


def metrics_text(convention: str = "cnncalc") -> str:
    """What each column of `cnncalc cost` counts under `convention`, from the metric registry."""
    from ..analyzers.cost import cost_metrics
    lines = [f"- {', '.join([*m.columns, *(e.key for e in m.extra_totals)])}\n  {m.doc}"
             for m in cost_metrics(convention)]
    if convention == "cnncalc":  # the columns `--training` adds (backward convention above)
        lines += [f"- {', '.join(m.columns)} (with --training)\n  {m.doc}" for m in METRICS.values()
                  if m.training_only]
    return "\nColumns of `cnncalc cost` (JSON keys; the extra totals after the column sums):\n" + "\n".join(lines)


LAYER_RULES = ("forward", "backward", "memory", "onnx")
"""`cnncalc layers --rule`: which rule of every layer type it shows (forward: the counting rule)."""


def unsupported(command: str) -> str:
    """The cell of a layer type that `command` has no rule for (a plug-in's type)."""
    return f"— not supported by cnncalc {command}"


def rule_text(rule: str) -> str:
    """The statement of `rule`'s convention, where the code states it: the backward paragraph of the layer base
    module's docstring, the docstring of cnncalc.analyzers.memory_bytes, or of cnncalc.onnx.export."""
    if rule == "backward":
        text = CONVENTION_DOC or ""
        return text[text.index("Backward convention"):].strip()
    if rule == "memory":
        from ..analyzers import memory_bytes
        return (memory_bytes.__doc__ or "").strip()
    if rule == "onnx":
        from ..onnx import export as onnx_export
        return (onnx_export.__doc__ or "").strip()
    return convention_text()


def layer_rules(name: str, cls: type[Layer]) -> dict[str, Any]:
    """Every rule of one layer type, from the objects the analyzers use (None: not supported): `forward` (its
    `counting`), `backward` (`Layer.backward_rule`), `grad` (a bool: whether cnncalc.grad.rules has it), `storage` and
    `saves` and `saves_pytorch` (cnncalc.analyzers.memory_bytes: `storage`, SAVED, PYTORCH), `onnx`
    (cnncalc.onnx.export.MAPPINGS's `form`)."""
    from ..onnx import export as onnx_export
    from ..analyzers import memory_bytes
    from ..grad.rules import RULES
    inplace = any(f.name == "inplace" for f in fields_of(cls))
    memory = name in memory_bytes.SAVED
    return {"forward": cls.counting, "backward": cls.backward_rule(), "grad": name in RULES,
            "storage": memory_bytes.storage(name, inplace) if memory else None,
            "saves": memory_bytes.saves(name, "cnncalc") if memory else None,
            "saves_pytorch": memory_bytes.saves(name, "pytorch") if memory else None,
            "onnx": onnx_export.MAPPINGS[name].form if name in onnx_export.MAPPINGS else None}


def layers_document() -> dict:
    """`cnncalc layers --json`: every convention's statement (`rule_text`) and every registered type with its
    attributes (`default` None: required) and every rule (`layer_rules`)."""
    types = []
    for name, cls in sorted(REGISTRY.items()):
        attributes = [{"name": f.name, "accepts": f.metadata["kind"].describe, "doc": f.metadata["doc"],
                       "default": None if f.default is dataclasses.MISSING else
                       f.metadata["shown"] or _default(f.default)} for f in fields_of(cls)]
        types.append({"type": name, "summary": cls.summary, "rf": cls.rf, "attributes": attributes,
                      "rules": layer_rules(name, cls)})
    return {"schema_version": 1, "conventions": {rule: rule_text(rule) for rule in LAYER_RULES}, "types": types}


def rule_table(rule: str) -> Table:
    """Every registered layer type with `rule`'s column(s) (forward: `layers_table`); a rule a type lacks (a plug-in's
    type) shows `unsupported`."""
    if rule == "forward":
        return layers_table()
    rows: list[tuple[str, ...]] = []
    for name, cls in sorted(REGISTRY.items()):
        rules = layer_rules(name, cls)
        if rule == "backward":
            rows.append((name, rules["backward"] or unsupported("cost --training"),
                         "yes" if rules["grad"] else unsupported("grad")))
        elif rule == "memory":
            kept = rules["saves"]
            if kept is not None and rules["saves_pytorch"] != kept:
                kept += f"; --convention pytorch: {rules['saves_pytorch']}"
            rows.append((name, rules["storage"] or "—", kept or unsupported("memory")))
        else:
            rows.append((name, rules["onnx"] or unsupported("export")))
    first = Column("type", kind=NAME, priority=REQUIRED)
    if rule == "backward":
        return Table("layer types and their backward rules (`cnncalc cost --training`)", (
            first, Column("backward rule", kind=TEXT, priority=REQUIRED),
            Column("cnncalc grad", kind=TEXT, priority=REQUIRED)), rows,
            caption="each rule is derived in the docstring of the type's `backward`; cnncalc grad: the types it "
                    "runs (cnncalc/grad/rules.py)")
    if rule == "memory":
        return Table("layer types and what cnncalc memory counts for them", (
            first, Column("output storage", kind=TEXT, priority=REQUIRED),
            Column("kept for the backward pass", kind=TEXT, priority=REQUIRED)), rows,
            caption="kept: the cnncalc convention (SAVED), and where PyTorch's autograd keeps other tensors, "
                    "--convention pytorch (PYTORCH), in cnncalc/analyzers/memory_bytes.py")
    return Table("layer types and their ONNX form (`cnncalc export`; `cnncalc import` reads it back)", (
        first, Column("ONNX form", kind=TEXT, priority=REQUIRED)), rows,
        caption="op types of ONNX opset 17; MAPPINGS in cnncalc/onnx/export.py")


def graph_table(doc: dict) -> Table:
    return Table(f"{doc['spec']}: {len(doc['layers'])} layers, input {_shape(doc['input'])}", (
        Column("layer", kind=NAME, priority=REQUIRED), Column("type", kind=NAME, priority=60),
        Column("inputs", kind=TEXT, priority=50), Column("output", priority=REQUIRED)),
        [(row["name"], row["type"], ", ".join(row["inputs"]), _shape(row["output"])) for row in doc["layers"]])


def sweep_table(doc: dict) -> Table:
    """The table of a cost or rf sweep document (`cnncalc.sweep`)."""
    if "layer" not in doc:  # cost
        columns = _columns(doc)
        return Table(f"cost over {len(doc['sweep'])} input sizes: {doc['spec']} ({doc['convention']} convention)",
                     (Column("input", priority=REQUIRED), *(_count(c, title) for c, title in columns)),
                     [(_shape(row["input"]), *(_n(row[c]) for c, _ in columns)) for row in doc["sweep"]])
    rows = []
    for row in doc["sweep"]:
        if row["rf"] is None:
            rows.append((_shape(row["input"]), _shape(row["output"]), "global", "", "", "yes"))
            continue
        h, w = row["rf"]["height"], row["rf"]["width"]
        covers = "yes" if row["covers"] else "some positions" if row["covers_some"] else "no"
        rows.append((_shape(row["input"]), _shape(row["output"]), f"{h['size']}x{w['size']}", _pair(h, w, "jump"),
                     _pair(h, w, "padding"), covers))
    stop = doc.get("stops_covering_at")
    return Table(f"receptive field of {doc['layer']} over {len(doc['sweep'])} input sizes: {doc['spec']}", (
        Column("input", priority=REQUIRED), Column("output", priority=80), Column("rf", "right", priority=REQUIRED),
        Column("jump", "right", priority=70), Column("padding", "right", priority=65),
        Column("covers image", priority=REQUIRED)), rows,
        caption=(f"from input {_shape(stop)} on, not every output position sees the whole image" if stop else
                 "every output position sees the whole image at the last input swept"))


def sweep_renderables(doc: dict) -> list:
    """The table and one line per diagnostic."""
    return [sweep_table(doc), *diagnostic_lines(doc)]


# ------------------------------------------------------------------------------------------------- cnncalc grad

BAR_CELLS = 24
"""Width of a full bar of `cnncalc grad`, in terminal cells (each split in eighths)."""
MIN_DECADES = 8
"""The least span of a bar scale, so that norms within a decade or two of each other (a ReLU network's) draw bars
of nearly equal length instead of being stretched over the whole width."""
_EIGHTHS = " ▏▎▍▌▋▊▉"


def log_scale(values: list[float]) -> tuple[int, int]:
    """(lowest, highest) power of ten of a bar scale that holds every positive value, at least MIN_DECADES apart."""
    import math
    logs = [math.log10(v) for v in values if v > 0]
    if not logs:
        return 0, 1
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    return min(low, high - MIN_DECADES), high


def bar(eighths: int, cells: int = BAR_CELLS) -> str:
    """A horizontal bar of block characters `eighths` eighths of a cell long, at most `cells` full blocks."""
    eighths = min(max(eighths, 0), cells * 8)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def linear_bar(value: int, largest: int, cells: int) -> str:
    """A bar `value / largest` of `cells` cells long, rounded to the nearest eighth of a cell (half up, in exact
    integers); a positive value shows at least one eighth; "" for 0."""
    if value <= 0 or largest <= 0:
        return ""
    return bar(max(1, (2 * value * cells * 8 + largest) // (2 * largest)), cells)


def log_bar(value: float | None, scale: tuple[int, int], cells: int = BAR_CELLS) -> str:
    """A horizontal bar of block characters, its length proportional to log10(value) between the powers of ten
    of `scale` (an empty bar at 10**low and below, `cells` full blocks at 10**high); a positive value shows at
    least one eighth; "" for None or 0."""
    import math
    if not value or value <= 0:
        return ""
    low, high = scale
    return bar(max(round((math.log10(value) - low) / (high - low) * cells * 8), 1), cells)


def _norm(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}" if value == 0 else f"{value:.2e}"


def grad_table(doc: dict, sort: str | None = None) -> Table:
    """Per layer: the weight's scheme, the norms of the weight and output gradients, each with a log-scale bar
    (one scale for both columns, so that bars compare across them). With `sort` (`weight_grad_norm` or
    `output_grad_norm`) the rows go largest first, layers without that norm last, and no linear bar is added: the
    norms span many decades (the vanishing ones are the point), where a share of the largest would draw nothing for
    most rows, while the log bars, ordered, show the decay as a staircase."""
    rows = doc["layers"] if sort is None else sorted_rows(doc["layers"], sort)
    scale = log_scale([v for row in rows for v in (row["weight_grad_norm"], row["output_grad_norm"]) if v])
    decades = (scale[1] - scale[0]) / BAR_CELLS
    title = (f"gradient norms: {doc['spec']} (input {_shape(doc['input'])}, batch {doc['batch']}, init "
             f"{doc['init']}, loss {doc['loss']}, seed {doc['seed']})")
    caption = (f"bars: log10 scale from 1e{scale[0]:+d} (empty) to 1e{scale[1]:+d} (full), one █ = {decades:.3g} "
               f"decades; ||dL/dW|| of the weight (biases left out), ||dL/dy|| of the output; loss "
               f"{doc['loss_value']:.4g}")
    table = Table(title, (
        Column("layer", kind=NAME, priority=REQUIRED), Column("type", kind=NAME, priority=50),
        Column("init", kind=NAME, priority=40), Column("weight grad", "right", priority=REQUIRED),
        Column("log weight grad", priority=80), Column("output grad", "right", priority=REQUIRED),
        Column("log output grad", priority=45)),
        [(row["name"], row["type"], row["init"] or "-", _norm(row["weight_grad_norm"]),
          log_bar(row["weight_grad_norm"], scale), _norm(row["output_grad_norm"]),
          log_bar(row["output_grad_norm"], scale)) for row in rows], caption=caption)
    if sort is None:
        return table
    return _sorted_caption(table, "||dL/dW||" if sort == "weight_grad_norm" else "||dL/dy||", ", layers without "
                           "one (-) last")


# ----------------------------------------------------------------------------------------------- cnncalc memory

def human_bytes(n: int) -> str:
    """Bytes in the largest binary unit that keeps at least 1 (B, KiB, MiB, GiB, TiB), 1 decimal above B."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def memory_columns(doc: dict) -> list[tuple[str, str]]:
    """(row key, heading) of the byte columns of the memory table of `doc`, in table order: the columns
    `cnncalc memory --sort` takes."""
    columns = [("parameter_bytes", "params"), ("output_bytes", "output"), ("live_bytes", "live (inference)")]
    if doc["training"]:
        columns += [("gradient_bytes", "grads"), ("optimizer_state_bytes", "opt state"),
                    ("saved_activation_bytes", "kept for backward")]
    return columns


def memory_table(doc: dict, sort: str | None = None) -> Table:
    """Per layer: its weights, its output, the live activations while it runs and, in training, its gradient,
    optimizer state and kept activations; the totals as the footer (exact bytes are in the JSON). With `sort` (a
    key of `memory_columns`), most first, with a bar (as `cost_table`)."""
    training = doc["training"]
    keys = [key for key, _ in memory_columns(doc)]
    heads = [head for _, head in memory_columns(doc)]
    totals = doc["totals"]
    foot = {"parameter_bytes": totals["parameter_bytes"], "gradient_bytes": totals["gradient_bytes"],
            "optimizer_state_bytes": totals["optimizer_state_bytes"],
            "saved_activation_bytes": totals["saved_activation_bytes"]}
    columns = [Column("layer", kind=NAME, priority=REQUIRED, footer="total"), Column("type", kind=NAME, priority=50)]
    columns += [Column(h, "right", priority=REQUIRED if k in ("parameter_bytes", "saved_activation_bytes")
                       else 60, footer=human_bytes(foot[k]) if foot.get(k) is not None else "")
                for k, h in zip(keys, heads)]
    layers = doc["layers"] if sort is None else sorted_rows(doc["layers"], sort)
    rows = [[row["name"], row["type"], *(human_bytes(row[k]) for k in keys)] for row in layers]
    mode = f"training, {doc['optimizer']}" if training else "inference"
    title = f"memory: {doc['spec']} (input {_shape(doc['input'])}, batch {doc['batch']}, {doc['dtype']}, {mode})"
    peaks = [f"peak inference {human_bytes(totals['peak_inference_bytes'])}"]
    if training:
        peaks.append(f"peak training {human_bytes(totals['peak_training_bytes'])}")
    caption = (", ".join(peaks) + f"; buffers {human_bytes(totals['buffer_bytes'])}; KiB = 1024 B; exact bytes "
               "and the schedule assumed, and what each layer keeps: --json")
    table = Table(title, tuple(columns), rows, caption=caption, show_footer=True)
    return table if sort is None else _with_bar(table, layers, sort, 2 + keys.index(sort) + 1,
                                                lambda n: f"{human_bytes(n)} ({n:,} B)")
