"""The forward rules of cnncalc.grad for conv_transpose, upsample, lrn, channel_shuffle, pad, mul and
squeeze_excitation against references that share no code with them: conv_transpose as the adjoint of conv
(<conv(x), y> = <x, conv_transpose(y)> with the same weight), nearest upsampling against np.repeat, bilinear against
a loop over output pixels written here from PyTorch's formulas, lrn against torch.nn.LocalResponseNorm's algorithm
(avg_pool over the padded squares), channel_shuffle against its index formula, and squeeze_excitation against its six
layers spelled out in a spec (the engine runs both with the same weights). Finite differences
(test_grad_rules.py) then tie each backward rule to its forward rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

import cnncalc
from cnncalc.grad.engine import forward_backward, initialise
from cnncalc.grad.rules import RULES


def one_layer(shape: list[int], layer: dict):
    """The node of a one-layer spec, built by cnncalc's spec reader."""
    graph = cnncalc.load(yaml.safe_dump({"input": shape, "layers": [{"name": "x", **layer}]}), "case.yaml")
    return graph.nodes[-1]


def forward(node, *xs, params=None):
    return RULES[node.type].forward(node.layer, list(xs), params or {}, np.random.default_rng(0))[0]


@pytest.mark.parametrize("kernel,stride,padding,dilation,groups", [
    (3, 1, 0, 1, 1), (3, 2, 1, 1, 1), ([3, 2], [2, 3], [1, 0], 1, 1), (3, 2, [2, 1], 2, 1), (2, 3, 0, 2, 1),
    (3, 2, 1, 1, 2), (1, 2, 0, 1, 4), ([2, 3], 1, [0, 1], [2, 1], 2)])
def test_conv_transpose_is_the_adjoint_of_conv(kernel, stride, padding, dilation, groups):
    """PyTorch's ConvTranspose2d(b, a) is the adjoint of Conv2d(a, b) with the same weight tensor (b, a/groups,
    kh, kw), stride, padding and dilation; output_padding picks the conv input size back out of the stride's
    rounding. So <conv(x), y> = <x, conv_transpose(y)> for every x and y."""
    size, channels, out = (9, 8), 4, 4
    attrs = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
             "bias": False}
    conv = one_layer([channels, *size], {"type": "conv", "out": out, **attrs})
    pair = lambda v: v if isinstance(v, list) else [v, v]  # noqa: E731
    _, oh, ow = conv.output
    extra = [(n + 2 * p - d * (k - 1) - 1) % s for n, p, d, k, s in
             zip(size, pair(padding), pair(dilation), pair(kernel), pair(stride))]
    transpose = one_layer([out, oh, ow], {"type": "conv_transpose", "out": channels, "output_padding": extra, **attrs})
    assert transpose.output == (channels, *size)  # the graph's shape rule agrees
    rng = np.random.default_rng(1)
    weight = rng.standard_normal(RULES["conv"].parameters(conv.layer, conv.input_shapes)["weight"].shape)
    assert weight.shape == RULES["conv_transpose"].parameters(transpose.layer, transpose.input_shapes)["weight"].shape
    x, y = rng.standard_normal((2, channels, *size)), rng.standard_normal((2, out, oh, ow))
    left = float((forward(conv, x, params={"weight": weight}) * y).sum())
    right = float((x * forward(transpose, y, params={"weight": weight})).sum())
    assert math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-12)


