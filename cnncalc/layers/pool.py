"""Pooling layers: windowed max and average, and their global forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..geometry import GeometryError, Padding, Window, window
from .base import BOOL, PADDING, PAIR, Layer, LayerError, Ops, Shape, attr, register, spatial


@dataclass(frozen=True, slots=True)
class _Pool(Layer):
    kernel: tuple[int, int] = attr(PAIR, doc="window size")
    stride: tuple[int, int] | None = attr(PAIR, None, "stride (default: the kernel)")
    padding: Padding = attr(PADDING, Padding(), "padding (ignored by max, counted in the window by avg)")
    ceil_mode: bool = attr(BOOL, False, "round the output size up, as PyTorch's ceil_mode")

    def windows(self, shape: Shape) -> tuple[Window, Window]:
        c, h, w = spatial(shape, self.type_name)
        stride = self.stride or self.kernel
        return (window(self.kernel, stride, (1, 1), self.padding, 0, h, self.ceil_mode),
                window(self.kernel, stride, (1, 1), self.padding, 1, w, self.ceil_mode))

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        rows, cols = self.windows(inputs[0])
        try:
            return (c, rows.out_size(h), cols.out_size(w))
        except GeometryError as exc:
            raise LayerError(str(exc), "kernel") from None

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[Window, Window]:
        return self.windows(inputs[0])


@register
@dataclass(frozen=True, slots=True)
class MaxPool(_Pool):
    type_name = "maxpool"
    summary = "maximum over each window"
    counting = "kh*kw-1 comparisons per output element"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = output
        return Ops(comparisons=c * h * w * (self.kernel[0] * self.kernel[1] - 1))


@register
@dataclass(frozen=True, slots=True)
class AvgPool(_Pool):
    type_name = "avgpool"
    summary = "mean over each window"
    counting = "kh*kw-1 adds and 1 mult per output element"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = output
        n = c * h * w
        return Ops(adds=n * (self.kernel[0] * self.kernel[1] - 1), mults=n)


@dataclass(frozen=True, slots=True)
class _GlobalPool(Layer):
    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        return (c, 1, 1)

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> None:
        return None


@register
@dataclass(frozen=True, slots=True)
class GlobalAvgPool(_GlobalPool):
    type_name = "global_avgpool"
    summary = "mean over the whole map, per channel"
    counting = "H*W-1 adds and 1 mult per channel"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = inputs[0]
        return Ops(adds=c * (h * w - 1), mults=c)


@register
@dataclass(frozen=True, slots=True)
class GlobalMaxPool(_GlobalPool):
    type_name = "global_maxpool"
    summary = "maximum over the whole map, per channel"
    counting = "H*W-1 comparisons per channel"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = inputs[0]
        return Ops(comparisons=c * (h * w - 1))
