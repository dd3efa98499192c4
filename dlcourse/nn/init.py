"""Weight initialisation (seed 8.4, 4.1.4).

Seed 8.4.1: Xavier keeps the variance of activations constant across layers with
``Var(w) = 1 / n_in``; He (for ReLU, which zeroes half its inputs) uses ``Var(w) = 2 / n_in``.
Seed 4.1.4: a slightly positive bias (0.01) keeps ReLU units alive at the start.
All functions work in place on a ``Parameter`` (or array) and return it.
"""
from __future__ import annotations

import numpy as np

from .._rng import get_rng
from .module import Parameter


def fan_in(shape: tuple) -> int:
    """Inputs feeding one output unit: ``in_features`` for ``(out, in)``, ``in·kH·kW`` for conv weights."""
    if len(shape) < 2:
        raise ValueError(f"fan_in needs a weight of at least 2 dimensions, got shape {shape}")
    return int(np.prod(shape[1:]))


def fan_out(shape: tuple) -> int:
    """Outputs fed by one input unit: ``out`` for ``(out, in)``, ``out·kH·kW`` for conv weights."""
    if len(shape) < 2:
        raise ValueError(f"fan_out needs a weight of at least 2 dimensions, got shape {shape}")
    return int(shape[0] * np.prod(shape[2:]))


def _fill(param, values: np.ndarray):
    target = param.data if isinstance(param, Parameter) else param
    target[...] = values.astype(target.dtype)
    return param


def normal_(param, std: float = 1.0, mean: float = 0.0, rng=None):
    """Fill with samples of N(mean, std²)."""
    return _fill(param, get_rng(rng).normal(mean, std, size=np.shape(getattr(param, "data", param))))


def uniform_(param, low: float, high: float, rng=None):
    """Fill with samples of U(low, high)."""
    return _fill(param, get_rng(rng).uniform(low, high, size=np.shape(getattr(param, "data", param))))


def constant_(param, value: float):
    """Fill with one value (zeros_ and small positive ReLU biases)."""
    return _fill(param, np.full(np.shape(getattr(param, "data", param)), value))


def zeros_(param):
    """All zeros: fine for biases, fatal for weights (every unit learns the same thing, seed 8.4)."""
    return constant_(param, 0.0)


def xavier_normal_(param, rng=None):
    """Seed 8.4.1: ``w ~ N(0, 1/n_in)``."""
    return normal_(param, std=np.sqrt(1.0 / fan_in(np.shape(getattr(param, "data", param)))), rng=rng)


def xavier_uniform_(param, rng=None):
    """Uniform with the Xavier variance ``1/n_in`` (U(-a, a) has variance a²/3)."""
    a = np.sqrt(3.0 / fan_in(np.shape(getattr(param, "data", param))))
    return uniform_(param, -a, a, rng=rng)


def he_normal_(param, rng=None):
    """Seed 8.4.1 for ReLU: ``w ~ N(0, 2/n_in)``."""
    return normal_(param, std=np.sqrt(2.0 / fan_in(np.shape(getattr(param, "data", param)))), rng=rng)


def he_uniform_(param, rng=None):
    """Uniform with the He variance ``2/n_in``."""
    a = np.sqrt(6.0 / fan_in(np.shape(getattr(param, "data", param))))
    return uniform_(param, -a, a, rng=rng)


def relu_bias_(param, value: float = 0.01):
    """Seed 4.1.4: slightly positive biases so ReLU units start active."""
    return constant_(param, value)


def default_uniform_(param, n_in: int, rng=None):
    """PyTorch's default for Linear/Conv: ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` (variance 1/(3·n_in))."""
    bound = 1.0 / np.sqrt(n_in)
    return uniform_(param, -bound, bound, rng=rng)
