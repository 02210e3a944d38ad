"""The package type-checks: `mypy` with the configuration in pyproject.toml ([tool.mypy]), as CI runs only pytest.

The `Dim` contract (an int, or a sweep's numpy array of sizes) is part of what it checks: layer rules and metrics
are annotated with it, so a rule that hands a `Dim` to something that needs an int is reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes_on_the_package():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
