"""The Python API, the one the command line is built on.

    import cnncalc
    net = cnncalc.read("specs/zoo/resnet50.yaml")       # or cnncalc.parse(text, "net.yaml"), cnncalc.from_dict({...})
    cost = net.cost()                                    # `cnncalc cost SPEC`; also convention=, group_by=
    cost.totals["macs"]                                  # 4089184256
    cost.to_json()                                       # exactly the document `cnncalc cost SPEC --json` prints
    net.rf(at=(0, 0)).to_json()["at"]                    # `cnncalc rf SPEC --at 0,0`
    net.cost_sweep([224, 320, (224, 448)]).rows()       # `cnncalc cost SPEC --input 224,320,224x448`
    cnncalc.compare([net, cnncalc.read("specs/zoo/vgg16.yaml")])
    cnncalc.read("specs/mlp_sigmoid.yaml").grad(seed=0).to_json()  # `cnncalc grad SPEC --json` (numpy)

A `Network` holds a spec's text and the name its errors carry; it is analysed on demand (its graph is built once,
on first use, at the spec's own input size; a sweep rebuilds the shapes at every size). Every analysis returns a
frozen result whose `to_json()` is the command line's `--json` document, whose `rows()` are flat dicts (one per
layer, group, size or spec; see `Report.rows`) and whose `renderables()` are what the command line prints.

Every error is a SpecError whose `format()` is the command line's message, `FILE:LINE:COL: error: WHAT; hint:
HOW`: an error raised after the spec was read that has no position of its own (an unknown `layer`, a bad `at`, a
sweep with no valid size, running out of memory) is placed at line 1, column 1 of that spec.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar, Union

from .errors import Position, SpecError
from .graph import Graph, load
from .source import Limits

Sizes = Union[str, Sequence[Union[int, "tuple[int, int]"]]]
"""Input sizes of a sweep: `"224,320x480,32:1024:32"` (as `--input` takes them), or N and (H, W) items."""


def limits(max_layers: int = Limits.max_layers, max_bytes: int = Limits.max_bytes,
           max_traced: int = Limits.max_traced, max_jump_digits: int = Limits.max_jump_digits) -> Limits:
    """The limits `--max-layers`, `--max-bytes`, `--max-traced` and `--max-jump-digits` set (the YAML node limit
    grows with the byte limit)."""
    for flag, value in (("--max-layers", max_layers), ("--max-bytes", max_bytes), ("--max-traced", max_traced),
                        ("--max-jump-digits", max_jump_digits)):
        if type(value) is not int or value < 1:
            raise SpecError(f"{flag} must be at least 1, got {value}")
    return Limits(max_bytes=max_bytes, max_layers=max_layers, max_nodes=max(Limits.max_nodes, max_bytes // 2),
                  max_traced=max_traced, max_jump_digits=max_jump_digits)


Params = Union[Mapping[str, object], Sequence[str], None]
"""Values of a spec's top-level parameters (`--set NAME=VALUE`): {NAME: value} (a str is YAML text, as after `=`;
an int, float, bool or None is that value), or the "NAME=VALUE" texts themselves."""
InputSize = Union[int, str, "tuple[int, ...]", None]
"""One input size replacing the spec's (a single `--input`): N, (H, W), (C, H, W), or "N", "HxW", "CxHxW"."""


def read(path: str | os.PathLike[str], limits: Limits = Limits(), *, params: Params = None,
         input_size: InputSize = None, skip_unsupported: bool = False) -> Network:
    """The spec in file `path` (`-`: standard input), as the command line reads it: SpecError at FILE:1:1 for a
    missing, unreadable, huge or non-UTF-8 file. `params` sets its parameters (`--set`), `input_size` replaces
    its input (a single `--input` size). An ONNX model (told apart by its content) is read as the spec `cnncalc
    import` writes (needs cnncalc[onnx]); with `skip_unsupported`, a node cnncalc cannot read is counted as an
    identity, and every report of the network carries a diagnostic for it and `"partial": true`."""
    from .files import read_source
    source, name = read_source(os.fspath(path), limits)
    if isinstance(source, bytes):
        if params:
            raise SpecError("--set sets a parameter declared in a YAML spec's `params:`; an ONNX model has none",
                            Position(name, 1, 1), hint=f"write the spec with `cnncalc import {name} -o SPEC.yaml`, "
                                                       "declare `params:` there and read SPEC.yaml")
        imported = _import(source, name, skip_unsupported, limits)
        with _placed(name):
            return Network(imported.text, name, limits, _param_texts(params), _input_size(input_size),
                           tuple(s.diagnostic() for s in imported.skipped))
    return _network(source, name, limits, params, input_size)


