"""The two forms of momentum (the homework's problem 3) give the same iterates; the optimizer's counts.

Form I (heavy ball): theta_{k+1} = theta_k - a g_k + b (theta_k - theta_{k-1}), with theta_{-1} = theta_0.
Form II (velocity, PyTorch's SGD(momentum=b)): v_{k+1} = g_k + b v_k, theta_{k+1} = theta_k - a v_{k+1}, v_0 = 0.

Correspondence, by induction on k (the homework's argument): claim theta_k - theta_{k-1} = -a v_k for k >= 0 (with
theta_{-1} = theta_0 and v_0 = 0 it holds at k = 0). If both forms are at the same theta_k (and theta_{k-1}), then
form II gives theta_k - a (g_k + b v_k) = theta_k - a g_k - a b v_k = theta_k - a g_k + b (theta_k - theta_{k-1}),
which is form I's step; and theta_{k+1} - theta_k = -a v_{k+1} keeps the claim. So with the same step a and the
same b, and g_k evaluated at the same theta_k, the iterates agree for every k. (PyTorch's first step sets v_1 =
g_0, which is g_0 + b v_0 with v_0 = 0.)
"""

from __future__ import annotations

import numpy as np
import pytest

from cnncalc.analyzers.optimizer import OPTIMIZERS
from cnncalc.api import parse


def form_one(grad, theta0, a, b, steps):
    prev, theta, path = theta0.copy(), theta0.copy(), [theta0.copy()]
    for _ in range(steps):
        prev, theta = theta, theta - a * grad(theta) + b * (theta - prev)
        path.append(theta)
    return path


def form_two(grad, theta0, a, b, steps):
    v, theta, path = np.zeros_like(theta0), theta0.copy(), [theta0.copy()]
    for _ in range(steps):
        v = grad(theta) + b * v
        theta = theta - a * v
        path.append(theta)
    return path


def test_the_forms_agree_on_a_quadratic():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(6, 6))
    q = m @ m.T + np.eye(6)
    c = rng.normal(size=6)
    grad = lambda t: q @ t - c  # noqa: E731  (f = t^T Q t / 2 - c^T t)
    one = form_one(grad, rng.normal(size=6), 0.02, 0.9, 200)
    two = form_two(grad, one[0], 0.02, 0.9, 200)
    for x, y in zip(one, two):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(one[-1], np.linalg.solve(q, c), atol=1e-3)  # and they converge to the minimum


def _mlp_grad(x, y):
    """The gradient of the mean squared error of a 4-8-1 sigmoid MLP, by the homework's backward pass
    (dL/dW = delta^T x, dL/dx = delta W, dL/db = sum of delta, delta * f'(z)); theta is the flat parameters."""
    shapes = [(8, 4), (8,), (1, 8), (1,)]
    sizes = [int(np.prod(s)) for s in shapes]

    def unpack(theta):
        parts, k = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(theta[k:k + n].reshape(s))
            k += n
        return parts

    def loss_and_grad(theta):
        w1, b1, w2, b2 = unpack(theta)
        z1 = x @ w1.T + b1
        h = 1 / (1 + np.exp(-z1))
        out = h @ w2.T + b2
        d_out = (out - y) / len(x)
        dw2, db2 = d_out.T @ h, d_out.sum(axis=0)
        d_h = d_out @ w2
        d_z1 = d_h * h * (1 - h)
        dw1, db1 = d_z1.T @ x, d_z1.sum(axis=0)
        return 0.5 * float(((out - y) ** 2).sum()) / len(x), np.concatenate(
            [dw1.ravel(), db1, dw2.ravel(), db2])

    return loss_and_grad, sum(sizes)


def test_the_forms_agree_on_a_small_mlp():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 4))
    y = np.sin(x.sum(axis=1, keepdims=True))
    loss_and_grad, n = _mlp_grad(x, y)
    theta0 = rng.normal(size=n) * 0.5
    # the backward pass is right: central differences
    _, g = loss_and_grad(theta0)
    eps = 1e-6
    numeric = np.array([(loss_and_grad(theta0 + eps * e)[0] - loss_and_grad(theta0 - eps * e)[0]) / (2 * eps)
                        for e in np.eye(n)])
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)
    grad = lambda t: loss_and_grad(t)[1]  # noqa: E731
    one = form_one(grad, theta0, 0.1, 0.8, 100)
    two = form_two(grad, theta0, 0.1, 0.8, 100)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert loss_and_grad(one[-1])[0] < loss_and_grad(theta0)[0]


SPEC = """\
input: [3, 8, 8]
layers:
  - {name: conv, type: conv, out: 4, kernel: 3}
  - {name: bn, type: batchnorm}
  - {name: fc, type: linear, out: 5}
"""


@pytest.mark.parametrize("name,state,mults,adds,roots", [
    ("sgd", 0, 1, 1, 0), ("momentum", 1, 2, 2, 0), ("nesterov", 1, 3, 3, 0), ("adam", 2, 8, 4, 1),
    ("adamw", 2, 9, 5, 1)])
def test_optimizer_totals_are_per_parameter_counts(name, state, mults, adds, roots):
    params = (4 * 3 * 9 + 4) + 2 * 4 + (5 * 4 * 6 * 6 + 5)
    totals = parse(SPEC).cost(training=True, optimizer=name).totals
    assert totals["params"] == params
    assert (totals["optimizer_state"], totals["optimizer_mults"], totals["optimizer_adds"],
            totals["optimizer_roots"]) == (state * params, mults * params, adds * params, roots * params)
    assert OPTIMIZERS[name].state == state
