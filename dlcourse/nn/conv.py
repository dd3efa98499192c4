"""Convolution layers (seed 6.2–6.3) and the transposed convolution used for upsampling (seed 6.10.1).

``Conv2d`` computes seed 6.3.1 for every filter ``o`` (cross-correlation, as in PyTorch):

    z[n, o, j, k] = b[o] + Σ_c Σ_m Σ_l  w[o, c, m, l] · x_pad[n, c, S·j + m, S·k + l]

How it is fast (im2col).  Every window of the padded input is copied into one column of a matrix
``cols`` of shape ``(C·kH·kW, N·H_o·W_q)``; the whole layer is then **one matrix product**
``W (C_o, C·kH·kW) @ cols`` per group.  The backward pass is two more products
(``dW = dz @ colsᵀ``, ``dcols = Wᵀ @ dz``) and a *col2im* that adds every column back onto the
pixels it came from.  col2im loops over the ``kH·kW`` kernel offsets and adds one strided slice
per offset (``np.add.at`` made the whole layer ~4× slower).

Two details keep the memory traffic low:

* the padded input is stored channel-first ``(C, N, rows·row)`` so that each copy in im2col and
  col2im runs over long contiguous rows, and the matrix product needs no transposes;
* each output row is computed ``W_q = row / S`` wide instead of ``W_o`` wide ("wide" output):
  the extra ``W_q - W_o`` columns are garbage and are dropped, but they make the windows of a whole
  image a single evenly strided view of the padded buffer.  Their upstream gradient is set to
  zero, so they add nothing to ``dW`` or ``dx``;
* with ``groups=1`` the bias is an extra row of ones in ``cols`` (the bias trick of a linear
  model): the forward product adds it and the ``dW`` product also returns ``dL/db``.

Scratch buffers (padded input, columns, gradients) are allocated once per input shape and reused.
The teaching versions with plain loops are in ``dlcourse.nn.naive``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._rng import get_rng
from .._validate import check_dim, check_ndim, float_array, positive_int
from . import init
from ._workspace import workspace
from .module import Module, Parameter
from .shapes import _check_rounding, conv_output_size, pair

__all__ = ["Conv2d", "ConvTranspose2d"]


@dataclass(frozen=True)
class _Geometry:
    """Sizes of one convolution ``(N, C, H, W) → (N, ·, ho, wo)`` and of its scratch layout."""

    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    ho: int
    wo: int
    row: int   # length of one buffer row: padded width rounded up to a multiple of sw
    rows: int  # buffer rows per image: padded height + 1 slack row read only by garbage columns
    wq: int    # width of the "wide" output (row // sw >= wo)

    @property
    def m(self) -> int:
        """Columns of ``cols`` per channel-offset: ``N · ho · wq``."""
        return self.n * self.ho * self.wq


def _geometry(owner: str, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, rounding: str) -> _Geometry:
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho = conv_output_size(h, kh, sh, ph, rounding=rounding, owner=owner, axis="height")
    wo = conv_output_size(w, kw, sw, pw, rounding=rounding, owner=owner, axis="width")
    row = -(-(w + 2 * pw) // sw) * sw
    return _Geometry(n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo, row, h + 2 * ph + 1, row // sw)


def _window(buf: np.ndarray, g: _Geometry, i: int, j: int) -> np.ndarray:
    """View ``(C, N, ho, wq)`` of the pixels that kernel offset ``(i, j)`` meets in every window.

    Bounds: the last element read is ``(S·(ho-1) + kH)·row + kW - 2 < rows·row`` because
    ``S·(ho-1) + kH <= H + 2P`` and ``rows = H + 2P + 1``; so the view never leaves ``buf``.
    """
    isz = buf.itemsize
    base = buf[:, :, i * g.row + j:]
    return as_strided(base, shape=(buf.shape[0], g.n, g.ho, g.wq),
                      strides=(buf.strides[0], buf.strides[1], g.sh * g.row * isz, g.sw * isz), writeable=True)


def _pad_into(buf: np.ndarray, x: np.ndarray, g: _Geometry) -> None:
    """Write ``x (N, C, H, W)`` channel-first into the interior of the zero-bordered ``buf``."""
    grid = buf.reshape(buf.shape[0], g.n, g.rows, g.row)
    grid[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x.transpose(1, 0, 2, 3)


def _im2col(buf: np.ndarray, g: _Geometry, cols: np.ndarray) -> None:
    """Fill ``cols (C, kH, kW, N, ho, wq)``: one strided copy per kernel offset."""
    for i in range(g.kh):
        for j in range(g.kw):
            cols[:, i, j] = _window(buf, g, i, j)


def _col2im(dcols: np.ndarray, g: _Geometry, dbuf: np.ndarray) -> None:
    """Adjoint of ``_im2col``: add every column back onto its pixels of ``dbuf (C, N, rows·row)``."""
    dbuf.fill(0)
    for i in range(g.kh):
        for j in range(g.kw):
            window = _window(dbuf, g, i, j)
            window += dcols[:, i, j]


def _crop(dbuf: np.ndarray, g: _Geometry) -> np.ndarray:
    """The un-padded image ``(N, C, H, W)`` (a new contiguous array) from a channel-first buffer."""
    grid = dbuf.reshape(dbuf.shape[0], g.n, g.rows, g.row)
    return np.ascontiguousarray(grid[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w].transpose(1, 0, 2, 3))


def _from_wide(wide: np.ndarray, g: _Geometry, bias: np.ndarray | None) -> np.ndarray:
    """``(C, N, ho, wq)`` wide result → new ``(N, C, ho, wo)`` array, plus ``bias`` per channel.

    The bias is added to ``wide`` in place (contiguous, ~3× faster than adding during the strided copy).
    """
    wide = wide.reshape(-1, g.n, g.ho, g.wq)
    if bias is not None:
        wide += bias.reshape(-1, 1, 1, 1)
    return np.ascontiguousarray(wide[:, :, :, :g.wo].transpose(1, 0, 2, 3))


def _to_wide(cache: dict, name: str, x: np.ndarray, g: _Geometry) -> np.ndarray:
    """``(N, C, ho, wo)`` → channel-first wide ``(C, N, ho, wq)`` whose garbage columns stay zero."""
    wide = workspace(cache, name, (x.shape[1], g.n, g.ho, g.wq), x.dtype)
    wide[:, :, :, :g.wo] = x.transpose(1, 0, 2, 3)
    return wide


class Conv2d(Module):
    """2-D convolution layer, seed 6.3 (PyTorch's ``nn.Conv2d`` without dilation).

    Shapes: ``x (N, C_in, H, W)`` → ``z (N, C_out, H_o, W_o)`` with
    ``H_o = (H + 2P - kH) / S + 1`` (seed 6.3.2; see ``dlcourse.nn.shapes`` for the integer rule).
    Parameters: ``weight (C_out, C_in / groups, kH, kW)``, ``bias (C_out,)``:
    ``(C_in/groups · kH · kW + 1) · C_out`` of them (seed 6.3.3).  Initialised like PyTorch,
    ``U(±1/sqrt(fan_in))`` with ``fan_in = C_in/groups · kH · kW``.

    ``groups`` splits the channels into independent convolutions; ``groups = C_in`` is the
    depthwise convolution of depthwise-separable blocks (seed 6.7).

    Differences from PyTorch: an output size that is not an integer raises ``ValueError``
    (seed 6.2.2) unless ``rounding="floor"``; no dilation or padding modes.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, groups: int = 1,
                 bias: bool = True, rng=None, *, rounding: str = "exact") -> None:
        super().__init__()
        owner = "Conv2d"
        self.in_channels = positive_int(owner, in_channels, "in_channels")
        self.out_channels = positive_int(owner, out_channels, "out_channels")
        self.groups = positive_int(owner, groups, "groups")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        self.kernel_size = pair(owner, kernel_size, "kernel_size")
        self.stride = pair(owner, stride, "stride")
        self.padding = pair(owner, padding, "padding", minimum=0)
        self.rounding = _check_rounding(owner, rounding)
        kh, kw = self.kernel_size
        fan = in_channels // groups * kh * kw
        gen = get_rng(rng)  # one generator for weight and bias (an int seed would repeat its draws)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, kh, kw), dtype=np.float32))
        init.default_uniform_(self.weight, fan, rng=gen)
        self.bias = None
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=np.float32))
            init.default_uniform_(self.bias, fan, rng=gen)
        self._ws: dict = {}

    def _grouped_weight(self, dtype) -> np.ndarray:
        """``(G, C_out/G, C_in/G · kH · kW)``: the filters of each group as matrix rows."""
        return self.weight.data.astype(dtype, copy=False).reshape(self.groups, self.out_channels // self.groups, -1)

    def forward(self, x):
        x = float_array("Conv2d", x)
        check_ndim("Conv2d", x, 4, "(N, C, H, W)")
        check_dim("Conv2d", x, 1, self.in_channels, "in_channels")
        g = _geometry("Conv2d", x.shape, self.kernel_size, self.stride, self.padding, self.rounding)
        ws, groups, dtype = self._ws, self.groups, x.dtype
        buf = workspace(ws, "x_pad", (g.c, g.n, g.rows * g.row), dtype)
        _pad_into(buf, x, g)
        # With one group the bias rides along as an extra row of ones in `cols` (the "bias trick"):
        # the product adds it, and in backward the same product yields dL/db, saving two passes.
        fold = self.bias is not None and groups == 1
        k = g.c * g.kh * g.kw
        cols = workspace(ws, "cols", (k + fold, g.m), dtype)
        _im2col(buf, g, cols[:k].reshape(g.c, g.kh, g.kw, g.n, g.ho, g.wq))
        wide = workspace(ws, "out_wide", (groups, self.out_channels // groups, g.m), dtype)
        weight = self._grouped_weight(dtype)
        bias = None if self.bias is None else self.bias.data.astype(dtype, copy=False)
        if fold:
            cols[k] = 1
            weight = np.concatenate([weight[0], bias[:, None]], axis=1)[None]
        np.matmul(weight, cols.reshape(groups, -1, g.m), out=wide)
        self._geom, self._cols, self._fold = g, cols, fold
        return _from_wide(wide, g, None if fold else bias)

    def backward(self, dout, input_grad: bool = True):
        g = self._geom
        dout = float_array("Conv2d.backward", dout, "dout")
        expected = (g.n, self.out_channels, g.ho, g.wo)
        if dout.shape != expected:
            raise ValueError(f"Conv2d.backward expected dout of shape {expected} (the forward output), "
                             f"got {dout.shape}")
        dtype, groups = self._cols.dtype, self.groups
        dout = dout.astype(dtype, copy=False)
        d_wide = _to_wide(self._ws, "dout_wide", dout, g).reshape(groups, -1, g.m)
        cols = self._cols.reshape(groups, -1, g.m)
        # dL/dW = dz colsᵀ and dL/dcols = Wᵀ dz, one product per group (the backward pass of seed 5.4)
        dw = np.matmul(d_wide, cols.transpose(0, 2, 1))
        if self._fold:  # the column of the ones row is dL/db = Σ dz
            self.bias.accumulate(dw[0, :, -1].astype(self.bias.dtype))
            dw = dw[:, :, :-1]
        elif self.bias is not None:
            self.bias.accumulate(d_wide.reshape(self.out_channels, -1).sum(axis=1).astype(self.bias.dtype))
        self.weight.accumulate(dw.reshape(self.weight.shape).astype(self.weight.dtype, copy=False))
        if not input_grad:
            return None
        dcols = workspace(self._ws, "dcols", (groups, g.c // groups * g.kh * g.kw, g.m), dtype)
        np.matmul(self._grouped_weight(dtype).transpose(0, 2, 1), d_wide, out=dcols)
        dbuf = workspace(self._ws, "dx_pad", (g.c, g.n, g.rows * g.row), dtype)
        _col2im(dcols.reshape(g.c, g.kh, g.kw, g.n, g.ho, g.wq), g, dbuf)
        return _crop(dbuf, g)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class ConvTranspose2d(Module):
    """Transposed convolution ("up-convolution", seed 6.10.1), PyTorch's ``nn.ConvTranspose2d``.

    It is the adjoint of ``Conv2d`` with the same weights: its forward pass is the backward
    (input-gradient) pass of a convolution from ``C_out`` to ``C_in`` channels, so
    ``<conv(y), x> = <y, convT(x)>``.  Each input pixel stamps a weighted copy of the kernel onto
    the output, ``S`` pixels apart, and overlapping stamps add up.

    Shapes: ``x (N, C_in, H, W)`` → ``y (N, C_out, H_o, W_o)`` with
    ``H_o = (H - 1)·S - 2P + kH`` (always an integer).
    Parameters: ``weight (C_in, C_out, kH, kW)`` (PyTorch's layout), ``bias (C_out,)``; initialised
    like PyTorch with ``fan_in = C_out · kH · kW``.  No ``output_padding``, groups or dilation.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True,
                 rng=None) -> None:
        super().__init__()
        owner = "ConvTranspose2d"
        self.in_channels = positive_int(owner, in_channels, "in_channels")
        self.out_channels = positive_int(owner, out_channels, "out_channels")
        self.kernel_size = pair(owner, kernel_size, "kernel_size")
        self.stride = pair(owner, stride, "stride")
        self.padding = pair(owner, padding, "padding", minimum=0)
        kh, kw = self.kernel_size
        fan = out_channels * kh * kw
        gen = get_rng(rng)  # one generator for weight and bias (an int seed would repeat its draws)
        self.weight = Parameter(np.empty((in_channels, out_channels, kh, kw), dtype=np.float32))
        init.default_uniform_(self.weight, fan, rng=gen)
        self.bias = None
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=np.float32))
            init.default_uniform_(self.bias, fan, rng=gen)
        self._ws: dict = {}

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """``((H - 1)·S - 2P + kH, (W - 1)·S - 2P + kW)``; raises if a size is not positive."""
        sizes = []
        for n, k, s, p, axis in zip((h, w), self.kernel_size, self.stride, self.padding, ("height", "width")):
            size = (n - 1) * s - 2 * p + k
            if size < 1:
                raise ValueError(f"ConvTranspose2d: output {axis} (H - 1)·S - 2P + K = ({n} - 1)·{s} - 2·{p} + {k} "
                                 f"= {size} is not positive; use less padding")
            sizes.append(size)
        return sizes[0], sizes[1]

    def forward(self, x):
        x = float_array("ConvTranspose2d", x)
        check_ndim("ConvTranspose2d", x, 4, "(N, C, H, W)")
        check_dim("ConvTranspose2d", x, 1, self.in_channels, "in_channels")
        n, _, h, w = x.shape
        ho, wo = self.output_size(h, w)
        # geometry of the convolution this layer is the adjoint of: (N, C_out, ho, wo) -> (N, C_in, h, w)
        g = _geometry("ConvTranspose2d", (n, self.out_channels, ho, wo), self.kernel_size, self.stride,
                      self.padding, "exact")
        weight = self.weight.data.astype(x.dtype, copy=False).reshape(self.in_channels, -1)
        x_wide = _to_wide(self._ws, "x_wide", x, g).reshape(self.in_channels, g.m)
        dcols = workspace(self._ws, "cols", (weight.shape[1], g.m), x.dtype)
        np.matmul(weight.T, x_wide, out=dcols)
        dbuf = workspace(self._ws, "y_pad", (g.c, g.n, g.rows * g.row), x.dtype)
        _col2im(dcols.reshape(g.c, g.kh, g.kw, g.n, g.ho, g.wq), g, dbuf)
        y = _crop(dbuf, g)
        if self.bias is not None:
            y += self.bias.data.astype(x.dtype, copy=False).reshape(1, -1, 1, 1)
        self._geom, self._x_wide = g, x_wide
        return y

    def backward(self, dout):
        g = self._geom
        dout = float_array("ConvTranspose2d.backward", dout, "dout")
        expected = (g.n, self.out_channels, g.h, g.w)
        if dout.shape != expected:
            raise ValueError(f"ConvTranspose2d.backward expected dout of shape {expected} (the forward output), "
                             f"got {dout.shape}")
        dtype = self._x_wide.dtype
        dout = dout.astype(dtype, copy=False)
        if self.bias is not None:
            self.bias.accumulate(dout.sum(axis=(0, 2, 3)).astype(self.bias.dtype))
        buf = workspace(self._ws, "dy_pad", (g.c, g.n, g.rows * g.row), dtype)
        _pad_into(buf, dout, g)
        cols = workspace(self._ws, "dcols", (g.c, g.kh, g.kw, g.n, g.ho, g.wq), dtype)
        _im2col(buf, g, cols)
        cols = cols.reshape(-1, g.m)
        self.weight.accumulate((self._x_wide @ cols.T).reshape(self.weight.shape).astype(self.weight.dtype,
                                                                                          copy=False))
        weight = self.weight.data.astype(dtype, copy=False).reshape(self.in_channels, -1)
        return _from_wide(weight @ cols, g, None)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")
        return text + ("" if self.bias is not None else ", bias=False")
