"""The command line: a thin typer app over the library. Errors become one message on stderr and exit code 2."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional, TypeVar

import typer

from . import __version__
from ._typer_fast import FastGroup
from .errors import SpecError
from .files import check_output, write_atomic, write_stderr, write_stdout
from .report.formats import FORMATS
from .source import Limits

app = typer.Typer(cls=FastGroup, no_args_is_help=True, rich_markup_mode=None,
                  help="Exact receptive fields, parameters and operation counts of CNNs written as YAML specs.")

SpecArg = Annotated[str, typer.Argument(help="spec file (YAML, or an ONNX model), or - for standard input",
                                        show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="write one JSON document to stdout")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="write to FILE atomically instead")]
MaxLayersOpt = Annotated[int, typer.Option("--max-layers", help="refuse specs expanding to more layers")]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", help="refuse larger spec files")]
MaxTracedOpt = Annotated[int, typer.Option("--max-traced", help="refuse receptive fields tracing more positions")]
MaxJumpDigitsOpt = Annotated[int, typer.Option("--max-jump-digits", help="refuse longer receptive-field jumps")]
WideOpt = Annotated[bool, typer.Option("--wide", help="print every column in full, whatever the terminal's width")]
ShowOpt = Annotated[bool, typer.Option("--show", help="with --at: draw the input grid and that position's field")]
PlotOpt = Annotated[bool, typer.Option("--plot", help="with an --input sweep: plot it instead of the table")]
SortOpt = Annotated[Optional[str], typer.Option("--sort", metavar="COLUMN", help="rows by this count (a JSON key: "
                                                "params, macs, ...), the largest first, with a bar")]
MemorySortOpt = Annotated[Optional[str], typer.Option("--sort", metavar="COLUMN", help="rows by this byte column (a "
                                                      "JSON key: live_bytes, ...), the largest first, with a bar")]
GradSortOpt = Annotated[Optional[str], typer.Option("--sort", metavar="COLUMN", help="rows by weight_grad_norm or "
                                                    "output_grad_norm, the largest first, layers without one last")]
FormatName = Enum("FormatName", {name: name for name in FORMATS}, type=str)  # type: ignore[misc]
FormatOpt = Annotated[Optional[FormatName], typer.Option("--format", help="; ".join(
    f"{f.name}: {f.help}" for f in FORMATS.values()), show_default=False)]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="accepted so that scripts can pass it: cnncalc never "
                                          "writes colour, whatever NO_COLOR or the terminal")]

DEFAULT = Limits()


def _read(spec: str, max_layers: int, max_bytes: int, sets: Optional[list[str]] = None,
          sizes: Optional[str] = None, skip_unsupported: bool = False, **more: int):
    """The spec with its `--set` parameters and, when `--input` is one size, that input."""
    from .api import limits, read
    return read(spec, limits(max_layers, max_bytes, **more), params=sets,
                input_size=None if sizes is None or _sweeps(sizes) else sizes, skip_unsupported=skip_unsupported)


SkipOpt = Annotated[bool, typer.Option("--skip-unsupported", help="ONNX input: count a node cnncalc cannot read as "
                                       "an identity, report it and mark the totals partial")]


def _sweeps(sizes: Optional[str]) -> bool:
    from .sweep import is_sweep
    return sizes is not None and is_sweep(sizes)


InputOpt = Annotated[Optional[str], typer.Option(
    "--input", help="one input size instead of the spec's: N (square), HxW or CxHxW; or sweep several, one row "
                    "each: a comma-separated list of N, HxW and START:STOP:STEP (a range is always a sweep)")]
OneInputOpt = Annotated[Optional[str], typer.Option(
    "--input", help="one input size instead of the spec's: N (square), HxW or CxHxW")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="NAME=VALUE", help="set a parameter declared in the spec's `params:` (repeatable)")]


def _run(analyse, as_json: bool = False, output: Path | None = None, wide: bool = False,
         fmt: Optional[Enum] = None) -> None:
    """Run `analyse` (which returns an api.Report) and print it in the format `fmt` (`--format`; `--json` is
    `--format json`) to stdout or FILE; a SpecError (an OutputError included) becomes one message on stderr and exit
    code 2. Diagnostics a format has no place for follow on stderr."""
    try:
        if as_json and fmt is not None and fmt.value != "json":
            raise SpecError(f"--json is short for --format json; it cannot go with --format {fmt.value}",
                            hint="give one of them")
        if output is not None:
            check_output(output)  # refuse a FIFO or a device before any work
        report = analyse()
        to_file = output is not None
        chosen = FORMATS["json" if as_json else "table" if fmt is None else fmt.value]
        text = chosen.write(report, lambda *items: _render(*items, wide=wide, to_file=to_file))
        if output is None:
            write_stdout(text)
        else:
            write_atomic(text, output)
        for note in chosen.notes(report):
            write_stderr(note)
    except SpecError as exc:
        _fail(exc.format())


def _warn(network) -> None:
    """The diagnostics of reading the file (an ONNX node read as an identity) on stderr, for the commands that
    write no report of their own (export, graph, report)."""
    from .text import printable
    for d in network.diagnostics:
        write_stderr(printable(f"{network.name}: {d['severity']}: {d['message']}"))


def _fail(message: str) -> None:
    write_stderr(message)
    raise typer.Exit(2)


def _render(*renderables, wide: bool = False, to_file: bool = False) -> str:
    from .report.render import PIPE_WIDTH, render  # terminal, COLUMNS, or 200 into a pipe or file; never a cut number
    return render(renderables, width=PIPE_WIDTH if to_file else None, wide=wide)


@app.command()
def rf(spec: SpecArg, as_json: JsonOpt = False, fmt: FormatOpt = None, no_color: NoColorOpt = False,
       layer: Annotated[Optional[str], typer.Option(
        help="layer for --at (default: the last); only with --at")] = None,
       at: Annotated[Optional[str], typer.Option(help="output index I[,J]: its exact input bounds")] = None,
       output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
       max_bytes: MaxBytesOpt = DEFAULT.max_bytes, sizes: InputOpt = None, wide: WideOpt = False,
       max_traced: MaxTracedOpt = DEFAULT.max_traced, max_jump_digits: MaxJumpDigitsOpt = DEFAULT.max_jump_digits,
       sets: SetOpt = None, show: ShowOpt = False, plot: PlotOpt = False,
       skip_unsupported: SkipOpt = False) -> None:
    """Receptive field of every layer: size, jump, padding and the bounds of output index i."""
    def analyse():
        _drawn(as_json, fmt, show=show, plot=plot)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported, max_traced=max_traced,
                        max_jump_digits=max_jump_digits)
        if not _sweeps(sizes):
            return _viewed(network.rf(layer=layer, at=at), sizes, show=show, plot=plot)
        if layer is not None or at is not None or show:
            raise network.error("--input sweeps the last spatial layer; it does not take --layer, --at or --show")
        return _viewed(network.rf_sweep(sizes), sizes, plot=plot)
    _run(analyse, as_json, output, wide, fmt)


T = TypeVar("T")


class GroupBy(str, Enum):
    type = "type"
    block = "block"


def _checked(check: Callable[[T], object], value: T) -> T:
    """`value` when `check(value)` accepts it; else its SpecError as the one-line message, exit code 2."""
    try:
        check(value)
    except SpecError as exc:
        _fail(exc.format())
    return value


def _convention_help() -> str:
    from .conventions import DEFAULT, names
    presets = names()[1:]
    tools = ", ".join(presets[:-1]) + f" or {presets[-1]}" if len(presets) > 1 else "".join(presets)
    return f"count as {DEFAULT} (default) or reproduce {tools}; a plug-in may add more (see `cnncalc layers`)"


def _convention(name: str) -> str:
    """--convention: a registered preset, or a plug-in's (loaded only now)."""
    from .conventions import get
    return _checked(get, name)


