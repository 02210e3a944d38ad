"""Memory in bytes (`cnncalc memory`): weights, the live activations of inference, and one training step.

The rules, stated once (`cnncalc layers --rule memory` and the README print them, with each type's entry of SAVED
and PYTORCH; the JSON's `assumptions` sum them up):

- Every value (parameter, buffer, activation, gradient, optimizer state) takes the bytes of `--dtype` (DTYPES);
  two exceptions keep their own type whatever the dtype: max-pool indices are int64 (8 bytes, as PyTorch saves
  them) and a dropout mask is bool (1 byte). Activations scale with the batch, weights do not.
- Storage: a layer's outputs are new tensors, except the *views* of flatten, identity, split (each chunk is a
  view of its input, as `torch.split` returns) and dropout in inference (the identity): a view allocates nothing
  and keeps its input's storage alive as long as the view is read. A layer marked `inplace: true` (an activation,
  add) writes into its (first) input's storage, as a view does. concat copies (`torch.cat` allocates its output),
  add and mul allocate their output unless in place.
- Inference schedule: layers run one at a time in file (topological) order; a layer's outputs are allocated while
  its inputs are still live; a storage is freed right after the last layer that reads it (or a view of it); the
  network input is live from the start; the last layer's outputs are kept. `peak_inference_bytes` is parameters +
  buffers + the largest sum of live activations over that schedule.
- Training: every parameter has a gradient of its size; the optimizer keeps `state` values per parameter
  (cnncalc.analyzers.optimizer: sgd 0, momentum 1, nesterov 1, adam 2, adamw 2). The backward pass keeps, per
  layer type, the tensors of SAVED (the cnncalc convention); a tensor kept by several layers (a relu's output that
  the next conv also keeps as its input) is one storage, counted once, in the row of the first layer that keeps
  it. `peak_training_bytes` is parameters + buffers + gradients + optimizer state + the peak of the forward pass
  in training, where a kept storage stays live to the end of the forward pass (every kept tensor is live there);
  the gradient tensors of the backward pass, which reuses what it frees as it goes, are not counted.
- `--convention pytorch` keeps what PyTorch's autograd keeps on CPU (PYTORCH: dropout's noise in the dtype, the
  input of avgpool and of adaptive_avgpool to other than 1x1); measured, with each storage counted once and
  parameters and buffers left out, by scripts/measure_saved_tensors.py into tests/data/saved_tensors.json, which
  the tests compare with every torchvision network of the zoo and unet_small. An in-place activation keeps the
  same storages as an out-of-place one (its output is the storage the next layer keeps, one storage either
  way), so `inplace: true` changes the peaks, not the kept bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from ..graph import Graph, Node
from ..layers import numel
from ..layers.conv import Conv, ConvTranspose, Linear
from ..layers.squeeze_excitation import SqueezeExcitation
from .optimizer import OPTIMIZERS

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
"""Bytes per value of each `--dtype`."""

INDEX_BYTES = 8
"""Bytes of one max-pool index (int64)."""
MASK_BYTES = 1
"""Bytes of one dropout-mask element (bool)."""

VIEWS = {"flatten", "identity", "split"}
"""Layer types whose outputs are views of their input (no new storage)."""
INFERENCE_VIEWS = {"dropout"}
"""Layer types whose outputs are views of their input in inference only (new tensors in training)."""

SAVED = {
    "conv": "its input (for the weight gradient); with a fused activation, its output too",
    "conv_transpose": "its input (for the weight gradient); with a fused activation, its output too",
    "linear": "its input (for the weight gradient); with a fused activation, its output too",
    "relu": "its output", "relu6": "its input", "sigmoid": "its output", "tanh": "its output",
    "softmax": "its output", "gelu": "its input", "silu": "its input", "hardswish": "its input",
    "hardsigmoid": "its input", "leaky_relu": "its input",
    "batchnorm": "its input and 2 values per channel (the batch mean and inverse std, not per image)",
    "dropout": "its mask (1 byte per element)",
    "maxpool": "its input and the index of every output (int64)",
    "global_maxpool": "its input and the index of every output (int64)",
    "adaptive_maxpool": "its input and the index of every output (int64)",
    "avgpool": "nothing (its gradient needs only the shapes)",
    "global_avgpool": "nothing (its gradient needs only the shapes)",
    "adaptive_avgpool": "nothing (its gradient needs only the shapes)",
    "lrn": "its input and its output",
    "mul": "its inputs (each factor's gradient is the other factor)",
    "add": "nothing", "concat": "nothing", "split": "nothing", "flatten": "nothing", "identity": "nothing",
    "pad": "nothing", "channel_shuffle": "nothing", "upsample": "nothing (its gradient needs only the shapes)",
    "squeeze_excitation": "its input, the pooled vector, the squeezed vector (twice if its activation keeps its "
                          "input: once as the activation's input, once as fc2's input) and the gate (twice with "
                          "hardsigmoid, which keeps its input)",
}
"""Layer type -> what its backward pass keeps (the cnncalc convention); a type not here is refused."""

PYTORCH = {
    "dropout": "its noise, in the dtype (on CPU, dropout is input * (bernoulli mask / (1 - p)) and MulBackward keeps "
               "the noise; CUDA's fused native_dropout would keep a bool mask)",
    "avgpool": "its input (avg_pool2d_backward reads it)",
    "adaptive_avgpool": "its input (adaptive_avg_pool2d_backward reads it), except to 1x1, which PyTorch computes as "
                        "a mean (nothing kept)",
}
"""`--convention pytorch`: where PyTorch's autograd (torch 2.14, CPU) keeps other tensors than the cnncalc
convention; every other type as SAVED. Measured by scripts/measure_saved_tensors.py (tests/data/saved_tensors.json)."""

CONVENTIONS = ("cnncalc", "pytorch")
"""`cnncalc memory --convention`: what the backward pass keeps."""


def saves(kind: str, convention: str) -> str:
    """What a layer type keeps for the backward pass, in words, by `convention`."""
    return PYTORCH.get(kind, SAVED[kind]) if convention == "pytorch" else SAVED[kind]


def storage(kind: str, inplace: bool) -> str:
    """Where a layer type's outputs live (the storage rule of the module docstring), in words; `inplace`: whether
    the type has the attribute `inplace`."""
    if kind in VIEWS:
        return "a view of its input"
    if kind in INFERENCE_VIEWS:
        return "a view in inference, new in training"
    return "new, or its input's with inplace: true" if inplace else "new"


_KEEPS_OUTPUT = {"relu", "sigmoid", "tanh", "softmax"}
"""Activations whose derivative reads their output (the others read their input)."""


@dataclass(frozen=True)
class Kept:
    """One tensor a layer keeps for the backward pass: a graph tensor (node, output) or a tensor of its own."""

    tensor: tuple[int, int] | None
    """(node index, output index) of a graph tensor; None for a tensor of the layer's own (indices, mask, stats)."""
    values: int
    """Values per image (for a graph tensor: its elements)."""
    width: int | None = None
    """Bytes per value; None: the dtype's."""
    per_image: bool = True
    """Scales with the batch (False: batchnorm's per-channel statistics)."""


