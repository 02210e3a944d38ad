"""One forward and one backward function per layer type, registered in `RULES` by the YAML type name.

Tensors carry the batch first: (N, C, H, W) for feature maps, (N, F) for flat vectors; float64.

- `forward(layer, inputs, params, rng) -> (output, saved)`: `saved` is whatever the backward pass needs.
- `backward(layer, saved, g, params) -> (input gradients, parameter gradients)`, g = dL/d(output), derived from the
  chain rule as in the homework's MLP: for z = W x + b, dL/dW = g^T x (summed over the batch), dL/db = sum of g,
  dL/dx = g W; an activation y = f(z) gives dL/dz = g * f'(z) (cnncalc.grad.activations).
- `parameters(layer, input_shapes) -> {name: Parameter}`: the trainable tensors, with their fans for initialisation.

Conventions: batchnorm runs in training mode (batch statistics, biased variance, eps = 1e-5; its `weight` is the
scale gamma, initialised to 1, and its bias beta to 0); dropout draws one mask per run (keep with probability 1-p,
kept values scaled by 1/(1-p), as PyTorch in training mode); avgpool counts zero padding in the divisor as PyTorch's
count_include_pad=True, but not the part of a ceil_mode window beyond the padding; maxpool ignores padding;
conv_transpose, upsample (nearest, bilinear with or without align_corners), lrn (torch.nn.LocalResponseNorm: alpha
divided by size) and channel_shuffle follow PyTorch; squeeze_excitation is torchvision's six layers with its
parameter names (fc1.weight, fc1.bias, fc2.weight, fc2.bias); split has one output per chunk (`rule.many`).
A layer type without a rule here is refused by `cnncalc grad`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..layers import Layer, Shape
from .activations import ACTIVATIONS

Params = dict[str, np.ndarray]
BN_EPS = 1e-5


@dataclass(frozen=True)
class Parameter:
    """A trainable tensor: its shape, its role ("weight" is drawn by the init scheme, "bias" and "beta" start at 0
    (or, by the pytorch scheme, a bias is drawn too), "gamma" at 1) and PyTorch's fans of a weight."""

    shape: tuple[int, ...]
    role: str
    fan_in: int = 0
    fan_out: int = 0
    activation: str | None = None
    """The activation that follows this tensor inside its layer (squeeze_excitation's fc1 and fc2), for `auto`;
    None: the one that follows the layer."""


def _no_parameters(layer: Layer, shapes: Sequence[Shape]) -> dict[str, Parameter]:
    return {}


@dataclass(frozen=True)
class Rule:
    forward: Callable[[Layer, Sequence[np.ndarray], Params, np.random.Generator], tuple[np.ndarray, Any]]
    backward: Callable[[Layer, Any, Any, Params], tuple[list[np.ndarray], Params]]  # g: an array (a tuple: many)
    parameters: Callable[[Layer, Sequence[Shape]], dict[str, Parameter]] = field(default=_no_parameters)
    many: bool = False
    """A layer of several outputs (split): forward returns a tuple of them, backward takes a tuple of their
    gradients (zeros for an output no layer reads)."""


RULES: dict[str, Rule] = {}
"""YAML type -> its rule. The layer types `cnncalc grad` supports are exactly these keys."""


def _register(name: str, forward: Callable, backward: Callable, parameters: Callable = _no_parameters,
              many: bool = False) -> None:
    if name in RULES:
        raise RuntimeError(f"grad rule {name!r} registered twice")
    RULES[name] = Rule(forward, backward, parameters, many)


# ------------------------------------------------------------------------------------------------- activations

def _act_forward(name: str, z: np.ndarray, slope: float = 0.01) -> tuple[np.ndarray, Any]:
    if name == "none":
        return z, None
    y = ACTIVATIONS[name].forward(z, slope)
    return y, (z, y)


def _act_backward(name: str, saved: Any, g: np.ndarray, slope: float = 0.01) -> np.ndarray:
    if name == "none":
        return g
    z, y = saved
    return ACTIVATIONS[name].backward(z, y, g, slope)


def _slope(layer: Layer) -> float:
    return float(getattr(layer, "slope", 0.01))


