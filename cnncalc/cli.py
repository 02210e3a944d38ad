"""The command line: a thin typer app over the library. Errors become one message on stderr and exit code 2."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import Position, SpecError
from .source import Limits

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Exact receptive fields, parameters and operation counts of CNNs written as YAML specs.")

SpecArg = Annotated[str, typer.Argument(help="spec file (YAML), or - for standard input", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="write one JSON document to stdout")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="write to FILE atomically instead")]
MaxLayersOpt = Annotated[int, typer.Option("--max-layers", help="refuse specs expanding to more layers")]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", help="refuse larger spec files")]

DEFAULT = Limits()


class Fatal(Exception):
    """A message for stderr and exit code 2."""


def _read(spec: str, limits: Limits) -> tuple[str, str]:
    """(text, display name) of the spec, or SpecError for missing, unreadable, huge or non-UTF-8 files."""
    if spec == "-":
        data = sys.stdin.buffer.read(limits.max_bytes + 1)
        name = "<stdin>"
    else:
        path = Path(spec)
        name = spec
        if path.is_dir():
            raise SpecError(f"{spec} is a directory, not a spec file")
        try:
            size = path.stat().st_size
            if size > limits.max_bytes:
                raise SpecError(f"{spec} is {size:,} bytes, more than the limit of {limits.max_bytes:,}",
                                hint="raise the limit with --max-bytes")
            data = path.read_bytes()
        except FileNotFoundError:
            raise SpecError(f"{spec}: no such file") from None
        except OSError as exc:
            raise SpecError(f"{spec}: cannot read ({exc.strerror})") from None
    if len(data) > limits.max_bytes:
        raise SpecError(f"{name} is more than the limit of {limits.max_bytes:,} bytes",
                        hint="raise the limit with --max-bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", Position(name, line, column)) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, name


def _load(spec: str, max_layers: int, max_bytes: int):
    from .graph import load
    limits = Limits(max_bytes=max_bytes, max_layers=max_layers,
                    max_nodes=max(DEFAULT.max_nodes, max_bytes // 2))
    text, name = _read(spec, limits)
    return load(text, name, limits)


def _emit(text: str, output: Path | None) -> None:
    """Print to stdout, or replace FILE atomically (a reader sees the old or the complete new content)."""
    if output is None:
        sys.stdout.write(text)
        return
    directory = output.resolve().parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _render(*renderables) -> str:
    import io

    from .report.table import console
    buffer = io.StringIO()
    out = console(buffer)
    out.width = 200 if not sys.stdout.isatty() else console().width
    for item in renderables:
        out.print(item)
    return buffer.getvalue()


def _json(doc: dict) -> str:
    return json.dumps(doc, indent=2) + "\n"


def _run(action) -> None:
    try:
        action()
    except SpecError as exc:
        sys.stdout.flush()
        print(exc.format(), file=sys.stderr)
        raise typer.Exit(2) from None
    except OSError as exc:  # writing --output
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '')}", file=sys.stderr)
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
       max_bytes: MaxBytesOpt = DEFAULT.max_bytes) -> None:
    """Receptive field of every layer: size, jump, padding and the bounds of output index i."""
    def action() -> None:
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
         max_layers: MaxLayersOpt = DEFAULT.max_layers, max_bytes: MaxBytesOpt = DEFAULT.max_bytes) -> None:
    """Parameters, multiplications, additions, comparisons, activations, MACs and memory per layer."""
    def action() -> None:
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
    from .report.table import convention_text, layers_table
    _emit(_render(convention_text(convention.value), layers_table(convention.value)), None)


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    pass


def main() -> None:
    app()
