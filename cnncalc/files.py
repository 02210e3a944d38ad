"""Reading spec files and writing reports: the file-level plumbing the CLI and the Python API share.

`read_spec_source` returns a spec's text and display name, or a SpecError at line 1, column 1 for a missing,
unreadable, huge or non-UTF-8 file (the column of the first bad byte for the latter), or for standard input
closed by the caller (`<&-`). `write_atomic` replaces a file so that a reader sees either its old content or the
complete new one: through a symbolic link it replaces the link's target (the link stays), the temporary file is
made in the target's own directory (so the final rename never crosses file systems), and anything that is not a
regular file (a FIFO, a device, a socket, a directory) is refused, by `check_output` before any work is done.

Standard output, for the command line: `prepare_standard_streams` gives a closed stdout/stderr (`>&-`, `2>&-`)
a descriptor so that writing to it fails loudly instead of printing nowhere, and lets a reader that goes away
(`| head -1`) end the process quietly by SIGPIPE, as Unix tools do (exit status 141 in the shell).
`write_stdout` writes and flushes a report, turning a failed write (a full disk, a closed descriptor) into an
OutputError after `discard_stdout`, which keeps Python's own flush at exit from failing a second time.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import Position, SpecError
from .source import Limits


class OutputError(SpecError):
    """A report could not be written (standard output or `--output`): one message, exit code 2."""


def read_spec_source(spec: str, limits: Limits = Limits()) -> tuple[str, str]:
    """(text, display name) of the spec, or SpecError for missing, unreadable, huge or non-UTF-8 files."""
    data, name, _ = _read_data(spec, limits, models=False)
    return _decode(data, name), name


def read_source(spec: str, limits: Limits = Limits()) -> tuple[str | bytes, str]:
    """(text, display name) of a YAML spec, or (bytes, display name) of an ONNX model, told apart by the file's
    first bytes (`looks_like_onnx`; the name is a hint): a model may be `model_byte_limit(limits.max_bytes)` bytes,
    a spec `limits.max_bytes`. SpecError as `read_spec_source`."""
    data, name, model = _read_data(spec, limits, models=True)
    return (data if model else _decode(data, name)), name


MODEL_BYTES_PER_SPEC_BYTE = 100
"""An ONNX file may be this many times `--max-bytes` (1 GB by default): weights make models large, and only their
dimensions are read. Protobuf itself reads at most 2 GB; larger models keep their weights as external data."""


def model_byte_limit(max_bytes: int) -> int:
    """The largest ONNX file read under `--max-bytes max_bytes`."""
    return max_bytes * MODEL_BYTES_PER_SPEC_BYTE


def looks_like_onnx(head: bytes, name: str) -> bool:
    """Whether a file that starts with `head` (its first `SNIFF_BYTES`) is an ONNX model rather than a YAML spec:
    it starts with the tag of ModelProto's field 1 (ir_version, the first field every ONNX writer serialises; byte
    0x08, a control character no YAML text begins with), or its name ends in `.onnx` and `head` is not text
    (UTF-8 without control characters other than tab and line breaks)."""
    if not head:
        return False
    if head[0] == 0x08:
        return True
    if not name.lower().endswith(".onnx"):
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < SNIFF_BYTES or exc.start < len(head) - 3:  # not a character cut by the end of `head`
            return True
        text = head[:exc.start].decode("utf-8")
    return any(not ch.isprintable() and ch not in "\t\n\r\ufeff" for ch in text)


SNIFF_BYTES = 512
"""Bytes of a file read to tell an ONNX model from a YAML spec."""


def _read_data(spec: str, limits: Limits, models: bool) -> tuple[bytes, str, bool]:
    """The file's bytes, its display name and whether it is an ONNX model (only when `models`), each kind bounded
    by its own limit."""
    # File-level problems are reported at line 1, column 1, so that every message reads FILE:LINE:COL.
    if spec == "-":
        name = "<stdin>"
        if sys.stdin is None:
            raise SpecError("standard input is closed", Position(name, 1, 1),
                            hint="pipe or redirect a spec into cnncalc, or name a spec file")
        try:
            head = sys.stdin.buffer.read(SNIFF_BYTES)
            model = models and looks_like_onnx(head, name)
            limit = model_byte_limit(limits.max_bytes) if model else limits.max_bytes
            data = head + read_at_most(sys.stdin.buffer, limit - len(head))
        except (OSError, ValueError) as exc:  # a directory, a write-only or closed descriptor
            raise SpecError(f"cannot read standard input ({getattr(exc, 'strerror', None) or exc})",
                            Position(name, 1, 1)) from None
    else:
        name = spec
        top = Position(name, 1, 1)
        try:
            path = Path(spec)
            if path.is_dir():
                raise SpecError("is a directory, not a spec file", top)
            size = path.stat().st_size
            with path.open("rb") as handle:  # at most the limit: /dev/zero or a growing file reports a size of 0
                head = handle.read(SNIFF_BYTES)
                model = models and looks_like_onnx(head, name)
                limit = model_byte_limit(limits.max_bytes) if model else limits.max_bytes
                if size > limit:
                    raise SpecError(f"the file is {size:,} bytes, more than the limit of {limit:,}"
                                    + (" for an ONNX model (100 times --max-bytes)" if model else ""), top,
                                    hint="raise the limit with --max-bytes")
                data = head + read_at_most(handle, limit - len(head))
        except FileNotFoundError:
            raise SpecError("no such file", top) from None
        except OSError as exc:
            raise SpecError(f"cannot read the file ({exc.strerror or exc})", top) from None
        except ValueError as exc:  # a NUL character in the name
            raise SpecError(f"cannot read the file ({exc})", top) from None
    if len(data) > limit:
        raise SpecError(f"the {'model' if model else 'spec'} is more than the limit of {limit:,} bytes",
                        Position(name, 1, 1), hint="raise the limit with --max-bytes")
    return data, name, model


def _decode(data: bytes, name: str) -> str:
    """The UTF-8 text of a spec file; SpecError at the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = (data[: exc.start].decode("utf-8") + "x").splitlines()  # valid up to the bad byte
        start = exc.start - len(before[-1][:-1].encode("utf-8"))
        end = data.find(b"\n", exc.start)
        shown = data[start: end if end >= 0 else len(data)].decode("utf-8", "replace")
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        raise SpecError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", Position(name, len(before), len(before[-1])),
                        hint="the file looks like UTF-16; save it as UTF-8" if utf16 else "save the file as UTF-8",
                        source_line=shown) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def read_at_most(stream, limit: int) -> bytes:
    """Up to `limit` + 1 bytes of `stream`, in chunks (never one allocation of the limit's size)."""
    chunks, total = [], 0
    while total <= limit:
        chunk = stream.read(min(limit + 1 - total, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def check_output(output: Path, required: bool = False) -> Path:
    """The regular file that writing `output` replaces: `output` itself, or the end of its chain of symbolic
    links (a dangling link names the file it creates). OutputError for a directory, a FIFO, a device or a socket,
    and for a parent directory that does not exist; its hint offers standard output unless the command writes
    only to a file (`required`: export, report)."""
    target = Path(os.path.realpath(output))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"--output {output}: cannot use it ({exc.strerror})") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        via = f" (a link to {target})" if target != Path(os.path.abspath(output)) else ""
        raise OutputError(f"--output {output}{via} is {kind}, not a regular file",
                          hint="name a regular file" if required else
                          "name a regular file, or leave --output out and redirect standard output")
    if not target.parent.is_dir():
        raise OutputError(f"--output {output}: no directory {target.parent}", hint="create the directory first")
    return target


def write_atomic(text: str | bytes, output: Path) -> None:
    """Replace the regular file `output` (or the target of the link `output`) atomically with `text` (UTF-8) or
    `bytes` as they are: a reader sees the old or the complete new content, and a link stays a link. OutputError
    when that cannot be done."""
    target = check_output(output)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"--output {output}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode(target))  # mkstemp makes 0600; keep FILE's mode, or the umask's default
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"--output {output}: cannot write it ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_stdout(text: str) -> None:
    """Write `text` to standard output and flush it; OutputError when that fails (a broken pipe never gets here
    after `prepare_standard_streams`: SIGPIPE ends the process first)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        discard_stdout()
        raise OutputError(f"cannot write to standard output ({exc.strerror or exc})") from None


def write_stderr(line: str) -> None:
    """Write one message line to standard error; when even that fails (`2> /dev/full`) the exit code remains."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def discard_stdout() -> None:
    """Point descriptor 1 at the null device: what is still buffered for standard output goes nowhere, and the
    flush at exit cannot fail (and print "Exception ignored") a second time."""
    try:
        _fill(1, os.O_WRONLY)
    except OSError:  # pragma: no cover - no /dev/null
        pass


def prepare_standard_streams() -> None:
    """For a command-line run: SIGPIPE ends the process quietly when the reader goes away (POSIX), and a standard
    output or error closed by the caller gets a descriptor: stdout one whose writes fail (EBADF, reported as a
    write error), stderr the null device (messages are dropped, the exit code remains)."""
    import signal
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for fd, flags, name in ((1, os.O_RDONLY, "stdout"), (2, os.O_WRONLY, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            _fill(fd, flags)
        except OSError:  # pragma: no cover
            continue
        setattr(sys, name, open(fd, "w", encoding="utf-8", closefd=False))


def _fill(fd: int, flags: int) -> None:
    null = os.open(os.devnull, flags)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