def import_onnx(path: str | os.PathLike[str], limits: Limits = Limits(), *, skip_unsupported: bool = False):
    """The spec of the ONNX model in file `path` (`cnncalc import`): an `cnncalc.onnx.read.Imported` (`.text` the YAML,
    `.doc` the plain data `from_dict` takes, `.skipped` the nodes read as identities). SpecError for a file that
    is not an ONNX model or holds a node cnncalc cannot read (without `skip_unsupported`)."""
    from .files import read_source
    source, name = read_source(os.fspath(path), limits)
    if not isinstance(source, bytes):
        raise SpecError("not an ONNX model: the file is text (a YAML spec?)", Position(name, 1, 1),
                        hint="cnncalc import reads an .onnx file; a YAML spec is read by every other command as it is")
    return _import(source, name, skip_unsupported, limits)


def _import(data: bytes, name: str, skip_unsupported: bool, limits: Limits):
    from .onnx.read import read_onnx
    with _placed(name):
        return read_onnx(data, name, skip_unsupported, limits)


def parse(text: str, name: str = "<string>", limits: Limits = Limits(), *, params: Params = None,
          input_size: InputSize = None) -> Network:
    """The spec written in `text`; `name` is the file its errors name; `params` and `input_size` as in `read`."""
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise SpecError(f"the spec is more than the limit of {limits.max_bytes:,} bytes", Position(name, 1, 1),
                        hint="raise the limit with max_bytes")
    return _network(text[1:] if text.startswith("\ufeff") else text, name, limits, params, input_size)


def _network(text: str, name: str, limits: Limits, params: Params, input_size: InputSize) -> Network:
    with _placed(name):
        return Network(text, name, limits, _param_texts(params), _input_size(input_size))


def _param_texts(params: Params) -> tuple[tuple[str, str], ...]:
    import json
    from .spec import parse_set_options
    if params is None:
        return ()
    if isinstance(params, Mapping):
        texts = []
        for pname, value in params.items():
            if isinstance(value, str):
                texts.append(f"{pname}={value}")
            elif value is None or type(value) in (bool, int, float):
                texts.append(f"{pname}={json.dumps(value)}")  # JSON's true, 1.5, null are YAML's too
            else:
                raise SpecError(f"params[{pname!r}] is {type(value).__name__}; a parameter's value is a str (YAML "
                                "text), int, float, bool or None")
        return tuple(parse_set_options(texts).items())
    if isinstance(params, str):
        raise SpecError("params is a mapping or a list of 'NAME=VALUE' texts, not one str")
    return tuple(parse_set_options(list(params)).items())


def _input_size(size: InputSize) -> tuple[int, ...] | None:
    from .sweep import parse_sizes, single_size
    if size is None:
        return None
    if type(size) is int:
        size = (size, size)
    if isinstance(size, str):
        single = single_size(size)
        if single is None:
            parse_sizes(size)  # its message for an item that is no size at all
            raise SpecError(f"--input {_clip(size)!r} is a sweep; one size replaces the spec's input",
                            hint="sweep with cost_sweep or rf_sweep")
        return single
    if isinstance(size, tuple) and len(size) in (2, 3) and all(type(v) is int and v >= 1 for v in size):
        return size
    raise SpecError(f"input_size is N, (H, W), (C, H, W) or 'HxW' with sizes of at least 1, got {size!r}")


def from_dict(doc: dict, name: str = "<dict>", limits: Limits = Limits(), *, params: Params = None,
              input_size: InputSize = None) -> Network:
    """The spec given as plain data (the YAML document as dicts, lists, strings and numbers). It is written out as
    YAML text and read like a file, so that its errors carry a line, a column and the offending line of that text
    (shown after the message)."""
    import yaml
    if not isinstance(doc, dict):
        raise SpecError(f"a spec is a mapping, got {type(doc).__name__}", Position(name, 1, 1))
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1 << 16, default_flow_style=None)
    except yaml.YAMLError as exc:  # a value that is not plain data (a numpy number, an object)
        raise SpecError(f"the spec holds a value YAML cannot write ({exc})", Position(name, 1, 1),
                        hint="use dicts, lists, str, int, float, bool and None") from None
    return parse(text, name, limits, params=params, input_size=input_size)


