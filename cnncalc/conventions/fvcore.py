"""fvcore 0.1.5 `FlopCountAnalysis(model, x).total()`, model in eval mode, batch 1.

fvcore traces the model and counts one fused multiply-add as one flop; ops without a handle count 0 (with an
"Unsupported operator" warning) and some are ignored outright. Reproduces fvcore's totals on every zoo model
(measured with torchvision 0.29); a global average pool written `x.mean((2, 3))` needs `call: method`.
"""

from ..layers import Dim, numel
from . import Convention, Rule, call, macs, per_input, register_convention, zero


def _upsample(node) -> Dim:
    return numel(node.output) * (4 if node.layer.mode == "bilinear" else 1)


def _global_avg(node) -> Dim:
    return 0 if call(node) == "method" else numel(node.input_shapes[0])


def _squeeze_excitation(node) -> int:
    """Its two convs' MACs, and the average as adaptive_avg_pool2d (x.mean: 0); activation, gate, product: 0."""
    pool = 0 if node.layer.pool_call == "method" else numel(node.input_shapes[0])
    return node.layer.ops(node.input_shapes, node.output).macs + pool


_UNSUPPORTED = "0: fvcore has no handle (warns 'Unsupported operator')"
_IGNORED = "0: in fvcore's ignore list"

CONVENTION = register_convention(Convention(
    "fvcore", "fvcore FlopCountAnalysis(model, x).total(): one multiply-add counts as one flop",
    {
        "conv": macs("out elements * (C_in/groups)*kh*kw; bias and activation not counted"),
        "conv_transpose": macs("in elements * (C_out/groups)*kh*kw (input positions); bias not counted"),
        "linear": macs("in features * out features; bias and activation not counted"),
        "batchnorm": per_input(2, "2 per element (eval mode; 5 in training)"),
        "adaptive_avgpool": per_input(1, "1 per input element, whatever the output size"),
        "global_avgpool": Rule("1 per input element (adaptive_avg_pool2d); 0 with call: method (x.mean)",
                               _global_avg, lambda node: True, calls=("module", "functional", "method")),
        "upsample": Rule("nearest: 1 per output element; bilinear: 4", _upsample),
        "squeeze_excitation": Rule("its convs' MACs 2*C*squeeze + 1 per input element for the average (0 with "
                                   "pool_call: method); activation, gate and product 0", _squeeze_excitation),
        **{t: zero(_UNSUPPORTED) for t in ("maxpool", "avgpool", "adaptive_maxpool", "global_maxpool", "add", "mul",
                                           "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
                                           "hardsigmoid", "softmax", "lrn", "channel_shuffle", "pad")},
        **{t: zero(_IGNORED) for t in ("relu", "concat", "split", "flatten", "dropout", "identity")},
    }, statement=__doc__.strip()))
