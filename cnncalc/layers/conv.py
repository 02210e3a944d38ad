"""Layers with weights: convolution and the fully connected (linear) layer."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Sequence

from ..geometry import GeometryError, IndexMap, Padding, Window, any_below, window
from .base import (BOOL, INT, NONNEG_PAIR, PADDING, PAIR, Dim, Layer, LayerError, Ops, Shape, activation_backward,
                   attr, choice, int_sizes, numel, register, spatial)
from .elementwise import ACTIVATION_NAMES

ACTIVATION = choice("none", *ACTIVATION_NAMES)


@register
@dataclass(frozen=True, slots=True)
class Conv(Layer):
    type_name = "conv"
    rf = "window"
    summary = "2-D convolution, optionally followed by an activation"
    counting = ("per output element: (C_in/groups)*kh*kw mults and as many adds with bias (one fewer without); "
                "MACs = mults; activation: 1 evaluation per output element; "
                "params: C_out*(C_in/groups)*kh*kw + C_out if bias")
    backward_counting = ("per output element and tap: 1 mult and 1 add for the weight gradient, as many for the "
                         "input gradient (when the input needs one); 1 add per output element for the bias gradient; "
                         "MACs = mults; activation: 1 derivative evaluation and 1 mult per output element")

    out: int = attr(INT, doc="output channels")
    kernel: tuple[int, int] = attr(PAIR, doc="kernel size")
    stride: tuple[int, int] = attr(PAIR, (1, 1), "stride")
    padding: Padding = attr(PADDING, Padding(), "zero padding")
    dilation: tuple[int, int] = attr(PAIR, (1, 1), "dilation; the kernel spans d*(k-1)+1")
    groups: int = attr(INT, 1, "channel groups (= channels for depthwise)")
    bias: bool = attr(BOOL, True, "learned bias per output channel")
    activation: str = attr(ACTIVATION, "none", "activation applied to the output")

    def windows(self, shape: Shape) -> tuple[Window, Window]:
        c, h, w = spatial(shape, self.type_name)
        return (window(self.kernel, self.stride, self.dilation, self.padding, 0, h),
                window(self.kernel, self.stride, self.dilation, self.padding, 1, w))

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        if c % self.groups:
            raise LayerError(f"groups={self.groups} does not divide the {c} input channels", "groups")
        if self.out % self.groups:
            raise LayerError(f"groups={self.groups} does not divide the {self.out} output channels", "groups")
        rows, cols = self.windows(inputs[0])
        try:
            return (self.out, rows.out_size(h), cols.out_size(w))
        except GeometryError as exc:
            raise LayerError(str(exc), "kernel") from None

    def fan_in(self, inputs: Sequence[Shape]) -> Dim:
        return inputs[0][0] // self.groups * self.kernel[0] * self.kernel[1]

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return self.out * self.fan_in(inputs) + (self.out if self.bias else 0)

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        elements = numel(output)
        mults = elements * self.fan_in(inputs)
        adds = mults if self.bias else mults - elements
        return Ops(mults=mults, adds=adds, activations=elements if self.activation != "none" else 0, macs=mults)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y[o, p] = b[o] + sum over taps t of W[o, t] * x[t(p)] (t: C_in/groups * kh * kw taps per output), then
        z = f(y). delta = dL/dy = dL/dz * f'(y) (with an activation: one derivative and one mult per output);
        dL/dW[o, t] = sum over p of delta[o, p] * x[t(p)] and dL/dx[t(p)] += delta[o, p] * W[o, t]: each a product
        per (output element, tap), accumulated (taps on padding included, their products dropped); dL/db[o] = sum
        over p of delta[o, p]. Backward MACs: the products of dL/dW and dL/dx."""
        elements = batch * numel(output)
        taps = elements * self.fan_in(inputs)
        products = taps * (2 if input_grads[0] else 1)
        activation = activation_backward(elements) if self.activation != "none" else Ops()
        return Ops(mults=products, adds=products + (elements if self.bias else 0), macs=products).plus(activation)

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[Window, Window]:
        return self.windows(inputs[0])


