"""Naive backward passes on a counting number type, for tests/layers/test_backward.py. Shares no code with cnncalc.

`V` carries a float and counts every operation on it in the module's `TALLY`: `+` and `-` one add, `*` and `/` one
mult, `deriv` one derivative evaluation. Each layer has a plain-float forward (`*_forward`, used for the central
finite differences) and a backward on `V`s that follows the chain rule term by term, the way the backward
convention words it: every gradient sum starts from an uncounted zero and adds one term per product; taps on
padding are multiplied (by a zero) like the real ones. The tests check the backward's gradients against finite
differences and its counts against cnncalc's rules. Tiny sizes only: this is pure Python.
"""

from __future__ import annotations

import math

import numpy as np


class Tally:
    def __init__(self):
        self.reset()

    def reset(self):
        self.mults = self.adds = self.derivs = 0

    def counts(self):
        return {"mults": self.mults, "adds": self.adds, "activations": self.derivs}


TALLY = Tally()


class V:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = float(x)

    def __add__(self, other):
        TALLY.adds += 1
        return V(self.x + _f(other))

    def __sub__(self, other):
        TALLY.adds += 1
        return V(self.x - _f(other))

    def __mul__(self, other):
        TALLY.mults += 1
        return V(self.x * _f(other))

    def __truediv__(self, other):
        TALLY.mults += 1
        return V(self.x / _f(other))


def _f(v):
    return v.x if isinstance(v, V) else float(v)


