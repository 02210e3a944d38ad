"""Backward rules of the layer types against naive backward passes (tests/brute/backward.py).

Each case runs the brute force on a counting number type: its gradients must equal central finite differences of
a plain-float forward pass (so the brute force is a correct backward pass), and its operation counts must equal
the layer's `backward` rule in cnncalc (so cnncalc counts that pass). The loss is L = sum(r * y) for a random r,
so dL/dy = r.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnncalc.geometry import Padding
from cnncalc.layers import REGISTRY, Ops
from cnncalc.layers.conv import Conv, ConvTranspose, Linear
from cnncalc.layers.elementwise import BatchNorm, Dropout, LocalResponseNorm
from cnncalc.layers.merge import Mul
from cnncalc.layers.pool import AvgPool, GlobalAvgPool, MaxPool
from tests.brute import backward as bb

RNG = np.random.default_rng(7)


def counted(ops: Ops) -> dict:
    return {"mults": ops.mults, "adds": ops.adds, "activations": ops.activations}


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_every_layer_type_states_its_backward_rule():
    missing = [name for name, cls in REGISTRY.items() if not cls.states_backward()]
    assert missing == [], f"layer types without a backward rule: {missing}"


@pytest.mark.parametrize("stride,pad,dil,groups,bias,act,input_grad", [
    ((1, 1), (1, 1), (1, 1), 1, True, None, True),
    ((2, 1), (0, 1), (1, 1), 1, False, bb.SIGMOID, True),
    ((1, 2), (2, 1), (2, 1), 2, True, bb.TANH, False),
    ((2, 2), (1, 0), (1, 1), 4, True, None, True),
])
def test_conv(stride, pad, dil, groups, bias, act, input_grad):
    x = RNG.normal(size=(4, 5, 6))
    w = RNG.normal(size=(4, 4 // groups, 3, 2))
    b = RNG.normal(size=4) if bias else None
    y = bb.conv_forward(x, w, b, stride, pad, dil, groups, act)
    r = RNG.normal(size=y.shape)
    bb.TALLY.reset()
    dx, dw, db = bb.conv_backward(x, w, b, stride, pad, dil, groups, r, act, input_grad)
    counts = bb.TALLY.counts()
    loss = lambda: float((r * bb.conv_forward(x, w, b, stride, pad, dil, groups, act)).sum())  # noqa: E731
    close(dw, bb.numeric_grad(loss, w))
    if bias:
        close(db, bb.numeric_grad(loss, b))
    if input_grad:
        close(dx, bb.numeric_grad(loss, x))
    layer = Conv(4, (3, 2), stride, Padding(pad[0], pad[0], pad[1], pad[1]), dil, groups, bias,
                 "none" if act is None else "sigmoid")
    out = layer.output_shape([x.shape])
    assert out == y.shape
    ops = layer.backward([x.shape], out, (input_grad,), 1)
    assert counted(ops) == counts
    assert ops.macs == ops.mults - (y.size if act else 0)


@pytest.mark.parametrize("bias,act,input_grad", [(True, bb.SIGMOID, True), (False, None, True), (True, None, False)])
def test_linear_as_the_homework_derives_it(bias, act, input_grad):
    """dL/dW = delta^T x, dL/dx = delta W, dL/db = sum of delta, delta = dL/dz * f'(y)."""
    x = RNG.normal(size=(2, 2, 3))
    w = RNG.normal(size=(5, 12))
    b = RNG.normal(size=5) if bias else None
    r = RNG.normal(size=5)
    bb.TALLY.reset()
    dx, dw, db = bb.linear_backward(x, w, b, r, act, input_grad)
    counts = bb.TALLY.counts()
    loss = lambda: float(r @ bb.linear_forward(x, w, b, act))  # noqa: E731
    close(dw, bb.numeric_grad(loss, w))
    if input_grad:
        close(dx, bb.numeric_grad(loss, x))
    if bias:
        close(db, bb.numeric_grad(loss, b))
    layer = Linear(5, bias, "none" if act is None else "sigmoid")
    ops = layer.backward([x.shape], (5,), (input_grad,), 1)
    assert counted(ops) == counts
    # Per image: 5*12 products for dW, as many for dx with an input gradient (the homework's two matrix products).
    assert ops.macs == 5 * 12 * (2 if input_grad else 1)


