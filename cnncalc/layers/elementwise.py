"""Layers that act on each element alone: activations, batchnorm, dropout, identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .base import BOOL, FLOAT, INT, Dim, Layer, Ops, Shape, activation_backward, attr, numel, register

ACTIVATION_NAMES = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid",
                    "softmax")


@dataclass(frozen=True, slots=True)
class Activation(Layer):
    """One evaluation of a non-linear function per element."""

    rf = "identity"
    counting = "1 activation evaluation per element"

    inplace: bool = attr(BOOL, False, "overwrites its input (PyTorch's inplace=True, F.relu(x, inplace=True)): no new "
                                      "memory (`cnncalc memory`); the counts are the same")

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        return Ops(activations=numel(output))

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """z = f(x) element by element: dL/dx = dL/dz * f'(x), one derivative evaluation and one mult per element
        (nothing without an input gradient: the layer has no parameters)."""
        return activation_backward(batch * numel(output)) if input_grads[0] else Ops()


def _activation(name: str, summary: str, **fields) -> type[Activation]:
    cls = type(name.title().replace("_", ""), (Activation,), {"type_name": name, "summary": summary,
                                                               "__annotations__": {}, "__module__": __name__})
    return register(dataclass(frozen=True, slots=True)(cls))  # type: ignore[return-value]


for _name, _summary in [("relu", "max(x, 0)"), ("relu6", "min(max(x, 0), 6)"), ("sigmoid", "1 / (1 + exp(-x))"),
                        ("tanh", "hyperbolic tangent"), ("gelu", "x * Phi(x)"), ("silu", "x * sigmoid(x) (swish)"),
                        ("hardswish", "x * relu6(x + 3) / 6"), ("hardsigmoid", "relu6(x + 3) / 6")]:
    _activation(_name, _summary)


@register
@dataclass(frozen=True, slots=True)
class Softmax(Activation):
    type_name = "softmax"
    summary = "softmax over channels (counted as one evaluation per element)"
    backward_counting = ("with an input gradient: 2 mults and 2 adds per element (y * (g - sum over the channels of "
                         "g*y)); no derivative evaluation")

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """y = softmax(x) over the C channels of each position: dL/dx = y * (g - sum over c of g*y) (the Jacobian
        diag(y) - y y^T times g): per element 1 mult (g*y), 1 add (into the sum), 1 add (g - sum), 1 mult (times y);
        no derivative evaluation."""
        n = batch * numel(output)
        return Ops(mults=2 * n, adds=2 * n) if input_grads[0] else Ops()


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
    backward_counting = ("per channel of m = N*H*W values (batch statistics): m mults and 2m adds for the weight and "
                         "bias gradients; with an input gradient too, 4m+2 mults and 4m adds in all")

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return 2 * inputs[0][0]

    def buffers(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        return 2 * inputs[0][0]

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        n = numel(output)
        return Ops(mults=n, adds=n)

    def _per_channel(self, inputs: Sequence[Shape], output: Shape, batch: int) -> tuple[Dim, Dim]:
        """(channels C, m = values per channel over the batch)."""
        c = inputs[0][0]
        return c, batch * numel(output) // c

    def training_ops(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Ops:
        """Training mode, batch statistics per channel over its m = N*H*W values: mean = sum(x) * (1/m) (m adds,
        1 mult); xc = x - mean (m adds); var = sum(xc^2) * (1/m) (m mults, m adds, 1 mult); r = 1/sqrt(var + eps)
        (1 add, 1 activation); xhat = xc * r (m mults); y = gamma * xhat + beta (m mults, m adds). Per channel:
        3m+2 mults, 4m+1 adds, 1 activation. The running statistics' update (buffers that training does not read)
        is not counted."""
        c, m = self._per_channel(inputs, output, batch)
        return Ops(mults=c * (3 * m + 2), adds=c * (4 * m + 1), activations=c)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """With g = dL/dy per channel: dL/dbeta = sum(g) (m adds); dL/dgamma = sum(g * xhat) (m mults, m adds); with
        an input gradient, dL/dx = (gamma * r / m) * (m*g - dL/dbeta - xhat * dL/dgamma) (2 mults per channel; per
        value 3 mults and 2 adds), the chain rule through xhat, the mean and the variance."""
        c, m = self._per_channel(inputs, output, batch)
        if input_grads[0]:
            return Ops(mults=c * (4 * m + 2), adds=c * 4 * m)
        return Ops(mults=c * m, adds=c * 2 * m)


@register
@dataclass(frozen=True, slots=True)
class Dropout(Layer):
    type_name = "dropout"
    rf = "identity"
    summary = "dropout (the identity at inference)"

    p: float = attr(FLOAT, 0.5, "drop probability (training only)")

    def training_ops(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Ops:
        """Training: y = x * mask, the mask of zeros and 1/(1-p) drawn at random (drawing it is not counted):
        1 mult per element."""
        return Ops(mults=batch * numel(output))

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx = dL/dy * mask: 1 mult per element."""
        return Ops(mults=batch * numel(output)) if input_grads[0] else Ops()


@register
@dataclass(frozen=True, slots=True)
class Identity(Layer):
    type_name = "identity"
    rf = "identity"
    summary = "passes its input on"

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """dL/dx = dL/dy: nothing to compute."""
        return Ops()


@register
@dataclass(frozen=True, slots=True)
class LocalResponseNorm(Layer):
    type_name = "lrn"
    rf = "identity"
    summary = "local response normalisation across `size` neighbouring channels (AlexNet, GoogLeNet v1)"
    counting = ("per element: size squares and size-1 adds for the sum, 1 mult and 1 add for k + alpha/size*sum, "
                "1 evaluation of the power beta, 1 mult for the division: size+2 mults, size adds, 1 activation")
    backward_counting = "with an input gradient: 5 mults and size+1 adds per element (s and s^-beta kept)"

    size: int = attr(INT, doc="channels in the window")
    alpha: float = attr(FLOAT, 1e-4, "scale")
    beta: float = attr(FLOAT, 0.75, "exponent")
    k: float = attr(FLOAT, 1.0, "additive constant")

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        n = numel(output)
        return Ops(mults=n * (self.size + 2), adds=n * self.size, activations=n)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """s_i = k + alpha/size * sum over the window W(i) of x_j^2, y_i = x_i * s_i^-beta. The chain rule:
        dL/dx_j = g_j * s_j^-beta - (2*alpha*beta/size) * x_j * sum over i with j in W(i) of g_i * y_i / s_i.
        Per element: g*y and / s (2 mults; s and s^-beta kept from the forward pass), the window sum (size adds, the
        channels beyond the edge as zero terms), times x and the constant (2 mults), g * s^-beta (1 mult), the
        difference (1 add): 5 mults and size+1 adds."""
        n = batch * numel(output)
        return Ops(mults=5 * n, adds=(self.size + 1) * n) if input_grads[0] else Ops()
