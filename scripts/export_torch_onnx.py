"""Export small torchvision models to ONNX with PyTorch's own exporter and measure them with torch, for
tests/test_onnx_torch.py and the README's "From PyTorch and TensorFlow" table.

    /path/to/venv-with-torch-torchvision-onnx-onnxscript/bin/python scripts/export_torch_onnx.py
    # writes tests/data/onnx/*.onnx and tests/data/onnx/torch_figures.json (committed)
    /path/to/that/python scripts/export_torch_onnx.py --full /tmp/torch_onnx_full
    # full-size ResNet-50 and MobileNet-V2 (about 100 MB, not committed) to that folder, their figures to
    # tests/data/onnx/torch_full_figures.json (committed, so the README's numbers can be traced)

torch is never a dependency of cnncalc: this script runs in a venv of its own and what it writes is committed.

How each model is exported (what most ONNX files seen in the wild come from): torchvision's builder with reduced
widths and 10 classes, no weights, seeded random initialisation, then batchnorm's weight, bias and running
statistics and every bias drawn at random, as training leaves them; eval mode; batch 1 at a fixed input size;
`torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17)`: the TorchScript exporter, whose constant
folding (on by default) folds a batchnorm that follows a convolution into that convolution's weight and bias. Two
models are also exported by the dynamo exporter (`dynamo=True`, torch 2.14's default, at its default opset 20,
`external_data=False`) to `NAME.dynamo.onnx`, and one untrained (torchvision's initialisation kept: batchnorm 1, 0,
0, 1 and biases 0) by the TorchScript exporter to `NAME.untrained.onnx`: its folded biases are all 0, and the
exporter stores equal tensors once, the other convolutions reading them through Identity nodes, so that file holds
fewer weight elements than the graph has parameters. Running the script again writes the same bytes (torch 2.14.1,
CPU).

What torch measures, independently of the ONNX file and of cnncalc:
- `module_params`, `module_buffers`: `sum(p.numel())` over the module's parameters and its batchnorm running
  statistics (num_batches_tracked not counted), as built;
- `params`, `buffers`: the same over the module after `torch.fx.experimental.optimization.fuse` folded every
  batchnorm that follows a convolution into it (the conv gains a bias of C elements, the batchnorm's 2*C
  parameters and 2*C buffers go): the parameters of the graph the exporter writes. A batchnorm that does not follow
  a convolution (DenseNet's, after a concat) stays, with its 2*C parameters and 2*C buffers. The fused module's
  output equals the eval module's (checked here);
- `macs`: `torch.utils.flop_counter.FlopCounterMode` over one forward pass of the eval module, halved: it counts 2
  FLOPs per multiply-accumulate of convolutions and matrix products, nothing else (bias additions, batchnorm,
  pooling, activations are 0). A MAC is one multiplication of a conv or linear layer: cnncalc's `macs`. Folding
  changes no MAC;
- `output_shape`: the eval module's output shape; `last_map`: the (C, H, W) output of the last module (in
  execution order, forward hooks on every module) whose output is a map larger than 1x1, the map the global
  pool reads, and `feature_stride`: the input side over that map's side (the inputs are chosen so that it
  divides), which is the jump of its receptive field.
From the ONNX file (read with the onnx package): `initializer_elements`, the element count of every float
initializer (`params + buffers` for the TorchScript exporter's trained files; the dynamo exporter also stores Clip's
bounds 0 and 6 as two float initializers; fewer in the untrained file), and `ops`, how many nodes of each op type
the graph has.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Callable

import onnx
import onnxscript
import torch
import torchvision
from torch import nn
from torch.fx.experimental.optimization import fuse
from torch.utils.flop_counter import FlopCounterMode
from torchvision import models
from torchvision.models.resnet import Bottleneck, ResNet

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "onnx"
OPSET = 17


class NarrowResNet(ResNet):
    """torchvision's ResNet with the planes of every stage divided by `divisor` (the 64-channel stem and
    ResNet's own `_make_layer`, blocks and forward unchanged; `fc` is rebuilt for the narrower last stage)."""

    def __init__(self, block: type, layers: list[int], divisor: int, num_classes: int, **kwargs: object) -> None:
        self.divisor = divisor
        super().__init__(block, layers, num_classes=num_classes, **kwargs)
        self.fc = nn.Linear(512 // divisor * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):  # type: ignore[no-untyped-def]
        return super()._make_layer(block, planes // self.divisor, blocks, stride, dilate)


# name -> (builder, input side, exports); exports name the files written: "torchscript" NAME.onnx, "dynamo"
# NAME.dynamo.onnx, "untrained" NAME.untrained.onnx (see the docstring); what each model covers is in its comment
SMALL: dict[str, tuple[Callable[[], nn.Module], int, tuple[str, ...]]] = {
    # Bottleneck blocks (add, downsample), grouped 3x3 convs (ResNeXt's groups=2), a dilated last stage,
    # maxpool, adaptive avgpool to 1x1, torch.flatten, linear
    "resnet_tiny": (lambda: NarrowResNet(Bottleneck, [2, 1, 1, 1], divisor=16, num_classes=10, groups=2,
                                         replace_stride_with_dilation=[False, False, True]), 112,
                    ("torchscript", "dynamo")),
    # depthwise convs, ReLU6 (Clip), inverted residual adds, dropout, F.adaptive_avg_pool2d, torch.flatten
    "mobilenet_v2_w025": (lambda: models.mobilenet_v2(weights=None, width_mult=0.25, num_classes=10), 96,
                          ("torchscript", "dynamo")),
    # hardswish, squeeze-and-excitation (hardsigmoid gate, mul), 5x5 depthwise, two linear layers
    "mobilenet_v3_small_w025": (lambda: models.mobilenet_v3_small(weights=None, width_mult=0.25, num_classes=10),
                                96, ("torchscript", "untrained")),
    # channel shuffle (view, transpose, view), chunk into two halves, concat, maxpool, mean over H and W
    "shufflenet_v2_tiny": (lambda: models.ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=10),
                           96, ("torchscript",)),
    # dense concats, batchnorm that does not follow a conv (stays unfolded), avgpool 2x2, F.relu
    "densenet_tiny": (lambda: models.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16,
                                              bn_size=2, num_classes=10), 64, ("torchscript",)),
}

