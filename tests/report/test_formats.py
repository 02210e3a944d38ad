"""Every `--format` of every command that prints rows, read back and compared with the command's `--json` document:
the same rows, the same numbers. The expected rows are made here from the JSON document (flattened by the rule the
README states: nested keys joined by dots, shapes `3x224x224`, other lists joined by `, `), and every format is read
back by its own reader: the csv module, json per line, and a small Markdown table reader written below.

The parametrisation runs over the format registry, so a new format fails here until it has a reader.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.report.formats import FORMATS

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"

CASES = {  # one command per kind of rows
    "cost": ["cost", "specs/hw5.yaml"],
    "cost blocks (some rows without a block)": ["cost", "specs/resnet18.yaml"],
    "cost --group-by block": ["cost", "specs/resnet18.yaml", "--group-by", "block"],
    "cost --training": ["cost", "specs/hw5.yaml", "--training", "--optimizer", "adam"],
    "cost sweep": ["cost", "specs/hw5.yaml", "--input", "32,48x64"],
    "rf (fractions, global layers, warnings)": ["rf", "specs/zoo/unet_small.yaml"],
    "rf --at": ["rf", "specs/hw5.yaml", "--at", "1,2"],
    "rf sweep": ["rf", "specs/hw5.yaml", "--input", "32:64:16"],
    "compare (floats and nulls)": ["compare", "specs/hw5.yaml", "specs/resnet18.yaml"],
    "validate": ["validate", "specs/inception_naive.yaml"],
    "grad (floats)": ["grad", "specs/mlp_relu.yaml", "--batch", "4"],
    "memory --training": ["memory", "specs/hw5.yaml", "--training", "--optimizer", "adam"],
}


def run(*args: str):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


def _cell(value):
    if isinstance(value, list):
        if value and all(type(v) is int for v in value):
            return "x".join(map(str, value))
        return ", ".join(str(_cell(v)) for v in value)
    return value


def _flatten(row: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = _cell(value)
    return out


def expected_rows(doc: dict) -> list[dict]:
    """The rows the README promises, made from the JSON document alone."""
    if "at" in doc:
        at = doc["at"]
        return [{"spec": doc["spec"], "layer": at["layer"], "axis": axis, "index": index, "lower": at[axis][0],
                 "upper": at[axis][1], "lower_clipped": (at[axis + "_clipped"] or [None, None])[0],
                 "upper_clipped": (at[axis + "_clipped"] or [None, None])[1]}
                for axis, index in zip(("rows", "cols"), at["index"])]
    for key in ("layers", "groups", "sweep", "specs"):
        if key in doc:
            spec = {"spec": doc["spec"]} if "spec" in doc else {}
            return [spec | _flatten(row) for row in doc[key]]
    raise AssertionError(f"no rows in a document with keys {sorted(doc)}")


def as_text(value) -> str:
    """How a value is written in CSV and Markdown: exact ints, float repr, JSON's true/false, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def read_csv(text: str) -> tuple[list[str], list[dict]]:
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert all(len(line) == len(header) for line in lines), "every line has one cell per column"
    return header, [dict(zip(header, line)) for line in lines]


def read_jsonl(text: str) -> tuple[list[str], list[dict]]:
    assert text.endswith("\n")
    objects = [json.loads(line) for line in text.splitlines()]
    assert all(list(obj) == list(objects[0]) for obj in objects), "every object has the same keys in the same order"
    return list(objects[0]), objects


_ESCAPED = re.compile(r"\\(.)")


def markdown_cells(line: str) -> list[str]:
    """The cells of one Markdown table line, read as GitHub reads them (a backslash and the character after it are
    one unit; every other pipe ends a cell), with the escapes undone."""
    assert line.startswith("| ") and line.endswith(" |"), line
    cells, cell, i = [], "", 1
    while i < len(line):
        if line[i] == "\\":
            cell += line[i + 1]
            i += 2
            continue
        if line[i] == "|":
            assert cell.startswith(" ") and cell.endswith(" "), line
            cells.append(cell[1:-1])
            cell = ""
        else:
            cell += line[i]
        i += 1
    assert cell == "", line
    return cells


