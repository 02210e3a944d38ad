"""Whatever the standard streams do, no traceback (issue 8, section 3), for every command, in real processes.

- stdout closed by the caller (`>&-`) or on a full disk (`> /dev/full`): one line on stderr, `error: cannot write
  to standard output (...)`, exit code 2, as `ls >&-` does; typer's own `--help` and `--version` output too.
- the reader goes away (a pipe whose read end is closed, `| head -1`, `| true`): the process ends quietly by
  SIGPIPE, as Unix tools do (the shell reports 141), with nothing on stderr.
- stdin closed (`<&-`) with `-` as SPEC: `<stdin>:1:1: error: standard input is closed`, exit code 2.
Never a Python traceback and never "Exception ignored" from the flush at exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HW5 = str(ROOT / "specs" / "hw5.yaml")
NAIVE = str(ROOT / "specs" / "inception_naive.yaml")
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")
CNNCALC = [sys.executable, "-m", "cnncalc"]

COMMANDS = {
    "cost": ["cost", HW5], "cost-json": ["cost", HW5, "--json"], "cost-group": ["cost", HW5, "--group-by", "type"],
    "cost-sweep": ["cost", HW5, "--input", "32,64"], "rf": ["rf", HW5], "rf-at": ["rf", HW5, "--at", "0,0"],
    "rf-sweep-json": ["rf", HW5, "--input", "32,64", "--json"], "compare": ["compare", HW5, NAIVE],
    "validate": ["validate", HW5], "layers": ["layers"], "help": ["--help"], "cost-help": ["cost", "--help"],
    "version": ["--version"],
}
"""Every command, and typer's own output."""

STDIN_COMMANDS = {"cost": ["cost", "-"], "rf": ["rf", "-", "--json"], "validate": ["validate", "-"],
                  "compare": ["compare", HW5, "-"], "sweep": ["cost", "-", "--input", "32"]}
BAD = ("Traceback", "Exception ignored", "None")


def _run(args: list[str], **streams) -> subprocess.CompletedProcess:
    return subprocess.run(CNNCALC + args, capture_output="stdout" not in streams, cwd=ROOT, timeout=120, **streams)


def _parallel(function, cases: dict) -> dict:
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(cases, pool.map(function, cases.values())))


def _closed_stdout(args: list[str]) -> subprocess.CompletedProcess:
    # stdout=subprocess.DEVNULL would give a descriptor; close 1 in the child instead, as `>&-` does.
    return subprocess.run(CNNCALC + args, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, timeout=120,
                          preexec_fn=lambda: os.close(1))


def test_closed_stdout_is_a_write_error():
    for name, result in _parallel(_closed_stdout, COMMANDS).items():
        stderr = result.stderr.decode()
        assert result.returncode == 2, (name, result.returncode, stderr)
        assert stderr == "error: cannot write to standard output (Bad file descriptor)\n", (name, stderr)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_full_disk_is_a_write_error():
    def full(args):
        with open("/dev/full", "w") as sink:
            return _run(args, stdout=sink, stderr=subprocess.PIPE)
    for name, result in _parallel(full, COMMANDS).items():
        stderr = result.stderr.decode()
        assert result.returncode == 2, (name, result.returncode, stderr)
        assert stderr == "error: cannot write to standard output (No space left on device)\n", (name, stderr)


def _reader_gone(args: list[str]) -> subprocess.CompletedProcess:
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write gets EPIPE
    try:
        return _run(args, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)


@pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="no SIGPIPE on this system")
def test_reader_gone_ends_quietly_by_sigpipe():
    for name, result in _parallel(_reader_gone, COMMANDS).items():
        assert result.returncode == -signal.SIGPIPE, (name, result.returncode, result.stderr.decode())
        assert result.stderr == b"", (name, result.stderr.decode())


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None, reason="needs bash and head")
@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_shell_pipelines_end_quietly(reader: str):
    """As a user types it: exit status 141 (SIGPIPE) or 0 (all output was in the pipe before the reader left)."""
    command = " ".join([sys.executable, "-m", "cnncalc", "cost", RESNET50])
    result = subprocess.run(["bash", "-c", f"{command} | {reader}; echo \"status ${{PIPESTATUS[0]}}\" >&2"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stderr.splitlines()[-1] in ("status 141", "status 0"), result.stderr
    assert not any(bad in result.stderr for bad in BAD), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    if reader == "head -1":
        assert result.stdout.count("\n") == 1 and "resnet50" in result.stdout


def test_closed_stdin_with_dash():
    def closed(args):
        return subprocess.run(CNNCALC + args, capture_output=True, cwd=ROOT, timeout=120,
                              preexec_fn=lambda: os.close(0))
    for name, result in _parallel(closed, STDIN_COMMANDS).items():
        assert result.returncode == 2 and result.stdout == b"", (name, result.returncode)
        assert result.stderr.decode() == ("<stdin>:1:1: error: standard input is closed; hint: pipe or redirect a "
                                          "spec into cnncalc, or name a spec file\n"), (name, result.stderr)


def test_stdin_that_cannot_be_read():
    with open(os.devnull, "wb") as write_only:
        result = _run(["cost", "-"], stdin=write_only)
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().startswith("<stdin>:1:1: error: cannot read standard input (Bad file descriptor)")


def test_closed_stderr_keeps_the_exit_code():
    result = subprocess.run(CNNCALC + ["cost", str(ROOT / "no-such.yaml")], stdout=subprocess.PIPE, cwd=ROOT,
                            timeout=120, preexec_fn=lambda: os.close(2))
    assert result.returncode == 2 and result.stdout == b""


def test_compare_reads_stdin_once():
    result = _run(["compare", "-", "-"], input=Path(HW5).read_bytes())
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode() == "error: standard input can be read only once; name - at most once\n"


def test_success_still_writes_everything():
    """The guard changes nothing when the streams work: the output is the complete document."""
    result = _run(["cost", RESNET50, "--json"])
    assert result.returncode == 0 and result.stderr == b""
    assert result.stdout.decode().endswith("}\n") and b'"macs": 4089184256' in result.stdout
