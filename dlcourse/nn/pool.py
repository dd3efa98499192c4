"""Pooling layers, seed 6.4: max pooling (6.4.2) and average pooling (6.4.3).

Both work on every channel separately, ``C_o = C_i``, and map ``H`` to ``(H - H_K) / S + 1``
(seed 6.4.1).  The implementation loops over the ``kH·kW`` offsets inside the window: offset
``(i, j)`` of every window is the strided slice ``x[:, :, i::S, j::S]`` (cut to ``H_o × W_o``), so
``max`` / ``mean`` over the window is an element-wise ``maximum`` / ``sum`` of ``kH·kW`` slices.
This is the same code for overlapping (``S < K``) and non-overlapping windows; when the windows
tile the image exactly (``S = K``, the common 2×2 case) the backward pass writes each slice of
``dx`` once instead of accumulating into a zeroed array.

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
        self._in_shape = x.shape
        return x

    def _offsets(self):
        """``(i, j, index)`` for every position inside the window, in row-major order."""
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


class MaxPool2d(_Pool2d):
    """Max pooling, seed 6.4.2: ``z[n, c, j, k] = max`` of the ``kH × kW`` window at ``(S·j, S·k)``.

    Shapes: ``x (N, C, H, W)`` → ``z (N, C, H_o, W_o)``, ``H_o = (H - kH) / S + 1`` (seed 6.4.1);
    ``stride`` defaults to ``kernel_size``.  No parameters.  The gradient of each output goes to
    the input that was the maximum (the first one on ties, like PyTorch).  A stride that does not
    fit raises ``ValueError`` unless ``rounding="floor"`` (PyTorch's default behaviour).
    """

    def forward(self, x):
        x = self._prepare(x)
        slices = list(self._offsets())
        out = x[slices[0]].copy()
        for s in slices[1:]:
            np.maximum(out, x[s], out=out)
        self._x, self._out = x, out
        return out.copy()

    def backward(self, dout):
        dout = self._check_dout(dout)
        x, out = self._x, self._out
        dtype = x.dtype  # the layer keeps the input's dtype
        exact = self._tiles_exactly()
        dx = np.empty(x.shape, dtype) if exact else np.zeros(x.shape, dtype)
        # `remaining` is the gradient not yet routed: once a window's first maximum has taken it, a
        # tied later maximum (e.g. an all-zero window after ReLU) finds 0 there and gets nothing.
        remaining = dout.astype(dtype, copy=True)
        hit = np.empty(out.shape, dtype=bool)
        routed = np.empty(out.shape, dtype=dtype)
        slices = list(self._offsets())
        for t, s in enumerate(slices):
            np.equal(x[s], out, out=hit)
            if exact:  # slices are disjoint and cover dx: write in place, no zeroing, no accumulation
                routed = dx[s]
                np.multiply(remaining, hit, out=routed)
            else:
                np.multiply(remaining, hit, out=routed)
                dx[s] += routed
            if t + 1 < len(slices):
                remaining -= routed  # exact: r - r = 0 where routed, r - 0 = r elsewhere
        return dx


class AvgPool2d(_Pool2d):
    """Average pooling, seed 6.4.3: ``z[n, c, j, k] = (Σ window) / (kH · kW)``.

    Shapes: ``x (N, C, H, W)`` → ``z (N, C, H_o, W_o)``, ``H_o = (H - kH) / S + 1`` (seed 6.4.1);
    ``stride`` defaults to ``kernel_size``.  No parameters.  Each input pixel receives
    ``dout / (kH · kW)`` from every window it belongs to.
    """

    def forward(self, x):
        x = self._prepare(x)
        slices = list(self._offsets())
        out = x[slices[0]].copy()
        for s in slices[1:]:
            out += x[s]
        out /= self.kernel_size[0] * self.kernel_size[1]
        self._dtype = x.dtype
        return out

    def backward(self, dout):
        dout = self._check_dout(dout)
        dtype = self._dtype
        share = dout.astype(dtype) / (self.kernel_size[0] * self.kernel_size[1])
        exact = self._tiles_exactly()
        dx = np.empty(self._in_shape, dtype) if exact else np.zeros(self._in_shape, dtype)
        for s in self._offsets():
            if exact:
                dx[s] = share
            else:
                dx[s] += share
        return dx
