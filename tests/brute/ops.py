"""Naive loop implementation of the layers on a counting number type.

Every arithmetic operation on ``Num`` increments a global counter; weights are
``Num`` objects with an id and every multiplication / addition that touches one
records it, so the parameter count of a layer is the number of distinct
weight objects touched.  The loops follow the "cnncalc" convention literally:

* conv / linear: ``acc = bias; acc += w*x`` per tap, or ``acc = w0*x0;
  acc += w*x`` without bias; padded positions are multiplied by a counting
  zero, so every output element does the full (C_in/groups)*kh*kw taps.
* maxpool: running max over the full window, positions outside the input
  (padding, ceil-mode overhang) are -inf candidates: kh*kw-1 comparisons.
* avgpool: sum of the full window (outside = counting zero) times 1/n.
* batchnorm (folded, inference): ``x*scale + shift``.
* add / mul: one op per element per extra input; activations: one evaluation.

Sizes must stay tiny: this is pure Python.
"""
from . import geom


class Counters:
    __slots__ = ("mults", "adds", "comparisons", "activations", "touched")

    def __init__(self):
        self.reset()

    def reset(self):
        self.mults = 0
        self.adds = 0
        self.comparisons = 0
        self.activations = 0
        self.touched = set()

    def snapshot(self):
        return {"mults": self.mults, "adds": self.adds, "comparisons": self.comparisons,
                "activations": self.activations, "params": len(self.touched)}


C = Counters()
_next_id = [0]


class Num:
    __slots__ = ("wid",)

    def __init__(self, wid=None):
        self.wid = wid

    def _touch(self, other):
        if self.wid is not None:
            C.touched.add(self.wid)
        if other.wid is not None:
            C.touched.add(other.wid)

    def __mul__(self, other):
        C.mults += 1
        self._touch(other)
        return Num()

    def __add__(self, other):
        C.adds += 1
        self._touch(other)
        return Num()

    def __gt__(self, other):
        C.comparisons += 1
        return False

    def activate(self):
        C.activations += 1
        return Num()


def weight():
    _next_id[0] += 1
    return Num(_next_id[0])


ZERO = Num()     # padding value (not a parameter)
NEG_INF = Num()  # maxpool padding candidate


