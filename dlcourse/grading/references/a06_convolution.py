"""References for assignment 06_convolution (seed 6.2–6.4): ``dlcourse.nn`` shapes, naive loops, Conv2d, pooling.

Output sizes and parameter counts are ``dlcourse.nn.shapes`` (floor rounding, the bracket of seed
6.3.2); the loop versions are ``dlcourse.nn.naive``; ``im2col`` is the column matrix the fast
``Conv2d`` builds (its scratch layout, cut to the assignment's ``(C·kH·kW, N·H_o·W_o)``); the
im2col convolution is ``Conv2d`` itself and pooling uses ``MaxPool2d`` / ``AvgPool2d``.
"""
from __future__ import annotations

import numpy as np

from dlcourse.nn import AvgPool2d, Conv2d, MaxPool2d, naive, shapes
from dlcourse.nn.conv import _geometry, _im2col, _pad_into

_CONV = ["dlcourse.nn.conv", "dlcourse.nn.naive", "dlcourse.nn.blocks", "dlcourse.nn.upsample"]
_POOL = ["dlcourse.nn.pool", "dlcourse.nn.naive", "dlcourse.nn.blocks"]
FORBID = {
    "sizes": ["dlcourse.nn.shapes"],
    "conv_naive": _CONV,
    "im2col": _CONV,
    "conv_im2col": _CONV,
    "max_pool": _POOL,
    "avg_pool": _POOL,
}
ADAPTERS = {
    "sizes": ("conv_output_size", "pool_output_size", "conv_parameter_count"),
    "conv_naive": ("conv_forward_naive", "conv_backward_naive"),
    "im2col": ("im2col",),
    "conv_im2col": ("conv_forward_im2col", "conv_backward_im2col"),
    "max_pool": ("max_pool_forward", "max_pool_backward"),
    "avg_pool": ("avg_pool_forward", "avg_pool_backward"),
}


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """⌊(n + 2P − F)/S⌋ + 1 (seed 6.3.2)."""
    return shapes.conv_output_size(n, kernel, stride, padding, rounding="floor")


def pool_output_size(n: int, kernel: int, stride: int | None = None) -> int:
    """⌊(n − F)/S⌋ + 1 with S = F by default (seed 6.4.1)."""
    return shapes.pool_output_size(n, kernel, stride, rounding="floor")


def conv_parameter_count(c_in: int, c_out: int, kernel_h: int, kernel_w: int) -> int:
    """(C_i·H_K·W_K + 1)·C_o (seed 6.3.3)."""
    return shapes.conv_parameter_count(c_in, c_out, (kernel_h, kernel_w))


def conv_forward_naive(x, w, b, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolution layer with loops (seed 6.3.1): x (N, C, H, W), w (C_o, C, kH, kW), b (C_o,)."""
    return naive.conv2d_naive_forward(np.asarray(x, np.float64), np.asarray(w, np.float64),
                                      np.asarray(b, np.float64), stride, padding)


def conv_backward_naive(dout, x, w, stride: int = 1, padding: int = 0):
    """(dx, dw, db) of the convolution."""
    return naive.conv2d_naive_backward(np.asarray(dout, np.float64), np.asarray(x, np.float64),
                                       np.asarray(w, np.float64), stride, padding)


def im2col(x, kernel_h: int, kernel_w: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Every window of the padded x as a column: (C·kH·kW, N·H_o·W_o), rows (c, i, j), columns (n, h_o, w_o)."""
    x = np.asarray(x, dtype=np.float64)
    g = _geometry("im2col", x.shape, (kernel_h, kernel_w), (stride, stride), (padding, padding), "exact")
    buf = np.zeros((g.c, g.n, g.rows * g.row))
    _pad_into(buf, x, g)
    cols = np.empty((g.c, g.kh, g.kw, g.n, g.ho, g.wq))
    _im2col(buf, g, cols)
    return cols[..., :g.wo].reshape(g.c * g.kh * g.kw, g.n * g.ho * g.wo)


def _conv(w, b, stride: int, padding: int) -> Conv2d:
    w = np.asarray(w, dtype=np.float64)
    layer = Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=stride, padding=padding).double()
    layer.weight.data = w.copy()
    layer.bias.data = np.asarray(b, dtype=np.float64).copy()
    for p in layer.parameters():
        p.grad = np.zeros_like(p.data)
    return layer


def conv_forward_im2col(x, w, b, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Same result as ``conv_forward_naive``, as one matrix product (``Conv2d``)."""
    return _conv(w, b, stride, padding)(np.asarray(x, dtype=np.float64))


def conv_backward_im2col(dout, x, w, stride: int = 1, padding: int = 0):
    """(dx, dw, db) of the convolution (``Conv2d.backward``)."""
    layer = _conv(w, np.zeros(np.shape(w)[0]), stride, padding)
    layer(np.asarray(x, dtype=np.float64))
    dx = layer.backward(np.asarray(dout, dtype=np.float64))
    return dx, layer.weight.grad, layer.bias.grad


def _pool(cls, x, kernel: int, stride: int | None):
    layer = cls(kernel, stride)
    return layer, layer(np.asarray(x, dtype=np.float64))


def max_pool_forward(x, kernel: int, stride: int | None = None) -> np.ndarray:
    """Maximum of every kernel×kernel window (seed 6.4.2), per channel."""
    return _pool(MaxPool2d, x, kernel, stride)[1]


def max_pool_backward(dout, x, kernel: int, stride: int | None = None) -> np.ndarray:
    """Each window's gradient goes to its maximum."""
    layer, _ = _pool(MaxPool2d, x, kernel, stride)
    return layer.backward(np.asarray(dout, dtype=np.float64))


def avg_pool_forward(x, kernel: int, stride: int | None = None) -> np.ndarray:
    """Mean of every kernel×kernel window (seed 6.4.3), per channel."""
    return _pool(AvgPool2d, x, kernel, stride)[1]


def avg_pool_backward(dout, x, kernel: int, stride: int | None = None) -> np.ndarray:
    """Every pixel of a window gets dout / kernel²."""
    layer, _ = _pool(AvgPool2d, x, kernel, stride)
    return layer.backward(np.asarray(dout, dtype=np.float64))
