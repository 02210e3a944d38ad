"""Reading spec files and writing reports: the file-level plumbing the CLI and the Python API share.

`read_spec_source` returns a spec's text and display name, or a SpecError at line 1, column 1 for a missing,
unreadable, huge or non-UTF-8 file (the column of the first bad byte for the latter). `write_atomic` replaces a
file so that a reader sees either its old content or the complete new one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .errors import Position, SpecError
from .source import Limits


def read_spec_source(spec: str, limits: Limits = Limits()) -> tuple[str, str]:
    """(text, display name) of the spec, or SpecError for missing, unreadable, huge or non-UTF-8 files."""
    # File-level problems are reported at line 1, column 1, so that every message reads FILE:LINE:COL.
    if spec == "-":
        name = "<stdin>"
        data = read_at_most(sys.stdin.buffer, limits.max_bytes)
    else:
        name = spec
        top = Position(name, 1, 1)
        try:
            path = Path(spec)
            if path.is_dir():
                raise SpecError("is a directory, not a spec file", top)
            size = path.stat().st_size
            if size > limits.max_bytes:
                raise SpecError(f"the file is {size:,} bytes, more than the limit of {limits.max_bytes:,}", top,
                                hint="raise the limit with --max-bytes")
            with path.open("rb") as handle:  # at most the limit: /dev/zero or a growing file reports a size of 0
                data = read_at_most(handle, limits.max_bytes)
        except FileNotFoundError:
            raise SpecError("no such file", top) from None
        except OSError as exc:
            raise SpecError(f"cannot read the file ({exc.strerror or exc})", top) from None
        except ValueError as exc:  # a NUL character in the name
            raise SpecError(f"cannot read the file ({exc})", top) from None
    if len(data) > limits.max_bytes:
        raise SpecError(f"the spec is more than the limit of {limits.max_bytes:,} bytes", Position(name, 1, 1),
                        hint="raise the limit with --max-bytes")
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
    return text, name


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


def write_atomic(text: str, output: Path) -> None:
    """Replace `output` atomically (a reader sees the old or the complete new content)."""
    if output.is_dir():
        raise SpecError(f"--output {output} is a directory", hint="name a file")
    try:
        fd, tmp = tempfile.mkstemp(dir=output.resolve().parent, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise SpecError(f"--output {output}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode(output))  # mkstemp makes 0600; keep FILE's mode, or the umask's default
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
