"""`cnncalc grad`: its JSON document, its refusals, its initialisation schemes, its table, and the README's copy."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app
from cnncalc.grad import MAX_PARAMS, SCHEMES
from cnncalc.grad.engine import initialise
from cnncalc.report.render import render_at
from cnncalc.report.table import BAR_CELLS, log_bar

ROOT = Path(__file__).resolve().parents[2]
SIGMOID = str(ROOT / "specs" / "mlp_sigmoid.yaml")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, ["grad", *args], input=input)


def test_json_document_keys_and_types():
    result = run(SIGMOID, "--json", "--seed", "3", "--batch", "4", "--loss", "sum", "--init", "glorot")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"schema_version", "spec", "init", "seed", "batch", "loss", "layers"} <= set(doc)
    assert (doc["schema_version"], doc["spec"], doc["init"], doc["seed"], doc["batch"], doc["loss"]) == (
        1, "mlp_sigmoid", "glorot", 3, 4, "sum")
    assert [row["name"] for row in doc["layers"]] == [f"fc{i}" for i in range(1, 11)]
    for row in doc["layers"]:
        assert {"name", "type", "weight_grad_norm", "output_grad_norm"} <= set(row)
        assert type(row["weight_grad_norm"]) is float and type(row["output_grad_norm"]) is float
        assert row["weight_grad_norm"] > 0 and row["init"] == "xavier"


def test_a_layer_without_weights_has_null_and_the_loss_reads_only_the_last_layer():
    text = """input: [2, 6, 6]
layers:
  - {name: c, type: conv, out: 3, kernel: 3}
  - {name: r, type: relu}
  - {name: side, type: conv, out: 2, kernel: 1, input: r}
  - {name: p, type: global_avgpool, input: r}
"""
    rows = {row["name"]: row for row in cnncalc.parse(text, "t.yaml").grad().to_json()["layers"]}
    assert rows["r"]["weight_grad_norm"] is None and rows["p"]["weight_grad_norm"] is None
    assert rows["side"]["weight_grad_norm"] == 0.0 and rows["side"]["output_grad_norm"] == 0.0  # not read by the loss
    assert rows["c"]["weight_grad_norm"] > 0


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = cnncalc.read(SIGMOID).grad(seed=5).to_json()
    assert a == cnncalc.read(SIGMOID).grad(seed=5).to_json()
    assert a["layers"] != cnncalc.read(SIGMOID).grad(seed=6).to_json()["layers"]


def test_sum_loss_gives_the_last_layer_output_gradient_one_over_n():
    # L = 1/N sum of the outputs: dL/dy = 1/N everywhere, so ||dL/dy|| = sqrt(N * F) / N.
    batch, features = 8, 10
    row = cnncalc.read(SIGMOID).grad(batch=batch, loss="sum").to_json()["layers"][-1]
    assert math.isclose(row["output_grad_norm"], math.sqrt(batch * features) / batch, rel_tol=1e-12)


def test_unsupported_layer_is_refused_with_its_name_and_position(monkeypatch):
    # every built-in type has a rule (test_grad_rules.py); a plug-in's type has none: take upsample's away to see
    from cnncalc.grad.rules import RULES
    monkeypatch.delitem(RULES, "upsample")
    text = ("input: [3, 8, 8]\nlayers:\n  - {name: c, type: conv, out: 4, kernel: 3}\n"
            "  - {name: up, type: upsample, scale: 2}\n")
    result = run("-", input=text)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("<stdin>:4:5: error: layer 'up'") and "'upsample'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,message", [
    ([str(ROOT / "specs" / "zoo" / "resnet50.yaml")], f"at most {MAX_PARAMS:,} parameters; this one has 25,557,032"),
    ([str(ROOT / "specs" / "hw5.yaml"), "--batch", "1000"], "batch 1,000 x 187,392 per image"),
    ([SIGMOID, "--init", "uniform"], "--init must be one of"),
    ([SIGMOID, "--loss", "l1"], "--loss must be one of mse, sum"),
    ([SIGMOID, "--batch", "0"], "--batch must be at least 1"),
    ([SIGMOID, "--seed", "-1"], "--seed must be 0 or more"),
])
def test_refusals(args, message):
    result = run(*args)
    assert result.exit_code == 2 and result.stdout == "", result.stdout
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_the_help_names_every_scheme():
    text = " ".join(run("--help").stdout.split())
    for name in SCHEMES:
        assert name in text


FAN_IN, FAN_OUT = 400, 300


@pytest.mark.parametrize("scheme,std", [
    ("he", math.sqrt(2 / FAN_IN)), ("kaiming", math.sqrt(2 / FAN_IN)), ("xavier", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("glorot", math.sqrt(2 / (FAN_IN + FAN_OUT))), ("lecun", math.sqrt(1 / FAN_IN)),
    ("xavier_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3)),
    ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3)),
    ("pytorch", 1 / math.sqrt(FAN_IN) / math.sqrt(3))])  # U(-a, a) has standard deviation a / sqrt(3)
def test_init_schemes_draw_the_stated_spread(scheme, std):
    graph = cnncalc.load(f"input: [{FAN_IN}]\nlayers:\n  - {{name: fc, type: linear, out: {FAN_OUT}}}\n")
    params, schemes = initialise(graph, scheme, np.random.default_rng(0))
    weight = params[1]["weight"]
    assert weight.shape == (FAN_OUT, FAN_IN)
    assert abs(weight.std() / std - 1) < 0.02  # 120,000 draws: the sample spread is within 0.5 %
    uniform = scheme.endswith("uniform") or scheme == "pytorch"
    assert (np.abs(weight).max() <= std * math.sqrt(3)) == uniform
    assert (np.abs(params[1]["bias"]).max() > 0) == (scheme == "pytorch")


def test_conv_fans_are_pytorchs():
    # a conv weight (out, in/groups, kh, kw): fan_in = in/groups*kh*kw = 8*9, fan_out = out*kh*kw = 32*9
    graph = cnncalc.load("input: [16, 20, 20]\nlayers:\n  - {type: conv, out: 32, kernel: 3, groups: 2}\n")
    weight = initialise(graph, "xavier", np.random.default_rng(0))[0][1]["weight"]
    assert abs(weight.std() / math.sqrt(2 / (8 * 9 + 32 * 9)) - 1) < 0.05


def test_auto_follows_the_activation_through_batchnorm_and_dropout():
    text = """input: [3, 8, 8]
