"""External programs the report tests drive (Graphviz's dot, Chromium): found, or the test fails under CI and is
skipped with its reason elsewhere.

Why not always fail: a contributor without Graphviz or Chromium can still run the suite, and `pytest -rs` prints
what was skipped and how to install it; CI (`.ci/run`, env CI=true) installs both, so there a missing program is a
broken set-up and fails loudly instead of passing with fewer tests.
"""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = {"dot": "apt-get install graphviz (or brew install graphviz)",
           "chromium": "apt-get install chromium; and pip install playwright (never `playwright install`)"}


def require(program: str) -> str:
    """The path of `program`; else the test fails under CI and is skipped (with the install line) elsewhere."""
    path = shutil.which(program)
    if path is None:
        missing(f"{program} is not installed: {INSTALL.get(program, '')}")
    return path  # type: ignore[return-value]


def missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs {reason}", pytrace=False)
    pytest.skip(reason)
