"""Activation functions of seed 4.1, each with its derivative next to its forward computation.

Shapes: every activation maps ``x (*)`` to ``y (*)`` element-wise, except ``Softmax`` (normalises
along ``dim``) and ``Maxout`` (a layer ``(*, in) -> (*, out)``).  Outputs keep the input dtype.
"""
from __future__ import annotations

import numpy as np

from .._validate import float_array, positive_int
from .linear import Linear
from .module import Module, Parameter


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(s) = 1 / (1 + e^{-s}) (seed 4.1.1), evaluated without overflow for large |s|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """ŷ_j = e^{s_j} / Σ_k e^{s_k} (seed 4.1.2); shifting by the max changes nothing but avoids overflow."""
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """log softmax via log-sum-exp, finite even where softmax underflows to 0."""
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


class _Elementwise(Module):
    """Shared plumbing: check the input, remember what backward needs, keep the dtype."""

    def forward(self, x):
        x = float_array(type(self).__name__, x)
        self._x = x
        self._out = self._f(x)
        return self._out

    def backward(self, dout):
        return (dout * self._df()).astype(dout.dtype, copy=False)


class Sigmoid(_Elementwise):
    """Seed 4.1.1.  σ' = σ(1 − σ) ≤ 1/4, and ≈ 0 for |s| ≳ 5: saturation kills the gradient."""

    def _f(self, x):
        return sigmoid(x)

    def _df(self):
        return self._out * (1 - self._out)


class Tanh(_Elementwise):
    """Seed 4.1.3.  Zero-centred; tanh' = 1 − tanh², which also saturates."""

    def _f(self, x):
        return np.tanh(x)

    def _df(self):
        return 1 - self._out**2


class ReLU(_Elementwise):
    """Seed 4.1.4.  h = max(0, s); gradient 1 where s > 0 and 0 elsewhere (a dead unit gets none)."""

    def _f(self, x):
        return np.maximum(x, 0)

    def _df(self):
        return self._x > 0


class LeakyReLU(_Elementwise):
    """Seed 4.1.5.  h = max(a·s, s) with a = ``negative_slope``; gradient a instead of 0, so units do not die."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def _f(self, x):
        return np.where(x > 0, x, self.negative_slope * x).astype(x.dtype, copy=False)

    def _df(self):
        return np.where(self._x > 0, 1.0, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Elementwise):
    """Seed 4.1.7.  s for s > 0, α(e^s − 1) otherwise; derivative 1 or α·e^s = h + α."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def _f(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)

    def _df(self):
        return np.where(self._x > 0, 1.0, self._out + self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Step(_Elementwise):
    """Seed 4.1.9.  h = 1 if s ≥ 0 else 0.

    Its derivative is 0 everywhere except at 0, where it does not exist; backward therefore
    returns zeros — which is exactly why a network of step units cannot be trained by gradient
    descent, and why the smooth sigmoid replaced it.
    """

    def _f(self, x):
        return (x >= 0).astype(x.dtype)

    def _df(self):
        return np.zeros_like(self._x)


class PReLU(Module):
    """Seed 4.1.6.  h = max(α·s, s) with a learnable α (PyTorch: one α, initialised to 0.25).

    Shapes: ``x (N, C, *)`` → same.  ``num_parameters`` is 1 (shared) or C (one α per channel, axis 1).
    ``∂h/∂α = s`` where s ≤ 0, so α receives the sum of ``dout · s`` over the negative inputs.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = positive_int("PReLU", num_parameters, "num_parameters")
        self.weight = Parameter(np.full(num_parameters, init, dtype=np.float32))

    def _alpha(self, x):
        alpha = self.weight.data.astype(x.dtype, copy=False)
        if self.num_parameters == 1:
            return alpha[0]
        if x.ndim < 2 or x.shape[1] != self.num_parameters:
            raise ValueError(f"PReLU with {self.num_parameters} parameters expected input of shape "
                             f"(N, {self.num_parameters}, ...), got {x.shape}")
        return alpha.reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, x):
        x = float_array("PReLU", x)
        self._x = x
        return np.where(x > 0, x, self._alpha(x) * x)

    def backward(self, dout):
        x = self._x
        negative = x <= 0
        grad_alpha = dout * x * negative
        if self.num_parameters == 1:
            self.weight.accumulate(np.array([grad_alpha.sum()], dtype=self.weight.dtype))
        else:
            axes = tuple(i for i in range(x.ndim) if i != 1)
            self.weight.accumulate(grad_alpha.sum(axis=axes).astype(self.weight.dtype))
        return np.where(negative, self._alpha(x) * dout, dout)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax(Module):
    """Seed 4.1.2.  Softmax along ``dim`` (default: last); ``x (*, C)`` → probabilities ``(*, C)``.

    Jacobian-vector product: ``dx = y ⊙ (dout − Σ_j dout_j y_j)``.  For classification prefer
    ``CrossEntropyLoss`` on raw logits: it fuses softmax and log and is more stable.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = float_array("Softmax", x)
        self._out = softmax(x, self.dim)
        return self._out

    def backward(self, dout):
        y = self._out
        return y * (dout - (dout * y).sum(axis=self.dim, keepdims=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Maxout(Module):
    """Seed 4.1.8.  h = max_k (w_kᵀ s + b_k) over ``pieces`` affine maps.

    Shapes: ``x (N, in_features)`` → ``(N, out_features)``; it holds one ``Linear(in, out·pieces)``,
    so it has ``pieces`` times the parameters of a ReLU layer (the price the lecture mentions).
    The gradient flows only through the winning piece.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 2, rng=None) -> None:
        super().__init__()
        self.out_features = positive_int("Maxout", out_features, "out_features")
        self.pieces = positive_int("Maxout", pieces, "pieces")
        self.linear = Linear(in_features, out_features * pieces, rng=rng)

    def forward(self, x):
        z = self.linear(x)
        z = z.reshape(z.shape[:-1] + (self.out_features, self.pieces))
        self._winner = z.argmax(axis=-1)[..., None]
        self._zshape = z.shape
        return np.take_along_axis(z, self._winner, axis=-1)[..., 0]

    def backward(self, dout):
        dz = np.zeros(self._zshape, dtype=dout.dtype)
        np.put_along_axis(dz, self._winner, dout[..., None], axis=-1)
        return self.linear.backward(dz.reshape(self._zshape[:-2] + (-1,)))

    def extra_repr(self) -> str:
        return f"out_features={self.out_features}, pieces={self.pieces}"
