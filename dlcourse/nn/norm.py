"""Normalization layers: batch norm (seed 4.5.6) and layer, instance and group norm (seed 4.5.7).

All five share one core: standardise ``x`` over some axes,

    x̂ = (x − mean) / sqrt(var + eps)          (mean and biased var over ``axes``)

then apply a learnable affine map ``y = γ·x̂ + β``.  They differ only in *which* axes are averaged
(for an image batch ``(N, C, H, W)``):

=================  =====================================  ===================================
layer              statistics over                        γ, β shape
=================  =====================================  ===================================
BatchNorm2d        ``N, H, W`` (one mean per channel)      ``(C,)``
LayerNorm          the trailing ``normalized_shape`` dims  ``normalized_shape``
InstanceNorm2d     ``H, W`` (per sample and channel)       ``(C,)`` if ``affine``
GroupNorm          ``C/G, H, W`` (per sample and group)    ``(C,)``
=================  =====================================  ===================================

so the forward and backward of the standardisation are written once (``normalize`` and
``normalize_backward``) and every layer only says which axes it averages over.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import mistakes
from .._validate import check_dim, check_ndim, float_array, positive_int
from .module import Module, Parameter

Axes = tuple


# -- the shared core --------------------------------------------------------------------------------
def _mean(x: np.ndarray, axes: Axes) -> np.ndarray:
    """``x.mean(axis=axes, keepdims=True)`` without ``np.mean``'s Python wrapper (5 µs a call, and a
    batch-norm step takes four means)."""
    count = math.prod(x.shape[a] for a in axes)  # a Python int keeps float32 float32
    return np.add.reduce(x, axis=axes, keepdims=True) / count


def normalize(x: np.ndarray, axes: Axes, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardise ``x`` over ``axes``: return ``(x̂, mean, var, inv_std)``.

    Shapes: ``x`` any shape → ``x̂`` same shape; ``mean``, ``var`` (biased, divided by the number ``m``
    of averaged entries) and ``inv_std = 1/sqrt(var + eps)`` keep the reduced axes as size 1, so they
    broadcast against ``x``.  Seed 4.5.6, step 1 ("Normalize").
    """
    mean = _mean(x, axes)
    centered = x - mean
    var = _mean(centered * centered, axes)  # two passes: no cancellation
    inv_std = 1.0 / np.sqrt(var + eps)
    return centered * inv_std, mean, var, inv_std


def normalize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axes: Axes) -> np.ndarray:
    """Gradient of ``x̂ = normalize(x)`` when mean and variance are functions of ``x``.

    The compact closed form (``m`` entries per group, ``σ̂ = sqrt(var + eps)``)::

        dx = (1/σ̂) · ( dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂) )

    The two subtracted terms are the paths through the mean and through the variance; without them
    this would be the eval-mode gradient ``dx̂/σ̂``.  Shapes as in ``normalize``.
    """
    mean_d = _mean(dxhat, axes)
    mean_dx = _mean(dxhat * xhat, axes)
    return inv_std * (dxhat - mean_d - xhat * mean_dx)


def _channel_shape(ndim: int, channels: int) -> tuple:
    """``(1, C, 1, …)``: how a per-channel vector broadcasts against an ``(N, C, …)`` array."""
    return (1, channels) + (1,) * (ndim - 2)


class _Normalization(Module):
    """Affine map ``y = γ x̂ + β`` and the cache both passes share; subclasses choose the axes."""

    weight: Parameter | None
    bias: Parameter | None

    def _make_affine(self, shape: tuple, affine: bool) -> None:
        self.weight = Parameter(np.ones(shape, dtype=np.float32)) if affine else None   # γ, init 1
        self.bias = Parameter(np.zeros(shape, dtype=np.float32)) if affine else None    # β, init 0

    def _affine_forward(self, xhat: np.ndarray, shape: tuple) -> np.ndarray:
        """``γ x̂ + β`` with γ, β reshaped to ``shape`` (seed 4.5.6 step 2, "change the range")."""
        self._affine_shape = shape
        if self.weight is None:
            return xhat
        w = self.weight.data.astype(xhat.dtype, copy=False).reshape(shape)
        b = self.bias.data.astype(xhat.dtype, copy=False).reshape(shape)
        return xhat * w + b

    def _affine_backward(self, dout: np.ndarray, xhat: np.ndarray) -> np.ndarray:
        """Accumulate dγ = Σ dout·x̂, dβ = Σ dout over the broadcast axes; return dx̂ = dout·γ."""
        if self.weight is None:
            return dout
        shape = self._affine_shape
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
        self.weight.accumulate(np.sum(dout * xhat, axis=axes).reshape(self.weight.shape).astype(self.weight.dtype))
        self.bias.accumulate(np.sum(dout, axis=axes).reshape(self.bias.shape).astype(self.bias.dtype))
        return dout * self.weight.data.astype(dout.dtype, copy=False).reshape(shape)

    def _require_forward(self) -> None:
        if not hasattr(self, "_xhat"):
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")