FULL: dict[str, tuple[Callable[[], nn.Module], int, tuple[str, ...]]] = {
    "resnet50": (lambda: models.resnet50(weights=None), 224, ("torchscript", "dynamo")),
    "mobilenet_v2": (lambda: models.mobilenet_v2(weights=None), 224, ("torchscript", "dynamo")),
}


def randomise_batchnorm(model: nn.Module, generator: torch.Generator) -> None:
    """Give every batchnorm the weight, bias and running statistics of a trained model, and every bias random
    values (seeded; torchvision initialises biases to 0, which the exporter would store once for all)."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                channels = module.num_features
                module.weight.copy_(torch.rand(channels, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(channels, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)


def counts(model: nn.Module) -> tuple[int, int]:
    """(parameters, buffers) of a module; buffers are batchnorm's running statistics (num_batches_tracked is not
    counted, as cnncalc and torchvision's num_params do not)."""
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    return params, buffers


def last_map(model: nn.Module, x: torch.Tensor) -> list[int]:
    """(C, H, W) of the last module output, in execution order, that is a map larger than 1x1."""
    shapes: list[list[int]] = []

    def record(module: nn.Module, inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and output.shape[2] * output.shape[3] > 1:
            shapes.append(list(output.shape[1:]))

    handles = [module.register_forward_hook(record) for module in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes[-1]


def onnx_figures(path: Path) -> dict:
    """What the ONNX file holds: opset, float initializer elements, op histogram, output shape."""
    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    floats = [init for init in graph.initializer if init.data_type == onnx.TensorProto.FLOAT]
    others = [init for init in graph.initializer if init.data_type != onnx.TensorProto.FLOAT]
    output = graph.output[0].type.tensor_type.shape.dim
    return {
        "opset": next(o.version for o in graph_model.opset_import if o.domain in ("", "ai.onnx")),
        "initializers": len(graph.initializer),
        "initializer_elements": sum(math.prod(init.dims) for init in floats),
        "other_initializer_elements": sum(math.prod(init.dims) for init in others),
        "ops": dict(sorted(collections.Counter(node.op_type for node in graph.node).items())),
        "onnx_output_shape": [d.dim_value for d in output],
        "bytes": path.stat().st_size,
    }


def build_model(build: Callable[[], nn.Module], trained: bool) -> nn.Module:
    """The model in eval mode, seeded; `trained`: batchnorm and biases randomised as training leaves them."""
    torch.manual_seed(0)
    model = build().eval()
    if trained:
        randomise_batchnorm(model, torch.Generator().manual_seed(1))
    return model


def export(name: str, build: Callable[[], nn.Module], side: int, exports: tuple[str, ...], folder: Path) -> dict:
    """Build, measure and export one model; return its figures (the same for every export: the counts do not
    depend on the weights' values)."""
    model = build_model(build, trained=True)
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(2))
    module_params, module_buffers = counts(model)
    fused = fuse(model)
    params, buffers = counts(fused)
    with torch.no_grad():
        y = model(x)
        torch.testing.assert_close(fused(x), y, rtol=1e-4, atol=1e-4)
        with FlopCounterMode(display=False) as flops:
            model(x)
    total = int(flops.get_total_flops())
    assert total % 2 == 0, total
    feature_map = last_map(model, x)
    assert side % feature_map[1] == 0 and feature_map[1] == feature_map[2], feature_map
    figures = {"input": [3, side, side], "output_shape": list(y.shape), "last_map": feature_map,
               "feature_stride": side // feature_map[1], "module_params": module_params,
               "module_buffers": module_buffers, "params": params, "buffers": buffers, "macs": total // 2,
               "exports": {}}
    for variant in exports:
        path = folder / (f"{name}.onnx" if variant == "torchscript" else f"{name}.{variant}.onnx")
        exporter = "dynamo" if variant == "dynamo" else "torchscript"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if exporter == "torchscript":
                source = model if variant == "torchscript" else build_model(build, trained=False)
                torch.onnx.export(source, (x,), str(path), dynamo=False, opset_version=OPSET,
                                  input_names=["input"], output_names=["output"])
            else:
                torch.onnx.export(model, (x,), str(path), dynamo=True, input_names=["input"],
                                  output_names=["output"], external_data=False, verbose=False)
        on_file = onnx_figures(path)
        figures["exports"][path.name] = {"exporter": exporter, "trained": variant != "untrained", **on_file}
        print(f"{path.name}: {on_file['bytes']:,} bytes, opset {on_file['opset']}, ops {on_file['ops']}",
              file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, help="export the full-size models to this folder instead")
    args = parser.parse_args()
    folder, table, out = ((args.full, FULL, OUT / "torch_full_figures.json") if args.full
                          else (OUT, SMALL, OUT / "torch_figures.json"))
    folder.mkdir(parents=True, exist_ok=True)
    networks = {name: export(name, build, side, exports, folder) for name, (build, side, exports) in table.items()}
    doc = {"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__,
           "onnxscript": onnxscript.__version__,
           "exporters": {"torchscript": f"torch.onnx.export(model, (x,), path, dynamo=False, "
                                        f"opset_version={OPSET})",
                         "dynamo": "torch.onnx.export(model, (x,), path, dynamo=True) (its default opset)"},
           "macs": "FlopCounterMode total / 2 over one eval-mode forward pass: multiplications of conv and matmul",
           "params": "sum(p.numel()) after torch.fx.experimental.optimization.fuse (batchnorm after a conv folded)",
           "networks": networks}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
