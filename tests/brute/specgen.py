"""Hypothesis strategies for random small valid cnncalc specs.

``specs()`` draws a dict in the parsed-YAML form (explicit ``name``, ``type``,
``input``/``inputs``); ``to_yaml`` turns it into spec text.  Networks are
chains and DAGs (branches merged by add / concat, skip connections) of up to
~12 layers: conv (kernel 1-7, stride 1-3, dilation 1-3, groups, padding int /
[h, w] / [t, b, l, r] / same / valid), max/avg pools (ceil_mode, padding),
batchnorm, activations, optionally a global-pool / flatten / linear head.
Validity (every output >= 1 pixel, equal shapes at merges) is ensured with the
brute-force sliding-window shapes of ``geom``.  The cumulative stride is capped
so that receptive fields stay small.
"""
import math

import yaml
from hypothesis import strategies as st

from . import geom

ACTS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
        "hardsigmoid"]


def to_yaml(spec):
    return yaml.safe_dump(spec, sort_keys=False, default_flow_style=None)


def _int_or_pair(draw, lo, hi, pair_prob=True):
    if pair_prob and draw(st.integers(0, 3)) == 0:
        return [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]
    return draw(st.integers(lo, hi))


def _as_pair(v):
    return (v[0], v[1]) if isinstance(v, list) else (v, v)