def test_conv_transpose_bias_and_activation():
    node = one_layer([2, 3, 3], {"type": "conv_transpose", "out": 3, "kernel": 2, "stride": 2, "activation": "relu"})
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 3, 3))
    weight, bias = rng.standard_normal((2, 3, 2, 2)), rng.standard_normal(3)
    # stride = kernel: every output pixel gets exactly one tap: y[o, 2i+a, 2j+b] = sum_c x[c, i, j] W[c, o, a, b]
    expected = np.einsum("cij,coab->oiajb", x[0], weight).reshape(3, 6, 6) + bias[:, None, None]
    y = forward(node, x, params={"weight": weight, "bias": bias})
    np.testing.assert_allclose(y[0], np.maximum(expected, 0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [2, [3, 2], [1, 4]])
def test_nearest_upsample_is_np_repeat(scale):
    node = one_layer([2, 3, 4], {"type": "upsample", "scale": scale})
    x = np.random.default_rng(3).standard_normal((2, 2, 3, 4))
    sh, sw = scale if isinstance(scale, list) else (scale, scale)
    np.testing.assert_array_equal(forward(node, x), np.repeat(np.repeat(x, sh, axis=2), sw, axis=3))


def test_nearest_upsample_to_a_size():
    # PyTorch's nearest with `size`: dst reads floor(dst * in / out); 3 -> 7 reads 0 0 0 1 1 2 2
    node = one_layer([1, 3, 3], {"type": "upsample", "size": [7, 3]})
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(forward(node, x)[0, 0, :, 0], [0, 0, 0, 3, 3, 6, 6])


def bilinear_loop(x: np.ndarray, out: tuple[int, int], align_corners: bool, scale=None) -> np.ndarray:
    """PyTorch's upsample_bilinear2d, one output pixel at a time: the source coordinate per axis is
    dst * (in - 1) / (out - 1) with align_corners, else max((dst + 0.5) / scale - 0.5, 0), scale = out / in unless
    given; it reads floor(src) and the next pixel (clamped), weighted 1 - frac and frac."""
    n, c, h, w = x.shape

    def source(dst: int, size: int, out_size: int, factor) -> tuple[int, int, float]:
        if align_corners:
            real = dst * (size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            real = max((dst + 0.5) / (factor if factor else out_size / size) - 0.5, 0.0)
        low = int(math.floor(real))
        return low, min(low + 1, size - 1), real - low

    y = np.zeros((n, c, *out))
    for i in range(out[0]):
        r0, r1, fr = source(i, h, out[0], scale and scale[0])
        for j in range(out[1]):
            c0, c1, fc = source(j, w, out[1], scale and scale[1])
            y[:, :, i, j] = ((1 - fr) * ((1 - fc) * x[:, :, r0, c0] + fc * x[:, :, r0, c1])
                             + fr * ((1 - fc) * x[:, :, r1, c0] + fc * x[:, :, r1, c1]))
    return y


@pytest.mark.parametrize("attrs,out", [
    ({"scale": 2}, (6, 8)), ({"scale": [3, 2]}, (9, 8)), ({"size": [7, 5]}, (7, 5)), ({"size": [2, 3]}, (2, 3)),
    ({"size": [1, 6]}, (1, 6))])
@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_upsample_against_a_loop(attrs, out, align_corners):
    node = one_layer([2, 3, 4], {"type": "upsample", "mode": "bilinear", "align_corners": align_corners, **attrs})
    x = np.random.default_rng(4).standard_normal((2, 2, 3, 4))
    scale = attrs.get("scale")
    scale = None if scale is None else (scale, scale) if isinstance(scale, int) else tuple(scale)
    np.testing.assert_allclose(forward(node, x), bilinear_loop(x, out, align_corners, scale), rtol=0, atol=1e-12)


def test_bilinear_known_values():
    # [0, 1] doubled: PyTorch gives 0, 0.25, 0.75, 1 (align_corners=False) and 0, 1/3, 2/3, 1 (True)
    x = np.array([0.0, 1.0]).reshape(1, 1, 1, 2)
    plain = one_layer([1, 1, 2], {"type": "upsample", "scale": [1, 2], "mode": "bilinear"})
    corners = one_layer([1, 1, 2], {"type": "upsample", "scale": [1, 2], "mode": "bilinear", "align_corners": True})
    np.testing.assert_allclose(forward(plain, x)[0, 0, 0], [0, 0.25, 0.75, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(forward(corners, x)[0, 0, 0], [0, 1 / 3, 2 / 3, 1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("size,alpha,beta,k", [(3, 0.5, 0.75, 1.0), (4, 0.3, 0.75, 2.0), (5, 1.0, 0.5, 0.5),
                                               (1, 0.2, 0.75, 1.0), (8, 1e-4, 0.75, 1.0)])
def test_lrn_is_torchs_local_response_norm(size, alpha, beta, k):
    """torch.nn.functional.local_response_norm: div = x^2 padded with size//2 channels before and (size-1)//2
    after, averaged over `size` channels (zeros counted), div = (div * alpha + k)^beta, y = x / div."""
    node = one_layer([6, 2, 3], {"type": "lrn", "size": size, "alpha": alpha, "beta": beta, "k": k})
    x = np.random.default_rng(5).standard_normal((2, 6, 2, 3))
    padded = np.pad(x * x, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    average = np.stack([padded[:, i:i + size].sum(axis=1) / size for i in range(6)], axis=1)
    np.testing.assert_allclose(forward(node, x), x / (average * alpha + k) ** beta, rtol=1e-13, atol=0)


@pytest.mark.parametrize("channels,groups", [(6, 2), (6, 3), (8, 4), (5, 1), (4, 4)])
def test_channel_shuffle_index_formula(channels, groups):
    # output channel i holds input channel (i % groups) * (channels / groups) + i // groups (ShuffleNet's shuffle)
    node = one_layer([channels, 2, 2], {"type": "channel_shuffle", "groups": groups})
    x = np.random.default_rng(6).standard_normal((2, channels, 2, 2))
    source = [(i % groups) * (channels // groups) + i // groups for i in range(channels)]
    np.testing.assert_array_equal(forward(node, x), x[:, source])


def test_pad_places_the_input_inside_zeros():
    node = one_layer([2, 3, 4], {"type": "pad", "padding": [1, 2, 3, 0]})  # top, bottom, left, right
    x = np.random.default_rng(7).standard_normal((2, 2, 3, 4))
    y = forward(node, x)
    assert y.shape == (2, 2, 6, 7)
    np.testing.assert_array_equal(y[:, :, 1:4, 3:7], x)
    assert float(np.abs(y).sum()) == float(np.abs(x).sum())


def test_mul_broadcasts_a_gate():
    graph = cnncalc.load("input: [3, 2, 2]\nlayers:\n  - {name: g, type: global_avgpool}\n"
                         "  - {name: m, type: mul, inputs: [input, g, input]}\n")
    node = graph.nodes[-1]
    rng = np.random.default_rng(8)
    x, gate = rng.standard_normal((2, 3, 2, 2)), rng.standard_normal((2, 3, 1, 1))
    y = forward(node, x, gate, x)
    for n in range(2):
        for c in range(3):
            np.testing.assert_array_equal(y[n, c], x[n, c] * gate[n, c, 0, 0] * x[n, c])


@pytest.mark.parametrize("activation,gate", [("relu", "sigmoid"), ("hardswish", "hardsigmoid"), ("silu", "sigmoid")])
def test_squeeze_excitation_is_its_six_layers(activation, gate):
    """The one layer and torchvision's six (pool, conv 1x1, activation, conv 1x1, gate, mul) with the same weights,
    behind an identity layer `i` (whose output gradient is dL/dx): the same loss, the same gradients of the weights
    and of the input (the six-layer graph sums it over its two readers, the pool and the mul)."""
    head = "input: [4, 3, 3]\nlayers:\n  - {name: i, type: identity}\n"
    one = cnncalc.load(head + f"  - {{name: se, type: squeeze_excitation, squeeze: 2, activation: {activation}, "
                              f"gate: {gate}}}\n")
    six = cnncalc.load(head + f"""  - {{name: pool, type: adaptive_avgpool, output_size: 1}}
  - {{name: fc1, type: conv, out: 2, kernel: 1}}
  - {{name: act, type: {activation}}}
  - {{name: fc2, type: conv, out: 4, kernel: 1}}
  - {{name: gate, type: {gate}}}
  - {{name: out, type: mul, inputs: [i, gate]}}
""")
    rng = np.random.default_rng(9)
    params, schemes = initialise(one, "auto", rng)
    assert schemes == {2: "he/xavier"}  # fc1 by the activation after it, fc2 by the gate
    weights = params[2]
    weights["fc1.bias"], weights["fc2.bias"] = rng.standard_normal(2), rng.standard_normal(4)  # not only zeros
    spelled = {3: {"weight": weights["fc1.weight"], "bias": weights["fc1.bias"]},
               5: {"weight": weights["fc2.weight"], "bias": weights["fc2.bias"]}}
    x = rng.standard_normal((3, 4, 3, 3))
    for loss in ("mse", "sum"):
        value, grads, param_grads = forward_backward(one, {2: weights}, x, loss, np.random.default_rng(1))
        value6, grads6, param_grads6 = forward_backward(six, spelled, x, loss, np.random.default_rng(1))
        assert math.isclose(value, value6, rel_tol=1e-13)
        for name, index in (("fc1", 3), ("fc2", 5)):
            for key in ("weight", "bias"):
                np.testing.assert_allclose(param_grads[2][f"{name}.{key}"], param_grads6[index][key], rtol=1e-11,
                                           atol=1e-15)
        np.testing.assert_allclose(grads[1][0], grads6[1][0], rtol=1e-11, atol=1e-15)
