"""What every layer type is: a frozen dataclass whose fields are its YAML attributes, plus its rules.

A layer type states, in one place, how its output shape follows from its inputs, how many trainable parameters and
buffers it holds, what one inference costs (`Ops`), and how its outputs depend on its inputs spatially (its `rf`
rule, and `rf_axes` where the rule needs the layer's geometry).

Sizes are `Dim`s: an int, or, during a sweep over input sizes (`cnncalc.sweep`), a numpy array of heights or widths
with one element per input size (channel counts and feature counts stay ints). Every shape and count rule must give,
element by element, what it gives for each size alone: use arithmetic, `//`, `%`, `numel`, and the helpers of
`cnncalc.geometry` (`any_below`, `gcd`, `minimum`, `maximum`) instead of `if`, `min`, `max` or `range` on a size.
A rule that cannot decide for the arrays raises LayerError (the sweep then evaluates that layer size by size); the
rules of an "indexed" layer's `rf_axes` take ints only. tests/layers/test_dims.py runs every registered layer both
ways.

Counting convention "cnncalc" (shown by `cnncalc layers` and the README):

- counts are per image (batch 1), inference, exact integers;
- a multiplication and an addition are counted separately; a MAC is one multiplication of a conv or linear layer;
- a comparison is one `max` of two values; an activation is one evaluation of a non-linear function on one element;
- a bias addition is one addition; batchnorm is folded to one multiplication and one addition per element.

Backward convention "cnncalc" (`cnncalc cost --training`; each layer type's `backward` derives its rule from the
chain rule in its docstring):

- one training step over a batch of N images (`--batch N`, default 1): the forward pass in training mode, then the
  backward pass; every per-image count is N times that of one image, except batchnorm's batch statistics;
- every parameter gets a gradient; the network input needs none, so a layer's input gradient is computed only
  where that input depends on a parameter (as PyTorch's autograd); the loss reads every layer output that no layer
  reads, and its own derivative dL/dy is given (not counted);
- a gradient that is a sum is accumulated into a zero-initialised buffer: one add per term (a multiply-accumulate is
  one mult and one add); a layer output read by k > 1 layers sums their k gradients: k-1 adds per element;
- products landing on padding or cropped positions are computed and dropped, as the forward pass counts them;
- an activation's derivative delta * f'(z) is one derivative evaluation (`backward_activations`) and one mult;
- backward MACs are the mults of conv, conv_transpose and linear: gradient w.r.t. the input plus w.r.t. the
  weights.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence, Union

from ..errors import Position, SpecError, excerpt, quote, suggest
from ..geometry import IndexMap, Padding, Window
from ..source import Scalar, Seq, Value, YAML11_BOOLEANS

if TYPE_CHECKING:
    from numpy import ndarray

Dim = Union[int, "ndarray"]
"""A size or a count: an exact int, or in a sweep a numpy array (int64 or Python ints) with one value per input size."""
Shape = tuple[Dim, ...]
"""(C, H, W) for feature maps, (F,) for flat vectors; H and W are arrays in a sweep, C and F ints."""


class LayerError(ValueError):
    """A layer that cannot take the inputs it is given; `attribute` names the YAML key to blame, if any."""

    def __init__(self, message: str, attribute: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.attribute = attribute
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Ops:
    """Operation counts of one layer for one image (per-size arrays in a sweep)."""

    mults: Dim = 0
    adds: Dim = 0
    comparisons: Dim = 0
    activations: Dim = 0
    macs: Dim = 0

    def times(self, n: Dim) -> "Ops":
        """Every count multiplied by `n` (a batch)."""
        return Ops(self.mults * n, self.adds * n, self.comparisons * n, self.activations * n, self.macs * n)

    def plus(self, other: "Ops") -> "Ops":
        return Ops(self.mults + other.mults, self.adds + other.adds, self.comparisons + other.comparisons,
                   self.activations + other.activations, self.macs + other.macs)


NO_OPS = Ops()


def activation_backward(elements: Dim) -> Ops:
    """delta * f'(z) over `elements` values: one derivative evaluation and one mult each."""
    return Ops(mults=elements, activations=elements)

