"""Measure what PyTorch's autograd keeps for the backward pass of the torchvision networks of the zoo.

    /path/to/venv-with-torch/bin/python scripts/measure_saved_tensors.py   # writes tests/data/saved_tensors.json

torch and torchvision are never dependencies of cnncalc: this script runs in a venv of its own (measured with torch
2.14.1 and torchvision 0.29.1) and the JSON it writes is committed. For each zoo spec that names a torchvision model,
the model is built with random weights (aux heads off, as the specs are), put in train mode, and one forward pass
of a batch-1 float32 input of the spec's size (on CPU, the input without requires_grad) runs under
`torch.autograd.graph.saved_tensors_hooks`. Every tensor the pack hook sees is recorded by its storage
(`untyped_storage().data_ptr()`), each storage counted once at its full `nbytes()`; storages of parameters and
buffers (batchnorm's running statistics, which its backward also saves) are left out. The JSON keeps per network
the total bytes, the number of storages, and the bytes per leaf-module type that first saved each storage.

unet_small has no torchvision model: it is built from its spec (SpecNet below: nn.Conv2d with its symmetric
padding, nn.ReLU(inplace=True) as a U-Net port writes it, nn.MaxPool2d, nn.ConvTranspose2d, torch.cat) and measured
the same way. The TF-Slim networks are not measured: what PyTorch keeps for them depends on how a port pads (TF's
asymmetric SAME padding needs F.pad, whose copy the next conv keeps), so there is no one PyTorch answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import sys

import torch
import torchvision
import yaml
from torchvision import models

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402  (pure Python: reads the spec for SpecNet)

FROM_SPEC = ("unet_small",)


class SpecNet(torch.nn.Module):
    """A cnncalc graph of conv (symmetric padding), relu, maxpool, conv_transpose and concat, as PyTorch modules."""

    def __init__(self, graph) -> None:
        super().__init__()
        self.graph = graph
        self.mods = torch.nn.ModuleDict()
        for node in graph.layers:
            layer, c = node.layer, node.input_shapes[0][0]
            key = node.name.replace("/", "_").replace(".", "_")
            if node.type == "conv":
                pads = [(a.before, a.after) for a in layer.windows(node.input_shapes[0])]
                assert all(b == a for b, a in pads), "asymmetric padding"
                mods = [torch.nn.Conv2d(c, layer.out, layer.kernel, layer.stride, tuple(b for b, _ in pads),
                                        layer.dilation, layer.groups, layer.bias)]
                assert layer.activation in ("none", "relu")
                if layer.activation == "relu":
                    mods.append(torch.nn.ReLU(inplace=True))
                self.mods[key] = torch.nn.Sequential(*mods)
            elif node.type == "conv_transpose":
                self.mods[key] = torch.nn.ConvTranspose2d(c, layer.out, layer.kernel, layer.stride, layer.padding,
                                                          layer.output_padding, layer.groups, layer.bias,
                                                          layer.dilation)
            elif node.type == "relu":
                self.mods[key] = torch.nn.ReLU(inplace=True)
            elif node.type == "maxpool":
                w = layer.windows(node.input_shapes[0])
                assert all(a.before == a.after for a in w)
                self.mods[key] = torch.nn.MaxPool2d(layer.kernel, layer.stride or layer.kernel, w[0].before,
                                                    layer.dilation, ceil_mode=layer.ceil_mode)
            elif node.type != "concat":
                raise ValueError(f"SpecNet does not build {node.type}")

    def forward(self, x):
        values = {(0, 0): x}
        for node in self.graph.layers:
            ins = [values[ref] for ref in node.inputs]
            key = node.name.replace("/", "_").replace(".", "_")
            values[(node.index, 0)] = torch.cat(ins, 1) if node.type == "concat" else self.mods[key](ins[0])
        return values[(self.graph.nodes[-1].index, 0)]


BUILD = {
    "googlenet": lambda: models.googlenet(weights=None, aux_logits=False, init_weights=False),
    "inception_v3": lambda: models.inception_v3(weights=None, aux_logits=False, init_weights=False),
}


def measure(name: str, shape: list[int]) -> dict:
    torch.manual_seed(0)
    if name in FROM_SPEC:
        path = ROOT / "specs" / "zoo" / f"{name}.yaml"
        model = SpecNet(cnncalc.load(path.read_text(), str(path)))
    else:
        model = BUILD.get(name, lambda: getattr(models, name)(weights=None))()
    model.train()
    owned = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    seen: dict[int, int] = {}
    by_type: dict[str, int] = {}
    current: list[str] = ["(top)"]

    def pre(module, _inputs):
        current.append(type(module).__name__)

    def post(_module, _inputs, _output):
        current.pop()

    hooks = [m.register_forward_pre_hook(pre) for m in model.modules() if not list(m.children())]
    hooks += [m.register_forward_hook(post) for m in model.modules() if not list(m.children())]

    def pack(tensor: torch.Tensor):
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in owned and ptr not in seen:
            seen[ptr] = storage.nbytes()
            by_type[current[-1]] = by_type.get(current[-1], 0) + storage.nbytes()
        return tensor

    x = torch.randn(1, *shape)  # requires_grad False, as a data batch
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    out.sum().backward()  # the saved tensors were real ones: the backward pass runs
    for h in hooks:
        h.remove()
    return {"input": shape, "saved_bytes": sum(seen.values()), "storages": len(seen),
            "by_module_type": dict(sorted(by_type.items()))}


def main() -> None:
    result = {"torch": torch.__version__, "torchvision": torchvision.__version__, "device": "cpu",
              "dtype": "float32", "batch": 1, "networks": {}}
    for path in sorted((ROOT / "specs" / "zoo").glob("*.yaml")):
        name = path.stem
        if not hasattr(models, name) and name not in FROM_SPEC:
            continue
        spec = yaml.safe_load(path.read_text())
        result["networks"][name] = measure(name, spec["input"])
        print(name, result["networks"][name]["saved_bytes"])
    out = ROOT / "tests" / "data" / "saved_tensors.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
