"""Layers that join several inputs (concat, add) and reshape (flatten)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .base import Layer, LayerError, Ops, Shape, numel, register


def _describe(shape: Shape) -> str:
    return "x".join(map(str, shape))


@register
@dataclass(frozen=True, slots=True)
class Concat(Layer):
    type_name = "concat"
    summary = "joins its inputs along the channel axis"
    min_inputs = 2
    max_inputs = None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        for other in inputs[1:]:
            if len(other) != len(first) or other[1:] != first[1:]:
                raise LayerError("concat needs equal spatial sizes, got "
                                 + ", ".join(_describe(s) for s in inputs))
        return (sum(s[0] for s in inputs),) + tuple(first[1:])


@register
@dataclass(frozen=True, slots=True)
class Add(Layer):
    type_name = "add"
    summary = "element-wise sum of inputs of equal shape (residual connections)"
    counting = "1 add per element per input beyond the first"
    min_inputs = 2
    max_inputs = None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        for other in inputs[1:]:
            if other != inputs[0]:
                raise LayerError("add needs inputs of equal shape, got " + ", ".join(_describe(s) for s in inputs))
        return inputs[0]

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        return Ops(adds=numel(output) * (len(inputs) - 1))


@register
@dataclass(frozen=True, slots=True)
class Flatten(Layer):
    type_name = "flatten"
    summary = "reshapes C x H x W into a vector of C*H*W"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (numel(inputs[0]),)

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> None:
        return None
