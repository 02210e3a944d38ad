"""Export a small Keras model to ONNX with tf2onnx and measure it with Keras, for tests/test_onnx_torch.py.

    /path/to/venv-with-tensorflow-cpu-and-tf2onnx/bin/python scripts/export_keras_onnx.py
    # writes tests/data/onnx/keras_tiny.onnx, keras_tiny.nchw.onnx and keras_figures.json (committed)

Neither TensorFlow nor tf2onnx is a dependency of cnncalc: this script runs in a venv of its own.

The model: Conv2D 3x3 stride 2 `same` without bias (TensorFlow pads 0 before and 1 after on an even side), batch
norm, ReLU, MaxPooling2D, a depthwise 3x3 with bias, ReLU6, a 1x1 conv, an Add with the pool's output, global
average pooling and Dense, at 1x32x32x3 (NHWC, batch 1), every weight random (seeded). Exported by
`tf2onnx.convert.from_keras(model, input_signature, opset=17)`, as is (NHWC input: tf2onnx puts a Transpose to
NCHW in front) and with `inputs_as_nchw=["input"]` (the input declared NCHW, no Transpose).

What Keras measures, independently of the ONNX file and of cnncalc:
- `module_params`: `model.count_params()` (it includes batchnorm's moving mean and variance);
- `params`: the parameters of the graph tf2onnx writes, which folds the batchnorm into the bias-less conv before
  it: `count_params()` less batchnorm's 4*C weights, plus the C of the conv's new bias;
- `macs`: for every Conv2D, DepthwiseConv2D and Dense, output elements times the products of one output element
  (kh*kw*C_in for a conv, kh*kw for a depthwise one, F for Dense), from the shapes Keras reports;
- `output_shape`, `last_map` (C, H, W) and `feature_stride` (input side over the last map's side) as Keras's
  shapes give them (NHWC, written here in cnncalc's C, H, W order).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "onnx"
SIDE = 32


def build() -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    inputs = tf.keras.Input((SIDE, SIDE, 3), batch_size=1, name="input")
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    pooled = layers.MaxPooling2D(2)(x)
    x = layers.DepthwiseConv2D(3, padding="same")(pooled)
    x = layers.ReLU(max_value=6.0)(x)
    x = layers.Conv2D(16, 1)(x)
    x = layers.Add()([x, pooled])
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10)(x)
    model = tf.keras.Model(inputs, outputs)
    rng = np.random.default_rng(1)
    for weight in model.weights:  # as training leaves them: no zero bias, no unit variance
        weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype("float32"))
    return model


def measure(model: tf.keras.Model) -> dict:
    macs = 0
    folded = 0
    maps = []
    for layer in model.layers:
        shape = layer.output.shape
        if len(shape) == 4 and shape[1] * shape[2] > 1:
            maps.append([int(shape[3]), int(shape[1]), int(shape[2])])
        if isinstance(layer, tf.keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            macs += math.prod(shape[1:]) * kh * kw
        elif isinstance(layer, tf.keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            macs += math.prod(shape[1:]) * kh * kw * int(layer.input.shape[-1])
        elif isinstance(layer, tf.keras.layers.Dense):
            macs += int(shape[-1]) * int(layer.input.shape[-1])
        elif isinstance(layer, tf.keras.layers.BatchNormalization):
            channels = int(shape[-1])
            folded += 4 * channels - channels  # gamma, beta, mean, variance -> the conv's bias
    out = model.outputs[0].shape
    return {"input": [3, SIDE, SIDE], "output_shape": [int(d) for d in out], "last_map": maps[-1],
            "feature_stride": SIDE // maps[-1][1], "module_params": int(model.count_params()),
            "params": int(model.count_params()) - folded, "buffers": 0, "macs": int(macs)}


def main() -> int:
    model = build()
    figures = measure(model)
    spec = (tf.TensorSpec((1, SIDE, SIDE, 3), tf.float32, name="input"),)
    figures["exports"] = {}
    for nchw in (False, True):
        path = OUT / ("keras_tiny.nchw.onnx" if nchw else "keras_tiny.onnx")
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path),
                                              inputs_as_nchw=["input"] if nchw else None)
        ops: dict[str, int] = {}
        for node in proto.graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        floats = [t for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
        figures["exports"][path.name] = {
            "exporter": "tf2onnx", "trained": True, "inputs_as_nchw": nchw, "opset": 17,
            "initializer_elements": sum(math.prod(t.dims) for t in floats), "ops": dict(sorted(ops.items())),
            "bytes": path.stat().st_size}
        print(f"{path.name}: {ops}", file=sys.stderr)
    doc = {"tensorflow": tf.__version__, "keras": tf.keras.__version__ if hasattr(tf.keras, "__version__") else "",
           "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__,
           "exporter": "tf2onnx.convert.from_keras(model, input_signature, opset=17[, inputs_as_nchw=['input']])",
           "macs": "output elements x products per output of every Conv2D, DepthwiseConv2D and Dense",
           "params": "count_params() less 3*C per batchnorm folded into the bias-less conv before it",
           "networks": {"keras_tiny": figures}}
    out = OUT / "keras_figures.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