@pytest.mark.parametrize("stride,pad,groups,input_grad", [((2, 2), (1, 0), 1, True), ((1, 2), (0, 1), 2, False)])
def test_conv_transpose(stride, pad, groups, input_grad):
    x = RNG.normal(size=(4, 3, 3))
    w = RNG.normal(size=(4, 6 // groups, 3, 2))
    b = RNG.normal(size=6)
    y = bb.conv_transpose_forward(x, w, b, stride, pad, groups)
    r = RNG.normal(size=y.shape)
    bb.TALLY.reset()
    dx, dw, db = bb.conv_transpose_backward(x, w, b, stride, pad, groups, r, input_grad)
    counts = bb.TALLY.counts()
    loss = lambda: float((r * bb.conv_transpose_forward(x, w, b, stride, pad, groups)).sum())  # noqa: E731
    close(dw, bb.numeric_grad(loss, w))
    close(db, bb.numeric_grad(loss, b))
    if input_grad:
        close(dx, bb.numeric_grad(loss, x))
    layer = ConvTranspose(6, (3, 2), stride, pad, (0, 0), (1, 1), groups)
    out = layer.output_shape([x.shape])
    assert out == y.shape
    assert counted(layer.backward([x.shape], out, (input_grad,), 1)) == counts


@pytest.mark.parametrize("batch,input_grad", [(1, True), (3, True), (2, False)])
def test_batchnorm_in_training_mode(batch, input_grad):
    x = RNG.normal(size=(batch, 3, 2, 3))
    gamma, beta = RNG.normal(size=3), RNG.normal(size=3)
    r = RNG.normal(size=x.shape)
    forward, backward, dx, dgamma, dbeta = bb.batchnorm_counted(x, gamma, beta, r, input_grad)
    loss = lambda: float((r * bb.batchnorm_forward(x, gamma, beta)).sum())  # noqa: E731
    close(dgamma, bb.numeric_grad(loss, gamma))
    close(dbeta, bb.numeric_grad(loss, beta))
    if input_grad:
        close(dx, bb.numeric_grad(loss, x))
    layer, shape = BatchNorm(), (3, 2, 3)
    assert counted(layer.training_ops([shape], shape, batch)) == forward
    assert counted(layer.backward([shape], shape, (input_grad,), batch)) == backward


def test_pools_and_their_gradients():
    x = RNG.normal(size=(2, 5, 5))
    for k, s, p in ((3, 2, 1), (2, 2, 0), (3, 1, 1)):
        for forward, back, cls in ((bb.maxpool_forward, bb.maxpool_backward, MaxPool),
                                   (bb.avgpool_forward, bb.avgpool_backward, AvgPool)):
            y = forward(x, k, s, p)
            r = RNG.normal(size=y.shape)
            bb.TALLY.reset()
            dx = back(x, k, s, p, r)
            counts = bb.TALLY.counts()
            close(dx, bb.numeric_grad(lambda: float((r * forward(x, k, s, p)).sum()), x))
            layer = cls((k, k), (s, s), Padding(p, p, p, p))
            assert layer.output_shape([x.shape]) == y.shape
            assert counted(layer.backward([x.shape], y.shape, (True,), 1)) == counts
            assert counted(layer.backward([x.shape], y.shape, (False,), 1)) == {"mults": 0, "adds": 0,
                                                                                   "activations": 0}
    r = RNG.normal(size=(2,))
    bb.TALLY.reset()
    dx = bb.global_avgpool_backward(x, r)
    counts = bb.TALLY.counts()
    close(dx, bb.numeric_grad(lambda: float(r @ x.mean(axis=(1, 2))), x))
    assert counted(GlobalAvgPool().backward([x.shape], (2, 1, 1), (True,), 1)) == counts


@pytest.mark.parametrize("name,fn", [("sigmoid", bb.SIGMOID), ("tanh", bb.TANH)])
def test_activation(name, fn):
    z = RNG.normal(size=(3, 2, 2))
    r = RNG.normal(size=z.shape)
    bb.TALLY.reset()
    dx = bb.activation_backward(z, r, fn)
    counts = bb.TALLY.counts()
    close(dx, bb.numeric_grad(lambda: float((r * np.vectorize(fn[0])(z)).sum()), z))
    assert counted(REGISTRY[name]().backward([z.shape], z.shape, (True,), 1)) == counts


def test_softmax():
    x = RNG.normal(size=(4, 2, 3))
    r = RNG.normal(size=x.shape)
    bb.TALLY.reset()
    dx = bb.softmax_backward(x, r)
    counts = bb.TALLY.counts()
    close(dx, bb.numeric_grad(lambda: float((r * bb.softmax_forward(x)).sum()), x))
    assert counted(REGISTRY["softmax"]().backward([x.shape], x.shape, (True,), 1)) == counts


@pytest.mark.parametrize("grads", [(True, True), (False, True), (True, False)])
def test_mul_with_a_broadcast_gate(grads):
    x, gate = RNG.normal(size=(3, 2, 4)), RNG.normal(size=(3, 1, 1))
    r = RNG.normal(size=x.shape)
    bb.TALLY.reset()
    dx, dgate = bb.mul_broadcast_backward(x, gate, r, grads)
    counts = bb.TALLY.counts()
    loss = lambda: float((r * x * gate).sum())  # noqa: E731
    if grads[0]:
        close(dx, bb.numeric_grad(loss, x))
    if grads[1]:
        close(dgate, bb.numeric_grad(loss, gate))
    assert counted(Mul().backward([x.shape, gate.shape], x.shape, grads, 1)) == counts


def test_lrn():
    x = RNG.normal(size=(5, 2, 2))
    size, alpha, beta, k = 3, 0.3, 0.75, 2.0
    r = RNG.normal(size=x.shape)
    bb.TALLY.reset()
    dx = bb.lrn_backward(x, size, alpha, beta, k, r)
    counts = bb.TALLY.counts()
    close(dx, bb.numeric_grad(lambda: float((r * bb.lrn_forward(x, size, alpha, beta, k)[0]).sum()), x))
    assert counted(LocalResponseNorm(size, alpha, beta, k).backward([x.shape], x.shape, (True,), 1)) == counts


def test_batch_multiplies_the_per_image_rules():
    shape = (4, 6, 6)
    for layer in (Conv(8, (3, 3)), MaxPool((2, 2)), Dropout(), REGISTRY["relu"]()):
        out = layer.output_shape([shape])
        one, three = layer.backward([shape], out, (True,), 1), layer.backward([shape], out, (True,), 3)
        assert three == one.times(3)
