"""Adam (seed 4.3.7)."""
from __future__ import annotations

import numpy as np

from ..nn.module import Parameter
from .optimizer import Optimizer


class Adam(Optimizer):
    """Seed 4.3.7: momentum (first moment) plus RMSProp (second moment), both bias-corrected.

    ``m ← β₁ m + (1 − β₁) ∇f``, ``v ← β₂ v + (1 − β₂) ∇f ∘ ∇f``, ``m̂ = m / (1 − β₁^k)``,
    ``v̂ = v / (1 − β₂^k)``, ``θ ← θ − α m̂ / (√v̂ + ε)`` with ``m⁰ = v⁰ = 0`` and ``k`` the step count.
    Weight decay λ is decoupled as in seed 4.5.2 (``θ ← θ − … − λθ``); this equals PyTorch's
    ``AdamW(weight_decay=w)`` with λ = α·w.
    """

    elementwise = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas!r}")
        if weight_decay < 0:
            raise ValueError(f"Adam: weight_decay must be >= 0, got {weight_decay!r}")
        self.betas, self.eps, self.weight_decay = (float(b1), float(b2)), float(eps), float(weight_decay)

    def _update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        b1, b2 = self.betas
        k = state["step"] = state.get("step", 0) + 1
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(p.data), np.zeros_like(p.data)
        m, v = state["m"], state["v"]
        # in place: this runs for every weight on every iteration
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        # θ ← θ − α m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵏ), v̂ = v/(1 − β₂ᵏ)
        denom = np.sqrt(v / (1 - b2**k))
        denom += self.eps
        if self.weight_decay:
            p.data *= 1 - self.weight_decay
        p.data -= (self.lr / (1 - b1**k)) * m / denom