def compare(networks: Sequence[Network], convention: str = "cnncalc", training: bool = False,
            batch: int | None = None, optimizer: str | None = None) -> CompareReport:
    """Totals of several specs side by side, with ratios to the first (`cnncalc compare`); of one training step
    each with `training` (see `Network.cost`)."""
    from .report import compare_report
    if len(networks) < 2:
        raise SpecError("compare needs at least two specs")
    docs = [network.cost(convention, training=training, batch=batch, optimizer=optimizer).document
            for network in networks]
    with _placed(networks[0].name):
        doc = compare_report(docs)
    noted = [{**d, "message": f"{d['message']} (in {n.name})"} for n in networks for d in n.diagnostics]
    if noted:  # a spec read with --skip-unsupported: its diagnostics, named, and the comparison is partial
        doc = {**doc, "partial": True, "diagnostics": noted}
    return CompareReport(doc, networks[0].name)


def training_step(training: bool, batch: int | None = None, optimizer: str | None = None,
                  convention: str = "cnncalc"):
    """The `analyzers.Step` of `--training [--batch N] [--optimizer NAME]`, or None without `training`; SpecError for
    a batch below 1, an unknown optimizer, either without `training`, or training under a tool's convention."""
    from difflib import get_close_matches
    from .analyzers.base import Step
    from .analyzers.optimizer import OPTIMIZERS
    if not training:
        if batch is not None or optimizer is not None:
            raise SpecError(f"{'--batch' if batch is not None else '--optimizer'} counts a training step",
                            hint="add --training")
        return None
    if batch is not None and (type(batch) is not int or batch < 1):
        raise SpecError(f"--batch must be an integer of at least 1, got {batch!r}")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        close = get_close_matches(str(optimizer), list(OPTIMIZERS), 1)
        raise SpecError(f"unknown optimizer {optimizer!r}",
                        hint=f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(OPTIMIZERS))
    if convention != "cnncalc":
        raise SpecError(f"--training counts by the cnncalc convention; {convention} reports no backward pass",
                        hint="leave out --convention")
    return Step(1 if batch is None else batch, optimizer)


def parse_index(text: str) -> tuple[int, int]:
    """`I` or `I,J` (as `--at` takes it) -> (I, J), I for both when J is left out; decimal ASCII digits only, as
    in a spec (Python's int() would also take `1_0` and other scripts' digits)."""
    parts = text.split(",")
    numbers = [_decimal(part.strip()) for part in parts]
    if len(parts) not in (1, 2) or None in numbers:
        raise SpecError(f"--at takes I or I,J (output row and column, decimal digits), got {_clip(text)!r}")
    return (numbers[0], numbers[-1])  # type: ignore[return-value]


def _decimal(text: str) -> int | None:
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return None
    return int(text)