def _metrics(names: Optional[list[str]]) -> list[str]:
    """--metric: built-in metrics are always counted; a plug-in's is loaded now and counted from then on."""
    if not names:
        return []
    from .plugins import require_metrics
    return _checked(require_metrics, names)


TrainingOpt = Annotated[bool, typer.Option("--training", help="count one training step: forward in training mode, "
                                          "backward pass (see `cnncalc layers`) and, with --optimizer, the update")]
BatchOpt = Annotated[Optional[int], typer.Option("--batch", metavar="N", help="images per training step (default 1; "
                                                "with --training)")]


class OptimizerName(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    nesterov = "nesterov"
    adam = "adam"
    adamw = "adamw"


OptimizerOpt = Annotated[Optional[OptimizerName], typer.Option(
    "--optimizer", help="count the update and state of this optimizer (with --training; PyTorch's defaults)")]

ConventionOpt = Annotated[str, typer.Option("--convention", metavar="NAME", help=_convention_help(),
                                            callback=_convention)]
MetricOpt = Annotated[Optional[list[str]], typer.Option(
    "--metric", metavar="NAME", help="also count a plug-in's metric (repeatable; see `cnncalc layers`)",
    callback=_metrics)]


@app.command()
def cost(spec: SpecArg, as_json: JsonOpt = False, fmt: FormatOpt = None, no_color: NoColorOpt = False,
         convention: ConventionOpt = "cnncalc",
         group_by: Annotated[Optional[GroupBy], typer.Option("--group-by", help="sum rows by layer type or block")]
         = None, output: OutputOpt = None,
         max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
         sizes: InputOpt = None, wide: WideOpt = False, metric: MetricOpt = None, training: TrainingOpt = False,
         batch: BatchOpt = None, optimizer: OptimizerOpt = None, sets: SetOpt = None, sort: SortOpt = None,
         plot: PlotOpt = False, skip_unsupported: SkipOpt = False) -> None:
    """Parameters, multiplications, additions, comparisons, activations, MACs and memory per layer."""
    def analyse():
        _drawn(as_json, fmt, sort=sort, plot=plot)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        step = dict(training=training, batch=batch, optimizer=optimizer and optimizer.value)
        if not _sweeps(sizes):
            return _viewed(network.cost(convention, group_by and group_by.value, **step), sizes, sort=sort, plot=plot)
        if group_by is not None or sort is not None:
            raise network.error("--input sweeps the totals; it does not take --group-by or --sort",
                                hint="--plot draws the sweep")
        return _viewed(network.cost_sweep(sizes, convention, **step), sizes, plot=plot)
    _run(analyse, as_json, output, wide, fmt)


@app.command()
def grad(spec: SpecArg, as_json: JsonOpt = False, fmt: FormatOpt = None, no_color: NoColorOpt = False,
         init: Annotated[str, typer.Option(help="weight initialisation: auto (by the activation that follows: he "
                                                "for the relu family, xavier for sigmoid and tanh, lecun for none), "
                                                "he|kaiming, xavier|glorot, xavier_uniform|glorot_uniform, lecun, "
                                                "pytorch")] = "auto",
         seed: Annotated[int, typer.Option(help="seed of the weights, the input batch, the targets and dropout")] = 0,
         batch: Annotated[int, typer.Option(help="images (or vectors) in the random input batch")] = 16,
         loss: Annotated[str, typer.Option(help="mse: 1/(2N) sum ||y - t||^2 against random targets t; sum: the "
                                                "mean over the batch of the sum of the outputs")] = "mse",
         output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
         max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False, sizes: OneInputOpt = None,
         sets: SetOpt = None, skip_unsupported: SkipOpt = False, sort: GradSortOpt = None) -> None:
    """Gradient norms per layer after a forward and backward pass of a random batch (numpy): where they vanish."""
    def analyse():
        _drawn(as_json, fmt, sort=sort)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        _one_size(network, sizes, command="grad")
        return _viewed(network.grad(init, seed, batch, loss), sizes, sort=sort)
    _run(analyse, as_json, output, wide, fmt)


class DtypeName(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"


class MemoryConvention(str, Enum):
    cnncalc = "cnncalc"
    pytorch = "pytorch"


@app.command()
def memory(spec: SpecArg, as_json: JsonOpt = False, fmt: FormatOpt = None, no_color: NoColorOpt = False,
           dtype: Annotated[DtypeName, typer.Option(help="bytes per value: float32 4, float16 2, bfloat16 2, "
                                                         "int8 1")] = DtypeName.float32,
           batch: Annotated[int, typer.Option(metavar="N", help="images per step")] = 1,
           training: Annotated[bool, typer.Option("--training", help="one training step: gradients, optimizer "
                                                  "state and the activations the backward pass keeps")] = False,
           optimizer: OptimizerOpt = None,
           convention: Annotated[MemoryConvention, typer.Option(help="what the backward pass keeps: the cnncalc "
                                                                "convention, or what PyTorch's autograd keeps on CPU")]
           = MemoryConvention.cnncalc, output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
           max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False, sizes: OneInputOpt = None,
           sets: SetOpt = None, skip_unsupported: SkipOpt = False, sort: MemorySortOpt = None) -> None:
    """Bytes of the weights, the peak of live activations and, with --training, of one training step."""
    def analyse():
        _drawn(as_json, fmt, sort=sort)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        _one_size(network, sizes, command="memory")
        return _viewed(network.memory(dtype.value, batch, training, optimizer and optimizer.value, convention.value),
                       sizes, sort=sort)
    _run(analyse, as_json, output, wide, fmt)


@app.command()
def export(spec: SpecArg,
           output: Annotated[Path, typer.Option("--output", "-o", help="the ONNX file to write (atomically)",
                                                show_default=False)],
           weights: Annotated[str, typer.Option(help="initializers: zeros, or random (standard normal; "
                                                     "batchnorm variances uniform in [0.5, 1.5))")] = "zeros",
           seed: Annotated[int, typer.Option(help="seed of the random weights")] = 0,
           max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
           sizes: OneInputOpt = None, sets: SetOpt = None, skip_unsupported: SkipOpt = False) -> None:
    """The spec as an ONNX model (opset 17, batch 1, NCHW) with zero or random weights (needs cnncalc[onnx])."""
    try:
        check_output(output, required=True)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        _one_size(network, sizes, "export")
        write_atomic(network.export_onnx(weights, seed), output)
        _warn(network)
    except SpecError as exc:
        _fail(exc.format())


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"


@app.command()
def graph(spec: SpecArg, fmt: Annotated[GraphFormat, typer.Option(
              "--format", help="mermaid or dot text; svg or png drawn by Graphviz's dot (must be installed)")]
          = GraphFormat.mermaid,
          cost_column: Annotated[str, typer.Option("--cost", metavar="COLUMN", help="the cost report column each "
                                                   "node shows (macs, params, ...)")] = "macs",
          collapse: Annotated[bool, typer.Option("--collapse", help="each block instance as one node, its rows "
                                                 "summed")] = False,
          convention: ConventionOpt = "cnncalc", output: OutputOpt = None,
          max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
          sizes: OneInputOpt = None, sets: SetOpt = None, skip_unsupported: SkipOpt = False) -> None:
    """The layer graph: one node per layer with its type, output shape and cost; blocks as clusters."""
    try:
        from .report.graph import render_dot, to_dot, to_mermaid
        if output is not None:
            check_output(output)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        _one_size(network, sizes, "graph")
        if fmt is GraphFormat.png and output is None:
            raise network.error("--format png is a binary image", hint="name the file with -o NET.png")
        picture = network.layer_graph(cost_column, convention, collapse)
        text = to_mermaid(picture) if fmt is GraphFormat.mermaid else to_dot(picture)
        data = text if fmt in (GraphFormat.mermaid, GraphFormat.dot) else render_dot(text, fmt.value)
        if output is not None:
            write_atomic(data, output)
        else:
            write_stdout(data if isinstance(data, str) else data.decode("utf-8"))
        _warn(network)
    except SpecError as exc:
        _fail(exc.format())


@app.command()
def report(spec: SpecArg,
           output: Annotated[Path, typer.Option("--output", "-o", help="the HTML file to write (atomically)",
                                                show_default=False)],
           convention: ConventionOpt = "cnncalc", sizes: InputOpt = None,
           max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
           sets: SetOpt = None, skip_unsupported: SkipOpt = False, training: TrainingOpt = False,
           batch: BatchOpt = None, optimizer: OptimizerOpt = None) -> None:
    """One self-contained HTML page: totals, graph, layer table, receptive field and, with --input sweeps, the
    totals by size; with --training, of one training step (needs cnncalc[report])."""
    try:
        check_output(output, required=True)
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        write_atomic(network.html_report(convention, sizes if _sweeps(sizes) else None, training, batch,
                                         optimizer and optimizer.value), output)
        _warn(network)
    except SpecError as exc:
        _fail(exc.format())


@app.command("import")
def import_(model: Annotated[str, typer.Argument(help="ONNX model file, or - for standard input",
                                                show_default=False)],
            output: OutputOpt = None, skip_unsupported: SkipOpt = False,
            max_bytes: Annotated[int, typer.Option("--max-bytes", help="refuse larger files (a model: 100 times "
                                                   "this)")] = DEFAULT.max_bytes) -> None:
    """An ONNX model as a spec (YAML) a person can read and edit (needs cnncalc[onnx])."""
    try:
        if output is not None:
            check_output(output)
        from .api import import_onnx, limits
        imported = import_onnx(model, limits(max_bytes=max_bytes), skip_unsupported=skip_unsupported)
        if output is None:
            write_stdout(imported.text)
        else:
            write_atomic(imported.text, output)
        for skipped in imported.skipped:
            write_stderr(f"{model}:1:1: warning: {skipped.diagnostic()['message']}")
    except SpecError as exc:
        _fail(exc.format())


@app.command()
def compare(specs: Annotated[list[str], typer.Argument(help="two or more spec files", show_default=False)],
            as_json: JsonOpt = False, fmt: FormatOpt = None, no_color: NoColorOpt = False,
            convention: ConventionOpt = "cnncalc",
            output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
            max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False,
            metric: MetricOpt = None, sizes: OneInputOpt = None, training: TrainingOpt = False,
            batch: BatchOpt = None, optimizer: OptimizerOpt = None, sets: SetOpt = None,
            skip_unsupported: SkipOpt = False) -> None:
    """Totals of several specs side by side, with ratios to the first and per-block totals."""
    def analyse():
        from .api import compare
        if specs.count("-") > 1:
            raise SpecError("standard input can be read only once; name - at most once")
        networks = [_read(s, max_layers, max_bytes, sets, sizes, skip_unsupported) for s in specs]
        _one_size(networks[0], sizes, "compare")
        return compare(networks, convention, training, batch, optimizer and optimizer.value)
    _run(analyse, as_json, output, wide, fmt)


@app.command()
def validate(spec: SpecArg, as_json: JsonOpt = False, fmt: FormatOpt = None, no_color: NoColorOpt = False,
             output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
             max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False, sizes: OneInputOpt = None,
             sets: SetOpt = None, skip_unsupported: SkipOpt = False) -> None:
    """Check a spec and print the inferred shapes."""
    def analyse():
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        _one_size(network, sizes, command="validate")
        return network.validate()
    _run(analyse, as_json, output, wide, fmt)


def _drawn(as_json: bool, fmt: Optional[Enum], **views) -> None:
    """Refuse a view of the table that the chosen format cannot show: `--show` and `--plot` draw only in tables;
    `--sort` orders the rows of tables, CSV, JSON Lines and Markdown, while the JSON document keeps file order
    and holds every number the views print."""
    name = "json" if as_json else "table" if fmt is None else fmt.value
    flag = next((view for view, value in views.items() if value and (name != "table" if view != "sort"
                                                                     else name == "json")), None)
    if flag is not None:
        if name == "json":
            raise SpecError(f"--{flag} changes only the printed output; --json writes the whole document, in file "
                            "order", hint="leave out one of them (the document holds every number --show, --plot "
                                          "and --sort print)")
        raise SpecError(f"--{flag} draws a picture in the table; --format {name} writes rows only",
                        hint=f"leave out --{flag}, or --format {name}")


def _viewed(report, sizes: Optional[str], show: bool = False, plot: bool = False, sort: Optional[str] = None):
    """`report` as `--show`, `--plot` or `--sort` asks (see api.RfReport, SweepReport, SortableReport)."""
    if plot and not _sweeps(sizes):
        raise SpecError("--plot draws a sweep over input sizes, and --input gives one size or none",
                        hint="sweep with --input START:STOP:STEP or a list, such as --input 32:1024:32")
    return report.with_picture() if show else report.with_plot() if plot else report.sorted(sort) if sort else report


def _one_size(network, sizes: Optional[str], command: str) -> None:
    if _sweeps(sizes):
        raise network.error(f"{command} takes one --input size (N, HxW or CxHxW), got the sweep {sizes!r}",
                        hint="sweep with `cnncalc cost --input` or `cnncalc rf --input`")


@app.command()
def schema() -> None:
    """The JSON Schema (draft 2020-12) of the spec format, generated from the layer registry."""
    from .schema import schema_text
    try:
        write_stdout(schema_text())
    except SpecError as exc:
        _fail(exc.format())


class LayerRule(str, Enum):
    """`cnncalc layers --rule` (report.table.LAYER_RULES)."""

    forward = "forward"
    backward = "backward"
    memory = "memory"
    onnx = "onnx"


@app.command()
def layers(convention: ConventionOpt = "cnncalc", wide: WideOpt = False, no_color: NoColorOpt = False,
           rule: Annotated[LayerRule, typer.Option(help="which rule of every type: forward (counting; with "
                                                   "--convention), backward (cost --training; which types grad "
                                                   "runs), memory (what memory keeps), onnx (export's form)")]
           = LayerRule.forward, as_json: Annotated[bool, typer.Option("--json", help="write one JSON document: "
                                                                      "every type with every rule")] = False) -> None:
    """Every layer type with its attributes, defaults and counting rule (of a tool's convention, if named), or with
    its backward, memory or ONNX rule (--rule)."""
    from .plugins import summary
    from .report.table import convention_text, layers_table, metrics_text, reflow, rule_table, rule_text
    try:
        if (rule.value != "forward" or as_json) and convention != "cnncalc":
            raise SpecError(f"--convention {convention} is a forward counting convention; "
                            f"{'--json' if as_json else '--rule ' + rule.value} has none",
                            hint="leave out --convention, or --rule forward")
        plugins = summary(load=True)  # first: a plug-in's layer types join the table
        if as_json:
            import json
            from .report.table import layers_document
            write_stdout(json.dumps(layers_document(), indent=2, ensure_ascii=False))
        else:
            items = ([reflow(convention_text(convention)), metrics_text(convention), layers_table(convention)]
                     if rule.value == "forward" else [reflow(rule_text(rule.value)), rule_table(rule.value)])
            write_stdout(_render(*items, *plugins, wide=wide))
    except SpecError as exc:
        _fail(exc.format())


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        from .plugins import summary
        for line in summary(load=False):  # installed plug-ins, none imported
            print(line)
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    pass


def main() -> None:
    """The console script: the app, with standard output flushed inside the guarded region, so that a full disk
    or a closed stdout (`>&-`) is one message and exit code 2 whatever wrote to it (typer's `--help` too), and a
    reader that goes away ends the run quietly by SIGPIPE (files.prepare_standard_streams)."""
    # One run builds a few objects per layer, keeps them all to the end and makes no garbage cycles worth
    # collecting; the cyclic collector would only walk the growing heap again and again (2-3x slower at 100k layers).
    import gc
    gc.disable()
    from .files import discard_stdout, prepare_standard_streams
    prepare_standard_streams()
    try:
        try:
            app()
            code: int | str | None = 0
        except SystemExit as exc:
            code = exc.code
        sys.stdout.flush()
    except OSError as exc:  # typer's own output (--help, --version, usage) that could not be written
        discard_stdout()
        write_stderr(f"error: cannot write to standard output ({exc.strerror or exc})")
        code = 2
    sys.exit(code)