def zeros(shape):
    """A buffer of uncounted zeros."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = V(0.0)
    return out


def vals(a):
    """Floats -> `V`s (saved values: reading them costs nothing)."""
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(*a.shape):
        out[idx] = V(a[idx])
    return out


def floats(a):
    return np.vectorize(lambda v: v.x, otypes=[float])(a)


SIGMOID = (lambda z: 1 / (1 + math.exp(-z)), lambda z: (1 / (1 + math.exp(-z))) * (1 - 1 / (1 + math.exp(-z))))
TANH = (math.tanh, lambda z: 1 - math.tanh(z) ** 2)


def deriv(fn, z):
    TALLY.derivs += 1
    return V(fn[1](z))


def numeric_grad(f, a, eps=1e-6):
    """Central finite differences of the scalar f() with respect to every element of the float array `a`."""
    g = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        old = a[idx]
        a[idx] = old + eps
        up = f()
        a[idx] = old - eps
        down = f()
        a[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


# ------------------------------------------------------------------------------------------------ conv, linear

def conv_forward(x, w, b, stride, pad, dil, groups, act=None):
    """x: (C, H, W); w: (O, C/groups, kh, kw); zero padding `pad` = (ph, pw) on both sides."""
    c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * pad[0], wd + 2 * pad[1]))
    xp[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    ho = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((o, ho, wo))
    per = o // groups
    for oc in range(o):
        g = oc // per
        for i in range(ho):
            for j in range(wo):
                acc = b[oc] if b is not None else 0.0
                for ci in range(cg):
                    for u in range(kh):
                        for v in range(kw):
                            acc += w[oc, ci, u, v] * xp[g * cg + ci, i * stride[0] + u * dil[0], j * stride[1] + v * dil[1]]
                y[oc, i, j] = acc
    return y if act is None else np.vectorize(act[0])(y)


def conv_backward(x, w, b, stride, pad, dil, groups, delta, act, input_grad):
    """Gradients (dx or None, dw, db or None) of L with dL/d(output) = delta; counts in TALLY."""
    c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    y = conv_forward(x, w, b, stride, pad, dil, groups)
    xp = np.zeros((c, h + 2 * pad[0], wd + 2 * pad[1]))
    xp[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    xpv, wv = vals(xp), vals(w)
    dv = vals(delta)
    if act is not None:  # delta * f'(y)
        dv = np.vectorize(lambda d, z: d * deriv(act, z), otypes=[object])(dv, y)
    dw = zeros(w.shape)
    db = zeros((o,)) if b is not None else None
    dxp = zeros(xp.shape) if input_grad else None
    per = o // groups
    _, ho, wo = y.shape
    for oc in range(o):
        g = oc // per
        for i in range(ho):
            for j in range(wo):
                d = dv[oc, i, j]
                if db is not None:
                    db[oc] = db[oc] + d
                for ci in range(cg):
                    for u in range(kh):
                        for v in range(kw):
                            p = (g * cg + ci, i * stride[0] + u * dil[0], j * stride[1] + v * dil[1])
                            dw[oc, ci, u, v] = dw[oc, ci, u, v] + d * xpv[p]
                            if dxp is not None:
                                dxp[p] = dxp[p] + wv[oc, ci, u, v] * d
    dx = None if dxp is None else floats(dxp)[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd]
    return dx, floats(dw), None if db is None else floats(db)


def linear_forward(x, w, b, act=None):
    y = w @ x.reshape(-1) + (b if b is not None else 0.0)
    return y if act is None else np.vectorize(act[0])(y)


def linear_backward(x, w, b, delta, act, input_grad):
    """y = W x + b: dW = delta^T x, dx = delta W, db = sum of delta (one image)."""
    xf = x.reshape(-1)
    y = linear_forward(x, w, b)
    dv = vals(delta)
    if act is not None:
        dv = np.array([d * deriv(act, z) for d, z in zip(dv, y)], dtype=object)
    xv, wv = vals(xf), vals(w)
    dw = zeros(w.shape)
    db = zeros(w.shape[:1]) if b is not None else None
    dx = zeros(xf.shape) if input_grad else None
    for o in range(w.shape[0]):
        if db is not None:
            db[o] = db[o] + dv[o]
        for f in range(w.shape[1]):
            dw[o, f] = dw[o, f] + dv[o] * xv[f]
            if dx is not None:
                dx[f] = dx[f] + dv[o] * wv[o, f]
    return (None if dx is None else floats(dx).reshape(x.shape)), floats(dw), None if db is None else floats(db)


def conv_transpose_forward(x, w, b, stride, pad, groups):
    """x: (C, H, W); w: (C, O/groups, kh, kw): every input element times every tap, scattered, then cropped."""
    c, h, wd = x.shape
    _, og, kh, kw = w.shape
    full = np.zeros((og * groups, (h - 1) * stride[0] + kh, (wd - 1) * stride[1] + kw))
    cg = c // groups
    for ci in range(c):
        g = ci // cg
        for i in range(h):
            for j in range(wd):
                for oc in range(og):
                    for u in range(kh):
                        for v in range(kw):
                            full[g * og + oc, i * stride[0] + u, j * stride[1] + v] += w[ci, oc, u, v] * x[ci, i, j]
    y = full[:, pad[0]:full.shape[1] - pad[0], pad[1]:full.shape[2] - pad[1]]
    return y + (b[:, None, None] if b is not None else 0.0)


def conv_transpose_backward(x, w, b, stride, pad, groups, delta, input_grad):
    c, h, wd = x.shape
    _, og, kh, kw = w.shape
    fh, fw = (h - 1) * stride[0] + kh, (wd - 1) * stride[1] + kw
    dfull = np.zeros((og * groups, fh, fw))
    dfull[:, pad[0]:fh - pad[0], pad[1]:fw - pad[1]] = delta
    dv, xv, wv = vals(dfull), vals(x), vals(w)
    dw = zeros(w.shape)
    dx = zeros(x.shape) if input_grad else None
    db = None
    if b is not None:
        db = zeros(b.shape)
        dd = vals(delta)
        for idx in np.ndindex(*delta.shape):
            db[idx[0]] = db[idx[0]] + dd[idx]
    cg = c // groups
    for ci in range(c):
        g = ci // cg
        for i in range(h):
            for j in range(wd):
                for oc in range(og):
                    for u in range(kh):
                        for v in range(kw):
                            d = dv[g * og + oc, i * stride[0] + u, j * stride[1] + v]
                            dw[ci, oc, u, v] = dw[ci, oc, u, v] + d * xv[ci, i, j]
                            if dx is not None:
                                dx[ci, i, j] = dx[ci, i, j] + wv[ci, oc, u, v] * d
    return None if dx is None else floats(dx), floats(dw), None if db is None else floats(db)


# ------------------------------------------------------------------------------------------------ batchnorm

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training mode over a batch x: (N, C, H, W), biased batch variance."""
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    return gamma[None, :, None, None] * (x - mean) / np.sqrt(var + eps) + beta[None, :, None, None]