# -- batch norm (seed 4.5.6) ------------------------------------------------------------------------
class _BatchNormBase(_Normalization):
    """Batch normalisation over every axis except the channel axis 1 (seed 4.5.6).

    Training: normalise with the mini-batch mean and *biased* variance, and update the running
    estimates with the *unbiased* batch variance (``var · m/(m−1)``), exactly as PyTorch does.
    Evaluation (``.eval()``): normalise with ``running_mean`` / ``running_var``, so the output of one
    sample no longer depends on the rest of the batch.

    Momentum: PyTorch's convention, ``momentum`` is the weight of the *new* batch::

        running = (1 − momentum) · running + momentum · batch

    The lecture writes ``Var_running = β_m · Var_running + (1 − β_m) · Var_minibatch``, i.e. its
    ``β_m`` is the weight of the *old* value: ``β_m = 1 − momentum`` (default 0.9).
    ``momentum=None`` gives the cumulative average of all batches seen (weight ``1/num_batches``).

    Parameters ``weight`` (γ, init 1) and ``bias`` (β, init 0), both ``(C,)``; buffers
    ``running_mean`` (init 0), ``running_var`` (init 1), ``num_batches_tracked``.
    A bias in the layer before BN is cancelled by the mean subtraction and can be dropped.
    """

    _layouts: dict = {}

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, num_features, "num_features")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must lie in [0, 1] or be None, got {momentum!r}")
        self.eps = float(eps)
        self.momentum = momentum
        self._make_affine((num_features,), True)
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def _check(self, x) -> np.ndarray:
        name = type(self).__name__
        x = float_array(name, x)
        check_ndim(name, x, tuple(self._layouts), " or ".join(self._layouts.values()))
        check_dim(name, x, 1, self.num_features, "num_features (channel axis)")
        return x

    def forward(self, x):
        x = self._check(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = _channel_shape(x.ndim, self.num_features)
        self._axes, self._used_batch_stats = axes, self.training
        if self.training:
            m = x.size // self.num_features
            if m < 2:
                raise ValueError(f"{type(self).__name__} expected more than 1 value per channel when training "
                                 f"(the batch variance is undefined), got input of shape {x.shape}; "
                                 f"use a larger batch or call .eval()")
            mistakes.note_train_forward(self)  # seed 8.8.7: spots evaluation in training mode
            xhat, mean, var, inv_std = normalize(x, axes, self.eps)
            self._update_running(mean.reshape(-1), var.reshape(-1) * (m / (m - 1)))
        else:
            mean = self.running_mean.astype(x.dtype, copy=False).reshape(shape)
            inv_std = 1.0 / np.sqrt(self.running_var.astype(x.dtype, copy=False).reshape(shape) + self.eps)
            xhat = (x - mean) * inv_std
        self._xhat, self._inv_std = xhat, inv_std
        return self._affine_forward(xhat, shape)

    def _update_running(self, batch_mean: np.ndarray, batch_var_unbiased: np.ndarray) -> None:
        self.num_batches_tracked += 1
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        # in place keeps the buffers' dtype (float32 by default, float64 after .double())
        self.running_mean *= 1.0 - m
        self.running_mean += m * batch_mean
        self.running_var *= 1.0 - m
        self.running_var += m * batch_var_unbiased

    def backward(self, dout):
        self._require_forward()
        mistakes.note_backward(self)
        dxhat = self._affine_backward(dout, self._xhat)
        if self._used_batch_stats:
            return normalize_backward(dxhat, self._xhat, self._inv_std, self._axes)
        return dxhat * self._inv_std  # running statistics are constants

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNormBase):
    """Batch norm for ``(N, C)`` features or ``(N, C, L)`` sequences (seed 4.5.6).

    Statistics per channel over ``N`` (and ``L``).  Shapes: ``x (N, C)`` or ``(N, C, L)`` → same shape.
    See the base class for momentum (``β_m = 1 − momentum`` in the lecture's notation) and modes.
    """

    _layouts = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNormBase):
    """Batch norm for images ``(N, C, H, W)`` (seed 4.5.6): statistics per channel over ``N, H, W``.

    Shapes: ``x (N, C, H, W)`` → same shape.  Parameters ``weight``, ``bias`` of shape ``(C,)``.
    """

    _layouts = {4: "(N, C, H, W)"}


