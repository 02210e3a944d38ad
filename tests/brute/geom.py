"""Literal per-axis window geometry for the brute-force reference models.

Everything here is deliberately naive: output sizes are found by *sliding* a
window along the (padded) axis and counting the placements, never by the
closed-form output-size formula.  Nothing is shared with cnncalc.

A spec is the parsed-YAML dict form with explicit layer mappings
(``{"name", "type", "input"/"inputs", ...}``); block instances, ``repeat`` and
the short forms are not supported here (the generator never produces them).
"""

SPATIAL_WINDOW = {"conv", "maxpool", "avgpool", "pad"}
ADAPTIVE = {"adaptive_avgpool", "adaptive_maxpool"}
IDENTITY = {
    "batchnorm", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu",
    "hardswish", "hardsigmoid", "softmax", "dropout", "identity",
}
ACTIVATIONS = {
    "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
    "hardsigmoid", "softmax",
}
MERGE = {"concat", "add", "mul"}
RESAMPLE = {"upsample", "conv_transpose"}
"""Layers given, like adaptive pools, by the list of input positions each output position reads."""
GLOBAL = {"global_avgpool", "global_maxpool", "flatten", "linear", "squeeze_excitation"}


def pair(v, default):
    if v is None:
        v = default
    if isinstance(v, (list, tuple)):
        assert len(v) == 2, v
        return int(v[0]), int(v[1])
    return int(v), int(v)


def tf_same_pads(n, k, s, d):
    """TF 'same': as many windows as stride steps that start inside the input,
    the missing pixels split with the odd one at the bottom/right."""
    span = d * (k - 1) + 1
    count = 0
    start = 0
    while start < n:          # one output per stride step starting inside the input
        count += 1
        start += s
    last_end = (count - 1) * s + span      # exclusive end of the last window, unpadded
    total = last_end - n
    if total < 0:
        total = 0
    lo = total // 2
    return lo, total - lo


def axis_pads(padding, axis, n, k, s, d):
    """(lo, hi) padding of one axis (axis 0 = rows, 1 = cols)."""
    if padding is None or padding == "valid":
        return 0, 0
    if padding == "same":
        return tf_same_pads(n, k, s, d)
    if padding == "half":  # PyTorch's usual choice: d*(k-1)//2 on each side
        return d * (k - 1) // 2, d * (k - 1) // 2
    if isinstance(padding, (list, tuple)):
        if len(padding) == 2:
            p = int(padding[axis])
            return p, p
        assert len(padding) == 4, padding
        t, b, l, r = (int(x) for x in padding)
        return (t, b) if axis == 0 else (l, r)
    p = int(padding)
    return p, p


def slide(n, k, s, d, lo, hi, ceil_mode=False):
    """Window start positions (in input coordinates, may be negative) obtained
    by sliding a window of k taps, dilation d, stride s over an axis of n
    pixels padded with lo before and hi after.

    floor mode: place windows while they fit inside the padded axis.
    ceil mode (PyTorch): place a window while the one a stride before it (for
    the first window, a virtual one) did not reach the last padded pixel, as
    long as the new window starts inside the input or the left padding; so a
    window may overhang the padded axis.
    """
    span = d * (k - 1) + 1
    padded_end = n + hi          # exclusive
    starts = []
    start = -lo
    while True:
        if not ceil_mode and start + span <= padded_end:
            starts.append(start)
        elif ceil_mode and start - s + span < padded_end and start < n:
            starts.append(start)
        else:
            break
        start += s
    return starts


