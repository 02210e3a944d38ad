"""Start-up cost of the command line, as a multiple of a bare interpreter start (`python -c pass`).

    python3 benchmarks/startup.py [--rounds 40] [--spec specs/zoo/resnet50.yaml] [--cold] [--base DIR]

Each round runs, in a rotating order, `python -c pass`, `cnncalc cost SPEC --json`, `cnncalc cost SPEC` (the
table) and `cnncalc --help`, each in a fresh process, so that load on the machine hits every command alike. The
ratio of each command to the `pass` run *of the same round* is taken, and the median over the rounds is reported
against the budget (json 6x, table 10x, help 6x). Exit status 1 when a median exceeds its budget.

By default the children run with a bytecode cache (a temporary PYTHONPYCACHEPREFIX, warmed by one untimed run),
as an installed package has its .pyc files; `--cold` keeps the environment as it is (with PYTHONDONTWRITEBYTECODE
every cnncalc module is compiled at every start).

With `--base DIR` (a checkout of another commit: `git worktree add --detach DIR REV`), an A/B instead:
`cost SPEC --json` of DIR's code against this tree's, both started as `python -c` of `cnncalc.cli.main` (DIR's
from DIR, with PYTHONPATH=DIR), alternating for --rounds rounds; the median times and the median of the per-round
ratios are printed. Both read this tree's SPEC.

The `cnncalc` command is the console script installed next to the interpreter (not a pyenv shim, which would add a
shell start to every run), or `python -m cnncalc` when there is none.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, child_env, cnncalc_command, timed, tree_command  # noqa: E402

BUDGET = {"cost --json": 6.0, "cost (table)": 10.0, "--help": 6.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--spec", default="specs/zoo/resnet50.yaml")
    parser.add_argument("--cold", action="store_true", help="no bytecode cache for the children")
    parser.add_argument("--base", type=Path, help="A/B of `cost SPEC --json` against the checkout DIR")
    args = parser.parse_args()
    if args.base is not None:
        return ab(args)

    env, cache = child_env(args.cold)
    cli = cnncalc_command()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "cost --json": cli + ["cost", args.spec, "--json"],
        "cost (table)": cli + ["cost", args.spec],
        "--help": cli + ["--help"],
    }
    for cmd in commands.values():  # warm the page cache and the bytecode cache; check that every command works
        timed(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    ratios: dict[str, list[float]] = {name: [] for name in commands if name != "python -c pass"}
    names = list(commands)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        this = {name: timed(commands[name], env) for name in order}
        for name, t in this.items():
            times[name].append(t)
        for name in ratios:
            ratios[name].append(this[name] / this["python -c pass"])

    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); cnncalc: {' '.join(cli)}")
    print(f"{args.rounds} rounds, bytecode cache: {'no (--cold)' if args.cold else 'yes'}; spec {args.spec}")
    print(f"{'command':<16} {'median ms':>10} {'median ratio':>13} {'budget':>7}  verdict")
    failed = False
    for name in names:
        median = statistics.median(times[name]) * 1000
        if name not in ratios:
            print(f"{name:<16} {median:>10.1f} {'1.00':>13} {'':>7}")
            continue
        ratio = statistics.median(ratios[name])
        ok = ratio <= BUDGET[name]
        failed |= not ok
        print(f"{name:<16} {median:>10.1f} {ratio:>13.2f} {BUDGET[name]:>6.0f}x  {'ok' if ok else 'OVER BUDGET'}")
    if cache is not None:
        cache.cleanup()
    return 1 if failed else 0


def ab(args: argparse.Namespace) -> int:
    """`cost SPEC --json`, the checkout args.base against this tree, alternating (see the module docstring)."""
    env, cache = child_env(args.cold)
    base = args.base.resolve()
    command = tree_command(base, "cost", str((ROOT / args.spec).resolve()), "--json")
    runs = {"base": (dict(env, PYTHONPATH=str(base)), base), "now": (env, ROOT)}
    for run_env, cwd in runs.values():  # warm the caches; fails loudly if a tree cannot run the spec
        timed(command, run_env, cwd)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        for name in (("base", "now") if r % 2 == 0 else ("now", "base")):
            times[name].append(timed(command, *runs[name]))
    ratios = [now / before for now, before in zip(times["now"], times["base"])]
    print(f"cost {args.spec} --json, {args.rounds} alternating rounds, bytecode cache: "
          f"{'no (--cold)' if args.cold else 'yes'}")
    print(f"{base}: {statistics.median(times['base']) * 1000:.1f} ms; this tree: "
          f"{statistics.median(times['now']) * 1000:.1f} ms; median ratio now/base {statistics.median(ratios):.3f}")
    if cache is not None:
        cache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
