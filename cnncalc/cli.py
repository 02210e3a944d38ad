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
from .source import Limits

app = typer.Typer(cls=FastGroup, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
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


def _run(analyse, as_json: bool = False, output: Path | None = None, wide: bool = False) -> None:
    """Run `analyse` (which returns an api.Report) and print its JSON or its tables to stdout or FILE; a SpecError
    (an OutputError included) becomes one message on stderr and exit code 2."""
    try:
        if output is not None:
            check_output(output)  # refuse a FIFO or a device before any work
        report = analyse()
        to_file = output is not None
        text = report.json_text() if as_json else report.format(lambda *items: _render(*items, wide=wide,
                                                                                       to_file=to_file))
        if output is None:
            write_stdout(text)
        else:
            write_atomic(text, output)
    except SpecError as exc:
        _fail(exc.format())


def _fail(message: str) -> None:
    write_stderr(message)
    raise typer.Exit(2)


def _render(*renderables, wide: bool = False, to_file: bool = False) -> str:
    from .report.render import PIPE_WIDTH, render  # terminal, COLUMNS, or 200 into a pipe or file; never a cut number
    return render(renderables, width=PIPE_WIDTH if to_file else None, wide=wide)


@app.command()
def rf(spec: SpecArg, as_json: JsonOpt = False, layer: Annotated[Optional[str], typer.Option(
        help="layer for --at (default: the last); only with --at")] = None,
       at: Annotated[Optional[str], typer.Option(help="output index I[,J]: its exact input bounds")] = None,
       output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
       max_bytes: MaxBytesOpt = DEFAULT.max_bytes, sizes: InputOpt = None, wide: WideOpt = False,
       max_traced: MaxTracedOpt = DEFAULT.max_traced, max_jump_digits: MaxJumpDigitsOpt = DEFAULT.max_jump_digits,
       sets: SetOpt = None, skip_unsupported: SkipOpt = False) -> None:
    """Receptive field of every layer: size, jump, padding and the bounds of output index i."""
    def analyse():
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported, max_traced=max_traced,
                        max_jump_digits=max_jump_digits)
        if not _sweeps(sizes):
            return network.rf(layer=layer, at=at)
        if layer is not None or at is not None:
            raise network.error("--input sweeps the last spatial layer; it does not take --layer or --at")
        return network.rf_sweep(sizes)
    _run(analyse, as_json, output, wide)


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
def cost(spec: SpecArg, as_json: JsonOpt = False, convention: ConventionOpt = "cnncalc",
         group_by: Annotated[Optional[GroupBy], typer.Option("--group-by", help="sum rows by layer type or block")]
         = None, output: OutputOpt = None,
         max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
         sizes: InputOpt = None, wide: WideOpt = False, metric: MetricOpt = None, training: TrainingOpt = False,
         batch: BatchOpt = None, optimizer: OptimizerOpt = None, sets: SetOpt = None,
         skip_unsupported: SkipOpt = False) -> None:
    """Parameters, multiplications, additions, comparisons, activations, MACs and memory per layer."""
    def analyse():
        network = _read(spec, max_layers, max_bytes, sets, sizes, skip_unsupported)
        step = dict(training=training, batch=batch, optimizer=optimizer and optimizer.value)
        if not _sweeps(sizes):
            return network.cost(convention, group_by and group_by.value, **step)
        if group_by is not None:
            raise network.error("--input sweeps the totals; it does not take --group-by")
        return network.cost_sweep(sizes, convention, **step)
    _run(analyse, as_json, output, wide)


