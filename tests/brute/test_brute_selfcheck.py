"""Check the brute-force references against hand-derived cases and against
textbook formulas (the formulas live only here, as checks of the brute force)."""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from brute import geom, ops, rf, torch_shapes  # noqa: E402


def conv(name, out, k, inp=None, **kw):
    e = {"name": name, "type": "conv", "out": out, "kernel": k}
    if inp is not None:
        e["input"] = inp
    e.update(kw)
    return e


HOMEWORK = {
    "input": [1, 32, 32],
    "layers": [
        conv("c1", 1, 3, padding=1),
        conv("y1", 1, 3, padding=1),
        {"name": "y2", "type": "maxpool", "kernel": 2, "stride": 2},
        conv("c3", 1, 3, padding=1),
        conv("c4", 1, 3, padding=1),
        {"name": "y3", "type": "maxpool", "kernel": 2, "stride": 2},
    ],
}


@pytest.mark.parametrize("name,lo,hi", [
    ("y1", lambda i: i - 2, lambda i: i + 2),
    ("y2", lambda i: 2 * i - 2, lambda i: 2 * i + 3),
    ("y3", lambda i: 4 * i - 6, lambda i: 4 * i + 9),
])
def test_homework_unclipped(name, lo, hi):
    shp, _ = geom.shapes(HOMEWORK)
    for i in list(range(shp[name][1])) + [-1, 50]:
        got = rf.bounds(rf.backward_deps(HOMEWORK, name, i, 0, clipped=False))
        assert got == (lo(i), hi(i))
        got = rf.bounds(rf.backward_deps(HOMEWORK, name, i, 1, clipped=False))
        assert got == (lo(i), hi(i))


def test_homework_clipped_and_layer_rf():
    deps = rf.forward_deps(HOMEWORK)
    shp, _ = geom.shapes(HOMEWORK)
    assert shp["y1"] == (1, 32, 32) and shp["y2"] == (1, 16, 16) and shp["y3"] == (1, 8, 8)
    assert rf.clipped_bounds_forward(deps, "y3", 0, 7) == ((0, 9), (22, 31))
    assert rf.clipped_bounds_forward(deps, "y2", 3, 15) == ((4, 9), (28, 31))
    assert rf.layer_rf(HOMEWORK, "y1", 0) == (5, 1, 2)
    assert rf.layer_rf(HOMEWORK, "y2", 1) == (6, 2, 2)
    assert rf.layer_rf(HOMEWORK, "y3", 0) == (16, 4, 6)


