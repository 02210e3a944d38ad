"""Golden outputs: `cnncalc cost --json` and `cnncalc rf --json` of every bundled spec, compared as parsed documents.

A change to any figure shows up here as a list of the paths that differ (`layers[*].reads: new in the output, in
12 rows`), whatever the formatting; a new column is one line of that list, and one regeneration. After an intended
change, regenerate with `CNNCALC_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and read the diff before committing.
For tables, the text is the point in one place: the README's `cnncalc rf specs/hw5.yaml` example is compared with
the real output line by line.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDEN") == "1"


def _golden_path(spec: Path, command: str) -> Path:
    return GOLDEN / spec.relative_to(ROOT / "specs").with_suffix(f".{command}.json")


def _differences(golden: Any, output: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path with list indices as [*], what differs) for every difference between two parsed documents."""
    if isinstance(golden, dict) and isinstance(output, dict):
        for key in golden.keys() | output.keys():
            where = f"{path}.{key}" if path else key
            if key not in output:
                yield where, "missing from the output"
            elif key not in golden:
                yield where, "new in the output"
            else:
                yield from _differences(golden[key], output[key], where)
    elif isinstance(golden, list) and isinstance(output, list):
        if len(golden) != len(output):
            yield path, f"{len(golden)} items in the golden file, {len(output)} in the output"
        for g, o in zip(golden, output):
            yield from _differences(g, o, f"{path}[*]")
    elif golden != output or type(golden) is not type(output):
        yield path, "a different value"


def _summary(golden: Any, output: Any) -> str:
    counts = Counter(_differences(golden, output))
    lines = [f"{path}: {what}" + (f", {n} times" if n > 1 else "") for (path, what), n in sorted(counts.items())]
    return "\n".join(lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else []))


@pytest.mark.parametrize("command", ["cost", "rf"])
@pytest.mark.parametrize("spec", SPECS, ids=[str(s.relative_to(ROOT / "specs")) for s in SPECS])
def test_golden_json(spec, command, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [command, str(spec.relative_to(ROOT)), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    path = _golden_path(spec, command)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.stdout)
    assert path.exists(), f"no golden output {path.relative_to(ROOT)}: run with CNNCALC_UPDATE_GOLDEN=1"
    differences = _summary(json.loads(path.read_text()), json.loads(result.stdout))  # stricter than ==: true is not 1
    assert not differences, f"{path.relative_to(ROOT)} differs:\n{differences}"


def test_every_golden_file_has_its_spec():
    expected = {_golden_path(s, c) for s in SPECS for c in ("cost", "rf")}
    assert set(GOLDEN.rglob("*.json")) == expected


def test_differences_name_the_paths():
    golden = {"columns": ["a"], "layers": [{"a": 1}, {"a": 2}], "totals": {"a": 3}}
    output = {"columns": ["a", "b"], "layers": [{"a": 1, "b": 0}, {"a": 5, "b": 0}], "totals": {"a": 6, "b": 0}}
    assert _summary(golden, output).splitlines() == [
        "columns: 1 items in the golden file, 2 in the output", "layers[*].a: a different value",
        "layers[*].b: new in the output, 2 times", "totals.a: a different value", "totals.b: new in the output"]
    assert _summary({"x": 1}, {"x": True}) == "x: a different value"  # JSON true is not 1


def test_readme_rf_example_is_the_real_output(monkeypatch):
    """The README's first example, `cnncalc rf specs/hw5.yaml` and its `--at 0,0`, line by line."""
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("```console\n") + len("```console\n"):]
    block = block[:block.index("```")]
    for command in ("cnncalc rf specs/hw5.yaml", "cnncalc rf specs/hw5.yaml --at 0,0"):
        shown = re.search(rf"^\$ {re.escape(command)}( +#.*)?\n((?:[^$].*\n)+)", block, re.M)
        assert shown, f"README.md shows no output of `{command}`"
        lines = shown.group(2).splitlines()
        result = CliRunner().invoke(app, command.split()[1:])
        assert result.exit_code == 0, result.stderr
        printed = [line.rstrip() for line in result.stdout.splitlines()]
        start = printed.index(lines[0])  # the README leaves out the title and the rule under the header
        body = [line for line in printed[start:] if line and not set(line.strip()) <= {"─"}]
        assert body[:len(lines)] == lines, f"README.md's `{command}` is not what it prints"
