"""What an error message shows of a hostile spec: every string literal, control characters made visible, bounded.

A name or type holding ESC [2J (clear the screen), an OSC sequence (retitle the terminal), NUL, a line break, a
bidi override (U+202E) or 2 MB of text (twice fits under the 10 MB file limit) reaches every kind of message
(unknown type, unknown reference, duplicate name, unknown attribute, ...). Standard error must then hold no control
character but the line breaks between the message, the source line and the caret, no bidi control, and at most a
few kilobytes.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.errors import MESSAGE_LIMIT, SpecError, excerpt, visible

HOSTILE = {
    "clear-screen": '"\\e[2Jx"',
    "osc-title": '"\\e]0;owned\\ax"',
    "nul": '"a\\0b"',
    "line-break": '"a\\nb: fake"',
    "bidi-override": "\u202eevil",
    "huge": "A" * 2_000_000,
}
"""YAML scalars (double-quoted ones use YAML escapes, so the file itself holds no control character)."""


def specs(v: str) -> dict[str, str]:
    """One spec per kind of message, each naming the hostile string `v`."""
    head = "input: [3, 8, 8]\n"
    return {
        "unknown-type": head + f"layers:\n  - {{type: {v}}}\n",
        "unknown-reference": head + f"layers:\n  - {{type: relu, input: {v}}}\n",
        "duplicate-name": head + f"layers:\n  - {{type: relu, name: {v}}}\n  - {{type: relu, name: {v}}}\n",
        "unknown-attribute": head + f"layers:\n  - {{type: conv, out: 4, kernel: 1, {v}: 3}}\n",
        "unknown-top-level-key": head + f"layers: [relu]\n{v}: 1\n",
        "bad-choice": head + f"layers:\n  - {{type: conv, out: 4, kernel: 1, activation: {v}}}\n",
        "bad-padding": head + f"layers:\n  - {{type: conv, out: 4, kernel: 1, padding: {v}}}\n",
        "bad-integer": head + f"layers:\n  - {{type: conv, out: {v}, kernel: 1}}\n",
        "unknown-block-parameter": head + f"blocks:\n  b: {{params: [x], layers: [relu]}}\nlayers:\n"
                                          f"  - {{type: b, x: 1, {v}: 2}}\n",
        "bad-name": head + f"layers:\n  - {{type: relu, name: {v}/x}}\n" if not v.startswith('"') else
        head + f"layers:\n  - {{type: relu, name: {v[:-1]}/x\"}}\n",
        "split-output": head + f"layers:\n  - {{type: split, chunks: 3, name: s}}\n  - {{type: relu, input: "
                               f"s.{v.strip(chr(34))}}}\n" if not v.startswith('"') else
        head + f"layers:\n  - {{type: split, chunks: 3, name: s}}\n  - {{type: relu, input: \"s.{v[1:]}}}\n",
        "unknown-input-key": f"input: {{channels: 3, height: 8, width: 8, {v}: 1}}\nlayers: [relu]\n",
        "tag": head + f"layers:\n  - {{type: relu, name: !{'x' * 10 if v.startswith(chr(34)) else v} a}}\n",
    }


CASES = [(kind, which) for which, v in HOSTILE.items() for kind in specs(v)]


def _allowed(ch: str) -> bool:
    return ch == "\n" or (ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Cc"))


@pytest.mark.parametrize("kind, which", CASES, ids=[f"{k}-{w}" for k, w in CASES])
def test_hostile_strings_are_shown_visible_and_bounded(kind: str, which: str, tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text(specs(HOSTILE[which])[kind], encoding="utf-8")
    result = CliRunner().invoke(app, ["cost", "--json", str(path)])
    assert result.exit_code == 2, result.stdout[:300] + result.stderr[:300]
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith(f"{path}:") and "error: " in err, err[:300]
    bad = sorted({ch for ch in err if not _allowed(ch)})
    assert not bad, f"{bad!r} reached the terminal: {err[:300]!r}"
    assert len(err) <= 2 * MESSAGE_LIMIT + 600, len(err)  # message + hint + a source line cut to 120 characters
    assert err.count("\n") in (1, 3)  # the message, maybe the source line and the caret; no line break of the spec


def test_visible_escapes_every_unprintable_character():
    assert visible("plain text, é, 中") == "plain text, é, 中"
    assert visible("a\x1b[2J\x00\n\t\u202e\u2028b") == "a\\x1b[2J\\x00\\n\\t\\u202e\\u2028b"


def test_excerpt_keeps_head_tail_and_length():
    assert excerpt("short", 40) == "short"
    text = "H" * 30 + "m" * 10_000 + "T" * 30
    shown = excerpt(text, 40)
    assert shown.startswith("H" * 30) and "...TTTTTT (10060 characters)" in shown and len(shown) < 70


def test_format_bounds_a_message_built_from_a_huge_string():
    error = SpecError("unknown layer type " + repr("A" * 1_000_000), hint="x\x1by" * 100_000)
    text = error.format()
    assert len(text) < 3 * MESSAGE_LIMIT and "\x1b" not in text and "characters ...]" in text
