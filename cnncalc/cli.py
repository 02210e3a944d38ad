"""The command line: a thin typer app over the library. Errors become one message on stderr and exit code 2."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from ._typer_fast import FastGroup
from .errors import SpecError
from .files import read_spec_source, write_atomic
from .source import Limits

app = typer.Typer(cls=FastGroup, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Exact receptive fields, parameters and operation counts of CNNs written as YAML specs.")

SpecArg = Annotated[str, typer.Argument(help="spec file (YAML), or - for standard input", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="write one JSON document to stdout")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="write to FILE atomically instead")]
MaxLayersOpt = Annotated[int, typer.Option("--max-layers", help="refuse specs expanding to more layers")]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", help="refuse larger spec files")]

DEFAULT = Limits()


def _load(spec: str, max_layers: int, max_bytes: int, sizes: list[tuple[int, int]] | None = None):
    from .graph import load
    for flag, value in (("--max-layers", max_layers), ("--max-bytes", max_bytes)):
        if value < 1:
            raise SpecError(f"{flag} must be at least 1, got {value}")
    limits = Limits(max_bytes=max_bytes, max_layers=max_layers,
                    max_nodes=max(DEFAULT.max_nodes, max_bytes // 2))
    text, name = read_spec_source(spec, limits)
    _SPEC_NAME[0] = name
    if sizes is not None:  # --input: the graph for its structure; the sweep recomputes every shape
        from .sweep import load_for_sweep
        return load_for_sweep(text, name, sizes, limits)
    return load(text, name, limits)


InputOpt = Annotated[Optional[str], typer.Option(
    "--input", help="sweep input sizes, one row each: N (square), HxW, or START:STOP:STEP, comma-separated")]


def _sweep(kind: str, spec: str, sizes: str, as_json: bool, output: Path | None, max_layers: int,
           max_bytes: int, convention: str = "cnncalc") -> None:
    """`cost`/`rf` with --input: one row per input size (see cnncalc.sweep for the JSON document)."""
    from .sweep import cost_sweep, parse_sizes, rf_sweep, sweep_renderables
    wanted = parse_sizes(sizes)
    graph = _load(spec, max_layers, max_bytes, wanted)
    doc = cost_sweep(graph, wanted, convention) if kind == "cost" else rf_sweep(graph, wanted)
    if not doc["sweep"]:
        raise SpecError(doc["diagnostics"][0]["message"] if doc["diagnostics"] else "no valid input size")
    if as_json:
        _emit(_json(doc), output)
        return
    _emit(_render(*sweep_renderables(doc)), output)


def _emit(text: str, output: Path | None) -> None:
    """Print to stdout, or replace FILE atomically."""
    if output is None:
        sys.stdout.write(text)
        return
    write_atomic(text, output)


def _render(*renderables) -> str:
    import io

    from ._fastout import compact
    from .report.table import console
    buffer = io.StringIO()
    out = console(buffer)
    out.width = 200 if not sys.stdout.isatty() else console().width
    for item in renderables:
        out.print(compact(item, out))
    return buffer.getvalue()


def _json(doc: dict) -> str:
    from ._fastout import dumps  # json.dumps(doc, indent=2), several times faster on large documents
    return dumps(doc) + "\n"


_SPEC_NAME: list[str | None] = [None]
"""Display name of the spec being analysed, for the errors raised after it was read (set by `_load`)."""


def _run(action) -> None:
    _SPEC_NAME[0] = None
    try:
        action()
    except SpecError as exc:
        sys.stdout.flush()
        print(exc.format(), file=sys.stderr)
        raise typer.Exit(2) from None
    except OSError as exc:  # writing --output
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '')}", file=sys.stderr)
        raise typer.Exit(2) from None
    except MemoryError:
        where = f"{_SPEC_NAME[0]}:1:1: " if _SPEC_NAME[0] else ""
        print(f"{where}error: out of memory; hint: lower --max-bytes or --max-layers", file=sys.stderr)
        raise typer.Exit(2) from None
    except ValueError as exc:  # Python refuses to print an integer of more than 4,300 digits
        if "integer string conversion" not in str(exc):
            raise
        where = f"{_SPEC_NAME[0]}:1:1: " if _SPEC_NAME[0] else ""
        digits = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        print(f"{where}error: the report holds a number of more than {digits:,} digits; hint: receptive-field "
              "jumps grow as the product of the strides, so a long chain of strided layers overflows them",
              file=sys.stderr)
        raise typer.Exit(2) from None


def _parse_at(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2):
        raise SpecError(f"--at takes I or I,J (output row and column), got {value!r}")
    return (numbers[0], numbers[-1])


@app.command()
def rf(spec: SpecArg, as_json: JsonOpt = False, layer: Annotated[Optional[str], typer.Option(
        help="layer for --at (default: the last)")] = None,
       at: Annotated[Optional[str], typer.Option(help="output index I[,J]: its exact input bounds")] = None,
       output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
       max_bytes: MaxBytesOpt = DEFAULT.max_bytes, sizes: InputOpt = None) -> None:
    """Receptive field of every layer: size, jump, padding and the bounds of output index i."""
    def action() -> None:
        if sizes is not None:
            if layer is not None or at is not None:
                raise SpecError("--input sweeps the last spatial layer; it does not take --layer or --at")
            return _sweep("rf", spec, sizes, as_json, output, max_layers, max_bytes)
        from .report import rf_report
        index = _parse_at(at)
        doc = rf_report(_load(spec, max_layers, max_bytes), layer=layer, at=index)
        if as_json:
            _emit(_json(doc), output)
            return
        from .report.table import at_lines, diagnostic_lines, rf_table
        extra = diagnostic_lines(doc)
        extra += at_lines(doc) if "at" in doc else []
        _emit(_render(rf_table(doc), *extra), output)
    _run(action)


class ConventionName(str, Enum):
    cnncalc = "cnncalc"
    torchvision = "torchvision"
    fvcore = "fvcore"
    ptflops = "ptflops"


class GroupBy(str, Enum):
    type = "type"
    block = "block"


ConventionOpt = Annotated[ConventionName, typer.Option(
    "--convention", help="count as cnncalc (default) or reproduce torchvision, fvcore or ptflops")]


@app.command()
def cost(spec: SpecArg, as_json: JsonOpt = False, convention: ConventionOpt = ConventionName.cnncalc,
         group_by: Annotated[Optional[GroupBy], typer.Option("--group-by", help="sum rows by layer type or block")]
         = None, output: OutputOpt = None,
         max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes,
         sizes: InputOpt = None) -> None:
    """Parameters, multiplications, additions, comparisons, activations, MACs and memory per layer."""
    def action() -> None:
        if sizes is not None:
            if group_by is not None:
                raise SpecError("--input sweeps the totals; it does not take --group-by")
            return _sweep("cost", spec, sizes, as_json, output, max_layers, max_bytes, convention.value)
        from .report import cost_report, group_report
        doc = cost_report(_load(spec, max_layers, max_bytes), convention.value)
        if group_by is not None:
            doc = group_report(doc, group_by.value)
        if as_json:
            _emit(_json(doc), output)
            return
        from .report.table import cost_table, diagnostic_lines, group_table
        table = cost_table(doc) if group_by is None else group_table(doc)
        _emit(_render(table, *diagnostic_lines(doc)), output)
    _run(action)


@app.command()
def compare(specs: Annotated[list[str], typer.Argument(help="two or more spec files", show_default=False)],
            as_json: JsonOpt = False, convention: ConventionOpt = ConventionName.cnncalc,
            output: OutputOpt = None, max_layers: MaxLayersOpt = DEFAULT.max_layers,
            max_bytes: MaxBytesOpt = DEFAULT.max_bytes) -> None:
    """Totals of several specs side by side, with ratios to the first and per-block totals."""
    def action() -> None:
        from .report import compare_report, cost_report
        if len(specs) < 2:
            raise SpecError("compare needs at least two specs")
        doc = compare_report([cost_report(_load(s, max_layers, max_bytes), convention.value) for s in specs])
        if as_json:
            _emit(_json(doc), output)
            return
        from .report.table import compare_tables
        _emit(_render(*compare_tables(doc)), output)
    _run(action)


@app.command()
def validate(spec: SpecArg, as_json: JsonOpt = False, max_layers: MaxLayersOpt = DEFAULT.max_layers,
             max_bytes: MaxBytesOpt = DEFAULT.max_bytes) -> None:
    """Check a spec and print the inferred shapes."""
    def action() -> None:
        from .report import cost_report
        doc = cost_report(_load(spec, max_layers, max_bytes))
        if as_json:
            _emit(_json({k: doc[k] for k in ("schema_version", "spec", "input", "diagnostics")}
                        | {"valid": True, "layers": [{k: row[k] for k in ("name", "type", "inputs", "output")}
                                                     for row in doc["layers"]]}), None)
            return
        from .report.table import graph_table
        _emit(_render(graph_table(doc), f"OK: {len(doc['layers'])} layers"), None)
    _run(action)


@app.command()
def layers(convention: ConventionOpt = ConventionName.cnncalc) -> None:
    """Every layer type with its attributes, defaults and counting rule (of a tool's convention, if named)."""
    from .report.table import convention_text, layers_table, metrics_text
    _emit(_render(convention_text(convention.value), metrics_text(convention.value), layers_table(convention.value)),
          None)


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    pass


def main() -> None:
    # One run builds a few objects per layer, keeps them all to the end and makes no garbage cycles worth
    # collecting; the cyclic collector would only walk the growing heap again and again (2-3x slower at 100k layers).
    import gc
    gc.disable()
    app()
