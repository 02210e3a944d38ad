"""The activation functions and their derivatives, keyed by the names of cnncalc's activation layer types (the
same names `activation:` takes on conv and linear).

Each entry is `forward(x, slope) -> y` and `backward(x, y, g, slope) -> dL/dx` for the incoming gradient g = dL/dy:
by the chain rule dL/dx = g * f'(x) elementwise, except softmax, whose Jacobian mixes the channels (axis 1):
dL/dx = y * (g - sum_c g*y). `slope` is leaky_relu's negative slope (ignored by the others). GELU is the exact form
x * Phi(x) (PyTorch's default), with Phi from math.erf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

Forward = Callable[[np.ndarray, float], np.ndarray]
Backward = Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """f and the product of the incoming gradient with f' (or, for softmax, with its Jacobian)."""

    forward: Forward
    backward: Backward


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])  # never overflows: x < 0
    out[~pos] = e / (1.0 + e)
    return out


_erf = np.frompyfunc(math.erf, 1, 1)


def _phi(x: np.ndarray) -> np.ndarray:
    """The standard normal distribution function, exact to double precision."""
    return 0.5 * (1.0 + np.asarray(_erf(x / math.sqrt(2.0)), dtype=x.dtype))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(lambda x, s: np.maximum(x, 0.0), lambda x, y, g, s: g * (x > 0)),
    "relu6": Activation(lambda x, s: np.clip(x, 0.0, 6.0), lambda x, y, g, s: g * ((x > 0) & (x < 6))),
    "leaky_relu": Activation(lambda x, s: np.where(x > 0, x, s * x), lambda x, y, g, s: g * np.where(x > 0, 1.0, s)),
    "sigmoid": Activation(lambda x, s: _sigmoid(x), lambda x, y, g, s: g * y * (1.0 - y)),
    "tanh": Activation(lambda x, s: np.tanh(x), lambda x, y, g, s: g * (1.0 - y * y)),
    "gelu": Activation(lambda x, s: x * _phi(x),
                       lambda x, y, g, s: g * (_phi(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))),
    "silu": Activation(lambda x, s: x * _sigmoid(x),
                       lambda x, y, g, s: g * (lambda q: q * (1.0 + x * (1.0 - q)))(_sigmoid(x))),
    "hardswish": Activation(lambda x, s: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
                            lambda x, y, g, s: g * np.where(x <= -3, 0.0,
                                                            np.where(x >= 3, 1.0, (2.0 * x + 3.0) / 6.0))),
    "hardsigmoid": Activation(lambda x, s: np.clip(x + 3.0, 0.0, 6.0) / 6.0,
                              lambda x, y, g, s: g * ((x > -3) & (x < 3)) / 6.0),
    "softmax": Activation(lambda x, s: _softmax(x), lambda x, y, g, s: y * (g - (g * y).sum(axis=1, keepdims=True))),
}
"""Activation name -> its rule; tests/grad/test_rules.py checks every one against finite differences."""
