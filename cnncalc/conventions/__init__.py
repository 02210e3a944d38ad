"""Counting conventions of other tools, on demand (`cnncalc cost --convention NAME`).

Every tool reports one figure per layer, and each counts differently (ResNet-50 is 4.09 to 4.13 "GFLOPs"
depending on the tool). A `Convention` is a table of per-layer-type `Rule`s, like fvcore's handler table: a rule is
a short description plus a function of the node; a layer type missing from the table is *unsupported* and reported
as a diagnostic, never silently 0. The default convention, "cnncalc", is the layers' own `ops` (see
`cnncalc.layers.base`); the presets here reproduce another tool's total exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from ..graph import Node
from ..layers import Dim, numel


@dataclass(frozen=True)
class Rule:
    """How a tool counts one layer type: `doc` says it in words, `count(node)` computes it."""

    doc: str
    count: Callable[[Node], Dim]
    """The count (in a sweep, per-size arrays: see `cnncalc.layers.base`)."""
    depends_on_call: Callable[[Node], bool] | None = None
    """Whether the count of this node changes with how PyTorch calls the layer (the spec's `call:`)."""


@dataclass(frozen=True)
class Convention:
    name: str
    figure: str
    """What the tool's number is, and how to get it from the tool."""
    rules: Mapping[str, Rule]

    def count(self, node: Node) -> Dim | None:
        """The tool's figure for `node`, or None when the tool's rule for its type is unknown."""
        rule = self.rules.get(node.type)
        return None if rule is None else rule.count(node)


def call(node: Node, default: str = "module") -> str:
    """How the PyTorch reference invokes the layer (the spec's `call:`), for tools that count by hooking PyTorch."""
    return (node.entry.call if node.entry is not None else None) or default


def zero(doc: str = "not counted") -> Rule:
    return Rule(doc, lambda node: 0)


def per_input(factor: int, doc: str | None = None) -> Rule:
    return Rule(doc or f"{factor} per input element", lambda node: factor * numel(node.input_shapes[0]))


def macs(doc: str = "MACs: the layer's multiplications") -> Rule:
    return Rule(doc, lambda node: node.layer.ops(node.input_shapes, node.output).macs)


def _load() -> dict[str, Convention]:
    from . import fvcore, ptflops, torchvision
    return {c.name: c for c in (torchvision.CONVENTION, fvcore.CONVENTION, ptflops.CONVENTION)}


DEFAULT = "cnncalc"
NAMES = (DEFAULT, "torchvision", "fvcore", "ptflops")


def get(name: str) -> Convention | None:
    """The preset called `name`; None for the default convention (the layers' own counts)."""
    return None if name == DEFAULT else _load()[name]
