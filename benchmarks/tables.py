"""Table output against JSON output on long chains: the table path must stay linear with a small constant.

    python3 benchmarks/tables.py [--layers 10000 100000] [--repeats 3] [--width 200]

For each length, the chain of benchmarks/scale.py (conv / batchnorm / relu) is written to a file and
`cnncalc cost F --json`, `cnncalc cost F` (the table, COLUMNS=--width) and `cnncalc rf F` run in fresh processes
(output discarded); the table shows the medians, the extra time of a table over JSON per row, and, in process, the
time `cnncalc.report.render.render_at` takes for the cost table at 200 and 80 columns and stacked at 40.
Budget: the cost table within 1.5x of `cost --json`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, cnncalc_command, timed  # noqa: E402
from scale import chain_spec  # noqa: E402

BUDGET = 1.5


def in_process(path: Path) -> dict[int, float]:
    """Seconds `render_at` takes for the cost table, per width."""
    sys.path.insert(0, str(ROOT))
    from cnncalc.graph import load
    from cnncalc.report import cost_report
    from cnncalc.report.render import render_at
    from cnncalc.report.table import cost_table
    from cnncalc.source import Limits
    text = path.read_text()
    doc = cost_report(load(text, path.name, Limits(max_bytes=len(text) * 2, max_layers=10 ** 7)))
    out = {}
    for width in (200, 80, 40):
        start = time.perf_counter()
        render_at([cost_table(doc)], width)
        out[width] = time.perf_counter() - start
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=200)
    args = parser.parse_args()
    cli = cnncalc_command()
    env = dict(os.environ, COLUMNS=str(args.width))
    failed = False
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; median of {args.repeats} fresh processes")
    head = (f"{'layers':>8} {'cost --json':>12} {'cost table':>11} {'ratio':>6} {'us/row':>7} {'rf table':>9} "
            f"{'render 200':>11} {'80':>7} {'40':>7}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory(prefix="cnncalc-tables-") as work:
        for layers in args.layers:
            path = Path(work) / f"chain{layers}.yaml"
            path.write_text(chain_spec(layers))
            limits = ["--max-bytes", str(path.stat().st_size * 2), "--max-layers", str(10 * layers)]
            times: dict[str, list[float]] = {"json": [], "table": [], "rf": []}
            for _ in range(args.repeats):  # alternate, so that a busy moment hits every command alike
                times["json"].append(timed(cli + ["cost", str(path), "--json"] + limits, env))
                times["table"].append(timed(cli + ["cost", str(path)] + limits, env))
                times["rf"].append(timed(cli + ["rf", str(path)] + limits, env))
            json_s, table_s, rf_s = (statistics.median(times[k]) for k in ("json", "table", "rf"))
            render = in_process(path)
            ratio = table_s / json_s
            failed |= ratio > BUDGET
            print(f"{layers:>8,} {json_s:>11.2f}s {table_s:>10.2f}s {ratio:>6.2f} "
                  f"{(table_s - json_s) / layers * 1e6:>7.1f} {rf_s:>8.2f}s {render[200]:>10.2f}s "
                  f"{render[80]:>6.2f}s {render[40]:>6.2f}s  {'ok' if ratio <= BUDGET else 'OVER BUDGET'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
