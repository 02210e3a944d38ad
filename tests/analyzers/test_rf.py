"""Receptive fields: published figures, branches, misalignment, global layers and non-affine layers."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from conftest import spec_text

ROOT = Path(__file__).resolve().parents[2]


def _rf(text: str, **kwargs) -> dict:
    return cnncalc.rf_report(cnncalc.load(text), **kwargs)


def _rows(doc: dict) -> dict:
    return {r["name"]: r for r in doc["layers"]}


def _zoo(name: str) -> dict:
    path = ROOT / "specs" / "zoo" / f"{name}.yaml"
    return _rows(cnncalc.rf_report(cnncalc.load(path.read_text(), str(path))))


def _srp(row: dict) -> tuple:
    h = row["rf"]["height"]
    assert row["rf"]["width"]["size"] == h["size"]
    return h["size"], h["jump"], h["padding"]


def test_vgg16_pool5_matches_the_published_figure():
    # google-research/receptive_field README: VGG-16 pool5 RF 212, effective stride 32, effective padding 90.
    assert _srp(_zoo("vgg16")["pool5"]) == (212, 32, 90)


def test_resnet50_layer4_matches_the_issue_figure():
    assert _srp(_zoo("resnet50")["layer4_2/relu3"]) == (427, 32, 213)


def test_branches_take_the_exact_union():
    # 1x1 and 5x5 (pad 2) branches concatenated: the union is the 5x5 field, centred: aligned.
    text = spec_text((1, 12, 12), [
        {"name": "a", "type": "conv", "out": 1, "kernel": 1},
        {"name": "b", "type": "conv", "out": 1, "kernel": 5, "padding": 2, "input": "input"},
        {"name": "c", "type": "concat", "inputs": ["a", "b"]}])
    doc = _rf(text)
    assert _srp(_rows(doc)["c"]) == (5, 1, 2)
    assert doc["diagnostics"] == []


def test_misaligned_branches_give_exact_bounds_and_a_diagnostic():
    # a: 3x3 valid on 10x10 -> rows i .. i+2 (centre i+1).
    # b: 3x3 padded only at the bottom/right, then 3x3 valid -> rows i .. i+4 (centre i+2). Both 8x8.
    text = spec_text((1, 10, 10), [
        {"name": "a", "type": "conv", "out": 1, "kernel": 3},
        {"name": "shift", "type": "conv", "out": 1, "kernel": 3, "padding": [0, 2, 0, 2], "input": "input"},
        {"name": "b", "type": "conv", "out": 1, "kernel": 3},
        {"name": "n", "type": "add", "inputs": ["a", "b"]}])
    doc = _rf(text, layer="n", at=(3, 3))
    n = _rows(doc)["n"]["rf"]["height"]
    assert (n["size"], n["jump"], n["padding"], n["aligned"]) == (5, 1, 0, False)
    assert [d["code"] for d in doc["diagnostics"]] == ["rf-misaligned", "rf-misaligned"]
    assert doc["diagnostics"][0]["layers"] == ["n", "a", "b"]
    assert doc["at"]["rows"] == [3, 7] and doc["at"]["rows_clipped"] == [3, 7]


def test_different_jumps_meeting_keep_both_lines():
    # A stride-2 path (1x1, s2) and a stride-1 path ending the same size cannot be concatenated unless sizes
    # agree: 4x4 input -> s2 1x1 gives 2x2; a 3x3 valid conv gives 2x2. Lines: 2i .. 2i and i .. i+2.
    text = spec_text((1, 4, 4), [
        {"name": "a", "type": "conv", "out": 1, "kernel": 1, "stride": 2},
        {"name": "b", "type": "conv", "out": 1, "kernel": 3, "input": "input"},
        {"name": "c", "type": "concat", "inputs": ["a", "b"]}])
    doc = _rf(text, at=(1, 1))
    h = _rows(doc)["c"]["rf"]["height"]
    assert h["lower"] == [[1, 0], [2, 0]] and h["upper"] == [[1, 2], [2, 0]]
    assert not h["aligned"]
    # i = 1: min(1, 2) .. max(3, 2)
    assert doc["at"]["rows"] == [1, 3]
    # the widest index: i = 0 spans 0 .. 2, i = 1 spans 1 .. 3
    assert h["size"] == 3


def test_layers_after_a_global_pool_are_global():
    text = spec_text((3, 8, 8), [{"type": "conv", "out": 4, "kernel": 3}, {"type": "global_avgpool"},
                                 {"type": "flatten"}, {"type": "linear", "out": 2}])
    rows = _rf(text)["layers"]
    assert [r["global"] for r in rows] == [False, True, True, True]
    assert "rf" not in rows[-1]


def test_dilation_counts_as_a_wider_kernel():
    text = spec_text((1, 20, 20), [{"type": "conv", "out": 1, "kernel": 3, "dilation": 3}])
    assert _srp(_rf(text)["layers"][0]) == (3 * 2 + 1, 1, 0)


def test_at_clips_to_the_image_and_reports_padding_only_windows():
    # A 1x1 conv with padding 3 on a 4x4 map: output row 0 reads input row -3, a padding row only.
    text = spec_text((1, 4, 4), [{"type": "conv", "out": 1, "kernel": 1, "padding": 3}])
    at = _rf(text, at=(0, 5))["at"]
    assert at["rows"] == [-3, -3] and at["rows_clipped"] is None
    assert at["cols"] == [2, 2] and at["cols_clipped"] == [2, 2]


def test_upsampling_has_a_fractional_jump_and_exact_per_index_bounds():
    # nearest x2: output i reads input i // 2; then a 3x3 conv with padding 1.
    text = spec_text((1, 4, 4), [{"name": "up", "type": "upsample", "scale": 2},
                                 {"name": "c", "type": "conv", "out": 1, "kernel": 3, "padding": 1}])
    doc = _rf(text, at=(5, 0))
    up = _rows(doc)["up"]["rf"]["height"]
    # lower bounds 0,0,1,1,2,2,3,3: the mean step over the map is 3/7
    assert up["per_index"] and up["jump"] == "3/7" and up["size"] == 1 and up["padding"] == 0
    # c[5] reads up[4..6] -> input rows 2, 2, 3
    assert doc["at"]["rows"] == [2, 3] and doc["at"]["rows_clipped"] == [2, 3]
    assert doc["at"]["cols_clipped"] == [0, 0]


def test_transposed_conv_bounds_per_index():
    # kernel 2, stride 2: output o reads input o // 2 only.
    text = spec_text((1, 3, 3), [{"name": "t", "type": "conv_transpose", "out": 1, "kernel": 2, "stride": 2}])
    doc = _rf(text, at=(5, 2))
    assert doc["at"]["rows_clipped"] == [2, 2] and doc["at"]["cols_clipped"] == [1, 1]
    t = _rows(doc)["t"]["rf"]["height"]
    assert t["per_index"] and t["size"] == 1 and t["jump"] == "2/5"


def test_at_outside_the_layer_is_an_error():
    text = spec_text((1, 4, 4), [{"type": "relu"}])
    with pytest.raises(cnncalc.SpecError, match="outside"):
        _rf(text, at=(4, 0))
