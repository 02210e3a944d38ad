"""Pooling layers: windowed max and average, and their global forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..geometry import GeometryError, Padding, Window, any_above, gcd, window
from .base import BOOL, GLOBAL, PADDING, PAIR, Dim, Layer, LayerError, Ops, Shape, attr, int_sizes, register, spatial


@dataclass(frozen=True, slots=True)
class _Pool(Layer):
    rf = "window"
    kernel: tuple[int, int] = attr(PAIR, doc="window size")
    stride: tuple[int, int] | None = attr(PAIR, None, "stride (default: the kernel)", shown="kernel")
    padding: Padding = attr(PADDING, Padding(), "padding (ignored by max, counted in the window by avg)")
    ceil_mode: bool = attr(BOOL, False, "round the output size up, as PyTorch's ceil_mode")

    dilation: tuple[int, int] = (1, 1)  # a field of max pooling only (PyTorch's AvgPool2d has none)

    def windows(self, shape: Shape) -> tuple[Window, Window]:
        c, h, w = spatial(shape, self.type_name)
        stride = self.stride or self.kernel
        return (window(self.kernel, stride, self.dilation, self.padding, 0, h, self.ceil_mode),
                window(self.kernel, stride, self.dilation, self.padding, 1, w, self.ceil_mode))

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        rows, cols = self.windows(inputs[0])
        for axis, side in ((0, rows), (1, cols)):
            # PyTorch's pool2d_shape_check: padding at most half the kernel (the kernel, not the dilated span).
            half = self.kernel[axis] // 2
            if any_above(side.before, half) or any_above(side.after, half):
                raise LayerError(f"padding {self.padding.describe()} is more than half the kernel "
                                 f"{self.kernel[axis]} along the {('height', 'width')[axis]}; PyTorch refuses it",
                                 "padding", hint=f"pad at most {half} on each side, or put a `pad` layer before "
                                 f"the pool")
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
    dilation: tuple[int, int] = attr(PAIR, (1, 1), "spacing of the window's taps, as PyTorch's dilation")
    summary = "maximum over each window"
    counting = "kh*kw-1 comparisons per output element"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = output
        return Ops(comparisons=c * h * w * (self.kernel[0] * self.kernel[1] - 1))

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = x at the window's argmax (kept from the forward pass): dL/dx at that position += dL/dy, one add per
        output element."""
        c, h, w = output
        return Ops(adds=batch * c * h * w) if input_grads[0] else Ops()


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

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = (1/(kh*kw)) * sum of the window: dL/dy * (1/(kh*kw)) (1 mult per output element) is added to each of
        the kh*kw positions of its window (padding included, as the forward counts it)."""
        c, h, w = output
        n = batch * c * h * w
        return Ops(mults=n, adds=n * self.kernel[0] * self.kernel[1]) if input_grads[0] else Ops()


@dataclass(frozen=True, slots=True)
class _GlobalPool(Layer):
    rf = "global"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        return (c, 1, 1)


@register
@dataclass(frozen=True, slots=True)
class GlobalAvgPool(_GlobalPool):
    type_name = "global_avgpool"
    summary = "mean over the whole map, per channel"
    counting = "H*W-1 adds and 1 mult per channel"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = inputs[0]
        return Ops(adds=c * (h * w - 1), mults=c)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = (1/(H*W)) * sum of the map: dL/dy * (1/(H*W)) (1 mult per channel) added to each of the H*W
        positions."""
        c, h, w = inputs[0]
        return Ops(mults=batch * c, adds=batch * c * h * w) if input_grads[0] else Ops()


@register
@dataclass(frozen=True, slots=True)
class GlobalMaxPool(_GlobalPool):
    type_name = "global_maxpool"
    summary = "maximum over the whole map, per channel"
    counting = "H*W-1 comparisons per channel"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = inputs[0]
        return Ops(comparisons=c * (h * w - 1))

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx at the argmax += dL/dy: one add per channel."""
        return Ops(adds=batch * inputs[0][0]) if input_grads[0] else Ops()


def adaptive_reads(size: int, out: int) -> tuple[range, ...]:
    """PyTorch's adaptive pooling windows: output i reads floor(i*n/o) .. ceil((i+1)*n/o) - 1 (ranges: a window of
    a huge map costs nothing until it is read)."""
    return tuple(range(i * size // out, -(-(i + 1) * size // out)) for i in range(out))


def _adaptive_axis(size: int, out: int):
    if size % out == 0:
        k = size // out
        return Window(k, k, 1, 0, 0)
    from ..geometry import IndexMap
    return IndexMap(adaptive_reads(size, out))


@dataclass(frozen=True, slots=True)
class _AdaptivePool(Layer):
    rf = "indexed"
    output_size: tuple[int, int] = attr(PAIR, doc="output height and width")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        return (c, *self.output_size)

    def reads_and_outputs(self, shape: Shape, output: Shape) -> tuple[Dim, Dim]:
        """(input values read over all windows, output values): a window of n values costs n-1 operations."""
        c, h, w = shape
        oh, ow = self.output_size
        # Summing ceil((i+1)*n/o) - floor(i*n/o) over the o windows gives n + o - gcd(n, o) (the ceilings exceed the
        # floors except where o divides i*n, at gcd(n, o) of the indices), in O(1), also over a sweep's arrays.
        rows, cols = h + oh - gcd(h, oh), w + ow - gcd(w, ow)
        return c * rows * cols, c * output[1] * output[2]

    def rf_axes(self, inputs: Sequence[Shape], output: Shape):
        c, h, w = int_sizes(inputs[0], self.type_name)
        if self.output_size == (1, 1):
            return GLOBAL
        return (_adaptive_axis(h, self.output_size[0]), _adaptive_axis(w, self.output_size[1]))


@register
@dataclass(frozen=True, slots=True)
class AdaptiveAvgPool(_AdaptivePool):
    type_name = "adaptive_avgpool"
    summary = "mean over PyTorch's adaptive windows to a fixed output size"
    counting = "per output element: window size - 1 adds and 1 mult (windows may differ in size)"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        reads, outputs = self.reads_and_outputs(inputs[0], output)
        return Ops(adds=reads - outputs, mults=outputs)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """As avgpool's: dL/dy * (1/window size) (1 mult per output element) added to each position of its
        window (windows may overlap and differ in size)."""
        reads, outputs = self.reads_and_outputs(inputs[0], output)
        return Ops(mults=batch * outputs, adds=batch * reads) if input_grads[0] else Ops()


@register
@dataclass(frozen=True, slots=True)
class AdaptiveMaxPool(_AdaptivePool):
    type_name = "adaptive_maxpool"
    summary = "maximum over PyTorch's adaptive windows to a fixed output size"
    counting = "per output element: window size - 1 comparisons"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        reads, outputs = self.reads_and_outputs(inputs[0], output)
        return Ops(comparisons=reads - outputs)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx at each window's argmax += dL/dy: one add per output element."""
        _, outputs = self.reads_and_outputs(inputs[0], output)
        return Ops(adds=batch * outputs) if input_grads[0] else Ops()
