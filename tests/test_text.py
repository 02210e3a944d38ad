"""Strings from a spec reach the terminal literally: control characters made visible, markup and emoji codes inert.

Hostile names go through the command line (every command that prints a table, a title or a line), at a wide and
a narrow width, and nothing but printable characters comes out.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.text import cell_width, printable


def test_printable_escapes_exactly_the_unprintable_characters():
    assert printable("conv1/relu [bold]x[/] :cake: é 漢") == "conv1/relu [bold]x[/] :cake: é 漢"
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert printable("tab\there\nnew\rline") == "tab\\there\\nnew\\rline"
    assert printable("rtl\u202eoops\u00a0\U000e0001") == "rtl\\u202eoops\\xa0\\U000e0001"
    assert all(printable(chr(c)).isprintable() for c in range(0x110000) if not 0xD800 <= c < 0xE000)


def test_cell_width_counts_wide_and_combining_characters():
    assert cell_width("conv") == 4 and cell_width("漢字") == 4 and cell_width("e\u0301") == 1


HOSTILE = r'''name: "net\e]0;pwned\a:cake:"
input: [3, 16, 16]
blocks:
  b:
    layers:
      - {name: "in\e[31m", type: conv, out: 4, kernel: 3, padding: 1}
layers:
  - {name: "a\e[2Jb", type: conv, out: 4, kernel: 3}
  - {name: ":cake:", type: relu}
  - {name: "[bold]x[red]", type: maxpool, kernel: 2}
  - {name: "blk\u202e", type: b}
  - {name: "osc\e]8;;x\e\\link", type: conv, out: 2, kernel: 1}
'''


@pytest.mark.parametrize("columns", ["200", "40"])
@pytest.mark.parametrize("args", [["cost"], ["cost", "--group-by", "block"], ["rf"], ["rf", "--at", "0"],
                                  ["validate"], ["cost", "--input", "16,32"], ["rf", "--input", "16,32"],
                                  ["compare", "SPEC"]], ids=" ".join)
def test_hostile_names_are_printed_literally(tmp_path, args, columns):
    spec = tmp_path / "evil.yaml"
    spec.write_text(HOSTILE)
    argv = [args[0], str(spec), *(str(spec) if a == "SPEC" else a for a in args[1:])]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": columns}, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert all(line.isprintable() for line in out.splitlines()), "a control character reached the terminal"
    assert "\U0001f370" not in out  # the emoji code stayed text
    if args[:1] == ["rf"] and "--at" in args:
        assert "osc\\x1b]8;;x\\x1b\\link[0, 0] depends on" in out.replace("\n", "")
    elif "--input" in args:
        assert "net\\x1b]0;pwned\\x07:cake:" in out.replace("\n", "")
    elif "block" not in args:
        for shown in (":cake:", "[bold]x[red]", "a\\x1b[2Jb"):
            assert shown in out, shown


def test_hostile_names_in_the_layers_of_a_block_group():
    result = CliRunner().invoke(app, ["cost", "-", "--group-by", "block"], input=HOSTILE, env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "blk\\u202e" in result.stdout
    assert all(line.isprintable() for line in result.stdout.splitlines())


def test_an_ascii_terminal_gets_ascii_tables(tmp_path):
    """With stdout in ASCII (PYTHONIOENCODING=ascii), the rule, the ellipsis and non-ASCII names are written in
    ASCII instead of failing."""
    import os
    import subprocess
    import sys
    spec = tmp_path / "cafe.yaml"
    spec.write_text('name: café\ninput: [3, 8, 8]\nlayers:\n  - {name: "caf\\xe9_with_a_long_enough_name_to_cut", '
                    'type: conv, out: 4, kernel: 3}\n')
    env = dict(os.environ, PYTHONIOENCODING="ascii", COLUMNS="60")
    result = subprocess.run([sys.executable, "-m", "cnncalc", "cost", str(spec)], capture_output=True, env=env,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    text = result.stdout.decode("ascii")
    assert "cost by the cnncalc convention: caf\\xe9 (input 3x8x8)" in text and " ---" in text and "~" in text
    assert "112" in text and "3,888" in text
