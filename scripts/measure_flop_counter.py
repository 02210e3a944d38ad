"""Measure PyTorch's FlopCounterMode over one training step of small networks, for tests/analyzers/test_flop_counter.py.

    python -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch==2.13.0 pyyaml
    /tmp/torch-venv/bin/python scripts/measure_flop_counter.py      # writes tests/data/flop_counter.json

torch is never a dependency of cnncalc: this script runs in a venv of its own and the JSON it writes is committed.
Each case is a cnncalc spec (kept in the JSON) of sequential layers; the script builds the same network in PyTorch
(train mode, batch 1, the input without requires_grad), counts the forward pass under one FlopCounterMode and
`output.sum().backward()` under another, and records both totals and the backward's figure per aten op.
FlopCounterMode counts 2 FLOPs per multiply-accumulate and only matrix products and convolutions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "plain": """\
input: [3, 16, 16]
layers:
  - {name: c1, type: conv, out: 8, kernel: 3, padding: 1, activation: relu}
  - {name: c2, type: conv, out: 8, kernel: 3, padding: 1, bias: false}
  - {name: bn, type: batchnorm}
  - {name: pool, type: maxpool, kernel: 2}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out: 10}
""",
    "depthwise": """\
input: [4, 12, 12]
layers:
  - {name: pw1, type: conv, out: 16, kernel: 1, activation: relu}
  - {name: dw, type: conv, out: 16, kernel: 3, padding: 1, groups: 16, activation: relu}
  - {name: pw2, type: conv, out: 8, kernel: 1}
  - {name: gap, type: global_avgpool}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out: 10}
""",
    "grouped": """\
input: [3, 10, 10]
layers:
  - {name: c1, type: conv, out: 8, kernel: 3}
  - {name: g, type: conv, out: 16, kernel: 3, groups: 4, stride: 2}
  - {name: gap, type: global_avgpool}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out: 5}
""",
}


def build(spec: dict) -> tuple[nn.Module, tuple[int, ...]]:
    shape = tuple(spec["input"])
    modules = []
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv":
            modules.append(nn.Conv2d(shape[0], layer["out"], layer["kernel"], layer.get("stride", 1),
                                     layer.get("padding", 0), groups=layer.get("groups", 1),
                                     bias=layer.get("bias", True)))
            if layer.get("activation") == "relu":
                modules.append(nn.ReLU())
        elif kind == "batchnorm":
            modules.append(nn.BatchNorm2d(shape[0]))
        elif kind == "maxpool":
            modules.append(nn.MaxPool2d(layer["kernel"]))
        elif kind == "global_avgpool":
            modules.append(nn.AdaptiveAvgPool2d(1))
        elif kind == "flatten":
            modules.append(nn.Flatten())
        elif kind == "linear":
            modules.append(nn.Linear(shape[0], layer["out"]))
        else:
            raise ValueError(kind)
        with torch.no_grad():
            shape = tuple(nn.Sequential(*modules)(torch.zeros(1, *spec["input"])).shape[1:])
    return nn.Sequential(*modules).train(), tuple(spec["input"])


def measure(text: str) -> dict:
    model, shape = build(yaml.safe_load(text))
    x = torch.randn(1, *shape)
    with FlopCounterMode(display=False) as forward:
        y = model(x)
    with FlopCounterMode(display=False) as backward:
        y.sum().backward()
    by_op = {str(op): int(n) for op, n in backward.get_flop_counts()["Global"].items()}
    return {"spec": text, "forward_flops": int(forward.get_total_flops()),
            "backward_flops": int(backward.get_total_flops()), "backward_by_op": by_op}


def main() -> int:
    torch.manual_seed(0)
    doc = {"torch": torch.__version__, "tool": "torch.utils.flop_counter.FlopCounterMode (2 FLOPs per MAC)",
           "cases": {name: measure(text) for name, text in CASES.items()}}
    out = ROOT / "tests" / "data" / "flop_counter.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
