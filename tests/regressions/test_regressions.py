"""Every crash found by fuzzing or review, kept as a spec in this directory and run through the real CLI.

Each `*.yaml` here starts with comments: what crashed, how it was found, where it was fixed, and expectations
`# expect COMMAND: EXIT [message fragment]`. Every file also runs through `cost`, `rf` and `validate` (`--json`)
under the general contract (exit 0 or 2, no traceback, stdout one JSON document or empty, a positioned message)
and through the library (`cnncalc.load`, undecodable bytes kept as lone surrogates).

To add a case: write the smallest spec that reproduces it, with the header, and fix the crash.

`test_huge_maps` holds former hangs: layers traced position by position (upsample, conv_transpose, irregular
adaptive pooling) on maps of 10**9 positions, and `rf --at` after a global pool or through a huge kernel. Each now
answers at once, or refuses with a message naming the limit.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
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

HUGE_MAPS = {
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


def _limit_address_space() -> None:  # in the child: a runaway allocation is a MemoryError, not the OOM killer
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


# (case, expected exit code, fragment of the one-line message for a refusal)
TRACED = "positions traced one by one ("
EXPECTED = {"upsample-rf": (2, TRACED), "conv-transpose-rf": (2, TRACED), "adaptive-pool-rf": (2, TRACED),
            "adaptive-pool-cost": (0, None), "rf-at-after-global-pool": (2, "more than 2,000,000 positions"),
            "rf-at-huge-kernel": (0, None)}


@pytest.mark.skipif(sys.platform == "win32", reason="needs resource limits")
@pytest.mark.parametrize("case", sorted(HUGE_MAPS))
def test_huge_maps(case: str):
    """In a child process capped at 2 GB: an answer or a refusal within a few seconds, never a hang."""
    text, args = HUGE_MAPS[case]
    done = subprocess.run([sys.executable, "-m", "cnncalc", *args, "-"], input=text.encode(), capture_output=True,
                          timeout=20, preexec_fn=_limit_address_space)
    code, fragment = EXPECTED[case]
    stderr = done.stderr.decode()
    assert done.returncode == code, stderr
    if code == 2:
        assert done.stdout == b"" and fragment in stderr.splitlines()[0] and "Traceback" not in stderr
    else:
        assert json.loads(done.stdout)["schema_version"] == 1