def _conv(x, e, axes):
    cin = len(x)
    cout = int(e["out"])
    g = int(e.get("groups", 1))
    assert cin % g == 0 and cout % g == 0
    cg = cin // g
    (rs, kh, dh, nh, _, _), (cs, kw, dw, nw, _, _) = axes
    W = [[[[weight() for _ in range(kw)] for _ in range(kh)] for _ in range(cg)]
         for _ in range(cout)]
    use_bias = bool(e.get("bias", True))
    B = [weight() for _ in range(cout)] if use_bias else None
    act = e.get("activation", "none") not in (None, "none")
    out = []
    for co in range(cout):
        base = (co // (cout // g)) * cg
        plane = []
        for r0 in rs:
            row = []
            for c0 in cs:
                acc = B[co] if use_bias else None
                for ci in range(cg):
                    xc = x[base + ci]
                    wc = W[co][ci]
                    for a in range(kh):
                        r = r0 + dh * a
                        for b in range(kw):
                            c = c0 + dw * b
                            v = xc[r][c] if (0 <= r < nh and 0 <= c < nw) else ZERO
                            prod = wc[a][b] * v
                            acc = prod if acc is None else acc + prod
                if act:
                    acc = acc.activate()
                row.append(acc)
            plane.append(row)
        out.append(plane)
    return out


def _pool(x, e, axes, kind):
    (rs, kh, dh, nh, _, _), (cs, kw, dw, nw, _, _) = axes
    inv = Num()   # the constant 1/n (not a parameter)
    out = []
    for xc in x:
        plane = []
        for r0 in rs:
            row = []
            for c0 in cs:
                cand = []
                for a in range(kh):
                    r = r0 + dh * a
                    for b in range(kw):
                        c = c0 + dw * b
                        inside = 0 <= r < nh and 0 <= c < nw
                        if kind == "max":
                            cand.append(xc[r][c] if inside else NEG_INF)
                        else:
                            cand.append(xc[r][c] if inside else ZERO)
                if kind == "max":
                    m = cand[0]
                    for v in cand[1:]:
                        if v > m:
                            m = v
                else:
                    m = cand[0]
                    for v in cand[1:]:
                        m = m + v
                    m = m * inv
                row.append(m)
            plane.append(row)
        out.append(plane)
    return out


def _global_pool(x, kind):
    out = []
    for xc in x:
        cand = [v for row in xc for v in row]
        m = cand[0]
        for v in cand[1:]:
            if kind == "max":
                if v > m:
                    m = v
            else:
                m = m + v
        if kind == "avg":
            m = m * Num()
        out.append([[m]])
    return out


def _flat(x):
    if isinstance(x, list) and x and isinstance(x[0], list):
        res = []
        for v in x:
            res.extend(_flat(v))
        return res
    return list(x)


def _elementwise(xs, fn):
    if isinstance(xs[0], list):
        return [_elementwise([x[k] for x in xs], fn) for k in range(len(xs[0]))]
    return fn(xs)


def _linear(x, e):
    f = _flat(x)
    out = []
    use_bias = bool(e.get("bias", True))
    act = e.get("activation", "none") not in (None, "none")
    for _ in range(int(e["out"])):
        acc = weight() if use_bias else None
        for v in f:
            prod = weight() * v
            acc = prod if acc is None else acc + prod
        if act:
            acc = acc.activate()
        out.append(acc)
    return out


def _batchnorm(x):
    out = []
    for xc in x:
        scale, shift = weight(), weight()
        out.append([[v * scale + shift for v in row] for row in xc])
    return out


def _broadcast(xs):
    """Expand C x 1 x 1 inputs of mul to the full map (no arithmetic)."""
    full = max(xs, key=lambda x: len(x[0]) * len(x[0][0]))
    h, w = len(full[0]), len(full[0][0])
    res = []
    for x in xs:
        if len(x[0]) == 1 and len(x[0][0]) == 1 and (h, w) != (1, 1):
            x = [[[xc[0][0]] * w for _ in range(h)] for xc in x]
        res.append(x)
    return res


def _adaptive(x, wins, kind):
    rows, cols = wins
    out = []
    for xc in x:
        plane = []
        for rr in rows:
            row = []
            for cc in cols:
                cand = [xc[r][c] for r in rr for c in cc]
                m = cand[0]
                for v in cand[1:]:
                    if kind == "max":
                        if v > m:
                            m = v
                    else:
                        m = m + v
                if kind == "avg":
                    m = m * Num()
                row.append(m)
            plane.append(row)
        out.append(plane)
    return out


def _merge(xs, t):
    if t == "add":
        def fn(vs):
            acc = vs[0]
            for v in vs[1:]:
                acc = acc + v
            return acc
    else:
        def fn(vs):
            acc = vs[0]
            for v in vs[1:]:
                acc = acc * v
            return acc
    return _elementwise(xs, fn)


def _squeeze_excitation(x, e):
    """torchvision's SqueezeExcitation, literally: average, 1x1 conv to `squeeze`, activation, 1x1 conv back,
    gate, product with the input."""
    one = ((range(1), 1, 1, 1, 0, 0), (range(1), 1, 1, 1, 0, 0))  # a 1x1 kernel on a 1x1 map
    s = _global_pool(x, "avg")
    s = _conv(s, {"out": e["squeeze"]}, one)
    s = _elementwise([s], lambda vs: vs[0].activate())
    s = _conv(s, {"out": len(x)}, one)
    s = _elementwise([s], lambda vs: vs[0].activate())
    return _merge(_broadcast([x, s]), "mul")


def shape_of(x):
    s = []
    while isinstance(x, list):
        s.append(len(x))
        x = x[0]
    return tuple(s)


COUNTED = ({"conv", "pad", "maxpool", "avgpool", "global_avgpool", "global_maxpool", "batchnorm", "dropout",
            "identity", "flatten", "linear", "concat", "add", "mul", "squeeze_excitation"} | geom.ADAPTIVE
           | geom.ACTIVATIONS)
"""The layer types ``run`` executes (each a branch below)."""


def run(spec):
    """Run the spec on counting numbers.  Returns an ordered list of
    per-layer dicts {name, type, output, mults, adds, comparisons,
    activations, params}."""
    shp, win = geom.shapes(spec)
    c, h, w = shp["input"]
    vals = {"input": [[[Num() for _ in range(w)] for _ in range(h)] for _ in range(c)]}
    report = []
    for name, e, ins in geom.walk(spec):
        t = e["type"]
        xs = [vals[i] for i in ins]
        x = xs[0]
        C.reset()
        if t == "conv":
            y = _conv(x, e, win[name])
        elif t == "pad":
            (rs, _, _, nh, _, _), (cs, _, _, nw, _, _) = win[name]
            y = [[[xc[r][c] if (0 <= r < nh and 0 <= c < nw) else ZERO for c in cs] for r in rs]
                 for xc in x]
        elif t in geom.ADAPTIVE:
            y = _adaptive(x, win[name], t[9:12])
        elif t in ("maxpool", "avgpool"):
            y = _pool(x, e, win[name], t[:3])
        elif t == "global_avgpool":
            y = _global_pool(x, "avg")
        elif t == "global_maxpool":
            y = _global_pool(x, "max")
        elif t == "batchnorm":
            y = _batchnorm(x)
        elif t in geom.ACTIVATIONS:
            y = _elementwise([x], lambda vs: vs[0].activate())
        elif t in ("dropout", "identity"):
            y = x
        elif t == "flatten":
            y = _flat(x)
        elif t == "linear":
            y = _linear(x, e)
        elif t == "concat":
            y = [plane for xi in xs for plane in xi]
        elif t == "add":
            y = _merge(xs, t)
        elif t == "mul":
            y = _merge(_broadcast(xs), t)
        elif t == "squeeze_excitation":
            y = _squeeze_excitation(x, e)
        else:
            raise NotImplementedError(t)
        vals[name] = y
        rec = C.snapshot()
        rec.update(name=name, type=t, output=list(shape_of(y)))
        report.append(rec)
        C.reset()
    return report
