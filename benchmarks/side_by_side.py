"""cnncalc beside the PyTorch counters on ResNet-50, end to end: each run is a fresh process that imports, builds
the model and counts.

    python3 benchmarks/side_by_side.py [--python /tmp/torchenv/bin/python] [--repeats 5]

The PyTorch tools run under `--python` (default: /tmp/torchenv/bin/python when it exists, else this interpreter),
an environment with torch, torchvision and fvcore and/or ptflops; they are never dependencies of cnncalc. A tool
that is not importable there is skipped. Reported per tool: the median wall time of `--repeats` runs, the ratio to
`cnncalc cost specs/zoo/resnet50.yaml --json`, the peak resident memory of the process, and the figure it counts
(MACs for the conv and linear layers, each by its own convention).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import cnncalc_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/zoo/resnet50.yaml"

_BUILD = """
import json, torch, torchvision
model = torchvision.models.resnet50(weights=None).eval()
x = torch.zeros(1, 3, 224, 224)
"""
TOOLS = {
    "fvcore": _BUILD + """
from fvcore.nn import FlopCountAnalysis
with torch.no_grad():
    count = FlopCountAnalysis(model, x)
    count.unsupported_ops_warnings(False)
    count.uncalled_modules_warnings(False)
    print(json.dumps({"figure": int(count.total()), "what": "fvcore flops (1 per MAC)"}))
""",
    "ptflops": _BUILD + """
from ptflops import get_model_complexity_info
with torch.no_grad():
    macs, params = get_model_complexity_info(model, (3, 224, 224), as_strings=False, print_per_layer_stat=False,
                                             verbose=False)
print(json.dumps({"figure": int(macs), "what": "ptflops MACs (pytorch backend)"}))
""",
    "torch FlopCounterMode": _BUILD + """
from torch.utils.flop_counter import FlopCounterMode
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(x)
print(json.dumps({"figure": counter.get_total_flops() // 2, "what": "torch flops / 2"}))
""",
    "torch+torchvision (build only)": _BUILD + """
print(json.dumps({"figure": sum(p.numel() for p in model.parameters()), "what": "parameters"}))
""",
}
NEEDS = {"fvcore": "fvcore", "ptflops": "ptflops", "torch FlopCounterMode": "torch.utils.flop_counter",
         "torch+torchvision (build only)": "torchvision"}


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak resident bytes, stdout) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss * 1024, out.decode()


def importable(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "/tmp/torchenv/bin/python" if Path("/tmp/torchenv/bin/python").exists() else sys.executable
    parser.add_argument("--python", default=default, help="interpreter with torch, torchvision, fvcore/ptflops")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    commands: dict[str, list[str]] = {"cnncalc cost --json": cnncalc_command() + ["cost", SPEC, "--json"]}
    skipped = []
    if importable(args.python, "torch") and importable(args.python, "torchvision"):
        for name, code in TOOLS.items():
            if importable(args.python, NEEDS[name]):
                commands[name] = [args.python, "-c", code]
            else:
                skipped.append(name)
    else:
        skipped = list(TOOLS)
    results = {}
    for name, cmd in commands.items():
        run_measured(cmd)  # warm the page cache
    for _ in range(args.repeats):  # alternate, so that load on the machine hits every tool alike
        for name, cmd in commands.items():
            results.setdefault(name, []).append(run_measured(cmd))
    base = statistics.median(t for t, _, _ in results["cnncalc cost --json"])
    print(f"ResNet-50, 3x224x224; median of {args.repeats} fresh processes; tools under {args.python}")
    print(f"{'tool':<32} {'wall s':>8} {'x cnncalc':>10} {'peak MB':>8}  figure")
    for name, runs in results.items():
        wall = statistics.median(t for t, _, _ in runs)
        peak = max(m for _, m, _ in runs)
        out = runs[-1][2]
        if name.startswith("cnncalc"):
            doc = json.loads(out)
            figure = f"{doc['totals']['macs']:,} MACs, {doc['totals']['params']:,} params"
        else:
            info = json.loads(out.strip().splitlines()[-1])
            figure = f"{info['figure']:,} {info['what']}"
        print(f"{name:<32} {wall:>8.2f} {wall / base:>10.1f} {peak / 2**20:>8.0f}  {figure}")
    if skipped:
        print("skipped (not importable under --python): " + ", ".join(skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
