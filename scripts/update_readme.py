"""Regenerate the README sections that the tool itself can print, so they can never drift from it.

    python scripts/update_readme.py          # rewrite README.md in place
    python scripts/update_readme.py --check  # exit 1 if README.md is out of date (tests run this)

Sections are delimited by `<!-- BEGIN name -->` and `<!-- END name -->`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc.conventions import NAMES  # noqa: E402
from cnncalc.report.table import convention_text  # noqa: E402


def _load(path: Path) -> cnncalc.Graph:
    return cnncalc.load(path.read_text(), str(path.relative_to(ROOT)))


def _last_field(doc: dict) -> str:
    """Receptive field of the last layer that does not depend on the whole input: size / jump / padding."""
    for row in reversed(doc["layers"]):
        if not row["global"]:
            h = row["rf"]["height"]
            return f"{h['size']} / {h['jump']} / {h['padding']} at `{row['name']}`"
    return "global"


def zoo_table() -> str:
    lines = ["| network | input | parameters | MACs | fvcore | ptflops | receptive field (size / jump / padding) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for path in sorted((ROOT / "specs" / "zoo").glob("*.yaml")):
        graph = _load(path)
        totals = {name: cnncalc.cost_report(graph, name)["totals"] for name in NAMES}
        lines.append(f"| {path.stem} | {'x'.join(map(str, graph.input))} | {totals['cnncalc']['params']:,} | "
                     f"{totals['cnncalc']['macs']:,} | {totals['fvcore']['macs']:,} | {totals['ptflops']['macs']:,} | "
                     f"{_last_field(cnncalc.rf_report(graph))} |")
    return "\n".join(lines)


def convention() -> str:
    return "```\n" + convention_text() + "\n```"


SECTIONS = {"zoo": zoo_table, "convention": convention}


def render(readme: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(\n<!-- END {name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no section {name}")
        readme = pattern.sub(lambda m: m.group(1) + make() + m.group(2), readme)
    return readme


def main() -> int:
    path = ROOT / "README.md"
    old = path.read_text()
    new = render(old)
    if "--check" in sys.argv:
        if new != old:
            print("README.md is out of date: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