def adaptive_windows(n, o):
    """PyTorch adaptive pooling: output i reads floor(i*n/o) .. ceil((i+1)*n/o)-1."""
    res = []
    for i in range(o):
        a = (i * n) // o
        b = -((-(i + 1) * n) // o)
        res.append(list(range(a, b)))
    return res


def layer_inputs(entry, prev):
    if "inputs" in entry:
        return list(entry["inputs"])
    if "input" in entry:
        return [entry["input"]]
    return [prev]


def window_params(entry):
    """kernel, stride, dilation pairs and ceil mode of a conv/pool entry."""
    t = entry["type"]
    if t == "pad":
        return (1, 1), (1, 1), (1, 1), False
    k = pair(entry.get("kernel"), 1)
    if t == "conv":
        s = pair(entry.get("stride"), 1)
    else:
        s = pair(entry.get("stride"), k)
    d = pair(entry.get("dilation"), 1)
    ceil_mode = bool(entry.get("ceil_mode", False)) if t != "conv" else False
    return k, s, d, ceil_mode


def input_shape(spec):
    inp = spec["input"]
    if isinstance(inp, dict):
        return (int(inp["channels"]), int(inp["height"]), int(inp["width"]))
    return tuple(int(x) for x in inp)


def walk(spec):
    """Yield (name, entry, input_names) in order, with defaults for inputs."""
    prev = "input"
    for entry in spec["layers"]:
        ins = layer_inputs(entry, prev)
        yield entry["name"], entry, ins
        prev = entry["name"]


def shapes(spec):
    """Output shape of every layer by literal sliding.  Returns
    {name: shape} with shape (C, H, W) for spatial maps, (F,) for flat ones,
    and per-layer per-axis window info {name: [(starts, k, d, n_in), ...]}."""
    out = {"input": input_shape(spec)}
    windows = {}
    for name, e, ins in walk(spec):
        t = e["type"]
        src = [out[i] for i in ins]
        x = src[0]
        if t in SPATIAL_WINDOW:
            c, h, w = x
            k, s, d, ceil_mode = window_params(e)
            axes = []
            for ax, n in ((0, h), (1, w)):
                lo, hi = axis_pads(e.get("padding", 0), ax, n, k[ax], s[ax], d[ax])
                st = slide(n, k[ax], s[ax], d[ax], lo, hi, ceil_mode)
                assert len(st) >= 1, (name, "empty output")
                axes.append((st, k[ax], d[ax], n, lo, hi))
            windows[name] = axes
            cout = int(e["out"]) if t == "conv" else c
            if t == "pad":
                assert e.get("padding") != "same"
            out[name] = (cout, len(axes[0][0]), len(axes[1][0]))
        elif t in IDENTITY:
            out[name] = x
        elif t == "concat":
            assert all(len(v) == 3 and v[1:] == x[1:] for v in src), src
            out[name] = (sum(v[0] for v in src), x[1], x[2])
        elif t == "add":
            assert all(v == x for v in src), src
            out[name] = x
        elif t == "mul":
            full = [v for v in src if v[1:] != (1, 1)] or [x]
            full = full[0]
            assert all(v == full or v == (full[0], 1, 1) for v in src), src
            out[name] = full
        elif t in ADAPTIVE:
            oh, ow = pair(e["output_size"], 1)
            windows[name] = [adaptive_windows(x[1], oh), adaptive_windows(x[2], ow)]
            out[name] = (x[0], oh, ow)
        elif t == "upsample":
            windows[name] = [upsample_reads(x[1 + ax], e, ax) for ax in (0, 1)]
            out[name] = (x[0], len(windows[name][0]), len(windows[name][1]))
        elif t == "conv_transpose":
            windows[name] = [scatter_reads(x[1 + ax], e, ax) for ax in (0, 1)]
            out[name] = (int(e["out"]), len(windows[name][0]), len(windows[name][1]))
        elif t in ("global_avgpool", "global_maxpool"):
            out[name] = (x[0], 1, 1)
        elif t == "flatten":
            f = 1
            for v in x:
                f *= v
            out[name] = (f,)
        elif t == "linear":
            out[name] = (int(e["out"]),)
        elif t == "squeeze_excitation":  # the input times a per-channel gate: its shape
            out[name] = x
        else:
            raise NotImplementedError(t)
    return out, windows


def upsample_reads(n, e, ax):
    """Nearest: repeat every input position `scale` times (or sample floor(o*n/out)); bilinear (PyTorch,
    align_corners=False): the two neighbours of the source coordinate (o+0.5)*n/out-0.5, clamped at 0."""
    import numpy as np
    if "scale" in e:
        out = n * pair(e["scale"], 1)[ax]
    else:
        out = pair(e["size"], 1)[ax]
    if e.get("mode", "nearest") == "nearest":
        if "scale" in e:
            return [[int(v)] for v in np.repeat(np.arange(n), out // n)]
        return [[min(o * n // out, n - 1)] for o in range(out)]
    reads = []
    for o in range(out):
        src = max((o + 0.5) * (n / out) - 0.5, 0.0)
        i0 = min(int(np.floor(src)), n - 1)
        i1 = min(i0 + 1, n - 1)
        reads.append(sorted({i0, i1}) if src - i0 > 0 else [i0])
    return reads


def scatter_reads(n, e, ax):
    """Transposed conv by literal scattering: input x, tap j lands on full position x*s + d*j; the output is the
    full map cropped by `padding` on both sides and extended by `output_padding` at the end."""
    k, s, d = pair(e.get("kernel"), 1)[ax], pair(e.get("stride"), 1)[ax], pair(e.get("dilation"), 1)[ax]
    p, op = pair(e.get("padding"), 0)[ax], pair(e.get("output_padding"), 0)[ax]
    full = {}
    for x in range(n):
        for j in range(k):
            full.setdefault(x * s + d * j, set()).add(x)
    length = max(full) + 1 - 2 * p + op
    return [sorted(full.get(o + p, ())) for o in range(length)]
