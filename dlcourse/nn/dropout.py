"""Dropout (seed 4.5.5)."""
from __future__ import annotations

import numpy as np

from .. import mistakes
from .._rng import get_rng
from .._validate import float_array, probability
from .module import Module


class Dropout(Module):
    """Zero each activation with probability ``p`` during training (inverted dropout).

    Shapes: ``x (*)`` → ``(*)``.  Survivors are scaled by ``1/(1 − p)`` at training time so the
    expected activation is unchanged and evaluation is the plain identity.  The lecture's
    version (seed 4.5.5) leaves training unscaled and instead multiplies by the keep
    probability at test time; both give the same expected value — inverted dropout just moves
    the scaling to where it costs nothing at inference.  ``p`` is the *drop* probability, as in
    PyTorch (the lecture's test-time factor is the keep probability ``1 − p``).
    """

    def __init__(self, p: float = 0.5, rng=None) -> None:
        super().__init__()
        self.p = probability("Dropout", p, "p")
        # an int seed becomes one generator here; re-seeding on every call would repeat the same mask
        self.rng = None if rng is None else get_rng(rng)

    def forward(self, x):
        x = float_array("Dropout", x)
        if not self.training or self.p == 0:
            self._mask = None
            return x
        mistakes.note_train_forward(self)  # seed 8.8.7: spots evaluation in training mode
        keep = get_rng(self.rng).random(x.shape) >= self.p
        self._mask = (keep / (1 - self.p)).astype(x.dtype)
        return x * self._mask

    def backward(self, dout):
        mistakes.note_backward(self)
        return dout if self._mask is None else dout * self._mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
