"""The numpy run of `cnncalc grad`: initialise, forward in topological order, loss, backward in reverse order,
norms. The conventions are stated in cnncalc.grad's docstring; the layer rules live in cnncalc.grad.rules."""

from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from ..graph import Graph, Node
from ..report.model import header
from . import ALIASES, LOSSES, PASS_THROUGH, RELU_FAMILY, SATURATING, SCHEMES
from .rules import RULES, Parameter, Params


def _refuse_unsupported(graph: Graph) -> None:
    for node in graph.layers:
        if node.type not in RULES:
            raise SpecError(f"layer {node.name!r}: `cnncalc grad` has no backward rule for layer type {node.type!r}",
                            node.entry.pos if node.entry is not None else None,
                            hint="it runs " + ", ".join(sorted(RULES)))


def following_activation(node: Node, readers: dict[int, list[Node]]) -> str:
    """The activation applied to a weight layer's output: its own `activation:`, else the activation layer that is
    the only reader of it (looking through batchnorm, dropout and identity), else "none"."""
    own = getattr(node.layer, "activation", "none")
    if own != "none":
        return own
    current = node
    while len(readers.get(current.index, ())) == 1:
        current = readers[current.index][0]
        if current.type in RELU_FAMILY or current.type in SATURATING:
            return current.type
        if current.type not in PASS_THROUGH:
            break
    return "none"


def scheme_for(init: str, activation: str) -> str:
    """The scheme a weight layer gets: `init` itself (aliases resolved), or by `auto`'s rule."""
    if init != "auto":
        return ALIASES.get(init, init)
    if activation in RELU_FAMILY:
        return "he"
    if activation in SATURATING:
        return "xavier"
    return "lecun"


def _draw(parameter: Parameter, scheme: str, rng: np.random.Generator) -> np.ndarray:
    fan_in, fan_out = parameter.fan_in, parameter.fan_out
    if parameter.role == "gamma":
        return np.ones(parameter.shape)
    if parameter.role in ("bias", "beta"):
        if scheme == "pytorch" and parameter.role == "bias":
            bound = 1.0 / math.sqrt(fan_in)
            return rng.uniform(-bound, bound, parameter.shape)
        return np.zeros(parameter.shape)
    if scheme == "he":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), parameter.shape)
    if scheme == "xavier":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), parameter.shape)
    if scheme == "xavier_uniform":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, parameter.shape)
    if scheme == "lecun":
        return rng.normal(0.0, math.sqrt(1.0 / fan_in), parameter.shape)
    if scheme == "pytorch":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, parameter.shape)
    raise AssertionError(f"unknown scheme {scheme}")  # SCHEMES and this function list the same names


def initialise(graph: Graph, init: str, rng: np.random.Generator) -> tuple[dict[int, Params], dict[int, str]]:
    """Every layer's parameters, and the scheme each weight layer was given (by node index)."""
    readers: dict[int, list[Node]] = {}
    for node in graph.layers:
        for i, _ in node.inputs:
            readers.setdefault(i, []).append(node)
    params: dict[int, Params] = {}
    schemes: dict[int, str] = {}
    for node in graph.layers:
        wanted = RULES[node.type].parameters(node.layer, node.input_shapes)
        if not wanted:
            continue
        after = following_activation(node, readers)
        chosen = {name: scheme_for(init, p.activation or after) for name, p in wanted.items()}
        weights = list(dict.fromkeys(chosen[name] for name, p in wanted.items() if p.role == "weight"))
        if weights:
            schemes[node.index] = "/".join(weights)  # squeeze_excitation's fc1 and fc2 may differ: "he/xavier"
        params[node.index] = {name: _draw(p, chosen[name], rng) for name, p in wanted.items()}
    return params, schemes


