"""What the benchmark scripts share: how to start cnncalc, and how to time one fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cnncalc_command() -> list[str]:
    """The console script next to the interpreter (not a pyenv shim, which adds a shell start), else -m."""
    script = Path(sysconfig.get_path("scripts")) / "cnncalc"
    if script.is_file() and script.read_bytes()[:2] == b"#!":
        return [str(script)]
    return [sys.executable, "-m", "cnncalc"]


def child_env(cold: bool) -> tuple[dict[str, str], tempfile.TemporaryDirectory | None]:
    """The children's environment: with a bytecode cache (as an installed package has), unless `cold`.
    Keep the returned directory alive while the children run."""
    env = dict(os.environ)
    if cold:
        return env, None
    cache = tempfile.TemporaryDirectory(prefix="cnncalc-pyc-")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache.name
    return env, cache


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh process; it must succeed."""
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start
