"""Keep pydantic out of a command-line run.

typer (0.2x) coerces the value of every non-flag parameter through a pydantic `TypeAdapter`, built on first use, and
importing pydantic costs more than the rest of a `cnncalc cost --json` run. `FastGroup`, the app's group class, gives
each parameter of a plain type cnncalc uses (str, int, bool, Path, an Enum, list[str]; the `--help` flag typer adds
to every command too) a coercer without pydantic that accepts the same values and raises typer's messages
(tests/test_scale.py compares the coercers, tests/test_typer_fast.py whole runs of the app with either group;
pyproject.toml pins the typer range this was written against); a parameter of any other type, and a typer without
this machinery, keep typer's own coercion. Commands added to the app later are covered without further code.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperGroup

_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0*)?\Z")
_INT_MESSAGE = "Input should be a valid integer, unable to parse string as an integer"
_BOOL = {"": False, "0": False, "off": False, "f": False, "false": False, "n": False, "no": False,
         "1": True, "on": True, "t": True, "true": True, "y": True, "yes": True}
_BOOL_MESSAGE = "Input should be a valid boolean, unable to interpret input"

try:  # typer's lazily built per-parameter coercion (typer >= 0.2x); absent in older typer, which needs no help
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - depends on the typer version
    RuntimeParam = None  # type: ignore[assignment,misc]


def _plain(annotation: Any) -> str | None:
    """Which light coercer handles `annotation`, or None for typer's own."""
    if annotation is str or annotation is int or annotation is bool:
        return annotation.__name__
    if annotation is Path:
        return "path"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "enum"
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return "strs"
    return None


if RuntimeParam is not None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class _Light(RuntimeParam):  # type: ignore[misc,valid-type]
        kind: str = "str"

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.kind
            try:
                if kind == "str":
                    return value if isinstance(value, str) else str(value)
                if kind == "strs":
                    return [v if isinstance(v, str) else str(v) for v in value]
                if kind == "bool":
                    if isinstance(value, bool):
                        return value
                    text = str(value).strip().lower()
                    if text not in _BOOL:
                        raise ValueError(_BOOL_MESSAGE)
                    return _BOOL[text]
                if kind == "int":
                    if isinstance(value, int) and not isinstance(value, bool):
                        return value
                    text = str(value).strip()
                    if not _INT.match(text):
                        raise ValueError(_INT_MESSAGE)
                    return int(text.partition(".")[0])
                if kind == "path":
                    path = value if isinstance(value, Path) else Path(value)
                    return coerce_cli_path(path, self.parameter_info, path_type=Path, param=param, ctx=ctx)
                return coerce_cli_choice(value, choices=list(self.annotation),
                                         case_sensitive=self.parameter_info.case_sensitive, ctx=ctx)
            except ValueError as exc:
                prefix = "" if kind in ("int", "bool") else "Value error, "  # pydantic's wording, as typer shows it
                raise BadParameter(prefix + str(exc), ctx=ctx, param=param) from None


def _lighten_param(param: Any) -> None:
    if RuntimeParam is None:
        return
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return  # not a typer parameter, or coercion already chosen
    if descriptor.file_annotation is not None or descriptor.parameter_info.parser is not None:
        return
    kind = _plain(descriptor.annotation)
    if kind is not None:
        try:
            param._runtime_param = _Light(descriptor.parameter_info, descriptor.annotation, kind)
        except Exception:  # a typer whose internals moved: its own coercion is slower but right
            return


def lighten(command: Any) -> None:
    """Give the parameters of `command` (and of its subcommands) a coercer without pydantic where one fits."""
    if RuntimeParam is None:  # pragma: no cover
        return
    for param in getattr(command, "params", ()):
        _lighten_param(param)
    for sub in getattr(command, "commands", {}).values():
        lighten(sub)


class FastGroup(TyperGroup):
    """The app's group: typer's, with `lighten` applied to every command it holds, to its own options typer adds
    after creating it (shell completion) and to the `--help` options, which typer creates per invocation (their
    value, None unless given, is coerced too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lighten(self)

    def parse_args(self, ctx: Any, args: list[str]) -> Any:
        for param in self.params:  # typer appends --install-completion and --show-completion after __init__
            _lighten_param(param)
        return super().parse_args(ctx, args)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None and RuntimeParam is not None:
            _lighten_param(option)
        return option

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        # The subcommand's context inherits the help option names from `ctx` unless the command sets its own.
        if (command is not None and RuntimeParam is not None and hasattr(command, "get_help_option")
                and not (command.context_settings or {}).get("help_option_names")):
            option = command.get_help_option(ctx)
            if option is not None:
                _lighten_param(option)
        return name, command, rest
