"""Measure PyTorch's output sizes for pools and convolutions over a grid, and write them as JSON.

Run with a Python that has torch (torch is not a dependency of cnncalc):

    python scripts/measure_pool_grid.py tests/data/torch_pool_grid.json

One axis is measured (height); the width axis is kept trivial (kernel 1, stride 1, no padding, width 1), so every
point is one (input size n, kernel k, stride s, padding p, dilation d, ceil_mode) along one axis. A point's result is
the output size, or the kind of error PyTorch raises: "padding" (padding above half the kernel), "empty" (no output
window, or a kernel larger than the padded input), or "other" with the message (none expected).
"""

from __future__ import annotations

import itertools
import json
import sys

import torch
import torch.nn.functional as F

SIZES = range(1, 10)
KERNELS = range(1, 6)
STRIDES = range(1, 4)
PADDINGS = range(0, 4)

GRIDS = {
    # name: (dilations, ceil modes)
    "maxpool": ((1, 2, 3), (False, True)),
    "avgpool": ((1,), (False, True)),
    "conv": ((1, 2, 3), (False,)),
}


def run(op: str, n: int, k: int, s: int, p: int, d: int, ceil: bool) -> torch.Tensor:
    x = torch.zeros(1, 1, n, 1)
    if op == "maxpool":
        return F.max_pool2d(x, (k, 1), (s, 1), (p, 0), (d, 1), ceil_mode=ceil)
    if op == "avgpool":
        return F.avg_pool2d(x, (k, 1), (s, 1), (p, 0), ceil_mode=ceil)
    return F.conv2d(x, torch.zeros(1, 1, k, 1), None, (s, 1), (p, 0), (d, 1))


def classify(message: str) -> str:
    if "pad should be" in message:
        return "padding"
    if "too small" in message or "can't be greater than actual input size" in message:
        return "empty"
    return "other: " + message.splitlines()[0]


def measure() -> dict:
    grids = {}
    for op, (dilations, ceils) in GRIDS.items():
        results = []
        for n, k, s, p, d, ceil in itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, dilations, ceils):
            try:
                out = run(op, n, k, s, p, d, ceil)
                results.append(out.shape[2])
            except RuntimeError as exc:
                results.append(classify(str(exc)))
        grids[op] = {"dilations": list(dilations), "ceil_modes": list(ceils), "results": results}
    return {
        "torch": torch.__version__,
        "generated_by": "scripts/measure_pool_grid.py",
        "order": "itertools.product(sizes, kernels, strides, paddings, dilations, ceil_modes)",
        "sizes": list(SIZES), "kernels": list(KERNELS), "strides": list(STRIDES), "paddings": list(PADDINGS),
        "grids": grids,
    }


if __name__ == "__main__":
    document = measure()
    text = json.dumps(document, separators=(",", ":")) + "\n"
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
