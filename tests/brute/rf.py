"""Brute-force receptive fields by literal dependency propagation (numpy).

Two independent mechanisms:

* ``forward_deps`` -- forward propagation on the real image.  For every layer
  and axis a boolean matrix ``dep[o, p]`` says whether output index ``o``
  depends on input pixel ``p`` of that axis.  The network input is the
  identity; each conv/pool ORs the rows of its window taps (padded positions,
  and ceil-mode positions past the padding, contribute nothing); merges OR
  their inputs; global pool / flatten / linear OR everything.  Clipped bounds
  are min/max of the True entries.

* ``backward_deps`` -- backward propagation of index sets from one output
  index to the network input.  In ``clipped=False`` mode every position a
  window touches is kept even when it lies in the padding (the padding is
  treated as real pixels of an unbounded virtual image, i.e. the input
  embedded in an infinitely large canvas), which gives the unclipped bounds
  ``S*i-P .. S*i-P+r-1``.  With ``clipped=True`` out-of-range positions are
  dropped at every layer, reproducing ``forward_deps``.

All layers are separable per axis and channel-agnostic for spatial
dependencies (groups only mix channels), so rows and columns are tracked
independently.
"""
import numpy as np

from . import geom


def forward_deps(spec):
    """{name: (dep_rows, dep_cols) or ("global", None)} on the real image."""
    shp, win = geom.shapes(spec)
    _, H, W = shp["input"]
    deps = {"input": (np.eye(H, dtype=bool), np.eye(W, dtype=bool))}
    for name, e, ins in geom.walk(spec):
        t = e["type"]
        src = [deps[i] for i in ins]
        if (t in geom.GLOBAL or any(s[0] is None for s in src)
                or (t in geom.ADAPTIVE and shp[name][1:] == (1, 1))):
            deps[name] = (None, None)   # global: depends on everything
            continue
        if t in geom.SPATIAL_WINDOW:
            res = []
            for ax in (0, 1):
                din = src[0][ax]
                starts, k, d, n, _, _ = win[name][ax]
                dout = np.zeros((len(starts), din.shape[1]), dtype=bool)
                for o, st in enumerate(starts):
                    for tap in range(k):
                        p = st + d * tap
                        if 0 <= p < n:           # padding depends on nothing
                            dout[o] |= din[p]
                res.append(dout)
            deps[name] = tuple(res)
        elif t in geom.IDENTITY:
            deps[name] = src[0]
        elif t in geom.ADAPTIVE or t in geom.RESAMPLE:
            res = []
            for ax in (0, 1):
                din = src[0][ax]
                dout = np.zeros((len(win[name][ax]), din.shape[1]), dtype=bool)
                for o, reads in enumerate(win[name][ax]):
                    for p in reads:
                        dout[o] |= din[p]
                res.append(dout)
            deps[name] = tuple(res)
        elif t in geom.MERGE:
            _, h, w = shp[name]
            # a C x 1 x 1 input of mul is broadcast: every position reads its position 0
            r = np.zeros((h, src[0][0].shape[1]), dtype=bool)
            c = np.zeros((w, src[0][1].shape[1]), dtype=bool)
            for s in src:
                r |= s[0] if s[0].shape[0] == h else s[0][[0] * h]
                c |= s[1] if s[1].shape[0] == w else s[1][[0] * w]
            deps[name] = (r, c)
        else:
            raise NotImplementedError(t)
    return deps


def clipped_bounds_forward(deps, name, i, j):
    r, c = deps[name]
    rows = np.nonzero(r[i])[0]
    cols = np.nonzero(c[j])[0]
    rb = (int(rows.min()), int(rows.max())) if len(rows) else None
    cb = (int(cols.min()), int(cols.max())) if len(cols) else None
    return rb, cb


def backward_deps(spec, name, index, axis, clipped):
    """Set (sorted np array) of network-input positions on ``axis`` that
    output ``index`` (may lie outside the real output range when unclipped)
    of layer ``name`` depends on."""
    shp, win = geom.shapes(spec)
    entries = list(geom.walk(spec))
    pos = {n: k for k, (n, _, _) in enumerate(entries)}
    need = {name: np.array([index], dtype=np.int64)}
    result = np.zeros(0, dtype=np.int64)
    for nm, e, ins in reversed(entries[: pos[name] + 1]):
        if nm not in need:
            continue
        cur = need.pop(nm)
        t = e["type"]
        if t in geom.GLOBAL or t in geom.ADAPTIVE:
            raise ValueError("global / adaptive layer on the path: %s" % nm)
        if t in geom.SPATIAL_WINDOW:
            starts, k, d, n, lo, _ = win[nm][axis]
            s = geom.window_params(e)[1][axis]
            # window start of output o, also for virtual o beyond the real range
            first = -lo
            if len(starts) > 1:
                assert starts[1] - starts[0] == s
            assert starts[0] == first
            taps = first + s * cur[:, None] + d * np.arange(k)[None, :]
            nxt = np.unique(taps.ravel())
            if clipped:
                nxt = nxt[(nxt >= 0) & (nxt < n)]
        else:
            nxt = cur
        for i in ins:
            if t == "mul" and shp[i][1 + axis] == 1 and shp[nm][1 + axis] > 1:
                nxt_i = np.array([0], dtype=np.int64)     # broadcast input
            else:
                nxt_i = nxt
            if i == "input":
                result = np.union1d(result, nxt_i)
            elif i in need:
                need[i] = np.union1d(need[i], nxt_i)
            else:
                need[i] = nxt_i
    return result


def bounds(arr):
    if len(arr) == 0:
        return None
    return int(arr.min()), int(arr.max())


def rf_at(spec, name, i, j):
    """Brute-force `at` document for layer ``name`` output (i, j)."""
    rows_u = bounds(backward_deps(spec, name, i, 0, clipped=False))
    cols_u = bounds(backward_deps(spec, name, j, 1, clipped=False))
    deps = forward_deps(spec)
    rows_c, cols_c = clipped_bounds_forward(deps, name, i, j)
    return {"rows": rows_u, "cols": cols_u, "rows_clipped": rows_c, "cols_clipped": cols_c}


def layer_rf(spec, name, axis, probe=range(-3, 6)):
    """(size, jump, padding) of a layer on one axis if the unclipped
    dependency bounds are affine in the output index (u(i) = J*i - P,
    v(i) = u(i) + r - 1) over the probed virtual indices, else None."""
    us, vs = [], []
    for i in probe:
        b = bounds(backward_deps(spec, name, i, axis, clipped=False))
        us.append(b[0])
        vs.append(b[1])
    jumps = {us[k + 1] - us[k] for k in range(len(us) - 1)}
    sizes = {v - u + 1 for u, v in zip(us, vs)}
    if len(jumps) != 1 or len(sizes) != 1:
        return None
    p0 = list(probe).index(0)
    return sizes.pop(), jumps.pop(), -us[p0]


def is_global(spec, name):
    deps = forward_deps(spec)
    return deps[name][0] is None
