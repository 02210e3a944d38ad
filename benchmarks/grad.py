"""`cnncalc grad` run times: one forward and backward pass in numpy must take seconds, not minutes.

    python3 benchmarks/grad.py [--repeats 5] [--batch 16]

In process (the numpy import excluded), the median wall time of `Network.grad()` on the bundled specs that it
runs, and on the largest run the limits let through for hw5 (the batch the hint names), with the MACs per run.
Budget: every bundled spec under 5 s at batch 16.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPECS = ["mlp.yaml", "mlp_sigmoid.yaml", "mlp_relu.yaml", "hw5.yaml"]
BUDGET = 5.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    import numpy  # noqa: F401  (not part of the time)
    import cnncalc
    from cnncalc.grad import MAX_MACS, MAX_VALUES
    print(f"| spec | batch | forward MACs | median s | budget |\n|---|---:|---:|---:|---:|")
    worst = 0.0
    for name in SPECS:
        net = cnncalc.read(ROOT / "specs" / name)
        macs = net.cost().totals["macs"]
        batches = [args.batch]
        if name == "hw5.yaml":
            values = net.cost().totals["activation_elements"] + 3 * 32 * 32
            batches.append(min(MAX_VALUES // values, MAX_MACS // macs))
        for batch in batches:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                net.grad(batch=batch)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            if batch == args.batch:
                worst = max(worst, median)
            print(f"| {name} | {batch} | {macs * batch:,} | {median:.3f} | {BUDGET if batch == args.batch else ''} |")
    return 0 if worst <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