BACKWARD_LINE = 220
"""The longest docstring of `backward` that `cnncalc layers --rule backward` prints as the type's rule; a longer
derivation states its rule in `backward_counting` too (tests/layers/test_backward.py checks the built-ins)."""

GLOBAL = None
"""`rf_axes` returns this when every output depends on the whole input (global pools, flatten, linear)."""

RF_RULES = {
    "identity": "output position x reads input position x of every input (the base class gives the rule)",
    "global": "every output reads the whole input (the base class gives the rule)",
    "window": "a sliding window per axis: the class's `rf_axes` returns `Window`s (or GLOBAL)",
    "indexed": "positions read one by one: the class's `rf_axes` returns `IndexMap`s, `Window`s or GLOBAL for int "
               "sizes, and the receptive field is traced position by position",
}
"""The receptive-field rules a layer type chooses from, as its class attribute `rf`."""


# --------------------------------------------------------------------------------------------------- attribute kinds

@dataclass(frozen=True)
class Kind:
    """How one YAML attribute is read: `parse(value, name)` returns the Python value or raises SpecError."""

    describe: str
    parse: Callable[[Value, str], Any]
    options: tuple[str, ...] = ()
    """The words a `choice` kind allows (empty for the others); the JSON Schema lists them."""


def _fail(value: Value, message: str, hint: str | None = None) -> SpecError:
    return SpecError(message, value.pos, hint)


def _scalar(value: Value, name: str, expected: str) -> Scalar:
    if type(value) is not Scalar:
        raise _fail(value, f"`{name}` must be {expected}, got a {'list' if type(value) is Seq else 'mapping'}")
    return value


MAX_INT = 2**63 - 1
"""Largest integer attribute or input size: sizes and counts stay exact, and far from absurd, below it."""

_DECIMAL = re.compile(r"[-+]?[0-9]+\Z")


def _short(text: str) -> str:
    return excerpt(text, 24)


def read_int(value: Value, name: str, minimum: int = 1) -> int:
    """An integer written in decimal; YAML 1.1 surprises (`010`, `1e3`, `3.0`, `on`) are refused with a reason."""
    s = _scalar(value, name, "an integer")
    v = s.value
    if type(v) is int and not s.quoted:
        if v < minimum:
            raise _fail(value, f"`{name}` must be at least {minimum}, got {_short(s.text)}")
        if v > MAX_INT:
            raise _fail(value, f"`{name}` is too large: {_short(s.text)}; the most is 2**63-1 ({MAX_INT:,})")
        return v
    text = s.text
    if not s.quoted and _DECIMAL.match(text):
        digits = text.lstrip("+-")
        if digits.startswith("0") and len(digits) > 1:
            sign = "-" if text.startswith("-") else ""
            raise _fail(value, f"`{name}`: {_short(text)} has a leading zero (YAML 1.1 would read it as octal)",
                        hint=f"write {_short(sign + (digits.lstrip('0') or '0'))}")
        # Only an integer too long to convert (thousands of digits) is left as text by the YAML reader.
        raise _fail(value, f"`{name}` is too large: {_short(text)}; the most is 2**63-1 ({MAX_INT:,})")
    if type(v) is float and not s.quoted:
        hint = f"write {int(v)}" if math.isfinite(v) and v == int(v) and abs(v) <= MAX_INT else None
        raise _fail(value, f"`{name}` must be an integer, got {_short(text)}", hint=hint)
    if type(v) is bool:
        raise _fail(value, f"`{name}` must be an integer, got the boolean {text}")
    if s.quoted:
        raise _fail(value, f"`{name}` must be an integer, got the string {_short(repr(text))}",
                    hint=(f"remove the tag `{s.tag}`" if s.tag else "remove the quotes")
                    if _DECIMAL.match(text.strip()) else None)
    raise _fail(value, f"`{name}` must be an integer, got {_short(repr(text))}")