def kept(node: Node, convention: str = "cnncalc") -> list[Kept]:
    """What `node`'s backward pass keeps (SAVED, with PYTORCH's exceptions by the pytorch convention), as tensors;
    SpecError for a layer type without a rule."""
    kind = node.type
    if kind not in SAVED:
        raise SpecError(f"`cnncalc memory` has no rule for layer type {kind!r} (layer {node.name!r}): it does not "
                        "know what its backward pass keeps",
                        hint="add the type to SAVED in cnncalc/analyzers/memory_bytes.py")
    layer = node.layer
    inputs = [Kept(ref, int(numel(shape))) for ref, shape in zip(node.inputs, node.input_shapes)]
    outputs = [Kept((node.index, k), int(numel(shape))) for k, shape in enumerate(node.outputs)]
    if isinstance(layer, (Conv, ConvTranspose, Linear)):
        return inputs + (outputs if layer.activation != "none" else [])
    if kind in _KEEPS_OUTPUT:
        return outputs
    if kind in ("relu6", "gelu", "silu", "hardswish", "hardsigmoid", "leaky_relu"):
        return inputs
    if kind == "batchnorm":
        return inputs + [Kept(None, 2 * int(node.output[0]), per_image=False)]
    if kind == "dropout":
        return [Kept(None, int(numel(node.output)), None if convention == "pytorch" else MASK_BYTES)]
    if convention == "pytorch" and (kind == "avgpool" or kind == "adaptive_avgpool" and node.output[1:] != (1, 1)):
        return inputs
    if kind in ("maxpool", "global_maxpool", "adaptive_maxpool"):
        return inputs + [Kept(None, int(numel(node.output)), INDEX_BYTES)]
    if kind == "lrn":
        return inputs + outputs
    if kind == "mul":
        return inputs
    if isinstance(layer, SqueezeExcitation):
        c, s = int(node.output[0]), layer.squeeze
        return inputs + [Kept(None, c + s * (2 if layer.activation not in _KEEPS_OUTPUT else 1)
                              + c * (2 if layer.gate == "hardsigmoid" else 1))]
    return []


