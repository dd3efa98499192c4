"""Pooling layers, seed 6.4: max pooling (6.4.2) and average pooling (6.4.3).

Both work on every channel separately, ``C_o = C_i``, and map ``H`` to ``(H - H_K) / S + 1``
(seed 6.4.1).  Two implementations:

* windows that tile the image (``stride = kernel_size`` and the size divisible, e.g. the usual
  2×2): reduce along each window row first — ``x.reshape(-1, kW)[:, j]`` is one long evenly
  strided run, which numpy processes without per-row overhead — then down the window columns.
  Max pooling remembers the winner of each stage and routes the gradient back through both.
* any other window/stride (overlapping windows, ``rounding="floor"`` borders): offset ``(i, j)``
  of every window is the strided slice ``x[:, :, i::S, j::S]`` (cut to ``H_o × W_o``), so the
  window max/mean is an element-wise ``maximum``/sum of ``kH·kW`` slices, and the backward pass
  adds into a zeroed ``dx`` slice by slice.

Max-pool gradients go to the arg-max of each window only; on ties the first maximum in
row-major window order gets it, as in PyTorch.
The teaching versions with plain loops are in ``dlcourse.nn.naive``.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_ndim, float_array
from .module import Module
from .shapes import _check_rounding, pair, pool_output_size

__all__ = ["MaxPool2d", "AvgPool2d"]


class _Pool2d(Module):
    """Shared geometry, validation and slicing of the two pooling layers."""

    def __init__(self, kernel_size, stride=None, *, rounding: str = "exact") -> None:
        super().__init__()
        owner = type(self).__name__
        self.kernel_size = pair(owner, kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(owner, stride, "stride")
        self.rounding = _check_rounding(owner, rounding)

    def _prepare(self, x) -> np.ndarray:
        owner = type(self).__name__
        x = float_array(owner, x)
        check_ndim(owner, x, 4, "(N, C, H, W)")
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        self._out_hw = (pool_output_size(x.shape[2], kh, sh, rounding=self.rounding, owner=owner, axis="height"),
                        pool_output_size(x.shape[3], kw, sw, rounding=self.rounding, owner=owner, axis="width"))
        self._in_shape, self._dtype = x.shape, x.dtype
        return x

    def _offsets(self):
        """Index of the strided slice ``x[:, :, i::S, j::S]`` (cut to ``H_o × W_o``) for each window offset
        ``(i, j)``, in row-major order."""
        kh, kw = self.kernel_size
        (sh, sw), (ho, wo) = self.stride, self._out_hw
        for i in range(kh):
            for j in range(kw):
                yield np.s_[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]

    def _tiles_exactly(self) -> bool:
        """Windows neither overlap nor leave a border: every input pixel is in exactly one window."""
        (kh, kw), (sh, sw), (ho, wo) = self.kernel_size, self.stride, self._out_hw
        return (kh, kw) == (sh, sw) and self._in_shape[2:] == (ho * kh, wo * kw)

    def _check_dout(self, dout) -> np.ndarray:
        owner = f"{type(self).__name__}.backward"
        dout = float_array(owner, dout, "dout")
        expected = self._in_shape[:2] + self._out_hw
        if dout.shape != expected:
            raise ValueError(f"{owner} expected dout of shape {expected} (the forward output), got {dout.shape}")
        return dout

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


def _rows(x4: np.ndarray, k: int) -> np.ndarray:
    """View ``(R, k, L)`` of a contiguous ``(…, L·k)`` array whose ``[:, j]`` is every k-th element from j.

    ``[:, j]`` is one long evenly strided run, so numpy loops over it without per-row overhead.
    """
    return x4.reshape(-1, x4.shape[-1] // k, k).transpose(0, 2, 1)


def _max_along(view: np.ndarray, k: int):
    """Max over axis 1 of ``view (R, k, L)`` and which ``j`` holds it (the first on ties).

    The index is a bool array (``k = 2``), a uint8 array (``k > 2``) or None (``k = 1``).
    """
    best = view[:, 0].copy()
    index = None
    for j in range(1, k):
        later = view[:, j] > best  # strict: a tie keeps the earlier position, as PyTorch does
        np.maximum(best, view[:, j], out=best)
        if k == 2:
            index = later
        else:
            index = np.zeros(best.shape, np.uint8) if index is None else index
            np.copyto(index, np.uint8(j), where=later)
    return best, index


def _route(grad: np.ndarray, index, k: int, out: np.ndarray) -> None:
    """``out[:, j] = grad`` where ``index == j`` and 0 elsewhere; ``out`` is an ``(R, k, L)`` view."""
    if k == 1:
        out[:, 0] = grad
    elif k == 2:
        np.multiply(grad, index, out=out[:, 1])
        np.subtract(grad, out[:, 1], out=out[:, 0])  # exact: g - g = 0, g - 0 = g
    else:
        for j in range(k):
            np.multiply(grad, index == j, out=out[:, j])


class MaxPool2d(_Pool2d):
    """Max pooling, seed 6.4.2: ``z[n, c, j, k] = max`` of the ``kH × kW`` window at ``(S·j, S·k)``.

    Shapes: ``x (N, C, H, W)`` → ``z (N, C, H_o, W_o)``, ``H_o = (H - kH) / S + 1`` (seed 6.4.1);
    ``stride`` defaults to ``kernel_size``.  No parameters.  The gradient of each output goes to
    the input that was the maximum (the first one in row-major window order on ties, like
    PyTorch).  A stride that does not fit raises ``ValueError`` unless ``rounding="floor"``
    (PyTorch's default behaviour).

    Fast path when the windows tile the image (``stride = kernel_size``, the usual 2×2): the max is
    taken along each window row first (over long strided runs of ``x``), then down the window
    column, remembering the winner of each stage; backward routes ``dout`` through the two stages
    in reverse.  Other settings take the maximum over the ``kH·kW`` strided slices.
    """

    def forward(self, x):
        x = self._prepare(x)
        self._tiled = self._tiles_exactly()
        if self._tiled:
            return self._forward_tiled(np.ascontiguousarray(x))
        slices = list(self._offsets())
        out = x[slices[0]].copy()
        for s in slices[1:]:
            np.maximum(out, x[s], out=out)
        self._x, self._out = x, out
        return out.copy()

    def _forward_tiled(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (ho, wo) = self.kernel_size, self._out_hw
        n, c = x.shape[:2]
        row_max, self._col_index = _max_along(_rows(x, kw), kw)             # (N·C·H, W_o)
        out, self._row_index = _max_along(row_max.reshape(n * c * ho, kh, wo), kh)
        return out.reshape(n, c, ho, wo)

    def backward(self, dout):
        dout = self._check_dout(dout)
        if self._tiled:
            return self._backward_tiled(dout)
        x, out = self._x, self._out
        dtype = x.dtype  # the layer keeps the input's dtype
        dx = np.zeros(x.shape, dtype)
        # `remaining` is the gradient not yet routed: once a window's first maximum has taken it, a
        # tied later maximum (e.g. an all-zero window after ReLU) finds 0 there and gets nothing.
        remaining = dout.astype(dtype, copy=True)
        hit = np.empty(out.shape, dtype=bool)
        routed = np.empty(out.shape, dtype=dtype)
        slices = list(self._offsets())
        for t, s in enumerate(slices):
            np.equal(x[s], out, out=hit)
            np.multiply(remaining, hit, out=routed)
            dx[s] += routed
            if t + 1 < len(slices):
                remaining -= routed  # exact: r - r = 0 where routed, r - 0 = r elsewhere
        return dx

    def _backward_tiled(self, dout: np.ndarray) -> np.ndarray:
        (kh, kw), (ho, wo) = self.kernel_size, self._out_hw
        n, c, h, w = self._in_shape
        dout = dout.astype(self._dtype, copy=False)
        per_row = np.empty((n * c * ho, kh, wo), self._dtype)  # gradient of each window row's max
        _route(dout.reshape(n * c * ho, wo), self._row_index, kh, per_row)
        dx = np.empty(self._in_shape, self._dtype)
        _route(per_row.reshape(n * c * h, wo), self._col_index, kw, _rows(dx, kw))
        return dx
class AvgPool2d(_Pool2d):
    """Average pooling, seed 6.4.3: ``z[n, c, j, k] = (Σ window) / (kH · kW)``.

    Shapes: ``x (N, C, H, W)`` → ``z (N, C, H_o, W_o)``, ``H_o = (H - kH) / S + 1`` (seed 6.4.1);
    ``stride`` defaults to ``kernel_size``.  No parameters.  Each input pixel receives
    ``dout / (kH · kW)`` from every window it belongs to.
    """

    def forward(self, x):
        x = self._prepare(x)
        (kh, kw), area = self.kernel_size, self.kernel_size[0] * self.kernel_size[1]
        self._tiled = self._tiles_exactly()
        if self._tiled:  # sum along window rows (long strided runs), then down window columns
            (ho, wo), (n, c) = self._out_hw, x.shape[:2]
            rows = _rows(np.ascontiguousarray(x), kw)
            row_sum = rows[:, 0].copy()
            for j in range(1, kw):
                row_sum += rows[:, j]
            cols = row_sum.reshape(n * c * ho, kh, wo)
            out = cols[:, 0].copy()
            for i in range(1, kh):
                out += cols[:, i]
            out /= area
            return out.reshape(n, c, ho, wo)
        slices = list(self._offsets())
        out = x[slices[0]].copy()
        for s in slices[1:]:
            out += x[s]
        out /= area
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        (kh, kw), dtype = self.kernel_size, self._dtype
        share = dout.astype(dtype) / (kh * kw)
        if self._tiled:
            n, c, h, _ = self._in_shape
            ho, wo = self._out_hw
            per_row = np.empty((n * c * ho, kh, wo), dtype)
            per_row[...] = share.reshape(n * c * ho, 1, wo)
            dx = np.empty(self._in_shape, dtype)
            rows = _rows(dx, kw)
            for j in range(kw):
                rows[:, j] = per_row.reshape(n * c * h, wo)
            return dx
        dx = np.zeros(self._in_shape, dtype)
        for s in self._offsets():
            dx[s] += share
        return dx