for _name in ACTIVATIONS:
    _register(_name, lambda layer, xs, p, rng: _act_forward(layer.type_name, xs[0], _slope(layer)),
              lambda layer, saved, g, p: ([_act_backward(layer.type_name, saved, g, _slope(layer))], {}))


# --------------------------------------------------------------------------------------------------- linear

def _linear_parameters(layer: Any, shapes: Sequence[Shape]) -> dict[str, Parameter]:
    features = math.prod(int(d) for d in shapes[0])
    out = {"weight": Parameter((layer.out, features), "weight", features, layer.out)}
    if layer.bias:
        out["bias"] = Parameter((layer.out,), "bias", features, layer.out)
    return out


def _linear_forward(layer: Any, xs, p, rng):
    x = xs[0].reshape(len(xs[0]), -1)
    z = x @ p["weight"].T
    if "bias" in p:
        z = z + p["bias"]
    y, act = _act_forward(layer.activation, z)
    return y, (xs[0].shape, x, act)


def _linear_backward(layer: Any, saved, g, p):
    shape, x, act = saved
    dz = _act_backward(layer.activation, act, g)
    grads = {"weight": dz.T @ x}
    if "bias" in p:
        grads["bias"] = dz.sum(axis=0)
    return [(dz @ p["weight"]).reshape(shape)], grads


_register("linear", _linear_forward, _linear_backward, _linear_parameters)


# ----------------------------------------------------------------------------------------------------- conv

