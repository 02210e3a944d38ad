"""Analysis time and memory on very deep generated networks, against parsing the same file with PyYAML's C loader.

    python3 benchmarks/scale.py [--layers 100000] [--blocks 10000] [--repeats 3] [--keep DIR]

Generated specs:

- `chain`: `--layers` layers in one chain (conv 3x3 / batchnorm / relu, repeated), each written out;
- `resnet`: a ResNet of `--blocks` basic blocks (conv-bn-relu-conv-bn-add-relu, identity shortcut; stages of 500
  blocks, stages 1 to 6 opening with a strided block with a 1x1 projection shortcut), every layer written out;
- `resnet-repeat`: the same network written with two blocks and one `repeat:` entry per stage, a file of a few
  hundred bytes. Parsing it costs nothing, so its baseline is the parse of `resnet`, the same layers written out:
  the budget then says that expanding and analysing a layer costs at most twice what parsing it would.

For each spec, `cnncalc cost F --json` and `cnncalc rf F --json` run in fresh processes (output discarded), and so
does the baseline `python -c "import yaml; yaml.load(open(F).read(), Loader=yaml.CSafeLoader)"`, which is the parse
time plus interpreter start-up. The table shows the median of `--repeats` runs, the ratio of each analysis to the
baseline (budget: 2) and the peak resident memory of the analysing process (budget: 1 GB).

The baseline runs with Python's defaults, as written above; its cyclic garbage collector walks the growing heap
again and again and costs PyYAML about half its time on these files. `cnncalc` switches the collector off for a
command-line run (it makes no garbage cycles worth collecting), so, for information, the `(gc off)` columns give
the baseline with `gc.disable()` and the ratio to it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, cnncalc_command  # noqa: E402
BUDGET_RATIO = 2.0
BUDGET_BYTES = 1 << 30


def chain_spec(layers: int) -> str:
    out = ["name: chain", "input: [16, 32, 32]", "layers:"]
    forms = ("  - {name: c%d, type: conv, out: 16, kernel: 3, padding: 1, bias: false}",
             "  - {name: b%d, type: batchnorm}",
             "  - {name: r%d, type: relu}")
    out += [forms[i % 3] % i for i in range(layers)]
    return "\n".join(out) + "\n"


_BLOCKS = """\
blocks:
  basic:
    params: [out]
    layers:
      - {name: conv1, type: conv, out: $out, kernel: 3, padding: 1, bias: false}
      - {name: bn1, type: batchnorm}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv, out: $out, kernel: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm}
      - {name: add, type: add, inputs: [bn2, input]}
      - {name: relu2, type: relu}
  down:
    params: [out]
    layers:
      - {name: conv1, type: conv, out: $out, kernel: 3, stride: 2, padding: 1, bias: false}
      - {name: bn1, type: batchnorm}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv, out: $out, kernel: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm}
      - {name: proj, type: conv, out: $out, kernel: 1, stride: 2, bias: false, input: input}
      - {name: proj_bn, type: batchnorm}
      - {name: add, type: add, inputs: [bn2, proj_bn]}
      - {name: relu2, type: relu}
"""
_STEM = """\
layers:
  - {name: stem, type: conv, out: 16, kernel: 7, stride: 2, padding: 3, bias: false}
  - {name: stem_bn, type: batchnorm}
  - {name: stem_relu, type: relu}
"""
_TAIL = """\
  - {name: pool, type: global_avgpool}
  - {name: fc, type: linear, out: 1000}
