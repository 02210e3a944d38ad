"""Every path is bounded: adversarial specs within the default limits finish within a few seconds and 1.5 GB of
address space, each either answering or refused (exit 2) by the limit that bounds it, whose flag the hint names.

Each runs as `python -m cnncalc` in a child capped with RLIMIT_AS (a runaway allocation becomes a MemoryError, not
the OOM killer) and a wall-clock timeout; the timeout is loose (the machine is shared), it only catches the minutes
that these specs took before the limits existed. The README's "Limits" table states the same worst cases.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnncalc.source import Limits

ADDRESS_SPACE = 1536 << 20
TIMEOUT = 30

TRACED = "positions traced one by one"
JUMP = "has more than 100 digits"
LAYERS = "spec expands to more than 100,000 layers"

# name: (spec, command, expected exit code, fragment of the message, flag named in the hint)
CASES = {
    # Formerly over 60 s: the per-position table of the upsample was copied through every ReLU.
    "upsample-then-2000-relus": ("input: [1, 50000, 50000]\nlayers:\n  - {type: upsample, scale: 2}\n"
                                 "  - {type: relu, repeat: 2000}\n", ["rf"], 2, TRACED, "--max-traced"),
    "upsample-then-2000-convs": ("input: [1, 50000, 50000]\nlayers:\n  - {type: upsample, scale: 2}\n"
                                 "  - {type: conv, out: 1, kernel: 3, padding: 1, repeat: 2000}\n", ["rf"], 2, TRACED,
                                 "--max-traced"),
    # Formerly 4 GB in 4 s: a table of 10**9 positions per axis, and a hint about --max-bytes.
    "adaptive-pool-of-a-huge-map": ("input: [1, 1000000000, 1000000000]\nlayers:\n"
                                    "  - {type: adaptive_avgpool, output_size: 7}\n", ["rf"], 0, None, None),
    "transposed-conv-kernel-2e8": ("input: [1, 8, 8]\nlayers:\n  - {type: conv_transpose, out: 1, kernel: "
                                   "200000000}\n", ["rf"], 2, TRACED, "--max-traced"),
    "transposed-conv-kernel-2e8-cropped": ("input: [1, 8, 8]\nlayers:\n  - {type: conv_transpose, out: 1, kernel: "
                                           "200000000, padding: 99999990}\n", ["rf"], 0, None, None),
    # Formerly 4 GB in 9 s: jumps of hundreds of thousands of digits.
    "100000-pools-of-stride-1000": ("input: [1, 1000, 1000]\nlayers:\n  - {type: maxpool, kernel: 1, stride: 1000, "
                                    "ceil_mode: true, repeat: 99999}\n", ["rf"], 2, JUMP, "--max-jump-digits"),
    "paths-with-ever-more-jumps": ("input: [1, 64, 64]\nblocks:\n  rung:\n    layers:\n      - {type: conv, out: 1, "
                                   "kernel: 1, stride: 2, padding: 32, name: c}\n      - {type: add, inputs: [input, "
                                   "c]}\nlayers:\n  - {type: rung, repeat: 30000}\n", ["rf"], 2, JUMP,
                                   "--max-jump-digits"),
    # Formerly 30 s and 3.1 GB: a million layers from four lines.
    "four-lines-to-a-million-layers": ("input: [1, 8, 8]\nblocks:\n  b: {layers: [{type: relu, repeat: 1000}]}\n"
                                       "layers:\n  - {type: b, repeat: 1000}\n", ["cost"], 2, LAYERS, "--max-layers"),
    "rf-at-after-a-global-pool": ("input: [3, 1000000000, 1000000000]\nlayers: [global_avgpool]\n",
                                  ["rf", "--at", "0"], 2, "more than 2,000,000 positions", "--max-traced"),
    "per-position-work-just-within-the-limit": ("input: [1, 150000, 1]\nlayers:\n  - {type: upsample, scale: [2, 1]}"
                                                "\n  - {type: conv, out: 1, kernel: [3, 1], padding: [1, 0]}\n",
                                                ["rf"], 0, None, None),
}


def _cap() -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def test_the_defaults_are_the_documented_ones():
    limits = Limits()
    assert (limits.max_layers, limits.max_traced, limits.max_jump_digits) == (100_000, 2_000_000, 100)


@pytest.mark.skipif(sys.platform == "win32", reason="needs resource limits")
@pytest.mark.parametrize("case", sorted(CASES))
def test_adversarial_spec_is_bounded(case: str):
    text, command, code, fragment, flag = CASES[case]
    done = subprocess.run([sys.executable, "-m", "cnncalc", *command, "--json", "-"], input=text.encode(),
                          capture_output=True, timeout=TIMEOUT, preexec_fn=_cap)
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr[-500:]
    assert done.returncode == code, stderr[:500]
    if code == 2:
        first = stderr.splitlines()[0]
        assert done.stdout == b"" and first.startswith("<stdin>:") and fragment in first, first
        assert f"hint: raise the limit with {flag}" in first, first
    else:
        assert done.stdout.startswith(b"{") and stderr == ""


def test_raising_a_limit_lets_the_spec_through():
    # 17 pools of stride 10**6: the last jump is 10**102, a number of 103 digits.
    text = "input: [1, 8, 8]\nlayers:\n  - {type: maxpool, kernel: 1, stride: 1000000, repeat: 17}\n"

    def run(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cnncalc", "rf", "--json", *flags, "-"], input=text.encode(),
                              capture_output=True, timeout=TIMEOUT)

    refused = run()
    assert refused.returncode == 2 and b"layer 'maxpool17': its receptive-field jump" in refused.stderr
    assert run("--max-jump-digits", "102").returncode == 2
    assert json.loads(run("--max-jump-digits", "103").stdout)["layers"][-1]["rf"]["height"]["jump"] == 10**102


@pytest.mark.parametrize("flag", ["--max-traced", "--max-jump-digits"])
def test_limits_must_be_positive(flag: str):
    done = subprocess.run([sys.executable, "-m", "cnncalc", "rf", "--json", flag, "0", "-"],
                          input=b"input: [1, 8, 8]\nlayers: [relu]\n", capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith(f"error: {flag} must be at least 1, got 0")


def test_identity_layers_share_a_per_position_table():
    """Through activations after an upsample the table is one object, not a copy per layer; each layer's report
    still summarises it, so the layers after a per-position one are charged their map size."""
    import cnncalc
    from cnncalc.analyzers.rf import receptive_fields

    graph = cnncalc.load("input: [1, 5, 5]\nlayers:\n  - {type: upsample, scale: 3}\n  - {type: relu, repeat: 5}\n")
    fields = receptive_fields(graph).fields
    assert all(fields[k][axis].table is fields[1][axis].table for k in range(2, 7) for axis in (0, 1))
    assert fields[1][0].table == (tuple(x // 3 for x in range(15)), tuple(x // 3 for x in range(15)))
    # upsample: 15 + 15 outputs listed, 15 per axis traced; each relu: 15 per axis.
    small = cnncalc.load("input: [1, 5, 5]\nlayers:\n  - {type: upsample, scale: 3}\n  - {type: relu, repeat: 5}\n",
                         limits=cnncalc.Limits(max_traced=30 + 30 + 5 * 30))
    receptive_fields(small)
    smaller = cnncalc.load("input: [1, 5, 5]\nlayers:\n  - {type: upsample, scale: 3}\n  - {type: relu, repeat: 5}\n",
                           limits=cnncalc.Limits(max_traced=30 + 30 + 5 * 30 - 1))
    with pytest.raises(cnncalc.SpecError, match="layer 'relu5'"):
        receptive_fields(smaller)
