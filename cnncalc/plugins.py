"""Plug-ins: layer types, metrics and conventions from other packages, and the API they are written against.

A package extends cnncalc through entry points, one per thing it adds, named as cnncalc will know it:

    [project.entry-points."cnncalc.layers"]
    instancenorm = "my_package.layers:InstanceNorm"   # a Layer subclass (frozen dataclass), type_name instancenorm
    [project.entry-points."cnncalc.metrics"]
    weight_bytes = "my_package.metrics:WEIGHT_BYTES"  # a Metric named weight_bytes
    [project.entry-points."cnncalc.conventions"]
    twice_macs = "my_package.conventions:TWICE_MACS"  # a Convention named twice_macs

The entry point refers to the object itself; cnncalc checks its kind and that its name is the entry point's name,
and registers it (`register`, `register_metric`, `register_convention`: the same calls the built-ins make; an object
the package already registered when imported is accepted as it is).

Loading is lazy, so start-up never reads the installed packages' metadata: a layer plug-in is loaded when a spec
names a type that is not built in, a convention when `--convention NAME` (or `conventions.get`) names one that is
not, a metric when `--metric NAME` asks for it; `cnncalc layers` loads them all and lists them, `cnncalc --version`
lists them without loading. A plug-in that fails to import, or gives the wrong kind of object, is reported by name
with its error (PluginError, a SpecError: one message, exit code 2); the built-ins keep working.

Everything a plug-in needs is importable from here: `Layer`, `register`, `attr` and the attribute kinds, `Ops`,
`Shape`, `numel`, `spatial`, `LayerError`, `Window`, `IDENTITY_AXES`, `GLOBAL` for layers; `Metric`,
`register_metric` and `Node` for metrics; `Convention`, `Rule`, `register_convention` and the rule helpers for
conventions. `examples/cnncalc-plugin-example/` is a complete installable plug-in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from .analyzers import METRICS, Metric, register_metric
from .conventions import PRESETS, Convention, Rule, macs, per_input, register_convention, zero
from .errors import SpecError, quote, suggest
from .geometry import Window
from .graph import Node
from .layers.base import (BOOL, FLOAT, GLOBAL, IDENTITY_AXES, INT, NONNEG_PAIR, PADDING, PAIR, REGISTRY, SIZES,
                          Layer, LayerError, Ops, Shape, attr, choice, numel, register, spatial)

GROUPS = {"layers": "cnncalc.layers", "metrics": "cnncalc.metrics", "conventions": "cnncalc.conventions"}
"""What a plug-in adds -> its entry point group."""


@dataclass(frozen=True)
class Installed:
    """One entry point of an installed plug-in package."""

    kind: str
    """"layers", "metrics" or "conventions" (a key of GROUPS)."""
    name: str
    """The layer type, metric or convention name it provides."""
    target: str
    """What the entry point names: `module:attribute`."""
    package: str
    """The distribution that declares it, with its version."""


class PluginError(SpecError):
    """A plug-in that cannot be used; `reason` says why, without naming the plug-in again."""

    def __init__(self, where: str, reason: str, hint: str) -> None:
        super().__init__(f"{where} {reason}", hint=hint)
        self.reason = reason


def _entry_points(kind: str) -> list[Any]:
    from importlib.metadata import entry_points  # slow to import: only here, never at start-up
    return list(entry_points(group=GROUPS[kind]))


def _describe(kind: str, entry: Any) -> Installed:
    dist = getattr(entry, "dist", None)
    package = f"{dist.metadata['Name']} {dist.version}" if dist is not None else "an unnamed package"
    return Installed(kind, entry.name, entry.value, package)


def installed(kind: str | None = None) -> list[Installed]:
    """The entry points of the installed plug-ins (of one kind, or all), without loading any."""
    return [_describe(k, e) for k in ([kind] if kind else GROUPS) for e in _entry_points(k)]


def _registered(kind: str, name: str) -> object | None:
    registries: dict[str, dict[str, Any]] = {"layers": REGISTRY, "metrics": METRICS, "conventions": PRESETS}
    return registries[kind].get(name)


def _check(kind: str, name: str, obj: object) -> Callable[[], object] | str:
    """How to register `obj`, or what is wrong with it."""
    if kind == "layers":
        if not (isinstance(obj, type) and issubclass(obj, Layer) and dataclasses.is_dataclass(obj)):
            return f"gives {obj!r}, not a Layer subclass that is a dataclass"
        if getattr(obj, "type_name", None) != name:
            return f"gives a layer of type_name {getattr(obj, 'type_name', None)!r}, not {name!r}"
        return lambda: register(obj)  # type: ignore[arg-type]
    if kind == "metrics":
        if not isinstance(obj, Metric):
            return f"gives {obj!r}, not a cnncalc Metric"
        if obj.name != name:
            return f"gives the metric {obj.name!r}, not {name!r}"
        return lambda: register_metric(obj)
    if not isinstance(obj, Convention):
        return f"gives {obj!r}, not a cnncalc Convention"
    if obj.name != name:
        return f"gives the convention {obj.name!r}, not {name!r}"
    return lambda: register_convention(obj)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")


def _load(kind: str, entry: Any) -> None:
    """Import one entry point and register what it gives; PluginError naming the plug-in if that fails."""
    plugin = _describe(kind, entry)
    where = f"plug-in {plugin.name!r} ({GROUPS[kind]} entry point {plugin.target} of {plugin.package})"
    hint = f"fix or uninstall {plugin.package.rsplit(' ', 1)[0]}; the built-in {kind} still work"
    try:
        obj = entry.load()
    except Exception as exc:  # third-party code: any failure is the plug-in's, reported with its name
        raise PluginError(where, f"failed to load: {_one_line(exc)}", hint) from None
    if _registered(kind, plugin.name) is obj:
        return  # the package registered it when imported
    how = _check(kind, plugin.name, obj)
    if isinstance(how, str):
        raise PluginError(where, how, hint)
    try:
        how()
    except RuntimeError as exc:  # a name or column another layer type, metric or convention already has
        raise PluginError(where, f"cannot be registered: {exc}", hint) from None


def load_plugin(kind: str, name: str) -> bool:
    """Load the plug-in that provides the layer type, metric or convention `name`; False when none is installed."""
    found = False
    for entry in _entry_points(kind):
        if entry.name == name:
            _load(kind, entry)
            found = True
    return found and _registered(kind, name) is not None


def load_plugins(kind: str) -> dict[str, str]:
    """Load every plug-in of one kind; name -> message for those that fail (the others are loaded all the same)."""
    failures = {}
    for entry in _entry_points(kind):
        try:
            _load(kind, entry)
        except PluginError as exc:
            failures[entry.name] = exc.reason
    return failures


def require_metrics(names: list[str]) -> None:
    """Make the metrics `names` part of every cost report: built in, or loaded from a plug-in now."""
    for name in names:
        if name in METRICS or load_plugin("metrics", name):
            continue
        known = list(METRICS) + [p.name for p in installed("metrics")]
        close = suggest(name, known)
        raise SpecError(f"unknown metric {quote(name)}", hint=f"did you mean {close!r}?" if close else
                        "known: " + ", ".join(known))


_USE = {"layers": "a spec's `type: {}`", "metrics": "`--metric {}`", "conventions": "`--convention {}`"}


def summary(load: bool) -> list[str]:
    """One line per installed plug-in entry point, empty when there is none: for `--version` (`load` False: nothing
    is imported) and for `cnncalc layers` (`load` True: every plug-in is loaded first, and a failure is shown)."""
    failures = {(kind, name): message for kind in GROUPS for name, message in
                (load_plugins(kind) if load else {}).items()}
    lines = []
    for plugin in installed():
        use = _USE[plugin.kind].format(plugin.name)
        failed = failures.get((plugin.kind, plugin.name))
        lines.append(f"plug-in {plugin.kind[:-1]} {plugin.name} from {plugin.package} ({plugin.target}): "
                     + (f"broken: {failed}" if failed else f"use {use}"))
    return lines


__all__ = ["BOOL", "FLOAT", "GLOBAL", "GROUPS", "IDENTITY_AXES", "INT", "NONNEG_PAIR", "PADDING", "PAIR", "REGISTRY",
           "SIZES", "Convention", "Installed", "Layer", "LayerError", "Metric", "Node", "Ops", "PluginError", "Rule",
           "Shape", "Window", "attr", "choice", "installed", "load_plugin", "load_plugins", "macs", "numel",
           "per_input", "register", "register_convention", "register_metric", "require_metrics", "spatial", "summary",
           "zero"]