@register
@dataclass(frozen=True, slots=True)
class Linear(Layer):
    type_name = "linear"
    rf = "global"
    summary = "fully connected layer; reads its input flattened"
    counting = ("per output: F mults and F adds with bias (F-1 without), F = input elements; MACs = mults; "
                "activation: 1 evaluation per output; params: out*F + out if bias")
    backward_counting = ("out*F mults and adds for the weight gradient, as many for the input gradient (when the "
                         "input needs one), out adds for the bias gradient; MACs = mults; activation: 1 derivative "
                         "evaluation and 1 mult per output")

    out: int = attr(INT, doc="output features")
    bias: bool = attr(BOOL, True, "learned bias per output")
    activation: str = attr(ACTIVATION, "none", "activation applied to the output")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.out,)

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return self.out * numel(inputs[0]) + (self.out if self.bias else 0)

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        mults = self.out * numel(inputs[0])
        return Ops(mults=mults, adds=mults if self.bias else mults - self.out,
                   activations=self.out if self.activation != "none" else 0, macs=mults)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = W x + b (W: out x F), z = f(y): delta = dL/dz * f'(y) (one derivative and one mult per output, with
        an activation); dL/dW = delta^T x: out*F products per image, accumulated over the batch; dL/dx = delta W:
        out*F products per image, each added into dL/dx; dL/db = sum of delta: out adds per image."""
        products = batch * self.out * numel(inputs[0]) * (2 if input_grads[0] else 1)
        outputs = batch * self.out
        activation = activation_backward(outputs) if self.activation != "none" else Ops()
        return Ops(mults=products, adds=products + (outputs if self.bias else 0), macs=products).plus(activation)


@register
@dataclass(frozen=True, slots=True)
class ConvTranspose(Layer):
    type_name = "conv_transpose"
    rf = "indexed"
    summary = "transposed 2-D convolution (fractionally strided), optionally followed by an activation"
    counting = ("every input element times every tap: C_in*H_in*W_in*(C_out/groups)*kh*kw mults, each added into "
                "the output (initialised with the bias): as many adds; cropped taps included, the formula of "
                "ptflops and fvcore; MACs = mults; activation: 1 evaluation per output element")
    backward_counting = ("per input element and tap: 1 mult and 1 add for the weight gradient, as many for the input "
                         "gradient (when the input needs one), cropped taps included; 1 add per output element for "
                         "the bias gradient; MACs = mults; activation: 1 derivative evaluation and 1 mult per output "
                         "element")

    out: int = attr(INT, doc="output channels")
    kernel: tuple[int, int] = attr(PAIR, doc="kernel size")
    stride: tuple[int, int] = attr(PAIR, (1, 1), "stride (the upsampling factor)")
    padding: tuple[int, int] = attr(NONNEG_PAIR, (0, 0), "cropped from each side of the full output")
    output_padding: tuple[int, int] = attr(NONNEG_PAIR, (0, 0), "added to the bottom/right of the output")
    dilation: tuple[int, int] = attr(PAIR, (1, 1), "dilation")
    groups: int = attr(INT, 1, "channel groups")
    bias: bool = attr(BOOL, True, "learned bias per output channel")
    activation: str = attr(ACTIVATION, "none", "activation applied to the output")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = spatial(inputs[0], self.type_name)
        if c % self.groups or self.out % self.groups:
            raise LayerError(f"groups={self.groups} does not divide the channels ({c} in, {self.out} out)",
                             "groups")
        sizes = []
        for axis, n in enumerate((h, w)):
            if self.output_padding[axis] >= max(self.stride[axis], self.dilation[axis]):
                raise LayerError("output_padding must be smaller than the stride or the dilation", "output_padding")
            sizes.append((n - 1) * self.stride[axis] - 2 * self.padding[axis]
                         + self.dilation[axis] * (self.kernel[axis] - 1) + self.output_padding[axis] + 1)
        if any_below(sizes[0], 1) or any_below(sizes[1], 1):
            raise LayerError(f"padding crops the whole output ({sizes[0]}x{sizes[1]})", "padding")
        return (self.out, sizes[0], sizes[1])

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return inputs[0][0] * (self.out // self.groups) * self.kernel[0] * self.kernel[1] + (
            self.out if self.bias else 0)

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        mults = numel(inputs[0]) * (self.out // self.groups) * self.kernel[0] * self.kernel[1]
        return Ops(mults=mults, adds=mults, macs=mults,
                   activations=numel(output) if self.activation != "none" else 0)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y[t(q)] += W[c, t] * x[c, q] for every input element q and tap t ((C_out/groups)*kh*kw taps), y += b,
        z = f(y): delta = dL/dz * f'(y); dL/dW[c, t] = sum over q of x[c, q] * delta[t(q)] and dL/dx[c, q] = sum
        over t of W[c, t] * delta[t(q)]: one product per (input element, tap) each, cropped taps included as the
        forward counts them; dL/db = sum of delta over the output."""
        taps = batch * numel(inputs[0]) * (self.out // self.groups) * self.kernel[0] * self.kernel[1]
        products = taps * (2 if input_grads[0] else 1)
        elements = batch * numel(output)
        activation = activation_backward(elements) if self.activation != "none" else Ops()
        return Ops(mults=products, adds=products + (elements if self.bias else 0), macs=products).plus(activation)

    def reads(self, size: int, out: int, axis: int) -> tuple[range, ...]:
        """Input positions x with x*s - p + d*j = o for some tap j in 0 .. k-1, for each output position o: an
        arithmetic progression (x*s = o + p - d*j, so x steps by d/gcd(s, d)), in O(1) per output, whatever k."""
        s, p, d, k = self.stride[axis], self.padding[axis], self.dilation[axis], self.kernel[axis]
        g = gcd(s, d)
        step = d // g
        inverse = pow(s // g, -1, step) if step > 1 else 0
        reads = []
        for o in range(out):
            t = o + p  # x*s + d*j = t
            lowest = max(0, -(-(t - d * (k - 1)) // s))  # j <= k-1
            highest = min(size - 1, t // s)  # j >= 0
            if t % g or lowest > highest:
                reads.append(range(0))
                continue
            first = (t // g) * inverse % step if step > 1 else 0  # x = first (mod step) solves x*s = t (mod d)
            start = lowest + (first - lowest) % step
            reads.append(range(start, highest + 1, step))
        return tuple(reads)

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[IndexMap, IndexMap]:
        c, h, w = int_sizes(inputs[0], self.type_name)
        _, oh, ow = int_sizes(output, self.type_name)
        return IndexMap(self.reads(h, oh, 0)), IndexMap(self.reads(w, ow, 1))