def batchnorm_counted(x, gamma, beta, delta, input_grad, eps=1e-5):
    """The forward pass (counted into `forward`) and the backward pass (counted into `backward`) on V's, per
    channel: returns (forward counts, backward counts, dx or None, dgamma, dbeta)."""
    n, c, h, w = x.shape
    m = n * h * w
    TALLY.reset()
    saved = []
    for ch in range(c):
        xs = [V(v) for v in x[:, ch].reshape(-1)]
        total = V(0.0)
        for v in xs:
            total = total + v
        mean = total * (1.0 / m)
        xc = [v - mean for v in xs]
        sq = V(0.0)
        for v in xc:
            sq = sq + v * v
        var = sq * (1.0 / m)
        shifted = var + eps
        TALLY.derivs += 1  # one activation: 1/sqrt
        r = V(1 / math.sqrt(shifted.x))
        xhat = [v * r for v in xc]
        [V(gamma[ch]) * v + V(beta[ch]) for v in xhat]
        saved.append((xhat, r))
    forward = TALLY.counts()
    TALLY.reset()
    dx = np.zeros_like(x) if input_grad else None
    dgamma, dbeta = np.zeros(c), np.zeros(c)
    for ch in range(c):
        xhat, r = saved[ch]
        g = [V(v) for v in delta[:, ch].reshape(-1)]
        sb, sg = V(0.0), V(0.0)
        for gi in g:
            sb = sb + gi
        for gi, xh in zip(g, xhat):
            sg = sg + gi * xh
        dgamma[ch], dbeta[ch] = sg.x, sb.x
        if input_grad:
            k = V(gamma[ch]) * r * (1.0 / m)
            out = [(gi * float(m) - sb - xh * sg) * k for gi, xh in zip(g, xhat)]
            dx[:, ch] = np.array([v.x for v in out]).reshape(n, h, w)
    return forward, TALLY.counts(), dx, dgamma, dbeta


# ------------------------------------------------------------------------------------------------ pools

def maxpool_forward(x, k, s, p):
    c, h, w = x.shape
    xp = np.full((c, h + 2 * p, w + 2 * p), -np.inf)
    xp[:, p:p + h, p:p + w] = x
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return np.array([[[xp[ch, i * s:i * s + k, j * s:j * s + k].max() for j in range(wo)] for i in range(ho)]
                     for ch in range(c)])


def maxpool_backward(x, k, s, p, delta):
    """dL/dx at each window's argmax += dL/dy."""
    c, h, w = x.shape
    xp = np.full((c, h + 2 * p, w + 2 * p), -np.inf)
    xp[:, p:p + h, p:p + w] = x
    dxp = zeros(xp.shape)
    dv = vals(delta)
    for ch, i, j in np.ndindex(*delta.shape):
        win = xp[ch, i * s:i * s + k, j * s:j * s + k]
        u, v = np.unravel_index(np.argmax(win), win.shape)
        q = (ch, i * s + u, j * s + v)
        dxp[q] = dxp[q] + dv[ch, i, j]
    return floats(dxp)[:, p:p + h, p:p + w]


def avgpool_forward(x, k, s, p):
    c, h, w = x.shape
    xp = np.zeros((c, h + 2 * p, w + 2 * p))
    xp[:, p:p + h, p:p + w] = x
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return np.array([[[xp[ch, i * s:i * s + k, j * s:j * s + k].sum() / (k * k) for j in range(wo)]
                      for i in range(ho)] for ch in range(c)])


