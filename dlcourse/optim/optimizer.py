"""The optimizer base class: a list of parameters, ``zero_grad``, ``step`` and a saveable state."""
from __future__ import annotations

import copy
from typing import Iterable

import numpy as np

from .. import mistakes
from ..nn.module import Parameter


class Optimizer:
    """Holds ``params`` and per-parameter state; subclasses implement ``_update(p, grad, state)``.

    ``step()`` skips frozen parameters (``requires_grad = False``, seed 9) and warns when a
    parameter's gradient was accumulated over several backward passes since ``zero_grad``
    (seed 8.8.7) — usually a forgotten ``optimizer.zero_grad()``.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass model.parameters()")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__} expects Parameters, item {i} is {type(p).__name__}; "
                                f"pass model.parameters()")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be positive, got {lr!r}")
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in self.params]
        self.steps = 0
        self.expect_accumulation = False  # set True when accumulating over micro-batches on purpose

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        if not self.expect_accumulation and any(p.backward_count > 1 for p in self.params if p.requires_grad):
            mistakes.warn("accumulated_gradients",
                          "optimizer.step() is using gradients summed over several backward passes; call "
                          "optimizer.zero_grad() (or model.zero_grad()) before each backward pass "
                          "(set optimizer.expect_accumulation = True if you accumulate on purpose)")
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.requires_grad:
                self._update(p, p.grad.astype(p.dtype, copy=False), state)

    def _update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Learning rate, step count and copies of every per-parameter buffer (momentum etc.)."""
        return {"lr": self.lr, "steps": self.steps, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state: dict) -> None:
        if len(state["state"]) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state is for {len(state['state'])} "
                             f"parameters, this optimizer has {len(self.params)}")
        self.lr = float(state["lr"])
        self.steps = int(state["steps"])
        self.state = copy.deepcopy(state["state"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, {len(self.params)} parameters)"
