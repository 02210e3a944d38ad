"""Layers that act on each element alone: activations, batchnorm, dropout, identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .base import FLOAT, INT, Dim, Layer, Ops, Shape, attr, numel, register

ACTIVATION_NAMES = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid",
                    "softmax")


class Activation(Layer):
    """One evaluation of a non-linear function per element."""

    rf = "identity"
    counting = "1 activation evaluation per element"

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        return Ops(activations=numel(output))


def _activation(name: str, summary: str, **fields) -> type[Activation]:
    cls = type(name.title().replace("_", ""), (Activation,), {"type_name": name, "summary": summary,
                                                               "__annotations__": {}, "__module__": __name__})
    return register(dataclass(frozen=True, slots=True)(cls))  # type: ignore[return-value]


for _name, _summary in [("relu", "max(x, 0)"), ("relu6", "min(max(x, 0), 6)"), ("sigmoid", "1 / (1 + exp(-x))"),
                        ("tanh", "hyperbolic tangent"), ("gelu", "x * Phi(x)"), ("silu", "x * sigmoid(x) (swish)"),
                        ("hardswish", "x * relu6(x + 3) / 6"), ("hardsigmoid", "relu6(x + 3) / 6"),
                        ("softmax", "softmax over channels (counted as one evaluation per element)")]:
    _activation(_name, _summary)


@register
@dataclass(frozen=True, slots=True)
class LeakyRelu(Activation):
    type_name = "leaky_relu"
    summary = "max(x, 0) + slope * min(x, 0)"

    slope: float = attr(FLOAT, 0.01, "negative slope")


@register
@dataclass(frozen=True, slots=True)
class BatchNorm(Layer):
    type_name = "batchnorm"
    rf = "identity"
    summary = "batch normalisation at inference, folded to a per-channel scale and shift"
    counting = ("1 mult + 1 add per element; params 2*C (weight, bias); buffers 2*C (running mean, variance; "
                "PyTorch's num_batches_tracked is not counted)")

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return 2 * inputs[0][0]

    def buffers(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return 2 * inputs[0][0]

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        n = numel(output)
        return Ops(mults=n, adds=n)


@register
@dataclass(frozen=True, slots=True)
class Dropout(Layer):
    type_name = "dropout"
    rf = "identity"
    summary = "dropout (the identity at inference)"

    p: float = attr(FLOAT, 0.5, "drop probability (training only)")


@register
@dataclass(frozen=True, slots=True)
class Identity(Layer):
    type_name = "identity"
    rf = "identity"
    summary = "passes its input on"


@register
@dataclass(frozen=True, slots=True)
class LocalResponseNorm(Layer):
    type_name = "lrn"
    rf = "identity"
    summary = "local response normalisation across `size` neighbouring channels (AlexNet, GoogLeNet v1)"
    counting = ("per element: size squares and size-1 adds for the sum, 1 mult and 1 add for k + alpha/size*sum, "
                "1 evaluation of the power beta, 1 mult for the division: size+2 mults, size adds, 1 activation")

    size: int = attr(INT, doc="channels in the window")
    alpha: float = attr(FLOAT, 1e-4, "scale")
    beta: float = attr(FLOAT, 0.75, "exponent")
    k: float = attr(FLOAT, 1.0, "additive constant")

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        n = numel(output)
        return Ops(mults=n * (self.size + 2), adds=n * self.size, activations=n)