def _taps(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], out: tuple[int, int]):
    """(tap index, the slices of the padded input it reads for every output position), one per kernel tap."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            yield i * kernel[1] + j, (slice(None), slice(None),
                                      slice(i * dilation[0], i * dilation[0] + stride[0] * (out[0] - 1) + 1, stride[0]),
                                      slice(j * dilation[1], j * dilation[1] + stride[1] * (out[1] - 1) + 1, stride[1]))


def _geometry(layer: Any, x: np.ndarray):
    """(windows per axis, output size, padding per side with the extra a ceil_mode window needs)."""
    rows, cols = layer.windows(x.shape[1:])
    out = (int(rows.out_size(x.shape[2])), int(cols.out_size(x.shape[3])))
    pads = []
    for axis, win in enumerate((rows, cols)):
        size = x.shape[2 + axis]
        need = (out[axis] - 1) * win.stride + win.span
        pads.append((int(win.before), max(int(win.after), need - size - int(win.before))))
    return (rows, cols), out, pads


def _padded(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]), constant_values=value)


def _unpad(dxp: np.ndarray, pads, shape) -> np.ndarray:
    return dxp[:, :, pads[0][0]:pads[0][0] + shape[2], pads[1][0]:pads[1][0] + shape[3]]


def _conv_parameters(layer: Any, shapes: Sequence[Shape]) -> dict[str, Parameter]:
    c = int(shapes[0][0])
    kh, kw = layer.kernel
    fan_in, fan_out = c // layer.groups * kh * kw, layer.out * kh * kw  # PyTorch's fans (fan_out ignores groups)
    out = {"weight": Parameter((layer.out, c // layer.groups, kh, kw), "weight", fan_in, fan_out)}
    if layer.bias:
        out["bias"] = Parameter((layer.out,), "bias", fan_in, fan_out)
    return out


def _conv_forward(layer: Any, xs, p, rng):
    x = xs[0]
    n, c, _, _ = x.shape
    _, (oh, ow), pads = _geometry(layer, x)
    xp = _padded(x, pads)
    kh, kw = layer.kernel
    groups = layer.groups
    col = np.empty((n, c, kh * kw, oh, ow))
    for t, where in _taps(layer.kernel, layer.stride, layer.dilation, (oh, ow)):
        col[:, :, t] = xp[where]
    col = col.reshape(n, groups, c // groups * kh * kw, oh * ow)
    w = p["weight"].reshape(groups, layer.out // groups, -1)
    z = np.matmul(w, col).reshape(n, layer.out, oh, ow)
    if "bias" in p:
        z = z + p["bias"][:, None, None]
    y, act = _act_forward(layer.activation, z)
    return y, (x.shape, xp.shape, pads, col, act)


def _conv_backward(layer: Any, saved, g, p):
    shape, padded_shape, pads, col, act = saved
    n, c = shape[0], shape[1]
    dz = _act_backward(layer.activation, act, g)
    oh, ow = dz.shape[2:]
    groups = layer.groups
    dzg = dz.reshape(n, groups, layer.out // groups, oh * ow)
    grads = {"weight": np.matmul(dzg, col.transpose(0, 1, 3, 2)).sum(axis=0).reshape(p["weight"].shape)}
    if "bias" in p:
        grads["bias"] = dz.sum(axis=(0, 2, 3))
    w = p["weight"].reshape(groups, layer.out // groups, -1)
    dcol = np.matmul(w.transpose(0, 2, 1), dzg).reshape(n, c, -1, oh, ow)
    dxp = np.zeros(padded_shape)
    for t, where in _taps(layer.kernel, layer.stride, layer.dilation, (oh, ow)):
        dxp[where] += dcol[:, :, t]
    return [_unpad(dxp, pads, shape)], grads


_register("conv", _conv_forward, _conv_backward, _conv_parameters)


# ---------------------------------------------------------------------------------------------------- pools

def _maxpool_forward(layer: Any, xs, p, rng):
    x = xs[0]
    _, out, pads = _geometry(layer, x)
    xp = _padded(x, pads, -np.inf)
    taps = list(_taps(layer.kernel, layer.stride or layer.kernel, layer.dilation, out))
    stacked = np.stack([xp[where] for _, where in taps])
    index = stacked.argmax(axis=0)  # the first maximum, as PyTorch
    y = np.take_along_axis(stacked, index[None], axis=0)[0]
    return y, (x.shape, xp.shape, pads, taps, index)


def _maxpool_backward(layer: Any, saved, g, p):
    shape, padded_shape, pads, taps, index = saved
    dxp = np.zeros(padded_shape)
    for t, where in taps:
        dxp[where] += g * (index == t)
    return [_unpad(dxp, pads, shape)], {}


def _avg_divisor(windows, out, shape) -> np.ndarray:
    """Per output position, the taps inside the input and its padding (PyTorch: (hend - hstart) * (wend - wstart)
    with hend = min(hstart + k, H + pad))."""
    counts = []
    for axis, win in enumerate(windows):
        start = np.arange(out[axis]) * win.stride - int(win.before)
        end = np.minimum(start + win.kernel, shape[2 + axis] + int(win.after))
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :]).astype(float)


def _avgpool_forward(layer: Any, xs, p, rng):
    x = xs[0]
    windows, out, pads = _geometry(layer, x)
    xp = _padded(x, pads)
    taps = list(_taps(layer.kernel, layer.stride or layer.kernel, (1, 1), out))
    divisor = _avg_divisor(windows, out, x.shape)
    total = np.zeros(x.shape[:2] + out)
    for _, where in taps:
        total += xp[where]
    return total / divisor, (x.shape, xp.shape, pads, taps, divisor)


def _avgpool_backward(layer: Any, saved, g, p):
    shape, padded_shape, pads, taps, divisor = saved
    dxp = np.zeros(padded_shape)
    share = g / divisor
    for _, where in taps:
        dxp[where] += share
    return [_unpad(dxp, pads, shape)], {}


_register("maxpool", _maxpool_forward, _maxpool_backward)
_register("avgpool", _avgpool_forward, _avgpool_backward)


def _global_max_forward(layer, xs, p, rng):
    x = xs[0]
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    index = flat.argmax(axis=2)
    return np.take_along_axis(flat, index[..., None], axis=2).reshape(x.shape[0], x.shape[1], 1, 1), (x.shape, index)


def _global_max_backward(layer, saved, g, p):
    shape, index = saved
    dx = np.zeros((shape[0], shape[1], shape[2] * shape[3]))
    np.put_along_axis(dx, index[..., None], g.reshape(shape[0], shape[1], 1), axis=2)
    return [dx.reshape(shape)], {}


_register("global_avgpool", lambda layer, xs, p, rng: (xs[0].mean(axis=(2, 3), keepdims=True), xs[0].shape),
          lambda layer, shape, g, p: ([np.broadcast_to(g / (shape[2] * shape[3]), shape).copy()], {}))
_register("global_maxpool", _global_max_forward, _global_max_backward)


def _adaptive_windows(layer: Any, shape: tuple[int, ...]):
    """(output row, output col, input rows, input cols) of every window, PyTorch's adaptive pooling windows."""
    from ..layers.pool import adaptive_reads
    rows, cols = (adaptive_reads(shape[2 + axis], layer.output_size[axis]) for axis in (0, 1))
    return [(i, j, slice(r.start, r.stop), slice(c.start, c.stop)) for i, r in enumerate(rows)
            for j, c in enumerate(cols)]