def read_bool(value: Value, name: str) -> bool:
    s = _scalar(value, name, "true or false")
    if type(s.value) is bool and not s.quoted:
        return s.value
    hint = "write true or false (YAML 1.1 read this as a boolean, YAML 1.2 does not)" \
        if s.text in YAML11_BOOLEANS else "write true or false"
    raise _fail(value, f"`{name}` must be true or false, got {_short(repr(s.text))}", hint)


def read_float(value: Value, name: str) -> float:
    """A number; `1e-4` counts although YAML 1.1 would read it as a string."""
    s = _scalar(value, name, "a number")
    if not s.quoted and type(s.value) is not bool:
        number = None
        if isinstance(s.value, (int, float)):
            number = float(s.value) if type(s.value) is float or abs(s.value) < 2**1023 else math.inf
        else:
            try:
                number = float(s.text)
            except ValueError:
                pass
        if number is not None:
            if not math.isfinite(number):
                raise _fail(value, f"`{name}` must be a finite number, got {_short(s.text)}")
            return number
    raise _fail(value, f"`{name}` must be a number, got {_short(repr(s.text))}")


def read_name(value: Value, name: str) -> str:
    s = _scalar(value, name, "a name")
    if s.value is None or s.text == "":
        raise _fail(value, f"`{name}` must be a name, got nothing")
    return s.text


