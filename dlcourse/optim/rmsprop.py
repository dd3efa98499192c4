"""RMSProp (seed 4.3.6)."""
from __future__ import annotations

import numpy as np

from ..nn.module import Parameter
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """Seed 4.3.6: ``s ← β s + (1 − β) ∇f ∘ ∇f``, ``θ ← θ − α ∇f / (√s + ε)``.

    Dividing by the running RMS of each coordinate's gradient damps directions that oscillate
    and speeds up flat ones.  (PyTorch calls β ``alpha`` and defaults it to 0.99.)
    """

    elementwise = True

    def __init__(self, params, lr: float = 1e-3, beta: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        if not 0 <= beta < 1:
            raise ValueError(f"RMSprop: beta must lie in [0, 1), got {beta!r}")
        self.beta, self.eps = float(beta), float(eps)

    def _update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        s = state.get("square_avg")
        if s is None:
            s = np.zeros_like(p.data)
        s = self.beta * s + (1 - self.beta) * grad * grad
        state["square_avg"] = s
        p.data -= self.lr * grad / (np.sqrt(s) + self.eps)
