"""Trainable parameters and non-trainable buffers of each layer."""

from __future__ import annotations

from ..graph import Node
from ..layers import Dim
from .base import Metric


def _measure(node: Node) -> tuple[Dim, Dim]:
    return (node.layer.params(node.input_shapes, node.output),
            node.layer.buffers(node.input_shapes, node.output))


PARAMS = Metric("params", ("params", "buffers"), ("params", "buffers"),
                "params: trainable weights and biases; buffers: stored non-trainable values "
                "(batchnorm running mean and variance)", _measure)
