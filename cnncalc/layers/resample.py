"""Layers that change the spatial size without weights: explicit padding and upsampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..geometry import IndexMap, Padding, Window
from .base import (BOOL, PADDING, PAIR, Dim, Layer, LayerError, Ops, Shape, attr, choice, int_sizes, register,
                   spatial)


@register
@dataclass(frozen=True, slots=True)
class Pad(Layer):
    type_name = "pad"
    rf = "window"
    summary = "zero padding as a layer of its own (TF-Slim's conv2d_same, ZeroPad2d)"
    padding: Padding = attr(PADDING, doc="int, [h, w] or [top, bottom, left, right]")

    def sides(self, shape: Shape) -> tuple[tuple[Dim, Dim], tuple[Dim, Dim]]:
        c, h, w = spatial(shape, self.type_name)
        if self.padding.mode != "explicit":
            raise LayerError(f"pad needs explicit sizes; `{self.padding.mode}` depends on a kernel", "padding")
        return self.padding.sides(0, h, 1, 1), self.padding.sides(1, w, 1, 1)

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (t, b), (l, r) = self.sides(inputs[0])
        c, h, w = inputs[0]
        return (c, h + t + b, w + l + r)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx is dL/dy with the padding cropped: nothing to compute."""
        return Ops()

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[Window, Window]:
        (t, b), (l, r) = self.sides(inputs[0])
        return Window(1, 1, 1, t, b), Window(1, 1, 1, l, r)


@register
@dataclass(frozen=True, slots=True)
class Upsample(Layer):
    type_name = "upsample"
    rf = "indexed"
    summary = "nearest or bilinear upsampling by `scale` or to `size` (PyTorch's index rules)"
    counting = "nearest: nothing; bilinear: 4 mults and 3 adds per output element (a weighted sum of 4 values)"

    scale: tuple[int, int] | None = attr(PAIR, None, "integer scale factor")
    size: tuple[int, int] | None = attr(PAIR, None, "output height and width (instead of scale)")
    mode: str = attr(choice("nearest", "bilinear"), "nearest", "interpolation")
    align_corners: bool = attr(BOOL, False, "bilinear: align the corner pixels (PyTorch's align_corners)")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        if (self.scale is None) == (self.size is None):
            raise LayerError("upsample takes either `scale` or `size`", hint="e.g. `scale: 2`")
        if self.size is not None:
            return (c, *self.size)
        return (c, h * self.scale[0], w * self.scale[1])  # type: ignore[index]

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        if self.mode == "nearest":
            return Ops()
        n = output[0] * output[1] * output[2]
        return Ops(mults=4 * n, adds=3 * n)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """nearest: y = x[src]; dL/dx[src] += dL/dy, one add per output element. bilinear: y = sum of 4 weights
        times 4 inputs; dL/dx of each of the 4 += weight * dL/dy: 4 mults and 4 adds per output element."""
        if not input_grads[0]:
            return Ops()
        n = batch * output[0] * output[1] * output[2]
        return Ops(adds=n) if self.mode == "nearest" else Ops(mults=4 * n, adds=4 * n)

    def reads(self, size: int, out: int, axis: int) -> tuple[tuple[int, ...], ...]:
        """Input positions each output index reads along one axis."""
        if self.mode == "nearest":  # PyTorch: src = floor(dst * in / out) (scale given: dst / scale)
            if self.scale is not None:
                return tuple((min(x // self.scale[axis], size - 1),) for x in range(out))
            return tuple((min(x * size // out, size - 1),) for x in range(out))
        from fractions import Fraction
        reads = []
        for x in range(out):
            if self.align_corners:
                src = Fraction(x * (size - 1), out - 1) if out > 1 else Fraction(0)
            else:
                ratio = Fraction(1, self.scale[axis]) if self.scale is not None else Fraction(size, out)
                src = max((x + Fraction(1, 2)) * ratio - Fraction(1, 2), Fraction(0))
            low = min(int(src), size - 1)
            high = min(low + 1, size - 1) if src != low else low
            reads.append(tuple(range(low, high + 1)))
        return tuple(reads)

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[IndexMap, IndexMap]:
        c, h, w = int_sizes(inputs[0], self.type_name)
        _, oh, ow = int_sizes(output, self.type_name)
        return IndexMap(self.reads(h, oh, 0)), IndexMap(self.reads(w, ow, 1))