@dataclass(frozen=True)
class Storages:
    """Which storage each graph tensor lives in (a view shares its input's) and the bytes of each storage."""

    of: dict[tuple[int, int], tuple[int, int]]
    """(node, output) -> the (node, output) that allocated its storage."""
    size: dict[tuple[int, int], int]
    """Storage -> bytes per image."""


def storages(graph: Graph, width: int, training: bool) -> Storages:
    of: dict[tuple[int, int], tuple[int, int]] = {(0, 0): (0, 0)}
    size = {(0, 0): width * int(numel(graph.input))}
    for node in graph.layers:
        views = (node.type in VIEWS or (node.type in INFERENCE_VIEWS and not training)
                 or getattr(node.layer, "inplace", False))  # an activation or add marked inplace: true
        for k, shape in enumerate(node.outputs):
            if views:
                of[(node.index, k)] = of[node.inputs[0]]
            else:
                of[(node.index, k)] = (node.index, k)
                size[(node.index, k)] = width * int(numel(shape))
    return Storages(of, size)


def peak_live(graph: Graph, store: Storages, batch: int, keep: set[tuple[int, int]],
              own: dict[int, int] | None = None) -> tuple[int, list[int]]:
    """The largest sum of live storages (bytes, over the batch) over the schedule of the module docstring, and the
    live bytes while each layer runs; a storage in `keep` is never freed, and `own` (node index -> bytes over the
    batch) are tensors a layer allocates beside its outputs and keeps (indices, masks, statistics)."""
    last = len(graph.nodes)
    last_use: dict[tuple[int, int], int] = {}
    for node in graph.layers:
        for ref in node.inputs:
            last_use[store.of[ref]] = node.index
    for k in range(len(graph.nodes[-1].outputs)):
        last_use[store.of[(graph.nodes[-1].index, k)]] = last
    for s in keep:
        last_use[s] = last
    frees: dict[int, list[tuple[int, int]]] = {}
    for s, i in last_use.items():
        frees.setdefault(i, []).append(s)
    size = {s: n * batch for s, n in store.size.items()}
    live = size[(0, 0)]
    peak = live
    during = [live]
    for node in graph.layers:
        for k in range(len(node.outputs)):
            if store.of[(node.index, k)] == (node.index, k):
                live += size[(node.index, k)]
        live += (own or {}).get(node.index, 0)
        during.append(live)
        peak = max(peak, live)
        for k in range(len(node.outputs)):  # an output nobody reads is freed at once
            s = (node.index, k)
            if store.of[s] == s and s not in last_use:
                live -= size[s]
        for s in frees.get(node.index, ()):
            live -= size[s]
    return peak, during


