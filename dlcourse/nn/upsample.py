"""Upsampling by interpolation, seed 6.10.1: nearest neighbour, bilinear and bicubic.

Interpolation is linear in the input and acts on rows and columns separately, so each mode is a
pair of small matrices ``A_h (H_o, H)`` and ``A_w (W_o, W)`` and

    forward:   out = A_h · x · A_wᵀ            (for every image and channel)
    backward:  dx  = A_hᵀ · dout · A_w         (the transpose of the same linear map: exact)

``interpolation_matrix`` builds one axis's matrix with PyTorch's ``align_corners=False``
conventions: output pixel ``o`` samples the input at ``src = (o + 0.5) / s - 0.5``;

* nearest: input pixel ``floor(o / s)``;
* bilinear: the two neighbours of ``src`` (``src`` clamped at 0 first, indices clamped at the
  border), weights ``1 - t`` and ``t``;
* bicubic: the four neighbours ``floor(src) - 1 … floor(src) + 2`` with Keys' cubic convolution
  weights, ``A = -0.75``, indices clamped at the border (so border pixels are repeated).

Each row of a matrix sums to 1, so a constant image stays constant.  The transposed convolution
(the other upsampling of seed 6.10.1) is ``dlcourse.nn.ConvTranspose2d``.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_ndim, float_array
from .module import Module

__all__ = ["Upsample", "interpolation_matrix"]

_MODES = ("nearest", "bilinear", "bicubic")
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) choice for Keys' cubic convolution kernel


def _cubic_weights(t: np.ndarray, a: float = _CUBIC_A) -> np.ndarray:
    """Weights ``(len(t), 4)`` of the pixels at offsets -1, 0, 1, 2 for a fraction ``t`` in [0, 1)."""
    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def _check_scale(owner: str, scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"{owner}: scale_factor must be a positive number, got {scale!r}")
    return float(scale)


def output_length(n_in: int, scale: float) -> int:
    """``floor(n_in · scale)``, as PyTorch computes the output size from a scale factor."""
    return int(np.floor(n_in * float(scale)))


def interpolation_matrix(n_in: int, scale: float, mode: str = "bilinear") -> np.ndarray:
    """Matrix ``(n_out, n_in)`` with ``n_out = floor(n_in · scale)`` that upsamples one axis (seed 6.10.1).

    ``mode`` is ``"nearest"``, ``"bilinear"`` (linear along one axis) or ``"bicubic"`` (cubic along
    one axis); conventions are PyTorch's with ``align_corners=False``.  Rows sum to 1.
    """
    scale = _check_scale("interpolation_matrix", scale)
    if mode not in _MODES:
        raise ValueError(f"interpolation_matrix: mode must be one of {_MODES}, got {mode!r}")
    if isinstance(n_in, bool) or not isinstance(n_in, (int, np.integer)) or n_in < 1:
        raise ValueError(f"interpolation_matrix: n_in must be a positive integer, got {n_in!r}")
    n_out = output_length(n_in, scale)
    if n_out < 1:
        raise ValueError(f"interpolation_matrix: {n_in} pixels scaled by {scale} leave no output pixel")
    o = np.arange(n_out)
    matrix = np.zeros((n_out, n_in))
    if mode == "nearest":
        src = o // int(scale) if scale == int(scale) else np.floor(o / scale).astype(int)
        matrix[o, np.minimum(src, n_in - 1)] = 1.0
        return matrix
    src = (o + 0.5) / scale - 0.5
    if mode == "bilinear":
        src = np.maximum(src, 0.0)  # PyTorch clamps negative source coordinates for linear modes
        i0 = np.floor(src).astype(int)
        t = src - i0
        np.add.at(matrix, (o, np.minimum(i0, n_in - 1)), 1 - t)
        np.add.at(matrix, (o, np.minimum(i0 + 1, n_in - 1)), t)
        return matrix
    i0 = np.floor(src).astype(int)
    weights = _cubic_weights(src - i0)
    for tap in range(4):  # taps outside the image read the nearest border pixel
        np.add.at(matrix, (o, np.clip(i0 - 1 + tap, 0, n_in - 1)), weights[:, tap])
    return matrix


class Upsample(Module):
    """Interpolating upsampling, seed 6.10.1 (PyTorch's ``nn.Upsample`` with ``align_corners=False``).

    Shapes: ``x (N, C, H, W)`` → ``(N, C, floor(H·s_h), floor(W·s_w))``.  ``scale_factor`` is a
    number or a pair ``(s_h, s_w)``; ``mode`` is ``"nearest"``, ``"bilinear"`` or ``"bicubic"``.
    No parameters.  Nearest with an integer factor repeats pixels; the other cases multiply by the
    per-axis matrices of ``interpolation_matrix`` (backward multiplies by their transposes).
    """

    def __init__(self, scale_factor, mode: str = "nearest") -> None:
        super().__init__()
        pair_ = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
        if len(pair_) != 2:
            raise ValueError(f"Upsample: scale_factor must be a number or a pair, got {scale_factor!r}")
        self.scale_factor = tuple(_check_scale("Upsample", s) for s in pair_)
        if mode not in _MODES:
            raise ValueError(f"Upsample: mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode
        self._matrices: dict = {}

    def _repeats(self) -> tuple[int, int] | None:
        """Integer factors for the pixel-repeating fast path of nearest mode, else None."""
        sh, sw = self.scale_factor
        if self.mode == "nearest" and sh == int(sh) and sw == int(sw):
            return int(sh), int(sw)
        return None

    def _axis_matrices(self, h: int, w: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        key = (h, w, np.dtype(dtype))
        if key not in self._matrices:
            a_h = interpolation_matrix(h, self.scale_factor[0], self.mode).astype(dtype)
            a_w = interpolation_matrix(w, self.scale_factor[1], self.mode).astype(dtype)
            self._matrices = {key: (a_h, a_w)}  # keep only the latest input size
        return self._matrices[key]

    def forward(self, x):
        x = float_array("Upsample", x)
        check_ndim("Upsample", x, 4, "(N, C, H, W)")
        n, c, h, w = x.shape
        self._in_shape, self._dtype = x.shape, x.dtype
        repeats = self._repeats()
        if repeats is not None:
            rh, rw = repeats
            return np.broadcast_to(x[:, :, :, None, :, None], (n, c, h, rh, w, rw)).reshape(n, c, h * rh, w * rw)
        a_h, a_w = self._axis_matrices(h, w, x.dtype)
        return np.matmul(np.matmul(a_h, x), a_w.T)

    def backward(self, dout):
        dout = float_array("Upsample.backward", dout, "dout").astype(self._dtype, copy=False)
        n, c, h, w = self._in_shape
        repeats = self._repeats()
        if repeats is not None:
            rh, rw = repeats
            expected = (n, c, h * rh, w * rw)
        else:
            a_h, a_w = self._axis_matrices(h, w, dout.dtype)
            expected = (n, c, a_h.shape[0], a_w.shape[0])
        if dout.shape != expected:
            raise ValueError(f"Upsample.backward expected dout of shape {expected} (the forward output), "
                             f"got {dout.shape}")
        if repeats is not None:
            return dout.reshape(n, c, h, rh, w, rw).sum(axis=(3, 5))
        return np.matmul(np.matmul(a_h.T, dout), a_w)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"