# -- layer, instance and group norm (seed 4.5.7) -----------------------------------------------------
class LayerNorm(_Normalization):
    """Layer norm: standardise each sample over its trailing ``normalized_shape`` dims (seed 4.5.7).

    Shapes: ``x (*, *normalized_shape)`` → same shape, e.g. ``LayerNorm(D)`` on ``(N, T, D)`` or
    ``LayerNorm((C, H, W))`` on images.  Parameters (if ``elementwise_affine``) ``weight`` (init 1) and
    ``bias`` (init 0) of shape ``normalized_shape``.  Same in training and evaluation: no batch
    statistics, so it works with batch size 1.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must not be empty")
        self.normalized_shape = tuple(positive_int("LayerNorm", s, "normalized_shape entry") for s in shape)
        if eps <= 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps!r}")
        self.eps = float(eps)
        self._make_affine(self.normalized_shape, elementwise_affine)

    def forward(self, x):
        x = float_array("LayerNorm", x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm expected input of shape (*, {', '.join(map(str, self.normalized_shape))}) "
                             f"(trailing dims = normalized_shape), got shape {x.shape}")
        self._axes = tuple(range(x.ndim - k, x.ndim))
        self._xhat, _, _, self._inv_std = normalize(x, self._axes, self.eps)
        return self._affine_forward(self._xhat, (1,) * (x.ndim - k) + self.normalized_shape)

    def backward(self, dout):
        self._require_forward()
        return normalize_backward(self._affine_backward(dout, self._xhat), self._xhat, self._inv_std, self._axes)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


class GroupNorm(_Normalization):
    """Group norm: split the ``C`` channels into ``num_groups`` groups and standardise each sample's
    group over its channels and positions (seed 4.5.7).  Per-channel affine ``weight``, ``bias`` (C,).

    Shapes: ``x (N, C, *)`` (e.g. ``(N, C, H, W)``) → same shape.  ``num_groups = 1`` is layer norm over
    ``(C, H, W)`` (with per-channel instead of per-element affine); ``num_groups = C`` is instance norm.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_groups = positive_int("GroupNorm", num_groups, "num_groups")
        self.num_channels = positive_int("GroupNorm", num_channels, "num_channels")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        if eps <= 0:
            raise ValueError(f"GroupNorm: eps must be positive, got {eps!r}")
        self.eps = float(eps)
        self._make_affine((num_channels,), affine)

    def forward(self, x):
        x = float_array("GroupNorm", x)
        if x.ndim < 2:
            raise ValueError(f"GroupNorm expected input of shape (N, C, *), got shape {x.shape}")
        check_dim("GroupNorm", x, 1, self.num_channels, "num_channels (channel axis)")
        n, g = x.shape[0], self.num_groups
        grouped = x.reshape((n, g, self.num_channels // g) + x.shape[2:])
        self._axes = tuple(range(2, grouped.ndim))
        xhat, _, _, self._inv_std = normalize(grouped, self._axes, self.eps)
        self._grouped_shape = grouped.shape
        self._xhat = xhat.reshape(x.shape)
        return self._affine_forward(self._xhat, _channel_shape(x.ndim, self.num_channels))

    def backward(self, dout):
        self._require_forward()
        dxhat = self._affine_backward(dout, self._xhat).reshape(self._grouped_shape)
        dx = normalize_backward(dxhat, self._xhat.reshape(self._grouped_shape), self._inv_std, self._axes)
        return dx.reshape(self._xhat.shape)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.weight is not None}"


class InstanceNorm2d(_Normalization):
    """Instance norm: standardise each sample's channel over ``H, W`` (seed 4.5.7; style transfer).

    Shapes: ``x (N, C, H, W)`` → same shape.  ``affine=False`` by default as in PyTorch; with
    ``affine=True`` per-channel ``weight``, ``bias`` (C,).  No running statistics (PyTorch's default
    ``track_running_stats=False``): training and evaluation compute the same thing.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__()
        self.num_features = positive_int("InstanceNorm2d", num_features, "num_features")
        if eps <= 0:
            raise ValueError(f"InstanceNorm2d: eps must be positive, got {eps!r}")
        self.eps = float(eps)
        self._make_affine((num_features,), affine)

    def forward(self, x):
        x = float_array("InstanceNorm2d", x)
        check_ndim("InstanceNorm2d", x, 4, "(N, C, H, W)")
        check_dim("InstanceNorm2d", x, 1, self.num_features, "num_features (channel axis)")
        self._axes = (2, 3)
        self._xhat, _, _, self._inv_std = normalize(x, self._axes, self.eps)
        return self._affine_forward(self._xhat, _channel_shape(4, self.num_features))

    def backward(self, dout):
        self._require_forward()
        return normalize_backward(self._affine_backward(dout, self._xhat), self._xhat, self._inv_std, self._axes)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.weight is not None}"
