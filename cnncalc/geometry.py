"""Per-axis window arithmetic shared by every sliding-window layer (conv, pools, pad).

A window layer is, along one axis, a kernel k with dilation d (so it spans `d*(k-1)+1` input positions), a stride s
and zero padding `before`/`after`. Output sizes follow PyTorch: floor((n + before + after - span) / s) + 1, or with
`ceil_mode` the ceiling, dropping a last window that would start in the right padding. TensorFlow's `same` padding
gives ceil(n/s) outputs and puts the odd padding pixel after (bottom/right); `valid` is no padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd as _gcd
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .layers.base import Dim


class GeometryError(ValueError):
    """A window that does not fit its input; the message says which quantity is wrong."""


def any_below(value: Dim, bound: int) -> bool:
    """`value < bound` for a size; for an array of sizes (a sweep over input sizes), whether any is below."""
    if type(value) is int:
        return value < bound
    return bool((value < bound).any())  # type: ignore[union-attr]


def minimum(a: Dim, b: Dim) -> Dim:
    """min(a, b) of two sizes; elementwise where either is an array of sizes (a sweep)."""
    if type(a) is int and type(b) is int:
        return a if a <= b else b
    import numpy as np
    return np.minimum(a, b)


def maximum(a: Dim, b: Dim) -> Dim:
    """max(a, b) of two sizes; elementwise where either is an array of sizes (a sweep)."""
    if type(a) is int and type(b) is int:
        return a if a >= b else b
    import numpy as np
    return np.maximum(a, b)


def any_above(value, bound: int) -> bool:
    """`value > bound` for a size; for an array of sizes (a sweep over input sizes), whether any is above."""
    if type(value) is int:
        return value > bound
    return bool((value > bound).any())


@dataclass(frozen=True, slots=True)
class Padding:
    """Zero padding: explicit per side, resolved from the input size (`mode` = "same", TensorFlow's rule), or
    from the window (`mode` = "half": dilation*(kernel-1)//2 on each side, PyTorch's usual choice)."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0
    mode: str = "explicit"  # "explicit", "same" or "half" ("valid" is explicit zeros)

    def sides(self, axis: int, size: Dim, span: int, stride: int) -> tuple[Dim, Dim]:
        """(before, after) padding along `axis` (0 = height, 1 = width) for an input of `size`."""
        if self.mode == "same":
            total = (-(-size // stride) - 1) * stride + span - size
            # An int, or (a sweep) an array of sizes: then padding per size, clipped elementwise.
            total = maximum(total, 0)
            return total // 2, total - total // 2
        if self.mode == "half":
            return (span - 1) // 2, (span - 1) // 2
        return (self.top, self.bottom) if axis == 0 else (self.left, self.right)

    def describe(self) -> str:
        if self.mode in ("same", "half"):
            return self.mode
        if self.top == self.bottom == self.left == self.right:
            return str(self.top)
        if self.top == self.bottom and self.left == self.right:
            return f"[{self.top}, {self.left}]"
        return f"[{self.top}, {self.bottom}, {self.left}, {self.right}]"


@dataclass(frozen=True, slots=True)
class Window:
    """One axis of a sliding window: output index x reads input positions stride*x - before + dilation*j."""

    kernel: int
    stride: int
    dilation: int
    before: Dim
    """Padding before the first position; with `same` padding in a sweep, an array of sizes (so is `after`)."""
    after: Dim
    ceil_mode: bool = False

    affine = True

    @property
    def span(self) -> int:
        """Input positions one window covers, holes of the dilation included: d*(k-1)+1."""
        return self.dilation * (self.kernel - 1) + 1

    def out_size(self, size: Dim) -> Dim:
        """Number of windows along an input of `size` positions, by PyTorch's rule (ATen's pooling_output_shape):
        floor((padded - span) / s) + 1; with `ceil_mode` the ceiling, so the last window may overhang the padded
        input by up to s - 1 positions, unless it would start in the right padding. Fewer than 1 is an error."""
        padded = size + self.before + self.after
        reach = padded - self.span
        if self.ceil_mode:
            out = -(-reach // self.stride) + 1
            # An int, or (a sweep) an array of sizes: the same rule elementwise.
            out = out - ((out - 1) * self.stride >= size + self.before)
        else:
            out = reach // self.stride + 1
        if any_below(out, 1):
            smallest = padded if type(padded) is int else padded.min()  # type: ignore[union-attr]
            overhang = f" plus the {self.stride - 1} that ceil_mode lets it overhang" if self.ceil_mode else ""
            raise GeometryError(f"window of {self.span} is larger than the padded input of {smallest}{overhang}")
        return out

    def back(self, x: int) -> range:
        """Input positions (unclipped, padding included) that output index `x` reads (int sizes only)."""
        start = self.stride * x - self.before
        return range(start, start + self.span, self.dilation)


def window(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], padding: Padding,
           axis: int, size: Dim, ceil_mode: bool = False) -> Window:
    """The `Window` of a 2-D layer along `axis` for an input `size` positions long."""
    k, s, d = kernel[axis], stride[axis], dilation[axis]
    before, after = padding.sides(axis, size, d * (k - 1) + 1, s)
    return Window(k, s, d, before, after, ceil_mode)


@dataclass(frozen=True, slots=True)
class IndexMap:
    """One axis of a layer that is not a sliding window (upsampling, transposed conv, irregular adaptive pooling):
    output index x reads the input positions `back(x)` lists, in ascending order."""

    reads: tuple[Sequence[int], ...]
    """For each output index, the input positions it reads, ascending (a tuple, or a range for long runs)."""

    affine = False

    def back(self, x: int) -> Sequence[int]:
        return self.reads[x] if 0 <= x < len(self.reads) else ()



def gcd(a: Dim, b: Dim) -> Dim:
    """math.gcd, also for the numpy arrays of sizes of a sweep (int64 or Python-int object arrays)."""
    if isinstance(a, int) and isinstance(b, int):
        return _gcd(a, b)
    import numpy as np
    return np.frompyfunc(_gcd, 2, 1)(a, b).astype(np.result_type(a, b))  # type: ignore[union-attr]
