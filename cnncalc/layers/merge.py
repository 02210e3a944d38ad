"""Layers that join, split, reorder or reshape channels: concat, add, mul, split, channel_shuffle, flatten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .base import BOOL, GLOBAL, INT, IDENTITY_AXES, SIZES, Layer, LayerError, Ops, Shape, attr, numel, register, spatial


def _describe(shape: Shape) -> str:
    return "x".join(map(str, shape))


def _equal(a: Shape, b: Shape) -> bool | None:
    """`a == b` for shapes of ints. In a sweep over input sizes (numpy arrays of sizes in place of H and W): True
    or False when so at every size, None when it differs between sizes."""
    if len(a) != len(b):
        return False
    result: bool | None = True
    for x, y in zip(a, b):
        if x is y:
            continue
        same = x == y
        if type(same) is bool:
            if not same:
                return False
        elif not same.all():
            if not same.any():
                return False
            result = None
    return result


@register
@dataclass(frozen=True, slots=True)
class Concat(Layer):
    type_name = "concat"
    rf = "identity"
    summary = "joins its inputs along the channel axis"
    min_inputs = 2
    max_inputs = None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        for other in inputs[1:]:
            if len(other) != len(first) or _equal(other[1:], first[1:]) is not True:
                raise LayerError("concat needs equal spatial sizes, got "
                                 + ", ".join(_describe(s) for s in inputs))
        return (sum(s[0] for s in inputs),) + tuple(first[1:])

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx_k is the slice of dL/dy at x_k's channels: nothing to compute."""
        return Ops()


@register
@dataclass(frozen=True, slots=True)
class Add(Layer):
    type_name = "add"
    rf = "identity"
    summary = "element-wise sum of inputs of equal shape (residual connections)"
    counting = "1 add per element per input beyond the first"
    min_inputs = 2
    max_inputs = None

    inplace: bool = attr(BOOL, False, "sums into its first input (PyTorch's `out += identity`): no new memory "
                                      "(`cnncalc memory`); the counts are the same")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        for other in inputs[1:]:
            if _equal(other, inputs[0]) is not True:
                raise LayerError("add needs inputs of equal shape, got " + ", ".join(_describe(s) for s in inputs))
        return inputs[0]

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        return Ops(adds=numel(output) * (len(inputs) - 1))

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = sum of x_k: dL/dx_k = dL/dy for every input, nothing to compute."""
        return Ops()


@register
@dataclass(frozen=True, slots=True)
class Flatten(Layer):
    type_name = "flatten"
    rf = "global"
    summary = "reshapes C x H x W into a vector of C*H*W"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return (numel(inputs[0]),)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx is dL/dy reshaped: nothing to compute."""
        return Ops()


@register
@dataclass(frozen=True, slots=True)
class Mul(Layer):
    type_name = "mul"
    rf = "window"  # the identity, or GLOBAL where an input is broadcast
    summary = "element-wise product; an input of C x 1 x 1 is broadcast over the map (squeeze-and-excitation)"
    counting = "1 mult per output element per input beyond the first"
    min_inputs = 2
    max_inputs = None

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        if all(type(d) is int for s in inputs for d in s):
            full = max(inputs, key=numel)
        else:  # a sweep over input sizes: the broadcast inputs are C x 1 x 1 at every size, the map is not
            full = next((s for s in inputs if any(type(d) is not int for d in s)), inputs[0])
        for other in inputs:
            if _equal(other, full) is not True and not (len(other) == 3 and len(full) == 3
                                                       and _equal(other, (full[0], 1, 1)) is True):
                raise LayerError("mul needs equal shapes or a C x 1 x 1 input to broadcast, got "
                                 + ", ".join(_describe(s) for s in inputs))
        return full

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        return Ops(mults=numel(output) * (len(inputs) - 1))

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = x_1 * ... * x_n: dL/dx_k = dL/dy * (product of the other inputs), n-1 mults per output element; an
        input broadcast over the map (C x 1 x 1) sums these products over its positions, one add per output
        element."""
        elements = batch * numel(output)
        total = Ops()
        for shape, grad in zip(inputs, input_grads):
            if grad:
                total = total.plus(Ops(mults=elements * (len(inputs) - 1),
                                       adds=elements * (numel(shape) != numel(output))))
        return total

    def rf_axes(self, inputs: Sequence[Shape], output: Shape):
        # A broadcast C x 1 x 1 input (a global descriptor) makes every output depend on the whole input.
        same = [_equal(s, output) for s in inputs]
        if False in same:
            return GLOBAL
        if None in same:  # a sweep in which the map is 1 x 1 at some sizes only
            raise LayerError("mul broadcasts at some input sizes only")
        return IDENTITY_AXES

    def local_rf(self, inputs: Sequence[Shape], output: Shape):
        """A broadcast C x 1 x 1 input is a per-channel gate: the local field reads the map inputs only."""
        maps = tuple(k for k, s in enumerate(inputs) if _equal(s, output) is True)
        return (IDENTITY_AXES, maps) if maps and len(maps) < len(inputs) else None


@register
@dataclass(frozen=True, slots=True)
class Split(Layer):
    type_name = "split"
    rf = "identity"
    summary = "splits the channels into chunks; chunk K of split S is the input `S.K`"
    sizes: tuple[int, ...] | None = attr(SIZES, None, "channels of each chunk")
    chunks: int | None = attr(INT, None, "number of equal chunks (instead of sizes)")

    def output_shapes(self, inputs: Sequence[Shape]) -> tuple[Shape, ...]:
        c, h, w = spatial(inputs[0], self.type_name)
        if (self.sizes is None) == (self.chunks is None):
            raise LayerError("split takes either `chunks` or `sizes`", hint="e.g. `chunks: 2`")
        if self.chunks is not None:
            if c % self.chunks:
                raise LayerError(f"{self.chunks} chunks do not divide the {c} channels", "chunks")
            sizes = (c // self.chunks,) * self.chunks
        else:
            sizes = self.sizes  # type: ignore[assignment]
            if sum(sizes) != c:
                raise LayerError(f"sizes add up to {sum(sizes)}, the input has {c} channels", "sizes")
        return tuple((k, h, w) for k in sizes)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx joins the chunks' gradients along the channels: nothing to compute."""
        return Ops()


@register
@dataclass(frozen=True, slots=True)
class ChannelShuffle(Layer):
    type_name = "channel_shuffle"
    rf = "identity"
    summary = "interleaves the channels of `groups` groups (ShuffleNet); moves data, computes nothing"
    groups: int = attr(INT, doc="groups to interleave")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        c = spatial(inputs[0], self.type_name)[0]
        if c % self.groups:
            raise LayerError(f"groups={self.groups} does not divide the {c} channels", "groups")
        return inputs[0]

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx is dL/dy with the channels put back in order: nothing to compute."""
        return Ops()
