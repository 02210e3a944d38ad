"""`weight_bytes`: the storage of a layer's trainable parameters in float32, 4 bytes each."""

from __future__ import annotations

from cnncalc.plugins import Metric, Node

BYTES_PER_PARAMETER = 4


def _measure(node: Node) -> tuple[int]:
    return (BYTES_PER_PARAMETER * node.layer.params(node.input_shapes, node.output),)


WEIGHT_BYTES = Metric("weight_bytes", ("weight_bytes",), ("weight bytes",),
                      "weight_bytes: 4 bytes (float32) per trainable parameter; buffers not included", _measure)