def _clip(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


@contextmanager
def _placed(file: str, document: dict | None = None) -> Iterator[None]:
    """Errors raised while analysing or printing the spec `file` carry that file: a SpecError without a position
    is placed at line 1, column 1, and so is running out of memory, and the ValueError Python raises for an int of
    more digits than `sys.get_int_max_str_digits()` turned into text. That ValueError is told apart by its cause,
    not its message: the frame that raised it, or the `document` being printed, holds such an int."""
    top = Position(file, 1, 1)
    try:
        yield
    except SpecError as exc:
        if exc.position is None:
            exc.position = top
        raise
    except MemoryError:
        raise SpecError("out of memory", top, hint="lower --max-bytes or --max-layers") from None
    except ValueError as exc:
        limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        if not limit or not _holds_unprintable_int(exc, document, 10 ** limit):
            raise
        raise SpecError(f"the report holds a number of more than {limit:,} digits", top,
                        hint="receptive-field jumps grow as the product of the strides, so a long chain of "
                             "strided layers overflows them") from None


def _holds_unprintable_int(exc: ValueError, document: dict | None, bound: int) -> bool:
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    values = list(frame.tb_frame.f_locals.values()) if frame is not None else []
    stack = values + ([document] if document is not None else [])
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if type(item) is int and abs(item) >= bound:
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


@dataclass(frozen=True)
class Network:
    """A spec ready to analyse: its YAML text, the name its errors carry (the file path, `<stdin>`, `<string>`)
    and the limits it is read under."""

    text: str
    name: str = "<string>"
    limits: Limits = Limits()
    params: tuple[tuple[str, str], ...] = ()
    """(NAME, value text) of every `--set NAME=VALUE`: the spec's parameters it sets."""
    input_size: tuple[int, ...] | None = None
    """(H, W) or (C, H, W) replacing the spec's input (a single `--input`); None: the spec's own. Sweeps ignore it."""
    diagnostics: tuple[dict, ...] = ()
    """Diagnostics of reading the file (an ONNX node read as an identity): every report carries them,
    and `"partial": true`."""

    @cached_property
    def graph(self) -> Graph:
        """The layer graph at the spec's input size (built on first use; SpecError for an invalid spec)."""
        with _placed(self.name):
            return load(self.text, self.name, self.limits, dict(self.params), self.input_size)

    def error(self, message: str, hint: str | None = None) -> SpecError:
        """A SpecError about this spec as a whole (at line 1, column 1)."""
        return SpecError(message, Position(self.name, 1, 1), hint)

    def cost(self, convention: str = "cnncalc", group_by: str | None = None, training: bool = False,
             batch: int | None = None, optimizer: str | None = None) -> CostReport:
        """Parameters, operations and memory per layer, and their totals (`cnncalc cost`), counted by
        `convention` (`cnncalc`, or a tool's: `torchvision`, `fvcore`, `ptflops`), summed by `group_by`
        (`type` or `block`) when given. With `training`, one training step over `batch` images (default 1): the
        forward pass in training mode, the backward pass and, with `optimizer` (sgd, momentum, nesterov, adam,
        adamw), the update (cnncalc convention only)."""
        from . import conventions
        from .report import cost_report, group_report
        with _placed(self.name):
            conventions.get(convention)  # a SpecError with the closest name for an unknown one
            if group_by not in (None, "type", "block"):
                raise SpecError(f"group_by is 'type' or 'block', got {group_by!r}")
            step = training_step(training, batch, optimizer, convention)
        graph = self.graph
        with _placed(self.name):
            doc = cost_report(graph, convention, step)
            if group_by is None:
                return CostReport(self._noted(doc), self.name)
            return GroupReport(self._noted(group_report(doc, group_by)), self.name)

    def _noted(self, doc: dict) -> dict:
        """`doc` with the diagnostics of reading the file, marked `"partial": true` when there are any."""
        if not self.diagnostics:
            return doc
        return {**doc, "partial": True, "diagnostics": [*doc.get("diagnostics", []), *self.diagnostics]}

    def rf(self, layer: str | None = None, at: tuple[int, int] | int | str | None = None) -> RfReport:
        """Receptive field of every layer (`cnncalc rf`); with `at` (I, (I, J) or "I,J"), the exact input bounds
        of that output index of `layer` (default: the last layer). `layer` without `at` is refused: it names the
        layer whose index `at` bounds, and the table always shows every layer."""
        from .report import rf_report
        with _placed(self.name):
            if layer is not None and at is None:
                raise SpecError(f"--layer {_clip(layer)!r} picks the layer for --at, and there is no --at",
                                hint="add --at I[,J] for that layer's bounds, or leave --layer out: the table "
                                     "shows every layer")
            index = _index(at)
        graph = self.graph
        with _placed(self.name):
            return RfReport(self._noted(rf_report(graph, layer=layer, at=index)), self.name)

    def validate(self) -> ShapesReport:
        """The inferred shapes of every layer (`cnncalc validate`): SpecError for an invalid spec."""
        from .report import cost_report
        graph = self.graph
        with _placed(self.name):
            doc = cost_report(graph)
            return ShapesReport(self._noted({k: doc[k] for k in ("schema_version", "spec", "input", "diagnostics")} | {
                "valid": True, "layers": [{k: row[k] for k in ("name", "type", "inputs", "output")}
                                          for row in doc["layers"]]}), self.name)

    def grad(self, init: str = "auto", seed: int = 0, batch: int = 16, loss: str = "mse") -> GradReport:
        """Gradient norms per layer after one forward and backward pass of a random batch in numpy (`cnncalc
        grad`): `init` names the weight scheme (cnncalc.grad.SCHEMES), `loss` is `mse` or `sum`; the run's
        conventions are cnncalc.grad's docstring. SpecError for a layer type without a rule or a network above
        the limits."""
        from .grad import grad_report
        graph = self.graph
        with _placed(self.name):
            return GradReport(self._noted(grad_report(graph, init, seed, batch, loss)), self.name)

    def memory(self, dtype: str = "float32", batch: int = 1, training: bool = False,
               optimizer: str | None = None, convention: str = "cnncalc") -> MemoryReport:
        """Bytes of the weights, the peak of live activations in inference and, with `training`, of one training
        step (`cnncalc memory`); the rules are cnncalc.analyzers.memory_bytes's docstring, `convention` (cnncalc
        or pytorch) says what the backward pass keeps."""
        from .analyzers.memory_bytes import memory_report
        graph = self.graph
        with _placed(self.name):
            return MemoryReport(self._noted(memory_report(graph, dtype, batch, training, optimizer, convention)),
                                self.name)

    def export_onnx(self, weights: str = "zeros", seed: int = 0) -> bytes:
        """The network as a serialized ONNX model (`cnncalc export`; cnncalc.onnx.export states the opset and the
        conventions), with zero or random (`seed`) weights. SpecError for a layer type without an ONNX mapping, or
        when the optional onnx package is missing."""
        from .onnx.export import export_bytes
        graph = self.graph
        with _placed(self.name):
            return export_bytes(graph, weights, seed)

    def layer_graph(self, cost: str = "macs", convention: str = "cnncalc", collapse: bool = False):
        """The layer graph as a picture (`cnncalc graph`; cnncalc.report.graph.LayerGraph): one node per layer
        showing the column `cost` of its `cost(convention)` row, block instances as clusters, or each as one node
        with `collapse`. Write it with `report.graph.to_mermaid` or `to_dot`."""
        from .report.graph import layer_graph
        doc = self.cost(convention).document
        with _placed(self.name):
            return layer_graph(self.graph, doc, cost, collapse)

    def html_report(self, convention: str = "cnncalc", sizes: Sizes | None = None, training: bool = False,
                    batch: int | None = None, optimizer: str | None = None) -> str:
        """The self-contained HTML page of `cnncalc report` (needs jinja2, `cnncalc[report]`): the documents of
        `cost(convention, training=, batch=, optimizer=)` and `rf()` and, with `sizes`, of `cost_sweep(sizes,
        convention, ...)` (of one training step with `training`, as `cost` counts), drawn."""
        from . import __version__
        from .report.html import render_report, require_jinja
        from .report.graph import layer_graph
        with _placed(self.name):
            require_jinja()  # before any work
        cost = self.cost(convention, None, training, batch, optimizer).document
        rf = self.rf().document
        sweep = None if sizes is None else self.cost_sweep(sizes, convention, training, batch, optimizer).document
        with _placed(self.name):
            return render_report(cost, rf, layer_graph(self.graph, cost), sweep, __version__,
                                 layer_graph(self.graph, cost, collapse=True))

    def cost_sweep(self, sizes: Sizes, convention: str = "cnncalc", training: bool = False,
                   batch: int | None = None, optimizer: str | None = None) -> SweepReport:
        """Totals at every input size (`cnncalc cost --input`), counted by `convention` (of one training step with
        `training`) as `cost` counts."""
        from . import conventions
        from .sweep import cost_sweep
        with _placed(self.name):
            conventions.get(convention)  # a SpecError with the closest name for an unknown one
            step = training_step(training, batch, optimizer, convention)
        return self._sweep(lambda graph, wanted: cost_sweep(graph, wanted, convention, step), sizes)

    def rf_sweep(self, sizes: Sizes) -> SweepReport:
        """The receptive field of the last spatial layer at every input size (`cnncalc rf --input`)."""
        from .sweep import rf_sweep
        return self._sweep(rf_sweep, sizes)

    def _sweep(self, analyse: Callable[[Graph, list], dict], sizes: Sizes) -> SweepReport:
        from .sweep import load_for_sweep
        with _placed(self.name):
            wanted = _sizes(sizes)
            doc = analyse(load_for_sweep(self.text, self.name, wanted, self.limits, dict(self.params)), wanted)
            if not doc["sweep"]:
                raise SpecError(doc["diagnostics"][0]["message"] if doc["diagnostics"] else "no valid input size")
            return SweepReport(self._noted(doc), self.name)


def _index(at: tuple[int, int] | int | str | None) -> tuple[int, int] | None:
    if at is None or isinstance(at, tuple) and len(at) == 2 and all(type(v) is int for v in at):
        return at  # type: ignore[return-value]
    if type(at) is int:
        return (at, at)
    if isinstance(at, str):
        return parse_index(at)
    raise SpecError(f"at is I, (I, J) or 'I,J', got {at!r}")


def _sizes(sizes: Sizes) -> list[tuple[int, int]]:
    from .sweep import parse_sizes
    if isinstance(sizes, str):
        return parse_sizes(sizes)
    items = [item if isinstance(item, tuple) else (item, item) for item in sizes]
    if not all(len(item) == 2 and all(type(v) is int for v in item) for item in items):
        raise SpecError("sizes are N or (H, W) items of ints, or a string such as '224,320x480,32:1024:32'")
    return parse_sizes(",".join(f"{h}x{w}" for h, w in items)) if items else []


# --------------------------------------------------------------------------------------------------- results

def _cell(value: Any) -> Any:
    """A value of a flat row: shapes and index pairs as `3x224x224`, other lists joined by `, `."""
    if isinstance(value, list):
        if value and all(type(v) is int for v in value):
            return "x".join(map(str, value))
        return ", ".join(str(_cell(v)) for v in value)
    return value


def _flat(row: dict, prefix: str = "") -> dict:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = _cell(value)
    return out


@dataclass(frozen=True)
class Report:
    """A finished analysis: `document` is the command line's `--json` document, `file` the spec it came from."""

    document: dict
    file: str
    _rows_key = "layers"

    def to_json(self) -> dict:
        """The `--json` document itself (the command line serialises this dict)."""
        return self.document

    def rows(self) -> list[dict]:
        """One flat dict per row of the table: nested keys joined by dots (`rf.height.size`, `totals.macs`),
        shapes written `3x224x224`, numbers as ints. Ready for `csv.DictWriter` or `pandas.DataFrame`."""
        return [_flat(row) for row in self.document[self._rows_key]]

    @property
    def diagnostics(self) -> list[dict]:
        """Warnings and notes about the analysis (see the README's JSON section)."""
        return self.document.get("diagnostics", [])

    def renderables(self) -> list:
        """What the command line prints for this report: rich tables and lines of text."""
        raise NotImplementedError

    def json_text(self) -> str:
        """The `--json` output: the document, indented, and a final newline."""
        from ._fastout import dumps  # json.dumps(doc, indent=2), several times faster on large documents
        with _placed(self.file, self.document):
            return dumps(self.document) + "\n"

    def format(self, render: Callable[..., str]) -> str:
        """`render(*self.renderables())`, with the errors of printing placed in the spec like the others."""
        with _placed(self.file, self.document):
            return render(*self.renderables())


_Sortable = TypeVar("_Sortable", bound="SortableReport")


@dataclass(frozen=True)
class SortableReport(Report):
    """A report of rows that `--sort COLUMN` lists by one of its columns (`sortable_columns`): the largest first,
    equal ones and rows without a value (None) in file order after the others; the document keeps file order."""

    sort_by: str | None = None
    """A key of `sortable_columns()` (`--sort`): the table and `rows()` list the rows by it, the largest first
    (equal ones in file order), the table with a bar of it; the document itself keeps file order."""

    def sortable_columns(self) -> list[str]:
        """The row keys `sorted` accepts."""
        raise NotImplementedError

    def sorted(self: _Sortable, column: str) -> _Sortable:
        """This report listed by `column`, the largest first (`--sort COLUMN`); SpecError, naming the columns there
        are, for another name."""
        from difflib import get_close_matches
        columns = self.sortable_columns()
        if column not in columns:
            close = get_close_matches(column, columns, 1)
            raise SpecError(f"--sort: no column {_clip(column)!r} in this report", Position(self.file, 1, 1),
                            hint=(f"did you mean {close[0]!r}? " if close else "") + "the columns: " +
                                 ", ".join(columns))
        return dataclasses.replace(self, sort_by=column)

    def rows(self) -> list[dict]:
        rows = super().rows()
        if self.sort_by is None:
            return rows
        from .report.table import sorted_rows
        return sorted_rows(rows, self.sort_by)


class CostReport(SortableReport):
    """`cnncalc cost`: per-layer counts (`rows()`) and their `totals`."""

    @property
    def totals(self) -> dict:
        return self.document["totals"]

    def sortable_columns(self) -> list[str]:
        return self.document["columns"]

    def renderables(self) -> list:
        from .report.table import cost_table, diagnostic_lines
        return [cost_table(self.document, self.sort_by), *diagnostic_lines(self.document)]


class GroupReport(CostReport):
    """`cnncalc cost --group-by`: rows summed per layer type or block."""

    _rows_key = "groups"

    def renderables(self) -> list:
        from .report.table import diagnostic_lines, group_table
        return [group_table(self.document, self.sort_by), *diagnostic_lines(self.document)]


@dataclass(frozen=True)
class RfReport(Report):
    """`cnncalc rf`: per-layer receptive fields; `at` holds the bounds of one output index when asked for."""

    picture: bool = False
    """Print the input grid with the field of `at` drawn on it (`--show`; cnncalc.report.grid)."""

    @property
    def at(self) -> dict | None:
        return self.document.get("at")

    def with_picture(self) -> RfReport:
        """This report with the picture of its `at` field (`cnncalc rf --at I,J --show`); SpecError without `at`."""
        if self.at is None:
            last = self.document["layers"][-1]
            shape = last["output"]
            near = (f"--at {shape[1] // 2},{shape[2] // 2} is the centre of {last['name']}'s {shape[1]}x{shape[2]} "
                    "output" if len(shape) == 3 else f"--at 0 for {last['name']}")
            raise SpecError("--show draws the field of one output position, and there is no --at",
                            Position(self.file, 1, 1), hint=f"add --at I,J ({near})")
        return dataclasses.replace(self, picture=True)

    def renderables(self) -> list:
        from .report.table import at_lines, diagnostic_lines, rf_table
        doc = self.document
        if "at" in doc:  # the bounds of one index only (the JSON keeps every layer beside `at`)
            if self.picture:
                from .report.grid import FieldPicture
                return [*at_lines(doc), FieldPicture(doc), *diagnostic_lines(doc)]
            return [*at_lines(doc), *diagnostic_lines(doc)]
        return [rf_table(doc), *diagnostic_lines(doc)]


@dataclass(frozen=True)
class SweepReport(Report):
    """`cnncalc cost --input` and `cnncalc rf --input`: one row per valid input size."""

    _rows_key = "sweep"
    plot: bool = False
    """Print a plot of MACs (cost) or the field's size (rf) against the input size instead of the table (`--plot`;
    cnncalc.report.plot)."""

    def with_plot(self) -> SweepReport:
        """This report drawn as a plot (`cnncalc cost --input ... --plot`, `cnncalc rf --input ... --plot`)."""
        return dataclasses.replace(self, plot=True)

    def renderables(self) -> list:
        from .report.table import diagnostic_lines, sweep_renderables
        if self.plot:
            from .report.plot import SweepPlot
            return [SweepPlot(self.document), *diagnostic_lines(self.document)]
        return list(sweep_renderables(self.document))


class CompareReport(Report):
    """`cnncalc compare`: one row per spec (its totals and ratios to the first)."""

    _rows_key = "specs"

    def renderables(self) -> list:
        from .report.table import compare_tables, diagnostic_lines
        return [*compare_tables(self.document), *diagnostic_lines(self.document)]


class ShapesReport(Report):
    """`cnncalc validate`: every layer's inputs and output shape."""

    def renderables(self) -> list:
        from .report.table import diagnostic_lines, graph_table
        return [graph_table(self.document), f"OK: {len(self.document['layers'])} layers",
                *diagnostic_lines(self.document)]


class GradReport(SortableReport):
    """`cnncalc grad`: per layer, the norms of the gradients of its weight and of its output."""

    def sortable_columns(self) -> list[str]:
        return ["weight_grad_norm", "output_grad_norm"]

    def renderables(self) -> list:
        from .report.table import diagnostic_lines, grad_table
        return [grad_table(self.document, self.sort_by), *diagnostic_lines(self.document)]


class MemoryReport(SortableReport):
    """`cnncalc memory`: per layer, the bytes of its weights, output and (in training) what it keeps; the totals and
    the peaks."""

    def sortable_columns(self) -> list[str]:
        from .report.table import memory_columns
        return [key for key, _ in memory_columns(self.document)]

    def renderables(self) -> list:
        from .report.table import diagnostic_lines, memory_table
        return [memory_table(self.document, self.sort_by), *diagnostic_lines(self.document)]
