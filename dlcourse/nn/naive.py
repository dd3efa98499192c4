"""Convolution and pooling written as plain loops, for reading next to the lecture (seed 6.2–6.4).

These functions are for teaching: one line per idea, one output pixel at a time, so a notebook
can show them line by line and a student can compare them with the formulas.  They are slow
(about 1000× slower than ``Conv2d``); the fast layers in ``conv.py``/``pool.py`` are tested to
agree with them to 1e-10.

Seed 6.2.1.1 (one filter, stride 1, no padding; indices from 1 as in the lecture):

    z_{1,j,k} = b + Σ_{l=1}^{C} Σ_{m=j}^{H_K+j-1} Σ_{n=k}^{W_K+k-1} w_{l, m-j+1, n-k+1} · x_{l,m,n}

i.e. lay the filter on the image at ``(j, k)``, multiply overlapping values and add them all up.
With stride ``S`` (seed 6.2.2) the window of output pixel ``(j, k)`` starts at ``(S·j, S·k)``; with
padding ``P`` (seed 6.2.3) the image is first surrounded by ``P`` rows/columns of zeros.  A layer
with ``C_o`` filters (seed 6.3.1) does this once per filter.  Shapes follow PyTorch:
``x (N, C, H, W)``, ``w (C_o, C, kH, kW)``, ``b (C_o,)``.
"""
from __future__ import annotations

import numpy as np

from .shapes import conv_output_size, pair, pool_output_size