def forward_backward(graph: Graph, params: dict[int, Params], x: np.ndarray, loss: str,
                     rng: np.random.Generator) -> tuple[float, dict[int, tuple[np.ndarray, ...]], dict[int, Params]]:
    """(loss, dL/d(output) of every node (a tuple, one per output: several for split), dL/d(parameters) of every
    layer with parameters). The targets of `mse` and the dropout masks are drawn from `rng` in that order. The loss
    reads the last layer's first output."""
    outputs: dict[tuple[int, int], np.ndarray] = {(0, 0): x}  # (node index, output index) -> array
    saved = {}
    last = graph.nodes[-1]
    targets = rng.standard_normal((len(x), *last.output)) if loss == "mse" else None
    for node in graph.layers:
        rule = RULES[node.type]
        y, saved[node.index] = rule.forward(node.layer, [outputs[ref] for ref in node.inputs],
                                            params.get(node.index, {}), rng)
        for k, out in enumerate(y if rule.many else (y,)):
            outputs[node.index, k] = out
    y = outputs[last.index, 0]
    n = len(y)
    if loss == "mse":
        diff = y - targets
        value = float((diff * diff).sum() / (2 * n))
        grads = {(last.index, 0): diff / n}
    else:
        value = float(y.sum() / n)
        grads = {(last.index, 0): np.full(y.shape, 1.0 / n)}
    param_grads: dict[int, Params] = {}
    node_grads: dict[int, tuple[np.ndarray, ...]] = {}
    for node in reversed(graph.layers):
        rule = RULES[node.type]
        refs = [(node.index, k) for k in range(len(node.outputs))]
        if not any(ref in grads for ref in refs):  # the loss does not read this layer
            node_grads[node.index] = tuple(np.zeros(outputs[ref].shape) for ref in refs)
            param_grads[node.index] = {k: np.zeros(v.shape) for k, v in params.get(node.index, {}).items()}
            continue
        node_grads[node.index] = g = tuple(grads[ref] if ref in grads else np.zeros(outputs[ref].shape)
                                           for ref in refs)
        input_grads, param_grads[node.index] = rule.backward(
            node.layer, saved.pop(node.index), g if rule.many else g[0], params.get(node.index, {}))
        for ref, dx in zip(node.inputs, input_grads):
            grads[ref] = grads[ref] + dx if ref in grads else dx
    return value, node_grads, param_grads


def run(graph: Graph, init: str, seed: int, batch: int, loss: str) -> dict:
    """The `cnncalc grad --json` document (limits already checked by cnncalc.grad.check)."""
    _refuse_unsupported(graph)
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        params, schemes = initialise(graph, init, rng)
        x = rng.standard_normal((batch, *graph.input))
        value, grads, param_grads = forward_backward(graph, params, x, loss, rng)
    rows = []
    bad = []
    for node in graph.layers:
        weights = [g for name, g in param_grads.get(node.index, {}).items() if name.split(".")[-1] == "weight"]
        weight_norm = float(np.linalg.norm(np.concatenate([w.ravel() for w in weights]))) if weights else None
        output_norm = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads[node.index]])))
        if not math.isfinite(output_norm) or weight_norm is not None and not math.isfinite(weight_norm):
            bad.append(node.name)
        rows.append({"name": node.name, "type": node.type, "init": schemes.get(node.index),
                     "weight_grad_norm": weight_norm, "output_grad_norm": output_norm})
    if bad or not math.isfinite(value):
        raise SpecError(f"the loss or the gradients overflowed (not finite){f' at layer {bad[0]!r}' if bad else ''}",
                        hint="try another --init or a smaller --batch")
    return {**header(graph), "init": init, "seed": seed, "batch": batch, "loss": loss, "loss_value": value,
            "layers": rows, "assumptions": _assumptions(init, loss)}


def _assumptions(init: str, loss: str) -> list[str]:
    return [f"input: N(0, 1); init {init}: {SCHEMES[init]}; biases 0, batchnorm scale 1 and shift 0",
            f"loss {loss}: {LOSSES[loss]}",
            "batchnorm in training mode (batch statistics); dropout with one random mask",
            "weight_grad_norm: ||dL/dW|| of the weight tensor (biases left out); output_grad_norm: ||dL/dy|| of the "
            "layer's output over the batch"]
