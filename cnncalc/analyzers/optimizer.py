"""The optimizer's update in one training step (`cnncalc cost --training --optimizer NAME`).

Per layer, from its trainable parameters P: `optimizer_state` (values the optimizer keeps between steps),
`optimizer_mults`, `optimizer_adds` and `optimizer_roots` (square roots) of one update, each P times the
optimizer's count per parameter. The hyper-parameters are PyTorch's defaults (torch.optim): weight decay 0 (AdamW:
0.01), dampening 0, Adam's betas (0.9, 0.999) and eps 1e-8, no amsgrad; a hyper-parameter that is 0 costs
nothing. Products of constants and per-step scalars (lr * weight_decay, Adam's bias corrections 1 - beta^t) are
computed once per step, not per parameter, and not counted; a division counts as a mult; the gradient g is given.

| optimizer | PyTorch | update, per parameter | state | mults | adds | roots |
|---|---|---|---|---|---|---|
| sgd | SGD(lr) | theta -= lr * g | 0 | 1 | 1 | 0 |
| momentum | SGD(lr, momentum=b) | v = b*v + g; theta -= lr * v (form II, velocity) | 1 (v) | 2 | 2 | 0 |
| nesterov | SGD(lr, momentum=b, nesterov=True) | v = b*v + g; theta -= lr * (g + b*v) | 1 (v) | 3 | 3 | 0 |
| adam | Adam(lr) | m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; theta -= lr_t * m / (sqrt(v) * c + eps) | 2 (m, v) | 8 | 4 | 1 |
| adamw | AdamW(lr) | theta -= lr*wd * theta, then Adam's update | 2 (m, v) | 9 | 5 | 1 |

Momentum's form I (heavy ball), theta_{k+1} = theta_k - a*g_k + b*(theta_k - theta_{k-1}), keeps the previous
iterate instead of v (state 1) and costs 2 mults and 3 adds per parameter (a*g, the difference, b times it, two
sums); with theta_{-1} = theta_0 and v_0 = 0 it makes the same iterates as form II with the same a and b
(tests/analyzers/test_optimizer.py proves it). Nesterov's variant evaluates the step at the look-ahead g + b*v
instead of v: one mult and one add more. In Adam, c = 1/sqrt(1 - b2^t) and lr_t = lr/(1 - b1^t) are per-step
scalars: per parameter m costs 2 mults and 1 add, v 3 mults and 1 add, the update 1 root, 3 mults (times c, the
division, times lr_t) and 2 adds (+ eps, the subtraction).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Node
from ..layers import Dim
from .base import Metric, Step


@dataclass(frozen=True)
class Optimizer:
    """One optimizer's update, per parameter and per step."""

    name: str
    pytorch: str
    """The PyTorch call it counts."""
    state: int
    """Values kept per parameter between steps."""
    mults: int
    adds: int
    roots: int


OPTIMIZERS = {o.name: o for o in (
    Optimizer("sgd", "torch.optim.SGD(params, lr)", 0, 1, 1, 0),
    Optimizer("momentum", "torch.optim.SGD(params, lr, momentum=b)", 1, 2, 2, 0),
    Optimizer("nesterov", "torch.optim.SGD(params, lr, momentum=b, nesterov=True)", 1, 3, 3, 0),
    Optimizer("adam", "torch.optim.Adam(params, lr)", 2, 8, 4, 1),
    Optimizer("adamw", "torch.optim.AdamW(params, lr)", 2, 9, 5, 1),
)}
"""Name -> optimizer, as `--optimizer` takes them (the table of the module docstring)."""


_COLUMNS = ("optimizer_state", "optimizer_mults", "optimizer_adds", "optimizer_roots")
_TITLES = ("opt state", "opt mults", "opt adds", "opt roots")
_DOC = ("optimizer_state: values the optimizer keeps per step (per parameter: sgd 0, momentum 1, nesterov 1, "
        "adam 2, adamw 2); optimizer_mults, optimizer_adds, optimizer_roots (square roots): one update of the "
        "layer's parameters (the table in cnncalc/analyzers/optimizer.py and the README)")


def _training(step: Step) -> Metric | None:
    if step.optimizer is None:
        return None
    rule = OPTIMIZERS[step.optimizer]

    def measure(node: Node) -> tuple[Dim, Dim, Dim, Dim]:
        p = node.layer.params(node.input_shapes, node.output)
        return rule.state * p, rule.mults * p, rule.adds * p, rule.roots * p

    return Metric("optimizer", _COLUMNS, _TITLES, _DOC, measure)


def _untrained(node: Node) -> tuple[Dim, ...]:
    raise RuntimeError("the optimizer metric counts only in a training step (cost_metrics(..., step))")


OPTIMIZER = Metric("optimizer", _COLUMNS, _TITLES, _DOC, _untrained, training=_training, training_only=True)
