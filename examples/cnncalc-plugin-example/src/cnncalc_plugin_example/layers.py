"""`instancenorm`: PyTorch's nn.InstanceNorm2d at inference (statistics of each image and channel, computed on
the fly; no running statistics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from cnncalc.plugins import BOOL, FLOAT, Layer, Ops, Shape, attr, spatial


@dataclass(frozen=True, slots=True)
class InstanceNorm(Layer):
    type_name = "instancenorm"
    rf = "global"
    """Every output depends on the whole map of its channel: the mean and variance are the instance's own (PyTorch's
    InstanceNorm2d keeps no running statistics by default), unlike batchnorm's at inference."""
    summary = "instance normalisation: each channel of each image normalised by its own mean and variance"
    counting = ("per channel of n = H*W elements: mean n-1 adds and 1 mult; x-mean n adds; variance n mults "
                "(squares), n-1 adds and 1 mult; 1/sqrt(var+eps) 1 add and 1 activation; scaling n mults; with "
                "affine n mults and n adds more; params 2*C with affine (weight, bias), else 0")

    affine: bool = attr(BOOL, True, "learned per-channel weight and bias (PyTorch's default is false)")
    eps: float = attr(FLOAT, 1e-5, "added to the variance")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        spatial(inputs[0], "instancenorm")  # a LayerError for a flat input
        return inputs[0]

    def params(self, inputs: Sequence[Shape], output: Shape) -> int:
        return 2 * inputs[0][0] if self.affine else 0

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        c, h, w = inputs[0]
        n = h * w
        adds = (n - 1) + n + (n - 1) + 1 + (n if self.affine else 0)
        mults = 1 + n + 1 + n + (n if self.affine else 0)
        return Ops(mults=c * mults, adds=c * adds, activations=c)