def avgpool_backward(x, k, s, p, delta):
    """dL/dy * (1/k^2) added to every position of the window (padding included)."""
    c, h, w = x.shape
    dxp = zeros((c, h + 2 * p, w + 2 * p))
    dv = vals(delta)
    for ch, i, j in np.ndindex(*delta.shape):
        share = dv[ch, i, j] * (1.0 / (k * k))
        for u in range(k):
            for v in range(k):
                q = (ch, i * s + u, j * s + v)
                dxp[q] = dxp[q] + share
    return floats(dxp)[:, p:p + h, p:p + w]


def global_avgpool_backward(x, delta):
    c, h, w = x.shape
    dx = zeros(x.shape)
    dv = vals(delta)
    for ch in range(c):
        share = dv[ch] * (1.0 / (h * w))
        for i in range(h):
            for j in range(w):
                dx[ch, i, j] = dx[ch, i, j] + share
    return floats(dx)


# ------------------------------------------------------------------------------------------------ element-wise

def activation_backward(z, delta, fn):
    return floats(np.vectorize(lambda d, v: d * deriv(fn, v), otypes=[object])(vals(delta), z))


def softmax_forward(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_backward(x, delta):
    """dL/dx = y * (g - sum over channels of g*y), per position."""
    y = vals(softmax_forward(x))
    g = vals(delta)
    dx = np.empty(x.shape, dtype=object)
    for i, j in np.ndindex(*x.shape[1:]):
        s = V(0.0)
        for ch in range(x.shape[0]):
            s = s + g[ch, i, j] * y[ch, i, j]
        for ch in range(x.shape[0]):
            dx[ch, i, j] = y[ch, i, j] * (g[ch, i, j] - s)
    return floats(dx)


def mul_broadcast_backward(x, gate, delta, grads):
    """y = x * gate (gate: C x 1 x 1): dx = g * gate; dgate = sum over the map of g * x."""
    gv, xv, dv = vals(gate), vals(x), vals(delta)
    dx = np.empty(x.shape, dtype=object) if grads[0] else None  # element-wise products: no sum
    dgate = zeros(gate.shape) if grads[1] else None
    for ch, i, j in np.ndindex(*x.shape):
        if dx is not None:
            dx[ch, i, j] = dv[ch, i, j] * gv[ch, 0, 0]
        if dgate is not None:
            dgate[ch, 0, 0] = dgate[ch, 0, 0] + dv[ch, i, j] * xv[ch, i, j]
    return None if dx is None else floats(dx), None if dgate is None else floats(dgate)


def lrn_forward(x, size, alpha, beta, k):
    c = x.shape[0]
    sq = x ** 2
    s = np.empty_like(x)
    for ch in range(c):
        lo, hi = ch - size // 2, ch + (size - 1) // 2
        s[ch] = k + alpha / size * sq[max(lo, 0):min(hi, c - 1) + 1].sum(axis=0)
    return x * s ** -beta, s


def lrn_backward(x, size, alpha, beta, k, delta):
    """dL/dx_j = g_j s_j^-beta - (2 alpha beta / size) x_j sum over i with j in W(i) of g_i y_i / s_i."""
    y, s = lrn_forward(x, size, alpha, beta, k)
    c = x.shape[0]
    g, yv, sv, xv = vals(delta), vals(y), vals(s), vals(x)
    spow = vals(s ** -beta)  # kept from the forward pass
    t = np.vectorize(lambda a, b, d: (a * b) / d, otypes=[object])(g, yv, sv)
    dx = np.empty(x.shape, dtype=object)
    for ch in range(c):
        # channel ch is in W(i) for i with i - size//2 <= ch <= i + (size-1)//2
        lo, hi = ch - (size - 1) // 2, ch + size // 2
        for i, j in np.ndindex(*x.shape[1:]):
            acc = V(0.0)
            for src in range(lo, hi + 1):
                acc = acc + (t[src, i, j] if 0 <= src < c else V(0.0))
            dx[ch, i, j] = g[ch, i, j] * spow[ch, i, j] - xv[ch, i, j] * acc * (2 * alpha * beta / size)
    return floats(dx)
