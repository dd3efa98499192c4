"""Output sizes and parameter counts, exactly as the lecture writes them.

* Seed 6.3.2: a convolution maps ``N`` pixels to ``(N + 2P - F) / S + 1``.
* Seed 6.4.1: pooling maps ``H_i`` to ``(H_i - H_K) / S + 1`` (no padding).
* Seed 6.3.3: a convolution layer has ``(C_i · H_K · W_K + 1) · C_o`` parameters.
* Seed 5.2: a fully connected net with widths ``m_0 … m_l`` has ``a + Σ_i (m_i · m_{i-1} + m_i)``
  parameters (``a`` = parameters of the activation functions, e.g. PReLU slopes).

Integer output sizes.  Seed 6.2.2 says the stride *must* fit: ``(H_i - H_K) / S`` has to be a
natural number.  Seed 6.3.2 writes the same quotient with floor brackets, and PyTorch floors
silently (the last rows/columns the window cannot reach are dropped).  The course follows the
must-hold rule by default, because a dropped border is almost always a design mistake a student
should see: ``rounding="exact"`` raises a ``ValueError`` that shows the non-integer size.
Pass ``rounding="floor"`` to get PyTorch's behaviour (e.g. ResNet's stride-2 3×3 convolutions
with padding 1 on even inputs).  The layers ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` take the
same ``rounding`` argument and use these functions, so the formula lives here only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .._validate import positive_int

__all__ = ["conv_output_size", "pool_output_size", "conv_parameter_count", "linear_parameter_count",
           "fc_network_parameter_count", "parameter_count", "pair"]

_ROUNDINGS = ("exact", "floor")


def pair(owner: str, value, name: str, minimum: int = 1) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; ``(3, 5)`` → ``(3, 5)``; both entries integers ``>= minimum``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{owner}: {name} must be an int or a pair (height, width), got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{owner}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


def _check_rounding(owner: str, rounding: str) -> str:
    if rounding not in _ROUNDINGS:
        raise ValueError(f"{owner}: rounding must be 'exact' (the lecture) or 'floor' (PyTorch), got {rounding!r}")
    return rounding


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, *, rounding: str = "exact",
                     owner: str = "conv_output_size", axis: str = "size") -> int:
    """Seed 6.3.2: output size ``(n + 2·padding - kernel) / stride + 1`` of one spatial axis.

    Raises ``ValueError`` if the kernel is larger than the padded input, or (with the default
    ``rounding="exact"``, seed 6.2.2) if the stride does not fit evenly; ``rounding="floor"`` floors
    like PyTorch.  ``owner`` and ``axis`` only label the error message.
    """
    n = positive_int(owner, n, f"input {axis}")
    kernel = positive_int(owner, kernel, "kernel size")
    stride = positive_int(owner, stride, "stride")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"{owner}: padding must be an integer >= 0, got {padding!r}")
    _check_rounding(owner, rounding)
    span = n + 2 * padding - kernel
    if span < 0:
        raise ValueError(f"{owner}: kernel {axis} {kernel} is larger than the padded input {axis} "
                         f"{n} + 2·{padding} = {n + 2 * padding}")
    if span % stride and rounding == "exact":
        raise ValueError(
            f"{owner}: output {axis} (N + 2P - F)/S + 1 = ({n} + 2·{padding} - {kernel})/{stride} + 1 = "
            f"{span / stride + 1:g} is not an integer (seed 6.2.2/6.3.2: the stride must fit evenly); change "
            f"padding, stride or input size, or pass rounding='floor' to drop the unreachable border like PyTorch")
    return span // stride + 1


def pool_output_size(n: int, kernel: int, stride: int | None = None, *, rounding: str = "exact",
                     owner: str = "pool_output_size", axis: str = "size") -> int:
    """Seed 6.4.1: pooling output size ``(n - kernel) / stride + 1``; ``stride`` defaults to ``kernel``.

    Same rules as ``conv_output_size`` with no padding.
    """
    stride = kernel if stride is None else stride
    n = positive_int(owner, n, f"input {axis}")
    kernel = positive_int(owner, kernel, "kernel size")
    stride = positive_int(owner, stride, "stride")
    _check_rounding(owner, rounding)
    span = n - kernel
    if span < 0:
        raise ValueError(f"{owner}: pooling window {axis} {kernel} is larger than the input {axis} {n}")
    if span % stride and rounding == "exact":
        raise ValueError(
            f"{owner}: output {axis} (H_i - H_K)/S + 1 = ({n} - {kernel})/{stride} + 1 = {span / stride + 1:g} "
            f"is not an integer (seed 6.4.1); change the window, stride or input size, or pass rounding='floor' "
            f"to drop the unreachable border like PyTorch")
    return span // stride + 1


def conv_parameter_count(in_channels: int, out_channels: int, kernel_size, bias: bool = True,
                         groups: int = 1) -> int:
    """Seed 6.3.3: ``(C_i · H_K · W_K + 1) · C_o`` (``C_i / groups`` per filter for grouped convolutions).

    >>> conv_parameter_count(3, 16, 3)
    448
    """
    owner = "conv_parameter_count"
    c_in = positive_int(owner, in_channels, "in_channels")
    c_out = positive_int(owner, out_channels, "out_channels")
    groups = positive_int(owner, groups, "groups")
    if c_in % groups or c_out % groups:
        raise ValueError(f"{owner}: in_channels {c_in} and out_channels {c_out} must both be divisible by "
                         f"groups {groups}")
    kh, kw = pair(owner, kernel_size, "kernel_size")
    return (c_in // groups * kh * kw + int(bool(bias))) * c_out


def linear_parameter_count(n_in: int, n_out: int, bias: bool = True) -> int:
    """Seed 5.2, one layer: ``m_i · m_{i-1} + m_i`` (weights plus biases)."""
    n_in = positive_int("linear_parameter_count", n_in, "n_in")
    n_out = positive_int("linear_parameter_count", n_out, "n_out")
    return n_in * n_out + (n_out if bias else 0)


def fc_network_parameter_count(layer_sizes: Sequence[int], activation_params: int = 0) -> int:
    """Seed 5.2: ``a + Σ_{i=1}^{l} (m_i · m_{i-1} + m_i)`` for widths ``[m_0 (input), m_1, …, m_l]``.

    ``activation_params`` is ``a``, the number of learnable activation parameters (0 for ReLU).

    >>> fc_network_parameter_count([784, 256, 10])
    203530
    """
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"fc_network_parameter_count needs at least an input and an output width, got {sizes}")
    if isinstance(activation_params, bool) or not isinstance(activation_params, (int, np.integer)) \
            or activation_params < 0:
        raise ValueError(f"fc_network_parameter_count: activation_params must be an int >= 0, "
                         f"got {activation_params!r}")
    return int(activation_params) + sum(linear_parameter_count(m_prev, m) for m_prev, m in zip(sizes, sizes[1:]))


def parameter_count(module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of a ``Module`` (the quantity of seed 5.2 and 6.3.3, counted)."""
    if not hasattr(module, "parameters"):
        raise TypeError(f"parameter_count expects a dlcourse Module, got {type(module).__name__}")
    return int(sum(p.size for p in module.parameters() if p.requires_grad or not trainable_only))