layers:
  - {name: a, type: conv, out: 4, kernel: 3}
  - {type: batchnorm}
  - {type: relu}
  - {name: b, type: conv, out: 4, kernel: 3}
  - {type: dropout, p: 0.1}
  - {type: tanh}
  - {name: c, type: conv, out: 4, kernel: 1, activation: silu}
  - {name: d, type: conv, out: 4, kernel: 1}
  - {name: e, type: conv, out: 4, kernel: 1, input: d}
  - {name: s, type: add, inputs: [d, e]}
  - {type: flatten}
  - {name: fc, type: linear, out: 3, activation: softmax}
"""
    rows = {row["name"]: row["init"] for row in cnncalc.parse(text).grad().to_json()["layers"]}
    assert (rows["a"], rows["b"], rows["c"], rows["d"], rows["e"], rows["fc"]) == (
        "he", "xavier", "he", "lecun", "lecun", "xavier")  # d has two readers: no single activation follows it


def test_log_bar_lengths():
    scale = (-6, 2)
    def eighths(bar: str) -> int:
        return 8 * bar.count("█") + sum(" ▏▎▍▌▋▊▉".index(c) for c in bar if c != "█")
    assert log_bar(100.0, scale) == "█" * BAR_CELLS
    assert log_bar(1e-2, scale) == "█" * (BAR_CELLS // 2)  # half-way between 1e-6 and 1e2
    assert eighths(log_bar(1e-6, scale)) == 1 and log_bar(0.0, scale) == "" and log_bar(None, scale) == ""
    values = [10 ** (k / 7) for k in range(-42, 15)]
    lengths = [eighths(log_bar(v, scale)) for v in values]
    assert lengths == sorted(lengths) and all(0 < n <= 8 * BAR_CELLS for n in lengths)


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_table_keeps_every_norm_whole(width):
    report = cnncalc.read(SIGMOID).grad()
    text = render_at(report.renderables(), width)
    assert all(len(line) <= width for line in text.splitlines())
    for row in report.to_json()["layers"]:
        assert f"{row['weight_grad_norm']:.2e}" in text and f"{row['output_grad_norm']:.2e}" in text


@pytest.mark.parametrize("spec", ["mlp_sigmoid", "mlp_relu"])
def test_readme_shows_the_real_tables(spec):
    """The README's "Where gradients vanish" blocks are what the command prints at 116 columns (blank lines left
    out)."""
    readme = (ROOT / "README.md").read_text()
    command = f"cnncalc grad specs/{spec}.yaml"
    shown = re.search(rf"^\$ {re.escape(command)}\n((?:(?!\$ |```).*\n)+)", readme, re.M)
    assert shown, f"README.md shows no output of `{command}`"
    result = CliRunner().invoke(app, ["grad", str(ROOT / "specs" / f"{spec}.yaml")], env={"COLUMNS": "116"})
    assert result.exit_code == 0, result.stderr
    printed = [line.rstrip() for line in result.stdout.splitlines() if line.strip()]
    assert shown.group(1).splitlines() == printed


def test_limits_are_checked_before_numpy_is_imported():
    """A refusal by size is fast: cnncalc.grad (the checks) imports no numpy; only the run (grad.engine) does."""
    code = ("import sys, cnncalc\nfrom cnncalc.grad import check\n"
            f"graph = cnncalc.load(open({str(ROOT / 'specs' / 'hw5.yaml')!r}).read())\n"
            "try:\n    check(graph, 10**6, 'auto', 'mse')\nexcept cnncalc.SpecError:\n    pass\n"
            "print('numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_bars_keep_their_length_on_an_ascii_terminal():
    from cnncalc.report.render import encodable
    text = render_at(cnncalc.read(str(ROOT / "specs" / "hw5.yaml")).grad(batch=2).renderables(), 200)
    ascii_text = encodable(text, "ascii")
    assert ascii_text.isascii() and "\\u" not in ascii_text
    assert [len(line) for line in ascii_text.splitlines()] == [len(line) for line in text.splitlines()]
    assert "#" in ascii_text


@pytest.mark.parametrize("spec,args,new_types", [
    ("unet_small", ["--batch", "2"], {"conv_transpose"}),
    ("shufflenet_v2_x1_0", ["--batch", "2", "--input", "64"], {"split", "channel_shuffle"}),
    ("mobilenet_v3_small", ["--batch", "2", "--input", "96"], {"squeeze_excitation"})])
def test_zoo_specs_with_the_new_layer_types_run(spec, args, new_types):
    """Every layer gets a finite, nonzero output gradient (the loss reads every one of them through the last
    layer), and every layer with a weight a finite, nonzero weight gradient."""
    path = str(ROOT / "specs" / "zoo" / f"{spec}.yaml")
    result = run(path, "--json", *args)
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    doc = json.loads(result.stdout)
    size = args[args.index("--input") + 1] if "--input" in args else None
    graph = cnncalc.read(path, input_size=size).graph
    assert [(row["name"], row["type"]) for row in doc["layers"]] == [(n.name, n.type) for n in graph.layers]
    assert new_types <= {row["type"] for row in doc["layers"]}
    for row in doc["layers"]:
        assert math.isfinite(row["output_grad_norm"]) and row["output_grad_norm"] > 0, row
        weighted = row["type"] in ("conv", "conv_transpose", "linear", "batchnorm", "squeeze_excitation")
        assert (row["weight_grad_norm"] is not None) == weighted, row
        assert not weighted or math.isfinite(row["weight_grad_norm"]) and row["weight_grad_norm"] > 0, row
    if spec == "mobilenet_v3_small":  # fc1 is followed by relu (he), fc2 by the hardsigmoid gate (xavier)
        assert {row["init"] for row in doc["layers"] if row["type"] == "squeeze_excitation"} == {"he/xavier"}


def test_set_and_input_reach_the_run():
    path = str(ROOT / "specs" / "zoo" / "unet_small.yaml")
    refused = run(path)  # base 32 at batch 16 is above the values kept for the backward pass
    assert refused.exit_code == 2 and "values kept for the backward pass" in refused.stderr
    narrow = run(path, "--json", "--set", "base=8")  # a quarter of the channels fits
    assert narrow.exit_code == 0, narrow.stderr
    small = run(path, "--json", "--input", "32", "--batch", "2")
    assert small.exit_code == 0, small.stderr
    assert json.loads(small.stdout)["input"] == [1, 32, 32]
    sweep = run(path, "--input", "32,64")
    assert sweep.exit_code == 2 and sweep.stdout == "" and "grad takes one --input size" in sweep.stderr
