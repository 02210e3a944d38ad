"""Where gradients vanish: one forward and backward pass of a spec's network in numpy (`cnncalc grad`).

The run, stated once (the README and the JSON's `assumptions` repeat it):

- the input is a batch of `batch` images (or vectors) drawn from N(0, 1), float64;
- weights are drawn by `init` (see SCHEMES); biases start at 0 (the pytorch scheme draws them too); batchnorm's
  scale at 1 and shift at 0; the random numbers come from numpy's default_rng(seed): parameters in layer order,
  then the input, then the targets, then dropout masks;
- the loss is read at the last layer's output y (N x F after flattening): `mse` is L = 1/(2N) sum_n ||y_n - t_n||^2
  against targets t from N(0, 1) (the homework's 1/2 (y_L - y)^2, averaged over the batch); `sum` is
  L = 1/N sum_n sum_i y_ni (so dL/dy = 1/N);
- per layer, `weight_grad_norm` is the Frobenius norm ||dL/dW|| of the layer's `weight` tensor as PyTorch names it
  (the kernel of conv, conv_transpose and linear, the scale gamma of batchnorm; for squeeze_excitation fc1.weight
  and fc2.weight taken together as one vector; biases left out; null for a layer without one), and
  `output_grad_norm` the norm ||dL/dy|| of its output over the whole batch (all of split's chunks together; 0 for a
  layer the loss does not read);
- layer rules: cnncalc.grad.rules (batchnorm in training mode, dropout with a mask, ...).

Networks are refused (SpecError) above MAX_PARAMS parameters, above MAX_VALUES values kept for the backward pass
(batch x the elements of the input and of every layer's output), or above MAX_MACS multiply-accumulates of the
forward pass (batch x MACs), so that a run takes seconds; and a layer type without a rule is refused by name.
"""

from __future__ import annotations

from ..errors import SpecError
from ..graph import Graph
from ..layers import numel

MAX_PARAMS = 5_000_000
MAX_VALUES = 40_000_000
MAX_MACS = 2_000_000_000

SCHEMES = {
    "auto": "per layer, by the activation that follows it: he for relu, relu6, leaky_relu, gelu, silu and "
            "hardswish; xavier for sigmoid, tanh, hardsigmoid and softmax; lecun when none follows",
    "he": "N(0, 2/fan_in) (kaiming_normal_, relu gain)",
    "kaiming": "the same as he",
    "xavier": "N(0, 2/(fan_in + fan_out)) (xavier_normal_)",
    "glorot": "the same as xavier",
    "xavier_uniform": "U(-a, a), a = sqrt(6/(fan_in + fan_out)) (xavier_uniform_)",
    "glorot_uniform": "the same as xavier_uniform",
    "lecun": "N(0, 1/fan_in)",
    "pytorch": "PyTorch's default for conv and linear: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
}
"""Initialisation schemes (`--init`). Fans as PyTorch computes them: a conv weight (out, in/groups, kh, kw) has
fan_in = in/groups*kh*kw and fan_out = out*kh*kw; a linear weight (out, in) has fan_in = in, fan_out = out."""

ALIASES = {"kaiming": "he", "glorot": "xavier", "glorot_uniform": "xavier_uniform"}

RELU_FAMILY = ("relu", "relu6", "leaky_relu", "gelu", "silu", "hardswish")
SATURATING = ("sigmoid", "tanh", "hardsigmoid", "softmax")
PASS_THROUGH = ("batchnorm", "dropout", "identity")
"""Layers the auto scheme looks through for the activation that follows a weight layer (conv -> batchnorm -> relu)."""

LOSSES = {"mse": "L = 1/(2N) sum_n ||y_n - t_n||^2, targets t from N(0, 1)",
          "sum": "L = 1/N sum_n sum_i y_ni (dL/dy = 1/N)"}


def check(graph: Graph, batch: int, init: str, loss: str, seed: int = 0) -> None:
    """SpecError for a choice that is not one, a batch below 1, a negative seed or a network above the limits
    (no numpy needed)."""
    if init not in SCHEMES:
        raise SpecError(f"--init must be one of {', '.join(SCHEMES)}, got {init!r}")
    if loss not in LOSSES:
        raise SpecError(f"--loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if type(batch) is not int or batch < 1:
        raise SpecError(f"--batch must be at least 1, got {batch}")
    if type(seed) is not int or seed < 0:
        raise SpecError(f"--seed must be 0 or more, got {seed}")
    params = macs = 0
    values = int(numel(graph.input))
    for node in graph.layers:  # sizes are ints here (arrays only in a sweep)
        params += int(node.layer.params(node.input_shapes, node.output))
        values += sum(int(numel(shape)) for shape in node.outputs)
        macs += int(node.layer.ops(node.input_shapes, node.output).macs)
    if params > MAX_PARAMS:
        raise SpecError(f"`cnncalc grad` runs networks of at most {MAX_PARAMS:,} parameters; this one has "
                        f"{params:,}", hint="try a smaller network (fewer channels or layers)")
    most = min(MAX_VALUES // values, MAX_MACS // macs if macs else MAX_VALUES)  # the largest batch within both
    for total, limit, what in ((values, MAX_VALUES, "values kept for the backward pass"),
                               (macs, MAX_MACS, "multiply-accumulates in the forward pass")):
        if total * batch > limit:
            raise SpecError(f"`cnncalc grad` runs at most {limit:,} {what}; batch {batch:,} x {total:,} per "
                            f"image is {total * batch:,}",
                            hint=f"lower --batch to {most:,}" if most >= 1 else "try a smaller network or input")


def grad_report(graph: Graph, init: str = "auto", seed: int = 0, batch: int = 16, loss: str = "mse") -> dict:
    """The `cnncalc grad --json` document (numpy is imported here, not before)."""
    check(graph, batch, init, loss, seed)
    from .engine import run
    return run(graph, init, seed, batch, loss)
