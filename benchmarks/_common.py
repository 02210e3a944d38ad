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


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    """Wall seconds of one fresh process, run in `cwd`; it must succeed."""
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def tree_command(tree: Path, *args: str) -> list[str]:
    """`cnncalc ARGS` run from the source tree `tree` (another checkout, for an A/B): this interpreter with
    `cnncalc.cli.main`; run it with cwd=tree and PYTHONPATH=tree (`python -c` puts the working directory first on
    sys.path, so a run from this tree's root would import this tree whatever PYTHONPATH says)."""
    code = f"import sys; sys.argv = ['cnncalc', *{list(args)!r}]\nfrom cnncalc.cli import main\nmain()"
    return [sys.executable, "-c", code]
