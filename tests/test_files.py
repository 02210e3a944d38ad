"""cnncalc/files.py: `--output` writes through a link to its target atomically, refuses what is not a regular file
before any work, and makes its temporary file beside the target (one file system, so the rename is atomic)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.errors import SpecError
from cnncalc.files import OutputError, check_output, read_spec_source, write_atomic

GOOD = "input: [3, 32, 32]\nlayers: [{type: conv, out: 8, kernel: 3}, relu]\n"


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    return path


def test_through_a_symlink_the_target_is_replaced_and_the_link_kept(tmp_path: Path, spec: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "report.json"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = _cli("cost", "--json", "-o", str(link), str(spec))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == _cli("cost", "--json", str(spec)).stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in elsewhere.iterdir()) == ["report.json"]  # no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "good.yaml", "link.json"]


def test_a_chain_of_links_and_a_dangling_link(tmp_path: Path):
    final = tmp_path / "final.txt"
    (tmp_path / "b").symlink_to(final)  # dangling: writing creates the file it names
    (tmp_path / "a").symlink_to(tmp_path / "b")
    write_atomic("one\n", tmp_path / "a")
    assert final.read_text() == "one\n" and (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    write_atomic("two\n", tmp_path / "a")
    assert final.read_text() == "two\n"


def test_the_temporary_file_is_made_in_the_targets_directory(tmp_path: Path, monkeypatch):
    """A temporary file beside the link (another file system, perhaps) would make the rename non-atomic."""
    target_dir, link_dir = tmp_path / "target", tmp_path / "link"
    target_dir.mkdir()
    link_dir.mkdir()
    (target_dir / "out.txt").write_text("old\n")
    (link_dir / "out.txt").symlink_to(target_dir / "out.txt")
    made = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        made.append(Path(kwargs["dir"]))
        return real(*args, **kwargs)
    monkeypatch.setattr(tempfile, "mkstemp", spy)
    write_atomic("new\n", link_dir / "out.txt")
    assert made == [target_dir]
    assert (target_dir / "out.txt").read_text() == "new\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_before_the_spec_is_read(tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = _cli("cost", "--json", "-o", str(fifo), str(tmp_path / "missing.yaml"))  # the spec error would be later
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: --output {fifo} is a FIFO, not a regular file; hint: name a regular file, or "
                             "leave --output out and redirect standard output\n")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null")
def test_a_device_is_refused(spec: Path):
    result = _cli("rf", "--json", "-o", "/dev/null", str(spec))
    assert result.exit_code == 2 and "--output /dev/null is a device, not a regular file" in result.stderr


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null")
@pytest.mark.parametrize("command", ["export", "report"])
def test_a_command_that_writes_only_files_does_not_offer_standard_output(command, spec: Path):
    """export and report take -o only: the hint of a refused device must not say to leave it out."""
    result = _cli(command, str(spec), "-o", "/dev/null")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "error: --output /dev/null is a device, not a regular file; hint: name a regular file\n"


def test_a_link_to_a_device_is_refused_and_kept(tmp_path: Path, spec: Path):
    link = tmp_path / "null"
    link.symlink_to(os.devnull)
    result = _cli("compare", "--json", "-o", str(link), str(spec), str(spec))
    assert result.exit_code == 2 and f"(a link to {os.devnull}) is a device" in result.stderr
    assert link.is_symlink()


def test_a_directory_and_a_missing_directory_are_refused(tmp_path: Path, spec: Path):
    with pytest.raises(OutputError, match="is a directory, not a regular file"):
        check_output(tmp_path)
    with pytest.raises(OutputError, match="no directory"):
        check_output(tmp_path / "no" / "out.json")
    result = _cli("cost", "--json", "-o", str(tmp_path), str(spec))
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_a_new_file_gets_the_umasks_mode(tmp_path: Path):
    umask = os.umask(0o027)
    try:
        write_atomic("x\n", tmp_path / "new.txt")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_closed_stdin_is_a_spec_error(monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(SpecError) as caught:
        read_spec_source("-")
    assert caught.value.format().startswith("<stdin>:1:1: error: standard input is closed")