def test_backward_clipped_equals_forward():
    spec = {"input": [1, 11, 9], "layers": [
        conv("a", 1, 3, stride=2, padding=[1, 2, 0, 3], dilation=2),
        {"name": "p", "type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        conv("b", 1, [1, 3], padding="same", stride=[2, 1]),
        conv("c", 1, 1, input="a", padding=2),
    ]}
    deps = rf.forward_deps(spec)
    shp, _ = geom.shapes(spec)
    for name in ("a", "p", "b", "c"):
        for i in range(shp[name][1]):
            for j in range(shp[name][2]):
                r, c = rf.clipped_bounds_forward(deps, name, i, j)
                assert r == rf.bounds(rf.backward_deps(spec, name, i, 0, clipped=True))
                assert c == rf.bounds(rf.backward_deps(spec, name, j, 1, clipped=True))
    # conv k=1 padding 2: border outputs read only padding -> depend on nothing
    assert rf.clipped_bounds_forward(deps, "c", 0, 0) == (None, None)


def test_slide_matches_pytorch_formula():
    """Sliding windows agree with the literal transcription of ATen's rule, edges included (a window larger than
    the padded input, ceil-mode overhang); padding above half the kernel is refused by PyTorch and not slid."""
    for n in range(1, 14):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in range(1, 3):
                    for p in range(0, k // 2 + 1):
                        for ceil in (False, True):
                            expected = torch_shapes.pool(n, k, s, p, d, ceil)
                            st = geom.slide(n, k, s, d, p, p, ceil)
                            assert len(st) == (0 if expected == "empty" else expected), (n, k, s, d, p, ceil)
    assert len(geom.slide(5, 2, 2, 1, 1, 1, True)) == 3      # last-window rule applies
    assert len(geom.slide(5, 2, 2, 1, 0, 0, True)) == 3
    assert len(geom.slide(1, 2, 2, 1, 0, 0, True)) == 1      # one window overhanging a one-pixel input
    assert len(geom.slide(1, 3, 2, 1, 0, 0, True)) == 0      # overhang by 2 > stride - 1: no window


def test_tf_same():
    assert geom.tf_same_pads(7, 3, 2, 1) == (1, 1)
    assert geom.tf_same_pads(8, 3, 2, 1) == (0, 1)
    assert geom.tf_same_pads(8, 4, 1, 1) == (1, 2)
    assert geom.tf_same_pads(5, 1, 3, 1) == (0, 0)
    for n in range(1, 20):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in (1, 2):
                    lo, hi = geom.tf_same_pads(n, k, s, d)
                    assert len(geom.slide(n, k, s, d, lo, hi)) == math.ceil(n / s)


def inception(c, n, a, b, f, bias=True):
    return {"input": [c, n, n], "layers": [
        conv("b1", a, 1, inp="input", bias=bias),
        conv("b3", b, 3, inp="input", padding=1, bias=bias),
        conv("b5", f, 5, inp="input", padding=2, bias=bias),
        {"name": "out", "type": "concat", "inputs": ["b1", "b3", "b5"]},
    ]}


def inception_mults(c, n, a, b, f):
    return n * n * (a * c * 1 + b * c * 9 + f * c * 25)


def test_inception_formula_full_size():
    assert inception_mults(256, 32, 128, 192, 96) == 1_115_684_864


@pytest.mark.parametrize("c,n,a,b,f", [(2, 5, 2, 3, 1), (3, 4, 1, 2, 2), (1, 6, 1, 1, 1)])
def test_inception_scaled(c, n, a, b, f):
    rep = ops.run(inception(c, n, a, b, f))
    mults = sum(r["mults"] for r in rep)
    adds = sum(r["adds"] for r in rep)
    assert mults == adds == inception_mults(c, n, a, b, f)
    by = {r["name"]: r for r in rep}
    assert by["b3"]["params"] == b * c * 9 + b
    assert by["out"]["output"] == [a + b + f, n, n]
    assert by["out"]["mults"] == by["out"]["adds"] == 0
    rep = ops.run(inception(c, n, a, b, f, bias=False))
    assert sum(r["mults"] for r in rep) == inception_mults(c, n, a, b, f)
    assert sum(r["adds"] for r in rep) == inception_mults(c, n, a, b, f) - n * n * (a + b + f)
    assert {r["name"]: r for r in rep}["b5"]["params"] == f * c * 25


def test_ops_conv_groups_dilation_stride_padding():
    spec = {"input": [4, 7, 6], "layers": [
        conv("c", 6, [3, 2], stride=[2, 1], padding=[1, 0, 2, 1], dilation=[1, 2], groups=2,
             activation="relu"),
    ]}
    r = ops.run(spec)[0]
    ho = len(geom.slide(7, 3, 2, 1, 1, 0))   # (7+1+0-3)//2+1 = 3
    wo = len(geom.slide(6, 2, 1, 2, 2, 1))
    assert (ho, wo) == (3, 7)
    assert r["output"] == [6, 3, 7]
    per = (4 // 2) * 3 * 2
    assert r["mults"] == 6 * ho * wo * per
    assert r["adds"] == 6 * ho * wo * per
    assert r["activations"] == 6 * ho * wo
    assert r["params"] == 6 * per + 6


def test_ops_pools_bn_add_linear():
    spec = {"input": [2, 5, 5], "layers": [
        {"name": "mp", "type": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True},
        {"name": "ap", "type": "avgpool", "kernel": 3, "stride": 1, "padding": 1, "input": "input"},
        {"name": "bn", "type": "batchnorm"},
        {"name": "s", "type": "add", "inputs": ["bn", "ap", "input"]},
        {"name": "r", "type": "relu"},
        {"name": "g", "type": "global_avgpool"},
        {"name": "gm", "type": "global_maxpool", "input": "s"},
        {"name": "f", "type": "flatten", "input": "mp"},
        {"name": "fc", "type": "linear", "out": 3, "bias": False},
    ]}
    by = {r["name"]: r for r in ops.run(spec)}
    assert by["mp"]["output"] == [2, 3, 3] and by["mp"]["comparisons"] == 18 * 3
    assert by["ap"]["output"] == [2, 5, 5]
    assert by["ap"]["adds"] == 50 * 8 and by["ap"]["mults"] == 50
    assert by["bn"]["mults"] == by["bn"]["adds"] == 50 and by["bn"]["params"] == 4
    assert by["s"]["adds"] == 100 and by["s"]["mults"] == 0
    assert by["r"]["activations"] == 50
    assert by["g"]["adds"] == 2 * 24 and by["g"]["mults"] == 2 and by["g"]["output"] == [2, 1, 1]
    assert by["gm"]["comparisons"] == 2 * 24
    assert by["f"]["output"] == [18]
    assert by["fc"]["mults"] == 54 and by["fc"]["adds"] == 51 and by["fc"]["params"] == 54


def chain_rf(layers, n):
    """Textbook recurrence (check only): r, j, P per axis for a chain."""
    r, j, P = 1, 1, 0
    for k, s, d, lo in layers:
        r += d * (k - 1) * j
        P += lo * j
        j *= s
    return r, j, P


def test_layer_rf_chain_recurrence():
    spec = {"input": [1, 40, 40], "layers": [
        conv("a", 1, 5, stride=2, padding=[2, 1, 0, 0], dilation=2),
        {"name": "p", "type": "avgpool", "kernel": 3, "stride": 2, "padding": 1},
        conv("b", 1, 3, stride=3, padding="same", dilation=3),
    ]}
    shp, win = geom.shapes(spec)
    lo_b = win["b"][0][4]
    assert rf.layer_rf(spec, "b", 0) == chain_rf([(5, 2, 2, 2), (3, 2, 1, 1), (3, 3, 3, lo_b)], 40)
    assert rf.layer_rf(spec, "b", 1) == chain_rf([(5, 2, 2, 0), (3, 2, 1, 1), (3, 3, 3, win["b"][1][4])], 40)


def test_layer_rf_unaligned_is_none():
    # two branches with different jumps but equal shapes, merged by add
    spec = {"input": [1, 8, 8], "layers": [
        conv("a", 1, 1, inp="input", stride=2),
        conv("b", 1, 5, inp="input"),
        {"name": "s", "type": "add", "inputs": ["a", "b"]},
    ]}
    assert geom.shapes(spec)[0]["s"] == (1, 4, 4)
    assert rf.layer_rf(spec, "s", 0) is None
    assert rf.rf_at(spec, "s", 3, 0)["rows"] == (3, 7)
    # same jump, different padding: still affine (union)
    spec["layers"][0] = conv("a", 1, 1, inp="input", padding=0)
    spec["layers"][1] = conv("b", 1, 3, inp="input", padding=1)
    assert rf.layer_rf(spec, "s", 0) == (3, 1, 1)


# ---- randomized self-consistency of the brute force (no cnncalc) -------------
from hypothesis import HealthCheck, given, settings  # noqa: E402

from brute import specgen  # noqa: E402

_quick = settings(max_examples=40, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_quick
@given(specgen.specs())
def test_random_backward_clipped_equals_forward(spec):
    shp, _ = geom.shapes(spec)
    deps = rf.forward_deps(spec)
    for name, _, _ in geom.walk(spec):
        if deps[name][0] is None:
            continue
        _, h, w = shp[name]
        for i in {0, h // 2, h - 1}:
            want = rf.clipped_bounds_forward(deps, name, i, 0)[0]
            assert rf.bounds(rf.backward_deps(spec, name, i, 0, clipped=True)) == want
            u = rf.bounds(rf.backward_deps(spec, name, i, 0, clipped=False))
            if want is not None:      # clipped deps lie inside the unclipped hull
                assert u[0] <= want[0] <= want[1] <= u[1]


@_quick
@given(specgen.specs(small=True, max_layers=8))
def test_random_ops_per_element_convention(spec):
    shp, _ = geom.shapes(spec)
    entries = {n: (e, ins) for n, e, ins in geom.walk(spec)}
    for r in ops.run(spec):
        e, ins = entries[r["name"]]
        assert tuple(r["output"]) == shp[r["name"]]
        if e["type"] == "conv":
            n_out = r["output"][0] * r["output"][1] * r["output"][2]
            kh, kw = geom.pair(e["kernel"], 1)
            per = shp[ins[0]][0] // int(e.get("groups", 1)) * kh * kw
            assert r["mults"] == n_out * per
            assert r["adds"] == n_out * (per if e.get("bias", True) else per - 1)


def test_adaptive_windows_pytorch():
    assert geom.adaptive_windows(10, 3) == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert geom.adaptive_windows(3, 5) == [[0], [0, 1], [1], [1, 2], [2]]
    assert geom.adaptive_windows(7, 7) == [[i] for i in range(7)]


def test_zoo_pad_mul_adaptive_counts():
    spec = {"input": [2, 5, 4], "layers": [
        {"name": "p", "type": "pad", "padding": [1, 0, 2, 1]},
        {"name": "g", "type": "global_avgpool", "input": "input"},
        {"name": "m", "type": "mul", "inputs": ["input", "g"]},
        {"name": "m2", "type": "mul", "inputs": ["m", "input"]},
        {"name": "a", "type": "adaptive_maxpool", "output_size": [2, 3], "input": "input"},
        {"name": "b", "type": "adaptive_avgpool", "output_size": 3, "input": "p"},
    ]}
    by = {r["name"]: r for r in ops.run(spec)}
    assert by["p"]["output"] == [2, 6, 7] and by["p"]["mults"] == by["p"]["adds"] == 0
    assert by["m"]["output"] == [2, 5, 4] and by["m"]["mults"] == 40
    assert by["m2"]["mults"] == 40
    # rows of 5 -> 2: [0..2], [2..4] (3 each); cols of 4 -> 3: [0,1], [1,2], [2,3]
    assert by["a"]["output"] == [2, 2, 3] and by["a"]["comparisons"] == 2 * 6 * (3 * 2 - 1)
    # rows of 6 -> 3: 2 each; cols of 7 -> 3: [0..2], [2..4], [4..6]
    assert by["b"]["adds"] == 2 * 9 * (2 * 3 - 1) and by["b"]["mults"] == 18
    deps = rf.forward_deps(spec)
    assert rf.clipped_bounds_forward(deps, "p", 0, 1) == (None, None)
    assert rf.clipped_bounds_forward(deps, "p", 1, 3) == ((0, 0), (1, 1))
    assert rf.rf_at(spec, "p", 0, 0)["rows"] == (-1, -1)
    assert deps["m"][0] is None      # broadcast of a global pool: depends on everything