class _Gen:
    def __init__(self, draw, small, max_jump, zoo=False, adaptive=False):
        self.zoo = zoo
        self.adaptive_ok = adaptive
        self.draw = draw
        self.small = small
        self.max_jump = max_jump
        self.layers = []
        self.shape = {}
        self.jump = {}
        self.order = []
        self.count = 0

    def name(self, t):
        self.count += 1
        return "L%d_%s" % (self.count, t)

    def spatial_nodes(self):
        return [n for n in self.order if len(self.shape[n]) == 3]

    def pick_input(self):
        nodes = self.spatial_nodes()
        if len(nodes) == 1 or self.draw(st.integers(0, 3)) > 0:
            return nodes[-1]
        return nodes[self.draw(st.integers(0, len(nodes) - 1))]

    def add(self, entry, ins, stride=(1, 1)):
        """Append an entry if brute-force shapes are valid; returns name or None."""
        entry = dict(entry)
        if len(ins) == 1:
            entry["input"] = ins[0]
        else:
            entry["inputs"] = list(ins)
        trial = {"input": list(self.shape["input"]), "layers": self.layers + [entry]}
        try:
            shp, _ = geom.shapes(trial)
        except AssertionError:
            return None
        name = entry["name"]
        if len(shp[name]) == 3 and (shp[name][1] < 1 or shp[name][2] < 1):
            return None
        self.layers.append(entry)
        self.shape[name] = shp[name]
        jh = max(self.jump[i][0] for i in ins) * stride[0]
        jw = max(self.jump[i][1] for i in ins) * stride[1]
        self.jump[name] = (jh, jw)
        self.order.append(name)
        return name

    def cap_stride(self, src, s):
        sh, sw = _as_pair(s)
        jh, jw = self.jump[src]
        if jh * sh > self.max_jump or jw * sw > self.max_jump:
            return 1
        return s

    # ---- layer makers -------------------------------------------------
    def conv(self, src):
        d = self.draw
        c_in = self.shape[src][0]
        out = d(st.integers(1, 4 if self.small else 8))
        e = {"name": self.name("conv"), "type": "conv", "out": out}
        k = _int_or_pair(d, 1, 5 if self.small else 7)
        e["kernel"] = k
        s = self.cap_stride(src, _int_or_pair(d, 1, 3))
        if s != 1 or d(st.booleans()):
            e["stride"] = s
        dil = d(st.sampled_from([1, 1, 1, 2, 3, [1, 2], [3, 1]]))
        if dil != 1:
            e["dilation"] = dil
        pk = d(st.integers(0, 6))
        if pk == 0:
            e["padding"] = d(st.integers(0, 3))
        elif pk == 5:
            e["padding"] = "half"
        elif pk == 1:
            e["padding"] = [d(st.integers(0, 3)), d(st.integers(0, 3))]
        elif pk == 2:
            e["padding"] = [d(st.integers(0, 3)) for _ in range(4)]
        elif pk == 3:
            e["padding"] = "same"
        elif pk == 4:
            e["padding"] = "valid"
        g = math.gcd(c_in, out)
        divs = [x for x in range(1, g + 1) if g % x == 0]
        groups = d(st.sampled_from(divs))
        if groups != 1:
            e["groups"] = groups
        if d(st.integers(0, 3)) == 0:
            e["bias"] = False
        if d(st.integers(0, 3)) == 0:
            e["activation"] = "relu"
        r = self.add(e, [src], _as_pair(s))
        if r is None:                       # too small: 'same' always fits
            e["padding"] = "same"
            r = self.add(e, [src], _as_pair(s))
        return r

    def pool(self, src):
        d = self.draw
        t = d(st.sampled_from(["maxpool", "avgpool"]))
        e = {"name": self.name(t[:-4] + "pool"), "type": t}
        k = _int_or_pair(d, 1, 4)
        e["kernel"] = k
        kh, kw = _as_pair(k)
        mode = d(st.integers(0, 2))
        if mode == 0:
            s = k
        else:
            s = _int_or_pair(d, 1, 3)
            e["stride"] = s
        if self.cap_stride(src, s) != s:
            s = 1
            e["stride"] = 1
        pk = d(st.integers(0, 4))
        if pk == 1:
            e["padding"] = d(st.integers(0, min(kh, kw) // 2))
        elif pk == 2:
            e["padding"] = [d(st.integers(0, kh // 2)), d(st.integers(0, kw // 2))]
        elif pk == 3 and d(st.booleans()):
            e["padding"] = "same"
        if e.get("padding") != "same" and d(st.booleans()):
            e["ceil_mode"] = True
        r = self.add(e, [src], _as_pair(s))
        if r is None:
            e = {"name": e["name"], "type": t, "kernel": 1, "stride": 1}
            r = self.add(e, [src])
        return r

    def pad(self, src):
        d = self.draw
        pk = d(st.integers(0, 2))
        if pk == 0:
            p = d(st.integers(0, 2))
        elif pk == 1:
            p = [d(st.integers(0, 2)), d(st.integers(0, 2))]
        else:
            p = [d(st.integers(0, 2)) for _ in range(4)]
        return self.add({"name": self.name("pad"), "type": "pad", "padding": p}, [src])

    def adaptive(self, src):
        d = self.draw
        c, h, w = self.shape[src]
        t = d(st.sampled_from(["adaptive_avgpool", "adaptive_maxpool"]))
        size = _int_or_pair(d, 1, min(h, w) + 1)
        return self.add({"name": self.name(t), "type": t, "output_size": size}, [src])

    def se(self, src):
        """Squeeze-and-excitation: global pool, 1x1 convs, sigmoid, mul (broadcast C x 1 x 1)."""
        d = self.draw
        c = self.shape[src][0]
        g = self.add({"name": self.name("global_avgpool"), "type": "global_avgpool"}, [src])
        r = self.add({"name": self.name("conv"), "type": "conv", "out": d(st.integers(1, 3)),
                      "kernel": 1, "activation": "relu"}, [g])
        r = self.add({"name": self.name("conv"), "type": "conv", "out": c, "kernel": 1}, [r])
        r = self.add({"name": self.name("sigmoid"), "type": "sigmoid"}, [r])
        ins = [src, r] if d(st.booleans()) else [r, src]
        return self.add({"name": self.name("mul"), "type": "mul"}, ins)

    def simple(self, src):
        d = self.draw
        t = d(st.sampled_from(["batchnorm", "relu", "dropout", "identity"] + ACTS))
        return self.add({"name": self.name(t), "type": t}, [src])

    def branch(self, src):
        d = self.draw
        c, h, w = self.shape[src]
        nb = d(st.integers(2, 3))
        merge = d(st.sampled_from(["add", "concat"]))
        s = self.cap_stride(src, d(st.sampled_from([1, 1, 2, 2])))
        co = d(st.integers(1, 4 if self.small else 6))
        ends = []
        for b in range(nb):
            kind = d(st.sampled_from([0, 1, 2, 3, 4, 4]))
            if kind == 4 and s > 1:
                # stride-1 'valid' conv shrinking to the strided branches' size:
                # equal shapes, different jumps (unaligned paths)
                oh, ow = -(-h // s), -(-w // s)
                e = {"name": self.name("conv"), "type": "conv", "kernel": [h - oh + 1, w - ow + 1],
                     "out": co if merge == "add" else d(st.integers(1, 4))}
                r = self.add(e, [src])
                if r is None:
                    return None
                ends.append(r)
                continue
            if kind == 0 and s == 1 and (merge == "concat" or co == c) and src not in ends:
                ends.append(src)                        # identity / residual branch
                continue
            if kind == 1 and (merge == "concat" or co == c):
                e = {"name": self.name("maxpool"), "type": "maxpool", "kernel": 3,
                     "stride": s, "padding": 1}
            else:
                k = d(st.sampled_from([1, 3, 5, 7] if not self.small else [1, 3, 5]))
                dil = d(st.sampled_from([1, 1, 2]))
                e = {"name": self.name("conv"), "type": "conv", "kernel": k,
                     "out": co if merge == "add" else d(st.integers(1, 4)), "stride": s}
                if dil != 1:
                    e["dilation"] = dil
                if d(st.booleans()):
                    e["padding"] = dil * (k - 1) // 2
                else:
                    e["padding"] = "same"
                if d(st.integers(0, 2)) == 0:
                    e["bias"] = False
            r = self.add(e, [src], (s, s))
            if r is None:
                return None
            if d(st.integers(0, 2)) == 0:
                r = self.simple(r)
            ends.append(r)
        if len(set(ends)) < 2:
            return None
        shapes = [self.shape[x] for x in ends]
        if merge == "add" and len(set(shapes)) != 1:
            merge = "concat"
        if len({x[1:] for x in shapes}) != 1:
            return None
        return self.add({"name": self.name(merge), "type": merge}, ends)

    def merge_any(self):
        d = self.draw
        nodes = self.spatial_nodes()
        last = nodes[-1]
        cands = [n for n in nodes[:-1] if self.shape[n][1:] == self.shape[last][1:]]
        if not cands:
            return None
        other = d(st.sampled_from(cands))
        if self.shape[other] == self.shape[last] and d(st.booleans()):
            t = d(st.sampled_from(["add", "add", "mul"] if self.zoo else ["add"]))
            return self.add({"name": self.name(t), "type": t}, [other, last])
        return self.add({"name": self.name("concat"), "type": "concat"}, [other, last])

    def head(self):
        d = self.draw
        src = self.spatial_nodes()[-1]
        kind = d(st.integers(0, 2))
        if kind == 0:
            t = d(st.sampled_from(["global_avgpool", "global_maxpool"]))
            src = self.add({"name": self.name(t), "type": t}, [src])
        src = self.add({"name": self.name("flatten"), "type": "flatten"}, [src])
        e = {"name": self.name("linear"), "type": "linear", "out": d(st.integers(1, 5))}
        if d(st.booleans()):
            e["bias"] = False
        if d(st.booleans()):
            e["activation"] = "relu"
        self.add(e, [src])


@st.composite
def specs(draw, small=False, max_layers=12, head=True, max_jump=16, zoo=True, adaptive=False):
    """Random valid spec dict.  small=True keeps sizes tiny for the counting
    loops of ``ops``.  zoo=True adds pad, mul (element-wise and the broadcast
    C x 1 x 1 of squeeze-and-excitation); adaptive=True adaptive pools (whose
    unclipped receptive field has no sliding-window meaning: keep them out of
    the RF properties)."""
    if small:
        c = draw(st.integers(1, 3))
        h = draw(st.integers(4, 10))
        w = draw(st.integers(4, 10))
    else:
        c = draw(st.integers(1, 4))
        h = draw(st.integers(8, 24))
        w = draw(st.integers(8, 24))
    g = _Gen(draw, small, max_jump, zoo, adaptive)
    g.shape["input"] = (c, h, w)
    g.jump["input"] = (1, 1)
    g.order.append("input")
    n = draw(st.integers(1, max_layers))
    while len(g.layers) < n:
        kinds = ["conv", "conv", "conv", "pool", "simple", "branch", "merge"]
        if zoo:
            kinds += ["pad", "se"]
        if adaptive:
            kinds += ["adaptive"]
        kind = draw(st.sampled_from(kinds))
        if kind == "se" and draw(st.integers(0, 2)) > 0:
            kind = "conv"          # SE makes everything after it global: keep it rare
        if kind in ("pad", "se", "adaptive"):
            getattr(g, kind)(g.pick_input())
            continue
        if kind == "conv":
            g.conv(g.pick_input())
        elif kind == "pool":
            g.pool(g.pick_input())
        elif kind == "simple":
            g.simple(g.pick_input())
        elif kind == "branch":
            g.branch(g.pick_input())
        else:
            g.merge_any()
    if head and draw(st.integers(0, 3)) == 0:
        g.head()
    prev = "input"
    for e in g.layers:                  # `input` defaults to the previous entry
        if e.get("input") == prev and draw(st.booleans()):
            del e["input"]
        prev = e["name"]
    inp = [c, h, w]
    if draw(st.integers(0, 5)) == 0:
        inp = {"channels": c, "height": h, "width": w}
    spec = {"name": "gen", "input": inp, "layers": g.layers}
    return spec
