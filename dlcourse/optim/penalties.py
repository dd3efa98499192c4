"""L1 and L2 regularisation terms (seed 4.5.1): ``L = 𝓛 + λ R(θ)``."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..nn.module import Parameter


class Penalty:
    """``penalty(params)`` returns ``λ R(θ)``; ``penalty.backward(params)`` adds ``λ ∂R/∂θ`` to each ``.grad``.

    Pass the parameters to regularise — all of them as in the lecture's ``θ = {W, b}``, or only
    the weights: ``[p for n, p in model.named_parameters() if n.endswith("weight")]``.
    """

    def __init__(self, lam: float) -> None:
        if lam < 0:
            raise ValueError(f"{type(self).__name__}: lambda must be >= 0, got {lam!r}")
        self.lam = float(lam)

    def __call__(self, params: Iterable[Parameter]) -> float:
        return self.lam * sum(float(self._r(p.data)) for p in params)

    def backward(self, params: Iterable[Parameter]) -> None:
        for p in params:
            if p.requires_grad:
                p.grad += (self.lam * self._dr(p.data)).astype(p.dtype, copy=False)

    def _r(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def _dr(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam})"


class L1Penalty(Penalty):
    """``R(θ) = Σ|θ_i|`` (enforces sparsity); subgradient ``sign(θ)`` (0 at 0)."""

    def _r(self, w):
        return np.abs(w).sum()

    def _dr(self, w):
        return np.sign(w)


class L2Penalty(Penalty):
    """``R(θ) = Σθ_i²`` (keeps weights small and similar); gradient ``2θ``."""

    def _r(self, w):
        return (w * w).sum()

    def _dr(self, w):
        return 2 * w
