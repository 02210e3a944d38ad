"""Explicit YAML tags that restate how a value is read are accepted and change nothing.

(Tags that would change a value are refused: see the tag cases of tests/test_bad_input.py.)
"""

from __future__ import annotations

import cnncalc


def _rows(text: str) -> dict:
    return {r["name"]: r for r in cnncalc.cost_report(cnncalc.load(text))["layers"]}


def test_agreeing_tags_read_like_the_untagged_spec():
    plain = ("input: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 3, bias: true, name: c}\n"
             "  - {type: leaky_relu, slope: 0.5, name: '7'}\n")
    tagged = ("input: !!seq [!!int 3, 8, 8]\nlayers: !!seq\n  - !!map {type: !!str conv, out: !!int 4, kernel: 3, "
              "bias: !!bool true, name: ! c}\n  - {type: leaky_relu, slope: !!float 0.5, name: !!str 7}\n")
    assert _rows(tagged) == _rows(plain)
    assert set(_rows(tagged)) == {"c", "7"}