"""
STAGE = 500
"""Blocks per stage; stages 1 to 6 open with a strided block with a projection shortcut (the map halves)."""


def resnet_spec(blocks: int, repeat: bool) -> str:
    """With `repeat`: the blocks above, one `repeat:` entry per stage. Else every layer written out."""
    out = ["name: resnet\ninput: [3, 224, 224]\n", _BLOCKS if repeat else "", _STEM]
    previous = "stem_relu"
    stage, done = 0, 0
    while done < blocks:
        count = min(STAGE, blocks - done)
        width = 16 * 2 ** min(stage, 3)
        strided = 0 < stage <= 6
        done += count
        if repeat:
            if strided:
                out.append(f"  - {{type: down, name: s{stage}_0, out: {width}}}\n")
            if count > strided:
                out.append(f"  - {{type: basic, name: s{stage}, out: {width}, repeat: {count - strided}}}\n")
            stage += 1
            continue
        for i in range(count):
            p = f"s{stage}_{i}_"
            down = strided and i == 0
            out.append(f"  - {{name: {p}conv1, type: conv, out: {width}, kernel: 3{', stride: 2' if down else ''}, "
                       f"padding: 1, bias: false}}\n"
                       f"  - {{name: {p}bn1, type: batchnorm}}\n"
                       f"  - {{name: {p}relu1, type: relu}}\n"
                       f"  - {{name: {p}conv2, type: conv, out: {width}, kernel: 3, padding: 1, bias: false}}\n"
                       f"  - {{name: {p}bn2, type: batchnorm}}\n")
            shortcut = previous
            if down:
                out.append(f"  - {{name: {p}proj, type: conv, out: {width}, kernel: 1, stride: 2, bias: false, "
                           f"input: {previous}}}\n"
                           f"  - {{name: {p}proj_bn, type: batchnorm}}\n")
                shortcut = f"{p}proj_bn"
            out.append(f"  - {{name: {p}add, type: add, inputs: [{p}bn2, {shortcut}]}}\n"
                       f"  - {{name: {p}relu2, type: relu}}\n")
            previous = f"{p}relu2"
        stage += 1
    out.append(_TAIL)
    return "".join(out)


def run(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak resident bytes) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return elapsed, usage.ru_maxrss * 1024


def median_run(cmd: list[str], repeats: int) -> tuple[float, int]:
    results = [run(cmd) for _ in range(repeats)]
    return statistics.median(t for t, _ in results), max(m for _, m in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", help="write the generated specs to this directory and keep them")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cnncalc-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    specs = {"chain": chain_spec(args.layers), "resnet": resnet_spec(args.blocks, False),
             "resnet-repeat": resnet_spec(args.blocks, True)}
    files = {}
    for name, text in specs.items():
        files[name] = work / f"{name}.yaml"
        files[name].write_text(text)
    baseline_of = {"chain": "chain", "resnet": "resnet", "resnet-repeat": "resnet"}
    cli = cnncalc_command()
    limits = ["--max-bytes", str(max(len(t) for t in specs.values()) * 2), "--max-layers", str(10 * args.layers)]

    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; median of {args.repeats} fresh processes each")
    head = (f"{'spec':<14} {'layers':>8} {'file':>9} {'parse+start':>12} {'(gc off)':>9} {'command':<12} "
            f"{'analysis':>9} {'ratio':>6} {'(gc off)':>9} {'peak MB':>8}  verdict")
    print(head)
    print("-" * len(head))
    parse_time: dict[str, float] = {}
    parse_nogc: dict[str, float] = {}
    failed = False
    for name, path in files.items():
        base = baseline_of[name]
        if base not in parse_time:
            code = ("import sys, yaml\nwith open(sys.argv[1], encoding='utf-8') as f: text = f.read()\n"
                    "yaml.load(text, Loader=yaml.CSafeLoader)")
            parse_time[base], _ = median_run([sys.executable, "-c", code, str(files[base])], args.repeats)
            parse_nogc[base], _ = median_run([sys.executable, "-c", "import gc; gc.disable()\n" + code,
                                              str(files[base])], args.repeats)
        layers = None
        for command in ("cost", "rf"):
            elapsed, peak = median_run(cli + [command, str(path), "--json"] + limits, args.repeats)
            if layers is None:
                out = subprocess.run(cli + ["cost", str(path), "--json"] + limits, cwd=ROOT, capture_output=True,
                                     text=True, check=True).stdout
                layers = len(json.loads(out)["layers"])
            ratio = elapsed / parse_time[base]
            ok = ratio <= BUDGET_RATIO and peak <= BUDGET_BYTES
            failed |= not ok
            size = f"{path.stat().st_size / 1e6:.2f} MB" if path.stat().st_size > 1e5 else f"{path.stat().st_size} B"
            print(f"{name:<14} {layers:>8,} {size:>9} {parse_time[base]:>11.2f}s {parse_nogc[base]:>8.2f}s "
                  f"{command + ' --json':<12} {elapsed:>8.2f}s {ratio:>6.2f} {elapsed / parse_nogc[base]:>9.2f} "
                  f"{peak / 2**20:>8.0f}  {'ok' if ok else 'OVER BUDGET'}")
    if not args.keep:
        for path in files.values():
            path.unlink()
        work.rmdir()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
