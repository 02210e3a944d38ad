"""A literal transcription of PyTorch's 2-D pooling and convolution output-size rules, per axis.

Transcribed from ATen (aten/src/ATen/native/Pool.h: `pooling_output_shape_pad_lr`, `pool2d_shape_check`; and the
convolution shape check "Kernel size can't be greater than actual input size"), sharing no code with cnncalc:

- pools: padding must be at most half the kernel (the kernel, not the dilated span): `kernel // 2 >= pad`;
  out = div_rtn(n + 2p - d*(k-1) - 1 + (s-1 if ceil_mode else 0), s) + 1, where div_rtn rounds toward minus
  infinity; with ceil_mode, a last window that would start in the right padding is dropped:
  if (out-1)*s >= n + p then out -= 1; an output below 1 is an error ("Output size is too small");
- convolutions: any padding; the padded input must hold the dilated kernel, then out = (n + 2p - d*(k-1) - 1) // s + 1.

Each function returns the output size, or the string "padding" or "empty" naming the error PyTorch raises.
"""


def div_rtn(x: int, y: int) -> int:
    """C++ division rounded toward minus infinity, as ATen's div_rtn (y > 0)."""
    q = abs(x) // y if x >= 0 else -(abs(x) // y)  # C++ integer division truncates toward zero
    r = x - q * y
    if r != 0 and (r < 0) != (y < 0):
        q -= 1
    return q


def pool(n: int, k: int, s: int, p: int, d: int = 1, ceil_mode: bool = False):
    if not k // 2 >= p:
        return "padding"
    out = div_rtn(n + p + p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0), s) + 1
    if ceil_mode:
        if (out - 1) * s >= n + p:
            out = out - 1
    if out < 1:
        return "empty"
    return out


def conv(n: int, k: int, s: int, p: int, d: int = 1):
    if n + 2 * p < d * (k - 1) + 1:
        return "empty"
    return (n + 2 * p - d * (k - 1) - 1) // s + 1
