"""Counting conventions of other tools, on demand (`cnncalc cost --convention NAME`).

Every tool reports one figure per layer, and each counts differently (ResNet-50 is 4.09 to 4.13 "GFLOPs"
depending on the tool). A `Convention` is a table of per-layer-type `Rule`s, like fvcore's handler table: a rule is
a short description plus a function of the node; a layer type missing from the table is *unsupported* and reported
as a diagnostic, never silently 0. The default convention, "cnncalc", is the layers' own `ops` (see
`cnncalc.layers.base`); the presets here reproduce another tool's total exactly.

The presets form a registry: a module builds its `Convention` (its statement text included) and passes it to
`register_convention`; the CLI's choices and `--help`, `cnncalc layers --convention` and the README read the
registry, so a new preset is one module (imported at the bottom of this file, or a plug-in: see `cnncalc.plugins`).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Callable, Mapping

from ..errors import SpecError, quote
from ..graph import Node
from ..layers import Dim, numel

if TYPE_CHECKING:
    from ..graph import Node


@dataclass(frozen=True)
class Rule:
    """How a tool counts one layer type: `doc` says it in words, `count(node)` computes it."""

    doc: str
    count: Callable[[Node], Dim]
    """The count (in a sweep, per-size arrays: see `cnncalc.layers.base`)."""
    depends_on_call: Callable[[Node], bool] | None = None
    """Whether the count of this node may change with how PyTorch calls the layer (the spec's `call:`)."""
    counted: bool = True
    """False for a rule that gives 0 whatever the node (made by `zero`)."""
    calls: tuple[str, ...] | None = None
    """The `call:` forms the tool tells apart for this type, its usual form (what `count` assumes without a mark)
    first; a `call:` outside them is refused where the spec says it. None: the rule does not read `call:`."""


@dataclass(frozen=True)
class Convention:
    """A tool's way of counting: one `Rule` per layer type it knows."""

    name: str
    """What `--convention` takes."""
    figure: str
    """What the tool's number is, and how to get it from the tool."""
    rules: Mapping[str, Rule]
    statement: str = ""
    """The convention in full, as `cnncalc layers --convention NAME` prints it (the presets' module docstring);
    its first paragraph goes to the README's table of conventions."""

    def count(self, node: Node) -> Dim | None:
        """The tool's figure for `node`, or None when the tool's rule for its type is unknown. SpecError (at the
        spec's `call:`) for a form of call the rule does not know."""
        rule = self.rules.get(node.type)
        if rule is None:
            return None
        entry = node.entry
        if rule.calls is not None and entry is not None and entry.call is not None and entry.call not in rule.calls:
            raise SpecError(f"layer {quote(node.name)}: {self.name} has no rule for {node.type} called as "
                            f"`call: {entry.call}`", entry.key_pos.get("call", entry.pos),
                            hint=f"{self.name} tells apart {', '.join(rule.calls)} for {node.type}: {rule.doc}")
        return rule.count(node)


def call(node: Node, default: str = "module") -> str:
    """How the PyTorch reference invokes the layer (the spec's `call:`), for tools that count by hooking PyTorch."""
    return (node.entry.call if node.entry is not None else None) or default


def zero(doc: str = "not counted") -> Rule:
    return Rule(doc, lambda node: 0, counted=False)


def per_input(factor: int, doc: str | None = None) -> Rule:
    return Rule(doc or f"{factor} per input element", lambda node: factor * numel(node.input_shapes[0]))


def macs(doc: str = "MACs: the layer's multiplications") -> Rule:
    return Rule(doc, lambda node: node.layer.ops(node.input_shapes, node.output).macs)


DEFAULT = "cnncalc"
"""The layers' own counts (`cnncalc.layers.base`); not a preset."""

PRESETS: dict[str, Convention] = {}
"""Name -> preset, in registration order (the order of `--help` and of the README)."""


def register_convention(convention: Convention) -> Convention:
    """Add a preset; its name must be new (and not "cnncalc")."""
    if convention.name == DEFAULT or convention.name in PRESETS:
        raise RuntimeError(f"convention {convention.name!r} registered twice")
    PRESETS[convention.name] = convention
    return convention


def names() -> tuple[str, ...]:
    """Every convention `--convention` takes now: the default, then the registered presets."""
    return (DEFAULT, *PRESETS)


def __getattr__(attribute: str) -> tuple[str, ...]:
    if attribute == "NAMES":  # kept for callers of the former constant; always current
        return names()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def get(name: str) -> Convention | None:
    """The preset called `name`; None for the default convention (the layers' own counts).

    A name that no preset has is looked up among the installed plug-ins (entry point group `cnncalc.conventions`);
    a name found nowhere raises SpecError with the closest known name."""
    if name == DEFAULT:
        return None
    preset = PRESETS.get(name)
    if preset is None:
        from ..plugins import installed, load_plugin
        if load_plugin("conventions", name):
            return PRESETS[name]
        known = [*names(), *(plugin.name for plugin in installed("conventions"))]
        close = get_close_matches(name, known, 1)
        raise SpecError(f"unknown convention {name!r}",
                        hint=f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known))
    return preset


from . import torchvision, fvcore, ptflops  # noqa: E402,F401  (registration, in this order)