@app.command()
def grad(spec: SpecArg, as_json: JsonOpt = False,
         init: Annotated[str, typer.Option(help="weight initialisation: auto (by the activation that follows: he "
                                                "for the relu family, xavier for sigmoid and tanh, lecun for none), "
                                                "he|kaiming, xavier|glorot, xavier_uniform|glorot_uniform, lecun, "
                                                "pytorch")] = "auto",
         seed: Annotated[int, typer.Option(help="seed of the weights, the input batch, the targets and dropout")] = 0,
         batch: Annotated[int, typer.Option(help="images (or vectors) in the random input batch")] = 16,
         loss: Annotated[str, typer.Option(help="mse: 1/(2N) sum ||y - t||^2 against random targets t; sum: the "
                                                "mean over the batch of the sum of the outputs")] = "mse",
         output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
         max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False) -> None:
    """Gradient norms per layer after a forward and backward pass of a random batch (numpy): where they vanish."""
    _run(lambda: _read(spec, max_layers, max_bytes).grad(init, seed, batch, loss), as_json, output, wide)


class DtypeName(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"


class MemoryConvention(str, Enum):
    cnncalc = "cnncalc"
    pytorch = "pytorch"


@app.command()
def memory(spec: SpecArg, as_json: JsonOpt = False,
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
           sets: SetOpt = None) -> None:
    """Bytes of the weights, the peak of live activations and, with --training, of one training step."""
    def analyse():
        network = _read(spec, max_layers, max_bytes, sets, sizes)
        _one_size(network, sizes, command="memory")
        return network.memory(dtype.value, batch, training, optimizer and optimizer.value, convention.value)
    _run(analyse, as_json, output, wide)


@app.command()
def export(spec: SpecArg,
           output: Annotated[Path, typer.Option("--output", "-o", help="the ONNX file to write (atomically)",
                                                show_default=False)],
           weights: Annotated[str, typer.Option(help="initializers: zeros, or random (standard normal; "
                                                     "batchnorm variances uniform in [0.5, 1.5))")] = "zeros",
           seed: Annotated[int, typer.Option(help="seed of the random weights")] = 0,
           max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
           sizes: OneInputOpt = None, sets: SetOpt = None) -> None:
    """The spec as an ONNX model (opset 17, batch 1, NCHW) with zero or random weights (needs cnncalc[onnx])."""
    try:
        check_output(output)
        network = _read(spec, max_layers, max_bytes, sets, sizes)
        _one_size(network, sizes, "export")
        write_atomic(network.export_onnx(weights, seed), output)
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
            as_json: JsonOpt = False, convention: ConventionOpt = "cnncalc",
            output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
            max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False,
            metric: MetricOpt = None, sizes: OneInputOpt = None, training: TrainingOpt = False,
            batch: BatchOpt = None, optimizer: OptimizerOpt = None, sets: SetOpt = None) -> None:
    """Totals of several specs side by side, with ratios to the first and per-block totals."""
    def analyse():
        from .api import compare
        if specs.count("-") > 1:
            raise SpecError("standard input can be read only once; name - at most once")
        networks = [_read(s, max_layers, max_bytes, sets, sizes) for s in specs]
        _one_size(networks[0], sizes, "compare")
        return compare(networks, convention, training, batch, optimizer and optimizer.value)
    _run(analyse, as_json, output, wide)


@app.command()
def validate(spec: SpecArg, as_json: JsonOpt = False, max_layers: MaxLayersOpt = DEFAULT.max_layers,
             max_bytes: MaxBytesOpt = DEFAULT.max_bytes, wide: WideOpt = False, sizes: OneInputOpt = None,
             sets: SetOpt = None) -> None:
    """Check a spec and print the inferred shapes."""
    def analyse():
        network = _read(spec, max_layers, max_bytes, sets, sizes)
        _one_size(network, sizes, command="validate")
        return network.validate()
    _run(analyse, as_json, wide=wide)


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


@app.command()
def layers(convention: ConventionOpt = "cnncalc", wide: WideOpt = False) -> None:
    """Every layer type with its attributes, defaults and counting rule (of a tool's convention, if named)."""
    from .plugins import summary
    from .report.table import convention_text, layers_table, metrics_text, reflow
    try:
        plugins = summary(load=True)  # first: a plug-in's layer types join the table
        write_stdout(_render(reflow(convention_text(convention)), metrics_text(convention), layers_table(convention),
                             *plugins, wide=wide))
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
