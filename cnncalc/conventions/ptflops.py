"""ptflops 0.7.5 `get_model_complexity_info(model, (C, H, W), backend='pytorch')` MACs (default settings).

ptflops adds forward hooks on known module types *and* patches functions of torch.nn.functional and some tensor
methods; a module whose forward calls a patched function is counted twice (nn.ReLU: 2 per element, F.relu: 1).
The spec's `call:` says which form the PyTorch reference uses: `module` (the default), `functional`, `method`
(`x.mean`, `x.relu()`, `torch.add`), `operator` (`+`, `*`, the default for add and mul: not counted). Tensor methods
and torch.* functions are patched only for matmul, add and mul, so an activation called as a method (`y.relu()`,
`torch.sigmoid`) counts 0. A form ptflops cannot see for a layer type (`call: operator` on relu, `call: module` on
add) is refused. Reproduces ptflops' totals on every zoo model (measured with torchvision 0.29).
"""

from ..layers import Dim, numel
from . import Convention, Rule, call, register_convention, zero

# Activations: (module form, functional form) factor per element.
_ACTIVATION = {"relu": (2, 1), "gelu": (2, 1), "relu6": (1, 1), "leaky_relu": (1, 0), "silu": (1, 1),
               "softmax": (1, 1), "sigmoid": (0, 0), "tanh": (0, 0), "hardswish": (0, 0), "hardsigmoid": (0, 0)}


_CALLED = ("module", "functional", "method")
"""The forms an activation or a pool can take (its module, F.*, a tensor method or torch.*)."""


def _activation_count(name: str, form: str, elements: Dim) -> Dim:
    """Per element: the module's factor, F.*'s, or 0 as a tensor method or torch.* (not patched)."""
    if name == "none" or form == "method":
        return 0
    module, functional = _ACTIVATION[name]
    return elements * (functional if form == "functional" else module)


def _weighted(node) -> Dim:
    """MACs, plus one per output element for the bias, plus the fused activation."""
    layer = node.layer
    out = numel(node.output)
    return (layer.ops(node.input_shapes, node.output).macs + (out if layer.bias else 0)
            + _activation_count(layer.activation, call(node), out))


def _activation(name: str) -> Rule:
    module, functional = _ACTIVATION[name]
    return Rule(f"{module} per element as a module, {functional} as F.{name}, 0 as a method (x.{name}())",
                lambda node: _activation_count(name, call(node), numel(node.output)),
                (lambda node: True) if module + functional > 0 else None, counted=module + functional > 0,
                calls=_CALLED)


def _fused_activation_depends_on_call(node) -> bool:
    name = node.layer.activation
    return name != "none" and sum(_ACTIVATION[name]) > 0


def _always(node) -> bool:
    return True


def _pool(node) -> Dim:
    form = call(node)
    return {"module": 2, "functional": 1}.get(form, 0) * numel(node.input_shapes[0])


def _upsample(node) -> Dim:
    return (2 if call(node) == "module" else 1) * numel(node.output)


def _lrn(node) -> Dim:
    c, h, w = node.input_shapes[0]
    return 3 * c * h * w + (c + node.layer.size - 1) * h * w


def _elementwise(node) -> Dim:
    return (len(node.inputs) - 1) * numel(node.output) if call(node, "operator") == "method" else 0


def _squeeze_excitation(node) -> int:
    """The six layers as ptflops counts them: pool by its call, convs with bias, activation by its call, the gate
    (0 for sigmoid and hardsigmoid in every form) and `scale * x` (an operator: 0)."""
    layer = node.layer
    c, h, w = node.input_shapes[0]
    s = layer.squeeze
    pool = {"module": 2, "functional": 1}.get(layer.pool_call, 0) * c * h * w
    convs = (c * s + s) + (s * c + c)
    return (pool + convs + _activation_count(layer.activation, layer.activation_call, s)
            + _activation_count(layer.gate, "module", c))


CONVENTION = register_convention(Convention(
    "ptflops", "ptflops get_model_complexity_info(..., backend='pytorch') MACs (count_functional=True)",
    {
        "conv": Rule("out elements * (C_in/groups)*kh*kw + out elements if bias (+ activation, by its call)",
                     _weighted, _fused_activation_depends_on_call, calls=_CALLED),
        "conv_transpose": Rule("in elements * (C_out/groups)*kh*kw + out elements if bias (+ activation, by its "
                               "call)", _weighted, _fused_activation_depends_on_call, calls=_CALLED),
        "linear": Rule("in features * out features + out features if bias (+ activation, by its call)", _weighted,
                       _fused_activation_depends_on_call, calls=_CALLED),
        "batchnorm": Rule("2 per element", lambda node: 2 * numel(node.output)),
        **{name: _activation(name) for name in _ACTIVATION},
        **{t: Rule("2 per input element as a module (hook + patched F.*), 1 as F.*, 0 as x.mean", _pool, _always,
                   calls=_CALLED)
           for t in ("maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool",
                     "global_maxpool")},
        "upsample": Rule("2 per output element as nn.Upsample, 1 as F.interpolate", _upsample, _always,
                         calls=("module", "functional")),
        "squeeze_excitation": Rule("its six layers: the average 2 per input element (pool_call: module; 1 "
                                   "functional, 0 method), 2*C*squeeze + squeeze + C for the convs with bias, the "
                                   "activation per squeeze channel by activation_call; gate and product 0",
                                   _squeeze_excitation),
        "lrn": Rule("3 per element + (C+size-1)*H*W (patched mul, add and avg_pool3d inside)", _lrn),
        "add": Rule("0 as `+` (call: operator, the default); 1 per element per extra input as torch.add",
                    _elementwise, _always, calls=("operator", "method")),
        "mul": Rule("0 as `*` (call: operator, the default); 1 per element per extra input as torch.mul",
                    _elementwise, _always, calls=("operator", "method")),
        **{t: zero("not counted") for t in ("concat", "split", "channel_shuffle", "flatten", "dropout", "identity",
                                            "pad")},
    }, statement=__doc__.strip()))
