"""cnncalc/_typer_fast.py reaches into typer's private modules (pinned in pyproject.toml): the app run with its
FastGroup and the same app run with typer's plain TyperGroup give the same exit code, stdout and stderr for good
and bad values of every option and argument of every command."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from cnncalc._typer_fast import FastGroup
from cnncalc.cli import app

HW5 = str(Path(__file__).resolve().parent.parent / "specs" / "hw5.yaml")
MLP = str(Path(__file__).resolve().parent.parent / "specs" / "mlp.yaml")  # grad runs a network: the smallest
INTS = ["12", " 12 ", "1_000", "+3", "-0", "0", "00012", "1.0", "1.5", "0x10", "1e3", "", "abc", "\uff11", "1,2"]
STRS = ["0,0", "1_0", "y2", "", "a b", "\u0661", "32", "16:64:16"]
BOOLS = ["true", "False", "yes", "off", "maybe", ""]
CHOICES = ["cnncalc", "fvcore", "CNNCALC", "type", "block", "nope", ""]


def _plain_app() -> typer.Typer:
    """The same commands and callback on typer's own group class (typer's own coercion, through pydantic)."""
    plain = typer.Typer(cls=TyperGroup, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                        help=app.info.help)
    plain.registered_commands = app.registered_commands
    plain.registered_callback = app.registered_callback
    return plain


def _values(param) -> list[str]:
    annotation = param.type_descriptor.annotation
    if param.is_flag:
        return []
    if annotation is int:
        return INTS
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return CHOICES
    if annotation is bool:
        return BOOLS
    return STRS


def _matrix() -> list[list[str]]:
    cases: list[list[str]] = [["--version"], ["--help"], [], ["nope"]]
    for name, command in get_command(app).commands.items():
        spec = [HW5, HW5] if name == "compare" else [MLP] if name == "grad" else [HW5] if name != "layers" else []
        cases += [[name, "--help"], [name, *spec], [name, *spec, "--json"]]
        for param in command.params:
            if param.param_type_name == "argument":
                cases += [[name, value] for value in ("missing.yaml", "", "-")]
                continue
            flag = param.opts[0]
            cases.append([name, *spec, flag] if not param.is_flag else [name, *spec, flag, flag])
            cases += [[name, *spec, flag, value] for value in _values(param)]
            cases.append([name, *spec, f"{flag}=12"])
    return cases


def test_fast_and_plain_coercion_agree_on_every_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `--output VALUE` writes files named VALUE here
    fast, plain = _plain_app(), _plain_app()
    fast.info.cls = FastGroup
    assert type(get_command(fast)) is FastGroup and type(get_command(plain)) is TyperGroup
    runner = CliRunner()
    cases = _matrix()
    assert len(cases) > 250
    for args in cases:
        outcomes = []
        for which in (fast, plain):
            result = runner.invoke(which, args, input="input: [3, 8, 8]\nlayers: [relu]\n")
            outcomes.append((result.exit_code, result.stdout, result.stderr, type(result.exception).__name__))
        assert outcomes[0] == outcomes[1], args
    # The matrix holds refusals by typer's own messages, not only successes.
    errors = {runner.invoke(fast, args).stderr for args in (["cost", HW5, "--max-layers", "1.5"],
                                                            ["cost", HW5, "--group-by", "nope"])}
    assert all("Invalid value for" in message for message in errors), errors
