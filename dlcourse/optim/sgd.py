"""(Stochastic) gradient descent with momentum, Nesterov momentum and weight decay (seed 4.3.2–4.3.5, 4.5.2)."""
from __future__ import annotations

import numpy as np

from ..nn.module import Parameter
from .optimizer import Optimizer


class SGD(Optimizer):
    """Seed 4.3.2–4.3.5.

    * plain: ``θ ← θ − α ∇f``;
    * momentum β (seed 4.3.4): ``v ← β v − α ∇f(θ)``, ``θ ← θ + v``;
    * Nesterov (seed 4.3.5): the gradient is taken at the look-ahead point ``θ̃ = θ + β v``.
      Backprop can only give the gradient where the parameters *are*, so (as every library does)
      the parameters store the look-ahead point ``φ = θ + β v``.  Then
      ``v' = β v − α ∇f(φ)`` and ``φ' = φ + (1 + β) v' − β v`` — exactly the seed's sequence, shifted
      by ``β v`` (the lecture's ``θ`` is ``φ − β v``; they coincide at the start and at convergence).
    * weight decay λ (seed 4.5.2): ``θ ← θ − α ∇f − λ θ``.  The lecture's λ is not scaled by the
      learning rate; PyTorch's ``SGD(weight_decay=w)`` adds ``w θ`` to the gradient, i.e. it
      equals λ = α·w here.

    Momentum as in the seed (``v ← βv − α∇``) equals PyTorch's form (``b ← βb + ∇``, ``θ ← θ − αb``)
    when the learning rate is constant.
    """

    elementwise = True

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must lie in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: Nesterov momentum needs momentum > 0")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay!r}")
        self.momentum, self.nesterov, self.weight_decay = float(momentum), bool(nesterov), float(weight_decay)

    def _update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        # in-place arithmetic: the update runs every iteration on every weight, temporaries cost time
        if self.weight_decay:
            p.data *= 1 - self.weight_decay
        if self.momentum == 0:
            p.data -= self.lr * grad
            return
        v = state.get("velocity")
        if v is None:
            v = state["velocity"] = np.zeros_like(p.data)
        if self.nesterov:
            v_old = v.copy()
            v *= self.momentum
            v -= self.lr * grad
            p.data += (1 + self.momentum) * v - self.momentum * v_old
        else:
            v *= self.momentum
            v -= self.lr * grad
            p.data += v
