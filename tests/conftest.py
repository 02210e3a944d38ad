"""Shared test set-up: hypothesis profiles (derandomised under CI) and spec helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))

_common = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("ci", derandomize=True, database=None, **_common)
settings.register_profile("dev", **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def spec_text(input_shape, layers, blocks=None) -> str:
    """YAML text of a spec with the given input shape and layer entries."""
    doc = {"input": list(input_shape), "layers": layers}
    if blocks:
        doc["blocks"] = blocks
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture
def load():
    import cnncalc

    def _load(text: str, name: str = "test.yaml"):
        return cnncalc.load(text, name)
    return _load