def memory_report(graph: Graph, dtype: str = "float32", batch: int = 1, training: bool = False,
                  optimizer: str | None = None, convention: str = "cnncalc") -> dict:
    """The `cnncalc memory --json` document; `convention` says what the backward pass keeps (CONVENTIONS)."""
    if convention not in CONVENTIONS:
        raise SpecError(f"--convention must be one of {', '.join(CONVENTIONS)} for `cnncalc memory`, got "
                        f"{convention!r}")
    if dtype not in DTYPES:
        raise SpecError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if type(batch) is not int or batch < 1:
        raise SpecError(f"--batch must be at least 1, got {batch}")
    if optimizer is not None and not training:
        raise SpecError("--optimizer counts a training step; add --training")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise SpecError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    width = DTYPES[dtype]
    state = OPTIMIZERS[optimizer or "sgd"].state
    inference = storages(graph, width, training=False)
    peak_inference, during = peak_live(graph, inference, batch, set())
    rows = []
    totals = dict(parameter_bytes=0, buffer_bytes=0, gradient_bytes=0, optimizer_state_bytes=0,
                  saved_activation_bytes=0)
    train = storages(graph, width, training=True)
    counted: set[tuple[int, int]] = set()
    own: dict[int, int] = {}
    for node in graph.layers:
        params = width * int(node.layer.params(node.input_shapes, node.output))
        buffers = width * int(node.layer.buffers(node.input_shapes, node.output))
        outputs = sum(inference.size[s] for k in range(len(node.outputs))
                      if (s := (node.index, k)) in inference.size) * batch
        row: dict[str, Any] = {"name": node.name, "type": node.type, "output_bytes": outputs,
                               "live_bytes": during[node.index], "parameter_bytes": params,
                               "buffer_bytes": buffers}
        keeps = kept(node, convention)  # before anything else: a type without a rule is refused, in inference too
        if training:
            saved = 0
            for item in keeps:
                if item.tensor is None:
                    nbytes = item.values * (item.width or width) * (batch if item.per_image else 1)
                    saved += nbytes
                    own[node.index] = own.get(node.index, 0) + nbytes
                elif (s := train.of[item.tensor]) not in counted:
                    counted.add(s)
                    saved += train.size[s] * batch
            row |= {"gradient_bytes": params, "optimizer_state_bytes": state * params,
                    "saved_activation_bytes": saved, "saves": saves(node.type, convention)}
        rows.append(row)
        for key in totals:
            totals[key] += row.get(key, 0)
    weights = totals["parameter_bytes"] + totals["buffer_bytes"]
    doc_totals = {"parameter_bytes": totals["parameter_bytes"], "buffer_bytes": totals["buffer_bytes"],
                  "gradient_bytes": None, "optimizer_state_bytes": None, "saved_activation_bytes": None,
                  "peak_inference_bytes": weights + peak_inference, "peak_training_bytes": None}
    if training:
        peak_training, _ = peak_live(graph, train, batch, counted, own)
        doc_totals |= {k: totals[k] for k in ("gradient_bytes", "optimizer_state_bytes", "saved_activation_bytes")}
        doc_totals["peak_training_bytes"] = (weights + totals["gradient_bytes"] + totals["optimizer_state_bytes"]
                                             + peak_training)
    return {"schema_version": 1, "spec": graph.name, "input": list(graph.input), "dtype": dtype, "batch": batch,
            "convention": convention, "training": training, "optimizer": (optimizer or "sgd") if training else None,
            "layers": rows, "totals": doc_totals,
            "assumptions": ASSUMPTIONS + ([PYTORCH_ASSUMPTION] if convention == "pytorch" else [])}


ASSUMPTIONS = [
    "bytes per value: the dtype's (float32 4, float16 2, bfloat16 2, int8 1); max-pool indices int64 (8), dropout "
    "masks bool (1); activations scale with the batch, weights do not",
    "views allocate nothing: flatten, identity, split (torch.split's chunks are views) and dropout in inference; "
    "layers marked inplace: true (activations, add) write into their (first) input's storage; concat copies "
    "(torch.cat allocates its output); add and mul allocate their output unless in place",
    "inference schedule: layers one at a time in file (topological) order; a layer's outputs are allocated while "
    "its inputs are live; a storage is freed after its last reader (or a view's); the network input is live from "
    "the start, the last layer's outputs are kept; peak_inference_bytes = parameters + buffers + the peak of live "
    "activations",
    "training: a gradient per parameter; optimizer state per parameter: sgd 0, momentum 1, nesterov 1, adam 2, "
    "adamw 2 (with --training and no --optimizer: sgd); saved activations by the cnncalc convention (each layer "
    "type's `saves`), a storage kept by several layers counted once, in the first layer that keeps it",
    "peak_training_bytes = parameters + buffers + gradients + optimizer state + the peak of the forward pass in "
    "training, where kept storages stay live to its end; the backward pass's gradient tensors are not counted",
]

PYTORCH_ASSUMPTION = (
    "--convention pytorch: what PyTorch's autograd keeps (torch 2.14.1, CPU, measured with saved_tensors_hooks by "
    "scripts/measure_saved_tensors.py): the cnncalc convention except dropout (its noise in the dtype), avgpool "
    "(its input) and adaptive_avgpool to other than 1x1 (its input); parameters and buffers left out")
