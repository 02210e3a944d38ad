"""Measure PyTorch's FlopCounterMode over one training step of torchvision networks, for
tests/analyzers/test_flop_counter_zoo.py.

    /path/to/venv-with-torch-and-torchvision/bin/python scripts/measure_flop_counter_zoo.py
    # writes tests/data/flop_counter_zoo.json

torch is never a dependency of cnncalc: this script runs in a venv of its own and the JSON it writes is committed.
Each network is built as specs/zoo/NAME.yaml describes it (no weights, no auxiliary heads), in train mode at batch 1
at the zoo's input size, the input without requires_grad; the forward is counted under one FlopCounterMode and
`output.sum().backward()` under another. FlopCounterMode counts 2 FLOPs per multiply-accumulate, and only matrix
products and convolutions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode
from torchvision import models

ROOT = Path(__file__).resolve().parent.parent

# name -> (builder keyword arguments, input side)
NETWORKS = {
    "alexnet": ({}, 224),
    "vgg16": ({}, 224),
    "resnet18": ({}, 224),
    "resnet50": ({}, 224),
    "mobilenet_v2": ({}, 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "squeezenet1_0": ({}, 224),
    "mobilenet_v3_small": ({}, 224),
    "googlenet": ({"aux_logits": False, "init_weights": False}, 224),
    "inception_v3": ({"aux_logits": False, "init_weights": False}, 299),
    "densenet121": ({}, 224),
    "efficientnet_b0": ({}, 224),
}


def measure(name: str, kwargs: dict, side: int) -> dict:
    model = getattr(models, name)(weights=None, **kwargs).train()
    x = torch.randn(1, 3, side, side)
    with FlopCounterMode(display=False) as forward:
        y = model(x)
    with FlopCounterMode(display=False) as backward:
        y.sum().backward()
    return {"input": [3, side, side], "forward_flops": int(forward.get_total_flops()),
            "backward_flops": int(backward.get_total_flops()),
            "backward_by_op": {str(op): int(n) for op, n in backward.get_flop_counts()["Global"].items()}}


def main() -> int:
    torch.manual_seed(0)
    names = sys.argv[1:] or list(NETWORKS)
    networks = {}
    for name in names:
        networks[name] = measure(name, *NETWORKS[name])
        print(name, networks[name]["forward_flops"], networks[name]["backward_flops"], file=sys.stderr)
    doc = {"torch": torch.__version__, "torchvision": torchvision.__version__,
           "tool": "torch.utils.flop_counter.FlopCounterMode (2 FLOPs per MAC)", "networks": networks}
    out = ROOT / "tests" / "data" / "flop_counter_zoo.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
