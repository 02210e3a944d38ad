"""Tool conventions on small specs: each rule written as the tool's formula, and the diagnostics that say why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnncalc
from conftest import spec_text

# input 2 x 6 x 6; conv 4 out, 3x3, pad 1 (bias) -> 4 x 6 x 6 = 144 outputs, 18 MACs each
CONV = {"name": "c", "type": "conv", "out": 4, "kernel": 3, "padding": 1}
MACS = 144 * 2 * 9


def macs(layers: list, convention: str, shape=(2, 6, 6)) -> dict:
    doc = cnncalc.cost_report(cnncalc.load(spec_text(shape, layers)), convention)
    return {row["name"]: row["macs"] for row in doc["layers"]} | {"_diagnostics": doc["diagnostics"]}


@pytest.mark.parametrize("convention, expected", [
    ("torchvision", {"c": MACS, "bn": 0, "r": 0, "p": 0}),
    ("fvcore", {"c": MACS, "bn": 2 * 144, "r": 0, "p": 0}),
    ("ptflops", {"c": MACS + 144, "bn": 2 * 144, "r": 2 * 144, "p": 2 * 144}),
])
def test_rules_as_formulas(convention, expected):
    got = macs([CONV, {"name": "bn", "type": "batchnorm"}, {"name": "r", "type": "relu"},
                {"name": "p", "type": "maxpool", "kernel": 2}], convention)
    assert {k: got[k] for k in expected} == expected


def test_ptflops_counts_the_functional_form_once_and_says_what_it_assumed():
    module = macs([CONV, {"name": "r", "type": "relu"}], "ptflops")
    functional = macs([CONV, {"name": "r", "type": "relu", "call": "functional"}], "ptflops")
    assert module["r"] == 2 * 144 and functional["r"] == 144
    assumed = [d for d in module["_diagnostics"] if d["code"] == "convention-call-assumed"]
    assert [d["layers"] for d in assumed] == [["r"]]
    assert not [d for d in functional["_diagnostics"] if d["code"] == "convention-call-assumed"]


def test_explicit_add_is_counted_by_ptflops_only_as_a_method():
    layers = [CONV, {"name": "d", "type": "conv", "out": 4, "kernel": 1, "input": "input"}]
    operator = macs(layers + [{"name": "a", "type": "add", "inputs": ["c", "d"]}], "ptflops")
    method = macs(layers + [{"name": "a", "type": "add", "inputs": ["c", "d"], "call": "method"}], "ptflops")
    assert operator["a"] == 0 and method["a"] == 144


def test_fvcore_global_pool_as_mean_is_not_counted():
    pooled = macs([CONV, {"name": "g", "type": "global_avgpool"}], "fvcore")
    mean = macs([CONV, {"name": "g", "type": "global_avgpool", "call": "method"}], "fvcore")
    assert pooled["g"] == 144 and mean["g"] == 0


def test_zero_counted_types_are_listed():
    got = macs([CONV, {"name": "r", "type": "relu"}], "fvcore")
    codes = {(d["code"], tuple(d["layers"])) for d in got["_diagnostics"]}
    assert ("convention-not-counted", ("r",)) in codes


def test_call_is_checked():
    with pytest.raises(cnncalc.SpecError, match="`call` must be one of"):
        cnncalc.load(spec_text((2, 6, 6), [{"type": "relu", "call": "lambda"}]))


def test_an_unknown_convention_is_one_error_with_the_closest_name():
    with pytest.raises(cnncalc.SpecError, match="unknown convention 'fvcor'") as caught:
        cnncalc.cost_report(cnncalc.load(spec_text((2, 6, 6), [CONV])), "fvcor")
    assert caught.value.hint == "did you mean 'fvcore'?"


# A throw-away preset added through the public registration API, before the CLI is imported, as a module of
# cnncalc or a plug-in would: the CLI must accept it, list it in --help and `cnncalc layers`, and count with it.
THROWAWAY = """
import sys
from cnncalc.plugins import Convention, Rule, register_convention, zero
register_convention(Convention(
    "throwaway", "7 per conv output element",
    {"conv": Rule("7 per output element", lambda node: 7 * node.output[0] * node.output[1] * node.output[2]),
     "relu": zero()},
    statement="Throw-away convention: seven per conv output element, nothing else."))
from cnncalc.cli import main
sys.argv = ["cnncalc", *sys.argv[1:]]
main()
"""


def _run_with_throwaway(*args: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-c", THROWAWAY, *args], capture_output=True, text=True, env=env,
                          cwd=root)


def test_a_registered_convention_reaches_every_command(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(spec_text((2, 6, 6), [CONV, {"name": "r", "type": "relu"}]))
    for command in ("cost", "compare", "layers"):
        help_text = " ".join(_run_with_throwaway(command, "--help").stdout.split())
        assert "throwaway" in help_text, f"`cnncalc {command} --help` does not list the registered convention"
    layers = _run_with_throwaway("layers", "--convention", "throwaway")
    assert layers.returncode == 0, layers.stderr
    assert "Throw-away convention: seven per conv output element" in layers.stdout
    assert "7 per output element" in layers.stdout and "layer types and how throwaway counts them" in layers.stdout
    cost = _run_with_throwaway("cost", str(spec), "--json", "--convention", "throwaway")
    assert cost.returncode == 0, cost.stderr
    doc = json.loads(cost.stdout)
    assert doc["convention"] == "throwaway" and doc["totals"]["macs"] == 7 * 144
    table = _run_with_throwaway("cost", str(spec), "--convention", "throwaway")
    assert "throwaway MACs" in table.stdout and f"{7 * 144:,}" in table.stdout
    compared = _run_with_throwaway("compare", str(spec), str(spec), "--json", "--convention", "throwaway")
    assert json.loads(compared.stdout)["specs"][1]["totals"]["macs"] == 7 * 144
    wrong = _run_with_throwaway("cost", str(spec), "--convention", "throwawy")
    assert wrong.returncode == 2 and not wrong.stdout
    assert wrong.stderr.strip() == "error: unknown convention 'throwawy'; hint: did you mean 'throwaway'?"
