"""A sweep over 1,000 input sizes against one analysis, end to end (fresh processes, JSON output).

    python3 benchmarks/sweep.py [--rounds 15] [--sizes 32:32000:32] [--spec specs/zoo/resnet50.yaml ...]

For each spec and command (`cost`, `rf`; unet_small: `cost` only, see below), every round runs `cnncalc CMD SPEC --json` and
`cnncalc CMD SPEC --input SIZES --json` one after the other (in alternating order), and the median ratio of the
sweep to the single analysis is reported against the budget of 3. Like benchmarks/startup.py, the children get a
bytecode cache (`--cold` for none) and the console script next to the interpreter.

The receptive fields of a network with a layer that is not a sliding window (unet_small's upsampling) are tables
per output index; `rf --input` computes them size by size, in time proportional to the sizes times the map size,
so that case is not part of the default runs (time it with `--spec specs/zoo/unet_small.yaml --sizes 16:512:16`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, child_env, cnncalc_command, timed  # noqa: E402

BUDGET = 3.0
DEFAULT_RUNS = [("specs/zoo/resnet50.yaml", "cost"), ("specs/zoo/resnet50.yaml", "rf"),
                ("specs/zoo/googlenet.yaml", "cost"), ("specs/zoo/googlenet.yaml", "rf"),
                ("specs/zoo/slim_inception_v3.yaml", "cost"), ("specs/zoo/slim_inception_v3.yaml", "rf"),
                ("specs/zoo/unet_small.yaml", "cost")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="32:32000:32", help="the --input of the sweep (default: 1,000 sizes)")
    parser.add_argument("--spec", action="append", help="spec to sweep with cost and rf (repeatable)")
    parser.add_argument("--cold", action="store_true", help="no bytecode cache for the children")
    args = parser.parse_args()

    env, cache = child_env(args.cold)
    cli = cnncalc_command()
    sys.path.insert(0, str(ROOT))
    from cnncalc.sweep import parse_sizes
    count = len(parse_sizes(args.sizes))
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; {args.rounds} rounds; --input {args.sizes} "
          f"({count:,} sizes); bytecode cache: {'no' if args.cold else 'yes'}")
    print(f"{'spec':<32} {'command':<6} {'single ms':>10} {'sweep ms':>10} {'ratio':>6}  verdict")
    failed = False
    runs = [(spec, command) for spec in args.spec for command in ("cost", "rf")] if args.spec else DEFAULT_RUNS
    for spec, command in runs:
        single = cli + [command, spec, "--json"]
        sweep = single + ["--input", args.sizes]
        timed(single, env), timed(sweep, env)  # warm-up; fails loudly if a command does
        times: dict[str, list[float]] = {"single": [], "sweep": []}
        ratios = []
        for r in range(args.rounds):
            order = (("single", single), ("sweep", sweep)) if r % 2 == 0 else (("sweep", sweep),
                                                                                ("single", single))
            this = {name: timed(cmd, env) for name, cmd in order}
            for name, t in this.items():
                times[name].append(t)
            ratios.append(this["sweep"] / this["single"])
        ratio = statistics.median(ratios)
        ok = ratio <= BUDGET
        failed |= not ok
        print(f"{spec:<32} {command:<6} {statistics.median(times['single']) * 1000:>10.1f} "
              f"{statistics.median(times['sweep']) * 1000:>10.1f} {ratio:>6.2f}  {'ok' if ok else 'OVER BUDGET'}")
    if cache is not None:
        cache.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
