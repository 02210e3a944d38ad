"""Reading ONNX models: `cnncalc cost MODEL.onnx --json` against the spec it was exported from, and the start-up of
the YAML path against a tree without the importer (A/B through PYTHONPATH).

    python3 benchmarks/onnx_import.py [--rounds 10] [--base DIR]

DIR holds the `cnncalc` package of the tree to compare with (e.g. `git archive 8126b75 cnncalc | tar -x -C DIR`);
without it only the ONNX timings are taken. Each figure is the median over the rounds of a fresh process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, cnncalc_command


def timed(args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=cwd, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--base", type=Path)
    options = parser.parse_args()
    cnncalc = cnncalc_command()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for spec in ("specs/zoo/resnet50.yaml", "specs/zoo/mobilenet_v2.yaml"):
            model = Path(tmp) / (Path(spec).stem + ".onnx")
            subprocess.run([*cnncalc, "export", spec, "-o", str(model)], check=True, cwd=ROOT)
            onnx_times, yaml_times = [], []
            for _ in range(options.rounds):
                onnx_times.append(timed([*cnncalc, "cost", str(model), "--json"]))
                yaml_times.append(timed([*cnncalc, "cost", spec, "--json"]))
            rows.append((spec, model.stat().st_size, statistics.median(yaml_times), statistics.median(onnx_times)))
    print("| spec | ONNX file | cost --json of the YAML | of the ONNX file |")
    print("|---|---:|---:|---:|")
    for spec, size, yaml_s, onnx_s in rows:
        print(f"| {spec} | {size / 1e6:.0f} MB | {yaml_s * 1000:.0f} ms | {onnx_s * 1000:.0f} ms |")
    if options.base:
        # Run from DIR: `python -c` puts the working directory first on sys.path, so from ROOT even the base run
        # imported this tree (the figures in RESULTS.md before round three compared this tree with itself).
        code = (f"import sys; sys.argv = ['cnncalc', 'cost', {str(ROOT / 'specs/zoo/resnet50.yaml')!r}, '--json']\n"
                "from cnncalc.cli import main\nmain()")
        base_env = dict(os.environ, PYTHONPATH=str(options.base))
        ratios = []
        for _ in range(3 * options.rounds):
            before = timed([sys.executable, "-c", code], base_env, cwd=options.base)
            after = timed([sys.executable, "-c", code])
            ratios.append(after / before)
        print(f"YAML start-up, this tree / {options.base}: median ratio {statistics.median(ratios):.3f} "
              f"over {len(ratios)} alternating rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
