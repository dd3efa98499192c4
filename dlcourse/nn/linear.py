"""The fully connected layer (seed 5.1–5.4): ``s = x Wᵀ + b``."""
from __future__ import annotations

import numpy as np

from .._rng import get_rng
from .._validate import check_dim, float_array, positive_int
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ W.T + b`` with ``W`` of shape ``(out_features, in_features)`` as in PyTorch.

    Shapes: ``x (N, in_features)`` or ``(*, in_features)`` → ``y (*, out_features)``.
    Parameters: ``weight (out, in)``, ``bias (out,)``; ``in·out + out`` of them (seed 5.2).
    Initialised like PyTorch, ``U(±1/sqrt(in))``; use ``dlcourse.nn.init`` for Xavier/He.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None) -> None:
        super().__init__()
        rng = get_rng(rng)  # one generator, so an int seed does not give weight and bias the same draws
        self.in_features = positive_int("Linear", in_features, "in_features")
        self.out_features = positive_int("Linear", out_features, "out_features")
        self.weight = Parameter(np.empty((out_features, in_features), dtype=np.float32))
        init.default_uniform_(self.weight, in_features, rng=rng)
        self.bias = None
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=np.float32))
            init.default_uniform_(self.bias, in_features, rng=rng)

    def forward(self, x):
        x = float_array("Linear", x)
        if x.ndim < 1:
            raise ValueError(f"Linear expected input of shape (N, {self.in_features}), got a scalar")
        check_dim("Linear", x, -1, self.in_features, "in_features (last axis)")
        w = self.weight.data.astype(x.dtype, copy=False)  # keep the input's dtype (float32 or float64)
        self._x = x
        out = x @ w.T
        if self.bias is not None:
            out += self.bias.data.astype(x.dtype, copy=False)
        return out

    def backward(self, dout, input_grad: bool = True):
        x = self._x
        x2, d2 = x.reshape(-1, self.in_features), dout.reshape(-1, self.out_features)
        # dL/dW = doutᵀ x ; dL/db = Σ_n dout ; dL/dx = dout W   (seed 5.4)
        self.weight.accumulate((d2.T @ x2).astype(self.weight.dtype, copy=False))
        if self.bias is not None:
            self.bias.accumulate(d2.sum(axis=0).astype(self.bias.dtype, copy=False))
        if not input_grad:
            return None
        return dout @ self.weight.data.astype(dout.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