__all__ = ["conv2d_naive_forward", "conv2d_naive_backward", "max_pool_naive_forward", "max_pool_naive_backward",
           "avg_pool_naive_forward", "avg_pool_naive_backward"]


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Seed 6.2.3: surround every image with ``ph`` rows and ``pw`` columns of zeros."""
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv2d_naive_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride=1, padding=0) -> np.ndarray:
    """Convolution layer with loops (seed 6.3.1): ``x (N, C, H, W)`` → ``z (N, C_o, H_o, W_o)``.

    ``H_o = (H + 2P - kH) / S + 1`` (seed 6.3.2).  ``b`` may be None (no bias).
    """
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    sh, sw = pair("conv2d_naive_forward", stride, "stride")
    ph, pw = pair("conv2d_naive_forward", padding, "padding", minimum=0)
    ho = conv_output_size(height, kh, sh, ph, owner="conv2d_naive_forward", axis="height")
    wo = conv_output_size(width, kw, sw, pw, owner="conv2d_naive_forward", axis="width")
    x_pad = _pad(x, ph, pw)
    z = np.zeros((n_images, n_filters, ho, wo), dtype=x.dtype)
    for n in range(n_images):
        for o in range(n_filters):
            for j in range(ho):
                for k in range(wo):
                    window = x_pad[n, :, j * sh:j * sh + kh, k * sw:k * sw + kw]  # (C, kH, kW)
                    z[n, o, j, k] = np.sum(window * w[o]) + (b[o] if b is not None else 0)
    return z


def conv2d_naive_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride=1, padding=0):
    """Gradients of ``conv2d_naive_forward``: returns ``(dx, dw, db)`` with the shapes of ``x, w, b``.

    Output pixel ``z[n, o, j, k]`` depends on one window of ``x`` and on filter ``o``, so its
    upstream gradient ``g = dout[n, o, j, k]`` flows back as (chain rule, seed 5.4):
    ``dw[o] += g · window``, ``dwindow += g · w[o]`` and ``db[o] += g``.
    """
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    sh, sw = pair("conv2d_naive_backward", stride, "stride")
    ph, pw = pair("conv2d_naive_backward", padding, "padding", minimum=0)
    _, _, ho, wo = dout.shape
    x_pad = _pad(x, ph, pw)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(n_filters, dtype=dout.dtype)
    for n in range(n_images):
        for o in range(n_filters):
            for j in range(ho):
                for k in range(wo):
                    g = dout[n, o, j, k]
                    rows, cols = slice(j * sh, j * sh + kh), slice(k * sw, k * sw + kw)
                    dw[o] += g * x_pad[n, :, rows, cols]
                    dx_pad[n, :, rows, cols] += g * w[o]
                    db[o] += g
    dx = dx_pad[:, :, ph:ph + height, pw:pw + width]  # the padding zeros are constants: drop their gradient
    return dx, dw, db


def _pool_geometry(owner: str, x_shape: tuple, kernel_size, stride):
    kh, kw = pair(owner, kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else pair(owner, stride, "stride")
    ho = pool_output_size(x_shape[2], kh, sh, owner=owner, axis="height")
    wo = pool_output_size(x_shape[3], kw, sw, owner=owner, axis="width")
    return kh, kw, sh, sw, ho, wo


def max_pool_naive_forward(x: np.ndarray, kernel_size, stride=None) -> np.ndarray:
    """Max pooling with loops (seed 6.4.2): ``x (N, C, H, W)`` → ``(N, C, H_o, W_o)``, ``H_o = (H - kH)/S + 1``."""
    kh, kw, sh, sw, ho, wo = _pool_geometry("max_pool_naive_forward", x.shape, kernel_size, stride)
    n_images, channels = x.shape[:2]
    z = np.zeros((n_images, channels, ho, wo), dtype=x.dtype)
    for n, c, j, k in np.ndindex(n_images, channels, ho, wo):  # every output pixel of every map
        z[n, c, j, k] = np.max(x[n, c, j * sh:j * sh + kh, k * sw:k * sw + kw])
    return z


def max_pool_naive_backward(dout: np.ndarray, x: np.ndarray, kernel_size, stride=None) -> np.ndarray:
    """Gradient of max pooling: each output's gradient goes to its window's maximum (first one on ties)."""
    kh, kw, sh, sw, ho, wo = _pool_geometry("max_pool_naive_backward", x.shape, kernel_size, stride)
    n_images, channels = x.shape[:2]
    dx = np.zeros_like(x)
    for n, c, j, k in np.ndindex(n_images, channels, ho, wo):  # every output pixel of every map
        window = x[n, c, j * sh:j * sh + kh, k * sw:k * sw + kw]
        m, l = np.unravel_index(np.argmax(window), window.shape)  # argmax: first maximum
        dx[n, c, j * sh + m, k * sw + l] += dout[n, c, j, k]
    return dx


def avg_pool_naive_forward(x: np.ndarray, kernel_size, stride=None) -> np.ndarray:
    """Average pooling with loops (seed 6.4.3): ``x (N, C, H, W)`` → ``(N, C, H_o, W_o)``."""
    kh, kw, sh, sw, ho, wo = _pool_geometry("avg_pool_naive_forward", x.shape, kernel_size, stride)
    n_images, channels = x.shape[:2]
    z = np.zeros((n_images, channels, ho, wo), dtype=x.dtype)
    for n, c, j, k in np.ndindex(n_images, channels, ho, wo):  # every output pixel of every map
        z[n, c, j, k] = np.sum(x[n, c, j * sh:j * sh + kh, k * sw:k * sw + kw]) / (kh * kw)
    return z


def avg_pool_naive_backward(dout: np.ndarray, x: np.ndarray, kernel_size, stride=None) -> np.ndarray:
    """Gradient of average pooling: every pixel of a window gets ``dout / (kH · kW)``."""
    kh, kw, sh, sw, ho, wo = _pool_geometry("avg_pool_naive_backward", x.shape, kernel_size, stride)
    n_images, channels = x.shape[:2]
    dx = np.zeros_like(x)
    for n, c, j, k in np.ndindex(n_images, channels, ho, wo):  # every output pixel of every map
        dx[n, c, j * sh:j * sh + kh, k * sw:k * sw + kw] += dout[n, c, j, k] / (kh * kw)
    return dx