def read_pair(value: Value, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int for both axes, or `[h, w]`."""
    if type(value) is Seq:
        if len(value.items) != 2:
            raise _fail(value, f"`{name}` takes an integer or [height, width], got a list of {len(value.items)}")
        return read_int(value.items[0], name, minimum), read_int(value.items[1], name, minimum)
    v = read_int(value, name, minimum)
    return v, v


def read_padding(value: Value, name: str) -> Padding:
    """int, [h, w], [top, bottom, left, right], `same`, `half` or `valid`."""
    if type(value) is Scalar and type(value.value) is str:
        text = value.text
        if text in ("same", "half"):
            return Padding(mode=text)
        if text == "valid":
            return Padding()
        close = suggest(text, ["same", "half", "valid"])
        raise _fail(value, f"`{name}` must be an integer, [h, w], [top, bottom, left, right], same, half or valid; "
                           f"got {quote(text)}", hint=f"did you mean {close!r}?" if close else None)
    if type(value) is Seq:
        n = len(value.items)
        if n == 2:
            h, w = (read_int(v, name, 0) for v in value.items)
            return Padding(h, h, w, w)
        if n == 4:
            t, b, l, r = (read_int(v, name, 0) for v in value.items)
            return Padding(t, b, l, r)
        raise _fail(value, f"`{name}` takes 1, 2 or 4 integers, got a list of {n}")
    p = read_int(value, name, 0)
    return Padding(p, p, p, p)


def read_sizes(value: Value, name: str) -> tuple[int, ...]:
    if type(value) is not Seq or not value.items:
        raise _fail(value, f"`{name}` must be a non-empty list of integers")
    return tuple(read_int(v, name) for v in value.items)


INT = Kind("int >= 1", read_int)
PAIR = Kind("int or [h, w]", read_pair)
NONNEG_PAIR = Kind("int or [h, w], >= 0", lambda v, n: read_pair(v, n, 0))
PADDING = Kind("int, [h, w], [top, bottom, left, right], same, half or valid", read_padding)
BOOL = Kind("true or false", read_bool)
FLOAT = Kind("number", read_float)
SIZES = Kind("list of int", read_sizes)


def choice(*options: str) -> Kind:
    def parse(value: Value, name: str) -> str:
        s = _scalar(value, name, "one of " + ", ".join(options))
        if s.text in options:
            return s.text
        close = suggest(s.text, options)
        raise _fail(value, f"`{name}` must be one of {', '.join(options)}; got {quote(s.text)}",
                    hint=f"did you mean {close!r}?" if close else None)
    return Kind(" | ".join(options), parse, options)


def attr(kind: Kind, default: Any = dataclasses.MISSING, doc: str = "", shown: str | None = None) -> Any:
    """A layer field read from the YAML attribute of the same name; `shown` is how `cnncalc layers` writes a
    default that is not a plain value (None: "optional")."""
    return dataclasses.field(default=default, metadata={"kind": kind, "doc": doc, "shown": shown})


# ------------------------------------------------------------------------------------------------------- the layer

class Layer:
    """Base of every layer type. Subclasses are frozen dataclasses registered with `@register`, which checks that
    the class states its receptive-field rule `rf` (one of RF_RULES; no default)."""

    type_name: ClassVar[str]
    rf: ClassVar[str]
    """How outputs depend on inputs spatially: a key of RF_RULES."""
    summary: ClassVar[str] = ""
    counting: ClassVar[str] = "nothing"
    backward_counting: ClassVar[str] = ""
    """The backward rule in one line, for `cnncalc layers --rule backward`, where the docstring of `backward` (which
    derives it) is longer than BACKWARD_LINE characters; "": that docstring is the line."""
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    outputs: ClassVar[int] = 1
    call_attributes: ClassVar[tuple[str, ...]] = ()
    """Attributes that say how PyTorch calls each part of a composite layer; such a layer refuses `call:`."""

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        """The shape this layer produces; raise LayerError when the inputs do not fit."""
        return inputs[0]

    def output_shapes(self, inputs: Sequence[Shape]) -> tuple[Shape, ...]:
        """Every output of the layer (more than one only for `split`)."""
        return (self.output_shape(inputs),)

    def params(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        """Trainable parameters."""
        return 0

    def buffers(self, inputs: Sequence[Shape], output: Shape) -> Dim:
        """Non-trainable stored values (batchnorm running statistics)."""
        return 0

    def ops(self, inputs: Sequence[Shape], output: Shape) -> Ops:
        """Operation counts for one image, by the cnncalc convention."""
        return NO_OPS

    def training_ops(self, inputs: Sequence[Shape], output: Shape, batch: int) -> Ops:
        """The forward pass in training mode over `batch` images: `batch` times `ops`, unless the layer computes
        otherwise in training (batchnorm's batch statistics, dropout's mask)."""
        return self.ops(inputs, output).times(batch)

    def backward(self, inputs: Sequence[Shape], output: Shape, input_grads: Sequence[bool], batch: int) -> Ops:
        """The backward pass over `batch` images by the backward convention (module docstring): the gradients of
        the parameters and of each input `k` with `input_grads[k]`. No default: every layer type states its rule
        (`cnncalc cost --training` refuses a type without one; tests/layers/test_backward.py checks the built-ins)."""
        raise NotImplementedError

    def rf_axes(self, inputs: Sequence[Shape], output: Shape) -> tuple[Window | IndexMap, Window | IndexMap] | None:
        """Per axis (height, width), how output index x depends on input positions; GLOBAL (None) for all.
        Here the rules "identity" and "global"; a "window" or "indexed" layer type overrides it."""
        return _BASE_RF[self.rf]

    def local_rf(self, inputs: Sequence[Shape], output: Shape) -> tuple[tuple[Window, Window], tuple[int, ...]] | None:
        """The rule of the *local* receptive field (analyzers/rf.py) where it differs from `rf_axes`: for a layer
        that is global only because a per-channel gate sees the whole image (a C x 1 x 1 map broadcast over a larger
        one), (rules per axis, the inputs that are not gates), the gate taken as a constant. None (the default):
        the local field follows `rf_axes` over every input, so a true global (global pool, flatten, linear) has
        none."""
        return None

    @classmethod
    def states_backward(cls) -> bool:
        """Whether the type states its backward rule (`backward` overridden)."""
        return cls.backward is not Layer.backward

    @classmethod
    def backward_rule(cls) -> str | None:
        """The backward rule `cnncalc layers --rule backward` prints: `backward_counting`, else the docstring of
        `backward` as one line; None for a type that states no backward rule."""
        if not cls.states_backward():
            return None
        return cls.backward_counting or " ".join((cls.backward.__doc__ or "").split())

    @property
    def indexed_rf(self) -> bool:
        """Whether the receptive field is traced position by position (analyzers/rf.py)."""
        return self.rf == "indexed"


IDENTITY = Window(1, 1, 1, 0, 0)
IDENTITY_AXES = (IDENTITY, IDENTITY)
_BASE_RF = {"identity": IDENTITY_AXES, "global": GLOBAL}


REGISTRY: dict[str, type[Layer]] = {}
"""YAML `type` -> layer class. Adding a layer type is adding one registered class."""


def register(cls: type[Layer]) -> type[Layer]:
    """Add a layer type; it must state its receptive-field rule `rf`, and override `rf_axes` exactly when the rule
    needs its geometry ("window", "indexed")."""
    if cls.type_name in REGISTRY:
        raise RuntimeError(f"layer type {cls.type_name!r} registered twice")
    rule = getattr(cls, "rf", None)
    choices = " | ".join(repr(r) for r in RF_RULES)
    if rule not in RF_RULES:
        raise TypeError(f"layer type {cls.type_name!r} ({cls.__qualname__}) must state its receptive-field rule as "
                        f"the class attribute `rf` = {choices}, got {rule!r}")
    own = cls.rf_axes is not Layer.rf_axes
    if own != (rule not in _BASE_RF):
        need = "must override `rf_axes`" if not own else "must not override `rf_axes` (the base gives the rule)"
        raise TypeError(f"layer type {cls.type_name!r} ({cls.__qualname__}) with rf = {rule!r} {need}")
    REGISTRY[cls.type_name] = cls
    return cls


def fields_of(cls: type[Layer]) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "kind" in f.metadata]  # type: ignore[arg-type]  # a dataclass


def build(cls: type[Layer], attrs: dict[str, Value], key_pos: dict[str, Position], at: Position) -> Layer:
    """Read a layer's attributes; unknown keys are refused with the closest known name."""
    fields = fields_of(cls)
    known = {f.name: f for f in fields}
    for key in attrs:
        if key not in known:
            close = suggest(key, known)
            hint = f"did you mean {close!r}?" if close else (
                f"{cls.type_name} takes {', '.join(known)}" if known else f"{cls.type_name} takes no attributes")
            raise SpecError(f"unknown attribute {quote(key)} for layer type {cls.type_name!r}", key_pos.get(key, at),
                            hint)
    values = {}
    for f in fields:
        if f.name in attrs:
            values[f.name] = f.metadata["kind"].parse(attrs[f.name], f.name)
        elif f.default is dataclasses.MISSING:
            raise SpecError(f"layer type {cls.type_name!r} needs the attribute `{f.name}`", at,
                            hint=f"`{f.name}`: {f.metadata['kind'].describe}")
    return cls(**values)


def numel(shape: Shape) -> Dim:
    n: Dim = 1
    for d in shape:
        n *= d
    return n


def int_sizes(shape: Shape, what: str) -> tuple[int, ...]:
    """`shape` with int sizes only, as an "indexed" receptive-field rule needs; arrays of sizes (a sweep) raise
    LayerError, so that the sweep traces such a layer size by size."""
    if any(type(d) is not int for d in shape):
        raise LayerError(f"the receptive field of {what} is traced position by position, one input size at a time")
    return shape  # type: ignore[return-value]


def spatial(shape: Shape, what: str) -> tuple[int, Dim, Dim]:
    """(C, H, W) of a feature-map input, or a LayerError for a flat one."""
    if len(shape) != 3:
        raise LayerError(f"{what} needs a C x H x W input, got a flat vector of {shape[0]}",
                         hint="put it before `flatten`/`linear`")
    return shape  # type: ignore[return-value]