def read_markdown(text: str) -> list[tuple[list[str], list[dict]]]:
    """Every table of a Markdown text, as (header, rows of text cells)."""
    tables = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if len(lines) >= 2 and re.fullmatch(r"\|(---:?\|)+", lines[1]):
            header = markdown_cells(lines[0])
            assert lines[1].count("|") == len(header) + 1
            rows = [markdown_cells(line) for line in lines[2:]]
            assert all(len(row) == len(header) for row in rows)
            tables.append((header, [dict(zip(header, row)) for row in rows]))
    return tables


def assert_header_is_the_union(header: list[str], rows: list[dict]) -> None:
    assert set(header) == {key for row in rows for key in row}
    for row in rows:  # every row's keys in the header's order
        assert [key for key in header if key in row] == list(row)


def check_text_rows(header: list[str], got: list[dict], want: list[dict]) -> None:
    assert_header_is_the_union(header, want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == {key: as_text(w.get(key)) for key in header}


def check_csv(out: str, doc: dict) -> None:
    header, rows = read_csv(out)
    check_text_rows(header, rows, expected_rows(doc))


def check_jsonl(out: str, doc: dict) -> None:
    header, objects = read_jsonl(out)
    want = expected_rows(doc)
    assert_header_is_the_union(header, want)
    typed = lambda row: {key: (type(row.get(key)), row.get(key)) for key in header}  # noqa: E731 (1 != 1.0 here)
    assert [typed(obj) for obj in objects] == [typed(w) for w in want]


def check_markdown(out: str, doc: dict) -> None:
    tables = read_markdown(out)
    want = expected_rows(doc)
    if "spec" in doc:  # the spec is named in the title, not on every row
        want = [{k: v for k, v in row.items() if k != "spec"} for row in want]
        assert doc["spec"] in _ESCAPED.sub(r"\1", out.split("\n")[0])
    header, rows = tables[0]
    check_text_rows(header, rows, want)
    numeric = [k for k in header if all(type(r.get(k)) in (int, float) for r in want if r.get(k) is not None)]
    alignment = out.split("\n\n")[1].split("\n")[1].strip("|").split("|")
    assert [a == "---:" for a in alignment] == [k in numeric for k in header]
    if isinstance(doc.get("totals"), dict):
        assert len(tables) == 2
        total_header, total_rows = tables[1]
        check_text_rows(total_header, total_rows, [_flatten(doc["totals"])])
    elif "blocks" in doc:  # compare's per-block totals, in long form
        assert len(tables) == 2
        block_header, block_rows = tables[1]
        check_text_rows(block_header, block_rows, [
            {"block": block["block"], "spec": doc["specs"][i]["spec"]} | _flatten(totals)
            for block in doc["blocks"] for i, totals in enumerate(block["totals"]) if totals is not None])
    else:
        assert len(tables) == 1
    for diagnostic in doc.get("diagnostics", []):
        assert f"- {diagnostic['severity']}: {diagnostic['message']}" in _ESCAPED.sub(r"\1", out)


def check_json(out: str, doc: dict) -> None:
    assert json.loads(out) == doc


def check_table(out: str, doc: dict) -> None:
    """The tables (tested in full by test_tables.py): here, every row is there, in order."""
    position = 0
    for row in expected_rows(doc):
        if "at" in doc:
            label = f"{row['axis']} {row['lower']} .. {row['upper']}"
        else:
            label = row["spec"] if "specs" in doc else next(str(row[k]) for k in ("name", "group", "input") if k in row)
        position = out.index(label, position)


READERS = {"table": check_table, "json": check_json, "jsonl": check_jsonl, "csv": check_csv,
           "markdown": check_markdown}


def test_every_format_has_a_reader_here():
    assert set(READERS) == set(FORMATS)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", list(FORMATS))
def test_format_has_the_rows_and_numbers_of_the_json_document(name, case):
    args = CASES[case]
    doc = json.loads(run(*args, "--json").stdout)
    result = run(*args, "--format", name, "--wide")
    assert result.exit_code == 0, result.stderr
    READERS[name](result.stdout, doc)
    if FORMATS[name].shows_diagnostics:
        assert result.stderr == ""
    else:  # the diagnostics the format has no place for, one line each on stderr
        assert result.stderr.splitlines() == [f"{args[1]}: {d['severity']}: {d['message']}"
                                              for d in doc.get("diagnostics", [])]


def test_csv_has_exact_integers_and_no_separators():
    header, rows = read_csv(run("cost", "specs/zoo/resnet50.yaml", "--format", "csv").stdout)
    assert sum(int(row["macs"]) for row in rows) == 4089184256  # torchvision's published 4.09 GMACs, to the MAC
    assert all(re.fullmatch(r"[0-9]+", row[k]) for row in rows for k in ("params", "macs", "mults"))


def test_json_flag_is_format_json_and_conflicts_are_refused():
    plain = run("cost", "specs/hw5.yaml", "--json")
    assert run("cost", "specs/hw5.yaml", "--json", "--format", "json").stdout == plain.stdout
    assert run("cost", "specs/hw5.yaml", "--format", "json").stdout == plain.stdout
    refused = run("cost", "specs/hw5.yaml", "--json", "--format", "csv")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: --json is short for --format json") and refused.stderr.count("\n") == 1


@pytest.mark.parametrize("name", list(FORMATS))
def test_output_file_holds_what_stdout_would(tmp_path, name):
    target = tmp_path / f"out.{name}"
    args = ["validate", "specs/hw5.yaml", "--format", name]
    written = run(*args, "--output", str(target))
    assert written.exit_code == 0 and written.stdout == ""
    assert target.read_text(encoding="utf-8") == run(*args).stdout


HOSTILE_NAME = 'a,b "q" |c| `d`\n\r\x1b[2J <b>x<b> :cake: @octocat #1 &amp; $x$ _u_ [l](u) ~s~ \\'
HOSTILE_SHOWN = 'a,b "q" |c| `d`\\n\\r\\x1b[2J <b>x<b> :cake: @octocat #1 &amp; $x$ _u_ [l](u) ~s~ \\'
"""The name with its control characters written as escapes, as every table shows it."""


def _hostile_spec(tmp_path: Path) -> str:
    spec = tmp_path / "hostile.yaml"
    spec.write_text(json.dumps({"name": "evil|`x`\n*net*", "input": [3, 8, 8], "layers": [
        {"name": HOSTILE_NAME, "type": "conv", "out": 4, "kernel": 3},
        {"name": "=1+2", "type": "relu"}]}), encoding="utf-8")
    return str(spec)


def test_csv_quotes_hostile_names_and_escapes_control_characters(tmp_path):
    out = run("cost", _hostile_spec(tmp_path), "--format", "csv").stdout
    assert "\x1b" not in out and "\r" not in out and out.count("\n") == 3  # header and two rows, nothing split
    header, rows = read_csv(out)
    assert [row["name"] for row in rows] == [HOSTILE_SHOWN, "=1+2"]
    assert rows[1]["inputs"] == HOSTILE_SHOWN and rows[0]["spec"] == "evil|`x`\\n*net*"


def test_jsonl_keeps_hostile_names_exact(tmp_path):
    out = run("cost", _hostile_spec(tmp_path), "--format", "jsonl").stdout
    assert "\x1b" not in out and out.count("\n") == 2
    assert [json.loads(line)["name"] for line in out.splitlines()] == [HOSTILE_NAME, "=1+2"]


def test_markdown_renders_hostile_names_literally(tmp_path):
    out = run("cost", _hostile_spec(tmp_path), "--format", "markdown").stdout
    assert "\x1b" not in out and "\r" not in out
    (header, rows), _ = read_markdown(out)
    assert [row["name"] for row in rows] == [HOSTILE_SHOWN, "=1+2"]
    line = out.split("\n")[4]  # the hostile row: every Markdown-significant character escaped
    for raw in ("`", "*", "<", "[", "]", "|c", "$", "~", "_u", ":cake", "@octocat", "#1", "&amp"):
        assert re.search(r"(?<!\\)" + re.escape(raw), line) is None, raw
    assert "\\:cake:" in line and ":" in out.split("\n")[0]  # a colon before a space stays bare


def _on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Everything the command writes to a pseudo-terminal (stdout and stderr both)."""
    import pty
    controller, terminal = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "cnncalc", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                       stdout=terminal, stderr=terminal, timeout=60)
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal side is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(controller)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_nothing_is_coloured_on_a_terminal_and_no_color_is_accepted():
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")} | {"TERM": "xterm-256color",
                                                                                       "FORCE_COLOR": "1"}
    for args in (["cost", "specs/hw5.yaml"], ["grad", "specs/mlp_relu.yaml"], ["cost", "--help"],
                 ["cost", "specs/nope.yaml"], ["cost", "--bogus"]):
        plain = _on_a_terminal(args, env)
        assert b"\x1b" not in plain and len(plain) > 40, (args, plain[:200])
        if "--bogus" not in args and "--help" not in args:
            assert _on_a_terminal([*args, "--no-color"], env) == plain
        assert _on_a_terminal(args, env | {"NO_COLOR": "1"}) == plain


def _completion(env: dict[str, str]) -> str:
    script = shutil.which("cnncalc", path=str(Path(sys.executable).parent)) or "cnncalc"
    result = subprocess.run([script], env=os.environ | env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_shell_completion_offers_commands_and_formats():
    assert "complete -o default -F _cnncalc_completion cnncalc" in _completion({"_CNNCALC_COMPLETE": "source_bash"})
    assert "compdef cnncalc" in _completion({"_CNNCALC_COMPLETE": "source_zsh"})
    bash = {"_CNNCALC_COMPLETE": "complete_bash"}
    assert _completion(bash | {"COMP_WORDS": "cnncalc co", "COMP_CWORD": "1"}).split() == ["cost", "compare"]
    assert _completion(bash | {"COMP_WORDS": "cnncalc cost x --format ", "COMP_CWORD": "4"}).split() == \
        list(FORMATS)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_with_the_documented_script():
    bin_dir = str(Path(sys.executable).parent)
    script = ('eval "$(_CNNCALC_COMPLETE=source_bash cnncalc)"; COMP_WORDS=(cnncalc cost specs/hw5.yaml --for); '
              'COMP_CWORD=3; _cnncalc_completion cnncalc; echo "${COMPREPLY[@]}"')
    result = subprocess.run(["bash", "-c", script], env=os.environ | {"PATH": bin_dir + os.pathsep +
                                                                      os.environ.get("PATH", "")},
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.stdout.split() == ["--format"], result.stderr


@pytest.mark.parametrize("name", [f for f in FORMATS if not FORMATS[f].shows_diagnostics])
def test_diagnostics_on_stderr_show_control_characters_as_escapes(tmp_path, name):
    spec = tmp_path / "misaligned.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - {name: a, type: conv, out: 4, kernel: 1, stride: 2}\n"
                    "  - {name: b, type: conv, out: 4, kernel: 5, input: input}\n"
                    '  - {name: "m\\u001b[2Jx", type: add, inputs: [a, b]}\n')  # jumps 2 and 1 meet: a warning
    result = run("rf", str(spec), "--format", name)
    assert result.exit_code == 0 and "\x1b" not in result.stderr
    assert result.stderr.splitlines() == [f"{spec}: warning: m\\x1b[2Jx: paths meet with different jumps or centres "
                                          f"along the {axis} (a: 2i .. 2i, b: i .. i+4); the bounds are the exact "
                                          "union" for axis in ("height", "width")]
