"""Every crash found by fuzzing or review, kept as a spec in this directory and run through the real CLI.

Each `*.yaml` here starts with comments: what crashed, how it was found, where it was fixed, and expectations
`# expect COMMAND: EXIT [message fragment]`. Every file also runs through `cost`, `rf` and `validate` (`--json`)
under the general contract (exit 0 or 2, no traceback, stdout one JSON document or empty, a positioned message)
and through the library (`cnncalc.load`, undecodable bytes kept as lone surrogates).

To add a case: write the smallest spec that reproduces it, with the header, and fix the crash.

`test_known_slow` holds hangs that are not fixed yet because the code is outside the fuzzing work's files (layers
and the receptive-field analysis walk every index of non-sliding-window layers); they are strict xfails, so the
day they pass the marker must go, together with `known_slow` in tests/test_fuzz.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app

HERE = Path(__file__).resolve().parent
CASES = sorted(HERE.glob("*.yaml"))
EXPECT = re.compile(rb"^# expect (\w+): (\d)(?: (.*))?$", re.M)
COMMANDS = {"cost": ["cost", "--json"], "rf": ["rf", "--json"], "validate": ["validate", "--json"]}


def _expectations(data: bytes) -> dict[str, tuple[int, str | None]]:
    return {m[1].decode(): (int(m[2]), m[3].decode() if m[3] else None) for m in EXPECT.finditer(data)}


def test_there_are_regression_cases():
    assert len(CASES) >= 5
    for path in CASES:
        assert _expectations(path.read_bytes()), f"{path.name} has no `# expect` line"


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_regression(path: Path):
    data = path.read_bytes()
    expected = _expectations(data)
    for name, args in COMMANDS.items():
        result = CliRunner().invoke(app, [*args, str(path)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code in (0, 2) and "Traceback" not in result.stderr
        if result.exit_code == 0:
            assert result.stderr == "" and isinstance(json.loads(result.stdout), dict)
        else:
            assert result.stdout == ""
            assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error: ", result.stderr), result.stderr
        if name in expected:
            code, fragment = expected[name]
            assert result.exit_code == code, result.stderr
            if fragment:
                assert fragment in result.stderr
    try:
        cnncalc.load(data.decode("utf-8", "surrogateescape"), path.name)
    except cnncalc.SpecError:
        pass


def test_max_bytes_beyond_a_machine_integer():
    """Crash: OverflowError from stdin.read(10**30 + 1). Fixed in cli.py _read (reads in chunks)."""
    result = CliRunner().invoke(app, ["cost", "--json", "--max-bytes", str(10**30), "-"],
                                input="input: [3, 8, 8]\nlayers: [relu]\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["layers"][0]["type"] == "relu"


def test_surrogates_through_the_library():
    """Crash: UnicodeEncodeError from PyYAML on a str with lone surrogates. Fixed in source.py."""
    with pytest.raises(cnncalc.SpecError, match="unpaired surrogate") as info:
        cnncalc.load("input: [3, 8, 8]\nlayers: [{type: relu, name: a\udcff}]\n", "s.yaml")
    assert (info.value.position.line, info.value.position.column) == (2, 30)  # the surrogate, after `a`


# ----------------------------------------------------------------------------------------------- known slow

KNOWN_SLOW = {
    "upsample-rf": ("input: [3, 8, 8]\nlayers: [{type: upsample, scale: 1000000000}]\n", ["rf", "--json"]),
    "conv-transpose-rf": ("input: [3, 8, 8]\nlayers: [{type: conv_transpose, out: 3, kernel: 3, stride: 1000000000}]"
                          "\n", ["rf", "--json"]),
    "adaptive-pool-cost": ("input: [3, 7, 7]\nlayers: [{type: adaptive_avgpool, output_size: 1000000000}]\n",
                           ["cost", "--json"]),
    "adaptive-pool-rf": ("input: [3, 7, 7]\nlayers: [{type: adaptive_maxpool, output_size: 1000000000}]\n",
                         ["rf", "--json"]),
    # set(range(10**9)) in one C call: no signal interrupts it, only the address-space cap (MemoryError).
    "rf-at-after-global-pool": ("input: [3, 1000000000, 1000000000]\nlayers: [global_avgpool]\n",
                                ["rf", "--json", "--at", "0"]),
    # Found by tests/test_fuzz.py (slim_vgg_16 with kernel: 1000000): the positions are collected tap by tap.
    "rf-at-huge-kernel": ("input: [3, 224, 224]\nlayers:\n  - {type: conv, out: 8, kernel: 1000000, padding: same}\n"
                          "  - global_avgpool\n", ["rf", "--json", "--at", "0,0"]),
}


class _Slow(Exception):
    pass


def _limit_address_space() -> None:  # in the child: a runaway allocation is a MemoryError, not the OOM killer
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.skipif(sys.platform == "win32", reason="needs resource limits")
@pytest.mark.xfail(strict=True, raises=(_Slow, AssertionError), reason=(
    "known: per-index layers (upsample, conv_transpose, irregular adaptive pooling) and `rf --at` (after a global "
    "pool, or through a huge kernel) take time and memory linear in the map extent or the kernel "
    "(layers/*.py, analyzers/rf.py); reported to their owners. "
    "When this passes, remove the xfail and `known_slow` in tests/test_fuzz.py."))
@pytest.mark.parametrize("case", sorted(KNOWN_SLOW))
def test_known_slow(case: str):
    """In a child process: a hang is killed after 1 s, a runaway allocation fails at 2 GB of address space."""
    text, args = KNOWN_SLOW[case]
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "cnncalc", *args, "-"], input=text.encode(), capture_output=True,
                              timeout=1.0, preexec_fn=_limit_address_space)
    except subprocess.TimeoutExpired:
        raise _Slow(f"{case}: still running after 1 s") from None
    assert done.returncode == 0 and time.perf_counter() - started < 1.0, done.stderr.decode()  # each spec is valid
