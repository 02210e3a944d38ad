"""Golden outputs: `cnncalc cost --json` and `cnncalc rf --json` of every bundled spec, byte for byte.

A change to any figure shows up here as a diff to review. After an intended change, regenerate with
`CNNCALC_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDEN") == "1"


def _golden_path(spec: Path, command: str) -> Path:
    return GOLDEN / spec.relative_to(ROOT / "specs").with_suffix(f".{command}.json")


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
    assert result.stdout == path.read_text()


def test_every_golden_file_has_its_spec():
    expected = {_golden_path(s, c) for s in SPECS for c in ("cost", "rf")}
    assert set(GOLDEN.rglob("*.json")) == expected
