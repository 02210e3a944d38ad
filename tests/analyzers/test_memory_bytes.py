"""`cnncalc memory`: bytes of weights, the inference peak and one training step, on tiny specs whose expected
values are derived by hand below (values per image, times the dtype's bytes and the batch)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cnncalc.analyzers.memory_bytes import SAVED, kept
from cnncalc.api import parse
from cnncalc.cli import app
from cnncalc.errors import SpecError
from cnncalc.graph import InputLayer, Node
from cnncalc.layers import REGISTRY

CHAIN = """
input: [3, 8, 8]
layers:
  - {name: conv, type: conv, out: 4, kernel: 3, padding: 1}
  - {name: relu, type: relu}
  - {name: pool, type: maxpool, kernel: 2}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out: 10}
"""

SPLIT = """
input: [4, 2, 2]
layers:
  - {name: s, type: split, chunks: 2}
  - {name: a, type: relu, input: s.0}
  - {name: b, type: relu, input: s.1}
  - {name: cat, type: concat, inputs: [a, b]}
"""


def test_chain_by_hand():
    batch, w = 2, 2  # float16
    doc = parse(CHAIN).memory("float16", batch, training=True, optimizer="adam").to_json()
    params = (4 * 3 * 9 + 4) + (4 * 4 * 4 * 10 + 10)
    t = doc["totals"]
    assert t["parameter_bytes"] == w * params
    assert t["gradient_bytes"] == w * params
    assert t["optimizer_state_bytes"] == 2 * w * params
    # inference: input 192 values; conv 256 (input freed after); relu 256 (conv's freed after); pool 64; flatten a
    # view; fc 10. Largest: while relu runs, conv's output and relu's: 512 values.
    assert t["peak_inference_bytes"] == w * params + w * batch * 512
    # kept: conv its input (192), relu its output (256), pool its input (relu's output: counted once) and 64 int64
    # indices, fc its input (the flatten view of pool's output, 64)
    assert t["saved_activation_bytes"] == batch * (w * (192 + 256 + 64) + 8 * 64)
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["pool"]["saved_activation_bytes"] == batch * 8 * 64
    assert rows["fc"]["saved_activation_bytes"] == batch * w * 64
    # training forward, kept storages never freed: input 192 + conv 256 + relu 256 (conv's then freed) + pool 64
    # + indices 8*64 bytes + fc 10: the end is the peak
    assert t["peak_training_bytes"] == 4 * w * params + batch * (w * (192 + 256 + 64 + 10) + 8 * 64)


def test_inference_without_training_leaves_the_training_keys_null():
    doc = parse(CHAIN).memory().to_json()
    assert doc["dtype"] == "float32" and doc["batch"] == 1 and doc["training"] is False
    assert all(doc["totals"][k] is None for k in ("gradient_bytes", "optimizer_state_bytes",
                                                  "saved_activation_bytes", "peak_training_bytes"))


def test_split_chunks_are_views_and_concat_copies():
    doc = parse(SPLIT).memory("float32", 1).to_json()
    # input 16 values; the chunks are views; a +8 -> 24, b +8 -> 32, the input freed (b is the last reader of a
    # view of it) -> 16; cat +16 -> 32 (a copy), a and b freed. A copying split would make 16 + 16 + 8 = 40.
    assert doc["totals"]["peak_inference_bytes"] == 4 * 32
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["s"]["output_bytes"] == 0 and rows["cat"]["output_bytes"] == 4 * 16


def test_batchnorm_and_dropout_keep_their_own_tensors():
    text = """
input: [2, 3, 3]
layers:
  - {name: bn, type: batchnorm}
  - {name: drop, type: dropout}
"""
    doc = parse(text).memory("float32", 3, training=True).to_json()
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["bn"]["saved_activation_bytes"] == 3 * 4 * 18 + 4 * 2 * 2  # input, and mean + invstd per channel
    assert rows["drop"]["saved_activation_bytes"] == 3 * 18  # one bool per element
    assert doc["optimizer"] == "sgd" and doc["totals"]["optimizer_state_bytes"] == 0


def test_every_layer_type_states_what_it_keeps():
    assert set(REGISTRY) <= set(SAVED)


def test_an_unknown_type_is_refused():
    node = Node(1, "x", InputLayer(), ((0, 0),), ((3,),), ((3,),), None)
    with pytest.raises(SpecError, match="no rule for layer type 'input'"):
        kept(node)


def test_cli_json_and_table(tmp_path):
    spec = tmp_path / "chain.yaml"
    spec.write_text(CHAIN)
    result = CliRunner().invoke(app, ["memory", str(spec), "--json", "--training", "--optimizer", "momentum"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["schema_version", "spec", "input", "dtype", "batch", "convention", "training", "optimizer",
                         "layers", "totals", "assumptions"]
    assert set(doc["totals"]) >= {"parameter_bytes", "gradient_bytes", "optimizer_state_bytes",
                                  "saved_activation_bytes", "peak_inference_bytes", "peak_training_bytes"}
    table = CliRunner().invoke(app, ["memory", str(spec), "--training"])
    assert table.exit_code == 0 and "KiB" in table.stdout and "peak training" in table.stdout
    bad = CliRunner().invoke(app, ["memory", str(spec), "--optimizer", "adam"])
    assert bad.exit_code == 2 and bad.stdout == "" and "--training" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["--batch", "0"], "--batch must be at least 1"),
    (["--dtype", "float64"], "float64"),
    (["--convention", "fvcore"], "fvcore"),
])
def test_cli_refuses_bad_options(tmp_path, args, message):
    spec = tmp_path / "chain.yaml"
    spec.write_text(CHAIN)
    result = CliRunner().invoke(app, ["memory", str(spec), *args])
    assert result.exit_code == 2 and result.stdout == "" and message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_inplace_relu_and_add_allocate_nothing():
    text = """
input: [2, 4, 4]
layers:
  - {name: conv, type: conv, out: 2, kernel: 1}
  - {name: relu, type: relu, inplace: %s}
  - {name: add, type: add, inputs: [relu, input], inplace: %s}
"""
    out_of_place = parse(text % ("false", "false")).memory().to_json()
    in_place = parse(text % ("true", "true")).memory().to_json()
    weights = 4 * (2 * 2 + 2)
    # out of place: input 32 values live to the add; conv +32; relu +32 (conv's freed after); add +32: 32*3 at add
    assert out_of_place["totals"]["peak_inference_bytes"] == weights + 4 * 32 * 3
    # in place: input 32 and conv's 32, into which relu and add write: 64
    assert in_place["totals"]["peak_inference_bytes"] == weights + 4 * 32 * 2
    # what the backward pass keeps does not change: conv its input, relu its output (conv's storage either way)
    assert parse(text % ("true", "true")).memory(training=True).to_json()["totals"]["saved_activation_bytes"] == \
        parse(text % ("false", "false")).memory(training=True).to_json()["totals"]["saved_activation_bytes"] == \
        4 * (32 + 32)


def test_inplace_is_validated_like_every_attribute():
    with pytest.raises(SpecError, match="inplace") as caught:
        parse("input: [2, 4, 4]\nlayers:\n  - {type: relu, inplace: 1}\n").graph
    assert caught.value.position is not None and caught.value.position.line == 3
