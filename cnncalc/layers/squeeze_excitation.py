"""Squeeze-and-excitation as one layer: the six layers of torchvision's `SqueezeExcitation`, counted as they are.

    x -> adaptive_avgpool(1) -> conv 1x1 C->S (bias) -> activation -> conv 1x1 S->C (bias) -> gate -> mul with x

Its parameters and operation counts are, by construction, the sums of those six layers' (`parts`); the other
tools' conventions count it as they count the six (cnncalc/conventions). Its receptive field is global: the
gate of every channel sees the whole map.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

from .base import GLOBAL, IDENTITY_AXES, INT, REGISTRY, Dim, Layer, Ops, Shape, attr, choice, numel, register, spatial
from .conv import Conv
from .elementwise import ACTIVATION_NAMES
from .merge import Mul
from .pool import AdaptiveAvgPool

GATES = ("sigmoid", "hardsigmoid")


@register
@dataclass(frozen=True, slots=True)
class SqueezeExcitation(Layer):
    type_name = "squeeze_excitation"
    rf = "global"  # every output depends on the whole input through the gate
    summary = ("squeeze-and-excitation (torchvision's SqueezeExcitation): the input times a per-channel gate "
               "computed from its global average")
    call_attributes = ("pool_call", "activation_call")
    counting = ("the sum of its six layers: adaptive_avgpool to 1x1, conv 1x1 C->squeeze with bias, activation, "
                "conv 1x1 squeeze->C with bias, gate, mul by the input (params 2*C*squeeze + squeeze + C)")
    backward_counting = ("the sum of its six layers' backward passes (the pool's only with an input gradient), and "
                         "then 1 add per input element to sum the pool's and the mul's gradients")

    squeeze: int = attr(INT, doc="channels of the squeezed descriptor (fc1's output channels)")
    activation: str = attr(choice(*ACTIVATION_NAMES), "relu", "activation between the two 1x1 convs (torchvision: "
                                                              "ReLU; EfficientNet: SiLU)")
    gate: str = attr(choice(*GATES), "sigmoid", "the gate (scale_activation; MobileNetV3: hardsigmoid)")
    pool_call: str = attr(choice("module", "functional", "method"), "module",
                          "how the reference averages (ptflops, fvcore): nn.AdaptiveAvgPool2d (module), "
                          "F.adaptive_avg_pool2d (functional) or x.mean((2, 3), keepdim=True) (method)")
    activation_call: str = attr(choice("module", "functional"), "module",
                                "how the reference calls the activation (ptflops): nn.ReLU (module) or F.relu "
                                "(functional); the gate and the product `scale * x` count alike in every form")

    def parts(self, shape: Shape) -> tuple[tuple[Layer, tuple[Shape, ...], Shape], ...]:
        """The six layers it stands for: (layer, its input shapes, its output shape), in order."""
        c, h, w = spatial(shape, self.type_name)
        pooled, squeezed = (c, 1, 1), (self.squeeze, 1, 1)
        return ((AdaptiveAvgPool((1, 1)), (shape,), pooled),
                (Conv(self.squeeze, (1, 1)), (pooled,), squeezed),
                (REGISTRY[self.activation](), (squeezed,), squeezed),
                (Conv(c, (1, 1)), (squeezed,), pooled),
                (REGISTRY[self.gate](), (pooled,), pooled),
                (Mul(), (shape, pooled), shape))

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        spatial(inputs[0], self.type_name)
        return inputs[0]

    def local_rf(self, inputs: Sequence[Shape], output: Shape):
        """The input times its gate: with the gate taken as a constant, the identity."""
        return IDENTITY_AXES, (0,)

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        total: Dim = 0
        for layer, shapes, out in self.parts(inputs[0]):
            total = total + layer.params(shapes, out)
        return total

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        counts = [layer.ops(shapes, out) for layer, shapes, out in self.parts(inputs[0])]
        return Ops(**{f.name: sum(getattr(c, f.name) for c in counts) for f in fields(Ops)})

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """The sum of its six layers' backward passes: the pool (and the first conv's input gradient) only when the
        input needs a gradient, the rest always (the convs have parameters); the input, read by the pool and by the
        mul, sums their two gradients: 1 add per input element."""
        x = input_grads[0]
        grads = ((x,), (x,), (True,), (True,), (True,), (x, True))
        total = Ops(adds=batch * numel(inputs[0])) if x else Ops()
        for (layer, shapes, out), needed in zip(self.parts(inputs[0]), grads):
            total = total.plus(layer.backward(shapes, out, needed, batch))
        return total