def _adaptive_avg_forward(layer, xs, p, rng):
    x = xs[0]
    y = np.empty(x.shape[:2] + tuple(layer.output_size))
    for i, j, rows, cols in _adaptive_windows(layer, x.shape):
        y[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return y, x.shape


def _adaptive_avg_backward(layer, shape, g, p):
    dx = np.zeros(shape)
    for i, j, rows, cols in _adaptive_windows(layer, shape):
        dx[:, :, rows, cols] += g[:, :, i, j][:, :, None, None] / ((rows.stop - rows.start) * (cols.stop - cols.start))
    return [dx], {}


def _adaptive_max_forward(layer, xs, p, rng):
    x = xs[0]
    n, c = x.shape[:2]
    y = np.empty((n, c) + tuple(layer.output_size))
    picks = {}
    for i, j, rows, cols in _adaptive_windows(layer, x.shape):
        window = x[:, :, rows, cols].reshape(n, c, -1)
        picks[i, j] = index = window.argmax(axis=2)  # the first maximum, as PyTorch
        y[:, :, i, j] = np.take_along_axis(window, index[..., None], axis=2)[..., 0]
    return y, (x.shape, picks)


def _adaptive_max_backward(layer, saved, g, p):
    shape, picks = saved
    n, c = shape[:2]
    dx = np.zeros(shape)
    for i, j, rows, cols in _adaptive_windows(layer, shape):
        window = np.zeros((n, c, (rows.stop - rows.start) * (cols.stop - cols.start)))
        np.put_along_axis(window, picks[i, j][..., None], g[:, :, i, j][..., None], axis=2)
        dx[:, :, rows, cols] += window.reshape(n, c, rows.stop - rows.start, cols.stop - cols.start)
    return [dx], {}


_register("adaptive_avgpool", _adaptive_avg_forward, _adaptive_avg_backward)
_register("adaptive_maxpool", _adaptive_max_forward, _adaptive_max_backward)


# ------------------------------------------------------------------------------------------------ batchnorm

def _bn_parameters(layer: Layer, shapes: Sequence[Shape]) -> dict[str, Parameter]:
    c = int(shapes[0][0])
    return {"weight": Parameter((c,), "gamma"), "bias": Parameter((c,), "beta")}


def _bn_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(axes the statistics run over, the shape a per-channel vector broadcasts as)."""
    if x.ndim == 2:
        return (0,), (1, -1)
    return (0, 2, 3), (1, -1, 1, 1)


def _bn_forward(layer, xs, p, rng):
    x = xs[0]
    axes, view = _bn_axes(x)
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + BN_EPS)  # biased variance, as PyTorch normalises
    xhat = (x - mean) * inv_std
    return p["weight"].reshape(view) * xhat + p["bias"].reshape(view), (xhat, inv_std)


def _bn_backward(layer, saved, g, p):
    xhat, inv_std = saved
    axes, view = _bn_axes(xhat)
    m = xhat.size // xhat.shape[1]
    dxhat = g * p["weight"].reshape(view)
    dx = inv_std / m * (m * dxhat - dxhat.sum(axis=axes, keepdims=True)
                        - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return [dx], {"weight": (g * xhat).sum(axis=axes), "bias": g.sum(axis=axes)}


_register("batchnorm", _bn_forward, _bn_backward, _bn_parameters)


# ------------------------------------------------------------------------------------- structure and dropout

def _dropout_forward(layer, xs, p, rng):
    x = xs[0]
    keep = 1.0 - layer.p
    mask = (rng.random(x.shape) < keep) / keep if keep > 0 else np.zeros(x.shape)
    return x * mask, mask


def _concat_backward(layer, sizes, g, p):
    return list(np.split(g, np.cumsum(sizes)[:-1], axis=1)), {}


_register("dropout", _dropout_forward, lambda layer, mask, g, p: ([g * mask], {}))
_register("identity", lambda layer, xs, p, rng: (xs[0], None), lambda layer, saved, g, p: ([g], {}))
_register("add", lambda layer, xs, p, rng: (sum(xs[1:], xs[0]), len(xs)), lambda layer, count, g, p: ([g] * count, {}))
_register("concat", lambda layer, xs, p, rng: (np.concatenate(xs, axis=1), [x.shape[1] for x in xs]), _concat_backward)
_register("flatten", lambda layer, xs, p, rng: (xs[0].reshape(len(xs[0]), -1), xs[0].shape),
          lambda layer, shape, g, p: ([g.reshape(shape)], {}))


# ------------------------------------------------------------------------------------------- conv_transpose

def _conv_transpose_parameters(layer: Any, shapes: Sequence[Shape]) -> dict[str, Parameter]:
    c = int(shapes[0][0])
    kh, kw = layer.kernel
    # PyTorch's weight (in, out/groups, kh, kw); its fans read dims 1 and 0: fan_in = out/groups*kh*kw, fan_out =
    # in*kh*kw (torch.nn.init._calculate_fan_in_and_fan_out).
    fan_in, fan_out = layer.out // layer.groups * kh * kw, c * kh * kw
    out = {"weight": Parameter((c, layer.out // layer.groups, kh, kw), "weight", fan_in, fan_out)}
    if layer.bias:
        out["bias"] = Parameter((layer.out,), "bias", fan_in, fan_out)
    return out


def _conv_transpose_full(layer: Any, size: tuple[int, int]) -> tuple[int, int]:
    """The output before cropping: (n-1)*s + d*(k-1) + 1 + output_padding per axis; `padding` is cut from both
    sides of it (output_padding stays at the bottom/right), as PyTorch's ConvTranspose2d."""
    return tuple((n - 1) * s + d * (k - 1) + 1 + op for n, s, d, k, op in  # type: ignore[return-value]
                 zip(size, layer.stride, layer.dilation, layer.kernel, layer.output_padding))


def _conv_transpose_forward(layer: Any, xs, p, rng):
    """The adjoint of conv: every input element times every tap, added at x*s - p + d*j; then bias, activation."""
    x = xs[0]
    n, c, h, w = x.shape
    groups, (kh, kw) = layer.groups, layer.kernel
    per_group = layer.out // groups
    xg = x.reshape(n, groups, c // groups, h * w)
    wg = p["weight"].reshape(groups, c // groups, per_group * kh * kw)
    col = np.matmul(wg.transpose(0, 2, 1), xg).reshape(n, layer.out, kh * kw, h, w)
    full = np.zeros((n, layer.out, *_conv_transpose_full(layer, (h, w))))
    for t, where in _taps(layer.kernel, layer.stride, layer.dilation, (h, w)):
        full[where] += col[:, :, t]
    (ph, pw), oh, ow = layer.padding, full.shape[2] - 2 * layer.padding[0], full.shape[3] - 2 * layer.padding[1]
    z = full[:, :, ph:ph + oh, pw:pw + ow]
    if "bias" in p:
        z = z + p["bias"][:, None, None]
    y, act = _act_forward(layer.activation, z)
    return y, (x, full.shape, act)


def _conv_transpose_backward(layer: Any, saved, g, p):
    x, full_shape, act = saved
    n, c, h, w = x.shape
    groups, (kh, kw) = layer.groups, layer.kernel
    per_group = layer.out // groups
    dz = _act_backward(layer.activation, act, g)
    dfull = np.zeros(full_shape)
    (ph, pw) = layer.padding
    dfull[:, :, ph:ph + dz.shape[2], pw:pw + dz.shape[3]] = dz
    taps = np.empty((n, layer.out, kh * kw, h, w))
    for t, where in _taps(layer.kernel, layer.stride, layer.dilation, (h, w)):
        taps[:, :, t] = dfull[where]
    dcol = taps.reshape(n, groups, per_group * kh * kw, h * w)
    xg = x.reshape(n, groups, c // groups, h * w)
    grads = {"weight": np.matmul(xg, dcol.transpose(0, 1, 3, 2)).sum(axis=0).reshape(p["weight"].shape)}
    if "bias" in p:
        grads["bias"] = dz.sum(axis=(0, 2, 3))
    wg = p["weight"].reshape(groups, c // groups, per_group * kh * kw)
    return [np.matmul(wg, dcol).reshape(x.shape)], grads


_register("conv_transpose", _conv_transpose_forward, _conv_transpose_backward, _conv_transpose_parameters)


# ------------------------------------------------------------------------------------------- pad, upsample

def _pad_forward(layer: Any, xs, p, rng):
    x = xs[0]
    sides = tuple((int(a), int(b)) for a, b in layer.sides(x.shape[1:]))
    return _padded(x, sides), (sides, x.shape)


def _pad_backward(layer: Any, saved, g, p):
    sides, shape = saved
    return [_unpad(g, sides, shape).copy()], {}


_register("pad", _pad_forward, _pad_backward)


def _interpolation(layer: Any, size: int, out: int, axis: int) -> np.ndarray:
    """The (out x size) matrix A of one axis, y = A x: PyTorch's index rules. nearest: src = floor(dst / scale)
    (given `scale`) or floor(dst * size / out), clipped to size - 1, in exact integers as the layer states them.
    bilinear (area_pixel_compute_source_index): src = dst * (size-1)/(out-1) with align_corners, else
    max((dst + 0.5) / scale - 0.5, 0) (1/scale read as size/out given `size`); weights 1 - f and f on floor(src)
    and the next position (the last position alone at the edge), f = src - floor(src)."""
    matrix = np.zeros((out, size))
    for dst in range(out):
        if layer.mode == "nearest":
            src = dst // layer.scale[axis] if layer.scale is not None else dst * size // out
            matrix[dst, min(src, size - 1)] = 1.0
            continue
        if layer.align_corners:
            real = dst * (size - 1) / (out - 1) if out > 1 else 0.0
        else:
            ratio = 1.0 / layer.scale[axis] if layer.scale is not None else size / out
            real = max((dst + 0.5) * ratio - 0.5, 0.0)
        low = min(int(real), size - 1)
        high = low + 1 if low < size - 1 else low
        frac = real - low
        matrix[dst, low] += 1.0 - frac
        matrix[dst, high] += frac
    return matrix


def _upsample_forward(layer: Any, xs, p, rng):
    x = xs[0]
    oh, ow = (x.shape[2] * layer.scale[0], x.shape[3] * layer.scale[1]) if layer.size is None else layer.size
    rows, cols = _interpolation(layer, x.shape[2], oh, 0), _interpolation(layer, x.shape[3], ow, 1)
    return rows @ x @ cols.T, (rows, cols)


_register("upsample", _upsample_forward, lambda layer, saved, g, p: ([saved[0].T @ g @ saved[1]], {}))


# ------------------------------------------------------------------------------ mul, split, channel_shuffle

def _mul_backward(layer: Any, inputs, g, p):
    """dL/dx_k = g times the other inputs, summed over the axes x_k is broadcast along (a C x 1 x 1 gate)."""
    grads = []
    for k, x in enumerate(inputs):
        others = g
        for m, other in enumerate(inputs):
            if m != k:
                others = others * other
        axes = tuple(a for a in range(others.ndim) if x.shape[a] == 1 and others.shape[a] != 1)
        grads.append(others.sum(axis=axes, keepdims=True) if axes else others)
    return grads, {}


_register("mul", lambda layer, xs, p, rng: (math.prod(xs[1:], start=xs[0]), list(xs)), _mul_backward)


def _split_forward(layer: Any, xs, p, rng):
    x = xs[0]
    c = x.shape[1]
    sizes = layer.sizes if layer.sizes is not None else (c // layer.chunks,) * layer.chunks
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=1)), None


_register("split", _split_forward, lambda layer, saved, gs, p: ([np.concatenate(gs, axis=1)], {}), many=True)


def _shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    """PyTorch's channel_shuffle: view (N, groups, C/groups, H, W), swap those two axes, flatten them back."""
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).swapaxes(1, 2).reshape(x.shape)


_register("channel_shuffle", lambda layer, xs, p, rng: (_shuffle(xs[0], layer.groups), None),
          lambda layer, saved, g, p: ([_shuffle(g, g.shape[1] // layer.groups)], {}))  # the inverse permutation


# -------------------------------------------------------------------------------------------------------- lrn

def _channel_window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """sum of a[:, j] for j in i-before .. i+after (channels beyond the edge as zeros), for every channel i."""
    padded = np.pad(a, ((0, 0), (before + 1, after)) + ((0, 0),) * (a.ndim - 2))
    total = np.cumsum(padded, axis=1)
    return total[:, before + after + 1:] - total[:, :a.shape[1]]


def _lrn_forward(layer: Any, xs, p, rng):
    """torch.nn.LocalResponseNorm: s_i = k + alpha/size * sum of x_j^2 over channels i - size//2 .. i + (size-1)//2,
    y_i = x_i * s_i^-beta."""
    x = xs[0]
    s = layer.k + layer.alpha / layer.size * _channel_window_sum(x * x, layer.size // 2, (layer.size - 1) // 2)
    y = x * s ** -layer.beta
    return y, (x, s, y)


def _lrn_backward(layer: Any, saved, g, p):
    """dL/dx_j = g_j s_j^-beta - 2*alpha*beta/size * x_j * sum over the i whose window holds j of g_i y_i / s_i."""
    x, s, y = saved
    back = _channel_window_sum(g * y / s, (layer.size - 1) // 2, layer.size // 2)  # i in j - (size-1)//2 .. j + size//2
    return [g * s ** -layer.beta - 2.0 * layer.alpha * layer.beta / layer.size * x * back], {}


_register("lrn", _lrn_forward, _lrn_backward)


# ----------------------------------------------------------------------------------------- squeeze_excitation

def _se_parameters(layer: Any, shapes: Sequence[Shape]) -> dict[str, Parameter]:
    """torchvision's SqueezeExcitation names: fc1 (conv 1x1 C -> squeeze, followed by `activation`) and fc2 (conv
    1x1 squeeze -> C, followed by `gate`), both with bias."""
    c, s = int(shapes[0][0]), layer.squeeze
    return {"fc1.weight": Parameter((s, c, 1, 1), "weight", c, s, layer.activation),
            "fc1.bias": Parameter((s,), "bias", c, s),
            "fc2.weight": Parameter((c, s, 1, 1), "weight", s, c, layer.gate),
            "fc2.bias": Parameter((c,), "bias", s, c)}


def _se_forward(layer: Any, xs, p, rng):
    """The six layers: mean over H x W, fc1, activation, fc2, gate, x times the gate per channel."""
    x = xs[0]
    pooled = x.mean(axis=(2, 3))
    hidden, act = _act_forward(layer.activation, pooled @ p["fc1.weight"][:, :, 0, 0].T + p["fc1.bias"])
    gate, gated = _act_forward(layer.gate, hidden @ p["fc2.weight"][:, :, 0, 0].T + p["fc2.bias"])
    return x * gate[:, :, None, None], (x, pooled, act, hidden, gated, gate)


def _se_backward(layer: Any, saved, g, p):
    x, pooled, act, hidden, gated, gate = saved
    dz2 = _act_backward(layer.gate, gated, (g * x).sum(axis=(2, 3)))
    dz1 = _act_backward(layer.activation, act, dz2 @ p["fc2.weight"][:, :, 0, 0])
    dpooled = dz1 @ p["fc1.weight"][:, :, 0, 0]
    dx = g * gate[:, :, None, None] + dpooled[:, :, None, None] / (x.shape[2] * x.shape[3])
    return [dx], {"fc1.weight": (dz1.T @ pooled)[:, :, None, None], "fc1.bias": dz1.sum(axis=0),
                  "fc2.weight": (dz2.T @ hidden)[:, :, None, None], "fc2.bias": dz2.sum(axis=0)}


_register("squeeze_excitation", _se_forward, _se_backward, _se_parameters)
